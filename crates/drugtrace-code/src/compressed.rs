//! Compressed GS1 Digital Links (GS1 Digital Link standard 1.1, §8; unchanged in 1.2): the
//! AIs and values of a link written as bits, and the bits as one path segment of the
//! URI-safe base64 alphabet (`A–Z a–z 0–9 - _`, six bits a character, zero-padded), as in
//! `https://id.gs1.org/AQnYUc1gmiCNV4JGQhcNT6K6c`.
//!
//! Each AI is written as its digits, four bits a digit (table P says how many digits follow
//! the first two), then its value as table F lays it out: a fixed number of digits as one
//! binary number, a variable one after its length, and text after a three-bit encoding
//! indicator (0 digits as a number, 1 and 2 lower- and upper-case hexadecimal, 3 the URI-safe
//! base64 alphabet, 4 seven-bit ASCII) and, when variable, its length. A first byte that is
//! not two decimal digits names a sequence of AIs from the optimisation table (`1A` is
//! (01), (10), (21), (17)), or, with its first four bits all ones, a key=value pair that is
//! not GS1's (`linkType`, say).
//!
//! Decoding reads every AI the tables define, so the caller can treat them as the
//! uncompressed reader does. It is stricter than GS1's reference implementation where that
//! one guesses: bits cut short, an AI with no compressed form, a reserved encoding indicator,
//! a number too large for its digits and padding that is not zero are each refused, naming
//! what is wrong; and a number keeps the leading zeros its length counts (GS1's prototype reads
//! an all-digit serial `007` back as `7`, which would name another pack).
//!
//! Encoding makes the same choices as GS1's reference implementation (the optimisation that
//! saves the most AI digits first, the other AIs in ascending order, the narrowest encoding of
//! each text), so a pack compresses to the same link there and here.

mod tables;

use tables::{OPTIMISATIONS, Part, format_of, prefix_len};

use crate::CompressedProblem;

/// The URI-safe base64 alphabet, in the order of its six-bit values.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The hexadecimal digits, in the order of their four-bit values.
const HEX: &[u8; 16] = b"0123456789ABCDEF";
/// A first nibble of all ones: a key=value pair that is not GS1's follows.
const OTHER_KEY: u32 = 0xF;

/// Whether `segment` is made only of the URI-safe base64 alphabet, as a compressed link is.
pub(crate) fn is_base64url(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One AI read from a compressed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// The AI's digits.
    pub(crate) ai: String,
    /// Its value as text.
    pub(crate) value: String,
    /// The zero-based bit where the AI (or the optimisation code that names it) starts.
    pub(crate) bit: usize,
}

/// Why a segment does not decode, and the zero-based bit where the trouble starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The bit where the AI, value or padding that is wrong starts.
    pub(crate) bit: usize,
    /// What is wrong.
    pub(crate) problem: CompressedProblem,
}

/// Decodes a compressed segment (already known to be URI-safe base64) into its AIs, in the
/// order they are written. Key=value pairs that are not GS1's are read past and dropped.
pub(crate) fn decode(segment: &str) -> Result<Vec<Element>, Failure> {
    let mut bits = Vec::with_capacity(segment.len() * 6);
    for b in segment.bytes() {
        let v = ALPHABET.iter().position(|&a| a == b).unwrap_or(0);
        bits.extend((0..6).rev().map(|i| (v >> i) & 1 == 1));
    }
    let mut r = Reader { bits, at: 0 };
    let mut out = Vec::new();
    // Fewer than nine bits left can hold no AI and a value: that is the padding.
    while r.left() > 8 {
        let start = r.at;
        let fail = |problem| Failure {
            bit: start,
            problem,
        };
        let (Some(h1), Some(h2)) = (r.nibble(), r.nibble()) else {
            break; // Not reached: more than eight bits were left.
        };
        if h1 <= 9 && h2 <= 9 {
            let mut ai = format!("{h1}{h2}");
            let len = prefix_len(&ai).ok_or_else(|| fail(unknown(&ai)))?;
            while ai.len() < len {
                let d = r
                    .nibble()
                    .ok_or_else(|| fail(CompressedProblem::Truncated { ai: ai.clone() }))?;
                ai.push(char::from(HEX[d as usize]));
                if d > 9 {
                    return Err(fail(unknown(&ai)));
                }
            }
            let value = read_value(&mut r, &ai).map_err(fail)?;
            out.push(Element {
                ai,
                value,
                bit: start,
            });
        } else if let Some(&(_, ais)) = OPTIMISATIONS
            .iter()
            .find(|(code, _)| code.as_bytes() == [HEX[h1 as usize], HEX[h2 as usize]])
        {
            for &ai in ais {
                let value = read_value(&mut r, ai).map_err(fail)?;
                out.push(Element {
                    ai: ai.to_string(),
                    value,
                    bit: start,
                });
            }
        } else if h1 == OTHER_KEY {
            skip_other_pair(&mut r, h2).map_err(fail)?;
        } else {
            let code: String = [h1, h2]
                .iter()
                .map(|&h| char::from(HEX[h as usize]))
                .collect();
            return Err(fail(unknown(&code)));
        }
    }
    if r.bits[r.at..].iter().any(|&b| b) {
        return Err(Failure {
            bit: r.at,
            problem: CompressedProblem::Padding,
        });
    }
    Ok(out)
}

