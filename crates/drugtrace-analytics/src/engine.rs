//! The query engine: DataFusion over the warehouse's Parquet files, running the models and
//! the regulators' own read-only queries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, ArrayRef, Int32Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::ParquetReadOptions;
use drugtrace_clues::Severity;
use futures::StreamExt;

use crate::AnalyticsError;
use crate::delta::Coverage;
use crate::export::{Warehouse, io_at, read_json, write_json_atomically, write_parquet_atomically};
use crate::model::{Model, Reads, models};
use crate::reports::Kind;
use crate::schema::{MODEL_COLUMNS, findings_schema};

/// The table a findings file of the version before evidence lists is registered as, under
/// the `findings` view that reads it.
const LEGACY_FINDINGS: &str = "findings_with_text_evidence";

/// The export's events, under the `events` view of a warehouse updated since.
const EXPORTED_EVENTS: &str = "exported_events";
/// The events of the packs changed since the export (see [`crate::update`]).
const CHANGED_EVENTS: &str = "changed_events";

/// Limits on a regulator's ad-hoc query.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Rows returned at most; more are cut off and the result says so.
    pub max_rows: usize,
    /// Wall time allowed; the query is cancelled past it.
    pub timeout: Duration,
}

impl Default for QueryLimits {
    fn default() -> QueryLimits {
        QueryLimits {
            max_rows: 10_000,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The result of an ad-hoc query, as text cells.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each cell rendered as text (`NULL` → `None`).
    pub rows: Vec<Vec<Option<String>>>,
    /// Whether rows past [`QueryLimits::max_rows`] were cut off.
    pub truncated: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// What one model found in one run.
#[derive(Debug, Clone)]
pub struct ModelRun {
    /// The model's name.
    pub model: String,
    /// Its version.
    pub version: i32,
    /// Findings.
    pub findings: usize,
    /// Wall time of its query.
    pub elapsed: Duration,
}

/// Every model's run, with their findings written to the warehouse.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Per model, in the models' order.
    pub models: Vec<ModelRun>,
    /// Wall time of all models together.
    pub elapsed: Duration,
    /// Whether the models that read one pack at a time read only the packs changed since
    /// the export ([`Analytics::run_changed`]).
    pub changed_only: bool,
}

impl RunSummary {
    /// Findings of all models.
    pub fn findings(&self) -> usize {
        self.models.iter().map(|m| m.findings).sum()
    }
}

/// The memory the engine's operators may hold at once: `DRUGTRACE_ANALYTICS_MEMORY_MB` if
/// set, else half of the machine's memory (4 GiB where that is unknown). Sorts and
/// aggregations past it spill to temporary files; an operator that cannot spill fails the
/// query with "Resources exhausted" instead of taking the process (and the server's gate
/// with it) down.
pub fn memory_limit() -> Result<usize, AnalyticsError> {
    const MB: usize = 1 << 20;
    if let Ok(v) = std::env::var("DRUGTRACE_ANALYTICS_MEMORY_MB") {
        return match v.trim().parse::<usize>() {
            Ok(mb) if mb > 0 => Ok(mb.saturating_mul(MB)),
            _ => Err(AnalyticsError::MemoryLimit(v)),
        };
    }
    Ok(std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map_or(4096 * MB, |kb| kb * 1024 / 2))
}

/// The views every session has, over the tables above: rules that more than one report
/// (or a regulator's own query) uses, written once. Each file is one `CREATE VIEW`.
const VIEWS: &[&str] = &[
    include_str!("../views/uploaded_items.sql"),
    include_str!("../views/counted_sale_attempts.sql"),
    include_str!("../views/gated_events.sql"),
];

/// DataFusion over one warehouse.
pub struct Analytics {
    pub(crate) ctx: SessionContext,
    warehouse: Warehouse,
}

impl Analytics {
    /// Opens the warehouse at `warehouse` (written by [`crate::export`]); its tables are
    /// `events`, `institutions`, `products`, `settlements` (empty unless imported) and,
    /// after a model run, `findings`; and the [`VIEWS`] over them (`uploaded_items`,
    /// `counted_sale_attempts`, `gated_events`).
    pub async fn open(warehouse: &Warehouse) -> Result<Analytics, AnalyticsError> {
        Self::open_with_pool(warehouse, None).await
    }

    /// The same, with a memory pool of `pool_bytes` instead of [`memory_limit`]'s.
    pub async fn open_with_pool(
        warehouse: &Warehouse,
        pool_bytes: Option<usize>,
    ) -> Result<Analytics, AnalyticsError> {
        crate::export::recover_swap(warehouse.root())?;
        if !warehouse.exists() {
            return Err(AnalyticsError::NoWarehouse(warehouse.root().to_path_buf()));
        }
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(match pool_bytes {
                Some(b) => b,
                None => memory_limit()?,
            })))
            .build_arc()?;
        let ctx = session(warehouse, runtime, Scope::All).await?;
        let analytics = Analytics {
            ctx,
            warehouse: warehouse.clone(),
        };
        let with_findings = warehouse.findings_path().is_file();
        if with_findings {
            analytics.register_findings().await?;
        }
        analytics.check_reports(with_findings).await?;
        Ok(analytics)
    }

