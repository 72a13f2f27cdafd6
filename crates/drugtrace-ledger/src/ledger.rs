//! The ledger: judges events against their packs' state and records them atomically.

use std::collections::HashMap;
use std::sync::Arc;

use drugtrace_catalog::Catalog;
use drugtrace_code::PackKey;

use crate::gate::{self, Context, Verdict, judge, judge_void};
use crate::{
    Authority, CommitError, Event, EventKind, InstitutionId, Lookup, MovementId, MovementVoid,
    Outcome, PackState, PackWrite, Policy, Reason, Recalls, Recorded, SaleRecord, Store,
    StoreError, Timestamp, UploadId,
};

/// What the ledger decided about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Accepted, flagged or rejected, with the reason.
    pub outcome: Outcome,
    /// The event's position in its pack's log.
    pub index: u32,
    /// The event repeated a settlement already decided: nothing new was recorded, and this
    /// is the earlier answer.
    pub replayed: bool,
    /// For sales and for events flagged `already_sold`: the pack's sales before this event,
    /// the evidence behind a block.
    pub prior_sales: Vec<SaleRecord>,
}

impl Decision {
    /// Whether a sale's payment may go through.
    pub fn allows_payment(&self) -> bool {
        self.outcome.is_applied()
    }
}

/// Why events could not be recorded. Nothing of the batch was recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Other writers kept changing the same packs.
    #[error("gave up after {attempts} attempts: other writers kept changing the same packs")]
    Contention {
        /// Attempts made.
        attempts: u32,
    },
}

/// How [`Ledger::rebuild`] treats stored states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildMode {
    /// Compare only.
    Check,
    /// Replace every stored state with the one folded from its log.
    Write,
}

/// What a rebuild found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Packs with a log.
    pub packs: u64,
    /// Events in all logs.
    pub events: u64,
    /// Packs whose stored state differed from their log's fold (or had no state, or a state
    /// without a log), the first thousand.
    pub mismatched: Vec<PackKey>,
    /// How many packs differed in all.
    pub mismatched_count: u64,
}

/// The pack ledger over a store, with the catalog and policy the gate judges by.
#[derive(Debug)]
pub struct Ledger<S> {
    store: S,
    /// Replaced whole when a shared catalog changes; each batch judges by the one it read.
    catalog: parking_lot::RwLock<Arc<Catalog>>,
    /// Replaced whole when a recall is recorded, as the catalog is.
    recalls: parking_lot::RwLock<Arc<Recalls>>,
    policy: Policy,
    clock: Clock,
}

/// The server's clock: the machine's, or one a test sets.
struct Clock(Option<Box<dyn Fn() -> Timestamp + Send + Sync>>);

impl Clock {
    fn now(&self) -> Timestamp {
        self.0.as_ref().map_or_else(Timestamp::now, |f| f())
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(set)"
        } else {
            "Clock(system)"
        })
    }
}

/// Conflicting commits are retried this often before giving up; each retry rejudges the
/// batch against fresh state, so a retry can never record a stale decision.
const MAX_ATTEMPTS: u32 = 64;

/// States that writes not yet committed will leave, by pack.
type Overlay = HashMap<PackKey, PackState, foldhash::fast::RandomState>;

/// Events one party submits together, for [`Ledger::submit`].
#[derive(Debug, Clone)]
pub struct Submission {
    /// The events, in order.
    pub events: Vec<Event>,
    /// Who submits them: decides what they may do and whose clock judges them.
    pub by: Authority,
    /// Whether they are one settlement's sales, paid whole or not at all.
    pub settlement: bool,
}

/// A submission, borrowed.
struct Part<'a> {
    events: &'a [Event],
    by: Authority,
    settlement: bool,
}

/// The operator's events, each judged on its own.
fn operator(events: &[Event]) -> Part<'_> {
    Part {
        events,
        by: Authority::Operator,
        settlement: false,
    }
}

