//! Supervision over HTTP: the regulator's dashboard (the server-side pages of
//! `drugtrace-dashboard`), and a JSON, CSV and Parquet API over the analytics warehouse
//! (`drugtrace-analytics`), the clue book (`drugtrace-clues`) and the public notices.
//!
//! Everything here but the list of published notices needs a regulator: the JSON API takes a
//! regulator's Bearer key, the dashboard the same key from the cookie its login form sets
//! ([`auth`]). Without supervision configured, or before `drugtrace analytics run` made a
//! warehouse with findings, the routes answer 503 saying so.
//!
//! The warehouse only changes when an export or a model run replaces its files, so the
//! server checks their size and time on each request (two `stat`s) and re-opens it when they
//! changed; `POST /v1/analytics/refresh` re-opens it unconditionally. Figures computed from
//! one opening (the reports, the findings) are kept with it: exact until the files change.

mod api;
mod auth;
mod clues;
mod export;
mod hooks;
mod live;
mod pages;
mod view;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use datafusion::scalar::ScalarValue;
use drugtrace_analytics::worker::{self, WorkerCommand, WorkerError};
use drugtrace_analytics::{Analytics, AnalyticsError, QueryLimits, Table, Value, Warehouse};
use drugtrace_clues::{ClueBook, NoticeBoard, Severity};
use drugtrace_ledger::Store;
use drugtrace_money::Fen;
use parking_lot::{Mutex, RwLock};
use tokio::sync::OnceCell;

use crate::{ApiError, AppState};
pub use hooks::FindingHooks;
pub(crate) use watch::run_models;
pub use watch::{MIN_PERIOD as MIN_MODELS_PERIOD, SIGNATURE_HEADER as FINDINGS_SIGNATURE_HEADER};

/// Where a data directory keeps what supervision reads and writes.
#[derive(Debug, Clone)]
pub struct SupervisionPaths {
    /// The analytics warehouse (`DATA/warehouse`), written by `drugtrace analytics run`.
    pub warehouse: PathBuf,
    /// The settlement items (`DATA/settlements`), written by `drugtrace settlements
    /// import`: the upload rate's denominator.
    pub settlements: PathBuf,
    /// The clue book's directory (`DATA/clues`).
    pub clues: PathBuf,
    /// The published notices (`DATA/notices.jsonl`).
    pub notices: PathBuf,
    /// The webhooks told of new findings, and the findings already sent
    /// (`DATA/finding-hooks.jsonl`).
    pub finding_hooks: PathBuf,
    /// A synthetic province's `truth.jsonl`, if the data are synthetic: the models page then
    /// shows each model's precision and recall against it. Real data have no truth, and the
    /// page shows none.
    pub truth: Option<PathBuf>,
}

impl SupervisionPaths {
    /// The usual places in data directory `root`, with no truth file.
    pub fn in_data_dir(root: &Path) -> SupervisionPaths {
        SupervisionPaths {
            warehouse: root.join("warehouse"),
            settlements: root.join("settlements"),
            clues: root.join("clues"),
            notices: root.join("notices.jsonl"),
            finding_hooks: root.join("finding-hooks.jsonl"),
            truth: None,
        }
    }

    /// The clue book's journal file, in its directory.
    pub fn clue_journal(&self) -> PathBuf {
        ClueBook::journal_file(&self.clues)
    }
}

