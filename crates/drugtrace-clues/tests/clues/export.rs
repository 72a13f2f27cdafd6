//! The CSV export of clue lists.

use drugtrace_clues::{
    CLUE_COLUMNS, Change, ClueBook, ClueId, ClueQuery, ClueState, Date, UTF8_BOM, write_csv,
};
use drugtrace_money::Fen;

use crate::{request, ticking};

#[test]
fn clue_lists_export_as_utf8_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (book, _) = ClueBook::open_with_clock(dir.path(), ticking(1_762_041_600_000)).unwrap();
    book.issue(request(&["P1", "P2"])).unwrap();
    let c1 = ClueId::new(1);
    book.transition(c1, ClueState::UnderVerification, Change::by("张家口"))
        .unwrap();
    book.transition(
        c1,
        ClueState::Confirmed,
        Change::by("张家口")
            .note("无进货票据, \"回流药\"")
            .recovered_fen(Fen::new(12_600)),
    )
    .unwrap();
    let today = Date::constant(2025, 11, 21);
    let clues = book.list(&ClueQuery::default(), today);

    let mut out = Vec::new();
    write_csv(&mut out, &clues, today).unwrap();
    assert!(!out.starts_with(UTF8_BOM));
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains("某某大药房"));

    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(Into::into).collect();
    assert_eq!(header, CLUE_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let field = |row: &csv::StringRecord, name: &str| {
        let i = CLUE_COLUMNS.iter().position(|c| *c == name).unwrap();
        row[i].to_owned()
    };
    assert_eq!(field(&rows[0], "clue"), "C1");
    assert_eq!(field(&rows[0], "batch"), "B1");
    assert_eq!(field(&rows[0], "assigned_to"), "河北省/张家口市");
    assert_eq!(field(&rows[0], "state"), "confirmed");
    assert_eq!(field(&rows[0], "overdue"), "false");
    assert_eq!(field(&rows[0], "result_note"), "无进货票据, \"回流药\"");
    assert_eq!(field(&rows[0], "recovered_fen"), "12600");
    assert_eq!(field(&rows[0], "deadline"), "2025-11-20");
    assert_eq!(field(&rows[0], "issued_at"), "2025-11-02T00:00:00Z");
    assert_eq!(field(&rows[1], "state"), "issued");
    assert_eq!(field(&rows[1], "overdue"), "true");
    assert_eq!(field(&rows[1], "result_note"), "");
}
