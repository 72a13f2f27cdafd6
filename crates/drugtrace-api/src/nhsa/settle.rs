//! 2207 outpatient settlement (门诊结算) as the gate, and 2206 pre-settlement (门诊预结算)
//! as the same check recording nothing.
//!
//! Since 2025 the settlement itself carries the packs it pays for: `input.drug_trac_info`
//! beside `input.data`, one entry per pack (`{feedetl_sn, drug_trac_codg, trdn_flag,
//! min_prcunt_type}`), and in `input.data` the counts `minpacunt_drug_trac_cnt` (drug
//! packs that should carry a code) and `mcs_trac_cnt` (consumables). This is where "no
//! scan, no settlement" and "no second payment" are enforced in practice, so drugtrace
//! judges it as the gate (`POST /v1/gate/sale`) judges a settlement:
//!
//! - every pack of the settlement is judged and recorded in one atomic commit, paid whole or
//!   not at all: one blocked pack blocks the settlement, and none is recorded as sold;
//! - the settlement is `setl_id` when the client sends one, else its visit and charge batch
//!   (`mdtrt_id`/`chrg_bchno`), which every client sends and every retry repeats: a
//!   retry is answered as before and records nothing twice;
//! - fewer codes than `minpacunt_drug_trac_cnt` drug packs, on or after the policy's "no
//!   scan, no settlement" date, refuses the settlement before anything is recorded;
//! - a blocked settlement is answered **infcode -1** with `err_msg` naming each blocked code
//!   and why, so that a client reading only `infcode` cannot take it for paid; `output`
//!   holds the details, as for an allowed one (`setlinfo` and `drug_trac_rslt`).
//!
//! The buyer is `certno` when sent, else `mdtrt_cert_no` for an ID card (`mdtrt_cert_type`
//! 02), else `psn_no`, hashed at once. Amounts are not per pack in 2207 (`medfee_sumamt`
//! covers every fee), so the packs' sales carry no amount; the 3505 upload that follows
//! names them. A split entry (`trdn_flag` 1) sells `cnt` units when the entry says, else one.

use std::collections::HashMap;

use drugtrace_code::{PackKey, TraceCode};
use drugtrace_ledger::gate::{Verdict, judge};
use drugtrace_ledger::{
    Decision, Event, EventKind, Lot, Outcome, PersonKey, Reason, Sale, SettlementId, Store,
    Submission, VisitId,
};
use serde::Serialize;
use serde_json::Value;

use super::Failure;
use super::read::{Fault, Obj, kind, local_time};
use super::record::{Ctx, PriorSale};
use crate::{ApiError, AppState};

/// Packs in one settlement at most (the gate's own limit).
const MAX_PACKS: usize = 1000;

/// What a settlement call answers: allowed (infcode 0) or blocked (infcode -1, with the
/// same output and an `err_msg` naming the blocked codes).
pub enum Settled {
    /// Every pack may be paid.
    Allowed(Value, Option<String>),
    /// The settlement must not be paid.
    Blocked(String, Value),
}

#[derive(Serialize)]
struct Output {
    setlinfo: SetlInfo,
    /// Whether the settlement may be paid.
    setl_allowed: bool,
    /// One result per `drug_trac_info` entry, in request order.
    drug_trac_rslt: Vec<PackResult>,
}

#[derive(Serialize)]
struct SetlInfo {
    setl_id: String,
    mdtrt_id: String,
    psn_no: Option<String>,
    setl_time: String,
    /// Drug packs the settlement said should carry a code, and the codes it carried.
    minpacunt_drug_trac_cnt: Option<u64>,
    drug_trac_cnt: usize,
}

#[derive(Serialize)]
struct PackResult {
    feedetl_sn: Option<String>,
    drug_trac_codg: String,
    /// `accepted`, `flagged` or `rejected`.
    outcome: &'static str,
    reason: Option<&'static str>,
    /// A retry of a settlement already decided: the earlier answer.
    replayed: bool,
    /// The pack's sales before this one: where it was sold already.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prior_sales: Vec<PriorSale>,
}

struct Entry {
    feedetl_sn: Option<String>,
    code: TraceCode,
}

struct Request {
    settlement: SettlementId,
    mdtrt_id: String,
    psn_no: Option<String>,
    expected: Option<u64>,
    entries: Vec<Entry>,
    events: Vec<Event>,
}

