//! The suite every [`Store`] backend must pass, and generators of varied events for tests
//! and benchmarks. A backend's tests call [`check_store`] with a factory of empty stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use drugtrace_catalog::{Catalog, InsuranceCode};
use drugtrace_code::{ChinaCode, PackKey};

use crate::{
    Authority, Batch, CodeExtra, CommitError, Date, Event, EventKind, InstitutionId, Intake,
    Ledger, Lookup, Lot, MemStore, Movement, MovementId, MovementKind, MovementVoid, Outcome,
    PackState, PackWrite, PersonHash, Policy, Reason, RebuildMode, Recorded, Sale, SaleReturn,
    SettlementId, StockChange, Store, Submission, Timestamp, UploadId, VisitId, Void,
};

/// A small, fast, deterministic generator (xorshift64*), so that tests need no dependency
/// and every run sees the same "random" data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The key of the `n`-th test pack: a Chinese code under drug identification code 8100001.
pub fn pack(n: u64) -> PackKey {
    ChinaCode::from_value(81_000_010_000_000_000_000 + u128::from(n))
        .expect("test codes stay below 10^20")
        .pack_key()
}

/// An institution code for tests.
pub fn institution(n: u64) -> InstitutionId {
    InstitutionId::parse(&format!("H{n:011}")).expect("valid code")
}

/// A varied event for `key`: every kind, with every optional field sometimes set.
pub fn arbitrary_event(rng: &mut Rng, key: PackKey) -> Event {
    let at = Timestamp::from_millis(1_735_660_800_000 + rng.below(400 * 86_400_000) as i64);
    let maybe_inst = |rng: &mut Rng| (rng.below(2) == 0).then(|| institution(rng.below(1000)));
    let lot = Lot {
        batch: (rng.below(2) == 0)
            .then(|| Batch::parse(&format!("B{}", rng.below(100_000))).expect("valid batch")),
        expiry: (rng.below(2) == 0)
            .then(|| Date::from_days_since_epoch(20_000 + rng.below(3000) as i32))
            .flatten(),
        // One of the two, or both: never an empty one, which is stored as none.
        extra: match rng.below(6) {
            0 => Some((true, false)),
            1 => Some((false, true)),
            2 => Some((true, true)),
            _ => None,
        }
        .map(|(serial, signature)| {
            Box::new(CodeExtra {
                secondary_serial: serial.then(|| format!("S{}", rng.below(1_000_000))),
                signature: signature.then(|| format!("{:016X}", rng.next_u64())),
            })
        }),
    };
    let product = |rng: &mut Rng| {
        (rng.below(2) == 0).then(|| {
            InsuranceCode::parse(&format!("XA01BCD{:016}", rng.below(1_000_000)))
                .expect("valid insurance code")
        })
    };
    let other_pack = |rng: &mut Rng| pack(rng.below(1_000_000));
    let kind = match rng.below(14) {
        0 => EventKind::Commission,
        1 => EventKind::Ship {
            to: maybe_inst(rng),
        },
        2 => EventKind::Receive {
            from: maybe_inst(rng),
        },
        3 => EventKind::Intake(Intake {
            supplier: maybe_inst(rng),
            product: product(rng),
        }),
        4 => EventKind::StockChange(
            StockChange::from_code(101 + rng.below(11) as u16).expect("101..=111"),
        ),
        5 => EventKind::Sale(Sale {
            settlement: (rng.below(4) > 0)
                .then(|| SettlementId::parse(&format!("S{}", rng.next_u64())).expect("valid")),
            person: (rng.below(3) > 0).then(|| {
                let mut b = [0u8; PersonHash::LEN];
                b.iter_mut().for_each(|x| *x = rng.below(256) as u8);
                PersonHash::from_bytes(b)
            }),
            units: (rng.below(2) == 0).then(|| 1 + rng.below(10) as u32),
            pack_units: (rng.below(2) == 0).then(|| 1 + rng.below(10) as u32),
            product: product(rng),
            amount_fen: rng.below(10_000_000) as i64 - 100,
            fund_paid: rng.below(2) == 0,
            visit: (rng.below(3) == 0)
                .then(|| VisitId::parse(&format!("V{}", rng.below(1000))).expect("valid")),
        }),
        6 => EventKind::SaleReturn(SaleReturn {
            settlement: (rng.below(2) == 0)
                .then(|| SettlementId::parse(&format!("S{}", rng.next_u64())).expect("valid")),
            units: (rng.below(2) == 0).then(|| rng.below(10) as u32),
        }),
        7 => EventKind::Destroy,
        8 => {
            let upload = UploadId::parse(&format!("U{}", rng.below(5))).expect("valid");
            let n = rng.below(3);
            let voids = (0..n).map(|_| rng.below(8) as u32).collect();
            EventKind::Void(Void { upload, voids })
        }
        10 => EventKind::PackInto {
            case: other_pack(rng),
        },
        11 => EventKind::Fill {
            boxes: (0..rng.below(4)).map(|_| other_pack(rng)).collect(),
        },
        12 => EventKind::Unpack,
        13 => EventKind::Open,
        _ => EventKind::Recall,
    };
    Event {
        pack: key,
        at,
        actor: institution(rng.below(1000)),
        lot,
        kind,
        upload: (rng.below(3) == 0)
            .then(|| UploadId::parse(&format!("U{}", rng.below(5))).expect("valid")),
    }
}

