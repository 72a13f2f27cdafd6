//! Supervision analytics for drugtrace: the ledger's events kept as Parquet (the
//! *warehouse*), anomaly models written as SQL and run on Apache DataFusion, the findings
//! they produce, and their evaluation against a synthetic province's ground truth.
//!
//! ```text
//! Store ──export──▶ warehouse/events/*.parquet, institutions.parquet, products.parquet
//!       ──update──▶ warehouse/delta.parquet (the packs changed since the export)
//! settlement CSV ──import_settlements──▶ settlements/part-*.parquet
//!                        │
//!                        ▼  DataFusion (the same SQL runs in DuckDB, or later Ballista)
//!        models/*.sql ──run_all──▶ warehouse/findings.parquet ──▶ reports, clue lists, dashboard
//! ```
//!
//! Each model is a named, versioned SQL file (see [`model`]) whose rows are findings: the
//! pack, the institution, the evidence (the events of the pack it rests on), the severity
//! and the fund amount at risk. Regulators can also run their own read-only queries with a
//! row and time limit ([`Analytics::query`]).

mod delta;
mod engine;
mod evaluate;
mod export;
pub mod model;
mod reports;
pub mod schema;
mod settlements;
mod table;
pub mod worker;

pub use delta::{
    DEFAULT_DELTA_CAP, Declined, MARGIN_MINUTES, MAX_MINUTES, Refreshed, UpdateSummary, refresh,
    update,
};
pub use drugtrace_clues::Severity;
pub use drugtrace_ingest::SETTLEMENT_COLUMNS;
pub use engine::{Analytics, ModelRun, QueryLimits, QueryResult, RunSummary, memory_limit};
pub use evaluate::{Evaluation, TruthCase, TruthError, evaluate, read_truth};
pub use export::{
    ExportOptions, ExportSummary, Warehouse, export, recover_swap, write_parquet_atomically,
};
pub use model::{Level, Model, Reads, model, models};
pub use reports::{Kind as ColumnKind, REPORTS, Report, notice_entries, report};
pub use settlements::{
    SettlementError, SettlementImport, Settlements, SharedSettlements, import_settlements,
    settlement_parts,
};
pub use table::{Record, Table, Value};

use std::path::PathBuf;
use std::time::Duration;

/// Why an analytics step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyticsError {
    /// No export has been made into the warehouse directory yet.
    #[error(
        "there is no warehouse at {0} yet: run `drugtrace analytics export` (or `analytics run`) first"
    )]
    NoWarehouse(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Reading the ledger failed.
    #[error(transparent)]
    Store(#[from] drugtrace_ledger::StoreError),
    /// A report reads the findings, and no model has run yet.
    #[error("no findings yet: run the models first (`drugtrace analytics run`)")]
    NoFindings,
    /// A model's query failed.
    #[error("model {model} failed: {source}")]
    Model {
        /// The model.
        model: String,
        /// What failed.
        source: Box<datafusion::error::DataFusionError>,
    },
    /// A model's query returned other columns than a model must.
    #[error("model {model} returns columns {found:?}, not the ones a model must return ({expected:?})", expected = schema::MODEL_COLUMNS)]
    ModelColumns {
        /// The model.
        model: String,
        /// The columns it returned.
        found: Vec<String>,
    },
    /// A model's query wrote a finding whose severity is not `high`, `medium` or `low` (or
    /// none): a model's rating must be one the ranking can weigh, never silently the lowest.
    #[error("model {model} wrote a finding of severity {}, not high, medium or low", shown(.value))]
    ModelSeverity {
        /// The model.
        model: String,
        /// What it wrote (`None` for a null).
        value: Option<String>,
    },
    /// A model's `evidence` column is not a list of seqs (nor `NULL`): text such as `'3,5'`
    /// would reach the findings as one unreadable element or as nothing.
    #[error(
        "model {model} gave its evidence as {found}, not a list of event seqs (make_array, array_agg)"
    )]
    ModelEvidence {
        /// The model.
        model: String,
        /// The type it gave.
        found: String,
    },
    /// A report's query gave no column `column` of the kind the pages read (a column renamed
    /// or retyped in its SQL): the report fails instead of showing zeros.
    #[error(
        "report {report}: column {column} should be {expected:?}, found {}",
        .found.map_or_else(|| "no such column".to_owned(), |k| format!("{k:?}"))
    )]
    ReportSchema {
        /// The report.
        report: &'static str,
        /// The column.
        column: &'static str,
        /// The kind its readers expect.
        expected: reports::Kind,
        /// The kind it had, if it was there at all.
        found: Option<reports::Kind>,
    },
    /// The warehouse's `findings.parquet` lacks a column of the findings table, or has it
    /// of another kind (a file not written by a model run of this version).
    #[error(
        "findings.parquet: column {column} should be {expected:?}, found {}; run the models again \
         (`drugtrace analytics run`)",
        .found.map_or_else(|| "no such column".to_owned(), |k| format!("{k:?}"))
    )]
    FindingsSchema {
        /// The column.
        column: String,
        /// The kind the findings table has.
        expected: reports::Kind,
        /// The kind the file had, if it was there at all.
        found: Option<reports::Kind>,
    },
    /// A query failed (a syntax error, an unknown column, a statement that is not allowed…).
    #[error("{0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// A query ran past its time limit and was cancelled.
    #[error("the query ran longer than {0:?} and was cancelled")]
    Timeout(Duration),
    /// Encoding Arrow data failed.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Writing Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// `DRUGTRACE_ANALYTICS_MEMORY_MB` is not a positive whole number.
    #[error("DRUGTRACE_ANALYTICS_MEMORY_MB must be a positive number of megabytes, not {0:?}")]
    MemoryLimit(String),
    /// A bug or an impossible state.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A value a model wrote, as an error shows it: quoted, or `NULL`.
fn shown(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "NULL".to_owned(), |v| format!("{v:?}"))
}
