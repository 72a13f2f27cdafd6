//! The schedule of a scheduled query subscription (EPCIS's `QuerySchedule`): six fields,
//! `second`, `minute`, `hour`, `dayOfMonth`, `month` and `dayOfWeek` (1 Monday … 7 Sunday),
//! each a comma-separated list of numbers and ranges `[lo-hi]`. The query runs at each
//! instant that matches every field given.
//!
//! A field left out matches every value when it is coarser than the finest field given, and
//! only its first value when it is finer, as in cron: `{"hour": "1", "minute": "5"}` runs
//! once a day at 01:05:00 (the standard's own example, "every morning at 1.05am"), not sixty
//! times in that minute; `{"dayOfWeek": "1"}` runs at midnight each Monday, `{"month": "1"}`
//! at midnight on the 1st of January. A schedule gives at least one field; times are the
//! server's civil time.

use jiff::ToSpan;
use jiff::civil::{Date, DateTime, Time};

/// Why a schedule is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule.{field}: {message}")]
pub struct ScheduleError {
    /// The field that is wrong (`second`, …, `dayOfWeek`), or `schedule` for the whole.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// The fields of a schedule as a subscription gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleFields<'a> {
    /// `second`, 0–59.
    pub second: Option<&'a str>,
    /// `minute`, 0–59.
    pub minute: Option<&'a str>,
    /// `hour`, 0–23.
    pub hour: Option<&'a str>,
    /// `dayOfMonth`, 1–31.
    pub day_of_month: Option<&'a str>,
    /// `month`, 1–12.
    pub month: Option<&'a str>,
    /// `dayOfWeek`, 1 (Monday) – 7 (Sunday).
    pub day_of_week: Option<&'a str>,
}

/// The values one field matches, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Set(u64);

impl Set {
    fn all(lo: u8, hi: u8) -> Set {
        Set((lo..=hi).fold(0, |m, v| m | 1 << v))
    }

    fn has(self, v: i8) -> bool {
        (0..64).contains(&v) && self.0 & (1 << v) != 0
    }

    /// The smallest value at least `from`, up to `hi`.
    fn first_from(self, from: i8, hi: i8) -> Option<i8> {
        (from.max(0)..=hi).find(|&v| self.has(v))
    }

    /// The largest value at most `from`, down to `lo`.
    fn last_to(self, from: i8, lo: i8) -> Option<i8> {
        (lo..=from.min(63)).rev().find(|&v| self.has(v))
    }

    fn parse(field: &'static str, text: &str, lo: u8, hi: u8) -> Result<Set, ScheduleError> {
        let err = |message: String| ScheduleError { field, message };
        let number = |s: &str| -> Result<u8, ScheduleError> {
            let s = s.trim();
            let v: u8 = s
                .parse()
                .map_err(|_| err(format!("{s:?} is not a number from {lo} to {hi}")))?;
            if !(lo..=hi).contains(&v) {
                return Err(err(format!("{v} is outside {lo} to {hi}")));
            }
            Ok(v)
        };
        let mut set = 0u64;
        for element in text.split(',') {
            let e = element.trim();
            if e.is_empty() {
                return Err(err(format!(
                    "{text:?} has an empty element: give numbers and ranges [lo-hi], separated by commas"
                )));
            }
            let (a, b) = match e.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                Some(range) => {
                    let (a, b) = range
                        .split_once('-')
                        .ok_or_else(|| err(format!("{e:?} is not a range: write it [lo-hi]")))?;
                    (number(a)?, number(b)?)
                }
                None => {
                    let v = number(e)?;
                    (v, v)
                }
            };
            if a > b {
                return Err(err(format!("{e:?} runs backwards")));
            }
            set |= Set::all(a, b).0;
        }
        Ok(Set(set))
    }
}

/// A parsed schedule: when a scheduled query runs, in the civil time of the server's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySchedule {
    second: Set,
    minute: Set,
    hour: Set,
    day_of_month: Set,
    month: Set,
    day_of_week: Set,
}

