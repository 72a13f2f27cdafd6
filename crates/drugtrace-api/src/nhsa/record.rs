//! What every writing transaction shares: reading the fields common to its records, turning
//! records into one event per trace code, recording a call's events in one atomic commit,
//! and answering per code.

use drugtrace_catalog::InsuranceCode;
use drugtrace_code::TraceCode;
use drugtrace_ledger::{
    Authority, Batch, Date, Decision, Event, EventKind, InstitutionId, Lot, Movement, MovementKind,
    Policy, Store, Timestamp, UploadId, VisitId,
};
use serde::Serialize;
use serde_json::Value;

use super::read::{Fault, Obj, Owned, date, local_time, time};
use crate::{ApiError, AppState};

/// Trace codes in one call at most (the body limit allows about this many).
pub const MAX_CODES: usize = 10_000;

/// What reading a record needs besides the record.
pub struct Ctx {
    /// The caller, who is the envelope's `fixmedins_code`.
    pub me: InstitutionId,
    /// The installation's local time zone, minutes east of UTC.
    pub offset: i32,
    /// The envelope's `inf_time`: the time of records that carry none.
    pub inf_time: Timestamp,
    /// Who calls, to the gate's permission rules.
    pub by: Authority,
    /// The server's clock when the call arrived, which every time read is checked against.
    pub now: Timestamp,
}

impl Ctx {
    /// The record's time from field `name`, else the envelope's `inf_time`.
    pub fn at(&self, rec: &Obj<'_>, name: &str) -> Result<Timestamp, Fault> {
        let at = rec.parsed(name, |t| {
            let at = time(t, self.offset)?;
            Policy::check_claimed_time(at, self.now, self.offset).map_err(|e| e.to_string())?;
            Ok::<_, String>(at)
        })?;
        Ok(at.unwrap_or(self.inf_time))
    }

    /// The pack's lot: batch and expiry from the code itself when it carries them (GS1),
    /// else from the record's `manu_lotnum` and `expy_end` (what the institution's system
    /// says of the line). `无` and `-`, which systems send for "none", are none.
    pub fn lot(&self, rec: &Obj<'_>, code: &TraceCode, at: Timestamp) -> Result<Lot, Fault> {
        let none = |t: &str| matches!(t, "无" | "-" | "/" | "--");
        let batch = match code.batch().and_then(|b| Batch::parse(b).ok()) {
            Some(b) => Some(b),
            None => rec
                .parsed("manu_lotnum", |t| {
                    if none(t) {
                        Ok(None)
                    } else {
                        Batch::parse(t).map(Some)
                    }
                })?
                .flatten(),
        };
        let expiry = match code.expiry().and_then(|x| Date::from_expiry(x, at)) {
            Some(x) => Some(x),
            None => rec
                .parsed("expy_end", |t| {
                    if none(t) {
                        Ok(None)
                    } else {
                        date(t, self.offset).map(Some)
                    }
                })?
                .flatten(),
        };
        Ok(Lot {
            batch,
            expiry,
            ..Lot::of_code(code, at)
        })
    }
}

/// The product a record names in `med_list_codg`, if any.
pub fn product(rec: &Obj<'_>) -> Result<Option<InsuranceCode>, Fault> {
    rec.parsed("med_list_codg", InsuranceCode::parse)
}

/// `trdn_flag`: whether the line is a split sale or return (拆零), `0` when absent.
pub fn split(rec: &Obj<'_>) -> Result<bool, Fault> {
    match rec.text("trdn_flag")?.as_deref() {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(Fault::at(
            &rec.field_path("trdn_flag"),
            format!("expected 0 or 1, got {other:?}"),
        )),
    }
}

/// A record's trace codes, each with its path.
pub type Codes = Vec<(String, TraceCode)>;

