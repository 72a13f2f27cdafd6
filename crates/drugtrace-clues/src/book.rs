//! The clue book: issuing batches, moving clues, and reading them back.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use drugtrace_money::Fen;
use jiff::civil::Date;

use crate::fold::{IssueRecord, NoteRecord, Record, State, TargetRecord, TransitionRecord};
use crate::{AuditEntry, Batch, BatchId, BatchSummary, Change, Clue, ClueId, ClueState};
use crate::{IssueRequest, StateCounts};
use std::sync::Arc;

use drugtrace_durable::{
    Journal, Lock, OpenError, SharedError, SharedJournal, StorageError, TornTail,
};

/// The source of audit timestamps, in ms since the epoch. [`ClueBook::open`] uses the
/// machine's clock; tests pass their own to [`ClueBook::open_with_clock`].
pub type Clock = Box<dyn Fn() -> i64 + Send + Sync>;

/// Why a batch was not issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The title is blank.
    #[error("the batch has no title")]
    EmptyTitle,
    /// `issued_by` is blank.
    #[error("the batch names no issuer")]
    EmptyActor,
    /// The batch lists no institution.
    #[error("the batch lists no institution")]
    NoInstitutions,
    /// An institution's code is blank.
    #[error("the institution at position {position} has no code")]
    EmptyInstitution {
        /// Its place in the list, from 1.
        position: usize,
    },
    /// An institution is listed twice.
    #[error("institution {0:?} is listed twice in the batch")]
    DuplicateInstitution(String),
    /// An institution has no bureau to verify it (its province and city are unknown).
    #[error("institution {0:?} is assigned to no bureau (its province and city are unknown)")]
    Unassigned(String),
    /// The journal could not be written.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl IssueError {
    /// Whether the request is at fault (a 4xx), rather than the storage (a 500).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, IssueError::Storage(_))
    }
}

/// Why a clue was not moved or annotated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// No clue has this id.
    #[error("no clue {0}")]
    UnknownClue(ClueId),
    /// The workflow does not allow this move from the clue's state.
    #[error("clue {clue} is {from}; it cannot move to {to}")]
    IllegalTransition {
        /// The clue.
        clue: ClueId,
        /// Its state.
        from: ClueState,
        /// The state requested.
        to: ClueState,
    },
    /// Confirming or dismissing needs a note saying what the verification found.
    #[error("clue {clue}: moving to {to} needs a note saying what the verification found")]
    NoteRequired {
        /// The clue.
        clue: ClueId,
        /// The state requested.
        to: ClueState,
    },
    /// An amount recovered was given with a move other than confirming.
    #[error("clue {clue}: an amount recovered goes only with confirmed, not {to}")]
    RecoveredNotAllowed {
        /// The clue.
        clue: ClueId,
        /// The state requested.
        to: ClueState,
    },
    /// The amount recovered is negative.
    #[error("clue {clue}: the amount recovered is negative ({fen} yuan)")]
    NegativeRecovered {
        /// The clue.
        clue: ClueId,
        /// The amount given.
        fen: Fen,
    },
    /// The actor is blank.
    #[error("the change names no actor")]
    EmptyActor,
    /// A note to add is blank.
    #[error("clue {0}: the note is blank")]
    EmptyNote(ClueId),
    /// The journal could not be written.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl UpdateError {
    /// Whether the request is at fault (a 4xx; [`UpdateError::UnknownClue`] is a 404),
    /// rather than the storage (a 500).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, UpdateError::Storage(_))
    }
}

/// What opening a book found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "a torn tail should be reported (logged) by the caller"]
pub struct OpenReport {
    /// Records read (whole lines).
    pub records: usize,
    /// The torn last line that was cut off, if any: a write a crash interrupted, never
    /// acknowledged. Worth a warning in the log.
    pub torn_tail: Option<TornTail>,
}

