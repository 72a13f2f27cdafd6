//! An updated warehouse reads as a freshly exported one: a province is recorded in two
//! parts hours apart, the warehouse exported after the first and updated after the second,
//! and its events and every model's findings are those of a whole export of the same ledger.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};

use drugtrace_analytics::{
    Analytics, Declined, ExportOptions, QueryLimits, Refreshed, Warehouse, export, refresh, update,
};
use drugtrace_catalog::{Catalog, Directory};
use drugtrace_ingest::{Format, ImportOptions, ParseContext, import_file};
use drugtrace_ledger::{Ledger, MemStore, PersonKey, Policy, Store, Timestamp};
use drugtrace_synth::SynthOptions;
use drugtrace_synth::built::Generated;

/// The ledger's clock and the warehouse's, which each test moves on: one test at a time.
static NOW: AtomicI64 = AtomicI64::new(0);
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn now() -> Timestamp {
    Timestamp::from_millis(NOW.load(Ordering::SeqCst))
}

const MINUTE: i64 = 60_000;

fn opts() -> ExportOptions {
    ExportOptions {
        rows_per_file: 5_000,
        batch_rows: 1_000,
        // Not the default: an update must rewrite the export's tables as the export did, or
        // the findings' basis would change with every update.
        row_group_rows: 2_000,
        now,
        ..ExportOptions::default()
    }
}

/// Every row of `sql` over `warehouse`, as text.
fn rows(warehouse: &Warehouse, sql: &str) -> Vec<Vec<Option<String>>> {
    common::rt().block_on(async {
        let analytics = Analytics::open(warehouse).await.unwrap();
        let limits = QueryLimits {
            max_rows: 1_000_000,
            ..QueryLimits::default()
        };
        analytics.query(sql, limits).await.unwrap().rows
    })
}

fn run_models(warehouse: &Warehouse) {
    common::rt().block_on(async {
        let analytics = Analytics::open(warehouse).await.unwrap();
        analytics.run_all(&mut |_| {}).await.unwrap();
    });
}

/// Runs the models over what changed where it can; says whether it could.
fn run_changed(warehouse: &Warehouse) -> bool {
    common::rt().block_on(async {
        let analytics = Analytics::open(warehouse).await.unwrap();
        analytics
            .run_changed(&mut |_| {})
            .await
            .unwrap()
            .changed_only
    })
}

struct Recorded {
    dir: tempfile::TempDir,
    ledger: Ledger<MemStore>,
    catalog: Catalog,
    directory: Directory,
    second_half: std::path::PathBuf,
}

