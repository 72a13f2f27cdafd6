//! Data-driven tests of the gate: each file in `tests/gate/` is a story of events for a few
//! packs, each event with the outcome it must get. After every story, the stored states
//! must equal their logs' fold.
//!
//! A line is `KIND PACK ACTOR DATE [key=value ...] => OUTCOME`. PACK is a product letter and
//! a serial: `A` is a whole-pack product (XJ01CAA040A001010100001, drug identification code
//! 8100001), `S` a product sold in 10 units (ZB02BAF0001010100003, 8100003), `U` a product
//! not in the catalog (8100009). OUTCOME is `accepted`, `flagged:REASON`, `rejected:REASON`,
//! or `replayed:` followed by one of those. A line `policy unknown_code=block` or
//! `policy no_scan=YYYY-MM-DD` sets the policy for the story.
//!
//! Events are the operator's (judged at their own times, every kind permitted) unless a
//! line says `by=KIND` (`manufacturer`, `distributor`, `hospital`, `pharmacy` or
//! `regulator`): then they are judged as that party's, at the server's clock, which a line
//! `now YYYY-MM-DD` sets (noon local time). A line `settle ACTOR DATE settlement=S
//! items=A1,S2:3 [by=..] [person=..] => OUTCOME OUTCOME` is one settlement of several
//! items (PACK or PACK:UNITS), paid whole or not at all, with an outcome per item. A line
//! `recall PRODUCT batch=B` records a recall of a product's batch (by its letter: by drug
//! identification code for `A` and `U`, by insurance code for `S`), `recall PRODUCT` a
//! withdrawal of the whole product; neither has an outcome, and they cover what follows.
//!
//! Cases: `C` is a case code (drug identification code 8100005, not in the catalog).
//! `pack BOX ACTOR DATE case=CASE` packs a box into a case, `fill CASE ACTOR DATE
//! boxes=A1,A2` fills a case with boxes, `unpack BOX ...` takes a box out, `open CASE ...`
//! opens a case. After the outcome, `| A1=OUTCOME A2=OUTCOME` lists what the boxes inside a
//! case (or put into it) got, in any order. A line `contents CASE = A1,A2` (or `=` alone)
//! says what is inside a case now. `upload=U` names the upload batch an event came in;
//! `void PACK ACTOR DATE upload=U` voids the actor's records of that batch.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use drugtrace_catalog::{Catalog, InstitutionKind, InsuranceCode};
use drugtrace_code::{ChinaCode, PackKey};
use drugtrace_ledger::{
    Authority, Batch, Date, Event, EventKind, InstitutionId, Intake, Ledger, Lot, MemStore,
    Outcome, PackState, PersonKey, Policy, Reason, RebuildMode, RecalledProduct, Sale, SaleReturn,
    SettlementId, StockChange, Store, Submission, Timestamp, UnknownCodePolicy, UploadId, Void,
};

const CATALOG: &str = "\
insurance_code,drug_id_prefix,gtin,generic_name,trade_name,specification,manufacturer,approval_number,units_per_pack
XJ01CAA040A001010100001,8100001,,阿莫西林胶囊,阿莫仙,0.25g×24粒,示例制药,国药准字H33020001,1
ZB02BAF0001010100003,8100003,,复方阿胶浆,东阿阿胶,20ml×10支,示例阿胶,国药准字Z37020001,10
";

fn pack(token: &str) -> PackKey {
    let (product, serial) = token.split_at(1);
    let prefix: u128 = match product {
        "A" => 8_100_001,
        "S" => 8_100_003,
        "U" => 8_100_009,
        "C" => 8_100_005,
        other => panic!("unknown product letter {other}"),
    };
    let serial: u128 = serial.parse().expect("a numeric serial");
    ChinaCode::from_value(prefix * 10u128.pow(13) + serial)
        .expect("a valid code")
        .pack_key()
}

fn outcome(s: &str) -> (bool, Outcome) {
    let (replayed, s) = match s.strip_prefix("replayed:") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let reason = |r: &str| Reason::from_name(r).unwrap_or_else(|| panic!("unknown reason {r}"));
    let o = match s.split_once(':') {
        None if s == "accepted" => Outcome::Accepted,
        Some(("flagged", r)) => Outcome::Flagged(reason(r)),
        Some(("rejected", r)) => Outcome::Rejected(reason(r)),
        _ => panic!("bad outcome {s}"),
    };
    (replayed, o)
}

fn noon(date: &str) -> Timestamp {
    Timestamp::parse(&format!("{date}T12:00:00"), 480).expect("a date")
}

fn authority(kv: &std::collections::HashMap<&str, &str>) -> Authority {
    match kv.get("by").copied() {
        None | Some("operator") => Authority::Operator,
        Some("regulator") => Authority::Regulator,
        Some("manufacturer") => Authority::Party(InstitutionKind::Manufacturer),
        Some("distributor") => Authority::Party(InstitutionKind::Distributor),
        Some("hospital") => Authority::Party(InstitutionKind::Hospital),
        Some("pharmacy") => Authority::Party(InstitutionKind::Pharmacy),
        Some(other) => panic!("unknown party {other}"),
    }
}

