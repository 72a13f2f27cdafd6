//! Clues, batches, their states and their audit trail: the values a [`crate::ClueBook`]
//! hands out and takes in.

use std::fmt;
use std::str::FromStr;

use drugtrace_money::Fen;
use jiff::civil::Date;

use crate::{Filter, RankedInstitution};

/// A batch's identifier: `B1`, `B2`, ... in issue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(u64);

/// A clue's identifier: `C1`, `C2`, ... in issue order, across batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClueId(u64);

/// Why a string is not a batch or clue identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a {what} id (expected {prefix} followed by a number from 1, as in {prefix}12)"
)]
pub struct IdError {
    input: String,
    what: &'static str,
    prefix: char,
}

fn parse_id(s: &str, prefix: char, what: &'static str) -> Result<u64, IdError> {
    let err = || IdError {
        input: s.to_owned(),
        what,
        prefix,
    };
    let digits = s
        .strip_prefix(prefix)
        .or_else(|| s.strip_prefix(prefix.to_ascii_lowercase()))
        .ok_or_else(err)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(err());
    }
    digits.parse().map_err(|_| err())
}

macro_rules! id_impls {
    ($t:ident, $prefix:literal, $what:literal) => {
        impl $t {
            /// The identifier with this number (numbers start at 1).
            pub fn new(n: u64) -> $t {
                $t(n)
            }

            /// Its number.
            pub fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl FromStr for $t {
            type Err = IdError;

            /// Reads the form [`Display`](fmt::Display) writes (`B12`, `C7`; the letter's
            /// case is ignored).
            fn from_str(s: &str) -> Result<$t, IdError> {
                parse_id(s, $prefix, $what).map($t)
            }
        }
    };
}

id_impls!(BatchId, 'B', "batch");
id_impls!(ClueId, 'C', "clue");

/// Where a clue stands in its verification.
///
/// The only moves are `issued → under_verification`, and `under_verification → confirmed`
/// or `→ dismissed`. Confirmed and dismissed are closed: nothing moves them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClueState {
    /// Sent to the bureau, not yet taken up (已下发).
    Issued,
    /// The bureau is verifying it (核查中).
    UnderVerification,
    /// Verified: the suspicion held (查实).
    Confirmed,
    /// Verified: nothing wrong was found (排除).
    Dismissed,
}

impl ClueState {
    /// Every state, in workflow order.
    pub const ALL: [ClueState; 4] = [
        ClueState::Issued,
        ClueState::UnderVerification,
        ClueState::Confirmed,
        ClueState::Dismissed,
    ];

    /// The state's name: `issued`, `under_verification`, `confirmed`, `dismissed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClueState::Issued => "issued",
            ClueState::UnderVerification => "under_verification",
            ClueState::Confirmed => "confirmed",
            ClueState::Dismissed => "dismissed",
        }
    }

    /// Reads a name as written by [`ClueState::as_str`].
    pub fn parse(s: &str) -> Option<ClueState> {
        ClueState::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }

    /// Whether verification is over (confirmed or dismissed).
    pub fn is_closed(self) -> bool {
        matches!(self, ClueState::Confirmed | ClueState::Dismissed)
    }

    /// Whether a clue in this state may move to `to`.
    pub fn can_move_to(self, to: ClueState) -> bool {
        matches!(
            (self, to),
            (ClueState::Issued, ClueState::UnderVerification)
                | (ClueState::UnderVerification, ClueState::Confirmed)
                | (ClueState::UnderVerification, ClueState::Dismissed)
        )
    }
}

/// Written and read as its name (see [`ClueState::as_str`]), in the journal and in page data.
impl serde::Serialize for ClueState {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ClueState {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<ClueState, D::Error> {
        let s = String::deserialize(de)?;
        ClueState::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown clue state {s:?}")))
    }
}

impl fmt::Display for ClueState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bureau a clue at an institution in `province`/`city` is assigned to: the city's
/// bureau, written `province/city`, or the province's when the city is empty. Empty when
/// both are (an institution missing from the directory), which [`crate::ClueBook::issue`]
/// refuses: such a clue must be assigned explicitly.
pub fn bureau_for(province: &str, city: &str) -> String {
    match (province.trim(), city.trim()) {
        (p, "") => p.to_owned(),
        (p, c) => format!("{p}/{c}"),
    }
}

/// An institution to send a clue about, with the figures that justify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClueTarget {
    /// The institution's code.
    pub institution: String,
    /// Its name.
    pub name: String,
    /// Its province.
    pub province: String,
    /// Its city.
    pub city: String,
    /// The bureau that must verify the clue (see [`bureau_for`]).
    pub assigned_to: String,
    /// Findings behind the clue.
    pub findings: u64,
    /// Distinct trace codes among them.
    pub distinct_codes: u64,
    /// Fund amount at risk.
    pub amount_fen: Fen,
    /// The ranking score (see [`crate::rank`]).
    pub score: u64,
}

