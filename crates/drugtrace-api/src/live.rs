//! The live feed of blocked sales: every sale the ledger refuses (through the gate, a
//! settlement, the national interface or an upload) is added to the day's feed, which the
//! dashboard's overview shows as a ticker and streams to the regulator's browser
//! (`GET /dashboard/live/interceptions`, server-sent events) as it happens.
//!
//! The feed is a journal per day (`interceptions-YYYY-MM-DD`: the data directory's file, or
//! the database's shared journal), so every server on a database adds to and streams the
//! same feed, and a regulator connected to one server sees what another blocked. A server
//! appends its interceptions in batches on a thread of its own, after they were answered,
//! a fifth of a second's at a time:
//! the ledger's record is the evidence and is durable before the answer; the feed is the
//! notice of it. A server that stops appends what waits first ([`Interceptions::flush`]); an
//! interception whose server died before its batch was appended is in the ledger (and the
//! warehouse's next export) but not in the ticker.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use drugtrace_durable::{SharedError, SharedJournal};
use drugtrace_ledger::{Decision, Event, EventKind, Outcome};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Interceptions kept in memory for the ticker and for streams resuming after a short break.
const RECENT: usize = 500;
/// Interceptions waiting for the writer at most; beyond, new ones are left out of the feed
/// (and counted), never held up: the gate does not wait for the ticker.
const QUEUE: usize = 20_000;
/// Interceptions in one journal record at most.
const BATCH: usize = 1_000;
/// How long a batch waits for more interceptions after its first. The ticker is read by
/// people, to whom a fifth of a second is at once; the database, shared with the gate,
/// then takes at most five of the feed's appends a second however many sales are refused,
/// instead of one for every few.
const LINGER: Duration = Duration::from_millis(200);
/// Attempts at appending one batch before it is given up (and logged).
const ATTEMPTS: u32 = 8;
/// Days a data directory keeps the feed's files (the ticker shows today's only; the ledger
/// keeps every interception for good).
const KEEP_DAYS: i64 = 31;

/// Where the feed reads the time: the system's clock, or a test's.
type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// Opens the feed's journal of one day, named `interceptions-YYYY-MM-DD`.
pub type DayJournals =
    Box<dyn Fn(&str) -> Result<Arc<dyn SharedJournal>, String> + Send + Sync + 'static>;

/// A sale the ledger refused, as the feed keeps it (no buyer: the feed is for the ticker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// When the server decided, milliseconds since the epoch (its clock).
    pub at_ms: i64,
    /// The selling institution.
    pub institution: String,
    /// The pack's trace code.
    pub code: String,
    /// The ledger's reason (`already_sold`, …).
    pub reason: String,
    /// The settlement, when the client named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<String>,
    /// The amount the sale asked for, in fen.
    pub amount_fen: i64,
}

/// A place in the feed: the day, the journal record, the interception in it. Ids order
/// like the feed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedId {
    day: String,
    record: u64,
    index: u32,
}

impl FeedId {
    /// Reads `2025-05-12/41/0`; `None` for anything else.
    pub fn parse(s: &str) -> Option<FeedId> {
        let mut parts = s.trim().split('/');
        let day = parts.next()?;
        let record = parts.next()?.parse().ok()?;
        let index = parts.next()?.parse().ok()?;
        if parts.next().is_some() || !valid_day(day) {
            return None;
        }
        Some(FeedId {
            day: day.to_owned(),
            record,
            index,
        })
    }
}

impl std::fmt::Display for FeedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.day, self.record, self.index)
    }
}

fn valid_day(day: &str) -> bool {
    day.len() == 10 && day.parse::<jiff::civil::Date>().is_ok()
}

/// One journal record: a batch of interceptions, with the id its writer gave it, so a batch
/// whose append went unanswered is recognised when it did land.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    batch: u64,
    blocked: Vec<Blocked>,
}

/// The day's feed as far as it was read.
struct Day {
    day: String,
    journal: Arc<dyn SharedJournal>,
    /// Records read.
    next: u64,
    /// Interceptions read today.
    today: u64,
    /// The latest of them, oldest first.
    recent: VecDeque<(FeedId, Blocked)>,
}

