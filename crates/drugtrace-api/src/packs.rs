//! `GET /v1/packs/{code}`: a pack's history. A regulator sees every event; an institution
//! sees only the events it reported itself. `GET /v1/packs/{code}/children`: what a case
//! (箱码) holds, the query a pharmacy makes at intake.

use axum::Json;
use axum::extract::{Path, State};
use drugtrace_code::TraceCode;
use drugtrace_ledger::Store;
use serde::Serialize;

use crate::access::Caller;
use crate::keys::Role;
use crate::{ApiError, AppState};

#[derive(Serialize)]
pub struct History {
    code: String,
    /// Whether every event is shown (a regulator's view) or only the caller's own.
    complete: bool,
    events: Vec<EventView>,
}

#[derive(Serialize)]
struct EventView {
    index: u32,
    at: String,
    recorded_at: String,
    institution: String,
    #[serde(rename = "type")]
    kind: &'static str,
    outcome: &'static str,
    reason: Option<&'static str>,
    /// The secondary serial (AI 250) the scanned GS1 code carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    secondary_serial: Option<String>,
    /// The digital signature (AI 8030) the scanned GS1 code carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

pub async fn history<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<History>, ApiError> {
    let code = TraceCode::parse(&code).map_err(|e| ApiError::field("code", e.to_string()))?;
    let key = code.pack_key();
    let offset = state.inner.local_offset_minutes;
    let log = state
        .blocking(move |inner| inner.ledger.history(&key).map_err(ApiError::internal))
        .await?;
    let own = match &caller.0 {
        Role::Regulator => None,
        Role::Institution(i) => Some(i.clone()),
    };
    let events = log
        .into_iter()
        .filter(|r| own.as_ref().is_none_or(|i| *i == r.event.actor))
        .map(|r| EventView {
            index: r.index,
            at: r.event.at.to_rfc3339(offset),
            recorded_at: r.recorded_at.to_rfc3339(offset),
            institution: r.event.actor.to_string(),
            kind: r.event.kind.name(),
            outcome: r.outcome.as_str(),
            reason: r.outcome.reason().map(|x| x.as_str()),
            secondary_serial: r.event.lot.secondary_serial().map(str::to_owned),
            signature: r.event.lot.signature().map(str::to_owned),
        })
        .collect();
    Ok(Json(History {
        code: code.to_string(),
        complete: own.is_none(),
        events,
    }))
}

/// What one box of a case got, in an answer about the case.
#[derive(Serialize)]
pub struct BoxAnswer {
    code: String,
    /// `ok`, or the reason the box was flagged or refused.
    pub(crate) status: &'static str,
    outcome: &'static str,
}

/// The boxes of a decision about a case.
pub(crate) fn box_answers(d: &drugtrace_ledger::Decision) -> Vec<BoxAnswer> {
    d.boxes
        .iter()
        .map(|(pack, outcome)| BoxAnswer {
            code: pack.to_string(),
            status: outcome.reason().map_or("ok", |r| r.as_str()),
            outcome: outcome.as_str(),
        })
        .collect()
}

#[derive(Serialize)]
pub struct Children {
    code: String,
    /// Whether boxes were ever packed into it.
    is_case: bool,
    /// The party holding the case now.
    holder: Option<String>,
    /// The case it is inside itself, if any.
    inside: Option<String>,
    /// What is inside now, in the order it was packed.
    children: Vec<Child>,
    /// Boxes packed into it that are no longer inside, and why.
    left: Vec<LeftBox>,
}

#[derive(Serialize)]
struct Child {
    code: String,
    /// Whether it is a case itself (then ask for its own children).
    is_case: bool,
    /// Boxes inside it, for a case.
    children: usize,
    batch: Option<String>,
    expiry: Option<String>,
}

#[derive(Serialize)]
struct LeftBox {
    code: String,
    /// `sold`, `taken_out`, `in_another_case`, `destroyed` or `moved_on` (shipped, taken
    /// in or counted on its own).
    why: &'static str,
}

pub async fn children<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<Children>, ApiError> {
    let key =
        drugtrace_code::parse_case(&code).map_err(|e| ApiError::field("code", e.to_string()))?;
    let (case, items) = state
        .blocking(move |inner| {
            let case = inner.ledger.pack(&key).map_err(ApiError::internal)?;
            let items = inner
                .ledger
                .case_contents(&key)
                .map_err(ApiError::internal)?;
            Ok((case, items))
        })
        .await?;
    let Some(case) = case else {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_code",
            format!("no record of {key}: the code was never scanned, packed or issued"),
        ));
    };
    let mut children = Vec::new();
    let mut left = Vec::new();
    for item in items {
        let s = &item.state;
        if item.inside {
            children.push(Child {
                code: item.pack.to_string(),
                is_case: s.is_case,
                children: s.contents.len(),
                batch: s.batch.as_ref().map(|b| b.to_string()),
                expiry: s.expiry.map(|d| d.to_string()),
            });
            continue;
        }
        let why = match &s.case {
            _ if s.destroyed => "destroyed",
            _ if s.sales.iter().any(|x| x.units_out() > 0) => "sold",
            None => "taken_out",
            Some(l) if l.case != key => "in_another_case",
            Some(_) => "moved_on",
        };
        left.push(LeftBox {
            code: item.pack.to_string(),
            why,
        });
    }
    Ok(Json(Children {
        code: key.to_string(),
        is_case: case.is_case,
        holder: case.holder.as_ref().map(|h| h.to_string()),
        inside: case.case.as_ref().map(|l| l.case.to_string()),
        children,
        left,
    }))
}
