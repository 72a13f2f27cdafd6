//! Two servers' clue books on one shared journal: each sees what the other wrote, and a
//! change decided on a state the other has since changed is decided again, never appended
//! blindly.

use std::sync::Arc;

use drugtrace_clues::{Change, ClueBook, ClueState, UpdateError};
use drugtrace_durable::{MemoryJournal, SharedJournal};

use crate::{request, ticking};

fn two_books() -> (ClueBook, ClueBook, Arc<MemoryJournal>) {
    let journal = Arc::new(MemoryJournal::default());
    let open = || {
        ClueBook::open_shared(
            Arc::clone(&journal) as Arc<dyn SharedJournal>,
            "journal clues",
            ticking(1_000),
        )
        .unwrap()
        .0
    };
    (open(), open(), journal)
}

#[test]
fn a_batch_issued_on_one_server_is_seen_and_worked_on_the_other() {
    let (a, b, _) = two_books();
    let issued = a.issue(request(&["H1", "H2"])).unwrap();
    assert_eq!(b.refresh().unwrap(), 1, "one record to fold in");
    assert_eq!(b.batches().len(), 1);
    let clue = issued.clues[0];
    b.transition(
        clue,
        ClueState::UnderVerification,
        Change::by("河北省医保局"),
    )
    .unwrap();
    a.refresh().unwrap();
    assert_eq!(
        a.clue(clue).unwrap().clue.state,
        ClueState::UnderVerification
    );
}

#[test]
fn a_change_decided_on_a_stale_state_is_decided_again() {
    let (a, b, journal) = two_books();
    let issued = a.issue(request(&["H1"])).unwrap();
    let clue = issued.clues[0];
    // b has not looked since: its write folds a's batch in first.
    b.transition(clue, ClueState::UnderVerification, Change::by("bureau b"))
        .unwrap();
    // a still thinks the clue is issued; moving it again is judged on the real state.
    let again = a.transition(clue, ClueState::UnderVerification, Change::by("bureau a"));
    assert!(
        matches!(again, Err(UpdateError::IllegalTransition { .. })),
        "{again:?}"
    );
    // Two batches issued on two stale servers get distinct numbers and clue ids.
    let (x, y) = (
        a.issue(request(&["H7"])).unwrap(),
        b.issue(request(&["H8"])).unwrap(),
    );
    assert_ne!(x.batch, y.batch);
    assert_ne!(x.clues, y.clues);
    assert_eq!(journal.read_from(0).unwrap().len(), 4);
    // A third server opened now folds the same state.
    let (c, report) = ClueBook::open_shared(
        journal as Arc<dyn SharedJournal>,
        "journal clues",
        ticking(9),
    )
    .unwrap();
    assert_eq!(report.records, 4);
    assert_eq!(c.batches().len(), 3);
    assert_eq!(c.audit().len(), a.audit().len().max(b.audit().len()));
}
