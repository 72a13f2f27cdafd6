//! The leader of a Patroni cluster dies (kill -9 of its Patroni and its postmaster: the node
//! is gone, and a replica must take over) while four writers
//! sell packs through the ledger, two of them always racing for the same packs. After the
//! failover every acknowledged decision is in the log as it was answered, no pack is sold
//! twice, and every state is its log's fold.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use drugtrace_catalog::Catalog;
use drugtrace_ledger::testkit::{institution, pack};
use drugtrace_ledger::{
    Event, EventKind, Ledger, Lot, PackState, Policy, Sale, SettlementId, Store, Timestamp,
};
use drugtrace_store_postgres::PostgresStore;
use drugtrace_store_postgres::testing::Cluster;

const PACKS: u64 = 400;
const WRITERS: u64 = 4;

/// What a writer was told: the pack, and whether its sale was allowed.
type Acked = (u64, SettlementId, bool);

#[test]
fn a_leader_killed_under_load_loses_nothing_and_sells_nothing_twice() {
    let cluster = Cluster::start();
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(cluster.conninfo()).unwrap());
    let ledger = Arc::new(Ledger::new(
        Arc::clone(&store),
        Catalog::default(),
        Policy::default(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let errors = Arc::new(AtomicU64::new(0));
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let acked_after = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (ledger, stop, acked, errors) = (
                Arc::clone(&ledger),
                Arc::clone(&stop),
                Arc::clone(&acked),
                Arc::clone(&errors),
            );
            let (killed_at, acked_after) = (Arc::clone(&killed_at), Arc::clone(&acked_after));
            std::thread::spawn(move || {
                let mut attempt = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Writers 0 and 1 walk the same packs; 2 and 3 others of their own.
                    let n = match w {
                        0 | 1 => attempt % PACKS,
                        _ => PACKS * w + attempt % PACKS,
                    };
                    attempt += 1;
                    let settlement = SettlementId::parse(&format!("W{w}A{attempt}")).unwrap();
                    let event = Event {
                        pack: pack(n),
                        at: Timestamp::from_millis(1_764_000_000_000 + attempt as i64),
                        actor: institution(w),
                        lot: Lot::default(),
                        kind: EventKind::Sale(Sale {
                            settlement: Some(settlement.clone()),
                            person: None,
                            units: None,
                            pack_units: None,
                            product: None,
                            amount_fen: 100,
                            fund_paid: true,
                            visit: None,
                        }),
                        upload: None,
                    };
                    match ledger.record(event) {
                        Ok(d) => {
                            acked
                                .lock()
                                .unwrap()
                                .push((n, settlement, d.allows_payment()));
                            if killed_at.lock().unwrap().is_some() {
                                acked_after.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(_) => {
                            // Answered 503: nothing decided; a client sends it again.
                            errors.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs(3));
    let before = acked.lock().unwrap().len();
    assert!(before > 0, "writes went through before the kill");
    let leader = cluster.kill_leader();
    *killed_at.lock().unwrap() = Some(Instant::now());
    // Until writes have gone through the new leader for a while (or give up at 60 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked_after.load(Ordering::Relaxed) < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let after = acked_after.load(Ordering::Relaxed);
    assert!(
        after >= 200,
        "writes went on after {leader} was killed: {after} acknowledged"
    );
    let new_leader = cluster.leader().map(|(n, _, _)| n);
    assert!(
        new_leader.is_some_and(|n| n != leader),
        "another node leads now"
    );

    // Every acknowledged decision is in the log as answered; no pack sold twice.
    let acked = acked.lock().unwrap();
    let mut by_pack: HashMap<u64, Vec<&Acked>> = HashMap::new();
    for a in acked.iter() {
        by_pack.entry(a.0).or_default().push(a);
    }
    for (n, answers) in &by_pack {
        let log = store.history(&pack(*n)).unwrap();
        let sold: Vec<_> = log
            .iter()
            .filter(|r| matches!(r.event.kind, EventKind::Sale(_)) && r.outcome.is_applied())
            .collect();
        assert!(sold.len() <= 1, "pack {n} sold {} times", sold.len());
        for (_, settlement, allowed) in answers {
            let rec = log
                .iter()
                .find(|r| matches!(&r.event.kind, EventKind::Sale(s) if s.settlement.as_ref() == Some(settlement)))
                .unwrap_or_else(|| panic!("pack {n}: acknowledged {settlement} is not in the log"));
            assert_eq!(
                rec.outcome.is_applied(),
                *allowed,
                "pack {n}: {settlement} as answered"
            );
        }
        assert_eq!(
            store.pack(&pack(*n)).unwrap().unwrap(),
            PackState::fold(&log),
            "pack {n}"
        );
    }
    eprintln!(
        "failover: {} decisions acknowledged ({before} before the kill of {leader}, {after} after), {} answered unavailable, 0 lost, 0 sold twice",
        acked.len(),
        errors.load(Ordering::Relaxed)
    );
}