fn unknown(code: &str) -> CompressedProblem {
    CompressedProblem::UnknownAi {
        code: code.to_string(),
    }
}

/// Reads the value of `ai` as table F lays it out.
fn read_value(r: &mut Reader, ai: &str) -> Result<String, CompressedProblem> {
    let parts =
        format_of(ai).ok_or_else(|| CompressedProblem::NoCompressedForm { ai: ai.into() })?;
    let cut = || CompressedProblem::Truncated { ai: ai.into() };
    let mut value = String::new();
    for &part in parts {
        match part {
            Part::Digits(n) => read_number(r, n, ai, &mut value)?,
            Part::DigitsUpTo(max) => {
                let n = r.take(length_bits(max)).ok_or_else(cut)?;
                read_number(r, n as usize, ai, &mut value)?;
            }
            Part::Chars(n) => {
                let enc = r.take(3).ok_or_else(cut)?;
                read_text(r, enc, n, ai, &mut value)?;
            }
            Part::CharsUpTo(max) => {
                let enc = r.take(3).ok_or_else(cut)?;
                let n = r.take(length_bits(max)).ok_or_else(cut)?;
                read_text(r, enc, n as usize, ai, &mut value)?;
            }
        }
    }
    Ok(value)
}

/// Reads `n` characters of text in encoding `enc` onto `out`.
fn read_text(
    r: &mut Reader,
    enc: u32,
    n: usize,
    ai: &str,
    out: &mut String,
) -> Result<(), CompressedProblem> {
    let (width, alphabet): (usize, Option<&[u8]>) = match enc {
        0 => return read_number(r, n, ai, out),
        1 | 2 => (4, Some(HEX)),
        3 => (6, Some(ALPHABET)),
        4 => (7, None),
        _ => {
            return Err(CompressedProblem::Encoding {
                ai: ai.into(),
                indicator: enc as u8,
            });
        }
    };
    for _ in 0..n {
        let v = r
            .take(width)
            .ok_or_else(|| CompressedProblem::Truncated { ai: ai.into() })?;
        let ch = match alphabet {
            Some(a) => char::from(a[v as usize]),
            None => char::from(v as u8),
        };
        // Indicator 1 is hexadecimal in lower case.
        out.push(if enc == 1 {
            ch.to_ascii_lowercase()
        } else {
            ch
        });
    }
    Ok(())
}

/// Reads a number of exactly `n` digits (leading zeros included) onto `out`.
fn read_number(
    r: &mut Reader,
    n: usize,
    ai: &str,
    out: &mut String,
) -> Result<(), CompressedProblem> {
    let bits = r
        .slice(value_bits(n))
        .ok_or_else(|| CompressedProblem::Truncated { ai: ai.into() })?;
    let digits = to_decimal(bits);
    if digits.len() > n {
        return Err(CompressedProblem::NumberTooLarge {
            ai: ai.into(),
            digits: n,
        });
    }
    out.extend(std::iter::repeat_n('0', n - digits.len()));
    out.extend(digits.iter().map(|&d| char::from(b'0' + d)));
    Ok(())
}