/// The days searched for a match before a schedule is taken to match none (a 31st of
/// February, a 31st that must be a Monday in a month without one): eight years hold every
/// combination of month, day and weekday that exists.
const SEARCH_DAYS: i32 = 366 * 8;

impl QuerySchedule {
    /// Parses the fields of a schedule.
    pub fn parse(f: &ScheduleFields<'_>) -> Result<QuerySchedule, ScheduleError> {
        let fields: [(&'static str, Option<&str>, u8, u8); 6] = [
            ("second", f.second, 0, 59),
            ("minute", f.minute, 0, 59),
            ("hour", f.hour, 0, 23),
            ("dayOfMonth", f.day_of_month, 1, 31),
            ("month", f.month, 1, 12),
            ("dayOfWeek", f.day_of_week, 1, 7),
        ];
        if fields.iter().all(|(_, v, _, _)| v.is_none()) {
            return Err(ScheduleError {
                field: "schedule",
                message: "gives no field: name at least one of second, minute, hour, dayOfMonth, month, dayOfWeek".into(),
            });
        }
        // A time field left out below the finest time field given, or with only days given,
        // is its first value; a day of the month left out when only the month is given is
        // the 1st; anything else left out is every value.
        let finest_time = fields[..3].iter().position(|(_, v, _, _)| v.is_some());
        let only_month =
            finest_time.is_none() && f.day_of_month.is_none() && f.day_of_week.is_none();
        let mut sets = [Set(0); 6];
        for (i, (name, value, lo, hi)) in fields.iter().enumerate() {
            let first_only = match i {
                0..=2 => finest_time.is_none_or(|ft| i < ft),
                3 => only_month,
                _ => false,
            };
            sets[i] = match value {
                Some(text) => Set::parse(name, text, *lo, *hi)?,
                None if first_only => Set::all(*lo, *lo),
                None => Set::all(*lo, *hi),
            };
        }
        let s = QuerySchedule {
            second: sets[0],
            minute: sets[1],
            hour: sets[2],
            day_of_month: sets[3],
            month: sets[4],
            day_of_week: sets[5],
        };
        if s.next_after(DateTime::constant(2000, 1, 1, 0, 0, 0, 0))
            .is_none()
        {
            return Err(ScheduleError {
                field: "schedule",
                message: "matches no day (a day of the month no month of the schedule has, or a day of the month that never falls on its day of the week)".into(),
            });
        }
        Ok(s)
    }

    fn day_matches(&self, d: Date) -> bool {
        self.month.has(d.month())
            && self.day_of_month.has(d.day())
            && self.day_of_week.has(d.weekday().to_monday_one_offset())
    }

    /// Whether the schedule runs at `t` (to the second).
    pub fn matches(&self, t: DateTime) -> bool {
        self.day_matches(t.date())
            && self.hour.has(t.hour())
            && self.minute.has(t.minute())
            && self.second.has(t.second())
    }

    /// The first instant after `t` (to the second) that the schedule runs at.
    pub fn next_after(&self, t: DateTime) -> Option<DateTime> {
        let t = t.with().subsec_nanosecond(0).build().ok()?;
        let start = t.checked_add(1.second()).ok()?;
        for n in 0..SEARCH_DAYS {
            let day = start.date().checked_add(n.days()).ok()?;
            if !self.day_matches(day) {
                continue;
            }
            let from = if n == 0 {
                start.time()
            } else {
                Time::midnight()
            };
            if let Some(time) = self.first_time_from(from) {
                return Some(day.to_datetime(time));
            }
        }
        None
    }

    /// The last instant at or before `t` (to the second) that the schedule runs at.
    pub fn last_at_or_before(&self, t: DateTime) -> Option<DateTime> {
        let t = t.with().subsec_nanosecond(0).build().ok()?;
        for n in 0..SEARCH_DAYS {
            let day = t.date().checked_sub(n.days()).ok()?;
            if !self.day_matches(day) {
                continue;
            }
            let to = if n == 0 { t.time() } else { Time::MAX };
            if let Some(time) = self.last_time_to(to) {
                return Some(day.to_datetime(time));
            }
        }
        None
    }

    /// The first time of day at or after `from` the schedule runs at.
    fn first_time_from(&self, from: Time) -> Option<Time> {
        let mut h = self.hour.first_from(from.hour(), 23)?;
        loop {
            let same_hour = h == from.hour();
            let m_from = if same_hour { from.minute() } else { 0 };
            let mut m = self.minute.first_from(m_from, 59);
            while let Some(mm) = m {
                let s_from = if same_hour && mm == from.minute() {
                    from.second()
                } else {
                    0
                };
                if let Some(s) = self.second.first_from(s_from, 59) {
                    return Time::new(h, mm, s, 0).ok();
                }
                m = self.minute.first_from(mm + 1, 59);
            }
            h = self.hour.first_from(h + 1, 23)?;
        }
    }

    /// The last time of day at or before `to` the schedule runs at.
    fn last_time_to(&self, to: Time) -> Option<Time> {
        let mut h = self.hour.last_to(to.hour(), 0)?;
        loop {
            let same_hour = h == to.hour();
            let m_to = if same_hour { to.minute() } else { 59 };
            let mut m = self.minute.last_to(m_to, 0);
            while let Some(mm) = m {
                let s_to = if same_hour && mm == to.minute() {
                    to.second()
                } else {
                    59
                };
                if let Some(s) = self.second.last_to(s_to, 0) {
                    return Time::new(h, mm, s, 0).ok();
                }
                m = if mm == 0 {
                    None
                } else {
                    self.minute.last_to(mm - 1, 0)
                };
            }
            if h == 0 {
                return None;
            }
            h = self.hour.last_to(h - 1, 0)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8) -> DateTime {
        DateTime::new(y, mo, d, h, mi, s, 0).unwrap()
    }

    fn parse(f: ScheduleFields<'_>) -> QuerySchedule {
        QuerySchedule::parse(&f).unwrap()
    }

    #[test]
    fn the_standards_example_runs_once_a_day_at_five_past_one() {
        let s = parse(ScheduleFields {
            hour: Some("1"),
            minute: Some("5"),
            ..Default::default()
        });
        assert_eq!(
            s.next_after(at(2026, 12, 3, 0, 0, 0)),
            Some(at(2026, 12, 3, 1, 5, 0))
        );
        assert_eq!(
            s.next_after(at(2026, 12, 3, 1, 5, 0)),
            Some(at(2026, 12, 4, 1, 5, 0))
        );
        assert_eq!(
            s.last_at_or_before(at(2026, 12, 3, 1, 4, 59)),
            Some(at(2026, 12, 2, 1, 5, 0))
        );
        assert_eq!(
            s.last_at_or_before(at(2026, 12, 3, 1, 5, 0)),
            Some(at(2026, 12, 3, 1, 5, 0))
        );
    }

    #[test]
    fn lists_ranges_and_days() {
        let s = parse(ScheduleFields {
            minute: Some("0, [15-16],45"),
            ..Default::default()
        });
        assert_eq!(
            s.next_after(at(2026, 12, 3, 10, 15, 0)),
            Some(at(2026, 12, 3, 10, 16, 0))
        );
        assert_eq!(
            s.next_after(at(2026, 12, 3, 23, 45, 0)),
            Some(at(2026, 12, 4, 0, 0, 0))
        );
        // Mondays at midnight; 2026-12-03 is a Thursday.
        let monday = parse(ScheduleFields {
            day_of_week: Some("1"),
            ..Default::default()
        });
        assert_eq!(
            monday.next_after(at(2026, 12, 3, 12, 0, 0)),
            Some(at(2026, 12, 7, 0, 0, 0))
        );
        // The 29th of February, next in 2028.
        let leap = parse(ScheduleFields {
            month: Some("2"),
            day_of_month: Some("29"),
            hour: Some("12"),
            ..Default::default()
        });
        assert_eq!(
            leap.next_after(at(2026, 12, 3, 0, 0, 0)),
            Some(at(2028, 2, 29, 12, 0, 0))
        );
    }

    #[test]
    fn a_bad_schedule_names_its_field() {
        for (f, field, says) in [
            (ScheduleFields::default(), "schedule", "no field"),
            (
                ScheduleFields {
                    hour: Some("24"),
                    ..Default::default()
                },
                "hour",
                "outside 0 to 23",
            ),
            (
                ScheduleFields {
                    minute: Some("[30-10]"),
                    ..Default::default()
                },
                "minute",
                "backwards",
            ),
            (
                ScheduleFields {
                    second: Some("1,,2"),
                    ..Default::default()
                },
                "second",
                "empty element",
            ),
            (
                ScheduleFields {
                    day_of_week: Some("0"),
                    ..Default::default()
                },
                "dayOfWeek",
                "outside 1 to 7",
            ),
            (
                ScheduleFields {
                    month: Some("2"),
                    day_of_month: Some("30"),
                    ..Default::default()
                },
                "schedule",
                "matches no day",
            ),
            (
                ScheduleFields {
                    hour: Some("one"),
                    ..Default::default()
                },
                "hour",
                "not a number",
            ),
        ] {
            let e = QuerySchedule::parse(&f).unwrap_err();
            assert_eq!(e.field, field, "{f:?}: {e}");
            assert!(e.to_string().contains(says), "{f:?}: {e}");
        }
    }

    fn field() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            (0u8..60).prop_map(|v| Some(v.to_string())),
            (0u8..60, 0u8..60).prop_map(|(a, b)| Some(format!("[{}-{}]", a.min(b), a.max(b)))),
            (0u8..60, 0u8..60).prop_map(|(a, b)| Some(format!("{a},{b}"))),
        ]
    }

