//! The fjall store's hot paths: a durable commit (one fsync), and a point read of a pack's
//! state from a store holding many packs.
//!
//! Run with `cargo bench -p drugtrace-store-fjall`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drugtrace_catalog::InsuranceCode;
use drugtrace_code::PackKey;
use drugtrace_ledger::testkit::{Rng, pack};
use drugtrace_ledger::{
    Batch, Date, Event, EventKind, InstitutionId, Intake, Lot, Outcome, PackState, PackWrite,
    PersonHash, Recorded, Sale, SettlementId, Store, Timestamp,
};
use drugtrace_store_fjall::{FjallStore, codec};
use tempfile::TempDir;

/// A fresh store in a temporary directory under the target directory: unlike `/tmp`, which
/// is often in memory, it is on a disk, so an fsync costs what it costs.
fn fresh_store() -> (TempDir, FjallStore) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory");
    let store = FjallStore::open(dir.path()).expect("a new store");
    (dir, store)
}

fn institution(code: &str) -> InstitutionId {
    InstitutionId::parse(code).expect("a valid institution code")
}

/// The `n`-th pack's whole log as the ledger records it: commission, ship, receive, intake
/// and a sale, all accepted, with the state they lead to.
fn whole_chain(n: u64) -> PackWrite {
    let key = pack(n);
    let day = |d: i64| Timestamp::from_millis(1_740_800_000_000 + d * 86_400_000);
    let product = InsuranceCode::parse("XJ01CAA040A001010100001").expect("a valid code");
    let event = |d: i64, actor: &str, kind: EventKind| Event {
        upload: None,
        pack: key,
        at: day(d),
        actor: institution(actor),
        lot: Lot::default(),
        kind,
    };
    let mut commission = event(0, "M3301001", EventKind::Commission);
    commission.lot = Lot {
        batch: Some(Batch::parse("250301").expect("a valid batch")),
        expiry: Date::from_ymd(2027, 2, 28),
        ..Lot::default()
    };
    let events = [
        commission,
        event(
            1,
            "M3301001",
            EventKind::Ship {
                to: Some(institution("D3501001")),
            },
        ),
        event(
            2,
            "D3501001",
            EventKind::Receive {
                from: Some(institution("M3301001")),
            },
        ),
        event(
            9,
            "P0000001",
            EventKind::Intake(Intake {
                supplier: Some(institution("D3501001")),
                product: Some(product.clone()),
            }),
        ),
        event(
            19,
            "P0000001",
            EventKind::Sale(Sale {
                settlement: Some(
                    SettlementId::parse(&format!("S{n}")).expect("a valid settlement"),
                ),
                person: Some(PersonHash::from_bytes([n as u8; PersonHash::LEN])),
                units: Some(1),
                pack_units: Some(1),
                product: Some(product),
                amount_fen: 2_350,
                fund_paid: true,
                visit: None,
            }),
        ),
    ];
    let log: Vec<Recorded> = events
        .into_iter()
        .enumerate()
        .map(|(index, event)| Recorded {
            index: index as u32,
            recorded_at: day(20),
            event,
            outcome: Outcome::Accepted,
        })
        .collect();
    PackWrite {
        key,
        expected: 0,
        state: PackState::fold(&log),
        events: log,
    }
}

/// Packs in a benchmark batch; with their five events each, 1,000 events.
const BATCH_PACKS: u64 = 200;

fn commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("fjall_commit");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));

    // Every iteration writes packs the store has not seen, so no commit conflicts and the
    // store's size hardly matters to a batch.
    let (_dir, store) = fresh_store();
    let mut next = 0;
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("durable", "1_event"), |b| {
        b.iter_batched(
            || {
                let mut w = whole_chain(next);
                w.events.truncate(1);
                w.state = PackState::fold(&w.events);
                next += 1;
                vec![w]
            },
            |writes| store.commit(writes).expect("committed"),
            BatchSize::SmallInput,
        )
    });

    let (_dir, store) = fresh_store();
    let mut next = 0;
    group.throughput(Throughput::Elements(BATCH_PACKS * 5));
    group.bench_function(BenchmarkId::new("durable", "1000_events"), |b| {
        b.iter_batched(
            || {
                let writes: Vec<PackWrite> = (next..next + BATCH_PACKS).map(whole_chain).collect();
                next += BATCH_PACKS;
                writes
            },
            |writes| store.commit(writes).expect("committed"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Packs in the store that reads are measured on.
const STORED_PACKS: u64 = 100_000;

fn read(c: &mut Criterion) {
    let (_dir, store) = fresh_store();
    for start in (0..STORED_PACKS).step_by(1_000) {
        let writes = (start..start + 1_000).map(whole_chain).collect();
        store.commit(writes).expect("committed");
    }
    // Packs read in a random order, so that reads do not walk the engine's memory in order.
    let mut rng = Rng::new(7);
    let keys: Vec<PackKey> = (0..4_096).map(|_| pack(rng.below(STORED_PACKS))).collect();
    assert!(
        keys.iter()
            .all(|k| store.pack(k).expect("read").is_some_and(|s| s.events == 5))
    );

    let mut group = c.benchmark_group("fjall_read_100k_packs");
    group.throughput(Throughput::Elements(1));
    // The packs were all just committed, so the stripes' caches hold them: this is the read
    // of a recently touched pack, as the gate's reads mostly are.
    let mut i = 0;
    group.bench_function("pack_state_cached", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            store.pack(black_box(&keys[i])).expect("read")
        })
    });
    // What `Store::pack` does when the cache misses: an engine read and a decode.
    let mut i = 0;
    group.bench_function("pack_state_from_engine", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            let bytes = store
                .raw_state_bytes(black_box(&keys[i]))
                .expect("read")
                .expect("stored");
            codec::decode_state(&bytes).expect("decoded")
        })
    });
    group.finish();
}

/// Short runs, so that the whole suite finishes within a few minutes.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = commit, read
}
criterion_main!(benches);