/// The trace codes of each record of a call: its own, or the codes some systems put beside
/// the records in `input.drugtracinfo` (or `input.drug_trac_codg`). A record whose codes do
/// not read gets its fault, which refuses that record only.
///
/// Codes beside the records go to the one record that has none of its own: in a call with
/// a single record (as always), or in a batch where exactly one record has no codes. In a
/// batch where that is ambiguous (two records or more without codes, or none), the call is
/// refused: which pack belongs to which record would be a guess.
pub fn codes_of(
    input: &Obj<'_>,
    records: &[Owned<'_>],
) -> Result<Vec<Result<Codes, Fault>>, Fault> {
    let mut own: Vec<Result<Codes, Fault>> = records.iter().map(|r| r.obj().codes()).collect();
    let uncoded: Vec<usize> = own
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, Ok(v) if v.is_empty()))
        .map(|(i, _)| i)
        .collect();
    if records.len() == 1 {
        // A single record keeps its own codes, if any, and else takes those beside it.
        if uncoded.len() == 1 {
            own[0] = input.codes();
        }
        return Ok(own);
    }
    let Some((field, n)) = input.code_entries() else {
        return Ok(own);
    };
    if let [only] = uncoded[..] {
        own[only] = input.codes();
        return Ok(own);
    }
    let codes = if n == 1 {
        "1 code".to_owned()
    } else {
        format!("{n} codes")
    };
    let why = if uncoded.is_empty() {
        format!(
            "{codes} beside {} records that all carry codes of their own",
            records.len()
        )
    } else {
        let paths: Vec<&str> = uncoded.iter().map(|&i| records[i].path.as_str()).collect();
        format!(
            "{codes} beside {} records without codes ({})",
            uncoded.len(),
            listed(&paths, 5, ", ")
        )
    };
    Err(Fault::at(
        &input.field_path(field),
        format!("{why}; put each record's codes in its own drugtracinfo"),
    ))
}

/// The first `max` of `items` joined by `sep`, and how many more there are.
fn listed(items: &[impl AsRef<str>], max: usize, sep: &str) -> String {
    let mut s = items
        .iter()
        .take(max)
        .map(AsRef::as_ref)
        .collect::<Vec<&str>>()
        .join(sep);
    if items.len() > max {
        s.push_str(&format!("{sep}and {} more", items.len() - max));
    }
    s
}

/// The national data types of 3507 (`inv_data_type`), which records are uploaded under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// 1: stock counts (3501), which record nothing here.
    StockCount,
    /// 2: stock changes (3502).
    StockChange,
    /// 3: purchases and purchase returns (3503, 3504).
    Purchase,
    /// 4: sales and sale returns (3505, 3506).
    Sale,
}

impl DataType {
    /// The type named by `inv_data_type`.
    pub fn parse(s: &str) -> Option<DataType> {
        Some(match s {
            "1" => DataType::StockCount,
            "2" => DataType::StockChange,
            "3" => DataType::Purchase,
            "4" => DataType::Sale,
            _ => return None,
        })
    }

    fn digit(self) -> char {
        match self {
            DataType::StockCount => '1',
            DataType::StockChange => '2',
            DataType::Purchase => '3',
            DataType::Sale => '4',
        }
    }
}

/// The ledger's name for an institution's upload batch `fixmedins_bchno` of data type
/// `data`: `{inv_data_type}/{fixmedins_bchno}`, so that a 3507 of one type's batch voids
/// that type's records only, even where a client gives every type the same number.
pub fn upload_id(data: DataType, bchno: &str) -> Result<UploadId, String> {
    UploadId::parse(&format!("{}/{}", data.digit(), bchno.trim())).map_err(|e| {
        format!("{e} (an upload batch number is at most 62 printable ASCII characters)")
    })
}

/// The events of one record, while it is read: kept only if the whole record reads.
pub struct Row {
    events: Vec<(String, Event)>,
    upload: Option<UploadId>,
    /// For a record without trace codes that names its product: the stock movement.
    movement: Option<Movement>,
}

impl Row {
    /// The events of record `rec`, of national data type `data` (`inv_data_type`: 2 stock
    /// changes, 3 purchases and their returns, 4 sales and their returns). Each carries the
    /// record's upload batch as [`upload_id`] names it, which a later 3507 voids it by.
    pub fn of(rec: &Obj<'_>, data: DataType) -> Result<Row, Fault> {
        let upload = rec
            .text("fixmedins_bchno")?
            .map(|b| {
                upload_id(data, &b).map_err(|e| Fault::at(&rec.field_path("fixmedins_bchno"), e))
            })
            .transpose()?;
        Ok(Row {
            events: Vec::new(),
            upload,
            movement: None,
        })
    }

