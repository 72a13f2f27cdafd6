//! Keeping the warehouse current without exporting it whole: an *update* re-reads only the
//! packs the ledger changed since the last export and writes their whole logs beside it, as
//! `delta.parquet`.
//!
//! Every record marks its pack as changed in the minute the ledger recorded it
//! ([`drugtrace_ledger::Lookup::Changed`], kept in the same commit as the record). An export
//! notes the minute it began (`coverage.json`, swapped in with the rest); an update reads the
//! marks from a few minutes before that up to a few minutes past its own clock (a commit in
//! flight when the export began, a server whose clock runs ahead), reads each marked pack's
//! whole log and replaces `delta.parquet` with them. The engine's `events` table is then the
//! export's events of the packs the delta does not hold, and the delta's: every pack as its
//! log reads now.
//!
//! The delta grows until the next export takes it in; an update that would re-read more
//! than its cap of packs, or reach further back than [`MAX_MINUTES`], declines, and its
//! caller exports whole ([`refresh`]).

use std::path::Path;
use std::time::{Duration, Instant};

use datafusion::parquet::arrow::ArrowWriter;
use drugtrace_catalog::{Catalog, Directory};
use drugtrace_ledger::{Store, Timestamp, changed_packs, minute_of};
use serde::{Deserialize, Serialize};

use crate::AnalyticsError;
use crate::export::{
    ExportOptions, ExportSummary, Warehouse, export, io_at, read_json, recover_swap,
    replace_parquet, side_tables, write_json_atomically, writer_properties,
};
use crate::schema::{EventRows, events_schema};

/// Minutes before the export began, and past the update's clock, whose change marks an
/// update reads too: a commit is stamped before it lands, and servers' clocks differ.
pub const MARGIN_MINUTES: i64 = 5;

/// How far back an update reads the ledger's marks at most (a week); past that it declines
/// and the warehouse is exported whole.
pub const MAX_MINUTES: i64 = 7 * 24 * 60;

// Every mark an update reads is still kept: the ledger forgets older ones only.
const _: () = assert!(MAX_MINUTES + 2 * MARGIN_MINUTES < drugtrace_ledger::CHANGES_KEPT_MINUTES);

/// The packs an update re-reads at most by default; past that it declines.
pub const DEFAULT_DELTA_CAP: usize = 1_000_000;

/// The packs whose logs an update reads at once ([`drugtrace_ledger::Store::histories`]).
const READ_PACKS: usize = 1_000;

/// When the warehouse's export began, by the ledger's clock: `coverage.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Coverage {
    /// Minutes since the Unix epoch.
    began_minute: i64,
    /// Which export this is: findings computed on another are not kept by a run over the
    /// changed packs.
    pub(crate) export: u64,
}

impl Coverage {
    pub(crate) fn began(at: Timestamp) -> Coverage {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Coverage {
            began_minute: minute_of(at),
            export: nanos ^ (u64::from(std::process::id()) << 40),
        }
    }

    /// Writes it at `path` durably; returns its size.
    pub(crate) fn write(&self, path: &Path) -> Result<u64, AnalyticsError> {
        write_json_atomically(path, self, "the coverage")
    }

    /// The coverage at `path`, `None` if there is none or it does not read (a warehouse an
    /// older drugtrace exported: the next export writes one).
    pub(crate) fn read(path: &Path) -> Option<Coverage> {
        read_json(path)
    }
}

/// What an update wrote.
#[derive(Debug, Clone)]
pub struct UpdateSummary {
    /// Packs re-read: every pack changed since the export.
    pub packs: u64,
    /// Their events, now in `delta.parquet`.
    pub events: u64,
    /// Minutes of change marks read.
    pub minutes: i64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Why an update declined, so that its caller exports whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declined {
    /// There is no warehouse yet, or its export left no coverage (an older drugtrace).
    NoBase,
    /// The export began longer ago than [`MAX_MINUTES`].
    TooOld {
        /// Minutes since.
        minutes: i64,
    },
    /// More packs changed since the export than the cap.
    TooMany {
        /// The cap.
        cap: usize,
    },
}

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Declined::NoBase => write!(f, "there is no export to update"),
            Declined::TooOld { minutes } => write!(
                f,
                "the export began {minutes} minutes ago, more than {MAX_MINUTES}"
            ),
            Declined::TooMany { cap } => {
                write!(f, "more than {cap} packs changed since the export")
            }
        }
    }
}

