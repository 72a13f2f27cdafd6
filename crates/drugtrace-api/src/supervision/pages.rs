//! The dashboard's pages, filled from the warehouse, the ledger, the clue book and the
//! notices, and the forms that change the clue book and the notices.
//!
//! A form's post answers 303 back to a page on success; on a refusal it shows the page again
//! with the reason on top and a 4xx status.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use datafusion::scalar::ScalarValue;
use drugtrace_analytics::Table;
use drugtrace_catalog::InstitutionKind;
use drugtrace_clues::{Clue, ClueQuery, Date};
use drugtrace_code::TraceCode;
use drugtrace_dashboard::html::url_encode;
use drugtrace_dashboard::jiff::Timestamp as Instant;
use drugtrace_dashboard::{self as dash, Ctx, Lang};
use drugtrace_ledger::{EventKind, PackState, Recorded, Store};
use drugtrace_money::Fen;
use serde::Deserialize;

use super::auth::DashboardUser;
use super::clues::{self, BatchSpec, ClueParams, Selection};
use super::export::{self, Format};
use super::view::{self, BASE};
use super::{Finding, Findings, Loaded, Supervision, valid_institution};
use crate::{ApiError, AppState};

/// Clues shown at most in the list (the exports have them all).
const LIST_LIMIT: usize = 500;
/// Findings shown at most on an institution's or a clue's page.
const FINDINGS_LIMIT: usize = 200;
/// Institutions in the overview's ranking.
const TOP_INSTITUTIONS: usize = 10;

/// Runs a page's work; its error becomes an error page in the request's language.
pub(super) async fn respond(
    uri: &Uri,
    work: impl Future<Output = Result<Response, ApiError>>,
) -> Response {
    match work.await {
        Ok(r) => r,
        Err(e) => view::error_page(view::lang_of(uri), &e),
    }
}

pub(super) fn instant(ms: i64) -> Instant {
    Instant::from_millisecond(ms).unwrap_or(Instant::UNIX_EPOCH)
}

fn system_instant(t: std::time::SystemTime) -> Option<Instant> {
    Instant::try_from(t).ok()
}

fn finding_row(f: &Finding) -> dash::FindingRow {
    dash::FindingRow {
        model: f.model.clone(),
        severity: f.severity,
        code: f.code.clone(),
        at: instant(f.at_ms.unwrap_or(0)),
        amount_fen: f.amount_fen,
        detail: f.detail.clone(),
    }
}

/// Newest first, at most `FINDINGS_LIMIT`.
pub(super) fn latest<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<dash::FindingRow> {
    let mut all: Vec<&Finding> = findings.collect();
    all.sort_by_key(|f| std::cmp::Reverse(f.at_ms));
    all.into_iter()
        .take(FINDINGS_LIMIT)
        .map(finding_row)
        .collect()
}

/// Findings per model with their amount, largest first.
fn per_model<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<dash::ModelCount> {
    let mut by: BTreeMap<&str, (u64, Fen)> = BTreeMap::new();
    for f in findings {
        let e = by.entry(f.model.as_str()).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(f.amount_fen);
    }
    let mut rows: Vec<dash::ModelCount> = by
        .into_iter()
        .map(|(m, (n, fen))| dash::ModelCount {
            model: m.to_owned(),
            findings: n,
            amount_fen: fen,
        })
        .collect();
    rows.sort_by(|a, b| b.findings.cmp(&a.findings).then(a.model.cmp(&b.model)));
    rows
}

/// An `upload_rate` cell: `NULL` when no settled item is known.
fn rate(v: &drugtrace_analytics::Value) -> Option<f64> {
    (!v.is_null()).then(|| v.float())
}

/// A `day` cell (`2025-04-08`) as a date.
fn day(v: &drugtrace_analytics::Value) -> Option<Date> {
    v.text().parse().ok()
}

/// Per-day rows (`day, scans, sales, interceptions, intercepted_fen`, sales counting
/// refused attempts too) as chart points, with sales that went through.
fn day_points(t: &Table) -> Vec<dash::DayPoint> {
    t.records()
        .filter_map(|r| {
            let interceptions = r.int("interceptions").max(0) as u64;
            Some(dash::DayPoint {
                date: day(r.get("day"))?,
                scans: r.int("scans").max(0) as u64,
                sales: (r.int("sales").max(0) as u64).saturating_sub(interceptions),
                interceptions,
                intercepted_fen: Fen::new(r.int("intercepted_fen")),
            })
        })
        .collect()
}

fn period(points: &[dash::DayPoint], today: Date) -> dash::Period {
    dash::Period {
        from: points.first().map_or(today, |p| p.date),
        to: points.last().map_or(today, |p| p.date),
    }
}

