//! `GET /dashboard/models`: the analysis models, what each found, and how each measures
//! against the truth file when there is one.

use axum::http::StatusCode;
use drugtrace_dashboard as dash;
use drugtrace_ledger::Store;
use drugtrace_money::Fen;

use super::mapping::{per_model, system_instant};
use super::{Page, PageResult};

/// `GET /dashboard/models`: each model, its rule, what it found, and how it measures
/// against the truth file when there is one.
pub(crate) async fn models<S: Store + Sync + 'static>(page: Page<S>) -> PageResult {
    let Page { sup, ctx, .. } = &page;
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
                let (precision, recall) = evaluation.get(&m.name).copied().unwrap_or((None, None));
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
    Ok(page.html(StatusCode::OK, dash::render_models(&data, ctx)))
}
