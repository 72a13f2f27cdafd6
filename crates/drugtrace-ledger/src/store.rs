//! The storage contract: a few per-pack operations that an embedded key-value store and a
//! distributed SQL database can both honour.

use drugtrace_code::PackKey;

use crate::{
    InstitutionId, Lookup, Movement, MovementId, MovementVoid, PackState, Recorded, UploadId,
};

/// New events for one pack and the state they lead to, written together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackWrite {
    /// The pack.
    pub key: PackKey,
    /// How many events the pack had when the writer read it: the version it judged against.
    pub expected: u32,
    /// The events to append, their indexes running on from `expected`.
    pub events: Vec<Recorded>,
    /// The pack's state after them.
    pub state: PackState,
}

/// Gathers a backend's scan of events, which come pack after pack in key order, into one
/// log per pack for the visitor of [`Store::scan_logs`].
#[derive(Debug, Default)]
pub struct LogRuns {
    current: Option<(PackKey, Vec<Recorded>)>,
}

/// The visitor of [`Store::scan_logs`].
pub type LogVisitor<'a> = dyn FnMut(PackKey, Vec<Recorded>) -> Result<(), StoreError> + 'a;

impl LogRuns {
    /// Adds the next event of the scan; the log before it is visited once its pack ends.
    pub fn push(
        &mut self,
        key: PackKey,
        rec: Recorded,
        visit: &mut LogVisitor<'_>,
    ) -> Result<(), StoreError> {
        match &mut self.current {
            Some((cur, log)) if *cur == key => log.push(rec),
            _ => {
                if let Some((cur, log)) = self.current.replace((key, vec![rec])) {
                    visit(cur, log)?;
                }
            }
        }
        Ok(())
    }