impl ClueTarget {
    /// A target taken from a ranking row, assigned to the bureau of its province/city.
    pub fn from_ranked(row: &RankedInstitution) -> ClueTarget {
        ClueTarget {
            institution: row.institution.clone(),
            name: row.name.clone(),
            province: row.province.clone(),
            city: row.city.clone(),
            assigned_to: bureau_for(&row.province, &row.city),
            findings: row.findings,
            distinct_codes: row.distinct_codes,
            amount_fen: row.amount_fen,
            score: row.score,
        }
    }

    /// The first `n` rows of a ranking, as targets.
    pub fn top(ranked: &[RankedInstitution], n: usize) -> Vec<ClueTarget> {
        ranked.iter().take(n).map(ClueTarget::from_ranked).collect()
    }

    /// A target named explicitly, without ranking figures, assigned to the bureau of its
    /// province/city.
    pub fn explicit(institution: &str, name: &str, province: &str, city: &str) -> ClueTarget {
        ClueTarget {
            institution: institution.to_owned(),
            name: name.to_owned(),
            province: province.to_owned(),
            city: city.to_owned(),
            assigned_to: bureau_for(province, city),
            findings: 0,
            distinct_codes: 0,
            amount_fen: Fen::ZERO,
            score: 0,
        }
    }
}

/// A batch of clues to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    /// What the batch is about (shown to the bureaus).
    pub title: String,
    /// Who issues it (the audit's actor).
    pub issued_by: String,
    /// The day results are due; a clue still open after that day is overdue.
    pub deadline: Date,
    /// The filter the findings were ranked under, kept as the batch's record.
    pub filter: Filter,
    /// One clue per institution, in order (rank order when taken from [`ClueTarget::top`]).
    pub institutions: Vec<ClueTarget>,
}

/// A request to move a clue, or to annotate it: who, and what they found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Who makes the change (the audit's actor); must not be blank.
    pub actor: String,
    /// What the bureau found; required (non-blank) to confirm or dismiss. A blank note counts
    /// as none.
    pub note: Option<String>,
    /// Fund amount recovered; allowed only when confirming, never negative.
    pub recovered_fen: Option<Fen>,
}

impl Change {
    /// A change by `actor`, without a note.
    pub fn by(actor: &str) -> Change {
        Change {
            actor: actor.to_owned(),
            ..Change::default()
        }
    }

    /// The same change with this note.
    pub fn note(mut self, note: &str) -> Change {
        self.note = Some(note.to_owned());
        self
    }

    /// The same change with this amount recovered.
    pub fn recovered_fen(mut self, fen: Fen) -> Change {
        self.recovered_fen = Some(fen);
        self
    }
}

/// What verification concluded, kept on a closed clue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClueResult {
    /// The bureau's note.
    pub note: String,
    /// Fund amount recovered, when confirmed and given.
    pub recovered_fen: Option<Fen>,
}

/// One clue as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Clue {
    /// Its id.
    pub id: ClueId,
    /// The batch it was issued in.
    pub batch: BatchId,
    /// Its place in the batch, 1 for the first.
    pub position: u32,
    /// The institution's code.
    pub institution: String,
    /// The institution's name (may be empty).
    pub name: String,
    /// The institution's province.
    pub province: String,
    /// The institution's city.
    pub city: String,
    /// The bureau that verifies it.
    pub assigned_to: String,
    /// Findings behind the clue when issued.
    pub findings: u64,
    /// Distinct trace codes among them.
    pub distinct_codes: u64,
    /// Fund amount at risk.
    pub amount_fen: Fen,
    /// The ranking score when issued.
    pub score: u64,
    /// The day results are due.
    pub deadline: Date,
    /// Where it stands.
    pub state: ClueState,
    /// The conclusion, once closed.
    pub result: Option<ClueResult>,
    /// When it was issued, ms since the epoch.
    pub issued_at_ms: i64,
    /// When it last changed (a move or a note), ms since the epoch.
    pub updated_at_ms: i64,
}

impl Clue {
    /// Whether the clue is overdue on `today`: still open after its deadline day.
    pub fn is_overdue(&self, today: Date) -> bool {
        !self.state.is_closed() && today > self.deadline
    }
}

