//! Packaging ([`crate::SynthOptions::packaging`]): a few manufacturers pack boxes into cases
//! (箱码). A case is a 20-digit code of its own, whose drug identification code
//! (`79` + the maker's number) is no product of the catalog; the maker commissions the
//! boxes and the case, packs each box into it (a `pack` event with `case`), and the case
//! travels as one code: shipped to the provincial distributor, received, shipped to a
//! hospital or pharmacy, taken in there and opened. The ledger moves the boxes with their
//! case; the institution then sells them one by one.
//!
//! One case is packed for every [`CASE_EVERY`] packs, each from a stream of its own (the
//! seed mixed with [`CASE_STREAM`], and the case's number), after the window's packs: the
//! packs' own lines are the same with packaging as without. Boxes take the pack numbers
//! after the run's (so their serials are distinct from every pack's), and their sales
//! settlement ids from [`CASE_SETTLEMENTS`] on. A case's box is diverted
//! (`case_box_diverted`, in `truth.jsonl`) with probability `20 × fraud_rate` (at most 1):
//! it is sold by another pharmacy of the city, which never took in the box or its case.

use std::io::{self, Write};

use crate::catalog::Catalog;
use crate::event::{Code, Ev, Kind, Pack};
use crate::fmt::{DAY, HOUR};
use crate::fraud::{Case, FraudKind};
use crate::rng::Rng;
use crate::scenario::{Gen, SERIAL_MOD, SPAN, start};
use crate::world::World;
use crate::write::day_of;

/// One case is packed per this many packs.
pub(crate) const CASE_EVERY: u64 = 200;

/// Pack numbers each case reserves after the run's packs: its boxes, then the case.
const CASE_NUMBERS: u64 = 16;

/// Names the cases' streams: mixed into the seed, one per case; alone, the stream that
/// picks the packing manufacturers.
const CASE_STREAM: u64 = 0x4341_5345_5321;

/// The first settlement number of boxes' sales (16 digits, above any the packs reach and
/// below the noise's).
pub(crate) const CASE_SETTLEMENTS: u64 = 8_000_000_000_000_000;

/// Manufacturers that pack their boxes into cases.
const PACKING_MAKERS: usize = 4;

/// How often a case has a diverted box, per unit of the fraud rate.
const DIVERSION_PER_FRAUD_RATE: f64 = 20.0;

/// The products that go into cases, and the counters.
pub(crate) struct Packaging {
    /// Whole-pack, domestic products of the packing manufacturers.
    products: Vec<u32>,
    next_settlement: u64,
    /// Cases packed.
    pub cases: u64,
    /// Boxes packed into them.
    pub boxes: u64,
}

impl Packaging {
    /// Picks the packing manufacturers from `seed` (never `silent`, the manufacturer that
    /// uploads no commissions) and their products that cases hold.
    pub(crate) fn new(
        seed: u64,
        world: &World,
        catalog: &Catalog,
        silent: Option<u32>,
    ) -> Packaging {
        let mut rng = Rng::new(seed, CASE_STREAM);
        let mut makers: Vec<u32> = Vec::new();
        let candidates: Vec<u32> = world
            .makers
            .iter()
            .copied()
            .filter(|&m| Some(m) != silent)
            .collect();
        while makers.len() < PACKING_MAKERS.min(candidates.len()) {
            let m = *rng.pick(&candidates);
            if !makers.contains(&m) {
                makers.push(m);
            }
        }
        let products = (0..catalog.products.len() as u32)
            .filter(|&j| {
                let p = &catalog.products[j as usize];
                makers.contains(&p.maker) && p.foreign_gtin.is_none() && p.units == 1
            })
            .collect();
        Packaging {
            products,
            next_settlement: CASE_SETTLEMENTS,
            cases: 0,
            boxes: 0,
        }
    }
}

/// The case numbers whose packing falls among packs `start..end`.
pub(crate) fn cases_among(start: u64, end: u64) -> std::ops::Range<u64> {
    start.div_ceil(CASE_EVERY)..end.div_ceil(CASE_EVERY)
}