/// A batch issued: its id and its clues' ids, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Issued {
    /// The batch.
    pub batch: BatchId,
    /// Its clues, in the order of the request's institutions.
    pub clues: Vec<ClueId>,
}

/// A clue with its whole audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClueDetail {
    /// The clue.
    pub clue: Clue,
    /// Every change to it, oldest first.
    pub audit: Vec<AuditEntry>,
}

/// Which clues to list; `None` in a field means no restriction, and all given fields must
/// hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClueQuery {
    /// Only this batch's clues.
    pub batch: Option<BatchId>,
    /// Only clues in this state.
    pub state: Option<ClueState>,
    /// Only overdue clues (`true`) or only clues not overdue (`false`), on the `today` given.
    pub overdue: Option<bool>,
    /// Only institutions in this province.
    pub province: Option<String>,
    /// Only this institution's clues.
    pub institution: Option<String>,
    /// Only clues assigned to this bureau.
    pub assigned_to: Option<String>,
}

impl ClueQuery {
    /// Whether `clue` passes, judging overdue on `today`.
    pub fn matches(&self, clue: &Clue, today: Date) -> bool {
        self.batch.is_none_or(|b| clue.batch == b)
            && self.state.is_none_or(|s| clue.state == s)
            && self.overdue.is_none_or(|o| clue.is_overdue(today) == o)
            && self.province.as_ref().is_none_or(|p| &clue.province == p)
            && self
                .institution
                .as_ref()
                .is_none_or(|i| &clue.institution == i)
            && self
                .assigned_to
                .as_ref()
                .is_none_or(|a| &clue.assigned_to == a)
    }
}

/// The journal's file name inside the book's directory.
const FILE_NAME: &str = "clues.jsonl";

struct Inner {
    state: State,
    backend: Backend,
}

/// Where the records go.
enum Backend {
    /// The journal file, locked by this book: nothing else writes it.
    File(Journal),
    /// A journal other servers write too: `folded` records of it are in the state.
    Shared {
        journal: Arc<dyn SharedJournal>,
        name: String,
        folded: u64,
    },
}

impl Backend {
    fn path(&self) -> std::path::PathBuf {
        match self {
            Backend::File(j) => j.path().to_owned(),
            Backend::Shared { name, .. } => std::path::PathBuf::from(name),
        }
    }
}

impl State {
    /// Folds in record number `line` (from 1) of the journal at `source`, read back from it:
    /// an [`OpenError::Corrupt`] naming it when it is not a record that may follow the ones
    /// before.
    fn replay(&mut self, bytes: &[u8], source: &Path, line: usize) -> Result<(), OpenError> {
        let corrupt = |reason: String| OpenError::Corrupt {
            path: source.to_path_buf(),
            line,
            reason,
        };
        let record: Record = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(format!("not a clue record: {e}")))?;
        self.check_replay(&record).map_err(corrupt)?;
        self.apply(record);
        Ok(())
    }
}

impl Inner {
    /// Folds in what other servers appended since this book last looked (nothing for a
    /// file); returns how many records that was.
    fn catch_up(&mut self) -> Result<usize, OpenError> {
        let Backend::Shared {
            journal,
            name,
            folded,
        } = &mut self.backend
        else {
            return Ok(0);
        };
        let records = journal.read_from(*folded)?;
        for (i, bytes) in records.iter().enumerate() {
            self.state
                .replay(bytes, Path::new(name.as_str()), *folded as usize + i + 1)?;
        }
        *folded += records.len() as u64;
        Ok(records.len())
    }
}

/// Clue batches and their verification, kept in `clues.jsonl` in one directory.
///
/// The journal is only ever appended to, and every write is synced before it returns; the
/// state is the fold of the journal, rebuilt on open. One lock serializes writers (and
/// readers, who get copies), so a book can be shared between threads (`Arc<ClueBook>`); a
/// file lock keeps a second book, in this process or another, off the same journal.
pub struct ClueBook {
    inner: Mutex<Inner>,
    clock: Clock,
}

