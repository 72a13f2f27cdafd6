//! GS1 EPCIS 2.0 over its REST binding, under `/epcis`: `POST /epcis/capture` takes an
//! EPCIS document (JSON-LD or XML) from a trading partner, `GET /epcis/capture/{id}` tells
//! how a capture went, `GET /epcis/events` and `GET /epcis/epcs/{epc}/events` query what was
//! captured with the standard's filters.
//!
//! Capture does two things with each event. It keeps the event itself, as sent, in the
//! capture journal (the data directory's `epcis.jsonl`, or the database's journal shared by
//! every server on it), under its CBV 2.0 event hash id, so that the same event sent again is
//! captured once; and it records what the event means for packs in the ledger, judged like
//! any other report of the caller's, in one atomic commit for the whole document:
//!
//! | EPCIS | ledger |
//! |---|---|
//! | ObjectEvent ADD, bizStep `commissioning` | a commission per pack (lot and expiry from the ILMD) |
//! | bizStep `shipping`, `departing` | a shipment |
//! | bizStep `receiving`, `arriving` | a receipt |
//! | bizStep `accepting` | a purchase intake |
//! | bizStep `dispensing`, `retail_selling` | a sale (the patient pays; insurance settles through the gate) |
//! | bizStep `destroying`, `decommissioning` | a destruction |
//! | disposition `recalled` | a recall |
//! | AggregationEvent ADD (or OBSERVE without a movement) | a filling of the parent with the children |
//! | AggregationEvent DELETE | the children taken out; without children, the parent opened |
//! | AggregationEvent OBSERVE with a movement's bizStep | that movement of the parent, and so of everything inside |
//!
//! The ledger is written first, then the journal. Each ledger event carries its EPCIS
//! event's tag as its upload batch number (`epcis-` and 40 hex digits of the hash id), so a
//! capture whose journal append was lost after the ledger's commit (a crash, a database
//! failing over) is found in the ledger by that tag when the document is sent again, and is
//! then only added to the journal: nothing is recorded twice, and a resent dispensing is
//! not a second sale. Before its ledger commit a capture claims the events it will record
//! in the journal; another capture of any of them meanwhile (a client retrying through
//! another server before the first answered) is answered a retryable 409, and a claim left
//! by a server that died expires after a minute.
//!
//! An event drugtrace cannot keep is refused with the reason (a transaction,
//! transformation or association event; a bizStep it does not map; quantities of a class
//! instead of packs): by default the whole capture is then refused and nothing is kept
//! (`GS1-Capture-Error-Behaviour: rollback`); with `proceed` the rest is captured.
//!
//! The captured events are held in memory, folded from the journal: this serves the partners
//! that speak EPCIS, not the nation's scans, which reach the ledger directly.
//!
//! Subscriptions (`POST /epcis/queries/SimpleEventQuery/subscriptions`, the query's filters
//! as URL parameters) are streams (`stream: true`: each capture's new matching events are
//! delivered as it is captured) or scheduled (`schedule`, read by
//! [`drugtrace_epcis::QuerySchedule`] in the server's time zone: at each instant it names,
//! the matching events captured since the last run; an empty report only with
//! `reportIfEmpty`; the first run also what was captured since `initialRecordTime`). Every
//! server runs the schedules; a run is claimed by appending it to the journal, so with
//! several servers on one database each run is reported once, and its window is positions
//! in the journal, not clock readings, so no event falls between two runs. Deliveries go to
//! the subscriber's `dest` (`https://`, or `http://`) as an `EPCISQueryDocument`, signed in
//! the `GS1-Signature` header with HMAC-SHA256 under the subscriber's `signatureToken`
//! (hex), retried with back-off ([`crate::webhook`]). A subscription is kept in the same
//! journal; a delivery still failing after its retries, or cut off by a restart, is not
//! tried again (the events stay in the query).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use drugtrace_code::PackKey;
use drugtrace_durable::{Fold, FoldError, Folded, SharedError, SharedJournal};
use drugtrace_epcis::{Action, Document, Epc, EventType};
use drugtrace_ledger::{Batch, Date, Event, EventKind, Intake, Lot, Sale, Store, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::Caller;
use crate::keys::Role;
use crate::{ApiError, AppState};

/// Events in one capture at most.
const MAX_EVENTS: usize = 10_000;
/// Packs one capture may name at most, over all its events.
const MAX_PACKS: usize = 50_000;
/// Events in one page of a query answer at most.
const MAX_PER_PAGE: usize = 1_000;

/// Why the capture journal could not be read or added to.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The journal could not be read or written.
    #[error("the EPCIS capture journal: {0}")]
    Shared(#[from] SharedError),
    /// A record in the journal does not read.
    #[error("the EPCIS capture journal's record {at}: {message}")]
    Corrupt {
        /// The record's number.
        at: u64,
        /// What is wrong with it.
        message: String,
    },
}

impl From<FoldError<String>> for CaptureError {
    fn from(e: FoldError<String>) -> Self {
        match e {
            FoldError::Shared(e) => CaptureError::Shared(e),
            FoldError::Corrupt { at, message } => CaptureError::Corrupt { at, message },
            FoldError::Refused(message) => CaptureError::Corrupt { at: 0, message },
        }
    }
}

/// One capture as its journal keeps it: who sent it, when, how errors were to be treated,
/// the events kept (as JSON-LD with their context) and the events refused.
#[derive(Serialize, Deserialize)]
struct CaptureRecord {
    by: String,
    at_ms: i64,
    behaviour: String,
    events: Vec<Value>,
    errors: Vec<CaptureProblem>,
}

/// A record of the capture journal: a capture, a subscription, or its end.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Entry {
    Capture(CaptureRecord),
    Subscribe {
        subscribe: Box<Subscription>,
    },
    Unsubscribe {
        unsubscribe: String,
        by: String,
        regulator: bool,
    },
    /// A capture of the events with these hash ids has begun (its ledger commit comes
    /// next): another capture of any of them waits until it is kept, or until the claim is
    /// older than [`CLAIM_LEASE_MS`] (a server that died before keeping it).
    Claim {
        claim: Vec<String>,
        by: String,
        at_ms: i64,
    },
    /// A run of scheduled subscription `run` for its instant `at_ms`, claimed by the server
    /// that appended it first: it reports the events captured between its last run (or its
    /// making) and this record.
    Run {
        run: String,
        at_ms: i64,
    },
}

