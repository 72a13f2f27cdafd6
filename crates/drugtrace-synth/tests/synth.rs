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

/// Checks that the gate caught every planted case of `dir`'s truth the way its kind is
/// caught, and returns the codes checked by kind.
fn planted_cases_caught(ledger: &Ledger<MemStore>, dir: &Path) -> HashMap<String, u64> {
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
    for case in truth(dir) {
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
                    // no intake in the pack's log. Analytics must find it. (A pack of the
                    // manufacturer that uploads no commissions, under upload noise, goes
                    // through flagged as never issued.)
                    let seller = strings(&case, "institutions")[0].clone();
                    let uncommissioned = !log
                        .iter()
                        .any(|r| matches!(r.event.kind, EventKind::Commission));
                    (has(Outcome::Accepted)
                        || (uncommissioned && has(Outcome::Flagged(Reason::UnknownCode))))
                        && !log.iter().any(|r| {
                            matches!(r.event.kind, EventKind::Intake(_))
                                && r.event.actor.as_str() == seller
                        })
                }
                "case_box_diverted" => {
                    // A box of a case that went elsewhere, sold by an institution that took
                    // in neither: the gate lets it through, case_box_diverted finds it.
                    let seller = strings(&case, "institutions")[0].clone();
                    has(Outcome::Accepted)
                        && log
                            .iter()
                            .any(|r| matches!(r.event.kind, EventKind::PackInto { .. }))
                        && !log.iter().any(|r| {
                            matches!(
                                r.event.kind,
                                EventKind::Intake(_)
                                    | EventKind::Receive { .. }
                                    | EventKind::StockChange(_)
                            ) && r.event.actor.as_str() == seller
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
    checked
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

    let checked = planted_cases_caught(&ledger, dir.path());
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
                amount_fen: drugtrace_money::Fen::parse_yuan(f[5]).unwrap().fen(),
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
    let summary = generate(&options(3_000, 42, dir.path())).unwrap();
    for (f, hash, len) in BEFORE {
        let bytes = fs::read(dir.path().join(f)).unwrap();
        assert_eq!((fnv1a(&bytes), bytes.len()), (hash, len), "{f}");
    }
    assert!(!dir.path().join("noise.jsonl").exists());
    assert!(summary.noise.is_empty());
}

/// The packs whose log ends on a shelf: no sale, destruction or recall, of `packs`.
fn share_in_stock(dir: &Path, packs: u64) -> f64 {
    let mut ended = std::collections::HashSet::new();
    for e in events(&dir.join("events.jsonl"), Format::JsonLines) {
        if matches!(
            e.kind,
            EventKind::Sale(_) | EventKind::Destroy | EventKind::Recall
        ) {
            ended.insert(e.pack);
        }
    }
    1.0 - ended.len() as f64 / packs as f64
}

#[test]
fn in_stock_leaves_that_share_of_packs_on_the_shelf() {
    let dir = tempfile::tempdir().unwrap();
    generate(&options(4_000, 5, dir.path())).unwrap();
    let default = share_in_stock(dir.path(), 4_000);
    let stocked = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        in_stock: 0.9,
        ..options(4_000, 5, stocked.path())
    };
    generate(&opts).unwrap();
    let raised = share_in_stock(stocked.path(), 4_000);
    // Planted fraud (1%) always sells, and a missed scan hides a sale from the files.
    assert!((0.08..0.16).contains(&default), "{default}");
    assert!((0.86..0.92).contains(&raised), "{raised}");
    for bad in [-0.1, 0.99, f64::NAN] {
        let opts = SynthOptions {
            in_stock: bad,
            ..options(10, 5, stocked.path())
        };
        let e = generate(&opts).unwrap_err().to_string();
        assert!(e.contains("in_stock"), "{e}");
    }
}

fn noise(dir: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(dir.join("noise.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The noise classes `upload_noise` plants.
const NOISE_CLASSES: [&str; 8] = [
    "corrected_wrong_code",
    "corrected_after_return",
    "corrected_return_late",
    "refund_restocked",
    "intake_after_sale",
    "return_resent",
    "branch_opened_box",
    "maker_no_commissions",
];

/// Lines of `events.jsonl` (as text) whose code is not in `skip`.
fn lines_except(path: &Path, skip: &BTreeSet<String>) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            !skip.contains(v["code"].as_str().unwrap())
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn upload_noise_touches_only_the_packs_it_lists() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(&options(6_000, 5, a.path())).unwrap();
    let noisy = SynthOptions {
        upload_noise: true,
        ..options(6_000, 5, b.path())
    };
    let summary = generate(&noisy).unwrap();
    let listed = noise(b.path());
    assert_eq!(listed.len() as u64, summary.noise.values().sum::<u64>());
    let codes: BTreeSet<String> = listed.iter().flat_map(|n| strings(n, "codes")).collect();
    // Every other pack's lines are the same lines in the same order, and the planted
    // fraud is the same fraud.
    assert_eq!(
        lines_except(&a.path().join("events.jsonl"), &codes),
        lines_except(&b.path().join("events.jsonl"), &codes)
    );
    assert_eq!(
        fs::read(a.path().join("truth.jsonl")).unwrap(),
        fs::read(b.path().join("truth.jsonl")).unwrap()
    );
    // The same seed gives the same noise.
    let c = tempfile::tempdir().unwrap();
    generate(&SynthOptions {
        upload_noise: true,
        ..options(6_000, 5, c.path())
    })
    .unwrap();
    for f in [
        "events.jsonl",
        "events.csv",
        "noise.jsonl",
        "settlements.csv",
    ] {
        assert_eq!(
            fs::read(b.path().join(f)).unwrap(),
            fs::read(c.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn upload_noise_is_planted_imports_and_the_gate_judges_it_as_the_models_expect() {
    let dir = tempfile::tempdir().unwrap();
    let packs = 20_000;
    // With packaging too: the two options go together.
    let opts = SynthOptions {
        upload_noise: true,
        packaging: true,
        fraud_rate: 0.02,
        ..options(packs, 3, dir.path())
    };
    let summary = generate(&opts).unwrap();
    let listed = noise(dir.path());
    // Every class is planted, each on 0.1% to 1.2% of the packs.
    let mut per_class = BTreeMap::<String, u64>::new();
    for n in &listed {
        *per_class
            .entry(n["class"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_class, summary.noise);
    assert_eq!(
        per_class.keys().map(String::as_str).collect::<Vec<_>>(),
        NOISE_CLASSES
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
    );
    for (class, n) in &per_class {
        assert!(
            (packs / 1_000..=packs * 12 / 1_000).contains(n),
            "{class}: {n} of {packs} packs"
        );
    }

    let json = events(&dir.path().join("events.jsonl"), Format::JsonLines);
    assert_eq!(json.len() as u64, summary.events);
    assert_eq!(json, events(&dir.path().join("events.csv"), Format::Csv));
    let ledger = Ledger::new(MemStore::new(), catalog(dir.path()), Policy::default());
    let mut product_mismatches = 0u64;
    for batch in json.chunks(1_000) {
        for (e, d) in batch.iter().zip(ledger.record_batch(batch).unwrap()) {
            if let (EventKind::Sale(_), Outcome::Rejected(Reason::ProductMismatch)) =
                (&e.kind, d.outcome)
            {
                product_mismatches += 1;
            }
        }
    }
    // The gate refuses the wrong billings of planted substitution and of the corrections,
    // nothing else.
    assert_eq!(
        product_mismatches,
        summary
            .fraud_cases
            .get("substitution")
            .copied()
            .unwrap_or(0)
            + per_class["corrected_wrong_code"]
    );

    // Noise leaves every planted case as the gate catches it (the nine kinds, and boxes
    // diverted from their cases).
    assert_eq!(planted_cases_caught(&ledger, dir.path()).len(), 10);
    let planted: BTreeSet<String> = truth(dir.path())
        .iter()
        .flat_map(|c| strings(c, "codes"))
        .collect();
    const HALF_HOUR_MS: i64 = 30 * 60_000;
    for n in &listed {
        let class = n["class"].as_str().unwrap();
        let code = &strings(n, "codes")[0];
        let insts = strings(n, "institutions");
        let setl = strings(n, "settlements");
        let log = ledger
            .history(&TraceCode::parse(code).unwrap().pack_key())
            .unwrap();
        let sale = |id: &str| -> &Recorded {
            log.iter()
                .find(|r| {
                    matches!(&r.event.kind, EventKind::Sale(s)
                        if s.settlement.as_ref().map(|x| x.as_str()) == Some(id))
                })
                .unwrap_or_else(|| panic!("{class} {code}: no sale {id}"))
        };
        let person = |r: &Recorded| match &r.event.kind {
            EventKind::Sale(s) => s.person,
            _ => None,
        };
        let returns: Vec<&Recorded> = log
            .iter()
            .filter(|r| matches!(r.event.kind, EventKind::SaleReturn(_)))
            .collect();
        let ms = |r: &Recorded| r.event.at.millis();
        // A sale that went through (a silent maker's packs are flagged as never issued).
        let paid = |r: &Recorded| {
            matches!(
                r.outcome,
                Outcome::Accepted | Outcome::Flagged(Reason::UnknownCode)
            )
        };
        let ctx = format!("noise {} ({class}) code {code}", n["noise"]);
        match class {
            "corrected_wrong_code" => {
                let (wrong, right) = (sale(&setl[0]), sale(&setl[1]));
                assert_eq!(
                    wrong.outcome,
                    Outcome::Rejected(Reason::ProductMismatch),
                    "{ctx}"
                );
                assert!(paid(right), "{ctx}");
                assert!(wrong.index < right.index, "{ctx}");
                assert!(
                    (1..=HALF_HOUR_MS).contains(&(ms(right) - ms(wrong))),
                    "{ctx}"
                );
                assert_eq!(person(wrong), person(right), "{ctx}");
                assert!(person(wrong).is_some(), "{ctx}");
            }
            "corrected_after_return" => {
                let (first, again) = (sale(&setl[0]), sale(&setl[1]));
                assert!(paid(first) && paid(again), "{ctx}");
                assert_eq!(returns.len(), 1, "{ctx}");
                assert_eq!(returns[0].outcome, Outcome::Accepted, "{ctx}");
                assert!(
                    first.index < returns[0].index && returns[0].index < again.index,
                    "{ctx}"
                );
                assert!(ms(again) - ms(first) <= HALF_HOUR_MS, "{ctx}");
                assert_eq!(person(first), person(again), "{ctx}");
            }
            "corrected_return_late" => {
                let (first, again) = (sale(&setl[0]), sale(&setl[1]));
                assert!(paid(first), "{ctx}");
                assert_eq!(
                    again.outcome,
                    Outcome::Rejected(Reason::AlreadySold),
                    "{ctx}"
                );
                assert_eq!(returns.len(), 1, "{ctx}");
                // Returned before the new sale, recorded after it.
                assert_eq!(returns[0].outcome, Outcome::Accepted, "{ctx}");
                assert!(
                    returns[0].index > again.index && ms(returns[0]) < ms(again),
                    "{ctx}"
                );
                assert!(ms(again) - ms(first) <= HALF_HOUR_MS, "{ctx}");
                assert_eq!(person(first), person(again), "{ctx}");
            }
            "refund_restocked" => {
                let (first, again) = (sale(&setl[0]), sale(&setl[1]));
                assert!(paid(first) && paid(again), "{ctx}");
                let shelf = log
                    .iter()
                    .find(|r| matches!(r.event.kind, EventKind::StockChange(c) if c.code() == 106))
                    .unwrap_or_else(|| panic!("{ctx}: no 106"));
                assert!(shelf.outcome.is_applied(), "{ctx}");
                assert_eq!(shelf.event.actor.as_str(), insts[0], "{ctx}");
                assert!(
                    returns[0].index < shelf.index && shelf.index < again.index,
                    "{ctx}"
                );
                assert_ne!(person(first), person(again), "{ctx}");
            }
            "intake_after_sale" => {
                let sold = sale(&setl[0]);
                assert!(paid(sold), "{ctx}");
                let intakes: Vec<&Recorded> = log
                    .iter()
                    .filter(|r| matches!(r.event.kind, EventKind::Intake(_)))
                    .collect();
                assert!(!intakes.is_empty(), "{ctx}");
                for i in intakes {
                    assert_eq!(i.event.actor.as_str(), insts[0], "{ctx}");
                    assert!(i.index > sold.index, "{ctx}");
                    assert_eq!(i.outcome, Outcome::Flagged(Reason::AlreadySold), "{ctx}");
                }
            }
            "return_resent" => {
                assert_eq!(returns.len(), 2, "{ctx}");
                assert_eq!(returns[0].outcome, Outcome::Accepted, "{ctx}");
                assert_eq!(
                    returns[1].outcome,
                    Outcome::Rejected(Reason::ReturnExceedsSale),
                    "{ctx}"
                );
                assert_eq!(returns[0].event.at, returns[1].event.at, "{ctx}");
            }
            "branch_opened_box" => {
                let (a, b) = (&insts[0], &insts[1]);
                assert_ne!(a, b, "{ctx}");
                let moved = |code: u16, who: &str| {
                    log.iter().any(|r| {
                        matches!(r.event.kind, EventKind::StockChange(c) if c.code() == code)
                            && r.event.actor.as_str() == who
                            && r.outcome.is_applied()
                    })
                };
                assert!(moved(102, a) && moved(101, b), "{ctx}");
                let mut units = 0;
                for r in &log {
                    if let EventKind::Sale(s) = &r.event.kind {
                        assert!(r.outcome.is_applied(), "{ctx}: {:?}", r.outcome);
                        units += s.units.unwrap();
                    }
                }
                for id in &setl {
                    assert_eq!(sale(id).event.actor.as_str(), b, "{ctx}");
                }
                let pack_units = log
                    .iter()
                    .find_map(|r| match &r.event.kind {
                        EventKind::Sale(s) => s.pack_units,
                        _ => None,
                    })
                    .unwrap();
                assert!(units <= pack_units + returns.len() as u32, "{ctx}");
            }
            "maker_no_commissions" => {
                assert!(
                    !log.iter()
                        .any(|r| matches!(r.event.kind, EventKind::Commission)),
                    "{ctx}"
                );
                let first = &log[0];
                assert!(matches!(first.event.kind, EventKind::Ship { .. }), "{ctx}");
                assert_eq!(first.event.actor.as_str(), insts[0], "{ctx}");
                assert!(
                    log.iter()
                        .any(|r| matches!(r.event.kind, EventKind::Receive { .. })
                            && r.event.actor.as_str() == insts[1]),
                    "{ctx}"
                );
            }
            other => panic!("unknown noise class {other}"),
        }
        // Noise is planted on honest packs; only a silent maker's fraud packs are both.
        if class != "maker_no_commissions" {
            assert!(!planted.contains(code), "{ctx} is a planted case");
        }
    }
}

#[test]
fn packaging_packs_boxes_into_cases_that_travel_as_one_code() {
    let (plain, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let packs = 20_000;
    let plain_opts = SynthOptions {
        fraud_rate: 0.02,
        ..options(packs, 9, plain.path())
    };
    generate(&plain_opts).unwrap();
    let opts = SynthOptions {
        packaging: true,
        out: dir.path().to_owned(),
        ..plain_opts
    };
    let summary = generate(&opts).unwrap();
    assert_eq!(summary.cases, packs / 200);
    assert!((4 * summary.cases..=10 * summary.cases).contains(&summary.case_boxes));

    let json = events(&dir.path().join("events.jsonl"), Format::JsonLines);
    assert_eq!(json.len() as u64, summary.events);
    assert_eq!(json, events(&dir.path().join("events.csv"), Format::Csv));
    let cases: BTreeSet<PackKey> = json
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::PackInto { case } => Some(case),
            _ => None,
        })
        .collect();
    assert_eq!(cases.len() as u64, summary.cases);
    let boxes: BTreeSet<PackKey> = json
        .iter()
        .filter(|e| matches!(e.kind, EventKind::PackInto { .. }))
        .map(|e| e.pack)
        .collect();
    assert_eq!(boxes.len() as u64, summary.case_boxes);
    // The packs' own lines are those of the province without packaging (the case column
    // aside, in CSV).
    let case_codes: BTreeSet<String> = fs::read_to_string(dir.path().join("events.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let code = v["code"].as_str().unwrap().to_owned();
            let key = TraceCode::parse(&code).unwrap().pack_key();
            (boxes.contains(&key) || cases.contains(&key)).then_some(code)
        })
        .collect();
    assert!(
        lines_except(&plain.path().join("events.jsonl"), &BTreeSet::new())
            == lines_except(&dir.path().join("events.jsonl"), &case_codes)
    );

    let ledger = Ledger::new(MemStore::new(), catalog(dir.path()), Policy::default());
    for batch in json.chunks(1_000) {
        for (e, d) in batch.iter().zip(ledger.record_batch(batch).unwrap()) {
            if matches!(e.kind, EventKind::PackInto { .. } | EventKind::Open)
                || cases.contains(&e.pack)
            {
                assert_eq!(d.outcome, Outcome::Accepted, "{e:?}");
            }
        }
    }
    // Every box was moved with its case: it was taken in where its case was, and every
    // case was opened.
    for case in &cases {
        assert!(ledger.case_contents(case).unwrap().is_empty(), "{case:?}");
    }
    let caught = planted_cases_caught(&ledger, dir.path());
    assert!(
        caught.get("case_box_diverted").copied().unwrap_or(0) >= 10,
        "{caught:?}"
    );
    let diverted: BTreeSet<PackKey> = truth(dir.path())
        .iter()
        .filter(|c| c["kind"] == "case_box_diverted")
        .flat_map(|c| strings(c, "codes"))
        .map(|c| TraceCode::parse(&c).unwrap().pack_key())
        .collect();
    for b in &boxes {
        let log = ledger.history(b).unwrap();
        let intake = log
            .iter()
            .find(|r| matches!(r.event.kind, EventKind::Intake(_)))
            .expect("a box is taken in with its case");
        for r in &log {
            if let EventKind::Sale(_) = r.event.kind {
                assert_eq!(r.outcome, Outcome::Accepted);
                let here = r.event.actor == intake.event.actor;
                assert_eq!(here, !diverted.contains(b), "{b:?}");
            }
        }
    }
}
