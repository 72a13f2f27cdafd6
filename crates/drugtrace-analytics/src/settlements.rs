//! The insurance settlement system's drug items (结算明细): the denominator of the upload
//! rate (上传率). Of the items settled that needed a trace code, the uploaded ones are those
//! with a sale the institution recorded under the item's settlement id.
//!
//! [`import_settlements`] reads the settlement system's CSV export (`drugtrace-ingest`'s
//! [`SettlementReader`]), all rows or none, and
//! adds the items not imported before as one Parquet part, `DIR/part-NNNNNN.parquet`, written
//! under a temporary name, synced and renamed, so readers never see half a part. An item is
//! one (`settlement_id`, `institution`, `insurance_code`): importing a file again adds
//! nothing. The directory lives outside the warehouse, which an export replaces whole.
//!
//! Servers on one database share their items through [`SharedSettlements`]: each import is
//! one record of a shared journal, the bytes of its part, judged against every part before
//! it and appended at the number it read up to, so two imports at once add nothing twice.
//! Each server keeps the journal's parts in a directory of its own, which the warehouse
//! reads as it reads a directory's.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanBuilder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::ParquetReadOptions;
use drugtrace_ingest::{SettlementFileError, SettlementReader};

use crate::AnalyticsError;
use crate::export::{ExportOptions, Warehouse, writer_properties};
use crate::schema::settlements_schema;
use drugtrace_durable::{SharedError, SharedJournal, Staged};

/// Rows per record batch handed to the Parquet writer.
const BATCH_ROWS: usize = 65_536;

/// Why an import of settlement items failed. Nothing was added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettlementError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The export itself cannot be read: empty, cut short, a bad header or row.
    #[error(transparent)]
    File(#[from] SettlementFileError),
    /// Reading the parts imported before, or writing the new one, failed.
    #[error(transparent)]
    Store(#[from] AnalyticsError),
    /// The database's journal of settlement parts could not be read or appended to.
    #[error("the database's settlement items: {0}")]
    Shared(String),
    /// The directory kept for the database's parts holds parts the database does not.
    #[error(
        "{dir} holds {local} settlement parts but the database only {shared}: it was kept for \
         another database; remove it and it is written again from this one"
    )]
    ForeignCache {
        /// The directory.
        dir: PathBuf,
        /// Its parts.
        local: usize,
        /// The database's.
        shared: usize,
    },
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementImport {
    /// Rows in the file.
    pub rows: u64,
    /// Items added.
    pub added: u64,
    /// Rows skipped: their item was imported before, or came earlier in the file.
    pub skipped: u64,
    /// The part written; none when every row was skipped.
    pub part: Option<PathBuf>,
}

impl std::fmt::Display for SettlementImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows: {} settled items added, {} already imported and skipped",
            self.rows, self.added, self.skipped
        )
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SettlementError + '_ {
    move |source| SettlementError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The parts in `dir`, in order; none if `dir` does not exist.
pub fn settlement_parts(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut parts = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if part_number(&path).is_some() {
            parts.push(path);
        }
    }
    parts.sort();
    Ok(parts)
}

/// The number of a part named `part-NNNNNN.parquet`.
fn part_number(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// An item's identity, as one string.
fn key(settlement: &str, institution: &str, insurance_code: &str) -> Box<str> {
    format!("{settlement}\u{1f}{institution}\u{1f}{insurance_code}").into()
}

/// The items of the parts already in `dir`.
fn imported_keys(parts: &[PathBuf]) -> Result<HashSet<Box<str>>, SettlementError> {
    let mut keys = HashSet::new();
    for part in parts {
        let file = File::open(part).map_err(io_at(part))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(AnalyticsError::from)?;
        let mask = ProjectionMask::columns(
            builder.parquet_schema(),
            ["settlement_id", "institution", "insurance_code"],
        );
        let reader = builder
            .with_projection(mask)
            .build()
            .map_err(AnalyticsError::from)?;
        for batch in reader {
            let batch = batch.map_err(AnalyticsError::from)?;
            let column = |name: &str| {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_string_opt::<i32>())
                    .ok_or_else(|| {
                        AnalyticsError::Internal(format!(
                            "{}: no text column {name}",
                            part.display()
                        ))
                    })
            };
            let (s, i, c) = (
                column("settlement_id")?,
                column("institution")?,
                column("insurance_code")?,
            );
            for r in 0..batch.num_rows() {
                keys.insert(key(s.value(r), i.value(r), c.value(r)));
            }
        }
    }
    Ok(keys)
}

