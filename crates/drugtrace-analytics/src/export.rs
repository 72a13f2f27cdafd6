//! Writing the warehouse: the ledger's events, the institution directory and the catalog as
//! Parquet files that DataFusion, DuckDB and pandas read alike.
//!
//! The warehouse is rebuilt whole: the files are written into a fresh directory beside it,
//! which then replaces the old one by renames, so a reader never sees half an export and a
//! failed export leaves the last good one in place. Memory stays flat whatever the number of
//! events: rows are encoded a batch at a time on a second thread while the store is scanned.

use std::fs::{self, File};
use std::io::Seek;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayRef, Float64Builder, StringBuilder, UInt32Builder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use drugtrace_catalog::{Catalog, Directory};
use drugtrace_ledger::{Store, StoreError, Timestamp};

use crate::AnalyticsError;
use crate::schema::{
    EventRows, events_schema, institutions_schema, movements_batch, products_schema,
};

/// How the export lays out its files.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Local times are this many minutes east of UTC (China: 480).
    pub offset_minutes: i32,
    /// Rows per Parquet file of the events table (several files let queries use every core).
    pub rows_per_file: usize,
    /// Rows per record batch handed to the encoder.
    pub batch_rows: usize,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// The ledger's clock, which stamps each record (and so its change mark): an export
    /// notes when it began, an update what it reads up to.
    pub now: fn() -> Timestamp,
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        ExportOptions {
            offset_minutes: 480,
            rows_per_file: 4_000_000,
            batch_rows: 65_536,
            row_group_rows: 1_048_576,
            now: Timestamp::now,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// Events written.
    pub events: u64,
    /// Packs they belong to.
    pub packs: u64,
    /// Parquet files of the events table.
    pub event_files: usize,
    /// Bytes of all files written.
    pub bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// The warehouse directory's layout.
#[derive(Debug, Clone)]
pub struct Warehouse {
    root: PathBuf,
    settlements: Option<PathBuf>,
}

impl Warehouse {
    /// The warehouse at `root` (it need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Warehouse {
        Warehouse {
            root: root.into(),
            settlements: None,
        }
    }

    /// The same warehouse, with the settlement items imported into `dir` as its
    /// `settlements` table (see [`crate::import_settlements`]). `dir` must lie outside the
    /// warehouse, which an export replaces whole.
    pub fn with_settlements(mut self, dir: impl Into<PathBuf>) -> Warehouse {
        self.settlements = Some(dir.into());
        self
    }

    /// The directory of imported settlement items, if there is one.
    pub fn settlements_dir(&self) -> Option<&Path> {
        self.settlements.as_deref()
    }

    /// Its directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of the events table's files.
    pub fn events_dir(&self) -> PathBuf {
        self.root.join("events")
    }

    /// The institutions table.
    pub fn institutions_path(&self) -> PathBuf {
        self.root.join("institutions.parquet")
    }

    /// The products table.
    pub fn products_path(&self) -> PathBuf {
        self.root.join("products.parquet")
    }

    /// The `movements` table: stock movements reported without trace codes.
    pub fn movements_path(&self) -> PathBuf {
        self.root.join("movements.parquet")
    }

    /// The events of the packs changed since the export (see [`crate::update`]).
    pub fn delta_path(&self) -> PathBuf {
        self.root.join("delta.parquet")
    }

    /// When the export began, from which an update reads the ledger's changes.
    pub fn coverage_path(&self) -> PathBuf {
        self.root.join("coverage.json")
    }

    /// What the findings were computed on (see [`crate::Analytics::run_changed`]).
    pub fn basis_path(&self) -> PathBuf {
        self.root.join("findings.json")
    }

    /// The findings of the last model run.
    pub fn findings_path(&self) -> PathBuf {
        self.root.join("findings.parquet")
    }

    /// Whether an export has completed here.
    pub fn exists(&self) -> bool {
        self.events_dir().is_dir() && self.institutions_path().is_file()
    }
}

pub(crate) fn writer_properties(opts: &ExportOptions) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(opts.row_group_rows))
        .build()
}