/// Reads past a key=value pair that is not GS1's: seven bits of key length (the first four
/// already read as `high`), the key in base64, then its value as text of up to 127 characters.
fn skip_other_pair(r: &mut Reader, high: u32) -> Result<(), CompressedProblem> {
    let cut = |key: &str| CompressedProblem::Truncated { ai: key.into() };
    let len = (high << 3) | r.take(3).ok_or_else(|| cut(""))?;
    let mut key = String::new();
    for _ in 0..len {
        let v = r.take(6).ok_or_else(|| cut(""))?;
        key.push(char::from(ALPHABET[v as usize]));
    }
    let enc = r.take(3).ok_or_else(|| cut(&key))?;
    let n = r.take(7).ok_or_else(|| cut(&key))?;
    read_text(r, enc, n as usize, &key, &mut String::new())
}

/// The bits a length of up to `max` takes: as GS1 computes it, `ceil(log2(max) + 0.01)`,
/// which is the bit length of `max`.
fn length_bits(max: usize) -> usize {
    (usize::BITS - max.leading_zeros()) as usize
}

/// The bits a number of `digits` decimal digits takes: as GS1 computes it,
/// `ceil(digits × log2(10) + 0.01)` (one bit for no digits).
fn value_bits(digits: usize) -> usize {
    (digits as f64 * std::f64::consts::LOG2_10 + 0.01).ceil() as usize
}

