//! The ledger's hot paths: the gate's pure decision, folding a pack's log into its state, and
//! judging and recording a batch on the in-memory store.
//!
//! Run with `cargo bench -p drugtrace-ledger`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drugtrace_catalog::{Catalog, InsuranceCode};
use drugtrace_code::{ChinaCode, PackKey};
use drugtrace_ledger::gate::{self, Verdict};
use drugtrace_ledger::{
    Authority, Batch, Date, Event, EventKind, InstitutionId, Intake, Ledger, Lot, MemStore,
    Outcome, PackState, PersonKey, Policy, Reason, Sale, SettlementId, Timestamp,
};

/// One whole-pack product, so that the gate's catalog lookup finds what it looks for.
const CATALOG: &str = "\
insurance_code,drug_id_prefix,gtin,generic_name,trade_name,specification,manufacturer,approval_number,units_per_pack
XJ01CAA040A001010100001,8100001,,阿莫西林胶囊,阿莫仙,0.25g×24粒,示例制药,国药准字H33020001,1
";

const PRODUCT: &str = "XJ01CAA040A001010100001";

fn catalog() -> Catalog {
    let mut catalog = Catalog::default();
    catalog
        .import_csv(CATALOG.as_bytes(), "catalog")
        .expect("a valid catalog");
    catalog
}

/// The `n`-th pack of the catalog's product.
fn pack(n: u64) -> PackKey {
    ChinaCode::from_value(8_100_001 * 10u128.pow(13) + u128::from(n))
        .expect("a valid code")
        .pack_key()
}

fn institution(code: &str) -> InstitutionId {
    InstitutionId::parse(code).expect("a valid institution code")
}

fn at(day: u32) -> Timestamp {
    Timestamp::parse(&format!("2025-03-{day:02}T12:00:00"), 480).expect("a valid time")
}

fn event(key: PackKey, day: u32, actor: &str, kind: EventKind) -> Event {
    Event {
        upload: None,
        pack: key,
        at: at(day),
        actor: institution(actor),
        lot: Lot::default(),
        kind,
    }
}

/// A pack's way to the pharmacy shelf: commission, ship, receive, intake.
fn to_shelf(key: PackKey) -> [Event; 4] {
    let mut commission = event(key, 1, "M3301001", EventKind::Commission);
    commission.lot = Lot {
        batch: Some(Batch::parse("250301").expect("a valid batch")),
        expiry: Date::from_ymd(2027, 2, 28),
        ..Lot::default()
    };
    [
        commission,
        event(
            key,
            2,
            "M3301001",
            EventKind::Ship {
                to: Some(institution("D3501001")),
            },
        ),
        event(
            key,
            3,
            "D3501001",
            EventKind::Receive {
                from: Some(institution("M3301001")),
            },
        ),
        event(
            key,
            10,
            "P0000001",
            EventKind::Intake(Intake {
                supplier: Some(institution("D3501001")),
                product: Some(InsuranceCode::parse(PRODUCT).expect("a valid code")),
            }),
        ),
    ]
}

/// An insured sale of the whole pack, as the settlement system asks for it.
fn sale(key: PackKey, actor: &str, settlement: &str) -> Event {
    let people = PersonKey::from_bytes([7; 32]);
    event(
        key,
        20,
        actor,
        EventKind::Sale(Sale {
            settlement: Some(SettlementId::parse(settlement).expect("a valid settlement")),
            person: Some(people.hash("350102199001011234")),
            units: None,
            pack_units: None,
            product: Some(InsuranceCode::parse(PRODUCT).expect("a valid code")),
            amount_fen: 2_350,
            fund_paid: true,
            visit: None,
        }),
    )
}

fn ledger() -> Ledger<MemStore> {
    Ledger::new(MemStore::new(), catalog(), Policy::default())
}

