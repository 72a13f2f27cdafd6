//! The upload rate (上传率) of the institutions and regions reports, on a hand-made ledger
//! and settlement export whose rates are known.

mod common;

use std::path::Path;

use drugtrace_analytics::{
    Analytics, ExportOptions, Table, Value, Warehouse, export, import_settlements, report,
};
use drugtrace_catalog::{Catalog, Directory};
use drugtrace_ingest::{ParseContext, parse_json_event};
use drugtrace_ledger::{Ledger, MemStore, PersonKey, Policy};
use drugtrace_synth::built::{Built, Generated};

const A: &str = "P35010100001";
const B: &str = "H35010100002";
const C: &str = "P35020100003";
const D: &str = "P35020100004";
const XA: &str = "XR05CBA198A001010100863";
const ZB: &str = "ZI02AAN0001020103906";

/// Sales as the event files write them: (pack number, institution, settlement, product).
const SALES: &[(u32, &str, &str, Option<&str>)] = &[
    // A uploads S1 and S2 (naming no product), S3 twice, and S9, which nothing settled.
    (1, A, "S1", Some(XA)),
    (2, A, "S2", None),
    (3, A, "S3", Some(XA)),
    (3, A, "S3", Some(XA)),
    (4, A, "S9", Some(XA)),
    // B settled two drugs in T1 and uploaded one; A's sale under T2 is not B's upload.
    (5, B, "T1", Some(XA)),
    (6, A, "T2", Some(ZB)),
    // C uploads, but no settlement of its is known.
    (7, C, "U1", Some(XA)),
];

/// The settlement export: A 3 of 4 items uploaded, B 2 of 3 (one without a trace code), D 0
/// of 1.
const SETTLEMENTS: &str = "settlement_id,institution,at,insurance_code,units,amount,fund_paid
S1,P35010100001,2025-04-08 09:00:00,XR05CBA198A001010100863,,10.00,true
S2,P35010100001,2025-04-08 09:10:00,XR05CBA198A001010100863,2,3.00,true
S3,P35010100001,2025-04-08 09:20:00,XR05CBA198A001010100863,,10.00,false
S4,P35010100001,2025-04-08 09:30:00,XR05CBA198A001010100863,,10.00,true
T1,H35010100002,2025-04-08 10:00:00,XR05CBA198A001010100863,,10.00,true
T1,H35010100002,2025-04-08 10:00:00,ZI02AAN0001020103906,,25.00,true
T2,H35010100002,2025-04-08 10:05:00,ZI02AAN0001020103906,,25.00,true
V1,P35020100004,2025-04-08 11:00:00,XR05CBA198A001010100863,,10.00,true
";

const INSTITUTIONS: &str = "code,name,kind,province,city,lat,lon
P35010100001,A,pharmacy,福建省,福州市,,
H35010100002,B,hospital,福建省,福州市,,
P35020100003,C,pharmacy,福建省,厦门市,,
P35020100004,D,pharmacy,福建省,厦门市,,
";