/// Rows of the `settlements` table being built.
struct Rows {
    settlement_id: StringBuilder,
    institution: StringBuilder,
    at: TimestampMillisecondBuilder,
    at_s: Int64Builder,
    insurance_code: StringBuilder,
    units: Int32Builder,
    amount_fen: Int64Builder,
    fund_paid: BooleanBuilder,
    len: usize,
}

impl Rows {
    fn new() -> Rows {
        Rows {
            settlement_id: StringBuilder::new(),
            institution: StringBuilder::new(),
            at: TimestampMillisecondBuilder::new(),
            at_s: Int64Builder::new(),
            insurance_code: StringBuilder::new(),
            units: Int32Builder::new(),
            amount_fen: Int64Builder::new(),
            fund_paid: BooleanBuilder::new(),
            len: 0,
        }
    }

    fn finish(&mut self) -> Result<RecordBatch, AnalyticsError> {
        self.len = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.settlement_id.finish()),
            Arc::new(self.institution.finish()),
            Arc::new(self.at.finish()),
            Arc::new(self.at_s.finish()),
            Arc::new(self.insurance_code.finish()),
            Arc::new(self.units.finish()),
            Arc::new(self.amount_fen.finish()),
            Arc::new(self.fund_paid.finish()),
        ];
        Ok(RecordBatch::try_new(settlements_schema(), columns)?)
    }
}

/// Imports the settlement items of CSV `file` (columns [`SETTLEMENT_COLUMNS`], times
/// without an offset read at `offset_minutes` east of UTC) into `dir`: every row is checked
/// before anything is written, and the items not imported before become one new part.
/// Imports into one directory take turns (a lock file), so two at once add nothing twice.
pub fn import_settlements(
    dir: &Path,
    file: &Path,
    offset_minutes: i32,
) -> Result<SettlementImport, SettlementError> {
    let items = SettlementReader::open(file, offset_minutes)?;
    let _lock = lock_dir(dir)?;
    let parts = settlement_parts(dir).map_err(io_at(dir))?;
    let mut seen = imported_keys(&parts)?;
    let number = parts
        .iter()
        .filter_map(|p| part_number(p))
        .max()
        .unwrap_or(0)
        + 1;
    let part = part_path(dir, number);

    // An import that fails or adds nothing leaves no part: its staged file is dropped.
    let (summary, staged) = write_part(items, offset_minutes, &mut seen, || {
        Staged::new(&part).map_err(io_at(&part))
    })?;
    let Some(staged) = staged else {
        return Ok(summary);
    };
    staged.commit().map_err(io_at(&part))?;
    Ok(SettlementImport {
        part: Some(part),
        ..summary
    })
}

/// Part number `n` (from 1) of `dir`.
fn part_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("part-{n:06}.parquet"))
}

/// Takes `dir`'s lock (creating the directory), so that imports and copies into it take
/// turns, and removes what those that never finished left; held until dropped.
fn lock_dir(dir: &Path) -> Result<File, SettlementError> {
    let (lock, path) = lock_file(dir)?;
    lock.lock().map_err(io_at(&path))?;
    remove_temporary_files(dir)?;
    Ok(lock)
}

/// [`lock_dir`], unless another process holds the lock: then `None` at once.
fn try_lock_dir(dir: &Path) -> Result<Option<File>, SettlementError> {
    let (lock, path) = lock_file(dir)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Ok(None),
        Err(fs::TryLockError::Error(e)) => return Err(io_at(&path)(e)),
    }
    remove_temporary_files(dir)?;
    Ok(Some(lock))
}

