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