    /// Keeps a record without trace codes as a product-level stock movement (it carries the
    /// record's upload batch).
    pub fn codeless(&mut self, mut movement: Movement) {
        movement.upload = self.upload.clone();
        self.movement = Some(movement);
    }

    /// Adds the event of the record's code `code`.
    pub fn push(&mut self, code: &TraceCode, mut event: Event) {
        event.upload = self.upload.clone();
        self.events.push((code.to_string(), event));
    }
}

/// The events a call will record, and which record and code each answers for.
#[derive(Default)]
pub struct Plan {
    events: Vec<Event>,
    movements: Vec<Movement>,
    items: Vec<Item>,
    rows: usize,
}

struct Item {
    record: usize,
    entry: Entry,
}

enum Entry {
    /// A code and its event's index.
    Code(String, usize),
    /// A record without trace codes or product: nothing can be recorded for it.
    Uncoded,
    /// A record without trace codes, kept as a stock movement.
    Movement,
    /// A record that does not read, and why: it is not recorded.
    Refused(String),
}

impl Plan {
    /// Adds record `record`: its events, or the fault that refuses it. Only a call over
    /// [`MAX_CODES`] codes is refused whole.
    pub fn add(&mut self, record: usize, row: Result<Row, Fault>) -> Result<(), Fault> {
        self.rows += 1;
        let entry = match row {
            Err(f) => Entry::Refused(f.0),
            Ok(Row {
                events,
                movement: Some(m),
                ..
            }) if events.is_empty() => {
                let mut m = m;
                m.line = u32::try_from(record).unwrap_or(u32::MAX);
                self.movements.push(m);
                Entry::Movement
            }
            Ok(row) if row.events.is_empty() => Entry::Uncoded,
            Ok(row) => {
                if self.events.len() + row.events.len() > MAX_CODES {
                    return Err(Fault(format!(
                        "more than {MAX_CODES} trace codes in one call; split it"
                    )));
                }
                for (code, event) in row.events {
                    self.items.push(Item {
                        record,
                        entry: Entry::Code(code, self.events.len()),
                    });
                    self.events.push(event);
                }
                return Ok(());
            }
        };
        self.items.push(Item { record, entry });
        Ok(())
    }

    /// The plan, unless every record was refused: then the call is refused (infcode -1)
    /// with the first records' faults, and a single record's fault as it is.
    pub fn finish(self) -> Result<Plan, Fault> {
        let refused: Vec<&str> = self
            .items
            .iter()
            .filter_map(|i| match &i.entry {
                Entry::Refused(m) => Some(m.as_str()),
                _ => None,
            })
            .collect();
        match all_refused(self.rows, &refused) {
            Some(f) => Err(f),
            None => Ok(self),
        }
    }

