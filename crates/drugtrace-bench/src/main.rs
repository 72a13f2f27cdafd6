//! `drugtrace-bench`: measures the ledger on the embedded store and prints each figure
//! beside a baseline measured in the same run on the same machine.
//!
//! - durable bulk import (events/s), beside fjall alone writing the same records with the
//!   same batches and fsyncs, without reading or judging anything;
//! - gate decisions (decisions/s): the pure decision, durable batched decisions, and
//!   concurrent single decisions sharing fsyncs, beside the in-memory store;
//! - warm lookups of a pack's state and history (p50/p99), beside a bare fjall `get`.

mod postgres;
mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use drugtrace_catalog::Catalog;
use drugtrace_ledger::testkit::Rng;
use drugtrace_ledger::{Ledger, MemStore, PackState, Policy, Store, gate};
use drugtrace_store_fjall::{FjallStore, codec};

use workload::Waves;

/// The same allocator as the `drugtrace` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about)]
struct Args {
    /// Events to import (5 per pack: commission, ship, receive, intake, sale).
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Packs stored when lookups are measured (commission-only packs are added up to it).
    #[arg(long, default_value_t = 10_000_000)]
    lookup_packs: u64,
    /// Events per durable commit during import.
    #[arg(long, default_value_t = 20_000)]
    batch: usize,
    /// Where the stores go (removed afterwards unless --keep).
    #[arg(long, default_value = "bench-data")]
    dir: PathBuf,
    /// Keep the stores.
    #[arg(long)]
    keep: bool,
    /// Measure the import only (for profiling it).
    #[arg(long)]
    only_import: bool,
    /// Skip the baselines (for profiling).
    #[arg(long)]
    no_baseline: bool,
    /// Measure the ledger on PostgreSQL (a throwaway server, scripts/postgres) beside fjall
    /// instead, importing --events events.
    #[arg(long)]
    postgres: bool,
}

struct Row {
    what: String,
    ours: String,
    baseline_name: String,
    baseline: String,
    ratio: String,
}

impl Row {
    /// A row of two rates in one `unit` (`events/s`): ours against the baseline named.
    fn rates(
        what: impl Into<String>,
        ours: f64,
        baseline_name: impl Into<String>,
        baseline: f64,
        unit: &str,
    ) -> Row {
        Row {
            what: what.into(),
            ours: format!("{ours:.0} {unit}"),
            baseline_name: baseline_name.into(),
            baseline: format!("{baseline:.0} {unit}"),
            ratio: format!("{:.2}", ours / baseline),
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)?;
    }
    std::fs::create_dir_all(&args.dir)?;
    let mut rows = Vec::new();
    if args.postgres {
        rows = postgres::rows(&args.dir, args.events, args.batch)?;
        print_rows(&rows);
        if !args.keep {
            std::fs::remove_dir_all(&args.dir)?;
        }
        return Ok(());
    }

    // Import, and its baseline.
    let packs = args.events / 5;
    let store = Arc::new(FjallStore::open(&args.dir.join("ledger"))?);
    let ledger = Ledger::new(Arc::clone(&store), Catalog::default(), Policy::default());
    // Events are prepared beforehand, as the baseline's records are: only recording is timed.
    let batches: Vec<_> = Waves::new(packs, args.batch).collect();
    let events: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let started = Instant::now();
    ledger.record_stream(batches.into_iter().map(|b| ((), b)), |(), _| {
        Ok::<_, drugtrace_ledger::LedgerError>(())
    })?;
    let ours = events as f64 / started.elapsed().as_secs_f64();

    // End to end: the same events as a JSON Lines file, parsed and recorded in a new store.
    let file_row = if args.only_import || args.no_baseline {
        None
    } else {
        Some(file_import(&args.dir, packs, args.batch, ours)?)
    };

    // Fill up to the lookup size with commission-only packs.
    if args.only_import {
    } else if args.lookup_packs > packs {
        for batch in workload::commissions(packs, args.lookup_packs, 50_000) {
            ledger.record_batch(&batch)?;
        }
    }
    let total_packs = args.lookup_packs.max(packs);

