//! `drugtrace demo`: a small province in a fresh directory, every gate case shown once.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use drugtrace_code::TraceCode;
use drugtrace_ingest::ParseContext;
use drugtrace_ledger::{Event, EventKind, InstitutionId, Lot, Sale, SettlementId, Timestamp};

use crate::data_dir::{Config, DataDir};
use crate::{import, show};

const CATALOG: &str = include_str!("../../../examples/catalog.csv");
const EVENTS: &str = include_str!("../../../examples/events.jsonl");

/// Packs whose stories the demo prints, with what each shows.
const STORIES: &[(&str, &str)] = &[
    (
        "81000010000000000001",
        "the whole chain, one sale, a re-sent sale skipped",
    ),
    (
        "81000020000000000002",
        "a resold pack: the second sale, in another province, blocked",
    ),
    (
        "81000030000000000003",
        "split sales (拆零) until the pack's 12 units are used up",
    ),
    (
        "(01)05415062325872(21)SER0001",
        "a GS1 DataMatrix pack, scanned as a Digital Link, then sold again",
    ),
];

/// Runs the demonstration in `dir` (or a new directory under the system's temporary one).
pub fn run(dir: Option<PathBuf>, out: &mut impl Write) -> Result<()> {
    let root = dir.unwrap_or_else(|| {
        let stamp = Timestamp::now().millis();
        std::env::temp_dir().join(format!("drugtrace-demo-{}-{stamp}", std::process::id()))
    });
    let data = DataDir::new(&root);
    data.init(&Config::default())?;
    writeln!(out, "== data directory: {}", root.display())?;

    let mut catalog = data.catalog()?;
    let summary = catalog
        .import_csv(CATALOG.as_bytes(), "examples/catalog.csv")
        .context("importing the demo catalog")?;
    catalog.save_csv_file(&data.catalog_path())?;
    writeln!(out, "== catalog: {summary}")?;

    let events = root.join("demo-events.jsonl");
    std::fs::write(&events, EVENTS).context("writing the demo events")?;
    let opened = data.open()?;
    let offset = opened.config.local_offset_minutes;
    let ctx = ParseContext {
        person_key: opened.person_key.clone(),
        local_offset_minutes: offset,
    };
    writeln!(out, "== import {}", events.display())?;
    let s = import::run(
        &opened.ledger,
        ctx,
        &import::Options {
            input: events,
            format: None,
            rejects: None,
            batch: 20_000,
            progress: import::Progress::None,
        },
    )?;
    import::print_summary(&s, out)?;

    for (code, story) in STORIES {
        writeln!(out, "\n== {story}")?;
        let code = TraceCode::parse(code).context("a demo code")?;
        show::pack(out, &opened.ledger, &code, offset)?;
    }

    writeln!(
        out,
        "\n== the gate, asked now to pay for the first pack again"
    )?;
    let code = TraceCode::parse(STORIES[0].0).context("a demo code")?;
    let d = opened.ledger.record(Event {
        pack: code.pack_key(),
        at: Timestamp::now(),
        actor: InstitutionId::parse("P44030500321")?,
        lot: Lot::default(),
        kind: EventKind::Sale(Sale {
            settlement: SettlementId::parse("SETL-DEMO-RESALE")?,
            person: Some(opened.person_key.hash("440305198808088888")),
            units: None,
            pack_units: None,
            product: None,
            amount_fen: 1850,
            fund_paid: true,
        }),
    })?;
    show::decision(out, &d, offset)?;
    writeln!(
        out,
        "\nTry: drugtrace --data {} lookup 81000020000000000002",
        root.display()
    )?;
    Ok(())
}
