//! `GET /dashboard/`: the overview, from the warehouse's reports and findings, the clue
//! book and the live feed.

use std::collections::BTreeSet;

use axum::http::{HeaderMap, StatusCode, header};
use drugtrace_clues::{Clue, ClueQuery};
use drugtrace_dashboard as dash;
use drugtrace_ledger::Store;
use drugtrace_money::Fen;

use super::mapping::{day_points, per_model, period, rate, reported_institution, system_instant};
use super::{Page, PageResult};
use crate::supervision::{clues, live};

/// Institutions in the overview's ranking.
const TOP_INSTITUTIONS: usize = 10;

/// `GET /dashboard/`: the overview.
pub(crate) async fn overview<S: Store + Sync + 'static>(
    page: Page<S>,
    headers: HeaderMap,
) -> PageResult {
    let Page {
        state, sup, ctx, ..
    } = &page;
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
                let info = reported_institution(&r, &code);
                dash::InstitutionRank {
                    name: info.name,
                    kind: info.kind,
                    province: info.province,
                    city: info.city,
                    findings: r.int("findings").max(0) as u64,
                    amount_fen: Fen::new(r.int("at_risk_fen")),
                    models,
                    code,
                }
            })
            .collect(),
        live: None,
    };
    let (live, seen) = live::ticker(state, ctx, &headers).unzip();
    let data = dash::Overview { live, ..data };
    let mut r = page.html(StatusCode::OK, dash::render_overview(&data, ctx));
    if let Some(seen) = seen {
        r.headers_mut().append(header::SET_COOKIE, seen);
    }
    Ok(r)
}
