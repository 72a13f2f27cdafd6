//! The insurance settlement system's drug items (结算明细): the denominator of the upload
//! rate (上传率). Of the items settled that needed a trace code, the uploaded ones are those
//! with a sale the institution recorded under the item's settlement id.
//!
//! [`import_settlements`] reads the settlement system's CSV export, all rows or none, and
//! adds the items not imported before as one Parquet part, `DIR/part-NNNNNN.parquet`, written
//! under a temporary name, synced and renamed, so readers never see half a part. An item is
//! one (`settlement_id`, `institution`, `insurance_code`): importing a file again adds
//! nothing. The directory lives outside the warehouse, which an export replaces whole.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
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
use drugtrace_catalog::InsuranceCode;
use drugtrace_ledger::{InstitutionId, SettlementId, Timestamp};

use crate::AnalyticsError;
use crate::export::{ExportOptions, Warehouse, writer_properties};
use crate::schema::settlements_schema;
use drugtrace_durable::Staged;

/// The columns of the settlement system's export, as [`import_settlements`] reads them:
/// the sale fields of the event files under the same names. `units` (default: the whole
/// pack) and `fund_paid` (default: true) may be left out.
pub const SETTLEMENT_COLUMNS: [&str; 7] = [
    "settlement_id",
    "institution",
    "at",
    "insurance_code",
    "units",
    "amount",
    "fund_paid",
];