/// A stream subscription to the simple event query.
#[derive(Clone, Serialize, Deserialize)]
struct Subscription {
    id: String,
    /// The subscriber: its institution, or `regulator`.
    by: String,
    /// Whether a regulator subscribed (and sees every party's captures): kept apart from
    /// `by`, so that no institution's code can pass for a regulator.
    regulator: bool,
    dest: String,
    /// The subscriber's secret the deliveries are signed with.
    token: Option<String>,
    /// The query's filters, as the URL gave them.
    params: HashMap<String, String>,
    at_ms: i64,
    /// When a scheduled subscription's query runs; none for a stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schedule: Option<ScheduleSpec>,
    /// Whether a scheduled run that found nothing is reported anyway.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    report_if_empty: bool,
    /// A scheduled subscription's `initialRecordTime`: its first run also reports what was
    /// captured from then until it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initial_ms: Option<i64>,
    /// Folded from the journal: where its runs stand.
    #[serde(skip)]
    runs: Runs,
}

/// Where a scheduled subscription's runs stand, by position in the captured events, so that
/// every server folding the journal agrees and no event is reported twice or skipped.
#[derive(Clone, Default)]
struct Runs {
    /// The events captured before the subscription was made.
    made_at: usize,
    /// The last run's instant and the events captured before it.
    last: Option<(i64, usize)>,
    /// What the last run reports: the events at these positions, and for a first run with
    /// an `initialRecordTime`, those before the subscription captured since then.
    window: (usize, usize),
    /// The first run's `initialRecordTime`, when the last run was the first.
    earlier_since_ms: Option<i64>,
}

/// A scheduled subscription's schedule as the subscriber gave it, each field a list of
/// numbers and ranges (read again whenever the journal is folded).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    second: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    minute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hour: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    day_of_month: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    month: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    day_of_week: Option<String>,
}

impl ScheduleSpec {
    /// Reads a request's `schedule`: an object of the six fields, each a string (or a
    /// whole number) of numbers and ranges.
    fn from_request(v: &Value) -> Result<ScheduleSpec, String> {
        let Value::Object(fields) = v else {
            return Err(format!(
                "{v} is not an object of second, minute, hour, dayOfMonth, month, dayOfWeek"
            ));
        };
        let mut spec = ScheduleSpec::default();
        for (k, v) in fields {
            let text = match v {
                Value::String(t) => t.clone(),
                Value::Number(n) if n.is_u64() => n.to_string(),
                other => {
                    return Err(format!(
                        "{k}: {other} is not a string of numbers and ranges"
                    ));
                }
            };
            let slot = match k.as_str() {
                "second" => &mut spec.second,
                "minute" => &mut spec.minute,
                "hour" => &mut spec.hour,
                "dayOfMonth" => &mut spec.day_of_month,
                "month" => &mut spec.month,
                "dayOfWeek" => &mut spec.day_of_week,
                other => {
                    return Err(format!(
                        "{other:?} is not a field of a schedule (second, minute, hour, dayOfMonth, month, dayOfWeek)"
                    ));
                }
            };
            *slot = Some(text);
        }
        spec.parse().map_err(|e| e.to_string())?;
        Ok(spec)
    }

    fn parse(&self) -> Result<drugtrace_epcis::QuerySchedule, drugtrace_epcis::ScheduleError> {
        drugtrace_epcis::QuerySchedule::parse(&drugtrace_epcis::ScheduleFields {
            second: self.second.as_deref(),
            minute: self.minute.as_deref(),
            hour: self.hour.as_deref(),
            day_of_month: self.day_of_month.as_deref(),
            month: self.month.as_deref(),
            day_of_week: self.day_of_week.as_deref(),
        })
    }
}

/// An event of a capture that was refused.
#[derive(Clone, Serialize, Deserialize)]
struct CaptureProblem {
    /// Its place in the document, from 0.
    index: usize,
    reason: String,
}

/// A captured event.
struct Captured {
    hash: String,
    by: String,
    /// When it was captured (its record time).
    at_ms: i64,
    event: drugtrace_epcis::Event,
}

/// A capture as `GET /epcis/capture/{id}` tells it.
#[derive(Clone)]
struct Job {
    at_ms: i64,
    behaviour: String,
    events: usize,
    errors: Vec<CaptureProblem>,
    by: String,
}

/// Everything captured, folded from the journal. The fold judges each capture on a copy
/// ([`Folded`]), so the collections are persistent ones (`imbl`): a copy shares everything
/// with the original and an append changes O(log n) of it, where a `Vec` and a `HashMap`
/// would be copied whole on every capture.
#[derive(Clone, Default)]
struct Folding {
    events: imbl::Vector<Arc<Captured>>,
    by_hash: imbl::HashMap<String, usize>,
    /// Events being captured: hash id → when the capture claimed it.
    claims: imbl::HashMap<String, i64>,
    /// The positions in `events` of each party's captures, ascending: a party's query
    /// reads its own, not everyone's.
    by_party: imbl::HashMap<String, imbl::Vector<usize>>,
    /// The positions of the events naming each EPC (in any of its lists), ascending: what
    /// `MATCH_…` and `/epcs/{epc}/events` read.
    by_epc: imbl::HashMap<Epc, imbl::Vector<usize>>,
    jobs: imbl::Vector<Job>,
    subscriptions: Vec<Subscription>,
}

impl Fold for Folding {
    type Applied = u64;
    type Error = String;
    fn apply(&mut self, bytes: &[u8]) -> Result<u64, String> {
        let r = match serde_json::from_slice(bytes).map_err(|e| e.to_string())? {
            Entry::Capture(r) => r,
            Entry::Subscribe { mut subscribe } => {
                subscribe.runs.made_at = self.events.len();
                self.subscriptions.push(*subscribe);
                return Ok(0);
            }
            Entry::Claim { claim, at_ms, .. } => {
                for hash in claim {
                    if !self.by_hash.contains_key(&hash) {
                        self.claims.insert(hash, at_ms);
                    }
                }
                return Ok(0);
            }
            Entry::Run { run, at_ms } => {
                let now = self.events.len();
                if let Some(sub) = self.subscriptions.iter_mut().find(|s| s.id == run) {
                    let r = &mut sub.runs;
                    if r.last.is_none_or(|(ms, _)| at_ms > ms) {
                        let first = r.last.is_none();
                        r.window = (r.last.map_or(r.made_at, |(_, at)| at), now);
                        r.earlier_since_ms = if first { sub.initial_ms } else { None };
                        r.last = Some((at_ms, now));
                    }
                }
                return Ok(0);
            }
            Entry::Unsubscribe {
                unsubscribe,
                by,
                regulator,
            } => {
                self.subscriptions
                    .retain(|s| !(s.id == unsubscribe && s.by == by && s.regulator == regulator));
                return Ok(0);
            }
        };
        let mut kept = 0;
        for v in &r.events {
            let doc = Document::from_json_value(v).map_err(|e| e.to_string())?;
            for event in doc.into_events() {
                let hash = event.hash_id();
                // Two servers may capture one event at once: it is kept once.
                if self.by_hash.contains_key(&hash) {
                    continue;
                }
                let at = self.events.len();
                self.claims.remove(&hash);
                self.by_hash.insert(hash.clone(), at);
                self.by_party.entry(r.by.clone()).or_default().push_back(at);
                let mut named = std::collections::HashSet::new();
                for epc in every_epc(&event) {
                    if named.insert(epc) {
                        self.by_epc.entry(epc.clone()).or_default().push_back(at);
                    }
                }
                self.events.push_back(Arc::new(Captured {
                    hash,
                    by: r.by.clone(),
                    at_ms: r.at_ms,
                    event,
                }));
                kept += 1;
            }
        }
        self.jobs.push_back(Job {
            at_ms: r.at_ms,
            behaviour: r.behaviour,
            events: kept,
            errors: r.errors,
            by: r.by,
        });
        Ok(self.jobs.len() as u64)
    }
}

