//! The models on a schedule inside `serve` (`serve --models-every`): each run brings the
//! warehouse up to date with the ledger, runs every model, and sends the finding webhooks
//! ([`super::hooks`]) what is owed to them.
//!
//! Every server with a schedule runs the models every period, so each keeps its own
//! warehouse and findings current. After a run, a server records in the webhooks' journal
//! the findings its run before did not have; the journal answers which of them no server
//! recorded before, and those become owed to the webhooks that want them. Each run then
//! sends what is owed and not under way: what this server found, and what another found
//! two periods ago or more (that server may be gone); a delivery taken is recorded, so it is
//! owed no more. So with several servers on a database each new finding reaches each
//! webhook at least once, and twice only when two servers send it in the same window. A run that outlasts its
//! period makes the next one start at the period after it ends: runs never overlap, and a
//! missed stretch is one run.
//!
//! A run re-reads from the ledger only the packs changed since the warehouse's export, and
//! exports whole when those are many or the export old ([`drugtrace_analytics::refresh`]);
//! the models that read one pack at a time then run over those packs only, the others over
//! everything ([`drugtrace_analytics::Analytics::run_changed`]). What is new is worked out
//! from the findings.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use drugtrace_analytics::{Analytics, DEFAULT_DELTA_CAP, ExportOptions, Refreshed};
use drugtrace_ledger::Store;
use serde::Serialize;

use parking_lot::Mutex;

use super::Finding;
use super::hooks::FoundItem;
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

/// What one server's scheduled runs share: its name in the webhooks' journal, how long a
/// finding another server found must have been owed before this one sends it, and the
/// deliveries under way (a delivery retries for half a minute; a run meanwhile must not
/// start the same one again).
pub(crate) struct Watcher {
    by: String,
    takeover_ms: i64,
    sending: Arc<Mutex<HashSet<(String, String)>>>,
}

impl Watcher {
    /// A watcher for a server running the models every `every`: it takes over what another
    /// server found after two periods (two seconds at least).
    pub(crate) fn new(every: Duration) -> Watcher {
        let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX / 2);
        Watcher {
            by: format!(
                "pid {} {:08x}",
                std::process::id(),
                crate::random_u64() as u32
            ),
            takeover_ms: every_ms.saturating_mul(2).max(2_000),
            sending: Arc::default(),
        }
    }
}