/// A varied recorded event at position `index` of its pack's log.
pub fn arbitrary_recorded(rng: &mut Rng, key: PackKey, index: u32) -> Recorded {
    let reason = Reason::ALL[rng.below(Reason::ALL.len() as u64) as usize];
    let outcome = match rng.below(3) {
        0 => Outcome::Accepted,
        1 => Outcome::Flagged(reason),
        _ => Outcome::Rejected(reason),
    };
    Recorded {
        index,
        recorded_at: Timestamp::from_millis(1_735_660_800_000 + rng.below(1 << 40) as i64),
        event: arbitrary_event(rng, key),
        outcome,
    }
}

/// A write appending `n` varied events to a pack that has `expected` events in `log`.
fn append(rng: &mut Rng, key: PackKey, log: &[Recorded], n: u32) -> PackWrite {
    let expected = log.len() as u32;
    let events: Vec<Recorded> = (0..n)
        .map(|i| arbitrary_recorded(rng, key, expected + i))
        .collect();
    let state = PackState::fold(log.iter().chain(&events));
    PackWrite {
        key,
        expected,
        events,
        state,
    }
}

/// Runs the whole suite against stores made by `make` (each call: a new, empty store).
pub fn check_store<S: Store + 'static>(make: &dyn Fn() -> S) {
    empty_store_reads_nothing(make());
    commit_reads_back(make());
    conflicts_write_nothing(make());
    bulk_commits_read_back(make());
    commits_keep_each_index_entry_once(make(), 3);
    commits_keep_each_index_entry_once(make(), 400);
    histories_read_as_each_history(make());
    scans_visit_everything_in_key_order(make());
    put_states_leaves_logs(make());
    racing_writers_one_wins(make());
    matches_the_model(make());
    ledger_double_sale_race(make());
    lookups_find_committed_records(make());
    changed_packs_are_found_by_minute(make());
    old_change_marks_are_forgotten(make());
    ledger_voids_keep_the_evidence(make());
    movements_are_kept_once(make());
    movement_voids_keep_the_records(make());
}

/// Movements without trace codes: each kept once however often it is added, all read back
/// in id order.
fn movements_are_kept_once<S: Store>(s: S) {
    let mut rng = Rng::new(8);
    let movements: Vec<Movement> = (0..30)
        .map(|i| Movement {
            institution: institution(rng.below(3)),
            product: InsuranceCode::parse(&format!("XA01BCD{:016}", rng.below(4)))
                .expect("valid insurance code"),
            at: Timestamp::from_millis(1_750_000_000_000 + i * 1000),
            kind: match rng.below(4) {
                0 => MovementKind::Intake,
                1 => MovementKind::Sale,
                2 => MovementKind::SaleReturn,
                _ => MovementKind::StockChange(
                    StockChange::from_code(101 + rng.below(11) as u16).expect("101..=111"),
                ),
            },
            quantity_milli: rng.below(100_000) as i64,
            split: rng.below(2) == 0,
            amount_fen: rng.below(10_000) as i64,
            fund_paid: rng.below(2) == 0,
            settlement: (rng.below(2) == 0)
                .then(|| SettlementId::parse(&format!("S{}", rng.below(5))).expect("valid")),
            upload: (rng.below(2) == 0)
                .then(|| UploadId::parse(&format!("4/B{}", rng.below(5))).expect("valid")),
            line: rng.below(3) as u32,
            revision: 0,
        })
        .collect();
    assert_eq!(s.add_movements(&movements[..20]).unwrap(), 20);
    assert_eq!(
        s.add_movements(&movements[10..]).unwrap(),
        10,
        "resent ones kept once"
    );
    assert_eq!(s.add_movements(&movements).unwrap(), 0);
    let mut read = Vec::new();
    s.scan_movements(&mut |m| {
        read.push(m);
        Ok(())
    })
    .unwrap();
    let mut want = movements.clone();
    want.sort_by_key(Movement::id);
    assert_eq!(read, want);
}