/// The decimal digits of the binary number `bits` (most significant first), without leading
/// zeros: none for zero.
fn to_decimal(bits: &[bool]) -> Vec<u8> {
    // Little-endian decimal digits, doubled and incremented bit by bit.
    let mut digits: Vec<u8> = Vec::new();
    for &bit in bits {
        let mut carry = u8::from(bit);
        for d in digits.iter_mut() {
            let v = *d * 2 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    }
    digits.reverse();
    digits
}

/// The bits of the decimal number `digits`, most significant first, in exactly `width` bits
/// (which must hold it).
fn to_binary(digits: &str, width: usize) -> Vec<bool> {
    let mut dec: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    let mut bits = Vec::with_capacity(width);
    // Halve the decimal number until it is zero, collecting the remainders.
    while dec.iter().any(|&d| d != 0) {
        let mut rem = 0;
        for d in dec.iter_mut() {
            let v = rem * 10 + *d;
            *d = v / 2;
            rem = v % 2;
        }
        bits.push(rem == 1);
    }
    debug_assert!(bits.len() <= width, "{digits} does not fit {width} bits");
    bits.resize(width, false);
    bits.reverse();
    bits
}

/// A cursor over the bits of a segment.
struct Reader {
    bits: Vec<bool>,
    at: usize,
}

impl Reader {
    fn left(&self) -> usize {
        self.bits.len() - self.at
    }

    /// The next `n` bits, or `None` when fewer are left.
    fn slice(&mut self, n: usize) -> Option<&[bool]> {
        let bits = self.bits.get(self.at..self.at + n)?;
        self.at += n;
        Some(bits)
    }

    /// The next `n` bits (at most 32) as a number.
    fn take(&mut self, n: usize) -> Option<u32> {
        Some(
            self.slice(n)?
                .iter()
                .fold(0, |v, &b| (v << 1) | u32::from(b)),
        )
    }

    fn nibble(&mut self) -> Option<u32> {
        self.take(4)
    }
}

/// Writes AIs and their values (each AI with a compressed form, each value of its form) as a
/// compressed segment, choosing optimisations and encodings as GS1's reference
/// implementation does.
pub(crate) fn encode(elements: &[(&str, &str)]) -> String {
    let mut left: Vec<(&str, &str)> = elements.to_vec();
    left.sort_by(|a, b| a.0.cmp(b.0));
    let mut bits = Vec::new();
    // Greedily, the optimisation whose AIs are all present and have the most digits; the
    // first in the table on a tie.
    loop {
        let mut best: Option<(&str, &[&str])> = None;
        for &(code, ais) in OPTIMISATIONS {
            let all_there = ais.iter().all(|ai| left.iter().any(|(a, _)| a == ai));
            let digits = |ais: &[&str]| ais.iter().map(|a| a.len()).sum::<usize>();
            if all_there && best.is_none_or(|(_, b)| digits(ais) > digits(b)) {
                best = Some((code, ais));
            }
        }
        let Some((code, ais)) = best else { break };
        push_nibbles(code, &mut bits);
        for ai in ais {
            let at = left
                .iter()
                .position(|(a, _)| a == ai)
                .expect("chosen as present");
            let (ai, value) = left.remove(at);
            push_value(ai, value, &mut bits);
        }
    }
    for (ai, value) in left {
        push_nibbles(ai, &mut bits);
        push_value(ai, value, &mut bits);
    }
    bits.resize(bits.len().div_ceil(6) * 6, false);
    bits.chunks(6)
        .map(|c| {
            let v = c.iter().fold(0, |v, &b| (v << 1) | usize::from(b));
            char::from(ALPHABET[v])
        })
        .collect()
}

/// Writes the hexadecimal digits of `code` (an AI or an optimisation code), four bits each.
fn push_nibbles(code: &str, bits: &mut Vec<bool>) {
    for c in code.chars() {
        let v = c
            .to_digit(16)
            .expect("AIs and optimisation codes are hexadecimal");
        push_bits(v, 4, bits);
    }
}

fn push_bits(v: u32, width: usize, bits: &mut Vec<bool>) {
    bits.extend((0..width).rev().map(|i| (v >> i) & 1 == 1));
}

/// Writes `value` as table F lays out `ai`'s values.
fn push_value(ai: &str, value: &str, bits: &mut Vec<bool>) {
    let parts = format_of(ai).expect("every AI drugtrace writes has a compressed form");
    let mut rest = value;
    for &part in parts {
        let (piece, tail) = match part {
            Part::Digits(n) | Part::Chars(n) => rest.split_at(n.min(rest.len())),
            Part::DigitsUpTo(_) | Part::CharsUpTo(_) => (rest, ""),
        };
        rest = tail;
        match part {
            Part::Digits(n) => bits.extend(to_binary(piece, value_bits(n))),
            Part::DigitsUpTo(max) => {
                push_bits(piece.len() as u32, length_bits(max), bits);
                bits.extend(to_binary(piece, value_bits(piece.len())));
            }
            Part::Chars(_) | Part::CharsUpTo(_) => {
                let enc = encoding_of(piece);
                push_bits(enc, 3, bits);
                if let Part::CharsUpTo(max) = part {
                    push_bits(piece.len() as u32, length_bits(max), bits);
                }
                push_text(piece, enc, bits);
            }
        }
    }
}

/// The narrowest encoding that holds `text`, as GS1 chooses it: digits, then upper-case
/// hexadecimal, then lower-case, then URI-safe base64, else seven-bit ASCII.
fn encoding_of(text: &str) -> u32 {
    let all = |f: fn(&u8) -> bool| !text.is_empty() && text.bytes().all(|b| f(&b));
    if all(u8::is_ascii_digit) {
        0
    } else if all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F')) {
        2
    } else if all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        1
    } else if is_base64url(text) {
        3
    } else {
        4
    }
}

fn push_text(text: &str, enc: u32, bits: &mut Vec<bool>) {
    match enc {
        0 => bits.extend(to_binary(text, value_bits(text.len()))),
        1 | 2 => {
            for b in text.bytes() {
                let v = HEX
                    .iter()
                    .position(|&h| h == b.to_ascii_uppercase())
                    .unwrap_or(0);
                push_bits(v as u32, 4, bits);
            }
        }
        3 => {
            for b in text.bytes() {
                let v = ALPHABET.iter().position(|&a| a == b).unwrap_or(0);
                push_bits(v as u32, 6, bits);
            }
        }
        _ => {
            for b in text.bytes() {
                push_bits(u32::from(b & 0x7F), 7, bits);
            }
        }
    }
}

#[cfg(test)]
mod tests;