/// An issued batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Batch {
    /// Its id.
    pub id: BatchId,
    /// What it is about.
    pub title: String,
    /// Who issued it.
    pub issued_by: String,
    /// When, ms since the epoch.
    pub issued_at_ms: i64,
    /// The day results are due.
    pub deadline: Date,
    /// The filter the findings were ranked under.
    pub filter: Filter,
    /// Its clues, in order.
    pub clues: Vec<ClueId>,
}

/// One change to a clue, kept forever.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEntry {
    /// Its place in the whole book's history, from 1, without gaps.
    pub seq: u64,
    /// When, ms since the epoch (the book's clock).
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// The clue changed.
    pub clue: ClueId,
    /// The clue's batch.
    pub batch: BatchId,
    /// The state before; `None` for the issue itself.
    pub from: Option<ClueState>,
    /// The state after (equal to `from` for a note).
    pub to: ClueState,
    /// The note given, if any.
    pub note: Option<String>,
    /// The amount recovered given, if any.
    pub recovered_fen: Option<Fen>,
}

/// Clues counted per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Issued, not yet taken up.
    pub issued: usize,
    /// Under verification.
    pub under_verification: usize,
    /// Confirmed.
    pub confirmed: usize,
    /// Dismissed.
    pub dismissed: usize,
}

impl StateCounts {
    /// The count for `state`.
    pub fn get(&self, state: ClueState) -> usize {
        match state {
            ClueState::Issued => self.issued,
            ClueState::UnderVerification => self.under_verification,
            ClueState::Confirmed => self.confirmed,
            ClueState::Dismissed => self.dismissed,
        }
    }

    pub(crate) fn add(&mut self, state: ClueState) {
        let slot = match state {
            ClueState::Issued => &mut self.issued,
            ClueState::UnderVerification => &mut self.under_verification,
            ClueState::Confirmed => &mut self.confirmed,
            ClueState::Dismissed => &mut self.dismissed,
        };
        *slot += 1;
    }
}

/// Where a batch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSummary {
    /// The batch.
    pub batch: Batch,
    /// Its clues.
    pub total: usize,
    /// Its clues per state.
    pub counts: StateCounts,
    /// Its clues overdue on the day asked about.
    pub overdue: usize,
    /// Fund amount recovered over its confirmed clues (saturating).
    pub recovered_fen: Fen,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_junk() {
        assert_eq!("B12".parse::<BatchId>(), Ok(BatchId::new(12)));
        assert_eq!("c7".parse::<ClueId>(), Ok(ClueId::new(7)));
        assert_eq!(ClueId::new(7).to_string(), "C7");
        for bad in [
            "",
            "C",
            "C0",
            "C07",
            "B7",
            "C-1",
            "C1x",
            "C99999999999999999999",
        ] {
            assert!(bad.parse::<ClueId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_workflow_moves_are_legal() {
        use ClueState::*;
        let legal = [
            (Issued, UnderVerification),
            (UnderVerification, Confirmed),
            (UnderVerification, Dismissed),
        ];
        for from in ClueState::ALL {
            for to in ClueState::ALL {
                assert_eq!(from.can_move_to(to), legal.contains(&(from, to)));
            }
            assert_eq!(ClueState::parse(from.as_str()), Some(from));
        }
    }

    #[test]
    fn bureaus_are_the_city_or_the_province() {
        assert_eq!(bureau_for("福建省", "福州市"), "福建省/福州市");
        assert_eq!(bureau_for("福建省", ""), "福建省");
        assert_eq!(bureau_for("", ""), "");
    }

    #[test]
    fn overdue_starts_the_day_after_the_deadline() {
        let deadline = jiff::civil::date(2025, 11, 20);
        let mut clue = Clue {
            id: ClueId::new(1),
            batch: BatchId::new(1),
            position: 1,
            institution: "H1".into(),
            name: String::new(),
            province: String::new(),
            city: String::new(),
            assigned_to: "P".into(),
            findings: 0,
            distinct_codes: 0,
            amount_fen: Fen::ZERO,
            score: 0,
            deadline,
            state: ClueState::UnderVerification,
            result: None,
            issued_at_ms: 0,
            updated_at_ms: 0,
        };
        assert!(!clue.is_overdue(deadline));
        assert!(clue.is_overdue(jiff::civil::date(2025, 11, 21)));
        clue.state = ClueState::Dismissed;
        assert!(!clue.is_overdue(jiff::civil::date(2025, 11, 21)));
    }
}