fn lock_file(dir: &Path) -> Result<(File, PathBuf), SettlementError> {
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let path = dir.join(".lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_at(&path))?;
    Ok((lock, path))
}

/// The settlement items of every server on one database: a shared journal whose record
/// `n` is the Parquet bytes of part `n + 1`, and the directory where this server keeps a
/// copy of each part (which [`crate::Warehouse::with_settlements`] reads).
#[derive(Debug, Clone)]
pub struct SharedSettlements {
    journal: Arc<dyn SharedJournal>,
    dir: PathBuf,
    /// Whether the copy in `dir` was found to be of this journal (checked once).
    matched: Arc<std::sync::atomic::AtomicBool>,
}

impl SharedSettlements {
    /// The parts of `journal`, kept in `dir`.
    pub fn new(journal: Arc<dyn SharedJournal>, dir: impl Into<PathBuf>) -> SharedSettlements {
        SharedSettlements {
            journal,
            dir: dir.into(),
            matched: Arc::default(),
        }
    }

    /// Where this server keeps the parts.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Copies into [`Self::dir`] the parts of the journal it lacks; returns how many.
    pub fn sync(&self) -> Result<usize, SettlementError> {
        let _lock = lock_dir(&self.dir)?;
        self.sync_locked()
    }

    /// [`Self::sync`], unless an import or another copy into [`Self::dir`] is under way
    /// (then nothing, at once): for a server reading on every second, which must not wait
    /// behind a long import of this directory.
    pub fn sync_if_free(&self) -> Result<usize, SettlementError> {
        match try_lock_dir(&self.dir)? {
            Some(_lock) => self.sync_locked(),
            None => Ok(0),
        }
    }

    fn sync_locked(&self) -> Result<usize, SettlementError> {
        use std::sync::atomic::Ordering;
        let local = contiguous_parts(&self.dir)?;
        let new = self.read(local)?;
        if local > 0 && new.is_empty() && !self.matched.load(Ordering::Relaxed) {
            // Nothing new, or a journal shorter than the copy: another database's.
            if self.read(local - 1)?.is_empty() {
                return Err(SettlementError::ForeignCache {
                    dir: self.dir.clone(),
                    local,
                    shared: self.read(0)?.len(),
                });
            }
        }
        self.matched.store(true, Ordering::Relaxed);
        for (i, bytes) in new.iter().enumerate() {
            write_whole(&part_path(&self.dir, (local + i + 1) as u64), bytes)?;
        }
        Ok(new.len())
    }

    fn read(&self, from: usize) -> Result<Vec<Vec<u8>>, SettlementError> {
        self.journal
            .read_from(from as u64)
            .map_err(|e| SettlementError::Shared(e.to_string()))
    }

    /// Imports the settlement items of CSV `file` for every server on the database, as
    /// [`import_settlements`] does into a directory: judged against every part the database
    /// holds and appended as the next; when another server appended first, judged again.
    pub fn import(
        &self,
        file: &Path,
        offset_minutes: i32,
    ) -> Result<SettlementImport, SettlementError> {
        let _lock = lock_dir(&self.dir)?;
        loop {
            self.sync_locked()?;
            let items = SettlementReader::open(file, offset_minutes)?;
            let parts = settlement_parts(&self.dir).map_err(io_at(&self.dir))?;
            let mut seen = imported_keys(&parts)?;
            let (summary, bytes) = write_part(items, offset_minutes, &mut seen, || Ok(Vec::new()))?;
            let Some(bytes) = bytes else {
                return Ok(summary);
            };
            match self.journal.append(parts.len() as u64, &bytes) {
                Ok(()) => {
                    let part = part_path(&self.dir, parts.len() as u64 + 1);
                    write_whole(&part, &bytes)?;
                    return Ok(SettlementImport {
                        part: Some(part),
                        ..summary
                    });
                }
                Err(SharedError::Stale { .. }) => continue,
                Err(e) => return Err(SettlementError::Shared(e.to_string())),
            }
        }
    }

    /// Appends the parts of directory `from` (a data directory's own imports), in order, to
    /// a journal that has none yet; returns how many, or `None` when the journal has parts
    /// of its own already (which are kept).
    pub fn adopt(&self, from: &Path) -> Result<Option<usize>, SettlementError> {
        let parts = settlement_parts(from).map_err(io_at(from))?;
        if !self.read(0)?.is_empty() {
            return Ok(None);
        }
        for (at, part) in parts.iter().enumerate() {
            let bytes = fs::read(part).map_err(io_at(part))?;
            self.journal
                .append(at as u64, &bytes)
                .map_err(|e| SettlementError::Shared(e.to_string()))?;
        }
        Ok(Some(parts.len()))
    }
}

/// Where a server's settlement items are kept: its data directory's parts, or the
/// database's, shared by every server on it.
#[derive(Debug, Clone)]
pub enum Settlements {
    /// The parts imported into this directory ([`import_settlements`]).
    Directory(PathBuf),
    /// The database's parts, copied into a directory of this server's.
    Shared(SharedSettlements),
}

impl Settlements {
    /// The directory holding the parts, which [`crate::Warehouse::with_settlements`] reads.
    pub fn dir(&self) -> &Path {
        match self {
            Settlements::Directory(d) => d,
            Settlements::Shared(s) => s.dir(),
        }
    }

    /// Imports the items of CSV `file` ([`import_settlements`], [`SharedSettlements::import`]).
    pub fn import(
        &self,
        file: &Path,
        offset_minutes: i32,
    ) -> Result<SettlementImport, SettlementError> {
        match self {
            Settlements::Directory(d) => import_settlements(d, file, offset_minutes),
            Settlements::Shared(s) => s.import(file, offset_minutes),
        }
    }

    /// Brings [`Self::dir`] up to date with what other servers imported; returns the parts
    /// copied (none for a directory's own).
    pub fn sync(&self) -> Result<usize, SettlementError> {
        match self {
            Settlements::Directory(_) => Ok(0),
            Settlements::Shared(s) => s.sync(),
        }
    }

    /// [`Self::sync`], or nothing when an import into the directory is under way
    /// ([`SharedSettlements::sync_if_free`]).
    pub fn sync_if_free(&self) -> Result<usize, SettlementError> {
        match self {
            Settlements::Directory(_) => Ok(0),
            Settlements::Shared(s) => s.sync_if_free(),
        }
    }
}

/// Writes a part whole (replaced atomically, synced with its directory).
fn write_whole(part: &Path, bytes: &[u8]) -> Result<(), SettlementError> {
    drugtrace_durable::replace_bytes(part, bytes).map_err(|e| match e {
        drugtrace_durable::ReplaceError::Fill(source) => SettlementError::Io {
            path: part.to_path_buf(),
            source,
        },
        drugtrace_durable::ReplaceError::Io { path, source } => {
            SettlementError::Io { path, source }
        }
    })
}

/// How many parts `dir` holds, numbered from 1 without a gap (as a copy of a journal is).
fn contiguous_parts(dir: &Path) -> Result<usize, SettlementError> {
    let parts = settlement_parts(dir).map_err(io_at(dir))?;
    for (i, p) in parts.iter().enumerate() {
        if part_number(p) != Some(i as u64 + 1) {
            return Err(SettlementError::Io {
                path: p.clone(),
                source: io::Error::other(format!(
                    "expected part {} here: a copy of the database's parts has no gaps",
                    i + 1
                )),
            });
        }
    }
    Ok(parts.len())
}

/// Removes the temporary files of imports that never finished.
fn remove_temporary_files(dir: &Path) -> Result<(), SettlementError> {
    for entry in fs::read_dir(dir).map_err(io_at(dir))? {
        let path = entry.map_err(io_at(dir))?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(".part-") && n.ends_with(".tmp"))
        {
            fs::remove_file(&path).map_err(io_at(&path))?;
        }
    }
    Ok(())
}

