//! The gate's batcher: sale requests from concurrent connections are judged and recorded
//! together, one commit and one fsync for all that arrived while the last group was being
//! written. Each request still gets its own decisions, and requests on one pack are judged
//! in arrival order, so a batch decides exactly what the same requests one by one would.
//!
//! A store that answers more commits by overlapping them (a database:
//! [`Store::commits_in_flight`]) gets that many groups in flight at once, each committed on
//! a thread of its own, so one commit stalled behind a slow replica does not hold up every
//! request that arrives meanwhile. Groups in flight at once touch disjoint packs: a group
//! whose packs overlap one in flight was judged on states from before it, and waits for it
//! to land to be judged again, so no decision rests on a state that might not happen.
//!
//! While a group is in flight, a smaller one than [`GATHER_REQUESTS`] waits up to
//! [`GATHER_WAIT`] from its oldest request's arrival for more to join it. A commit costs
//! the database about the same whatever its size, so under load a few big groups are
//! cheaper than many small ones; with nothing in flight a request is judged at once, so a
//! quiet gate answers as fast as before.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use drugtrace_code::PackKey;
use drugtrace_ledger::{CommitError, Decision, Judged, LedgerError, Store, Submission};
use tokio::sync::oneshot;

use crate::Inner;

/// Events in one group at most: a group's commit should stay short.
const MAX_GROUP_EVENTS: usize = 4096;

/// Requests from which a group goes to a free committer at once while others are in flight.
/// Fewer wait up to [`GATHER_WAIT`]. On the 3-node cluster, groups of 11 requests on
/// average became 25, and the leader's backends spent a fifth less CPU a decision
/// (`BENCHMARKS.md`, "Small groups wait for more").
const GATHER_REQUESTS: usize = 32;
/// How long the oldest request of a smaller group waits for others while a group is in
/// flight: short beside a commit on a cluster (about 4 ms there).
const GATHER_WAIT: Duration = Duration::from_millis(2);

type Reply = oneshot::Sender<Result<Vec<Decision>, GateFailure>>;

/// Why a group of sales was not recorded: nothing of it was, and every request in it gets
/// this answer. `unavailable` when the storage could not be reached (a database failing
/// over): the request is answered with a retryable 503, not a 500.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct GateFailure {
    /// The storage could not be reached now.
    pub unavailable: bool,
    /// What failed.
    pub message: String,
}

impl GateFailure {
    fn stopped(message: &str) -> GateFailure {
        GateFailure {
            unavailable: false,
            message: message.to_owned(),
        }
    }
}

/// Sends requests to the batcher thread, on the channel its committers report landings on.
pub struct Batcher {
    tx: Sender<Msg>,
}

impl Batcher {
    /// Starts the batcher thread for the state behind `inner`; it ends, with its
    /// committers, when the batcher is dropped.
    pub fn start<S: Store + Sync + 'static>(inner: Weak<Inner<S>>) -> Batcher {
        let (tx, msgs) = channel();
        let landings = tx.clone();
        std::thread::Builder::new()
            .name("gate-batcher".into())
            .spawn(move || run(inner, msgs, landings))
            .expect("a thread can be started");
        Batcher { tx }
    }

    /// Judges and records `submission` with whatever else is waiting; the decisions come
    /// back once they are durable.
    pub async fn record(&self, submission: Submission) -> Result<Vec<Decision>, GateFailure> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Msg::Request(submission, reply))
            .map_err(|_| GateFailure::stopped("the gate batcher has stopped"))?;
        answer
            .await
            .map_err(|_| GateFailure::stopped("the gate batcher dropped the request"))?
    }
}

impl Drop for Batcher {
    /// Stops the thread: its committers hold senders of the channel too, so it would not
    /// see the channel close.
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
    }
}

/// What the batcher thread waits for: a request, a group's commit landing, or the end.
pub(crate) enum Msg {
    Request(Submission, Reply),
    Landed(u64, Result<Vec<Vec<Decision>>, CommitError>),
    Stop,
}

/// A request waiting to be judged, with its place in arrival order.
struct Queued {
    seq: u64,
    submission: Submission,
    reply: Reply,
    /// Times its group conflicted with another writer.
    conflicts: u32,
    /// When it reached the batcher.
    arrived: Instant,
}

