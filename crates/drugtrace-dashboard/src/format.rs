//! Numbers, amounts, rates and dates as the pages show them.
//!
//! Tables show exact figures with thousands separators (`1,262,900`), amounts in yuan with two
//! decimals from fen (`12,629.00`), dates as `YYYY-MM-DD` and instants in the deployment's
//! time zone as `YYYY-MM-DD HH:MM:SS`. (Chart axes scale their labels themselves, to `万`
//! or `k`: see [`crate::charts::ValueFormat::tick_labels`].)

use drugtrace_money::Fen;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};

/// What is shown where a value is missing or not a number.
pub const MISSING: &str = "—";

/// An integer with thousands separators: `-1234567` → `-1,234,567`.
pub fn int(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount as yuan with two decimals and separators: 126,290,000 fen → `1,262,900.00`
/// (the money crate's one grouped rendering, [`Fen::grouped`]).
pub fn yuan(amount: Fen) -> String {
    amount.grouped().to_string()
}

/// A fraction as a percentage with one decimal: `0.947` → `94.7%`; not a number → `—`.
pub fn percent(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.1}%", fraction * 100.0)
    } else {
        MISSING.to_owned()
    }
}

/// An optional fraction as a percentage, `—` when absent.
pub fn percent_opt(fraction: Option<f64>) -> String {
    fraction.map_or_else(|| MISSING.to_owned(), percent)
}

/// A date as `YYYY-MM-DD`.
pub fn date(d: Date) -> String {
    d.strftime("%Y-%m-%d").to_string()
}

/// An instant as `YYYY-MM-DD HH:MM:SS` at `offset_minutes` east of UTC (China: 480).
pub fn datetime(ts: Timestamp, offset_minutes: i32) -> String {
    ts.to_zoned(zone(offset_minutes))
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The calendar date of an instant at `offset_minutes` east of UTC.
pub fn local_date(ts: Timestamp, offset_minutes: i32) -> Date {
    ts.to_zoned(zone(offset_minutes)).date()
}

/// The offset as `UTC+08:00`.
pub fn utc_offset(offset_minutes: i32) -> String {
    let m = offset_minutes.clamp(-1439, 1439);
    let sign = if m < 0 { '-' } else { '+' };
    format!("UTC{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)
}

fn zone(offset_minutes: i32) -> TimeZone {
    let offset =
        Offset::from_seconds(offset_minutes.clamp(-1439, 1439) * 60).unwrap_or(Offset::UTC);
    TimeZone::fixed(offset)
}

/// A number with `decimals` decimals and thousands separators in the integer part:
/// `12345.678, 1` → `12,345.7`; not a number → `—`.
pub fn decimal(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return MISSING.to_owned();
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int_part, frac) = s.split_once('.').unwrap_or((&s, ""));
    let negative = x < 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A duration in milliseconds as the SQL page shows it: `12.3 ms`, `1.52 s`.
pub fn elapsed_ms(ms: f64) -> String {
    if !ms.is_finite() {
        MISSING.to_owned()
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_get_thousands_separators() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(14057), "14,057");
        assert_eq!(int(-1234567), "-1,234,567");
        assert_eq!(int(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(int(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn fen_become_yuan_with_two_decimals() {
        assert_eq!(yuan(Fen::new(0)), "0.00");
        assert_eq!(yuan(Fen::new(5)), "0.05");
        assert_eq!(yuan(Fen::new(126_290_000)), "1,262,900.00");
        assert_eq!(yuan(Fen::new(-1999)), "-19.99");
        assert_eq!(yuan(Fen::new(-5)), "-0.05");
        assert_eq!(yuan(Fen::new(i64::MIN)), "-92,233,720,368,547,758.08");
    }

    #[test]
    fn percentages_and_missing_values() {
        assert_eq!(percent(0.947), "94.7%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(f64::NAN), "—");
        assert_eq!(percent_opt(None), "—");
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(12345.678, 1), "12,345.7");
        assert_eq!(decimal(-0.04, 1), "0.0");
        assert_eq!(decimal(-1234.5, 0), "-1,234");
        assert_eq!(decimal(f64::INFINITY, 2), "—");
    }

    #[test]
    fn dates_and_instants() {
        let d = Date::new(2025, 6, 10).unwrap();
        assert_eq!(date(d), "2025-06-10");
        let ts: Timestamp = "2025-06-30T16:00:00Z".parse().unwrap();
        assert_eq!(datetime(ts, 480), "2025-07-01 00:00:00");
        assert_eq!(local_date(ts, 480), Date::new(2025, 7, 1).unwrap());
        assert_eq!(utc_offset(480), "UTC+08:00");
        assert_eq!(utc_offset(-90), "UTC-01:30");
    }

    #[test]
    fn elapsed_times() {
        assert_eq!(elapsed_ms(12.34), "12.3 ms");
        assert_eq!(elapsed_ms(1520.0), "1.52 s");
    }
}