/// The captured EPCIS events, folded from their journal.
#[derive(Debug)]
pub struct CaptureBook {
    folded: Folded<Folding>,
}

impl std::fmt::Debug for Folding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} EPCIS events in {} captures",
            self.events.len(),
            self.jobs.len()
        )
    }
}

impl CaptureBook {
    /// Folds every capture `journal` holds.
    pub fn open(journal: Arc<dyn SharedJournal>) -> Result<CaptureBook, CaptureError> {
        Ok(CaptureBook {
            folded: Folded::open(journal)?,
        })
    }

    /// Captures kept in this process only, lost when it ends: for tests, and for a state
    /// made without a journal.
    pub fn in_memory() -> CaptureBook {
        CaptureBook::open(Arc::new(drugtrace_durable::MemoryJournal::default()))
            .expect("an empty journal folds")
    }

    fn current(&self) -> Result<Arc<Folding>, CaptureError> {
        // Other servers on the same journal captured too: read on first.
        self.folded.refresh()?;
        Ok(self.folded.current())
    }
}

/// How a capture treats an event it cannot keep.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Rollback,
    Proceed,
}

impl Behaviour {
    fn name(self) -> &'static str {
        match self {
            Behaviour::Rollback => "rollback",
            Behaviour::Proceed => "proceed",
        }
    }
}

/// One event's part in a capture's answer.
#[derive(Serialize)]
struct EventAnswer {
    index: usize,
    #[serde(rename = "eventID")]
    event_id: String,
    /// `captured`, `already` (the same event was captured before) or `refused`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// What the ledger recorded for each pack the event names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    packs: Vec<PackAnswer>,
    /// For an event kept with nothing for the ledger to record: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Serialize)]
struct PackAnswer {
    code: String,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// For a case: what each box inside got.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    boxes: Vec<crate::packs::BoxAnswer>,
}

pub async fn capture<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let me = caller.institution()?.clone();
    let behaviour = match headers
        .get("gs1-capture-error-behaviour")
        .map(|v| v.to_str().unwrap_or(""))
    {
        None | Some("rollback") => Behaviour::Rollback,
        Some("proceed") => Behaviour::Proceed,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "GS1-Capture-Error-Behaviour {other:?}: rollback or proceed"
            )));
        }
    };
    let body = body?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?
        .trim_start_matches('\u{feff}');
    let doc = Document::read(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let events = doc.events();
    if events.is_empty() {
        return Err(ApiError::bad_request("the document holds no event"));
    }
    if events.len() > MAX_EVENTS {
        return Err(ApiError::bad_request(format!(
            "{} events; at most {MAX_EVENTS} in one capture",
            events.len()
        )));
    }
    let known = folded(&state).await?;
    let now = Timestamp::now();
    let offset = state.inner.local_offset_minutes;
    let mut answers = Vec::with_capacity(events.len());
    let mut ledger_events: Vec<Event> = Vec::new();
    // For each event to keep: its place in the answers and its ledger events' range.
    let mut kept: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    let mut errors = Vec::new();
    let mut in_this = std::collections::HashSet::new();
    for (index, e) in events.iter().enumerate() {
        let hash = e.hash_id();
        if known.by_hash.contains_key(&hash) || !in_this.insert(hash.clone()) {
            answers.push(EventAnswer {
                index,
                event_id: hash,
                status: "already",
                reason: None,
                packs: Vec::new(),
                note: None,
            });
            continue;
        }
        let mapped = meaning(e, &me, &ledger_tag(&hash), now, offset);
        match mapped {
            Ok(mine) => {
                let start = ledger_events.len();
                ledger_events.extend(mine);
                kept.push((answers.len(), start..ledger_events.len()));
                answers.push(EventAnswer {
                    index,
                    event_id: hash,
                    status: "captured",
                    reason: None,
                    packs: Vec::new(),
                    note: None,
                });
            }
            Err(reason) => {
                errors.push(CaptureProblem {
                    index,
                    reason: reason.clone(),
                });
                answers.push(EventAnswer {
                    index,
                    event_id: hash,
                    status: "refused",
                    reason: Some(reason),
                    packs: Vec::new(),
                    note: None,
                });
            }
        }
    }
    if ledger_events.len() > MAX_PACKS {
        return Err(ApiError::bad_request(format!(
            "the document names {} packs; at most {MAX_PACKS} in one capture: send it in parts",
            ledger_events.len()
        )));
    }
    if behaviour == Behaviour::Rollback && !errors.is_empty() {
        let body = json!({
            "type": "epcisException:CaptureLimitExceededException",
            "title": format!("{} of {} events cannot be kept; nothing was captured (send GS1-Capture-Error-Behaviour: proceed to capture the rest)", errors.len(), events.len()),
            "status": 400,
            "events": answers,
        });
        return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
    }
    // The ledger is written before the journal: an event whose journal append was lost (a
    // crash, a database failing over) is in the ledger under its tag, and is not recorded
    // again when the document is sent again.
    let earlier = recorded_before(&state, &me, &ledger_events, &kept, &answers).await?;
    // The events still to record are claimed first, so that two requests capturing them at
    // once (a client retrying through another server before the first answered) do not both
    // record them.
    let to_record: Vec<String> = kept
        .iter()
        .filter(|(_, range)| !range.is_empty() && !earlier.contains_key(&range.start))
        .map(|(at, _)| answers[*at].event_id.clone())
        .collect();
    claim(&state, &me, to_record, now).await?;
    let fresh: Vec<Event> = ledger_events
        .iter()
        .enumerate()
        .filter(|(i, _)| !earlier.contains_key(i))
        .map(|(_, e)| e.clone())
        .collect();
    let mut recorded = if fresh.is_empty() {
        Vec::new()
    } else {
        state.record(fresh, caller.authority()).await?
    }
    .into_iter();
    let mut earlier = earlier;
    let decisions: Vec<drugtrace_ledger::Decision> = (0..ledger_events.len())
        .map(|i| {
            earlier
                .remove(&i)
                .or_else(|| recorded.next())
                .expect("a decision for every ledger event")
        })
        .collect();
    for (at, range) in &kept {
        if range.is_empty() {
            let step = events[answers[*at].index]
                .biz_step()
                .map_or("none".to_owned(), |b| {
                    b.cbv_name().map_or(b.to_uri(), str::to_owned)
                });
            answers[*at].note = Some(format!(
                "kept for the EPCIS query; bizStep {step} records nothing about the packs in the ledger"
            ));
        }
        answers[*at].packs = range
            .clone()
            .map(|i| PackAnswer {
                code: ledger_events[i].pack.to_string(),
                outcome: decisions[i].outcome.as_str(),
                reason: decisions[i].outcome.reason().map(|r| r.as_str()),
                boxes: crate::packs::box_answers(&decisions[i]),
            })
            .collect();
    }
    let record = CaptureRecord {
        by: me.to_string(),
        at_ms: now.millis(),
        behaviour: behaviour.name().to_owned(),
        events: kept
            .iter()
            .map(|(at, _)| events[answers[*at].index].to_json_ld_with_context())
            .collect(),
        errors,
    };
    let before = known.events.len();
    let (id, after) = append(&state, &Entry::Capture(record)).await?;
    deliver(
        &state.inner.webhooks,
        &after,
        before.min(after.events.len()),
    );
    let location = format!("/epcis/capture/{id}");
    let mut response = (
        StatusCode::ACCEPTED,
        Json(json!({
            "captureID": id.to_string(),
            "running": false,
            "success": answers.iter().all(|a| a.status != "refused"),
            "events": answers,
        })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// The upload batch number the ledger events of the EPCIS event with hash id `hash` carry:
/// `epcis-` and the first 40 hex digits (160 bits) of its SHA-256, so that they can be found
/// again (`Lookup::Upload`) when the capture's journal append was lost, and voided by the
/// national interface's 3507 like any upload of the institution's.
fn ledger_tag(hash: &str) -> drugtrace_ledger::UploadId {
    let hex = hash
        .strip_prefix("ni:///sha-256;")
        .and_then(|h| h.get(..40))
        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    match hex {
        Some(hex) => drugtrace_ledger::UploadId::or_digest(&format!("epcis-{hex}")),
        None => drugtrace_ledger::UploadId::or_digest(hash),
    }
}

/// How long a claim on events being captured holds off another capture of them: far
/// longer than the largest capture's commit takes, so that only a server that died while
/// capturing leaves a claim to expire.
const CLAIM_LEASE_MS: i64 = 60_000;

/// Claims the events with hash ids `hashes` for this capture in the journal, or refuses
/// with a retryable 409 when another capture holds a live claim on one of them (or kept it
/// meanwhile).
async fn claim<S: Store + Sync + 'static>(
    state: &AppState<S>,
    me: &drugtrace_ledger::InstitutionId,
    hashes: Vec<String>,
    now: Timestamp,
) -> Result<(), ApiError> {
    if hashes.is_empty() {
        return Ok(());
    }
    let at_ms = now.millis();
    let line = serde_json::to_vec(&Entry::Claim {
        claim: hashes.clone(),
        by: me.to_string(),
        at_ms,
    })
    .map_err(ApiError::internal)?;
    let book = Arc::clone(&state.inner.captures);
    let taken = state
        .blocking(move |_| {
            let (taken, _) = book
                .folded
                .append(&line, |f| {
                    hashes
                        .iter()
                        .any(|h| {
                            f.by_hash.contains_key(h)
                                || f.claims
                                    .get(h)
                                    .is_some_and(|&ms| at_ms - ms < CLAIM_LEASE_MS)
                        })
                        .then_some(1)
                })
                .map_err(|e| ApiError::internal(CaptureError::from(e)))?;
            Ok(taken == 1)
        })
        .await?;
    if taken {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "capture_in_progress",
            "another request is capturing events of this document now: send it again in a few seconds, and the events it kept are answered \"already\"",
        ));
    }
    Ok(())
}

