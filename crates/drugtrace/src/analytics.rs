//! `drugtrace analytics`: export the warehouse, run the models, evaluate them against a
//! synthetic province's truth, and run read-only SQL.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use drugtrace_analytics::{
    Analytics, ExportOptions, QueryLimits, Warehouse, evaluate, export, models, read_truth,
};
use drugtrace_catalog::Directory;

use crate::data_dir::{DataDir, Opened};
use drugtrace_store_postgres::PostgresStore;

/// What `drugtrace analytics` does.
#[derive(Subcommand)]
pub enum Command {
    /// Write the ledger's events, the institutions and the catalog as Parquet
    /// (DATA/warehouse), replacing the last export once the new one is complete.
    Export,
    /// Bring the warehouse up to date by re-reading only the packs the ledger changed since
    /// the last export (DATA/warehouse/delta.parquet); export whole where that is better
    /// (no export yet, a week since, more than --cap packs changed).
    Update {
        /// Packs re-read at most before exporting whole instead.
        #[arg(long, default_value_t = drugtrace_analytics::DEFAULT_DELTA_CAP)]
        cap: usize,
    },
    /// Export (unless --no-export or --update), run every model and keep their findings
    /// (DATA/warehouse/findings.parquet).
    Run {
        /// Run on the last export as it is.
        #[arg(long, conflicts_with = "update")]
        no_export: bool,
        /// Update the warehouse (see `analytics update`) instead of exporting it whole.
        #[arg(long)]
        update: bool,
    },
    /// List the models: name, version, severity and title.
    Models,
    /// Each model's precision and recall against a synthetic province's truth.jsonl.
    Evaluate {
        /// The truth file `drugtrace synth` wrote.
        truth: PathBuf,
    },
    /// Run a read-only SQL query over events, institutions, products, settlements and
    /// findings.
    Sql {
        /// The query.
        query: String,
        /// Rows shown at most.
        #[arg(long, default_value_t = 100)]
        max_rows: usize,
        /// Seconds before the query is cancelled.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Run one query sent as JSON on standard input, answering JSON on standard output:
    /// `serve` runs regulators' own queries so, in processes of their own.
    #[command(hide = true)]
    SqlWorker,
    /// Time every model on the last export (best of --repeat runs), writing nothing.
    Bench {
        /// Runs per model.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// One JSON object per model instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// The warehouse of a data directory, with its imported settlement items: on `database`,
/// the database's, brought up to date first.
pub fn warehouse(dir: &DataDir, database: Option<&Arc<PostgresStore>>) -> Result<Warehouse> {
    let settlements = dir.settlements(database);
    settlements
        .sync()
        .context("copying the database's settlement items")?;
    Ok(Warehouse::new(dir.root().join("warehouse")).with_settlements(settlements.dir()))
}

/// [`warehouse`], on the database the directory names, if any.
fn warehouse_of(dir: &DataDir) -> Result<Warehouse> {
    warehouse(dir, dir.open_database()?.as_ref())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// What an export or an update of the data directory's warehouse reads besides the store:
/// the institutions (the database's where there is one), the warehouse and the options.
fn export_inputs(
    dir: &DataDir,
    opened: &Opened,
) -> Result<(Arc<Directory>, Warehouse, ExportOptions)> {
    let directory = match &opened.reference {
        Some(r) => r.directory.current(),
        None => Arc::new(dir.directory()?),
    };
    let w = warehouse(dir, opened.database.as_ref())?;
    let opts = ExportOptions {
        offset_minutes: opened.config.local_offset_minutes,
        ..ExportOptions::default()
    };
    Ok((directory, w, opts))
}

/// Exports the data directory's ledger (opened as `opened`) into its warehouse.
pub fn export_warehouse(dir: &DataDir, opened: &Opened, out: &mut dyn Write) -> Result<()> {
    let (directory, w, opts) = export_inputs(dir, opened)?;
    let s = export(
        opened.ledger.store(),
        &opened.ledger.catalog(),
        &directory,
        &w,
        &opts,
        &mut |_| {},
    )
    .with_context(|| format!("exporting to {}", w.root().display()))?;
    writeln!(
        out,
        "exported {} events of {} packs in {:.1} s ({:.0} events/s, {} files, {:.0} MB) to {}",
        s.events,
        s.packs,
        s.elapsed.as_secs_f64(),
        s.events as f64 / s.elapsed.as_secs_f64().max(1e-9),
        s.event_files,
        s.bytes as f64 / 1e6,
        w.root().display()
    )?;
    Ok(())
}

/// Updates the data directory's warehouse (see [`drugtrace_analytics::refresh`]).
pub fn update_warehouse(
    dir: &DataDir,
    opened: &Opened,
    cap: usize,
    out: &mut dyn Write,
) -> Result<()> {
    let (directory, w, opts) = export_inputs(dir, opened)?;
    let done = drugtrace_analytics::refresh(
        opened.ledger.store(),
        &opened.ledger.catalog(),
        &directory,
        &w,
        &opts,
        cap,
    )
    .with_context(|| format!("updating {}", w.root().display()))?;
    match done {
        drugtrace_analytics::Refreshed::Updated(s) => writeln!(
            out,
            "updated: {} packs changed since the export ({} events, {} minutes of changes read) in {:.1} s, in {}",
            s.packs,
            s.events,
            s.minutes,
            s.elapsed.as_secs_f64(),
            w.delta_path().display()
        )?,
        drugtrace_analytics::Refreshed::Exported(s, why) => writeln!(
            out,
            "exported whole ({why}): {} events of {} packs in {:.1} s to {}",
            s.events,
            s.packs,
            s.elapsed.as_secs_f64(),
            w.root().display()
        )?,
    }
    Ok(())
}

/// Runs every model over the data directory's warehouse and keeps the findings; after an
/// update, `changed_only` runs the models that read one pack at a time over the changed
/// packs only.
pub fn run_models(dir: &DataDir, changed_only: bool, out: &mut dyn Write) -> Result<()> {
    let w = warehouse_of(dir)?;
    runtime()?.block_on(async {
        let analytics = Analytics::open(&w).await?;
        let mut lines = Vec::new();
        let mut progress = |r: &drugtrace_analytics::ModelRun| {
            lines.push(format!(
                "  {:<22} v{} {:>8} findings {:>8.1} ms",
                r.model,
                r.version,
                r.findings,
                r.elapsed.as_secs_f64() * 1e3
            ));
        };
        let summary = if changed_only {
            analytics.run_changed(&mut progress).await?
        } else {
            analytics.run_all(&mut progress).await?
        };
        for l in lines {
            writeln!(out, "{l}")?;
        }
        writeln!(
            out,
            "{} models, {} findings in {:.2} s{}, kept in {}",
            summary.models.len(),
            summary.findings(),
            summary.elapsed.as_secs_f64(),
            if summary.changed_only {
                " (the per-pack models over the changed packs)"
            } else {
                ""
            },
            w.findings_path().display()
        )?;
        Ok(())
    })
}

/// Runs `drugtrace analytics COMMAND`.
pub fn run(dir: &DataDir, command: Command, out: &mut dyn Write) -> Result<()> {
    match command {
        Command::Export => export_warehouse(dir, &dir.open()?, out),
        Command::SqlWorker => Ok(drugtrace_analytics::worker::serve(
            std::io::stdin().lock(),
            out,
        )?),
        Command::Update { cap } => update_warehouse(dir, &dir.open()?, cap, out),
        Command::Run { no_export, update } => {
            if update {
                update_warehouse(
                    dir,
                    &dir.open()?,
                    drugtrace_analytics::DEFAULT_DELTA_CAP,
                    out,
                )?;
            } else if !no_export {
                export_warehouse(dir, &dir.open()?, out)?;
            }
            run_models(dir, update, out)
        }
        Command::Models => {
            for m in models() {
                writeln!(
                    out,
                    "{:<22} v{} {:<6} {} / {}",
                    m.name, m.version, m.severity, m.title_zh, m.title_en
                )?;
            }
            Ok(())
        }
        Command::Evaluate { truth } => {
            let cases = read_truth(&truth)?;
            let w = warehouse_of(dir)?;
            runtime()?.block_on(async {
                let analytics = Analytics::open(&w).await?;
                if !w.findings_path().is_file() {
                    bail!("no findings yet: run `drugtrace analytics run` first");
                }
                let rows = evaluate(&analytics, &cases).await?;
                writeln!(
                    out,
                    "| model | planted kinds | flagged codes | planted codes | found | precision | recall |"
                )?;
                writeln!(out, "|---|---|---:|---:|---:|---:|---:|")?;
                let f = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.3}"));
                for e in rows {
                    let per_institution = drugtrace_analytics::model(&e.model)
                        .is_some_and(|m| m.level == drugtrace_analytics::Level::Institution);
                    writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} | {} |",
                        e.model,
                        if per_institution {
                            "(findings per institution, not scored)".to_string()
                        } else if e.truth_kinds.is_empty() {
                            "(none planted)".to_string()
                        } else {
                            e.truth_kinds.join(", ")
                        },
                        if per_institution {
                            "–".to_string()
                        } else {
                            e.flagged.to_string()
                        },
                        e.planted,
                        e.true_positives,
                        f(e.precision),
                        f(e.recall)
                    )?;
                }
                Ok(())
            })
        }
        Command::Sql {
            query,
            max_rows,
            timeout,
        } => {
            let w = warehouse_of(dir)?;
            runtime()?.block_on(async {
                let analytics = Analytics::open(&w).await?;
                let r = analytics
                    .query(
                        &query,
                        QueryLimits {
                            max_rows,
                            timeout: Duration::from_secs(timeout),
                        },
                    )
                    .await?;
                let mut csv = csv::Writer::from_writer(&mut *out);
                csv.write_record(&r.columns)?;
                for row in &r.rows {
                    csv.write_record(row.iter().map(|c| c.as_deref().unwrap_or("")))?;
                }
                csv.flush()?;
                drop(csv);
                eprintln!(
                    "{} row(s){} in {:.1} ms",
                    r.rows.len(),
                    if r.truncated {
                        format!(", cut off at --max-rows {max_rows}")
                    } else {
                        String::new()
                    },
                    r.elapsed.as_secs_f64() * 1e3
                );
                Ok(())
            })
        }
        Command::Bench { repeat, json } => {
            let w = warehouse_of(dir)?;
            runtime()?.block_on(async {
                let analytics = Analytics::open(&w).await?;
                let mut total = 0.0;
                for m in models() {
                    let mut best = f64::INFINITY;
                    let mut rows = 0;
                    for _ in 0..repeat.max(1) {
                        let t = Instant::now();
                        let batches = analytics.run_model(m).await?;
                        best = best.min(t.elapsed().as_secs_f64());
                        rows = batches.iter().map(|b| b.num_rows()).sum::<usize>();
                    }
                    total += best;
                    if json {
                        writeln!(
                            out,
                            "{}",
                            serde_json::json!({"model": m.name, "seconds": best, "rows": rows})
                        )?;
                    } else {
                        writeln!(
                            out,
                            "{:<22} {:>9.1} ms {:>8} rows",
                            m.name,
                            best * 1e3,
                            rows
                        )?;
                    }
                }
                if !json {
                    writeln!(out, "all models: {:.1} ms", total * 1e3)?;
                }
                Ok(())
            })
        }
    }
}
