//! The in-memory store: the reference the other backends are tested against.

use std::collections::{BTreeMap, BTreeSet};

use drugtrace_code::PackKey;
use parking_lot::Mutex;

use crate::{
    CommitError, InstitutionId, Lookup, Movement, MovementId, MovementVoid, PackState, PackWrite,
    Recorded, Store, StoreError, UploadId,
};

/// A store in memory, lost when dropped. Small and obviously right, it is the model that
/// the shared test suite holds every backend to, and what tests of the ledger's rules use.
#[derive(Debug, Default)]
pub struct MemStore {
    packs: Mutex<BTreeMap<PackKey, (PackState, Vec<Recorded>)>>,
    lookups: Mutex<BTreeSet<(Lookup, PackKey)>>,
    movements: Mutex<BTreeMap<MovementId, Movement>>,
    movement_voids: Mutex<BTreeMap<MovementId, MovementVoid>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }
}

impl Store for MemStore {
    fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError> {
        Ok(self.packs.lock().get(key).map(|(s, _)| s.clone()))
    }

    fn commit(&self, writes: Vec<PackWrite>) -> Result<(), CommitError> {
        let mut packs = self.packs.lock();
        let moved: Vec<PackKey> = writes
            .iter()
            .filter(|w| packs.get(&w.key).map_or(0, |(_, log)| log.len() as u32) != w.expected)
            .map(|w| w.key)
            .collect();
        if !moved.is_empty() {
            return Err(CommitError::Conflict(moved));
        }
        let mut lookups = self.lookups.lock();
        for w in writes {
            for r in &w.events {
                lookups.extend(Lookup::of(&w.key, r).into_iter().map(|l| (l, w.key)));
            }
            let (state, log) = packs.entry(w.key).or_default();
            log.extend(w.events);
            *state = w.state;
        }
        Ok(())
    }

    fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError> {
        Ok(self
            .packs
            .lock()
            .get(key)
            .map(|(_, log)| log.clone())
            .unwrap_or_default())
    }

    fn scan_logs(
        &self,
        visit: &mut dyn FnMut(PackKey, Vec<Recorded>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let snapshot: Vec<_> = self
            .packs
            .lock()
            .iter()
            .map(|(k, (_, log))| (*k, log.clone()))
            .collect();
        snapshot.into_iter().try_for_each(|(k, log)| visit(k, log))
    }

    fn scan_states(
        &self,
        visit: &mut dyn FnMut(PackKey, PackState) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let snapshot: Vec<_> = self
            .packs
            .lock()
            .iter()
            .map(|(k, (s, _))| (*k, s.clone()))
            .collect();
        snapshot.into_iter().try_for_each(|(k, s)| visit(k, s))
    }

    fn put_states(&self, states: &[(PackKey, PackState)]) -> Result<(), StoreError> {
        let mut packs = self.packs.lock();
        for (k, s) in states {
            packs.entry(*k).or_default().0 = s.clone();
        }
        Ok(())
    }

    fn packs_by(&self, lookup: &Lookup, limit: usize) -> Result<Vec<PackKey>, StoreError> {
        Ok(self
            .lookups
            .lock()
            .iter()
            .filter(|(l, _)| l == lookup)
            .map(|(_, k)| *k)
            .take(limit)
            .collect())
    }

    fn put_lookups(&self, entries: &[(Lookup, PackKey)]) -> Result<(), StoreError> {
        self.lookups.lock().extend(entries.iter().cloned());
        Ok(())
    }

    fn first_changed_minute(&self, from: i64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .lookups
            .lock()
            .iter()
            .filter_map(|(l, _)| match l {
                Lookup::Changed(m) if m.minute >= from => Some(m.minute),
                _ => None,
            })
            .min())
    }

    fn forget_changes(&self, minute: i64) -> Result<u64, StoreError> {
        let mut lookups = self.lookups.lock();
        let before = lookups.len();
        lookups.retain(|(l, _)| !matches!(l, Lookup::Changed(m) if m.minute == minute));
        Ok((before - lookups.len()) as u64)
    }

    fn add_movements(&self, movements: &[Movement]) -> Result<usize, StoreError> {
        let mut stored = self.movements.lock();
        let before = stored.len();
        for m in movements {
            stored.entry(m.id()).or_insert_with(|| m.clone());
        }
        Ok(stored.len() - before)
    }

    fn scan_movements(
        &self,
        visit: &mut dyn FnMut(Movement) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let snapshot: Vec<Movement> = self.movements.lock().values().cloned().collect();
        snapshot.into_iter().try_for_each(visit)
    }

    fn movements_of_upload(
        &self,
        institution: &InstitutionId,
        upload: &UploadId,
        after: Option<&MovementId>,
        limit: usize,
    ) -> Result<Vec<MovementId>, StoreError> {
        Ok(self
            .movements
            .lock()
            .iter()
            .filter(|(id, m)| {
                after.is_none_or(|a| *id > a)
                    && &m.institution == institution
                    && m.upload.as_ref() == Some(upload)
            })
            .map(|(id, _)| *id)
            .take(limit)
            .collect())
    }

    fn void_movements(&self, ids: &[MovementId], void: &MovementVoid) -> Result<usize, StoreError> {
        let mut voids = self.movement_voids.lock();
        let before = voids.len();
        for id in ids {
            voids.entry(*id).or_insert_with(|| void.clone());
        }
        Ok(voids.len() - before)
    }

    fn movement_voids(&self, ids: &[MovementId]) -> Result<Vec<Option<MovementVoid>>, StoreError> {
        let voids = self.movement_voids.lock();
        Ok(ids.iter().map(|id| voids.get(id).cloned()).collect())
    }

    fn scan_movement_voids(
        &self,
        visit: &mut dyn FnMut(MovementId, MovementVoid) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let snapshot: Vec<(MovementId, MovementVoid)> = self
            .movement_voids
            .lock()
            .iter()
            .map(|(id, v)| (*id, v.clone()))
            .collect();
        snapshot.into_iter().try_for_each(|(id, v)| visit(id, v))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_model_passes_the_suite() {
        crate::testkit::check_store(&super::MemStore::new);
    }
}
