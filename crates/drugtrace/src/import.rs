//! `drugtrace import`: a reader thread parses the file while this thread judges and commits
//! batches; bad lines go to a reject file, good ones are kept.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use drugtrace_ingest::{Format, Line, LineError, ParseContext, Reader};
use drugtrace_ledger::{Event, Ledger, Outcome, Store};
use indicatif::{ProgressBar, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Progress {
    /// A bar when standard error is a terminal, plain lines otherwise.
    Auto,
    /// A progress bar.
    Bar,
    /// A line per committed batch: `committed N events through line L` (what was
    /// acknowledged, for scripts and logs).
    Plain,
    /// Only the summary.
    None,
}

/// What the import saw and decided.
#[derive(Debug, Default)]
pub struct Summary {
    /// Lines read (records, for CSV).
    pub lines: u64,
    /// Events recorded, by outcome: `accepted`, `flagged (reason)`, `rejected (reason)`.
    pub outcomes: BTreeMap<String, u64>,
    /// Repeats of settlements already recorded, recorded nothing.
    pub replayed: u64,
    /// Lines that were not events, written to the reject file.
    pub bad_lines: u64,
    /// Where the bad lines went.
    pub rejects: Option<PathBuf>,
    /// Seconds taken.
    pub seconds: f64,
}

impl Summary {
    /// Events the ledger recorded.
    pub fn recorded(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

/// Options of one import.
pub struct Options {
    /// The input file.
    pub input: PathBuf,
    /// Its format (else from the extension).
    pub format: Option<Format>,
    /// Where bad lines go (else next to the input).
    pub rejects: Option<PathBuf>,
    /// Events per commit.
    pub batch: usize,
    /// How to show progress.
    pub progress: Progress,
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

/// Imports `opts.input` into `ledger`.
pub fn run<S: Store>(ledger: &Ledger<S>, ctx: ParseContext, opts: &Options) -> Result<Summary> {
    let started = Instant::now();
    let format = match opts.format.or_else(|| Format::from_path(&opts.input)) {
        Some(f) => f,
        None => bail!(
            "cannot tell the format of {} from its extension; pass --format csv or --format jsonl",
            opts.input.display()
        ),
    };
    let file =
        File::open(&opts.input).with_context(|| format!("opening {}", opts.input.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: file,
        read: Arc::clone(&read),
    };
    let reader = Reader::new(BufReader::with_capacity(1 << 20, counting), format, ctx)
        .with_context(|| format!("reading {}", opts.input.display()))?;

    let progress = match opts.progress {
        Progress::Auto if std::io::stderr().is_terminal() => Progress::Bar,
        Progress::Auto => Progress::Plain,
        p => p,
    };
    let bar = if progress == Progress::Bar {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
            )
            .expect("a valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let rejects_path = opts.rejects.clone().unwrap_or_else(|| {
        let mut p = opts.input.clone().into_os_string();
        p.push(".rejects.csv");
        PathBuf::from(p)
    });
    let mut rejects: Option<csv::Writer<BufWriter<File>>> = None;
    let mut summary = Summary::default();

    let (tx, rx) = crossbeam_channel::bounded::<Result<Chunk>>(4);
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
                    let _ = tx.send(Err(anyhow::Error::new(e)));
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

    // Bad lines are written to the reject file as their chunk arrives, before any event
    // of the chunk can be acknowledged, so a crash never leaves a line neither recorded nor
    // reported.
    let mut failure: Option<anyhow::Error> = None;
    let mut bad_lines = 0u64;
    let batches = rx.iter().map_while(|chunk| {
        let step = || -> Result<(u64, Vec<Event>)> {
            let chunk = chunk?;
            if !chunk.bad.is_empty() {
                let w = match &mut rejects {
                    Some(w) => w,
                    None => rejects.insert(open_rejects(&rejects_path)?),
                };
                for (line, e) in &chunk.bad {
                    w.write_record([
                        line.to_string().as_str(),
                        e.reason.as_str(),
                        e.record.as_deref().unwrap_or(""),
                    ])?;
                }
                w.flush()?;
                bad_lines += chunk.bad.len() as u64;
            }
            Ok((chunk.last_line, chunk.events))
        };
        step().map_err(|e| failure = Some(e)).ok()
    });
    ledger.record_stream(batches, |last_line, decisions| {
        summary.lines = last_line;
        for d in &decisions {
            if d.replayed {
                summary.replayed += 1;
            } else {
                *summary.outcomes.entry(outcome_key(d.outcome)).or_default() += 1;
            }
        }
        match progress {
            Progress::Bar => {
                bar.set_position(read.load(Ordering::Relaxed));
                bar.set_message(format!("{} events", summary.recorded()));
            }
            Progress::Plain => eprintln!(
                "committed {} events through line {last_line}",
                summary.recorded() + summary.replayed
            ),
            _ => {}
        }
        Ok::<_, anyhow::Error>(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    summary.bad_lines = bad_lines;
    parser
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    if let Some(w) = rejects {
        let file = w
            .into_inner()
            .map_err(|e| anyhow::anyhow!("writing the reject file: {}", e.error()))?;
        file.into_inner()
            .map_err(|e| anyhow::anyhow!("writing the reject file: {}", e.error()))?
            .sync_all()?;
        summary.rejects = Some(rejects_path);
    }
    bar.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn outcome_key(o: Outcome) -> String {
    o.to_string()
}

fn open_rejects(path: &Path) -> Result<csv::Writer<BufWriter<File>>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    w.write_record(["line", "reason", "record"])?;
    Ok(w)
}

/// Prints the summary for a person.
pub fn print_summary(s: &Summary, out: &mut impl Write) -> std::io::Result<()> {
    let recorded = s.recorded();
    writeln!(out, "read {} lines in {:.1} s", s.lines, s.seconds)?;
    writeln!(
        out,
        "recorded {recorded} events ({:.0} events/s)",
        recorded as f64 / s.seconds.max(1e-9)
    )?;
    for (k, n) in &s.outcomes {
        writeln!(out, "  {n:>12}  {k}")?;
    }
    if s.replayed > 0 {
        writeln!(
            out,
            "skipped {} repeats of settlements already recorded",
            s.replayed
        )?;
    }
    match &s.rejects {
        Some(p) => writeln!(
            out,
            "{} bad lines were not imported; see {}",
            s.bad_lines,
            p.display()
        )?,
        None => writeln!(out, "no bad lines")?,
    }
    Ok(())
}