/// Why supervision could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisionError {
    /// The clue book could not be opened.
    #[error("the clue book: {0}")]
    Clues(#[from] drugtrace_clues::OpenError),
    /// The notices could not be read.
    #[error("the notices: {0}")]
    Notices(#[from] drugtrace_clues::NoticeError),
    /// The finding webhooks could not be read.
    #[error("the finding webhooks: {0}")]
    Hooks(String),
}

/// What the supervision routes share: the warehouse (opened on demand), the clue book and
/// the notice board.
pub struct Supervision {
    warehouse: Warehouse,
    truth: Option<PathBuf>,
    clues: Arc<ClueBook>,
    notices: RwLock<NoticeBoard>,
    loaded: tokio::sync::Mutex<Option<Arc<Loaded>>>,
    limits: QueryLimits,
    /// Where regulators' own queries run: in worker processes when set, else in this one.
    sql_worker: Option<WorkerCommand>,
    /// Workers running at once at most; a query past that is answered 429.
    sql_slots: Arc<tokio::sync::Semaphore>,
    deployment: String,
    /// Set by [`crate::AppState::with_supervision`] from the server's time zone.
    offset_minutes: i32,
    /// The webhooks told of new findings, and the findings already sent.
    hooks: Option<Arc<FindingHooks>>,
}

impl std::fmt::Debug for Supervision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervision")
            .field("warehouse", &self.warehouse.root())
            .field("clues", &self.clues)
            .finish_non_exhaustive()
    }
}

/// The SQL console's limits: enough rows to read, and a time limit below the server's
/// request timeout, so the answer says the query was cancelled.
pub const DEFAULT_QUERY_LIMITS: QueryLimits = QueryLimits {
    max_rows: 1_000,
    timeout: std::time::Duration::from_secs(25),
};

impl Supervision {
    /// Opens the clue book and the notices at `paths` (creating them when missing). The
    /// warehouse is opened on first use, so a server can start before the first
    /// `drugtrace analytics run`.
    pub fn open(paths: &SupervisionPaths) -> Result<Supervision, SupervisionError> {
        let (clues, report) = ClueBook::open(&paths.clues)?;
        if let Some(torn) = &report.torn_tail {
            tracing::warn!(?torn, "the clue book's last line was cut short and dropped");
        }
        let (notices, torn) = NoticeBoard::open(&paths.notices)?;
        if let Some(line) = torn {
            tracing::warn!(line, "the notices' last line was cut short and dropped");
        }
        let hooks = FindingHooks::in_file(&paths.finding_hooks).map_err(SupervisionError::Hooks)?;
        Ok(Supervision::with(paths, clues, notices).with_finding_hooks(hooks))
    }