/// Records the sales, exports the warehouse into `dir` and, if `settle`, imports the
/// settlement export; returns the warehouse with its settlements directory.
fn warehouse(dir: &Path, settle: bool) -> Warehouse {
    let ctx = ParseContext {
        person_key: PersonKey::from_bytes([3; 32]),
        local_offset_minutes: 480,
    };
    let events: Vec<_> = SALES
        .iter()
        .map(|(pack, inst, settlement, product)| {
            let product = product.map_or(String::new(), |p| format!(",\"insurance_code\":\"{p}\""));
            let line = format!(
                "{{\"type\":\"sale\",\"code\":\"810000100000000{pack:05}\",\"at\":\"2025-04-08 12:00:00\",\
                 \"institution\":\"{inst}\",\"settlement_id\":\"{settlement}\",\"amount\":\"10\"{product}}}"
            );
            parse_json_event(&line, &ctx).unwrap()
        })
        .collect();
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    ledger.record_batch(&events).unwrap();
    // B uploads T1's second drug without a trace code: a sale movement, which uploads it too.
    ledger
        .add_movements(&[drugtrace_ledger::Movement {
            institution: drugtrace_ledger::InstitutionId::parse(B).unwrap(),
            product: drugtrace_catalog::InsuranceCode::parse(ZB).unwrap(),
            at: drugtrace_ledger::Timestamp::from_millis(1_744_084_800_000),
            kind: drugtrace_ledger::MovementKind::Sale,
            quantity_milli: 1000,
            split: false,
            amount_fen: 2500,
            fund_paid: true,
            settlement: Some(drugtrace_ledger::SettlementId::parse("T1").unwrap()),
            upload: None,
            line: 0,
            revision: 0,
        }])
        .unwrap();
    let mut directory = Directory::default();
    directory
        .import_csv(INSTITUTIONS.as_bytes(), "institutions.csv")
        .unwrap();
    let settlements = dir.join("settlements");
    let warehouse = Warehouse::new(dir.join("warehouse")).with_settlements(&settlements);
    export(
        ledger.store(),
        &Catalog::default(),
        &directory,
        &warehouse,
        &ExportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    if settle {
        let file = dir.join("settlements.csv");
        std::fs::write(&file, SETTLEMENTS).unwrap();
        let s = import_settlements(&settlements, &file, 480).unwrap();
        assert_eq!((s.rows, s.added, s.skipped), (8, 8, 0));
    }
    warehouse
}

/// The reports `institutions` (by institution) and `regions` (by city).
fn reports(warehouse: &Warehouse) -> (Table, Table) {
    common::rt().block_on(async {
        let analytics = Analytics::open(warehouse).await.unwrap();
        analytics.run_all(&mut |_| {}).await.unwrap();
        (
            analytics
                .report(report("institutions").unwrap())
                .await
                .unwrap(),
            analytics.report(report("regions").unwrap()).await.unwrap(),
        )
    })
}

/// (settled, uploaded, rate) of the row whose `key` column is `value`.
fn rate(t: &Table, key: &str, value: &str) -> (i64, i64, Value) {
    let r = t
        .records()
        .find(|r| r.text(key) == value)
        .unwrap_or_else(|| panic!("no row {key} = {value}"));
    (
        r.int("settled_items"),
        r.int("uploaded_items"),
        r.get("upload_rate").clone(),
    )
}

#[test]
fn the_upload_rate_counts_settled_items_with_an_uploaded_sale() {
    let dir = tempfile::tempdir().unwrap();
    let (institutions, regions) = reports(&warehouse(dir.path(), true));
    assert_eq!(
        rate(&institutions, "institution", A),
        (4, 3, Value::Float(0.75))
    );
    assert_eq!(
        rate(&institutions, "institution", B),
        (3, 2, Value::Float(2.0 / 3.0))
    );
    assert_eq!(rate(&institutions, "institution", C), (0, 0, Value::Null));
    // An institution that settled but never uploaded is listed, at 0%.
    assert_eq!(
        rate(&institutions, "institution", D),
        (1, 0, Value::Float(0.0))
    );
    let d = institutions
        .records()
        .find(|r| r.text("institution") == D)
        .unwrap();
    assert_eq!((d.int("scans"), d.text("name")), (0, "D".to_owned()));
    // A's figures of before are still there.
    let a = institutions
        .records()
        .find(|r| r.text("institution") == A)
        .unwrap();
    assert_eq!((a.int("sales"), a.int("codes")), (5, 5));

    assert_eq!(
        rate(&regions, "city", "福州市"),
        (7, 5, Value::Float(5.0 / 7.0))
    );
    assert_eq!(rate(&regions, "city", "厦门市"), (1, 0, Value::Float(0.0)));
}

#[test]
fn without_settlements_the_reports_run_and_the_rate_is_null() {
    let dir = tempfile::tempdir().unwrap();
    let (institutions, regions) = reports(&warehouse(dir.path(), false));
    assert!(!dir.path().join("settlements").exists());
    for inst in [A, B, C] {
        assert_eq!(
            rate(&institutions, "institution", inst),
            (0, 0, Value::Null)
        );
    }
    assert!(institutions.records().all(|r| r.text("institution") != D));
    for city in ["福州市", "厦门市"] {
        assert_eq!(rate(&regions, "city", city), (0, 0, Value::Null));
    }
    // A warehouse opened with no settlements directory at all has the empty table too.
    let bare = Warehouse::new(dir.path().join("warehouse"));
    let n = common::rt().block_on(async {
        let analytics = Analytics::open(&bare).await.unwrap();
        analytics
            .table("SELECT COUNT(*) AS n FROM settlements")
            .await
            .unwrap()
    });
    assert_eq!(n.records().next().unwrap().int("n"), 0);
}

/// A synthetic province's settlement export against its events: every institution's rate in
/// the report is the share of its settled items whose sale is in the event file.
#[test]
fn a_synthetic_provinces_rates_match_its_files() {
    use std::collections::{BTreeMap, HashSet};

    let dir = tempfile::tempdir().unwrap();
    let Built {
        generated, ledger, ..
    } = Generated::new(&drugtrace_synth::SynthOptions::new(
        4_000,
        2,
        dir.path().join("province"),
    ))
    .unwrap()
    .import(
        MemStore::new(),
        PersonKey::from_bytes([3; 32]),
        &dir.path().join("rejects.csv"),
    )
    .unwrap();
    let (out, synth) = (&generated.out, &generated.summary);
    let (catalog, directory) = (&generated.catalog, &generated.directory);
    assert!(synth.missed_scans > 0);
    // The settlements whose sale the event file uploads.
    let text = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let uploaded: HashSet<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "sale")
        .filter_map(|e| e["settlement_id"].as_str().map(str::to_owned))
        .collect();
    let warehouse =
        Warehouse::new(dir.path().join("warehouse")).with_settlements(dir.path().join("s"));
    export(
        ledger.store(),
        catalog,
        directory,
        &warehouse,
        &ExportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let s = import_settlements(&dir.path().join("s"), &out.join("settlements.csv"), 480).unwrap();
    assert_eq!(s.added, synth.settled_items);

    // What the files say: settled and uploaded items by institution.
    let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let settlements = std::fs::read_to_string(out.join("settlements.csv")).unwrap();
    for line in settlements.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let e = expected.entry(f[1].to_owned()).or_default();
        e.0 += 1;
        e.1 += i64::from(uploaded.contains(f[0]));
    }
    let (institutions, _) = reports(&warehouse);
    let mut poor = 0;
    for (inst, (settled, up)) in &expected {
        let (s, u, rate) = rate(&institutions, "institution", inst);
        assert_eq!((s, u), (*settled, *up), "{inst}");
        assert_eq!(rate, Value::Float(*up as f64 / *settled as f64), "{inst}");
        poor += usize::from(*settled >= 10 && rate.float() < 0.8);
    }
    assert!(poor > 0, "no institution uploads poorly");
}

