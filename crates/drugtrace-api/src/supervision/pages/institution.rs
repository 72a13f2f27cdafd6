//! `GET /dashboard/institutions/{code}`: one institution's drill-down, from the directory,
//! the warehouse's report and findings, and the clue book.

use axum::extract::Path;
use axum::http::StatusCode;
use datafusion::scalar::ScalarValue;
use drugtrace_analytics::Table;
use drugtrace_clues::ClueQuery;
use drugtrace_dashboard as dash;
use drugtrace_ledger::Store;
use drugtrace_money::Fen;

use super::mapping::{day_points, latest, per_model, period, rate, reported_institution};
use super::{Page, PageResult};
use crate::ApiError;
use crate::supervision::{Finding, Loaded, clues, valid_institution};

/// The per-day figures of one institution, the code bound as a parameter.
const INSTITUTION_DAYS: &str = "SELECT day, COUNT(*) AS scans, \
     SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales, \
     SUM(CASE WHEN intercepted THEN 1 ELSE 0 END) AS interceptions, \
     SUM(intercepted_fen) AS intercepted_fen \
     FROM gated_events WHERE actor = $1 GROUP BY day ORDER BY day";

/// Institution `code`'s figures per day (`day, scans, sales, interceptions,
/// intercepted_fen`).
async fn days_of(loaded: &Loaded, code: &str) -> Result<Table, ApiError> {
    loaded
        .table_with(INSTITUTION_DAYS, vec![ScalarValue::from(code)])
        .await
}

/// `GET /dashboard/institutions/{code}`: one institution's figures, findings and clues.
pub(crate) async fn institution<S: Store + Sync + 'static>(
    page: Page<S>,
    Path(code): Path<String>,
) -> PageResult {
    let Page {
        state, sup, ctx, ..
    } = &page;
    if !valid_institution(&code) {
        return Err(ApiError::field("code", "an institution code is letters and digits").into());
    }
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
        (None, Some(r)) => reported_institution(r, &code),
        (None, None) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_institution",
                format!("no institution {code} in the directory or the events"),
            )
            .into());
        }
    };
    let findings = loaded.findings().await?;
    let per_day = day_points(&days_of(&loaded, &code).await?);
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
    Ok(page.html(StatusCode::OK, dash::render_institution(&data, ctx)))
}
