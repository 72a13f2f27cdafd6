//! The settlement system's export of drug items (结算明细), the upload rate's denominator:
//! CSV with a header row, the sale fields of the event files under the same names and read
//! by the same field readers (`units`, `amount` by `drugtrace-money`'s one parser,
//! `fund_paid`).
//!
//! [`SettlementReader`] checks the file whole before the first item (not empty, ending with
//! a line break, a known header) and then yields each row as a typed [`SettlementItem`], or
//! an error naming the line and field. What becomes of the items (the warehouse's Parquet
//! parts, repeats skipped) is `drugtrace-analytics`' business.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use drugtrace_catalog::InsuranceCode;
use drugtrace_ledger::{InstitutionId, SettlementId, Timestamp};
use drugtrace_money::Fen;

use crate::fields::{fund_paid, units};

/// The columns of the settlement system's export. `units` (default: the whole pack) and
/// `fund_paid` (default: true) may be left out.
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

/// One settled drug item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementItem {
    /// The settlement it was paid in.
    pub settlement: SettlementId,
    /// The institution that settled it.
    pub institution: InstitutionId,
    /// When.
    pub at: Timestamp,
    /// The product.
    pub insurance_code: InsuranceCode,
    /// Units of a split pack; `None` for the whole pack.
    pub units: Option<u32>,
    /// What was paid, never negative.
    pub amount: Fen,
    /// Whether the insurance fund paid.
    pub fund_paid: bool,
}

/// Why a settlement export cannot be read. A reader stops at the first.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettlementFileError {
    /// The file could not be read.
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
}

/// Where each of [`SETTLEMENT_COLUMNS`] is in the file's rows.
struct Columns([Option<usize>; SETTLEMENT_COLUMNS.len()]);

impl Columns {
    fn from_header(header: &csv::StringRecord, file: &str) -> Result<Columns, SettlementFileError> {
        let err = |message: String| SettlementFileError::Header {
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
    ) -> Result<SettlementItem, SettlementFileError> {
        let err = |field: &'static str, message: String| SettlementFileError::Row {
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
            return Err(SettlementFileError::Csv {
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
        let units = get(4)
            .map(|s| {
                // The warehouse keeps units as a 32-bit signed number.
                units(s).and_then(|n| match i32::try_from(n) {
                    Ok(_) => Ok(n),
                    Err(_) => Err(format!("{s} is too large")),
                })
            })
            .transpose()
            .map_err(|e| err("units", e))?;
        Ok(SettlementItem {
            settlement: SettlementId::parse(required(0)?)
                .map_err(|e| err("settlement_id", e.to_string()))?,
            institution: InstitutionId::parse(required(1)?)
                .map_err(|e| err("institution", e.to_string()))?,
            at: Timestamp::parse(required(2)?, offset_minutes)
                .map_err(|e| err("at", e.to_string()))?,
            insurance_code: InsuranceCode::parse(required(3)?)
                .map_err(|e| err("insurance_code", e.to_string()))?,
            units,
            amount: Fen::parse_paid(required(5)?).map_err(|e| err("amount", e.to_string()))?,
            fund_paid: get(6)
                .map(fund_paid)
                .transpose()
                .map_err(|e| err("fund_paid", e))?
                .unwrap_or(true),
        })
    }
}

/// The items of one settlement export, in the file's order. The first error ends it; a
/// file with a header and no rows ends with [`SettlementFileError::NoRows`].
pub struct SettlementReader<R> {
    reader: csv::Reader<R>,
    columns: Columns,
    file: String,
    offset_minutes: i32,
    record: csv::StringRecord,
    rows: u64,
    done: bool,
}

impl SettlementReader<BufReader<File>> {
    /// Opens the export at `path` (times without an offset read at `offset_minutes` east of
    /// UTC), checking that it is not empty, ends with a line break, and has a known header.
    pub fn open(
        path: &Path,
        offset_minutes: i32,
    ) -> Result<SettlementReader<BufReader<File>>, SettlementFileError> {
        let file = path.display().to_string();
        let io_err = |source| SettlementFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut input = File::open(path).map_err(io_err)?;
        let len = input.metadata().map_err(io_err)?.len();
        if len == 0 {
            return Err(SettlementFileError::Empty { file });
        }
        let mut last = [0u8];
        input.seek(SeekFrom::End(-1)).map_err(io_err)?;
        input.read_exact(&mut last).map_err(io_err)?;
        input.rewind().map_err(io_err)?;
        if last[0] != b'\n' {
            return Err(SettlementFileError::Truncated { file });
        }
        SettlementReader::new(BufReader::new(input), &file, offset_minutes)
    }
}

impl<R: Read> SettlementReader<R> {
    /// Reads an export from `input`, named `file` in errors; checks its header.
    pub fn new(
        input: R,
        file: &str,
        offset_minutes: i32,
    ) -> Result<SettlementReader<R>, SettlementFileError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let header = reader.headers().map_err(|e| csv_error(file, &e))?.clone();
        if header.is_empty() {
            return Err(SettlementFileError::Empty {
                file: file.to_owned(),
            });
        }
        Ok(SettlementReader {
            columns: Columns::from_header(&header, file)?,
            reader,
            file: file.to_owned(),
            offset_minutes,
            record: csv::StringRecord::new(),
            rows: 0,
            done: false,
        })
    }

    /// The rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn read(&mut self) -> Result<Option<SettlementItem>, SettlementFileError> {
        if !self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(&self.file, &e))?
        {
            if self.rows == 0 {
                return Err(SettlementFileError::NoRows {
                    file: self.file.clone(),
                });
            }
            return Ok(None);
        }
        self.rows += 1;
        let line = self.record.position().map_or(0, |p| p.line());
        self.columns
            .item(&self.record, line, &self.file, self.offset_minutes)
            .map(Some)
    }
}

