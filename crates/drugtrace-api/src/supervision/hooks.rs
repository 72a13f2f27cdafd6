//! The bureaus' systems told of new findings: a regulator subscribes a webhook (with the
//! secret its deliveries are signed under, the models it follows and the least severity it
//! wants), and each scheduled run of the models inside `serve` ([`super::watch`]) sends it
//! the findings that run found first, signed with HMAC-SHA256 (`Drugtrace-Signature`), retried
//! with back-off.
//!
//! Subscriptions, the findings found and the deliveries made are one journal
//! (`finding-hooks.jsonl`, or the database's), so several servers on a database share the
//! subscriptions, and a finding is owed once to each webhook that wants it: a run records the
//! findings it has that its server's run before did not, and the journal answers which of
//! them no server recorded before ([`FindingHooks::record_found`]); those become owed to the
//! webhooks subscribed then. A delivery the receiver took (2xx) is recorded as made
//! ([`FindingHooks::record_delivered`]). What is still owed is sent again on later runs, by
//! the server that found it, or by any server once it has been owed for a while (its finder
//! may be gone), for a day at most. So a receiver that was down, or a server that died
//! between finding and delivering, loses nothing; a receiver may be sent a finding twice
//! (two servers in the window), and each finding carries its `id` to tell.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use drugtrace_clues::Severity;
use drugtrace_durable::{Fold, FoldError, Folded, SharedJournal};
use drugtrace_ledger::Store;
use serde::{Deserialize, Serialize};

use super::auth::Regulator;
use crate::{ApiError, AppState};

/// The shortest secret a subscription may give: deliveries are signed under it.
const MIN_SECRET: usize = 16;
/// Subscriptions kept at most.
const MAX_HOOKS: usize = 100;

/// A webhook told of new findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hook {
    pub id: String,
    pub dest: String,
    pub secret: String,
    /// The models it follows; all when empty.
    #[serde(default)]
    pub models: Vec<String>,
    /// The least severity it wants (`high`, `medium` or `low`).
    pub min_severity: String,
    /// Who subscribed (`regulator:` and the key's id).
    pub by: String,
    pub at_ms: i64,
}

impl Hook {
    /// Whether a finding of `model` at `severity` goes to this webhook.
    pub(crate) fn wants(&self, model: &str, severity: Severity) -> bool {
        let least = Severity::parse(&self.min_severity).unwrap_or(Severity::Low);
        severity <= least && (self.models.is_empty() || self.models.iter().any(|m| m == model))
    }
}

/// One record of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
enum Entry {
    Subscribe(Hook),
    Unsubscribe {
        id: String,
        by: String,
        at_ms: i64,
    },
    /// Findings a model run found: those no record before named are owed to the webhooks
    /// that want them. (Records written before deliveries were recorded name `ids` only,
    /// and owe nothing.)
    Found {
        run: u64,
        #[serde(default)]
        ids: Vec<FindingId>,
        #[serde(default)]
        findings: Vec<FoundItem>,
        by: String,
        at_ms: i64,
    },
    /// A delivery webhook `hook` took: the findings `ids` are no longer owed to it.
    Delivered {
        hook: String,
        ids: Vec<FindingId>,
        by: String,
        at_ms: i64,
    },
}

/// A finding as the journal records it found: what a webhook's wish is judged by.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FoundItem {
    pub id: FindingId,
    pub model: String,
    /// `high`, `medium` or `low`.
    pub severity: String,
}

/// How long a finding stays owed to a webhook that does not take it.
const OWED_FOR_MS: i64 = 24 * 3600 * 1000;

/// A finding owed to a webhook: who found it, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owed {
    pub by: String,
    pub at_ms: i64,
}

/// A finding's identity across runs and servers: 128 bits of the SHA-256 of its model,
/// subject and evidence, in hex.
pub(crate) type FindingId = String;