const REQUIRED: [&str; 5] = [
    "settlement_id",
    "institution",
    "at",
    "insurance_code",
    "amount",
];

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
    /// The file has no bytes at all.
    #[error("{file} is empty: a settlement export starts with a header row")]
    Empty {
        /// The file.
        file: String,
    },
    /// The file has a header and no rows.
    #[error("{file} has a header but no rows")]
    NoRows {
        /// The file.
        file: String,
    },
    /// The file does not end with a line break, so its last row may be cut short.
    #[error("{file} does not end with a line break: its last row may be cut short")]
    Truncated {
        /// The file.
        file: String,
    },
    /// The header names an unknown column, repeats one, or lacks a required one.
    #[error("{file} header: {message}")]
    Header {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A row's field is missing or invalid.
    #[error("{file} line {line}, field {field}: {message}")]
    Row {
        /// The file.
        file: String,
        /// The line, from 1 (the header is line 1).
        line: u64,
        /// The column.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The text is not valid CSV (an unclosed quote, invalid UTF-8…).
    #[error("{file} line {line}: {message}")]
    Csv {
        /// The file.
        file: String,
        /// The line, from 1.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Reading the parts imported before, or writing the new one, failed.
    #[error(transparent)]
    Store(#[from] AnalyticsError),
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

/// One parsed row.
struct Item {
    settlement: SettlementId,
    institution: InstitutionId,
    at: Timestamp,
    insurance_code: InsuranceCode,
    units: Option<i32>,
    amount_fen: i64,
    fund_paid: bool,
}

/// Where each of [`SETTLEMENT_COLUMNS`] is in the file's rows.
struct Columns([Option<usize>; SETTLEMENT_COLUMNS.len()]);

impl Columns {
    fn from_header(header: &csv::StringRecord, file: &str) -> Result<Columns, SettlementError> {
        let err = |message: String| SettlementError::Header {
            file: file.to_owned(),
            message,
        };
        let mut at = [None; SETTLEMENT_COLUMNS.len()];
        for (i, name) in header.iter().enumerate() {
            // A spreadsheet may start the file with a byte-order mark.
            let name = name.trim_start_matches('\u{feff}').trim();
            let Some(c) = SETTLEMENT_COLUMNS.iter().position(|k| *k == name) else {
                return Err(err(format!(
                    "unknown column {name:?}; the columns are {}",
                    SETTLEMENT_COLUMNS.join(",")
                )));
            };
            if at[c].replace(i).is_some() {
                return Err(err(format!("column {name:?} appears twice")));
            }
        }
        for name in REQUIRED {
            let c = SETTLEMENT_COLUMNS.iter().position(|k| *k == name);
            if c.is_some_and(|c| at[c].is_none()) {
                return Err(err(format!("column {name:?} is missing")));
            }
        }
        Ok(Columns(at))
    }

    /// Parses one row; `line` and `file` name it in errors.
    fn item(
        &self,
        record: &csv::StringRecord,
        line: u64,
        file: &str,
        offset_minutes: i32,
    ) -> Result<Item, SettlementError> {
        let err = |field: &'static str, message: String| SettlementError::Row {
            file: file.to_owned(),
            line,
            field,
            message,
        };
        let width = self.0.iter().flatten().count();
        if record.len() < width {
            // The first column the row does not reach.
            let c = self.0.iter().position(|at| *at == Some(record.len()));
            return Err(err(
                c.map_or("settlement_id", |c| SETTLEMENT_COLUMNS[c]),
                format!(
                    "missing: the row has {} of the header's {width} fields (is it cut short?)",
                    record.len()
                ),
            ));
        }
        if record.len() > width {
            return Err(SettlementError::Csv {
                file: file.to_owned(),
                line,
                message: format!("the row has {} fields, the header {width}", record.len()),
            });
        }
        let get = |c: usize| {
            self.0[c]
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let required =
            |c: usize| get(c).ok_or_else(|| err(SETTLEMENT_COLUMNS[c], "is required".to_owned()));
        let settlement =
            SettlementId::parse(required(0)?).map_err(|e| err("settlement_id", e.to_string()))?;
        let institution =
            InstitutionId::parse(required(1)?).map_err(|e| err("institution", e.to_string()))?;
        let at =
            Timestamp::parse(required(2)?, offset_minutes).map_err(|e| err("at", e.to_string()))?;
        let insurance_code =
            InsuranceCode::parse(required(3)?).map_err(|e| err("insurance_code", e.to_string()))?;
        let units = get(4)
            .map(|s| match s.parse::<i64>() {
                Ok(n) if n <= 0 => Err(err("units", format!("{s} must be at least 1"))),
                Ok(n) => i32::try_from(n).map_err(|_| err("units", format!("{s} is too large"))),
                Err(_) => Err(err(
                    "units",
                    format!("{s:?} is not a whole number of units"),
                )),
            })
            .transpose()?;
        let amount_fen =
            drugtrace_ingest::parse_yuan(required(5)?).map_err(|e| err("amount", e))?;
        if amount_fen < 0 {
            return Err(err("amount", format!("{} is negative", required(5)?)));
        }
        let fund_paid = get(6)
            .map(|s| match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(err("fund_paid", format!("{s:?} is not true or false"))),
            })
            .transpose()?
            .unwrap_or(true);
        Ok(Item {
            settlement,
            institution,
            at,
            insurance_code,
            units,
            amount_fen,
            fund_paid,
        })
    }
}

/// Checks that `file` is not empty and ends with a line break.
fn check_whole(input: &mut File, path: &Path, name: &str) -> Result<(), SettlementError> {
    let len = input.metadata().map_err(io_at(path))?.len();
    if len == 0 {
        return Err(SettlementError::Empty {
            file: name.to_owned(),
        });
    }
    let mut last = [0u8];
    input.seek(SeekFrom::End(-1)).map_err(io_at(path))?;
    input.read_exact(&mut last).map_err(io_at(path))?;
    input.rewind().map_err(io_at(path))?;
    if last[0] != b'\n' {
        return Err(SettlementError::Truncated {
            file: name.to_owned(),
        });
    }
    Ok(())
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
    let name = file.display().to_string();
    let mut input = File::open(file).map_err(io_at(file))?;
    check_whole(&mut input, file, &name)?;

    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let lock_path = dir.join(".lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_at(&lock_path))?;
    lock.lock().map_err(io_at(&lock_path))?;
    remove_temporary_files(dir)?;
    let parts = settlement_parts(dir).map_err(io_at(dir))?;
    let mut seen = imported_keys(&parts)?;
    let number = parts
        .iter()
        .filter_map(|p| part_number(p))
        .max()
        .unwrap_or(0)
        + 1;
    let part = dir.join(format!("part-{number:06}.parquet"));

    // An import that fails or adds nothing leaves no part: its staged file is dropped.
    let (summary, staged) = write_part(
        BufReader::new(input),
        &name,
        offset_minutes,
        &mut seen,
        &part,
    )?;
    let Some(staged) = staged else {
        return Ok(summary);
    };
    staged.commit().map_err(io_at(&part))?;
    Ok(SettlementImport {
        part: Some(part),
        ..summary
    })
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

/// Reads every row of `input`, writing the new items to a file staged to become `part`
/// (started only when there is one); the summary has no part yet.
fn write_part(
    input: impl Read,
    name: &str,
    offset_minutes: i32,
    seen: &mut HashSet<Box<str>>,
    part: &Path,
) -> Result<(SettlementImport, Option<Staged>), SettlementError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let csv_err = |e: csv::Error| SettlementError::Csv {
        file: name.to_owned(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    };
    let columns = Columns::from_header(&reader.headers().map_err(csv_err)?.clone(), name)?;
    let props = writer_properties(&ExportOptions::default());
    let mut writer: Option<ArrowWriter<Staged>> = None;
    let mut rows = Rows::new();
    let mut summary = SettlementImport {
        rows: 0,
        added: 0,
        skipped: 0,
        part: None,
    };
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_err)? {
        let line = record.position().map_or(0, |p| p.line());
        summary.rows += 1;
        let item = columns.item(&record, line, name, offset_minutes)?;
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
        rows.units.append_option(item.units);
        rows.amount_fen.append_value(item.amount_fen);
        rows.fund_paid.append_value(item.fund_paid);
        rows.len += 1;
        if rows.len >= BATCH_ROWS {
            write_batch(&mut writer, &mut rows, part, &props)?;
        }
    }
    if summary.rows == 0 {
        return Err(SettlementError::NoRows {
            file: name.to_owned(),
        });
    }
    if rows.len > 0 {
        write_batch(&mut writer, &mut rows, part, &props)?;
    }
    let staged = match writer {
        Some(w) => Some(w.into_inner().map_err(AnalyticsError::from)?),
        None => None,
    };
    Ok((summary, staged))
}

fn write_batch(
    writer: &mut Option<ArrowWriter<Staged>>,
    rows: &mut Rows,
    part: &Path,
    props: &datafusion::parquet::file::properties::WriterProperties,
) -> Result<(), SettlementError> {
    let w = match writer {
        Some(w) => w,
        None => {
            let file = Staged::new(part).map_err(io_at(part))?;
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
}