/// `GET /dashboard/`: the overview.
pub(crate) async fn overview<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    respond(&uri, async {
        let sup = state.supervision()?;
        let ctx = view::ctx(sup, &uri);
        let loaded = sup.ready().await?;
        let daily = loaded.report("daily").await?;
        let regions = loaded.report("regions").await?;
        let institutions = loaded.report("institutions").await?;
        let findings = loaded.findings().await?;
        let packs = loaded.packs().await?;
        let today = clues::today(ctx.utc_offset_minutes);
        let per_day = day_points(&daily);
        let all_clues = sup.clues().list(&ClueQuery::default(), today);
        let open: Vec<&Clue> = all_clues.iter().filter(|c| !c.state.is_closed()).collect();
        let flagged: BTreeSet<&str> = findings
            .rows
            .iter()
            .map(|f| f.institution.as_str())
            .collect();
        let totals = dash::Totals {
            events: per_day.iter().map(|d| d.scans).sum(),
            sales: per_day.iter().map(|d| d.sales).sum(),
            packs: Some(packs),
            interceptions: per_day.iter().map(|d| d.interceptions).sum(),
            intercepted_amount_fen: per_day
                .iter()
                .fold(Fen::ZERO, |sum, d| sum.saturating_add(d.intercepted_fen)),
            findings: findings.rows.len() as u64,
            institutions_with_findings: flagged.len() as u64,
            open_clues: open.len() as u64,
            overdue_clues: open.iter().filter(|c| c.is_overdue(today)).count() as u64,
        };
        let data = dash::Overview {
            period: period(&per_day, today),
            as_of: loaded.findings_time().and_then(system_instant),
            totals,
            per_day,
            findings_per_model: per_model(findings.rows.iter()),
            regions: regions
                .records()
                .map(|r| dash::RegionRow {
                    province: r.text("province"),
                    city: r.text("city"),
                    institutions: r.int("uploading").max(0) as u64,
                    scans: r.int("scans").max(0) as u64,
                    findings: r.int("findings").max(0) as u64,
                    amount_fen: Fen::new(r.int("at_risk_fen")),
                    upload_rate: rate(r.get("upload_rate")),
                })
                .collect(),
            top_institutions: institutions
                .records()
                .filter(|r| r.int("findings") > 0)
                .take(TOP_INSTITUTIONS)
                .map(|r| {
                    let code = r.text("institution");
                    let models = per_model(findings.of_institution(&code))
                        .into_iter()
                        .map(|m| m.model)
                        .collect();
                    dash::InstitutionRank {
                        name: Some(r.text("name"))
                            .filter(|n| !n.is_empty())
                            .unwrap_or_else(|| code.clone()),
                        kind: InstitutionKind::parse(&r.text("kind")),
                        province: r.text("province"),
                        city: r.text("city"),
                        findings: r.int("findings").max(0) as u64,
                        amount_fen: Fen::new(r.int("at_risk_fen")),
                        models,
                        code,
                    }
                })
                .collect(),
            live: None,
        };
        let (live, seen) = super::live::ticker(&state, &ctx, &headers).unzip();
        let data = dash::Overview { live, ..data };
        let mut page = view::page(StatusCode::OK, &ctx, dash::render_overview(&data, &ctx));
        if let Some(seen) = seen {
            page.headers_mut().append(header::SET_COOKIE, seen);
        }
        Ok(page)
    })
    .await
}

/// The per-day figures of one institution, the code bound as a parameter.
const INSTITUTION_DAYS: &str = "SELECT day, COUNT(*) AS scans, \
     SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales, \
     SUM(CASE WHEN intercepted THEN 1 ELSE 0 END) AS interceptions, \
     SUM(intercepted_fen) AS intercepted_fen \
     FROM gated_events WHERE actor = $1 GROUP BY day ORDER BY day";

/// `GET /dashboard/institutions/{code}`: one institution's figures, findings and clues.
pub(crate) async fn institution<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    Path(code): Path<String>,
    uri: Uri,
) -> Response {
    respond(&uri, async {
        if !valid_institution(&code) {
            return Err(ApiError::field(
                "code",
                "an institution code is letters and digits",
            ));
        }
        let sup = state.supervision()?;
        let ctx = view::ctx(sup, &uri);
        let loaded = sup.ready().await?;
        let report = loaded.report("institutions").await?;
        let row = report.records().find(|r| r.text("institution") == code);
        let directory = state.inner.directory();
        let known = directory.get(&code);
        let info = match (known, &row) {
            (Some(i), _) => dash::InstitutionInfo {
                code: code.clone(),
                name: i.name.clone(),
                kind: Some(i.kind),
                province: i.province.clone(),
                city: i.city.clone(),
            },
            (None, Some(r)) => dash::InstitutionInfo {
                code: code.clone(),
                name: Some(r.text("name"))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| code.clone()),
                kind: InstitutionKind::parse(&r.text("kind")),
                province: r.text("province"),
                city: r.text("city"),
            },
            (None, None) => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_institution",
                    format!("no institution {code} in the directory or the events"),
                ));
            }
        };
        let findings = loaded.findings().await?;
        let days = loaded
            .table_with(INSTITUTION_DAYS, vec![ScalarValue::from(code.as_str())])
            .await?;
        let per_day = day_points(&days);
        let today = clues::today(ctx.utc_offset_minutes);
        let mine: Vec<&Finding> = findings.of_institution(&code).collect();
        let stats = match &row {
            Some(r) => dash::InstitutionStats {
                scans: r.int("scans").max(0) as u64,
                sales: (r.int("sales") - r.int("interceptions")).max(0) as u64,
                interceptions: r.int("interceptions").max(0) as u64,
                intercepted_fen: Fen::new(r.int("intercepted_fen")),
                findings: r.int("findings").max(0) as u64,
                amount_fen: Fen::new(r.int("at_risk_fen")),
                codes_uploaded: Some(r.int("codes").max(0) as u64),
                upload_rate: rate(r.get("upload_rate")),
            },
            None => dash::InstitutionStats::default(),
        };
        let book = sup.clues();
        let clue_refs = book
            .list(
                &ClueQuery {
                    institution: Some(code.clone()),
                    ..ClueQuery::default()
                },
                today,
            )
            .into_iter()
            .map(|c| dash::ClueRef {
                id: c.id.to_string(),
                batch: book.batch(c.batch).map(|b| b.title).unwrap_or_default(),
                state: c.state,
                deadline: c.deadline,
                overdue: c.is_overdue(today),
            })
            .collect();
        let data = dash::InstitutionPage {
            institution: info,
            period: period(&per_day, today),
            stats,
            findings_per_model: per_model(mine.iter().copied()),
            findings: latest(mine.iter().copied()),
            per_day,
            clues: clue_refs,
        };
        Ok(view::page(
            StatusCode::OK,
            &ctx,
            dash::render_institution(&data, &ctx),
        ))
    })
    .await
}

