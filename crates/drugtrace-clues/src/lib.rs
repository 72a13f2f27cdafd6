//! Clue lists (线索清单) and their verification workflow.
//!
//! A regulator ranks the institutions where anomaly findings concentrate ([`rank`]), sends
//! the regional bureaus a batch of clues with a deadline ([`ClueBook::issue`]), and tracks
//! what each bureau found: every clue moves `issued → under_verification → confirmed |
//! dismissed`, closing with a result note ([`ClueBook::transition`]). NHSA's first notice
//! was such a batch: 46 institutions in 11 provinces, results due in 18 days.
//!
//! The [`ClueBook`] is an append-only JSON Lines journal (`clues.jsonl`) whose fold is the
//! state; every change is an [`AuditEntry`] kept forever. A write returns only once the
//! journal is synced. Overdue is computed against the `today` the caller passes, never
//! stored.
//!
//! *Architecture invariant:* the crate knows nothing of the ledger, of trace-code parsing,
//! of HTTP or of the analytics engine that produces findings: findings arrive as plain
//! [`FindingRow`]s. Serialization is confined to the journal (private record types) and the
//! CSV export; the public types derive no `Deserialize`.

mod book;
mod clue;
mod csv_export;
mod fold;
mod notice;
mod rank;

pub use book::{
    Clock, ClueBook, ClueDetail, ClueQuery, IssueError, Issued, OpenReport, UpdateError,
};
pub use clue::{
    AuditEntry, Batch, BatchId, BatchSummary, Change, Clue, ClueId, ClueResult, ClueState,
    ClueTarget, IdError, IssueRequest, StateCounts, bureau_for,
};
pub use csv_export::{CLUE_COLUMNS, UTF8_BOM, write_csv};
pub use drugtrace_durable::{OpenError, StorageError, TornTail};
pub use notice::{Notice, NoticeBoard, NoticeEntry, NoticeError};
pub use rank::{
    Filter, FindingRow, Institution, RankedInstitution, Severity, SeverityCounts, rank,
};

/// A calendar date (a deadline, the `today` that overdue is judged against), re-exported
/// so callers need no direct dependency on `jiff`.
pub use jiff::civil::Date;
