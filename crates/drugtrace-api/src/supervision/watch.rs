//! The models on a schedule inside `serve` (`serve --models-every`): each run exports the
//! ledger into the warehouse, runs every model, and sends the findings it found first to the
//! finding webhooks ([`super::hooks`]).
//!
//! Every server with a schedule runs the models every period, so each keeps its own
//! warehouse and findings current. After a run, a server records in the webhooks' journal
//! the findings its run before did not have; the journal answers which of them no server
//! recorded before, and only those are sent. So with several servers on a database each
//! new finding is sent once, by whichever server recorded it first. A run that outlasts its
//! period makes the next one start at the period after it ends: runs never overlap, and a
//! missed stretch is one run.
//!
//! A run reads the whole ledger and runs every model over all of it: the export and the
//! models are not incremental yet; what is new is worked out from the findings.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use drugtrace_analytics::{Analytics, ExportOptions};
use drugtrace_ledger::Store;
use serde::Serialize;

use super::Finding;
use crate::AppState;

/// Findings in one delivery at most; more go in several.
const PER_DELIVERY: usize = 500;
/// The shortest period accepted.
pub const MIN_PERIOD: Duration = Duration::from_secs(1);

/// A finding's identity across runs and servers (in the webhooks' journal too): 128 bits of
/// the SHA-256 of its model, what it is about and the events it rests on. A finding whose
/// evidence grew (a third sale) is new again.
fn finding_id(f: &Finding) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [
        f.model.as_str(),
        &f.code,
        &f.institution,
        f.product.as_deref().unwrap_or(""),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    // The events in order of their seq, whatever order a model listed them in.
    let mut evidence = f.evidence.clone();
    evidence.sort_unstable();
    for e in evidence {
        h.update(e.to_le_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunReport {
    pub run: u64,
    pub findings: usize,
    pub new: usize,
    pub deliveries: usize,
}

/// Runs the models every `every` for as long as the server serves.
pub(crate) async fn run_models<S: Store + Sync + 'static>(state: AppState<S>, every: Duration) {
    let every_ms = u64::try_from(every.max(MIN_PERIOD).as_millis()).unwrap_or(u64::MAX);
    let by = format!(
        "pid {} {:08x}",
        std::process::id(),
        crate::random_u64() as u32
    );
    loop {
        let run = now_ms() / every_ms;
        if state.supervision().is_err() {
            return;
        }
        match run_once(&state, run, &by).await {
            Ok(r) => tracing::info!(
                run = r.run,
                findings = r.findings,
                new = r.new,
                deliveries = r.deliveries,
                "the scheduled model run finished"
            ),
            Err(e) => tracing::warn!(run, error = %e, "the scheduled model run failed"),
        }
        let next = (now_ms() / every_ms + 1).saturating_mul(every_ms);
        tokio::time::sleep(Duration::from_millis(next.saturating_sub(now_ms()).max(50))).await;
    }
}

/// Exports, runs the models, records what this server's run before did not have, and sends
/// what no server had recorded (`by` names this server in the journal).
pub(crate) async fn run_once<S: Store + Sync + 'static>(
    state: &AppState<S>,
    run: u64,
    by: &str,
) -> Result<RunReport, String> {
    let sup = Arc::clone(state.supervision().map_err(|e| e.message().to_owned())?);
    // What the last run found (none before the first).
    let before: HashSet<String> = match sup.ready().await {
        Ok(loaded) => match loaded.findings().await {
            Ok(f) => f.rows.iter().map(finding_id).collect(),
            Err(_) => HashSet::new(),
        },
        Err(_) => HashSet::new(),
    };
    let inner = Arc::clone(&state.inner);
    let warehouse = sup.warehouse.clone();
    let opts = ExportOptions {
        offset_minutes: inner.local_offset_minutes,
        ..ExportOptions::default()
    };
    tokio::task::spawn_blocking(move || {
        drugtrace_analytics::export(
            inner.ledger.store(),
            &inner.ledger.catalog(),
            &inner.directory(),
            &warehouse,
            &opts,
            &mut |_| {},
        )
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("exporting the warehouse: {e}"))?;
    let analytics = Analytics::open(&sup.warehouse)
        .await
        .map_err(|e| format!("opening the warehouse: {e}"))?;
    analytics
        .run_all(&mut |_| {})
        .await
        .map_err(|e| format!("running the models: {e}"))?;
    drop(analytics);
    let loaded = sup.reopen().await.map_err(|e| e.message().to_owned())?;
    let findings = loaded
        .findings()
        .await
        .map_err(|e| e.message().to_owned())?;
    let fresh: Vec<(String, &Finding)> = findings
        .rows
        .iter()
        .map(|f| (finding_id(f), f))
        .filter(|(id, _)| !before.contains(id))
        .collect();
    let (first, deliveries) = match sup.hooks() {
        Some(hooks) => {
            let ids: Vec<String> = fresh.iter().map(|(id, _)| id.clone()).collect();
            let hooks = Arc::clone(hooks);
            let by = by.to_owned();
            let recorded = tokio::task::spawn_blocking(move || {
                hooks
                    .record_found(run, ids, &by)
                    .map(|first| (first, hooks.current()))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("recording the findings found: {e}"))?;
            let (first, current) = recorded;
            let first: HashSet<String> = first.into_iter().collect();
            let send: Vec<&Finding> = fresh
                .iter()
                .filter(|(id, _)| first.contains(id))
                .map(|(_, f)| *f)
                .collect();
            let n = deliver(state, &current, run, &send);
            (send.len(), n)
        }
        None => (fresh.len(), 0),
    };
    Ok(RunReport {
        run,
        findings: findings.rows.len(),
        new: first,
        deliveries,
    })
}

/// A finding as a webhook receives it.
#[derive(Debug, Serialize)]
struct Sent<'a> {
    model: &'a str,
    severity: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    code: &'a str,
    institution: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    amount_fen: i64,
    evidence: &'a [u32],
    detail: &'a str,
}

/// A delivery's body.
#[derive(Debug, Serialize)]
struct Body<'a> {
    subscription: &'a str,
    run: u64,
    sent_at: String,
    findings: Vec<Sent<'a>>,
}

/// Sends `fresh` to every webhook that wants some of it, each delivery on its own task;
/// how many deliveries were started.
fn deliver<S>(
    state: &AppState<S>,
    hooks: &super::hooks::Hooks,
    run: u64,
    fresh: &[&Finding],
) -> usize {
    let mut started = 0;
    for hook in hooks.hooks.values() {
        let wanted: Vec<&Finding> = fresh
            .iter()
            .copied()
            .filter(|f| hook.wants(&f.model, f.severity))
            .collect();
        for chunk in wanted.chunks(PER_DELIVERY) {
            let body = Body {
                subscription: &hook.id,
                run,
                sent_at: jiff::Timestamp::now().to_string(),
                findings: chunk
                    .iter()
                    .map(|f| Sent {
                        model: &f.model,
                        severity: f.severity.as_str(),
                        code: &f.code,
                        institution: &f.institution,
                        product: f.product.as_deref(),
                        at: f
                            .at_ms
                            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                            .map(|t| t.to_string()),
                        amount_fen: f.amount_fen.fen(),
                        evidence: &f.evidence,
                        detail: &f.detail,
                    })
                    .collect(),
            };
            let Ok(body) = serde_json::to_string(&body) else {
                continue;
            };
            let webhooks = state.inner.webhooks.clone();
            let hook = hook.clone();
            started += 1;
            tokio::spawn(async move {
                let delivery = crate::webhook::Delivery {
                    dest: &hook.dest,
                    content_type: "application/json",
                    signature_header: SIGNATURE_HEADER,
                    token: Some(&hook.secret),
                    what: &hook.id,
                };
                webhooks.deliver(&delivery, body).await
            });
        }
    }
    started
}

/// The header a delivery's HMAC-SHA256 signature (hex, under the subscription's secret)
/// goes in.
pub const SIGNATURE_HEADER: &str = "Drugtrace-Signature";

fn now_ms() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0)
}