    /// Visits the last log, once the scan has ended.
    pub fn finish(self, visit: &mut LogVisitor<'_>) -> Result<(), StoreError> {
        match self.current {
            Some((cur, log)) => visit(cur, log),
            None => Ok(()),
        }
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The disk or the file system failed.
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// Stored bytes do not decode: the store is damaged or from an incompatible version.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend reported an error of its own.
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// The backend cannot be reached now (a database failing over, a network cut); nothing
    /// was decided, and the same request may be sent again.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Why a commit wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// These packs gained events since the writer read them; read them again and rejudge.
    #[error("{} pack(s) changed since they were read, first {}", .0.len(), .0[0])]
    Conflict(Vec<PackKey>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the ledger keeps its packs.
///
/// Each pack has an append-only log of [`Recorded`] events and a state derived from it; the
/// pack's version is its number of events. Every write is conditional on versions, so two
/// writers racing on one pack cannot both win, and no backend needs a lock across packs.
///
/// *Contract shared by every backend* (checked by the `testkit` suite):
/// - reads see every commit that has returned `Ok`;
/// - [`Store::commit`] is all or nothing, and returns `Ok` only once its events are durable;
/// - a pack's events are never changed or removed once committed;
/// - every committed event can be found by each of its [`Lookup`]s ([`Lookup::of`]),
///   written in the same commit, until a change mark among them is forgotten
///   ([`Store::forget_changes`]).
pub trait Store: Send + Sync {
    /// The pack's state, or `None` if no event for it was ever committed.
    fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError>;

    /// The states of several packs, in the order asked: what the ledger reads before it
    /// judges a batch. A backend across a network answers in one round trip; the default
    /// reads them one by one.
    fn packs(&self, keys: &[PackKey]) -> Result<Vec<Option<PackState>>, StoreError> {
        keys.iter().map(|k| self.pack(k)).collect()
    }

    /// Appends each write's events and stores its state, if every pack still has exactly
    /// `expected` events. Otherwise returns [`CommitError::Conflict`] naming the packs that
    /// moved on and writes nothing. Returns only when the whole commit is durable: once this
    /// returns `Ok`, a crash of the process or the machine loses none of it.
    fn commit(&self, writes: Vec<PackWrite>) -> Result<(), CommitError>;

    /// How many commits a writer should have in flight at once. A store whose commit waits
    /// on a network round trip and a replica (a database) answers more commits by
    /// overlapping them; one that orders commits itself (a local engine with its own group
    /// commit) wants them one at a time, the default.
    fn commits_in_flight(&self) -> usize {
        1
    }

    /// One pack's log, in order (empty for a pack never seen).
    fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError>;

    /// The logs of several packs, in the order asked (empty for a pack never seen): what an
    /// update of the warehouse reads. A backend across a network answers in one round trip;
    /// the default reads them one by one.
    fn histories(&self, keys: &[PackKey]) -> Result<Vec<Vec<Recorded>>, StoreError> {
        keys.iter().map(|k| self.history(k)).collect()
    }

    /// Every pack's log, pack after pack in key order.
    fn scan_logs(
        &self,
        visit: &mut dyn FnMut(PackKey, Vec<Recorded>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Every stored state, in key order.
    fn scan_states(
        &self,
        visit: &mut dyn FnMut(PackKey, PackState) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Replaces stored states without touching the logs, durably. Only for rebuilding
    /// states from the logs while no writer runs.
    fn put_states(&self, states: &[(PackKey, PackState)]) -> Result<(), StoreError>;

    /// The packs with a record found by `lookup`, in key order, at most `limit` of them.
    fn packs_by(&self, lookup: &Lookup, limit: usize) -> Result<Vec<PackKey>, StoreError>;

    /// Adds index entries without touching logs or states, durably: for rebuilding the
    /// index from the logs (entries already there are kept).
    fn put_lookups(&self, entries: &[(Lookup, PackKey)]) -> Result<(), StoreError>;

    /// The earliest minute, `from` or later, with a change mark stored
    /// ([`Lookup::Changed`]), or `None`.
    fn first_changed_minute(&self, from: i64) -> Result<Option<i64>, StoreError>;

    /// Removes the change marks of `minute`, every stripe, and returns how many index
    /// entries they were. They are the only entries ever removed: nobody reads a mark older
    /// than [`crate::CHANGES_KEPT_MINUTES`], and [`crate::ChangeSweeper`] forgets only
    /// those. It need not be durable: a mark that comes back is forgotten again.
    fn forget_changes(&self, minute: i64) -> Result<u64, StoreError>;

    /// Adds the movements not stored yet ([`Movement::id`] decides: a resent record is kept
    /// once), all or none, durably, each findable by its institution and upload batch
    /// ([`Store::movements_of_upload`]); returns how many were new.
    fn add_movements(&self, movements: &[Movement]) -> Result<usize, StoreError>;

    /// Every movement, in id order.
    fn scan_movements(
        &self,
        visit: &mut dyn FnMut(Movement) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// The ids of the movements `institution` sent in batch `upload`, voided or not, in id
    /// order, those after `after` only, at most `limit` of them.
    fn movements_of_upload(
        &self,
        institution: &InstitutionId,
        upload: &UploadId,
        after: Option<&MovementId>,
        limit: usize,
    ) -> Result<Vec<MovementId>, StoreError>;

    /// Gives each of `ids` that has no void yet this one, all or none, durably; returns how
    /// many were newly voided. A void is never removed or replaced.
    fn void_movements(&self, ids: &[MovementId], void: &MovementVoid) -> Result<usize, StoreError>;

    /// The void of each of `ids`, if it has one, in the order asked.
    fn movement_voids(&self, ids: &[MovementId]) -> Result<Vec<Option<MovementVoid>>, StoreError>;

    /// Every void of a movement, in movement id order.
    fn scan_movement_voids(
        &self,
        visit: &mut dyn FnMut(MovementId, MovementVoid) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError> {
        (**self).pack(key)
    }
    fn packs(&self, keys: &[PackKey]) -> Result<Vec<Option<PackState>>, StoreError> {
        (**self).packs(keys)
    }
    fn commit(&self, writes: Vec<PackWrite>) -> Result<(), CommitError> {
        (**self).commit(writes)
    }
    fn commits_in_flight(&self) -> usize {
        (**self).commits_in_flight()
    }
    fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError> {
        (**self).history(key)
    }
    fn histories(&self, keys: &[PackKey]) -> Result<Vec<Vec<Recorded>>, StoreError> {
        (**self).histories(keys)
    }
    fn scan_logs(
        &self,
        visit: &mut dyn FnMut(PackKey, Vec<Recorded>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        (**self).scan_logs(visit)
    }
    fn scan_states(
        &self,
        visit: &mut dyn FnMut(PackKey, PackState) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        (**self).scan_states(visit)
    }
    fn put_states(&self, states: &[(PackKey, PackState)]) -> Result<(), StoreError> {
        (**self).put_states(states)
    }
    fn packs_by(&self, lookup: &Lookup, limit: usize) -> Result<Vec<PackKey>, StoreError> {
        (**self).packs_by(lookup, limit)
    }
    fn put_lookups(&self, entries: &[(Lookup, PackKey)]) -> Result<(), StoreError> {
        (**self).put_lookups(entries)
    }
    fn first_changed_minute(&self, from: i64) -> Result<Option<i64>, StoreError> {
        (**self).first_changed_minute(from)
    }
    fn forget_changes(&self, minute: i64) -> Result<u64, StoreError> {
        (**self).forget_changes(minute)
    }
    fn add_movements(&self, movements: &[Movement]) -> Result<usize, StoreError> {
        (**self).add_movements(movements)
    }
    fn scan_movements(
        &self,
        visit: &mut dyn FnMut(Movement) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        (**self).scan_movements(visit)
    }
    fn movements_of_upload(
        &self,
        institution: &InstitutionId,
        upload: &UploadId,
        after: Option<&MovementId>,
        limit: usize,
    ) -> Result<Vec<MovementId>, StoreError> {
        (**self).movements_of_upload(institution, upload, after, limit)
    }
    fn void_movements(&self, ids: &[MovementId], void: &MovementVoid) -> Result<usize, StoreError> {
        (**self).void_movements(ids, void)
    }
    fn movement_voids(&self, ids: &[MovementId]) -> Result<Vec<Option<MovementVoid>>, StoreError> {
        (**self).movement_voids(ids)
    }
    fn scan_movement_voids(
        &self,
        visit: &mut dyn FnMut(MovementId, MovementVoid) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        (**self).scan_movement_voids(visit)
    }
}
