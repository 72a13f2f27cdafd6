//! The insurance drug code (医保码) that the national insurance catalogue gives each product.

use std::fmt;
use std::str::FromStr;

/// What an insurance code names, told by its first letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InsuranceCodeKind {
    /// A Western drug (西药): `X` and 22 more characters (5 class, 4 name, 4 dosage form,
    /// 4 specification and package, 5 manufacturer).
    Western,
    /// A Chinese patent drug (中成药): `Z` and 19 more characters.
    ChinesePatent,
    /// A medical consumable (医用耗材): `C` and 26 more characters.
    Consumable,
}

impl InsuranceCodeKind {
    /// Every kind, in the order the national catalogue lists them.
    pub const ALL: [InsuranceCodeKind; 3] = [
        InsuranceCodeKind::Western,
        InsuranceCodeKind::ChinesePatent,
        InsuranceCodeKind::Consumable,
    ];

    /// The kind an uppercase first letter stands for, if any.
    pub fn from_letter(letter: char) -> Option<InsuranceCodeKind> {
        match letter {
            'X' => Some(InsuranceCodeKind::Western),
            'Z' => Some(InsuranceCodeKind::ChinesePatent),
            'C' => Some(InsuranceCodeKind::Consumable),
            _ => None,
        }
    }

    /// The first letter of every code of this kind.
    pub fn letter(self) -> char {
        match self {
            InsuranceCodeKind::Western => 'X',
            InsuranceCodeKind::ChinesePatent => 'Z',
            InsuranceCodeKind::Consumable => 'C',
        }
    }

    /// The length of every code of this kind, first letter included.
    pub fn code_len(self) -> usize {
        match self {
            InsuranceCodeKind::Western => 23,
            InsuranceCodeKind::ChinesePatent => 20,
            InsuranceCodeKind::Consumable => 27,
        }
    }

    /// A short English description, as used in error messages.
    pub fn description(self) -> &'static str {
        match self {
            InsuranceCodeKind::Western => "a Western drug",
            InsuranceCodeKind::ChinesePatent => "a Chinese patent drug",
            InsuranceCodeKind::Consumable => "a medical consumable",
        }
    }
}

impl fmt::Display for InsuranceCodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Why a string is not an insurance code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InsuranceCodeError {
    /// Nothing but whitespace.
    #[error("the insurance code is empty")]
    Empty,
    /// The first letter is `x`, `z` or `c` in lowercase. This gets its own message because it is
    /// the usual scanner or keyboard slip (caps lock), and saying "uppercase" fixes it at once.
    #[error(
        "insurance codes start with an uppercase X, Z or C, this one starts with lowercase {ch:?}"
    )]
    LowercaseKind {
        /// The first character.
        ch: char,
    },
    /// The first character is not a known kind letter.
    #[error("insurance codes start with X, Z or C, this one starts with {ch:?}")]
    UnknownKind {
        /// The first character.
        ch: char,
    },
    /// The length does not match the kind the first letter names.
    #[error(
        "an insurance code for {kind} ({letter}) has {expected} characters, this one has {len}",
        letter = kind.letter(),
        expected = kind.code_len()
    )]
    Length {
        /// The kind the first letter names.
        kind: InsuranceCodeKind,
        /// The number of characters seen, after trimming surrounding whitespace.
        len: usize,
    },
    /// A character after the first letter that is not an ASCII uppercase letter or digit.
    #[error("character {position} is {ch:?}, not an uppercase letter or digit")]
    BadCharacter {
        /// One-based position in the trimmed code, so that the first letter is character 1.
        position: usize,
        /// The offending character.
        ch: char,
    },
}

/// An insurance drug code (医保码), such as `XR05CBA198A001010100863` for a Western drug or
/// `ZI02AAN0001020103906` for a Chinese patent drug. A value that exists starts with `X`, `Z`
/// or `C`, has the length that letter calls for, and holds only ASCII uppercase letters and
/// digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InsuranceCode(Box<str>);

impl InsuranceCode {
    /// Parses an insurance code, ignoring surrounding whitespace. Lowercase letters are refused
    /// rather than folded: the national catalogue spells codes in uppercase, and a silent fold
    /// would hide a data-entry error that the sender should correct at the source.
    pub fn parse(s: &str) -> Result<InsuranceCode, InsuranceCodeError> {
        let s = s.trim();
        let mut chars = s.chars();
        let Some(first) = chars.next() else {
            return Err(InsuranceCodeError::Empty);
        };
        let kind = match InsuranceCodeKind::from_letter(first) {
            Some(kind) => kind,
            None if matches!(first, 'x' | 'z' | 'c') => {
                return Err(InsuranceCodeError::LowercaseKind { ch: first });
            }
            None => return Err(InsuranceCodeError::UnknownKind { ch: first }),
        };
        let len = s.chars().count();
        if len != kind.code_len() {
            return Err(InsuranceCodeError::Length { kind, len });
        }
        if let Some((i, ch)) = chars
            .enumerate()
            .find(|&(_, ch)| !(ch.is_ascii_uppercase() || ch.is_ascii_digit()))
        {
            // `i` counts from the second character, and positions are one-based.
            return Err(InsuranceCodeError::BadCharacter {
                position: i + 2,
                ch,
            });
        }
        Ok(InsuranceCode(s.into()))
    }