pub(crate) fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> AnalyticsError + '_ {
    move |source| AnalyticsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the events of `store`, the `directory` and the `catalog` as a new warehouse at
/// `warehouse`, replacing the old one only once the new one is complete. `progress` is
/// called with the number of events written so far, about once per batch.
pub fn export<S: Store + ?Sized>(
    store: &S,
    catalog: &Catalog,
    directory: &Directory,
    warehouse: &Warehouse,
    opts: &ExportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, AnalyticsError> {
    let started = Instant::now();
    let started_at = (opts.now)();
    let root = warehouse.root();
    let parent = drugtrace_durable::parent(root);
    fs::create_dir_all(parent).map_err(io_at(parent))?;
    // One export at a time (a scheduled run inside `serve` and an `analytics export` by
    // hand): the staging directory has one name, and a second export would empty it under
    // the first, which would then swap in half a warehouse.
    let _turn = drugtrace_durable::take_turn(root).map_err(io_at(root))?;
    recover_swap(root)?;
    let fresh = Warehouse::new(drugtrace_durable::staging_dir(root));
    if fresh.root().exists() {
        fs::remove_dir_all(fresh.root()).map_err(io_at(fresh.root()))?;
    }
    fs::create_dir_all(fresh.events_dir()).map_err(io_at(fresh.root()))?;

    let props = writer_properties(opts);
    let (tx, rx) = mpsc::sync_channel::<RecordBatch>(4);
    let events_dir = fresh.events_dir();
    let rows_per_file = opts.rows_per_file.max(1);
    let writer_props = props.clone();
    let writer = std::thread::Builder::new()
        .name("parquet-writer".into())
        .spawn(move || write_event_files(rx, &events_dir, rows_per_file, writer_props))
        .map_err(io_at(root))?;

    let mut rows = EventRows::new(opts.offset_minutes);
    let (mut events, mut packs) = (0u64, 0u64);
    let mut send_failed = false;
    let batch_rows = opts.batch_rows.max(1);
    let scanned = store.scan_logs(&mut |key, log| {
        let code = key.to_string();
        let product = catalog
            .by_product_key(key.product_key())
            .map(|p| p.insurance_code().as_str());
        rows.push_log(&code, product, &log);
        packs += 1;
        events += log.len() as u64;
        if rows.len() >= batch_rows {
            let batch = rows
                .finish()
                .map_err(|e| StoreError::Backend(format!("building the events table: {e}")))?;
            if tx.send(batch).is_err() {
                send_failed = true;
                return Err(StoreError::Backend("the Parquet writer stopped".into()));
            }
            progress(events);
        }
        Ok(())
    });
    if scanned.is_ok() && !rows.is_empty() {
        let batch = rows.finish()?;
        let _ = tx.send(batch);
    }
    drop(tx);
    let written = writer
        .join()
        .map_err(|_| AnalyticsError::Internal("the Parquet writer panicked".into()))?;
    // The writer's own error explains a failed send better than the scan's.
    let (event_files, mut bytes) = match (written, scanned) {
        (Err(e), _) => return Err(e),
        (Ok(_), Err(e)) if !send_failed => return Err(e.into()),
        (Ok(w), _) => w,
    };
    progress(events);

    let [institutions, products, movements] = side_tables(store, catalog, directory, opts)?;
    bytes += write_one(&fresh.institutions_path(), institutions, &props)?;
    bytes += write_one(&fresh.products_path(), products, &props)?;
    bytes += write_one(&fresh.movements_path(), movements, &props)?;
    // What the next update re-reads from: every pack changed since this export began.
    let coverage = crate::delta::Coverage::began(started_at);
    bytes += coverage.write(&fresh.coverage_path())?;

    // The last model run's findings stay until the next run replaces them: an export
    // killed before its models ran must not leave the regulators with none.
    let findings = warehouse.findings_path();
    if findings.is_file() {
        fs::copy(&findings, fresh.findings_path()).map_err(io_at(&findings))?;
        File::open(fresh.findings_path())
            .and_then(|f| f.sync_all())
            .map_err(io_at(&fresh.findings_path()))?;
    }
    drugtrace_durable::sync_dir(&fresh.events_dir()).map_err(io_at(&fresh.events_dir()))?;

    // Swap the new warehouse in, in one step: a reader finds the old one or the new one,
    // never neither.
    drugtrace_durable::replace_dir(fresh.root(), root).map_err(io_at(root))?;
    Ok(ExportSummary {
        events,
        packs,
        event_files,
        bytes,
        elapsed: started.elapsed(),
    })
}

fn write_event_files(
    rx: mpsc::Receiver<RecordBatch>,
    dir: &Path,
    rows_per_file: usize,
    props: WriterProperties,
) -> Result<(usize, u64), AnalyticsError> {
    let mut files = 0usize;
    let mut bytes = 0u64;
    let mut current: Option<(ArrowWriter<File>, PathBuf, usize)> = None;
    for batch in rx {
        if current.is_none() {
            let path = dir.join(format!("part-{files:05}.parquet"));
            let file = File::create(&path).map_err(io_at(&path))?;
            let writer = ArrowWriter::try_new(file, events_schema(), Some(props.clone()))?;
            current = Some((writer, path, 0));
            files += 1;
        }
        if let Some((writer, _, rows)) = current.as_mut() {
            writer.write(&batch)?;
            *rows += batch.num_rows();
            if *rows >= rows_per_file
                && let Some((writer, path, _)) = current.take()
            {
                bytes += close(writer, &path)?;
            }
        }
    }
    if let Some((writer, path, _)) = current.take() {
        bytes += close(writer, &path)?;
    }
    if files == 0 {
        // An empty ledger still has an events table, with no rows.
        let path = dir.join("part-00000.parquet");
        let file = File::create(&path).map_err(io_at(&path))?;
        let writer = ArrowWriter::try_new(file, events_schema(), Some(props))?;
        bytes += close(writer, &path)?;
        files = 1;
    }
    Ok((files, bytes))
}

pub(crate) fn close(writer: ArrowWriter<File>, path: &Path) -> Result<u64, AnalyticsError> {
    let file = writer.into_inner()?;
    file.sync_all().map_err(io_at(path))?;
    Ok(file.metadata().map_err(io_at(path))?.len())
}

/// Writes one batch as a whole Parquet file, durably; returns its size.
pub(crate) fn write_one(
    path: &Path,
    batch: RecordBatch,
    props: &WriterProperties,
) -> Result<u64, AnalyticsError> {
    let file = File::create(path).map_err(io_at(path))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props.clone()))?;
    writer.write(&batch)?;
    close(writer, path)
}