    /// Registers `findings.parquet` as the `findings` table, its columns checked against
    /// the findings table's ([`findings_schema`]). A file of the version before findings'
    /// evidence became a list (comma-separated text) is read through a view that splits it,
    /// until the next model run writes the list.
    async fn register_findings(&self) -> Result<(), AnalyticsError> {
        let _ = self.ctx.deregister_table("findings")?;
        let _ = self.ctx.deregister_table(LEGACY_FINDINGS)?;
        let path = path_str(&self.warehouse.findings_path())?.to_owned();
        self.ctx
            .register_parquet("findings", &path, ParquetReadOptions::default())
            .await?;
        let file = self.findings_columns().await?;
        let evidence_is_text = file
            .field_with_name("evidence")
            .is_ok_and(|f| Kind::of(f.data_type()) == Kind::Text);
        if evidence_is_text {
            let _ = self.ctx.deregister_table("findings")?;
            self.ctx
                .register_parquet(LEGACY_FINDINGS, &path, ParquetReadOptions::default())
                .await?;
            // The file's own columns only: one it lacks is named by the check below.
            let columns: Vec<String> = findings_schema()
                .fields()
                .iter()
                .filter(|f| file.field_with_name(f.name()).is_ok())
                .map(|f| match f.name().as_str() {
                    "evidence" => "CASE WHEN trim(evidence) = '' THEN NULL ELSE \
                         CAST(string_to_array(evidence, ',') AS INT UNSIGNED[]) END AS evidence"
                        .to_owned(),
                    "at" => "\"at\"".to_owned(),
                    name => name.to_owned(),
                })
                .collect();
            self.ctx
                .sql(&format!(
                    "CREATE VIEW findings AS SELECT {} FROM {LEGACY_FINDINGS}",
                    columns.join(", ")
                ))
                .await?;
        }
        let read = self.findings_columns().await?;
        for field in findings_schema().fields() {
            let expected = Kind::of(field.data_type());
            let found = read
                .field_with_name(field.name())
                .ok()
                .map(|f| Kind::of(f.data_type()));
            if found != Some(expected) {
                return Err(AnalyticsError::FindingsSchema {
                    column: field.name().clone(),
                    expected,
                    found,
                });
            }
        }
        Ok(())
    }