    /// The same, with the finding webhooks (and the findings already sent) of `hooks`: a
    /// database's journal, for servers sharing one.
    pub fn with_finding_hooks(mut self, hooks: FindingHooks) -> Supervision {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// Opens the clue book and the notices kept in journals shared with other servers
    /// (`clues`, `notices`); the warehouse and the settlements are still at `paths`.
    pub fn open_shared(
        paths: &SupervisionPaths,
        clues: Arc<dyn drugtrace_durable::SharedJournal>,
        notices: Arc<dyn drugtrace_durable::SharedJournal>,
    ) -> Result<Supervision, SupervisionError> {
        let clock: drugtrace_clues::Clock =
            Box::new(|| drugtrace_ledger::Timestamp::now().millis());
        let (clues, _) = ClueBook::open_shared(clues, "the shared clue journal", clock)?;
        let notices = NoticeBoard::open_shared(notices, "the shared notice journal")?;
        Ok(Supervision::with(paths, clues, notices))
    }

    fn with(paths: &SupervisionPaths, clues: ClueBook, notices: NoticeBoard) -> Supervision {
        Supervision {
            warehouse: Warehouse::new(&paths.warehouse).with_settlements(&paths.settlements),
            truth: paths.truth.clone(),
            clues: Arc::new(clues),
            notices: RwLock::new(notices),
            loaded: tokio::sync::Mutex::new(None),
            limits: DEFAULT_QUERY_LIMITS,
            sql_worker: None,
            sql_slots: Arc::new(tokio::sync::Semaphore::new(SQL_WORKERS)),
            deployment: String::new(),
            offset_minutes: 480,
            hooks: None,
        }
    }

    /// The same, with other limits for ad-hoc SQL (`/v1/sql`, the console).
    pub fn with_query_limits(mut self, limits: QueryLimits) -> Supervision {
        self.limits = limits;
        self
    }

    /// The same, with regulators' own queries run in worker processes started by `command`
    /// (see [`drugtrace_analytics::worker`]): a query that overflows its stack, allocates
    /// past the worker's memory or computes past its time limit then stops its worker only,
    /// never this server. Without it they run in this process.
    pub fn with_sql_worker(mut self, command: WorkerCommand) -> Supervision {
        self.sql_worker = Some(command);
        self
    }

    /// The same, with the deployment's name in the dashboard's header (`福建省医疗保障局`).
    pub fn with_deployment(mut self, name: impl Into<String>) -> Supervision {
        self.deployment = name.into();
        self
    }

    pub(crate) fn set_offset_minutes(&mut self, offset: i32) {
        self.offset_minutes = offset;
    }

    /// The warehouse as it is now, opened again if its files changed since last time.
    pub(crate) async fn ready(&self) -> Result<Arc<Loaded>, ApiError> {
        let stamp = Stamp::of(&self.warehouse);
        let mut loaded = self.loaded.lock().await;
        if let Some(l) = loaded.as_ref()
            && l.stamp == stamp
        {
            return Ok(Arc::clone(l));
        }
        *loaded = None;
        let fresh = Arc::new(self.load(stamp).await?);
        *loaded = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    /// Opens the warehouse again, whether or not its files changed.
    pub(crate) async fn reopen(&self) -> Result<Arc<Loaded>, ApiError> {
        let mut loaded = self.loaded.lock().await;
        *loaded = None;
        let fresh = Arc::new(self.load(Stamp::of(&self.warehouse)).await?);
        *loaded = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    async fn load(&self, stamp: Stamp) -> Result<Loaded, ApiError> {
        if !self.warehouse.exists() {
            return Err(not_ready(
                "no_warehouse",
                "there is no analytics warehouse yet: run `drugtrace analytics run`",
            ));
        }
        if stamp.findings.is_none() {
            return Err(not_ready(
                "no_findings",
                "the anomaly models have not run yet: run `drugtrace analytics run`",
            ));
        }
        let analytics = Analytics::open(&self.warehouse)
            .await
            .map_err(own_query_error)?;
        Ok(Loaded {
            analytics,
            stamp,
            offset_minutes: self.offset_minutes,
            reports: Mutex::new(HashMap::new()),
            findings: OnceCell::new(),
            evaluation: OnceCell::new(),
            packs: OnceCell::new(),
        })
    }

    /// The finding webhooks, when kept.
    pub(crate) fn hooks(&self) -> Option<&Arc<FindingHooks>> {
        self.hooks.as_ref()
    }

    /// The clue book.
    pub(crate) fn clues(&self) -> &Arc<ClueBook> {
        &self.clues
    }

    /// The published notices.
    pub(crate) fn notices(&self) -> &RwLock<NoticeBoard> {
        &self.notices
    }

    /// The latest published notice `code` (a pack key as the warehouse writes it) is on.
    pub(crate) fn notice_for(&self, code: &str) -> Option<NoticeRef> {
        let board = self.notices.read();
        let (notice, entry) = board.find(code)?;
        Some(NoticeRef {
            id: notice.id,
            title: notice.title.clone(),
            published_at_ms: notice.published_at_ms,
            times_sold: entry.times_sold,
        })
    }

    /// The deployment's name.
    pub(crate) fn deployment(&self) -> &str {
        &self.deployment
    }
}

/// A notice a code is on, as the patient's query shows it.
pub(crate) struct NoticeRef {
    pub id: u32,
    pub title: String,
    pub published_at_ms: i64,
    pub times_sold: i64,
}

/// The size and modification time of the files that change when the warehouse does, and
/// of the settlements directory (a new part renamed into it changes its time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    export: Option<(u64, SystemTime)>,
    findings: Option<(u64, SystemTime)>,
    settlements: Option<(u64, SystemTime)>,
}

impl Stamp {
    fn of(w: &Warehouse) -> Stamp {
        let stat = |p: &Path, dir: bool| {
            std::fs::metadata(p)
                .ok()
                .filter(|m| if dir { m.is_dir() } else { m.is_file() })
                .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
        };
        Stamp {
            export: stat(&w.institutions_path(), false),
            findings: stat(&w.findings_path(), false),
            settlements: w.settlements_dir().and_then(|d| stat(d, true)),
        }
    }
}

/// Each model's precision and recall against a truth file, by model name.
pub(crate) type Measures = BTreeMap<String, (Option<f64>, Option<f64>)>;

/// The warehouse opened once, with what has been computed from it.
pub(crate) struct Loaded {
    pub(crate) analytics: Analytics,
    stamp: Stamp,
    offset_minutes: i32,
    reports: Mutex<HashMap<&'static str, Arc<Table>>>,
    findings: OnceCell<Arc<Findings>>,
    evaluation: OnceCell<Arc<Measures>>,
    packs: OnceCell<u64>,
}

impl Loaded {
    /// When the models last ran (the findings file's time).
    pub(crate) fn findings_time(&self) -> Option<SystemTime> {
        self.stamp.findings.map(|(_, t)| t)
    }

    /// A report by name, computed once per opening.
    pub(crate) async fn report(&self, name: &str) -> Result<Arc<Table>, ApiError> {
        let report = drugtrace_analytics::report(name).ok_or_else(|| {
            let names: Vec<_> = drugtrace_analytics::REPORTS
                .iter()
                .map(|r| r.name)
                .collect();
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_report",
                format!("no report {name:?}; the reports are {}", names.join(", ")),
            )
        })?;
        if let Some(t) = self.reports.lock().get(report.name) {
            return Ok(Arc::clone(t));
        }
        let table = Arc::new(
            self.analytics
                .report(report)
                .await
                .map_err(own_query_error)?,
        );
        self.reports.lock().insert(report.name, Arc::clone(&table));
        Ok(table)
    }

    /// Every finding, read once per opening.
    pub(crate) async fn findings(&self) -> Result<Arc<Findings>, ApiError> {
        self.findings
            .get_or_try_init(|| async {
                let table = self
                    .analytics
                    .table(
                        "SELECT model, version, severity, code, institution, related_institution, \
                         person, product, CAST(at AS BIGINT) AS at_ms, amount_fen, evidence, detail \
                         FROM findings",
                    )
                    .await
                    .map_err(own_query_error)?;
                Findings::from_table(&table, self.offset_minutes)
                    .map(Arc::new)
                    .map_err(ApiError::internal)
            })
            .await
            .cloned()
    }

    /// Distinct codes in the events table.
    pub(crate) async fn packs(&self) -> Result<u64, ApiError> {
        self.packs
            .get_or_try_init(|| async {
                let t = self
                    .analytics
                    .table("SELECT COUNT(DISTINCT code) AS packs FROM events")
                    .await
                    .map_err(own_query_error)?;
                Ok(t.rows
                    .first()
                    .and_then(|r| r.first())
                    .map_or(0, |v| v.int().max(0) as u64))
            })
            .await
            .copied()
    }

    /// Each model's precision and recall against the configured truth file (none without one).
    pub(crate) async fn evaluation(&self, truth: Option<&Path>) -> Result<Arc<Measures>, ApiError> {
        self.evaluation
            .get_or_try_init(|| async {
                let mut out = BTreeMap::new();
                let Some(path) = truth else {
                    return Ok(Arc::new(out));
                };
                let cases = match drugtrace_analytics::read_truth(path) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "the truth file is not readable; no precision or recall shown");
                        return Ok(Arc::new(out));
                    }
                };
                let rows = drugtrace_analytics::evaluate(&self.analytics, &cases)
                    .await
                    .map_err(own_query_error)?;
                for e in rows {
                    out.insert(e.model, (e.precision, e.recall));
                }
                Ok(Arc::new(out))
            })
            .await
            .cloned()
    }

    /// Runs one of this module's own queries with its parameters (`$1`, `$2`, …) bound as
    /// values, never pasted into the text.
    pub(crate) async fn table_with(
        &self,
        sql: &str,
        params: Vec<ScalarValue>,
    ) -> Result<Table, ApiError> {
        let run = async {
            let frame = self.analytics.context().sql(sql).await?;
            let frame = frame.with_param_values(params)?;
            frame.collect().await
        };
        let batches = run.await.map_err(|e| own_query_error(e.into()))?;
        Table::from_batches(&batches).map_err(own_query_error)
    }
}