/// A province whose first part is recorded three hours before now; the second is left to
/// record.
fn province() -> Recorded {
    let dir = tempfile::tempdir().unwrap();
    let mut synth = SynthOptions::new(1_500, 11, dir.path().join("province"));
    synth.packaging = true;
    let generated = Generated::new(&synth).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(generated.file("events.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let cut = lines.len() * 3 / 5;
    let first = dir.path().join("first.jsonl");
    let second_half = dir.path().join("second.jsonl");
    std::fs::write(&first, lines[..cut].join("\n")).unwrap();
    std::fs::write(&second_half, lines[cut..].join("\n")).unwrap();
    NOW.store(
        Timestamp::now().millis() - 3 * 60 * MINUTE,
        Ordering::SeqCst,
    );
    let ledger = Ledger::new(
        MemStore::new(),
        generated.catalog.clone(),
        Policy::default(),
    )
    .with_clock(now);
    record(&ledger, &first, dir.path());
    Recorded {
        ledger,
        catalog: generated.catalog,
        directory: generated.directory,
        second_half,
        dir,
    }
}

fn record(ledger: &Ledger<MemStore>, file: &std::path::Path, dir: &std::path::Path) {
    let summary = import_file(
        ledger,
        file,
        ParseContext {
            person_key: PersonKey::from_bytes([7; 32]),
            local_offset_minutes: 480,
        },
        &ImportOptions {
            format: Format::JsonLines,
            batch: 2_000,
            rejects: dir.join("rejects.csv"),
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(summary.bad_lines, 0);
}

fn packs(store: &MemStore) -> u64 {
    let mut n = 0;
    store
        .scan_logs(&mut |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

const EVENTS: &str =
    "SELECT code, seq, kind, outcome, actor, at, voided FROM events ORDER BY code, seq";
const FINDINGS: &str = "SELECT * FROM findings ORDER BY model, code, institution, at, detail";

#[test]
fn an_updated_warehouse_reads_as_a_fresh_export() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let p = province();
    let store = p.ledger.store();
    let updated = Warehouse::new(p.dir.path().join("updated"));
    NOW.fetch_add(3 * 60 * MINUTE, Ordering::SeqCst);
    export(
        store,
        &p.catalog,
        &p.directory,
        &updated,
        &opts(),
        &mut |_| {},
    )
    .unwrap();
    run_models(&updated);
    let before = packs(store);

    NOW.fetch_add(10 * MINUTE, Ordering::SeqCst);
    record(&p.ledger, &p.second_half, p.dir.path());
    let after = packs(store);
    NOW.fetch_add(MINUTE, Ordering::SeqCst);
    let summary = update(
        store,
        &p.catalog,
        &p.directory,
        &updated,
        &opts(),
        1_000_000,
    )
    .unwrap()
    .unwrap();
    // Only what the second part touched is read again: not every pack.
    assert!(summary.packs >= after - before, "{summary:?}");
    assert!(summary.packs < after, "{summary:?} of {after} packs");
    assert!(
        run_changed(&updated),
        "the pack models read the changed packs only"
    );

    let fresh = Warehouse::new(p.dir.path().join("fresh"));
    export(
        store,
        &p.catalog,
        &p.directory,
        &fresh,
        &opts(),
        &mut |_| {},
    )
    .unwrap();
    run_models(&fresh);

    let events = rows(&updated, EVENTS);
    assert!(events.len() > 5_000, "{}", events.len());
    assert_eq!(events, rows(&fresh, EVENTS), "the events");
    let findings = rows(&updated, FINDINGS);
    assert!(findings.len() > 20, "{}", findings.len());
    assert_eq!(findings, rows(&fresh, FINDINGS), "the findings");

    // Another directory of institutions: the findings kept would rest on the old one.
    update(
        store,
        &p.catalog,
        &Directory::default(),
        &updated,
        &opts(),
        1_000_000,
    )
    .unwrap()
    .unwrap();
    assert!(
        !run_changed(&updated),
        "the institutions changed: everything is read"
    );
}

#[test]
fn an_update_declines_what_an_export_does_better() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let p = province();
    let store = p.ledger.store();
    let warehouse = Warehouse::new(p.dir.path().join("warehouse"));
    let declined = |cap| {
        update(store, &p.catalog, &p.directory, &warehouse, &opts(), cap)
            .unwrap()
            .unwrap_err()
    };
    assert_eq!(declined(10), Declined::NoBase);

    // An export, then more than the cap changed since.
    export(
        store,
        &p.catalog,
        &p.directory,
        &warehouse,
        &opts(),
        &mut |_| {},
    )
    .unwrap();
    record(&p.ledger, &p.second_half, p.dir.path());
    assert_eq!(declined(10), Declined::TooMany { cap: 10 });
    NOW.fetch_add(10 * MINUTE, Ordering::SeqCst);
    match refresh(store, &p.catalog, &p.directory, &warehouse, &opts(), 10).unwrap() {
        Refreshed::Exported(summary, Declined::TooMany { cap: 10 }) => {
            assert_eq!(summary.packs, packs(store));
        }
        other => panic!("{other:?}"),
    }
    // Just exported: nothing changed since, an update reads nothing.
    match refresh(store, &p.catalog, &p.directory, &warehouse, &opts(), 10).unwrap() {
        Refreshed::Updated(summary) => assert_eq!(summary.packs, 0, "{summary:?}"),
        other => panic!("{other:?}"),
    }
    // A week later, the marks to read are too many minutes.
    NOW.fetch_add(8 * 24 * 60 * MINUTE, Ordering::SeqCst);
    assert!(matches!(declined(10), Declined::TooOld { .. }));
}
