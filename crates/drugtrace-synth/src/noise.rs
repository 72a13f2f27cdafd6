//! Real-upload noise ([`crate::SynthOptions::upload_noise`]): legitimate situations that a
//! province's uploads are full of and that a careless model takes for fraud, planted on
//! honest packs and listed in `noise.jsonl`, one line per instance, so that a reader can
//! count a model's false positives per class.
//!
//! Each honest pack draws at most one class from a stream of its own (the seed mixed with
//! [`NOISE_STREAM`], and the pack's number), after its events were drawn from the pack's
//! stream: a pack without noise is the same with the option as without it, and a pack with
//! noise keeps its own events and gains or moves only what its class says. Noise sales
//! take their settlement numbers from a space of their own ([`NOISE_SETTLEMENTS`]), so no
//! other sale's settlement id moves. Planted fraud is never touched, except by
//! [`NoiseClass::MakerNoCommissions`], whose manufacturer uploads no commission for any of
//! its packs (a never-issued case stays one: its pack was never shipped by the maker).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::event::{Ev, Kind};
use crate::fmt::{DAY, HOUR};
use crate::rng::Rng;
use crate::scenario::Gen;
use crate::world::{self, World};

/// Names the noise streams: mixed into the seed, one per pack; alone, the stream that
/// picks the manufacturer that never uploads commissions.
pub(crate) const NOISE_STREAM: u64 = 0x4e4f_4953_4521;

/// The first settlement number of noise sales (16 digits, above any the packs reach).
pub(crate) const NOISE_SETTLEMENTS: u64 = 9_000_000_000_000_000;

const MINUTE: i64 = 60;

/// A class of legitimate upload noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoiseClass {
    /// Billed with another product's insurance code (refused: `product_mismatch`), settled
    /// again minutes later under a new settlement id as the right product.
    CorrectedWrongCode,
    /// Sold, returned whole minutes later, settled again for the same buyer under a new id.
    CorrectedAfterReturn,
    /// Sold, settled again minutes later under a new id (refused: `already_sold`), the first
    /// sale's return uploaded only after the new sale.
    CorrectedReturnLate,
    /// A refund put back on the shelf: returned, stocked again (106, other in), later sold
    /// to someone else.
    RefundRestocked,
    /// The seller's intake scanned (and uploaded) after its sale.
    IntakeAfterSale,
    /// A sale return sent twice (the same line again).
    ReturnResent,
    /// An opened box (split sales) passed to a branch of the same pharmacy chain (102 out,
    /// 101 in), which sells the rest.
    BranchOpenedBox,
    /// A manufacturer that never uploads its commissions: its packs travel a complete chain
    /// (shipped by it, received by a distributor) without one.
    MakerNoCommissions,
}

impl NoiseClass {
    /// The class's name in `noise.jsonl`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NoiseClass::CorrectedWrongCode => "corrected_wrong_code",
            NoiseClass::CorrectedAfterReturn => "corrected_after_return",
            NoiseClass::CorrectedReturnLate => "corrected_return_late",
            NoiseClass::RefundRestocked => "refund_restocked",
            NoiseClass::IntakeAfterSale => "intake_after_sale",
            NoiseClass::ReturnResent => "return_resent",
            NoiseClass::BranchOpenedBox => "branch_opened_box",
            NoiseClass::MakerNoCommissions => "maker_no_commissions",
        }
    }
}

/// The classes planted on a pack sold whole once (its last event), with their chance per
/// such pack; about three packs in four end so.
const WHOLE_SALE_CLASSES: [(NoiseClass, f64); 6] = [
    (NoiseClass::CorrectedWrongCode, 0.008),
    (NoiseClass::CorrectedAfterReturn, 0.005),
    (NoiseClass::CorrectedReturnLate, 0.004),
    (NoiseClass::RefundRestocked, 0.005),
    (NoiseClass::IntakeAfterSale, 0.006),
    (NoiseClass::ReturnResent, 0.005),
];

