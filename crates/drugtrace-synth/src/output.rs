//! The public entry point: options, the summary, errors, and the loop that generates
//! packs a window at a time and writes every file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::catalog::Catalog;
use crate::event::Kind;
use crate::scenario::Gen;
use crate::world::World;
use crate::write::{CSV_CASE_COLUMN, CSV_HEADER, Names, SETTLEMENTS_HEADER};

/// Which event files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    /// `events.jsonl`.
    pub jsonl: bool,
    /// `events.csv`.
    pub csv: bool,
    /// `nhsa/requests.jsonl`.
    pub nhsa: bool,
}

impl Default for Formats {
    /// JSON Lines only.
    fn default() -> Self {
        Formats {
            jsonl: true,
            csv: false,
            nhsa: false,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// Packs to generate (each gets a chain of events).
    pub packs: u64,
    /// The seed: the same seed and pack count give byte-identical files.
    pub seed: u64,
    /// The directory to write into (created if missing; files in it are replaced).
    pub out: PathBuf,
    /// Which event files to write.
    pub formats: Formats,
    /// The share of packs that carry planted fraud, from 0 to 1.
    pub fraud_rate: f64,
    /// The share of honest packs still on a shelf at the end, from 0 to
    /// [`MAX_IN_STOCK`] (default [`DEFAULT_IN_STOCK`]): 1% of honest packs are destroyed
    /// and 0.5% recalled whatever it is, and the rest are sold. A benchmark of the gate
    /// raises it, so that its sales are first sales of packs in stock, as most of a real
    /// day's are, not of packs the province has sold already.
    pub in_stock: f64,
    /// Plant real-upload noise on honest packs (corrections, re-sends, late intakes, a
    /// manufacturer that uploads no commissions…) and list it in `noise.jsonl`; see the
    /// crate docs. Off by default: without it the files are what they always were.
    pub upload_noise: bool,
    /// Have a few manufacturers pack boxes into cases that travel as one code, and plant
    /// `case_box_diverted` among them; see the crate docs. Off by default.
    pub packaging: bool,
}

impl SynthOptions {
    /// Options for `packs` packs from `seed` into `out`, JSON Lines only, 1% fraud.
    pub fn new(packs: u64, seed: u64, out: impl Into<PathBuf>) -> SynthOptions {
        SynthOptions {
            packs,
            seed,
            out: out.into(),
            formats: Formats::default(),
            fraud_rate: 0.01,
            in_stock: DEFAULT_IN_STOCK,
            upload_noise: false,
            packaging: false,
        }
    }
}

/// The share of honest packs left in stock unless [`SynthOptions::in_stock`] says otherwise.
pub const DEFAULT_IN_STOCK: f64 = 0.10;

/// The largest [`SynthOptions::in_stock`]: the destroyed and recalled packs keep their share.
pub const MAX_IN_STOCK: f64 = 0.985;

/// What was generated.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSummary {
    /// Packs generated.
    pub packs: u64,
    /// Event records written (a record sent twice counts twice).
    pub events: u64,
    /// Products in the catalog.
    pub products: usize,
    /// Institutions.
    pub institutions: usize,
    /// Insured persons that sales draw from.
    pub persons: u64,
    /// Settled drug items written to `settlements.csv` (one per sale).
    pub settled_items: u64,
    /// Of those, sales whose trace code was never uploaded (absent from the event files).
    pub missed_scans: u64,
    /// Planted fraud cases, by kind.
    pub fraud_cases: BTreeMap<String, u64>,
    /// Planted noise instances (lines of `noise.jsonl`), by class; empty without
    /// [`SynthOptions::upload_noise`].
    pub noise: BTreeMap<String, u64>,
    /// Cases packed (0 without [`SynthOptions::packaging`]).
    pub cases: u64,
    /// Boxes packed into them: packs beyond [`SynthSummary::packs`].
    pub case_boxes: u64,
    /// Wall-clock time taken.
    pub seconds: f64,
    /// Bytes written, all files together.
    pub bytes: u64,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// The options make no sense.
    #[error("invalid options: {0}")]
    Options(String),
    /// Creating or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

/// Packs generated and sorted together. Bigger windows mix packs' events more; memory is
/// about a kilobyte per pack.
const WINDOW: u64 = 512;

/// Buffered bytes per file before they are handed to the file's writer.
const FLUSH_AT: usize = 1 << 16;

/// An output file: its path, for errors, and the bytes written to it.
struct Sink {
    path: PathBuf,
    file: BufWriter<File>,
    buf: Vec<u8>,
    bytes: u64,
}

impl Sink {
    fn create(path: PathBuf) -> Result<Sink, SynthError> {
        let file = File::create(&path).map_err(|source| SynthError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Sink {
            path,
            file: BufWriter::with_capacity(1 << 17, file),
            buf: Vec::with_capacity(FLUSH_AT * 2),
            bytes: 0,
        })
    }

    fn err(&self) -> impl FnOnce(io::Error) -> SynthError + '_ {
        |source| SynthError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn maybe_flush(&mut self) -> Result<(), SynthError> {
        if self.buf.len() >= FLUSH_AT {
            self.drain()?;
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), SynthError> {
        self.bytes += self.buf.len() as u64;
        let r = self.file.write_all(&self.buf);
        self.buf.clear();
        r.map_err(self.err())
    }

    fn finish(mut self) -> Result<u64, SynthError> {
        self.drain()?;
        self.file.flush().map_err(self.err())?;
        Ok(self.bytes)
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a small file whole.
fn small_file(
    path: PathBuf,
    f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
) -> Result<u64, SynthError> {
    let mut buf = Vec::new();
    f(&mut buf).map_err(io_at(&path))?;
    fs::write(&path, &buf).map_err(io_at(&path))?;
    Ok(buf.len() as u64)
}

/// Generates the synthetic province described in the crate docs into `opts.out`.
pub fn generate(opts: &SynthOptions) -> Result<SynthSummary, SynthError> {
    let started = Instant::now();
    if !(0.0..=1.0).contains(&opts.fraud_rate) {
        return Err(SynthError::Options(format!(
            "fraud_rate {} is not between 0 and 1",
            opts.fraud_rate
        )));
    }
    if !(0.0..=MAX_IN_STOCK).contains(&opts.in_stock) {
        return Err(SynthError::Options(format!(
            "in_stock {} is not between 0 and {MAX_IN_STOCK}",
            opts.in_stock
        )));
    }
    fs::create_dir_all(&opts.out).map_err(io_at(&opts.out))?;
    let world = World::new(opts.seed);
    let catalog = Catalog::new(opts.seed, &world);
    let dir = &opts.out;
    let mut bytes = small_file(dir.join("catalog.csv"), |b| catalog.write_csv(b, &world))?;
    bytes += small_file(dir.join("catalog_en.csv"), |b| {
        catalog.write_en_csv(b, &world)
    })?;
    bytes += small_file(dir.join("institutions.csv"), |b| world.write_csv(b))?;

    let mut jsonl = opts
        .formats
        .jsonl
        .then(|| Sink::create(dir.join("events.jsonl")))
        .transpose()?;
    let mut csv = opts
        .formats
        .csv
        .then(|| Sink::create(dir.join("events.csv")))
        .transpose()?;
    if let Some(s) = &mut csv {
        if opts.packaging {
            s.buf
                .extend_from_slice(CSV_HEADER.trim_end_matches('\n').as_bytes());
            s.buf.extend_from_slice(CSV_CASE_COLUMN.as_bytes());
            s.buf.push(b'\n');
        } else {
            s.buf.extend_from_slice(CSV_HEADER.as_bytes());
        }
    }
    let mut settlements = Sink::create(dir.join("settlements.csv"))?;
    settlements
        .buf
        .extend_from_slice(SETTLEMENTS_HEADER.as_bytes());
    let mut nhsa = if opts.formats.nhsa {
        let nhsa_dir = dir.join("nhsa");
        fs::create_dir_all(&nhsa_dir).map_err(io_at(&nhsa_dir))?;
        Some(Sink::create(nhsa_dir.join("requests.jsonl"))?)
    } else {
        None
    };
    let truth_path = dir.join("truth.jsonl");
    let truth_file = File::create(&truth_path).map_err(io_at(&truth_path))?;
    let truth = CountingWriter {
        inner: BufWriter::new(truth_file),
        bytes: 0,
    };
    let noise_path = dir.join("noise.jsonl");
    let noise = if opts.upload_noise {
        let file = File::create(&noise_path).map_err(io_at(&noise_path))?;
        Some(CountingWriter {
            inner: BufWriter::new(file),
            bytes: 0,
        })
    } else {
        None
    };

    let names = Names {
        world: &world,
        catalog: &catalog,
        case_column: opts.packaging,
    };
    let mut generator = Gen::new(&world, &catalog, opts, truth, noise);
    let mut order: Vec<(i64, u32)> = Vec::new();
    let mut events = 0u64;
    let (mut settled_items, mut missed_scans) = (0u64, 0u64);
    let mut msg = 0u64;
    let mut start = 0u64;
    while start < opts.packs {
        let end = (start + WINDOW).min(opts.packs);
        generator.window.clear();
        generator.events.clear();
        for i in start..end {
            generator.pack(i).map_err(io_at(&truth_path))?;
        }
        for g in crate::cases::cases_among(start, end) {
            generator.pack_case(g).map_err(io_at(&truth_path))?;
        }
        // Sorting by (upload time, generation order) keeps each pack's own order for
        // events uploaded at the same second.
        order.clear();
        order.extend(
            generator
                .events
                .iter()
                .enumerate()
                .map(|(j, e)| (e.key, j as u32)),
        );
        order.sort_unstable();
        for &(_, j) in &order {
            let ev = &generator.events[j as usize];
            let pack = &generator.window[ev.pack as usize];
            let case = (ev.kind == Kind::Pack).then(|| &generator.window[ev.other as usize]);
            let copies = if ev.duplicate { 2 } else { 1 };
            if ev.kind == Kind::Sale {
                settled_items += 1;
                names.settlement(&mut settlements.buf, ev);
                if ev.missed {
                    missed_scans += 1;
                    // The message numbers it would have used stay unused, so that every
                    // other request keeps its `msgid`.
                    if nhsa.is_some() {
                        msg += copies;
                    }
                    continue;
                }
            }
            events += copies;
            for _ in 0..copies {
                if let Some(s) = &mut jsonl {
                    names.json(&mut s.buf, ev, pack, case);
                }
                if let Some(s) = &mut csv {
                    names.csv(&mut s.buf, ev, pack, case);
                }
                if let Some(s) = &mut nhsa {
                    msg += 1;
                    names.nhsa(&mut s.buf, ev, pack, msg);
                }
            }
        }
        for s in [&mut jsonl, &mut csv, &mut nhsa].into_iter().flatten() {
            s.maybe_flush()?;
        }
        settlements.maybe_flush()?;
        start = end;
    }
    let persons = generator.population();
    let (cases, case_boxes) = generator
        .packaging
        .as_ref()
        .map_or((0, 0), |p| (p.cases, p.boxes));
    let mut noise_counts = BTreeMap::new();
    if let Some(log) = generator.noise.take() {
        let (mut out, counts) = log.finish();
        out.inner.flush().map_err(io_at(&noise_path))?;
        bytes += out.bytes;
        noise_counts = counts;
    }
    let (mut truth, fraud_cases) = generator.truth.finish(&world).map_err(io_at(&truth_path))?;
    truth.inner.flush().map_err(io_at(&truth_path))?;
    bytes += truth.bytes;
    for s in [jsonl, csv, nhsa].into_iter().flatten() {
        bytes += s.finish()?;
    }
    bytes += settlements.finish()?;
    Ok(SynthSummary {
        packs: opts.packs,
        events,
        products: catalog.products.len(),
        institutions: world.len(),
        persons,
        settled_items,
        missed_scans,
        fraud_cases,
        noise: noise_counts,
        cases,
        case_boxes,
        seconds: started.elapsed().as_secs_f64(),
        bytes,
    })
}

/// A writer that counts the bytes through it.
struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
