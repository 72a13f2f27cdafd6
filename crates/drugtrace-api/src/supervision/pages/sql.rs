//! The SQL console: `GET /dashboard/sql` (the form, with a sample query) and
//! `POST /dashboard/sql` (the query run read-only, with the row and time limits).

use axum::Form;
use axum::http::StatusCode;
use drugtrace_dashboard as dash;
use drugtrace_ledger::Store;
use serde::Deserialize;

use super::{Page, PageResult};
use crate::supervision::user_query;
use crate::supervision::view::BASE;

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

/// The query the console opens with.
const SAMPLE_QUERY: &str = "SELECT model, COUNT(*) AS findings, SUM(amount_fen) / 100.0 AS yuan\n\
                            FROM findings\nGROUP BY model\nORDER BY findings DESC";

/// `GET /dashboard/sql`: the console, with a sample query.
pub(crate) async fn sql_form<S: Store + Sync + 'static>(page: Page<S>) -> PageResult {
    let Page { sup, ctx, .. } = &page;
    sup.ready().await?;
    let data = dash::SqlPage {
        action: format!("{BASE}/sql"),
        query: SAMPLE_QUERY.to_owned(),
        tables: sql_tables(),
        ..dash::SqlPage::default()
    };
    Ok(page.html(StatusCode::OK, dash::render_sql(&data, ctx)))
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
    page: Page<S>,
    Form(form): Form<SqlForm>,
) -> PageResult {
    let Page { sup, ctx, .. } = &page;
    let loaded = sup.ready().await?;
    let mut data = dash::SqlPage {
        action: format!("{BASE}/sql"),
        query: form.query.clone(),
        tables: sql_tables(),
        ..dash::SqlPage::default()
    };
    let status = match user_query(sup, &loaded, &form.query).await {
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
                return Err(e.into());
            }
            data.error = Some(e.message().to_owned());
            e.status()
        }
    };
    Ok(page.html(status, dash::render_sql(&data, ctx)))
}
