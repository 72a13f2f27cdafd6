//! Deterministic benchmark events.
//!
//! Import follows packs through the chain in waves, the way uploads arrive in time order:
//! each batch holds the commissions of one group of packs, the shipments of the group
//! before, the receipts of the one before that, then intakes, then sales. So most events
//! find their pack's state a few batches back, as in a real day's uploads.

use drugtrace_ledger::testkit::{institution, pack};
use drugtrace_ledger::{
    Batch, Date, Event, EventKind, Intake, Lot, PersonHash, Sale, SettlementId, Timestamp,
};

const STAGES: u64 = 5;
const T0: i64 = 1_740_000_000_000;

/// The event of stage `stage` for pack `n`.
fn stage_event(n: u64, stage: u64) -> Event {
    let key = pack(n);
    let at = Timestamp::from_millis(T0 + (n as i64) * 10 + (stage as i64) * 86_400_000);
    let (actor, kind) = match stage {
        0 => (institution(n % 50), EventKind::Commission),
        1 => (
            institution(n % 50),
            EventKind::Ship {
                to: Some(institution(100 + n % 200)),
            },
        ),
        2 => (
            institution(100 + n % 200),
            EventKind::Receive {
                from: Some(institution(n % 50)),
            },
        ),
        3 => (
            institution(1000 + n % 5000),
            EventKind::Intake(Intake {
                supplier: Some(institution(100 + n % 200)),
                product: None,
            }),
        ),
        _ => return sale(key, n, n),
    };
    let lot = if stage == 0 {
        Lot {
            batch: Batch::parse(&format!("B{}", n / 10_000)).ok(),
            expiry: Date::from_ymd(2028, 12, 31),
            ..Lot::default()
        }
    } else {
        Lot::default()
    };
    Event {
        upload: None,
        pack: key,
        at,
        actor,
        lot,
        kind,
    }
}

/// A whole-pack, fund-paid sale of pack `key` with settlement number `settlement`.
pub fn sale(key: drugtrace_code::PackKey, n: u64, settlement: u64) -> Event {
    let mut person = [0u8; PersonHash::LEN];
    person[..8].copy_from_slice(&(n % 3_000_000).to_le_bytes());
    Event {
        upload: None,
        pack: key,
        at: Timestamp::from_millis(T0 + (n as i64) * 10 + 4 * 86_400_000),
        actor: institution(1000 + n % 5000),
        lot: Lot::default(),
        kind: EventKind::Sale(Sale {
            settlement: Some(SettlementId::parse(&format!("S{settlement}")).expect("valid")),
            person: Some(PersonHash::from_bytes(person)),
            units: None,
            pack_units: None,
            product: None,
            amount_fen: 1850,
            fund_paid: true,
            visit: None,
        }),
    }
}

/// Batches of import events for `packs` packs, about `batch` events each.
pub struct Waves {
    packs: u64,
    group: u64,
    wave: u64,
}

impl Waves {
    /// Waves over packs `0..packs`.
    pub fn new(packs: u64, batch: usize) -> Waves {
        Waves {
            packs,
            group: (batch as u64 / STAGES).max(1),
            wave: 0,
        }
    }
}

impl Iterator for Waves {
    type Item = Vec<Event>;

    fn next(&mut self) -> Option<Vec<Event>> {
        let groups = self.packs.div_ceil(self.group);
        if self.wave >= groups + STAGES - 1 {
            return None;
        }
        let mut out = Vec::with_capacity((self.group * STAGES) as usize);
        for stage in 0..STAGES {
            let Some(g) = self.wave.checked_sub(stage) else {
                continue;
            };
            if g >= groups {
                continue;
            }
            let end = ((g + 1) * self.group).min(self.packs);
            out.extend((g * self.group..end).map(|n| stage_event(n, stage)));
        }
        self.wave += 1;
        Some(out)
    }
}

/// Commission-only packs `from..to`, in batches.
pub fn commissions(from: u64, to: u64, batch: u64) -> impl Iterator<Item = Vec<Event>> {
    (from..to).step_by(batch as usize).map(move |start| {
        (start..(start + batch).min(to))
            .map(|n| stage_event(n, 0))
            .collect()
    })
}

/// An event as a JSON Lines record of the import format, with the buyer's identity as the
/// raw certificate number a hospital system would send.
pub fn to_json_line(e: &Event, out: &mut String) {
    use std::fmt::Write;
    let code = match e.pack.identity() {
        drugtrace_code::PackIdentity::China(v) => format!("{v:020}"),
        drugtrace_code::PackIdentity::Gs1 { .. } | drugtrace_code::PackIdentity::Sscc(_) => {
            unreachable!("benchmark packs are Chinese")
        }
    };
    let at = e.at.to_rfc3339(480);
    let kind = match &e.kind {
        EventKind::Commission => "commission",
        EventKind::Ship { .. } => "ship",
        EventKind::Receive { .. } => "receive",
        EventKind::Intake(_) => "intake",
        EventKind::Sale(_) => "sale",
        _ => unreachable!("not in the benchmark's chain"),
    };
    let _ = write!(
        out,
        r#"{{"type":"{kind}","code":"{code}","at":"{at}","institution":"{}""#,
        e.actor
    );
    if let Some(b) = &e.lot.batch {
        let _ = write!(out, r#","batch":"{b}""#);
    }
    if let Some(x) = e.lot.expiry {
        let _ = write!(out, r#","expiry":"{x}""#);
    }
    match &e.kind {
        EventKind::Ship { to: Some(t) } => {
            let _ = write!(out, r#","to":"{t}""#);
        }
        EventKind::Receive { from: Some(f) } => {
            let _ = write!(out, r#","from":"{f}""#);
        }
        EventKind::Intake(i) => {
            if let Some(s) = &i.supplier {
                let _ = write!(out, r#","supplier":"{s}""#);
            }
        }
        EventKind::Sale(s) => {
            let person = s.person.map_or(0, |p| {
                u64::from_le_bytes(p.as_bytes()[..8].try_into().unwrap_or_default())
            });
            let _ = write!(
                out,
                r#","settlement_id":"{}","person":"3501021990{person:08}","amount":"18.50""#,
                s.settlement.as_ref().map_or("", |x| x.as_str())
            );
        }
        _ => {}
    }
    out.push_str("}\n");
}