/// The runtime regulators' own queries run on, apart from the server's: a query that
/// computes for long without yielding (DataFusion cannot interrupt, say, a large cross join
/// between two batches) then holds one of its threads, never one that answers the gate or
/// the patients. Kept in a static: a runtime must not be dropped inside another.
fn sql_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("drugtrace-sql")
            .enable_all()
            .build()
            .expect("a runtime for ad-hoc SQL starts")
    })
}

/// Runs a regulator's read-only query with the limits of `sup` on the SQL runtime. Past the
/// time limit the answer is a 408 whether or not the engine noticed; the query is cancelled
/// at its next chance.
pub(crate) async fn user_query(
    sup: &Supervision,
    loaded: &Arc<Loaded>,
    sql: &str,
) -> Result<drugtrace_analytics::QueryResult, ApiError> {
    let limits = sup.limits;
    if let Some(command) = &sup.sql_worker {
        let Ok(_slot) = sup.sql_slots.clone().try_acquire_owned() else {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "sql_busy",
                format!(
                    "{SQL_WORKERS} queries are running already; try again when one has finished"
                ),
            ));
        };
        return worker::run(command, &sup.warehouse, sql, limits)
            .await
            .map_err(worker_error);
    }
    let loaded = Arc::clone(loaded);
    let sql = sql.to_owned();
    let mut task = sql_runtime().spawn(async move { loaded.analytics.query(&sql, limits).await });
    match tokio::time::timeout(limits.timeout, &mut task).await {
        Ok(done) => done.map_err(ApiError::internal)?.map_err(user_query_error),
        Err(_) => {
            task.abort();
            Err(user_query_error(AnalyticsError::Timeout(limits.timeout)))
        }
    }
}