/// An intake of 5 packs reported without codes by `who` in batch `upload`, record `line` of
/// its call: the movement the stores' tests keep, void and index.
pub fn movement(who: &InstitutionId, upload: &UploadId, line: u32) -> Movement {
    Movement {
        institution: who.clone(),
        product: InsuranceCode::parse("XJ01CAA040A001010100001").expect("valid insurance code"),
        at: Timestamp::from_millis(1_750_000_000_000),
        kind: MovementKind::Intake,
        quantity_milli: 5_000,
        split: false,
        amount_fen: 0,
        fund_paid: false,
        settlement: None,
        upload: Some(upload.clone()),
        line,
        revision: 0,
    }
}

/// A void of a batch's movements marks each, once, and removes nothing; a record sent again
/// after its void is kept anew as its next revision, a resend before it is not.
fn movement_voids_keep_the_records<S: Store>(s: S) {
    let ledger = Ledger::new(s, Catalog::default(), Policy::default());
    let me = institution(1);
    let other = institution(2);
    let batch = UploadId::parse("3/B1").unwrap();
    let later = UploadId::parse("3/B2").unwrap();
    let record = movement;
    let mine: Vec<Movement> = (0..7).map(|l| record(&me, &batch, l)).collect();
    let rest = vec![record(&other, &batch, 0), record(&me, &later, 0)];
    assert_eq!(ledger.add_movements(&mine).unwrap(), 7);
    assert_eq!(ledger.add_movements(&rest).unwrap(), 2);
    let store = ledger.store();
    let mut ids: Vec<MovementId> = mine.iter().map(Movement::id).collect();
    ids.sort();
    let mut paged = store.movements_of_upload(&me, &batch, None, 3).unwrap();
    assert_eq!(paged, ids[..3]);
    paged.extend(
        store
            .movements_of_upload(&me, &batch, paged.last(), 10)
            .unwrap(),
    );
    assert_eq!(
        paged, ids,
        "every movement of the batch, in id order, page after page"
    );

    let void = MovementVoid {
        by: me.clone(),
        at: Timestamp::from_millis(1_750_000_500_000),
    };
    assert_eq!(ledger.void_movements(&me, &batch, &void).unwrap(), (7, 7));
    assert_eq!(
        ledger.void_movements(&me, &batch, &void).unwrap(),
        (7, 0),
        "a void sent again voids nothing more"
    );
    let marked = store.movement_voids(&ids).unwrap();
    assert!(marked.iter().all(|v| v.as_ref() == Some(&void)));
    let untouched: Vec<MovementId> = rest.iter().map(Movement::id).collect();
    assert_eq!(
        store.movement_voids(&untouched).unwrap(),
        vec![None, None],
        "another institution's records and another batch are not voided"
    );
    let mut voids = Vec::new();
    store
        .scan_movement_voids(&mut |id, v| {
            voids.push((id, v));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        voids,
        ids.iter().map(|id| (*id, void.clone())).collect::<Vec<_>>()
    );

    // The batch uploaded again, the same rows: kept anew, once, and voidable again.
    assert_eq!(
        ledger.add_movements(&mine).unwrap(),
        7,
        "re-uploaded after the void"
    );
    assert_eq!(
        ledger.add_movements(&mine).unwrap(),
        0,
        "and resent: kept once"
    );
    assert_eq!(ledger.void_movements(&me, &batch, &void).unwrap(), (14, 7));
    assert_eq!(ledger.add_movements(&mine[..1]).unwrap(), 1);
    let mut all = Vec::new();
    store
        .scan_movements(&mut |m| {
            all.push(m);
            Ok(())
        })
        .unwrap();
    assert_eq!(all.len(), 7 * 2 + 1 + 2, "nothing voided is removed");
    let third: Vec<&Movement> = all.iter().filter(|m| m.revision == 2).collect();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].line, 0);
}

