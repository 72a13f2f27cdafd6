//! Planted fraud: the kinds, how often each is drawn, the small bounded state that
//! cross-pack schemes need (resale rings), and the ground truth written to `truth.jsonl`.
//!
//! Fraud is decided per pack with the pack's own random stream, so planting streams with
//! the packs. Only resale rings span packs: a few rings are open at a time, each gathers at
//! most [`RING_PACKS`] packs and is then written out as one case and replaced, so the
//! state stays a few dozen strings whatever the number of packs.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::rng::Rng;
use crate::world::World;

/// A kind of planted fraud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FraudKind {
    ResaleRing,
    ClonedCode,
    Substitution,
    SaleWithoutIntake,
    NeverIssued,
    SaleAfterExpiry,
    SaleAfterRecall,
    SplitBeyondUnits,
    RepeatSale3Plus,
    /// Planted with packaging only, on a case's box (never drawn for a pack).
    CaseBoxDiverted,
}

impl FraudKind {
    /// The kind's name in `truth.jsonl`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FraudKind::ResaleRing => "resale_ring",
            FraudKind::ClonedCode => "cloned_code",
            FraudKind::Substitution => "substitution",
            FraudKind::SaleWithoutIntake => "sale_without_intake",
            FraudKind::NeverIssued => "never_issued",
            FraudKind::SaleAfterExpiry => "sale_after_expiry",
            FraudKind::SaleAfterRecall => "sale_after_recall",
            FraudKind::SplitBeyondUnits => "split_beyond_units",
            FraudKind::RepeatSale3Plus => "repeat_sale_3plus",
            FraudKind::CaseBoxDiverted => "case_box_diverted",
        }
    }

    /// Draws a kind; resale is the commonest scheme in the published cases, so it weighs
    /// most.
    pub(crate) fn draw(rng: &mut Rng) -> FraudKind {
        const WEIGHTED: [(FraudKind, u64); 9] = [
            (FraudKind::ResaleRing, 20),
            (FraudKind::ClonedCode, 12),
            (FraudKind::Substitution, 14),
            (FraudKind::SaleWithoutIntake, 10),
            (FraudKind::NeverIssued, 8),
            (FraudKind::SaleAfterExpiry, 8),
            (FraudKind::SaleAfterRecall, 8),
            (FraudKind::SplitBeyondUnits, 8),
            (FraudKind::RepeatSale3Plus, 12),
        ];
        let total: u64 = WEIGHTED.iter().map(|(_, w)| w).sum();
        let mut x = rng.below(total);
        for (kind, w) in WEIGHTED {
            if x < w {
                return kind;
            }
            x -= w;
        }
        FraudKind::ResaleRing
    }
}

/// One planted case, as `truth.jsonl` writes it. Persons are the raw synthetic identity
/// numbers the event files carry (the importer hashes them).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Case {
    pub case: u64,
    pub kind: &'static str,
    pub codes: Vec<String>,
    pub institutions: Vec<String>,
    pub persons: Vec<String>,
    pub settlements: Vec<String>,
    pub note: String,
}

/// Packs a resale ring gathers before it is written out as a case.
pub(crate) const RING_PACKS: usize = 12;
/// Rings open at a time.
const OPEN_RINGS: usize = 3;

/// A resale ring: insured persons who buy on their cards at `buy_at`; a trader (`fence`)
/// collects the packs and sells them to `resell_at`, which sells them again.
pub(crate) struct Ring {
    pub buy_at: u32,
    pub resell_at: u32,
    pub fence: u32,
    pub persons: Vec<u64>,
    case: Case,
}

/// The truth file and the open rings.
pub(crate) struct Truth<W> {
    out: W,
    seed: u64,
    next_case: u64,
    rings_made: u64,
    rings: Vec<Ring>,
    /// Cases written, by kind.
    pub counts: BTreeMap<String, u64>,
    population: u64,
}