    /// The events planned so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Records the plan's events in one atomic, durable commit and answers per code.
    pub async fn record<S: Store + Sync + 'static>(
        self,
        state: &AppState<S>,
        by: Authority,
        offset: i32,
    ) -> Result<(Value, Option<String>), ApiError> {
        let Plan {
            events,
            movements,
            items,
            rows,
        } = self;
        let sales: Vec<bool> = events
            .iter()
            .map(|e| matches!(e.kind, EventKind::Sale(_)))
            .collect();
        let decisions = if events.is_empty() {
            Vec::new()
        } else {
            state.record(events, by).await?
        };
        // After the events: a movement's answer is lost with them if this fails, and a
        // resent record is kept once.
        let kept = if movements.is_empty() {
            0
        } else {
            state
                .blocking(move |inner| {
                    inner
                        .ledger
                        .add_movements(&movements)
                        .map_err(ApiError::internal)
                })
                .await?
        };
        let mut blocked = Vec::new();
        let results: Vec<CodeResult> = items
            .into_iter()
            .map(|item| match item.entry {
                Entry::Uncoded => CodeResult::uncoded(item.record),
                Entry::Movement => CodeResult::movement(item.record),
                Entry::Refused(m) => CodeResult::refused(item.record, m),
                Entry::Code(code, i) => {
                    let r = CodeResult::of(item.record, code, &decisions[i], offset);
                    if sales[i] && r.outcome == "rejected" {
                        let code = r.drug_trac_codg.clone().unwrap_or_default();
                        blocked.push(format!("{code} {}", r.reason.unwrap_or("rejected")));
                    }
                    r
                }
            })
            .collect();
        let recorded = decisions.iter().filter(|d| !d.replayed).count() + kept;
        let sold = sales.iter().filter(|&&s| s).count();
        let mut problems = refusals(rows, &results);
        if !blocked.is_empty() {
            problems.push(format!(
                "{} of {sold} sales blocked: {}",
                blocked.len(),
                listed(&blocked, 5, "; ")
            ));
        }
        let done = format!(
            "{}, {} recorded",
            count(rows, "record", "records"),
            count(recorded, "event", "events")
        );
        output(recorded, results, problems, done)
    }
}

/// `n thing` or `n things`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The refusal of a call whose every record was refused, if that is so.
fn all_refused(rows: usize, refused: &[&str]) -> Option<Fault> {
    if rows == 0 || refused.len() < rows {
        return None;
    }
    if let [only] = refused {
        return Some(Fault((*only).to_owned()));
    }
    Some(Fault(format!(
        "all {rows} records were refused, nothing was recorded: {}",
        listed(refused, 3, "; ")
    )))
}

/// The summary of the records refused, if any were (the answer's `msgRslt`).
fn refusals(rows: usize, results: &[CodeResult]) -> Vec<String> {
    let refused: Vec<&str> = results
        .iter()
        .filter_map(|r| r.message.as_deref())
        .collect();
    if refused.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{} of {rows} refused, not recorded: {}",
        count(refused.len(), "record", "records"),
        listed(&refused, 3, "; ")
    )]
}

/// The output of a writing or checking call: `retRslt` `1` when every record was taken and
/// no sale was blocked, else `0` with the problems in `msgRslt` (which the envelope's
/// `err_msg` then repeats); both at `output.result` and at `output` itself, where clients
/// read them.
fn output(
    recorded: usize,
    results: Vec<CodeResult>,
    problems: Vec<String>,
    done: String,
) -> Result<(Value, Option<String>), ApiError> {
    let warn = summary(&results);
    let output = serde_json::to_value(WriteOutput {
        recorded,
        verdict: Verdict::of(&problems, done),
        results,
    })
    .map_err(ApiError::internal)?;
    Ok((output, warn))
}

/// `warn_msg`: how many codes need the institution's attention, if any do.
fn summary(results: &[CodeResult]) -> Option<String> {
    let count = |o: &str| results.iter().filter(|r| r.outcome == o).count();
    let (rejected, flagged, uncoded, refused, moved) = (
        count("rejected"),
        count("flagged"),
        count("not_recorded"),
        count("refused"),
        count("movement"),
    );
    if rejected + flagged + uncoded + refused + moved == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if rejected > 0 {
        parts.push(format!("{rejected} rejected"));
    }
    if flagged > 0 {
        parts.push(format!("{flagged} flagged"));
    }
    if moved > 0 {
        parts.push(format!(
            "{moved} records without a trace code kept as stock movements"
        ));
    }
    if uncoded > 0 {
        parts.push(format!(
            "{uncoded} records without a trace code or product, not recorded"
        ));
    }
    if refused > 0 {
        parts.push(format!("{refused} records refused"));
    }
    Some(format!(
        "{} of {} results: see output.results",
        parts.join(", "),
        results.len()
    ))
}

/// The output of a writing transaction.
#[derive(Serialize)]
struct WriteOutput {
    /// Events newly recorded (a repeated settlement's sale is answered, not recorded again).
    recorded: usize,
    #[serde(flatten)]
    verdict: Verdict,
    /// One result per trace code (and per record without codes, or refused), in request
    /// order.
    results: Vec<CodeResult>,
}

