//! End-to-end checks of the generated province: determinism, that every file is what the
//! importers read, and that the ledger's gate catches every planted case it can judge.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::BufReader;
use std::path::Path;

use drugtrace_catalog::Catalog;
use drugtrace_code::{PackKey, TraceCode};
use drugtrace_ingest::{Format, ParseContext, Reader};
use drugtrace_ledger::{EventKind, Ledger, MemStore, Outcome, PersonKey, Policy, Reason, Recorded};
use drugtrace_synth::{Formats, SynthOptions, generate};

fn options(packs: u64, seed: u64, out: &Path) -> SynthOptions {
    SynthOptions {
        formats: Formats {
            jsonl: true,
            csv: true,
            nhsa: true,
        },
        ..SynthOptions::new(packs, seed, out)
    }
}

fn ctx() -> ParseContext {
    ParseContext {
        person_key: PersonKey::from_bytes([1; 32]),
        local_offset_minutes: 480,
    }
}

fn events(path: &Path, format: Format) -> Vec<drugtrace_ledger::Event> {
    let file = BufReader::new(fs::File::open(path).unwrap());
    let mut out = Vec::new();
    for line in Reader::new(file, format, ctx()).unwrap() {
        let line = line.unwrap();
        match line.result {
            Ok(e) => out.push(e),
            Err(e) => panic!(
                "{} line {}: {e} ({:?})",
                path.display(),
                line.number,
                e.record
            ),
        }
    }
    out
}

fn catalog(dir: &Path) -> Catalog {
    let mut c = Catalog::default();
    c.import_csv(
        fs::File::open(dir.join("catalog.csv")).unwrap(),
        "catalog.csv",
    )
    .unwrap();
    c
}

fn truth(dir: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(dir.join("truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn strings(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let sa = generate(&options(3_000, 42, a.path())).unwrap();
    let sb = generate(&options(3_000, 42, b.path())).unwrap();
    generate(&options(3_000, 43, c.path())).unwrap();
    assert_eq!(
        (sa.events, sa.bytes, &sa.fraud_cases),
        (sb.events, sb.bytes, &sb.fraud_cases)
    );
    for f in [
        "catalog.csv",
        "catalog_en.csv",
        "institutions.csv",
        "events.jsonl",
        "events.csv",
        "nhsa/requests.jsonl",
        "truth.jsonl",
        "settlements.csv",
    ] {
        let x = fs::read(a.path().join(f)).unwrap();
        assert_eq!(x, fs::read(b.path().join(f)).unwrap(), "{f}");
        assert!(!x.is_empty(), "{f}");
    }
    assert_ne!(
        fs::read(a.path().join("events.jsonl")).unwrap(),
        fs::read(c.path().join("events.jsonl")).unwrap()
    );
}

#[test]
fn files_import_cleanly_and_truth_refers_to_real_events() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&options(20_000, 7, dir.path())).unwrap();
    let catalog = catalog(dir.path());
    assert_eq!(catalog.len(), summary.products);
    assert!((2_000..=5_000).contains(&catalog.len()));

    let json = events(&dir.path().join("events.jsonl"), Format::JsonLines);
    let csv = events(&dir.path().join("events.csv"), Format::Csv);
    assert_eq!(json.len() as u64, summary.events);
    assert_eq!(
        json, csv,
        "the CSV and JSON Lines files hold the same events"
    );

    // Every pack's product is in the catalog, GS1 packs included, and about 5% are GS1.
    let packs: BTreeSet<PackKey> = json.iter().map(|e| e.pack).collect();
    assert!(packs.len() as u64 >= summary.packs * 99 / 100);
    let gs1 = packs
        .iter()
        .filter(|k| matches!(k.product_key(), drugtrace_code::ProductKey::Gtin(_)))
        .count();
    assert!(
        gs1 > packs.len() / 50 && gs1 < packs.len() / 8,
        "{gs1} GS1 packs of {}",
        packs.len()
    );
    for k in &packs {
        assert!(catalog.by_product_key(k.product_key()).is_some(), "{k:?}");
    }

    let cases = truth(dir.path());
    assert_eq!(
        cases.len() as u64,
        summary.fraud_cases.values().sum::<u64>()
    );
    let kinds: BTreeSet<&str> = cases.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 9, "every kind is planted: {kinds:?}");
    for case in &cases {
        for code in strings(case, "codes") {
            let key = TraceCode::parse(&code).unwrap().pack_key();
            assert!(packs.contains(&key), "case {} code {code}", case["case"]);
        }
    }

    let institutions = fs::read_to_string(dir.path().join("institutions.csv")).unwrap();
    assert_eq!(institutions.lines().count(), summary.institutions + 1);
    let nhsa = fs::read_to_string(dir.path().join("nhsa/requests.jsonl")).unwrap();
    for line in nhsa.lines().take(2_000) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(matches!(
            v["infno"].as_str(),
            Some("3503" | "3505" | "3506")
        ));
        assert_eq!(v["msgid"].as_str().unwrap().len(), 30);
    }
}

