//! `POST /v1/events`: a batch of chain events, as a JSON array or as JSON Lines, in the
//! record format of `drugtrace import`. The batch is all or nothing: if any event is
//! malformed, the answer lists every bad one and nothing is recorded; otherwise every event
//! is judged and recorded in one atomic, durable commit, and the answer gives each outcome.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use drugtrace_ingest::{ParseContext, parse_json_event};
use drugtrace_ledger::{Event, Policy, Store, Timestamp};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::access::Caller;
use crate::keys::Role;
use crate::{ApiError, AppState};

/// Events in one request at most.
const MAX_EVENTS: usize = 10_000;

#[derive(Serialize)]
pub struct EventsAnswer {
    recorded: usize,
    events: Vec<EventAnswer>,
}

#[derive(Serialize)]
struct EventAnswer {
    index: usize,
    pack: String,
    outcome: &'static str,
    reason: Option<&'static str>,
    replayed: bool,
    /// For an event on a case: what each box inside got (a filling: each box put in).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    boxes: Vec<crate::packs::BoxAnswer>,
}

#[derive(Serialize)]
struct Invalid {
    error: InvalidInner,
}

#[derive(Serialize)]
struct InvalidInner {
    code: &'static str,
    message: String,
    events: Vec<BadEvent>,
}

#[derive(Serialize)]
struct BadEvent {
    index: usize,
    message: String,
}

/// The records of the body: a JSON array, or one object per line.
fn records(body: &[u8]) -> Result<Vec<&str>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(ApiError::bad_request("the body holds no event"));
    }
    if trimmed.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(trimmed)
            .map_err(|e| ApiError::bad_request(format!("malformed JSON array: {e}")))?;
        Ok(items.into_iter().map(RawValue::get).collect())
    } else {
        Ok(trimmed
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect())
    }
}

pub async fn post<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // A regulator may submit recalls (in its bureau's name); the ledger keeps anything else
    // it sends as a rejected attempt (`not_permitted`).
    let me = match &caller.0 {
        Role::Institution(i) => Some(i.clone()),
        Role::Regulator => None,
    };
    let body = body?;
    let records = records(&body)?;
    if records.len() > MAX_EVENTS {
        return Err(ApiError::bad_request(format!(
            "{} events; at most {MAX_EVENTS} in one request",
            records.len()
        )));
    }
    let ctx = ParseContext {
        person_key: state.inner.person_key.clone(),
        local_offset_minutes: state.inner.local_offset_minutes,
    };
    let mut events: Vec<Event> = Vec::with_capacity(records.len());
    let mut bad = Vec::new();
    let now = Timestamp::now();
    for (index, r) in records.iter().enumerate() {
        let checked = parse_json_event(r, &ctx).and_then(|e| {
            match Policy::check_claimed_time(e.at, now, ctx.local_offset_minutes) {
                Ok(()) => Ok(e),
                Err(t) => Err(drugtrace_ingest::LineError {
                    reason: format!("field `at`: {t}"),
                    record: None,
                }),
            }
        });
        match checked {
            Ok(e) => events.push(e),
            Err(e) => bad.push(BadEvent {
                index,
                message: e.reason,
            }),
        }
    }
    if !bad.is_empty() {
        let body = Invalid {
            error: InvalidInner {
                code: "invalid_events",
                message: format!(
                    "{} of {} events are invalid; nothing was recorded",
                    bad.len(),
                    records.len()
                ),
                events: bad,
            },
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    // An institution submits only as itself.
    if let Some(me) = &me
        && let Some(i) = events.iter().position(|e| e.actor != *me)
    {
        return Err(ApiError::forbidden(
            Some(format!("[{i}].institution")),
            format!(
                "event {i} is reported as {}, but this key belongs to {me}",
                events[i].actor
            ),
        ));
    }
    let packs: Vec<String> = events.iter().map(|e| e.pack.to_string()).collect();
    let decisions = state.record(events, caller.authority()).await?;
    let answers: Vec<EventAnswer> = decisions
        .iter()
        .zip(packs)
        .enumerate()
        .map(|(index, (d, pack))| EventAnswer {
            index,
            pack,
            outcome: d.outcome.as_str(),
            reason: d.outcome.reason().map(|r| r.as_str()),
            replayed: d.replayed,
            boxes: crate::packs::box_answers(d),
        })
        .collect();
    Ok(Json(EventsAnswer {
        recorded: answers.iter().filter(|a| !a.replayed).count(),
        events: answers,
    })
    .into_response())
}