    proptest! {
        /// The next run is after the instant and matches, and nothing between them does;
        /// the last run at or before it is the one before that next run.
        #[test]
        fn next_and_last_agree_with_matching(
            second in field(), minute in field(), hour in field(),
            secs in 0i64..(3 * 366 * 86_400),
        ) {
            let clamp = |f: &Option<String>, hi: u8| f.as_ref().map(|s| {
                s.split(',').map(|e| {
                    let e = e.trim_matches(['[', ']']);
                    let parts: Vec<u8> = e.split('-').map(|n| n.parse::<u8>().unwrap().min(hi)).collect();
                    if parts.len() == 2 { format!("[{}-{}]", parts[0], parts[1]) } else { parts[0].to_string() }
                }).collect::<Vec<_>>().join(",")
            });
            let (second, minute, hour) = (clamp(&second, 59), clamp(&minute, 59), clamp(&hour, 23));
            let f = ScheduleFields {
                second: second.as_deref(),
                minute: minute.as_deref(),
                hour: hour.as_deref(),
                ..Default::default()
            };
            let Ok(s) = QuerySchedule::parse(&f) else { return Ok(()); };
            let t = at(2026, 1, 1, 0, 0, 0).checked_add(secs.seconds()).unwrap();
            let next = s.next_after(t).unwrap();
            prop_assert!(next > t);
            prop_assert!(s.matches(next));
            // Nothing in between, checked second by second over at most two hours.
            let mut probe = t.checked_add(1.second()).unwrap();
            while probe < next && probe < t.checked_add(2.hours()).unwrap() {
                prop_assert!(!s.matches(probe), "{probe} matches before {next}");
                probe = probe.checked_add(1.second()).unwrap();
            }
            let last = s.last_at_or_before(next).unwrap();
            prop_assert_eq!(last, next);
            let before = s.last_at_or_before(next.checked_sub(1.second()).unwrap()).unwrap();
            prop_assert!(before <= t);
            prop_assert!(s.matches(before));
        }
    }
}
