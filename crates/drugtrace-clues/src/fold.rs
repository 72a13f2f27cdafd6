//! The journal's records and their fold: the book's state is what applying every record,
//! in order, leaves.
//!
//! One record is one line of `clues.jsonl`, tagged by `op`:
//!
//! - `issue`: a whole batch, with its clues (a batch is issued all at once or not at all);
//! - `transition`: a clue moved from one state to another, with the note and amount given;
//! - `note`: a note added to a clue without moving it.
//!
//! Every record carries `seq` (the audit sequence number of its first entry: an issue of
//! *k* clues makes *k* entries), `at_ms` and `actor`. On replay a record must continue the
//! sequence, name the next ids, and (for a transition) start from the clue's current state;
//! anything else is corruption. The same checks that refuse a request refuse a record, so
//! a journal only ever holds what a live book would have accepted. Amounts are written as
//! whole numbers of fen (`amount_fen`, `recovered_fen`), as they always were, and become
//! [`Fen`]s in the fold.

use std::collections::HashSet;

use drugtrace_money::Fen;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{
    AuditEntry, Batch, BatchId, Clue, ClueId, ClueResult, ClueState, Filter, IssueError,
    UpdateError,
};

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Record {
    Issue(IssueRecord),
    Transition(TransitionRecord),
    Note(NoteRecord),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IssueRecord {
    pub seq: u64,
    pub at_ms: i64,
    pub actor: String,
    pub batch: u64,
    pub title: String,
    #[serde(with = "date_text")]
    pub deadline: Date,
    pub filter: FilterRecord,
    pub clues: Vec<TargetRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TargetRecord {
    pub clue: u64,
    pub institution: String,
    pub name: String,
    pub province: String,
    pub city: String,
    pub assigned_to: String,
    pub findings: u64,
    pub distinct_codes: u64,
    pub amount_fen: i64,
    pub score: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TransitionRecord {
    pub seq: u64,
    pub at_ms: i64,
    pub actor: String,
    pub clue: u64,
    pub from: ClueState,
    pub to: ClueState,
    pub note: Option<String>,
    pub recovered_fen: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NoteRecord {
    pub seq: u64,
    pub at_ms: i64,
    pub actor: String,
    pub clue: u64,
    pub note: String,
}

/// The journal's form of a [`Filter`]: the domain type derives no serde.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct FilterRecord {
    pub product: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub models: Option<Vec<String>>,
}

impl From<&Filter> for FilterRecord {
    fn from(f: &Filter) -> FilterRecord {
        FilterRecord {
            product: f.product.clone(),
            province: f.province.clone(),
            city: f.city.clone(),
            from_ms: f.from_ms,
            to_ms: f.to_ms,
            models: f.models.clone(),
        }
    }
}

impl From<FilterRecord> for Filter {
    fn from(f: FilterRecord) -> Filter {
        Filter {
            product: f.product,
            province: f.province,
            city: f.city,
            from_ms: f.from_ms,
            to_ms: f.to_ms,
            models: f.models,
        }
    }
}

mod date_text {
    use jiff::civil::Date;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &Date, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(date)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Date, D::Error> {
        let s = String::deserialize(de)?;
        s.parse()
            .map_err(|e| D::Error::custom(format!("bad date {s:?}: {e}")))
    }
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// The book's state: the fold of its journal.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Batch `Bn` at index n-1.
    pub batches: Vec<Batch>,
    /// Clue `Cn` at index n-1.
    pub clues: Vec<Clue>,
    /// Entry with seq n at index n-1.
    pub audit: Vec<AuditEntry>,
    /// Per clue (same index as `clues`), the indices of its audit entries.
    pub audit_by_clue: Vec<Vec<usize>>,
}

impl State {
    pub fn next_seq(&self) -> u64 {
        self.audit.len() as u64 + 1
    }

    pub fn next_batch(&self) -> u64 {
        self.batches.len() as u64 + 1
    }

    pub fn next_clue(&self) -> u64 {
        self.clues.len() as u64 + 1
    }

    fn index(&self, id: u64) -> Option<usize> {
        let i = usize::try_from(id.checked_sub(1)?).ok()?;
        (i < self.clues.len()).then_some(i)
    }

    pub fn clue(&self, id: ClueId) -> Option<&Clue> {
        self.index(id.get()).map(|i| &self.clues[i])
    }

    pub fn batch(&self, id: BatchId) -> Option<&Batch> {
        let i = usize::try_from(id.get().checked_sub(1)?).ok()?;
        self.batches.get(i)
    }

    pub fn audit_of(&self, id: ClueId) -> Vec<AuditEntry> {
        self.index(id.get())
            .map(|i| {
                self.audit_by_clue[i]
                    .iter()
                    .map(|&a| self.audit[a].clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a live book would accept this batch.
    pub fn check_issue(&self, r: &IssueRecord) -> Result<(), IssueError> {
        if blank(&r.title) {
            return Err(IssueError::EmptyTitle);
        }
        if blank(&r.actor) {
            return Err(IssueError::EmptyActor);
        }
        if r.clues.is_empty() {
            return Err(IssueError::NoInstitutions);
        }
        let mut seen = HashSet::with_capacity(r.clues.len());
        for (i, t) in r.clues.iter().enumerate() {
            if blank(&t.institution) {
                return Err(IssueError::EmptyInstitution { position: i + 1 });
            }
            if !seen.insert(t.institution.as_str()) {
                return Err(IssueError::DuplicateInstitution(t.institution.clone()));
            }
            if blank(&t.assigned_to) {
                return Err(IssueError::Unassigned(t.institution.clone()));
            }
        }
        Ok(())
    }

    /// Whether a live book would accept this move (judged against the clue's current
    /// state, not the record's `from`).
    pub fn check_transition(&self, r: &TransitionRecord) -> Result<(), UpdateError> {
        let id = ClueId::new(r.clue);
        if blank(&r.actor) {
            return Err(UpdateError::EmptyActor);
        }
        let clue = self.clue(id).ok_or(UpdateError::UnknownClue(id))?;
        if !clue.state.can_move_to(r.to) {
            return Err(UpdateError::IllegalTransition {
                clue: id,
                from: clue.state,
                to: r.to,
            });
        }
        if r.note.as_deref().is_some_and(blank) {
            return Err(UpdateError::EmptyNote(id));
        }
        if r.to.is_closed() && r.note.is_none() {
            return Err(UpdateError::NoteRequired { clue: id, to: r.to });
        }
        if let Some(fen) = r.recovered_fen {
            if r.to != ClueState::Confirmed {
                return Err(UpdateError::RecoveredNotAllowed { clue: id, to: r.to });
            }
            if fen < 0 {
                return Err(UpdateError::NegativeRecovered {
                    clue: id,
                    fen: Fen::new(fen),
                });
            }
        }
        Ok(())
    }

    /// Whether a live book would accept this note.
    pub fn check_note(&self, r: &NoteRecord) -> Result<(), UpdateError> {
        let id = ClueId::new(r.clue);
        if blank(&r.actor) {
            return Err(UpdateError::EmptyActor);
        }
        self.clue(id).ok_or(UpdateError::UnknownClue(id))?;
        if blank(&r.note) {
            return Err(UpdateError::EmptyNote(id));
        }
        Ok(())
    }

    /// Whether `r` may follow the records folded so far: the checks a live book makes,
    /// plus the sequence, the ids and the transition's starting state.
    pub fn check_replay(&self, r: &Record) -> Result<(), String> {
        let seq = match r {
            Record::Issue(r) => r.seq,
            Record::Transition(r) => r.seq,
            Record::Note(r) => r.seq,
        };
        if seq != self.next_seq() {
            return Err(format!(
                "sequence number {seq} where {} was expected (a line lost, repeated or reordered)",
                self.next_seq()
            ));
        }
        match r {
            Record::Issue(r) => {
                if r.batch != self.next_batch() {
                    return Err(format!(
                        "batch B{} where B{} was expected",
                        r.batch,
                        self.next_batch()
                    ));
                }
                let first = self.next_clue();
                for (i, t) in r.clues.iter().enumerate() {
                    let want = first + i as u64;
                    if t.clue != want {
                        return Err(format!("clue C{} where C{want} was expected", t.clue));
                    }
                }
                self.check_issue(r).map_err(|e| e.to_string())
            }
            Record::Transition(r) => {
                let id = ClueId::new(r.clue);
                if let Some(clue) = self.clue(id)
                    && clue.state != r.from
                {
                    return Err(format!(
                        "clue {id} moves from {} but it is {}",
                        r.from, clue.state
                    ));
                }
                self.check_transition(r).map_err(|e| e.to_string())
            }
            Record::Note(r) => self.check_note(r).map_err(|e| e.to_string()),
        }
    }

    /// Applies a record that passed its check; returns the audit entries it made.
    pub fn apply(&mut self, r: Record) -> std::ops::Range<usize> {
        let start = self.audit.len();
        match r {
            Record::Issue(r) => {
                let batch = BatchId::new(r.batch);
                let mut ids = Vec::with_capacity(r.clues.len());
                for (i, t) in r.clues.into_iter().enumerate() {
                    let id = ClueId::new(t.clue);
                    ids.push(id);
                    self.clues.push(Clue {
                        id,
                        batch,
                        position: u32::try_from(i + 1).unwrap_or(u32::MAX),
                        institution: t.institution,
                        name: t.name,
                        province: t.province,
                        city: t.city,
                        assigned_to: t.assigned_to,
                        findings: t.findings,
                        distinct_codes: t.distinct_codes,
                        amount_fen: Fen::new(t.amount_fen),
                        score: t.score,
                        deadline: r.deadline,
                        state: ClueState::Issued,
                        result: None,
                        issued_at_ms: r.at_ms,
                        updated_at_ms: r.at_ms,
                    });
                    self.audit_by_clue.push(vec![self.audit.len()]);
                    self.audit.push(AuditEntry {
                        seq: r.seq + i as u64,
                        at_ms: r.at_ms,
                        actor: r.actor.clone(),
                        clue: id,
                        batch,
                        from: None,
                        to: ClueState::Issued,
                        note: None,
                        recovered_fen: None,
                    });
                }
                self.batches.push(Batch {
                    id: batch,
                    title: r.title,
                    issued_by: r.actor,
                    issued_at_ms: r.at_ms,
                    deadline: r.deadline,
                    filter: r.filter.into(),
                    clues: ids,
                });
            }
            Record::Transition(r) => {
                let i = self.index(r.clue).expect("checked: the clue exists");
                let clue = &mut self.clues[i];
                clue.state = r.to;
                clue.updated_at_ms = r.at_ms;
                if r.to.is_closed() {
                    clue.result = Some(ClueResult {
                        note: r.note.clone().unwrap_or_default(),
                        recovered_fen: r.recovered_fen.map(Fen::new),
                    });
                }
                let batch = clue.batch;
                self.audit_by_clue[i].push(self.audit.len());
                self.audit.push(AuditEntry {
                    seq: r.seq,
                    at_ms: r.at_ms,
                    actor: r.actor,
                    clue: ClueId::new(r.clue),
                    batch,
                    from: Some(r.from),
                    to: r.to,
                    note: r.note,
                    recovered_fen: r.recovered_fen.map(Fen::new),
                });
            }
            Record::Note(r) => {
                let i = self.index(r.clue).expect("checked: the clue exists");
                let clue = &mut self.clues[i];
                clue.updated_at_ms = r.at_ms;
                let (batch, state) = (clue.batch, clue.state);
                self.audit_by_clue[i].push(self.audit.len());
                self.audit.push(AuditEntry {
                    seq: r.seq,
                    at_ms: r.at_ms,
                    actor: r.actor,
                    clue: ClueId::new(r.clue),
                    batch,
                    from: Some(state),
                    to: state,
                    note: Some(r.note),
                    recovered_fen: None,
                });
            }
        }
        start..self.audit.len()
    }
}
