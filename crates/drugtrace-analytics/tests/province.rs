//! The models on a synthetic province: import it, export the warehouse, run every model and
//! hold each model's precision and recall against the planted truth to the bar.

mod common;

use std::path::Path;

use drugtrace_analytics::{
    Analytics, ColumnKind, ExportOptions, QueryLimits, REPORTS, Report, Warehouse, evaluate,
    export, models, read_truth, report,
};
use drugtrace_catalog::{Catalog, Directory};
use drugtrace_ledger::{MemStore, PersonKey, Store};
use drugtrace_synth::SynthOptions;
use drugtrace_synth::built::{Built, Generated};

struct Province {
    _dir: tempfile::TempDir,
    warehouse: Warehouse,
    events: u64,
    truth: Vec<drugtrace_analytics::TruthCase>,
}

/// A synthetic province of `packs` packs, some of them in cases (so that every planted kind,
/// `case_box_diverted` too, is there to be found), imported and exported.
fn province(packs: u64, seed: u64) -> Province {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SynthOptions::new(packs, seed, dir.path().join("province"));
    opts.packaging = true;
    let Built {
        generated,
        ledger,
        import: summary,
    } = Generated::new(&opts)
        .unwrap()
        .import(
            MemStore::new(),
            PersonKey::from_bytes([7; 32]),
            &dir.path().join("rejects.csv"),
        )
        .unwrap();
    let (out, catalog, directory) = (generated.out, generated.catalog, generated.directory);
    let warehouse = Warehouse::new(dir.path().join("warehouse"));
    let exported = export(
        ledger.store(),
        &catalog,
        &directory,
        &warehouse,
        &ExportOptions {
            rows_per_file: (packs as usize * 3).max(1_000),
            batch_rows: 1_000,
            ..ExportOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    // Every event in the ledger: those imported, and those a case's events recorded on the
    // boxes inside it.
    let mut stored = 0u64;
    ledger
        .store()
        .scan_logs(&mut |_, log| {
            stored += log.len() as u64;
            Ok(())
        })
        .unwrap();
    assert_eq!(exported.events, stored);
    assert!(stored >= summary.recorded(), "{stored} < {summary:?}");
    assert!(exported.event_files > 1, "{exported:?}");
    let truth = read_truth(&out.join("truth.jsonl")).unwrap();
    Province {
        _dir: dir,
        warehouse,
        events: exported.events,
        truth,
    }
}

#[test]
fn every_model_finds_what_was_planted_and_little_else() {
    let p = province(30_000, 11);
    common::rt().block_on(async {
        let analytics = Analytics::open(&p.warehouse).await.unwrap();
        let run = analytics.run_all(&mut |_| {}).await.unwrap();
        assert_eq!(run.models.len(), models().len());
        assert!(p.warehouse.findings_path().is_file());
        let evaluations = evaluate(&analytics, &p.truth).await.unwrap();
        let mut failures = Vec::new();
        for e in &evaluations {
            eprintln!(
                "{:<22} flagged {:>5} planted {:>5} tp {:>5} precision {:?} recall {:?} fp {:?} missed {:?}",
                e.model, e.flagged, e.planted, e.true_positives, e.precision, e.recall,
                e.false_positives, e.missed
            );
            if e.truth_kinds.is_empty() {
                continue;
            }
            assert!(e.planted > 0, "{}: nothing of {:?} was planted", e.model, e.truth_kinds);
            if e.precision.unwrap_or(0.0) < 0.95 || e.recall.unwrap_or(0.0) < 0.95 {
                failures.push(e.model.clone());
            }
        }
        assert!(failures.is_empty(), "below 0.95: {failures:?}");

        // The reports add up to what was exported and found.
        for r in REPORTS {
            let t = analytics.report(r).await.unwrap();
            assert!(!t.rows.is_empty(), "report {} is empty", r.name);
        }
        // A column its readers expect but the query does not give (renamed), or gives of
        // another kind, fails the report naming it, rather than reading as zeros.
        let daily = *report("daily").unwrap();
        for (columns, found) in [
            (&[("scan_count", ColumnKind::Int)][..], None),
            (&[("day", ColumnKind::Int)][..], Some(ColumnKind::Date)),
        ] {
            match analytics.report(&Report { columns, ..daily }).await {
                Err(drugtrace_analytics::AnalyticsError::ReportSchema {
                    report: "daily",
                    column,
                    found: f,
                    ..
                }) => {
                    assert_eq!(column, columns[0].0);
                    assert_eq!(f, found);
                }
                other => panic!("{columns:?}: {other:?}"),
            }
        }
        let daily = analytics.report(report("daily").unwrap()).await.unwrap();
        // Dates, times and lists arrive as such, never as text to parse again.
        assert!(daily.records().all(|r| r.date("day").is_some()));
        let duplicated = analytics
            .report(report("duplicated_codes").unwrap())
            .await
            .unwrap();
        for r in duplicated.records() {
            assert!(!r.list("institutions").is_empty(), "{:?}", r.get("code"));
            assert!(r.get("last_sale").time().is_some(), "{:?}", r.get("code"));
        }
        let scans: i64 = daily.records().map(|r| r.int("scans")).sum();
        assert_eq!(scans as u64, p.events);
        let intercepted: i64 = daily.records().map(|r| r.int("interceptions")).sum();
        let by_reason = analytics.report(report("interceptions").unwrap()).await.unwrap();
        assert_eq!(
            by_reason.records().map(|r| r.int("interceptions")).sum::<i64>(),
            intercepted
        );
        assert!(intercepted > 0);
        let institutions = analytics.report(report("institutions").unwrap()).await.unwrap();
        assert_eq!(
            institutions.records().map(|r| r.int("findings")).sum::<i64>() as usize,
            run.findings()
        );
        let duplicated = analytics
            .report(report("duplicated_codes").unwrap())
            .await
            .unwrap();
        let entries = drugtrace_analytics::notice_entries(&duplicated);
        let flagged = evaluations.iter().find(|e| e.model == "duplicate_sale").unwrap().flagged;
        assert_eq!(entries.len(), flagged);
        assert!(entries.iter().all(|e| e.times_sold >= 2 && !e.institutions.is_empty()));

        // The resale flows and persons account for every resale-network finding.
        let resale = evaluations.iter().find(|e| e.model == "resale_network").unwrap().flagged;
        let flows = analytics.report(report("resale_flows").unwrap()).await.unwrap();
        assert_eq!(flows.records().map(|r| r.int("packs")).sum::<i64>() as usize, resale);
        let packs: Vec<i64> = flows.records().map(|r| r.int("packs")).collect();
        assert!(packs.windows(2).all(|w| w[0] >= w[1]), "flows are ranked");
        assert!(flows.records().all(|r| r.int("persons") >= 1));
        let persons = analytics.report(report("resale_persons").unwrap()).await.unwrap();
        assert_eq!(persons.records().map(|r| r.int("packs")).sum::<i64>() as usize, resale);
    });
}

#[test]
fn ad_hoc_queries_are_read_only_and_limited() {
    let p = province(2_000, 3);
    common::rt().block_on(async {
        let analytics = Analytics::open(&p.warehouse).await.unwrap();
        let limits = QueryLimits {
            max_rows: 10,
            ..QueryLimits::default()
        };
        let r = analytics
            .query("SELECT code, kind FROM events ORDER BY code, seq", limits)
            .await
            .unwrap();
        assert_eq!(r.columns, ["code", "kind"]);
        assert_eq!(r.rows.len(), 10);
        assert!(r.truncated);
        let r = analytics
            .query("SELECT count(*) AS n FROM institutions", limits)
            .await
            .unwrap();
        assert!(!r.truncated);
        assert_eq!(r.rows.len(), 1);

        for refused in [
            "CREATE TABLE x AS SELECT 1",
            "INSERT INTO institutions SELECT * FROM institutions",
            "DROP TABLE events",
            "SET datafusion.execution.batch_size = 1",
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
        ] {
            let e = analytics.query(refused, limits).await.unwrap_err();
            assert!(e.to_string().contains("not supported"), "{refused}: {e}");
        }
        let e = analytics
            .query("SELECT nope FROM events", limits)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        // The tables are still there.
        assert!(
            analytics
                .query("SELECT count(*) FROM events", limits)
                .await
                .is_ok()
        );
    });
}

#[test]
fn an_empty_ledger_exports_empty_tables_and_models_find_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::new(dir.path().join("w"));
    export(
        &MemStore::new(),
        &Catalog::default(),
        &Directory::default(),
        &warehouse,
        &ExportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    common::rt().block_on(async {
        let analytics = Analytics::open(&warehouse).await.unwrap();
        let run = analytics.run_all(&mut |_| {}).await.unwrap();
        assert_eq!(run.findings(), 0);
    });
}

#[test]
fn opening_a_missing_warehouse_says_what_to_run() {
    let e = common::rt()
        .block_on(Analytics::open(&Warehouse::new(Path::new(
            "/nonexistent/w",
        ))))
        .err()
        .unwrap();
    assert!(e.to_string().contains("analytics export"), "{e}");
}
