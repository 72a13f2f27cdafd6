//! `drugtrace migrate --to <conninfo>`: the data directory's embedded store copied into
//! PostgreSQL, resumable, then verified; and its keys, clue book and notices copied into the
//! database's shared journals.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result, bail};
use drugtrace_ledger::{Ledger, RebuildMode, Store, copy_store};
use drugtrace_store_postgres::PostgresStore;
use indicatif::{ProgressBar, ProgressStyle};

use std::path::Path;
use std::sync::Arc;

use drugtrace_durable::SharedJournal;

use crate::data_dir::{
    CAPTURES_JOURNAL, CLUES_JOURNAL, DataDir, KEYS_JOURNAL, NOTICES_JOURNAL, RECALLS_JOURNAL,
};

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
        "copied {} packs ({} events), {} movements and {} voids of movements; {} packs were there already",
        report.packs, report.events, report.movements, report.movement_voids, report.already
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
    let target = Arc::new(target);
    let files = drugtrace_api::SupervisionPaths::in_data_dir(dir.root());
    for (file, name, ordered) in [
        (drugtrace_api::Keys::path(dir.root()), KEYS_JOURNAL, false),
        (files.clue_journal(), CLUES_JOURNAL, true),
        (files.notices, NOTICES_JOURNAL, true),
        (dir.recalls_path(), RECALLS_JOURNAL, true),
        (dir.captures_path(), CAPTURES_JOURNAL, true),
    ] {
        let (copied, there) = copy_journal(&file, &target.journal(name), ordered)?;
        if copied + there > 0 {
            writeln!(
                out,
                "{}: {copied} records copied into the shared journal {name}, {there} there already",
                file.display()
            )?;
        }
    }
    // The catalog and the directory of institutions become the database's, for every
    // server on it: each file as one import, unless the database has its own already.
    let reference = crate::data_dir::Reference::open(&target)?;
    for (file, imports, what) in [
        (dir.catalog_path(), reference.catalog.imports(), "catalog"),
        (
            dir.institutions_path(),
            reference.directory.imports(),
            "directory of institutions",
        ),
    ] {
        if !file.is_file() {
            continue;
        }
        if imports > 0 {
            writeln!(
                out,
                "{}: the database has a {what} of its own already ({imports} imports); kept",
                file.display()
            )?;
            continue;
        }
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.display().to_string();
        if what == "catalog" {
            let s = reference.catalog.import(&bytes, &name)?;
            writeln!(out, "{name}: {s}, into the database's catalog")?;
        } else {
            let n = reference.directory.import(&bytes, &name)?;
            writeln!(
                out,
                "{name}: {n} institutions into the database's directory"
            )?;
        }
    }
    // The settlement items likewise, unless the database has some of its own.
    if let drugtrace_analytics::Settlements::Shared(shared) = dir.settlements(Some(&target)) {
        let own = dir.settlements_path();
        match shared.adopt(&own)? {
            Some(0) => {}
            Some(n) => writeln!(
                out,
                "{}: {n} parts of settlement items into the database",
                own.display()
            )?,
            None if drugtrace_analytics::settlement_parts(&own)?.is_empty() => {}
            None => writeln!(
                out,
                "{}: the database has settlement items of its own already; kept",
                own.display()
            )?,
        }
    }
    let check = Ledger::new(
        Arc::clone(&target) as Arc<dyn Store>,
        opened.ledger.catalog(),
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

/// Copies the whole lines of journal `file` into `journal`: those it lacks, so that a second
/// run copies nothing. An `ordered` journal (the clue book, the notices: each record follows
/// from those before) must hold a prefix of the file, else it belongs to another
/// installation and nothing is copied; keys are independent, and any the journal lacks are
/// added. Returns the records copied and those already there.
fn copy_journal(file: &Path, journal: &dyn SharedJournal, ordered: bool) -> Result<(u64, u64)> {
    let Some(read) = drugtrace_durable::read_lines(file)? else {
        return Ok((0, 0));
    };
    let lines: Vec<&[u8]> = drugtrace_durable::lines(&read.contents)
        .map(|(_, l)| l)
        .collect();
    let there = journal.read_from(0)?;
    let missing: Vec<&[u8]> = if ordered {
        let common = there.len().min(lines.len());
        if there[..common]
            .iter()
            .zip(&lines[..common])
            .any(|(a, b)| a != b)
            || there.len() > lines.len()
        {
            bail!(
                "the database's journal differs from {}: it holds records this directory does not; \
                 was it migrated from another installation?",
                file.display()
            );
        }
        lines[common..].to_vec()
    } else {
        lines
            .iter()
            .copied()
            .filter(|l| !there.iter().any(|t| t.as_slice() == *l))
            .collect()
    };
    let mut at = there.len() as u64;
    for line in &missing {
        loop {
            match journal.append(at, line) {
                Ok(()) => break,
                // A server already writing to the database appended meanwhile.
                Err(drugtrace_durable::SharedError::Stale { .. }) if !ordered => at += 1,
                Err(e) => bail!("copying {} into the database: {e}", file.display()),
            }
        }
        at += 1;
    }
    Ok((missing.len() as u64, (lines.len() - missing.len()) as u64))
}