impl<R: Read> Iterator for SettlementReader<R> {
    type Item = Result<SettlementItem, SettlementFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.read().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

fn csv_error(file: &str, e: &csv::Error) -> SettlementFileError {
    SettlementFileError::Csv {
        file: file.to_owned(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "settlement_id,institution,at,insurance_code,units,amount,fund_paid\n";

    fn items(text: &str) -> Vec<Result<SettlementItem, SettlementFileError>> {
        SettlementReader::new(text.as_bytes(), "s.csv", 480)
            .unwrap()
            .collect()
    }

    #[test]
    fn rows_become_typed_items_with_the_defaults_of_left_out_fields() {
        let got = items(&format!(
            "{HEADER}S1,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,,12.50,\n\
             S2,P1,2025-04-08T10:30:00+08:00,XR05CBA198A001010100863,3,0.5,No\n"
        ));
        let got: Vec<SettlementItem> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].settlement.as_str(), "S1");
        assert_eq!(
            (got[0].units, got[0].amount, got[0].fund_paid),
            (None, Fen::new(1250), true)
        );
        assert_eq!(
            (got[1].units, got[1].amount, got[1].fund_paid),
            (Some(3), Fen::new(50), false)
        );
        // Both spellings of the time name one instant.
        assert_eq!(got[0].at, got[1].at);
    }

    #[test]
    fn the_first_bad_row_ends_the_file_and_a_header_alone_is_no_rows() {
        let got = items(&format!(
            "{HEADER}S1,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,,1,true\n\
             S2,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,,1,true,extra\n\
             S3,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,,1,true\n"
        ));
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        let e = got[1].as_ref().unwrap_err().to_string();
        assert_eq!(e, "s.csv line 3: the row has 8 fields, the header 7");
        let got = items(HEADER);
        assert!(
            matches!(got[..], [Err(SettlementFileError::NoRows { .. })]),
            "{got:?}"
        );
    }

    #[test]
    fn units_beyond_the_warehouse_column_are_refused() {
        let got = items(&format!(
            "{HEADER}S1,P1,2025-04-08 10:30:00,XR05CBA198A001010100863,3000000000,1,true\n"
        ));
        let e = got[0].as_ref().unwrap_err().to_string();
        assert!(e.contains("field units: 3000000000 is too large"), "{e}");
    }
}
