//! The notices page (`GET /dashboard/notices`) and its forms: a notice of the duplicated
//! codes (`POST /dashboard/notices`) and a recall (`POST /dashboard/recalls`).

use axum::Form;
use axum::http::StatusCode;
use drugtrace_dashboard::{self as dash, Ctx};
use drugtrace_ledger::Store;
use serde::Deserialize;

use super::mapping::instant;
use super::{Page, PageResult, with_lang};
use crate::ApiError;
use crate::supervision::api::publish_report;
use crate::supervision::view::{self, BASE};

/// The notices page, rendered with `ctx`: the published notices with their codes, the
/// recalls, and the forms for a new notice and a new recall.
async fn notices_page<S: Store + Sync + 'static>(
    page: &Page<S>,
    ctx: &Ctx,
) -> Result<String, ApiError> {
    let Page { state, sup, .. } = page;
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
        ctx,
    );
    Ok(html)
}

/// `GET /dashboard/notices`: the published notices and the form for a new one.
pub(crate) async fn notices<S: Store + Sync + 'static>(page: Page<S>) -> PageResult {
    let html = notices_page(&page, &page.ctx).await?;
    Ok(page.html(StatusCode::OK, html))
}

/// The notice form's field.
#[derive(Deserialize)]
pub(crate) struct PublishForm {
    #[serde(default)]
    title: String,
}

/// `POST /dashboard/notices`: publishes the current duplicated codes as a notice.
pub(crate) async fn publish<S: Store + Sync + 'static>(
    page: Page<S>,
    Form(form): Form<PublishForm>,
) -> PageResult {
    let sup = &page.sup;
    let loaded = sup.ready().await?;
    let published = publish_report(sup, &loaded, &form.title, None, page.actor.clone())
        .await
        .map(|_| ());
    back_to_notices(&page, published).await
}

/// After a form on the notices page: to the notices when `done`, else the page again with
/// the client's mistake in an alert.
async fn back_to_notices<S: Store + Sync + 'static>(
    page: &Page<S>,
    done: Result<(), ApiError>,
) -> PageResult {
    match done {
        Ok(()) => Ok(view::see_other(&with_lang(
            format!("{BASE}/notices"),
            page.lang(),
        ))),
        Err(e) if e.status().is_client_error() => {
            let ctx = page.alerted(e.message());
            let html = notices_page(page, &ctx).await?;
            Ok(view::page(e.status(), &ctx, html))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /dashboard/recalls`: records a recall from the notices page's form, authored by
/// the signed-in regulator, then shows the notices with it.
pub(crate) async fn record_recall<S: Store + Sync + 'static>(
    page: Page<S>,
    Form(form): Form<crate::recalls::RecallForm>,
) -> PageResult {
    let regulator = crate::access::Caller(
        crate::keys::Role::Regulator,
        drugtrace_ledger::Authority::Regulator,
    );
    let recorded = match form.request() {
        Ok(req) => crate::recalls::record(&page.state, req, &regulator, Some(page.actor.clone()))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    back_to_notices(&page, recorded).await
}
