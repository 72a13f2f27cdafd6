//! The embedded default store: the pack ledger on [fjall], an LSM-tree key-value engine.
//!
//! Three keyspaces hold the [`Store`] contract: `events` (each pack's log, keyed by pack and
//! index), `states` (each pack's current state) and `lookups` (the index: one empty value
//! per lookup and pack, [`codec::lookup_key`]); a fourth, `movements`, keeps the stock
//! movements reported without trace codes, keyed by their id, with `movement_uploads` (one
//! empty value per institution, batch and movement, [`codec::movement_upload_key`]) to find
//! a batch's and `movement_voids` (by movement id) to keep their voids; `meta` notes what
//! an older directory has been brought up to (the batch index of movements kept before it
//! existed is written when the store is first opened by this version). A commit checks versions under striped
//! locks (one stripe per pack hash, so writers on different packs rarely meet), writes all
//! its events and states in one atomic fjall batch, releases the locks, and then waits for
//! a group commit: one fsync of the journal acknowledges every writer that came before it.
//!
//! Each stripe also keeps the states of the packs it last saw, decoded. The cache is exact:
//! it changes only under the stripe's lock, together with the store, so a version check or a
//! read that finds a pack there needs no engine read and no decoding.
//!
//! The byte layout is `drugtrace-codec`'s ([`codec`]), shared with the PostgreSQL store; the
//! ledger knows nothing of fjall.

mod group_commit;

/// The byte layout, shared with the other stores.
pub use drugtrace_codec as codec;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::path::Path;

use drugtrace_code::PackKey;
use drugtrace_ledger::{
    ChangeMark, CommitError, InstitutionId, LogRuns, Lookup, Movement, MovementId, MovementVoid,
    PackState, PackWrite, Recorded, Store, StoreError, UploadId,
};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use parking_lot::Mutex;

use group_commit::GroupCommit;

/// The `meta` key saying that every movement is in the `movement_uploads` index.
const INDEXED_UPLOADS: &[u8] = b"movement_uploads indexed";

/// Lock stripes: enough that concurrent gate requests almost never share one.
const STRIPES: usize = 4096;

/// States cached per stripe before the stripe's cache is emptied: about half a million
/// packs in all, a few hundred megabytes at most, and enough to hold the packs of the last
/// hundred thousand or so events of an import.
const CACHED_PER_STRIPE: usize = 128;

/// The states a stripe caches.
type StripeCache = HashMap<PackKey, PackState, foldhash::fast::FixedState>;

/// A stripe's lock and the states it caches.
type Stripe = Mutex<StripeCache>;

/// The ledger's packs in a fjall database directory.
pub struct FjallStore {
    db: Database,
    events: Keyspace,
    states: Keyspace,
    lookups: Keyspace,
    movements: Keyspace,
    movement_uploads: Keyspace,
    movement_voids: Keyspace,
    /// Held while movements or their voids are checked and added, so that "new" is counted
    /// exactly.
    movement_lock: Mutex<()>,
    stripes: Vec<Stripe>,
    hasher: foldhash::fast::RandomState,
    durability: GroupCommit,
}

impl std::fmt::Debug for FjallStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallStore").finish_non_exhaustive()
    }
}

fn backend(e: fjall::Error) -> StoreError {
    match e {
        fjall::Error::Io(io) => StoreError::Io(io),
        other => StoreError::Backend(other.to_string()),
    }
}

