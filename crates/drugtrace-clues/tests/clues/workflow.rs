//! The workflow against a model: random operations on a real book (on disk), each checked
//! against a few lines of obviously right bookkeeping, with reopens in between.

use drugtrace_clues::{
    AuditEntry, Batch, Change, Clue, ClueBook, ClueId, ClueQuery, ClueState, Date, IssueError,
    UpdateError,
};
use drugtrace_money::Fen;
use proptest::prelude::*;

use crate::{request, ticking};

const INSTITUTIONS: [&str; 5] = ["P0", "P1", "P2", "P3", "P4"];

#[derive(Debug, Clone)]
enum Op {
    /// A batch of these institutions (indices; may be empty or repeat one).
    Issue(Vec<usize>),
    /// Move a clue (picked by `clue` modulo the clues issued plus one, so sometimes one
    /// that does not exist) to `to`, or, when `to` is `None`, to a state the workflow allows
    /// next (confirmed or dismissed by `confirm`).
    Move {
        clue: u64,
        to: Option<ClueState>,
        confirm: bool,
        note: Option<&'static str>,
        recovered_fen: Option<i64>,
    },
    /// Add a note to a clue (picked as for a move).
    Note { clue: u64, note: &'static str },
    /// Close the book and open it again.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    // Weighted towards requests that pass, so that runs often reach closed clues.
    let note = prop_oneof![
        1 => Just(None),
        1 => Just(Some("  ")),
        6 => Just(Some("无进货票据")),
    ];
    let recovered = prop_oneof![
        8 => Just(None),
        1 => Just(Some(-1)),
        1 => Just(Some(0)),
        2 => Just(Some(12_600)),
    ];
    prop_oneof![
        2 => prop::collection::vec(0..INSTITUTIONS.len(), 0..4).prop_map(Op::Issue),
        8 => (
            any::<u64>(),
            prop::option::weighted(0.3, prop::sample::select(ClueState::ALL.to_vec())),
            any::<bool>(),
            note,
            recovered,
        )
            .prop_map(|(clue, to, confirm, note, recovered_fen)| Op::Move {
                clue,
                to,
                confirm,
                note,
                recovered_fen,
            }),
        1 => (any::<u64>(), prop_oneof![Just(""), Just("已约谈")])
            .prop_map(|(clue, note)| Op::Note { clue, note }),
        1 => Just(Op::Reopen),
    ]
}

/// What the book should hold.
#[derive(Default)]
struct Model {
    states: Vec<ClueState>,
    audit: usize,
    records: usize,
}

/// A clue number from 1 to one past the last clue issued.
fn pick(model: &Model, n: u64) -> u64 {
    n % (model.states.len() as u64 + 1) + 1
}

/// The state the workflow allows clue `clue` to move to next (any state, when it is closed
/// or unknown: the move is then refused).
fn next(model: &Model, clue: u64, confirm: bool) -> ClueState {
    match model.states.get(clue as usize - 1) {
        Some(ClueState::Issued) => ClueState::UnderVerification,
        Some(ClueState::UnderVerification) if confirm => ClueState::Confirmed,
        Some(ClueState::UnderVerification) => ClueState::Dismissed,
        _ => ClueState::Issued,
    }
}

/// What `transition` should answer, judged by the workflow's rules in the book's order.
fn expected_move(
    model: &Model,
    clue: u64,
    to: ClueState,
    note: Option<&str>,
    recovered_fen: Option<i64>,
) -> Result<(), &'static str> {
    let Some(&from) = model.states.get(clue as usize - 1) else {
        return Err("unknown");
    };
    // The model's own table, not the book's `can_move_to`.
    let legal = matches!(
        (from, to),
        (ClueState::Issued, ClueState::UnderVerification)
            | (
                ClueState::UnderVerification,
                ClueState::Confirmed | ClueState::Dismissed
            )
    );
    if !legal {
        return Err("illegal");
    }
    let closing = matches!(to, ClueState::Confirmed | ClueState::Dismissed);
    if closing && note.is_none_or(|n| n.trim().is_empty()) {
        return Err("note required");
    }
    match recovered_fen {
        Some(_) if to != ClueState::Confirmed => Err("recovered not allowed"),
        Some(fen) if fen < 0 => Err("negative"),
        _ => Ok(()),
    }
}

fn kind(e: &UpdateError) -> &'static str {
    match e {
        UpdateError::UnknownClue(_) => "unknown",
        UpdateError::IllegalTransition { .. } => "illegal",
        UpdateError::NoteRequired { .. } => "note required",
        UpdateError::RecoveredNotAllowed { .. } => "recovered not allowed",
        UpdateError::NegativeRecovered { .. } => "negative",
        UpdateError::EmptyNote(_) => "empty note",
        other => panic!("unexpected error: {other}"),
    }
}

