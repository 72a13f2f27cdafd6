//! The HTTP API: institutions submit chain events, the settlement system asks the gate
//! before it pays, and patients ask whether their pack was sold once and to them.
//!
//! The request and response types here are the API's own (serialization lives at this
//! edge); they convert to and from the ledger's domain types. Ledger calls block on disk
//! syncs, so they run on tokio's blocking pool. Every answer that reports an event as
//! recorded is sent only after the event is durable.
//!
//! With [`AppState::with_supervision`], regulators also get their dashboard under
//! `/dashboard` and an API over the analytics warehouse, the clue book and the public
//! notices (`/v1/findings`, `/v1/reports/…`, `/v1/sql`, `/v1/clues…`, `/v1/notices`).

mod access;
mod batcher;
mod codes;
mod epcis;
mod error;
mod events;
mod gate;
mod identity;
mod intake;
mod keys;
mod live;
mod metrics;
mod nhsa;
mod packs;
mod recalls;
mod relations;
mod supervision;
mod sweep;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use drugtrace_ledger::{Ledger, PersonKey, Store};

pub use access::{BadProxyEntry, RateLimiter, TrustedProxies, X_FORWARDED_FOR};
pub use epcis::{CaptureBook, CaptureError};
pub use error::ApiError;
pub use identity::{
    ASSERTION_HEADER, AssertionError, Claims, Identity, IdentityKey, IdentityKeyError,
};
pub use keys::{KeyError, KeyRing, Keys, Role};
pub use live::{Blocked, DayJournals, Interceptions};
pub use recalls::{RecallBook, RecallError};
pub use supervision::{
    DEFAULT_QUERY_LIMITS, FINDINGS_SIGNATURE_HEADER, FindingHooks, MIN_MODELS_PERIOD, Supervision,
    SupervisionError, SupervisionPaths,
};
pub use webhook::{WebhookError, Webhooks, sign as epcis_signature};

/// 64 random bits (the operating system's; the clock's nanoseconds if it has none): ids that
/// only need to differ, such as a live-feed batch's or a webhook subscription's.
pub(crate) fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return jiff::Timestamp::now().as_nanosecond() as u64;
    }
    u64::from_le_bytes(b)
}

/// The largest request body accepted: about 10,000 events.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// A request that takes longer is answered 408. Events it recorded stay recorded (a commit
/// is never half done), and a retry of the same settlement is answered from the ledger.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What every handler shares.
pub struct AppState<S> {
    inner: Arc<Inner<S>>,
}

/// The catalog and the directory shared by the servers on one database.
struct SharedReference {
    catalog: Arc<drugtrace_catalog::SharedImports<drugtrace_catalog::Catalog>>,
    directory: Arc<drugtrace_catalog::SharedImports<drugtrace_catalog::Directory>>,
}

impl<S> Inner<S> {
    /// The directory of institutions as it is now.
    fn directory(&self) -> Arc<drugtrace_catalog::Directory> {
        Arc::clone(&self.directory.read())
    }
}