/// An event of a pack's log as evidence; `party` names an institution by its code.
pub(super) fn evidence(
    r: &Recorded,
    cited: &BTreeSet<u32>,
    party: &dyn Fn(&str) -> String,
    name: &dyn Fn(&str) -> String,
) -> dash::EvidenceEvent {
    let e = &r.event;
    let mut d = dash::EventDetails::default();
    match &e.kind {
        EventKind::Ship { to: Some(i) } | EventKind::Receive { from: Some(i) } => {
            d.counterparty = Some(party(i.as_str()));
        }
        EventKind::Intake(i) => d.counterparty = i.supplier.as_ref().map(|i| party(i.as_str())),
        EventKind::Sale(s) => {
            d.settlement = s.settlement.as_ref().map(|x| x.as_str().to_owned());
            d.person_hash_prefix = s.person.as_ref().map(|p| p.to_hex()[..8].to_owned());
            d.units = s.units;
            d.pack_units = s.pack_units;
            d.amount_fen = Some(Fen::new(s.amount_fen));
            d.fund_paid = Some(s.fund_paid);
        }
        EventKind::SaleReturn(s) => {
            d.settlement = s.settlement.as_ref().map(|x| x.as_str().to_owned());
            d.units = s.units;
        }
        EventKind::Void(v) => d.units = Some(v.voids.len() as u32),
        EventKind::PackInto { case } => d.counterparty = Some(case.to_string()),
        EventKind::Fill { boxes } => d.units = Some(boxes.len() as u32),
        EventKind::Commission
        | EventKind::Ship { to: None }
        | EventKind::Receive { from: None }
        | EventKind::StockChange(_)
        | EventKind::Destroy
        | EventKind::Recall
        | EventKind::Unpack
        | EventKind::Open => {}
    }
    dash::EvidenceEvent {
        seq: r.index,
        at: instant(e.at.millis()),
        recorded_at: instant(r.recorded_at.millis()),
        actor_code: e.actor.to_string(),
        actor_name: name(e.actor.as_str()),
        kind: e.kind.clone(),
        outcome: r.outcome,
        details: d,
        highlighted: cited.contains(&r.index),
    }
}

/// An institution's name from the directory, empty when it is not there.
pub(super) fn name_of(directory: &drugtrace_catalog::Directory, code: &str) -> String {
    directory
        .get(code)
        .map(|i| i.name.clone())
        .unwrap_or_default()
}

/// An institution as `name (code)`, or its code when the directory does not know it.
pub(super) fn party_of(directory: &drugtrace_catalog::Directory, code: &str) -> String {
    match directory.get(code) {
        Some(i) => format!("{} ({code})", i.name),
        None => code.to_owned(),
    }
}

/// The product of pack `key`, if the catalogue knows it.
pub(super) fn product_info(
    catalog: &drugtrace_catalog::Catalog,
    key: &drugtrace_code::PackKey,
) -> Option<dash::ProductInfo> {
    catalog
        .by_product_key(key.product_key())
        .map(|p| dash::ProductInfo {
            generic_name: p.generic_name().to_owned(),
            trade_name: p.trade_name().to_owned(),
            specification: p.specification().to_owned(),
            manufacturer: p.manufacturer().to_owned(),
            insurance_code: Some(p.insurance_code().to_string()),
            approval_number: Some(p.approval_number().to_owned()).filter(|a| !a.is_empty()),
        })
}

fn status(s: &PackState) -> dash::PackStatus {
    if s.destroyed {
        dash::PackStatus::Destroyed
    } else if s.recalled {
        dash::PackStatus::Recalled
    } else if !s.is_issued() {
        dash::PackStatus::NotIssued
    } else if s.sales.iter().all(|x| x.units_out() == 0) {
        dash::PackStatus::InStock
    } else if s.pack_units.is_none() || s.is_sold_out() {
        dash::PackStatus::Sold
    } else {
        dash::PackStatus::PartlySold
    }
}

