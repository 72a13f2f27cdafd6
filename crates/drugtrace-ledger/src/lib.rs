//! The pack ledger: the append-only log of every pack's chain events, the per-pack state
//! derived from it, and the sale gate that decides and records a sale atomically.
//!
//! A manufacturer commissions a pack, logistics ship and receive it, a hospital or pharmacy
//! takes it in and sells it, perhaps in parts, perhaps takes it back. Each report is an
//! [`Event`]; the [`Ledger`] judges it against the pack's [`PackState`] ([`gate::judge`]: a
//! pure function), records it with its [`Outcome`] (rejected attempts too, as evidence), and
//! commits through a [`Store`] whose only writes are per-pack conditional appends. A pack
//! sold once is never paid for again: of two sales racing on one pack, exactly one wins.
//!
//! The crate knows nothing of files, HTTP or serialization formats; backends encode what
//! they store themselves. The insured person's identity enters only as a [`PersonHash`].

mod authority;
mod copy;
mod event;
pub mod gate;
mod ids;
mod ledger;
mod lookup;
mod mem;
mod movement;
mod policy;
mod recall;
mod state;
mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
mod time;

pub use authority::Authority;
pub use copy::{CopyError, CopyReport, copy_store};
pub use event::{
    CodeExtra, Event, EventKind, Intake, Lot, Outcome, Reason, Recorded, Sale, SaleKey, SaleReturn,
    StockChange, Void,
};
pub use ids::{
    Batch, IdError, InstitutionId, PersonHash, PersonKey, SettlementId, UploadId, VisitId,
};
pub use ledger::{
    CaseItem, Decision, Judged, Ledger, LedgerError, RebuildMode, RebuildReport, Submission,
};
pub use lookup::{
    CHANGES_KEPT_MINUTES, ChangeMark, ChangeSweeper, Lookup, RESCAN_MINUTES, STRIPES, Swept,
    changed_packs, first_kept_minute, minute_of,
};
pub use mem::MemStore;
pub use movement::{Movement, MovementId, MovementKind, MovementVoid};
pub use policy::{Policy, TimeRangeError, UnknownCodePolicy};
pub use recall::{Covered, Recall, RecalledProduct, Recalls};
pub use state::{BlockedSale, CaseLink, Issue, PackState, SaleRecord, voided};
pub use store::{CommitError, LogRuns, LogVisitor, PackWrite, Store, StoreError};
pub use time::{Date, TimeError, Timestamp};
