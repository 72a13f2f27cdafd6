//! `POST /v1/relations`: packaging relations (码关联关系), each code with the code of the
//! case it is packed in, as manufacturers and repackers upload them: in the shape China's
//! 码上放心 platform answers a code-relation query (`code_relation_list` of `code`,
//! `parent_code`, `code_level`, `code_pack_level`, alone or inside `model_list`, `result`
//! and the method's response object), or as CSV with a `code,parent_code` header. Every
//! relation with a parent is judged as a packing of the code into its parent by the
//! caller, all in one atomic commit; a code without a parent is the top of its hierarchy.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use drugtrace_code::PackKey;
use drugtrace_ledger::{Event, EventKind, Lot, Store, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::access::Caller;
use crate::{ApiError, AppState};

/// Relations in one request at most.
const MAX_RELATIONS: usize = 50_000;

#[derive(Serialize)]
pub struct RelationsAnswer {
    /// Packings recorded (a resent one is not recorded again).
    recorded: usize,
    /// Codes at the top of their hierarchy (no parent): nothing to record for them.
    top: usize,
    relations: Vec<RelationAnswer>,
}

#[derive(Serialize)]
struct RelationAnswer {
    code: String,
    parent_code: String,
    /// `ok`, or the reason the packing was flagged or refused.
    status: &'static str,
    outcome: &'static str,
    replayed: bool,
}

/// One relation as sent: where it was, the code and its parent's code.
struct Row {
    at: String,
    code: String,
    parent: Option<String>,
}

pub async fn post<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RelationsAnswer>, ApiError> {
    let me = caller.institution()?.clone();
    let body = body?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?
        .trim_start_matches('\u{feff}');
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let rows = if csv {
        csv_rows(text)?
    } else {
        json_rows(text)?
    };
    if rows.is_empty() {
        return Err(ApiError::bad_request(
            "the body holds no relation: send code_relation_list entries or CSV rows",
        ));
    }
    if rows.len() > MAX_RELATIONS {
        return Err(ApiError::bad_request(format!(
            "{} relations; at most {MAX_RELATIONS} in one request",
            rows.len()
        )));
    }
    // Either side may be a carton's or pallet's SSCC: a case of cases, or a case.
    let parse = |at: &str, name: &str, v: &str| -> Result<PackKey, ApiError> {
        drugtrace_code::parse_case(v)
            .map_err(|e| ApiError::field(format!("{at}.{name}"), e.to_string()))
    };
    let now = Timestamp::now();
    let mut events = Vec::new();
    let mut top = 0;
    for row in &rows {
        let code = parse(&row.at, "code", &row.code)?;
        let Some(parent) = &row.parent else {
            top += 1;
            continue;
        };
        let case = parse(&row.at, "parent_code", parent)?;
        if case == code {
            return Err(ApiError::field(
                format!("{}.parent_code", row.at),
                format!("{parent} is the code itself: a pack cannot be packed into itself"),
            ));
        }
        events.push(Event {
            pack: code,
            at: now,
            actor: me.clone(),
            lot: Lot::default(),
            kind: EventKind::PackInto { case },
            upload: None,
        });
    }
    let decisions = if events.is_empty() {
        Vec::new()
    } else {
        state.record(events.clone(), caller.authority()).await?
    };
    let relations: Vec<RelationAnswer> = events
        .iter()
        .zip(&decisions)
        .map(|(e, d)| RelationAnswer {
            code: e.pack.to_string(),
            parent_code: match &e.kind {
                EventKind::PackInto { case } => case.to_string(),
                _ => String::new(),
            },
            status: d.outcome.reason().map_or("ok", |r| r.as_str()),
            outcome: d.outcome.as_str(),
            replayed: d.replayed,
        })
        .collect();
    Ok(Json(RelationsAnswer {
        recorded: relations.iter().filter(|r| !r.replayed).count(),
        top,
        relations,
    }))
}

/// The relations of a JSON body: `code_relation_list` found at the top or under
/// `model_list[]`, `result` or a single response object, as the platform nests it.
fn json_rows(text: &str) -> Result<Vec<Row>, ApiError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    let mut rows = Vec::new();
    collect(&v, "$", 0, &mut rows)?;
    Ok(rows)
}

fn collect(v: &Value, at: &str, depth: usize, rows: &mut Vec<Row>) -> Result<(), ApiError> {
    if depth > 4 {
        return Ok(());
    }
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, &format!("{at}[{i}]"), depth + 1, rows)?;
            }
        }
        Value::Object(map) => {
            if let Some(list) = map.get("code_relation_list") {
                let at = format!("{at}.code_relation_list");
                let Value::Array(items) = list else {
                    return Err(ApiError::field(at, "is not a list of relations"));
                };
                for (i, item) in items.iter().enumerate() {
                    rows.push(relation(item, &format!("{at}[{i}]"))?);
                }
            } else {
                for key in ["model_list", "result"] {
                    if let Some(inner) = map.get(key) {
                        collect(inner, &format!("{at}.{key}"), depth + 1, rows)?;
                    }
                }
                // The method's response object (`…_response`) wraps the result.
                if map.len() == 1
                    && let Some((k, inner)) = map.iter().next()
                    && k.ends_with("_response")
                {
                    collect(inner, &format!("{at}.{k}"), depth + 1, rows)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// One `code_relation_list` entry: `code` required, `parent_code` empty or absent at the
/// top; the levels are accepted and not needed (the parent says it all).
fn relation(v: &Value, at: &str) -> Result<Row, ApiError> {
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match v.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Number(n)) => Err(ApiError::field(
                format!("{at}.{name}"),
                format!("{n} is a JSON number: send codes as strings, or digits are lost"),
            )),
            Some(_) => Err(ApiError::field(format!("{at}.{name}"), "is not a string")),
        }
    };
    if !v.is_object() {
        return Err(ApiError::field(at.to_owned(), "is not a relation object"));
    }
    let code = text("code")?.ok_or_else(|| ApiError::field(format!("{at}.code"), "is required"))?;
    Ok(Row {
        at: at.to_owned(),
        code,
        parent: text("parent_code")?,
    })
}

/// The relations of a CSV body with a header naming `code` and `parent_code`.
fn csv_rows(text: &str) -> Result<Vec<Row>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ApiError::bad_request(format!("malformed CSV header: {e}")))?
        .clone();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(code), parent) = (column("code"), column("parent_code")) else {
        return Err(ApiError::bad_request(
            "the CSV header names no `code` column (expected `code,parent_code`)",
        ));
    };
    let Some(parent) = parent else {
        return Err(ApiError::bad_request(
            "the CSV header names no `parent_code` column (expected `code,parent_code`)",
        ));
    };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| ApiError::bad_request(format!("CSV line {line}: {e}")))?;
        let get = |c: usize| record.get(c).map(str::to_owned).filter(|s| !s.is_empty());
        let Some(c) = get(code) else {
            return Err(ApiError::field(format!("line {line}.code"), "is required"));
        };
        rows.push(Row {
            at: format!("line {line}"),
            code: c,
            parent: get(parent),
        });
    }
    Ok(rows)
}
