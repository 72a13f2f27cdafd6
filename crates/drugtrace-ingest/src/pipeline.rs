//! Importing a whole file: a reader thread parses lines into batches while the ledger judges
//! one batch and commits the one before; bad lines go to a reject file before any event of
//! their batch is acknowledged, so a crash never leaves a line neither recorded nor reported.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use drugtrace_ledger::{Event, Ledger, LedgerError, Store};

use crate::{Format, FormatError, Line, LineError, ParseContext, Reader};

/// Options of one import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The file's format.
    pub format: Format,
    /// Events per durable commit.
    pub batch: usize,
    /// Where bad lines go (the file is created only if there is one).
    pub rejects: PathBuf,
}

/// Where an import stands, after each durable commit.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportProgress {
    /// Bytes of the input read so far.
    pub bytes_read: u64,
    /// Every line up to this one is recorded durably or in the reject file.
    pub last_line: u64,
    /// Events acknowledged (recorded, or repeats of settlements already recorded).
    pub events: u64,
}

/// What an import saw and decided.
#[derive(Debug, Default, Clone)]
pub struct ImportSummary {
    /// Lines read (records, for CSV).
    pub lines: u64,
    /// Events recorded, by outcome as `Outcome` displays it: `accepted`,
    /// `flagged (unknown_code)`, `rejected (already_sold)`, ...
    pub outcomes: BTreeMap<String, u64>,
    /// Repeats of settlements already recorded: nothing new was recorded for them.
    pub replayed: u64,
    /// Lines that were not events, written to the reject file.
    pub bad_lines: u64,
    /// The reject file, if there were bad lines.
    pub rejects: Option<PathBuf>,
    /// Bytes of input.
    pub bytes: u64,
    /// Seconds taken.
    pub seconds: f64,
}

impl ImportSummary {
    /// Events the ledger recorded.
    pub fn recorded(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

/// Why an import stopped. Everything acknowledged before it stays recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The input could not be opened or read.
    #[error("reading {path}: {source}")]
    Input {
        /// The input.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The input is not in its format as a whole (a bad CSV header, say).
    #[error("{path}: {source}")]
    Format {
        /// The input.
        path: PathBuf,
        /// Why.
        source: FormatError,
    },
    /// The reject file could not be written.
    #[error("writing the reject file {path}: {reason}")]
    Rejects {
        /// The reject file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

struct Chunk {
    events: Vec<Event>,
    bad: Vec<(u64, LineError)>,
    last_line: u64,
}

struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The reject file, created at the first bad line.
struct Rejects {
    path: PathBuf,
    writer: Option<csv::Writer<BufWriter<File>>>,
}

impl Rejects {
    fn write(&mut self, bad: &[(u64, LineError)]) -> Result<(), ImportError> {
        let err = |reason: String| ImportError::Rejects {
            path: self.path.clone(),
            reason,
        };
        if self.writer.is_none() {
            let file = File::create(&self.path).map_err(|e| err(e.to_string()))?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(["line", "reason", "record"])
                .map_err(|e| err(e.to_string()))?;
            self.writer = Some(w);
        }
        let w = self.writer.as_mut().expect("just created");
        for (line, e) in bad {
            w.write_record([
                line.to_string().as_str(),
                e.reason.as_str(),
                e.record.as_deref().unwrap_or(""),
            ])
            .map_err(|e| err(e.to_string()))?;
        }
        w.flush().map_err(|e| err(e.to_string()))
    }

    /// Makes the reject file durable; returns its path if there was one.
    fn finish(self) -> Result<Option<PathBuf>, ImportError> {
        let Some(w) = self.writer else {
            return Ok(None);
        };
        let err = |reason: String| ImportError::Rejects {
            path: self.path.clone(),
            reason,
        };
        let buffered = w.into_inner().map_err(|e| err(e.error().to_string()))?;
        let file = buffered
            .into_inner()
            .map_err(|e| err(e.error().to_string()))?;
        drugtrace_durable::sync_file(&file, &self.path).map_err(|e| err(e.to_string()))?;
        Ok(Some(self.path))
    }
}

/// Imports `input` into `ledger`, calling `progress` after each durable commit.
pub fn import_file<S: Store + Sync>(
    ledger: &Ledger<S>,
    input: &Path,
    ctx: ParseContext,
    opts: &ImportOptions,
    mut progress: impl FnMut(&ImportProgress),
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let input_err = |source| ImportError::Input {
        path: input.to_path_buf(),
        source,
    };
    let file = File::open(input).map_err(input_err)?;
    let read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: file,
        read: Arc::clone(&read),
    };
    let reader = Reader::new(
        BufReader::with_capacity(1 << 20, counting),
        opts.format,
        ctx,
    )
    .map_err(|source| ImportError::Format {
        path: input.to_path_buf(),
        source,
    })?;

    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk, FormatError>>(4);
    let batch = opts.batch.max(1);
    let parser = std::thread::spawn(move || {
        let mut chunk = Chunk {
            events: Vec::with_capacity(batch),
            bad: Vec::new(),
            last_line: 0,
        };
        for line in reader {
            let Line { number, result } = match line {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            chunk.last_line = number;
            match result {
                Ok(event) => chunk.events.push(event),
                Err(e) => chunk.bad.push((number, e)),
            }
            if chunk.events.len() >= batch {
                let next = Chunk {
                    events: Vec::with_capacity(batch),
                    bad: Vec::new(),
                    last_line: number,
                };
                if tx.send(Ok(std::mem::replace(&mut chunk, next))).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send(Ok(chunk));
    });

    let mut summary = ImportSummary::default();
    let mut rejects = Rejects {
        path: opts.rejects.clone(),
        writer: None,
    };
    let mut failure: Option<ImportError> = None;
    let mut bad_lines = 0u64;
    let batches = rx.iter().map_while(|chunk| {
        let step = || -> Result<(u64, Vec<Event>), ImportError> {
            let chunk = chunk.map_err(|source| ImportError::Format {
                path: input.to_path_buf(),
                source,
            })?;
            if !chunk.bad.is_empty() {
                rejects.write(&chunk.bad)?;
                bad_lines += chunk.bad.len() as u64;
            }
            Ok((chunk.last_line, chunk.events))
        };
        step().map_err(|e| failure = Some(e)).ok()
    });
    let mut acknowledged = 0u64;
    ledger.record_stream(batches, |last_line, decisions| {
        summary.lines = last_line;
        for d in &decisions {
            if d.replayed {
                summary.replayed += 1;
            } else {
                *summary.outcomes.entry(d.outcome.to_string()).or_default() += 1;
            }
        }
        acknowledged += decisions.len() as u64;
        progress(&ImportProgress {
            bytes_read: read.load(Ordering::Relaxed),
            last_line,
            events: acknowledged,
        });
        Ok::<_, ImportError>(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    // The parser has sent everything (or failed, which was reported above).
    let _ = parser.join();
    summary.bad_lines = bad_lines;
    summary.rejects = rejects.finish()?;
    summary.bytes = read.load(Ordering::Relaxed);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