/// What the journal folds to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hooks {
    pub hooks: BTreeMap<String, Hook>,
    /// Every finding recorded as found (a persistent set: the fold is copied on each
    /// append).
    found: imbl::HashSet<FindingId>,
    /// By webhook, the findings owed to it.
    owed: imbl::HashMap<String, imbl::HashMap<FindingId, Owed>>,
}

impl Hooks {
    /// Every finding owed to a webhook still subscribed: (webhook, finding, owed).
    pub(crate) fn owed(&self) -> impl Iterator<Item = (&Hook, &FindingId, &Owed)> {
        self.owed.iter().flat_map(move |(hook, owed)| {
            self.hooks
                .get(hook)
                .into_iter()
                .flat_map(move |h| owed.iter().map(move |(id, o)| (h, id, o)))
        })
    }
}

impl Fold for Hooks {
    /// The findings a `Found` record named first.
    type Applied = Vec<FindingId>;
    type Error = String;

    fn apply(&mut self, record: &[u8]) -> Result<Vec<FindingId>, String> {
        let entry: Entry = serde_json::from_slice(record).map_err(|e| e.to_string())?;
        match entry {
            Entry::Subscribe(h) => {
                if self.hooks.len() >= MAX_HOOKS && !self.hooks.contains_key(&h.id) {
                    return Err(format!("{MAX_HOOKS} webhooks are subscribed already"));
                }
                self.hooks.insert(h.id.clone(), h);
            }
            Entry::Unsubscribe { id, .. } => {
                self.hooks.remove(&id);
                self.owed.remove(&id);
            }
            Entry::Found {
                ids,
                findings,
                by,
                at_ms,
                ..
            } => {
                // Read whole before anything changes.
                let findings = findings
                    .into_iter()
                    .map(|f| match Severity::parse(&f.severity) {
                        Some(severity) => Ok((f, severity)),
                        None => Err(format!("finding {}: severity {:?}", f.id, f.severity)),
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let mut first = Vec::new();
                for id in ids {
                    if self.found.insert(id.clone()).is_none() {
                        first.push(id);
                    }
                }
                // What a day has not delivered is given up (the record's own time, so that
                // every server folds alike).
                for (_, owed) in self.owed.iter_mut() {
                    owed.retain(|_, o| at_ms - o.at_ms < OWED_FOR_MS);
                }
                for (f, severity) in findings {
                    if self.found.insert(f.id.clone()).is_some() {
                        continue;
                    }
                    for h in self.hooks.values().filter(|h| h.wants(&f.model, severity)) {
                        self.owed.entry(h.id.clone()).or_default().insert(
                            f.id.clone(),
                            Owed {
                                by: by.clone(),
                                at_ms,
                            },
                        );
                    }
                    first.push(f.id);
                }
                return Ok(first);
            }
            Entry::Delivered { hook, ids, .. } => {
                if let Some(owed) = self.owed.get_mut(&hook) {
                    for id in &ids {
                        owed.remove(id);
                    }
                    if owed.is_empty() {
                        self.owed.remove(&hook);
                    }
                }
            }
        }
        Ok(Vec::new())
    }
}

/// The subscriptions and the findings sent.
#[derive(Debug)]
pub struct FindingHooks {
    folded: Folded<Hooks>,
}

impl FindingHooks {
    /// The subscriptions folded from `journal`.
    pub fn open(journal: Arc<dyn SharedJournal>) -> Result<FindingHooks, String> {
        Folded::open(journal)
            .map(|folded| FindingHooks { folded })
            .map_err(fold_error)
    }

    /// The subscriptions in the file `path` (created when missing), for one server.
    pub fn in_file(path: &std::path::Path) -> Result<FindingHooks, String> {
        let (journal, torn) = drugtrace_durable::FileJournal::open(path)
            .map_err(|e| format!("opening {}: {e}", path.display()))?;
        if let Some(t) = torn {
            tracing::warn!(
                line = t.line,
                "cut off the torn last line of {} (a crash during a write, never acknowledged)",
                path.display()
            );
        }
        FindingHooks::open(Arc::new(journal))
    }

    pub(crate) fn current(&self) -> Arc<Hooks> {
        self.folded.current()
    }

    /// Reads on what other servers appended.
    pub(crate) fn refresh(&self) -> Result<(), String> {
        self.folded.refresh().map(|_| ()).map_err(fold_error)
    }

    /// Records that run `run` found `findings` (what its server's run before did not have),
    /// and returns those no server recorded before: now owed to the webhooks that want them.
    pub(crate) fn record_found(
        &self,
        run: u64,
        findings: Vec<FoundItem>,
        by: &str,
    ) -> Result<Vec<FindingId>, String> {
        if findings.is_empty() {
            return Ok(Vec::new());
        }
        let record = serde_json::to_vec(&Entry::Found {
            run,
            ids: Vec::new(),
            findings,
            by: by.to_owned(),
            at_ms: now_ms(),
        })
        .map_err(|e| e.to_string())?;
        self.folded
            .append(&record, |_| None)
            .map(|(first, _)| first)
            .map_err(fold_error)
    }

    /// Records that webhook `hook` took a delivery of `ids`.
    pub(crate) fn record_delivered(
        &self,
        hook: &str,
        ids: Vec<FindingId>,
        by: &str,
    ) -> Result<(), String> {
        let record = serde_json::to_vec(&Entry::Delivered {
            hook: hook.to_owned(),
            ids,
            by: by.to_owned(),
            at_ms: now_ms(),
        })
        .map_err(|e| e.to_string())?;
        self.folded
            .append(&record, |_| None)
            .map(|_| ())
            .map_err(fold_error)
    }

    fn append(&self, entry: &Entry) -> Result<(), ApiError> {
        let record = serde_json::to_vec(entry).map_err(ApiError::internal)?;
        match self.folded.append(&record, |_| None) {
            Ok(_) => Ok(()),
            Err(FoldError::Refused(why)) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "too_many_webhooks",
                why,
            )),
            Err(e) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "journal_unavailable",
                format!("the finding webhooks' journal: {}", fold_error(e)),
            )),
        }
    }
}