fn fields(words: std::str::SplitWhitespace<'_>) -> std::collections::HashMap<&str, &str> {
    words
        .map(|w| w.split_once('=').unwrap_or_else(|| panic!("bad field {w}")))
        .collect()
}

/// The events of a `settle` line, one sale per item.
fn settlement(line: &str, people: &PersonKey) -> (Vec<Event>, Authority) {
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("settle"));
    let actor = InstitutionId::parse(words.next().expect("an actor")).unwrap();
    let at = noon(words.next().expect("a date"));
    let kv = fields(words);
    let events = kv["items"]
        .split(',')
        .map(|item| {
            let (code, units) = match item.split_once(':') {
                Some((c, u)) => (c, Some(u.parse().unwrap())),
                None => (item, None),
            };
            Event {
                upload: None,
                pack: pack(code),
                at,
                actor: actor.clone(),
                lot: Lot::default(),
                kind: EventKind::Sale(Sale {
                    settlement: kv
                        .get("settlement")
                        .map(|s| SettlementId::parse(s).unwrap()),
                    person: kv.get("person").map(|p| people.hash(p)),
                    units,
                    pack_units: None,
                    product: None,
                    amount_fen: 1000,
                    fund_paid: true,
                    visit: None,
                }),
            }
        })
        .collect();
    (events, authority(&kv))
}

fn event(line: &str, people: &PersonKey) -> (Event, Authority) {
    let mut words = line.split_whitespace();
    let kind = words.next().expect("a kind");
    let key = pack(words.next().expect("a pack"));
    let actor = InstitutionId::parse(words.next().expect("an actor")).unwrap();
    let at = noon(words.next().expect("a date"));
    let kv = fields(words);
    let inst = |k: &str| kv.get(k).map(|v| InstitutionId::parse(v).unwrap());
    let product = || kv.get("product").map(|v| InsuranceCode::parse(v).unwrap());
    let units = || kv.get("units").map(|v| v.parse::<u32>().unwrap());
    let lot = Lot {
        batch: kv.get("batch").map(|v| Batch::parse(v).unwrap()),
        expiry: kv.get("expiry").map(|v| Date::parse(v).unwrap()),
        ..Lot::default()
    };
    let kind = match kind {
        "commission" => EventKind::Commission,
        "ship" => EventKind::Ship { to: inst("to") },
        "receive" => EventKind::Receive { from: inst("from") },
        "intake" => EventKind::Intake(Intake {
            supplier: inst("supplier"),
            product: product(),
        }),
        "stock" => {
            EventKind::StockChange(StockChange::from_code(kv["change"].parse().unwrap()).unwrap())
        }
        "sale" => EventKind::Sale(Sale {
            settlement: kv
                .get("settlement")
                .map(|s| SettlementId::parse(s).unwrap()),
            person: kv.get("person").map(|p| people.hash(p)),
            units: units(),
            pack_units: None,
            product: product(),
            amount_fen: kv.get("amount").map_or(1000, |a| a.parse().unwrap()),
            fund_paid: kv.get("paid").is_none_or(|p| *p == "true"),
            visit: None,
        }),
        "return" => EventKind::SaleReturn(SaleReturn {
            settlement: kv
                .get("settlement")
                .map(|s| SettlementId::parse(s).unwrap()),
            units: units(),
        }),
        "destroy" => EventKind::Destroy,
        "recall" => EventKind::Recall,
        "pack" => EventKind::PackInto {
            case: pack(kv["case"]),
        },
        "fill" => EventKind::Fill {
            boxes: kv["boxes"].split(',').map(pack).collect(),
        },
        "unpack" => EventKind::Unpack,
        "open" => EventKind::Open,
        "void" => EventKind::Void(Void {
            upload: UploadId::parse(kv["upload"]).unwrap(),
            voids: Vec::new(),
        }),
        other => panic!("unknown kind {other}"),
    };
    let by = authority(&kv);
    let upload = match kind {
        EventKind::Void(_) => None,
        _ => kv.get("upload").map(|u| UploadId::parse(u).unwrap()),
    };
    (
        Event {
            upload,
            pack: key,
            at,
            actor,
            lot,
            kind,
        },
        by,
    )
}