#[test]
fn the_gate_catches_the_planted_fraud() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        fraud_rate: 0.03,
        ..SynthOptions::new(20_000, 11, dir.path())
    };
    generate(&opts).unwrap();
    let ledger = Ledger::new(MemStore::new(), catalog(dir.path()), Policy::default());
    let events = events(&dir.path().join("events.jsonl"), Format::JsonLines);
    let mut sale_rejections = BTreeMap::<&str, u64>::new();
    for batch in events.chunks(1_000) {
        for (e, d) in batch.iter().zip(ledger.record_batch(batch).unwrap()) {
            if let (EventKind::Sale(_), Outcome::Rejected(r)) = (&e.kind, d.outcome) {
                *sale_rejections.entry(r.as_str()).or_default() += 1;
            }
        }
    }

    let history = |code: &str| -> Vec<Recorded> {
        ledger
            .history(&TraceCode::parse(code).unwrap().pack_key())
            .unwrap()
    };
    let sale_outcomes = |log: &[Recorded]| -> Vec<Outcome> {
        log.iter()
            .filter(|r| matches!(r.event.kind, EventKind::Sale(_)))
            .map(|r| r.outcome)
            .collect()
    };
    let mut checked = HashMap::<String, u64>::new();
    for case in truth(dir.path()) {
        let kind = case["kind"].as_str().unwrap().to_owned();
        for code in strings(&case, "codes") {
            let log = history(&code);
            let sales = sale_outcomes(&log);
            let has = |o: Outcome| sales.contains(&o);
            let ok = match kind.as_str() {
                "resale_ring" | "cloned_code" | "repeat_sale_3plus" => {
                    has(Outcome::Rejected(Reason::AlreadySold))
                }
                "substitution" => has(Outcome::Rejected(Reason::ProductMismatch)),
                "sale_after_expiry" => has(Outcome::Rejected(Reason::Expired)),
                "sale_after_recall" => has(Outcome::Rejected(Reason::Recalled)),
                "split_beyond_units" => has(Outcome::Rejected(Reason::UnitsExceeded)),
                "never_issued" => {
                    has(Outcome::Flagged(Reason::UnknownCode))
                        && !log
                            .iter()
                            .any(|r| matches!(r.event.kind, EventKind::Commission))
                }
                "sale_without_intake" => {
                    // The gate cannot see this: the sale goes through, and the seller has
                    // no intake in the pack's log. Analytics must find it.
                    let seller = strings(&case, "institutions")[0].clone();
                    has(Outcome::Accepted)
                        && !log.iter().any(|r| {
                            matches!(r.event.kind, EventKind::Intake(_))
                                && r.event.actor.as_str() == seller
                        })
                }
                other => panic!("unknown kind {other}"),
            };
            assert!(
                ok,
                "case {} ({kind}) code {code}: sales {sales:?}",
                case["case"]
            );
            *checked.entry(kind.clone()).or_default() += 1;
        }
    }
    assert_eq!(checked.len(), 9, "{checked:?}");
    // Honest packs are not blocked for expiry, recall or mismatch: those rejections come
    // from planted cases only (each planted pack gives at most one).
    let planted = |k: &str| checked.get(k).copied().unwrap_or(0);
    assert_eq!(
        sale_rejections.get("expired").copied().unwrap_or(0),
        planted("sale_after_expiry")
    );
    assert_eq!(
        sale_rejections.get("recalled").copied().unwrap_or(0),
        planted("sale_after_recall")
    );
    assert_eq!(
        sale_rejections
            .get("product_mismatch")
            .copied()
            .unwrap_or(0),
        planted("substitution")
    );
}

/// One row of `settlements.csv` (its values need no CSV quoting).
struct Settled {
    settlement: String,
    institution: String,
    insurance_code: String,
    units: Option<u32>,
    amount_fen: i64,
    fund_paid: bool,
}