/// A group being committed: its requests and the packs it touches.
struct Flight {
    requests: Vec<Queued>,
    packs: Vec<PackKey>,
}

/// Conflicts with other writers (another server on the same database) after which a request
/// is answered that the packs are contended.
const MAX_CONFLICTS: u32 = 64;

/// The batcher thread: `msgs` brings requests and landings alike, so that the thread
/// sleeps on one thing; `tx` is what its committers report landings on.
fn run<S: Store + Sync + 'static>(inner: Weak<Inner<S>>, msgs: Receiver<Msg>, tx: Sender<Msg>) {
    let Some(width) = inner
        .upgrade()
        .map(|i| i.ledger.store().commits_in_flight().max(1))
    else {
        return;
    };
    let mut committers: Vec<Sender<(u64, Judged)>> = Vec::with_capacity(width);
    for n in 0..width {
        let (jobs, todo) = channel::<(u64, Judged)>();
        let inner = inner.clone();
        let landed = tx.clone();
        std::thread::Builder::new()
            .name(format!("gate-commit-{n}"))
            .spawn(move || {
                while let Ok((group, judged)) = todo.recv() {
                    let Some(inner) = inner.upgrade() else {
                        return;
                    };
                    let started = Instant::now();
                    let result = inner.ledger.commit_judged(judged);
                    inner.metrics.gate().committed(started.elapsed());
                    drop(inner);
                    if landed.send(Msg::Landed(group, result)).is_err() {
                        return;
                    }
                }
            })
            .expect("a thread can be started");
        committers.push(jobs);
    }
    drop(tx);
    let mut st = Pipeline::new(width);
    let mut next_group = 0u64;
    loop {
        if !st.can_judge() {
            match msgs.recv() {
                Ok(Msg::Stop) | Err(_) => return,
                Ok(m) => st.take(m),
            }
        } else if let Some(until) = st.gathering(Instant::now()) {
            match msgs.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(m) => st.take(m),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        while let Ok(m) = msgs.try_recv() {
            if matches!(m, Msg::Stop) {
                return;
            }
            st.take(m);
        }
        while st.can_judge() && st.gathering(Instant::now()).is_none() {
            let Some(inner): Option<Arc<Inner<S>>> = inner.upgrade() else {
                return;
            };
            let group = st.next_group();
            if group.is_empty() {
                st.held = true;
                break;
            }
            let subs: Vec<&Submission> = group.iter().map(|q| &q.submission).collect();
            let started = Instant::now();
            let judged = inner.ledger.judge_submissions(&subs);
            // The front request is the oldest: the queue is in arrival order, and one sent
            // back after a conflict keeps its place and its time of arrival.
            let waited = started.saturating_duration_since(group[0].arrived);
            inner
                .metrics
                .gate()
                .judged(group.len(), waited, started.elapsed());
            match judged {
                Err(e) => fail(group, &e),
                Ok(judged) if judged.packs().iter().any(|p| st.busy.contains(p)) => {
                    // Judged on a state a group in flight may change: back to the front,
                    // in arrival order, until it lands.
                    for q in group.into_iter().rev() {
                        st.queue.push_front(q);
                    }
                    st.held = true;
                }
                Ok(judged) => {
                    let packs = judged.packs().to_vec();
                    st.busy.extend(packs.iter().copied());
                    let slot = st.free.pop().expect("a free committer");
                    let id = next_group;
                    next_group += 1;
                    if committers[slot].send((id, judged)).is_err() {
                        return;
                    }
                    st.on_committer.insert(id, slot);
                    st.in_flight.insert(
                        id,
                        Flight {
                            requests: group,
                            packs,
                        },
                    );
                }
            }
        }
    }
}

/// The batcher thread's state: the requests waiting, the groups in flight and the packs
/// they touch, and the committers free.
struct Pipeline {
    queue: VecDeque<Queued>,
    next_seq: u64,
    in_flight: HashMap<u64, Flight>,
    busy: HashSet<PackKey>,
    free: Vec<usize>,
    /// The committer each group in flight is on.
    on_committer: HashMap<u64, usize>,
    /// Whether the group at the queue's front overlapped one in flight: it waits for a
    /// landing before it is judged again.
    held: bool,
}

