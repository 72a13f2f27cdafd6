//! Tests of compression against the links GS1's toolkits and others publish
//! (`tests/data/compressed_links.txt`, each source cited there), and of every refusal.

use super::*;
use crate::{ParseError, TraceCode};

const EXAMPLES: &str = include_str!("../../tests/data/compressed_links.txt");

/// The `(AI)value` pairs of a bracketed string: an AI is `(`, two to four digits, `)`.
fn pairs(bracketed: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut rest = bracketed;
    while !rest.is_empty() {
        let ai_len = rest[1..].find(')').filter(|&n| {
            rest.starts_with('(')
                && (2..=4).contains(&n)
                && rest[1..=n].bytes().all(|b| b.is_ascii_digit())
        });
        match ai_len {
            Some(n) => {
                out.push((rest[1..=n].to_string(), String::new()));
                rest = &rest[n + 2..];
            }
            None => {
                let ch = rest.chars().next().expect("not empty");
                out.last_mut().expect("starts with an AI").1.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    out
}

/// The compressed segment of a link (its last path segment) and the AIs its path gives
/// uncompressed before it (`/01/{gtin}/{segment}`).
fn split(link: &str) -> (&str, Vec<(String, String)>) {
    let path = link.split("://").nth(1).expect("a scheme");
    let path = path.split(['?', '#']).next().expect("a path");
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let (last, before) = segs.split_last().expect("a segment");
    let mut given = Vec::new();
    if before.len() >= 2 && before[before.len() - 2] == "01" {
        given.push(("01".to_string(), before[before.len() - 1].to_string()));
    }
    (last, given)
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

#[test]
fn published_examples_decode_to_their_ais() {
    let mut count = 0;
    for line in EXAMPLES.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.splitn(3, ' ');
        let (mode, link, ais) = (cols.next(), cols.next(), cols.next());
        let (Some(mode), Some(link), Some(ais)) = (mode, link, ais) else {
            panic!("three columns: {line:?}")
        };
        let (segment, given) = split(link);
        let expected: Vec<_> = pairs(ais)
            .into_iter()
            .filter(|p| !given.contains(p))
            .collect();
        let decoded = decode(segment).unwrap_or_else(|f| panic!("{link}: {f:?}"));
        let decoded: Vec<_> = decoded.into_iter().map(|e| (e.ai, e.value)).collect();
        assert_eq!(sorted(decoded), sorted(expected.clone()), "{link}");
        if mode == "same" {
            let refs: Vec<(&str, &str)> = expected
                .iter()
                .map(|(a, v)| (a.as_str(), v.as_str()))
                .collect();
            assert_eq!(encode(&refs), segment, "{link}");
        }
        count += 1;
    }
    assert!(count >= 45, "{count} examples");
}

/// A compressed link names the same pack, or is refused the same way, as the element string
/// of its AIs: the AIs this crate knows are read as everywhere, the others ignored.
#[test]
fn published_examples_read_as_their_element_strings() {
    for line in EXAMPLES.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.splitn(3, ' ').collect();
        let (link, ais) = (cols[1], cols[2]);
        let known: String = pairs(ais)
            .into_iter()
            .filter(|(ai, _)| crate::ai::lookup(ai).is_some())
            .map(|(ai, v)| format!("({ai}){}", crate::element_string::escape_bracketed(&v)))
            .collect();
        let expected = match known.as_str() {
            "" => Err(ParseError::MissingGtin),
            known => TraceCode::parse(known),
        };
        assert_eq!(TraceCode::parse(link), expected, "{link}");
    }
}

#[test]
fn refusals_name_what_is_wrong() {
    let gtin_serial = encode(&[("01", "09506000134352"), ("21", "SER1")]);
    let cut = &gtin_serial[..gtin_serial.len() - 2];
    for (segment, bit, problem) in [
        // The first byte, 0xD7, is neither two digits nor an optimisation.
        (
            "123x",
            0,
            CompressedProblem::UnknownAi { code: "D7".into() },
        ),
        // 0x05: two digits that start no AI (table P has no 05).
        (
            "BQAA",
            0,
            CompressedProblem::UnknownAi { code: "05".into() },
        ),
        // 23 then the nibble C: three-digit AIs have decimal digits.
        (
            "I8AA",
            0,
            CompressedProblem::UnknownAi { code: "23C".into() },
        ),
        // Cut inside the serial: the failure points at the optimisation that holds it.
        (cut, 0, CompressedProblem::Truncated { ai: "21".into() }),
        // (8030) is in table P's range but has no layout in table F.
        (
            "gDAA",
            0,
            CompressedProblem::NoCompressedForm { ai: "8030".into() },
        ),
        // (10) with encoding indicator 5.
        (
            "EKAA",
            0,
            CompressedProblem::Encoding {
                ai: "10".into(),
                indicator: 5,
            },
        ),
        // (20) with seven bits all ones: 127 does not fit two digits.
        (
            "IP4",
            0,
            CompressedProblem::NumberTooLarge {
                ai: "20".into(),
                digits: 2,
            },
        ),
        // (20) 00, then bits that are not zero padding.
        ("IAB", 15, CompressedProblem::Padding),
        // A key=value pair that is not GS1's, cut inside its key.
        ("_w", 0, CompressedProblem::Truncated { ai: String::new() }),
    ] {
        assert_eq!(decode(segment), Err(Failure { bit, problem }), "{segment}");
    }
}

#[test]
fn messages() {
    for (link, expected) in [
        (
            "https://id.gs1.org/DBFKk4XBoMiQi",
            "compressed Digital Link, at character 20: the link ends inside (21) serial",
        ),
        (
            "https://id.gs1.org/gDAA",
            "compressed Digital Link, at character 20: (8030) has no compressed form, so nothing after it can be read",
        ),
        (
            "https://id.gs1.org/product/abc",
            "compressed Digital Link, at character 28: its bits read 69, which starts no application identifier GS1's compression tables know",
        ),
        // An uncompressed-looking path without /01/ stays that.
        (
            "https://id.gs1.org/21/X",
            "Digital Link path has no /01/ segment",
        ),
        (
            "https://id.gs1.org/product/123",
            "Digital Link path has no /01/ segment",
        ),
        // A serial of 7-bit ASCII with a control character.
        (
            &format!(
                "https://x.org/{}",
                encode(&[("01", "09506000134352"), ("21", "A\u{7}")])
            ),
            "compressed Digital Link, at character 15: (21) serial holds '\\u{7}', which is not in GS1 character set 82",
        ),
        ("https://id.gs1.org/AQnYUc1gmg", "missing (21) serial"),
    ] {
        assert_eq!(
            TraceCode::parse(link).unwrap_err().to_string(),
            expected,
            "{link}"
        );
    }
}

/// The bit widths GS1 computes with floating point are the exact ones.
#[test]
fn widths() {
    for digits in 1..=38u32 {
        let exact = (u128::BITS - (10u128.pow(digits) - 1).leading_zeros()) as usize;
        assert_eq!(value_bits(digits as usize), exact, "{digits}");
    }
    assert_eq!(value_bits(0), 1);
    for (max, bits) in [(1, 1), (2, 2), (8, 4), (20, 5), (30, 5), (90, 7)] {
        assert_eq!(length_bits(max), bits, "{max}");
    }
    let big = "9".repeat(90);
    assert_eq!(to_decimal(&to_binary(&big, value_bits(90))), vec![9; 90]);
}
