//! GS1 Digital Link URIs, the web form of a GS1 code that QR-coded packs carry:
//! `https://id.gs1.org/01/{gtin}/10/{lot}/21/{serial}?17=YYMMDD`.
//!
//! Any host and any path prefix before `/01/` are accepted, since each brand runs its own
//! resolver. Of the query, only `17` (expiry), `250` (secondary serial) and `8030` (digital
//! signature) are read; the rest (`linkType` and friends) is about where to send a browser,
//! not about the pack. The short names of Digital Link 1.x (`/gtin/`, `/lot/`, `/ser/`,
//! `/cpv/`, `/sscc/`) are read as the AIs they stand for.
//!
//! Compressed links (Digital Link 1.1 and 1.2) are read too: a path whose last segment is
//! URI-safe base64 and not all digits, with no `/01/` before it, holds every AI in that one
//! segment (`https://id.gs1.org/AQnYUc1gmiCNV4JGQhcNT6K6c`); after `/01/{gtin}` such a
//! segment holds the rest (partly compressed). The decoded AIs are read as an element
//! string's are (those of [`crate::ai`] checked, and kept or ignored), and any other AI of
//! GS1's compression tables is ignored, as the query's other attributes are; see
//! [`crate::compressed`] for the format and where this reader is stricter than GS1's. A path
//! shaped like an uncompressed link (`/21/X`) that lacks its `/01/` is refused as that, not
//! decoded.

use crate::gs1::Fields;
use crate::{CompressedProblem, Gs1Pack, Gtin, ParseError, Sscc, ai, compressed};

impl Gs1Pack {
    /// The pack as a GS1 Digital Link URI on `base` (such as `https://id.gs1.org`): the GTIN
    /// as 14 digits, then batch and serial in the path and the expiry in the query. Every
    /// character outside the URI's unreserved set is percent-encoded, so any serial is safe.
    pub fn to_digital_link(&self, base: &str) -> String {
        let mut uri = format!(
            "{}/01/{}",
            base.trim_end_matches('/'),
            self.gtin().to_gtin14()
        );
        if let Some(batch) = self.batch() {
            uri.push_str("/10/");
            percent_encode(batch, &mut uri);
        }
        uri.push_str("/21/");
        percent_encode(self.serial(), &mut uri);
        let mut sep = '?';
        if let Some(e) = self.expiry() {
            uri.push(sep);
            uri.push_str("17=");
            uri.push_str(&e.to_yymmdd());
            sep = '&';
        }
        for (ai, v) in self.kept() {
            uri.push(sep);
            uri.push_str(ai);
            uri.push('=');
            percent_encode(v, &mut uri);
            sep = '&';
        }
        uri
    }
}

impl Gs1Pack {
    /// The pack as a compressed GS1 Digital Link on `base`: (01), (10), (17), (21) and (250)
    /// compressed into one path segment, as GS1's reference implementation writes them.
    /// GS1's compression tables predate the (8030) digital signature and give it no
    /// compressed form, so a signature stays in the query, where this crate reads it back
    /// (readers of the tables alone do not see it, and no reader misreads the pack).
    pub fn to_compressed_digital_link(&self, base: &str) -> String {
        let gtin = self.gtin().to_gtin14();
        let expiry = self.expiry().map(|e| e.to_yymmdd());
        let mut elements = vec![("01", gtin.as_str()), ("21", self.serial())];
        if let Some(batch) = self.batch() {
            elements.push(("10", batch));
        }
        if let Some(e) = &expiry {
            elements.push(("17", e.as_str()));
        }
        if let Some(v) = self.secondary_serial() {
            elements.push(("250", v));
        }
        let mut uri = format!(
            "{}/{}",
            base.trim_end_matches('/'),
            compressed::encode(&elements)
        );
        if let Some(signature) = self.signature() {
            uri.push_str("?8030=");
            percent_encode(signature, &mut uri);
        }
        uri
    }
}

impl Sscc {
    /// The logistics unit as a compressed GS1 Digital Link on `base`: its (00) SSCC
    /// compressed into one path segment.
    pub fn to_compressed_digital_link(&self, base: &str) -> String {
        let digits = format!("{:018}", self.value());
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            compressed::encode(&[("00", &digits)])
        )
    }
}