impl<W: Write> Gen<'_, W> {
    /// Packs case `g`, ships it, opens it at a hospital or pharmacy and sells its boxes
    /// (one of them, now and then, elsewhere).
    pub(crate) fn pack_case(&mut self, g: u64) -> io::Result<()> {
        let Some(packaging) = self.packaging.as_ref() else {
            return Ok(());
        };
        if packaging.products.is_empty() {
            return Ok(());
        }
        let mut rng = Rng::new(self.seed() ^ CASE_STREAM, g);
        let product = *rng.pick(&packaging.products);
        let (world, catalog) = (self.world, self.catalog);
        let p = &catalog.products[product as usize];
        let maker = p.maker;
        let mut t = start()
            + (i128::from(SPAN) * i128::from(g * CASE_EVERY) / i128::from(self.packs())) as i64
            + rng.range(0, 9 * HOUR);
        let made = day_of(t) - rng.range(0, 20);
        let expiry = made + rng.range(540, 1080);
        let (y, m, d) = crate::fmt::civil(made);
        let batch = ((y % 100) as u32 * 10_000 + m * 100 + d) * 100 + product % 100;
        let first_number = self.packs() + g * CASE_NUMBERS;
        let case_code = Code::China(
            u128::from(7_900_000 + maker) * SERIAL_MOD
                + self.serial(first_number + CASE_NUMBERS - 1),
        );
        let n = rng.range(4, 10) as u64;
        let pack = |code| Pack {
            code,
            product,
            batch,
            made,
            expiry,
        };
        let case_pi = self.window.len() as u32;
        self.window.push(pack(case_code));
        let boxes: Vec<u32> = (0..n)
            .map(|k| {
                let serial = self.serial(first_number + k);
                let code = Code::China(u128::from(p.drug_id) * SERIAL_MOD + serial);
                self.window.push(pack(code));
                self.window.len() as u32 - 1
            })
            .collect();

        // The maker issues the boxes and the case, and packs the boxes.
        for &b in boxes.iter().chain([&case_pi]) {
            let mut ev = Ev::new(b, Kind::Commission, t, maker);
            ev.lot = b != case_pi;
            self.events.push(ev);
        }
        t += rng.range(5 * 60, 2 * HOUR);
        for &b in &boxes {
            let mut ev = Ev::new(b, Kind::Pack, t, maker);
            ev.other = case_pi;
            self.events.push(ev);
            t += rng.range(10, 120);
        }

        // The case travels as one code to a hospital or pharmacy of the home province.
        let home = &world.cities[0];
        let city = rng.index(home.len());
        let dispenser = self.dispenser(&mut rng, 0, city);
        let distributor = home[0].distributors[0];
        let case_event = |kind, at, inst, other| {
            let mut ev = Ev::new(case_pi, kind, at, inst);
            ev.other = other;
            ev
        };
        t += rng.range(DAY, 5 * DAY);
        let ship = case_event(Kind::Ship, t, maker, distributor);
        t += rng.range(4 * HOUR, 2 * DAY);
        let receive = case_event(Kind::Receive, t, distributor, maker);
        t += rng.range(DAY, 4 * DAY);
        let deliver = case_event(Kind::Ship, t, distributor, dispenser);
        t += rng.range(2 * HOUR, 2 * DAY);
        let mut intake = case_event(Kind::Intake, t, dispenser, distributor);
        intake.product = product;
        t += rng.range(10 * 60, DAY);
        let open = case_event(Kind::Open, t, dispenser, crate::event::NONE);
        self.events.extend([ship, receive, deliver, intake, open]);
        let opened = t;

        let diverted = rng
            .chance((DIVERSION_PER_FRAUD_RATE * self.fraud_rate).min(1.0))
            .then(|| rng.index(boxes.len()));
        let hospital = world.code(dispenser).starts_with('H');
        for (k, &b) in boxes.iter().enumerate() {
            if Some(k) == diverted {
                let local = &home[city].pharmacies;
                let seller = local
                    .iter()
                    .copied()
                    .filter(|&s| s != dispenser)
                    .nth(rng.index(local.len() - 1))
                    .expect("a city has pharmacies besides the case's");
                let at = opened + rng.range(HOUR, 30 * DAY);
                let person = rng.below(self.population());
                let s = self.box_sale(b, at, seller, person, true);
                let case = Case {
                    note: format!(
                        "a box of case {} (taken in by {}) sold by {}, which never took in the box or its case",
                        self.code_text(case_pi),
                        world.code(dispenser),
                        world.code(seller)
                    ),
                    ..self.case(
                        FraudKind::CaseBoxDiverted,
                        b,
                        &[seller, dispenser],
                        &[person],
                        &[s],
                    )
                };
                self.truth.write(case)?;
                continue;
            }
            if rng.chance(0.1) {
                continue; // Still in stock.
            }
            let at = opened + rng.range(HOUR, 60 * DAY);
            let person = rng.below(self.population());
            let paid = rng.chance(if hospital { 0.95 } else { 0.85 });
            self.box_sale(b, at, dispenser, person, paid);
        }
        let packaging = self.packaging.as_mut().expect("checked");
        packaging.cases += 1;
        packaging.boxes += n;
        Ok(())
    }

    /// A whole-box sale by `inst`; returns its settlement number.
    fn box_sale(&mut self, b: u32, at: i64, inst: u32, person: u64, fund_paid: bool) -> u64 {
        let packaging = self.packaging.as_mut().expect("packaging is on");
        packaging.next_settlement += 1;
        let settlement = packaging.next_settlement;
        let product = self.window[b as usize].product;
        let mut ev = Ev::new(b, Kind::Sale, at, inst);
        ev.product = product;
        ev.settlement = settlement;
        ev.person = person;
        ev.amount_fen = self.catalog.products[product as usize].price_fen;
        ev.fund_paid = fund_paid;
        self.events.push(ev);
        settlement
    }
}
