//! `drugtrace migrate --to <conninfo>`: the data directory's embedded store copied into
//! PostgreSQL, resumable, then verified.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result, bail};
use drugtrace_ledger::{Ledger, RebuildMode, Store, copy_store};
use drugtrace_store_postgres::PostgresStore;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data_dir::DataDir;

/// Copies the embedded store of `dir` into the database `to` and verifies the copy: the same
/// packs and events, and every state the fold of its log (`rebuild --check` on the target).
pub fn migrate(dir: &DataDir, to: &str, out: &mut dyn Write) -> Result<()> {
    let opened = dir.open_embedded()?;
    let target = PostgresStore::connect(to).context("opening the PostgreSQL store")?;
    dir.share_secrets(&target)?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .expect("a valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let source: &dyn Store = opened.ledger.store();
    let report = copy_store(source, &target, &mut |packs, events| {
        bar.set_message(format!("{packs} packs, {events} events copied"));
        bar.tick();
    })
    .context("copying the store")?;
    bar.finish_and_clear();
    writeln!(
        out,
        "copied {} packs ({} events) and {} movements; {} packs were there already",
        report.packs, report.events, report.movements, report.already
    )?;
    // Verify: the same counts on both sides, and the target's states equal their logs.
    let count = |s: &dyn Store| -> Result<(u64, u64)> {
        let (mut packs, mut events) = (0u64, 0u64);
        s.scan_logs(&mut |_, log| {
            packs += 1;
            events += log.len() as u64;
            Ok(())
        })?;
        Ok((packs, events))
    };
    let (sp, se) = count(source)?;
    let (tp, te) = count(&target)?;
    if (sp, se) != (tp, te) {
        bail!(
            "the copy differs: the source has {sp} packs and {se} events, the target {tp} and {te}"
        );
    }
    let check = Ledger::new(
        target,
        opened.ledger.catalog().clone(),
        opened.ledger.policy().clone(),
    )
    .rebuild(RebuildMode::Check)?;
    if check.mismatched_count > 0 {
        bail!(
            "{} packs of the target have states that differ from their logs",
            check.mismatched_count
        );
    }
    writeln!(
        out,
        "verified: {tp} packs and {te} events on both sides; every state in the database is its log's fold"
    )?;
    writeln!(
        out,
        "to run on the database, add database = \"{to}\" to {} or pass --database",
        dir.config_path().display()
    )?;
    Ok(())
}