impl std::fmt::Debug for ClueBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("ClueBook")
            .field("path", &inner.backend.path())
            .field("batches", &inner.state.batches.len())
            .field("clues", &inner.state.clues.len())
            .finish_non_exhaustive()
    }
}

fn non_blank(note: Option<String>) -> Option<String> {
    note.filter(|n| !n.trim().is_empty())
}

fn summarize(state: &State, batch: &Batch, today: Date) -> BatchSummary {
    let mut counts = StateCounts::default();
    let mut overdue = 0;
    let mut recovered_fen = Fen::ZERO;
    for &c in &batch.clues {
        let clue = state.clue(c).expect("a batch's clues exist");
        counts.add(clue.state);
        overdue += usize::from(clue.is_overdue(today));
        if let Some(fen) = clue.result.as_ref().and_then(|r| r.recovered_fen) {
            recovered_fen = recovered_fen.saturating_add(fen);
        }
    }
    BatchSummary {
        total: batch.clues.len(),
        batch: batch.clone(),
        counts,
        overdue,
        recovered_fen,
    }
}

impl ClueBook {
    /// Opens the book in `dir` (creating the directory and an empty journal if needed),
    /// with the machine's clock.
    ///
    /// A torn last line is cut off and reported in the [`OpenReport`]; any complete line
    /// that is not a valid continuation is an [`OpenError::Corrupt`] naming its number.
    pub fn open(dir: impl AsRef<Path>) -> Result<(ClueBook, OpenReport), OpenError> {
        ClueBook::open_with_clock(dir, Box::new(|| jiff::Timestamp::now().as_millisecond()))
    }

