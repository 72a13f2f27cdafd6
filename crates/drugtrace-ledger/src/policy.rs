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
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unknown_code: UnknownCodePolicy::Allow,
            no_scan_no_settlement_from: None,
            local_offset_minutes: 480,
        }
    }
}

impl Policy {
    /// The decision for a settlement item that carries no trace code, sold at `at`.
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
}
