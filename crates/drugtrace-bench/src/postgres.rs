//! `drugtrace-bench --postgres`: the ledger on PostgreSQL beside the ledger on fjall, the
//! same workloads in the same run. The server is a throwaway one on loopback
//! (`scripts/postgres`), with the default durability (`synchronous_commit = on`, fsync on),
//! unless `BENCH_DATABASE` names an empty database to use instead (such as one on the
//! cluster of `scripts/cluster up`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use drugtrace_catalog::Catalog;
use drugtrace_ledger::{Ledger, Policy, Store};
use drugtrace_store_fjall::FjallStore;
use drugtrace_store_postgres::PostgresStore;
use drugtrace_store_postgres::testing::Server;

use crate::workload::{self, Waves};
use crate::{Row, micros, percentile, single_decisions};

/// What one store did on the workloads.
struct Figures {
    import: f64,
    batched: f64,
    single: Vec<(u64, f64, Duration, Duration)>,
    /// Packs' logs read per second: one by one, and 1,000 a read.
    logs_one: f64,
    logs_batched: f64,
    /// Change marks forgotten per second (every mark of the run), and how many.
    forgotten: f64,
    marks: u64,
}

/// The rows comparing PostgreSQL with fjall.
pub fn rows(dir: &Path, events: u64, batch: usize) -> Result<Vec<Row>> {
    // An empty database of the caller's (the 3-node cluster of `scripts/cluster`), or a
    // throwaway server's.
    let (_server, conninfo) = match std::env::var("BENCH_DATABASE") {
        Ok(c) if !c.trim().is_empty() => (None, c),
        _ => {
            let server = Server::start();
            let c = server.database("bench");
            (Some(server), c)
        }
    };
    let pg: Arc<dyn Store> =
        Arc::new(PostgresStore::connect(&conninfo).map_err(anyhow::Error::msg)?);
    let fjall: Arc<dyn Store> = Arc::new(FjallStore::open(&dir.join("pg-baseline"))?);
    let packs = events / 5;
    let ours = measure(pg, packs, batch)?;
    let base = measure(fjall, packs, batch)?;
    let mut rows = vec![
        Row::rates(
            format!("PostgreSQL: durable import, {events} events, {batch} per commit"),
            ours.import,
            "fjall store, same batches",
            base.import,
            "events/s",
        ),
        Row::rates(
            "PostgreSQL: gate, 1,000 decisions per commit, half blocked",
            ours.batched,
            "fjall store, same batches",
            base.batched,
            "decisions/s",
        ),
        Row::rates(
            format!(
                "PostgreSQL: logs of {LOG_PACKS} packs read 1,000 at a time (Store::histories, a warehouse update's re-read)"
            ),
            ours.logs_batched,
            "the same packs one by one (Store::history)",
            ours.logs_one,
            "packs/s",
        ),
        Row::rates(
            format!(
                "PostgreSQL: every change mark of the run forgotten ({} index entries, ChangeSweeper as serve runs it)",
                ours.marks
            ),
            ours.forgotten,
            format!("fjall store, its {} entries", base.marks),
            base.forgotten,
            "entries/s",
        ),
    ];
    for ((threads, rate, p50, p99), (_, base_rate, base_p50, base_p99)) in
        ours.single.iter().zip(&base.single)
    {
        rows.push(Row {
            what: format!(
                "PostgreSQL: gate, {threads} thread(s) each awaiting its own durable decision, p50 / p99"
            ),
            ours: format!("{rate:.0} decisions/s, {} / {}", micros(*p50), micros(*p99)),
            baseline_name: "fjall store, same threads".into(),
            baseline: format!(
                "{base_rate:.0} decisions/s, {} / {}",
                micros(*base_p50),
                micros(*base_p99)
            ),
            ratio: format!("{:.2}", rate / base_rate),
        });
    }
    Ok(rows)
}

/// Packs whose logs are read in the logs' row.
const LOG_PACKS: u64 = 20_000;

fn measure(store: Arc<dyn Store>, packs: u64, batch: usize) -> Result<Figures> {
    let ledger = Ledger::new(Arc::clone(&store), Catalog::default(), Policy::default());
    let batches: Vec<_> = Waves::new(packs, batch).collect();
    let events: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let started = Instant::now();
    ledger.record_stream(batches.into_iter().map(|b| ((), b)), |(), _| {
        Ok::<_, drugtrace_ledger::LedgerError>(())
    })?;
    let import = events as f64 / started.elapsed().as_secs_f64();

    // The logs of packs spread over the import, read one by one, then 1,000 at a time;
    // twice, the second round measured, so that both find the pages as the first left them.
    let keys: Vec<_> = (0..LOG_PACKS)
        .map(|i| drugtrace_ledger::testkit::pack(i * 7919 % packs.max(1)))
        .collect();
    let (mut logs_one, mut logs_batched) = (0.0, 0.0);
    for _ in 0..2 {
        let started = Instant::now();
        let mut read = 0usize;
        for key in &keys {
            read += store.history(key)?.len();
        }
        logs_one = keys.len() as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut again = 0usize;
        for chunk in keys.chunks(1000) {
            again += store.histories(chunk)?.iter().map(Vec::len).sum::<usize>();
        }
        logs_batched = keys.len() as f64 / started.elapsed().as_secs_f64();
        anyhow::ensure!(
            read > 0 && read == again,
            "read {read} events one by one, {again} in batches"
        );
    }

    let sales: Vec<_> = (0..20_000u64)
        .map(|i| {
            let n = if i % 2 == 0 {
                i / 2 % packs
            } else {
                packs + 20_000_000 + i
            };
            workload::sale(drugtrace_ledger::testkit::pack(n), i, 3_000_000_000 + i)
        })
        .collect();
    let started = Instant::now();
    for chunk in sales.chunks(1000) {
        ledger.record_batch(chunk)?;
    }
    let batched = sales.len() as f64 / started.elapsed().as_secs_f64();

    let mut single = Vec::new();
    for threads in [1u64, 16] {
        let (rate, latencies) = single_decisions(
            &ledger,
            threads,
            500,
            packs + 40_000_000 + threads * 10_000_000,
            100_000,
        );
        single.push((
            threads,
            rate,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
        ));
    }

    // Last, as a server's sweep would eight days on: every mark the run made is forgotten.
    let later = drugtrace_ledger::Timestamp::from_millis(
        ledger.now().millis() + (drugtrace_ledger::CHANGES_KEPT_MINUTES + 60) * 60_000,
    );
    let started = Instant::now();
    let swept = drugtrace_ledger::ChangeSweeper::new().sweep(
        store.as_ref(),
        later,
        Instant::now() + Duration::from_secs(3600),
    )?;
    let forgotten = swept.entries as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(
        swept.entries > 0 && !swept.behind && store.first_changed_minute(i64::MIN)?.is_none(),
        "the sweep left marks: {swept:?}"
    );
    Ok(Figures {
        import,
        batched,
        single,
        logs_one,
        logs_batched,
        forgotten,
        marks: swept.entries,
    })
}