/// The chance per pack opened for split sales at a pharmacy, with units left, that the
/// opened box goes to a branch (about one pack in twelve is such a pack).
const BRANCH_CHANCE: f64 = 0.05;

/// The largest share of all packs the manufacturer that never uploads commissions may
/// make: one is drawn among those below it (in practice importers, whose few products are
/// spread over the catalog), else the smallest is taken.
const SILENT_MAKER_SHARE: f64 = 0.01;

/// One planted instance, as `noise.jsonl` writes it.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Instance {
    pub noise: u64,
    pub class: &'static str,
    pub codes: Vec<String>,
    pub institutions: Vec<String>,
    pub settlements: Vec<String>,
    pub note: String,
}

/// The noise file and its counts.
pub(crate) struct NoiseLog<W> {
    out: W,
    next: u64,
    /// Instances written, by class.
    pub counts: BTreeMap<String, u64>,
    /// The manufacturer that never uploads commissions, if one was picked.
    pub silent_maker: Option<u32>,
    /// The next noise settlement number.
    next_settlement: u64,
}

impl<W: Write> NoiseLog<W> {
    pub(crate) fn new(out: W, seed: u64, world: &World, catalog: &Catalog) -> NoiseLog<W> {
        NoiseLog {
            out,
            next: 1,
            counts: BTreeMap::new(),
            silent_maker: silent_maker(seed, world, catalog),
            next_settlement: NOISE_SETTLEMENTS,
        }
    }

    /// Writes one instance, numbering it.
    pub(crate) fn write(&mut self, mut instance: Instance) -> io::Result<()> {
        instance.noise = self.next;
        self.next += 1;
        *self.counts.entry(instance.class.to_owned()).or_default() += 1;
        serde_json::to_writer(&mut self.out, &instance)?;
        self.out.write_all(b"\n")
    }

    fn settlement(&mut self) -> u64 {
        self.next_settlement += 1;
        self.next_settlement
    }

    /// The file and the counts.
    pub(crate) fn finish(self) -> (W, BTreeMap<String, u64>) {
        (self.out, self.counts)
    }
}

/// The manufacturer that never uploads commissions: one whose expected share of the packs
/// is at most [`SILENT_MAKER_SHARE`], drawn from its own stream, else the one with the
/// smallest. Packs draw product `j` of `n` with chance `sqrt((j+1)/n) - sqrt(j/n)` (see
/// `Gen::pack`), which gives each maker's share.
fn silent_maker(seed: u64, world: &World, catalog: &Catalog) -> Option<u32> {
    let n = catalog.products.len() as f64;
    let mut share = vec![0.0f64; world.len()];
    for (j, p) in catalog.products.iter().enumerate() {
        share[p.maker as usize] += ((j + 1) as f64 / n).sqrt() - (j as f64 / n).sqrt();
    }
    let makers: Vec<u32> = world
        .makers
        .iter()
        .chain(&world.foreign_makers)
        .copied()
        .filter(|&m| share[m as usize] > 0.0)
        .collect();
    let fits: Vec<u32> = makers
        .iter()
        .copied()
        .filter(|&m| share[m as usize] <= SILENT_MAKER_SHARE)
        .collect();
    if fits.is_empty() {
        makers
            .into_iter()
            .min_by(|&a, &b| share[a as usize].total_cmp(&share[b as usize]))
    } else {
        Some(*Rng::new(seed, NOISE_STREAM).pick(&fits))
    }
}

/// What an honest pack's events (from `first`) look like, for the classes that fit it.
enum Shape {
    /// One whole-pack sale, the pack's last event (its index).
    WholeSale(usize),
    /// Split sales at one pharmacy, the last at `last_at`, with `left` units unsold.
    OpenedAtPharmacy {
        inst: u32,
        last_at: i64,
        left: u32,
    },
    Other,
}