impl Pipeline {
    /// An empty pipeline with `width` committers free.
    fn new(width: usize) -> Pipeline {
        Pipeline {
            queue: VecDeque::new(),
            next_seq: 0,
            in_flight: HashMap::new(),
            busy: HashSet::new(),
            free: (0..width).collect(),
            on_committer: HashMap::new(),
            held: false,
        }
    }

    /// Until when the requests waiting gather for a bigger group: while a group is in
    /// flight, fewer than [`GATHER_REQUESTS`] wait until [`GATHER_WAIT`] after the oldest
    /// arrived. None when they go now.
    fn gathering(&self, now: Instant) -> Option<Instant> {
        if self.in_flight.is_empty() || self.queue.len() >= GATHER_REQUESTS {
            return None;
        }
        let until = self.queue.front()?.arrived + GATHER_WAIT;
        (now < until).then_some(until)
    }

    /// Whether a group can be judged now: requests wait, a committer is free, and the
    /// front is not held.
    fn can_judge(&self) -> bool {
        !self.queue.is_empty() && !self.free.is_empty() && !self.held
    }

    /// Takes the next group off the queue's front, in arrival order, up to
    /// [`MAX_GROUP_EVENTS`]; empty when the front holds a void and a group is in flight (a
    /// void is judged against its pack's committed log).
    fn next_group(&mut self) -> Vec<Queued> {
        let mut events = 0usize;
        let mut group: Vec<Queued> = Vec::new();
        while let Some(q) = self.queue.front() {
            let void = q
                .submission
                .events
                .iter()
                .any(|e| matches!(e.kind, drugtrace_ledger::EventKind::Void(_)));
            if (void && !self.in_flight.is_empty())
                || (!group.is_empty() && events + q.submission.events.len() > MAX_GROUP_EVENTS)
            {
                break;
            }
            events += q.submission.events.len();
            group.push(self.queue.pop_front().expect("a front"));
        }
        group
    }

    /// Takes in one message: a request joins the queue; a landing answers its group's
    /// requests (or, on a conflict with another writer, puts them back in arrival order to
    /// be judged again) and frees its committer and its packs.
    fn take(&mut self, m: Msg) {
        match m {
            Msg::Request(submission, reply) => {
                self.queue.push_back(Queued {
                    seq: self.next_seq,
                    submission,
                    reply,
                    conflicts: 0,
                    arrived: Instant::now(),
                });
                self.next_seq += 1;
            }
            Msg::Stop => {}
            Msg::Landed(group, result) => {
                self.held = false;
                if let Some(slot) = self.on_committer.remove(&group) {
                    self.free.push(slot);
                }
                let Some(flight) = self.in_flight.remove(&group) else {
                    return;
                };
                for p in &flight.packs {
                    self.busy.remove(p);
                }
                match result {
                    Ok(decisions) => {
                        for (mine, q) in decisions.into_iter().zip(flight.requests) {
                            let _ = q.reply.send(Ok(mine));
                        }
                    }
                    Err(CommitError::Conflict(_)) => {
                        let mut again: Vec<Queued> = Vec::new();
                        for mut q in flight.requests {
                            q.conflicts += 1;
                            if q.conflicts >= MAX_CONFLICTS {
                                let _ = q.reply.send(Err(GateFailure {
                                    unavailable: false,
                                    message: format!(
                                        "gave up after {MAX_CONFLICTS} attempts: other writers kept changing the same packs"
                                    ),
                                }));
                            } else {
                                again.push(q);
                            }
                        }
                        // Back in arrival order among what waits.
                        again.extend(self.queue.drain(..));
                        again.sort_by_key(|q| q.seq);
                        self.queue.extend(again);
                    }
                    Err(CommitError::Store(e)) => {
                        fail(flight.requests, &LedgerError::Store(e));
                    }
                }
            }
        }
    }
}