/// One finding, as the pages and the ranking use it.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub model: String,
    pub severity: Severity,
    /// Empty for findings about an institution rather than a pack.
    pub code: String,
    pub institution: String,
    pub product: Option<String>,
    /// When the offending event happened, ms since the epoch (UTC).
    pub at_ms: Option<i64>,
    pub amount_fen: Fen,
    /// The `seq`s of the pack's events the finding rests on.
    pub evidence: Vec<u32>,
    pub detail: String,
}

/// Every finding, indexed by institution and by code.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub rows: Vec<Finding>,
    by_institution: HashMap<String, Vec<usize>>,
    by_code: HashMap<String, Vec<usize>>,
}

/// A row of the findings table whose severity is none of the three: the models' runner
/// writes only those, so the file was written by something else (or is damaged), and its
/// findings are not shown rather than shown at a severity nobody gave them.
#[derive(Debug, thiserror::Error)]
#[error(
    "the findings table has a finding of model {model} with severity {value:?}, not high, medium or low"
)]
pub(crate) struct UnknownSeverity {
    model: String,
    value: String,
}

impl Findings {
    fn from_table(t: &Table, offset_minutes: i32) -> Result<Findings, UnknownSeverity> {
        let offset_ms = i64::from(offset_minutes) * 60_000;
        let mut f = Findings::default();
        for r in t.records() {
            let text = |c: &str| r.text(c);
            let opt = |c: &str| Some(r.text(c)).filter(|s| !s.is_empty());
            let severity = text("severity");
            let finding = Finding {
                severity: Severity::parse(&severity).ok_or_else(|| UnknownSeverity {
                    model: text("model"),
                    value: severity,
                })?,
                model: text("model"),
                code: text("code"),
                institution: text("institution"),
                product: opt("product"),
                at_ms: (!r.get("at_ms").is_null()).then(|| r.int("at_ms") - offset_ms),
                amount_fen: Fen::new(r.int("amount_fen")),
                evidence: r
                    .list("evidence")
                    .iter()
                    .filter_map(|v| match v {
                        Value::Int(seq) => u32::try_from(*seq).ok(),
                        _ => None,
                    })
                    .collect(),
                detail: text("detail"),
            };
            let i = f.rows.len();
            f.by_institution
                .entry(finding.institution.clone())
                .or_default()
                .push(i);
            if !finding.code.is_empty() {
                f.by_code.entry(finding.code.clone()).or_default().push(i);
            }
            f.rows.push(finding);
        }
        Ok(f)
    }

