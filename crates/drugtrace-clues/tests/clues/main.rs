//! The clue book's integration tests: the ranking table, the workflow against a model,
//! the journal's crash and corruption handling, and the CSV export.

mod export;
mod journal;
mod rank;
mod shared;
mod workflow;

use drugtrace_clues::{Clock, ClueTarget, Date, Filter, IssueRequest};

/// A clock that ticks one millisecond per reading, from `start`.
pub fn ticking(start: i64) -> Clock {
    let n = std::sync::atomic::AtomicI64::new(start);
    Box::new(move || n.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// The deadline of NHSA's first notice.
pub fn deadline() -> Date {
    Date::constant(2025, 11, 20)
}

/// A batch about `institutions`, all in one city.
pub fn request(institutions: &[&str]) -> IssueRequest {
    IssueRequest {
        title: "复方阿胶浆 追溯码重复结算 3 次以上".into(),
        issued_by: "国家医保局".into(),
        deadline: deadline(),
        filter: Filter {
            product: Some("ZA01AAN0001020103906".into()),
            ..Filter::default()
        },
        institutions: institutions
            .iter()
            .map(|i| ClueTarget::explicit(i, "某某大药房", "河北省", "张家口市"))
            .collect(),
    }
}
