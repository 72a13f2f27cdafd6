//! The models on small hand-written cases, one file per situation under `tests/models/`:
//! each file lists products, institutions and events in the order they reach the ledger,
//! then the findings that must and must not come out. The events go through the ledger's
//! gate as the parties' own submissions, so refused attempts are refused as they would be in
//! production; a line may say what the gate must decide, so a case cannot drift from the
//! situation it describes.
//!
//! # The format
//! Blank lines and `#` comments are skipped. A line is one of:
//!
//! ```text
//! product A XR05CBA198A001010100863 8100001 units=10 [maker=M1]
//! institution P1 pharmacy 35 3501
//! 0+10:00 P1 sale A1 settle=S1 person=p1 product=A amount=1850 => rejected already_sold
//! expect duplicate_sale code=A1 institution=P1 severity=high [count=2]
//! never substitution code=A1
//! ```
//!
//! - `product LETTER INSURANCE_CODE DRUG_ID_PREFIX units=N`: pack `A7` is the code
//!   `prefix` followed by the 13-digit serial 7.
//! - `institution CODE KIND PROVINCE CITY`.
//! - An event: `DAY+HH:MM` (local time, days after 2025-06-02), actor, kind, pack, fields,
//!   and optionally `=> accepted | flagged REASON | rejected REASON | replayed`. Kinds and
//!   fields: `commission`; `ship to=X`; `receive from=X`; `intake from=X product=A`;
//!   `stock_change type=101`; `sale settle=S person=p units=N product=A amount=FEN [self]`
//!   (`self`: not fund-paid); `sale_return settle=S units=N`; `void upload=U`; any event
//!   may carry `upload=U` and `as=operator` (submitted as the operator's back-fill, else as
//!   the actor's own, by its kind in the directory).
//! - `expect MODEL FIELD=VALUE… [count=N]`: exactly `count` (default 1) findings of the
//!   model match every field; `never MODEL FIELD=VALUE…`: none does. Fields: `code` (a pack,
//!   or `-` for none), `institution`, `related`, `severity`, `product` (a letter).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use drugtrace_analytics::Table;
use drugtrace_catalog::{Catalog, Directory, InstitutionKind, InsuranceCode};
use drugtrace_code::{ChinaCode, PackKey};
use drugtrace_ledger::{
    Authority, Event, EventKind, InstitutionId, Intake, Ledger, Lot, MemStore, PersonKey, Policy,
    Sale, SaleReturn, SettlementId, StockChange, Submission, Timestamp, UploadId, Void,
};

/// 2025-06-02 00:00 at UTC+08:00.
const BASE_MS: i64 = 1_748_793_600_000;

struct Product {
    insurance_code: String,
    prefix: u128,
}

/// A finding the case file expects (`count` of them) or forbids (`count` 0, `never`).
struct Expectation {
    line: usize,
    model: String,
    fields: Vec<(String, String)>,
    count: usize,
    never: bool,
}

struct Case {
    products: BTreeMap<String, Product>,
    institutions: BTreeMap<String, InstitutionKind>,
    catalog_csv: String,
    directory_csv: String,
    events: Vec<(usize, Event, Authority, Option<String>)>,
    expectations: Vec<Expectation>,
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    let (day, clock) = s.split_once('+').ok_or("a time is DAY+HH:MM")?;
    let (h, m) = clock.split_once(':').ok_or("a time is DAY+HH:MM")?;
    let day: i64 = day.parse().map_err(|_| "bad day")?;
    let h: i64 = h.parse().map_err(|_| "bad hour")?;
    let m: i64 = m.parse().map_err(|_| "bad minute")?;
    Ok(Timestamp::from_millis(
        BASE_MS + day * 86_400_000 + (h * 60 + m) * 60_000,
    ))
}

impl Case {
    fn pack(&self, name: &str) -> Result<PackKey, String> {
        let (letter, serial) = name.split_at(1);
        let product = self
            .products
            .get(letter)
            .ok_or_else(|| format!("pack {name}: no product {letter}"))?;
        let serial: u128 = serial
            .parse()
            .map_err(|_| format!("pack {name}: the serial is not a number"))?;
        ChinaCode::from_value(product.prefix * 10_u128.pow(13) + serial)
            .map(ChinaCode::pack_key)
            .ok_or_else(|| format!("pack {name} is not a code"))
    }

    fn product(&self, letter: &str) -> Result<InsuranceCode, String> {
        let p = self
            .products
            .get(letter)
            .ok_or_else(|| format!("no product {letter}"))?;
        InsuranceCode::parse(&p.insurance_code).map_err(|e| e.to_string())
    }

