//! The one error type of every parser in this crate, with messages meant for the person at
//! the scanner: each says what is wrong and, where it can, at which character.

use std::fmt;

use crate::{Gtin, GtinError, Sscc};

/// Why a string is not a trace code (or a part of one).
///
/// Positions (`pos`) count characters from 1 in the code after normalization (surrounding
/// whitespace trimmed, full-width characters mapped to ASCII), which is what a person sees.
/// Application identifiers (`ai`) are written without their brackets, such as `"21"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but whitespace was scanned.
    Empty,
    /// A Chinese trace code with the wrong number of digits.
    Length {
        /// The number of characters seen.
        got: usize,
    },
    /// A character that should be a digit is not.
    NotDigit {
        /// One-based character position.
        pos: usize,
        /// The offending character.
        ch: char,
    },
    /// A valid GTIN alone: the product's commodity barcode was scanned instead of the pack's
    /// trace code, a common slip at the counter.
    ProductBarcode {
        /// The GTIN that was scanned.
        gtin: Gtin,
    },
    /// The input looks like none of the code forms this crate reads.
    Unrecognized,
    /// A scanner prefix (symbology identifier, `]` + letter + digit) that is not known.
    Symbology {
        /// The identifier, such as `"]Z9"`.
        id: String,
    },
    /// The GTIN in AI (01) or a Digital Link is wrong.
    Gtin(GtinError),
    /// An application identifier this crate does not know.
    UnknownAi {
        /// The digits read as the identifier.
        ai: String,
        /// One-based character position of the identifier.
        pos: usize,
    },
    /// The code ends in the middle of an application identifier.
    IncompleteAi {
        /// The digits read before the end.
        ai: String,
        /// One-based character position of the identifier.
        pos: usize,
    },
    /// The bracketed form has something other than `(` where an identifier should start.
    ExpectedAi {
        /// One-based character position.
        pos: usize,
        /// The character found there.
        found: char,
    },
    /// A `(` in the bracketed form that no `)` closes.
    UnclosedAi {
        /// One-based character position of the `(`.
        pos: usize,
    },
    /// The same application identifier appears twice with different values.
    DuplicateAi {
        /// The identifier.
        ai: String,
    },
    /// A fixed-length field has the wrong length.
    WrongLength {
        /// The identifier.
        ai: String,
        /// The length the identifier requires.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// A variable-length field is longer than its identifier allows.
    TooLong {
        /// The identifier.
        ai: String,
        /// The longest value allowed.
        max: usize,
        /// The length found.
        got: usize,
    },
    /// A field has no value at all.
    EmptyValue {
        /// The identifier.
        ai: String,
    },
    /// A character outside GS1's character set 82 in a serial, batch or other text field.
    BadChar {
        /// The identifier of the field.
        ai: String,
        /// One-based character position.
        pos: usize,
        /// The offending character.
        ch: char,
    },
    /// The expiry date (AI 17) is not a date.
    Expiry {
        /// The value as written.
        value: String,
        /// What is wrong with it.
        problem: ExpiryProblem,
    },
    /// No AI (01) GTIN: a GS1 pack cannot be identified without it.
    MissingGtin,
    /// No AI (21) serial: without it the code names a product, not one pack.
    MissingSerial,
    /// A Digital Link path without the `/01/{gtin}` primary key.
    NoDigitalLinkGtin,
    /// A Digital Link path ends with an identifier but no value after it.
    MissingValue {
        /// The identifier.
        ai: String,
    },
    /// A `%` in a Digital Link that is not followed by two hexadecimal digits.
    PercentEncoding {
        /// One-based character position of the `%`.
        pos: usize,
    },
    /// An SSCC was scanned: the label of a carton or pallet, not a pack.
    LogisticsLabel {
        /// The SSCC.
        sscc: Sscc,
    },
    /// An (00) SSCC whose check digit is wrong.
    SsccCheckDigit {
        /// The 18 digits as written.
        value: String,
    },
    /// A raw element string that parses only with a group separator the scanner did not send.
    LostSeparator {
        /// One-based character position where the separator belongs.
        pos: usize,
        /// The pack the code names with it, in the bracketed form.
        reads_as: String,
    },
    /// A compressed GS1 Digital Link (its last path segment bits in base64) that does not
    /// decode.
    CompressedLink {
        /// One-based character position of the segment character where the trouble starts.
        pos: usize,
        /// What is wrong.
        problem: CompressedProblem,
    },
    /// A code whose letters came through in the other case, as a scanner types them with
    /// Caps Lock on: refused, since its serial and batch may be inverted too.
    CapsLock {
        /// What shows it.
        sign: CapsLockSign,
        /// How the code reads with the case of its letters turned back, in the bracketed
        /// form: for the person to compare, never taken.
        reads_as: String,
    },
    /// A Chinese code whose digits came through a keyboard layout that types them as other
    /// characters (a scanner emulating a US keyboard on a French AZERTY one, say).
    KeyboardLayout {
        /// The layout the characters fit.
        layout: &'static str,
        /// The code as its digits.
        meant: String,
    },
}

