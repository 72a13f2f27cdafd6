//! The ledger: judges events against their packs' state and records them atomically.

use std::borrow::Borrow;
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
    /// For an event on a case: what was recorded on each box inside it (at every level,
    /// a pallet's cases and their boxes), or, for a filling, on each box put in.
    pub boxes: Vec<(PackKey, Outcome)>,
}

impl Decision {
    /// Whether a sale's payment may go through.
    pub fn allows_payment(&self) -> bool {
        self.outcome.is_applied()
    }
}

/// A box a case was filled with, for [`Ledger::case_contents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseItem {
    /// The box.
    pub pack: PackKey,
    /// Its state.
    pub state: PackState,
    /// Whether it is still inside the case.
    pub inside: bool,
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

/// A group of submissions judged and not yet committed ([`Ledger::judge_submissions`]).
#[derive(Debug)]
pub struct Judged {
    decisions: Vec<Vec<Decision>>,
    writes: Vec<PackWrite>,
    read: Vec<PackKey>,
}

impl Judged {
    /// The packs its decisions depend on: every pack it read (those it writes among them,
    /// and the cases above a box it packed, which it only reads).
    pub fn packs(&self) -> &[PackKey] {
        &self.read
    }
}

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

/// The parts of a batch of submissions, for judging them together.
fn parts_of<S: Borrow<Submission>>(submissions: &[S]) -> Vec<Part<'_>> {
    submissions
        .iter()
        .map(|s| {
            let s = s.borrow();
            Part {
                events: &s.events,
                by: s.by,
                settlement: s.settlement,
            }
        })
        .collect()
}

/// A batch's decisions cut into each submission's, in order.
fn per_submission<S: Borrow<Submission>>(
    submissions: &[S],
    decisions: Vec<Decision>,
) -> Vec<Vec<Decision>> {
    let mut all = decisions.into_iter();
    submissions
        .iter()
        .map(|s| all.by_ref().take(s.borrow().events.len()).collect())
        .collect()
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
    if no_sale && let Some(index) = gate::collateral_retry(&p.state, event) {
        return replay(p, Outcome::Rejected(Reason::SettlementBlocked), index);
    }
    let verdict = verdict(p, event, cx);
    settle_verdict(p, verdict, now, no_sale)
}

/// What the gate says of `event` on its pack's pending state.
fn verdict(p: &Pending, event: &Event, cx: &Context<'_>) -> Verdict {
    match (&event.kind, &p.log) {
        (EventKind::Void(_), Some(log)) => {
            let whole: Vec<Recorded> = log.iter().chain(&p.events).cloned().collect();
            judge_void(&p.state, &whole, event, cx)
        }
        _ => judge(&p.state, event, cx),
    }
}

/// The answer to a retry: the earlier outcome at its position, nothing recorded.
fn replay(p: &Pending, outcome: Outcome, index: u32) -> Decision {
    Decision {
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
        boxes: Vec::new(),
    }
}

/// Records what `verdict` says on the pack's pending write and applies it.
fn settle_verdict(p: &mut Pending, verdict: Verdict, now: Timestamp, no_sale: bool) -> Decision {
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
                boxes: Vec::new(),
            }
        }
    }
}

/// How deep cases nest at most (a pallet of cases of boxes is three levels).
const MAX_LEVELS: usize = 16;

/// What judging one batch works on: the pending writes, the overlay under them, and the
/// context and clock of the submission being judged.
struct Judging<'a, 'c> {
    pending: &'a mut PendingMap,
    order: &'a mut Vec<PackKey>,
    overlay: &'a Overlay,
    cx: &'a Context<'c>,
    now: Timestamp,
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

