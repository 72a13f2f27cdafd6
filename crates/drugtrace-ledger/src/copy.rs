//! Copying a ledger from one store to another (`drugtrace migrate`): every pack's log and
//! state, the index (written by the target with each commit), the movements and their
//! voids.

use drugtrace_code::PackKey;

use std::collections::HashMap;

use crate::{
    CommitError, Movement, MovementId, MovementVoid, PackState, PackWrite, Recorded, Store,
    StoreError,
};

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Packs written to the target.
    pub packs: u64,
    /// Events written to the target.
    pub events: u64,
    /// Packs the target already held with the same log (from an earlier, interrupted copy).
    pub already: u64,
    /// Movements new to the target.
    pub movements: u64,
    /// Voids of movements new to the target.
    pub movement_voids: u64,
}

/// Why a copy stopped. What was copied before stays, and a new copy resumes after it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The target holds a pack whose log is not the source's: it is not a copy of this
    /// ledger (or was written to since), and nothing is overwritten.
    #[error("the target already holds pack {0} with another log; copy into an empty database")]
    Differs(PackKey),
}

/// Packs per commit into the target.
const CHUNK: usize = 2_000;

/// Copies every pack of `from` into `to`, `CHUNK` packs per atomic commit, calling `progress`
/// with the packs and events done so far. A pack the target holds already with the same log
/// is skipped, so an interrupted copy can be run again; one with another log stops the copy.
/// Run it with no writer on either store.
pub fn copy_store(
    from: &dyn Store,
    to: &dyn Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CopyReport, CopyError> {
    let mut report = CopyReport::default();
    let mut chunk: Vec<PackWrite> = Vec::with_capacity(CHUNK);
    let mut failed: Option<CopyError> = None;
    let scanned = from.scan_logs(&mut |key, log| {
        let state = PackState::fold(&log);
        chunk.push(PackWrite {
            key,
            expected: 0,
            events: log,
            state,
        });
        if chunk.len() >= CHUNK {
            if let Err(e) = flush(to, &mut chunk, &mut report) {
                failed = Some(e);
                return Err(StoreError::Backend("copy stopped".into()));
            }
            progress(report.packs + report.already, report.events);
        }
        Ok(())
    });
    if let Some(e) = failed {
        return Err(e);
    }
    scanned?;
    flush(to, &mut chunk, &mut report)?;
    progress(report.packs + report.already, report.events);
    let mut movements: Vec<Movement> = Vec::new();
    from.scan_movements(&mut |m| {
        movements.push(m);
        Ok(())
    })?;
    for part in movements.chunks(CHUNK) {
        report.movements += to.add_movements(part)? as u64;
    }
    // The voids after their movements; each void (who, when) usually covers a whole batch.
    let mut voids: HashMap<MovementVoid, Vec<MovementId>> = HashMap::new();
    from.scan_movement_voids(&mut |id, v| {
        voids.entry(v).or_default().push(id);
        Ok(())
    })?;
    for (void, ids) in &voids {
        for part in ids.chunks(CHUNK) {
            report.movement_voids += to.void_movements(part, void)? as u64;
        }
    }
    Ok(report)
}

/// Commits a chunk; packs the target has already are compared and left out.
fn flush(
    to: &dyn Store,
    chunk: &mut Vec<PackWrite>,
    report: &mut CopyReport,
) -> Result<(), CopyError> {
    while !chunk.is_empty() {
        match to.commit(chunk.clone()) {
            Ok(()) => {
                report.packs += chunk.len() as u64;
                report.events += chunk.iter().map(|w| w.events.len() as u64).sum::<u64>();
                chunk.clear();
            }
            Err(CommitError::Conflict(keys)) => {
                for key in keys {
                    let Some(i) = chunk.iter().position(|w| w.key == key) else {
                        continue;
                    };
                    let there: Vec<Recorded> = to.history(&key)?;
                    if there != chunk[i].events {
                        return Err(CopyError::Differs(key));
                    }
                    chunk.swap_remove(i);
                    report.already += 1;
                }
            }
            Err(CommitError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemStore;
    use crate::testkit::{Rng, arbitrary_recorded, pack};

    fn filled(n: u64) -> MemStore {
        let s = MemStore::new();
        let mut rng = Rng::new(3);
        for i in 0..n {
            let events: Vec<Recorded> = (0..1 + rng.below(3) as u32)
                .map(|j| arbitrary_recorded(&mut rng, pack(i), j))
                .collect();
            let state = PackState::fold(&events);
            s.commit(vec![PackWrite {
                key: pack(i),
                expected: 0,
                events,
                state,
            }])
            .unwrap();
        }
        // Three movements of one batch, two of them voided.
        let movements: Vec<Movement> = (0..3)
            .map(|line| {
                crate::testkit::movement(
                    &crate::InstitutionId::parse("P1").unwrap(),
                    &crate::UploadId::parse("3/B1").unwrap(),
                    line,
                )
            })
            .collect();
        s.add_movements(&movements).unwrap();
        let void = MovementVoid {
            by: crate::InstitutionId::parse("P1").unwrap(),
            at: crate::Timestamp::from_millis(1_750_000_500_000),
        };
        let ids: Vec<MovementId> = movements[..2].iter().map(Movement::id).collect();
        s.void_movements(&ids, &void).unwrap();
        s
    }

    #[test]
    fn a_copy_is_whole_resumable_and_refuses_another_ledger() {
        let from = filled(5000);
        let to = MemStore::new();
        // An interrupted earlier copy: some packs are there already.
        for k in [pack(1), pack(4000)] {
            let log = from.history(&k).unwrap();
            let state = PackState::fold(&log);
            to.commit(vec![PackWrite {
                key: k,
                expected: 0,
                events: log,
                state,
            }])
            .unwrap();
        }
        let mut calls = 0;
        let r = copy_store(&from, &to, &mut |_, _| calls += 1).unwrap();
        assert_eq!((r.packs, r.already), (4998, 2));
        assert!(calls >= 3);
        for i in 0..5000 {
            assert_eq!(
                from.history(&pack(i)).unwrap(),
                to.history(&pack(i)).unwrap()
            );
            assert_eq!(from.pack(&pack(i)).unwrap(), to.pack(&pack(i)).unwrap());
        }
        assert_eq!((r.movements, r.movement_voids), (3, 2));
        let voids = |s: &MemStore| {
            let mut v = Vec::new();
            s.scan_movement_voids(&mut |id, void| {
                v.push((id, void));
                Ok(())
            })
            .unwrap();
            v
        };
        assert_eq!(voids(&to), voids(&from));
        // Run again: everything is there already.
        let again = copy_store(&from, &to, &mut |_, _| {}).unwrap();
        assert_eq!((again.packs, again.already), (0, 5000));
        assert_eq!((again.movements, again.movement_voids), (0, 0));
        // Into another ledger's store: refused, naming the pack.
        let other = filled(1);
        let mut rng = Rng::new(99);
        let foreign = arbitrary_recorded(&mut rng, pack(7), 0);
        let state = PackState::fold(std::slice::from_ref(&foreign));
        other
            .commit(vec![PackWrite {
                key: pack(7),
                expected: 0,
                events: vec![foreign],
                state,
            }])
            .unwrap();
        match copy_store(&from, &other, &mut |_, _| {}) {
            Err(CopyError::Differs(k)) => assert!(k == pack(0) || k == pack(7), "{k}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