/// `GET /dashboard/packs/{code}`: a pack's evidence chain, the events findings cite
/// highlighted. It reads the ledger, so it works before any model ran (without findings).
pub(crate) async fn pack<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    Path(code): Path<String>,
    uri: Uri,
) -> Response {
    respond(&uri, async {
        let code = TraceCode::parse(&code).map_err(|e| ApiError::field("code", e.to_string()))?;
        let sup = state.supervision()?;
        let ctx = view::ctx(sup, &uri);
        let key = code.pack_key();
        let (pack, log) = state
            .blocking(move |inner| {
                let pack = inner.ledger.pack(&key).map_err(ApiError::internal)?;
                let log = inner.ledger.history(&key).map_err(ApiError::internal)?;
                Ok((pack, log))
            })
            .await?;
        let shown = key.to_string();
        let findings: Vec<Finding> = match sup.ready().await {
            Ok(loaded) => loaded.findings().await?.of_code(&shown).cloned().collect(),
            Err(e) if e.status() == StatusCode::SERVICE_UNAVAILABLE => Vec::new(),
            Err(e) => return Err(e),
        };
        let cited: BTreeSet<u32> = findings.iter().flat_map(|f| f.evidence.clone()).collect();
        let directory = state.inner.directory();
        let name = |c: &str| name_of(&directory, c);
        let party = |c: &str| party_of(&directory, c);
        let product = product_info(&state.inner.ledger.catalog(), &key);
        let s = pack.unwrap_or_default();
        let summary = dash::PackSummary {
            status: status(&s),
            events: u64::from(s.events),
            sales: s.sales.len() as u64,
            blocked: u64::from(s.blocked_count),
            holder: s.holder.as_ref().map(|h| party(h.as_str())),
            batch: s.batch.as_ref().map(|b| b.as_str().to_owned()),
            expiry: s.expiry.and_then(|d| {
                let (y, m, dd) = d.ymd();
                Date::new(y as i16, m as i8, dd as i8).ok()
            }),
            last_at: s.last_at.map(|t| instant(t.millis())),
        };
        let data = dash::PackPage {
            code: shown.clone(),
            product,
            summary,
            findings: latest(findings.iter()),
            events: log
                .iter()
                .map(|r| evidence(r, &cited, &party, &name))
                .collect(),
        };
        Ok(view::page(
            StatusCode::OK,
            &ctx,
            dash::render_pack(&data, &ctx),
        ))
    })
    .await
}

/// `GET /dashboard/models`: each model, its rule, what it found, and how it measures
/// against the truth file when there is one.
pub(crate) async fn models<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    uri: Uri,
) -> Response {
    respond(&uri, async {
        let sup = state.supervision()?;
        let ctx = view::ctx(sup, &uri);
        let loaded = sup.ready().await?;
        let findings = loaded.findings().await?;
        let counts = per_model(findings.rows.iter());
        let evaluation = loaded.evaluation(sup.truth.as_deref()).await?;
        let last_run = loaded.findings_time().and_then(system_instant);
        let data = dash::ModelsPage {
            models: drugtrace_analytics::models()
                .iter()
                .map(|m| {
                    let count = counts.iter().find(|c| c.model == m.name);
                    let (precision, recall) =
                        evaluation.get(&m.name).copied().unwrap_or((None, None));
                    dash::ModelInfo {
                        name: m.name.clone(),
                        version: m.version.to_string(),
                        title_zh: m.title_zh.clone(),
                        title_en: m.title_en.clone(),
                        description_zh: m.about_zh.clone(),
                        description_en: m.about_en.clone(),
                        severity: m.severity,
                        sql: m.sql.clone(),
                        findings: count.map_or(0, |c| c.findings),
                        amount_fen: count.map_or(Fen::ZERO, |c| c.amount_fen),
                        precision,
                        recall,
                        last_run,
                    }
                })
                .collect(),
        };
        Ok(view::page(
            StatusCode::OK,
            &ctx,
            dash::render_models(&data, &ctx),
        ))
    })
    .await
}

/// A clue as a row of the list: the models behind it come from the findings at its
/// institution, the note from its result or its latest annotated change.
/// Clue `id` as its pages show it: its detail and audit trail, every finding, and its row
/// (batch title, findings counted) as of `today`; a 404 for a clue the book does not hold.
pub(super) async fn clue_of(
    sup: &Supervision,
    loaded: &Loaded,
    id: drugtrace_clues::ClueId,
    today: Date,
) -> Result<(drugtrace_clues::ClueDetail, Arc<Findings>, dash::ClueRow), ApiError> {
    let book = sup.clues();
    let detail = book.clue(id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_clue",
            format!("no clue {id}"),
        )
    })?;
    let findings = loaded.findings().await?;
    let batch = book
        .batch(detail.clue.batch)
        .map(|b| b.title)
        .unwrap_or_default();
    let row = clue_row(sup, &detail.clue, &batch, &findings, today);
    Ok((detail, findings, row))
}