/// Every lookup of every committed event finds its pack, in key order, and only its.
fn lookups_find_committed_records<S: Store>(s: S) {
    let model = MemStore::new();
    let mut rng = Rng::new(6);
    for n in 0..40 {
        let key = pack(n % 13);
        let log = model.history(&key).unwrap();
        let n_events = 1 + rng.below(3) as u32;
        let w = append(&mut rng, key, &log, n_events);
        model.commit(vec![w.clone()]).unwrap();
        s.commit(vec![w]).unwrap();
    }
    let mut seen = 0;
    for n in 0..13 {
        for r in model.history(&pack(n)).unwrap() {
            for l in Lookup::of(&pack(n), &r) {
                let found = s.packs_by(&l, 100).unwrap();
                assert!(found.contains(&pack(n)), "{l} should find pack {n}");
                assert_eq!(found, model.packs_by(&l, 100).unwrap(), "{l}");
                assert!(found.windows(2).all(|w| w[0] < w[1]), "{l}: key order");
                assert!(s.packs_by(&l, 1).unwrap().len() <= 1);
                seen += 1;
            }
        }
    }
    assert!(seen > 10, "the generator makes lookups");
    let nobody = Lookup::Upload(institution(5000), UploadId::parse("none").unwrap());
    assert!(s.packs_by(&nobody, 10).unwrap().is_empty());
    s.put_lookups(&[(nobody.clone(), pack(99))]).unwrap();
    assert_eq!(s.packs_by(&nobody, 10).unwrap(), vec![pack(99)]);
}

/// The change feed: each commit marks its packs in the minutes their records were recorded,
/// and [`crate::changed_packs`] reads a range of minutes back, or says the range holds more
/// than its cap.
fn changed_packs_are_found_by_minute<S: Store>(s: S) {
    let mut rng = Rng::new(31);
    let first = 29_000_000i64;
    let mut expected = std::collections::BTreeSet::new();
    for n in 0..40 {
        let key = pack(n);
        let log = s.history(&key).unwrap();
        let n_events = 1 + rng.below(2) as u32;
        let mut w = append(&mut rng, key, &log, n_events);
        for r in &mut w.events {
            let minute = first + rng.below(6) as i64;
            r.recorded_at = Timestamp::from_millis(minute * 60_000 + rng.below(60_000) as i64);
            if minute <= first + 2 {
                expected.insert(key);
            }
        }
        s.commit(vec![w]).unwrap();
    }
    assert!(!expected.is_empty() && expected.len() < 40);
    let found = crate::changed_packs(&s, first..=first + 2, 40).unwrap();
    assert_eq!(found.as_ref(), Some(&expected));
    let all = crate::changed_packs(&s, first - 10..=first + 10, 40).unwrap();
    assert_eq!(all.map(|a| a.len()), Some(40));
    assert_eq!(
        crate::changed_packs(&s, first..=first + 2, expected.len() - 1).unwrap(),
        None,
        "more packs than the cap"
    );
    assert_eq!(
        crate::changed_packs(&s, first + 100..=first + 200, 1).unwrap(),
        Some(Default::default())
    );
}