/// Runs the models every `every` for as long as the server serves.
pub(crate) async fn run_models<S: Store + Sync + 'static>(state: AppState<S>, every: Duration) {
    let every = every.max(MIN_PERIOD);
    let every_ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
    let watcher = Watcher::new(every);
    loop {
        let run = now_ms() / every_ms;
        if state.supervision().is_err() {
            return;
        }
        match run_once(&state, run, &watcher).await {
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
/// each webhook what is owed to it.
pub(crate) async fn run_once<S: Store + Sync + 'static>(
    state: &AppState<S>,
    run: u64,
    watcher: &Watcher,
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
    // Only the packs changed since the last export are read again, until the changes are
    // many enough (or old enough) that a whole export is the better read.
    let refreshed = tokio::task::spawn_blocking(move || {
        drugtrace_analytics::refresh(
            inner.ledger.store(),
            &inner.ledger.catalog(),
            &inner.directory(),
            &warehouse,
            &opts,
            DEFAULT_DELTA_CAP,
        )
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("bringing the warehouse up to date: {e}"))?;
    match &refreshed {
        Refreshed::Updated(s) => tracing::debug!(
            run,
            packs = s.packs,
            events = s.events,
            "the warehouse re-read the packs changed since its export"
        ),
        Refreshed::Exported(s, why) => tracing::info!(
            run,
            events = s.events,
            why = %why,
            "the warehouse was exported whole"
        ),
    }
    let analytics = Analytics::open(&sup.warehouse)
        .await
        .map_err(|e| format!("opening the warehouse: {e}"))?;
    // After an update, the models that read one pack at a time read the changed packs only.
    analytics
        .run_changed(&mut |_| {})
        .await
        .map_err(|e| format!("running the models: {e}"))?;
    drop(analytics);
    let loaded = sup.reopen().await.map_err(|e| e.message().to_owned())?;
    let findings = loaded
        .findings()
        .await
        .map_err(|e| e.message().to_owned())?;
    let by_id: HashMap<String, &Finding> =
        findings.rows.iter().map(|f| (finding_id(f), f)).collect();
    let fresh: Vec<FoundItem> = by_id
        .iter()
        .filter(|(id, _)| !before.contains(*id))
        .map(|(id, f)| FoundItem {
            id: id.clone(),
            model: f.model.clone(),
            severity: f.severity.as_str().to_owned(),
        })
        .collect();
    let (first, deliveries) = match sup.hooks() {
        Some(hooks) => {
            let hooks = Arc::clone(hooks);
            let recorder = Arc::clone(&hooks);
            let by = watcher.by.clone();
            let recorded = tokio::task::spawn_blocking(move || {
                recorder
                    .record_found(run, fresh, &by)
                    .map(|first| (first.len(), recorder.current()))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("recording the findings found: {e}"))?;
            let (first, current) = recorded;
            (
                first,
                deliver(state, &hooks, &current, run, &by_id, watcher),
            )
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
    /// The finding's identity: the same finding delivered twice has the same one.
    id: &'a str,
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

/// A webhook and the findings (with their ids) a run sends it.
type Owing<'a> = (&'a super::hooks::Hook, Vec<(&'a String, &'a Finding)>);

/// Sends each webhook what is owed to it and this server's findings have: what this
/// server found, and what another found that has been owed longer than the watcher's
/// takeover; not what a delivery under way carries. Each delivery runs on its own task and,
/// once the receiver took it, is recorded as made. How many deliveries were started.
fn deliver<S>(
    state: &AppState<S>,
    journal: &Arc<super::hooks::FindingHooks>,
    current: &super::hooks::Hooks,
    run: u64,
    by_id: &HashMap<String, &Finding>,
    watcher: &Watcher,
) -> usize {
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    let mut owed: BTreeMap<&str, Owing<'_>> = BTreeMap::new();
    {
        let sending = watcher.sending.lock();
        for (hook, id, o) in current.owed() {
            let mine = o.by == watcher.by || now - o.at_ms >= watcher.takeover_ms;
            if !mine || sending.contains(&(hook.id.clone(), id.clone())) {
                continue;
            }
            if let Some(f) = by_id.get(id) {
                owed.entry(&hook.id)
                    .or_insert((hook, Vec::new()))
                    .1
                    .push((id, *f));
            }
        }
    }
    let mut started = 0;
    for (hook, wanted) in owed.into_values() {
        for chunk in wanted.chunks(PER_DELIVERY) {
            let body = Body {
                subscription: &hook.id,
                run,
                sent_at: jiff::Timestamp::now().to_string(),
                findings: chunk
                    .iter()
                    .map(|(id, f)| Sent {
                        id,
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
            let ids: Vec<String> = chunk.iter().map(|(id, _)| (*id).clone()).collect();
            let keys: Vec<(String, String)> =
                ids.iter().map(|id| (hook.id.clone(), id.clone())).collect();
            watcher.sending.lock().extend(keys.iter().cloned());
            let webhooks = state.inner.webhooks.clone();
            let hook = hook.clone();
            let journal = Arc::clone(journal);
            let sending = Arc::clone(&watcher.sending);
            let by = watcher.by.clone();
            started += 1;
            tokio::spawn(async move {
                let delivery = crate::webhook::Delivery {
                    dest: &hook.dest,
                    content_type: "application/json",
                    signature_header: SIGNATURE_HEADER,
                    token: Some(&hook.secret),
                    what: &hook.id,
                };
                if webhooks.deliver(&delivery, body).await {
                    let id = hook.id.clone();
                    let recorded = tokio::task::spawn_blocking(move || {
                        journal.record_delivered(&id, ids, &by)
                    })
                    .await;
                    if let Ok(Err(e)) | Err(e) = recorded.map_err(|e| e.to_string()) {
                        // Still owed, so sent again: the receiver tells by the ids.
                        tracing::warn!(what = hook.id, error = %e, "recording a delivery failed");
                    }
                }
                let mut sending = sending.lock();
                for k in &keys {
                    sending.remove(k);
                }
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