/// `retRslt` (`1`: every record taken and no sale blocked; `0`: not so) and `msgRslt` (a
/// short summary).
#[derive(Serialize)]
struct RetRslt {
    #[serde(rename = "retRslt")]
    ret_rslt: &'static str,
    #[serde(rename = "msgRslt")]
    msg_rslt: String,
}

/// The national convention's business result of a call, in the two places clients read it:
/// `result.retRslt`/`result.msgRslt` (most clients) and `retRslt`/`msgRslt` beside it
/// (others). Flattened into each output.
#[derive(Serialize)]
pub struct Verdict {
    /// Where most clients read it.
    result: RetRslt,
    /// The same `retRslt`, where other clients read it.
    #[serde(rename = "retRslt")]
    ret_rslt: &'static str,
    /// The same `msgRslt`.
    #[serde(rename = "msgRslt")]
    msg_rslt: String,
}

impl Verdict {
    /// `"1"` with `done` when there are no `problems`, else `"0"` with them joined.
    pub fn of(problems: &[String], done: String) -> Verdict {
        let (ret, msg) = if problems.is_empty() {
            ("1", done)
        } else {
            ("0", problems.join("; "))
        };
        Verdict {
            result: RetRslt {
                ret_rslt: ret,
                msg_rslt: msg.clone(),
            },
            ret_rslt: ret,
            msg_rslt: msg,
        }
    }

    /// The problems, for `warn_msg`, when there are any.
    pub fn problems(&self) -> Option<String> {
        (self.ret_rslt == "0").then(|| self.msg_rslt.clone())
    }
}

/// What the ledger decided about one trace code.
#[derive(Serialize)]
pub struct CodeResult {
    /// The record's index in the request (0 for the single forms).
    record: usize,
    /// The trace code, as the ledger reads it.
    drug_trac_codg: Option<String>,
    /// `accepted`, `flagged`, `rejected`; `not_recorded` for a record without codes;
    /// `refused` for a record that does not read.
    outcome: &'static str,
    /// Why it was flagged or rejected (`already_sold`, `unknown_code`, `recalled`, ...).
    reason: Option<&'static str>,
    /// A repeat of a settlement already decided: this is the earlier answer.
    replayed: bool,
    /// For sales and packs flagged `already_sold`: the pack's earlier sales.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prior_sales: Vec<PriorSale>,
    /// For a record `refused`: the field and the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// An earlier sale of the pack, with national-style names. The buyer is never shown.
#[derive(Serialize)]
pub struct PriorSale {
    /// The institution that sold it.
    pub fixmedins_code: String,
    /// When (local `YYYY-MM-DD HH:MM:SS`).
    pub sel_retn_time: String,
    /// Units sold.
    pub sel_retn_cnt: u32,
    /// `1` settled by the insurance fund, `2` self-paid.
    pub mdtrt_setl_type: &'static str,
}

impl PriorSale {
    /// The pack's sales before a decision, as the interface names them.
    pub fn of(d: &Decision, offset: i32) -> Vec<PriorSale> {
        d.prior_sales
            .iter()
            .map(|s| PriorSale {
                fixmedins_code: s.institution.to_string(),
                sel_retn_time: local_time(s.at, offset),
                sel_retn_cnt: s.units,
                mdtrt_setl_type: setl_type(s.fund_paid),
            })
            .collect()
    }
}

impl CodeResult {
    fn of(record: usize, code: String, d: &Decision, offset: i32) -> CodeResult {
        CodeResult {
            record,
            drug_trac_codg: Some(code),
            outcome: d.outcome.as_str(),
            reason: d.outcome.reason().map(|r| r.as_str()),
            replayed: d.replayed,
            prior_sales: PriorSale::of(d, offset),
            message: None,
        }
    }