fn settlements(dir: &Path) -> Vec<Settled> {
    let text = fs::read_to_string(dir.join("settlements.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("settlement_id,institution,at,insurance_code,units,amount,fund_paid")
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 7, "{l}");
            drugtrace_ledger::Timestamp::parse(f[2], 480).unwrap();
            Settled {
                settlement: f[0].to_owned(),
                institution: f[1].to_owned(),
                insurance_code: f[3].to_owned(),
                units: (!f[4].is_empty()).then(|| f[4].parse().unwrap()),
                amount_fen: drugtrace_ingest::parse_yuan(f[5]).unwrap(),
                fund_paid: f[6].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn every_sale_is_settled_and_a_few_institutions_upload_poorly() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&options(20_000, 7, dir.path())).unwrap();
    let rows = settlements(dir.path());
    assert_eq!(rows.len() as u64, summary.settled_items);
    let by_id: HashMap<&str, &Settled> = rows.iter().map(|r| (r.settlement.as_str(), r)).collect();
    assert_eq!(by_id.len(), rows.len(), "one item per settlement");

    // Every uploaded sale is an item, with the sale's own fields.
    let mut uploaded = BTreeSet::new();
    for e in events(&dir.path().join("events.jsonl"), Format::JsonLines) {
        if let EventKind::Sale(s) = &e.kind {
            let id = s
                .settlement
                .as_ref()
                .expect("synth names every settlement")
                .as_str();
            let r = by_id[id];
            assert_eq!(r.institution, e.actor.as_str());
            assert_eq!(
                Some(r.insurance_code.as_str()),
                s.product.as_ref().map(|p| p.as_str())
            );
            assert_eq!(
                (r.units, r.amount_fen, r.fund_paid),
                (s.units, s.amount_fen, s.fund_paid)
            );
            uploaded.insert(id.to_owned());
        }
    }
    let missed: Vec<&Settled> = rows
        .iter()
        .filter(|r| !uploaded.contains(&r.settlement))
        .collect();
    assert_eq!(missed.len() as u64, summary.missed_scans);
    assert!(
        missed.len() > rows.len() / 100,
        "{} of {} missed",
        missed.len(),
        rows.len()
    );

    // Planted cases keep all their sales.
    let planted: BTreeSet<String> = truth(dir.path())
        .iter()
        .flat_map(|c| strings(c, "settlements"))
        .collect();
    assert!(missed.iter().all(|r| !planted.contains(&r.settlement)));

    // Most institutions upload nearly every code; a few far fewer.
    let mut per: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in &rows {
        let e = per.entry(r.institution.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(uploaded.contains(&r.settlement));
    }
    let rates: Vec<f64> = per
        .values()
        .filter(|(settled, _)| *settled >= 20)
        .map(|&(settled, up)| up as f64 / settled as f64)
        .collect();
    let good = rates.iter().filter(|&&r| r >= 0.95).count();
    let poor = rates.iter().filter(|&&r| r < 0.8).count();
    assert!(
        good * 10 >= rates.len() * 8,
        "{good} of {} upload 95%+",
        rates.len()
    );
    assert!(
        poor >= 3 && poor * 10 < rates.len(),
        "{poor} of {} below 80%",
        rates.len()
    );
}

/// FNV-1a, to pin files' bytes without a hashing dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn the_default_files_keep_their_bytes() {
    // The files of 3,000 packs from seed 42 (FNV-1a and length): options added later must
    // change nothing while they are off.
    const BEFORE: [(&str, u64, usize); 8] = [
        ("catalog.csv", 0x78f9_2fa9_5db9_c221, 425_001),
        ("catalog_en.csv", 0xc9b3_309b_9390_9e5e, 304_016),
        ("institutions.csv", 0x86e6_bffb_40de_38c4, 50_282),
        ("events.jsonl", 0x7ba5_c0a1_4a74_d7f4, 3_586_549),
        ("events.csv", 0x3d9b_3aef_a6ea_3f7f, 2_317_540),
        ("nhsa/requests.jsonl", 0x3f31_ae36_47ba_45fe, 4_933_282),
        ("truth.jsonl", 0xf9f0_d8ca_c753_8e38, 7_885),
        ("settlements.csv", 0x2941_b8ba_c8ca_87f5, 325_262),
    ];
    let dir = tempfile::tempdir().unwrap();
    generate(&options(3_000, 42, dir.path())).unwrap();
    for (f, hash, len) in BEFORE {
        let bytes = fs::read(dir.path().join(f)).unwrap();
        assert_eq!((fnv1a(&bytes), bytes.len()), (hash, len), "{f}");
    }
}