/// What the pending writes of a settlement's packs were before it was judged, so that a
/// blocked settlement can be judged again from there.
struct Marks {
    /// Each pack's state and number of pending events before, or `None` if it had none.
    packs: Vec<(PackKey, Option<(PackState, usize)>)>,
    order: usize,
}

impl Marks {
    fn take(events: &[Event], pending: &PendingMap, order: usize) -> Marks {
        let mut packs: Vec<(PackKey, Option<(PackState, usize)>)> = Vec::new();
        for e in events {
            if packs.iter().any(|(k, _)| *k == e.pack) {
                continue;
            }
            let before = pending
                .get(&e.pack)
                .map(|p| (p.state.clone(), p.events.len()));
            packs.push((e.pack, before));
        }
        Marks { packs, order }
    }

    fn restore(self, pending: &mut PendingMap, order: &mut Vec<PackKey>) {
        for (key, before) in self.packs {
            match before {
                Some((state, n)) => {
                    if let Some(p) = pending.get_mut(&key) {
                        p.state = state;
                        p.events.truncate(n);
                    }
                }
                None => {
                    pending.remove(&key);
                }
            }
        }
        order.truncate(self.order);
    }
}

type PendingMap = HashMap<PackKey, Pending, foldhash::fast::RandomState>;

/// Judges one event against its pack's pending state and applies what is recorded. With
/// `no_sale`, a sale the gate would let through is recorded as `settlement_blocked`
/// instead, and a retry of such an attempt is answered as before.
fn step(
    p: &mut Pending,
    event: &Event,
    cx: &Context<'_>,
    now: Timestamp,
    no_sale: bool,
) -> Decision {
    let replay = |p: &Pending, outcome: Outcome, index: u32| Decision {
        outcome,
        index,
        replayed: true,
        prior_sales: p
            .state
            .sales
            .iter()
            .filter(|s| s.index < index)
            .cloned()
            .collect(),
    };
    if no_sale && let Some(index) = gate::collateral_retry(&p.state, event) {
        return replay(p, Outcome::Rejected(Reason::SettlementBlocked), index);
    }
    let verdict = match (&event.kind, &p.log) {
        (EventKind::Void(_), Some(log)) => {
            let whole: Vec<Recorded> = log.iter().chain(&p.events).cloned().collect();
            judge_void(&p.state, &whole, event, cx)
        }
        _ => judge(&p.state, event, cx),
    };
    match verdict {
        Verdict::Replay { outcome, index } => replay(p, outcome, index),
        Verdict::Record(event, mut outcome) => {
            let is_sale = matches!(event.kind, EventKind::Sale(_));
            if no_sale && is_sale && outcome.is_applied() {
                outcome = Outcome::Rejected(Reason::SettlementBlocked);
            }
            let shows_sales = is_sale || outcome.reason() == Some(Reason::AlreadySold);
            let prior_sales = if shows_sales {
                p.state.sales.clone()
            } else {
                Vec::new()
            };
            let r = Recorded {
                index: p.state.events,
                recorded_at: now,
                event,
                outcome,
            };
            let voids = matches!(r.event.kind, EventKind::Void(_)) && outcome.is_applied();
            p.events.push(r);
            match (&p.log, voids) {
                // A void changes what came before it: fold the whole log again.
                (Some(log), true) => p.state = PackState::fold(log.iter().chain(&p.events)),
                _ => p.state.apply(p.events.last().expect("just pushed")),
            }
            Decision {
                outcome,
                index: p.state.events - 1,
                replayed: false,
                prior_sales,
            }
        }
    }
}

/// A judged batch on its way to the committer thread.
struct InFlight<T> {
    payload: T,
    events: Vec<Event>,
    decisions: Vec<Decision>,
}

struct Pending {
    expected: u32,
    state: PackState,
    events: Vec<Recorded>,
    /// The pack's committed log, read only when a void needs it.
    log: Option<Vec<Recorded>>,
}

