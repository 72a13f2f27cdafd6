//! `GET /dashboard/clues/{id}/dossier`: a clue's inspection dossier, the printable document
//! the local bureau takes to the inspection (`drugtrace_dashboard::render_dossier`).
//!
//! It gathers what the clue and pack pages show, from the same places: the clue and its
//! audit trail from the clue book, the findings at its institution from the warehouse, and
//! the log of every pack those findings name from the ledger. The page is bounded: at most
//! [`PACKS_LIMIT`] packs with at most [`EVENTS_LIMIT`] events each, and the page says how
//! many more there are.

use std::collections::{BTreeSet, HashSet};

use axum::extract::Path;
use axum::http::StatusCode;
use drugtrace_clues::ClueId;
use drugtrace_code::TraceCode;
use drugtrace_dashboard::jiff::Timestamp as Instant;
use drugtrace_dashboard::{self as dash, Ctx};
use drugtrace_ledger::{Recorded, Store};

use super::mapping::{audit_entry, clue_of, evidence, latest, name_of, party_of, product_info};
use super::{Page, PageResult};
use crate::supervision::{Finding, Findings, Loaded, Supervision, clues};
use crate::{ApiError, AppState};

/// Packs shown with their evidence chains at most; the page counts the others.
pub(crate) const PACKS_LIMIT: usize = 200;
/// Events shown of one pack's log at most (the first ones); the page counts the others.
pub(crate) const EVENTS_LIMIT: usize = 500;

/// `GET /dashboard/clues/{id}/dossier`: the dossier of a clue.
pub(crate) async fn dossier<S: Store + Sync + 'static>(
    page: Page<S>,
    Path(id): Path<String>,
) -> PageResult {
    let id = clues::clue_id(&id)?;
    let Page {
        state, sup, ctx, ..
    } = &page;
    let loaded = sup.ready().await?;
    let data = gather(state, sup, &loaded, ctx, id).await?;
    Ok(page.html(StatusCode::OK, dash::render_dossier(&data, ctx)))
}

/// The dossier's data: the clue, its institution, its findings, its packs' logs and its
/// audit trail.
async fn gather<S: Store + Sync + 'static>(
    state: &AppState<S>,
    sup: &Supervision,
    loaded: &Loaded,
    ctx: &Ctx,
    id: ClueId,
) -> Result<dash::DossierPage, ApiError> {
    let today = clues::today(ctx.utc_offset_minutes);
    let (detail, findings, clue) = clue_of(sup, loaded, id, today).await?;
    let directory = state.inner.directory();
    let institution = match directory.get(&detail.clue.institution) {
        Some(i) => dash::InstitutionInfo {
            code: detail.clue.institution.clone(),
            name: i.name.clone(),
            kind: Some(i.kind),
            province: i.province.clone(),
            city: i.city.clone(),
        },
        None => dash::InstitutionInfo {
            code: detail.clue.institution.clone(),
            name: clue.institution_name.clone(),
            kind: None,
            province: detail.clue.province.clone(),
            city: detail.clue.city.clone(),
        },
    };
    let mine: Vec<&Finding> = findings.of_institution(&detail.clue.institution).collect();
    let codes = involved(&mine);
    let packs_total = codes.len() as u64;
    let shown: Vec<String> = codes.into_iter().take(PACKS_LIMIT).collect();
    let logs = read_logs(state, &shown).await?;
    let catalog = state.inner.ledger.catalog();
    let packs = shown
        .iter()
        .zip(logs)
        .map(|(code, (key, log))| pack(code, key.as_ref(), &log, &findings, &catalog, &directory))
        .collect();
    Ok(dash::DossierPage {
        clue,
        today,
        generated_at: Instant::now(),
        institution,
        findings: latest(mine.iter().copied()),
        findings_total: mine.len() as u64,
        packs,
        packs_total,
        audit: detail.audit.iter().map(audit_entry).collect(),
    })
}

/// The packs `findings` name, each once, those of the newest findings first (the order the
/// findings table shows them in).
fn involved(findings: &[&Finding]) -> Vec<String> {
    let mut newest_first: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| !f.code.is_empty())
        .collect();
    newest_first.sort_by_key(|f| std::cmp::Reverse(f.at_ms));
    let mut seen = HashSet::new();
    newest_first
        .into_iter()
        .filter(|f| seen.insert(f.code.as_str()))
        .map(|f| f.code.clone())
        .collect()
}

/// The pack key of each code (as the warehouse writes it: it parses back to its pack) and
/// the first [`EVENTS_LIMIT`] events of its log with the log's length, read on the
/// blocking pool. A code that does not parse (the warehouse was written by something else)
/// has no key and an empty log.
async fn read_logs<S: Store + Sync + 'static>(
    state: &AppState<S>,
    codes: &[String],
) -> Result<Vec<(Option<drugtrace_code::PackKey>, Log)>, ApiError> {
    let codes = codes.to_vec();
    state
        .blocking(move |inner| {
            codes
                .iter()
                .map(|code| match TraceCode::parse(code) {
                    Ok(c) => {
                        let key = c.pack_key();
                        let mut events = inner.ledger.history(&key).map_err(ApiError::internal)?;
                        let total = events.len() as u64;
                        events.truncate(EVENTS_LIMIT);
                        Ok((Some(key), Log { events, total }))
                    }
                    Err(e) => {
                        tracing::warn!(code, error = %e, "a finding's code is no trace code");
                        Ok((None, Log::default()))
                    }
                })
                .collect()
        })
        .await
}

/// The first events of a pack's log and how many it holds.
#[derive(Default)]
struct Log {
    events: Vec<Recorded>,
    total: u64,
}

/// A pack of the dossier: its product and its events, those a finding cites highlighted.
fn pack(
    code: &str,
    key: Option<&drugtrace_code::PackKey>,
    log: &Log,
    findings: &Findings,
    catalog: &drugtrace_catalog::Catalog,
    directory: &drugtrace_catalog::Directory,
) -> dash::DossierPack {
    let cited: BTreeSet<u32> = findings
        .of_code(code)
        .flat_map(|f| f.evidence.iter().copied())
        .collect();
    let name = |c: &str| name_of(directory, c);
    let party = |c: &str| party_of(directory, c);
    dash::DossierPack {
        code: code.to_owned(),
        product: key.and_then(|k| product_info(catalog, k)),
        events: log
            .events
            .iter()
            .map(|r| evidence(r, &cited, &party, &name))
            .collect(),
        events_total: log.total,
    }
}

#[cfg(test)]
mod tests {
    use drugtrace_clues::Severity;
    use drugtrace_money::Fen;

    use super::*;

    fn finding(code: &str, at_ms: i64) -> Finding {
        Finding {
            model: "duplicate_sale".into(),
            severity: Severity::High,
            code: code.into(),
            institution: "P1".into(),
            product: None,
            at_ms: Some(at_ms),
            amount_fen: Fen::new(100),
            evidence: vec![],
            detail: String::new(),
        }
    }

    #[test]
    fn the_packs_involved_come_once_each_newest_finding_first() {
        let findings = [
            finding("81000000000000000001", 1),
            finding("81000000000000000002", 3),
            // A finding about the institution names no pack.
            finding("", 4),
            finding("81000000000000000001", 2),
        ];
        let refs: Vec<&Finding> = findings.iter().collect();
        assert_eq!(
            involved(&refs),
            ["81000000000000000002", "81000000000000000001"]
        );
    }
}
