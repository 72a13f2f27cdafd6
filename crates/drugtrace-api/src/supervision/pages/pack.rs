//! `GET /dashboard/packs/{code}`: a pack's evidence chain, from the ledger, with the
//! findings on it from the warehouse when there is one.

use std::collections::BTreeSet;

use axum::extract::Path;
use axum::http::StatusCode;
use drugtrace_clues::Date;
use drugtrace_code::{PackKey, TraceCode};
use drugtrace_dashboard as dash;
use drugtrace_ledger::{PackState, Recorded, Store};

use super::mapping::{evidence, instant, latest, name_of, party_of, product_info};
use super::{Page, PageResult};
use crate::supervision::Finding;
use crate::{ApiError, AppState};

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

/// Pack `key`'s state and log, read on the blocking pool.
async fn read_pack<S: Store + Sync + 'static>(
    state: &AppState<S>,
    key: PackKey,
) -> Result<(Option<PackState>, Vec<Recorded>), ApiError> {
    state
        .blocking(move |inner| {
            let pack = inner.ledger.pack(&key).map_err(ApiError::internal)?;
            let log = inner.ledger.history(&key).map_err(ApiError::internal)?;
            Ok((pack, log))
        })
        .await
}

/// `GET /dashboard/packs/{code}`: a pack's evidence chain, the events findings cite
/// highlighted. It reads the ledger, so it works before any model ran (without findings).
pub(crate) async fn pack<S: Store + Sync + 'static>(
    page: Page<S>,
    Path(code): Path<String>,
) -> PageResult {
    let Page {
        state, sup, ctx, ..
    } = &page;
    let code = TraceCode::parse(&code).map_err(|e| ApiError::field("code", e.to_string()))?;
    let key = code.pack_key();
    let (pack, log) = read_pack(state, key).await?;
    let shown = key.to_string();
    let findings: Vec<Finding> = match sup.ready().await {
        Ok(loaded) => loaded.findings().await?.of_code(&shown).cloned().collect(),
        Err(e) if e.status() == StatusCode::SERVICE_UNAVAILABLE => Vec::new(),
        Err(e) => return Err(e.into()),
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
    Ok(page.html(StatusCode::OK, dash::render_pack(&data, ctx)))
}