pub(super) fn clue_row(
    sup: &Supervision,
    c: &Clue,
    batch: &str,
    findings: &Findings,
    today: Date,
) -> dash::ClueRow {
    let note = match &c.result {
        Some(r) => r.note.clone(),
        None => sup
            .clues()
            .audit_for_clue(c.id)
            .iter()
            .rev()
            .find_map(|a| a.note.clone())
            .unwrap_or_default(),
    };
    dash::ClueRow {
        id: c.id.to_string(),
        batch: batch.to_owned(),
        institution_code: c.institution.clone(),
        institution_name: Some(c.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| c.institution.clone()),
        province: c.province.clone(),
        city: c.city.clone(),
        assigned_to: c.assigned_to.clone(),
        models: per_model(findings.of_institution(&c.institution))
            .into_iter()
            .map(|m| m.model)
            .collect(),
        findings: c.findings,
        amount_fen: c.amount_fen,
        deadline: c.deadline,
        state: c.state,
        overdue: c.is_overdue(today),
        note,
        recovered_fen: c.result.as_ref().and_then(|r| r.recovered_fen),
        transitions: drugtrace_clues::ClueState::ALL
            .into_iter()
            .filter(|to| c.state.can_move_to(*to))
            .collect(),
    }
}

/// The query string of `uri` without `lang`, for the exports of the list as filtered.
fn filter_query(uri: &Uri) -> String {
    let q = uri.query().unwrap_or("");
    let kept: Vec<&str> = q
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some("lang"))
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    }
}

async fn clue_list_page(
    sup: &Supervision,
    loaded: &Loaded,
    directory: &drugtrace_catalog::Directory,
    uri: &Uri,
    params: &ClueParams,
    sel: &Selection,
    alert: Option<&str>,
) -> Result<(Ctx, String), ApiError> {
    let ctx = view::ctx_with_alert(sup, uri, alert);
    let today = clues::today(ctx.utc_offset_minutes);
    let findings = loaded.findings().await?;
    let list = clues::select(sup, sel, today, Some(&findings));
    let book = sup.clues();
    let titles: BTreeMap<_, _> = book
        .batches()
        .into_iter()
        .map(|b| (b.id, b.title))
        .collect();
    let rows = list
        .iter()
        .take(LIST_LIMIT)
        .map(|c| {
            let batch = titles.get(&c.batch).map_or("", String::as_str);
            clue_row(sup, c, batch, &findings, today)
        })
        .collect();
    let mut summaries = book.batch_summaries(today);
    summaries.reverse();
    let provinces: BTreeSet<String> = directory.iter().map(|i| i.province.clone()).collect();
    let mut urls = dash::ClueUrls::under(BASE);
    let q = filter_query(uri);
    urls.export_csv = format!("{}{q}", urls.export_csv);
    urls.export_parquet = format!("{}{q}", urls.export_parquet);
    let data = dash::ClueListPage {
        batches: summaries
            .into_iter()
            .map(|s| dash::ClueBatch {
                id: s.batch.id.to_string(),
                title: s.batch.title.clone(),
                issued_at: instant(s.batch.issued_at_ms),
                deadline: s.batch.deadline,
                clues: s.total as u64,
                open: (s.counts.issued + s.counts.under_verification) as u64,
                overdue: s.overdue as u64,
                recovered_fen: s.recovered_fen,
            })
            .collect(),
        clues: rows,
        total: list.len() as u64,
        filter: dash::ClueFilter {
            batch: params.batch.clone().filter(|b| !b.is_empty()),
            state: sel.query.state,
            province: sel.query.province.clone(),
            model: sel.model.clone(),
            overdue_only: sel.query.overdue == Some(true),
            q: sel.q.clone(),
        },
        provinces: provinces.into_iter().filter(|p| !p.is_empty()).collect(),
        urls,
    };
    let html = dash::render_clue_list(&data, &ctx);
    Ok((ctx, html))
}

/// `GET /dashboard/clues`: the clue list with its filter, the batches and the new-batch form.
pub(crate) async fn clue_list<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    Query(params): Query<ClueParams>,
    uri: Uri,
) -> Response {
    respond(&uri, async {
        let sel = params.selection()?;
        let sup = state.supervision()?;
        let loaded = sup.ready().await?;
        let (ctx, html) = clue_list_page(
            sup,
            &loaded,
            &state.inner.directory(),
            &uri,
            &params,
            &sel,
            None,
        )
        .await?;
        Ok(view::page(StatusCode::OK, &ctx, html))
    })
    .await
}

async fn clue_export<S: Store + Sync + 'static>(
    state: &AppState<S>,
    params: &ClueParams,
    format: Format,
) -> Result<Response, ApiError> {
    let sel = params.selection()?;
    let sup = state.supervision()?;
    let today = clues::today(state.inner.local_offset_minutes);
    let findings = match sel.model {
        Some(_) => Some(sup.ready().await?.findings().await?),
        None => None,
    };
    let list = clues::select(sup, &sel, today, findings.as_deref());
    let bytes = match format {
        Format::Parquet => export::clues_parquet(&list, today)?,
        _ => export::clues_csv(&list, today, true)?,
    };
    Ok(export::download(format, "clues", bytes))
}

/// `GET /dashboard/clues.csv`: the list as filtered, as CSV for Excel.
pub(crate) async fn clues_csv<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    Query(params): Query<ClueParams>,
    uri: Uri,
) -> Response {
    respond(&uri, clue_export(&state, &params, Format::Csv)).await
}

/// `GET /dashboard/clues.parquet`: the list as filtered, as Parquet.
pub(crate) async fn clues_parquet<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    Query(params): Query<ClueParams>,
    uri: Uri,
) -> Response {
    respond(&uri, clue_export(&state, &params, Format::Parquet)).await
}