    /// The ledger's clock: what it stamps records with and judges by.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
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
        let decisions = self.record_parts(&parts_of(submissions))?;
        Ok(per_submission(submissions, decisions))
    }

    /// Judges submissions as [`Ledger::submit`] would, against the store, without
    /// committing: the first half of a commit pipeline, in which a group is judged while
    /// others are written. [`Ledger::commit_judged`] writes it.
    ///
    /// Groups committed at once must touch disjoint packs ([`Judged::packs`]): one judged
    /// while another that touches the same pack is in flight may have read its state from
    /// before it, and waits for it to land, to be judged again.
    pub fn judge_submissions<B: Borrow<Submission>>(
        &self,
        submissions: &[B],
    ) -> Result<Judged, LedgerError> {
        let mut read = Vec::new();
        let (decisions, writes) =
            self.judge_batch_reading(&parts_of(submissions), &Overlay::default(), &mut read)?;
        Ok(Judged {
            decisions: per_submission(submissions, decisions),
            writes,
            read,
        })
    }

    /// Commits a group judged by [`Ledger::judge_submissions`]; its decisions once it is
    /// durable.
    pub fn commit_judged(&self, judged: Judged) -> Result<Vec<Vec<Decision>>, CommitError> {
        self.store.commit(judged.writes)?;
        Ok(judged.decisions)
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
        self.judge_batch_reading(parts, overlay, &mut Vec::new())
    }

    /// [`Ledger::judge_batch`], also giving every pack it read (`read`), written or not.
    fn judge_batch_reading(
        &self,
        parts: &[Part<'_>],
        overlay: &Overlay,
        read: &mut Vec<PackKey>,
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
                let mut b = Judging {
                    pending: &mut pending,
                    order: &mut order,
                    overlay,
                    cx: &cx,
                    now,
                };
                decisions.push(self.judge_one(&mut b, event, false)?);
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
                    let mut b = Judging {
                        pending: &mut pending,
                        order: &mut order,
                        overlay,
                        cx: &cx,
                        now,
                    };
                    decisions.push(self.judge_one(&mut b, event, true)?);
                }
            }
        }
        read.extend_from_slice(&order);
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

    /// Judges one submitted event and records it, with what it does to other packs: a
    /// packing's other side, and the boxes inside a case that moves.
    fn judge_one(
        &self,
        b: &mut Judging<'_, '_>,
        event: &Event,
        no_sale: bool,
    ) -> Result<Decision, StoreError> {
        let (cx, now) = (b.cx, b.now);
        match &event.kind {
            EventKind::PackInto { case } => return self.pack_into(b, event, *case),
            EventKind::Fill { boxes } => return self.fill(b, event, boxes),
            _ => {}
        }
        let p = self.pending(b, event)?;
        let case = (p.state.is_case && event.kind.moves_contents()).then(|| p.state.clone());
        let mut d = step(p, event, cx, now, no_sale);
        if let Some(case) = case
            && d.outcome.is_applied()
            && !d.replayed
        {
            d.boxes = self.move_contents(b, event, case)?;
        }
        Ok(d)
    }

    /// Records `event`, applied to a case whose state before it was `case`, on every box
    /// still inside, and on theirs in turn: a case's movements are its boxes' movements,
    /// each box getting its own event in the same commit. Opening a case takes each box out
    /// of it; a void reaches the boxes its batch's records reached.
    fn move_contents(
        &self,
        b: &mut Judging<'_, '_>,
        event: &Event,
        case: PackState,
    ) -> Result<Vec<(PackKey, Outcome)>, StoreError> {
        let (cx, now) = (b.cx, b.now);
        let mut out = Vec::new();
        let mut seen: std::collections::HashSet<PackKey, foldhash::fast::RandomState> =
            std::collections::HashSet::default();
        seen.insert(event.pack);
        let mut todo = vec![(event.pack, case)];
        while let Some((key, case)) = todo.pop() {
            self.load(b, &case.contents)?;
            for child in &case.contents {
                if !seen.insert(*child) {
                    continue;
                }
                // From this batch, the overlay of one still being committed, or the store
                // (read above in one call).
                let p = self.slot(b, *child)?;
                let inside = match &event.kind {
                    EventKind::Void(_) => p.state.case.as_ref().is_some_and(|l| l.case == key),
                    _ => p.state.is_inside(&key, &case),
                };
                if !inside {
                    continue;
                }
                let mut e = event.clone();
                e.pack = *child;
                e.lot = crate::Lot::default();
                if matches!(e.kind, EventKind::Open) {
                    e.kind = EventKind::Unpack;
                }
                let p = self.pending(b, &e)?;
                let verdict = verdict(p, &e, cx);
                // A void reaches only the boxes its batch's records reached.
                if matches!(
                    verdict,
                    Verdict::Replay { .. } | Verdict::Record(_, Outcome::Rejected(_))
                ) && matches!(e.kind, EventKind::Void(_))
                {
                    continue;
                }
                let nested = (p.state.is_case && e.kind.moves_contents()).then(|| p.state.clone());
                let d = settle_verdict(p, verdict, now, false);
                out.push((*child, d.outcome));
                if let Some(nested) = nested
                    && d.outcome.is_applied()
                    && !d.replayed
                {
                    todo.push((*child, nested));
                }
            }
        }
        Ok(out)
    }

    /// Packs the box `event` is about into `case`: judged on the box (a resent packing is
    /// answered as before; a sold box, or one still inside another case, is flagged; a
    /// pack into itself or a case inside it is refused), and, when applied, listed in the
    /// case's filling in the same commit.
    fn pack_into(
        &self,
        b: &mut Judging<'_, '_>,
        event: &Event,
        case: PackKey,
    ) -> Result<Decision, StoreError> {
        let (cx, now) = (b.cx, b.now);
        let case_event = Event {
            pack: case,
            at: event.at,
            actor: event.actor.clone(),
            lot: crate::Lot::default(),
            kind: EventKind::Fill { boxes: Vec::new() },
            upload: event.upload.clone(),
        };
        let case_state = self.slot(b, case)?.state.clone();
        let refused =
            b.cx.by
                .forbids(&case_event.kind, &event.actor, &case_state)
                .or(self
                    .is_within(b, case, event.pack)?
                    .then_some(Reason::CaseCycle));
        // Still inside another case, where that case is (not a link a box left behind).
        let elsewhere = (self.slot(b, event.pack)?.state.case.as_ref())
            .map(|l| l.case)
            .filter(|c| *c != case);
        let in_another = match elsewhere {
            Some(other) => {
                let other_state = self.slot(b, other)?.state.clone();
                self.slot(b, event.pack)?
                    .state
                    .is_inside(&other, &other_state)
            }
            None => false,
        };
        let p = self.pending(b, event)?;
        let verdict = match (verdict(p, event, cx), refused) {
            (Verdict::Record(e, Outcome::Accepted | Outcome::Flagged(_)), Some(r)) => {
                Verdict::Record(e, Outcome::Rejected(r))
            }
            (Verdict::Record(e, outcome), None) => {
                let outcome = match outcome {
                    Outcome::Accepted | Outcome::Flagged(Reason::UnknownCode) if in_another => {
                        Outcome::Flagged(Reason::InAnotherCase)
                    }
                    o => o,
                };
                Verdict::Record(e, outcome)
            }
            (v, _) => v,
        };
        let d = settle_verdict(p, verdict, now, false);
        if d.outcome.is_applied() && !d.replayed {
            let c = self.slot(b, case)?;
            let merge = c.events.last_mut().filter(|r| {
                r.outcome.is_applied()
                    && r.event.actor == event.actor
                    && r.event.at == event.at
                    && r.event.upload == event.upload
                    && matches!(r.event.kind, EventKind::Fill { .. })
            });
            match merge {
                Some(r) => {
                    if let EventKind::Fill { boxes } = &mut r.event.kind
                        && !boxes.contains(&event.pack)
                    {
                        boxes.push(event.pack);
                    }
                    if !c.state.contents.contains(&event.pack) {
                        c.state.contents.push(event.pack);
                    }
                }
                None => {
                    let mut fill = case_event;
                    fill.kind = EventKind::Fill {
                        boxes: vec![event.pack],
                    };
                    settle_verdict(c, Verdict::Record(fill, Outcome::Accepted), now, false);
                }
            }
        }
        Ok(d)
    }

    /// Whether `pack` is `case` or a case `case` is inside, at any level: packing `case`'s
    /// box into it would make a loop.
    fn is_within(
        &self,
        b: &mut Judging<'_, '_>,
        case: PackKey,
        pack: PackKey,
    ) -> Result<bool, StoreError> {
        let mut at = case;
        for _ in 0..MAX_LEVELS {
            if at == pack {
                return Ok(true);
            }
            match &self.slot(b, at)?.state.case {
                Some(l) => at = l.case,
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// A filling submitted on the case: each box is packed into it as by its own
    /// [`EventKind::PackInto`], and the answer lists what each got.
    fn fill(
        &self,
        b: &mut Judging<'_, '_>,
        event: &Event,
        boxes: &[PackKey],
    ) -> Result<Decision, StoreError> {
        let (cx, now) = (b.cx, b.now);
        self.load(b, boxes)?;
        let p = self.pending(b, event)?;
        if let Some(r) = cx.by.forbids(&event.kind, &event.actor, &p.state) {
            return Ok(settle_verdict(
                p,
                Verdict::Record(event.clone(), Outcome::Rejected(r)),
                now,
                false,
            ));
        }
        let mut out = Vec::new();
        let mut first_refusal = None;
        for pack in boxes {
            if out.iter().any(|(k, _)| k == pack) {
                continue;
            }
            let e = Event {
                pack: *pack,
                at: event.at,
                actor: event.actor.clone(),
                lot: crate::Lot::default(),
                kind: EventKind::PackInto { case: event.pack },
                upload: event.upload.clone(),
            };
            let d = self.pack_into(b, &e, event.pack)?;
            if let Outcome::Rejected(r) = d.outcome {
                first_refusal.get_or_insert(r);
            }
            out.push((*pack, d.outcome));
        }
        let p = self.pending(b, event)?;
        let filled = p.events.last().filter(|r| {
            r.event.actor == event.actor
                && r.event.at == event.at
                && matches!(r.event.kind, EventKind::Fill { .. })
        });
        let mut d = match filled {
            Some(r) => Decision {
                outcome: r.outcome,
                index: r.index,
                replayed: false,
                prior_sales: Vec::new(),
                boxes: Vec::new(),
            },
            None => {
                // Nothing went in: each box was refused, or every packing was a resend.
                let outcome = match first_refusal {
                    Some(r) => Outcome::Rejected(r),
                    None if !boxes.is_empty() => {
                        return Ok(Decision {
                            outcome: Outcome::Accepted,
                            index: p.state.events.saturating_sub(1),
                            replayed: true,
                            prior_sales: Vec::new(),
                            boxes: out,
                        });
                    }
                    None => Outcome::Rejected(Reason::NotInCase),
                };
                settle_verdict(p, Verdict::Record(event.clone(), outcome), now, false)
            }
        };
        d.boxes = out;
        Ok(d)
    }

    /// The pending write of pack `key`, read from the overlay or the store on first use.
    fn slot<'p>(
        &self,
        b: &'p mut Judging<'_, '_>,
        key: PackKey,
    ) -> Result<&'p mut Pending, StoreError> {
        Ok(match b.pending.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let state = match b.overlay.get(&key) {
                    Some(s) => s.clone(),
                    None => self.store.pack(&key)?.unwrap_or_default(),
                };
                b.order.push(key);
                v.insert(Pending::new(state))
            }
        })
    }

    /// Reads the states of `keys` not yet pending (nor in the overlay) in one call.
    fn load(&self, b: &mut Judging<'_, '_>, keys: &[PackKey]) -> Result<(), StoreError> {
        let missing: Vec<PackKey> = keys
            .iter()
            .filter(|k| !b.pending.contains_key(*k) && !b.overlay.contains_key(*k))
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let states = self.store.packs(&missing)?;
        for (key, state) in missing.into_iter().zip(states) {
            b.order.push(key);
            b.pending
                .insert(key, Pending::new(state.unwrap_or_default()));
        }
        Ok(())
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
        b: &'p mut Judging<'_, '_>,
        event: &Event,
    ) -> Result<&'p mut Pending, StoreError> {
        let key = event.pack;
        let void = matches!(event.kind, EventKind::Void(_));
        let p = self.slot(b, key)?;
        if void && p.log.is_none() {
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

    /// What the case `case` was filled with, each box with its state and whether it is
    /// still inside (packed in and not taken out, sold or moved on without the case since);
    /// empty for a pack that is no case.
    pub fn case_contents(&self, case: &PackKey) -> Result<Vec<CaseItem>, StoreError> {
        let Some(state) = self.store.pack(case)? else {
            return Ok(Vec::new());
        };
        if state.contents.is_empty() {
            return Ok(Vec::new());
        }
        let boxes = self.store.packs(&state.contents)?;
        Ok(state
            .contents
            .iter()
            .zip(boxes)
            .map(|(pack, b)| {
                let b = b.unwrap_or_default();
                CaseItem {
                    pack: *pack,
                    inside: b.is_inside(case, &state),
                    state: b,
                }
            })
            .collect())
    }

    /// A pack's whole log.
    pub fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError> {
        self.store.history(key)
    }

    /// Folds every pack's log into its state and compares it with the stored one; with
    /// [`RebuildMode::Write`], stores the folded states and writes the index ([`Lookup`])
    /// again from the logs, but for the change marks nobody reads any more (older than
    /// [`crate::CHANGES_KEPT_MINUTES`]). Run it with no writer active.
    pub fn rebuild(&self, mode: RebuildMode) -> Result<RebuildReport, StoreError> {
        const CHUNK: usize = 10_000;
        let first_kept = crate::first_kept_minute(self.now());
        let kept = |l: &Lookup| !matches!(l, Lookup::Changed(m) if m.minute < first_kept);
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
                lookups.extend(
                    log.iter()
                        .flat_map(|r| Lookup::of(&key, r))
                        .filter(kept)
                        .map(|l| (l, key)),
                );
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