    /// The columns of the `findings` table as registered.
    async fn findings_columns(
        &self,
    ) -> Result<datafusion::arrow::datatypes::Schema, AnalyticsError> {
        Ok(self
            .ctx
            .table("findings")
            .await?
            .schema()
            .as_arrow()
            .clone())
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    /// The DataFusion session, for callers that build their own plans.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs one model; its findings come back in the `findings` table's schema.
    pub async fn run_model(&self, model: &Model) -> Result<Vec<RecordBatch>, AnalyticsError> {
        run_model_in(&self.ctx, model).await
    }

    /// Runs every model, writes all findings to the warehouse's `findings.parquet` (replacing
    /// the last run's) and registers the `findings` table. `progress` hears of each model as
    /// it finishes.
    pub async fn run_all(
        &self,
        progress: &mut (dyn FnMut(&ModelRun) + Send),
    ) -> Result<RunSummary, AnalyticsError> {
        self.run_models(None, self.basis()?, progress).await
    }

    /// Runs every model as [`Analytics::run_all`] does, except that after an update
    /// ([`crate::update`]) the models that read one pack at a time ([`Reads::Pack`]) run
    /// over the changed packs only: their findings about the other packs are kept from the
    /// last run. That is only when the last run was on the same export, with the same models
    /// and the same institutions and products (`findings.json` says); else every model
    /// reads everything.
    pub async fn run_changed(
        &self,
        progress: &mut (dyn FnMut(&ModelRun) + Send),
    ) -> Result<RunSummary, AnalyticsError> {
        let basis = self.basis()?;
        let ready = basis.is_some()
            && Basis::read(&self.warehouse.basis_path()) == basis
            && self.warehouse.delta_path().is_file()
            && self.warehouse.findings_path().is_file();
        if !ready {
            return self.run_all(progress).await;
        }
        let changed = session(&self.warehouse, self.ctx.runtime_env(), Scope::Changed).await?;
        self.run_models(Some(&changed), basis, progress).await
    }

    /// Every model's run; with `changed` (a session over the changed packs), the per-pack
    /// models run there and keep the last run's findings about the other packs. The
    /// findings are noted as resting on `basis`.
    async fn run_models(
        &self,
        changed: Option<&SessionContext>,
        basis: Option<Basis>,
        progress: &mut (dyn FnMut(&ModelRun) + Send),
    ) -> Result<RunSummary, AnalyticsError> {
        let started = Instant::now();
        let schema = findings_schema();
        let mut all = Vec::new();
        let mut runs = Vec::new();
        for model in models() {
            let t = Instant::now();
            let batches = match (model.reads, changed) {
                (Reads::Pack, Some(changed)) => {
                    // The model's findings about packs the update did not read again, then
                    // what it finds in those it did.
                    let unchanged = self
                        .collect(&format!(
                            "SELECT * FROM findings AS f WHERE f.model = '{}' AND NOT EXISTS \
                             (SELECT 1 FROM {CHANGED_EVENTS} AS d WHERE d.code = f.code)",
                            model.name
                        ))
                        .await?;
                    let mut batches = unchanged
                        .into_iter()
                        .filter(|b| b.num_rows() > 0)
                        .map(|b| as_findings(&b, &schema))
                        .collect::<Result<Vec<_>, _>>()?;
                    batches.extend(run_model_in(changed, model).await?);
                    batches
                }
                _ => self.run_model(model).await?,
            };
            let run = ModelRun {
                model: model.name.clone(),
                version: model.version,
                findings: batches.iter().map(RecordBatch::num_rows).sum(),
                elapsed: t.elapsed(),
            };
            progress(&run);
            runs.push(run);
            all.extend(batches);
        }
        self.keep_findings(&all, basis).await?;
        Ok(RunSummary {
            models: runs,
            elapsed: started.elapsed(),
            changed_only: changed.is_some(),
        })
    }

    /// What findings computed now rest on, `None` for a warehouse without coverage (an
    /// export of an older drugtrace): its findings are never kept across runs.
    fn basis(&self) -> Result<Option<Basis>, AnalyticsError> {
        let Some(coverage) = Coverage::read(&self.warehouse.coverage_path()) else {
            return Ok(None);
        };
        let mut dimensions = Fnv::default();
        for path in [
            self.warehouse.institutions_path(),
            self.warehouse.products_path(),
        ] {
            dimensions.write(&std::fs::read(&path).map_err(io_at(&path))?);
        }
        Ok(Some(Basis {
            export: coverage.export,
            models: models()
                .iter()
                .map(|m| (m.name.clone(), m.version))
                .collect(),
            dimensions: dimensions.0,
        }))
    }

    /// Writes `all` as the findings and registers them, noting what they rest on.
    async fn keep_findings(
        &self,
        all: &[RecordBatch],
        basis: Option<Basis>,
    ) -> Result<(), AnalyticsError> {
        {
            // Not while an export swaps the warehouse this file goes into.
            let root = self.warehouse.root();
            let _turn = drugtrace_durable::take_turn(root).map_err(io_at(root))?;
            // The old basis goes first: a crash between the two files leaves findings that no
            // run keeps.
            let basis_path = self.warehouse.basis_path();
            match std::fs::remove_file(&basis_path) {
                Ok(()) => drugtrace_durable::sync_dir(root).map_err(io_at(root))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_at(&basis_path)(e)),
            }
            write_parquet_atomically(&self.warehouse.findings_path(), findings_schema(), all)?;
            if let Some(basis) = basis {
                basis.write(&basis_path)?;
            }
        }
        self.register_findings().await
    }