impl<W: Write> Truth<W> {
    pub(crate) fn new(out: W, seed: u64, population: u64) -> Truth<W> {
        Truth {
            out,
            seed,
            next_case: 1,
            rings_made: 0,
            rings: Vec::new(),
            counts: BTreeMap::new(),
            population,
        }
    }

    /// Writes one case, numbering it.
    pub(crate) fn write(&mut self, mut case: Case) -> io::Result<()> {
        case.case = self.next_case;
        self.next_case += 1;
        *self.counts.entry(case.kind.to_owned()).or_default() += 1;
        serde_json::to_writer(&mut self.out, &case)?;
        self.out.write_all(b"\n")
    }

    /// The ring a pack joins (`choice` from the pack's stream), opening rings as needed.
    /// Rings are made from their own stream, so they do not depend on which packs join.
    pub(crate) fn ring(&mut self, choice: u64, world: &World) -> &mut Ring {
        while self.rings.len() < OPEN_RINGS {
            let ring = self.new_ring(world);
            self.rings.push(ring);
        }
        let i = (choice % OPEN_RINGS as u64) as usize;
        &mut self.rings[i]
    }

    fn new_ring(&mut self, world: &World) -> Ring {
        let mut rng = Rng::new(self.seed, 0x5249_4e47_0000_0000 + self.rings_made);
        self.rings_made += 1;
        let home = &world.cities[0];
        let city = rng.index(home.len());
        // Rings buy where many insured patients pass: a hospital or a large pharmacy;
        // the packs come back through a pharmacy, often in another city.
        let buy_at = if rng.chance(0.5) {
            *rng.pick(&home[city].hospitals)
        } else {
            *rng.pick(&home[city].pharmacies)
        };
        let resell_city = if rng.chance(0.6) {
            city
        } else {
            rng.index(home.len())
        };
        let resell_at = *rng.pick(&home[resell_city].pharmacies);
        let fence = *rng.pick(&world.fences);
        let persons = (0..rng.range(3, 6))
            .map(|_| rng.below(self.population))
            .collect();
        Ring {
            buy_at,
            resell_at,
            fence,
            persons,
            case: Case {
                kind: FraudKind::ResaleRing.as_str(),
                ..Case::default()
            },
        }
    }

    /// Adds a pack to ring `choice` (its code, settlements and the buyer), writing the
    /// ring out as a case once it is full.
    pub(crate) fn add_to_ring(
        &mut self,
        choice: u64,
        code: String,
        settlements: [String; 2],
        person: String,
        world: &World,
    ) -> io::Result<()> {
        let i = (choice % OPEN_RINGS as u64) as usize;
        let ring = &mut self.rings[i];
        ring.case.codes.push(code);
        ring.case.settlements.extend(settlements);
        if !ring.case.persons.contains(&person) {
            ring.case.persons.push(person);
        }
        if ring.case.codes.len() >= RING_PACKS {
            let ring = self.rings.remove(i);
            self.close_ring(ring, world)?;
        }
        Ok(())
    }

    fn close_ring(&mut self, ring: Ring, world: &World) -> io::Result<()> {
        let mut case = ring.case;
        case.institutions = [ring.buy_at, ring.resell_at, ring.fence]
            .iter()
            .map(|&i| world.code(i).to_owned())
            .collect();
        case.note = format!(
            "{} packs bought on insurance cards at {} came back through trader {} to {}, which sold them again",
            case.codes.len(),
            world.institutions[ring.buy_at as usize].name,
            world.institutions[ring.fence as usize].name,
            world.institutions[ring.resell_at as usize].name,
        );
        self.write(case)
    }

    /// Writes the rings still open (those with packs), and returns the file.
    pub(crate) fn finish(mut self, world: &World) -> io::Result<(W, BTreeMap<String, u64>)> {
        for ring in std::mem::take(&mut self.rings) {
            if !ring.case.codes.is_empty() {
                self.close_ring(ring, world)?;
            }
        }
        Ok((self.out, self.counts))
    }
}
