//! Reading event files: the same events from CSV and JSON Lines, and every kind of bad line
//! reported with its number while the good lines around it are kept.

use drugtrace_code::TraceCode;
use drugtrace_ingest::{Format, FormatError, Line, ParseContext, Reader};
use drugtrace_ledger::{Date, EventKind, PersonKey, StockChange, Timestamp};

fn ctx() -> ParseContext {
    ParseContext {
        person_key: PersonKey::from_bytes([3; 32]),
        local_offset_minutes: 480,
    }
}

fn read(text: &str, format: Format) -> Vec<Line> {
    Reader::new(text.as_bytes(), format, ctx())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const CSV: &str = "\u{feff}type,code,at,institution,batch,expiry,to,from,supplier,insurance_code,change,settlement_id,person,units,amount,fund_paid
commission,81000010000000000001,2025-03-01 09:00:00,M1,250301,2027-02-28,,,,,,,,,,
ship,81000010000000000001,2025-03-02T10:00:00+08:00,M1,,,D1,,,,,,,,,
stock_change,81000010000000000001,2025-03-11 09:00:00,P1,,,,,,,108,,,,,
sale,８１００００１００００００００００００１,2025-04-08 10:30:00,P1,,,,,,XJ01CAA040A001010100001,,S1,350102199001011234,2,18.5,false
";

const JSONL: &str = r#"{"type":"commission","code":"81000010000000000001","at":"2025-03-01 09:00:00","institution":"M1","batch":"250301","expiry":"2027-02-28"}
{"type":"ship","code":"81000010000000000001","at":"2025-03-02T10:00:00+08:00","institution":"M1","to":"D1"}

{"type":"stock_change","code":"81000010000000000001","at":"2025-03-11 09:00:00","institution":"P1","change":108}
{"type":"sale","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P1","insurance_code":"XJ01CAA040A001010100001","settlement_id":"S1","person":"350102199001011234","units":2,"amount":18.5,"fund_paid":false}
"#;

#[test]
fn csv_and_json_lines_give_the_same_events() {
    let csv = read(CSV, Format::Csv);
    let json = read(JSONL, Format::JsonLines);
    assert_eq!(csv.len(), 4);
    assert_eq!(json.len(), 4, "the blank line is skipped");
    assert_eq!(
        csv.iter().map(|l| l.number).collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
    assert_eq!(
        json.iter().map(|l| l.number).collect::<Vec<_>>(),
        vec![1, 2, 4, 5]
    );
    for (a, b) in csv.iter().zip(&json) {
        assert_eq!(a.result.as_ref().unwrap(), b.result.as_ref().unwrap());
    }
    let events: Vec<_> = csv.into_iter().map(|l| l.result.unwrap()).collect();
    assert_eq!(
        events[0].lot.expiry,
        Date::from_ymd(2027, 2, 28),
        "expiry from the record"
    );
    assert_eq!(
        events[0].at,
        Timestamp::parse("2025-03-01T01:00:00Z", 0).unwrap(),
        "local times are UTC+8"
    );
    assert_eq!(
        events[2].kind,
        EventKind::StockChange(StockChange::PurchaseIn)
    );
    let EventKind::Sale(sale) = &events[3].kind else {
        panic!("a sale")
    };
    assert_eq!(sale.units, Some(2));
    assert_eq!(sale.amount_fen, 1850);
    assert!(!sale.fund_paid);
    assert_eq!(
        sale.person,
        Some(PersonKey::from_bytes([3; 32]).hash("350102199001011234"))
    );
    assert_eq!(
        events[3].pack,
        TraceCode::parse("81000010000000000001").unwrap().pack_key()
    );
}

#[test]
fn gs1_codes_bring_their_batch_and_expiry() {
    let lines = read(
        concat!(
            r#"{"type":"intake","code":"]d2010541506232587217270600\u001d10LOT42\u001d21SER1","at":"2025-04-01 09:00:00","institution":"P1"}"#,
            "\n",
            r#"{"type":"intake","code":"(01)05415062325872(17)270600(10)LOT42(21)SER1","at":"2025-04-01 09:00:00","institution":"P1","batch":"LOT43"}"#,
            "\n",
            r#"{"type":"intake","code":"(01)05415062325872(17)270600(10)LOT42(21)SER1","at":"2025-04-01 09:00:00","institution":"P1","expiry":"2027-06-29"}"#,
            "\n",
        ),
        Format::JsonLines,
    );
    let e = lines[0].result.as_ref().unwrap();
    assert_eq!(e.lot.batch.as_ref().unwrap().as_str(), "LOT42");
    assert_eq!(
        e.lot.expiry,
        Date::from_ymd(2027, 6, 30),
        "day 00 is the month's end"
    );
    assert_eq!(
        lines[1].result.as_ref().unwrap_err().reason,
        "field `batch`: LOT43 differs from the code's batch LOT42"
    );
    assert_eq!(
        lines[2].result.as_ref().unwrap_err().reason,
        "field `expiry`: 2027-06-29 differs from the code's expiry 2027-06-30"
    );
}

#[test]
fn bad_lines_are_named_and_good_ones_kept() {
    let text = concat!(
        r#"{"type":"sale","code":"81000010000000000001","at":"1999-12-31 23:59:59","institution":"P1"}"#,
        "\n",
        r#"{"type":"sale","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P1","settlement_id":"S1","units":0}"#,
        "\n",
        r#"{"type":"ship","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P1","settlement_id":"S1"}"#,
        "\n",
        r#"{"type":"stock_change","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P1","change":"112"}"#,
        "\n",
        r#"{"type":"sale","code":"81000010000000000001","at":"last tuesday","institution":"P1","settlement_id":"S1"}"#,
        "\n",
        r#"{"type":"sale","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P 1","settlement_id":"S1"}"#,
        "\n",
        r#"{"type":"sale","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P1","settlement_id":"S1","amount":"1.234"}"#,
        "\n",
        r#"{"type":"sale","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P1","settlement_id":"S1","person":"350102199001011234","fund_paid":"maybe"}"#,
        "\n",
        r#"[1,2,3]"#,
        "\n",
        r#"{"type":"recall","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P1"}"#,
        "\n",
        r#"{"type":"sale","code":"81000010000000000001","at":"2025-04-08 10:30:00","institut"#,
    );
    let lines = read(text, Format::JsonLines);
    let reasons: Vec<String> = lines
        .iter()
        .map(|l| match &l.result {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.reason.clone(),
        })
        .collect();
    let expect = [
        "field `at`: 1999-12-31T23:59:59+08:00 is before 2000-01-01",
        "field `units`: must be at least 1",
        "field `settlement_id`: does not apply to a ship event",
        "field `change`: \"112\" is not a stock change type 101 to 111",
        "field `at`: ",
        "field `institution`: institution code \"P 1\": may hold only printable ASCII characters without spaces",
        "field `amount`: amount \"1.234\" is not yuan with at most two decimals",
        "field `fund_paid`: \"maybe\" is not true or false",
        "not a JSON event record: invalid type: sequence",
        "ok",
        "not a JSON event record: EOF while parsing",
    ];
    assert_eq!(reasons.len(), expect.len());
    for (i, (got, want)) in reasons.iter().zip(expect).enumerate() {
        assert!(
            got.starts_with(want),
            "line {}: {got:?} should start with {want:?}",
            i + 1
        );
    }
    let redacted = lines[7]
        .result
        .as_ref()
        .unwrap_err()
        .record
        .as_ref()
        .unwrap();
    assert!(redacted.contains(r#""person":"<redacted>""#));
    assert!(!redacted.contains("350102"));
}

#[test]
fn oversized_lines_and_broken_headers() {
    let long = format!(
        "{}\n{{\"type\":\"recall\",\"code\":\"81000010000000000001\",\"at\":\"2025-04-08 10:30:00\",\"institution\":\"P1\"}}\n",
        "x".repeat(100_000)
    );
    let lines = read(&long, Format::JsonLines);
    assert_eq!(
        lines[0].result.as_ref().unwrap_err().reason,
        "line is longer than 65536 bytes"
    );
    assert!(lines[1].result.is_ok(), "the line after a long one is read");

    let bad_utf8: &[u8] = b"\xff\xfe{}\n";
    let lines: Vec<_> = Reader::new(bad_utf8, Format::JsonLines, ctx())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        lines[0]
            .result
            .as_ref()
            .unwrap_err()
            .reason
            .starts_with("line is not UTF-8")
    );

    for (header, want) in [
        ("type,code,at\n", "missing required column(s) institution"),
        (
            "type,code,at,institution,colour\n",
            "unknown column(s) colour",
        ),
        (
            "type,code,at,institution,code\n",
            "column `code` appears twice",
        ),
    ] {
        match Reader::new(header.as_bytes(), Format::Csv, ctx()) {
            Err(FormatError::Header(m)) => assert!(m.starts_with(want), "{m}"),
            Err(e) => panic!("{header}: {e}"),
            Ok(_) => panic!("{header}: accepted"),
        }
    }
    let ragged = "type,code,at,institution\nrecall,81000010000000000001,2025-04-08 10:30:00\nrecall,81000010000000000001,2025-04-08 10:30:00,P1\n";
    let lines = read(ragged, Format::Csv);
    assert_eq!(lines[0].number, 2);
    assert!(
        lines[0]
            .result
            .as_ref()
            .unwrap_err()
            .reason
            .starts_with("malformed CSV record")
    );
    assert!(lines[1].result.is_ok());
}

/// Issue 13: `person: ""` was hashed as a buyer, so every blank identity was one person.
#[test]
fn a_blank_person_is_no_buyer() {
    let lines = read(
        r#"{"type":"sale","code":"81000010000000000001","at":"2025-04-08 10:30:00","institution":"P1","settlement_id":"S1","person":"  "}"#,
        Format::JsonLines,
    );
    let event = lines[0].result.as_ref().unwrap();
    let drugtrace_ledger::EventKind::Sale(sale) = &event.kind else {
        panic!("a sale");
    };
    assert_eq!(sale.person, None);
}