/// The new-batch form's fields.
#[derive(Deserialize)]
pub(crate) struct IssueForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    top_n: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    min_findings: String,
}

fn with_lang(url: String, lang: Lang) -> String {
    match lang {
        Lang::Zh => url,
        Lang::En => dash::with_param(&url, "lang", Some("en")),
    }
}

/// `POST /dashboard/clues/batches`: issues a batch from the ranking, then shows it.
pub(crate) async fn issue<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: DashboardUser,
    uri: Uri,
    Form(form): Form<IssueForm>,
) -> Response {
    let lang = view::lang_of(&uri);
    respond(&uri, async {
        let sup = state.supervision()?;
        let loaded = sup.ready().await?;
        let issued = match BatchSpec::from_form(
            &form.title,
            &form.deadline,
            &form.top_n,
            &form.province,
            &form.model,
            &form.min_findings,
        ) {
            Ok(spec) => clues::issue(sup, &loaded, &state.inner.directory(), spec, who.actor).await,
            Err(e) => Err(e),
        };
        match issued {
            Ok(issued) => Ok(view::see_other(&with_lang(
                format!("{BASE}/clues?batch={}", issued.batch),
                lang,
            ))),
            Err(e) if e.status().is_client_error() => {
                let params = ClueParams::default();
                let (ctx, html) = clue_list_page(
                    sup,
                    &loaded,
                    &state.inner.directory(),
                    &uri,
                    &params,
                    &Selection::default(),
                    Some(e.message()),
                )
                .await?;
                Ok(view::page(e.status(), &ctx, html))
            }
            Err(e) => Err(e),
        }
    })
    .await
}

/// A step of a clue's history as the pages show it.
pub(super) fn audit_entry(a: &drugtrace_clues::AuditEntry) -> dash::AuditEntry {
    dash::AuditEntry {
        at: instant(a.at_ms),
        actor: a.actor.clone(),
        from: a.from,
        to: a.to,
        note: a.note.clone().unwrap_or_default(),
        recovered_fen: a.recovered_fen,
    }
}

async fn clue_detail_page(
    sup: &Supervision,
    loaded: &Loaded,
    uri: &Uri,
    id: drugtrace_clues::ClueId,
    alert: Option<&str>,
) -> Result<(Ctx, String), ApiError> {
    let ctx = view::ctx_with_alert(sup, uri, alert);
    let today = clues::today(ctx.utc_offset_minutes);
    let (detail, findings, row) = clue_of(sup, loaded, id, today).await?;
    let urls = dash::ClueUrls::under(BASE);
    let data = dash::ClueDetailPage {
        transition_url: urls.transition_for(&row.id),
        clue: row,
        audit: detail.audit.iter().map(audit_entry).collect(),
        findings: latest(findings.of_institution(&detail.clue.institution)),
    };
    let html = dash::render_clue_detail(&data, &ctx);
    Ok((ctx, html))
}

/// `GET /dashboard/clues/{id}`: one clue, its workflow form and its audit trail.
pub(crate) async fn clue_detail<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    respond(&uri, async {
        let id = clues::clue_id(&id)?;
        let sup = state.supervision()?;
        let loaded = sup.ready().await?;
        let (ctx, html) = clue_detail_page(sup, &loaded, &uri, id, None).await?;
        Ok(view::page(StatusCode::OK, &ctx, html))
    })
    .await
}

/// The workflow form's fields.
#[derive(Deserialize)]
pub(crate) struct TransitionForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    recovered_yuan: String,
}

/// The dashboard page a form was sent from, when the `Referer` names one of this server's:
/// where a successful post leads back to.
fn back(headers: &HeaderMap, fallback: String) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let referer = headers.get(header::REFERER).and_then(|h| h.to_str().ok());
    let (Some(host), Some(referer)) = (host, referer) else {
        return fallback;
    };
    let Some((_, rest)) = referer.split_once("://") else {
        return fallback;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.eq_ignore_ascii_case(host)
        && path.starts_with(&format!("{BASE}/"))
        && !path.contains("//")
        && !path.contains('\\')
        && !path.starts_with(&format!("{BASE}/login"))
    {
        path.split('#').next().unwrap_or(path).to_owned()
    } else {
        fallback
    }
}

/// `POST /dashboard/clues/{id}/transition`: moves a clue, then back to the page the form was
/// on; a refused move shows the clue again with the reason.
pub(crate) async fn transition<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: DashboardUser,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form<TransitionForm>,
) -> Response {
    let lang = view::lang_of(&uri);
    respond(&uri, async {
        let id = clues::clue_id(&id)?;
        let sup = state.supervision()?;
        let recovered = clues::recovered_from_form(&form.recovered_yuan);
        let moved = match recovered {
            Ok(fen) => {
                let note = Some(form.note.clone());
                clues::transition(sup, id, &form.to, note, fen, who.actor).await
            }
            Err(e) => Err(e),
        };
        match moved {
            Ok(_) => {
                let detail = with_lang(
                    format!("{BASE}/clues/{}", url_encode(&id.to_string())),
                    lang,
                );
                Ok(view::see_other(&back(&headers, detail)))
            }
            Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                let loaded = sup.ready().await?;
                let (ctx, html) =
                    clue_detail_page(sup, &loaded, &uri, id, Some(e.message())).await?;
                Ok(view::page(e.status(), &ctx, html))
            }
            Err(e) => Err(e),
        }
    })
    .await
}

