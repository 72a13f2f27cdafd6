//! The regulator dashboard's pages, rendered on the server as complete HTML documents with
//! SVG charts, from plain data.
//!
//! This crate owns how supervision looks to provincial and national insurance-bureau
//! regulators: the overview ([`render_overview`]), clue verification ([`render_clue_list`],
//! [`render_clue_detail`]), an institution's drill-down ([`render_institution`]), a trace
//! code's evidence chain ([`render_pack`]), a clue's printable inspection dossier
//! ([`render_dossier`]), the analysis models ([`render_models`]), the SQL
//! console ([`render_sql`]) and the public notice of duplicated codes ([`render_notices`]).
//! Each function takes its page's data and a [`Ctx`] (language, mount point, current URL,
//! deployment title, registered models) and returns a whole document: one inline
//! stylesheet, nothing loaded from the network, so the pages work on a ministry intranet
//! and print cleanly. The one script, [`live_script`], keeps the overview's ticker of
//! blocked sales current from the server's event stream; without it the page is whole.
//!
//! Pages are in Chinese by default and in English with `lang=en`; every label comes from one
//! table ([`T`]) that declares both languages side by side. Everything that comes from data is
//! escaped ([`html`]). Charts are drawn here as SVG ([`charts`]) and usable on their own.
//!
//! The data types are plain owned structs of the figures, which whoever serves the pages
//! fills; the enums in them are the domain's own (the ledger's event kinds, outcomes and
//! reasons, the directory's institution kinds, the clue book's states and severities), with
//! labels that are this crate's. The crate knows nothing of storage, HTTP or the analytics.
//! Serialization (the `serde` feature) only derives `Serialize`, for serving the same data
//! as JSON.

pub mod charts;
mod ctx;
pub mod format;
pub mod html;
mod i18n;
mod layout;
mod pages;
#[cfg(any(test, feature = "sample"))]
pub mod sample;
mod types;

pub use ctx::{Ctx, ModelLabel, PALETTE, with_param};
pub use i18n::{Lang, T};
pub use layout::stylesheet;
pub use pages::clues::{
    AuditEntry, ClueBatch, ClueDetailPage, ClueFilter, ClueListPage, ClueRow, ClueUrls,
    render_clue_detail, render_clue_list,
};
pub use pages::dossier::{DossierPack, DossierPage, DossierSale, render_dossier};
pub use pages::institution::{
    InstitutionInfo, InstitutionPage, InstitutionStats, render_institution,
};
pub use pages::live::{Interception, LiveItem, TICKER_ROWS, Ticker, live_script};
pub use pages::models::{ModelInfo, ModelsPage, render_models};
pub use pages::notices::{
    Notice, NoticeInstitution, NoticesPage, PublishPanel, PublishedNotice, RecallEntry,
    render_notices,
};
pub use pages::overview::{
    BLOCKED_COLOR, InstitutionRank, Overview, RegionRow, SALES_COLOR, SCANS_COLOR, Totals,
    render_overview,
};
pub use pages::pack::{
    EventDetails, EvidenceEvent, PackPage, PackStatus, PackSummary, ProductInfo, render_pack,
};
pub use pages::sql::{SqlPage, SqlTable, render_sql};
pub use pages::standalone::{LoginPage, render_error, render_login};
pub use types::{
    ClueRef, ClueState, DayPoint, EventKind, FindingRow, InstitutionKind, ModelCount, Outcome,
    Period, Reason, ReasonName, Severity, StockChange,
};

/// The date and time types the page data uses, re-exported so callers name the same version.
pub use jiff;