/// Answers every request of a group that could not be recorded with why.
fn fail(group: Vec<Queued>, e: &LedgerError) {
    let failure = GateFailure {
        unavailable: crate::error::unavailable(e),
        message: e.to_string(),
    };
    if failure.unavailable {
        tracing::warn!(error = %e, "the gate could not record a group: storage unavailable");
    } else {
        tracing::error!(error = %e, "the gate could not record a group");
    }
    for q in group {
        let _ = q.reply.send(Err(failure.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drugtrace_ledger::testkit::{institution, pack};
    use drugtrace_ledger::{
        Authority, Event, EventKind, Ledger, Lookup, Lot, MemStore, Movement, MovementId,
        MovementVoid, PackState, PackWrite, Policy, Recorded, Sale, StoreError, Timestamp,
        UploadId,
    };

    /// The in-memory store with commits that take a while and may overlap, as a database's
    /// do: what makes the batcher keep several groups in flight.
    #[derive(Default)]
    struct Overlapping(MemStore);

    impl Store for Overlapping {
        fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError> {
            self.0.pack(key)
        }
        fn commit(&self, writes: Vec<PackWrite>) -> Result<(), CommitError> {
            std::thread::sleep(std::time::Duration::from_millis(3));
            self.0.commit(writes)
        }
        fn commits_in_flight(&self) -> usize {
            4
        }
        fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError> {
            self.0.history(key)
        }
        fn scan_logs(
            &self,
            visit: &mut dyn FnMut(PackKey, Vec<Recorded>) -> Result<(), StoreError>,
        ) -> Result<(), StoreError> {
            self.0.scan_logs(visit)
        }
        fn scan_states(
            &self,
            visit: &mut dyn FnMut(PackKey, PackState) -> Result<(), StoreError>,
        ) -> Result<(), StoreError> {
            self.0.scan_states(visit)
        }
        fn put_states(&self, states: &[(PackKey, PackState)]) -> Result<(), StoreError> {
            self.0.put_states(states)
        }
        fn packs_by(&self, lookup: &Lookup, limit: usize) -> Result<Vec<PackKey>, StoreError> {
            self.0.packs_by(lookup, limit)
        }
        fn put_lookups(&self, entries: &[(Lookup, PackKey)]) -> Result<(), StoreError> {
            self.0.put_lookups(entries)
        }
        fn first_changed_minute(&self, from: i64) -> Result<Option<i64>, StoreError> {
            self.0.first_changed_minute(from)
        }
        fn forget_changes(&self, minute: i64) -> Result<u64, StoreError> {
            self.0.forget_changes(minute)
        }
        fn add_movements(&self, movements: &[Movement]) -> Result<usize, StoreError> {
            self.0.add_movements(movements)
        }
        fn scan_movements(
            &self,
            visit: &mut dyn FnMut(Movement) -> Result<(), StoreError>,
        ) -> Result<(), StoreError> {
            self.0.scan_movements(visit)
        }
        fn movements_of_upload(
            &self,
            institution: &drugtrace_ledger::InstitutionId,
            upload: &UploadId,
            after: Option<&MovementId>,
            limit: usize,
        ) -> Result<Vec<MovementId>, StoreError> {
            self.0
                .movements_of_upload(institution, upload, after, limit)
        }
        fn void_movements(
            &self,
            ids: &[MovementId],
            void: &MovementVoid,
        ) -> Result<usize, StoreError> {
            self.0.void_movements(ids, void)
        }
        fn movement_voids(
            &self,
            ids: &[MovementId],
        ) -> Result<Vec<Option<MovementVoid>>, StoreError> {
            self.0.movement_voids(ids)
        }
        fn scan_movement_voids(
            &self,
            visit: &mut dyn FnMut(MovementId, MovementVoid) -> Result<(), StoreError>,
        ) -> Result<(), StoreError> {
            self.0.scan_movement_voids(visit)
        }
    }

    fn sale(n: u64, seller: u64) -> Submission {
        Submission {
            events: vec![Event {
                pack: pack(n),
                at: Timestamp::now(),
                actor: institution(seller),
                lot: Lot::default(),
                kind: EventKind::Sale(Sale {
                    settlement: None,
                    person: None,
                    units: None,
                    pack_units: None,
                    product: None,
                    amount_fen: 100,
                    fund_paid: true,
                    visit: None,
                }),
                upload: None,
            }],
            by: Authority::Party(drugtrace_catalog::InstitutionKind::Pharmacy),
            settlement: true,
        }
    }

    /// A pipeline of four committers with `queued` requests waiting, the oldest arrived at
    /// `at`, and `in_flight` groups being committed.
    fn pipeline(queued: usize, at: Instant, in_flight: u64) -> Pipeline {
        let mut p = Pipeline::new(4);
        for n in 0..queued {
            p.queue.push_back(Queued {
                seq: n as u64,
                submission: sale(n as u64, 1),
                reply: oneshot::channel().0,
                conflicts: 0,
                arrived: at,
            });
        }
        for g in 0..in_flight {
            p.free.pop();
            p.in_flight.insert(
                g,
                Flight {
                    requests: Vec::new(),
                    packs: Vec::new(),
                },
            );
        }
        p
    }

    #[test]
    fn a_small_group_waits_for_more_only_while_another_is_in_flight() {
        let at = Instant::now();
        let soon = at + Duration::from_micros(500);
        // Nothing in flight: judged at once, however few.
        assert_eq!(pipeline(1, at, 0).gathering(soon), None);
        // One in flight: a few wait until the oldest has waited GATHER_WAIT.
        assert_eq!(pipeline(3, at, 1).gathering(soon), Some(at + GATHER_WAIT));
        assert_eq!(pipeline(3, at, 1).gathering(at + GATHER_WAIT), None);
        // Enough for a group: they go now.
        assert_eq!(pipeline(GATHER_REQUESTS, at, 1).gathering(soon), None);
        assert_eq!(
            pipeline(GATHER_REQUESTS - 1, at, 3).gathering(soon),
            Some(at + GATHER_WAIT)
        );
    }

    /// A server's state on a store that keeps several commits in flight.
    fn overlapping_state() -> crate::AppState<Overlapping> {
        let ledger = Ledger::new(
            Overlapping::default(),
            drugtrace_catalog::Catalog::default(),
            Policy::default(),
        );
        crate::AppState::new(
            ledger,
            drugtrace_ledger::PersonKey::from_bytes([1; 32]),
            480,
            crate::Keys::default(),
            crate::RateLimiter::new(10, 10.0),
        )
    }

    /// With groups in flight at once, every pack is still sold once: 48 concurrent
    /// requests, six on each of 8 packs, from different pharmacies; each pack's log holds
    /// its six attempts in the order they were answered, exactly one allowed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn groups_in_flight_at_once_sell_each_pack_once() {
        let state = overlapping_state();
        let mut tasks = Vec::new();
        for round in 0..6u64 {
            for n in 0..8u64 {
                let state = state.clone();
                tasks.push(tokio::spawn(async move {
                    let d = state.gate().record(sale(n, round)).await.unwrap();
                    (n, d[0].allows_payment())
                }));
            }
        }
        let mut allowed = [0u32; 8];
        for t in tasks {
            let (n, ok) = t.await.unwrap();
            allowed[n as usize] += u32::from(ok);
        }
        assert_eq!(allowed, [1; 8], "each pack allowed exactly once");
        for n in 0..8u64 {
            let log = state.inner.ledger.history(&pack(n)).unwrap();
            assert_eq!(log.len(), 6, "every attempt recorded on pack {n}");
            assert!(
                log[0].outcome.is_applied(),
                "the first sale is the one allowed"
            );
            assert!(log[1..].iter().all(|r| !r.outcome.is_applied()));
        }
    }

    /// The ids of this process's threads named like the batcher's (`gate-…`).
    fn gate_threads() -> HashSet<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|name| name.starts_with("gate-"))
            })
            .map(|t| t.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// The batcher's thread and its committers end with the state. Before, the committers
    /// held senders of the channel the batcher slept on, so neither ever saw it close, and
    /// every state dropped left its threads behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_batcher_and_its_committers_end_with_the_state() {
        let before = gate_threads();
        let state = overlapping_state();
        state.gate().record(sale(100, 1)).await.unwrap();
        let started: HashSet<String> = gate_threads().difference(&before).cloned().collect();
        assert!(
            started.len() >= 5,
            "the batcher and 4 committers: {started:?}"
        );
        drop(state);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left: Vec<_> = gate_threads().intersection(&started).cloned().collect();
            if left.is_empty() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running: {left:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
