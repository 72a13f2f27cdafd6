//! The GS1 application identifiers (AIs) this crate reads, and the form of each one's value.
//!
//! A pack is identified by (01) GTIN and (21) serial and described by (17) expiry and
//! (10) batch. Real pharmaceutical packs carry a few more AIs (national reimbursement numbers
//! 710-716, production dates, counts), so those are read and checked for form, then ignored,
//! rather than rejecting a genuine scan; (250) secondary serial and (8030) digital signature
//! are read and kept with the pack. Any other AI is an error, since it more likely means
//! a misread than an exotic pack.

/// What an AI's value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Exactly this many digits; needs no separator after it.
    Fixed(usize),
    /// One to this many digits; ends at a group separator or the end of the string.
    Digits(usize),
    /// One to this many characters of GS1's character set 82; ends like [`Form::Digits`].
    Text(usize),
}

/// The AIs this crate knows, with the form of their values (GS1 General Specifications).
const TABLE: &[(&str, Form)] = &[
    ("00", Form::Fixed(18)),
    ("01", Form::Fixed(14)),
    ("02", Form::Fixed(14)),
    ("10", Form::Text(20)),
    ("11", Form::Fixed(6)),
    ("12", Form::Fixed(6)),
    ("13", Form::Fixed(6)),
    ("15", Form::Fixed(6)),
    ("16", Form::Fixed(6)),
    ("17", Form::Fixed(6)),
    ("20", Form::Fixed(2)),
    ("21", Form::Text(20)),
    ("22", Form::Text(20)),
    ("240", Form::Text(30)),
    ("241", Form::Text(30)),
    ("250", Form::Text(30)),
    ("30", Form::Digits(8)),
    ("37", Form::Digits(8)),
    ("710", Form::Text(20)),
    ("711", Form::Text(20)),
    ("712", Form::Text(20)),
    ("713", Form::Text(20)),
    ("714", Form::Text(20)),
    ("715", Form::Text(20)),
    ("716", Form::Text(20)),
    // The digital signature: GS1 file-safe base64 (set 64), a subset of set 82, checked as
    // set 82.
    ("8030", Form::Text(90)),
];

/// A known AI and its value's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ai {
    /// The identifier's digits.
    pub(crate) code: &'static str,
    /// The form of its value.
    pub(crate) form: Form,
}

/// Looks up an AI written exactly as `code`.
pub(crate) fn lookup(code: &str) -> Option<Ai> {
    TABLE
        .iter()
        .find(|(c, _)| *c == code)
        .map(|&(code, form)| Ai { code, form })
}

/// Reads the AI at the start of `digits` (an unbracketed element string): AIs are prefix-free,
/// so the first known code that `digits` starts with is the one.
pub(crate) fn read_prefix(digits: &str) -> Option<Ai> {
    TABLE
        .iter()
        .find(|(c, _)| digits.starts_with(c))
        .map(|&(code, form)| Ai { code, form })
}

/// Whether some known AI starts with `prefix`, so that a code ending after `prefix` was
/// cut short rather than wrong.
pub(crate) fn is_known_prefix(prefix: &str) -> bool {
    TABLE.iter().any(|(c, _)| c.starts_with(prefix))
}

/// How many characters an unknown AI at the start of `digits` most likely has, for the error
/// message: three when its first two digits start a known three-digit AI, else two.
pub(crate) fn unknown_len(digits: &str) -> usize {
    let two = digits.get(..2).unwrap_or(digits);
    let longer = TABLE.iter().any(|(c, _)| c.len() > 2 && c.starts_with(two));
    if longer { 3 } else { 2 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_prefix_free() {
        for (a, _) in TABLE {
            for (b, _) in TABLE {
                assert!(a == b || !b.starts_with(a), "{a} is a prefix of {b}");
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup("17").map(|a| a.form), Some(Form::Fixed(6)));
        assert_eq!(lookup("99"), None);
        assert_eq!(read_prefix("2401").map(|a| a.code), Some("240"));
        assert_eq!(read_prefix("24"), None);
        assert_eq!(unknown_len("2431"), 3);
        assert_eq!(unknown_len("99"), 2);
        assert!(is_known_prefix("7") && is_known_prefix("71") && !is_known_prefix("72"));
    }
}