    /// The findings against `institution`.
    pub(crate) fn of_institution(&self, institution: &str) -> impl Iterator<Item = &Finding> {
        self.by_institution
            .get(institution)
            .into_iter()
            .flatten()
            .map(|&i| &self.rows[i])
    }

    /// The findings on pack `code` (as the warehouse writes it).
    pub(crate) fn of_code(&self, code: &str) -> impl Iterator<Item = &Finding> {
        self.by_code
            .get(code)
            .into_iter()
            .flatten()
            .map(|&i| &self.rows[i])
    }

    /// The findings as the ranking takes them.
    pub(crate) fn for_ranking(&self) -> Vec<drugtrace_clues::FindingRow> {
        self.rows
            .iter()
            .map(|f| drugtrace_clues::FindingRow {
                model: f.model.clone(),
                severity: f.severity,
                code: f.code.clone(),
                institution: f.institution.clone(),
                product: f.product.clone(),
                at_ms: f.at_ms.unwrap_or(0),
                amount_fen: f.amount_fen,
            })
            .collect()
    }
}

/// A 503: supervision cannot answer until the analytics have run.
pub(crate) fn not_ready(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
}

/// An error of one of the server's own queries: the warehouse missing is a 503, anything
/// else a bug or a broken file (a 500, logged).
pub(crate) fn own_query_error(e: AnalyticsError) -> ApiError {
    match e {
        AnalyticsError::NoWarehouse(_) => not_ready(
            "no_warehouse",
            "there is no analytics warehouse yet: run `drugtrace analytics run`",
        ),
        AnalyticsError::NoFindings => not_ready(
            "no_findings",
            "the anomaly models have not run yet: run `drugtrace analytics run`",
        ),
        e => ApiError::internal(e),
    }
}

/// An error of a regulator's own query: their mistakes are 400s, a cancelled query a 408.
/// Regulators' queries running in workers at once, at most.
const SQL_WORKERS: usize = 2;

fn worker_error(e: WorkerError) -> ApiError {
    match e {
        WorkerError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m),
        e @ WorkerError::Timeout(_) => {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "query_timeout", e.to_string())
        }
        e @ WorkerError::Crashed(..) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "query_stopped",
            e.to_string(),
        ),
        e => ApiError::internal(e),
    }
}

pub(crate) fn user_query_error(e: AnalyticsError) -> ApiError {
    match e {
        AnalyticsError::Query(e) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string())
        }
        AnalyticsError::Timeout(limit) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "query_timeout",
            format!(
                "the query ran longer than {} s and was cancelled",
                limit.as_secs_f64()
            ),
        ),
        e => own_query_error(e),
    }
}

impl<S> AppState<S> {
    /// The supervision part of the state, or the 503 that says it is not set up.
    pub(crate) fn supervision(&self) -> Result<&Arc<Supervision>, ApiError> {
        self.inner.supervision.as_ref().ok_or_else(|| {
            not_ready(
                "supervision_not_configured",
                "supervision is not set up on this server: run `drugtrace analytics run` on its \
                 data directory, then serve it again",
            )
        })
    }
}