    /// Like [`ClueBook::open`], with audit timestamps from `clock`.
    pub fn open_with_clock(
        dir: impl AsRef<Path>,
        clock: Clock,
    ) -> Result<(ClueBook, OpenReport), OpenError> {
        let opened = Journal::open(&ClueBook::journal_file(dir.as_ref()), Lock::Exclusive)?;
        let mut state = State::default();
        let mut records = 0;
        for (number, line) in opened.lines() {
            state.replay(line, opened.journal.path(), number)?;
            records += 1;
        }
        let book = ClueBook {
            inner: Mutex::new(Inner {
                state,
                backend: Backend::File(opened.journal),
            }),
            clock,
        };
        let report = OpenReport {
            records,
            torn_tail: opened.torn_tail,
        };
        Ok((book, report))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state changes only after a write succeeded, in code that does not panic, so
        // a panic elsewhere while holding the lock leaves it consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The journal file of the book kept in directory `dir`.
    pub fn journal_file(dir: &Path) -> std::path::PathBuf {
        dir.join(FILE_NAME)
    }

    /// Opens the book kept in `journal`, which other servers share (`name` says which in
    /// messages), with audit timestamps from `clock`. A record that is not a valid
    /// continuation is an [`OpenError::Corrupt`] naming its number, from 1.
    pub fn open_shared(
        journal: Arc<dyn SharedJournal>,
        name: &str,
        clock: Clock,
    ) -> Result<(ClueBook, OpenReport), OpenError> {
        let mut inner = Inner {
            state: State::default(),
            backend: Backend::Shared {
                journal,
                name: name.to_owned(),
                folded: 0,
            },
        };
        let records = inner.catch_up()?;
        let book = ClueBook {
            inner: Mutex::new(inner),
            clock,
        };
        Ok((
            book,
            OpenReport {
                records,
                torn_tail: None,
            },
        ))
    }

    /// Folds in what other servers wrote to a shared book since it last looked; returns how
    /// many records that was (always none for a book in a file, which only it writes).
    pub fn refresh(&self) -> Result<usize, OpenError> {
        self.lock().catch_up()
    }

    /// The journal's path (for a shared book, its name).
    pub fn path(&self) -> std::path::PathBuf {
        self.lock().backend.path()
    }

    /// Writes the record `build` makes from the state, durably, then folds it in; returns
    /// the audit entries it made. On a shared journal another server may have written first:
    /// the book then folds that in and `build` decides again on the new state.
    fn commit<E: From<StorageError>>(
        &self,
        build: impl Fn(&State, i64) -> Result<Record, E>,
    ) -> Result<Vec<AuditEntry>, E> {
        let mut inner = self.lock();
        let at_ms = (self.clock)();
        loop {
            let caught_up = inner.catch_up().map_err(|e| match e {
                OpenError::Shared(e) => StorageError::Shared(e),
                other => StorageError::Shared(SharedError::Unavailable(other.to_string())),
            });
            caught_up?;
            let record = build(&inner.state, at_ms)?;
            let line = serde_json::to_vec(&record).expect("records always serialize");
            match &mut inner.backend {
                Backend::File(journal) => journal.append(&line)?,
                Backend::Shared {
                    journal, folded, ..
                } => match journal.append(*folded, &line) {
                    Ok(()) => *folded += 1,
                    Err(SharedError::Stale { .. }) => continue,
                    Err(e) => return Err(StorageError::Shared(e).into()),
                },
            }
            let made = inner.state.apply(record);
            return Ok(inner.state.audit[made].to_vec());
        }
    }

    /// Issues a batch: one clue per institution, each in state `issued`, all in one durable
    /// write.
    pub fn issue(&self, req: IssueRequest) -> Result<Issued, IssueError> {
        let made = self.commit(|state, at_ms| {
            let first = state.next_clue();
            let record = IssueRecord {
                seq: state.next_seq(),
                at_ms,
                actor: req.issued_by.clone(),
                batch: state.next_batch(),
                title: req.title.clone(),
                deadline: req.deadline,
                filter: (&req.filter).into(),
                clues: req
                    .institutions
                    .iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, t)| TargetRecord {
                        clue: first + i as u64,
                        institution: t.institution,
                        name: t.name,
                        province: t.province,
                        city: t.city,
                        assigned_to: t.assigned_to,
                        findings: t.findings,
                        distinct_codes: t.distinct_codes,
                        amount_fen: t.amount_fen.fen(),
                        score: t.score,
                    })
                    .collect(),
            };
            state.check_issue(&record)?;
            Ok::<_, IssueError>(Record::Issue(record))
        })?;
        let batch = BatchId::new(
            self.lock()
                .state
                .clue(made[0].clue)
                .map(|c| c.batch.get())
                .unwrap_or_default(),
        );
        Ok(Issued {
            batch,
            clues: made.iter().map(|a| a.clue).collect(),
        })
    }

    /// Moves clue `clue` to `to`: `issued → under_verification`, then `→ confirmed` or
    /// `→ dismissed`, the last two with a non-blank note (and, for confirmed, optionally
    /// the amount recovered). Returns the audit entry written.
    pub fn transition(
        &self,
        clue: ClueId,
        to: ClueState,
        change: Change,
    ) -> Result<AuditEntry, UpdateError> {
        let mut made = self.commit(|state, at_ms| {
            let from = state
                .clue(clue)
                .map(|c| c.state)
                .ok_or(UpdateError::UnknownClue(clue))?;
            let record = TransitionRecord {
                seq: state.next_seq(),
                at_ms,
                actor: change.actor.clone(),
                clue: clue.get(),
                from,
                to,
                note: non_blank(change.note.clone()),
                recovered_fen: change.recovered_fen.map(Fen::fen),
            };
            state.check_transition(&record)?;
            Ok::<_, UpdateError>(Record::Transition(record))
        })?;
        Ok(made.remove(0))
    }

    /// Adds a note to clue `clue` without moving it (any state, closed ones included).
    /// Returns the audit entry written.
    pub fn add_note(
        &self,
        clue: ClueId,
        actor: &str,
        note: &str,
    ) -> Result<AuditEntry, UpdateError> {
        let mut made = self.commit(|state, at_ms| {
            let record = NoteRecord {
                seq: state.next_seq(),
                at_ms,
                actor: actor.to_owned(),
                clue: clue.get(),
                note: note.to_owned(),
            };
            state.check_note(&record)?;
            Ok::<_, UpdateError>(Record::Note(record))
        })?;
        Ok(made.remove(0))
    }

    /// One clue with its audit trail.
    pub fn clue(&self, id: ClueId) -> Option<ClueDetail> {
        let inner = self.lock();
        let clue = inner.state.clue(id)?.clone();
        Some(ClueDetail {
            clue,
            audit: inner.state.audit_of(id),
        })
    }

    /// The clues `query` selects, judging overdue on `today`, in id order (batch by batch,
    /// each in its issue order).
    pub fn list(&self, query: &ClueQuery, today: Date) -> Vec<Clue> {
        let inner = self.lock();
        let clues: &[Clue] = match query.batch {
            // A batch's clues are consecutive: look only at them.
            Some(b) => match inner.state.batch(b) {
                Some(batch) => {
                    let first = batch.clues.first().map_or(0, |c| c.get() - 1) as usize;
                    &inner.state.clues[first..first + batch.clues.len()]
                }
                None => &[],
            },
            None => &inner.state.clues,
        };
        clues
            .iter()
            .filter(|c| query.matches(c, today))
            .cloned()
            .collect()
    }

    /// One batch.
    pub fn batch(&self, id: BatchId) -> Option<Batch> {
        self.lock().state.batch(id).cloned()
    }

    /// Every batch, in issue order.
    pub fn batches(&self) -> Vec<Batch> {
        self.lock().state.batches.clone()
    }

    /// Where a batch stands on `today`: its clues per state, overdue, and amount recovered.
    pub fn batch_summary(&self, id: BatchId, today: Date) -> Option<BatchSummary> {
        let inner = self.lock();
        let batch = inner.state.batch(id)?;
        Some(summarize(&inner.state, batch, today))
    }

    /// Every batch's summary on `today`, in issue order.
    pub fn batch_summaries(&self, today: Date) -> Vec<BatchSummary> {
        let inner = self.lock();
        inner
            .state
            .batches
            .iter()
            .map(|b| summarize(&inner.state, b, today))
            .collect()
    }

    /// Every change to clue `id`, oldest first (empty for an unknown clue).
    pub fn audit_for_clue(&self, id: ClueId) -> Vec<AuditEntry> {
        self.lock().state.audit_of(id)
    }

    /// Every change to the clues of batch `id`, in sequence order.
    pub fn audit_for_batch(&self, id: BatchId) -> Vec<AuditEntry> {
        self.lock()
            .state
            .audit
            .iter()
            .filter(|a| a.batch == id)
            .cloned()
            .collect()
    }

    /// Every change in the book, in sequence order.
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.lock().state.audit.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClueTarget, Filter};

    fn request(institutions: &[&str]) -> IssueRequest {
        IssueRequest {
            title: "复方阿胶浆 追溯码重复结算".into(),
            issued_by: "nhsa".into(),
            deadline: jiff::civil::date(2025, 11, 20),
            filter: Filter::default(),
            institutions: institutions
                .iter()
                .map(|i| ClueTarget::explicit(i, "某药店", "河北省", "张家口市"))
                .collect(),
        }
    }

    fn clock() -> Clock {
        let n = std::sync::atomic::AtomicI64::new(1_000);
        Box::new(move || n.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    #[test]
    fn book_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<ClueBook>();
    }

    #[test]
    fn issue_move_and_close_with_audit() {
        let dir = tempfile::tempdir().unwrap();
        let (book, report) = ClueBook::open_with_clock(dir.path(), clock()).unwrap();
        assert_eq!(report.records, 0);
        let issued = book.issue(request(&["P1", "P2"])).unwrap();
        assert_eq!(issued.batch, BatchId::new(1));
        assert_eq!(issued.clues, [ClueId::new(1), ClueId::new(2)]);
        let c1 = ClueId::new(1);

        let e = book
            .transition(c1, ClueState::Confirmed, Change::by("hebei").note("x"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "clue C1 is issued; it cannot move to confirmed"
        );
        book.transition(c1, ClueState::UnderVerification, Change::by("hebei"))
            .unwrap();
        let e = book
            .transition(c1, ClueState::Confirmed, Change::by("hebei").note("  "))
            .unwrap_err();
        assert!(matches!(e, UpdateError::NoteRequired { .. }), "{e}");
        let e = book
            .transition(
                c1,
                ClueState::Dismissed,
                Change::by("hebei")
                    .note("无异常")
                    .recovered_fen(Fen::new(5)),
            )
            .unwrap_err();
        assert!(matches!(e, UpdateError::RecoveredNotAllowed { .. }), "{e}");
        book.transition(
            c1,
            ClueState::Confirmed,
            Change::by("hebei")
                .note("无进货票据, 追回基金")
                .recovered_fen(Fen::new(12_600)),
        )
        .unwrap();
        book.add_note(c1, "nhsa", "已通报").unwrap();

        let detail = book.clue(c1).unwrap();
        assert_eq!(detail.clue.state, ClueState::Confirmed);
        assert_eq!(
            detail.clue.result.as_ref().unwrap().recovered_fen,
            Some(Fen::new(12_600))
        );
        let moves: Vec<_> = detail.audit.iter().map(|a| (a.from, a.to)).collect();
        assert_eq!(
            moves,
            [
                (None, ClueState::Issued),
                (Some(ClueState::Issued), ClueState::UnderVerification),
                (Some(ClueState::UnderVerification), ClueState::Confirmed),
                (Some(ClueState::Confirmed), ClueState::Confirmed),
            ]
        );
        let seqs: Vec<_> = book.audit().iter().map(|a| a.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(book.audit_for_batch(issued.batch).len(), 5);

        let late = jiff::civil::date(2025, 11, 21);
        let summary = book.batch_summary(issued.batch, late).unwrap();
        assert_eq!(summary.total, 2);
        assert_eq!(summary.counts.confirmed, 1);
        assert_eq!(summary.counts.issued, 1);
        assert_eq!(summary.overdue, 1);
        assert_eq!(summary.recovered_fen, Fen::new(12_600));
        assert_eq!(book.batch_summaries(late), [summary]);
        let overdue = ClueQuery {
            overdue: Some(true),
            ..ClueQuery::default()
        };
        let ids: Vec<_> = book.list(&overdue, late).iter().map(|c| c.id).collect();
        assert_eq!(ids, [ClueId::new(2)]);
    }

    #[test]
    fn bad_batches_are_refused_and_leave_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let (book, _) = ClueBook::open_with_clock(dir.path(), clock()).unwrap();
        assert!(matches!(
            book.issue(request(&[])),
            Err(IssueError::NoInstitutions)
        ));
        assert!(matches!(
            book.issue(request(&["P1", "P1"])),
            Err(IssueError::DuplicateInstitution(i)) if i == "P1"
        ));
        let mut unassigned = request(&["P1"]);
        unassigned.institutions[0] = ClueTarget::explicit("P1", "", "", "");
        assert!(matches!(
            book.issue(unassigned),
            Err(IssueError::Unassigned(_))
        ));
        let mut untitled = request(&["P1"]);
        untitled.title = " ".into();
        assert!(matches!(book.issue(untitled), Err(IssueError::EmptyTitle)));
        assert!(book.audit().is_empty());
        assert_eq!(book.issue(request(&["P1"])).unwrap().batch, BatchId::new(1));
    }

    #[test]
    fn a_second_book_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_book, _) = ClueBook::open(dir.path()).unwrap();
        assert!(matches!(
            ClueBook::open(dir.path()),
            Err(OpenError::Locked { .. })
        ));
    }
}