    /// A result for a code that is checked but not recorded (a stock count).
    pub fn checked(
        record: usize,
        code: String,
        outcome: &'static str,
        reason: Option<&'static str>,
    ) -> CodeResult {
        CodeResult {
            record,
            drug_trac_codg: Some(code),
            outcome,
            reason,
            replayed: false,
            prior_sales: Vec::new(),
            message: None,
        }
    }

    /// The result of a record without trace codes kept as a product-level stock movement.
    pub fn movement(record: usize) -> CodeResult {
        CodeResult {
            record,
            drug_trac_codg: None,
            outcome: "movement",
            reason: Some("no_code"),
            replayed: false,
            prior_sales: Vec::new(),
            message: None,
        }
    }

    /// The result of a record without trace codes or product: nothing could be recorded.
    pub fn uncoded(record: usize) -> CodeResult {
        CodeResult {
            record,
            drug_trac_codg: None,
            outcome: "not_recorded",
            reason: Some("no_code"),
            replayed: false,
            prior_sales: Vec::new(),
            message: None,
        }
    }

    /// The result of a record that does not read: it was not recorded, and `message` says
    /// which field has which problem.
    pub fn refused(record: usize, message: String) -> CodeResult {
        CodeResult {
            record,
            drug_trac_codg: None,
            outcome: "refused",
            reason: None,
            replayed: false,
            prior_sales: Vec::new(),
            message: Some(message),
        }
    }

    /// The record's index in the request.
    pub fn record(&self) -> usize {
        self.record
    }
}

/// The visit ids a record names, in the order a sale keeps them: the platform's `mdtrt_id`,
/// then the institution's own `mdtrt_sn`. Each is only a lookup key, so text no identifier
/// may hold is kept as its digest ([`VisitId::or_digest`]) rather than refusing the record.
pub fn visit_ids(rec: &Obj<'_>) -> Result<Vec<VisitId>, Fault> {
    Ok([rec.text("mdtrt_id")?, rec.text("mdtrt_sn")?]
        .into_iter()
        .flatten()
        .map(|t| VisitId::or_digest(&t))
        .collect())
}

/// `mdtrt_setl_type` for a sale.
pub fn setl_type(fund_paid: bool) -> &'static str {
    if fund_paid { "1" } else { "2" }
}

/// A quantity read with `scale` decimals (a count of packs or units), in thousandths; its
/// sign is dropped (some systems send losses as negative counts).
pub fn milli(quantity: i128, scale: u32) -> i64 {
    let q = quantity.abs();
    let m = if scale >= 3 {
        q / 10i128.pow(scale - 3)
    } else {
        q * 10i128.pow(3 - scale)
    };
    i64::try_from(m).unwrap_or(i64::MAX)
}

/// The movement of a record without trace codes: the caller's, of `product`, at `at`.
pub fn movement(ctx: &Ctx, product: InsuranceCode, at: Timestamp, kind: MovementKind) -> Movement {
    Movement {
        institution: ctx.me.clone(),
        product,
        at,
        kind,
        quantity_milli: 0,
        split: false,
        amount_fen: 0,
        fund_paid: false,
        settlement: None,
        upload: None,
        line: 0,
        revision: 0,
    }
}

/// An event of the caller's.
pub fn event(ctx: &Ctx, code: &TraceCode, at: Timestamp, lot: Lot, kind: EventKind) -> Event {
    Event {
        pack: code.pack_key(),
        at,
        actor: ctx.me.clone(),
        lot,
        kind,
        upload: None,
    }
}

/// The per-code answer of a check over `rows` records that records nothing (a stock
/// count), with a `warn_msg` when some code needs attention. The call is refused when every
/// record was.
pub fn checked_output(
    rows: usize,
    results: Vec<CodeResult>,
) -> Result<Result<(Value, Option<String>), ApiError>, Fault> {
    let refused: Vec<&str> = results
        .iter()
        .filter_map(|r| r.message.as_deref())
        .collect();
    if let Some(f) = all_refused(rows, &refused) {
        return Err(f);
    }
    let problems = refusals(rows, &results);
    let done = format!(
        "{} checked, nothing recorded",
        count(rows, "record", "records")
    );
    Ok(output(0, results, problems, done))
}
