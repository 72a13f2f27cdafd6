//! The regulator's JSON API: findings and reports (also as CSV and Parquet), read-only SQL,
//! clue batches and their workflow, and public notices.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use datafusion::prelude::{col, lit};
use drugtrace_analytics::Table;
use drugtrace_clues::{AuditEntry, Clue, Date};
use drugtrace_clues::{Notice, NoticeError};
use drugtrace_ledger::{Store, Timestamp};
use drugtrace_money::Fen;
use serde::{Deserialize, Serialize};

use super::auth::Regulator;
use super::clues::{self, BatchSpec, ClueParams};
use super::export::{self, Format};
use super::{Loaded, Supervision, blocking, own_query_error, valid_institution};
use crate::{ApiError, AppState};

/// Filters of `GET /v1/findings`.
#[derive(Deserialize)]
pub(crate) struct FindingsParams {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    institution: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// `GET /v1/findings`: the last model run's findings, filtered by model and institution.
pub(crate) async fn findings<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: Regulator,
    Query(p): Query<FindingsParams>,
) -> Result<Response, ApiError> {
    let format = Format::parse(
        p.format.as_deref(),
        &[Format::Json, Format::Csv, Format::Parquet],
    )?;
    let model = p.model.filter(|m| !m.is_empty());
    if let Some(m) = &model {
        clues::known_model(m)?;
    }
    let institution = p.institution.filter(|i| !i.is_empty());
    if let Some(i) = &institution
        && !valid_institution(i)
    {
        return Err(ApiError::field(
            "institution",
            "an institution code is letters and digits",
        ));
    }
    let loaded = state.supervision()?.ready().await?;
    // The filters are expressions over values, not SQL text.
    let run = async {
        let mut frame = loaded.analytics.context().table("findings").await?;
        if let Some(m) = model {
            frame = frame.filter(col("model").eq(lit(m)))?;
        }
        if let Some(i) = institution {
            frame = frame.filter(col("institution").eq(lit(i)))?;
        }
        frame
            .sort(vec![
                col("model").sort(true, false),
                col("institution").sort(true, false),
                col("at").sort(true, false),
                col("code").sort(true, false),
            ])?
            .collect()
            .await
    };
    let batches = run.await.map_err(|e| own_query_error(e.into()))?;
    match format {
        Format::Parquet => Ok(export::download(
            format,
            "findings",
            export::parquet(drugtrace_analytics::schema::findings_schema(), &batches)?,
        )),
        Format::Csv => {
            let table = Table::from_batches(&batches).map_err(own_query_error)?;
            let table = with_columns(table, drugtrace_analytics::schema::findings_schema());
            Ok(export::download(
                format,
                "findings",
                export::table_csv(&table)?,
            ))
        }
        Format::Json => {
            let table = Table::from_batches(&batches).map_err(own_query_error)?;
            let rows = export::table_rows(&table);
            Ok(Json(serde_json::json!({"count": rows.len(), "findings": rows})).into_response())
        }
    }
}

/// A table with no rows still has its header.
fn with_columns(mut t: Table, schema: datafusion::arrow::datatypes::SchemaRef) -> Table {
    if t.columns.is_empty() {
        t.columns = schema.fields().iter().map(|f| f.name().clone()).collect();
    }
    t
}

/// `format=` of a report.
#[derive(Deserialize)]
pub(crate) struct FormatParam {
    #[serde(default)]
    format: Option<String>,
}

/// `GET /v1/reports/{name}`: a fixed report over the warehouse.
pub(crate) async fn report<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: Regulator,
    Path(name): Path<String>,
    Query(p): Query<FormatParam>,
) -> Result<Response, ApiError> {
    let format = Format::parse(p.format.as_deref(), &[Format::Json, Format::Csv])?;
    let loaded = state.supervision()?.ready().await?;
    let table = loaded.report(&name).await?;
    Ok(match format {
        Format::Csv => export::download(format, &name, export::table_csv(&table)?),
        _ => Json(serde_json::json!({
            "report": name,
            "columns": table.columns,
            "rows": export::table_rows(&table),
        }))
        .into_response(),
    })
}