    if !args.only_import {
        lookups(&store, total_packs, &mut rows)?;
        gate_rows(&ledger, packs, &mut rows)?;
    }

    // The baseline runs last, with the ledger's store closed, so that neither run's
    // background flushing and compaction falls into the other's timing.
    drop(ledger);
    drop(store);
    let base = if args.no_baseline {
        f64::NAN
    } else {
        baseline_import(&args.dir.join("baseline"), packs, args.batch)?
    };
    rows.insert(
        0,
        Row::rates(
            format!("durable import, {events} events, {} per commit", args.batch),
            ours,
            "fjall alone: same records, batches, fsyncs",
            base,
            "events/s",
        ),
    );

    if let Some(r) = file_row {
        rows.insert(1, r);
    }

    print_rows(&rows);
    if !args.keep {
        std::fs::remove_dir_all(&args.dir)?;
    }
    Ok(())
}

/// `threads` threads each recording `per_thread` sales one by one, each awaiting its own
/// durable decision; thread `t`'s `i`-th sale is of pack `first + t * stride + i`. Returns
/// the decisions per second and the sorted latencies.
fn single_decisions<S: Store>(
    ledger: &Ledger<S>,
    threads: u64,
    per_thread: u64,
    first: u64,
    stride: u64,
) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(per_thread as usize);
                    for i in 0..per_thread {
                        let n = first + t * stride + i;
                        let e = workload::sale(
                            drugtrace_ledger::testkit::pack(n),
                            n,
                            4_000_000_000 + n,
                        );
                        let t0 = Instant::now();
                        ledger.record(e).expect("recorded");
                        lat.push(t0.elapsed());
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("joined"))
            .collect()
    });
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    (rate, latencies)
}

fn print_rows(rows: &[Row]) {
    println!();
    println!(
        "| measurement | drugtrace | baseline | baseline figure | ratio |\n|---|---|---|---|---|"
    );
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.what, r.ours, r.baseline_name, r.baseline, r.ratio
        );
    }
}

/// An event's key and value, and its pack's state key and value.
type KvPair = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

