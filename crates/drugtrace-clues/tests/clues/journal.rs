//! The journal on disk: torn tails are cut off and reported, corruption anywhere else is
//! refused with its line number, and nothing acknowledged is ever lost.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use drugtrace_clues::{
    Change, ClueBook, ClueId, ClueQuery, ClueState, OpenError, TornTail, UpdateError,
};

use crate::{deadline, request, ticking};

/// A book with three lines: a batch of two clues, a move, and a note.
fn three_lines(dir: &Path) -> Vec<u8> {
    let (book, _) = ClueBook::open_with_clock(dir, ticking(0)).unwrap();
    book.issue(request(&["P1", "P2"])).unwrap();
    book.transition(
        ClueId::new(1),
        ClueState::UnderVerification,
        Change::by("河北省/张家口市").note("已派员核查"),
    )
    .unwrap();
    book.add_note(ClueId::new(2), "国家医保局", "请尽快核查")
        .unwrap();
    let path = book.path();
    drop(book);
    fs::read(path).unwrap()
}

fn journal(dir: &Path) -> std::path::PathBuf {
    dir.join("clues.jsonl")
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(journal(dir), text).unwrap();
}

fn corrupt_line(err: OpenError) -> (usize, String) {
    match err {
        OpenError::Corrupt { line, reason, .. } => (line, reason),
        other => panic!("expected corruption, got {other}"),
    }
}

#[test]
fn the_journal_is_readable_utf8_lines() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = three_lines(dir.path());
    let lines = lines(&bytes);
    assert_eq!(lines.len(), 3);
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["op"], "issue");
    assert_eq!(first["deadline"], "2025-11-20");
    assert!(
        lines[0].contains("某某大药房"),
        "names are written as UTF-8, not escaped"
    );
    let second: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(second["from"], "issued");
    assert_eq!(second["to"], "under_verification");
}

#[test]
fn a_torn_tail_is_cut_off_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let whole = three_lines(dir.path());
    let torn = br#"{"op":"note","seq":5,"at_ms":9,"actor":"x","clue":1,"no"#;
    fs::OpenOptions::new()
        .append(true)
        .open(journal(dir.path()))
        .unwrap()
        .write_all(torn)
        .unwrap();

    let (book, report) = ClueBook::open(dir.path()).unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(
        report.torn_tail.map(|t: TornTail| (t.line, t.bytes)),
        Some((4, torn.len()))
    );
    assert_eq!(
        fs::read(journal(dir.path())).unwrap(),
        whole,
        "cut back to whole lines"
    );
    assert_eq!(book.audit().len(), 4);

    // The book goes on from there, and the next open finds nothing torn.
    book.add_note(ClueId::new(1), "国家医保局", "再次提醒")
        .unwrap();
    drop(book);
    let (book, report) = ClueBook::open(dir.path()).unwrap();
    assert_eq!((report.records, report.torn_tail), (4, None));
    assert_eq!(book.audit().len(), 5);
}

#[test]
fn a_whole_record_without_its_newline_was_never_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let whole = three_lines(dir.path());
    let mut lines = lines(&whole);
    let fourth = lines[2].replace(r#""seq":4"#, r#""seq":5"#);
    lines.push(fourth);
    fs::write(journal(dir.path()), lines.join("\n")).unwrap();
    let (book, report) = ClueBook::open(dir.path()).unwrap();
    assert_eq!(report.torn_tail.map(|t| t.line), Some(4));
    assert_eq!(book.audit().len(), 4);
}

#[test]
fn a_corrupt_middle_line_is_an_error_naming_it_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let whole = three_lines(dir.path());
    let mut lines = lines(&whole);
    lines[1] = lines[1].replacen('{', "{{", 1);
    write_lines(dir.path(), &lines);
    let before = fs::read(journal(dir.path())).unwrap();

    let (line, reason) = corrupt_line(ClueBook::open(dir.path()).unwrap_err());
    assert_eq!(line, 2);
    assert!(reason.contains("not a clue record"), "{reason}");
    assert_eq!(fs::read(journal(dir.path())).unwrap(), before);
    let text = ClueBook::open(dir.path()).unwrap_err().to_string();
    assert!(text.contains("clues.jsonl, line 2:"), "{text}");
}

