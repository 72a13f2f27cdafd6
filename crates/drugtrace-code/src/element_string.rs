//! Reading GS1 element strings: the raw form a scanner sends for a DataMatrix
//! (`01095060001343521725123110LOT`, GS, `21SER`) and the bracketed
//! human-readable form printed under it (`(01)09506000134352(17)251231(10)LOT(21)SER`).

use crate::ai::{self, Form};
use crate::gs1::{Fields, GS};
use crate::{Gs1Pack, ParseError};

/// The text some scanners and tools write in place of the group separator.
const GS_TEXT: &str = "<GS>";

/// Parses the element string in `code` (already normalized) from character `start` on,
/// after any symbology identifier. Leading group separators (FNC1 sent as GS) are skipped;
/// a `(` then means the bracketed form, anything else the raw form.
pub(crate) fn parse(code: &str, start: usize) -> Result<Gs1Pack, ParseError> {
    let chars: Vec<char> = code.chars().collect();
    let first = start
        + chars[start.min(chars.len())..]
            .iter()
            .take_while(|&&c| c == GS)
            .count();
    if chars.get(first) == Some(&'(') {
        return bracketed(&chars, first);
    }
    match raw(&chars, first) {
        // Some scanners write the separator as the text `<GS>`. But `<`, `G`, `S` and `>`
        // are valid serial characters, so the text is read as a separator only when the
        // code has no real one and does not parse as written: a code that parses keeps
        // its meaning.
        Err(e) if !chars.contains(&GS) && code.contains(GS_TEXT) => {
            let replaced: Vec<char> = code.replace(GS_TEXT, "\u{1d}").chars().collect();
            raw(&replaced, start).map_err(|_| e)
        }
        // A scanner that drops FNC1 runs a variable-length field into the next one. The
        // code is still refused (a guessed split could name the wrong pack), but the error
        // says where the separator belongs and how the code then reads.
        Err(e) if !chars.contains(&GS) && chars.len() - first <= MAX_SEPARATOR_SEARCH => {
            match lost_separator(&chars, first) {
                Some((pos, pack)) => Err(ParseError::LostSeparator {
                    pos,
                    reads_as: pack.to_string(),
                }),
                None => Err(e),
            }
        }
        result => result,
    }
}

/// Longest raw code searched for a lost separator: one parse per place an AI could start.
const MAX_SEPARATOR_SEARCH: usize = 120;

/// The first place (one-based character position) where one group separator makes the raw
/// code parse, and the pack it then names.
fn lost_separator(chars: &[char], first: usize) -> Option<(usize, Gs1Pack)> {
    (first + 3..chars.len()).find_map(|i| {
        let head: String = chars[i..].iter().take(4).collect();
        ai::read_prefix(&head)?;
        let mut with = chars.to_vec();
        with.insert(i, GS);
        raw(&with, first).ok().map(|p| (i + 1, p))
    })
}

/// Reads the raw form: AI, value, AI, value… where a fixed-length value ends by its length
/// and a variable-length one at a group separator or the end.
fn raw(chars: &[char], start: usize) -> Result<Gs1Pack, ParseError> {
    let mut fields = Fields::default();
    let mut i = start;
    while i < chars.len() {
        if chars[i] == GS {
            i += 1;
            continue;
        }
        let head: String = chars[i..]
            .iter()
            .take(4)
            .take_while(|&&c| c != GS)
            .collect();
        let Some(ai) = ai::read_prefix(&head) else {
            let pos = i + 1;
            if i + head.chars().count() == chars.len() && ai::is_known_prefix(&head) {
                return Err(ParseError::IncompleteAi { ai: head, pos });
            }
            let ai = head.chars().take(ai::unknown_len(&head)).collect();
            return Err(ParseError::UnknownAi { ai, pos });
        };
        let value_start = i + ai.code.len();
        let limit = match ai.form {
            Form::Fixed(n) => (value_start + n).min(chars.len()),
            Form::Digits(_) | Form::Text(_) => chars.len(),
        };
        let end = chars[value_start..limit]
            .iter()
            .position(|&c| c == GS)
            .map_or(limit, |p| value_start + p);
        let value: String = chars[value_start..end].iter().collect();
        fields.add(ai, &value, value_start + 1)?;
        i = end;
    }
    fields.finish()
}

