//! The embedded default store: the pack ledger on [fjall], an LSM-tree key-value engine.
//!
//! Two keyspaces hold the [`Store`] contract: `events` (each pack's log, keyed by pack and
//! index) and `states` (each pack's current state). A commit checks versions under striped
//! locks (one stripe per pack hash, so writers on different packs rarely meet), writes all
//! its events and states in one atomic fjall batch, releases the locks, and then waits for
//! a group commit: one fsync of the journal acknowledges every writer that came before it.
//!
//! Only this crate knows the byte layout ([`codec`]); the ledger knows nothing of fjall.

pub mod codec;
mod group_commit;

use std::hash::{BuildHasher, Hash};
use std::path::Path;

use drugtrace_code::PackKey;
use drugtrace_ledger::{CommitError, PackState, PackWrite, Recorded, Store, StoreError};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use parking_lot::Mutex;

use group_commit::GroupCommit;

/// Lock stripes: enough that concurrent gate requests almost never share one.
const STRIPES: usize = 4096;

/// The ledger's packs in a fjall database directory.
pub struct FjallStore {
    db: Database,
    events: Keyspace,
    states: Keyspace,
    stripes: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
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
        Ok(FjallStore {
            db,
            events,
            states,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
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

    fn version(&self, key: &PackKey) -> Result<u32, StoreError> {
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
        let ticket = self.durability.ticket();
        self.durability
            .wait(ticket, || self.sync())
            .map_err(StoreError::Backend)
    }
}

impl Store for FjallStore {
    fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError> {
        self.states
            .get(codec::pack_prefix(key))
            .map_err(backend)?
            .map(|v| codec::decode_state(&v))
            .transpose()
    }

    fn commit(&self, writes: &[PackWrite]) -> Result<(), CommitError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut stripes: Vec<usize> = writes.iter().map(|w| self.stripe(&w.key)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        // Locks are always taken in stripe order, so two commits cannot deadlock.
        let guards: Vec<_> = stripes.iter().map(|&i| self.stripes[i].lock()).collect();
        let mut moved = Vec::new();
        for w in writes {
            if self.version(&w.key)? != w.expected {
                moved.push(w.key);
            }
        }
        if !moved.is_empty() {
            return Err(CommitError::Conflict(moved));
        }
        let mut batch = self.db.batch();
        for w in writes {
            for rec in &w.events {
                batch.insert(
                    &self.events,
                    codec::event_key(&w.key, rec.index),
                    codec::encode_recorded(rec),
                );
            }
            batch.insert(
                &self.states,
                codec::pack_prefix(&w.key),
                codec::encode_state(&w.state),
            );
        }
        batch.commit().map_err(backend)?;
        let ticket = self.durability.ticket();
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
        let mut current: Option<(PackKey, Vec<Recorded>)> = None;
        for item in self.events.iter() {
            let (k, v) = item.into_inner().map_err(backend)?;
            let key = codec::key_pack(&k)?;
            let rec = codec::decode_recorded(key, &v)?;
            match &mut current {
                Some((cur, log)) if *cur == key => log.push(rec),
                _ => {
                    if let Some((cur, log)) = current.take() {
                        visit(cur, log)?;
                    }
                    current = Some((key, vec![rec]));
                }
            }
        }
        if let Some((cur, log)) = current {
            visit(cur, log)?;
        }
        Ok(())
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
        self.sync_all()
    }
}