/// 2207 (`record`) or 2206 (a check that records nothing).
pub async fn settle<S: Store + Sync + 'static>(
    state: &AppState<S>,
    input: &Obj<'_>,
    ctx: &Ctx,
    person_key: &PersonKey,
    record: bool,
) -> Result<Settled, Failure> {
    let req = read(input, ctx, person_key)?;
    let policy = state.inner.ledger.policy();
    if let Some(expected) = req.expected {
        let given = req.entries.len() as u64;
        if given < expected
            && policy.codeless_item(policy.judging_time(ctx.inf_time, ctx.now))
                == Outcome::Rejected(Reason::NoCode)
        {
            return Err(Fault::at(
                "input.drug_trac_info",
                format!(
                    "no scan, no settlement: minpacunt_drug_trac_cnt is {expected} drug packs, but {given} trace codes were sent; scan every pack's code, nothing was recorded"
                ),
            )
            .into());
        }
    }
    let decisions = if record {
        state
            .settle(Submission {
                events: req.events.clone(),
                by: ctx.by,
                settlement: true,
            })
            .await
            .map_err(ApiError::internal)?
    } else {
        check(state, &req.events, ctx).await?
    };
    Ok(answer(req, &decisions, ctx.offset, record))
}

/// 2206: each pack judged as 2207 would judge it, recording nothing, and the settlement's
/// rule applied to the answer.
async fn check<S: Store + Sync + 'static>(
    state: &AppState<S>,
    events: &[Event],
    ctx: &Ctx,
) -> Result<Vec<Decision>, ApiError> {
    let events = events.to_vec();
    let by = ctx.by;
    let mut decisions = state
        .blocking(move |inner| {
            let cx = inner.ledger.context(by);
            let mut out = Vec::with_capacity(events.len());
            for e in &events {
                let pack = inner
                    .ledger
                    .pack(&e.pack)
                    .map_err(ApiError::internal)?
                    .unwrap_or_default();
                let (outcome, replayed, index) = match judge(&pack, e, &cx) {
                    Verdict::Record(_, o) => (o, false, pack.events),
                    Verdict::Replay { outcome, index } => (outcome, true, index),
                };
                out.push(Decision {
                    outcome,
                    index,
                    replayed,
                    prior_sales: pack.sales.clone(),
                    boxes: Vec::new(),
                });
            }
            Ok(out)
        })
        .await?;
    if decisions.iter().any(|d| !d.outcome.is_applied()) {
        for d in &mut decisions {
            if d.outcome.is_applied() && !d.replayed {
                d.outcome = Outcome::Rejected(Reason::SettlementBlocked);
            }
        }
    }
    Ok(decisions)
}

fn read(input: &Obj<'_>, ctx: &Ctx, person_key: &PersonKey) -> Result<Request, Fault> {
    let data = input.object("data")?;
    let data = data.obj();
    let mdtrt_id = data.required("mdtrt_id")?;
    // Only a lookup key: a visit id no identifier may hold is kept as its digest, never a
    // reason to refuse the settlement.
    let visit = VisitId::or_digest(&mdtrt_id);
    let settlement = match data.text("setl_id")? {
        Some(id) => {
            SettlementId::parse(&id).map_err(|e| Fault::at(&data.field_path("setl_id"), e))?
        }
        None => {
            let chrg = data.required("chrg_bchno")?;
            visit_settlement(&mdtrt_id, &chrg)
        }
    };
    let psn_no = data.text("psn_no")?;
    let identity = match data.text("certno")? {
        Some(c) => Some(c),
        None => match (
            data.text("mdtrt_cert_type")?.as_deref(),
            data.text("mdtrt_cert_no")?,
        ) {
            (Some("02"), Some(no)) => Some(no),
            _ => psn_no.clone(),
        },
    };
    let person = identity.map(|i| person_key.hash(&i));
    let expected = count(&data, "minpacunt_drug_trac_cnt")?;
    let (path, list) = match (input.raw("drug_trac_info"), data.raw("drug_trac_info")) {
        (Some(v), _) if !v.is_null() => (input.field_path("drug_trac_info"), v),
        (_, Some(v)) if !v.is_null() => (data.field_path("drug_trac_info"), v),
        _ => (input.field_path("drug_trac_info"), &Value::Null),
    };
    let items: Vec<&Value> = match list {
        Value::Null => Vec::new(),
        Value::String(s) if s.trim().is_empty() => Vec::new(),
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![list],
        other => {
            return Err(Fault::at(
                &path,
                format!("expected a list of objects, got {}", kind(other)),
            ));
        }
    };
    if items.len() > MAX_PACKS {
        return Err(Fault::at(
            &path,
            format!(
                "{} packs; at most {MAX_PACKS} in one settlement",
                items.len()
            ),
        ));
    }
    let mut entries = Vec::with_capacity(items.len());
    let mut events = Vec::with_capacity(items.len());
    let mut seen: HashMap<PackKey, String> = HashMap::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{path}[{i}]");
        let o = Obj::new(&at, item)?;
        let name = if o.raw("drug_trac_codg").is_some() {
            "drug_trac_codg"
        } else {
            "drug_trac_code"
        };
        let text = match o.raw(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::Number(_)) => {
                return Err(Fault::at(
                    &o.field_path(name),
                    "expected a string (a code's leading zeros would be lost in a number)",
                ));
            }
            _ => return Err(Fault::at(&o.field_path("drug_trac_codg"), "is required")),
        };
        let code = TraceCode::parse(&text).map_err(|e| Fault::at(&o.field_path(name), e))?;
        if let Some(first) = seen.insert(code.pack_key(), at.clone()) {
            return Err(Fault::at(
                &at,
                format!(
                    "the same pack as {first}; a split sale of several units is one entry with trdn_flag 1 and cnt"
                ),
            ));
        }
        let units = match o.text("trdn_flag")?.as_deref() {
            None | Some("0") => None,
            Some("1") => Some(match count(&o, "cnt")? {
                Some(0) => return Err(Fault::at(&o.field_path("cnt"), "must be at least 1")),
                Some(n) => {
                    u32::try_from(n).map_err(|_| Fault::at(&o.field_path("cnt"), "is too large"))?
                }
                None => 1,
            }),
            Some(other) => {
                return Err(Fault::at(
                    &o.field_path("trdn_flag"),
                    format!("expected 0 or 1, got {other:?}"),
                ));
            }
        };
        events.push(Event {
            upload: None,
            pack: code.pack_key(),
            at: ctx.inf_time,
            actor: ctx.me.clone(),
            lot: Lot::default(),
            kind: EventKind::Sale(Sale {
                settlement: Some(settlement.clone()),
                person,
                units,
                pack_units: None,
                product: None,
                amount_fen: 0,
                fund_paid: true,
                visit: Some(visit.clone()),
            }),
        });
        entries.push(Entry {
            feedetl_sn: o.text("feedetl_sn")?,
            code,
        });
    }
    if entries.is_empty() && expected.is_none_or(|n| n == 0) {
        return Err(Fault::at(
            &path,
            "holds no trace code: a settlement of drugs carries each pack's code (drug_trac_info)",
        ));
    }
    Ok(Request {
        settlement,
        mdtrt_id,
        psn_no,
        expected,
        entries,
        events,
    })
}