type Snapshot = (Vec<Clue>, Vec<AuditEntry>, Vec<Batch>);

fn snapshot(book: &ClueBook, today: Date) -> Snapshot {
    (
        book.list(&ClueQuery::default(), today),
        book.audit(),
        book.batches(),
    )
}

fn reopen(book: ClueBook, dir: &std::path::Path, model: &Model, clock_at: i64) -> ClueBook {
    let today = crate::deadline();
    let before = snapshot(&book, today);
    drop(book);
    let (book, report) = ClueBook::open_with_clock(dir, ticking(clock_at)).unwrap();
    assert_eq!(report.torn_tail, None);
    assert_eq!(report.records, model.records);
    assert_eq!(
        snapshot(&book, today),
        before,
        "reopening changed the state"
    );
    book
}

fn check(book: &ClueBook, model: &Model) {
    let audit = book.audit();
    assert_eq!(audit.len(), model.audit);
    assert!(audit.iter().enumerate().all(|(i, a)| a.seq == i as u64 + 1));
    let states: Vec<ClueState> = book
        .list(&ClueQuery::default(), crate::deadline())
        .iter()
        .map(|c| c.state)
        .collect();
    assert_eq!(states, model.states);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_book_follows_the_model(ops in prop::collection::vec(op(), 10..50)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut book, _) = ClueBook::open_with_clock(dir.path(), ticking(0)).unwrap();
        let mut model = Model::default();
        for (step, op) in ops.into_iter().enumerate() {
            let clock_at = 1_000 * (step as i64 + 1);
            match op {
                Op::Issue(picks) => {
                    let names: Vec<&str> = picks.iter().map(|&i| INSTITUTIONS[i]).collect();
                    let mut unique = names.clone();
                    unique.sort();
                    unique.dedup();
                    let got = book.issue(request(&names));
                    if names.is_empty() {
                        prop_assert!(matches!(got, Err(IssueError::NoInstitutions)));
                    } else if unique.len() < names.len() {
                        prop_assert!(matches!(got, Err(IssueError::DuplicateInstitution(_))));
                    } else {
                        let issued = got.unwrap();
                        let first = model.states.len() as u64 + 1;
                        let want: Vec<ClueId> =
                            (first..first + names.len() as u64).map(ClueId::new).collect();
                        prop_assert_eq!(issued.clues, want);
                        model.states.extend(names.iter().map(|_| ClueState::Issued));
                        model.audit += names.len();
                        model.records += 1;
                    }
                }
                Op::Move { clue, to, confirm, note, recovered_fen } => {
                    let clue = pick(&model, clue);
                    let to = to.unwrap_or_else(|| next(&model, clue, confirm));
                    let change = Change {
                        actor: "河北省/张家口市".into(),
                        note: note.map(Into::into),
                        recovered_fen: recovered_fen.map(Fen::new),
                    };
                    let want = expected_move(&model, clue, to, note, recovered_fen);
                    let got = book.transition(ClueId::new(clue), to, change);
                    match (&want, &got) {
                        (Ok(()), Ok(entry)) => {
                            let from = model.states[clue as usize - 1];
                            prop_assert_eq!(entry.from, Some(from));
                            prop_assert_eq!(entry.to, to);
                            model.states[clue as usize - 1] = to;
                            model.audit += 1;
                            model.records += 1;
                        }
                        (Err(w), Err(e)) => {
                            prop_assert_eq!(*w, kind(e), "{}", e);
                            if let UpdateError::IllegalTransition { clue: c, from, to: t } = e {
                                prop_assert_eq!(c.get(), clue);
                                prop_assert_eq!(*from, model.states[clue as usize - 1]);
                                prop_assert_eq!(*t, to);
                                let text = e.to_string();
                                prop_assert!(text.contains(&format!("C{clue}")), "{}", text);
                                prop_assert!(text.contains(from.as_str()), "{}", text);
                                prop_assert!(text.contains(to.as_str()), "{}", text);
                            }
                        }
                        _ => prop_assert!(false, "expected {:?}, got {:?}", want, got),
                    }
                }
                Op::Note { clue, note } => {
                    let clue = pick(&model, clue);
                    let got = book.add_note(ClueId::new(clue), "国家医保局", note);
                    let exists = (clue as usize) <= model.states.len();
                    if exists && !note.is_empty() {
                        prop_assert!(got.is_ok());
                        model.audit += 1;
                        model.records += 1;
                    } else {
                        prop_assert!(got.is_err());
                    }
                }
                Op::Reopen => {
                    book = reopen(book, dir.path(), &model, clock_at);
                }
            }
            check(&book, &model);
        }
        reopen(book, dir.path(), &model, 1_000_000);
    }
}