    fn parse(text: &str) -> Result<Case, (usize, String)> {
        let mut case = Case {
            products: BTreeMap::new(),
            institutions: BTreeMap::new(),
            catalog_csv: "insurance_code,drug_id_prefix,gtin,generic_name,trade_name,\
                          specification,manufacturer,approval_number,units_per_pack,\
                          manufacturer_code\n"
                .to_string(),
            directory_csv: "code,name,kind,province,city,lat,lon\n".to_string(),
            events: Vec::new(),
            expectations: Vec::new(),
        };
        let persons = PersonKey::from_bytes([7; 32]);
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            case.parse_line(line, &persons).map_err(|e| (n, e))?;
            if let Some(last) = case.events.last_mut().filter(|e| e.0 == 0) {
                last.0 = n;
            }
            if let Some(last) = case.expectations.last_mut().filter(|e| e.line == 0) {
                last.line = n;
            }
        }
        Ok(case)
    }

    fn parse_line(&mut self, line: &str, persons: &PersonKey) -> Result<(), String> {
        let (line, outcome) = match line.split_once("=>") {
            Some((l, o)) => (l.trim(), Some(o.trim().to_string())),
            None => (line, None),
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let fields: BTreeMap<&str, &str> = words.iter().filter_map(|w| w.split_once('=')).collect();
        let flags: Vec<&str> = words.iter().copied().filter(|w| !w.contains('=')).collect();
        let field = |k: &str| fields.get(k).copied();
        match words[0] {
            "product" => {
                let [_, letter, code, prefix, ..] = flags[..] else {
                    return Err("product LETTER INSURANCE_CODE PREFIX units=N".into());
                };
                let units = field("units").unwrap_or("1");
                let maker = field("maker").unwrap_or("");
                writeln!(
                    self.catalog_csv,
                    "{code},{prefix},,药品{letter},商品{letter},规格,厂家,国药准字{letter},{units},{maker}"
                )
                .unwrap();
                self.products.insert(
                    letter.to_string(),
                    Product {
                        insurance_code: code.to_string(),
                        prefix: prefix.parse().map_err(|_| "the prefix is not a number")?,
                    },
                );
            }
            "institution" => {
                let [_, code, kind, province, city] = flags[..] else {
                    return Err("institution CODE KIND PROVINCE CITY".into());
                };
                let k = match kind {
                    "manufacturer" => InstitutionKind::Manufacturer,
                    "distributor" => InstitutionKind::Distributor,
                    "hospital" => InstitutionKind::Hospital,
                    "pharmacy" => InstitutionKind::Pharmacy,
                    other => return Err(format!("no institution kind {other}")),
                };
                writeln!(
                    self.directory_csv,
                    "{code},机构{code},{kind},{province},{city},,"
                )
                .unwrap();
                self.institutions.insert(code.to_string(), k);
            }
            "expect" | "never" => {
                let model = flags.get(1).ok_or("which model?")?.to_string();
                let never = words[0] == "never";
                let count = match field("count") {
                    Some(c) => c.parse().map_err(|_| "count is not a number")?,
                    None => usize::from(!never),
                };
                let fields = fields
                    .iter()
                    .filter(|(k, _)| **k != "count")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                self.expectations.push(Expectation {
                    line: 0,
                    model,
                    fields,
                    count,
                    never,
                });
            }
            _ => {
                let [at, actor, kind, pack, ..] = flags[..] else {
                    return Err("an event is TIME ACTOR KIND PACK FIELDS…".into());
                };
                let institution = |k: &str| -> Result<Option<InstitutionId>, String> {
                    field(k)
                        .map(|c| InstitutionId::parse(c).map_err(|e| e.to_string()))
                        .transpose()
                };
                let settlement = field("settle")
                    .map(|s| SettlementId::parse(s).map_err(|e| e.to_string()))
                    .transpose()?;
                let units = field("units")
                    .map(|u| u.parse::<u32>().map_err(|_| "units is not a number"))
                    .transpose()?;
                let product = field("product").map(|p| self.product(p)).transpose()?;
                let kind = match kind {
                    "commission" => EventKind::Commission,
                    "ship" => EventKind::Ship {
                        to: institution("to")?,
                    },
                    "receive" => EventKind::Receive {
                        from: institution("from")?,
                    },
                    "intake" => EventKind::Intake(Intake {
                        supplier: institution("from")?,
                        product,
                    }),
                    "stock_change" => {
                        let code: u16 = field("type")
                            .ok_or("stock_change needs type=")?
                            .parse()
                            .map_err(|_| "type is not a number")?;
                        EventKind::StockChange(
                            StockChange::from_code(code).ok_or("no such stock change")?,
                        )
                    }
                    "sale" => EventKind::Sale(Sale {
                        settlement,
                        person: field("person").map(|p| persons.hash(p)),
                        units,
                        pack_units: None,
                        product,
                        amount_fen: field("amount")
                            .unwrap_or("1850")
                            .parse()
                            .map_err(|_| "amount is not a number")?,
                        fund_paid: !flags.contains(&"self"),
                        visit: None,
                    }),
                    "sale_return" => EventKind::SaleReturn(SaleReturn { settlement, units }),
                    "void" => EventKind::Void(Void {
                        upload: UploadId::parse(field("upload").ok_or("void needs upload=")?)
                            .map_err(|e| e.to_string())?,
                        voids: Vec::new(),
                    }),
                    other => return Err(format!("no event kind {other}")),
                };
                let upload = match (&kind, field("upload")) {
                    (EventKind::Void(_), _) | (_, None) => None,
                    (_, Some(u)) => Some(UploadId::parse(u).map_err(|e| e.to_string())?),
                };
                let by = if field("as") == Some("operator") {
                    Authority::Operator
                } else {
                    Authority::Party(
                        *self
                            .institutions
                            .get(actor)
                            .ok_or_else(|| format!("{actor} is not in the directory"))?,
                    )
                };
                let event = Event {
                    pack: self.pack(pack)?,
                    at: parse_time(at)?,
                    actor: InstitutionId::parse(actor).map_err(|e| e.to_string())?,
                    lot: Lot::default(),
                    kind,
                    upload,
                };
                self.events.push((0, event, by, outcome));
            }
        }
        Ok(())
    }

    /// What a finding's field reads as, in the file's terms.
    fn expected(&self, key: &str, value: &str) -> Result<String, String> {
        Ok(match (key, value) {
            ("code", "-") => String::new(),
            ("code", pack) => self.pack(pack)?.to_string(),
            ("product", letter) => self
                .products
                .get(letter)
                .ok_or_else(|| format!("product {letter} is not declared"))?
                .insurance_code
                .clone(),
            ("related", v) => v.to_string(),
            (_, v) => v.to_string(),
        })
    }
}

