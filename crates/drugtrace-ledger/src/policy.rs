//! The rules a province chooses: what to do with codes never issued, and from when a
//! settlement item needs a trace code at all.

use crate::{Date, Outcome, Reason, Timestamp};

/// What the gate does with a sale of a code no manufacturer issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownCodePolicy {
    /// Let the payment through and flag the sale. The default while manufacturers'
    /// uploads are incomplete: blocking would stop honest sales of packs made before.
    #[default]
    Allow,
    /// Block the payment.
    Block,
}

/// The gate's configurable rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Codes never issued.
    pub unknown_code: UnknownCodePolicy,
    /// From this day on, a settlement item without a trace code is blocked ("no scan, no
    /// settlement", 无码不结算). `None`: never.
    pub no_scan_no_settlement_from: Option<Date>,
    /// The local time zone's offset east of UTC in minutes (China: 480), for the day of a
    /// sale compared with an expiry date and for times sent without an offset.
    pub local_offset_minutes: i32,
    /// How late an upload may be and still be judged at the time it claims (uploads arrive
    /// up to about two days late). An event claiming an earlier time is recorded with that
    /// time, as evidence, but judged as if it happened this long before the server's clock:
    /// backdating a sale cannot make an expired or recalled pack payable.
    pub late_upload_hours: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unknown_code: UnknownCodePolicy::Allow,
            no_scan_no_settlement_from: None,
            local_offset_minutes: 480,
            late_upload_hours: Policy::DEFAULT_LATE_UPLOAD_HOURS,
        }
    }
}

/// Why a client's time cannot be taken, even as evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeRangeError {
    /// Before any trace code existed.
    #[error("{0} is before 2000-01-01: no trace code is that old")]
    TooEarly(String),
    /// Ahead of the server's clock by more than clocks drift.
    #[error(
        "{at} is {minutes} minutes ahead of the server's clock ({now}); at most {max} are allowed: check the client's clock and time zone"
    )]
    Ahead {
        /// The time claimed.
        at: String,
        /// The server's clock.
        now: String,
        /// How far ahead, in minutes.
        minutes: i64,
        /// The most allowed.
        max: i64,
    },
}

impl Policy {
    /// The default of [`Policy::late_upload_hours`]: three days.
    pub const DEFAULT_LATE_UPLOAD_HOURS: u32 = 72;

    /// How far ahead of the server's clock a client's time may be: clocks drift, but an hour
    /// ahead is a wrong clock or time zone.
    pub const MAX_AHEAD_MINUTES: i64 = 60;

    /// The earliest time an event may claim (2000-01-01 in China).
    pub const EARLIEST_MILLIS: i64 = 946_656_000_000;

    /// Checks a time a client claims against the server's clock `now`: not before 2000 and
    /// not more than [`Policy::MAX_AHEAD_MINUTES`] ahead. Every edge checks the times it
    /// reads with this, so that nonsense is refused before anything is recorded.
    /// Times are shown at `offset_minutes` east of UTC.
    pub fn check_claimed_time(
        at: Timestamp,
        now: Timestamp,
        offset_minutes: i32,
    ) -> Result<(), TimeRangeError> {
        let show = |t: Timestamp| t.to_rfc3339(offset_minutes);
        Self::check_not_too_early(at, offset_minutes)?;
        let ahead = (at.millis() - now.millis()) / 60_000;
        if ahead > Self::MAX_AHEAD_MINUTES {
            return Err(TimeRangeError::Ahead {
                at: show(at),
                now: show(now),
                minutes: ahead,
                max: Self::MAX_AHEAD_MINUTES,
            });
        }
        Ok(())
    }

    /// Checks only that `at` is not before 2000: for the operator's back-fill from files,
    /// whose history (a synthetic province's, say) may run past today's clock.
    pub fn check_not_too_early(at: Timestamp, offset_minutes: i32) -> Result<(), TimeRangeError> {
        if at.millis() < Self::EARLIEST_MILLIS {
            return Err(TimeRangeError::TooEarly(at.to_rfc3339(offset_minutes)));
        }
        Ok(())
    }

    /// The instant an event claiming `at` is judged at, with the server's clock at `now`:
    /// its own time when that lies within the late-upload window, else the window's edge
    /// (and never later than now).
    pub fn judging_time(&self, at: Timestamp, now: Timestamp) -> Timestamp {
        let earliest = now.millis() - i64::from(self.late_upload_hours) * 3_600_000;
        Timestamp::from_millis(at.millis().clamp(earliest, now.millis()))
    }

    /// The decision for a settlement item that carries no trace code, judged at `at` (see
    /// [`Policy::judging_time`]).
    pub fn codeless_item(&self, at: Timestamp) -> Outcome {
        match self.no_scan_no_settlement_from {
            Some(from) if at.local_date(self.local_offset_minutes) >= from => {
                Outcome::Rejected(Reason::NoCode)
            }
            _ => Outcome::Accepted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_scan_no_settlement_starts_on_its_day_in_local_time() {
        let policy = Policy {
            no_scan_no_settlement_from: Date::from_ymd(2025, 7, 1),
            ..Policy::default()
        };
        let before = Timestamp::parse("2025-06-30T23:59:59+08:00", 480).unwrap();
        let on = Timestamp::parse("2025-06-30T16:00:00Z", 0).unwrap(); // 00:00 in Beijing
        assert_eq!(policy.codeless_item(before), Outcome::Accepted);
        assert_eq!(policy.codeless_item(on), Outcome::Rejected(Reason::NoCode));
        assert_eq!(Policy::default().codeless_item(on), Outcome::Accepted);
    }

    #[test]
    fn claimed_times_are_bounded_and_backdating_is_capped() {
        let p = Policy::default();
        let now = Timestamp::parse("2026-12-01 12:00:00", 480).unwrap();
        let t = |s| Timestamp::parse(s, 480).unwrap();
        assert!(Policy::check_claimed_time(t("2026-12-01 12:59:00"), now, 480).is_ok());
        assert!(Policy::check_claimed_time(t("2000-01-01 00:00:00"), now, 480).is_ok());
        let early = Policy::check_claimed_time(t("1900-01-01 00:00:00"), now, 480).unwrap_err();
        assert!(early.to_string().contains("before 2000-01-01"), "{early}");
        let ahead = Policy::check_claimed_time(t("9999-01-01 00:00:00"), now, 480).unwrap_err();
        assert!(
            ahead.to_string().contains("ahead of the server's clock"),
            "{ahead}"
        );
        // Within the window a time is judged as claimed; before it, at the window's edge.
        assert_eq!(
            p.judging_time(t("2026-11-29 12:00:00"), now),
            t("2026-11-29 12:00:00")
        );
        assert_eq!(
            p.judging_time(t("2025-01-01 00:00:00"), now),
            t("2026-11-28 12:00:00")
        );
        assert_eq!(p.judging_time(t("2026-12-01 12:30:00"), now), now);
    }
}