/// The supervision routes: the regulator's JSON API under `/v1`, the dashboard under
/// `/dashboard`.
pub(crate) fn routes<S: Store + Sync + 'static>() -> Router<AppState<S>> {
    Router::new()
        .route("/v1/findings", get(api::findings::<S>))
        .route(
            "/v1/findings/subscriptions",
            get(hooks::list::<S>).post(hooks::subscribe::<S>),
        )
        .route(
            "/v1/findings/subscriptions/{id}",
            axum::routing::delete(hooks::unsubscribe::<S>),
        )
        .route("/v1/reports/{name}", get(api::report::<S>))
        .route("/v1/sql", post(api::sql::<S>))
        .route("/v1/clues", get(api::clues::<S>))
        .route("/v1/clues/batches", post(api::issue::<S>))
        .route("/v1/clues/{id}", get(api::clue::<S>))
        .route("/v1/clues/{id}/transition", post(api::transition::<S>))
        .route(
            "/v1/notices",
            get(api::notices::<S>).post(api::publish::<S>),
        )
        .route("/v1/analytics/refresh", post(api::refresh::<S>))
        .route("/dashboard", get(view::to_dashboard))
        .route(
            "/dashboard/login",
            get(auth::login_page).post(auth::login::<S>),
        )
        .route("/dashboard/logout", post(auth::logout))
        .route("/dashboard/live.js", get(live::script))
        .merge(dashboard_pages())
}

/// The dashboard's pages and forms, for a signed-in regulator (each takes a
/// [`pages::Page`]); their errors are error pages in the request's language.
fn dashboard_pages<S: Store + Sync + 'static>() -> Router<AppState<S>> {
    use pages::{clues, dossier, institution, models, notices, overview, pack, sql};
    Router::new()
        .route("/dashboard/", get(overview::overview::<S>))
        .route("/dashboard/clues", get(clues::clue_list::<S>))
        .route("/dashboard/clues.csv", get(clues::clues_csv::<S>))
        .route("/dashboard/clues.parquet", get(clues::clues_parquet::<S>))
        .route("/dashboard/clues/batches", post(clues::issue::<S>))
        .route("/dashboard/clues/{id}", get(clues::clue_detail::<S>))
        .route("/dashboard/clues/{id}/dossier", get(dossier::dossier::<S>))
        .route(
            "/dashboard/clues/{id}/transition",
            post(clues::transition::<S>),
        )
        .route(
            "/dashboard/institutions/{code}",
            get(institution::institution::<S>),
        )
        .route("/dashboard/packs/{code}", get(pack::pack::<S>))
        .route("/dashboard/models", get(models::models::<S>))
        .route(
            "/dashboard/sql",
            get(sql::sql_form::<S>).post(sql::sql_run::<S>),
        )
        .route(
            "/dashboard/notices",
            get(notices::notices::<S>).post(notices::publish::<S>),
        )
        .route("/dashboard/recalls", post(notices::record_recall::<S>))
        .route("/dashboard/live/interceptions", get(live::stream::<S>))
        .route_layer(axum::middleware::from_fn(pages::error_pages))
}

/// Whether `code` may name an institution in a URL: ASCII letters and digits only, at most
/// 64. Only such codes reach a query (as a bound parameter all the same).
pub(crate) fn valid_institution(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Runs a blocking write of the clue book or the notices on tokio's blocking pool (they
/// fsync before they return).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

#[cfg(test)]
mod tests {

    use super::*;

    /// A findings table of one finding of model `m1` with severity `severity`.
    fn one_finding(severity: &str) -> Table {
        let text = |s: &str| Value::Text(s.to_owned());
        Table {
            columns: ["model", "severity", "code", "institution", "amount_fen"]
                .map(String::from)
                .to_vec(),
            rows: vec![vec![
                text("m1"),
                text(severity),
                text("c1"),
                text("P1"),
                Value::Int(1850),
            ]],
        }
    }

    #[test]
    fn a_finding_keeps_its_severity() {
        let f = Findings::from_table(&one_finding("medium"), 0).unwrap();
        assert_eq!(f.rows[0].severity, Severity::Medium);
        assert_eq!(f.for_ranking()[0].severity, Severity::Medium);
    }

    #[test]
    fn an_unknown_severity_in_the_findings_table_is_an_error_naming_it() {
        let e = Findings::from_table(&one_finding("critical"), 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the findings table has a finding of model m1 with severity \"critical\", \
             not high, medium or low"
        );
    }
}