/// What is wrong with a compressed GS1 Digital Link. An `ai` is an application identifier's
/// digits, or the key of a key=value pair that is not GS1's (empty while its key is unread).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompressedProblem {
    /// The bits where an AI starts name none of GS1's compression tables (as hexadecimal
    /// digits, such as `"D7"`, or the digits read so far, such as `"05"`).
    UnknownAi {
        /// The hexadecimal digits read.
        code: String,
    },
    /// An AI that GS1's compression tables give no layout for (one defined after them, such
    /// as 8030), so nothing after it can be read.
    NoCompressedForm {
        /// The AI.
        ai: String,
    },
    /// The link ends inside an AI or its value.
    Truncated {
        /// The AI.
        ai: String,
    },
    /// A text's encoding indicator is one GS1 reserves (5 to 7).
    Encoding {
        /// The AI.
        ai: String,
        /// The indicator read.
        indicator: u8,
    },
    /// A number whose bits hold more digits than its length allows.
    NumberTooLarge {
        /// The AI.
        ai: String,
        /// The digits allowed.
        digits: usize,
    },
    /// A character outside GS1's character set 82 in a text field.
    BadChar {
        /// The AI.
        ai: String,
        /// The character.
        ch: char,
    },
    /// Bits after the last value that are not the zero padding of the last character.
    Padding,
}

/// What shows that a code's letters came through with Caps Lock on: a place where GS1 fixes
/// the case of letters, found in the other case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CapsLockSign {
    /// A scanner prefix with its letter in the other case (`]D2` for `]d2`, `]c1`, `]q1`,
    /// `]q3`).
    SymbologyId {
        /// The prefix as it came.
        id: String,
    },
    /// A Digital Link short name in capitals (`GTIN` for `gtin`).
    ShortName {
        /// The name as it came.
        name: String,
    },
    /// A compressed Digital Link segment that decodes only with its case turned back.
    Compressed,
    /// The group separator written `<gs>` for `<GS>`.
    SeparatorText,
}

/// What is wrong with a YYMMDD expiry date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExpiryProblem {
    /// Not exactly six ASCII digits.
    Format,
    /// The month is not 1 to 12.
    Month(u32),
    /// The day does not exist in the month (day 00, end of month, always does).
    Day {
        /// The day written.
        day: u32,
        /// The month written.
        month: u32,
    },
    /// 29 February in a year whose two digits are not divisible by 4.
    NotLeapYear {
        /// The two-digit year.
        yy: u32,
    },
}

/// The name people use for the field of an application identifier, to make messages readable.
pub(crate) fn field_name(ai: &str) -> &'static str {
    match ai {
        "01" => " GTIN",
        "10" => " batch",
        "17" => " expiry",
        "21" => " serial",
        _ => "",
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => write!(f, "empty code"),
            ParseError::Length { got } => write!(f, "expected 20 digits, got {got}"),
            ParseError::NotDigit { pos, ch } => {
                write!(f, "character {pos} is {ch:?}, not a digit")
            }
            ParseError::ProductBarcode { gtin } => write!(
                f,
                "{gtin} is a product barcode (GTIN), not the pack's trace code"
            ),
            ParseError::Unrecognized => write!(
                f,
                "not a trace code: expected 20 digits, a GS1 element string or a GS1 Digital Link"
            ),
            ParseError::Symbology { id } => {
                write!(f, "unknown scanner prefix {id:?} (symbology identifier)")
            }
            // Transparent: the GTIN error's own message already says everything.
            ParseError::Gtin(e) => fmt::Display::fmt(e, f),
            ParseError::UnknownAi { ai, pos } => {
                write!(f, "unknown application identifier {ai} at character {pos}")
            }
            ParseError::IncompleteAi { ai, pos } => write!(
                f,
                "the code ends inside application identifier {ai} at character {pos}"
            ),
            ParseError::ExpectedAi { pos, found } => write!(
                f,
                "expected '(' and an application identifier at character {pos}, found {found:?}"
            ),
            ParseError::UnclosedAi { pos } => {
                write!(f, "the '(' at character {pos} is not closed by ')'")
            }
            ParseError::DuplicateAi { ai } => write!(
                f,
                "({ai}){} appears twice with different values",
                field_name(ai)
            ),
            ParseError::WrongLength { ai, expected, got } => write!(
                f,
                "({ai}){} needs {expected} digits, got {got}",
                field_name(ai)
            ),
            ParseError::TooLong { ai, max, got } => write!(
                f,
                "({ai}){} longer than {max} characters (it has {got})",
                field_name(ai)
            ),
            ParseError::EmptyValue { ai } => write!(f, "({ai}){} is empty", field_name(ai)),
            ParseError::BadChar { ai, pos, ch } => write!(
                f,
                "character {pos} is {ch:?}, not allowed in ({ai}){} (GS1 character set 82)",
                field_name(ai)
            ),
            ParseError::Expiry { value, problem } => {
                write!(f, "(17) expiry {value}: {problem}")
            }
            ParseError::MissingGtin => write!(f, "missing (01) GTIN"),
            ParseError::MissingSerial => write!(f, "missing (21) serial"),
            ParseError::NoDigitalLinkGtin => write!(f, "Digital Link path has no /01/ segment"),
            ParseError::MissingValue { ai } => {
                write!(f, "Digital Link path ends after /{ai}/ with no value")
            }
            ParseError::PercentEncoding { pos } => write!(
                f,
                "the '%' at character {pos} is not followed by two hexadecimal digits"
            ),
            ParseError::LogisticsLabel { sscc } => write!(
                f,
                "{sscc} is an SSCC, the shipping label of a carton or pallet, not a pack's trace code: scan the packs inside it"
            ),
            ParseError::SsccCheckDigit { value } => write!(
                f,
                "(00) SSCC {value}: the check digit is wrong (a misread label?)"
            ),
            ParseError::LostSeparator { pos, reads_as } => write!(
                f,
                "a group separator (GS, ASCII 29) seems lost before character {pos}: with it the code reads {reads_as}; set the scanner to send FNC1 as GS, then scan again"
            ),
            ParseError::CompressedLink { pos, problem } => {
                write!(f, "compressed Digital Link, at character {pos}: {problem}")
            }
            ParseError::CapsLock { sign, reads_as } => {
                write!(
                    f,
                    "the letters came through in the other case, as with Caps Lock on ({sign}); turned back, the code reads {reads_as}: turn Caps Lock off (or set the scanner to ignore it), then scan again"
                )?;
                if matches!(
                    sign,
                    CapsLockSign::ShortName { .. } | CapsLockSign::Compressed
                ) {
                    write!(f, "; if the code is printed so, the code itself is wrong")?;
                }
                Ok(())
            }
            ParseError::KeyboardLayout { layout, meant } => write!(
                f,
                "the digits came through a {layout} keyboard layout (read as digits: {meant}): set the scanner's keyboard layout to the computer's, then scan again"
            ),
        }
    }
}

