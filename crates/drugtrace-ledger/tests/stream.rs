//! `record_stream` must decide exactly what `record_batch` would, one batch after another,
//! including when another writer changes a pack while a batch is being committed.

use std::sync::atomic::{AtomicU32, Ordering};

use drugtrace_catalog::Catalog;
use drugtrace_code::PackKey;
use drugtrace_ledger::testkit::{Rng, arbitrary_event, pack};
use drugtrace_ledger::{
    CommitError, Decision, Event, Ledger, LedgerError, MemStore, PackState, PackWrite, Policy,
    Recorded, Store, StoreError,
};

/// Batches whose packs recur from one batch to the next, so that judging a batch depends on
/// the batch still in flight before it.
fn batches(seed: u64) -> Vec<Vec<Event>> {
    let mut rng = Rng::new(seed);
    (0..40)
        .map(|_| {
            (0..50)
                .map(|_| {
                    let key = pack(rng.below(30));
                    let mut e = arbitrary_event(&mut rng, key);
                    // Sales without their recorded-only fields, as callers send them.
                    if let drugtrace_ledger::EventKind::Sale(s) = &mut e.kind {
                        s.pack_units = None;
                    }
                    e
                })
                .collect()
        })
        .collect()
}

fn serial(batches: &[Vec<Event>]) -> (Vec<Vec<Decision>>, MemStore) {
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let d = batches
        .iter()
        .map(|b| ledger.record_batch(b).unwrap())
        .collect();
    let store = MemStore::new();
    ledger
        .store()
        .scan_logs(&mut |k, log| {
            let state = PackState::fold(&log);
            store
                .commit(vec![PackWrite {
                    key: k,
                    expected: 0,
                    events: log,
                    state,
                }])
                .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .unwrap();
    (d, store)
}

fn without_times(log: Vec<Recorded>) -> Vec<(u32, Event, drugtrace_ledger::Outcome)> {
    log.into_iter()
        .map(|r| (r.index, r.event, r.outcome))
        .collect()
}

#[test]
fn streams_decide_like_serial_batches() {
    let input = batches(1);
    let (expected, serial_store) = serial(&input);
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let mut got = Vec::new();
    ledger
        .record_stream(input.into_iter().enumerate(), |i, d| {
            assert_eq!(i, got.len(), "batches are acknowledged in order");
            got.push(d);
            Ok::<_, LedgerError>(())
        })
        .unwrap();
    assert_eq!(got, expected);
    for n in 0..30 {
        assert_eq!(
            without_times(ledger.history(&pack(n)).unwrap()),
            without_times(serial_store.history(&pack(n)).unwrap())
        );
    }
}

/// A store shared with "another writer" that appends an event to a pack just before the
/// stream's third commit, so that the batch in flight conflicts.
struct Interfering {
    inner: MemStore,
    commits: AtomicU32,
    victim: PackKey,
}

impl Store for Interfering {
    fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError> {
        self.inner.pack(key)
    }
    fn commit(&self, writes: Vec<PackWrite>) -> Result<(), CommitError> {
        if self.commits.fetch_add(1, Ordering::SeqCst) == 2 {
            let log = self.inner.history(&self.victim)?;
            let mut rng = Rng::new(99);
            let rec = drugtrace_ledger::testkit::arbitrary_recorded(
                &mut rng,
                self.victim,
                log.len() as u32,
            );
            let state = PackState::fold(log.iter().chain(std::iter::once(&rec)));
            self.inner.commit(vec![PackWrite {
                key: self.victim,
                expected: log.len() as u32,
                events: vec![rec],
                state,
            }])?;
        }
        self.inner.commit(writes)
    }
    fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError> {
        self.inner.history(key)
    }
    fn scan_logs(
        &self,
        visit: &mut dyn FnMut(PackKey, Vec<Recorded>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.scan_logs(visit)
    }
    fn scan_states(
        &self,
        visit: &mut dyn FnMut(PackKey, PackState) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.scan_states(visit)
    }
    fn put_states(&self, states: &[(PackKey, PackState)]) -> Result<(), StoreError> {
        self.inner.put_states(states)
    }
    fn packs_by(
        &self,
        lookup: &drugtrace_ledger::Lookup,
        limit: usize,
    ) -> Result<Vec<PackKey>, StoreError> {
        self.inner.packs_by(lookup, limit)
    }
    fn put_lookups(
        &self,
        entries: &[(drugtrace_ledger::Lookup, PackKey)],
    ) -> Result<(), StoreError> {
        self.inner.put_lookups(entries)
    }
    fn first_changed_minute(&self, from: i64) -> Result<Option<i64>, StoreError> {
        self.inner.first_changed_minute(from)
    }
    fn forget_changes(&self, minute: i64) -> Result<u64, StoreError> {
        self.inner.forget_changes(minute)
    }
    fn add_movements(&self, m: &[drugtrace_ledger::Movement]) -> Result<usize, StoreError> {
        self.inner.add_movements(m)
    }
    fn scan_movements(
        &self,
        visit: &mut dyn FnMut(drugtrace_ledger::Movement) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.scan_movements(visit)
    }
    fn movements_of_upload(
        &self,
        institution: &drugtrace_ledger::InstitutionId,
        upload: &drugtrace_ledger::UploadId,
        after: Option<&drugtrace_ledger::MovementId>,
        limit: usize,
    ) -> Result<Vec<drugtrace_ledger::MovementId>, StoreError> {
        self.inner
            .movements_of_upload(institution, upload, after, limit)
    }
    fn void_movements(
        &self,
        ids: &[drugtrace_ledger::MovementId],
        void: &drugtrace_ledger::MovementVoid,
    ) -> Result<usize, StoreError> {
        self.inner.void_movements(ids, void)
    }
    fn movement_voids(
        &self,
        ids: &[drugtrace_ledger::MovementId],
    ) -> Result<Vec<Option<drugtrace_ledger::MovementVoid>>, StoreError> {
        self.inner.movement_voids(ids)
    }
    fn scan_movement_voids(
        &self,
        visit: &mut dyn FnMut(
            drugtrace_ledger::MovementId,
            drugtrace_ledger::MovementVoid,
        ) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.scan_movement_voids(visit)
    }
}

#[test]
fn a_conflict_in_flight_is_judged_again() {
    let input = batches(2);
    let victim = input[2][0].pack;
    let store = Interfering {
        inner: MemStore::new(),
        commits: AtomicU32::new(0),
        victim,
    };
    let ledger = Ledger::new(store, Catalog::default(), Policy::default());
    let mut acknowledged = 0;
    ledger
        .record_stream(input.iter().cloned().map(|b| ((), b)), |(), d| {
            acknowledged += d.len();
            Ok::<_, LedgerError>(())
        })
        .unwrap();
    assert_eq!(acknowledged, input.iter().map(Vec::len).sum::<usize>());
    // Every event of every batch is in the log exactly once (replays aside), after the
    // other writer's event, and every state is its log's fold.
    let mut recorded = 0;
    ledger
        .store()
        .scan_logs(&mut |k, log| {
            recorded += log.len();
            for (i, r) in log.iter().enumerate() {
                assert_eq!(r.index as usize, i, "{k}: indexes run on without gaps");
            }
            assert_eq!(ledger.pack(&k)?.unwrap(), PackState::fold(&log));
            Ok(())
        })
        .unwrap();
    assert!(recorded > acknowledged / 2, "the batches were recorded");
    assert!(
        ledger.store().commits.load(Ordering::SeqCst) as usize > input.len(),
        "the conflicting batch was committed again"
    );
}
