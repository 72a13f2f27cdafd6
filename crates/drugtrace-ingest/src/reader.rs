//! File readers: each line (or CSV record) becomes an event or a line error, in order.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;

use drugtrace_ledger::Event;

use crate::fields::{FIELDS, ParseContext, Record};

/// Lines longer than this are rejected without being parsed, so one broken upload cannot
/// make the importer hold gigabytes in memory.
pub const MAX_LINE: usize = 64 * 1024;

/// The file formats events are imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row naming the fields.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format a file's extension names (`.csv`; `.jsonl`, `.ndjson`, `.json`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// One line's result.
#[derive(Debug)]
pub struct Line {
    /// The line's number in the file, from 1 (for CSV, the line the record starts on).
    pub number: u64,
    /// The event, or why the line is not one.
    pub result: Result<Event, LineError>,
}

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// What is wrong.
    pub reason: String,
    /// The record, with the person's identity redacted, when the line parsed into fields.
    pub record: Option<String>,
}

/// A problem with the file as a whole: nothing more can be read from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Reading failed.
    #[error("reading failed: {0}")]
    Io(#[from] io::Error),
    /// The CSV header names fields this format does not have, or lacks required ones.
    #[error("CSV header: {0}")]
    Header(String),
    /// The CSV reader failed in a way that ends the file.
    #[error("CSV: {0}")]
    Csv(String),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

enum Inner<R> {
    Json {
        input: R,
        line: u64,
        buf: Vec<u8>,
    },
    Csv {
        input: csv::Reader<R>,
        columns: Vec<usize>,
        record: csv::ByteRecord,
    },
}

/// Reads events from a file, one [`Line`] at a time.
pub struct Reader<R> {
    inner: Inner<R>,
    ctx: ParseContext,
}

impl<R: BufRead> Reader<R> {
    /// A reader of `input` in `format`. For CSV the header is read and checked here.
    pub fn new(input: R, format: Format, ctx: ParseContext) -> Result<Reader<R>, FormatError> {
        let inner = match format {
            Format::JsonLines => Inner::Json {
                input,
                line: 0,
                buf: Vec::new(),
            },
            Format::Csv => {
                let mut input = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .from_reader(input);
                let headers = input
                    .byte_headers()
                    .map_err(|e| FormatError::Csv(e.to_string()))?
                    .clone();
                let columns = check_header(&headers)?;
                Inner::Csv {
                    input,
                    columns,
                    record: csv::ByteRecord::new(),
                }
            }
        };
        Ok(Reader { inner, ctx })
    }
}

fn check_header(headers: &csv::ByteRecord) -> Result<Vec<usize>, FormatError> {
    let mut columns = Vec::new();
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let mut name = String::from_utf8_lossy(h).trim().to_owned();
        if i == 0 {
            name = name.trim_start_matches('\u{feff}').to_owned();
        }
        match Record::field_index(&name) {
            Some(f) if columns.contains(&f) => {
                return Err(FormatError::Header(format!(
                    "column `{name}` appears twice"
                )));
            }
            Some(f) => columns.push(f),
            None => unknown.push(name),
        }
    }
    if !unknown.is_empty() {
        return Err(FormatError::Header(format!(
            "unknown column(s) {}; the columns are: {}",
            unknown.join(", "),
            FIELDS.join(", ")
        )));
    }
    let missing: Vec<&str> = ["type", "code", "at", "institution"]
        .into_iter()
        .filter(|f| !columns.contains(&Record::field_index(f).expect("known")))
        .collect();
    if !missing.is_empty() {
        return Err(FormatError::Header(format!(
            "missing required column(s) {}",
            missing.join(", ")
        )));
    }
    Ok(columns)
}

/// Reads one line of at most [`MAX_LINE`] bytes into `buf` (without its line end). Returns
/// `None` at the end of input, or `Some(false)` for a line that was too long (skipped).
fn read_line_limited<R: BufRead>(input: &mut R, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut fits = true;
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if fits {
            if buf.len() + take > MAX_LINE + 2 {
                fits = false;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        input.consume(take);
        if done {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(fits))
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Line, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Json { input, line, buf } => loop {
                let fits = match read_line_limited(input, buf) {
                    Ok(None) => return None,
                    Ok(Some(fits)) => fits,
                    Err(e) => return Some(Err(e.into())),
                };
                *line += 1;
                let number = *line;
                let fail = |reason: String, record: Option<String>| {
                    Some(Ok(Line {
                        number,
                        result: Err(LineError { reason, record }),
                    }))
                };
                if !fits {
                    return fail(format!("line is longer than {MAX_LINE} bytes"), None);
                }
                let mut text = match std::str::from_utf8(buf) {
                    Ok(t) => t,
                    Err(e) => return fail(format!("line is not UTF-8: {e}"), None),
                };
                if number == 1 {
                    text = text.trim_start_matches('\u{feff}');
                }
                if text.trim().is_empty() {
                    continue;
                }
                let record: Record<'_> = match serde_json::from_str(text) {
                    Ok(r) => r,
                    Err(e) => return fail(format!("not a JSON event record: {e}"), None),
                };
                let result = record.to_event(&self.ctx).map_err(|e| LineError {
                    reason: e.to_string(),
                    record: Some(record.redacted_json()),
                });
                return Some(Ok(Line { number, result }));
            },
            Inner::Csv {
                input,
                columns,
                record,
            } => {
                let read = input.read_byte_record(record);
                let number = record.position().map_or(0, |p| p.line());
                match read {
                    Ok(false) => None,
                    Ok(true) => Some(Ok(csv_line(record, columns, number, &self.ctx))),
                    Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                        Some(Err(FormatError::Csv(e.to_string())))
                    }
                    Err(e) => {
                        let number = e.position().map_or(number, |p| p.line());
                        Some(Ok(Line {
                            number,
                            result: Err(LineError {
                                reason: format!("malformed CSV record: {e}"),
                                record: None,
                            }),
                        }))
                    }
                }
            }
        }
    }
}

fn csv_line(record: &csv::ByteRecord, columns: &[usize], number: u64, ctx: &ParseContext) -> Line {
    let mut rec = Record::default();
    for (value, &field) in record.iter().zip(columns) {
        match std::str::from_utf8(value) {
            Ok(v) => rec.set(field, Cow::Borrowed(v)),
            Err(_) => {
                return Line {
                    number,
                    result: Err(LineError {
                        reason: format!("field `{}` is not UTF-8", FIELDS[field]),
                        record: None,
                    }),
                };
            }
        }
    }
    let result = rec.to_event(ctx).map_err(|e| LineError {
        reason: e.to_string(),
        record: Some(rec.redacted_json()),
    });
    Line { number, result }
}
