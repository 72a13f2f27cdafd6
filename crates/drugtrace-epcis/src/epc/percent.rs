//! Percent-escapes in EPC URNs and GS1 Digital Link URIs, and GS1's check digit.

/// Why a percent-escaped value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadEscape {
    /// One-based character position of the `%` in the value.
    pub(crate) pos: usize,
}

/// Decodes `%XX` escapes. Bytes that do not form UTF-8 become U+FFFD, which the character
/// checks that follow every decode then refuse.
pub(crate) fn decode(value: &str) -> Result<String, BadEscape> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
            let Some(byte) = byte else {
                return Err(BadEscape {
                    pos: value[..i].chars().count() + 1,
                });
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Appends `value` to `out` as a canonical GS1 Digital Link path component: the characters
/// of GS1's set 82 that are reserved in a URI path (`! " % & ( ) * + , / : < > ?`) are
/// percent-encoded, as are any outside set 82; the rest (letters, digits, `' - . ; = _`)
/// stay as they are. This is the form the CBV event hash algorithm compares.
pub(crate) fn encode_dl(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        let keep =
            b.is_ascii_alphanumeric() || matches!(b, b'\'' | b'-' | b'.' | b';' | b'=' | b'_');
        if keep {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
}

/// Appends `value` to `out` as an EPC URN component: the characters of set 82 that the EPC
/// Tag Data Standard requires to be escaped (`" % & / < > ?`) are percent-encoded.
pub(crate) fn encode_urn(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("%22"),
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '/' => out.push_str("%2F"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '?' => out.push_str("%3F"),
            c => out.push(c),
        }
    }
}

/// Whether `c` is in GS1's AI encodable character set 82, the characters serials, lots and
/// location extensions are made of.
pub(crate) fn is_cset82(c: char) -> bool {
    matches!(c,
        '!' | '"' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | '-' | '.' | '/'
        | '0'..='9' | ':' | ';' | '<' | '=' | '>' | '?' | 'A'..='Z' | '_' | 'a'..='z')
}

/// The GS1 mod-10 check digit of `digits` (the digits before the check digit): weights 3
/// and 1 alternate from the rightmost digit, which weighs 3. `digits` must be ASCII digits.
pub(crate) fn check_digit(digits: &str) -> u8 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// `digits` with its check digit appended.
pub(crate) fn with_check_digit(digits: &str) -> String {
    format!("{digits}{}", check_digit(digits))
}

/// Whether `s` is non-empty and all ASCII digits.
pub(crate) fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` starts with the ASCII `prefix`, in any case.
pub(crate) fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_encodes() {
        assert_eq!(decode("A%2Fb%25"), Ok("A/b%".to_string()));
        assert_eq!(decode("ab%2"), Err(BadEscape { pos: 3 }));
        assert_eq!(decode("%zz"), Err(BadEscape { pos: 1 }));
        let mut dl = String::new();
        encode_dl("A/B(1)'x;y=z", &mut dl);
        assert_eq!(dl, "A%2FB%281%29'x;y=z");
        let mut urn = String::new();
        encode_urn("A/B(1)%", &mut urn);
        assert_eq!(urn, "A%2FB(1)%25");
    }

    #[test]
    fn check_digits_of_known_keys() {
        // GS1's examples: GTIN 10614141073464, GLN 0614141000005, SSCC 106141412345678908.
        assert_eq!(check_digit("1061414107346"), 4);
        assert_eq!(check_digit("061414100000"), 5);
        assert_eq!(check_digit("10614141234567890"), 8);
    }
}