impl FjallStore {
    /// Opens the store in `dir`, creating it if needed, and recovers whatever its journal
    /// holds: every commit that was acknowledged before a crash.
    pub fn open(dir: &Path) -> Result<FjallStore, StoreError> {
        std::fs::create_dir_all(dir)?;
        let db = Database::builder(dir)
            // We fsync ourselves, once per group of commits.
            .manual_journal_persist(true)
            .cache_size(512 * 1024 * 1024)
            .open()
            .map_err(backend)?;
        let events = db
            .keyspace("events", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let states = db
            .keyspace("states", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let lookups = db
            .keyspace("lookups", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let movements = db
            .keyspace("movements", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let movement_uploads = db
            .keyspace("movement_uploads", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let movement_voids = db
            .keyspace("movement_voids", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        let meta = db
            .keyspace("meta", KeyspaceCreateOptions::default)
            .map_err(backend)?;
        // Movements kept before the batch index existed are indexed once, durably, before
        // the mark that says so.
        if !meta.contains_key(INDEXED_UPLOADS).map_err(backend)? {
            let mut batch = db.batch();
            for item in movements.iter() {
                let (_, v) = item.into_inner().map_err(backend)?;
                let m = codec::decode_movement(&v)?;
                if let Some(u) = &m.upload {
                    batch.insert(
                        &movement_uploads,
                        codec::movement_upload_key(&m.institution, u, &m.id()),
                        [],
                    );
                }
            }
            batch.commit().map_err(backend)?;
            db.persist(PersistMode::SyncAll).map_err(backend)?;
            meta.insert(INDEXED_UPLOADS, [1]).map_err(backend)?;
            db.persist(PersistMode::SyncAll).map_err(backend)?;
        }
        Ok(FjallStore {
            db,
            events,
            states,
            lookups,
            movements,
            movement_uploads,
            movement_voids,
            movement_lock: Mutex::new(()),
            stripes: (0..STRIPES)
                .map(|_| {
                    Mutex::new(HashMap::with_capacity_and_hasher(
                        CACHED_PER_STRIPE,
                        seeded(),
                    ))
                })
                .collect(),
            hasher: foldhash::fast::RandomState::default(),
            durability: GroupCommit::default(),
        })
    }

    fn stripe(&self, key: &PackKey) -> usize {
        let mut h = self.hasher.build_hasher();
        key.hash(&mut h);
        (std::hash::Hasher::finish(&h) as usize) % STRIPES
    }

    /// The stored bytes of a pack's state, undecoded: a bare engine read, which benchmarks
    /// compare [`Store::pack`] with.
    pub fn raw_state_bytes(&self, key: &PackKey) -> Result<Option<fjall::Slice>, StoreError> {
        self.states.get(codec::pack_prefix(key)).map_err(backend)
    }

    fn version(&self, key: &PackKey, cache: &StripeCache) -> Result<u32, StoreError> {
        if let Some(s) = cache.get(key) {
            return Ok(s.events);
        }
        match self.states.get(codec::pack_prefix(key)).map_err(backend)? {
            None => Ok(0),
            Some(v) => codec::state_version(&v),
        }
    }

    fn sync(&self) -> Result<(), String> {
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(|e| format!("fsync of the journal failed: {e}"))
    }

    /// Makes every write so far durable (for callers that wrote with `put_states`).
    fn sync_all(&self) -> Result<(), StoreError> {
        let ticket = self.durability.enter().ticket();
        self.durability
            .wait(ticket, || self.sync())
            .map_err(StoreError::Backend)
    }
}

impl Store for FjallStore {
    fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError> {
        // The stripe stays locked while the engine is read, so no commit can slip in between
        // the read and the caching of what it found.
        let mut cache = self.stripes[self.stripe(key)].lock();
        if let Some(s) = cache.get(key) {
            return Ok(Some(s.clone()));
        }
        let state = self
            .states
            .get(codec::pack_prefix(key))
            .map_err(backend)?
            .map(|v| codec::decode_state(&v))
            .transpose()?;
        if let Some(s) = &state {
            cache_insert(&mut cache, *key, s.clone());
        }
        Ok(state)
    }

    fn commit(&self, writes: Vec<PackWrite>) -> Result<(), CommitError> {
        if writes.is_empty() {
            return Ok(());
        }
        let entry = self.durability.enter();
        let of: Vec<usize> = writes.iter().map(|w| self.stripe(&w.key)).collect();
        let mut stripes = of.clone();
        stripes.sort_unstable();
        stripes.dedup();
        // Locks are always taken in stripe order, so two commits cannot deadlock.
        let mut guards: Vec<_> = stripes.iter().map(|&i| self.stripes[i].lock()).collect();
        let guard_of = |stripe: usize| stripes.binary_search(&stripe).expect("locked");
        let mut moved = Vec::new();
        for (w, &stripe) in writes.iter().zip(&of) {
            if self.version(&w.key, &guards[guard_of(stripe)])? != w.expected {
                moved.push(w.key);
            }
        }
        if !moved.is_empty() {
            return Err(CommitError::Conflict(moved));
        }
        let mut batch = self.db.batch();
        for w in &writes {
            for rec in &w.events {
                batch.insert(
                    &self.events,
                    codec::event_key(&w.key, rec.index),
                    codec::encode_recorded(rec),
                );
                for l in Lookup::of(&w.key, rec) {
                    batch.insert(&self.lookups, codec::lookup_key(&l, &w.key), []);
                }
            }
            batch.insert(
                &self.states,
                codec::pack_prefix(&w.key),
                codec::encode_state(&w.state),
            );
        }
        batch.commit().map_err(backend)?;
        for (w, stripe) in writes.into_iter().zip(of) {
            cache_insert(&mut guards[guard_of(stripe)], w.key, w.state);
        }
        let ticket = entry.ticket();
        drop(guards);
        self.durability
            .wait(ticket, || self.sync())
            .map_err(|e| CommitError::Store(StoreError::Backend(e)))
    }

    fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError> {
        self.events
            .prefix(codec::pack_prefix(key))
            .map(|item| {
                let v = item.value().map_err(backend)?;
                codec::decode_recorded(*key, &v)
            })
            .collect()
    }

    fn scan_logs(
        &self,
        visit: &mut dyn FnMut(PackKey, Vec<Recorded>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut runs = LogRuns::default();
        for item in self.events.iter() {
            let (k, v) = item.into_inner().map_err(backend)?;
            let key = codec::key_pack(&k)?;
            runs.push(key, codec::decode_recorded(key, &v)?, visit)?;
        }
        runs.finish(visit)
    }

    fn scan_states(
        &self,
        visit: &mut dyn FnMut(PackKey, PackState) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for item in self.states.iter() {
            let (k, v) = item.into_inner().map_err(backend)?;
            visit(codec::key_pack(&k)?, codec::decode_state(&v)?)?;
        }
        Ok(())
    }

    fn put_states(&self, states: &[(PackKey, PackState)]) -> Result<(), StoreError> {
        let mut batch = self.db.batch();
        for (k, s) in states {
            batch.insert(&self.states, codec::pack_prefix(k), codec::encode_state(s));
        }
        batch.commit().map_err(backend)?;
        for (k, _) in states {
            self.stripes[self.stripe(k)].lock().remove(k);
        }
        self.sync_all()
    }

    fn packs_by(&self, lookup: &Lookup, limit: usize) -> Result<Vec<PackKey>, StoreError> {
        let prefix = lookup.key();
        self.lookups
            .prefix(&prefix)
            .take(limit)
            .map(|item| {
                let k = item.key().map_err(backend)?;
                codec::lookup_pack(prefix.len(), &k)
            })
            .collect()
    }

    fn put_lookups(&self, entries: &[(Lookup, PackKey)]) -> Result<(), StoreError> {
        let mut batch = self.db.batch();
        for (l, k) in entries {
            batch.insert(&self.lookups, codec::lookup_key(l, k), []);
        }
        batch.commit().map_err(backend)?;
        self.sync_all()
    }

    fn first_changed_minute(&self, from: i64) -> Result<Option<i64>, StoreError> {
        let (first, end) = ChangeMark::keys_from(from);
        let Some(item) = self.lookups.range(first..end).next() else {
            return Ok(None);
        };
        let key = item.key().map_err(backend)?;
        Ok(Some(ChangeMark::stored(&key)?.minute))
    }

    fn forget_changes(&self, minute: i64) -> Result<u64, StoreError> {
        let mut batch = self.db.batch();
        for item in self.lookups.prefix(ChangeMark::minute_key(minute)) {
            batch.remove(&self.lookups, item.key().map_err(backend)?);
        }
        let removed = batch.len() as u64;
        // Not synced: a removal lost in a crash is made again by the next sweep.
        batch.commit().map_err(backend)?;
        Ok(removed)
    }

    fn add_movements(&self, movements: &[Movement]) -> Result<usize, StoreError> {
        let guard = self.movement_lock.lock();
        let mut batch = self.db.batch();
        let mut seen: Vec<MovementId> = Vec::new();
        for m in movements {
            let id = m.id();
            if seen.contains(&id)
                || self
                    .movements
                    .contains_key(id.as_bytes())
                    .map_err(backend)?
            {
                continue;
            }
            seen.push(id);
            batch.insert(&self.movements, id.as_bytes(), codec::encode_movement(m));
            if let Some(u) = &m.upload {
                batch.insert(
                    &self.movement_uploads,
                    codec::movement_upload_key(&m.institution, u, &id),
                    [],
                );
            }
        }
        if seen.is_empty() {
            return Ok(0);
        }
        batch.commit().map_err(backend)?;
        drop(guard);
        self.sync_all()?;
        Ok(seen.len())
    }

    fn scan_movements(
        &self,
        visit: &mut dyn FnMut(Movement) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for item in self.movements.iter() {
            let (_, v) = item.into_inner().map_err(backend)?;
            visit(codec::decode_movement(&v)?)?;
        }
        Ok(())
    }

    fn movements_of_upload(
        &self,
        institution: &InstitutionId,
        upload: &UploadId,
        after: Option<&MovementId>,
        limit: usize,
    ) -> Result<Vec<MovementId>, StoreError> {
        use std::ops::Bound;
        let prefix = codec::movement_upload_prefix(institution, upload);
        let from = match after {
            Some(id) => Bound::Excluded(codec::movement_upload_key(institution, upload, id)),
            None => Bound::Included(prefix.clone()),
        };
        let mut ids = Vec::new();
        for item in self.movement_uploads.range((from, Bound::Unbounded)) {
            let k = item.key().map_err(backend)?;
            if !k.starts_with(&prefix) || ids.len() >= limit {
                break;
            }
            ids.push(codec::movement_upload_id(&k)?);
        }
        Ok(ids)
    }

    fn void_movements(&self, ids: &[MovementId], void: &MovementVoid) -> Result<usize, StoreError> {
        let guard = self.movement_lock.lock();
        let bytes = codec::encode_movement_void(void);
        let mut batch = self.db.batch();
        let mut fresh: Vec<&MovementId> = Vec::new();
        for id in ids {
            if fresh.contains(&id)
                || self
                    .movement_voids
                    .contains_key(id.as_bytes())
                    .map_err(backend)?
            {
                continue;
            }
            fresh.push(id);
            batch.insert(&self.movement_voids, id.as_bytes(), bytes.as_slice());
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        batch.commit().map_err(backend)?;
        drop(guard);
        self.sync_all()?;
        Ok(fresh.len())
    }

    fn movement_voids(&self, ids: &[MovementId]) -> Result<Vec<Option<MovementVoid>>, StoreError> {
        ids.iter()
            .map(|id| {
                self.movement_voids
                    .get(id.as_bytes())
                    .map_err(backend)?
                    .map(|v| codec::decode_movement_void(&v))
                    .transpose()
            })
            .collect()
    }

    fn scan_movement_voids(
        &self,
        visit: &mut dyn FnMut(MovementId, MovementVoid) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for item in self.movement_voids.iter() {
            let (k, v) = item.into_inner().map_err(backend)?;
            let id: [u8; 16] = k
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::Corrupt("a movement void's key is not an id".into()))?;
            visit(MovementId::from_bytes(id), codec::decode_movement_void(&v)?)?;
        }
        Ok(())
    }
}

/// Caches a state in a stripe, emptying the stripe first when it is full: crude, but O(1)
/// and with no bookkeeping on the hot path.
fn cache_insert(cache: &mut StripeCache, key: PackKey, state: PackState) {
    if cache.len() >= CACHED_PER_STRIPE && !cache.contains_key(&key) {
        cache.clear();
    }
    cache.insert(key, state);
}

/// A hasher seeded at random, so that nobody can choose codes that all land in one bucket.
fn seeded() -> foldhash::fast::FixedState {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(foldhash::fast::RandomState::default().hash_one(0u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory written before movements were indexed by batch: its movements are found
    /// by batch once this version has opened it.
    #[test]
    fn movements_kept_before_the_batch_index_are_indexed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let me = InstitutionId::parse("P1").unwrap();
        let upload = UploadId::parse("3/B1").unwrap();
        let m = drugtrace_ledger::testkit::movement(&me, &upload, 0);
        {
            let store = FjallStore::open(dir.path()).unwrap();
            // As an older version kept it: the movement alone, and no mark.
            store
                .movements
                .insert(m.id().as_bytes(), codec::encode_movement(&m))
                .unwrap();
            let meta = store
                .db
                .keyspace("meta", KeyspaceCreateOptions::default)
                .unwrap();
            meta.remove(INDEXED_UPLOADS).unwrap();
            store.db.persist(PersistMode::SyncAll).unwrap();
            assert!(
                store
                    .movements_of_upload(&me, &upload, None, 10)
                    .unwrap()
                    .is_empty()
            );
        }
        let store = FjallStore::open(dir.path()).unwrap();
        assert_eq!(
            store.movements_of_upload(&me, &upload, None, 10).unwrap(),
            vec![m.id()]
        );
    }
}