/// The decisions already in the ledger for the ledger events of `kept` events, by their
/// place in `ledger_events`: those an earlier capture of the same EPCIS event recorded
/// before its journal append was lost. Read back by the event's tag, never guessed.
async fn recorded_before<S: Store + Sync + 'static>(
    state: &AppState<S>,
    me: &drugtrace_ledger::InstitutionId,
    ledger_events: &[Event],
    kept: &[(usize, std::ops::Range<usize>)],
    answers: &[EventAnswer],
) -> Result<HashMap<usize, drugtrace_ledger::Decision>, ApiError> {
    let wanted: Vec<(drugtrace_ledger::UploadId, std::ops::Range<usize>)> = kept
        .iter()
        .filter(|(_, range)| !range.is_empty())
        .map(|(at, range)| (ledger_tag(&answers[*at].event_id), range.clone()))
        .collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let me = me.clone();
    let packs: Vec<PackKey> = ledger_events.iter().map(|e| e.pack).collect();
    state
        .blocking(move |inner| {
            let mut found = HashMap::new();
            for (tag, range) in wanted {
                let lookup = drugtrace_ledger::Lookup::Upload(me.clone(), tag.clone());
                let seen = inner
                    .ledger
                    .packs_by(&lookup, 1)
                    .map_err(ApiError::internal)?;
                if seen.is_empty() {
                    continue;
                }
                for i in range {
                    let history = inner
                        .ledger
                        .history(&packs[i])
                        .map_err(ApiError::internal)?;
                    // The last record of the pack under the tag: a case's movement may
                    // also have recorded on the boxes inside, each on its own pack.
                    if let Some(r) = history
                        .iter()
                        .rev()
                        .find(|r| r.event.upload.as_ref() == Some(&tag))
                    {
                        found.insert(
                            i,
                            drugtrace_ledger::Decision {
                                outcome: r.outcome,
                                index: r.index,
                                replayed: true,
                                prior_sales: Vec::new(),
                                boxes: Vec::new(),
                            },
                        );
                    }
                }
            }
            Ok(found)
        })
        .await
}