/// Reads every item of `items` (times without an offset at `offset_minutes`), writing the
/// new ones to a file staged to become the part (started only when there is one); the
/// summary has no part yet.
fn write_part<W: io::Write + Send>(
    items: SettlementReader<impl Read>,
    offset_minutes: i32,
    seen: &mut HashSet<Box<str>>,
    mut open: impl FnMut() -> Result<W, SettlementError>,
) -> Result<(SettlementImport, Option<W>), SettlementError> {
    let props = writer_properties(&ExportOptions::default());
    let mut writer: Option<ArrowWriter<W>> = None;
    let mut rows = Rows::new();
    let mut summary = SettlementImport {
        rows: 0,
        added: 0,
        skipped: 0,
        part: None,
    };
    for item in items {
        let item = item?;
        summary.rows += 1;
        let k = key(
            item.settlement.as_str(),
            item.institution.as_str(),
            item.insurance_code.as_str(),
        );
        if !seen.insert(k) {
            summary.skipped += 1;
            continue;
        }
        summary.added += 1;
        let ms = item.at.millis();
        rows.settlement_id.append_value(item.settlement.as_str());
        rows.institution.append_value(item.institution.as_str());
        rows.at
            .append_value(ms + i64::from(offset_minutes) * 60_000);
        rows.at_s.append_value(ms.div_euclid(1000));
        rows.insurance_code
            .append_value(item.insurance_code.as_str());
        // The reader keeps units within the column's range.
        rows.units
            .append_option(item.units.and_then(|u| i32::try_from(u).ok()));
        rows.amount_fen.append_value(item.amount.fen());
        rows.fund_paid.append_value(item.fund_paid);
        rows.len += 1;
        if rows.len >= BATCH_ROWS {
            write_batch(&mut writer, &mut rows, &mut open, &props)?;
        }
    }
    if rows.len > 0 {
        write_batch(&mut writer, &mut rows, &mut open, &props)?;
    }
    let staged = match writer {
        Some(w) => Some(w.into_inner().map_err(AnalyticsError::from)?),
        None => None,
    };
    Ok((summary, staged))
}