/// The rule both reports count with is one view, `uploaded_items`, which a regulator's own
/// query can read too: each settled item with an uploaded sale, once.
#[test]
fn the_view_uploaded_items_lists_each_uploaded_item_once() {
    let dir = tempfile::tempdir().unwrap();
    let items = |warehouse: &Warehouse| {
        common::rt().block_on(async {
            let analytics = Analytics::open(warehouse).await.unwrap();
            let t = analytics
                .table(
                    "SELECT institution, settlement_id, insurance_code FROM uploaded_items \
                     ORDER BY institution, settlement_id, insurance_code",
                )
                .await
                .unwrap();
            t.records()
                .map(|r| {
                    format!(
                        "{} {} {}",
                        r.text("institution"),
                        r.text("settlement_id"),
                        r.text("insurance_code")
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    let (settled, bare) = (dir.path().join("settled"), dir.path().join("bare"));
    std::fs::create_dir_all(&settled).unwrap();
    std::fs::create_dir_all(&bare).unwrap();
    assert_eq!(
        items(&warehouse(&settled, true)),
        [
            format!("{B} T1 {XA}"),
            format!("{B} T1 {ZB}"),
            format!("{A} S1 {XA}"),
            format!("{A} S2 {XA}"),
            format!("{A} S3 {XA}"),
        ]
    );
    assert!(items(&warehouse(&bare, false)).is_empty());
}
