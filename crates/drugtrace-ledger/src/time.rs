//! Instants and calendar dates, as the ledger stores and compares them.

use std::fmt;

/// An instant, stored as milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a string is not a time or a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a {what}: {reason}")]
pub struct TimeError {
    input: String,
    what: &'static str,
    reason: String,
}

impl Timestamp {
    /// The instant `ms` milliseconds after the Unix epoch.
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The current time of this machine's clock.
    pub fn now() -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_millisecond())
    }

    /// Parses RFC 3339 (`2025-04-08T10:30:00+08:00`), or a time without an offset in the form
    /// hospital systems send (`2025-04-08 10:30:00`, `2025-04-08T10:30:00`), which is read at
    /// `local_offset_minutes` east of UTC (China: 480).
    pub fn parse(s: &str, local_offset_minutes: i32) -> Result<Timestamp, TimeError> {
        let s = s.trim();
        let err = |reason: String| TimeError {
            input: s.to_owned(),
            what: "time",
            reason,
        };
        let year_digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if year_digits > 4 && s.as_bytes().get(year_digits) == Some(&b'-') {
            return Err(err(format!(
                "the year {} has more than four digits",
                &s[..year_digits]
            )));
        }
        if let Ok(ts) = s.parse::<jiff::Timestamp>() {
            return Ok(Timestamp(ts.as_millisecond()));
        }
        let civil: jiff::civil::DateTime =
            s.parse().map_err(|e: jiff::Error| err(e.to_string()))?;
        let zoned = civil
            .to_zoned(fixed_zone(local_offset_minutes))
            .map_err(|e| err(e.to_string()))?;
        Ok(Timestamp(zoned.timestamp().as_millisecond()))
    }

    /// The calendar date of this instant at `offset_minutes` east of UTC.
    pub fn local_date(self, offset_minutes: i32) -> Date {
        let ts = jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Date(ts.to_zoned(fixed_zone(offset_minutes)).date())
    }

    /// RFC 3339 text at `offset_minutes` east of UTC, to the second.
    pub fn to_rfc3339(self, offset_minutes: i32) -> String {
        let ts = jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        ts.to_zoned(fixed_zone(offset_minutes))
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => write!(f, "{ts}"),
            Err(_) => write!(f, "{}ms", self.0),
        }
    }
}

fn fixed_zone(offset_minutes: i32) -> jiff::tz::TimeZone {
    let offset = jiff::tz::Offset::from_seconds(offset_minutes.clamp(-1439, 1439) * 60)
        .unwrap_or(jiff::tz::Offset::UTC);
    jiff::tz::TimeZone::fixed(offset)
}

/// A calendar date (an expiry date, the day of a sale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

impl Date {
    /// The date `year`-`month`-`day`, or `None` when there is no such day.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        let year = i16::try_from(year).ok()?;
        let month = i8::try_from(month).ok()?;
        let day = i8::try_from(day).ok()?;
        jiff::civil::Date::new(year, month, day).ok().map(Date)
    }

    /// Parses `YYYY-MM-DD` (also `YYYYMMDD`).
    pub fn parse(s: &str) -> Result<Date, TimeError> {
        let t = s.trim();
        let err = |reason: String| TimeError {
            input: t.to_owned(),
            what: "date (YYYY-MM-DD)",
            reason,
        };
        if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
            let n = |r: std::ops::Range<usize>| t[r].parse::<u32>().unwrap_or(0);
            return Date::from_ymd(n(0..4) as i32, n(4..6), n(6..8))
                .ok_or_else(|| err("no such day".into()));
        }
        t.parse::<jiff::civil::Date>()
            .map(Date)
            .map_err(|e| err(e.to_string()))
    }

    /// Year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        (
            i32::from(self.0.year()),
            self.0.month() as u32,
            self.0.day() as u32,
        )
    }

    /// Days since 1970-01-01 (negative before), a compact storage form.
    pub fn days_since_epoch(self) -> i32 {
        let epoch = jiff::civil::date(1970, 1, 1);
        (self.0 - epoch).get_days()
    }

    /// The inverse of [`Date::days_since_epoch`].
    pub fn from_days_since_epoch(days: i32) -> Option<Date> {
        jiff::civil::date(1970, 1, 1)
            .checked_add(jiff::Span::new().days(days))
            .ok()
            .map(Date)
    }

    /// The last day a GS1 expiry (AI 17) allows, with its century chosen relative to the year
    /// of `reference` (the scan's time), as GS1 specifies.
    pub fn from_expiry(expiry: drugtrace_code::Expiry, reference: Timestamp) -> Option<Date> {
        let (reference_year, _, _) = reference.local_date(0).ymd();
        let (y, m, d) = expiry.resolve(reference_year);
        Date::from_ymd(y, m, d)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_past_9999_are_named() {
        let e = Timestamp::parse("10000-01-01 00:00:00", 480).unwrap_err();
        assert!(
            e.to_string()
                .contains("the year 10000 has more than four digits"),
            "{e}"
        );
    }

    #[test]
    fn parses_times_with_and_without_offset() {
        let a = Timestamp::parse("2025-04-08T10:30:00+08:00", 480).unwrap();
        let b = Timestamp::parse("2025-04-08 10:30:00", 480).unwrap();
        let c = Timestamp::parse("2025-04-08T02:30:00Z", 0).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.to_rfc3339(480), "2025-04-08T10:30:00+08:00");
        assert!(Timestamp::parse("yesterday", 480).is_err());
    }

    #[test]
    fn local_date_crosses_midnight() {
        let t = Timestamp::parse("2025-04-08T20:00:00Z", 0).unwrap();
        assert_eq!(t.local_date(480), Date::from_ymd(2025, 4, 9).unwrap());
        assert_eq!(t.local_date(0), Date::from_ymd(2025, 4, 8).unwrap());
    }

    #[test]
    fn dates_round_trip() {
        for s in ["1970-01-01", "2025-02-28", "2024-02-29", "1969-12-31"] {
            let d = Date::parse(s).unwrap();
            assert_eq!(d.to_string(), s);
            assert_eq!(Date::from_days_since_epoch(d.days_since_epoch()), Some(d));
        }
        assert_eq!(Date::parse("20250228").unwrap().to_string(), "2025-02-28");
        assert!(Date::parse("2025-02-29").is_err());
        assert!(Date::parse("20250230").is_err());
    }
}
