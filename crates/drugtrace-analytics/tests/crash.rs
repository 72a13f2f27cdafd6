//! An export killed part way (issue 13: a kill -9 during `analytics run` left no
//! findings and a `.warehouse.new/`, and the server then had nothing to show): the last
//! model run's findings survive an export, a swap cut between its two renames is undone
//! on the next open, and a half-written new warehouse is never read.

use drugtrace_analytics::{Analytics, ExportOptions, Warehouse, export};
use drugtrace_catalog::{Catalog, Directory};
use drugtrace_ingest::{ParseContext, parse_json_event};
use drugtrace_ledger::{Ledger, MemStore, PersonKey, Policy};

fn ledger() -> Ledger<MemStore> {
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let ctx = ParseContext {
        person_key: PersonKey::from_bytes([1; 32]),
        local_offset_minutes: 480,
    };
    let events: Vec<_> = (0..3)
        .flat_map(|n| {
            let code = format!("8100001000000000000{n}");
            [
                format!(r#"{{"type":"commission","code":"{code}","at":"2025-03-01 09:00:00","institution":"M1"}}"#),
                format!(r#"{{"type":"sale","code":"{code}","at":"2025-04-01 09:00:00","institution":"P1","settlement_id":"S{n}"}}"#),
                format!(r#"{{"type":"sale","code":"{code}","at":"2025-04-02 09:00:00","institution":"P2","settlement_id":"T{n}"}}"#),
            ]
        })
        .map(|l| parse_json_event(&l, &ctx).unwrap())
        .collect();
    ledger.record_batch(&events).unwrap();
    ledger
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