/// Writes `batches` (all of one schema) as one Parquet file at `path`, atomically (see
/// [`drugtrace_durable::replace`]).
pub fn write_parquet_atomically(
    path: &Path,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> Result<u64, AnalyticsError> {
    replace_parquet(
        path,
        schema,
        batches,
        &writer_properties(&ExportOptions::default()),
    )
}

/// [`write_parquet_atomically`] with the writer's properties given: an update rewrites the
/// export's tables with the export's own, so that the same rows make the same bytes.
pub(crate) fn replace_parquet(
    path: &Path,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
    props: &WriterProperties,
) -> Result<u64, AnalyticsError> {
    drugtrace_durable::replace(path, |file| {
        let mut writer = ArrowWriter::try_new(&mut *file, schema, Some(props.clone()))?;
        for b in batches {
            writer.write(b)?;
        }
        writer.close()?;
        file.stream_position().map_err(io_at(path))
    })
    .map_err(|e| e.into_inner(|path, source| AnalyticsError::Io { path, source }))
}

/// Writes `value` as JSON at `path`, atomically; returns its size. `what` names it in an
/// error.
pub(crate) fn write_json_atomically(
    path: &Path,
    value: &impl serde::Serialize,
    what: &str,
) -> Result<u64, AnalyticsError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| AnalyticsError::Internal(format!("encoding {what}: {e}")))?;
    drugtrace_durable::replace_bytes(path, &bytes).map_err(|e| AnalyticsError::Io {
        path: path.to_path_buf(),
        source: e.into_inner(|_, source| source),
    })?;
    Ok(bytes.len() as u64)
}

