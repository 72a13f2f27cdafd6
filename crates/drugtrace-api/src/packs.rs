//! `GET /v1/packs/{code}`: a pack's history. A regulator sees every event; an institution
//! sees only the events it reported itself.

use axum::Json;
use axum::extract::{Path, State};
use drugtrace_code::TraceCode;
use drugtrace_ledger::{EventKind, Store};
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
}

fn kind_name(k: &EventKind) -> &'static str {
    match k {
        EventKind::Commission => "commission",
        EventKind::Ship { .. } => "ship",
        EventKind::Receive { .. } => "receive",
        EventKind::Intake(_) => "intake",
        EventKind::StockChange(_) => "stock_change",
        EventKind::Sale(_) => "sale",
        EventKind::SaleReturn(_) => "sale_return",
        EventKind::Destroy => "destroy",
        EventKind::Recall => "recall",
        EventKind::Void(_) => "void",
    }
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
            kind: kind_name(&r.event.kind),
            outcome: r.outcome.as_str(),
            reason: r.outcome.reason().map(|x| x.as_str()),
        })
        .collect();
    Ok(Json(History {
        code: code.to_string(),
        complete: own.is_none(),
        events,
    }))
}