/// fjall alone, writing the bytes our import writes (an event record and a state per event)
/// in the same batches, with an fsync per batch: the ceiling for the ledger's import.
fn baseline_import(dir: &std::path::Path, packs: u64, batch: usize) -> Result<f64> {
    let db = fjall::Database::builder(dir)
        .manual_journal_persist(true)
        .cache_size(512 * 1024 * 1024)
        .open()?;
    let events_ks = db.keyspace("events", fjall::KeyspaceCreateOptions::default)?;
    let states_ks = db.keyspace("states", fjall::KeyspaceCreateOptions::default)?;
    // Records are prepared beforehand, so that only writing is timed.
    let prepared: Vec<Vec<KvPair>> = Waves::new(packs, batch)
        .map(|events| {
            let mut states = std::collections::HashMap::<_, PackState>::new();
            events
                .into_iter()
                .map(|e| {
                    let state = states.entry(e.pack).or_default();
                    let rec = drugtrace_ledger::Recorded {
                        index: state.events,
                        recorded_at: e.at,
                        event: e,
                        outcome: drugtrace_ledger::Outcome::Accepted,
                    };
                    state.apply(&rec);
                    (
                        codec::event_key(&rec.event.pack, rec.index),
                        codec::encode_recorded(&rec),
                        codec::pack_prefix(&rec.event.pack),
                        codec::encode_state(state),
                    )
                })
                .collect()
        })
        .collect();
    let n: usize = prepared.iter().map(Vec::len).sum();
    let started = Instant::now();
    for b in prepared {
        let mut wb = db.batch();
        for (ek, ev, sk, sv) in b {
            wb.insert(&events_ks, ek, ev);
            wb.insert(&states_ks, sk, sv);
        }
        wb.commit()?;
        db.persist(fjall::PersistMode::SyncAll)?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Writes the import's events as JSON Lines and imports the file into a new store the way
/// `drugtrace import` does, beside the ledger's import of the same events already parsed.
fn file_import(dir: &std::path::Path, packs: u64, batch: usize, parsed_rate: f64) -> Result<Row> {
    use std::io::Write as _;
    let path = dir.join("events.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut line = String::new();
        for b in Waves::new(packs, batch) {
            for e in &b {
                line.clear();
                workload::to_json_line(e, &mut line);
                f.write_all(line.as_bytes())?;
            }
        }
        f.into_inner()?.sync_all()?;
    }
    let store = FjallStore::open(&dir.join("file-import"))?;
    let ledger = Ledger::new(store, Catalog::default(), Policy::default());
    let ctx = drugtrace_ingest::ParseContext {
        person_key: drugtrace_ledger::PersonKey::from_bytes([9; 32]),
        local_offset_minutes: 480,
    };
    let summary = drugtrace_ingest::import_file(
        &ledger,
        &path,
        ctx,
        &drugtrace_ingest::ImportOptions {
            format: drugtrace_ingest::Format::JsonLines,
            batch,
            rejects: dir.join("events.jsonl.rejects.csv"),
        },
        |_| {},
    )?;
    anyhow::ensure!(summary.bad_lines == 0, "the benchmark file has bad lines");
    let rate = summary.recorded() as f64 / summary.seconds;
    std::fs::remove_file(&path)?;
    Ok(Row::rates(
        format!(
            "durable import of a JSON Lines file, {} events ({:.0} MB), parse + record",
            summary.recorded(),
            summary.bytes as f64 / 1e6
        ),
        rate,
        "the same events already parsed (row above)",
        parsed_rate,
        "events/s",
    ))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn lookups(store: &FjallStore, packs: u64, rows: &mut Vec<Row>) -> Result<()> {
    const SAMPLES: usize = 200_000;
    let mut rng = Rng::new(77);
    let keys: Vec<_> = (0..SAMPLES)
        .map(|_| drugtrace_ledger::testkit::pack(rng.below(packs)))
        .collect();
    // Warm: the same keys once, untimed.
    for k in &keys {
        store.pack(k)?;
        store.history(k)?;
    }
    let mut state_t = Vec::with_capacity(SAMPLES);
    let mut hist_t = Vec::with_capacity(SAMPLES);
    let mut raw_t = Vec::with_capacity(SAMPLES);
    for k in &keys {
        let t = Instant::now();
        let s = store.pack(k)?;
        state_t.push(t.elapsed());
        assert!(s.is_some(), "every benchmark pack is stored");
        let t = Instant::now();
        let h = store.history(k)?;
        hist_t.push(t.elapsed());
        assert!(!h.is_empty());
        let t = Instant::now();
        let v = store.raw_state_bytes(k)?;
        raw_t.push(t.elapsed());
        assert!(v.is_some());
    }
    // Packs not looked up before: the stripe cache mostly misses, the engine answers.
    let mut cold_t = Vec::with_capacity(SAMPLES);
    let mut rng = Rng::new(78);
    for _ in 0..SAMPLES {
        let k = drugtrace_ledger::testkit::pack(rng.below(packs));
        let t = Instant::now();
        let s = store.pack(&k)?;
        cold_t.push(t.elapsed());
        assert!(s.is_some());
    }
    state_t.sort();
    hist_t.sort();
    raw_t.sort();
    cold_t.sort();
    for (what, t) in [
        ("warm lookup of state", &state_t),
        ("warm lookup of history", &hist_t),
        ("first lookup of state", &cold_t),
    ] {
        rows.push(Row {
            what: format!("{what}, {packs} packs stored, p50 / p99"),
            ours: format!(
                "{} / {}",
                micros(percentile(t, 0.5)),
                micros(percentile(t, 0.99))
            ),
            baseline_name: "bare fjall get of the state bytes".into(),
            baseline: format!(
                "{} / {}",
                micros(percentile(&raw_t, 0.5)),
                micros(percentile(&raw_t, 0.99))
            ),
            ratio: format!(
                "{:.2} / {:.2}",
                percentile(t, 0.5).as_secs_f64() / percentile(&raw_t, 0.5).as_secs_f64(),
                percentile(t, 0.99).as_secs_f64() / percentile(&raw_t, 0.99).as_secs_f64()
            ),
        });
    }
    Ok(())
}

fn gate_rows(ledger: &Ledger<Arc<FjallStore>>, packs: u64, rows: &mut Vec<Row>) -> Result<()> {
    // The pure decision over states in memory: what the CPU allows.
    let states: Vec<(PackState, drugtrace_ledger::Event)> = (0..100_000u64)
        .map(|i| {
            let key = drugtrace_ledger::testkit::pack(i % packs);
            let state = ledger.pack(&key).ok().flatten().unwrap_or_default();
            (state, workload::sale(key, i, 1_000_000_000 + i))
        })
        .collect();
    let catalog = Catalog::default();
    let policy = Policy::default();
    let cx = gate::Context {
        catalog: std::sync::Arc::new(catalog),
        recalls: std::sync::Arc::default(),
        policy: &policy,
        now: drugtrace_ledger::Timestamp::now(),
        by: drugtrace_ledger::Authority::Operator,
    };
    let started = Instant::now();
    let mut allowed = 0u64;
    for _ in 0..10 {
        for (s, e) in &states {
            if let gate::Verdict::Record(_, o) = gate::judge(s, e, &cx) {
                allowed += u64::from(o.is_applied());
            }
        }
    }
    let pure = 1_000_000.0 / started.elapsed().as_secs_f64();
    std::hint::black_box(allowed);

    // The in-memory store: the ledger's own cost without a disk.
    let mem = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let sales: Vec<_> = (0..200_000u64)
        .map(|i| workload::sale(drugtrace_ledger::testkit::pack(i / 2), i, 2_000_000_000 + i))
        .collect();
    let started = Instant::now();
    for chunk in sales.chunks(1000) {
        mem.record_batch(chunk)?;
    }
    let mem_rate = sales.len() as f64 / started.elapsed().as_secs_f64();

    // Durable, 1,000 decisions per commit, half on packs already sold (blocked).
    let sales: Vec<_> = (0..200_000u64)
        .map(|i| {
            let n = if i % 2 == 0 {
                i / 2 % packs
            } else {
                packs + 20_000_000 + i
            };
            workload::sale(drugtrace_ledger::testkit::pack(n), i, 3_000_000_000 + i)
        })
        .collect();
    let n = sales.len();
    let chunks: Vec<Vec<_>> = sales.chunks(1000).map(<[_]>::to_vec).collect();
    let started = Instant::now();
    ledger.record_stream(chunks.into_iter().map(|c| ((), c)), |(), _| {
        Ok::<_, drugtrace_ledger::LedgerError>(())
    })?;
    let batched = n as f64 / started.elapsed().as_secs_f64();
    rows.push(Row {
        what: "gate: pure decision (no storage)".into(),
        ours: format!("{pure:.0} decisions/s"),
        baseline_name: "-".into(),
        baseline: "-".into(),
        ratio: "-".into(),
    });
    rows.push(Row::rates(
        "gate: durable, 1,000 decisions per commit (pipelined), half blocked",
        batched,
        "in-memory store, same batches",
        mem_rate,
        "decisions/s",
    ));

    // Concurrent single decisions, each acknowledged durable; fsyncs are shared.
    for threads in [1u64, 64] {
        let per_thread = if threads == 1 { 2_000 } else { 3_000 };
        let (rate, latencies) =
            single_decisions(ledger, threads, per_thread, packs + 40_000_000, 1_000_000);
        rows.push(Row {
            what: format!(
                "gate: {threads} thread(s) each awaiting its own durable decision, p50 / p99"
            ),
            ours: format!(
                "{rate:.0} decisions/s, {} / {}",
                micros(percentile(&latencies, 0.5)),
                micros(percentile(&latencies, 0.99))
            ),
            baseline_name: "in-memory store, batched".into(),
            baseline: format!("{mem_rate:.0} decisions/s"),
            ratio: format!("{:.3}", rate / mem_rate),
        });
    }
    Ok(())
}