/// What the SQL console offers to query.
fn sql_tables() -> Vec<dash::SqlTable> {
    use drugtrace_analytics::schema;
    [
        ("events", schema::events_schema()),
        ("institutions", schema::institutions_schema()),
        ("products", schema::products_schema()),
        ("findings", schema::findings_schema()),
    ]
    .into_iter()
    .map(|(name, s)| dash::SqlTable {
        name: name.to_owned(),
        columns: s.fields().iter().map(|f| f.name().clone()).collect(),
    })
    .collect()
}

const SAMPLE_QUERY: &str = "SELECT model, COUNT(*) AS findings, SUM(amount_fen) / 100.0 AS yuan\n\
                            FROM findings\nGROUP BY model\nORDER BY findings DESC";

/// `GET /dashboard/sql`: the console, with a sample query.
pub(crate) async fn sql_form<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    uri: Uri,
) -> Response {
    respond(&uri, async {
        let sup = state.supervision()?;
        let ctx = view::ctx(sup, &uri);
        sup.ready().await?;
        let data = dash::SqlPage {
            action: format!("{BASE}/sql"),
            query: SAMPLE_QUERY.to_owned(),
            tables: sql_tables(),
            ..dash::SqlPage::default()
        };
        Ok(view::page(
            StatusCode::OK,
            &ctx,
            dash::render_sql(&data, &ctx),
        ))
    })
    .await
}

/// The console's field.
#[derive(Deserialize)]
pub(crate) struct SqlForm {
    #[serde(default)]
    query: String,
}

/// `POST /dashboard/sql`: runs the query read-only, with the row and time limits; a refused
/// or failed query is shown with its reason.
pub(crate) async fn sql_run<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    uri: Uri,
    Form(form): Form<SqlForm>,
) -> Response {
    respond(&uri, async {
        let sup = state.supervision()?;
        let ctx = view::ctx(sup, &uri);
        let loaded = sup.ready().await?;
        let mut data = dash::SqlPage {
            action: format!("{BASE}/sql"),
            query: form.query.clone(),
            tables: sql_tables(),
            ..dash::SqlPage::default()
        };
        let status = match super::user_query(sup, &loaded, &form.query).await {
            Ok(r) => {
                data.columns = r.columns;
                data.rows = r
                    .rows
                    .into_iter()
                    .map(|row| {
                        row.into_iter()
                            .map(|v| v.unwrap_or_else(|| "NULL".to_owned()))
                            .collect()
                    })
                    .collect();
                data.elapsed_ms = Some(r.elapsed.as_secs_f64() * 1e3);
                data.row_limit_hit = r.truncated;
                StatusCode::OK
            }
            Err(e) => {
                if !e.status().is_client_error() {
                    return Err(e);
                }
                data.error = Some(e.message().to_owned());
                e.status()
            }
        };
        Ok(view::page(status, &ctx, dash::render_sql(&data, &ctx)))
    })
    .await
}

async fn notices_page<S: Store + Sync + 'static>(
    state: &AppState<S>,
    sup: &Arc<Supervision>,
    uri: &Uri,
    alert: Option<&str>,
) -> Result<(Ctx, String), ApiError> {
    let ctx = view::ctx_with_alert(sup, uri, alert);
    let loaded = sup.ready().await?;
    let candidates = loaded.report("duplicated_codes").await?.rows.len();
    let catalog = state.inner.ledger.catalog();
    let directory = state.inner.directory();
    let (rows, published) = {
        let board = sup.notices().read();
        let mut rows = Vec::new();
        let mut published = Vec::new();
        for n in board.notices().iter().rev() {
            let date = drugtrace_dashboard::format::local_date(
                instant(n.published_at_ms),
                ctx.utc_offset_minutes,
            );
            published.push(dash::PublishedNotice {
                number: n.id,
                title: n.title.clone(),
                date,
                codes: n.entries.len() as u64,
            });
            for e in &n.entries {
                let product = drugtrace_catalog::InsuranceCode::parse(&e.product)
                    .ok()
                    .and_then(|c| catalog.by_insurance_code(&c).cloned());
                rows.push(dash::Notice {
                    code: e.code.clone(),
                    product: match &product {
                        Some(p) => format!("{} {}", p.generic_name(), p.specification()),
                        None => e.generic_name.clone(),
                    },
                    manufacturer: product
                        .as_ref()
                        .map(|p| p.manufacturer().to_owned())
                        .unwrap_or_default(),
                    times_sold: e.times_sold.max(0) as u64,
                    institutions: e
                        .institutions
                        .iter()
                        .map(|code| match directory.get(code) {
                            Some(i) => dash::NoticeInstitution {
                                name: i.name.clone(),
                                province: i.province.clone(),
                                city: i.city.clone(),
                            },
                            None => dash::NoticeInstitution {
                                name: code.clone(),
                                province: String::new(),
                                city: String::new(),
                            },
                        })
                        .collect(),
                    published_at: date,
                });
            }
        }
        (rows, published)
    };
    let recalls = state
        .inner
        .ledger
        .recalls()
        .iter()
        .rev()
        .map(|r| {
            use drugtrace_ledger::RecalledProduct as P;
            let known = match &r.product {
                P::Insurance(c) => catalog.by_insurance_code(c),
                P::DrugId(d) => catalog.by_drug_id(*d),
                P::Gtin(g) => catalog.by_gtin(*g),
            };
            dash::RecallEntry {
                product: match known {
                    Some(p) => format!("{} {}", p.generic_name(), p.specification()),
                    None => match &r.product {
                        P::Insurance(c) => c.to_string(),
                        P::DrugId(d) => d.to_string(),
                        P::Gtin(g) => g.to_gtin14(),
                    },
                },
                batch: r.batch.as_ref().map(|b| b.as_str().to_owned()),
                reason: r.reason.clone(),
                by: r.by.clone(),
                at: drugtrace_dashboard::format::local_date(
                    instant(r.at.millis()),
                    ctx.utc_offset_minutes,
                ),
            }
        })
        .collect();
    let html = dash::render_notices(
        &dash::NoticesPage {
            notices: rows,
            recalls,
            recall_form: Some(format!("{BASE}/recalls")),
            publish: Some(dash::PublishPanel {
                action: format!("{BASE}/notices"),
                candidates: candidates as u64,
                published,
            }),
        },
        &ctx,
    );
    Ok((ctx, html))
}