/// The ledger events an EPCIS event means, reported by `actor`, or why it cannot be kept;
/// each carries `tag` as its upload batch number.
fn meaning(
    e: &drugtrace_epcis::Event,
    actor: &drugtrace_ledger::InstitutionId,
    tag: &drugtrace_ledger::UploadId,
    now: Timestamp,
    offset: i32,
) -> Result<Vec<Event>, String> {
    let at = Timestamp::from_millis(e.event_time().as_millisecond());
    drugtrace_ledger::Policy::check_claimed_time(at, now, offset)
        .map_err(|t| format!("eventTime: {t}"))?;
    let step = e
        .biz_step()
        .map(|b| b.cbv_name().unwrap_or("(not a CBV term)"));
    let recalled = e.disposition().and_then(|d| d.cbv_name()) == Some("recalled");
    let event = |pack: PackKey, lot: Lot, kind: EventKind| Event {
        pack,
        at,
        actor: actor.clone(),
        lot,
        kind,
        upload: Some(tag.clone()),
    };
    let movement = |step: Option<&str>| -> Option<EventKind> {
        Some(match step? {
            "shipping" | "departing" => EventKind::Ship { to: None },
            "receiving" | "arriving" => EventKind::Receive { from: None },
            "accepting" => EventKind::Intake(Intake {
                supplier: None,
                product: None,
            }),
            "destroying" | "decommissioning" => EventKind::Destroy,
            _ => return None,
        })
    };
    let keys = |list: &[Epc], field: &str| -> Result<Vec<PackKey>, String> {
        list.iter()
            .enumerate()
            .map(|(i, epc)| {
                epc.case_key().ok_or_else(|| {
                    format!("{field}[{i}] {}: names no pack or case (an SGTIN or an SSCC), which is what drugtrace keeps", epc.as_written())
                })
            })
            .collect()
    };
    match e.kind() {
        EventType::Object => {
            if !e.quantity_list().is_empty() && e.epc_list().is_empty() {
                return Err("quantityList names amounts of a product class, not packs: drugtrace keeps packs by their serial (epcList)".into());
            }
            let packs = keys(e.epc_list(), "epcList")?;
            if packs.is_empty() {
                return Err("epcList is empty: the event names no pack".into());
            }
            let lot = ilmd_lot(e)?;
            let kind = if recalled {
                EventKind::Recall
            } else if e.action() == Some(Action::Delete) {
                return Err("an ObjectEvent DELETE ends its EPCs' life without saying how: send decommissioning, destroying or dispensing".into());
            } else if step == Some("commissioning") {
                if e.action() != Some(Action::Add) {
                    return Err("commissioning is an ADD".into());
                }
                EventKind::Commission
            } else if matches!(step, Some("dispensing" | "retail_selling")) {
                EventKind::Sale(Sale {
                    settlement: None,
                    person: None,
                    units: None,
                    pack_units: None,
                    product: None,
                    amount_fen: 0,
                    fund_paid: false,
                    visit: None,
                })
            } else if let Some(kind) = movement(step) {
                kind
            } else {
                // An observation of packs (an inspection, a sensor reading) is kept for the
                // EPCIS query as evidence about them; the ledger records nothing for it.
                return Ok(Vec::new());
            };
            let lot = |p: &PackKey| {
                if matches!(kind, EventKind::Commission) && !p.is_sscc() {
                    lot.clone()
                } else {
                    Lot::default()
                }
            };
            Ok(packs
                .iter()
                .map(|p| event(*p, lot(p), kind.clone()))
                .collect())
        }
        EventType::Aggregation => {
            let Some(parent) = e.parent_id() else {
                return Err(
                    "parentID is missing: drugtrace keeps an aggregation as what its parent holds"
                        .into(),
                );
            };
            let parent = parent.case_key().ok_or_else(|| {
                format!(
                    "parentID {}: names no pack or case (an SGTIN or an SSCC)",
                    parent.as_written()
                )
            })?;
            if !e.child_quantity_list().is_empty() && e.child_epcs().is_empty() {
                return Err("childQuantityList names amounts of a product class, not packs: drugtrace keeps the packs in a case by their serial (childEPCs)".into());
            }
            let children = keys(e.child_epcs(), "childEPCs")?;
            match e.action() {
                Some(Action::Delete) if children.is_empty() => {
                    Ok(vec![event(parent, Lot::default(), EventKind::Open)])
                }
                Some(Action::Delete) => Ok(children
                    .iter()
                    .map(|c| event(*c, Lot::default(), EventKind::Unpack))
                    .collect()),
                Some(Action::Observe) if movement(step).is_some() || recalled => {
                    let kind = if recalled {
                        EventKind::Recall
                    } else {
                        movement(step).expect("checked")
                    };
                    Ok(vec![event(parent, Lot::default(), kind)])
                }
                _ if children.is_empty() => {
                    Err("childEPCs is empty: nothing is put into the parent".into())
                }
                _ => Ok(vec![event(
                    parent,
                    Lot::default(),
                    EventKind::Fill { boxes: children },
                )]),
            }
        }
        other => Err(format!(
            "a {} is not kept: drugtrace keeps ObjectEvents and AggregationEvents, what happens to packs and cases",
            other.name()
        )),
    }
}

/// The lot and expiry a commissioning's ILMD gives (`cbvmda:lotNumber`,
/// `cbvmda:itemExpirationDate`).
fn ilmd_lot(e: &drugtrace_epcis::Event) -> Result<Lot, String> {
    let Some(ilmd) = e.ilmd() else {
        return Ok(Lot::default());
    };
    let field = |name: &str| {
        ilmd.iter()
            .find(|(k, _)| k.rsplit([':', '#', '/']).next() == Some(name))
            .and_then(|(_, v)| v.as_str())
    };
    let batch = field("lotNumber")
        .map(|b| Batch::parse(b).map_err(|e| format!("ilmd lotNumber: {e}")))
        .transpose()?;
    let expiry = field("itemExpirationDate")
        .map(|d| Date::parse(d).map_err(|e| format!("ilmd itemExpirationDate: {e}")))
        .transpose()?;
    Ok(Lot {
        batch,
        expiry,
        ..Lot::default()
    })
}

pub async fn job<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let folded = folded(&state).await?;
    let job = id
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| folded.jobs.get(n))
        .filter(|j| sees(&caller.0, &j.by))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_capture",
                format!("no capture {id} of yours"),
            )
        })?;
    let offset = state.inner.local_offset_minutes;
    let at = Timestamp::from_millis(job.at_ms).to_rfc3339(offset);
    Ok(Json(json!({
        "captureID": id,
        "createdAt": at,
        "finishedAt": at,
        "running": false,
        "success": job.errors.is_empty(),
        "captureErrorBehaviour": job.behaviour,
        "events": job.events,
        "errors": job.errors.iter().map(|p| json!({"index": p.index, "reason": p.reason})).collect::<Vec<_>>(),
    })))
}

/// Whether `role` may see what `by` captured: a regulator sees everything, a party what it
/// captured itself.
fn sees(role: &Role, by: &str) -> bool {
    match role {
        Role::Regulator => true,
        Role::Institution(i) => i.as_str() == by,
    }
}

/// Everything captured, read on from the journal first (other servers capture too).
async fn folded<S: Store + Sync + 'static>(state: &AppState<S>) -> Result<Arc<Folding>, ApiError> {
    let book = Arc::clone(&state.inner.captures);
    state
        .blocking(move |_| book.current().map_err(ApiError::internal))
        .await
}

/// Appends `entry` to the capture journal; what applying it said (a capture's number), and
/// everything captured after it.
async fn append<S: Store + Sync + 'static>(
    state: &AppState<S>,
    entry: &Entry,
) -> Result<(u64, Arc<Folding>), ApiError> {
    let line = serde_json::to_vec(entry).map_err(ApiError::internal)?;
    let book = Arc::clone(&state.inner.captures);
    state
        .blocking(move |_| {
            let (applied, _) = book
                .folded
                .append(&line, |_| None)
                .map_err(|e| ApiError::internal(CaptureError::from(e)))?;
            Ok((applied, book.folded.current()))
        })
        .await
}

