//! Records uploaded without trace codes are kept as stock movements and counted by the
//! warehouse: the `movements` table, and `stock_imbalance` beside the packs.

mod common;

use drugtrace_catalog::{Catalog, InsuranceCode};
use drugtrace_ledger::{
    InstitutionId, Ledger, MemStore, Movement, MovementKind, Policy, StockChange, Timestamp,
};

const P1: &str = "P35010100001";
const XA: &str = "XR05CBA198A001010100863";

fn movement(kind: MovementKind, packs: i64, minute: i64) -> Movement {
    Movement {
        institution: InstitutionId::parse(P1).unwrap(),
        product: InsuranceCode::parse(XA).unwrap(),
        at: Timestamp::from_millis(1_764_000_000_000 + minute * 60_000),
        kind,
        quantity_milli: packs * 1000,
        split: false,
        amount_fen: if kind == MovementKind::Sale {
            1000 * packs
        } else {
            0
        },
        fund_paid: kind == MovementKind::Sale,
        settlement: None,
        upload: None,
        line: 0,
        revision: 0,
    }
}

#[test]
fn codeless_records_count_in_stock() {
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let moves = vec![
        movement(MovementKind::Intake, 3, 0),
        movement(MovementKind::StockChange(StockChange::CountLoss), 1, 1),
        movement(MovementKind::Sale, 5, 2),
        movement(MovementKind::SaleReturn, 1, 3),
    ];
    assert_eq!(ledger.add_movements(&moves).unwrap(), 4);
    // Resent: kept once.
    assert_eq!(ledger.add_movements(&moves).unwrap(), 0);

    let dir = tempfile::tempdir().unwrap();
    let warehouse = common::warehouse(ledger.store(), dir.path());
    // Sold 5 - 1 returned = 4 packs; took in 3, sent out 1: 2 packs more sold than held.
    let t = common::findings("stock_imbalance", &warehouse);
    let rows: Vec<(String, String, i64)> = t
        .records()
        .map(|r| (r.text("institution"), r.text("detail"), r.int("amount_fen")))
        .collect();
    assert_eq!(
        rows,
        vec![(
            P1.to_owned(),
            "sold 4 packs, took in 3, sent out 1".to_owned(),
            2500
        )]
    );
}

/// A 3507 of a batch voids its records without codes: they stay in the `movements` table,
/// marked, and stop counting in stock. Uploaded again after the void, they count again.
#[test]
fn voided_codeless_records_stop_counting() {
    use drugtrace_ledger::{MovementVoid, UploadId};
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let batch = UploadId::parse("3/B1").unwrap();
    let mut intake = movement(MovementKind::Intake, 10, 0);
    intake.upload = Some(batch.clone());
    let sale = movement(MovementKind::Sale, 4, 5);
    ledger
        .add_movements(&[intake.clone(), sale.clone()])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let held = common::warehouse(ledger.store(), dir.path());
    assert_eq!(
        common::findings("stock_imbalance", &held).records().count(),
        0
    );

    let me = InstitutionId::parse(P1).unwrap();
    let void = MovementVoid {
        by: me.clone(),
        at: Timestamp::from_millis(1_764_000_600_000),
    };
    assert_eq!(ledger.void_movements(&me, &batch, &void).unwrap(), (1, 1));
    let dir = tempfile::tempdir().unwrap();
    let voided = common::warehouse(ledger.store(), dir.path());
    let rows: Vec<String> = common::findings("stock_imbalance", &voided)
        .records()
        .map(|r| r.text("detail"))
        .collect();
    assert_eq!(rows, vec!["sold 4 packs, took in 0, sent out 0".to_owned()]);

    // The batch uploaded again: the intake counts again.
    assert_eq!(ledger.add_movements(&[intake]).unwrap(), 1);
    let dir = tempfile::tempdir().unwrap();
    let again = common::warehouse(ledger.store(), dir.path());
    assert_eq!(
        common::findings("stock_imbalance", &again)
            .records()
            .count(),
        0
    );
}
