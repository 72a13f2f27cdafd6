//! An export killed part way (issue 13: a kill -9 during `analytics run` left no
//! findings and a `.warehouse.new/`, and the server then had nothing to show): the last
//! model run's findings survive an export, a swap cut between its two renames is undone
//! on the next open, and a half-written new warehouse is never read.

mod common;

use drugtrace_analytics::{Analytics, ExportOptions, Warehouse, export};
use drugtrace_catalog::{Catalog, Directory};
use drugtrace_ledger::{Ledger, MemStore};

fn ledger() -> Ledger<MemStore> {
    common::sold_twice()
}

fn export_to(ledger: &Ledger<MemStore>, warehouse: &Warehouse) {
    export(
        ledger.store(),
        &Catalog::default(),
        &Directory::default(),
        warehouse,
        &ExportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
}

#[tokio::test]
async fn findings_survive_an_export_and_a_cut_swap_is_undone() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::new(dir.path().join("warehouse"));
    let ledger = ledger();
    export_to(&ledger, &warehouse);
    let analytics = Analytics::open(&warehouse).await.unwrap();
    analytics.run_all(&mut |_| {}).await.unwrap();
    assert!(warehouse.findings_path().is_file());

    // An export on its own (the first half of `analytics run`, killed before the models)
    // keeps the last run's findings.
    export_to(&ledger, &warehouse);
    assert!(
        warehouse.findings_path().is_file(),
        "the findings were kept"
    );

    // A crash between the swap's renames: the warehouse set aside, none in place, and a
    // half-written new one beside it.
    let old = dir.path().join(".warehouse.old");
    std::fs::rename(warehouse.root(), &old).unwrap();
    std::fs::create_dir_all(dir.path().join(".warehouse.new/events")).unwrap();
    let analytics = Analytics::open(&warehouse).await.unwrap();
    assert!(!old.exists(), "the old warehouse went back in place");
    let r = analytics
        .query("SELECT count(*) AS n FROM findings", Default::default())
        .await
        .unwrap();
    assert_ne!(r.rows[0][0].as_deref(), Some("0"), "{r:?}");
    // The next export replaces the half-written one and swaps cleanly.
    export_to(&ledger, &warehouse);
    assert!(!dir.path().join(".warehouse.new").exists());
    assert!(warehouse.exists());
}

/// Two exports into one warehouse at once (the scheduled run inside `serve`, and an
/// `analytics export` by hand): the second waits for the first. Before, it emptied the
/// first's staging directory under it, and the first then swapped in half a warehouse.
#[test]
fn a_second_export_waits_for_the_first() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier};

    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::new(dir.path().join("warehouse"));
    let ledger = Arc::new(ledger());
    let (paused, resume) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let first = {
        let (ledger, warehouse) = (Arc::clone(&ledger), warehouse.clone());
        let (paused, resume) = (Arc::clone(&paused), Arc::clone(&resume));
        std::thread::spawn(move || {
            let mut once = true;
            export(
                ledger.store(),
                &Catalog::default(),
                &Directory::default(),
                &warehouse,
                &ExportOptions {
                    batch_rows: 1,
                    ..ExportOptions::default()
                },
                // Halfway through its first batch, the first export waits for the test.
                &mut |_| {
                    if std::mem::take(&mut once) {
                        paused.wait();
                        resume.wait();
                    }
                },
            )
            .unwrap()
        })
    };
    paused.wait();
    let second_done = Arc::new(AtomicBool::new(false));
    let second = {
        let (ledger, warehouse, done) = (
            Arc::clone(&ledger),
            warehouse.clone(),
            Arc::clone(&second_done),
        );
        std::thread::spawn(move || {
            export_to(&ledger, &warehouse);
            done.store(true, Ordering::SeqCst);
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !second_done.load(Ordering::SeqCst),
        "the second export finished while the first was under way"
    );
    resume.wait();
    assert_eq!(first.join().unwrap().events, 9);
    second.join().unwrap();
    let rows = common::rt().block_on(async {
        let analytics = Analytics::open(&warehouse).await.unwrap();
        analytics
            .table("SELECT COUNT(*) AS n FROM events")
            .await
            .unwrap()
    });
    assert_eq!(rows.records().next().unwrap().int("n"), 9);
}