/// The sweep: the marks of the minutes more than [`crate::CHANGES_KEPT_MINUTES`] old are
/// forgotten, oldest first and a minute at a time; later marks and every other index entry
/// stay; a pass past its deadline still forgets a minute, and says it is behind.
fn old_change_marks_are_forgotten<S: Store>(s: S) {
    use std::time::{Duration, Instant};
    let mut rng = Rng::new(47);
    let first = 29_000_000i64;
    let mut marks =
        std::collections::BTreeMap::<i64, std::collections::BTreeSet<(Lookup, PackKey)>>::new();
    let mut others = std::collections::BTreeSet::new();
    for n in 0..60 {
        let key = pack(n);
        let log = s.history(&key).unwrap();
        let n_events = 1 + rng.below(3) as u32;
        let mut w = append(&mut rng, key, &log, n_events);
        for r in &mut w.events {
            let minute = first + rng.below(8) as i64 * 3;
            r.recorded_at = Timestamp::from_millis(minute * 60_000 + rng.below(60_000) as i64);
            for l in Lookup::of(&key, r) {
                match &l {
                    Lookup::Changed(m) => marks.entry(m.minute).or_default().insert((l, key)),
                    _ => others.insert((l, key)),
                };
            }
        }
        s.commit(vec![w]).unwrap();
    }
    let minutes: Vec<i64> = marks.keys().copied().collect();
    assert!(minutes.len() >= 5, "{minutes:?}");
    assert_eq!(s.first_changed_minute(i64::MIN).unwrap(), Some(minutes[0]));
    assert_eq!(
        s.first_changed_minute(minutes[1] - 1).unwrap(),
        Some(minutes[1]),
        "the next minute with marks, past one without"
    );
    assert_eq!(
        s.first_changed_minute(minutes[minutes.len() - 1] + 1)
            .unwrap(),
        None
    );
    assert_eq!(
        s.forget_changes(minutes[0] - 1).unwrap(),
        0,
        "no marks there"
    );

    // The clock stands where the fourth minute is the oldest kept.
    let now = Timestamp::from_millis((minutes[3] + crate::CHANGES_KEPT_MINUTES) * 60_000 + 5);
    let mut sweeper = crate::ChangeSweeper::new();
    let passed = Instant::now() - Duration::from_millis(1);
    let one = sweeper.sweep(&s, now, passed).unwrap();
    assert_eq!((one.minutes, one.behind), (1, true), "{one:?}");
    assert_eq!(one.entries, marks[&minutes[0]].len() as u64);
    let rest = sweeper
        .sweep(&s, now, Instant::now() + Duration::from_secs(60))
        .unwrap();
    assert_eq!((rest.minutes, rest.behind), (2, false), "{rest:?}");
    assert_eq!(
        rest.entries,
        (marks[&minutes[1]].len() + marks[&minutes[2]].len()) as u64
    );
    let again = crate::ChangeSweeper::new()
        .sweep(&s, now, Instant::now() + Duration::from_secs(60))
        .unwrap();
    assert_eq!(again, crate::Swept::default(), "nothing left to forget");

    let kept_from = |s: &S, kept_from: i64| {
        assert_eq!(s.first_changed_minute(i64::MIN).unwrap(), Some(kept_from));
        for (minute, entries) in &marks {
            for (l, key) in entries {
                let found = s.packs_by(l, 1000).unwrap().contains(key);
                assert_eq!(found, *minute >= kept_from, "{l} {key}");
            }
        }
        for (l, key) in &others {
            assert!(s.packs_by(l, 1000).unwrap().contains(key), "{l} {key} kept");
        }
        for n in 0..60 {
            assert!(!s.history(&pack(n)).unwrap().is_empty(), "logs untouched");
        }
    };
    kept_from(&s, minutes[3]);
    // One minute forgotten by name: that minute's marks, no other's.
    assert_eq!(
        s.forget_changes(minutes[4]).unwrap(),
        marks[&minutes[4]].len() as u64
    );
    assert_eq!(
        s.first_changed_minute(minutes[3] + 1).unwrap(),
        minutes.get(5).copied()
    );
    // A rebuild writes the index again, but not the marks nobody reads any more.
    let ledger = Ledger::new(s, Catalog::default(), Policy::default()).with_clock(move || now);
    ledger.rebuild(RebuildMode::Write).unwrap();
    kept_from(ledger.store(), minutes[3]);
}

/// A void takes an upload's records out of the state and keeps them in the log; a resent
/// void changes nothing; nobody voids another party's records; rebuild agrees.
fn ledger_voids_keep_the_evidence<S: Store>(s: S) {
    let ledger = Ledger::new(s, Catalog::default(), Policy::default());
    let upload = UploadId::parse("B001").unwrap();
    let me = institution(1);
    let sale = |n: u64, who: &InstitutionId, upload: Option<&UploadId>| Event {
        pack: pack(n),
        at: Timestamp::from_millis(1_750_000_000_000 + n as i64),
        actor: who.clone(),
        lot: Lot::default(),
        kind: EventKind::Sale(Sale {
            settlement: None,
            person: None,
            units: None,
            pack_units: None,
            product: None,
            amount_fen: 100,
            fund_paid: true,
            visit: None,
        }),
        upload: upload.cloned(),
    };
    let void = |who: &InstitutionId| Event {
        pack: pack(1),
        at: Timestamp::from_millis(1_750_000_100_000),
        actor: who.clone(),
        lot: Lot::default(),
        kind: EventKind::Void(Void {
            upload: upload.clone(),
            voids: Vec::new(),
        }),
        upload: None,
    };
    let by = Authority::Party(drugtrace_catalog::InstitutionKind::Pharmacy);
    let submit = |events: Vec<Event>| {
        ledger
            .submit(&[Submission {
                events,
                by,
                settlement: false,
            }])
            .unwrap()
            .remove(0)
    };
    assert!(submit(vec![sale(1, &me, Some(&upload))])[0].allows_payment());
    assert_eq!(
        ledger
            .packs_by(&Lookup::Upload(me.clone(), upload.clone()), 10)
            .unwrap(),
        vec![pack(1)]
    );
    // Another party cannot void it.
    let other = institution(2);
    assert_eq!(
        submit(vec![void(&other)])[0].outcome,
        Outcome::Rejected(Reason::NothingToVoid)
    );
    let d = submit(vec![void(&me)]);
    assert_eq!(d[0].outcome, Outcome::Accepted);
    let state = ledger.pack(&pack(1)).unwrap().unwrap();
    assert!(state.sales.is_empty(), "the voided sale no longer counts");
    assert_eq!(state.events, 3);
    // Resent: answered as before, nothing new.
    let again = submit(vec![void(&me)]);
    assert!(again[0].replayed);
    assert_eq!(again[0].index, d[0].index);
    // The pack can be sold again (the correction), and the void stays in the log.
    assert!(submit(vec![sale(1, &me, None)])[0].allows_payment());
    let log = ledger.history(&pack(1)).unwrap();
    assert_eq!(log.len(), 4);
    assert!(matches!(&log[2].event.kind, EventKind::Void(v) if v.voids == vec![0]));
    let report = ledger.rebuild(RebuildMode::Check).unwrap();
    assert_eq!(report.mismatched_count, 0, "{report:?}");
}

