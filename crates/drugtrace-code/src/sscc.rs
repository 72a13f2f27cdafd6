//! The Serial Shipping Container Code (SSCC, GS1 application identifier 00): the label of a
//! logistics unit, a carton or a pallet, printed as a barcode on its shipping label.
//!
//! An SSCC names no pack, so it is never a [`crate::TraceCode`]: scanned where a pack's code
//! is expected it is refused as [`crate::ParseError::LogisticsLabel`], which tells the person
//! at the scanner what they scanned. Where a case is expected (a packing's parent, a
//! delivery's carton), [`crate::parse_case`] takes it, as the key the unit is kept under. Most scanners send it as 20 bare digits, `00` and the 18
//! of the SSCC, the same length as China's drug trace code; it is told apart by its `00` and
//! its check digit. China's drug trace codes are issued with drug identification codes that
//! begin with `8` (the verification platforms filter on that first digit), so no Chinese code
//! in circulation begins with `00`; a 20-digit string that begins with `00` but whose check
//! digit is wrong stays a Chinese code, as before.

use std::fmt;

use crate::ParseError;

/// An SSCC: 18 digits, an extension digit, a GS1 company prefix and serial reference, and a
/// GS1 mod-10 check digit. One that exists has a correct check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sscc(u64);

impl Sscc {
    /// Reads the 18 digits of an SSCC (the value of AI 00), checking the check digit.
    pub fn parse(digits: &str) -> Result<Sscc, ParseError> {
        Sscc::checked(digits).ok_or_else(|| ParseError::SsccCheckDigit {
            value: digits.to_owned(),
        })
    }

    /// The SSCC of `digits`, when they are 18 ASCII digits with a correct check digit.
    pub(crate) fn checked(digits: &str) -> Option<Sscc> {
        if digits.len() != 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u64 = digits.parse().ok()?;
        (crate::gtin::check_digit(value / 10) == (value % 10) as u8).then_some(Sscc(value))
    }

    /// The 18 digits as a number.
    pub fn value(self) -> u64 {
        self.0
    }

    /// The key the carton or pallet is kept under as a case: an SSCC names no pack, but a
    /// logistics unit holds packs, and its movements are theirs.
    pub fn pack_key(self) -> crate::PackKey {
        crate::PackKey::sscc(self.0)
    }
}

impl fmt::Display for Sscc {
    /// The bracketed element string, `(00)` and the 18 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(00){:018}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_digit_decides() {
        // GS1's example SSCC: extension 1, company prefix 0614141, serial 234567890, check 8.
        let s = Sscc::parse("106141412345678908").unwrap();
        assert_eq!(s.to_string(), "(00)106141412345678908");
        assert_eq!(
            Sscc::parse("106141412345678907"),
            Err(ParseError::SsccCheckDigit {
                value: "106141412345678907".into()
            })
        );
        assert!(Sscc::checked("10614141234567890").is_none(), "17 digits");
        assert!(Sscc::checked("10614141234567890A").is_none());
    }
}

#[cfg(test)]
mod case_key_tests {
    use crate::{PackIdentity, PackKey, ParseError, ProductKey, Sscc, parse_case};

    #[test]
    fn an_sscc_is_kept_as_a_case_and_read_back_from_its_bytes() {
        let sscc = Sscc::parse("106141412345678908").unwrap();
        let key = sscc.pack_key();
        assert!(key.is_sscc());
        assert_eq!(key.to_string(), "(00)106141412345678908");
        assert_eq!(key.identity(), PackIdentity::Sscc(sscc));
        assert_eq!(key.product_key(), ProductKey::Logistics);
        assert_eq!(PackKey::from_bytes(key.as_bytes()), Ok(key));
        // A wrong check digit in stored bytes is corrupt, not a key.
        let mut bytes = key.as_bytes().to_vec();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(PackKey::from_bytes(&bytes).is_err());
        assert!(PackKey::from_bytes(&bytes[..5]).is_err());
    }

    #[test]
    fn a_case_may_be_a_trace_code_or_an_sscc_in_any_form() {
        let want = Sscc::parse("106141412345678908").unwrap().pack_key();
        for s in [
            "00106141412345678908",
            "(00)106141412345678908",
            "https://id.gs1.org/00/106141412345678908",
        ] {
            assert_eq!(parse_case(s), Ok(want), "{s}");
        }
        let china = parse_case("81000010000000000501").unwrap();
        assert!(!china.is_sscc());
        assert!(matches!(
            parse_case("(00)106141412345678907"),
            Err(ParseError::SsccCheckDigit { .. })
        ));
        // Where a pack is expected, an SSCC is still refused as the label it is.
        assert!(matches!(
            crate::TraceCode::parse("00106141412345678908"),
            Err(ParseError::LogisticsLabel { .. })
        ));
    }
}
