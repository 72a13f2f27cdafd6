//! EPCIS times: instants written as `xsd:dateTimeStamp` (RFC 3339 with an offset), and the
//! `eventTimeZoneOffset` an event states separately.

use std::fmt;

use jiff::Timestamp;
use jiff::tz::Offset;

/// Reads an RFC 3339 date-time with its offset (`2005-04-03T20:33:31.116-06:00`, or `Z`).
pub(crate) fn parse_instant(s: &str) -> Result<Timestamp, String> {
    s.parse::<Timestamp>().map_err(|e| {
        format!("{s:?} is not a date-time with an offset such as \"2005-04-03T20:33:31.116-06:00\" ({e})")
    })
}

/// The instant in UTC with exactly three decimals (`2005-04-04T02:33:31.116Z`), as the event
/// hash writes times: the third decimal is rounded up when the fourth is 5 to 9, and the
/// digits after the fourth are ignored.
pub(crate) fn hash_form(t: Timestamp) -> String {
    let nanos = t.subsec_nanosecond();
    let mut millis = t.as_second() * 1000 + i64::from(nanos.div_euclid(1_000_000));
    if nanos.rem_euclid(1_000_000) / 100_000 >= 5 {
        millis += 1;
    }
    let t = Timestamp::from_millisecond(millis).unwrap_or(t);
    let dt = Offset::UTC.to_datetime(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1_000_000
    )
}

/// The time zone offset an event states for where it happened (`eventTimeZoneOffset`):
/// `+hh:mm` or `-hh:mm`, from -14:00 to +14:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZoneOffset {
    minutes: i16,
}

impl TimeZoneOffset {
    /// Reads `+hh:mm` or `-hh:mm`.
    pub fn parse(s: &str) -> Result<TimeZoneOffset, String> {
        let bad = || format!("{s:?} is not a time zone offset such as \"+01:00\" or \"-06:00\"");
        let b = s.as_bytes();
        if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
            return Err(bad());
        }
        let digits = |r: std::ops::Range<usize>| -> Option<i16> {
            let part = s.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (Some(hours), Some(minutes)) = (digits(1..3), digits(4..6)) else {
            return Err(bad());
        };
        let total = hours * 60 + minutes;
        if minutes > 59 || total > 14 * 60 {
            return Err(bad());
        }
        Ok(TimeZoneOffset {
            minutes: if b[0] == b'-' { -total } else { total },
        })
    }

    /// The offset from UTC in minutes.
    pub fn minutes(self) -> i16 {
        self.minutes
    }

    /// The offset as jiff's type, to show an instant in the event's local time.
    pub fn to_offset(self) -> Offset {
        Offset::from_seconds(i32::from(self.minutes) * 60).expect("within -14:00..=+14:00")
    }
}

impl fmt::Display for TimeZoneOffset {
    /// `+hh:mm` or `-hh:mm` (`+00:00` for UTC).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_form_is_utc_with_milliseconds() {
        for (written, expected) in [
            (
                "2005-04-03T20:33:31.116000-06:00",
                "2005-04-04T02:33:31.116Z",
            ),
            ("2020-06-15T21:41:19Z", "2020-06-15T21:41:19.000Z"),
            ("2023-01-18T11:04:03.1415Z", "2023-01-18T11:04:03.142Z"),
            ("2023-01-18T11:04:03.1414999Z", "2023-01-18T11:04:03.141Z"),
            ("2023-12-31T23:59:59.9996Z", "2024-01-01T00:00:00.000Z"),
            ("2005-07-11T11:30:47.0Z", "2005-07-11T11:30:47.000Z"),
        ] {
            assert_eq!(
                hash_form(parse_instant(written).unwrap()),
                expected,
                "{written}"
            );
        }
        assert!(parse_instant("2019-04-02T14:00:00").is_err(), "no offset");
    }

    #[test]
    fn offsets() {
        for (s, m) in [
            ("+01:00", 60),
            ("-06:00", -360),
            ("+05:45", 345),
            ("+00:00", 0),
        ] {
            let o = TimeZoneOffset::parse(s).unwrap();
            assert_eq!(o.minutes(), m);
            assert_eq!(o.to_string(), s);
        }
        for bad in [
            "+1:00",
            "01:00",
            "+01:60",
            "+15:00",
            "Z",
            "+01:0a",
            "+٠١:٠٠",
        ] {
            assert!(TimeZoneOffset::parse(bad).is_err(), "{bad}");
        }
    }
}