fn empty_store_reads_nothing<S: Store>(s: S) {
    assert_eq!(s.pack(&pack(1)).unwrap(), None);
    assert!(s.history(&pack(1)).unwrap().is_empty());
    s.scan_logs(&mut |_, _| panic!("an empty store has no log"))
        .unwrap();
}

fn commit_reads_back<S: Store>(s: S) {
    let mut rng = Rng::new(1);
    let w = append(&mut rng, pack(7), &[], 3);
    s.commit(vec![w.clone()]).unwrap();
    assert_eq!(s.pack(&pack(7)).unwrap(), Some(w.state.clone()));
    assert_eq!(
        s.packs(&[pack(8), pack(7), pack(7)]).unwrap(),
        vec![None, Some(w.state.clone()), Some(w.state.clone())],
        "several states at once, in the order asked"
    );
    assert_eq!(s.history(&pack(7)).unwrap(), w.events);
    let w2 = append(&mut rng, pack(7), &w.events, 2);
    s.commit(vec![w2.clone()]).unwrap();
    let all: Vec<Recorded> = w.events.iter().chain(&w2.events).cloned().collect();
    assert_eq!(s.history(&pack(7)).unwrap(), all);
    assert_eq!(s.pack(&pack(7)).unwrap(), Some(w2.state));
}

fn conflicts_write_nothing<S: Store>(s: S) {
    let mut rng = Rng::new(2);
    let first = append(&mut rng, pack(1), &[], 1);
    s.commit(vec![first.clone()]).unwrap();
    // A write to a new pack together with a stale write to pack 1: neither may land.
    let fresh = append(&mut rng, pack(2), &[], 1);
    let stale = append(&mut rng, pack(1), &[], 1);
    match s.commit(vec![fresh, stale]) {
        Err(CommitError::Conflict(keys)) => assert_eq!(keys, vec![pack(1)]),
        other => panic!("expected a conflict on pack 1, got {other:?}"),
    }
    assert_eq!(s.pack(&pack(2)).unwrap(), None);
    assert_eq!(s.history(&pack(1)).unwrap(), first.events);
    // A known pack that moved on since it was read, among packs that did not: only it is
    // named, and nothing is written.
    let third = append(&mut rng, pack(3), &[], 1);
    s.commit(vec![third.clone()]).unwrap();
    let moved_on = append(&mut rng, pack(1), &first.events, 2);
    s.commit(vec![moved_on.clone()]).unwrap();
    let stale = append(&mut rng, pack(1), &first.events, 1);
    let on_time = append(&mut rng, pack(3), &third.events, 1);
    let fresh = append(&mut rng, pack(4), &[], 1);
    match s.commit(vec![on_time, stale, fresh]) {
        Err(CommitError::Conflict(keys)) => assert_eq!(keys, vec![pack(1)]),
        other => panic!("expected a conflict on pack 1, got {other:?}"),
    }
    assert_eq!(s.history(&pack(3)).unwrap(), third.events);
    assert_eq!(s.pack(&pack(4)).unwrap(), None);
    assert_eq!(s.pack(&pack(1)).unwrap(), Some(moved_on.state));
}