#[test]
fn a_corrupt_last_whole_line_is_an_error_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = lines(&three_lines(dir.path()));
    lines[2] = "\u{0}\u{0}\u{0}".into();
    write_lines(dir.path(), &lines);
    assert_eq!(corrupt_line(ClueBook::open(dir.path()).unwrap_err()).0, 3);
}

#[test]
fn an_empty_line_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = lines(&three_lines(dir.path()));
    lines.insert(1, String::new());
    write_lines(dir.path(), &lines);
    assert_eq!(corrupt_line(ClueBook::open(dir.path()).unwrap_err()).0, 2);
}

#[test]
fn a_lost_line_breaks_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = lines(&three_lines(dir.path()));
    lines.remove(1);
    write_lines(dir.path(), &lines);
    let (line, reason) = corrupt_line(ClueBook::open(dir.path()).unwrap_err());
    assert_eq!(line, 2);
    assert!(
        reason.contains("sequence number 4 where 3 was expected"),
        "{reason}"
    );
}

#[test]
fn a_record_that_breaks_the_workflow_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = lines(&three_lines(dir.path()));
    // The move claims to start from a state the clue is not in.
    lines[1] = lines[1].replace(r#""from":"issued""#, r#""from":"under_verification""#);
    write_lines(dir.path(), &lines);
    let (line, reason) = corrupt_line(ClueBook::open(dir.path()).unwrap_err());
    assert_eq!(line, 2);
    assert!(
        reason.contains("clue C1 moves from under_verification but it is issued"),
        "{reason}"
    );

    // A consistent but illegal move (issued straight to confirmed, without a note).
    let mut lines = lines.clone();
    lines[1] = lines[1]
        .replace(r#""from":"under_verification""#, r#""from":"issued""#)
        .replace(r#""to":"under_verification""#, r#""to":"confirmed""#);
    write_lines(dir.path(), &lines);
    let (line, reason) = corrupt_line(ClueBook::open(dir.path()).unwrap_err());
    assert_eq!(line, 2);
    assert!(
        reason.contains("clue C1 is issued; it cannot move to confirmed"),
        "{reason}"
    );
}

#[test]
fn writers_on_many_threads_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (book, _) = ClueBook::open(dir.path()).unwrap();
    let book = Arc::new(book);
    book.issue(request(&["P1", "P2", "P3", "P4"])).unwrap();
    let threads: Vec<_> = (1..=4u64)
        .map(|c| {
            let book = Arc::clone(&book);
            std::thread::spawn(move || {
                let id = ClueId::new(c);
                book.transition(id, ClueState::UnderVerification, Change::by("bureau"))
                    .unwrap();
                for i in 0..3 {
                    book.add_note(id, "bureau", &format!("进展 {i}")).unwrap();
                }
                // Exactly one of two racing closes wins.
                let a = book.transition(id, ClueState::Dismissed, Change::by("a").note("无异常"));
                let b = book.transition(id, ClueState::Confirmed, Change::by("b").note("查实"));
                assert!(a.is_ok() != b.is_ok());
                let loser = if a.is_ok() { b } else { a };
                assert!(matches!(loser, Err(UpdateError::IllegalTransition { .. })));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let audit = book.audit();
    assert_eq!(audit.len(), 4 + 4 * 5);
    assert!(audit.iter().enumerate().all(|(i, a)| a.seq == i as u64 + 1));
    let before = book.list(&ClueQuery::default(), deadline());
    drop(book);
    let (book, _) = ClueBook::open(dir.path()).unwrap();
    assert_eq!(book.audit(), audit);
    assert_eq!(book.list(&ClueQuery::default(), deadline()), before);
}
