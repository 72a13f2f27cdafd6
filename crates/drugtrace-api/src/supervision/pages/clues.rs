//! The clue pages: the list with its filter, batches and exports (`GET /dashboard/clues`,
//! `.csv`, `.parquet`), the new-batch form (`POST /dashboard/clues/batches`), one clue
//! (`GET /dashboard/clues/{id}`) and its workflow form (`POST …/transition`).

use std::collections::{BTreeMap, BTreeSet};

use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use drugtrace_clues::ClueId;
use drugtrace_dashboard::html::url_encode;
use drugtrace_dashboard::{self as dash, Ctx};
use drugtrace_ledger::Store;
use serde::Deserialize;

use super::mapping::{audit_entry, clue_of, clue_row, instant, latest};
use super::{Page, PageResult, with_lang};
use crate::ApiError;
use crate::supervision::clues::{self, BatchSpec, ClueParams, Selection};
use crate::supervision::export::{self, Format};
use crate::supervision::view::{self, BASE};
use crate::supervision::{Loaded, Supervision};

/// Clues shown at most in the list (the exports have them all).
const LIST_LIMIT: usize = 500;

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

/// The list as `sel` selects it, rendered with `ctx`.
async fn clue_list_page<S: Store + Sync + 'static>(
    page: &Page<S>,
    ctx: &Ctx,
    loaded: &Loaded,
    params: &ClueParams,
    sel: &Selection,
) -> Result<String, ApiError> {
    let sup = &page.sup;
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
    let provinces: BTreeSet<String> = page
        .state
        .inner
        .directory()
        .iter()
        .map(|i| i.province.clone())
        .collect();
    let mut urls = dash::ClueUrls::under(BASE);
    let q = filter_query(&page.uri);
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
    Ok(dash::render_clue_list(&data, ctx))
}

/// `GET /dashboard/clues`: the clue list with its filter, the batches and the new-batch form.
pub(crate) async fn clue_list<S: Store + Sync + 'static>(
    page: Page<S>,
    Query(params): Query<ClueParams>,
) -> PageResult {
    let sel = params.selection()?;
    let loaded = page.sup.ready().await?;
    let html = clue_list_page(&page, &page.ctx, &loaded, &params, &sel).await?;
    Ok(page.html(StatusCode::OK, html))
}

/// The list as `params` filter it, as a download in `format`.
async fn clue_export<S: Store + Sync + 'static>(
    page: &Page<S>,
    params: &ClueParams,
    format: Format,
) -> Result<Response, ApiError> {
    let sel = params.selection()?;
    let sup = &page.sup;
    let today = clues::today(page.state.inner.local_offset_minutes);
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
    page: Page<S>,
    Query(params): Query<ClueParams>,
) -> PageResult {
    Ok(clue_export(&page, &params, Format::Csv).await?)
}

/// `GET /dashboard/clues.parquet`: the list as filtered, as Parquet.
pub(crate) async fn clues_parquet<S: Store + Sync + 'static>(
    page: Page<S>,
    Query(params): Query<ClueParams>,
) -> PageResult {
    Ok(clue_export(&page, &params, Format::Parquet).await?)
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

/// `POST /dashboard/clues/batches`: issues a batch from the ranking, then shows it; a
/// refused batch shows the list again (unfiltered) with the reason.
pub(crate) async fn issue<S: Store + Sync + 'static>(
    page: Page<S>,
    Form(form): Form<IssueForm>,
) -> PageResult {
    let sup = &page.sup;
    let loaded = sup.ready().await?;
    let issued = match BatchSpec::from_form(
        &form.title,
        &form.deadline,
        &form.top_n,
        &form.province,
        &form.model,
        &form.min_findings,
    ) {
        Ok(spec) => {
            let directory = page.state.inner.directory();
            clues::issue(sup, &loaded, &directory, spec, page.actor.clone()).await
        }
        Err(e) => Err(e),
    };
    match issued {
        Ok(issued) => Ok(view::see_other(&with_lang(
            format!("{BASE}/clues?batch={}", issued.batch),
            page.lang(),
        ))),
        Err(e) if e.status().is_client_error() => {
            let ctx = page.alerted(e.message());
            let params = ClueParams::default();
            let html = clue_list_page(&page, &ctx, &loaded, &params, &Selection::default()).await?;
            Ok(view::page(e.status(), &ctx, html))
        }
        Err(e) => Err(e.into()),
    }
}

/// Clue `id`'s page, rendered with `ctx`.
async fn clue_detail_page(
    sup: &Supervision,
    ctx: &Ctx,
    loaded: &Loaded,
    id: ClueId,
) -> Result<String, ApiError> {
    let today = clues::today(ctx.utc_offset_minutes);
    let (detail, findings, row) = clue_of(sup, loaded, id, today).await?;
    let urls = dash::ClueUrls::under(BASE);
    let data = dash::ClueDetailPage {
        transition_url: urls.transition_for(&row.id),
        clue: row,
        audit: detail.audit.iter().map(audit_entry).collect(),
        findings: latest(findings.of_institution(&detail.clue.institution)),
    };
    Ok(dash::render_clue_detail(&data, ctx))
}

/// `GET /dashboard/clues/{id}`: one clue, its workflow form and its audit trail.
pub(crate) async fn clue_detail<S: Store + Sync + 'static>(
    page: Page<S>,
    Path(id): Path<String>,
) -> PageResult {
    let id = clues::clue_id(&id)?;
    let loaded = page.sup.ready().await?;
    let html = clue_detail_page(&page.sup, &page.ctx, &loaded, id).await?;
    Ok(page.html(StatusCode::OK, html))
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
    page: Page<S>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TransitionForm>,
) -> PageResult {
    let id = clues::clue_id(&id)?;
    let sup = &page.sup;
    let moved = match clues::recovered_from_form(&form.recovered_yuan) {
        Ok(fen) => {
            let note = Some(form.note.clone());
            clues::transition(sup, id, &form.to, note, fen, page.actor.clone()).await
        }
        Err(e) => Err(e),
    };
    match moved {
        Ok(_) => {
            let detail = with_lang(
                format!("{BASE}/clues/{}", url_encode(&id.to_string())),
                page.lang(),
            );
            Ok(view::see_other(&back(&headers, detail)))
        }
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            let loaded = sup.ready().await?;
            let ctx = page.alerted(e.message());
            let html = clue_detail_page(sup, &ctx, &loaded, id).await?;
            Ok(view::page(e.status(), &ctx, html))
        }
        Err(e) => Err(e.into()),
    }
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