/// The standard query's filters drugtrace answers.
#[derive(Default)]
struct Filters {
    event_types: Option<Vec<String>>,
    ge_time: Option<i64>,
    lt_time: Option<i64>,
    actions: Option<Vec<String>>,
    biz_steps: Option<Vec<String>>,
    dispositions: Option<Vec<String>>,
    match_epc: Option<Vec<Epc>>,
    match_parent: Option<Vec<Epc>>,
    match_any: Option<Vec<Epc>>,
    event_ids: Option<Vec<String>>,
    per_page: usize,
    /// The position in the captured events to go on from (`nextPageToken`).
    from: usize,
}

fn filters(params: &HashMap<String, String>) -> Result<Filters, ApiError> {
    let list = |v: &str| -> Vec<String> {
        v.split(['|', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let time = |name: &str, v: &str| -> Result<i64, ApiError> {
        v.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|e| {
                ApiError::field(
                    name.to_owned(),
                    format!("{v:?} is not an RFC 3339 time: {e}"),
                )
            })
    };
    let epcs = |name: &str, v: &str| -> Result<Vec<Epc>, ApiError> {
        list(v)
            .iter()
            .map(|s| Epc::parse(s).map_err(|e| ApiError::field(name.to_owned(), e.to_string())))
            .collect()
    };
    let vocab = |name: &str, v: &str| -> Result<Vec<String>, ApiError> {
        list(v)
            .iter()
            .map(|s| {
                drugtrace_epcis::BizStep::parse(s)
                    .map(|b| b.to_uri())
                    .or_else(|_| drugtrace_epcis::Disposition::parse(s).map(|d| d.to_uri()))
                    .map_err(|e| ApiError::field(name.to_owned(), e.to_string()))
            })
            .collect()
    };
    let mut f = Filters {
        per_page: 30,
        ..Filters::default()
    };
    for (k, v) in params {
        match k.as_str() {
            "eventType" => f.event_types = Some(list(v)),
            "GE_eventTime" => f.ge_time = Some(time(k, v)?),
            "LT_eventTime" => f.lt_time = Some(time(k, v)?),
            "EQ_action" => f.actions = Some(list(v)),
            "EQ_bizStep" => f.biz_steps = Some(vocab(k, v)?),
            "EQ_disposition" => f.dispositions = Some(vocab(k, v)?),
            "MATCH_epc" => f.match_epc = Some(epcs(k, v)?),
            "MATCH_parentID" => f.match_parent = Some(epcs(k, v)?),
            "MATCH_anyEPC" => f.match_any = Some(epcs(k, v)?),
            "EQ_eventID" => f.event_ids = Some(list(v)),
            "perPage" => {
                f.per_page = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::field("perPage", format!("{v:?}: 1 to {MAX_PER_PAGE}"))
                    })?;
            }
            "nextPageToken" => {
                f.from = v.parse().map_err(|_| {
                    ApiError::field(
                        "nextPageToken",
                        format!("{v:?} is not a token this server gave"),
                    )
                })?;
            }
            other => {
                return Err(ApiError::field(
                    other.to_owned(),
                    "is not a query parameter drugtrace answers (eventType, GE_eventTime, LT_eventTime, EQ_action, EQ_bizStep, EQ_disposition, MATCH_epc, MATCH_parentID, MATCH_anyEPC, EQ_eventID, perPage, nextPageToken)",
                ));
            }
        }
    }
    Ok(f)
}

/// Every EPC `e` names: its EPC list, children, parent, inputs and outputs.
fn every_epc(e: &drugtrace_epcis::Event) -> impl Iterator<Item = &Epc> {
    e.epc_list()
        .iter()
        .chain(e.child_epcs())
        .chain(e.parent_id())
        .chain(e.input_epc_list())
        .chain(e.output_epc_list())
}

/// The positions a query needs to look at, ascending.
enum Candidates {
    /// Every captured event.
    All,
    /// These.
    Some(Vec<usize>),
}

impl Filters {
    /// The fewest positions that hold every event the filters and `role` can select: those
    /// naming a wanted EPC, else the party's own, else all.
    fn candidates(&self, folded: &Folding, role: &Role) -> Candidates {
        let named = |wanted: &Vec<Epc>| -> Vec<usize> {
            let mut at: Vec<usize> = wanted
                .iter()
                .filter_map(|epc| folded.by_epc.get(epc))
                .flat_map(|list| list.iter().copied())
                .collect();
            at.sort_unstable();
            at.dedup();
            at
        };
        let by_epc = [&self.match_epc, &self.match_parent, &self.match_any]
            .into_iter()
            .flatten()
            .map(named)
            .min_by_key(Vec::len);
        if let Some(at) = by_epc {
            return Candidates::Some(at);
        }
        match role {
            Role::Regulator => Candidates::All,
            Role::Institution(i) => Candidates::Some(
                folded
                    .by_party
                    .get(i.as_str())
                    .map(|list| list.iter().copied().collect())
                    .unwrap_or_default(),
            ),
        }
    }

    fn matches(&self, c: &Captured) -> bool {
        let e = &c.event;
        let t = e.event_time().as_millisecond();
        let vocab_in = |want: &Option<Vec<String>>, got: Option<String>| {
            want.as_ref()
                .is_none_or(|w| got.is_some_and(|g| w.contains(&g)))
        };
        let any_of = |want: &Option<Vec<Epc>>, got: Vec<&Epc>| {
            want.as_ref()
                .is_none_or(|w| got.iter().any(|g| w.iter().any(|x| x == *g)))
        };
        self.event_types
            .as_ref()
            .is_none_or(|w| w.iter().any(|n| n == e.kind().name()))
            && self.ge_time.is_none_or(|g| t >= g)
            && self.lt_time.is_none_or(|l| t < l)
            && self
                .actions
                .as_ref()
                .is_none_or(|w| e.action().is_some_and(|a| w.iter().any(|n| n == a.name())))
            && vocab_in(&self.biz_steps, e.biz_step().map(|b| b.to_uri()))
            && vocab_in(&self.dispositions, e.disposition().map(|d| d.to_uri()))
            && self.event_ids.as_ref().is_none_or(|w| {
                w.iter()
                    .any(|id| *id == c.hash || Some(id.as_str()) == e.event_id())
            })
            && any_of(
                &self.match_epc,
                e.epc_list().iter().chain(e.child_epcs()).collect(),
            )
            && any_of(&self.match_parent, e.parent_id().into_iter().collect())
            && any_of(&self.match_any, every_epc(e).collect())
    }
}

pub async fn events<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    answer(state, caller, params).await
}