/// The body of `POST /v1/sql`.
#[derive(Deserialize)]
pub(crate) struct SqlRequest {
    query: String,
}

/// The answer of `POST /v1/sql`.
#[derive(Serialize)]
pub(crate) struct SqlAnswer {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    truncated: bool,
    elapsed_ms: f64,
}

/// `POST /v1/sql`: a read-only query with the server's row and time limits.
pub(crate) async fn sql<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: Regulator,
    body: Result<Json<SqlRequest>, JsonRejection>,
) -> Result<Json<SqlAnswer>, ApiError> {
    let Json(req) = body?;
    if req.query.trim().is_empty() {
        return Err(ApiError::field("query", "is empty"));
    }
    let sup = state.supervision()?;
    let loaded = sup.ready().await?;
    let r = super::user_query(sup, &loaded, &req.query).await?;
    Ok(Json(SqlAnswer {
        columns: r.columns,
        rows: r.rows,
        truncated: r.truncated,
        elapsed_ms: r.elapsed.as_secs_f64() * 1e3,
    }))
}

/// A clue as the API shows it.
#[derive(Serialize)]
pub(crate) struct ClueView {
    id: String,
    batch: String,
    position: u32,
    institution: String,
    name: String,
    province: String,
    city: String,
    assigned_to: String,
    findings: u64,
    distinct_codes: u64,
    /// A number of fen, as `Fen` serializes.
    amount_fen: Fen,
    score: u64,
    deadline: String,
    state: &'static str,
    overdue: bool,
    result_note: Option<String>,
    recovered_fen: Option<Fen>,
    issued_at: String,
    updated_at: String,
}

fn rfc3339(ms: i64, offset: i32) -> String {
    Timestamp::from_millis(ms).to_rfc3339(offset)
}

fn clue_view(c: &Clue, today: Date, offset: i32) -> ClueView {
    ClueView {
        id: c.id.to_string(),
        batch: c.batch.to_string(),
        position: c.position,
        institution: c.institution.clone(),
        name: c.name.clone(),
        province: c.province.clone(),
        city: c.city.clone(),
        assigned_to: c.assigned_to.clone(),
        findings: c.findings,
        distinct_codes: c.distinct_codes,
        amount_fen: c.amount_fen,
        score: c.score,
        deadline: c.deadline.to_string(),
        state: c.state.as_str(),
        overdue: c.is_overdue(today),
        result_note: c.result.as_ref().map(|r| r.note.clone()),
        recovered_fen: c.result.as_ref().and_then(|r| r.recovered_fen),
        issued_at: rfc3339(c.issued_at_ms, offset),
        updated_at: rfc3339(c.updated_at_ms, offset),
    }
}

/// One change to a clue as the API shows it.
#[derive(Serialize)]
pub(crate) struct AuditView {
    seq: u64,
    at: String,
    actor: String,
    clue: String,
    batch: String,
    from: Option<&'static str>,
    to: &'static str,
    note: Option<String>,
    recovered_fen: Option<Fen>,
}

fn audit_view(a: &AuditEntry, offset: i32) -> AuditView {
    AuditView {
        seq: a.seq,
        at: rfc3339(a.at_ms, offset),
        actor: a.actor.clone(),
        clue: a.clue.to_string(),
        batch: a.batch.to_string(),
        from: a.from.map(|s| s.as_str()),
        to: a.to.as_str(),
        note: a.note.clone(),
        recovered_fen: a.recovered_fen,
    }
}

/// `GET /v1/clues`'s parameters: the filter and the format.
#[derive(Deserialize)]
pub(crate) struct CluesParams {
    #[serde(flatten)]
    filter: ClueParams,
    #[serde(default)]
    format: Option<String>,
}

