//! The model `voided_sales` on a hand-made ledger: voids (3507) of fund-paid sales are
//! found, high when the pack was sold again; a voided self-paid sale is not a finding.

mod common;

use drugtrace_catalog::{Catalog, InstitutionKind};
use drugtrace_code::ChinaCode;
use drugtrace_ledger::{
    Authority, Event, EventKind, InstitutionId, Ledger, Lot, MemStore, Policy, Sale, Submission,
    Timestamp, UploadId, Void,
};

const P1: &str = "P35010100001";
const P2: &str = "P35010100002";

fn code(n: u64) -> drugtrace_code::PackKey {
    ChinaCode::from_value(81_000_010_000_000_000_000 + u128::from(n))
        .unwrap()
        .pack_key()
}

fn sale(n: u64, who: &str, upload: Option<&str>, fund_paid: bool, minute: i64) -> Event {
    Event {
        pack: code(n),
        at: Timestamp::from_millis(1_764_000_000_000 + minute * 60_000),
        actor: InstitutionId::parse(who).unwrap(),
        lot: Lot::default(),
        kind: EventKind::Sale(Sale {
            settlement: None,
            person: None,
            units: None,
            pack_units: None,
            product: None,
            amount_fen: 1850,
            fund_paid,
            visit: None,
        }),
        upload: upload.map(|u| UploadId::parse(u).unwrap()),
    }
}

fn void(n: u64, who: &str, upload: &str) -> Event {
    Event {
        pack: code(n),
        at: Timestamp::from_millis(1_764_000_000_000 + 30 * 60_000),
        actor: InstitutionId::parse(who).unwrap(),
        lot: Lot::default(),
        kind: EventKind::Void(Void {
            upload: UploadId::parse(upload).unwrap(),
            voids: Vec::new(),
        }),
        upload: None,
    }
}

/// Submits `events` as a pharmacy's.
fn submit_as_pharmacy(ledger: &Ledger<MemStore>, events: Vec<Event>) {
    ledger
        .submit(&[Submission {
            events,
            by: Authority::Party(InstitutionKind::Pharmacy),
            settlement: false,
        }])
        .unwrap();
}

#[test]
fn voids_of_fund_paid_sales_are_found() {
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let submit = |events: Vec<Event>| submit_as_pharmacy(&ledger, events);
    submit(vec![
        sale(1, P1, Some("4/B1"), true, 0),
        sale(2, P1, Some("4/B1"), false, 1),
        sale(3, P1, Some("4/B2"), true, 2),
    ]);
    submit(vec![
        void(1, P1, "4/B1"),
        void(2, P1, "4/B1"),
        void(3, P1, "4/B2"),
    ]);
    // Pack 1 is sold again elsewhere after the void.
    submit(vec![sale(1, P2, None, true, 60)]);

    let dir = tempfile::tempdir().unwrap();
    let table = common::findings(
        "voided_sales",
        &common::warehouse(ledger.store(), dir.path()),
    );
    let mut found: Vec<(String, String, String)> = table
        .records()
        .map(|r| (r.text("code"), r.text("severity"), r.text("evidence")))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (code(1).to_string(), "high".into(), "0,1,2".into()),
            (code(3).to_string(), "medium".into(), "0,1".into()),
        ]
    );
    let detail: Vec<String> = table.records().map(|r| r.text("detail")).collect();
    assert!(
        detail
            .iter()
            .any(|d| d
                .contains("upload batch 4/B1 (the void covered 2 packs); the pack was sold again")),
        "{detail:?}"
    );
}

/// A movement: a sale uploaded without a trace code in batch `upload`.
fn codeless_sale(
    who: &str,
    upload: &str,
    line: u32,
    fund_paid: bool,
) -> drugtrace_ledger::Movement {
    drugtrace_ledger::Movement {
        institution: InstitutionId::parse(who).unwrap(),
        product: drugtrace_catalog::InsuranceCode::parse("XR05CBA198A001010100863").unwrap(),
        at: Timestamp::from_millis(1_764_000_000_000),
        kind: drugtrace_ledger::MovementKind::Sale,
        quantity_milli: 1000,
        split: false,
        amount_fen: 1000,
        fund_paid,
        settlement: None,
        upload: Some(UploadId::parse(upload).unwrap()),
        line,
        revision: 0,
    }
}

/// Voids of records uploaded without codes: `voided_codeless_sales` finds the fund-paid
/// sales among them, high when the voids of the batch covered 20 records or more, packs
/// included; `voided_sales` counts them beside the packs of a batch.
#[test]
fn voids_of_codeless_fund_paid_sales_are_found() {
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let submit = |events: Vec<Event>| submit_as_pharmacy(&ledger, events);
    // Batch 4/B1: one pack and 19 records without codes, all fund-paid. Batch 4/B2: one
    // fund-paid and one self-paid record without codes. Batch 4/B3: self-paid only.
    submit(vec![sale(1, P1, Some("4/B1"), true, 0)]);
    let mut moves: Vec<_> = (0..19)
        .map(|l| codeless_sale(P1, "4/B1", l, true))
        .collect();
    moves.push(codeless_sale(P1, "4/B2", 0, true));
    moves.push(codeless_sale(P1, "4/B2", 1, false));
    moves.push(codeless_sale(P1, "4/B3", 0, false));
    moves.push(codeless_sale(P2, "4/B2", 0, true));
    ledger.add_movements(&moves).unwrap();
    submit(vec![void(1, P1, "4/B1")]);
    let me = InstitutionId::parse(P1).unwrap();
    let at = drugtrace_ledger::MovementVoid {
        by: me.clone(),
        at: Timestamp::from_millis(1_764_000_000_000 + 30 * 60_000),
    };
    for batch in ["4/B1", "4/B2", "4/B3"] {
        ledger
            .void_movements(&me, &UploadId::parse(batch).unwrap(), &at)
            .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let warehouse = common::warehouse(ledger.store(), dir.path());
    let table = common::findings("voided_codeless_sales", &warehouse);
    let mut found: Vec<(String, String, i64, String)> = table
        .records()
        .map(|r| {
            (
                r.text("institution"),
                r.text("severity"),
                r.int("amount_fen"),
                r.text("detail"),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (
                P1.to_owned(),
                "high".into(),
                19_000,
                "19 fund-paid sales without trace codes voided with upload batch 4/B1 \
                 (its voids covered 20 records)"
                    .into()
            ),
            (
                P1.to_owned(),
                "medium".into(),
                1_000,
                "1 fund-paid sales without trace codes voided with upload batch 4/B2 \
                 (its voids covered 2 records)"
                    .into()
            ),
        ],
        "another institution's record under the same batch number is not voided"
    );
    let packs = common::findings("voided_sales", &warehouse);
    let rows: Vec<(String, String)> = packs
        .records()
        .map(|r| (r.text("severity"), r.text("detail")))
        .collect();
    assert_eq!(
        rows,
        vec![(
            "high".to_owned(),
            "fund-paid sale voided with upload batch 4/B1 (the void covered 1 packs and 19 \
             records without codes)"
                .to_owned()
        )]
    );
}