/// Parses a Digital Link URI (already normalized, with an `http://` or `https://` scheme in
/// any case).
pub(crate) fn parse(uri: &str) -> Result<Gs1Pack, ParseError> {
    let pos_of = |byte: usize| uri[..byte].chars().count() + 1;
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    let end = uri.find('#').unwrap_or(uri.len());
    let path_start = uri[after_scheme..end]
        .find('/')
        .map_or(end, |i| after_scheme + i);
    let query_start = uri[path_start..end].find('?').map(|i| path_start + i);
    let path_end = query_start.unwrap_or(end);

    // Each path segment with the byte offset where it starts. The short names of Digital
    // Link 1.x (`/gtin/…/lot/…/ser/…`), which resolvers must still accept, are read as the
    // AIs they stand for. A trailing slash leaves one empty segment: harmless.
    let mut segments = Vec::new();
    let mut offset = path_start + 1;
    for seg in uri[path_start..path_end].split('/').skip(1) {
        let key = match seg {
            "gtin" => "01",
            "lot" => "10",
            "ser" => "21",
            "cpv" => "22",
            "sscc" => "00",
            other => other,
        };
        segments.push((offset, key));
        offset += seg.len() + 1;
    }
    if segments.last().is_some_and(|&(_, s)| s.is_empty()) {
        segments.pop();
    }
    let mut fields = Fields::default();
    // The primary key is the first `/01/` followed by something GTIN-shaped, so that a path
    // prefix that happens to contain a segment `01` does not hide it.
    let is_01 = |i: usize| segments[i].1 == "01";
    let gtin_shaped = |i: usize| {
        segments.get(i + 1).is_some_and(|&(_, s)| {
            matches!(s.len(), 8 | 12 | 13 | 14) && s.bytes().all(|b| b.is_ascii_digit())
        })
    };
    let first = (0..segments.len())
        .find(|&i| is_01(i) && gtin_shaped(i))
        .or_else(|| (0..segments.len()).find(|&i| is_01(i)));
    if let Some(first) = first {
        for pair in segments[first..].chunks(2) {
            let (key_at, key) = pair[0];
            let value = match pair.get(1) {
                Some(&(at, v)) if !v.is_empty() => (at, v),
                // `/01/{gtin}/{compressed}`: the key qualifiers and attributes compressed
                // after an uncompressed primary key.
                None if looks_compressed(key) => {
                    add_compressed(&mut fields, key, pos_of(key_at))?;
                    break;
                }
                _ => {
                    return Err(ParseError::MissingValue {
                        ai: key.to_string(),
                    });
                }
            };
            let decoded = percent_decode(value.1, pos_of(value.0))?;
            match key {
                "01" => fields.add_gtin(Gtin::parse(&decoded)?)?,
                "10" | "21" | "22" => {
                    let ai = ai::lookup(key).expect("known path AI");
                    fields.add(ai, &decoded, pos_of(value.0))?;
                }
                _ => {
                    return Err(ParseError::UnknownAi {
                        ai: key.to_string(),
                        pos: pos_of(key_at),
                    });
                }
            }
        }
    } else if let Some(sscc) = segments
        .windows(2)
        .find(|w| w[0].1 == "00")
        .and_then(|w| crate::Sscc::checked(w[1].1))
    {
        // `/00/{sscc}`: a logistics unit's Digital Link.
        return Err(ParseError::LogisticsLabel { sscc });
    } else {
        // A compressed link: any path prefix, then one segment holding every AI. A path
        // shaped like an uncompressed link (`/21/X`) is one that lacks its `/01/`.
        let last = segments.last().filter(|&&(_, s)| looks_compressed(s));
        let uncompressed_shape = segments.iter().any(|&(_, s)| ai::lookup(s).is_some());
        match last {
            Some(&(at, seg)) if !uncompressed_shape => {
                add_compressed(&mut fields, seg, pos_of(at))?;
            }
            _ => return Err(ParseError::NoDigitalLinkGtin),
        }
    }

    if let Some(q) = query_start {
        let mut at = q + 1;
        for param in uri[q + 1..end].split('&') {
            // The expiry, and the attributes kept with the pack; the rest is about where
            // to send a browser.
            for key in ["17", "250", "8030"] {
                if let Some(value) = param
                    .strip_prefix(key)
                    .and_then(|rest| rest.strip_prefix('='))
                {
                    let start = at + key.len() + 1;
                    let decoded = percent_decode(value, pos_of(start))?;
                    let ai = ai::lookup(key).expect("a known AI");
                    fields.add(ai, &decoded, pos_of(start))?;
                }
            }
            at += param.len() + 1;
        }
    }
    fields.finish()
}

/// Whether a path segment may be a compressed link: URI-safe base64, and not all digits,
/// which no compressed AI starts with and every uncompressed AI and GTIN is.
fn looks_compressed(segment: &str) -> bool {
    compressed::is_base64url(segment) && !segment.bytes().all(|b| b.is_ascii_digit())
}