/// Reads the bracketed form: `(AI)value` pairs in any order. Spaces and group separators
/// between pairs are ignored, since people and some printers put them there.
fn bracketed(chars: &[char], start: usize) -> Result<Gs1Pack, ParseError> {
    let mut fields = Fields::default();
    let mut i = start;
    while i < chars.len() {
        if chars[i] == GS || chars[i] == ' ' {
            i += 1;
            continue;
        }
        if chars[i] != '(' {
            return Err(ParseError::ExpectedAi {
                pos: i + 1,
                found: chars[i],
            });
        }
        let close = chars[i..]
            .iter()
            .position(|&c| c == ')')
            .map(|p| i + p)
            .ok_or(ParseError::UnclosedAi { pos: i + 1 })?;
        let code: String = chars[i + 1..close].iter().collect();
        let ai = ai::lookup(&code).ok_or(ParseError::UnknownAi {
            ai: code,
            pos: i + 2,
        })?;
        let mut value_start = close + 1;
        while chars.get(value_start) == Some(&' ') {
            value_start += 1;
        }
        // A `\(` in a value is a literal `(` (the GS1 Barcode Syntax Engine's escape, which
        // the bracketed form needs for a value holding text like `(21)`); a backslash is no
        // character of set 82, so the escape is never data.
        let mut end = value_start;
        let mut value = String::new();
        while end < chars.len() && chars[end] != GS && !starts_ai(&chars[end..]) {
            if chars[end] == '\\' && chars.get(end + 1) == Some(&'(') {
                end += 1;
            }
            value.push(chars[end]);
            end += 1;
        }
        fields.add(ai, value.trim_end_matches(' '), value_start + 1)?;
        i = end;
    }
    fields.finish()
}