fn run_story(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut catalog = Catalog::default();
    catalog.import_csv(CATALOG.as_bytes(), "catalog").unwrap();
    let mut policy = Policy::default();
    let people = PersonKey::from_bytes([7; 32]);
    let mut lines = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(p) = line.strip_prefix("policy ") {
            match p.split_once('=') {
                Some(("unknown_code", "block")) => policy.unknown_code = UnknownCodePolicy::Block,
                Some(("no_scan", d)) => policy.no_scan_no_settlement_from = Date::parse(d).ok(),
                _ => panic!("{}:{}: bad policy line", path.display(), n + 1),
            }
            continue;
        }
        lines.push((n + 1, line.to_owned()));
    }
    let now = Arc::new(AtomicI64::new(noon("2025-01-01").millis()));
    let clock = Arc::clone(&now);
    let ledger = Ledger::new(MemStore::new(), catalog, policy)
        .with_clock(move || Timestamp::from_millis(clock.load(Ordering::SeqCst)));
    for (n, line) in lines {
        if let Some(date) = line.strip_prefix("now ") {
            now.store(noon(date.trim()).millis(), Ordering::SeqCst);
            continue;
        }
        if let Some(rest) = line.strip_prefix("recall ")
            && !rest.contains("=>")
        {
            let mut words = rest.split_whitespace();
            let product = match words.next() {
                Some("A") => {
                    RecalledProduct::DrugId(drugtrace_code::DrugId::parse("8100001").unwrap())
                }
                Some("U") => {
                    RecalledProduct::DrugId(drugtrace_code::DrugId::parse("8100009").unwrap())
                }
                Some("S") => RecalledProduct::Insurance(
                    InsuranceCode::parse("ZB02BAF0001010100003").unwrap(),
                ),
                other => panic!("{}:{n}: unknown product {other:?}", path.display()),
            };
            let batch = fields(words).get("batch").map(|b| Batch::parse(b).unwrap());
            let mut recalls = (*ledger.recalls()).clone();
            recalls.add(
                product,
                batch,
                "regulator".into(),
                "story".into(),
                Timestamp::from_millis(now.load(Ordering::SeqCst)),
            );
            ledger.set_recalls(Arc::new(recalls));
            continue;
        }
        if let Some(rest) = line.strip_prefix("contents ") {
            let (case, want) = rest.split_once('=').expect("contents CASE = BOXES");
            let mut want: Vec<PackKey> = want
                .split(',')
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(pack)
                .collect();
            let mut got: Vec<PackKey> = ledger
                .case_contents(&pack(case.trim()))
                .unwrap()
                .into_iter()
                .filter(|i| i.inside)
                .map(|i| i.pack)
                .collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{}:{n}: {line}", path.display());
            continue;
        }
        let (event_text, expected) = line
            .split_once("=>")
            .unwrap_or_else(|| panic!("{}:{n}: no `=> OUTCOME`", path.display()));
        let (expected, want_boxes) = match expected.split_once('|') {
            Some((e, b)) => (e, Some(b)),
            None => (expected, None),
        };
        let (events, by, settlement) = if event_text.starts_with("settle ") {
            let (events, by) = settlement(event_text, &people);
            (events, by, true)
        } else {
            let (event, by) = event(event_text, &people);
            (vec![event], by, false)
        };
        let wants: Vec<(bool, Outcome)> = expected.split_whitespace().map(outcome).collect();
        assert_eq!(
            wants.len(),
            events.len(),
            "{}:{n}: an outcome per event",
            path.display()
        );
        let decisions = ledger
            .submit(&[Submission {
                events,
                by,
                settlement,
            }])
            .unwrap()
            .remove(0);
        let got: Vec<(bool, Outcome)> = decisions.iter().map(|d| (d.replayed, d.outcome)).collect();
        assert_eq!(got, wants, "{}:{n}: {line}", path.display());
        if let Some(want_boxes) = want_boxes {
            let mut want: Vec<(PackKey, Outcome)> = want_boxes
                .split_whitespace()
                .map(|w| {
                    let (b, o) = w.split_once('=').expect("BOX=OUTCOME");
                    (pack(b), outcome(o).1)
                })
                .collect();
            let mut got = decisions[0].boxes.clone();
            want.sort_by_key(|(k, _)| *k);
            got.sort_by_key(|(k, _)| *k);
            assert_eq!(got, want, "{}:{n}: the boxes of {line}", path.display());
        }
        for d in &decisions {
            if d.outcome == Outcome::Rejected(Reason::AlreadySold) {
                assert!(
                    !d.prior_sales.is_empty(),
                    "{}:{n}: a block shows the prior sales",
                    path.display()
                );
            }
        }
    }
    let report = ledger.rebuild(RebuildMode::Check).unwrap();
    assert_eq!(
        report.mismatched,
        vec![],
        "{}: rebuilt states differ",
        path.display()
    );
    ledger
        .store()
        .scan_logs(&mut |key, log| {
            assert_eq!(ledger.pack(&key)?.unwrap(), PackState::fold(&log));
            Ok(())
        })
        .unwrap();
}

#[test]
fn gate_stories() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gate");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the stories are there");
    for f in files {
        run_story(&f);
    }
}

#[test]
fn codeless_items_follow_the_no_scan_date() {
    let policy = Policy {
        no_scan_no_settlement_from: Date::from_ymd(2025, 7, 1),
        ..Policy::default()
    };
    let t = |s| Timestamp::parse(s, 480).unwrap();
    assert_eq!(
        policy.codeless_item(t("2025-06-30 23:59:59")),
        Outcome::Accepted
    );
    assert_eq!(
        policy.codeless_item(t("2025-07-01 00:00:00")),
        Outcome::Rejected(Reason::NoCode)
    );
}