pub async fn epc_events<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(epc): Path<String>,
    Query(mut params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    Epc::parse(&epc).map_err(|e| ApiError::field("epc", e.to_string()))?;
    params.insert("MATCH_anyEPC".into(), epc);
    answer(state, caller, params).await
}

async fn answer<S: Store + Sync + 'static>(
    state: AppState<S>,
    caller: Caller,
    params: HashMap<String, String>,
) -> Result<Response, ApiError> {
    let f = filters(&params)?;
    let folded = folded(&state).await?;
    // The page token is the position to go on from, so a page costs the events it looks
    // at, not every one before it.
    let wanted = |&at: &usize| -> Option<(usize, &Arc<Captured>)> {
        let c = folded.events.get(at)?;
        (sees(&caller.0, &c.by) && f.matches(c)).then_some((at, c))
    };
    let found: Vec<(usize, &Arc<Captured>)> = match f.candidates(&folded, &caller.0) {
        Candidates::All => (f.from..folded.events.len())
            .filter_map(|at| wanted(&at))
            .take(f.per_page + 1)
            .collect(),
        Candidates::Some(at) => {
            let from = at.partition_point(|&p| p < f.from);
            at[from..]
                .iter()
                .filter_map(wanted)
                .take(f.per_page + 1)
                .collect()
        }
    };
    let more = found.get(f.per_page).map(|(at, _)| *at);
    let page: Vec<drugtrace_epcis::Event> = found
        .iter()
        .take(f.per_page)
        .map(|(_, c)| c.event.clone())
        .collect();
    let created =
        jiff::Timestamp::from_millisecond(Timestamp::now().millis()).map_err(ApiError::internal)?;
    let doc = Document::query_answer("SimpleEventQuery", None, created, page);
    let mut response = Json(doc.to_json_ld()).into_response();
    if let Some(next) = more {
        if let Ok(v) = HeaderValue::from_str(&format!("<?nextPageToken={next}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, v);
        }
        if let Ok(v) = HeaderValue::from_str(&next.to_string()) {
            response.headers_mut().insert("gs1-next-page-token", v);
        }
    }
    Ok(response)
}

/// Sends the events captured at positions `from..` to every subscription whose filters and
/// visibility they match, each delivery on its own task.
fn deliver(webhooks: &crate::webhook::Webhooks, folded: &Folding, from: usize) {
    let fresh = folded.events.skip(from.min(folded.events.len()));
    if fresh.is_empty() || folded.subscriptions.is_empty() {
        return;
    }
    for sub in folded.subscriptions.iter().filter(|s| s.schedule.is_none()) {
        let Ok(f) = filters(&sub.params) else {
            continue;
        };
        let Some(role) = subscriber(sub) else {
            continue;
        };
        let events: Vec<drugtrace_epcis::Event> = fresh
            .iter()
            .filter(|c| sees(&role, &c.by) && f.matches(c))
            .map(|c| c.event.clone())
            .collect();
        if events.is_empty() {
            continue;
        }
        let Ok(now) = jiff::Timestamp::from_millisecond(Timestamp::now().millis()) else {
            continue;
        };
        let doc = Document::query_answer("SimpleEventQuery", Some(&sub.id), now, events);
        let body = doc.to_json_ld().to_string();
        send(webhooks, sub, body);
    }
}

/// Who a subscription's subscriber is, for what it may see.
fn subscriber(sub: &Subscription) -> Option<Role> {
    if sub.regulator {
        Some(Role::Regulator)
    } else {
        drugtrace_ledger::InstitutionId::parse(&sub.by)
            .ok()
            .map(Role::Institution)
    }
}

/// Sends `body` to `sub`'s webhook on a task of its own.
fn send(webhooks: &crate::webhook::Webhooks, sub: &Subscription, body: String) {
    let sub = sub.clone();
    let webhooks = webhooks.clone();
    tokio::spawn(async move {
        let delivery = crate::webhook::Delivery {
            dest: &sub.dest,
            content_type: "application/ld+json",
            signature_header: "GS1-Signature",
            token: sub.token.as_deref(),
            what: &sub.id,
        };
        webhooks.deliver(&delivery, body).await
    });
}

/// How often the scheduler looks whether a scheduled subscription is due.
const SCHEDULER_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the scheduled subscriptions, for as long as the server serves: at each instant a
/// schedule names (after the server was down, once, covering every instant missed), the
/// server that claims the run first in the journal reports the matching events captured
/// since the last run, so several servers on one journal report each run once.
pub(crate) async fn run_schedules<S: Store + Sync + 'static>(state: AppState<S>) {
    loop {
        tokio::time::sleep(SCHEDULER_TICK).await;
        let Ok(known) = folded(&state).await else {
            continue;
        };
        let offset = state.inner.local_offset_minutes;
        let now = Timestamp::now();
        let Ok(now_civil) = jiff::Timestamp::from_millisecond(now.millis()).map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(local_offset(offset)))
                .datetime()
        }) else {
            continue;
        };
        for sub in known.subscriptions.iter() {
            let Some(Ok(schedule)) = sub.schedule.as_ref().map(ScheduleSpec::parse) else {
                continue;
            };
            let Some(due) = schedule.last_at_or_before(now_civil) else {
                continue;
            };
            let Ok(due_ms) = due
                .to_zoned(jiff::tz::TimeZone::fixed(local_offset(offset)))
                .map(|z| z.timestamp().as_millisecond())
            else {
                continue;
            };
            let ran_to = sub.runs.last.map_or(sub.at_ms, |(ms, _)| ms);
            if due_ms <= ran_to {
                continue;
            }
            if let Err(e) = run_once(&state, sub, due_ms).await {
                tracing::warn!(subscription = %sub.id, error = %e.message(), "a scheduled EPCIS query could not run");
            }
        }
    }
}

/// The zone `offset` minutes east of UTC.
fn local_offset(offset: i32) -> jiff::tz::Offset {
    jiff::tz::Offset::from_seconds(offset.saturating_mul(60)).unwrap_or(jiff::tz::Offset::UTC)
}

