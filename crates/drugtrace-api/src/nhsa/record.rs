//! What every writing transaction shares: reading the fields common to its records, turning
//! records into one event per trace code, recording a call's events in one atomic commit,
//! and answering per code.

use drugtrace_catalog::InsuranceCode;
use drugtrace_code::TraceCode;
use drugtrace_ledger::{
    Authority, Batch, Date, Decision, Event, EventKind, InstitutionId, Lot, Policy, Store,
    Timestamp,
};
use serde::Serialize;
use serde_json::Value;

use super::read::{Fault, Obj, local_time, time};
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
                        Date::parse(t.get(..10).unwrap_or(t)).map(Some)
                    }
                })?
                .flatten(),
        };
        Ok(Lot { batch, expiry })
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

/// The events a call will record, and which record and code each answers for.
#[derive(Default)]
pub struct Plan {
    events: Vec<Event>,
    items: Vec<Item>,
}

struct Item {
    record: usize,
    /// The code and its event's index, or `None` for a record without trace codes.
    code: Option<(String, usize)>,
}

impl Plan {
    /// Adds the event of record `record`'s code `code`.
    pub fn push(&mut self, record: usize, code: &TraceCode, event: Event) -> Result<(), Fault> {
        if self.events.len() >= MAX_CODES {
            return Err(Fault(format!(
                "more than {MAX_CODES} trace codes in one call; split it"
            )));
        }
        self.items.push(Item {
            record,
            code: Some((code.to_string(), self.events.len())),
        });
        self.events.push(event);
        Ok(())
    }

    /// Notes a record that names no trace code: nothing can be recorded for it (the ledger
    /// keeps packs), and the answer says so.
    pub fn uncoded(&mut self, record: usize) {
        self.items.push(Item { record, code: None });
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
        let Plan { events, items } = self;
        let decisions = if events.is_empty() {
            Vec::new()
        } else {
            state.record(events, by).await?
        };
        let results: Vec<CodeResult> = items
            .into_iter()
            .map(|item| match item.code {
                None => CodeResult::uncoded(item.record),
                Some((code, i)) => CodeResult::of(item.record, code, &decisions[i], offset),
            })
            .collect();
        let recorded = decisions.iter().filter(|d| !d.replayed).count();
        let warn = summary(&results);
        let output =
            serde_json::to_value(WriteOutput { recorded, results }).map_err(ApiError::internal)?;
        Ok((output, warn))
    }
}

/// `warn_msg`: how many codes need the institution's attention, if any do.
fn summary(results: &[CodeResult]) -> Option<String> {
    let count = |o: &str| results.iter().filter(|r| r.outcome == o).count();
    let (rejected, flagged, uncoded) = (count("rejected"), count("flagged"), count("not_recorded"));
    if rejected + flagged + uncoded == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if rejected > 0 {
        parts.push(format!("{rejected} rejected"));
    }
    if flagged > 0 {
        parts.push(format!("{flagged} flagged"));
    }
    if uncoded > 0 {
        parts.push(format!("{uncoded} records without a trace code"));
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
    /// One result per trace code, in request order.
    results: Vec<CodeResult>,
}

/// What the ledger decided about one trace code.
#[derive(Serialize)]
pub struct CodeResult {
    /// The record's index in the request (0 for the single forms).
    record: usize,
    /// The trace code, as the ledger reads it.
    drug_trac_codg: Option<String>,
    /// `accepted`, `flagged`, `rejected`, or `not_recorded` for a record without codes.
    outcome: &'static str,
    /// Why it was flagged or rejected (`already_sold`, `unknown_code`, `recalled`, ...).
    reason: Option<&'static str>,
    /// A repeat of a settlement already decided: this is the earlier answer.
    replayed: bool,
    /// For sales and packs flagged `already_sold`: the pack's earlier sales.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prior_sales: Vec<PriorSale>,
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

impl CodeResult {
    fn of(record: usize, code: String, d: &Decision, offset: i32) -> CodeResult {
        CodeResult {
            record,
            drug_trac_codg: Some(code),
            outcome: d.outcome.as_str(),
            reason: d.outcome.reason().map(|r| r.as_str()),
            replayed: d.replayed,
            prior_sales: d
                .prior_sales
                .iter()
                .map(|s| PriorSale {
                    fixmedins_code: s.institution.to_string(),
                    sel_retn_time: local_time(s.at, offset),
                    sel_retn_cnt: s.units,
                    mdtrt_setl_type: setl_type(s.fund_paid),
                })
                .collect(),
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
        }
    }

    /// The result of a record without trace codes: nothing could be recorded for it.
    pub fn uncoded(record: usize) -> CodeResult {
        CodeResult {
            record,
            drug_trac_codg: None,
            outcome: "not_recorded",
            reason: Some("no_code"),
            replayed: false,
            prior_sales: Vec::new(),
        }
    }

    /// The record's index in the request.
    pub fn record(&self) -> usize {
        self.record
    }
}

/// `mdtrt_setl_type` for a sale.
pub fn setl_type(fund_paid: bool) -> &'static str {
    if fund_paid { "1" } else { "2" }
}

/// An event of the caller's.
pub fn event(ctx: &Ctx, code: &TraceCode, at: Timestamp, lot: Lot, kind: EventKind) -> Event {
    Event {
        pack: code.pack_key(),
        at,
        actor: ctx.me.clone(),
        lot,
        kind,
    }
}

/// The per-code answer of a check that records nothing, with a `warn_msg` when some code
/// needs attention.
pub fn checked_output(results: Vec<CodeResult>) -> Result<(Value, Option<String>), ApiError> {
    let warn = summary(&results);
    let output = serde_json::to_value(WriteOutput {
        recorded: 0,
        results,
    })
    .map_err(ApiError::internal)?;
    Ok((output, warn))
}
