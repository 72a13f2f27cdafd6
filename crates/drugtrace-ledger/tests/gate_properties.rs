//! Property test of the gate as a state machine: whatever sequence of commissions, sales,
//! returns, recalls and destructions arrives, no pack ever has more units out than it holds,
//! nothing is paid for after a recall or destruction, every decided event is in the log, and
//! every stored state equals the fold of its log.

use drugtrace_catalog::Catalog;
use drugtrace_code::ChinaCode;
use drugtrace_ledger::{
    Event, EventKind, InstitutionId, Ledger, Lot, MemStore, Outcome, PackState, Policy, Reason,
    Sale, SaleReturn, SettlementId, Store, Timestamp,
};
use proptest::prelude::*;

const SPLIT_UNITS: u32 = 10;
const CATALOG: &str = "\
insurance_code,drug_id_prefix,gtin,generic_name,trade_name,specification,manufacturer,approval_number,units_per_pack
ZB02BAF0001010100003,8100003,,复方阿胶浆,,20ml×10支,示例阿胶,,10
";

#[derive(Debug, Clone)]
enum Op {
    Commission(u8),
    Sale {
        pack: u8,
        settlement: u8,
        units: Option<u32>,
    },
    Return {
        pack: u8,
        settlement: Option<u8>,
        units: Option<u32>,
    },
    Recall(u8),
    Destroy(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let pack = 0u8..4;
    prop_oneof![
        pack.clone().prop_map(Op::Commission),
        (pack.clone(), 0u8..12, proptest::option::of(0u32..12)).prop_map(
            |(pack, settlement, units)| Op::Sale {
                pack,
                settlement,
                units
            }
        ),
        (
            pack.clone(),
            proptest::option::of(0u8..12),
            proptest::option::of(0u32..12)
        )
            .prop_map(|(pack, settlement, units)| Op::Return {
                pack,
                settlement,
                units
            }),
        pack.clone().prop_map(Op::Recall),
        pack.prop_map(Op::Destroy),
    ]
}

fn key(pack: u8) -> drugtrace_code::PackKey {
    ChinaCode::from_value(81_000_030_000_000_000_000 + u128::from(pack))
        .unwrap()
        .pack_key()
}

fn event(op: &Op, step: usize) -> Event {
    let at = Timestamp::from_millis(1_740_000_000_000 + step as i64 * 60_000);
    let actor = InstitutionId::parse("H1").unwrap();
    let settlement = |s: u8| SettlementId::parse(&format!("S{s}")).unwrap();
    let (pack, kind) = match op {
        Op::Commission(p) => (*p, EventKind::Commission),
        Op::Sale {
            pack,
            settlement: s,
            units,
        } => (
            *pack,
            EventKind::Sale(Sale {
                settlement: Some(settlement(*s)),
                person: None,
                units: *units,
                pack_units: None,
                product: None,
                amount_fen: 100,
                fund_paid: true,
                visit: None,
            }),
        ),
        Op::Return {
            pack,
            settlement: s,
            units,
        } => (
            *pack,
            EventKind::SaleReturn(SaleReturn {
                settlement: s.map(settlement),
                units: *units,
            }),
        ),
        Op::Recall(p) => (*p, EventKind::Recall),
        Op::Destroy(p) => (*p, EventKind::Destroy),
    };
    Event {
        upload: None,
        pack: key(pack),
        at,
        actor,
        lot: Lot::default(),
        kind,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_gate_keeps_its_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let mut catalog = Catalog::default();
        catalog.import_csv(CATALOG.as_bytes(), "catalog").unwrap();
        let ledger = Ledger::new(MemStore::new(), catalog, Policy::default());
        let mut recorded = [0u32; 4];
        for (step, op) in ops.iter().enumerate() {
            let e = event(op, step);
            let before = ledger.pack(&e.pack).unwrap().unwrap_or_default();
            let d = ledger.record(e.clone()).unwrap();
            let after = ledger.pack(&e.pack).unwrap().unwrap_or_default();
            let p = match op {
                Op::Commission(p) | Op::Recall(p) | Op::Destroy(p) => *p,
                Op::Sale { pack, .. } | Op::Return { pack, .. } => *pack,
            } as usize;
            if !d.replayed {
                recorded[p] += 1;
            }
            prop_assert_eq!(after.events, recorded[p], "every decided event is in the log");
            let out: u32 = after.sales.iter().map(|s| s.units_out()).sum();
            prop_assert!(out <= SPLIT_UNITS, "{} units out of a {}-unit pack", out, SPLIT_UNITS);
            if let Op::Sale { .. } = op {
                if !d.replayed && d.allows_payment() {
                    prop_assert!(!before.recalled && !before.destroyed, "paid after recall or destruction");
                    prop_assert!(before.units_left().unwrap_or(SPLIT_UNITS) > 0, "paid for a sold-out pack");
                }
                if !d.replayed && d.outcome == Outcome::Rejected(Reason::AlreadySold) {
                    prop_assert_eq!(before.units_left(), Some(0));
                }
            }
        }
        ledger.store().scan_logs(&mut |k, log| {
            assert_eq!(ledger.pack(&k)?.unwrap(), PackState::fold(&log));
            Ok(())
        }).unwrap();
    }
}