fn write_batch<W: io::Write + Send>(
    writer: &mut Option<ArrowWriter<W>>,
    rows: &mut Rows,
    open: &mut impl FnMut() -> Result<W, SettlementError>,
    props: &datafusion::parquet::file::properties::WriterProperties,
) -> Result<(), SettlementError> {
    let w = match writer {
        Some(w) => w,
        None => {
            let file = open()?;
            let w = ArrowWriter::try_new(file, settlements_schema(), Some(props.clone()))
                .map_err(AnalyticsError::from)?;
            writer.insert(w)
        }
    };
    let batch = rows.finish()?;
    w.write(&batch).map_err(AnalyticsError::from)?;
    Ok(())
}

/// Registers the `settlements` table: the parts imported into the warehouse's settlements
/// directory, or an empty table when there are none, so that the reports still run (their
/// upload rate is then `NULL`).
pub(crate) async fn register(
    ctx: &SessionContext,
    warehouse: &Warehouse,
) -> Result<(), AnalyticsError> {
    if let Some(dir) = warehouse.settlements_dir() {
        let parts = settlement_parts(dir).map_err(|source| AnalyticsError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if !parts.is_empty() {
            let path = dir.to_str().ok_or_else(|| {
                AnalyticsError::Internal(format!("path {} is not UTF-8", dir.display()))
            })?;
            ctx.register_parquet("settlements", path, ParquetReadOptions::default())
                .await?;
            return Ok(());
        }
    }
    let empty = MemTable::try_new(settlements_schema(), vec![vec![]])?;
    ctx.register_table("settlements", Arc::new(empty))?;
    Ok(())
}

#[cfg(test)]
mod tests {

    use super::*;

    const HEADER: &str = "settlement_id,institution,at,insurance_code,units,amount,fund_paid\n";
    const ROW: &str = "S1,P35010200017,2025-04-08 10:30:00,XR05CBA198A001010100863,,12.50,true\n";

    fn import(text: &str) -> (tempfile::TempDir, Result<SettlementImport, SettlementError>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.csv");
        fs::write(&file, text).unwrap();
        let r = import_settlements(&dir.path().join("settlements"), &file, 480);
        (dir, r)
    }

    fn error(text: &str) -> String {
        let (dir, r) = import(text);
        let e = r.unwrap_err().to_string();
        // Nothing was written: no part and no temporary file.
        let left: Vec<_> = fs::read_dir(dir.path().join("settlements"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.iter().all(|n| n == ".lock"), "{left:?} after {e}");
        e
    }

    #[test]
    fn bad_rows_name_their_line_and_field() {
        let row2 = |r: &str| format!("{HEADER}{ROW}{r}\n");
        for (text, wants) in [
            (
                row2("S2,P 1,2025-04-08 10:30:00,XR05CBA198A001010100863,,1,true"),
                "line 3, field institution",
            ),
            (
                row2("S2,P1,2025-04-08 10:30:00,XR05,,1,true"),
                "line 3, field insurance_code",
            ),
            (
                row2("S2,P1,2025-13-08 10:30:00,XR05CBA198A001010100863,,1,true"),
                "line 3, field at",
            ),
            (
                row2("S2,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,0,1,true"),
                "line 3, field units",
            ),
            (
                row2("S2,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,-2,1,true"),
                "line 3, field units",
            ),
            (
                row2("S2,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,,1.234,true"),
                "line 3, field amount",
            ),
            (
                row2("S2,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,,-1,true"),
                "line 3, field amount",
            ),
            (
                row2("S2,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,,1,maybe"),
                "line 3, field fund_paid",
            ),
            (
                row2(",P1,2025-04-08 10:30:00,XR05CBA198A001010100863,,1,true"),
                "line 3, field settlement_id: is required",
            ),
            (
                row2("S2,P1,2025-04-08"),
                "line 3, field insurance_code: missing",
            ),
        ] {
            let e = error(&text);
            assert!(e.contains(wants), "{e} (wanted {wants})");
        }
    }

    #[test]
    fn bad_files_are_refused_whole() {
        assert!(error("").contains("is empty"));
        assert!(error(HEADER).contains("no rows"));
        assert!(error(&format!("{HEADER}{}", ROW.trim_end())).contains("cut short"));
        let e = error(&format!(
            "settlement_id,institution,at,insurance_code,amount,paid\n{ROW}"
        ));
        assert!(e.contains("unknown column \"paid\""), "{e}");
        let e = error(&format!("settlement_id,institution,at,units,amount\n{ROW}"));
        assert!(e.contains("\"insurance_code\" is missing"), "{e}");
        let e = error(&format!("{}{ROW}", HEADER.replace("units", "at")));
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn importing_again_adds_nothing_and_parts_accumulate() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("settlements");
        let first = dir.path().join("a.csv");
        fs::write(&first, format!("{HEADER}{ROW}{}", ROW.replace("S1", "S2"))).unwrap();
        let a = import_settlements(&store, &first, 480).unwrap();
        assert_eq!((a.rows, a.added, a.skipped), (2, 2, 0));
        assert_eq!(a.part, Some(store.join("part-000001.parquet")));

        let again = import_settlements(&store, &first, 480).unwrap();
        assert_eq!(
            (again.rows, again.added, again.skipped, again.part),
            (2, 0, 2, None)
        );

        // A later export overlapping the first: only the new item is added. Columns may
        // come in any order, and `units` and `fund_paid` may be left out.
        let second = dir.path().join("b.csv");
        fs::write(
            &second,
            "institution,settlement_id,insurance_code,amount,at\n\
             P35010200017,S2,XR05CBA198A001010100863,12.50,2025-04-08 10:30:00\n\
             P35010200017,S3,XR05CBA198A001010100863,3,2025-04-09T10:30:00+08:00\n\
             P35010200017,S3,XR05CBA198A001010100863,3,2025-04-09T10:30:00+08:00\n",
        )
        .unwrap();
        let b = import_settlements(&store, &second, 480).unwrap();
        assert_eq!((b.rows, b.added, b.skipped), (3, 1, 2));
        assert_eq!(b.part, Some(store.join("part-000002.parquet")));
        assert_eq!(settlement_parts(&store).unwrap().len(), 2);
        assert_eq!(
            imported_keys(&settlement_parts(&store).unwrap())
                .unwrap()
                .len(),
            3
        );
    }

    /// A journal that lets another server append a record just before the first append
    /// made through it, as a server racing this one would.
    #[derive(Debug)]
    struct Raced {
        inner: drugtrace_durable::MemoryJournal,
        rival: std::sync::Mutex<Option<Vec<u8>>>,
    }

    impl SharedJournal for Raced {
        fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>, SharedError> {
            self.inner.read_from(from)
        }

        fn append(&self, at: u64, record: &[u8]) -> Result<(), SharedError> {
            if let Some(r) = self.rival.lock().unwrap().take() {
                self.inner.append(at, &r)?;
            }
            self.inner.append(at, record)
        }
    }

    #[test]
    fn servers_on_one_database_share_their_items_and_never_add_one_twice() {
        let dir = tempfile::tempdir().unwrap();
        let csv = |name: &str, rows: &[&str]| {
            let path = dir.path().join(name);
            fs::write(&path, format!("{HEADER}{}", rows.concat())).unwrap();
            path
        };
        let s2 = ROW.replace("S1", "S2");
        let s3 = ROW.replace("S1", "S3");
        // What a rival server imports (S1, S2) while this one judges S2, S3 without it.
        let scratch = dir.path().join("scratch");
        import_settlements(&scratch, &csv("rival.csv", &[ROW, &s2]), 480).unwrap();
        let rival = fs::read(scratch.join("part-000001.parquet")).unwrap();
        let journal: Arc<dyn SharedJournal> = Arc::new(Raced {
            inner: drugtrace_durable::MemoryJournal::default(),
            rival: std::sync::Mutex::new(Some(rival)),
        });
        let one = SharedSettlements::new(Arc::clone(&journal), dir.path().join("one"));
        let two = SharedSettlements::new(Arc::clone(&journal), dir.path().join("two"));

        // The first append finds the rival's part there: judged again, only S3 is new.
        let a = one.import(&csv("a.csv", &[&s2, &s3]), 480).unwrap();
        assert_eq!((a.rows, a.added, a.skipped), (2, 1, 1));
        assert_eq!(a.part, Some(one.dir().join("part-000002.parquet")));
        assert_eq!(journal.read_from(0).unwrap().len(), 2);

        // While an import holds its directory, a server's reading on skips it at once.
        let held = lock_dir(two.dir()).unwrap();
        assert_eq!(two.sync_if_free().unwrap(), 0);
        drop(held);
        // The other server copies both parts, and adds nothing it now has.
        assert_eq!(two.sync_if_free().unwrap(), 2);
        assert_eq!(two.sync().unwrap(), 0);
        let keys = imported_keys(&settlement_parts(two.dir()).unwrap()).unwrap();
        assert_eq!(keys.len(), 3);
        let again = two.import(&csv("b.csv", &[ROW, &s3]), 480).unwrap();
        assert_eq!((again.added, again.skipped, again.part), (0, 2, None));

        // A copy kept for another database is refused, naming the directory.
        let other = SharedSettlements::new(
            Arc::new(drugtrace_durable::MemoryJournal::default()),
            two.dir(),
        );
        let e = other.sync().unwrap_err().to_string();
        assert!(e.contains("another database") && e.contains("two"), "{e}");

        // A data directory's own parts are adopted by a database with none, once.
        let fresh = SharedSettlements::new(
            Arc::new(drugtrace_durable::MemoryJournal::default()),
            dir.path().join("three"),
        );
        assert_eq!(fresh.adopt(&scratch).unwrap(), Some(1));
        assert_eq!(fresh.adopt(&scratch).unwrap(), None);
        assert_eq!(fresh.sync().unwrap(), 1);
    }
}
