//! Reading yuan as files, forms and clients write them.

use crate::Fen;

/// Why a text is not an amount. Each names the input (trimmed) and what is wrong, in words
/// the person who wrote it can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Not digits with an optional `-` and at most two decimals (an exponent, a comma, three
    /// decimals, nothing at all).
    #[error("amount {input:?} is not yuan with at most two decimals")]
    NotYuan {
        /// What was given.
        input: String,
    },
    /// More fen than an `i64` holds.
    #[error("amount {input:?} is too large")]
    TooLarge {
        /// What was given.
        input: String,
    },
    /// A negative amount where what was paid is asked for.
    #[error(
        "amount {input:?} is negative: a sale's amount is what was paid, and money given back is a sale return"
    )]
    Negative {
        /// What was given.
        input: String,
    },
}

impl Fen {
    /// Reads yuan with at most two decimals (`35`, `35.5`, `-12.30`, `35.`), surrounding
    /// whitespace ignored, exactly into fen. A sign other than a leading `-`, an exponent,
    /// more than two decimals, an empty text and an amount past the range of an `i64` of fen
    /// are errors. Whatever `Display` writes reads back as the same amount.
    pub fn parse_yuan(s: &str) -> Result<Fen, MoneyError> {
        let t = s.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > 2 {
            return Err(MoneyError::NotYuan { input: t.into() });
        }
        let too_large = || MoneyError::TooLarge { input: t.into() };
        // In i128, so that the most negative amount (whose magnitude is one past i64::MAX)
        // reads back too; the whole part is all ASCII digits, so parsing fails only when it
        // is too large.
        let whole: i128 = whole.parse().map_err(|_| too_large())?;
        // Tenths and hundredths, a missing digit being 0: `.5` is 50 fen, `.05` is 5.
        let frac = frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(2)
            .fold(0i128, |n, b| n * 10 + i128::from(b - b'0'));
        let magnitude = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(too_large)?;
        let fen = if negative { -magnitude } else { magnitude };
        i64::try_from(fen).map(Fen::new).map_err(|_| too_large())
    }

    /// Reads what a sale was paid, in yuan: as [`Fen::parse_yuan`], but never negative (the
    /// national interface refuses negative prices too; money given back is a sale return).
    pub fn parse_paid(s: &str) -> Result<Fen, MoneyError> {
        let fen = Fen::parse_yuan(s)?;
        if fen.is_negative() {
            return Err(MoneyError::Negative {
                input: s.trim().into(),
            });
        }
        Ok(fen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fen(s: &str) -> Result<i64, MoneyError> {
        Fen::parse_yuan(s).map(Fen::fen)
    }

    #[test]
    fn amounts() {
        for (s, f) in [
            ("35", 3500),
            ("35.5", 3550),
            ("35.05", 3505),
            ("35.", 3500),
            (" -12.30 ", -1230),
            ("-1.2", -120),
            ("0.00", 0),
            ("-0", 0),
            ("007.10", 710),
            ("92233720368547758.07", i64::MAX),
            ("-92233720368547758.08", i64::MIN),
        ] {
            assert_eq!(fen(s), Ok(f), "{s}");
        }
    }

    #[test]
    fn what_is_not_yuan_is_refused_naming_it() {
        for bad in [
            "", " ", "-", ".5", "-.5", "+5", "1.234", "1e3", "abc", "--1", "1.2.3", "1,000",
            "1.-2", "１２", "¥12",
        ] {
            assert_eq!(
                Fen::parse_yuan(bad),
                Err(MoneyError::NotYuan {
                    input: bad.trim().into()
                }),
                "{bad}"
            );
        }
        assert_eq!(
            Fen::parse_yuan(" 1.234 ").unwrap_err().to_string(),
            "amount \"1.234\" is not yuan with at most two decimals"
        );
    }

    #[test]
    fn amounts_past_an_i64_of_fen_are_too_large() {
        for big in [
            "92233720368547758.08",
            "-92233720368547758.09",
            "99999999999999999999",
            "999999999999999999999999999999999999999999",
        ] {
            assert_eq!(
                Fen::parse_yuan(big).unwrap_err().to_string(),
                format!("amount {big:?} is too large")
            );
        }
    }

    #[test]
    fn paid_amounts_are_never_negative() {
        assert_eq!(Fen::parse_paid("35.91"), Ok(Fen::new(3591)));
        assert_eq!(Fen::parse_paid("-0.00"), Ok(Fen::ZERO));
        assert_eq!(
            Fen::parse_paid(" -3.00").unwrap_err().to_string(),
            "amount \"-3.00\" is negative: a sale's amount is what was paid, and money given back is a sale return"
        );
        assert!(matches!(
            Fen::parse_paid("1e3"),
            Err(MoneyError::NotYuan { .. })
        ));
    }

    proptest! {
        #[test]
        fn written_yuan_read_exactly(
            negative in any::<bool>(),
            whole in 0u64..100_000_000_000_000,
            decimals in proptest::option::of("[0-9]{0,2}"),
            pad in "[ \t]{0,2}",
        ) {
            let sign = if negative { "-" } else { "" };
            let text = match &decimals {
                Some(d) => format!("{pad}{sign}{whole}.{d}{pad}"),
                None => format!("{pad}{sign}{whole}{pad}"),
            };
            let d = decimals.unwrap_or_default();
            let frac = format!("{d:0<2}").parse::<i64>().unwrap();
            let magnitude = i64::try_from(whole).unwrap() * 100 + frac;
            let expected = if negative { -magnitude } else { magnitude };
            prop_assert_eq!(fen(&text), Ok(expected));
        }

        #[test]
        fn no_text_panics(s in "\\PC{0,30}") {
            let _ = Fen::parse_yuan(&s);
            let _ = Fen::parse_paid(&s);
        }

        #[test]
        fn three_decimals_are_never_yuan(whole in 0u32.., frac in 0u32..1000) {
            let text = format!("{whole}.{frac:03}");
            let refused = matches!(Fen::parse_yuan(&text), Err(MoneyError::NotYuan { .. }));
            prop_assert!(refused, "{} was read", text);
        }
    }
}