impl Pending {
    /// Nothing pending yet over a pack read in `state`.
    fn new(state: PackState) -> Pending {
        Pending {
            expected: state.events,
            state,
            events: Vec::new(),
            log: None,
        }
    }
}

impl<S: Store> Ledger<S> {
    /// A ledger over `store`.
    pub fn new(store: S, catalog: impl Into<Arc<Catalog>>, policy: Policy) -> Ledger<S> {
        Ledger {
            store,
            catalog: parking_lot::RwLock::new(catalog.into()),
            recalls: parking_lot::RwLock::new(Arc::default()),
            policy,
            clock: Clock(None),
        }
    }

    /// The same ledger with another clock for "now": for tests and replays that must judge
    /// as at a given moment. Every decision and `recorded_at` reads it.
    pub fn with_clock(mut self, now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Clock(Some(Box::new(now)));
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The catalog as it is now.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read())
    }

    /// Judges by `catalog` from now on (a shared catalog another server imported into):
    /// a batch being judged keeps the one it started with.
    pub fn set_catalog(&self, catalog: Arc<Catalog>) {
        *self.catalog.write() = catalog;
    }

    /// The recalls in force now.
    pub fn recalls(&self) -> Arc<Recalls> {
        Arc::clone(&self.recalls.read())
    }

    /// Judges by `recalls` from now on: every sale judged after this returns covers them.
    pub fn set_recalls(&self, recalls: Arc<Recalls>) {
        *self.recalls.write() = recalls;
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// What the gate judges by for a submission of `by`, at the server's clock now: for
    /// checks that record nothing (a stock count's answer).
    pub fn context(&self, by: Authority) -> Context<'_> {
        Context {
            catalog: self.catalog(),
            recalls: self.recalls(),
            policy: &self.policy,
            now: self.clock.now(),
            by,
        }
    }

    /// Judges and records one event of the operator's (see [`Ledger::record_batch`]); for a
    /// sale, the answer says whether the payment may go through, and it is durable before it
    /// is returned.
    pub fn record(&self, event: Event) -> Result<Decision, LedgerError> {
        let mut d = self.record_batch(std::slice::from_ref(&event))?;
        Ok(d.pop().expect("one decision per event"))
    }

    /// Judges and records events in order (several may concern one pack) in one atomic,
    /// durable commit, returning a decision per event. They are the operator's
    /// ([`Authority::Operator`]): every kind is permitted and each is judged at its own time.
    pub fn record_batch(&self, events: &[Event]) -> Result<Vec<Decision>, LedgerError> {
        self.record_parts(&[operator(events)])
    }

    /// Judges and records submissions in order, all in one atomic, durable commit, and
    /// returns each submission's decisions.
    ///
    /// A submission marked as a settlement is paid whole or not at all: if the gate blocks
    /// any of its sales, none of them is recorded as a sale. The others are recorded as
    /// rejected attempts (`settlement_blocked`), as evidence, so that a corrected settlement
    /// without the blocked item goes through; a retry of the same settlement that still
    /// holds a blocked item is answered as before and records nothing new.
    pub fn submit(&self, submissions: &[Submission]) -> Result<Vec<Vec<Decision>>, LedgerError> {
        let parts: Vec<Part<'_>> = submissions
            .iter()
            .map(|s| Part {
                events: &s.events,
                by: s.by,
                settlement: s.settlement,
            })
            .collect();
        let mut all = self.record_parts(&parts)?.into_iter();
        Ok(submissions
            .iter()
            .map(|s| all.by_ref().take(s.events.len()).collect())
            .collect())
    }

    fn record_parts(&self, parts: &[Part<'_>]) -> Result<Vec<Decision>, LedgerError> {
        for _ in 0..MAX_ATTEMPTS {
            let (decisions, writes) = self.judge_batch(parts, &Overlay::default())?;
            match self.store.commit(writes) {
                Ok(()) => return Ok(decisions),
                Err(CommitError::Conflict(_)) => continue,
                Err(CommitError::Store(e)) => return Err(e.into()),
            }
        }
        Err(LedgerError::Contention {
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Judges a batch against the store, or, for packs in `overlay`, against the states an
    /// earlier batch still being committed will leave.
    fn judge_batch(
        &self,
        parts: &[Part<'_>],
        overlay: &Overlay,
    ) -> Result<(Vec<Decision>, Vec<PackWrite>), StoreError> {
        let now = self.clock.now();
        let total: usize = parts.iter().map(|p| p.events.len()).sum();
        let mut pending: HashMap<PackKey, Pending, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(total, foldhash::fast::RandomState::default());
        let mut order: Vec<PackKey> = Vec::with_capacity(total);
        let mut decisions = Vec::with_capacity(total);
        self.prefetch(parts, overlay, &mut pending, &mut order)?;
        let catalog = self.catalog();
        let recalls = self.recalls();
        for part in parts {
            let cx = Context {
                catalog: Arc::clone(&catalog),
                recalls: Arc::clone(&recalls),
                policy: &self.policy,
                now,
                by: part.by,
            };
            let marks = if part.settlement {
                Some(Marks::take(part.events, &pending, order.len()))
            } else {
                None
            };
            let start = decisions.len();
            for event in part.events {
                let p = self.pending(&mut pending, &mut order, overlay, event)?;
                decisions.push(step(p, event, &cx, now, false));
            }
            let blocked = decisions[start..]
                .iter()
                .zip(part.events)
                .any(|(d, e)| matches!(e.kind, EventKind::Sale(_)) && !d.outcome.is_applied());
            if let (Some(marks), true) = (marks, blocked) {
                // Undo the settlement and record it again with no sale applied.
                marks.restore(&mut pending, &mut order);
                decisions.truncate(start);
                for event in part.events {
                    let p = self.pending(&mut pending, &mut order, overlay, event)?;
                    decisions.push(step(p, event, &cx, now, true));
                }
            }
        }
        let writes = order
            .into_iter()
            .filter_map(|k| {
                let p = pending.remove(&k)?;
                (!p.events.is_empty()).then_some(PackWrite {
                    key: k,
                    expected: p.expected,
                    events: p.events,
                    state: p.state,
                })
            })
            .collect();
        Ok((decisions, writes))
    }

    /// Reads the states of a batch's packs (those not in the overlay) in one call, so that a
    /// store across a network answers in one round trip rather than one per pack.
    fn prefetch(
        &self,
        parts: &[Part<'_>],
        overlay: &Overlay,
        pending: &mut PendingMap,
        order: &mut Vec<PackKey>,
    ) -> Result<(), StoreError> {
        let mut keys: Vec<PackKey> = Vec::new();
        let mut seen: std::collections::HashSet<PackKey, foldhash::fast::RandomState> =
            std::collections::HashSet::default();
        for part in parts {
            for e in part.events {
                if !overlay.contains_key(&e.pack) && seen.insert(e.pack) {
                    keys.push(e.pack);
                }
            }
        }
        if keys.len() < 2 {
            return Ok(());
        }
        let states = self.store.packs(&keys)?;
        for (key, state) in keys.into_iter().zip(states) {
            order.push(key);
            pending.insert(key, Pending::new(state.unwrap_or_default()));
        }
        Ok(())
    }

    /// The pending write of `event`'s pack, read from the overlay or the store on first use;
    /// for a void, with the pack's committed log.
    fn pending<'p>(
        &self,
        pending: &'p mut PendingMap,
        order: &mut Vec<PackKey>,
        overlay: &Overlay,
        event: &Event,
    ) -> Result<&'p mut Pending, StoreError> {
        let key = event.pack;
        let p = match pending.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let state = match overlay.get(&key) {
                    Some(s) => s.clone(),
                    None => self.store.pack(&key)?.unwrap_or_default(),
                };
                order.push(key);
                v.insert(Pending::new(state))
            }
        };
        if matches!(event.kind, EventKind::Void(_)) && p.log.is_none() {
            let log = self.store.history(&key)?;
            if log.len() != p.expected as usize {
                // Judged over a batch still being committed: `record_stream` lets that one
                // land before it judges a batch with a void, so this cannot happen.
                return Err(StoreError::Backend(format!(
                    "a void of {key} was judged over uncommitted events"
                )));
            }
            p.log = Some(log);
        }
        Ok(p)
    }

    /// Keeps stock movements reported without trace codes, each once; returns how many were
    /// new. They are facts about an institution's stock, not about a pack: nothing judges
    /// them.
    ///
    /// A record whose movement was voided (3507) is kept as the same record's next
    /// revision: the batch was voided to be uploaded again, and what is uploaded again
    /// counts again, once.
    pub fn add_movements(&self, movements: &[crate::Movement]) -> Result<usize, StoreError> {
        let mut movements = movements.to_vec();
        // Each round moves the records whose current revision is voided to the next one;
        // a record is voided once per 3507 of its batch, so the rounds are few.
        let mut pending: Vec<usize> = (0..movements.len()).collect();
        while !pending.is_empty() {
            let ids: Vec<MovementId> = pending.iter().map(|&i| movements[i].id()).collect();
            let voids = self.store.movement_voids(&ids)?;
            pending = pending
                .into_iter()
                .zip(voids)
                .filter(|(_, v)| v.is_some())
                .map(|(i, _)| i)
                .collect();
            for &i in &pending {
                let m = &mut movements[i];
                m.revision = m.revision.checked_add(1).ok_or_else(|| {
                    StoreError::Backend("a movement was voided 2^32 times".into())
                })?;
            }
        }
        self.store.add_movements(&movements)
    }

    /// Voids every movement `institution` sent in batch `upload` that is not voided yet
    /// (3507): each keeps `void` beside it and stops counting; nothing is removed. Returns
    /// how many movements the batch holds and how many were newly voided. Done page by page,
    /// each page atomic: a void that fails half-way is completed by sending it again.
    pub fn void_movements(
        &self,
        institution: &InstitutionId,
        upload: &UploadId,
        void: &MovementVoid,
    ) -> Result<(usize, usize), StoreError> {
        const PAGE: usize = 5_000;
        let (mut held, mut voided) = (0, 0);
        let mut after: Option<MovementId> = None;
        loop {
            let ids = self
                .store
                .movements_of_upload(institution, upload, after.as_ref(), PAGE)?;
            if ids.is_empty() {
                return Ok((held, voided));
            }
            held += ids.len();
            voided += self.store.void_movements(&ids, void)?;
            after = ids.last().copied();
        }
    }

    /// The packs with a record found by `lookup` (a settlement, an upload batch, a buyer),
    /// in key order, at most `limit`.
    pub fn packs_by(&self, lookup: &Lookup, limit: usize) -> Result<Vec<PackKey>, StoreError> {
        self.store.packs_by(lookup, limit)
    }

    /// Records batches in order, as [`Ledger::record_batch`] would one after the other, but
    /// judges each batch while the one before it is being committed on another thread, so
    /// that judging and the engine's writes use two cores. `done` gets each batch's payload
    /// and decisions, in order, once the batch is durable. If another writer changed a pack
    /// of a batch in flight, that batch is judged and committed again before the next one.
    pub fn record_stream<T, E, I, F>(&self, batches: I, mut done: F) -> Result<(), E>
    where
        S: Sync,
        T: Send,
        E: From<LedgerError>,
        I: IntoIterator<Item = (T, Vec<Event>)>,
        F: FnMut(T, Vec<Decision>) -> Result<(), E>,
    {
        std::thread::scope(|scope| {
            let (to_committer, jobs) =
                std::sync::mpsc::sync_channel::<(InFlight<T>, Vec<PackWrite>)>(0);
            let (to_judge, results) =
                std::sync::mpsc::channel::<(InFlight<T>, Result<(), CommitError>)>();
            scope.spawn(move || {
                for (job, writes) in jobs {
                    let result = self.store.commit(writes);
                    if to_judge.send((job, result)).is_err() {
                        return;
                    }
                }
            });
            let mut overlay = Overlay::default();
            let mut in_flight = false;
            // Waits for the batch in flight; returns whether the next batch, judged over
            // its overlay, is still valid.
            let settle = |done: &mut F| -> Result<bool, E> {
                let (job, result) = results.recv().expect("the committer answers every batch");
                match result {
                    Ok(()) => {
                        done(job.payload, job.decisions)?;
                        Ok(true)
                    }
                    Err(CommitError::Conflict(_)) => {
                        let decisions = self.record_batch(&job.events)?;
                        done(job.payload, decisions)?;
                        Ok(false)
                    }
                    Err(CommitError::Store(e)) => Err(LedgerError::Store(e).into()),
                }
            };
            for (payload, events) in batches {
                // A void is judged against its pack's committed log: let the batch in
                // flight land first.
                if in_flight && events.iter().any(|e| matches!(e.kind, EventKind::Void(_))) {
                    settle(&mut done)?;
                    in_flight = false;
                    overlay.clear();
                }
                let (mut decisions, mut writes) = self
                    .judge_batch(&[operator(&events)], &overlay)
                    .map_err(LedgerError::from)?;
                // The batch judged over the one in flight is stale if that one conflicted.
                if in_flight && !settle(&mut done)? {
                    (decisions, writes) = self
                        .judge_batch(&[operator(&events)], &Overlay::default())
                        .map_err(LedgerError::from)?;
                }
                overlay.clear();
                overlay.extend(writes.iter().map(|w| (w.key, w.state.clone())));
                let job = InFlight {
                    payload,
                    events,
                    decisions,
                };
                to_committer
                    .send((job, writes))
                    .expect("the committer runs until the channel closes");
                in_flight = true;
            }
            if in_flight {
                settle(&mut done)?;
            }
            drop(to_committer);
            Ok(())
        })
    }

    /// A pack's state.
    pub fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError> {
        self.store.pack(key)
    }

    /// A pack's whole log.
    pub fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError> {
        self.store.history(key)
    }

    /// Folds every pack's log into its state and compares it with the stored one; with
    /// [`RebuildMode::Write`], stores the folded states and writes the index ([`Lookup`])
    /// again from the logs. Run it with no writer active.
    pub fn rebuild(&self, mode: RebuildMode) -> Result<RebuildReport, StoreError> {
        const CHUNK: usize = 10_000;
        let mut report = RebuildReport::default();
        let mut folded: Vec<(PackKey, PackState)> = Vec::new();
        let mut lookups: Vec<(Lookup, PackKey)> = Vec::new();
        let mismatch = |report: &mut RebuildReport, key: PackKey| {
            report.mismatched_count += 1;
            if report.mismatched.len() < 1000 {
                report.mismatched.push(key);
            }
        };
        self.store.scan_logs(&mut |key, log| {
            report.packs += 1;
            report.events += log.len() as u64;
            let state = PackState::fold(&log);
            if self.store.pack(&key)?.as_ref() != Some(&state) {
                mismatch(&mut report, key);
            }
            if mode == RebuildMode::Write {
                folded.push((key, state));
                lookups.extend(log.iter().flat_map(Lookup::of).map(|l| (l, key)));
                if folded.len() >= CHUNK {
                    self.store.put_states(&folded)?;
                    self.store.put_lookups(&lookups)?;
                    folded.clear();
                    lookups.clear();
                }
            }
            Ok(())
        })?;
        if !folded.is_empty() {
            self.store.put_states(&folded)?;
            self.store.put_lookups(&lookups)?;
        }
        // States with no log behind them cannot be derived from anything.
        let mut orphans = Vec::new();
        self.store.scan_states(&mut |key, _| {
            if self.store.history(&key)?.is_empty() {
                orphans.push(key);
            }
            Ok(())
        })?;
        for key in orphans {
            mismatch(&mut report, key);
        }
        Ok(report)
    }
}