/// A commit the size of an import's batch (a store may write those another way): every
/// event and state read back, and a stale pack among a bulk commit's still writes nothing.
fn bulk_commits_read_back<S: Store>(s: S) {
    let mut rng = Rng::new(12);
    let writes: Vec<PackWrite> = (0..600)
        .map(|n| append(&mut rng, pack(n), &[], 2 + (n % 3) as u32))
        .collect();
    s.commit(writes.clone()).unwrap();
    for w in &writes {
        assert_eq!(s.history(&w.key).unwrap(), w.events);
        assert_eq!(s.pack(&w.key).unwrap(), Some(w.state.clone()));
    }
    let mut next: Vec<PackWrite> = writes[..500]
        .iter()
        .map(|w| append(&mut rng, w.key, &w.events, 3))
        .collect();
    next.push(append(&mut rng, pack(599), &[], 3));
    match s.commit(next) {
        Err(CommitError::Conflict(keys)) => assert_eq!(keys, vec![pack(599)]),
        other => panic!("expected a conflict on pack 599, got {other:?}"),
    }
    for w in &writes {
        assert_eq!(
            s.history(&w.key).unwrap(),
            w.events,
            "nothing of it written"
        );
    }
}

/// Two commits of `packs` packs (a few: a gate's group; hundreds: a bulk load), the second
/// repeating the first's records at the next indices: their index entries (the minute's
/// change mark, the upload batch, the settlement, the buyer) are the same, stored already,
/// and each still finds its pack once.
fn commits_keep_each_index_entry_once<S: Store>(s: S, packs: u64) {
    let mut rng = Rng::new(13);
    let first: Vec<PackWrite> = (0..packs)
        .map(|n| append(&mut rng, pack(n), &[], 3))
        .collect();
    s.commit(first.clone()).unwrap();
    let again: Vec<PackWrite> = first
        .iter()
        .map(|w| {
            let events: Vec<Recorded> = w
                .events
                .iter()
                .map(|r| Recorded {
                    index: r.index + 3,
                    ..r.clone()
                })
                .collect();
            let state = PackState::fold(w.events.iter().chain(&events));
            PackWrite {
                key: w.key,
                expected: 3,
                events,
                state,
            }
        })
        .collect();
    s.commit(again).unwrap();
    let mut entries = 0;
    for w in &first {
        assert_eq!(s.history(&w.key).unwrap().len(), 6);
        for l in w.events.iter().flat_map(|r| Lookup::of(&w.key, r)) {
            let found = s.packs_by(&l, 1_000).unwrap();
            assert_eq!(found.iter().filter(|k| **k == w.key).count(), 1, "{l}");
            entries += 1;
        }
    }
    assert!(entries >= 3 * packs, "every record has index entries");
}

/// The logs of several packs at once, in the order asked, a pack asked twice or never seen
/// included, are each pack's history.
fn histories_read_as_each_history<S: Store>(s: S) {
    let mut rng = Rng::new(17);
    let writes: Vec<PackWrite> = (0..50)
        .map(|n| append(&mut rng, pack(n), &[], 1 + (n % 4) as u32))
        .collect();
    s.commit(writes.clone()).unwrap();
    let mut asked: Vec<PackKey> = writes.iter().rev().map(|w| w.key).collect();
    asked.insert(7, pack(1_000));
    asked.push(writes[3].key);
    let logs = s.histories(&asked).unwrap();
    assert_eq!(logs.len(), asked.len());
    for (key, log) in asked.iter().zip(&logs) {
        assert_eq!(log, &s.history(key).unwrap(), "{key}");
    }
    assert!(logs[7].is_empty(), "a pack never seen has no log");
    assert_eq!(logs.last().unwrap(), &writes[3].events);
    assert!(s.histories(&[]).unwrap().is_empty());
}