impl<W: Write> Gen<'_, W> {
    fn shape(&self, first: usize) -> Shape {
        let events = &self.events[first..];
        let sales: Vec<usize> = (0..events.len())
            .filter(|&j| events[j].kind == Kind::Sale)
            .collect();
        let Some(&last_sale) = sales.last() else {
            return Shape::Other;
        };
        let last = events.len() - 1;
        if sales.len() == 1 && last_sale == last && events[last].units == 0 {
            return Shape::WholeSale(first + last);
        }
        let inst = events[last_sale].inst;
        let units = self.catalog.products
            [self.window[events[last_sale].pack as usize].product as usize]
            .units;
        let split_here = sales
            .iter()
            .all(|&j| events[j].units > 0 && events[j].inst == inst);
        if !split_here || !self.world.code(inst).starts_with('P') {
            return Shape::Other;
        }
        let sold: u32 = sales.iter().map(|&j| events[j].units).sum();
        let back: u32 = events
            .iter()
            .filter(|e| e.kind == Kind::SaleReturn)
            .map(|e| e.units)
            .sum();
        match (units + back).checked_sub(sold) {
            Some(left) if left > 0 => Shape::OpenedAtPharmacy {
                inst,
                last_at: events[last].at,
                left,
            },
            _ => Shape::Other,
        }
    }

    /// Plants at most one class of noise on honest pack `i` (window index `pi`), whose
    /// events start at `first`. Returns whether it planted one that involves the pack's
    /// sales (their scans are then never missed: a correction without its sale would be
    /// the fraud it corrects).
    pub(crate) fn plant_noise(&mut self, i: u64, pi: u32, first: usize) -> io::Result<bool> {
        let mut rng = Rng::new(self.seed() ^ NOISE_STREAM, i);
        let u = rng.unit();
        match self.shape(first) {
            Shape::WholeSale(si) => {
                let mut acc = 0.0;
                for (class, p) in WHOLE_SALE_CLASSES {
                    acc += p;
                    if u < acc {
                        self.whole_sale_noise(&mut rng, class, pi, first, si)?;
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Shape::OpenedAtPharmacy {
                inst,
                last_at,
                left,
            } if u < BRANCH_CHANCE => {
                let Some(branch) = branch_of(self.world, inst) else {
                    return Ok(false);
                };
                self.branch_opened_box(&mut rng, pi, inst, branch, last_at, left)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn noise_sale(&mut self, like: &Ev, at: i64, billed: u32, person: u64) -> Ev {
        let noise = self.noise.as_mut().expect("noise is on");
        let mut ev = *like;
        ev.key = at;
        ev.at = at;
        ev.product = billed;
        ev.person = person;
        ev.settlement = noise.settlement();
        ev.duplicate = false;
        ev.missed = false;
        let product = &self.catalog.products[billed as usize];
        ev.amount_fen = if ev.units == 0 {
            product.price_fen
        } else {
            product.price_fen * i64::from(ev.units) / i64::from(product.units.max(1))
        };
        ev
    }

    fn sale_return(like: &Ev, at: i64) -> Ev {
        let mut ret = Ev::new(like.pack, Kind::SaleReturn, at, like.inst);
        ret.settlement = like.settlement;
        ret
    }

    fn record(
        &mut self,
        class: NoiseClass,
        pi: u32,
        insts: &[u32],
        settlements: &[u64],
        note: String,
    ) -> io::Result<()> {
        let instance = Instance {
            noise: 0,
            class: class.as_str(),
            codes: vec![self.code_text(pi)],
            institutions: insts
                .iter()
                .map(|&i| self.world.code(i).to_owned())
                .collect(),
            settlements: settlements
                .iter()
                .map(|&s| crate::scenario::settlement_text(s))
                .collect(),
            note,
        };
        self.noise.as_mut().expect("noise is on").write(instance)
    }

    fn whole_sale_noise(
        &mut self,
        rng: &mut Rng,
        class: NoiseClass,
        pi: u32,
        first: usize,
        si: usize,
    ) -> io::Result<()> {
        let sale = self.events[si];
        let (t, inst) = (sale.at, sale.inst);
        let own = sale.product;
        let minutes = |rng: &mut Rng, lo: i64, hi: i64| rng.range(lo * MINUTE, hi * MINUTE);
        match class {
            NoiseClass::CorrectedWrongCode => {
                // Billed as another product of the catalog first, minutes before the sale
                // that went through: the gate refuses the pack billed as something else.
                let n = self.catalog.products.len() as u64;
                let billed = (own + 1 + rng.below(n - 1) as u32) % n as u32;
                let at = t - minutes(rng, 1, 25);
                let wrong = self.noise_sale(&sale, at, billed, sale.person);
                self.events.insert(si, wrong);
                let note = format!(
                    "billed as {} (refused: product_mismatch), settled again as {} {} minutes later",
                    self.catalog.products[billed as usize].insurance_code,
                    self.catalog.products[own as usize].insurance_code,
                    (t - at) / MINUTE
                );
                self.record(
                    class,
                    pi,
                    &[inst],
                    &[wrong.settlement, sale.settlement],
                    note,
                )
            }
            NoiseClass::CorrectedAfterReturn => {
                let back_at = t + minutes(rng, 1, 8);
                self.events.push(Self::sale_return(&sale, back_at));
                let again = back_at + minutes(rng, 1, 15);
                let s2 = self.noise_sale(&sale, again, own, sale.person);
                self.events.push(s2);
                let note = format!(
                    "sold, returned whole, and settled again for the same buyer under a new id {} minutes after the first",
                    (again - t) / MINUTE
                );
                self.record(class, pi, &[inst], &[sale.settlement, s2.settlement], note)
            }
            NoiseClass::CorrectedReturnLate => {
                let again = t + minutes(rng, 3, 20);
                let s2 = self.noise_sale(&sale, again, own, sale.person);
                self.events.push(s2);
                // The first sale was returned before the new one was settled, but its
                // return is uploaded only after the new sale: the gate refuses the new one
                // (already_sold) and then takes the first one back.
                let mut ret = Self::sale_return(&sale, t + rng.range(MINUTE, again - t - 1));
                ret.key = again + minutes(rng, 2, 120);
                self.events.push(ret);
                let note = format!(
                    "settled again under a new id {} minutes later (refused: already_sold); the first sale's return uploaded after it",
                    (again - t) / MINUTE
                );
                self.record(class, pi, &[inst], &[sale.settlement, s2.settlement], note)
            }
            NoiseClass::RefundRestocked => {
                let back_at = t + rng.range(HOUR, 3 * DAY);
                self.events.push(Self::sale_return(&sale, back_at));
                let shelf_at = back_at + minutes(rng, 5, 90);
                let mut shelf = Ev::new(pi, Kind::StockChange, shelf_at, inst);
                shelf.change = 106;
                self.events.push(shelf);
                let buyer = self.other_person(rng, sale.person);
                let mut s2 =
                    self.noise_sale(&sale, shelf_at + rng.range(DAY, 20 * DAY), own, buyer);
                s2.fund_paid = rng.chance(0.85);
                self.events.push(s2);
                let note =
                    "returned, put back on the shelf (106, other in) and sold to another buyer"
                        .to_owned();
                self.record(class, pi, &[inst], &[sale.settlement, s2.settlement], note)
            }
            NoiseClass::IntakeAfterSale => {
                let j = (first..si)
                    .rev()
                    .find(|&j| self.events[j].kind == Kind::Intake && self.events[j].inst == inst)
                    .expect("an honest pack is taken in by its seller");
                let at = t + rng.range(30 * MINUTE, 2 * DAY);
                let intake = &mut self.events[j];
                intake.at = at;
                intake.key = at;
                let note = format!(
                    "the seller's intake scanned {} hours after the sale",
                    (at - t) / HOUR
                );
                self.record(class, pi, &[inst], &[sale.settlement], note)
            }
            NoiseClass::ReturnResent => {
                let mut ret = Self::sale_return(&sale, t + rng.range(HOUR, 7 * DAY));
                ret.duplicate = true;
                self.events.push(ret);
                let note = "the sale's return uploaded twice (the same line again)".to_owned();
                self.record(class, pi, &[inst], &[sale.settlement], note)
            }
            NoiseClass::BranchOpenedBox | NoiseClass::MakerNoCommissions => {
                unreachable!("not a whole-sale class")
            }
        }
    }

    /// The opened box goes from pharmacy `inst` to `branch` of the same chain, which sells
    /// the `left` units in one to three split sales.
    fn branch_opened_box(
        &mut self,
        rng: &mut Rng,
        pi: u32,
        inst: u32,
        branch: u32,
        last_at: i64,
        mut left: u32,
    ) -> io::Result<()> {
        let product = self.window[pi as usize].product;
        let mut t = last_at + rng.range(DAY, 5 * DAY);
        let mut out = Ev::new(pi, Kind::StockChange, t, inst);
        out.change = 102;
        self.events.push(out);
        t += rng.range(HOUR, 8 * HOUR);
        let mut inn = Ev::new(pi, Kind::StockChange, t, branch);
        inn.change = 101;
        self.events.push(inn);
        let mut settlements = Vec::new();
        while left > 0 {
            t += rng.range(HOUR, 10 * DAY);
            let k = if settlements.len() == 2 {
                left
            } else {
                rng.range(1, i64::from(left)) as u32
            };
            let mut like = Ev::new(pi, Kind::Sale, t, branch);
            like.units = k;
            let buyer = rng.below(self.population());
            let mut s = self.noise_sale(&like, t, product, buyer);
            s.fund_paid = rng.chance(0.85);
            self.events.push(s);
            settlements.push(s.settlement);
            left -= k;
        }
        let note = format!(
            "an opened box passed to {}, a branch of the same chain (102 out, 101 in), which sold the units left",
            self.world.institutions[branch as usize].name
        );
        self.record(
            NoiseClass::BranchOpenedBox,
            pi,
            &[inst, branch],
            &settlements,
            note,
        )
    }

    fn other_person(&self, rng: &mut Rng, not: u64) -> u64 {
        let p = rng.below(self.population() - 1);
        if p >= not { p + 1 } else { p }
    }

    /// Notes pack `pi`, shipped by the manufacturer that never uploads commissions to the
    /// distributor `first_hop`.
    pub(crate) fn record_silent_maker(
        &mut self,
        pi: u32,
        maker: u32,
        first_hop: u32,
    ) -> io::Result<()> {
        let note = format!(
            "{} uploads no commission; shipped to distributor {} and on without one",
            self.world.institutions[maker as usize].name,
            self.world.code(first_hop)
        );
        self.record(
            NoiseClass::MakerNoCommissions,
            pi,
            &[maker, first_hop],
            &[],
            note,
        )
    }
}

/// Another pharmacy of `inst`'s chain (the same brand): in its city if there is one, else
/// in its province.
fn branch_of(w: &World, inst: u32) -> Option<u32> {
    let me = &w.institutions[inst as usize];
    let brand = world::pharmacy_brand(&me.name);
    let same = |p: &&u32| {
        **p != inst && world::pharmacy_brand(&w.institutions[**p as usize].name) == brand
    };
    let city = &w.cities[me.province][me.city];
    city.pharmacies.iter().find(same).copied().or_else(|| {
        w.cities[me.province]
            .iter()
            .flat_map(|c| c.pharmacies.iter())
            .find(same)
            .copied()
    })
}