    /// The code as written, in uppercase ASCII.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the code names: a Western drug, a Chinese patent drug or a consumable.
    pub fn kind(&self) -> InsuranceCodeKind {
        // The first byte is one of the three kind letters, which `parse` checked.
        match self.0.as_bytes()[0] {
            b'X' => InsuranceCodeKind::Western,
            b'Z' => InsuranceCodeKind::ChinesePatent,
            _ => InsuranceCodeKind::Consumable,
        }
    }
}

impl fmt::Display for InsuranceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for InsuranceCode {
    type Err = InsuranceCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InsuranceCode::parse(s)
    }
}

impl AsRef<str> for InsuranceCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn good_codes() {
        let table = [
            ("XR05CBA198A001010100863", InsuranceCodeKind::Western),
            ("ZI02AAN0001020103906", InsuranceCodeKind::ChinesePatent),
            ("C03010100100000012000001234", InsuranceCodeKind::Consumable),
            ("  XJ01CAA040E001010100001\t", InsuranceCodeKind::Western),
            ("X0000000000000000000000", InsuranceCodeKind::Western),
        ];
        for (input, kind) in table {
            let code = InsuranceCode::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(code.kind(), kind, "{input:?}");
            assert_eq!(code.as_str(), input.trim());
            assert_eq!(code.to_string(), input.trim());
            assert_eq!(input.parse::<InsuranceCode>(), Ok(code));
        }
    }

    #[test]
    fn bad_codes_say_what_is_wrong() {
        let table = [
            ("", "the insurance code is empty"),
            ("   ", "the insurance code is empty"),
            (
                "QR05CBA198A001010100863",
                "insurance codes start with X, Z or C, this one starts with 'Q'",
            ),
            (
                "xR05CBA198A001010100863",
                "insurance codes start with an uppercase X, Z or C, this one starts with lowercase 'x'",
            ),
            (
                "医R05CBA198A001010100863",
                "insurance codes start with X, Z or C, this one starts with '医'",
            ),
            (
                "XR05CBA198A001010100",
                "an insurance code for a Western drug (X) has 23 characters, this one has 20",
            ),
            (
                "XR05CBA198A00101010086",
                "an insurance code for a Western drug (X) has 23 characters, this one has 22",
            ),
            (
                "ZI02AAN00010201039060",
                "an insurance code for a Chinese patent drug (Z) has 20 characters, this one has 21",
            ),
            (
                "C0301",
                "an insurance code for a medical consumable (C) has 27 characters, this one has 5",
            ),
            (
                "XR05CBa198A001010100863",
                "character 7 is 'a', not an uppercase letter or digit",
            ),
            (
                "XR05CBA198A00101010086３",
                "character 23 is '３', not an uppercase letter or digit",
            ),
            (
                "XR05CB 198A001010100863",
                "character 7 is ' ', not an uppercase letter or digit",
            ),
        ];
        for (input, message) in table {
            let err = InsuranceCode::parse(input).expect_err(input);
            assert_eq!(err.to_string(), message, "{input:?}");
        }
    }

    fn any_code() -> impl Strategy<Value = String> {
        prop_oneof![
            "X[A-Z0-9]{22}".prop_map(String::from),
            "Z[A-Z0-9]{19}".prop_map(String::from),
            "C[A-Z0-9]{26}".prop_map(String::from),
        ]
    }

    proptest! {
        #[test]
        fn render_parses_back(s in any_code()) {
            let code = InsuranceCode::parse(&s).unwrap();
            prop_assert_eq!(code.as_str(), s.as_str());
            prop_assert_eq!(InsuranceCode::parse(code.as_ref()), Ok(code.clone()));
            prop_assert_eq!(code.as_str().len(), code.kind().code_len());
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = InsuranceCode::parse(&s);
        }

        #[test]
        fn never_panics_on_near_misses(s in "[XZCxzcQ ][A-Za-z0-9 ３]{17,28}") {
            if let Ok(code) = InsuranceCode::parse(&s) {
                prop_assert_eq!(code.as_str(), s.trim());
            }
        }
    }
}