fn scans_visit_everything_in_key_order<S: Store>(s: S) {
    let mut rng = Rng::new(3);
    let mut expected = Vec::new();
    for n in [9u64, 3, 5, 1_000_000, 0] {
        let n_events = 1 + rng.below(4) as u32;
        let w = append(&mut rng, pack(n), &[], n_events);
        s.commit(vec![w.clone()]).unwrap();
        expected.push((pack(n), w.events, w.state));
    }
    expected.sort_by_key(|(k, _, _)| *k);
    let mut logs = Vec::new();
    s.scan_logs(&mut |k, log| {
        logs.push((k, log));
        Ok(())
    })
    .unwrap();
    let mut states = Vec::new();
    s.scan_states(&mut |k, st| {
        states.push((k, st));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        logs,
        expected
            .iter()
            .map(|(k, l, _)| (*k, l.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        states,
        expected
            .iter()
            .map(|(k, _, s)| (*k, s.clone()))
            .collect::<Vec<_>>()
    );
}

fn put_states_leaves_logs<S: Store>(s: S) {
    let mut rng = Rng::new(4);
    let w = append(&mut rng, pack(4), &[], 2);
    s.commit(vec![w.clone()]).unwrap();
    let other = PackState {
        events: 2,
        recalled: true,
        ..PackState::default()
    };
    s.put_states(&[(pack(4), other.clone())]).unwrap();
    assert_eq!(s.pack(&pack(4)).unwrap(), Some(other));
    assert_eq!(s.history(&pack(4)).unwrap(), w.events);
}

fn racing_writers_one_wins<S: Store + 'static>(s: S) {
    const PACKS: u64 = 200;
    const THREADS: u64 = 8;
    let s = Arc::new(s);
    let wins = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let s = Arc::clone(&s);
            let wins = Arc::clone(&wins);
            std::thread::spawn(move || {
                let mut rng = Rng::new(100 + t);
                for n in 0..PACKS {
                    let w = append(&mut rng, pack(n), &[], 1);
                    match s.commit(vec![w]) {
                        Ok(()) => {
                            wins.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(CommitError::Conflict(_)) => {}
                        Err(e) => panic!("store failed: {e}"),
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(u64::from(wins.load(Ordering::Relaxed)), PACKS);
    for n in 0..PACKS {
        assert_eq!(s.history(&pack(n)).unwrap().len(), 1, "pack {n}");
    }
}

/// Random commits, some stale, against the store and the in-memory model side by side.
fn matches_the_model<S: Store>(s: S) {
    let model = MemStore::new();
    let mut rng = Rng::new(5);
    for _ in 0..300 {
        let writes: Vec<PackWrite> = (0..1 + rng.below(4))
            .map(|_| {
                let key = pack(rng.below(20));
                let mut log = model.history(&key).unwrap();
                if rng.below(5) == 0 && !log.is_empty() {
                    log.pop(); // a writer that read before the latest commit
                }
                let n_events = 1 + rng.below(3) as u32;
                append(&mut rng, key, &log, n_events)
            })
            .collect();
        // Two writes to one pack in one commit are not a thing the ledger does.
        let mut keys: Vec<_> = writes.iter().map(|w| w.key).collect();
        keys.sort();
        keys.dedup();
        if keys.len() != writes.len() {
            continue;
        }
        let a = model.commit(writes.clone()).map_err(|e| e.to_string());
        let b = s.commit(writes).map_err(|e| e.to_string());
        assert_eq!(a.is_ok(), b.is_ok(), "model said {a:?}, store said {b:?}");
    }
    for n in 0..20 {
        assert_eq!(
            s.history(&pack(n)).unwrap(),
            model.history(&pack(n)).unwrap()
        );
        assert_eq!(s.pack(&pack(n)).unwrap(), model.pack(&pack(n)).unwrap());
    }
}

/// Many threads sell the same packs through the ledger: exactly one sale per pack is
/// allowed, and every blocked attempt is in the log.
fn ledger_double_sale_race<S: Store + 'static>(s: S) {
    const PACKS: u64 = 300;
    const THREADS: u64 = 6;
    let ledger = Arc::new(Ledger::new(s, Catalog::default(), Policy::default()));
    let allowed = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let ledger = Arc::clone(&ledger);
            let allowed = Arc::clone(&allowed);
            std::thread::spawn(move || {
                for n in 0..PACKS {
                    let n = (n + t * 37) % PACKS; // threads meet on packs in different orders
                    let event = Event {
                        upload: None,
                        pack: pack(n),
                        at: Timestamp::from_millis(1_750_000_000_000),
                        actor: institution(t),
                        lot: Lot::default(),
                        kind: EventKind::Sale(Sale {
                            settlement: Some(SettlementId::parse(&format!("T{t}P{n}")).unwrap()),
                            person: None,
                            units: None,
                            pack_units: None,
                            product: None,
                            amount_fen: 1000,
                            fund_paid: true,
                            visit: None,
                        }),
                    };
                    let d = ledger.record(event).expect("recorded");
                    if d.allows_payment() {
                        allowed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert_eq!(d.outcome, Outcome::Rejected(Reason::AlreadySold));
                        assert_eq!(d.prior_sales.len(), 1);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(u64::from(allowed.load(Ordering::Relaxed)), PACKS);
    for n in 0..PACKS {
        let log = ledger.history(&pack(n)).unwrap();
        assert_eq!(log.len() as u64, THREADS);
        assert_eq!(log.iter().filter(|r| r.outcome.is_applied()).count(), 1);
    }
}
