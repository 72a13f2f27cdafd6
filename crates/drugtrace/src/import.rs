//! `drugtrace import`: the ingest crate's pipeline, with a progress bar or plain progress
//! lines, and a summary for a person.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};
use drugtrace_ingest::{Format, ImportOptions, ImportSummary, ParseContext, import_file};
use drugtrace_ledger::{Ledger, Store};
use indicatif::{ProgressBar, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Progress {
    /// A bar when standard error is a terminal, plain lines otherwise.
    Auto,
    /// A progress bar.
    Bar,
    /// A line per durable commit: `committed N events through line L` (what was
    /// acknowledged, for scripts and logs).
    Plain,
    /// Only the summary.
    None,
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

/// Imports `opts.input` into `ledger`.
pub fn run<S: Store + Sync>(
    ledger: &Ledger<S>,
    ctx: ParseContext,
    opts: &Options,
) -> Result<ImportSummary> {
    let Some(format) = opts.format.or_else(|| Format::from_path(&opts.input)) else {
        bail!(
            "cannot tell the format of {} from its extension; pass --format csv or --format jsonl",
            opts.input.display()
        );
    };
    let rejects = opts.rejects.clone().unwrap_or_else(|| {
        let mut p = opts.input.clone().into_os_string();
        p.push(".rejects.csv");
        PathBuf::from(p)
    });
    let progress = match opts.progress {
        Progress::Auto if std::io::stderr().is_terminal() => Progress::Bar,
        Progress::Auto => Progress::Plain,
        p => p,
    };
    let bar = match progress {
        Progress::Bar => {
            let size = std::fs::metadata(&opts.input).map_or(0, |m| m.len());
            let bar = ProgressBar::new(size);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
                )
                .expect("a valid template"),
            );
            bar
        }
        _ => ProgressBar::hidden(),
    };
    let summary = import_file(
        ledger,
        &opts.input,
        ctx,
        &ImportOptions {
            format,
            batch: opts.batch,
            rejects,
        },
        |p| match progress {
            Progress::Bar => {
                bar.set_position(p.bytes_read);
                bar.set_message(format!("{} events", p.events));
            }
            Progress::Plain => {
                eprintln!("committed {} events through line {}", p.events, p.last_line)
            }
            _ => {}
        },
    )?;
    bar.finish_and_clear();
    Ok(summary)
}

/// Prints the summary for a person.
pub fn print_summary(s: &ImportSummary, out: &mut impl Write) -> std::io::Result<()> {
    let recorded = s.recorded();
    writeln!(
        out,
        "read {} lines ({:.1} MB) in {:.1} s",
        s.lines,
        s.bytes as f64 / 1e6,
        s.seconds
    )?;
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