/// `GET /dashboard/notices`: the published notices and the form for a new one.
pub(crate) async fn notices<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: DashboardUser,
    uri: Uri,
) -> Response {
    respond(&uri, async {
        let sup = state.supervision()?;
        let (ctx, html) = notices_page(&state, sup, &uri, None).await?;
        Ok(view::page(StatusCode::OK, &ctx, html))
    })
    .await
}

/// The notice form's field.
#[derive(Deserialize)]
pub(crate) struct PublishForm {
    #[serde(default)]
    title: String,
}

/// `POST /dashboard/notices`: publishes the current duplicated codes as a notice.
pub(crate) async fn publish<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: DashboardUser,
    uri: Uri,
    Form(form): Form<PublishForm>,
) -> Response {
    respond(&uri, async {
        let sup = state.supervision()?;
        let loaded = sup.ready().await?;
        let published = super::api::publish_report(sup, &loaded, &form.title, None, who.actor)
            .await
            .map(|_| ());
        back_to_notices(&state, sup, &uri, published).await
    })
    .await
}

/// After a form on the notices page: to the notices when `done`, else the page again with
/// the client's mistake in an alert.
async fn back_to_notices<S: Store + Sync + 'static>(
    state: &AppState<S>,
    sup: &Arc<Supervision>,
    uri: &Uri,
    done: Result<(), ApiError>,
) -> Result<Response, ApiError> {
    match done {
        Ok(()) => Ok(view::see_other(&with_lang(
            format!("{BASE}/notices"),
            view::lang_of(uri),
        ))),
        Err(e) if e.status().is_client_error() => {
            let (ctx, html) = notices_page(state, sup, uri, Some(e.message())).await?;
            Ok(view::page(e.status(), &ctx, html))
        }
        Err(e) => Err(e),
    }
}

/// `POST /dashboard/recalls`: records a recall from the notices page's form, authored by
/// the signed-in regulator, then shows the notices with it.
pub(crate) async fn record_recall<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: DashboardUser,
    uri: Uri,
    Form(form): Form<crate::recalls::RecallForm>,
) -> Response {
    respond(&uri, async {
        let sup = state.supervision()?;
        let regulator = crate::access::Caller(
            crate::keys::Role::Regulator,
            drugtrace_ledger::Authority::Regulator,
        );
        let recorded = match form.request() {
            Ok(req) => crate::recalls::record(&state, req, &regulator, Some(who.actor))
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        back_to_notices(&state, sup, &uri, recorded).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str, referer: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        h.insert(header::REFERER, referer.parse().unwrap());
        h
    }

    #[test]
    fn a_post_leads_back_only_to_a_dashboard_page_of_this_server() {
        let fallback = || "/dashboard/clues/C1".to_owned();
        assert_eq!(
            back(
                &headers(
                    "127.0.0.1:8080",
                    "http://127.0.0.1:8080/dashboard/clues?state=issued#c"
                ),
                fallback()
            ),
            "/dashboard/clues?state=issued"
        );
        for bad in [
            "http://evil.example/dashboard/clues",
            "http://127.0.0.1:8080/v1/sql",
            "http://127.0.0.1:8080/dashboard//evil.example",
            "http://127.0.0.1:8080/dashboard/login?next=x",
            "not a url",
        ] {
            assert_eq!(
                back(&headers("127.0.0.1:8080", bad), fallback()),
                fallback(),
                "{bad}"
            );
        }
    }

    #[test]
    fn exports_keep_the_filter_but_not_the_language() {
        let uri: Uri = "/dashboard/clues?state=issued&lang=en&q=x".parse().unwrap();
        assert_eq!(filter_query(&uri), "?state=issued&q=x");
        let uri: Uri = "/dashboard/clues?lang=en".parse().unwrap();
        assert_eq!(filter_query(&uri), "");
    }
}