/// Claims the run of `sub` for `due_ms` and, when this server claimed it, reports it.
async fn run_once<S: Store + Sync + 'static>(
    state: &AppState<S>,
    sub: &Subscription,
    due_ms: i64,
) -> Result<(), ApiError> {
    let line = serde_json::to_vec(&Entry::Run {
        run: sub.id.clone(),
        at_ms: due_ms,
    })
    .map_err(ApiError::internal)?;
    let book = Arc::clone(&state.inner.captures);
    let id = sub.id.clone();
    let claimed = state
        .blocking(move |_| {
            let (_, appended) = book
                .folded
                .append(&line, |f| {
                    let Some(s) = f.subscriptions.iter().find(|s| s.id == id) else {
                        return Some(0);
                    };
                    s.runs.last.is_some_and(|(ms, _)| ms >= due_ms).then_some(0)
                })
                .map_err(|e| ApiError::internal(CaptureError::from(e)))?;
            Ok(appended.then(|| book.folded.current()))
        })
        .await?;
    let Some(after) = claimed else {
        return Ok(());
    };
    let Some(sub) = after.subscriptions.iter().find(|s| s.id == sub.id) else {
        return Ok(());
    };
    let (Ok(f), Some(role)) = (filters(&sub.params), subscriber(sub)) else {
        return Ok(());
    };
    let r = &sub.runs;
    let earlier = r.earlier_since_ms.map_or(0..0, |_| 0..r.window.0);
    let events: Vec<drugtrace_epcis::Event> = earlier
        .filter_map(|at| {
            after
                .events
                .get(at)
                .filter(|c| r.earlier_since_ms.is_some_and(|since| c.at_ms >= since))
        })
        .chain((r.window.0..r.window.1).filter_map(|at| after.events.get(at)))
        .filter(|c| sees(&role, &c.by) && f.matches(c))
        .map(|c| c.event.clone())
        .collect();
    if events.is_empty() && !sub.report_if_empty {
        return Ok(());
    }
    let created = jiff::Timestamp::from_millisecond(due_ms).map_err(ApiError::internal)?;
    let doc = Document::query_answer("SimpleEventQuery", Some(&sub.id), created, events);
    send(&state.inner.webhooks, sub, doc.to_json_ld().to_string());
    Ok(())
}

/// `POST /epcis/queries/SimpleEventQuery/subscriptions`: `{"dest": "https://…",
/// "signatureToken": "…", "stream": true}`, the filters as URL parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    dest: String,
    #[serde(rename = "signatureToken")]
    signature_token: Option<String>,
    stream: Option<bool>,
    schedule: Option<Value>,
    #[serde(rename = "reportIfEmpty")]
    report_if_empty: Option<bool>,
    #[serde(rename = "initialRecordTime")]
    initial_record_time: Option<String>,
}

fn only_simple(query: &str) -> Result<(), ApiError> {
    if query == "SimpleEventQuery" {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_query",
            format!(
                "no query {query:?}: drugtrace answers SimpleEventQuery, with its filters as URL parameters"
            ),
        ))
    }
}

/// Who a subscription is the caller's as: its institution, or a regulator.
fn owner(caller: &Caller) -> (String, bool) {
    match &caller.0 {
        Role::Regulator => ("regulator".to_owned(), true),
        Role::Institution(i) => (i.to_string(), false),
    }
}

pub async fn subscribe<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(query): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    body: Result<Json<SubscribeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    only_simple(&query)?;
    let Json(req) = body?;
    let offset = state.inner.local_offset_minutes;
    let schedule = match (&req.schedule, req.stream) {
        (Some(_), Some(true)) => {
            return Err(ApiError::field(
                "stream",
                "a subscription is a stream or has a schedule, not both",
            ));
        }
        (Some(v), _) => {
            Some(ScheduleSpec::from_request(v).map_err(|e| ApiError::field("schedule", e))?)
        }
        (None, Some(true)) => None,
        (None, _) => {
            return Err(ApiError::field(
                "stream",
                "must be true for a subscription without a schedule (or give a schedule)",
            ));
        }
    };
    if schedule.is_none() && req.report_if_empty.is_some() {
        return Err(ApiError::field(
            "reportIfEmpty",
            "only a scheduled subscription reports; a stream reports each capture's events",
        ));
    }
    let initial_ms = match &req.initial_record_time {
        None => None,
        Some(_) if schedule.is_none() => {
            return Err(ApiError::field(
                "initialRecordTime",
                "only for a scheduled subscription: a stream gets what is captured from now on; query /epcis/events for what came before",
            ));
        }
        Some(t) => Some(
            Timestamp::parse(t, offset)
                .map_err(|e| ApiError::field("initialRecordTime", e.to_string()))?
                .millis(),
        ),
    };
    let dest = crate::webhook::check_dest(&req.dest).map_err(|e| ApiError::field("dest", e))?;
    if req
        .signature_token
        .as_ref()
        .is_some_and(|t| t.len() < 16 || t.len() > 256)
    {
        return Err(ApiError::field("signatureToken", "16 to 256 characters"));
    }
    // The filters are checked now, so a delivery never meets one it cannot read.
    filters(&params)?;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let now = Timestamp::now();
    let me = owner(&caller);
    let sub = Subscription {
        id: id.clone(),
        by: me.0,
        regulator: me.1,
        dest: dest.clone(),
        token: req.signature_token,
        params,
        at_ms: now.millis(),
        schedule,
        report_if_empty: req.report_if_empty.unwrap_or(false),
        initial_ms,
        runs: Runs::default(),
    };
    let answer = describe(&sub, offset);
    append(
        &state,
        &Entry::Subscribe {
            subscribe: Box::new(sub),
        },
    )
    .await?;
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "/epcis/queries/SimpleEventQuery/subscriptions/{id}"
    )) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// A subscription as its subscriber is told it (never its secret).
fn describe(s: &Subscription, offset: i32) -> Value {
    let mut v = json!({"subscriptionID": s.id, "dest": s.dest, "stream": s.schedule.is_none(),
           "createdAt": Timestamp::from_millis(s.at_ms).to_rfc3339(offset),
           "filters": s.params, "signed": s.token.is_some()});
    if let Some(schedule) = &s.schedule {
        v["schedule"] = json!(schedule);
        v["reportIfEmpty"] = json!(s.report_if_empty);
        if let Some((at, _)) = s.runs.last {
            v["lastRunAt"] = json!(Timestamp::from_millis(at).to_rfc3339(offset));
        }
        if let Some(ms) = s.initial_ms {
            v["initialRecordTime"] = json!(Timestamp::from_millis(ms).to_rfc3339(offset));
        }
    }
    v
}

pub async fn subscriptions<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(query): Path<String>,
) -> Result<Json<Value>, ApiError> {
    only_simple(&query)?;
    let folded = folded(&state).await?;
    let me = owner(&caller);
    let offset = state.inner.local_offset_minutes;
    let list: Vec<Value> = folded
        .subscriptions
        .iter()
        .filter(|s| (s.by.clone(), s.regulator) == me)
        .map(|s| describe(s, offset))
        .collect();
    Ok(Json(json!({"subscriptions": list})))
}

pub async fn unsubscribe<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((query, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    only_simple(&query)?;
    let (me, regulator) = owner(&caller);
    let folded = folded(&state).await?;
    if !folded
        .subscriptions
        .iter()
        .any(|s| s.id == id && s.by == me && s.regulator == regulator)
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_subscription",
            format!("no subscription {id} of yours"),
        ));
    }
    append(
        &state,
        &Entry::Unsubscribe {
            unsubscribe: id,
            by: me,
            regulator,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