    /// Runs a query and collects its batches, with no limits: for the crate's own queries
    /// (reports, the dashboard), never for a user's text.
    pub async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>, AnalyticsError> {
        Ok(self.ctx.sql(sql).await?.collect().await?)
    }

    /// Runs a regulator's query: reads only (no DDL, no DML, no `SET`), at most
    /// `limits.max_rows` rows, cancelled after `limits.timeout`.
    pub async fn query(
        &self,
        sql: &str,
        limits: QueryLimits,
    ) -> Result<QueryResult, AnalyticsError> {
        let started = Instant::now();
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let work = async {
            let frame = self.ctx.sql_with_options(sql, options).await?;
            let frame = frame.limit(0, Some(limits.max_rows + 1))?;
            let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
            let mut stream = frame.execute_stream().await?;
            let mut batches = Vec::new();
            let mut rows = 0;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows();
                batches.push(batch);
                if rows > limits.max_rows {
                    break;
                }
            }
            Ok::<_, AnalyticsError>((schema, batches))
        };
        let (schema, batches) = tokio::time::timeout(limits.timeout, work)
            .await
            .map_err(|_| AnalyticsError::Timeout(limits.timeout))??;
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows = Vec::new();
        let options = FormatOptions::default();
        'outer: for batch in &batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()?;
            for i in 0..batch.num_rows() {
                if rows.len() == limits.max_rows {
                    break 'outer;
                }
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(c, f)| (!c.is_null(i)).then(|| f.value(i).to_string()))
                        .collect(),
                );
            }
        }
        let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
        Ok(QueryResult {
            columns,
            rows,
            truncated: total > limits.max_rows,
            elapsed: started.elapsed(),
        })
    }
}

/// Which packs' events a session's `events` table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every pack's, as the ledger holds them (the export's, and the delta's where the
    /// warehouse was updated).
    All,
    /// Only the packs changed since the export: the delta's.
    Changed,
}

/// A DataFusion session over `warehouse`'s tables and the [`VIEWS`], its `events` those of
/// `scope`, on `runtime` (sessions of one engine share its memory pool).
async fn session(
    warehouse: &Warehouse,
    runtime: Arc<datafusion::execution::runtime_env::RuntimeEnv>,
    scope: Scope,
) -> Result<SessionContext, AnalyticsError> {
    // DataFusion's own settings may be changed through its `DATAFUSION_*` environment
    // variables (e.g. DATAFUSION_EXECUTION_TARGET_PARTITIONS).
    let mut config = SessionConfig::from_env()?
        .with_information_schema(true)
        .with_default_catalog_and_schema("drugtrace", "public");
    if std::env::var_os("DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS").is_none() {
        // Filters are applied while a Parquet page is decoded, so the columns of rows a
        // model does not want (most events are not sales) are never materialized.
        config.options_mut().execution.parquet.pushdown_filters = true;
        config.options_mut().execution.parquet.reorder_filters = true;
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    let opts = ParquetReadOptions::default();
    let events = warehouse.events_dir();
    let delta = warehouse.delta_path();
    if scope == Scope::Changed {
        ctx.register_parquet("events", path_str(&delta)?, opts.clone())
            .await?;
    } else if delta.is_file() {
        // Updated since the export: each pack as the delta holds it if it does, else as
        // the export does.
        ctx.register_parquet(EXPORTED_EVENTS, path_str(&events)?, opts.clone())
            .await?;
        ctx.register_parquet(CHANGED_EVENTS, path_str(&delta)?, opts.clone())
            .await?;
        ctx.sql(&format!(
            "CREATE VIEW events AS \
             SELECT * FROM {EXPORTED_EVENTS} AS e WHERE NOT EXISTS \
                 (SELECT 1 FROM {CHANGED_EVENTS} AS d WHERE d.code = e.code) \
             UNION ALL SELECT * FROM {CHANGED_EVENTS}"
        ))
        .await?;
    } else {
        ctx.register_parquet("events", path_str(&events)?, opts.clone())
            .await?;
    }
    ctx.register_parquet(
        "institutions",
        path_str(&warehouse.institutions_path())?,
        opts.clone(),
    )
    .await?;
    ctx.register_parquet(
        "products",
        path_str(&warehouse.products_path())?,
        opts.clone(),
    )
    .await?;
    // A warehouse exported before movements were kept has no such file: an empty table.
    if warehouse.movements_path().is_file() {
        ctx.register_parquet(
            "movements",
            path_str(&warehouse.movements_path())?,
            opts.clone(),
        )
        .await?;
    } else {
        ctx.register_batch(
            "movements",
            datafusion::arrow::record_batch::RecordBatch::new_empty(
                crate::schema::movements_schema(),
            ),
        )?;
    }
    crate::settlements::register(&ctx, warehouse).await?;
    for view in VIEWS {
        ctx.sql(view).await?;
    }
    Ok(ctx)
}

/// Runs `model` in `ctx`; its findings come back in the `findings` table's schema.
async fn run_model_in(
    ctx: &SessionContext,
    model: &Model,
) -> Result<Vec<RecordBatch>, AnalyticsError> {
    let model_err = |e: datafusion::error::DataFusionError| AnalyticsError::Model {
        model: model.name.clone(),
        source: Box::new(e),
    };
    let frame = ctx.sql(model.query()).await.map_err(model_err)?;
    let names: Vec<String> = frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    if names != MODEL_COLUMNS {
        return Err(AnalyticsError::ModelColumns {
            model: model.name.clone(),
            found: names,
        });
    }
    let batches = frame.collect().await.map_err(model_err)?;
    let schema = findings_schema();
    batches
        .iter()
        .filter(|b| b.num_rows() > 0)
        .map(|b| to_findings(model, b, &schema))
        .collect()
}

/// A batch read back from the findings table in the table's own types (DataFusion reads
/// text as string views).
fn as_findings(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, AnalyticsError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// What the findings in `findings.parquet` were computed on (`findings.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Basis {
    /// The export ([`Coverage`]).
    export: u64,
    /// Every model and its version.
    models: Vec<(String, i32)>,
    /// A fingerprint of the institutions and products tables' files.
    dimensions: u64,
}

impl Basis {
    fn read(path: &std::path::Path) -> Option<Basis> {
        read_json(path)
    }

    fn write(&self, path: &std::path::Path) -> Result<u64, AnalyticsError> {
        write_json_atomically(path, self, "the findings' basis")
    }
}

/// FNV-1a, 64 bits: a fingerprint stable across builds (std's hasher is not).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn path_str(p: &std::path::Path) -> Result<&str, AnalyticsError> {
    p.to_str()
        .ok_or_else(|| AnalyticsError::Internal(format!("path {} is not UTF-8", p.display())))
}