/// `GET /v1/clues`: clues, filtered, as JSON, CSV or Parquet.
pub(crate) async fn clues<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: Regulator,
    Query(p): Query<CluesParams>,
) -> Result<Response, ApiError> {
    let format = Format::parse(
        p.format.as_deref(),
        &[Format::Json, Format::Csv, Format::Parquet],
    )?;
    let sel = p.filter.selection()?;
    let sup = state.supervision()?;
    let offset = state.inner.local_offset_minutes;
    let today = clues::today(offset);
    let findings = match sel.model {
        Some(_) => Some(sup.ready().await?.findings().await?),
        None => None,
    };
    let list = clues::select(sup, &sel, today, findings.as_deref());
    Ok(match format {
        Format::Csv => export::download(format, "clues", export::clues_csv(&list, today, false)?),
        Format::Parquet => export::download(format, "clues", export::clues_parquet(&list, today)?),
        Format::Json => Json(serde_json::json!({
            "count": list.len(),
            "clues": list.iter().map(|c| clue_view(c, today, offset)).collect::<Vec<_>>(),
        }))
        .into_response(),
    })
}

/// `GET /v1/clues/{id}`: one clue and its audit trail.
pub(crate) async fn clue<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: Regulator,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = clues::clue_id(&id)?;
    let sup = state.supervision()?;
    let offset = state.inner.local_offset_minutes;
    let detail = sup.clues().clue(id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_clue",
            format!("no clue {id}"),
        )
    })?;
    Ok(Json(serde_json::json!({
        "clue": clue_view(&detail.clue, clues::today(offset), offset),
        "audit": detail.audit.iter().map(|a| audit_view(a, offset)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// The body of `POST /v1/clues/batches`.
#[derive(Deserialize)]
pub(crate) struct BatchRequest {
    title: String,
    /// `YYYY-MM-DD`.
    deadline: String,
    top_n: usize,
    #[serde(default)]
    province: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    models: Option<Vec<String>>,
    #[serde(default)]
    min_findings: Option<u64>,
}

/// `POST /v1/clues/batches`: ranks the institutions and issues a batch of clues for the top
/// ones.
pub(crate) async fn issue<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: Regulator,
    body: Result<Json<BatchRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let spec = BatchSpec::new(
        &req.title,
        &req.deadline,
        req.top_n,
        req.province.filter(|s| !s.is_empty()),
        req.city.filter(|s| !s.is_empty()),
        req.product.filter(|s| !s.is_empty()),
        req.models,
        req.min_findings.unwrap_or(0),
    )?;
    let sup = state.supervision()?;
    let loaded = sup.ready().await?;
    let issued = clues::issue(sup, &loaded, &state.inner.directory(), spec, who.actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "batch": issued.batch.to_string(),
            "clues": issued.clues.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })),
    )
        .into_response())
}

/// The body of `POST /v1/clues/{id}/transition`.
#[derive(Deserialize)]
pub(crate) struct TransitionRequest {
    to: String,
    #[serde(default)]
    note: Option<String>,
    /// A number of fen.
    #[serde(default)]
    recovered_fen: Option<i64>,
}

/// `POST /v1/clues/{id}/transition`: moves a clue along its workflow.
pub(crate) async fn transition<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: Regulator,
    Path(id): Path<String>,
    body: Result<Json<TransitionRequest>, JsonRejection>,
) -> Result<Json<AuditView>, ApiError> {
    let id = clues::clue_id(&id)?;
    let Json(req) = body?;
    let sup = state.supervision()?;
    let recovered = req.recovered_fen.map(Fen::new);
    let entry = clues::transition(sup, id, &req.to, req.note, recovered, who.actor).await?;
    Ok(Json(audit_view(&entry, state.inner.local_offset_minutes)))
}

/// A notice as the public sees it (who published it is not shown).
#[derive(Serialize)]
pub(crate) struct NoticeView {
    id: u32,
    title: String,
    published_at: String,
    entries: Vec<NoticeEntryView>,
}