struct Inner<S> {
    ledger: Ledger<S>,
    /// Set on the first gate request: the batcher thread needs the state itself.
    gate: std::sync::OnceLock<batcher::Batcher>,
    person_key: PersonKey,
    /// The identity provider's key the patient's `x-person-assertion` is checked with;
    /// without one, no assertion is accepted.
    identity_key: Option<IdentityKey>,
    local_offset_minutes: i32,
    keys: keys::KeyRing,
    patient_limit: RateLimiter,
    metrics: metrics::Metrics,
    /// The directory of institutions: replaced whole when a shared one changes.
    directory: parking_lot::RwLock<Arc<drugtrace_catalog::Directory>>,
    /// The catalog and the directory imported for every server on a database, read on by
    /// [`AppState::refresh_shared`]; none when they are the data directory's files.
    reference: Option<SharedReference>,
    /// The recalls of batches and withdrawals of products, which the ledger judges by.
    recalls: Arc<RecallBook>,
    /// The EPCIS events trading partners captured.
    captures: Arc<CaptureBook>,
    /// The client subscriptions' deliveries go out through.
    webhooks: webhook::Webhooks,
    /// The regulator's dashboard and API, when configured.
    supervision: Option<Arc<Supervision>>,
    /// The live feed of blocked sales the dashboard streams, when kept.
    live: Option<Arc<Interceptions>>,
    /// Set when the server begins to shut down: open event streams end on it.
    stopping: tokio::sync::watch::Sender<bool>,
    /// How often `serve` runs the models, when it does.
    models_every: Option<std::time::Duration>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: Store + Sync + 'static> AppState<S> {
    /// The state over a ledger, with the installation's person-hash secret, its local time
    /// zone (minutes east of UTC), the API keys it accepts, and the patient query's rate
    /// limit per client.
    pub fn new(
        ledger: Ledger<S>,
        person_key: PersonKey,
        local_offset_minutes: i32,
        keys: Keys,
        patient_limit: RateLimiter,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                ledger,
                gate: std::sync::OnceLock::new(),
                person_key,
                identity_key: None,
                local_offset_minutes,
                keys: keys::KeyRing::fixed(keys),
                patient_limit,
                metrics: metrics::Metrics::default(),
                directory: parking_lot::RwLock::new(Arc::default()),
                reference: None,
                recalls: Arc::new(RecallBook::in_memory()),
                captures: Arc::new(CaptureBook::in_memory()),
                webhooks: webhook::Webhooks::new(None)
                    .expect("a webhook client with the system's trust store builds"),
                supervision: None,
                live: None,
                stopping: tokio::sync::watch::Sender::new(false),
                models_every: None,
            }),
        }
    }

    /// The gate's batcher, started on first use (it holds a weak reference to the state,
    /// so it cannot start before the state is complete).
    fn gate(&self) -> &batcher::Batcher {
        self.inner
            .gate
            .get_or_init(|| batcher::Batcher::start(Arc::downgrade(&self.inner)))
    }

    /// The state with a directory of institutions, whose names and cities the patient sees.
    pub fn with_directory(self, directory: drugtrace_catalog::Directory) -> Self {
        *self.inner.directory.write() = Arc::new(directory);
        self
    }

    /// The state with the catalog and the directory of institutions imported for every
    /// server on a database: the ledger judges by the shared catalog from now on, and
    /// [`AppState::refresh_shared`] follows the imports other servers make.
    pub fn with_shared_reference(
        mut self,
        catalog: Arc<drugtrace_catalog::SharedImports<drugtrace_catalog::Catalog>>,
        directory: Arc<drugtrace_catalog::SharedImports<drugtrace_catalog::Directory>>,
    ) -> Self {
        self.inner.ledger.set_catalog(catalog.current());
        *self.inner.directory.write() = directory.current();
        Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts")
            .reference = Some(SharedReference { catalog, directory });
        self
    }

    /// The state with the recalls kept in `book` (the data directory's journal file, or the
    /// database's journal shared by every server on it); without one, recalls are kept in
    /// memory only. The ledger judges by them from now on.
    pub fn with_recall_book(mut self, book: RecallBook) -> Self {
        self.inner.ledger.set_recalls(book.current());
        Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts")
            .recalls = Arc::new(book);
        self
    }

    /// The state with `webhooks` as the client that subscriptions' deliveries go out
    /// through (one trusting a bureau's own certificate authority, say).
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts")
            .webhooks = webhooks;
        self
    }

    /// The state with the EPCIS events kept in `book` (the data directory's journal file, or
    /// the database's journal shared by every server on it); without one, captures are kept
    /// in memory only.
    pub fn with_capture_book(mut self, book: CaptureBook) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts")
            .captures = Arc::new(book);
        self
    }

    /// The state with `keys` instead of the fixed keys it was made with (a ring that reads a
    /// key journal shared with other servers).
    pub fn with_key_ring(mut self, keys: KeyRing) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts")
            .keys = keys;
        self
    }

    /// Reads on the journals this server shares with others (the keys, the recalls, the
    /// catalog, the directory of institutions, the clue book, the notices), so that what another server wrote is seen here; a server that shares
    /// nothing has nothing to read. Blocking: call it from a thread of its own, about once
    /// a second. Returns what failed, to be logged; the next call tries again.
    pub fn refresh_shared(&self) -> Result<(), String> {
        let inner = &self.inner;
        let mut failed = Vec::new();
        if let Err(e) = inner.keys.refresh() {
            failed.push(format!("keys: {e}"));
        }
        match inner.recalls.refresh() {
            Ok(true) => inner.ledger.set_recalls(inner.recalls.current()),
            Ok(false) => {}
            Err(e) => failed.push(format!("recalls: {e}")),
        }
        if let Some(r) = &inner.reference {
            match r.catalog.refresh() {
                Ok(true) => inner.ledger.set_catalog(r.catalog.current()),
                Ok(false) => {}
                Err(e) => failed.push(format!("catalog: {e}")),
            }
            match r.directory.refresh() {
                Ok(true) => *inner.directory.write() = r.directory.current(),
                Ok(false) => {}
                Err(e) => failed.push(format!("institutions: {e}")),
            }
        }
        if let Some(live) = &inner.live
            && let Err(e) = live.refresh()
        {
            failed.push(format!("live interceptions: {e}"));
        }
        if let Some(sup) = &inner.supervision {
            if let Err(e) = sup.clues().refresh() {
                failed.push(format!("clue book: {e}"));
            }
            if let Err(e) = sup.notices().write().refresh() {
                failed.push(format!("notices: {e}"));
            }
            if let Some(hooks) = sup.hooks()
                && let Err(e) = hooks.refresh()
            {
                failed.push(format!("finding webhooks: {e}"));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }

    /// The state with the identity provider's key: the patient query then tells a sale to
    /// the asker from a sale to someone else when the asker sends an assertion signed with
    /// it (`x-person-assertion`, see [`IdentityKey`]). Without it, every answer is
    /// anonymous (never, once or more than once) and says no identity provider is
    /// configured.
    pub fn with_identity_key(mut self, key: IdentityKey) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts")
            .identity_key = Some(key);
        self
    }

    /// The state with supervision: the regulator's dashboard under `/dashboard` and its API
    /// (findings, reports, SQL, clues, notices), and notices in the patient's query.
    pub fn with_supervision(mut self, mut supervision: Supervision) -> Self {
        let inner = Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts");
        supervision.set_offset_minutes(inner.local_offset_minutes);
        inner.supervision = Some(Arc::new(supervision));
        self
    }

    /// The state with the live feed of blocked sales: every sale the ledger refuses from
    /// now on is added to it, and the dashboard shows and streams it.
    pub fn with_interceptions(mut self, feed: Arc<Interceptions>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts")
            .live = Some(feed);
        self
    }

    /// The state with the models run every `every` (at least [`MIN_MODELS_PERIOD`]) while
    /// [`serve`] serves: each run exports the ledger into the warehouse, runs every model and
    /// sends the findings it found first to the finding webhooks.
    pub fn with_model_schedule(mut self, every: std::time::Duration) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("the state is not shared before the server starts")
            .models_every = Some(every.max(MIN_MODELS_PERIOD));
        self
    }

    /// Judges and records `submission` through the gate's batcher with whatever else is
    /// waiting; the decisions come back once durable, are counted in the metrics, and what
    /// they refused is added to the live feed.
    async fn settle(
        &self,
        submission: drugtrace_ledger::Submission,
    ) -> Result<Vec<drugtrace_ledger::Decision>, batcher::GateFailure> {
        let watched = self.inner.live.as_ref().map(|_| submission.events.clone());
        let decisions = self.gate().record(submission).await?;
        for d in &decisions {
            self.inner.metrics.decision(
                d.allows_payment(),
                d.outcome.reason().map(|r| r.as_str()),
                d.replayed,
            );
        }
        if let (Some(live), Some(events)) = (&self.inner.live, watched) {
            live.offer(&events, &decisions);
        }
        Ok(decisions)
    }

    /// Judges and records events submitted by `by` in one atomic, durable commit, each on
    /// its own (not as a settlement), on the blocking pool.
    async fn record(
        &self,
        events: Vec<drugtrace_ledger::Event>,
        by: drugtrace_ledger::Authority,
    ) -> Result<Vec<drugtrace_ledger::Decision>, ApiError> {
        self.blocking(move |inner| {
            let submission = drugtrace_ledger::Submission {
                events,
                by,
                settlement: false,
            };
            let mut d = inner
                .ledger
                .submit(std::slice::from_ref(&submission))
                .map_err(ApiError::internal)?;
            let decisions = d.pop().unwrap_or_default();
            if let Some(live) = &inner.live {
                live.offer(&submission.events, &decisions);
            }
            Ok(decisions)
        })
        .await
    }

    /// Runs a blocking ledger call on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner<S>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state.inner))
            .await
            .map_err(ApiError::internal)?
    }
}

