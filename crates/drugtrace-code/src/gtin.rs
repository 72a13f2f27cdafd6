//! GS1 Global Trade Item Numbers (GTIN-8/12/13/14) with their mod-10 check digit.

use std::fmt;

/// Why a string is not a GTIN.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GtinError {
    /// The GTIN has a length other than 8, 12, 13 or 14 digits.
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
    /// The last digit does not match the mod-10 check digit of the others.
    CheckDigit {
        /// The check digit the other digits call for.
        expected: u8,
        /// The check digit written.
        found: u8,
    },
}

impl fmt::Display for GtinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtinError::Length { len } => {
                write!(f, "a GTIN has 8, 12, 13 or 14 digits, this one has {len}")
            }
            GtinError::NonDigit { pos, ch } => {
                write!(f, "GTIN character {} is {ch:?}, not a digit", pos + 1)
            }
            GtinError::CheckDigit { expected, found } => write!(
                f,
                "GTIN check digit is {found}, but the other digits call for {expected}"
            ),
        }
    }
}

impl std::error::Error for GtinError {}

/// A Global Trade Item Number, normalised to 14 digits (GTIN-13 `6901234567892` is
/// GTIN-14 `06901234567892`). A `Gtin` that exists has a correct check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gtin(u64);

impl Gtin {
    /// The largest GTIN-14 value plus one.
    const LIMIT: u64 = 100_000_000_000_000;

    /// Parses a GTIN-8, -12, -13 or -14 written as ASCII digits, checking its check digit.
    pub fn parse(s: &str) -> Result<Gtin, GtinError> {
        let len = s.chars().count();
        if !matches!(len, 8 | 12 | 13 | 14) {
            return Err(GtinError::Length { len });
        }
        let mut value: u64 = 0;
        for (pos, ch) in s.chars().enumerate() {
            let d = ch.to_digit(10).filter(|_| ch.is_ascii_digit());
            let Some(d) = d else {
                return Err(GtinError::NonDigit { pos, ch });
            };
            value = value * 10 + u64::from(d);
        }
        let found = (value % 10) as u8;
        let expected = check_digit(value / 10);
        if found != expected {
            return Err(GtinError::CheckDigit { expected, found });
        }
        Ok(Gtin(value))
    }

    /// Builds a GTIN from its 14-digit value, or `None` when the value is too large or the
    /// check digit is wrong. This is the inverse of [`Gtin::value`].
    pub fn from_value(value: u64) -> Option<Gtin> {
        (value < Self::LIMIT && check_digit(value / 10) == (value % 10) as u8)
            .then_some(Gtin(value))
    }

    /// Builds a GTIN-14 from its first 13 digits (given as a number), computing the check digit.
    pub fn with_check_digit(body: u64) -> Option<Gtin> {
        (body < Self::LIMIT / 10).then(|| Gtin(body * 10 + u64::from(check_digit(body))))
    }

    /// The 14-digit value, check digit included.
    pub fn value(self) -> u64 {
        self.0
    }

    /// The GTIN as 14 digits, with leading zeros.
    pub fn to_gtin14(self) -> String {
        format!("{:014}", self.0)
    }

    /// The GTIN-13 form (as printed under an EAN-13 barcode, such as China's `69…` commodity
    /// codes), when the GTIN-14 starts with a zero.
    pub fn to_gtin13(self) -> Option<String> {
        (self.0 < Self::LIMIT / 10).then(|| format!("{:013}", self.0))
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:014}", self.0)
    }
}

/// The GS1 mod-10 check digit of `body` (the digits before the check digit): weights 3 and 1
/// alternate from the rightmost digit, which weighs 3.
pub(crate) fn check_digit(mut body: u64) -> u8 {
    let mut sum = 0u64;
    let mut weight = 3;
    while body > 0 {
        sum += (body % 10) * weight;
        body /= 10;
        weight = 4 - weight;
    }
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_gtins() {
        // Check digits taken from the GS1 check-digit calculator's worked examples.
        for (s, v) in [
            ("6901234567892", 6_901_234_567_892),
            ("09506000134352", 9_506_000_134_352),
            ("96385074", 96_385_074),
            ("036000291452", 36_000_291_452),
        ] {
            assert_eq!(Gtin::parse(s).map(Gtin::value), Ok(v), "{s}");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(Gtin::parse("123"), Err(GtinError::Length { len: 3 }));
        assert_eq!(
            Gtin::parse("690123456789a"),
            Err(GtinError::NonDigit { pos: 12, ch: 'a' })
        );
        assert_eq!(
            Gtin::parse("6901234567893"),
            Err(GtinError::CheckDigit {
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            Gtin::parse("690123456789２").unwrap_err().to_string(),
            "GTIN character 13 is '２', not a digit"
        );
    }

    proptest! {
        #[test]
        fn render_parses_back(body in 0u64..10_000_000_000_000) {
            let g = Gtin::with_check_digit(body).unwrap();
            prop_assert_eq!(Gtin::parse(&g.to_gtin14()), Ok(g));
            prop_assert_eq!(Gtin::from_value(g.value()), Some(g));
            if let Some(s13) = g.to_gtin13() {
                prop_assert_eq!(Gtin::parse(&s13), Ok(g));
            }
        }

        #[test]
        fn one_wrong_digit_is_caught(body in 0u64..10_000_000_000_000, pos in 0usize..13, delta in 1u64..10) {
            let g = Gtin::with_check_digit(body).unwrap();
            let mut digits: Vec<u8> = g.to_gtin14().into_bytes();
            digits[pos] = b'0' + ((u64::from(digits[pos] - b'0') + delta) % 10) as u8;
            let s = String::from_utf8(digits).unwrap();
            prop_assert!(Gtin::parse(&s).is_err());
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = Gtin::parse(&s);
        }
    }
}