fn fold_error(e: FoldError<String>) -> String {
    match e {
        FoldError::Shared(e) => e.to_string(),
        FoldError::Corrupt { at, message } => {
            format!("record {at} of the finding webhooks' journal is not one: {message}")
        }
        FoldError::Refused(why) => why,
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A subscription as asked for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscribeRequest {
    dest: String,
    secret: String,
    #[serde(default)]
    models: Vec<String>,
    #[serde(default)]
    min_severity: Option<String>,
}

/// A subscription as listed: everything but its secret.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    id: &'a str,
    dest: &'a str,
    models: &'a [String],
    min_severity: &'a str,
    by: &'a str,
    created_at: String,
}

impl<'a> From<&'a Hook> for Listed<'a> {
    fn from(h: &'a Hook) -> Self {
        Listed {
            id: &h.id,
            dest: &h.dest,
            models: &h.models,
            min_severity: &h.min_severity,
            by: &h.by,
            created_at: jiff::Timestamp::from_millisecond(h.at_ms)
                .map(|t| t.to_string())
                .unwrap_or_default(),
        }
    }
}

impl<S> AppState<S> {
    fn hooks(&self) -> Result<&Arc<FindingHooks>, ApiError> {
        self.supervision()?.hooks().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_finding_webhooks",
                "this server keeps no finding webhooks",
            )
        })
    }
}

