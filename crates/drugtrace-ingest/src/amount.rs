//! Money as the files write it: yuan with up to two decimals, kept exactly as fen.

/// Parses a yuan amount (`35`, `35.5`, `-12.30`) into fen, exactly. More than two decimals,
/// exponents and anything else are errors.
pub fn parse_yuan(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > 2 {
        return Err(format!(
            "amount {t:?} is not yuan with at most two decimals"
        ));
    }
    let too_big = || format!("amount {t:?} is too large");
    let whole: i64 = whole.parse().map_err(|_| too_big())?;
    let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
    let fen = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(too_big)?;
    Ok(if neg { -fen } else { fen })
}

/// Parses what a sale was paid, in yuan, into fen: as [`parse_yuan`], but never negative
/// (the national interface refuses negative prices too; money given back is a sale return).
pub fn parse_paid(s: &str) -> Result<i64, String> {
    let fen = parse_yuan(s)?;
    if fen < 0 {
        return Err(format!(
            "amount {:?} is negative: a sale's amount is what was paid, and money given back is a sale return",
            s.trim()
        ));
    }
    Ok(fen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paid_amounts_are_never_negative() {
        assert_eq!(parse_paid("35.91"), Ok(3591));
        assert!(parse_paid("-0.01").unwrap_err().contains("negative"));
    }

    #[test]
    fn amounts() {
        for (s, fen) in [
            ("35", 3500),
            ("35.5", 3550),
            ("35.05", 3505),
            ("-1.2", -120),
            ("0.00", 0),
        ] {
            assert_eq!(parse_yuan(s), Ok(fen), "{s}");
        }
        for bad in [
            "",
            ".5",
            "1.234",
            "1e3",
            "abc",
            "--1",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(parse_yuan(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn fen_round_trip(fen in -1_000_000_000_000i64..1_000_000_000_000) {
            let s = format!("{}{}.{:02}", if fen < 0 { "-" } else { "" }, fen.abs() / 100, fen.abs() % 100);
            prop_assert_eq!(parse_yuan(&s), Ok(fen));
        }
    }
}