/// Re-reads the packs `store` changed since `warehouse` was exported and replaces its
/// `delta.parquet` with their logs, and its other tables with the `catalog`'s, the
/// `directory`'s and the store's movements. Declines (see [`Declined`]) rather than read
/// more than `cap` packs.
pub fn update<S: Store + ?Sized>(
    store: &S,
    catalog: &Catalog,
    directory: &Directory,
    warehouse: &Warehouse,
    opts: &ExportOptions,
    cap: usize,
) -> Result<Result<UpdateSummary, Declined>, AnalyticsError> {
    let started = Instant::now();
    let root = warehouse.root();
    if !root.exists() {
        return Ok(Err(Declined::NoBase));
    }
    // Not while an export swaps the warehouse, nor beside another update.
    let _turn = drugtrace_durable::take_turn(root).map_err(io_at(root))?;
    recover_swap(root)?;
    let Some(coverage) = Coverage::read(&warehouse.coverage_path()).filter(|_| warehouse.exists())
    else {
        return Ok(Err(Declined::NoBase));
    };
    let from = coverage.began_minute - MARGIN_MINUTES;
    let to = minute_of((opts.now)()) + MARGIN_MINUTES;
    let minutes = to - from + 1;
    if minutes > MAX_MINUTES {
        return Ok(Err(Declined::TooOld {
            minutes: minutes - 2 * MARGIN_MINUTES,
        }));
    }
    let Some(packs) = changed_packs(store, from..=to, cap)? else {
        return Ok(Err(Declined::TooMany { cap }));
    };
    let packs: Vec<_> = packs.into_iter().collect();

    let props = writer_properties(opts);
    let delta = warehouse.delta_path();
    let batch_rows = opts.batch_rows.max(1);
    let events = drugtrace_durable::replace(&delta, |file| {
        let mut writer = ArrowWriter::try_new(file, events_schema(), Some(props.clone()))?;
        let mut rows = EventRows::new(opts.offset_minutes);
        let mut events = 0u64;
        // A thousand packs' logs a read: on PostgreSQL one round trip, not one a pack.
        for chunk in packs.chunks(READ_PACKS) {
            for (key, log) in chunk.iter().zip(store.histories(chunk)?) {
                let product = catalog
                    .by_product_key(key.product_key())
                    .map(|p| p.insurance_code().as_str());
                rows.push_log(&key.to_string(), product, &log);
                events += log.len() as u64;
                if rows.len() >= batch_rows {
                    writer.write(&rows.finish()?)?;
                }
            }
        }
        if !rows.is_empty() {
            writer.write(&rows.finish()?)?;
        }
        writer.close()?;
        Ok::<_, AnalyticsError>(events)
    })
    .map_err(|e| e.into_inner(|path, source| AnalyticsError::Io { path, source }))?;

    let [institutions, products, movements] = side_tables(store, catalog, directory, opts)?;
    for (path, batch) in [
        (warehouse.institutions_path(), institutions),
        (warehouse.products_path(), products),
        (warehouse.movements_path(), movements),
    ] {
        replace_parquet(&path, batch.schema(), &[batch], &props)?;
    }
    Ok(Ok(UpdateSummary {
        packs: packs.len() as u64,
        events,
        minutes,
        elapsed: started.elapsed(),
    }))
}

/// What [`refresh`] did.
#[derive(Debug, Clone)]
pub enum Refreshed {
    /// Updated the delta.
    Updated(UpdateSummary),
    /// Exported whole, and why an update declined.
    Exported(ExportSummary, Declined),
}

/// Brings `warehouse` up to date with `store`: an [`update`] where it can, else an
/// [`export`] of everything.
pub fn refresh<S: Store + ?Sized>(
    store: &S,
    catalog: &Catalog,
    directory: &Directory,
    warehouse: &Warehouse,
    opts: &ExportOptions,
    cap: usize,
) -> Result<Refreshed, AnalyticsError> {
    match update(store, catalog, directory, warehouse, opts, cap)? {
        Ok(summary) => Ok(Refreshed::Updated(summary)),
        Err(declined) => Ok(Refreshed::Exported(
            export(store, catalog, directory, warehouse, opts, &mut |_| {})?,
            declined,
        )),
    }
}