/// A model's output batch in the findings schema: `model` and `version` in front, every
/// column cast to the table's type, and each severity parsed (and written back by its
/// name), so whoever reads the findings table meets only `high`, `medium` and `low`.
fn to_findings(
    model: &Model,
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, AnalyticsError> {
    let n = batch.num_rows();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![model.name.as_str(); n])),
        Arc::new(Int32Array::from(vec![model.version; n])),
    ];
    for (i, field) in schema.fields().iter().enumerate().skip(2) {
        let given = batch.column(i - 2);
        // Text would cast to a list of one unparsed element, or to NULL: the events a
        // finding rests on are a list of seqs or nothing.
        if field.name() == "evidence"
            && !matches!(
                given.data_type(),
                DataType::List(_) | DataType::LargeList(_) | DataType::Null
            )
        {
            return Err(AnalyticsError::ModelEvidence {
                model: model.name.clone(),
                found: given.data_type().to_string(),
            });
        }
        let column = cast(given, field.data_type()).map_err(|e| AnalyticsError::Model {
            model: model.name.clone(),
            source: Box::new(e.into()),
        })?;
        columns.push(if field.name() == "severity" {
            severities(model, &column)?
        } else {
            column
        });
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// A model's severity column (already cast to text), each value parsed into the one
/// [`Severity`] and written by its name; a value that is none of the three is an error
/// naming the model and the value.
fn severities(model: &Model, column: &ArrayRef) -> Result<ArrayRef, AnalyticsError> {
    let text = column
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| {
            AnalyticsError::Internal(format!(
                "model {}: the severity column was cast to {}, not text",
                model.name,
                column.data_type()
            ))
        })?;
    let parsed = text
        .iter()
        .map(|value| {
            value
                .and_then(Severity::parse)
                .map(Severity::as_str)
                .ok_or_else(|| AnalyticsError::ModelSeverity {
                    model: model.name.clone(),
                    value: value.map(str::to_owned),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(StringArray::from(parsed)))
}