fn column(key: &str) -> &str {
    match key {
        "related" => "related_institution",
        k => k,
    }
}

fn outcome_text(d: &drugtrace_ledger::Decision) -> String {
    if d.replayed {
        return "replayed".into();
    }
    match d.outcome.reason() {
        Some(r) => format!("{} {r}", d.outcome.as_str()),
        None => d.outcome.as_str().to_string(),
    }
}

/// Runs one case file; the mismatches, each naming its line.
fn run(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let case = match Case::parse(&text) {
        Ok(c) => c,
        Err((line, e)) => return vec![format!("{name}:{line}: {e}")],
    };
    let mut catalog = Catalog::default();
    catalog
        .import_csv(case.catalog_csv.as_bytes(), &name)
        .unwrap_or_else(|e| panic!("{name}: the products: {e}"));
    let mut directory = Directory::default();
    directory
        .import_csv(case.directory_csv.as_bytes(), &name)
        .unwrap_or_else(|e| panic!("{name}: the institutions: {e}"));
    let clock = Arc::new(AtomicI64::new(BASE_MS));
    let now = clock.clone();
    let ledger = Ledger::new(MemStore::new(), catalog.clone(), Policy::default())
        .with_clock(move || Timestamp::from_millis(now.load(Ordering::SeqCst)));
    let mut problems = Vec::new();
    for (line, event, by, outcome) in &case.events {
        // Each event reaches the server when it says it happened, or later: the clock never
        // goes back, so a line's time before an earlier one's is a late upload.
        clock.fetch_max(event.at.millis(), Ordering::SeqCst);
        let decisions = ledger
            .submit(&[Submission {
                events: vec![event.clone()],
                by: *by,
                settlement: false,
            }])
            .unwrap_or_else(|e| panic!("{name}:{line}: {e}"));
        let got = outcome_text(&decisions[0][0]);
        if let Some(want) = outcome
            && *want != got
        {
            problems.push(format!(
                "{name}:{line}: the gate decided {got}, the case says {want}"
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let warehouse = common::warehouse_with(ledger.store(), &catalog, &directory, dir.path());
    let named: Vec<&str> = case.expectations.iter().map(|x| x.model.as_str()).collect();
    problems.extend(each_pack_alone(
        &name,
        &named,
        ledger.store(),
        &catalog,
        &directory,
        &warehouse,
    ));
    let mut tables: BTreeMap<&str, Table> = BTreeMap::new();
    for x in &case.expectations {
        if !tables.contains_key(x.model.as_str()) {
            if drugtrace_analytics::model(&x.model).is_none() {
                problems.push(format!("{name}:{}: no model {}", x.line, x.model));
                continue;
            }
            tables.insert(&x.model, common::findings(&x.model, &warehouse));
        }
        let table = &tables[x.model.as_str()];
        let mut want = Vec::new();
        for (k, v) in &x.fields {
            match case.expected(k, v) {
                Ok(v) => want.push((column(k), v)),
                Err(e) => problems.push(format!("{name}:{}: {e}", x.line)),
            }
        }
        let matching = table
            .records()
            .filter(|r| want.iter().all(|(k, v)| r.text(k) == *v))
            .count();
        if matching != x.count {
            let rows: Vec<String> = table
                .records()
                .map(|r| {
                    format!(
                        "[code {} institution {} related {} severity {} product {} evidence {} detail {}]",
                        r.text("code"),
                        r.text("institution"),
                        r.text("related_institution"),
                        r.text("severity"),
                        r.text("product"),
                        r.text("evidence"),
                        r.text("detail")
                    )
                })
                .collect();
            problems.push(format!(
                "{name}:{}: {} {}{}: {matching} matching finding(s), the case says {}; the model found {}",
                x.line,
                if x.never { "never" } else { "expect" },
                x.model,
                x.fields
                    .iter()
                    .map(|(k, v)| format!(" {k}={v}"))
                    .collect::<String>(),
                x.count,
                if rows.is_empty() { "nothing".to_string() } else { rows.join(" ") }
            ));
        }
    }
    problems
}

/// A model marked `reads: pack` finds about a pack from that pack's events alone: over the
/// case's packs in two halves (every other pack), each half in a ledger of its own, it finds
/// about each pack what it finds among all of them. A model run over the changed packs only
/// (`Analytics::run_changed`) relies on it. Checked for the models the case names.
fn each_pack_alone(
    name: &str,
    named: &[&str],
    store: &MemStore,
    catalog: &Catalog,
    directory: &Directory,
    whole: &drugtrace_analytics::Warehouse,
) -> Vec<String> {
    use drugtrace_ledger::Store as _;
    let rows = |t: &Table, codes: Option<&[String]>| -> Vec<String> {
        let mut rows: Vec<String> = t
            .records()
            .filter(|r| codes.is_none_or(|c| c.contains(&r.text("code"))))
            .map(|r| {
                t.columns
                    .iter()
                    .map(|c| r.text(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect();
        rows.sort();
        rows
    };
    let pack_models: Vec<&str> = drugtrace_analytics::models()
        .iter()
        .filter(|m| m.reads == drugtrace_analytics::Reads::Pack && named.contains(&m.name.as_str()))
        .map(|m| m.name.as_str())
        .collect();
    if pack_models.is_empty() {
        return Vec::new();
    }
    let rt = common::rt();
    let within = common::findings_of(&pack_models, whole, &rt);
    let mut logs = Vec::new();
    store
        .scan_logs(&mut |key, log| {
            logs.push((key, log));
            Ok(())
        })
        .unwrap();
    let mut problems = Vec::new();
    for half in 0..2 {
        let part = MemStore::new();
        let mut codes = Vec::new();
        for (key, log) in logs.iter().skip(half).step_by(2) {
            codes.push(key.to_string());
            part.commit(vec![drugtrace_ledger::PackWrite {
                key: *key,
                expected: 0,
                events: log.clone(),
                state: drugtrace_ledger::PackState::fold(log.iter()),
            }])
            .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let warehouse = common::warehouse_with(&part, catalog, directory, dir.path());
        let found = common::findings_of(&pack_models, &warehouse, &rt);
        for m in &pack_models {
            let by_themselves = rows(&found[*m], None);
            let among_all = rows(&within[*m], Some(&codes));
            if by_themselves != among_all {
                problems.push(format!(
                    "{name}: {m} reads more than one pack: about {codes:?} by themselves it \
                     finds {by_themselves:?}, among the case's packs {among_all:?}"
                ));
            }
        }
    }
    problems
}

#[test]
fn every_case_file_gives_the_findings_it_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    let problems: Vec<String> = files.iter().flat_map(|f| run(f)).collect();
    assert!(
        problems.is_empty(),
        "{} mismatch(es):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_case_file_that_contradicts_the_gate_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.case");
    std::fs::write(
        &path,
        "product A XR05CBA198A001010100863 8100001 units=1\n\
         institution P1 pharmacy 35 3501\n\
         \n\
         0+10:00 P1 sale A1 settle=S1 person=p1 => rejected already_sold\n\
         expect duplicate_sale code=A1\n",
    )
    .unwrap();
    let problems = run(&path);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("bad.case:4: the gate decided"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("bad.case:5: expect duplicate_sale"),
        "{problems:?}"
    );
}