fn judge(c: &mut Criterion) {
    let key = pack(1);
    let ledger = ledger();
    ledger.record_batch(&to_shelf(key)).expect("recorded");
    let on_shelf = ledger.pack(&key).expect("read").expect("stored");
    let first = sale(key, "P0000001", "S1");
    ledger.record(first.clone()).expect("recorded");
    let sold = ledger.pack(&key).expect("read").expect("stored");
    let second = sale(key, "P0000002", "S2");
    let cx = ledger.context(Authority::Operator);
    let cx = &cx;

    // Each case must take the path it is named after.
    assert!(matches!(
        gate::judge(&on_shelf, &first, cx),
        Verdict::Record(_, Outcome::Accepted)
    ));
    assert!(matches!(
        gate::judge(&sold, &second, cx),
        Verdict::Record(_, Outcome::Rejected(Reason::AlreadySold))
    ));

    let mut group = c.benchmark_group("gate_judge");
    group.throughput(Throughput::Elements(1));
    group.bench_function("allowed_sale_of_fresh_pack", |b| {
        b.iter(|| gate::judge(black_box(&on_shelf), black_box(&first), cx))
    });
    group.bench_function("blocked_second_sale", |b| {
        b.iter(|| gate::judge(black_box(&sold), black_box(&second), cx))
    });
    group.finish();
}

fn pack_state(c: &mut Criterion) {
    let key = pack(1);
    let ledger = ledger();
    let mut events = to_shelf(key).to_vec();
    events.push(sale(key, "P0000001", "S1"));
    ledger.record_batch(&events).expect("recorded");
    let log = ledger.history(&key).expect("read");
    let on_shelf = PackState::fold(&log[..4]);
    assert_eq!(
        Some(PackState::fold(&log)),
        ledger.pack(&key).expect("read")
    );

    let mut group = c.benchmark_group("pack_state");
    group.throughput(Throughput::Elements(log.len() as u64));
    group.bench_function("fold_typical_log", |b| {
        b.iter(|| PackState::fold(black_box(&log)))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("apply_sale", |b| {
        b.iter_batched_ref(
            || on_shelf.clone(),
            |state| state.apply(black_box(&log[4])),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Packs in a benchmark batch; with their five events each, 1,000 events.
const PACKS: u64 = 200;

fn record_batch(c: &mut Criterion) {
    // A day's upload in time order: every pack's commission, then every pack's shipping, and
    // so on to the sale, so that each pack recurs throughout the batch.
    let chains: Vec<Vec<Event>> = (0..PACKS)
        .map(|n| {
            let key = pack(n);
            let mut chain = to_shelf(key).to_vec();
            chain.push(sale(key, "P0000001", &format!("S{n}")));
            chain
        })
        .collect();
    let chain_events: Vec<Event> = (0..5)
        .flat_map(|stage| chains.iter().map(move |chain| chain[stage].clone()))
        .collect();

    // A pharmacy's sales of 1,000 packs on its shelf.
    let shelf: Vec<Event> = (0..1_000).flat_map(|n| to_shelf(pack(n))).collect();
    let sales: Vec<Event> = (0..1_000)
        .map(|n| sale(pack(n), "P0000001", &format!("S{n}")))
        .collect();
    let stocked = || {
        let ledger = ledger();
        ledger.record_batch(&shelf).expect("recorded");
        ledger
    };
    let decisions = stocked().record_batch(&sales).expect("recorded");
    assert!(decisions.iter().all(|d| d.outcome == Outcome::Accepted));

    let mut group = c.benchmark_group("record_batch_mem");
    // A sample of these takes milliseconds, with the stocked store built before each.
    group.sample_size(20);
    group.throughput(Throughput::Elements(1_000));
    group.bench_function(
        BenchmarkId::new("whole_chains", format!("{PACKS}_packs")),
        |b| {
            b.iter_batched(
                ledger,
                // The ledger is handed back so that dropping it is not timed.
                |ledger| {
                    let decisions = ledger.record_batch(&chain_events).expect("recorded");
                    (ledger, decisions)
                },
                BatchSize::SmallInput,
            )
        },
    );
    group.bench_function(BenchmarkId::new("sales", "1000_packs"), |b| {
        b.iter_batched(
            stocked,
            |ledger| {
                let decisions = ledger.record_batch(&sales).expect("recorded");
                (ledger, decisions)
            },
            BatchSize::SmallInput,
        )
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
    targets = judge, pack_state, record_batch
}
criterion_main!(benches);
