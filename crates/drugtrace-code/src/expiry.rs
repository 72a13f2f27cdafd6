//! Expiry dates as GS1 writes them (AI 17, `YYMMDD`), with the rules for day 00 and the
//! century.

use crate::normalize::normalize;
use crate::{ExpiryProblem, ParseError};

/// A pack's expiry date as printed: two-digit year, month, and day, where day 0 means the
/// end of the month (GS1 allows `00` when only the month is known).
///
/// The century is not written on the pack, so it is chosen only when needed, by
/// [`Expiry::resolve`]. Values compare equal exactly when they are written the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Expiry {
    yy: u8,
    mm: u8,
    dd: u8,
}

impl Expiry {
    /// Parses six digits `YYMMDD`, after normalization. The month must be 1 to 12 and the
    /// day must exist in it, or be 00; 29 February only when `YY` is divisible by 4 (the
    /// GS1 rule, which the two digits alone allow).
    pub fn parse_yymmdd(s: &str) -> Result<Expiry, ParseError> {
        let s = normalize(s);
        let err = |problem| ParseError::Expiry {
            value: s.to_string(),
            problem,
        };
        let b = s.as_bytes();
        if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
            return Err(err(ExpiryProblem::Format));
        }
        let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
        let (yy, mm, dd) = (two(0), two(2), two(4));
        if !(1..=12).contains(&mm) {
            return Err(err(ExpiryProblem::Month(mm)));
        }
        if mm == 2 && dd == 29 && yy % 4 != 0 {
            return Err(err(ExpiryProblem::NotLeapYear { yy }));
        }
        // With February 29 settled above, a leap year gives every month its longest length.
        if dd > days_in_month(2000, mm) {
            return Err(err(ExpiryProblem::Day { day: dd, month: mm }));
        }
        Ok(Expiry::new(yy, mm, dd))
    }

    /// Builds an expiry from a full date, keeping the year's last two digits. Day 0 means
    /// the end of the month. `None` when the month or day does not exist in that year.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Expiry> {
        let valid = (1..=12).contains(&month) && day <= days_in_month(year, month);
        valid.then(|| Expiry::new(year.rem_euclid(100) as u32, month, day))
    }

    /// The six digits `YYMMDD` as written in AI (17).
    pub fn to_yymmdd(&self) -> String {
        format!("{:02}{:02}{:02}", self.yy, self.mm, self.dd)
    }

    /// The last day the pack may be used, as (year, month, day), with the century chosen by
    /// the GS1 General Specifications rule (7.12: the year is within -49..+50 years of
    /// `reference_year`) and day 00 resolved to the month's last day (leap years right).
    ///
    /// A 29 February whose resolved year is not a leap year (`00` read as 2100) becomes
    /// 28 February, the last day that exists.
    pub fn resolve(&self, reference_year: i32) -> (i32, u32, u32) {
        let yy = i32::from(self.yy);
        let ref_yy = reference_year.rem_euclid(100);
        let century = reference_year - ref_yy;
        let year = match yy - ref_yy {
            d if d >= 51 => century - 100 + yy,
            d if d <= -50 => century + 100 + yy,
            _ => century + yy,
        };
        let month = u32::from(self.mm);
        let last = days_in_month(year, month);
        let day = match u32::from(self.dd) {
            0 => last,
            d => d.min(last),
        };
        (year, month, day)
    }

    /// Builds from parts already checked.
    fn new(yy: u32, mm: u32, dd: u32) -> Expiry {
        Expiry {
            yy: yy as u8,
            mm: mm as u8,
            dd: dd as u8,
        }
    }
}

/// The number of days of `month` (1 to 12) in the Gregorian `year`.
fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_table() {
        let ok = |yy, mm, dd| Ok(Expiry::new(yy, mm, dd));
        let err = |v: &str, problem| {
            Err(ParseError::Expiry {
                value: v.to_string(),
                problem,
            })
        };
        for (input, expected) in [
            ("251231", ok(25, 12, 31)),
            ("250200", ok(25, 2, 0)),
            ("240229", ok(24, 2, 29)),
            ("000229", ok(0, 2, 29)),
            ("２５１２３１", ok(25, 12, 31)),
            (
                "250229",
                err("250229", ExpiryProblem::NotLeapYear { yy: 25 }),
            ),
            ("251341", err("251341", ExpiryProblem::Month(13))),
            ("250001", err("250001", ExpiryProblem::Month(0))),
            (
                "250431",
                err("250431", ExpiryProblem::Day { day: 31, month: 4 }),
            ),
            (
                "250132",
                err("250132", ExpiryProblem::Day { day: 32, month: 1 }),
            ),
            ("25123", err("25123", ExpiryProblem::Format)),
            ("25123x", err("25123x", ExpiryProblem::Format)),
        ] {
            assert_eq!(Expiry::parse_yymmdd(input), expected, "{input:?}");
        }
        assert_eq!(
            Expiry::parse_yymmdd("251341").unwrap_err().to_string(),
            "(17) expiry 251341: month 13 does not exist"
        );
    }

    #[test]
    fn resolve_table() {
        let e = |s| Expiry::parse_yymmdd(s).unwrap();
        for (exp, reference, expected) in [
            ("251231", 2025, (2025, 12, 31)),
            ("250200", 2025, (2025, 2, 28)),
            ("240200", 2025, (2024, 2, 29)),
            ("000200", 2025, (2000, 2, 29)),
            // The GS1 window: up to 50 years ahead, 49 years back.
            ("750101", 2025, (2075, 1, 1)),
            ("760101", 2025, (1976, 1, 1)),
            ("100101", 2060, (2110, 1, 1)),
            ("110101", 2060, (2011, 1, 1)),
            ("990101", 2001, (1999, 1, 1)),
            // Day 00 in 2100, which is not a leap year, and a 29 February that year.
            ("000200", 2080, (2100, 2, 28)),
            ("000229", 2080, (2100, 2, 28)),
        ] {
            assert_eq!(
                e(exp).resolve(reference),
                expected,
                "{exp} from {reference}"
            );
        }
    }

    #[test]
    fn from_ymd_table() {
        assert_eq!(
            Expiry::from_ymd(2025, 12, 31),
            Some(Expiry::new(25, 12, 31))
        );
        assert_eq!(Expiry::from_ymd(2025, 2, 0), Some(Expiry::new(25, 2, 0)));
        assert_eq!(Expiry::from_ymd(2000, 2, 29), Some(Expiry::new(0, 2, 29)));
        assert_eq!(Expiry::from_ymd(2100, 2, 29), None);
        assert_eq!(Expiry::from_ymd(2025, 13, 1), None);
        assert_eq!(Expiry::from_ymd(2025, 4, 31), None);
        assert_eq!(Expiry::from_ymd(1999, 1, 1).unwrap().to_yymmdd(), "990101");
    }

    proptest! {
        #[test]
        fn round_trips(year in 1950i32..2150, month in 1u32..=12, day in 0u32..=31) {
            if let Some(e) = Expiry::from_ymd(year, month, day) {
                prop_assert_eq!(Expiry::parse_yymmdd(&e.to_yymmdd()), Ok(e));
                let resolved = e.resolve(year);
                let last = days_in_month(year, month);
                prop_assert_eq!(resolved, (year, month, if day == 0 { last } else { day }));
            }
        }

        #[test]
        fn never_panics(s in "[0-9]{0,8}", reference in -3000i32..3000) {
            if let Ok(e) = Expiry::parse_yymmdd(&s) {
                let (y, m, d) = e.resolve(reference);
                prop_assert!((reference - 49..=reference + 50).contains(&y));
                prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            }
        }
    }
}