/// The API's routes.
pub fn router<S: Store + Sync + 'static>(state: AppState<S>) -> Router {
    Router::new()
        .route("/", get(patient_page))
        .route("/docs", get(docs_page))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/events", post(events::post::<S>))
        .route("/v1/gate/sale", post(gate::sale::<S>))
        .route("/v1/intake", post(intake::post::<S>))
        .route("/v1/codes/{code}", get(codes::query::<S>))
        .route("/v1/packs/{code}", get(packs::history::<S>))
        .route("/v1/packs/{code}/children", get(packs::children::<S>))
        .route("/v1/relations", post(relations::post::<S>))
        .route("/epcis/capture", post(epcis::capture::<S>))
        .route("/epcis/capture/{id}", get(epcis::job::<S>))
        .route("/epcis/events", get(epcis::events::<S>))
        .route("/epcis/epcs/{epc}/events", get(epcis::epc_events::<S>))
        .route(
            "/epcis/queries/{query}/subscriptions",
            get(epcis::subscriptions::<S>).post(epcis::subscribe::<S>),
        )
        .route(
            "/epcis/queries/{query}/subscriptions/{id}",
            axum::routing::delete(epcis::unsubscribe::<S>),
        )
        .route(
            "/v1/recalls",
            post(recalls::post::<S>).get(recalls::list::<S>),
        )
        .route("/nhsa/callService", post(nhsa::call_service::<S>))
        .route("/metrics", get(metrics::export::<S>))
        .merge(supervision::routes::<S>())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track::<S>,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The patient's page: type, paste or scan a code and see the result case, in Chinese with