/// `POST /v1/findings/subscriptions`: a webhook told of each new finding.
pub(crate) async fn subscribe<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: Regulator,
    body: Result<Json<SubscribeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let hooks = Arc::clone(state.hooks()?);
    let dest = crate::webhook::check_dest(&req.dest).map_err(|m| ApiError::field("dest", m))?;
    let secret = req.secret.trim().to_owned();
    if secret.chars().count() < MIN_SECRET || secret.len() > 256 {
        return Err(ApiError::field(
            "secret",
            format!("{MIN_SECRET} to 256 characters: deliveries are signed under it"),
        ));
    }
    let known = drugtrace_analytics::models();
    for m in &req.models {
        if !known.iter().any(|k| &k.name == m) {
            return Err(ApiError::field(
                "models",
                format!(
                    "{m:?} is no model; the models are {}",
                    known
                        .iter()
                        .map(|k| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let min_severity = match req.min_severity.as_deref() {
        None => Severity::Low,
        Some(s) => Severity::parse(s).ok_or_else(|| {
            ApiError::field(
                "min_severity",
                format!("{s:?}: expected high, medium or low"),
            )
        })?,
    };
    let hook = Hook {
        id: format!("fh-{:016x}", crate::random_u64()),
        dest,
        secret,
        models: req.models,
        min_severity: min_severity.as_str().to_owned(),
        by: who.actor.clone(),
        at_ms: now_ms(),
    };
    let entry = Entry::Subscribe(hook.clone());
    tokio::task::spawn_blocking(move || hooks.append(&entry))
        .await
        .map_err(ApiError::internal)??;
    Ok((StatusCode::CREATED, Json(Listed::from(&hook))).into_response())
}

/// `GET /v1/findings/subscriptions`.
pub(crate) async fn list<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    _: Regulator,
) -> Result<Response, ApiError> {
    let current = state.hooks()?.current();
    let listed: Vec<Listed<'_>> = current.hooks.values().map(Listed::from).collect();
    Ok(Json(serde_json::json!({ "subscriptions": listed })).into_response())
}

/// `DELETE /v1/findings/subscriptions/{id}`.
pub(crate) async fn unsubscribe<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    who: Regulator,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let hooks = Arc::clone(state.hooks()?);
    if !hooks.current().hooks.contains_key(&id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_subscription",
            format!("no finding webhook {id:?}"),
        ));
    }
    let entry = Entry::Unsubscribe {
        id,
        by: who.actor.clone(),
        at_ms: now_ms(),
    };
    tokio::task::spawn_blocking(move || hooks.append(&entry))
        .await
        .map_err(ApiError::internal)??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(models: &[&str], least: &str) -> Hook {
        Hook {
            id: "fh-1".into(),
            dest: "http://127.0.0.1/x".into(),
            secret: "s".repeat(16),
            models: models.iter().map(|m| m.to_string()).collect(),
            min_severity: least.into(),
            by: "regulator:r".into(),
            at_ms: 0,
        }
    }

    #[test]
    fn a_hook_wants_its_models_at_its_severity_or_above() {
        let h = hook(&[], "medium");
        assert!(h.wants("duplicate_sale", Severity::High));
        assert!(h.wants("duplicate_sale", Severity::Medium));
        assert!(!h.wants("duplicate_sale", Severity::Low));
        let h = hook(&["substitution"], "low");
        assert!(h.wants("substitution", Severity::Low));
        assert!(!h.wants("duplicate_sale", Severity::High));
    }

    fn found(ids: &[&str]) -> Vec<FoundItem> {
        ids.iter()
            .map(|id| FoundItem {
                id: id.to_string(),
                model: "duplicate_sale".into(),
                severity: "high".into(),
            })
            .collect()
    }

    fn ids(v: &[&str]) -> Vec<FindingId> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Webhook `id` wanting `models` at `least`, subscribed.
    fn subscribe(hooks: &FindingHooks, id: &str, models: &[&str], least: &str) {
        hooks
            .append(&Entry::Subscribe(Hook {
                id: id.into(),
                ..hook(models, least)
            }))
            .unwrap();
    }

    /// What is owed, as (webhook, finding, finder), sorted.
    fn owed(hooks: &FindingHooks) -> Vec<(String, String, String)> {
        let current = hooks.current();
        let mut v: Vec<_> = current
            .owed()
            .map(|(h, id, o)| (h.id.clone(), id.clone(), o.by.clone()))
            .collect();
        v.sort();
        v
    }

    fn t(h: &str, id: &str, by: &str) -> (String, String, String) {
        (h.into(), id.into(), by.into())
    }

    #[test]
    fn a_finding_recorded_by_two_servers_is_owed_once_found_by_the_first() {
        let journal: Arc<dyn SharedJournal> = Arc::new(drugtrace_durable::MemoryJournal::default());
        let one = FindingHooks::open(Arc::clone(&journal)).unwrap();
        let two = FindingHooks::open(journal).unwrap();
        subscribe(&one, "fh-1", &[], "low");
        assert_eq!(
            one.record_found(5, found(&["a", "b"]), "one").unwrap(),
            ids(&["a", "b"])
        );
        // The other server, not yet read on, found b and c in its own run.
        assert_eq!(
            two.record_found(5, found(&["b", "c"]), "two").unwrap(),
            ids(&["c"])
        );
        assert_eq!(
            one.record_found(6, found(&["a", "c"]), "one").unwrap(),
            ids(&[])
        );
        assert_eq!(one.record_found(6, vec![], "one").unwrap(), ids(&[]));
        assert_eq!(
            owed(&one),
            [
                t("fh-1", "a", "one"),
                t("fh-1", "b", "one"),
                t("fh-1", "c", "two")
            ]
        );
    }

    #[test]
    fn a_delivery_taken_is_owed_no_more_and_a_later_webhook_owes_nothing_earlier() {
        let one =
            FindingHooks::open(Arc::new(drugtrace_durable::MemoryJournal::default())).unwrap();
        subscribe(&one, "fh-all", &[], "low");
        subscribe(&one, "fh-sub", &["substitution"], "low");
        one.record_found(1, found(&["a", "b"]), "one").unwrap();
        // Only the webhook that wants duplicate sales is owed them.
        assert_eq!(
            owed(&one),
            [t("fh-all", "a", "one"), t("fh-all", "b", "one")]
        );
        one.record_delivered("fh-all", ids(&["a"]), "one").unwrap();
        assert_eq!(owed(&one), [t("fh-all", "b", "one")]);
        // Subscribed after b was found: owed what is found from then on only.
        subscribe(&one, "fh-late", &[], "high");
        one.record_found(2, found(&["c"]), "one").unwrap();
        assert_eq!(
            owed(&one),
            [
                t("fh-all", "b", "one"),
                t("fh-all", "c", "one"),
                t("fh-late", "c", "one")
            ]
        );
        // Unsubscribed: owed nothing.
        one.append(&Entry::Unsubscribe {
            id: "fh-all".into(),
            by: "regulator:r".into(),
            at_ms: 0,
        })
        .unwrap();
        assert_eq!(owed(&one), [t("fh-late", "c", "one")]);
        // A journal read again folds to the same.
        one.refresh().unwrap();
        assert_eq!(owed(&one), [t("fh-late", "c", "one")]);
    }

    #[test]
    fn what_a_day_has_not_delivered_is_given_up_and_old_records_owe_nothing() {
        let one =
            FindingHooks::open(Arc::new(drugtrace_durable::MemoryJournal::default())).unwrap();
        subscribe(&one, "fh-1", &[], "low");
        let found_at = |ids_: &[&str], old: &[&str], at_ms: i64| Entry::Found {
            run: 1,
            ids: ids(old),
            findings: found(ids_),
            by: "one".into(),
            at_ms,
        };
        one.append(&found_at(&["a"], &[], 1_000)).unwrap();
        // A record written before deliveries were recorded: found, owed to none.
        one.append(&found_at(&[], &["x"], 2_000)).unwrap();
        assert_eq!(owed(&one), [t("fh-1", "a", "one")]);
        assert_eq!(one.record_found(3, found(&["x"]), "one").unwrap(), ids(&[]));
        one.append(&found_at(&["b"], &[], 1_000 + OWED_FOR_MS))
            .unwrap();
        assert_eq!(owed(&one), [t("fh-1", "b", "one")]);
    }
}