impl fmt::Display for ExpiryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpiryProblem::Format => write!(f, "expected 6 digits YYMMDD"),
            ExpiryProblem::Month(m) => write!(f, "month {m} does not exist"),
            ExpiryProblem::Day { day, month } => {
                write!(f, "day {day} does not exist in month {month}")
            }
            ExpiryProblem::NotLeapYear { yy } => {
                write!(f, "29 February needs a leap year, and {yy:02} is not one")
            }
        }
    }
}

/// An AI with its field's name, `(21) serial`, or a key that is not GS1's.
fn describe(ai: &str) -> String {
    if ai.is_empty() {
        "a key=value pair".to_string()
    } else if ai.bytes().all(|b| b.is_ascii_digit()) {
        format!("({ai}){}", field_name(ai))
    } else {
        format!("the key {ai:?}")
    }
}

impl fmt::Display for CapsLockSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapsLockSign::SymbologyId { id } => write!(
                f,
                "the scanner prefix is {id}, not {}",
                crate::caps_lock::invert_case(id)
            ),
            CapsLockSign::ShortName { name } => write!(
                f,
                "the path says /{name}/ where GS1 writes /{}/",
                name.to_ascii_lowercase()
            ),
            CapsLockSign::Compressed => write!(
                f,
                "its compressed segment decodes only with the case of its letters turned back"
            ),
            CapsLockSign::SeparatorText => write!(f, "the separator is written <gs>, not <GS>"),
        }
    }
}

impl fmt::Display for CompressedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompressedProblem::UnknownAi { code } => write!(
                f,
                "its bits read {code}, which starts no application identifier GS1's compression tables know"
            ),
            CompressedProblem::NoCompressedForm { ai } => write!(
                f,
                "{} has no compressed form, so nothing after it can be read",
                describe(ai)
            ),
            CompressedProblem::Truncated { ai } => {
                write!(f, "the link ends inside {}", describe(ai))
            }
            CompressedProblem::Encoding { ai, indicator } => write!(
                f,
                "{} has encoding indicator {indicator}, which GS1 reserves",
                describe(ai)
            ),
            CompressedProblem::NumberTooLarge { ai, digits } => write!(
                f,
                "the number in {} has more than its {digits} digits",
                describe(ai)
            ),
            CompressedProblem::BadChar { ai, ch } => write!(
                f,
                "{} holds {ch:?}, which is not in GS1 character set 82",
                describe(ai)
            ),
            CompressedProblem::Padding => {
                write!(f, "the bits after the last value are not zero padding")
            }
        }
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Transparent, like `thiserror`'s `#[error(transparent)]`: the message is the
            // inner error's, so its source is the inner error's source, not the inner error.
            ParseError::Gtin(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

impl From<GtinError> for ParseError {
    fn from(e: GtinError) -> ParseError {
        ParseError::Gtin(e)
    }
}