/// Whether `chars` starts with a bracketed AI: `(`, two to four digits, `)`. Anything else,
/// such as the `(` of a batch `L(A)`, belongs to the value.
fn starts_ai(chars: &[char]) -> bool {
    let digits = chars
        .iter()
        .skip(1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    chars.first() == Some(&'(') && (2..=4).contains(&digits) && chars.get(1 + digits) == Some(&')')
}

/// A value as the bracketed form writes it: each `(` that would read as the start of an AI
/// escaped as `\(`, so that the form reads back as the same value.
pub(crate) fn escape_bracketed(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    for (i, &c) in chars.iter().enumerate() {
        if starts_ai(&chars[i..]) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExpiryProblem;

    /// A pack with the usual fields, to compare parses against.
    fn pack(serial: &str, batch: Option<&str>, expiry: Option<&str>) -> Gs1Pack {
        let gtin = crate::Gtin::parse("09506000134352").unwrap();
        let expiry = expiry.map(|e| crate::Expiry::parse_yymmdd(e).unwrap());
        Gs1Pack::new(gtin, serial, batch, expiry).unwrap()
    }

    fn parse0(s: &str) -> Result<Gs1Pack, ParseError> {
        parse(s, 0)
    }

    #[test]
    fn good_inputs() {
        let full = pack("SER1", Some("LOT1"), Some("251231"));
        for input in [
            "010950600013435217251231\u{1d}10LOT1\u{1d}21SER1",
            "01095060001343521725123110LOT1\u{1d}21SER1",
            "010950600013435210LOT1\u{1d}1725123121SER1",
            "\u{1d}0109506000134352\u{1d}17251231\u{1d}10LOT1\u{1d}21SER1\u{1d}",
            "21SER1\u{1d}10LOT1\u{1d}010950600013435217251231",
            "(01)09506000134352(17)251231(10)LOT1(21)SER1",
            "(21)SER1(10)LOT1(17)251231(01)09506000134352",
            "(01) 09506000134352 (17) 251231 (10) LOT1 (21) SER1",
            "(01)09506000134352(17)251231(10)LOT1\u{1d}(21)SER1",
        ] {
            assert_eq!(parse0(input), Ok(full.clone()), "{input:?}");
        }
        // Fields pharmaceutical packs carry besides ours are read and ignored.
        for input in [
            "0109506000134352\u{1d}71012345\u{1d}11250101\u{1d}3012\u{1d}21SER1",
            "(01)09506000134352(710)AIC123(240)X(20)01(21)SER1",
            "(01)09506000134352(21)SER1(21)SER1",
        ] {
            assert_eq!(parse0(input), Ok(pack("SER1", None, None)), "{input:?}");
        }
        // Parentheses that do not make an AI are value characters.
        assert_eq!(
            parse0("(01)09506000134352(10)L(A)(21)(1)"),
            Ok(pack("(1)", Some("L(A)"), None))
        );
        // The text `<GS>` as a separator, and as serial characters.
        assert_eq!(
            parse0("010950600013435210LOT1<GS>21SER1"),
            Ok(pack("SER1", Some("LOT1"), None))
        );
        assert_eq!(
            parse0("010950600013435221A<GS>B"),
            Ok(pack("A<GS>B", None, None))
        );
    }

    #[test]
    fn bad_inputs() {
        let s = |ai: &str| ai.to_string();
        for (input, expected) in [
            (
                "0109506000134353",
                ParseError::Gtin(crate::GtinError::CheckDigit {
                    expected: 2,
                    found: 3,
                }),
            ),
            ("0109506000134352", ParseError::MissingSerial),
            ("21SER1", ParseError::MissingGtin),
            (
                "010950600013435299X",
                ParseError::UnknownAi {
                    ai: s("99"),
                    pos: 17,
                },
            ),
            (
                "0109506000134352243X",
                ParseError::UnknownAi {
                    ai: s("243"),
                    pos: 17,
                },
            ),
            (
                "0109506000134352\u{1d}7",
                ParseError::IncompleteAi {
                    ai: s("7"),
                    pos: 18,
                },
            ),
            (
                "01095060001343",
                ParseError::WrongLength {
                    ai: s("01"),
                    expected: 14,
                    got: 12,
                },
            ),
            (
                "010950600013435217251341",
                ParseError::Expiry {
                    value: s("251341"),
                    problem: ExpiryProblem::Month(13),
                },
            ),
            (
                "01095060001343521725x231",
                ParseError::NotDigit { pos: 21, ch: 'x' },
            ),
            (
                // The batch runs into the serial: a lost separator, pointed at.
                "010950600013435210LOT21SERIAL0123456789",
                ParseError::LostSeparator {
                    pos: 22,
                    reads_as: s("(01)09506000134352(10)LOT(21)SERIAL0123456789"),
                },
            ),
            ("010950600013435221", ParseError::EmptyValue { ai: s("21") }),
            (
                "0109506000134352\u{1d}21A\u{1d}21B",
                ParseError::DuplicateAi { ai: s("21") },
            ),
            (
                "010950600013435221Aé",
                ParseError::BadChar {
                    ai: s("21"),
                    pos: 20,
                    ch: 'é',
                },
            ),
            (
                "(01)09506000134352x(21)A",
                ParseError::WrongLength {
                    ai: s("01"),
                    expected: 14,
                    got: 15,
                },
            ),
            (
                "(01)09506000134352(99)A",
                ParseError::UnknownAi {
                    ai: s("99"),
                    pos: 20,
                },
            ),
            ("(01", ParseError::UnclosedAi { pos: 1 }),
            (
                "(01)09506000134352\u{1d}x(21)A",
                ParseError::ExpectedAi {
                    pos: 20,
                    found: 'x',
                },
            ),
            ("(21)", ParseError::EmptyValue { ai: s("21") }),
        ] {
            assert_eq!(parse0(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn messages() {
        for (input, expected) in [
            (
                "010950600013435299X",
                "unknown application identifier 99 at character 17",
            ),
            ("0109506000134352", "missing (21) serial"),
            (
                "010950600013435217251341",
                "(17) expiry 251341: month 13 does not exist",
            ),
            (
                "0109506000134353",
                "GTIN check digit is 3, but the other digits call for 2",
            ),
            (
                "0109506000134352\u{1d}21A\u{1d}21B",
                "(21) serial appears twice with different values",
            ),
        ] {
            assert_eq!(
                parse0(input).unwrap_err().to_string(),
                expected,
                "{input:?}"
            );
        }
    }
}
