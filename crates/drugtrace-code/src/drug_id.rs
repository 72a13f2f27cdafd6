//! The 7-digit drug identification code (药品标识码) that opens a Chinese trace code.

use std::fmt;

/// The first seven digits of a Chinese drug trace code: they name the product and its
/// packaging specification, so hospital systems map them to their catalogue and to the
/// insurance drug code. A `DrugId` that exists is exactly seven ASCII digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DrugId(u32);

/// Why a string is not a drug identification code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DrugIdError {
    /// Not seven characters long.
    Length {
        /// The number of characters seen.
        len: usize,
    },
    /// A character that is not an ASCII digit.
    NonDigit {
        /// Zero-based character position.
        pos: usize,
        /// The offending character.
        ch: char,
    },
}

impl fmt::Display for DrugIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrugIdError::Length { len } => write!(
                f,
                "a drug identification code has 7 digits, this one has {len}"
            ),
            DrugIdError::NonDigit { pos, ch } => write!(
                f,
                "drug identification code character {} is {ch:?}, not a digit",
                pos + 1
            ),
        }
    }
}

impl std::error::Error for DrugIdError {}

impl DrugId {
    /// One more than the largest drug identification code.
    pub const LIMIT: u32 = 10_000_000;

    /// Parses seven ASCII digits.
    pub fn parse(s: &str) -> Result<DrugId, DrugIdError> {
        let len = s.chars().count();
        if len != 7 {
            return Err(DrugIdError::Length { len });
        }
        let mut value = 0u32;
        for (pos, ch) in s.chars().enumerate() {
            if !ch.is_ascii_digit() {
                return Err(DrugIdError::NonDigit { pos, ch });
            }
            value = value * 10 + (ch as u32 - '0' as u32);
        }
        Ok(DrugId(value))
    }

    /// Builds a code from its numeric value (below 10^7).
    pub fn from_value(value: u32) -> Option<DrugId> {
        (value < Self::LIMIT).then_some(DrugId(value))
    }

    /// The numeric value (0 to 9,999,999).
    pub fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for DrugId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:07}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_seven_digits() {
        assert_eq!(DrugId::parse("8123456").map(DrugId::value), Ok(8_123_456));
        assert_eq!(DrugId::parse("0000001").unwrap().to_string(), "0000001");
        assert_eq!(DrugId::parse("812345"), Err(DrugIdError::Length { len: 6 }));
        assert_eq!(
            DrugId::parse("81234x6"),
            Err(DrugIdError::NonDigit { pos: 5, ch: 'x' })
        );
    }

    proptest! {
        #[test]
        fn render_parses_back(v in 0u32..DrugId::LIMIT) {
            let id = DrugId::from_value(v).unwrap();
            prop_assert_eq!(DrugId::parse(&id.to_string()), Ok(id));
        }
    }
}