#[derive(Serialize)]
struct NoticeEntryView {
    code: String,
    product: String,
    generic_name: String,
    times_sold: i64,
    institutions: Vec<String>,
}

fn notice_view(n: &Notice, offset: i32) -> NoticeView {
    NoticeView {
        id: n.id,
        title: n.title.clone(),
        published_at: rfc3339(n.published_at_ms, offset),
        entries: n
            .entries
            .iter()
            .map(|e| NoticeEntryView {
                code: e.code.clone(),
                product: e.product.clone(),
                generic_name: e.generic_name.clone(),
                times_sold: e.times_sold,
                institutions: e.institutions.clone(),
            })
            .collect(),
    }
}

/// `GET /v1/notices`: every published notice, newest first. Public: notices are published
/// so that anyone can read them.
pub(crate) async fn notices<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let sup = state.supervision()?;
    let offset = state.inner.local_offset_minutes;
    let board = sup.notices().read();
    let list: Vec<NoticeView> = board
        .notices()
        .iter()
        .rev()
        .map(|n| notice_view(n, offset))
        .collect();
    Ok(Json(serde_json::json!({ "notices": list })))
}

/// The body of `POST /v1/notices`.
#[derive(Deserialize)]
pub(crate) struct PublishRequest {
    title: String,
    /// Only these codes of the report (all of them when absent).
    #[serde(default)]
    codes: Option<Vec<String>>,
}

/// `POST /v1/notices`: publishes the current `duplicated_codes` report (or some of its codes)
/// as a notice.
pub(crate) async fn publish<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: Regulator,
    body: Result<Json<PublishRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let sup = state.supervision()?;
    let loaded = sup.ready().await?;
    let notice = publish_report(sup, &loaded, &req.title, req.codes, who.actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(notice_view(&notice, state.inner.local_offset_minutes)),
    )
        .into_response())
}

/// Publishes the codes of the current `duplicated_codes` report (those of `codes` only, when
/// given) as a notice, durably.
pub(crate) async fn publish_report(
    sup: &Arc<Supervision>,
    loaded: &Loaded,
    title: &str,
    codes: Option<Vec<String>>,
    actor: String,
) -> Result<Notice, ApiError> {
    if title.trim().is_empty() {
        return Err(ApiError::field("title", "is required"));
    }
    let report = loaded.report("duplicated_codes").await?;
    let mut entries = drugtrace_analytics::notice_entries(&report);
    if let Some(codes) = codes {
        if let Some(missing) = codes
            .iter()
            .find(|c| !entries.iter().any(|e| &e.code == *c))
        {
            return Err(ApiError::field(
                "codes",
                format!("{missing} is not in the duplicated_codes report"),
            ));
        }
        entries.retain(|e| codes.contains(&e.code));
    }
    if entries.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing_to_publish",
            "the duplicated_codes report has no code to publish",
        ));
    }
    let title = title.to_owned();
    let sup = Arc::clone(sup);
    blocking(move || {
        let mut board = sup.notices().write();
        board
            .publish(&title, &actor, Timestamp::now().millis(), entries)
            .cloned()
            .map_err(|e| match e {
                NoticeError::Invalid(_) => ApiError::bad_request(e.to_string()),
                e => ApiError::internal(e),
            })
    })
    .await
}

/// `POST /v1/analytics/refresh`: opens the warehouse again (after `drugtrace analytics run`
/// elsewhere; the server also notices new files by itself).
pub(crate) async fn refresh<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: Regulator,
) -> Result<Json<serde_json::Value>, ApiError> {
    let loaded = state.supervision()?.reopen().await?;
    let findings = loaded.findings().await?;
    let at = loaded
        .findings_time()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| rfc3339(d.as_millis() as i64, state.inner.local_offset_minutes));
    Ok(Json(serde_json::json!({
        "findings": findings.rows.len(),
        "models_ran_at": at,
    })))
}
