//! The model `case_box_diverted` on a hand-made ledger: a box sold by an institution that
//! never took in the box or its case, while the case arrived elsewhere, is found; boxes
//! sold where their case arrived, or taken in on their own, are not.

mod common;

use drugtrace_catalog::Catalog;
use drugtrace_code::{ChinaCode, PackKey};
use drugtrace_ledger::{
    Event, EventKind, InstitutionId, Intake, Ledger, Lot, MemStore, Policy, Sale, Timestamp,
};

const MAKER: &str = "M1";
const P1: &str = "P35010100001";
const P2: &str = "P35010100002";
const P3: &str = "P35010100003";

fn code(n: u64) -> PackKey {
    ChinaCode::from_value(81_000_010_000_000_000_000 + u128::from(n))
        .unwrap()
        .pack_key()
}

fn event(n: u64, who: &str, minute: i64, kind: EventKind) -> Event {
    Event {
        pack: code(n),
        at: Timestamp::from_millis(1_764_000_000_000 + minute * 60_000),
        actor: InstitutionId::parse(who).unwrap(),
        lot: Lot::default(),
        kind,
        upload: None,
    }
}

fn sale() -> EventKind {
    EventKind::Sale(Sale {
        settlement: None,
        person: None,
        units: None,
        pack_units: None,
        product: None,
        amount_fen: 1850,
        fund_paid: true,
        visit: None,
    })
}

fn intake() -> EventKind {
    EventKind::Intake(Intake {
        supplier: None,
        product: None,
    })
}

#[test]
fn a_box_sold_where_its_case_never_arrived_is_found() {
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    // Boxes 1–4 in case 100, which the maker ships to P1 and P1 takes in.
    let mut events: Vec<Event> = (1..=4)
        .map(|n| event(n, MAKER, 0, EventKind::Commission))
        .collect();
    events.push(event(
        100,
        MAKER,
        1,
        EventKind::Fill {
            boxes: (1..=4).map(code).collect(),
        },
    ));
    events.push(event(100, MAKER, 2, EventKind::Ship { to: None }));
    events.push(event(100, P1, 3, intake()));
    // P1 sells box 1 from the case it took in: no finding.
    events.push(event(1, P1, 4, sale()));
    // P2 sells box 2, which never reached it, box or case: the finding.
    events.push(event(2, P2, 5, sale()));
    // P3 took box 3 in on its own (from P1, say) before selling it: no finding.
    events.push(event(3, P3, 6, intake()));
    events.push(event(3, P3, 7, sale()));
    ledger.record_batch(&events).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let warehouse = common::warehouse(ledger.store(), dir.path());
    let table = common::findings("case_box_diverted", &warehouse);
    let found: Vec<(String, String, String, String)> = table
        .records()
        .map(|r| {
            (
                r.text("code"),
                r.text("institution"),
                r.text("related_institution"),
                r.text("severity"),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![(
            code(2).to_string(),
            P2.to_owned(),
            P1.to_owned(),
            "high".to_owned()
        )]
    );
}