/// Decodes a compressed segment starting at character `pos` into `fields`. The AIs this
/// crate knows are checked and kept or ignored as in an element string; any other AI of
/// GS1's compression tables is ignored, as an uncompressed link's query attributes are.
fn add_compressed(fields: &mut Fields, segment: &str, pos: usize) -> Result<(), ParseError> {
    let elements = compressed::decode(segment).map_err(|f| ParseError::CompressedLink {
        pos: pos + f.bit / 6,
        problem: f.problem,
    })?;
    for e in elements {
        let Some(ai) = ai::lookup(&e.ai) else {
            continue;
        };
        let at = pos + e.bit / 6;
        fields.add(ai, &e.value, at).map_err(|err| match err {
            // A position inside the decoded value means nothing in the link.
            ParseError::BadChar { ai, ch, .. } => ParseError::CompressedLink {
                pos: at,
                problem: CompressedProblem::BadChar { ai, ch },
            },
            other => other,
        })?;
    }
    Ok(())
}

/// Appends `value` to `out`, percent-encoding every byte outside RFC 3986's unreserved set.
fn percent_encode(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
}

/// Decodes `%XX` escapes. `pos` is the one-based position of `value` in the URI, for errors.
/// Bytes that are not UTF-8 become U+FFFD, which the field checks then reject.
fn percent_decode(value: &str, pos: usize) -> Result<String, ParseError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                let h = std::str::from_utf8(h).ok()?;
                u8::from_str_radix(h, 16)
                    .ok()
                    .filter(|_| !h.starts_with('+'))
            });
            let Some(b) = hex else {
                return Err(ParseError::PercentEncoding {
                    pos: pos + value[..i].chars().count(),
                });
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Expiry;

    fn pack(serial: &str, batch: Option<&str>, expiry: Option<&str>) -> Gs1Pack {
        let gtin = Gtin::parse("09506000134352").unwrap();
        let expiry = expiry.map(|e| Expiry::parse_yymmdd(e).unwrap());
        Gs1Pack::new(gtin, serial, batch, expiry).unwrap()
    }

    #[test]
    fn good_inputs() {
        let full = pack("SER/1", Some("LOT"), Some("251231"));
        for input in [
            "https://id.gs1.org/01/09506000134352/10/LOT/21/SER%2F1?17=251231",
            "HTTP://example.com/01/9506000134352/10/LOT/21/SER%2f1?linkType=all&17=251231",
            "https://brand.example/some/prefix/01/09506000134352/22/2A/10/LOT/21/SER%2F1/?17=251231#x",
            "https://id.gs1.org/01/09506000134352/21/SER%2F1/10/LOT?17=251231&17=251231",
            "https://example.com/01/app/01/09506000134352/10/LOT/21/SER%2F1?17=251231",
        ] {
            assert_eq!(parse(input), Ok(full.clone()), "{input:?}");
        }
        assert_eq!(
            parse("https://id.gs1.org/01/09506000134352/21/A%28B%29"),
            Ok(pack("A(B)", None, None))
        );
    }

    #[test]
    fn bad_inputs() {
        for (input, expected) in [
            (
                "https://id.gs1.org/21/X",
                "Digital Link path has no /01/ segment",
            ),
            (
                "https://id.gs1.org/01/09506000134352",
                "missing (21) serial",
            ),
            (
                "https://id.gs1.org/01/09506000134352/21",
                "Digital Link path ends after /21/ with no value",
            ),
            (
                "https://id.gs1.org/01/09506000134352/99/X/21/Y",
                "unknown application identifier 99 at character 38",
            ),
            (
                "https://id.gs1.org/01/09506000134353/21/X",
                "GTIN check digit is 3, but the other digits call for 2",
            ),
            (
                "https://id.gs1.org/01/09506000134352/21/X%2",
                "the '%' at character 42 is not followed by two hexadecimal digits",
            ),
            (
                "https://id.gs1.org/01/09506000134352/21/X?17=251341",
                "(17) expiry 251341: month 13 does not exist",
            ),
            (
                "https://id.gs1.org/01/09506000134352/21/X%20Y",
                "character 42 is ' ', not allowed in (21) serial (GS1 character set 82)",
            ),
        ] {
            assert_eq!(parse(input).unwrap_err().to_string(), expected, "{input:?}");
        }
    }

    #[test]
    fn renders() {
        let p = pack("A/B(1)", Some("L1"), Some("250200"));
        assert_eq!(
            p.to_digital_link("https://id.gs1.org/"),
            "https://id.gs1.org/01/09506000134352/10/L1/21/A%2FB%281%29?17=250200"
        );
    }
}
