//! `POST /v1/gate/sale`: the settlement system asks before it pays. One settlement's items
//! are judged and recorded together, atomically, and paid whole or not at all: if any item
//! is blocked, none is recorded as sold (the others are kept as `settlement_blocked`
//! attempts), so the corrected settlement goes through. A retry of the settlement gets the
//! same answer and records nothing twice. The decision is the server's, at its own clock:
//! `at` is kept as the client's claim and may lie at most an hour ahead of that clock.

use axum::Json;
use axum::extract::State;
use drugtrace_catalog::InsuranceCode;
use drugtrace_code::TraceCode;
use drugtrace_ledger::{
    Decision, Event, EventKind, InstitutionId, Lot, Policy, Sale, SettlementId, Store, Submission,
    Timestamp,
};
use drugtrace_money::Fen;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::access::Caller;
use crate::{ApiError, AppState};

/// Items in one settlement at most.
const MAX_ITEMS: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleRequest {
    settlement_id: String,
    institution: String,
    /// RFC 3339 or local `YYYY-MM-DD HH:MM:SS`; default: now.
    at: Option<String>,
    /// The insured person's identity, hashed at once and never stored.
    person: Option<String>,
    /// Whether the fund pays (default true).
    fund_paid: Option<bool>,
    items: Vec<SaleItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaleItem {
    code: String,
    insurance_code: Option<String>,
    /// The batch (批号) printed on the pack, when the code itself carries none: a recall of
    /// a batch is judged by it for a pack whose batch the ledger does not know.
    batch: Option<String>,
    units: Option<u32>,
    /// Yuan, as a number or a string.
    amount: Option<Value>,
}

#[derive(Serialize)]
pub struct SaleAnswer {
    settlement_id: String,
    /// `allow` if every item may be paid, else `block`.
    decision: &'static str,
    items: Vec<ItemAnswer>,
}

#[derive(Serialize)]
struct ItemAnswer {
    code: String,
    decision: &'static str,
    outcome: &'static str,
    reason: Option<&'static str>,
    /// A repeat of a settlement already decided: this is the earlier answer.
    replayed: bool,
    prior_sales: Vec<PriorSale>,
}

#[derive(Serialize)]
pub(crate) struct PriorSale {
    pub institution: String,
    pub at: String,
    pub units: u32,
    pub fund_paid: bool,
}

fn field<T, E: std::fmt::Display>(name: impl Into<String>, r: Result<T, E>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::field(name, e.to_string()))
}

/// Reads what an item was paid, in yuan, given as a JSON number or string (none is nothing
/// paid). A number is read from its JSON text, so `35.5` is 3,550 fen exactly, never a float.
pub(crate) fn amount_paid(name: String, v: Option<&Value>) -> Result<Fen, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(Fen::ZERO),
        Some(Value::Number(n)) => field(name, Fen::parse_paid(&n.to_string())),
        Some(Value::String(s)) => field(name, Fen::parse_paid(s)),
        Some(_) => Err(ApiError::field(
            name,
            "an amount is a number or a string of yuan",
        )),
    }
}

pub async fn sale<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Result<Json<SaleRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SaleAnswer>, ApiError> {
    let me = caller.institution()?.clone();
    let Json(req) = body?;
    let offset = state.inner.local_offset_minutes;
    let settlement = field("settlement_id", SettlementId::parse(&req.settlement_id))?;
    let actor = field("institution", InstitutionId::parse(&req.institution))?;
    if actor != me {
        return Err(ApiError::forbidden(
            Some("institution".into()),
            format!("this key belongs to {me}, not to {actor}"),
        ));
    }
    let now = Timestamp::now();
    let at = match &req.at {
        Some(t) => field("at", Timestamp::parse(t, offset))?,
        None => now,
    };
    field("at", Policy::check_claimed_time(at, now, offset))?;
    if req.items.is_empty() {
        return Err(ApiError::field(
            "items",
            "a settlement has at least one item",
        ));
    }
    if req.items.len() > MAX_ITEMS {
        return Err(ApiError::field(
            "items",
            format!(
                "{} items; at most {MAX_ITEMS} in one settlement",
                req.items.len()
            ),
        ));
    }
    // A blank identity is no buyer: hashing it would make every blank one person.
    let person = req
        .person
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| state.inner.person_key.hash(p));
    let mut events = Vec::with_capacity(req.items.len());
    let mut codes = Vec::with_capacity(req.items.len());
    for (i, item) in req.items.iter().enumerate() {
        let code = field(format!("items[{i}].code"), TraceCode::parse(&item.code))?;
        if let Some(j) = events
            .iter()
            .position(|e: &Event| e.pack == code.pack_key())
        {
            return Err(ApiError::field(
                format!("items[{i}].code"),
                format!(
                    "the pack of items[{j}] again; sell several units of one pack as one item with `units`"
                ),
            ));
        }
        if item.units == Some(0) {
            return Err(ApiError::field(
                format!("items[{i}].units"),
                "must be at least 1",
            ));
        }
        let product = item
            .insurance_code
            .as_deref()
            .map(|c| {
                field(
                    format!("items[{i}].insurance_code"),
                    InsuranceCode::parse(c),
                )
            })
            .transpose()?;
        let batch = match (code.batch(), item.batch.as_deref().map(str::trim)) {
            (Some(b), _) => drugtrace_ledger::Batch::parse(b).ok(),
            (None, Some(b)) if !b.is_empty() => Some(field(
                format!("items[{i}].batch"),
                drugtrace_ledger::Batch::parse(b),
            )?),
            (None, _) => None,
        };
        events.push(Event {
            upload: None,
            pack: code.pack_key(),
            at,
            actor: actor.clone(),
            lot: Lot {
                batch,
                expiry: None,
                ..Lot::of_code(&code, at)
            },
            kind: EventKind::Sale(Sale {
                settlement: Some(settlement.clone()),
                person,
                units: item.units,
                pack_units: None,
                product,
                amount_fen: amount_paid(format!("items[{i}].amount"), item.amount.as_ref())?.fen(),
                fund_paid: req.fund_paid.unwrap_or(true),
                visit: None,
            }),
        });
        codes.push(code.to_string());
    }
    let decisions = state
        .settle(Submission {
            events,
            by: caller.authority(),
            settlement: true,
        })
        .await
        .map_err(ApiError::internal)?;
    let items: Vec<ItemAnswer> = codes
        .into_iter()
        .zip(decisions)
        .map(|(code, d)| item_answer(code, &d, offset))
        .collect();
    let decision = if items.iter().all(|i| i.decision == "allow") {
        "allow"
    } else {
        "block"
    };
    Ok(Json(SaleAnswer {
        settlement_id: req.settlement_id,
        decision,
        items,
    }))
}

fn item_answer(code: String, d: &Decision, offset: i32) -> ItemAnswer {
    ItemAnswer {
        code,
        decision: if d.allows_payment() { "allow" } else { "block" },
        outcome: d.outcome.as_str(),
        reason: d.outcome.reason().map(|r| r.as_str()),
        replayed: d.replayed,
        prior_sales: prior_sales(d, offset),
    }
}

pub(crate) fn prior_sales(d: &Decision, offset: i32) -> Vec<PriorSale> {
    d.prior_sales
        .iter()
        .map(|s| PriorSale {
            institution: s.institution.to_string(),
            at: s.at.to_rfc3339(offset),
            units: s.units,
            fund_paid: s.fund_paid,
        })
        .collect()
}
