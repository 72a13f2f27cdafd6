//! Recognising a code typed with Caps Lock on, to explain its refusal.
//!
//! A keyboard-wedge scanner types a code as key presses. With Caps Lock on, every ASCII
//! letter arrives in the other case (a letter the scanner shifts comes out small) and
//! nothing else changes: on the US layout scanners emulate, Caps Lock leaves digits and
//! symbols alone. So only letters can show it, and only where GS1 fixes their case:
//!
//! - the symbology identifiers `]d2`, `]C1`, `]Q1` and `]Q3` (made by the scanner, never
//!   printed) arriving as `]D2`, `]c1`, `]q1`, `]q3`;
//! - Digital Link short names arriving as `/GTIN/`, `/LOT/`, `/SER/`, `/CPV/`, `/SSCC/`
//!   (the path is case-sensitive and the short names are small letters);
//! - a compressed Digital Link segment, whose letters are bits, that decodes only with their
//!   case turned back;
//! - the text `<gs>` some scanners write for the group separator, arriving for `<GS>`.
//!
//! Nothing else is detectable. A serial or batch is any mix of letters, so `ABC` may be
//! `abc` inverted and no check digit covers letters; digits, GTINs, dates and China's codes
//! are unchanged by Caps Lock. And the scheme and host of a URI are case-insensitive
//! (RFC 3986, 3.1 and 3.2.2), and GS1 recommends printing them in capitals
//! (`HTTPS://ID.GS1.ORG`, which QR codes hold more compactly), so an upper-case scheme and
//! host are read as any other: `HTTPS://ID.GS1.ORG/01/09506000134352/21/ABC` is the pack
//! with serial `ABC`.
//!
//! The code is never read on a guess: a sign of Caps Lock only explains a refusal, naming
//! what the code would read with its case turned back so the person can compare, and only
//! when that reading parses, so a code that is simply wrong keeps its own error. The one
//! code refused *because of* a sign is one whose scanner prefix is inverted and whose
//! reading depends on the case of its letters: it parses, but its letters are likely
//! inverted too, so reading it could name another pack (when turning the case back reads the
//! same pack, as with a serial of digits, Caps Lock changed nothing and it is read).

use crate::gs1::GS;
use crate::{CapsLockSign, ParseError, TraceCode};

/// The symbology identifiers GS1 codes and their links arrive with, case inverted.
const INVERTED_PREFIXES: [&str; 4] = ["]D2", "]c1", "]q1", "]q3"];
/// The Digital Link short names, upper case.
const SHORT_NAMES: [&str; 5] = ["GTIN", "LOT", "SER", "CPV", "SSCC"];

/// Checks the outcome of reading the normalized `code` (with `read`) for signs of Caps
/// Lock: a refusal that the case-inverted code explains becomes [`ParseError::CapsLock`],
/// and so does a code read under an inverted scanner prefix whose case-inverted reading is
/// another pack.
pub(crate) fn check(
    code: &str,
    outcome: Result<TraceCode, ParseError>,
    read: impl Fn(&str) -> Result<TraceCode, ParseError>,
) -> Result<TraceCode, ParseError> {
    // An accepted code is looked at again only under an inverted scanner prefix, so the
    // common case costs a prefix comparison.
    if outcome.is_ok() && !INVERTED_PREFIXES.iter().any(|p| code.starts_with(p)) {
        return outcome;
    }
    let Some(sign) = sign_of(code) else {
        return outcome;
    };
    let reads_as = match (&outcome, read(&invert_case(code))) {
        // Read under an inverted prefix, and another pack turned back: its letters are
        // likely inverted too.
        (Ok(as_is), Ok(other)) if other != *as_is => other.to_string(),
        (Ok(_), _) => return outcome,
        (Err(_), Ok(other)) => other.to_string(),
        (Err(_), Err(ParseError::LogisticsLabel { sscc })) => sscc.to_string(),
        // Turned back, it does not read either: the code is wrong, whatever the keyboard.
        (Err(_), Err(_)) => return outcome,
    };
    Err(ParseError::CapsLock { sign, reads_as })
}

/// The first sign of Caps Lock in `code`, if it has one.
fn sign_of(code: &str) -> Option<CapsLockSign> {
    if let Some(id) = INVERTED_PREFIXES.iter().find(|p| code.starts_with(**p)) {
        return Some(CapsLockSign::SymbologyId { id: id.to_string() });
    }
    if let Some(path) = link_path(code) {
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        if let Some(name) = segments.clone().find(|s| SHORT_NAMES.contains(s)) {
            return Some(CapsLockSign::ShortName {
                name: name.to_string(),
            });
        }
        let compressed = segments.next_back().is_some_and(|s| {
            crate::compressed::is_base64url(s) && s.bytes().any(|b| b.is_ascii_alphabetic())
        });
        return compressed.then_some(CapsLockSign::Compressed);
    }
    (code.contains("<gs>") && !code.contains(GS)).then_some(CapsLockSign::SeparatorText)
}

/// The path of a Digital Link (after the host, before any query or fragment), if `code`
/// is one, after a symbology identifier if it has one.
fn link_path(code: &str) -> Option<&str> {
    let start = if code.starts_with(']') { 3 } else { 0 };
    let link = code.get(start..)?;
    let scheme_end = link.find("://")?;
    if !matches!(
        link[..scheme_end].to_ascii_lowercase().as_str(),
        "http" | "https"
    ) {
        return None;
    }
    let rest = &link[scheme_end + 3..];
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    Some(rest.find('/').map_or("", |i| &rest[i..]))
}

/// `s` with every ASCII letter in the other case, as Caps Lock types it.
pub(crate) fn invert_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverts_letters_only() {
        assert_eq!(invert_case("]d2Ab(1)<GS>é"), "]D2aB(1)<gs>é");
    }

    #[test]
    fn signs() {
        let id = |s: &str| Some(CapsLockSign::SymbologyId { id: s.into() });
        let name = |s: &str| Some(CapsLockSign::ShortName { name: s.into() });
        for (code, sign) in [
            ("]D20109506000134352", id("]D2")),
            ("]q1HTTPS://ID.GS1.ORG/01/1", id("]q1")),
            ("]d20109506000134352", None),
            ("https://id.gs1.org/GTIN/09506000134352/SER/A", name("GTIN")),
            ("HTTPS://ID.GS1.ORG/01/09506000134352/SER/A", name("SER")),
            (
                "https://id.gs1.org/dbfkK4xbOmIqIoO",
                Some(CapsLockSign::Compressed),
            ),
            (
                "https://id.gs1.org/01/09506000134352/21/A",
                Some(CapsLockSign::Compressed),
            ),
            ("https://id.gs1.org/01/09506000134352/21/1", None),
            ("https://id.gs1.org/?GTIN=1", None),
            (
                "010950600013435210lot1<gs>21ser1",
                Some(CapsLockSign::SeparatorText),
            ),
            ("(01)09506000134352(21)ABC", None),
            ("81234567890123456789", None),
        ] {
            assert_eq!(sign_of(code), sign, "{code}");
        }
    }
}
