//! GS1 element strings (AIs 01, 17, 10, 21 and friends), as scanned from a DataMatrix.

/// Whether `b` is in GS1's AI encodable character set 82, which serials and batches use.
pub(crate) fn is_cset82(b: u8) -> bool {
    matches!(b,
        b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b'/'
        | b'0'..=b'9' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}