/// A whole number given as a number or a string, if present.
fn count(o: &Obj<'_>, name: &str) -> Result<Option<u64>, Fault> {
    o.parsed(name, |t| {
        t.split('.')
            .next()
            .unwrap_or(t)
            .parse::<u64>()
            .map_err(|_| format!("{t:?} is not a whole number"))
    })
}

/// The settlement of a visit's charge batch: `mdtrt_id:chrg_bchno` while that is a valid
/// settlement id, else a digest of both (retries give the same one).
fn visit_settlement(mdtrt_id: &str, chrg_bchno: &str) -> SettlementId {
    SettlementId::or_digest(&format!("{mdtrt_id}:{chrg_bchno}"))
}

fn answer(req: Request, decisions: &[Decision], offset: i32, recorded: bool) -> Settled {
    let allowed = decisions.iter().all(Decision::allows_payment);
    let results: Vec<PackResult> = req
        .entries
        .iter()
        .zip(decisions)
        .map(|(e, d)| PackResult {
            feedetl_sn: e.feedetl_sn.clone(),
            drug_trac_codg: e.code.to_string(),
            outcome: d.outcome.as_str(),
            reason: d.outcome.reason().map(|r| r.as_str()),
            replayed: d.replayed,
            prior_sales: PriorSale::of(d, offset),
        })
        .collect();
    let blocked: Vec<String> = results
        .iter()
        .filter(|r| r.outcome == "rejected")
        .map(|r| format!("{} {}", r.drug_trac_codg, r.reason.unwrap_or("rejected")))
        .collect();
    let flagged = results.iter().filter(|r| r.outcome == "flagged").count();
    let output = Output {
        setlinfo: SetlInfo {
            setl_id: req.settlement.to_string(),
            mdtrt_id: req.mdtrt_id,
            psn_no: req.psn_no,
            setl_time: local_time(drugtrace_ledger::Timestamp::now(), offset),
            minpacunt_drug_trac_cnt: req.expected,
            drug_trac_cnt: req.entries.len(),
        },
        setl_allowed: allowed,
        drug_trac_rslt: results,
    };
    let output = serde_json::to_value(output).unwrap_or(Value::Null);
    if allowed {
        let warn = (flagged > 0).then(|| {
            format!("{flagged} packs flagged (codes never issued, say): see output.drug_trac_rslt")
        });
        Settled::Allowed(output, warn)
    } else {
        let what = if recorded {
            "the settlement is blocked and must not be paid; nothing of it was recorded as sold"
        } else {
            "this settlement would be blocked"
        };
        Settled::Blocked(
            format!(
                "{what}: {} of {} packs blocked: {}",
                blocked.len(),
                req.entries.len(),
                blocked.join("; ")
            ),
            output,
        )
    }
}