impl Day {
    /// Day `day`, nothing of its journal read yet.
    fn new(day: String, journal: Arc<dyn SharedJournal>) -> Day {
        Day {
            day,
            journal,
            next: 0,
            today: 0,
            recent: VecDeque::new(),
        }
    }
}

/// What a reader gets: the day's latest interceptions and its count.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The day (`YYYY-MM-DD`, the server's local date).
    pub day: String,
    /// Interceptions today.
    pub today: u64,
    /// The latest, newest first, with their ids.
    pub latest: Vec<(FeedId, Blocked)>,
}

/// The live feed of blocked sales.
pub struct Interceptions {
    journals: DayJournals,
    offset_minutes: i32,
    clock: Clock,
    day: Mutex<Day>,
    /// Bumped whenever something was read, for the streams to wake on.
    changed: tokio::sync::watch::Sender<u64>,
    queue: SyncSender<Blocked>,
    /// Interceptions left out because the writer was that far behind.
    dropped: AtomicU64,
    /// Interceptions queued for the writer since the server started.
    queued: AtomicU64,
    /// Of those, the ones the writer is done with: appended, or given up and logged.
    done: AtomicU64,
}

impl std::fmt::Debug for Interceptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interceptions").finish_non_exhaustive()
    }
}

impl Interceptions {
    /// The feed over `journals`, one per day in the zone `offset_minutes` east of UTC, and
    /// the thread that appends to it.
    pub fn open(journals: DayJournals, offset_minutes: i32) -> Result<Arc<Interceptions>, String> {
        Interceptions::open_with_clock(journals, offset_minutes, Arc::new(jiff::Timestamp::now))
    }

    /// [`Interceptions::open`] with the time read from `clock`.
    fn open_with_clock(
        journals: DayJournals,
        offset_minutes: i32,
        clock: Clock,
    ) -> Result<Arc<Interceptions>, String> {
        let day = local_day(clock(), offset_minutes);
        let journal = journals(&journal_name(&day))?;
        let (queue, pending) = sync_channel(QUEUE);
        let feed = Arc::new(Interceptions {
            journals,
            offset_minutes,
            clock,
            day: Mutex::new(Day::new(day, journal)),
            changed: tokio::sync::watch::Sender::new(0),
            queue,
            dropped: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            done: AtomicU64::new(0),
        });
        feed.refresh().map_err(|e| e.to_string())?;
        let weak = Arc::downgrade(&feed);
        std::thread::Builder::new()
            .name("drugtrace-live".into())
            .spawn(move || write(weak, pending))
            .map_err(|e| format!("starting the feed's writer: {e}"))?;
        Ok(feed)
    }

    /// The feed in the files `dir/interceptions-YYYY-MM-DD.jsonl`, for one server. Opening
    /// a day's file removes those more than [`KEEP_DAYS`] older.
    pub fn in_dir(
        dir: &std::path::Path,
        offset_minutes: i32,
    ) -> Result<Arc<Interceptions>, String> {
        Interceptions::in_dir_with_clock(dir, offset_minutes, Arc::new(jiff::Timestamp::now))
    }

