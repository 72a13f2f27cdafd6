//! Cleaning what scanners and people send before any parser looks at it.
//!
//! Keyboard-wedge scanners and Chinese input methods add whitespace around a code (CR/LF,
//! tab, the ideographic space U+3000) and sometimes send full-width characters (`０` for `0`,
//! `（` for `(`). Most false alerts in pack verification come from such noise, so every
//! public parser starts here. The group separator (0x1D, GS1's FNC1) is kept: it is data.

use std::borrow::Cow;

/// The offset from a full-width ASCII variant (U+FF01..=U+FF5E) to its ASCII character.
const FULL_WIDTH_OFFSET: u32 = 0xFF01 - 0x21;

/// Trims surrounding whitespace and maps full-width ASCII variants to ASCII.
pub(crate) fn normalize(s: &str) -> Cow<'_, str> {
    let trimmed = s.trim_matches(is_noise);
    if trimmed.chars().any(is_full_width) {
        Cow::Owned(trimmed.chars().map(to_half_width).collect())
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// Whether `c` is surrounding noise: Unicode whitespace (which includes CR, LF, tab and
/// U+3000 but not the group separator 0x1D) or a byte-order mark.
fn is_noise(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

/// Whether `c` is a full-width variant of a printable ASCII character.
fn is_full_width(c: char) -> bool {
    ('\u{FF01}'..='\u{FF5E}').contains(&c)
}

/// Maps a full-width variant to its ASCII character and leaves any other character alone.
fn to_half_width(c: char) -> char {
    if is_full_width(c) {
        char::from_u32(c as u32 - FULL_WIDTH_OFFSET).unwrap_or(c)
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_scanner_noise() {
        for (input, expected) in [
            ("  123 \r\n", "123"),
            ("\u{3000}\t８１２３\u{3000}", "8123"),
            ("（０１）ＡＢｃ", "(01)ABc"),
            ("\u{FEFF}]d2", "]d2"),
            ("\u{1d}01\u{1d}", "\u{1d}01\u{1d}"),
            ("", ""),
            (" \u{3000} ", ""),
        ] {
            assert_eq!(normalize(input), expected, "{input:?}");
        }
    }

    #[test]
    fn borrows_when_nothing_maps() {
        assert!(matches!(normalize(" 123 "), Cow::Borrowed("123")));
    }
}