/// an English switch. It is one self-contained file: it works with no internet.
async fn patient_page() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("pages/patient.html"))
}

/// The API's description, OpenAPI 3.1.
pub const OPENAPI: &str = include_str!("pages/openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// The API's description, readable: a page that renders `/openapi.json` with no download.
async fn docs_page() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("pages/docs.html"))
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes the requests in
/// flight: every event acknowledged to a client is already durable, so none is lost.
pub async fn serve<S: Store + Sync + 'static>(
    listener: tokio::net::TcpListener,
    state: AppState<S>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Scheduled EPCIS subscriptions run for as long as the server serves.
    let schedules = tokio::spawn(epcis::run_schedules(state.clone()));
    // Change marks no update of the warehouse reads any more are forgotten.
    let sweep = tokio::spawn(sweep::run(state.clone()));
    // The models, when the server runs them.
    let models = state
        .inner
        .models_every
        .map(|every| tokio::spawn(supervision::run_models(state.clone(), every)));
    let inner = Arc::clone(&state.inner);
    let live = state.inner.live.clone();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Event streams never end by themselves: end them, so the shutdown does not
            // wait for them.
            inner.stopping.send_replace(true);
        })
        .await;
    schedules.abort();
    sweep.abort();
    if let Some(m) = models {
        m.abort();
    }
    // The sales refused last, still waiting to be appended to the live feed.
    if let Some(live) = live {
        let flushed = tokio::task::spawn_blocking(move || live.flush(FLUSH_LIVE)).await;
        if !matches!(flushed, Ok(true)) {
            tracing::warn!(
                "stopped before the last blocked sales reached the live feed (they are in the ledger)"
            );
        }
    }
    served
}

/// How long a stopping server waits for the live feed's last append.
const FLUSH_LIVE: std::time::Duration = std::time::Duration::from_secs(5);
