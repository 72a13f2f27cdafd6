//! China's 20-digit drug trace code (药品追溯码), the code most packs in China carry.

use std::fmt;
use std::str::FromStr;

use crate::normalize::normalize;
use crate::{DrugId, PackKey, ParseError};

/// The number of digits in a Chinese trace code.
const DIGITS: usize = 20;
/// One more than the largest 20-digit value.
const LIMIT: u128 = 10u128.pow(DIGITS as u32);
/// Ten to the number of digits after the drug identification code.
const AFTER_DRUG_ID: u128 = 10u128.pow(13);

/// A Chinese 20-digit drug trace code: a 7-digit drug identification code (product and
/// packaging), a 9-digit serial and 4 check digits.
///
/// The check algorithm is not public, so this type checks only the form: 20 ASCII digits.
/// Leading zeros matter, so the code is kept as its value and always shown with 20 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChinaCode(u128);

impl ChinaCode {
    /// Parses a code after normalization (surrounding whitespace trimmed, full-width digits
    /// mapped to ASCII): it must be exactly 20 digits.
    pub fn parse(s: &str) -> Result<ChinaCode, ParseError> {
        let s = normalize(s);
        if s.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut value = 0u128;
        let mut len = 0;
        for (i, ch) in s.chars().enumerate() {
            if !ch.is_ascii_digit() {
                return Err(ParseError::NotDigit { pos: i + 1, ch });
            }
            value = value
                .wrapping_mul(10)
                .wrapping_add(u128::from(ch as u8 - b'0'));
            len += 1;
        }
        if len != DIGITS {
            return Err(ParseError::Length { got: len });
        }
        Ok(ChinaCode(value))
    }

    /// Builds a code from its numeric value, or `None` when it has more than 20 digits.
    pub fn from_value(v: u128) -> Option<ChinaCode> {
        (v < LIMIT).then_some(ChinaCode(v))
    }

    /// The numeric value (below 10^20).
    pub fn value(self) -> u128 {
        self.0
    }

    /// The drug identification code: the first seven digits.
    pub fn drug_id(self) -> DrugId {
        DrugId::from_value((self.0 / AFTER_DRUG_ID) as u32).expect("seven digits")
    }

    /// The pack's canonical key.
    pub fn pack_key(self) -> PackKey {
        PackKey::china(self.0)
    }

    /// The value in nine big-endian bytes (10^20 < 2^72), the compact form for storage.
    pub fn to_bytes(self) -> [u8; 9] {
        let mut out = [0u8; 9];
        out.copy_from_slice(&self.0.to_be_bytes()[16 - 9..]);
        out
    }
}

impl fmt::Display for ChinaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:020}", self.0)
    }
}

impl FromStr for ChinaCode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<ChinaCode, ParseError> {
        ChinaCode::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let ok = |v: u128| Ok(ChinaCode(v));
        for (input, expected) in [
            ("81234567890123456789", ok(81_234_567_890_123_456_789)),
            ("00000000000000000000", ok(0)),
            (" 81234567890123456789\r\n", ok(81_234_567_890_123_456_789)),
            (
                "８１２３４５６７８９０１２３４５６７８９",
                ok(81_234_567_890_123_456_789),
            ),
            ("8123456789012345678", Err(ParseError::Length { got: 19 })),
            ("812345678901234567890", Err(ParseError::Length { got: 21 })),
            (
                "8123x567890123456789",
                Err(ParseError::NotDigit { pos: 5, ch: 'x' }),
            ),
            (
                "8123 567890123456789",
                Err(ParseError::NotDigit { pos: 5, ch: ' ' }),
            ),
            ("\u{3000}", Err(ParseError::Empty)),
        ] {
            assert_eq!(ChinaCode::parse(input), expected, "{input:?}");
        }
    }

    #[test]
    fn messages() {
        assert_eq!(
            ChinaCode::parse("8123456789012345678")
                .unwrap_err()
                .to_string(),
            "expected 20 digits, got 19"
        );
        assert_eq!(
            ChinaCode::parse("8123x567890123456789")
                .unwrap_err()
                .to_string(),
            "character 5 is 'x', not a digit"
        );
    }

    #[test]
    fn parts() {
        let c: ChinaCode = "81234567890123456789".parse().unwrap();
        assert_eq!(c.drug_id().to_string(), "8123456");
        assert_eq!(
            ChinaCode::from_value(7).unwrap().to_string(),
            "00000000000000000007"
        );
        assert_eq!(ChinaCode::from_value(LIMIT), None);
        assert_eq!(
            ChinaCode::from_value(LIMIT - 1).unwrap().to_bytes()[0],
            0x05
        );
    }

    proptest! {
        #[test]
        fn round_trips(v in 0..LIMIT) {
            let c = ChinaCode::from_value(v).unwrap();
            prop_assert_eq!(ChinaCode::parse(&c.to_string()), Ok(c));
            let mut wide = [0u8; 16];
            wide[7..].copy_from_slice(&c.to_bytes());
            prop_assert_eq!(u128::from_be_bytes(wide), v);
            let key = c.pack_key();
            prop_assert_eq!(&key.as_bytes()[1..], &c.to_bytes()[..]);
        }
    }
}
