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
        }
    } else {
        Lot::default()
    };
    Event {
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
        pack: key,
        at: Timestamp::from_millis(T0 + (n as i64) * 10 + 4 * 86_400_000),
        actor: institution(1000 + n % 5000),
        lot: Lot::default(),
        kind: EventKind::Sale(Sale {
            settlement: SettlementId::parse(&format!("S{settlement}")).expect("valid"),
            person: Some(PersonHash::from_bytes(person)),
            units: None,
            pack_units: None,
            product: None,
            amount_fen: 1850,
            fund_paid: true,
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