    fn in_dir_with_clock(
        dir: &std::path::Path,
        offset_minutes: i32,
        clock: Clock,
    ) -> Result<Arc<Interceptions>, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let dir = dir.to_path_buf();
        Interceptions::open_with_clock(
            Box::new(move |name| {
                if let Some(day) = name.strip_prefix("interceptions-") {
                    remove_days_before(&dir, day);
                }
                let path = dir.join(format!("{name}.jsonl"));
                let (journal, _torn) = drugtrace_durable::FileJournal::open(&path)
                    .map_err(|e| format!("opening {}: {e}", path.display()))?;
                Ok(Arc::new(journal) as Arc<dyn SharedJournal>)
            }),
            offset_minutes,
            clock,
        )
    }

    /// Adds what `decisions` refused of the sales among `events` (one decision per event):
    /// at once to the writer's queue, never waiting for it.
    pub fn offer(&self, events: &[Event], decisions: &[Decision]) {
        let now = (self.clock)().as_millisecond();
        for (event, decision) in events.iter().zip(decisions) {
            let (EventKind::Sale(sale), Outcome::Rejected(reason)) =
                (&event.kind, &decision.outcome)
            else {
                continue;
            };
            if decision.replayed {
                continue;
            }
            let blocked = Blocked {
                at_ms: now,
                institution: event.actor.to_string(),
                code: event.pack.to_string(),
                reason: reason.as_str().to_owned(),
                settlement: sale.settlement.as_ref().map(|s| s.to_string()),
                amount_fen: sale.amount_fen,
            };
            match self.queue_one(blocked) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    let n = self.dropped.fetch_add(1, Ordering::Relaxed);
                    if n.is_power_of_two() {
                        tracing::warn!(
                            left_out = n + 1,
                            "the live feed's writer is behind: blocked sales left out of the ticker (they are in the ledger)"
                        );
                    }
                }
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }

    /// Hands `blocked` to the writer, counting it. (The writer may count it done first: a
    /// flush only waits while fewer are done than were queued.)
    fn queue_one(&self, blocked: Blocked) -> Result<(), TrySendError<Blocked>> {
        self.queue.try_send(blocked)?;
        self.queued.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Waits until the writer is done with every interception queued so far (appended, or
    /// given up and logged), `within` at most; whether it was. A server stopping calls it, so
    /// that the sales it refused last reach the ticker rather than wait out [`LINGER`] in a
    /// process about to end.
    pub fn flush(&self, within: Duration) -> bool {
        let target = self.queued.load(Ordering::SeqCst);
        let until = Instant::now() + within;
        while self.done.load(Ordering::SeqCst) < target {
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Reads on in the day's journal (what this and the other servers appended), moving to
    /// a new day's at midnight; returns the batch ids read.
    pub fn refresh(&self) -> Result<Vec<u64>, SharedError> {
        self.roll()?;
        let (journal, from, day) = {
            let d = self.day.lock();
            (Arc::clone(&d.journal), d.next, d.day.clone())
        };
        let records = journal.read_from(from)?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut d = self.day.lock();
        if d.day != day || d.next != from {
            // Another reader got there first (or the day turned): it read these.
            return Ok(Vec::new());
        }
        let mut batches = Vec::with_capacity(records.len());
        for (n, bytes) in records.iter().enumerate() {
            let record_no = from + n as u64;
            match serde_json::from_slice::<Record>(bytes) {
                Ok(r) => {
                    batches.push(r.batch);
                    for (i, b) in r.blocked.into_iter().enumerate() {
                        let id = FeedId {
                            day: day.clone(),
                            record: record_no,
                            index: i as u32,
                        };
                        d.today += 1;
                        d.recent.push_back((id, b));
                        if d.recent.len() > RECENT {
                            d.recent.pop_front();
                        }
                    }
                }
                Err(e) => tracing::warn!(
                    record = record_no,
                    error = %e,
                    "skipped a record of the live feed that is not one"
                ),
            }
        }
        d.next = from + records.len() as u64;
        drop(d);
        self.changed.send_modify(|v| *v += 1);
        Ok(batches)
    }

    /// Moves to a new day's journal when the server's date has changed since the last call.
    fn roll(&self) -> Result<(), SharedError> {
        let now = local_day((self.clock)(), self.offset_minutes);
        let mut d = self.day.lock();
        if d.day != now {
            let journal = (self.journals)(&journal_name(&now)).map_err(SharedError::Unavailable)?;
            *d = Day::new(now, journal);
            drop(d);
            self.changed.send_modify(|v| *v += 1);
        }
        Ok(())
    }

    /// The day's latest `n` interceptions and its count (a new day's none, from midnight).
    pub fn snapshot(&self, n: usize) -> Snapshot {
        if let Err(e) = self.roll() {
            tracing::warn!(error = %e, "could not open the new day's live feed");
        }
        let d = self.day.lock();
        Snapshot {
            day: d.day.clone(),
            today: d.today,
            latest: d.recent.iter().rev().take(n).cloned().collect(),
        }
    }

    /// The interceptions after `after` (all of today's kept with `None`, and with an id of
    /// an earlier day), oldest first, and the id to go on from.
    pub fn after(&self, after: Option<&FeedId>) -> (Vec<(FeedId, Blocked)>, Option<FeedId>) {
        let d = self.day.lock();
        let items: Vec<(FeedId, Blocked)> = d
            .recent
            .iter()
            .filter(|(id, _)| after.is_none_or(|a| id > a))
            .cloned()
            .collect();
        let last = d
            .recent
            .back()
            .map(|(id, _)| id.clone())
            .or_else(|| after.cloned());
        (items, last)
    }

    /// The id of the latest interception, if today has one.
    pub fn latest(&self) -> Option<FeedId> {
        self.day.lock().recent.back().map(|(id, _)| id.clone())
    }

    /// A receiver that changes whenever the feed was read on.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Interceptions left out of the feed since the server started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn journal_name(day: &str) -> String {
    format!("interceptions-{day}")
}

/// The local date of `at` (`YYYY-MM-DD`), `offset_minutes` east of UTC.
fn local_day(at: jiff::Timestamp, offset_minutes: i32) -> String {
    drugtrace_dashboard::format::local_date(at, offset_minutes).to_string()
}

/// Removes the feed's files in `dir` of days more than [`KEEP_DAYS`] before `day`; what
/// cannot be removed is logged and left.
fn remove_days_before(dir: &std::path::Path, day: &str) {
    let Ok(today) = day.parse::<jiff::civil::Date>() else {
        return;
    };
    let Ok(oldest) = today.checked_sub(jiff::Span::new().days(KEEP_DAYS)) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(file_day) = name
            .to_str()
            .and_then(|n| n.strip_prefix("interceptions-"))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        else {
            continue;
        };
        if file_day < oldest
            && let Err(e) = std::fs::remove_file(entry.path())
        {
            tracing::warn!(file = %entry.path().display(), error = %e, "could not remove an old day of the live feed");
        }
    }
}

/// The writer thread: appends what arrives within [`LINGER`] of a first interception as one
/// record, until the feed is dropped.
fn write(feed: std::sync::Weak<Interceptions>, pending: Receiver<Blocked>) {
    while let Ok(first) = pending.recv() {
        let until = Instant::now() + LINGER;
        let mut blocked = vec![first];
        while blocked.len() < BATCH {
            match pending.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(b) => blocked.push(b),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let Some(feed) = feed.upgrade() else {
            return;
        };
        let record = Record {
            batch: crate::random_u64(),
            blocked,
        };
        if let Err(e) = append(&feed, &record) {
            tracing::warn!(
                interceptions = record.blocked.len(),
                error = %e,
                "could not add blocked sales to the live feed (they are in the ledger)"
            );
        }
        feed.done
            .fetch_add(record.blocked.len() as u64, Ordering::SeqCst);
    }
}

/// Appends `record` at the end of the day's journal: after another server's append, reads
/// on and tries again; after an unanswered one, reads on to see whether it landed.
fn append(feed: &Interceptions, record: &Record) -> Result<(), SharedError> {
    let bytes = serde_json::to_vec(record).map_err(|e| SharedError::Unavailable(e.to_string()))?;
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        // A batch goes to the day it is appended on.
        feed.roll()?;
        let (journal, at) = {
            let d = feed.day.lock();
            (Arc::clone(&d.journal), d.next)
        };
        match journal.append(at, &bytes) {
            Ok(()) => {
                let _ = feed.refresh();
                return Ok(());
            }
            Err(SharedError::Stale { .. }) => {
                if feed.refresh()?.contains(&record.batch) {
                    return Ok(());
                }
            }
            Err(e) => {
                std::thread::sleep(Duration::from_millis(100 << attempt.min(5)));
                if let Ok(read) = feed.refresh()
                    && read.contains(&record.batch)
                {
                    return Ok(());
                }
                last = Some(e);
            }
        }
    }
    Err(last
        .unwrap_or_else(|| SharedError::Unavailable("other servers kept appending first".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use drugtrace_durable::MemoryJournal;

    fn memory() -> (Arc<Interceptions>, Arc<MemoryJournal>) {
        let journal = Arc::new(MemoryJournal::default());
        let j = Arc::clone(&journal);
        let feed = Interceptions::open(
            Box::new(move |_| Ok(Arc::clone(&j) as Arc<dyn SharedJournal>)),
            480,
        )
        .unwrap();
        (feed, journal)
    }

    fn blocked(code: &str) -> Blocked {
        Blocked {
            at_ms: 1,
            institution: "H1".into(),
            code: code.into(),
            reason: "already_sold".into(),
            settlement: None,
            amount_fen: 100,
        }
    }

    #[test]
    fn ids_read_back_and_order_like_the_feed() {
        let a = FeedId::parse("2025-05-12/9/3").unwrap();
        assert_eq!(a.to_string(), "2025-05-12/9/3");
        assert!(FeedId::parse("2025-05-12/10/0").unwrap() > a);
        assert!(FeedId::parse("2025-05-13/0/0").unwrap() > a);
        for bad in [
            "",
            "x/1/2",
            "2025-05-12/1",
            "2025-05-12/1/2/3",
            "2025-13-01/1/1",
        ] {
            assert!(FeedId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn two_servers_on_one_journal_see_each_others_batches_once() {
        let (one, journal) = memory();
        let j = Arc::clone(&journal);
        let two = Interceptions::open(
            Box::new(move |_| Ok(Arc::clone(&j) as Arc<dyn SharedJournal>)),
            480,
        )
        .unwrap();
        append(
            &one,
            &Record {
                batch: 1,
                blocked: vec![blocked("A")],
            },
        )
        .unwrap();
        // The second server has not read on: its append is stale, then lands after.
        append(
            &two,
            &Record {
                batch: 2,
                blocked: vec![blocked("B"), blocked("C")],
            },
        )
        .unwrap();
        one.refresh().unwrap();
        for feed in [&one, &two] {
            let s = feed.snapshot(10);
            assert_eq!(s.today, 3);
            let codes: Vec<&str> = s.latest.iter().map(|(_, b)| b.code.as_str()).collect();
            assert_eq!(codes, ["C", "B", "A"]);
        }
        let first = FeedId::parse(&format!("{}/0/0", one.snapshot(1).day)).unwrap();
        let (after, last) = one.after(Some(&first));
        assert_eq!(after.len(), 2);
        assert_eq!(
            last.unwrap().to_string(),
            format!("{}/1/1", two.snapshot(1).day)
        );
    }

    #[test]
    fn a_batch_already_appended_is_not_appended_again() {
        let (feed, journal) = memory();
        let record = Record {
            batch: 7,
            blocked: vec![blocked("A")],
        };
        // Landed, but its writer never heard: the journal has it, the fold not yet.
        journal
            .append(0, &serde_json::to_vec(&record).unwrap())
            .unwrap();
        append(&feed, &record).unwrap();
        assert_eq!(journal.read_from(0).unwrap().len(), 1);
        assert_eq!(feed.snapshot(5).today, 1);
    }

    #[test]
    fn interceptions_refused_close_together_share_a_record() {
        let (feed, journal) = memory();
        // Twenty refusals 5 ms apart: without the wait each would be a record of its own.
        for n in 0..20 {
            feed.queue_one(blocked(&format!("P{n}"))).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            feed.flush(Duration::from_secs(10)),
            "the writer never got through"
        );
        assert_eq!(feed.snapshot(1).today, 20);
        let records = journal.read_from(0).unwrap().len();
        // One record, or a few on a machine so busy that the sleeps outlast the wait.
        assert!(records <= 4, "{records} records for twenty interceptions");
    }

    /// A flood of refusals (a bulk resale, or someone probing the gate) is not held to five
    /// records a second: a batch goes as soon as it is full.
    #[test]
    fn a_flood_of_refusals_goes_in_full_batches_at_once() {
        let (feed, journal) = memory();
        let flood = BATCH * 10;
        let started = Instant::now();
        for n in 0..flood {
            feed.queue_one(blocked(&format!("P{n}"))).unwrap();
        }
        assert!(feed.flush(Duration::from_secs(10)));
        // Batches that each waited out the linger would take ten lingers at least.
        assert!(started.elapsed() < LINGER * 10, "{:?}", started.elapsed());
        let sizes: Vec<usize> = journal
            .read_from(0)
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice::<Record>(r).unwrap().blocked.len())
            .collect();
        // Ten full ones; one more only if the queueing stalled past the linger mid-flood.
        let full = sizes.iter().filter(|n| **n == BATCH).count();
        assert!(full >= 9 && sizes.len() <= 11, "{sizes:?}");
        assert!(sizes.iter().all(|n| *n <= BATCH), "{sizes:?}");
        assert_eq!(feed.snapshot(1).today, flood as u64);
    }

    #[test]
    fn a_flush_waits_until_what_was_queued_is_appended() {
        let (feed, journal) = memory();
        for code in ["A", "B", "C"] {
            feed.queue_one(blocked(code)).unwrap();
        }
        assert!(feed.flush(Duration::from_secs(10)));
        let records = journal.read_from(0).unwrap();
        assert_eq!(
            records.len(),
            1,
            "the three are one record, appended by the flush's end"
        );
        let record: Record = serde_json::from_slice(&records[0]).unwrap();
        assert_eq!(record.blocked.len(), 3);
        // Nothing more queued: a second flush has nothing to wait for.
        assert!(feed.flush(Duration::ZERO));
    }

    /// A clock the test sets: milliseconds since the epoch.
    fn clock_at(at: &str) -> (Clock, Arc<std::sync::atomic::AtomicI64>) {
        let ms = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let set = Arc::clone(&ms);
        set.store(
            at.parse::<jiff::Timestamp>().unwrap().as_millisecond(),
            std::sync::atomic::Ordering::SeqCst,
        );
        let clock: Clock = Arc::new(move || {
            jiff::Timestamp::from_millisecond(ms.load(std::sync::atomic::Ordering::SeqCst)).unwrap()
        });
        (clock, set)
    }

    /// The first batch after midnight goes to the new day's journal, and the ticker then
    /// counts the new day only (a single server once put it in the day before: bbbddf1).
    #[test]
    fn at_midnight_the_feed_turns_to_the_new_days_journal() {
        let days: Arc<Mutex<std::collections::BTreeMap<String, Arc<MemoryJournal>>>> =
            Arc::default();
        let opened = Arc::clone(&days);
        let journals: DayJournals = Box::new(move |name| {
            let j = Arc::clone(opened.lock().entry(name.to_owned()).or_default());
            Ok(j as Arc<dyn SharedJournal>)
        });
        let (clock, set) = clock_at("2025-05-12T23:59:59.500+08:00");
        let feed = Interceptions::open_with_clock(journals, 480, clock).unwrap();
        let record = |batch| Record {
            batch,
            blocked: vec![blocked("A")],
        };
        append(&feed, &record(1)).unwrap();
        assert_eq!(feed.snapshot(5).day, "2025-05-12");
        set.store(
            "2025-05-13T00:00:00.200+08:00"
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_millisecond(),
            std::sync::atomic::Ordering::SeqCst,
        );
        // No reader looked since midnight: the append itself turns the day.
        append(&feed, &record(2)).unwrap();
        let count = |day: &str| days.lock()[day].read_from(0).unwrap().len();
        assert_eq!(count("interceptions-2025-05-12"), 1);
        assert_eq!(count("interceptions-2025-05-13"), 1);
        let snapshot = feed.snapshot(5);
        assert_eq!((snapshot.day.as_str(), snapshot.today), ("2025-05-13", 1));
        assert_eq!(snapshot.latest[0].0.to_string(), "2025-05-13/0/0");
    }

    #[test]
    fn a_data_directory_keeps_a_month_of_the_feed() {
        let dir = tempfile::tempdir().unwrap();
        for day in ["2025-04-10", "2025-04-11", "2025-05-01"] {
            std::fs::write(dir.path().join(format!("interceptions-{day}.jsonl")), "").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "kept").unwrap();
        let (clock, _) = clock_at("2025-05-12T09:00:00+08:00");
        let _feed = Interceptions::in_dir_with_clock(dir.path(), 480, clock).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "interceptions-2025-04-11.jsonl",
                "interceptions-2025-05-01.jsonl",
                "interceptions-2025-05-12.jsonl",
                "notes.txt"
            ]
        );
    }
}