/// The JSON at `path`, `None` if there is none or it does not read as a `T` (a file an older
/// drugtrace wrote, or none yet: the caller then does without).
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Finishes a warehouse swap a crash interrupted (see [`drugtrace_durable::recover_dir`]),
/// also in data directories an older drugtrace left. Readers call it before they look, so a
/// kill -9 during an export never leaves them without a warehouse.
pub fn recover_swap(root: &Path) -> Result<(), AnalyticsError> {
    drugtrace_durable::recover_dir(root).map_err(io_at(root))
}

/// The warehouse's tables other than `events`: the institutions, the products and the
/// movements reported without codes, each read whole (they are small beside the events).
pub(crate) fn side_tables<S: Store + ?Sized>(
    store: &S,
    catalog: &Catalog,
    directory: &Directory,
    opts: &ExportOptions,
) -> Result<[RecordBatch; 3], AnalyticsError> {
    let mut voids = std::collections::HashMap::new();
    store.scan_movement_voids(&mut |id, v| {
        voids.insert(id, v);
        Ok(())
    })?;
    let mut movements = Vec::new();
    store.scan_movements(&mut |m| {
        let void = voids.remove(&m.id());
        movements.push((m, void));
        Ok(())
    })?;
    Ok([
        institutions_batch(directory)?,
        products_batch(catalog)?,
        movements_batch(&movements, opts.offset_minutes)?,
    ])
}

fn institutions_batch(directory: &Directory) -> Result<RecordBatch, AnalyticsError> {
    let mut code = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut province = StringBuilder::new();
    let mut city = StringBuilder::new();
    let mut lat = Float64Builder::new();
    let mut lon = Float64Builder::new();
    for i in directory.iter() {
        code.append_value(&i.code);
        name.append_value(&i.name);
        kind.append_value(i.kind.as_str());
        province.append_value(&i.province);
        city.append_value(&i.city);
        lat.append_option(i.location.map(|l| l.0));
        lon.append_option(i.location.map(|l| l.1));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(code.finish()),
        Arc::new(name.finish()),
        Arc::new(kind.finish()),
        Arc::new(province.finish()),
        Arc::new(city.finish()),
        Arc::new(lat.finish()),
        Arc::new(lon.finish()),
    ];
    Ok(RecordBatch::try_new(institutions_schema(), columns)?)
}

fn products_batch(catalog: &Catalog) -> Result<RecordBatch, AnalyticsError> {
    let mut code = StringBuilder::new();
    let mut generic = StringBuilder::new();
    let mut trade = StringBuilder::new();
    let mut spec = StringBuilder::new();
    let mut maker = StringBuilder::new();
    let mut approval = StringBuilder::new();
    let mut units = UInt32Builder::new();
    let mut prefixes = StringBuilder::new();
    let mut gtins = StringBuilder::new();
    for p in catalog.iter() {
        code.append_value(p.insurance_code().as_str());
        generic.append_value(p.generic_name());
        trade.append_value(p.trade_name());
        spec.append_value(p.specification());
        maker.append_value(p.manufacturer());
        approval.append_value(p.approval_number());
        units.append_value(p.units_per_pack());
        let ids: Vec<String> = p.drug_ids().iter().map(|d| d.to_string()).collect();
        prefixes.append_value(ids.join(";"));
        let g: Vec<String> = p.gtins().iter().map(|g| g.to_string()).collect();
        gtins.append_value(g.join(";"));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(code.finish()),
        Arc::new(generic.finish()),
        Arc::new(trade.finish()),
        Arc::new(spec.finish()),
        Arc::new(maker.finish()),
        Arc::new(approval.finish()),
        Arc::new(units.finish()),
        Arc::new(prefixes.finish()),
        Arc::new(gtins.finish()),
    ];
    Ok(RecordBatch::try_new(products_schema(), columns)?)
}
