//! One pack's life, from commission to sale, with the noise of real uploads and, for a
//! drawn few, a planted fraud. Each pack draws from its own random stream (seed and pack
//! number), so packs are independent and the output is the same however it is windowed.
//!
//! *Invariant:* a pack's events are generated in strictly increasing time, and only
//! movements (ship, receive) are ever given a late-upload delay, never past the pack's
//! intake. So once a window is sorted by upload time, every pack's commission, intake,
//! recalls, sales and returns reach the file in the order they happened, which is the
//! order the ledger's gate must see them in to judge them as a live system would. Two
//! classes of real-upload noise (see [`crate::noise`]) break this on purpose: a return
//! uploaded after the sale that corrects it, and an intake scanned after the sale.

use std::io::{self, Write};

use crate::cases::Packaging;
use crate::catalog::Catalog;
use crate::event::{Code, Ev, Kind, Pack, push_code};
use crate::fmt::{DAY, HOUR, days_from_civil};
use crate::fraud::{Case, FraudKind, Truth};
use crate::noise::NoiseLog;
use crate::output::SynthOptions;
use crate::rng::Rng;
use crate::world::{World, push_person_id};
use crate::write::{day_of, push_settlement};

/// The first commission: 2025-01-01 08:00 in China.
pub(crate) fn start() -> i64 {
    days_from_civil(2025, 1, 1) * DAY + 8 * HOUR
}

/// Commissions are spread over a year.
pub(crate) const SPAN: i64 = 365 * DAY;

/// Names the random streams of missed sale scans: one for the institutions' rates, and,
/// mixed into the seed, one per pack. Kept apart from the packs' own streams, so that
/// missing a scan changes no other line of any file.
const UPLOAD_STREAM: u64 = 0x5550_4c4f_4144;

/// The share of institutions that upload poorly.
const POOR_UPLOADERS: f64 = 0.06;

/// Each institution's chance of settling a sale without uploading its code: 0 to 2% for
/// most, 25 to 70% for a few poor uploaders.
fn upload_miss_rates(seed: u64, world: &World) -> Vec<f64> {
    let mut rng = Rng::new(seed, UPLOAD_STREAM);
    (0..world.len())
        .map(|_| {
            if rng.chance(POOR_UPLOADERS) {
                0.25 + 0.45 * rng.unit()
            } else {
                0.02 * rng.unit()
            }
        })
        .collect()
}

/// The state of the generator between packs: counters, the window's packs and events,
/// and the truth file with its open rings.
pub(crate) struct Gen<'a, W> {
    pub world: &'a World,
    pub catalog: &'a Catalog,
    seed: u64,
    packs: u64,
    pub fraud_rate: f64,
    /// [`SynthOptions::in_stock`].
    in_stock: f64,
    population: u64,
    serial_offset: u128,
    next_settlement: u64,
    /// [`upload_miss_rates`], by institution.
    upload_miss: Vec<f64>,
    pub window: Vec<Pack>,
    pub events: Vec<Ev>,
    pub truth: Truth<W>,
    /// The noise file, when real-upload noise is on.
    pub noise: Option<NoiseLog<W>>,
    /// The packing manufacturers' products and counters, when packaging is on.
    pub packaging: Option<Packaging>,
}

/// Multiplier that scrambles pack numbers into 13-digit serials: prime to 10, so
/// multiplication modulo 10^13 is a permutation and distinct packs get distinct codes.
const SERIAL_MUL: u128 = 7_777_777_777_777;
pub(crate) const SERIAL_MOD: u128 = 10_000_000_000_000;

impl<'a, W: Write> Gen<'a, W> {
    /// The generator for `opts` (its seed, packs, fraud rate and packaging), writing the
    /// truth to `truth` and, with upload noise, the noise to `noise`.
    pub(crate) fn new(
        world: &'a World,
        catalog: &'a Catalog,
        opts: &SynthOptions,
        truth: W,
        noise: Option<W>,
    ) -> Gen<'a, W> {
        let SynthOptions {
            seed,
            packs,
            fraud_rate,
            in_stock,
            packaging,
            ..
        } = *opts;
        let population = (packs / 2).max(2_000);
        let mut g = Gen {
            world,
            catalog,
            seed,
            packs: packs.max(1),
            fraud_rate,
            in_stock,
            population,
            serial_offset: u128::from(Rng::new(seed, 0x5345_5249).below(1 << 40)),
            next_settlement: 1,
            upload_miss: upload_miss_rates(seed, world),
            window: Vec::new(),
            events: Vec::new(),
            truth: Truth::new(truth, seed, population),
            noise: noise.map(|out| NoiseLog::new(out, seed, world, catalog)),
            packaging: None,
        };
        if packaging {
            let silent = g.noise.as_ref().and_then(|n| n.silent_maker);
            g.packaging = Some(Packaging::new(seed, world, catalog, silent));
        }
        g
    }

    /// Insured persons that sales draw from.
    pub(crate) fn population(&self) -> u64 {
        self.population
    }

    /// The run's seed.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The packs to generate (cases' boxes not counted).
    pub(crate) fn packs(&self) -> u64 {
        self.packs
    }

    /// The 13-digit serial of pack number `i`: distinct numbers below 10^13 get distinct
    /// serials.
    pub(crate) fn serial(&self, i: u64) -> u128 {
        (u128::from(i) * SERIAL_MUL + self.serial_offset) % SERIAL_MOD
    }

    pub(crate) fn code_text(&self, pi: u32) -> String {
        let mut v = Vec::with_capacity(64);
        push_code(&mut v, &self.window[pi as usize]);
        String::from_utf8(v).expect("codes are ASCII")
    }

    fn push(&mut self, ev: Ev) -> usize {
        self.events.push(ev);
        self.events.len() - 1
    }

    /// A sale; returns its settlement number.
    #[allow(clippy::too_many_arguments)]
    fn sale(
        &mut self,
        pi: u32,
        at: i64,
        inst: u32,
        billed: u32,
        person: u64,
        units: u32,
        fund_paid: bool,
        duplicate: bool,
    ) -> u64 {
        let product = &self.catalog.products[billed as usize];
        let settlement = self.next_settlement;
        self.next_settlement += 1;
        let mut ev = Ev::new(pi, Kind::Sale, at, inst);
        ev.product = billed;
        ev.settlement = settlement;
        ev.person = person;
        ev.units = units;
        ev.amount_fen = if units == 0 {
            product.price_fen
        } else {
            product.price_fen * i64::from(units) / i64::from(product.units.max(1))
        };
        ev.fund_paid = fund_paid;
        ev.duplicate = duplicate;
        self.push(ev);
        settlement
    }

    pub(crate) fn dispenser(&self, rng: &mut Rng, province: usize, city: usize) -> u32 {
        let parties = &self.world.cities[province][city];
        if rng.chance(0.35) {
            *rng.pick(&parties.hospitals)
        } else {
            *rng.pick(&parties.pharmacies)
        }
    }

    /// Generates pack `i` into the window.
    pub(crate) fn pack(&mut self, i: u64) -> io::Result<()> {
        let mut rng = Rng::new(self.seed, i);
        let pi = self.window.len() as u32;
        let first = self.events.len();
        let fraud = rng
            .chance(self.fraud_rate)
            .then(|| FraudKind::draw(&mut rng));
        let catalog = self.catalog;
        let world = self.world;
        let product = match fraud {
            Some(FraudKind::SplitBeyondUnits) if !catalog.split.is_empty() => {
                *rng.pick(&catalog.split)
            }
            Some(FraudKind::RepeatSale3Plus) if rng.chance(0.5) && !catalog.ejiao.is_empty() => {
                *rng.pick(&catalog.ejiao)
            }
            // Popular products sell more: squaring a uniform draw favours the front of
            // the catalog, where the common drugs' first makers are.
            _ => (rng.unit().powi(2) * catalog.products.len() as f64) as u32,
        };
        let p = &catalog.products[product as usize];
        let t0 = start()
            + (i128::from(SPAN) * i128::from(i) / i128::from(self.packs)) as i64
            + rng.range(0, 9 * HOUR);
        let made = day_of(t0) - rng.range(0, 20);
        let expiry = if fraud == Some(FraudKind::SaleAfterExpiry) {
            day_of(t0) + rng.range(40, 90)
        } else {
            made + rng.range(540, 1080)
        };
        let (y, m, d) = crate::fmt::civil(made);
        let batch = ((y % 100) as u32 * 10_000 + m * 100 + d) * 100 + product % 100;
        let serial = self.serial(i);
        let code = match p.foreign_gtin {
            Some(gtin) => Code::Gs1 {
                gtin,
                serial: serial as u64,
            },
            None => Code::China(u128::from(p.drug_id) * SERIAL_MOD + serial),
        };
        let china = matches!(code, Code::China(_));
        self.window.push(Pack {
            code,
            product,
            batch,
            made,
            expiry,
        });

        // Where the pack is dispensed: mostly in the home province.
        let home = &world.cities[0];
        let (province, city) = if rng.chance(0.92) {
            (0, rng.index(home.len()))
        } else {
            let pr = 1 + rng.index(world.cities.len() - 1);
            (pr, rng.index(world.cities[pr].len()))
        };
        let ring_choice = rng.next_u64();
        let dispenser = if fraud == Some(FraudKind::ResaleRing) {
            self.truth.ring(ring_choice, world).buy_at
        } else {
            self.dispenser(&mut rng, province, city)
        };
        let dest = &world.institutions[dispenser as usize];
        let local = &world.cities[dest.province][dest.city];
        let capital = &world.cities[dest.province][0];
        let maker = p.maker;

        let mut t = t0;
        let never_issued = fraud == Some(FraudKind::NeverIssued);
        // A manufacturer that never uploads commissions (noise) still ships: its first
        // shipment and the distributor's receipt are kept, whatever the scans' own noise
        // drew, so the chain shows who made the pack.
        let silent =
            !never_issued && self.noise.as_ref().and_then(|n| n.silent_maker) == Some(maker);
        if !never_issued && !silent {
            let mut ev = Ev::new(pi, Kind::Commission, t, maker);
            ev.lot = china;
            self.push(ev);
        }
        // The distribution chain: the maker ships to a provincial distributor, which may
        // pass the pack to a local one, which delivers to the dispenser.
        let mut hops = vec![capital.distributors[0]];
        let local_dist = *rng.pick(&local.distributors);
        if local_dist != hops[0] && rng.chance(0.6) {
            hops.push(local_dist);
        }
        let mut holder = if never_issued { hops.remove(0) } else { maker };
        let mut delayed = Vec::new();
        for (h, &hop) in hops.iter().enumerate() {
            let keep = silent && h == 0;
            t += rng.range(DAY, 5 * DAY);
            self.movement(&mut rng, pi, Kind::Ship, t, holder, hop, &mut delayed, keep);
            t += rng.range(4 * HOUR, 2 * DAY);
            self.movement(
                &mut rng,
                pi,
                Kind::Receive,
                t,
                hop,
                holder,
                &mut delayed,
                keep,
            );
            holder = hop;
        }
        t += rng.range(DAY, 4 * DAY);
        if !never_issued {
            self.movement(
                &mut rng,
                pi,
                Kind::Ship,
                t,
                holder,
                dispenser,
                &mut delayed,
                false,
            );
        }
        t += rng.range(2 * HOUR, 2 * DAY);
        let intake_at = t;
        let mut intake = Ev::new(pi, Kind::Intake, t, dispenser);
        intake.other = holder;
        intake.product = product;
        intake.lot = china;
        intake.duplicate = rng.chance(0.005);
        self.push(intake);
        // Late uploads of movements land before the intake, so that the gate never sees a
        // movement after the pack's sale (see the module's invariant).
        for (j, keep) in delayed {
            let late = rng.range(HOUR, 2 * DAY);
            if !keep {
                let ev = &mut self.events[j];
                ev.key = (ev.at + late).min(intake_at - 1).max(ev.at);
            }
        }

        match fraud {
            None | Some(FraudKind::NeverIssued) => {
                self.legit_end(&mut rng, pi, t, dispenser, maker, fraud.is_some())?
            }
            Some(kind) => self.plant(&mut rng, kind, pi, t, dispenser, maker, ring_choice)?,
        }
        if silent {
            self.record_silent_maker(pi, maker, hops[0])?;
        }
        let noisy_sales =
            fraud.is_none() && self.noise.is_some() && self.plant_noise(i, pi, first)?;
        if fraud.is_none() && !noisy_sales {
            self.miss_last_sale(i, first);
        }
        Ok(())
    }

    /// Marks an honest pack's last sale as settled without its code uploaded, at the
    /// seller's rate. Only a sale that ends the pack's log may go missing: a return or a
    /// later sale of the pack would need it, and planted cases keep every sale.
    fn miss_last_sale(&mut self, i: u64, first: usize) {
        let Some(last) = self.events[first..].last_mut() else {
            return;
        };
        if last.kind != Kind::Sale {
            return;
        }
        let rate = self.upload_miss[last.inst as usize];
        if Rng::new(self.seed ^ UPLOAD_STREAM, i).chance(rate) {
            last.missed = true;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn movement(
        &mut self,
        rng: &mut Rng,
        pi: u32,
        kind: Kind,
        at: i64,
        inst: u32,
        other: u32,
        delayed: &mut Vec<(usize, bool)>,
        keep: bool,
    ) {
        let mut ev = Ev::new(pi, kind, at, inst);
        ev.other = other;
        // Scans are missed now and then: the pack moved, nobody uploaded it. A scan the
        // caller must `keep` is written, and on time, all the same, with the same draws
        // made, so that the pack's later draws are what they would have been.
        if rng.chance(0.03) {
            if keep {
                self.push(ev);
            }
            return;
        }
        ev.duplicate = rng.chance(0.005);
        let j = self.push(ev);
        if rng.chance(0.04) {
            delayed.push((j, keep));
        }
    }

    fn person(&self, rng: &mut Rng) -> u64 {
        rng.below(self.population)
    }

    /// How an honest pack ends (and a never-issued one, which is sold like any other).
    fn legit_end(
        &mut self,
        rng: &mut Rng,
        pi: u32,
        mut t: i64,
        inst: u32,
        maker: u32,
        never_issued: bool,
    ) -> io::Result<()> {
        let pack = self.window[pi as usize];
        let units = self.catalog.products[pack.product as usize].units;
        let hospital = self.world.code(inst).starts_with('H');
        let paid = |rng: &mut Rng| rng.chance(if hospital { 0.95 } else { 0.85 });
        let r = if never_issued { 1.0 } else { rng.unit() };
        if r < self.in_stock {
            return Ok(()); // Still in stock.
        }
        if r < self.in_stock + 0.01 {
            // Expired on the shelf and destroyed.
            let at = (pack.expiry + rng.range(1, 30)) * DAY + 10 * HOUR;
            self.push(Ev::new(pi, Kind::Destroy, at, inst));
            return Ok(());
        }
        if r < self.in_stock + 0.015 {
            // A batch recall: the maker recalls, the pharmacy returns the pack.
            t += rng.range(DAY, 30 * DAY);
            self.push(Ev::new(pi, Kind::Recall, t, maker));
            t += rng.range(HOUR, 3 * DAY);
            let mut back = Ev::new(pi, Kind::StockChange, t, inst);
            back.change = 109;
            self.push(back);
            return Ok(());
        }
        t += rng.range(HOUR, 60 * DAY);
        let person = self.person(rng);
        // A never-issued pack is sold whole, so its case names its one sale.
        if units > 1 && !never_issued && rng.chance(0.7) {
            // Split sale: several buyers take a few units each, never more than the pack.
            let mut left = units;
            loop {
                let k = rng.range(1, i64::from((units / 2).max(1).min(left))) as u32;
                let buyer = self.person(rng);
                let dup = rng.chance(0.005);
                let paid = paid(rng);
                let s = self.sale(pi, t, inst, pack.product, buyer, k, paid, dup);
                left -= k;
                if rng.chance(0.05) {
                    t += rng.range(HOUR, 3 * DAY);
                    let mut ret = Ev::new(pi, Kind::SaleReturn, t, inst);
                    ret.settlement = s;
                    ret.units = 1;
                    self.push(ret);
                    left += 1;
                }
                if left == 0 || rng.chance(0.3) {
                    break;
                }
                t += rng.range(HOUR, 10 * DAY);
            }
            return Ok(());
        }
        let dup = rng.chance(0.005);
        let paid_now = paid(rng);
        let s = self.sale(pi, t, inst, pack.product, person, 0, paid_now, dup);
        if rng.chance(0.03) {
            // Returned, and sometimes sold again: a legitimate second sale.
            t += rng.range(HOUR, 7 * DAY);
            let mut ret = Ev::new(pi, Kind::SaleReturn, t, inst);
            ret.settlement = s;
            self.push(ret);
            if rng.chance(0.5) {
                t += rng.range(DAY, 20 * DAY);
                let buyer = self.person(rng);
                let paid_again = paid(rng);
                self.sale(pi, t, inst, pack.product, buyer, 0, paid_again, false);
            }
        }
        if never_issued {
            let case = self.case(FraudKind::NeverIssued, pi, &[inst], &[person], &[s]);
            self.truth.write(Case {
                note: "sold with a code no manufacturer ever issued (no commission)".into(),
                ..case
            })?;
        }
        Ok(())
    }

    pub(crate) fn case(
        &self,
        kind: FraudKind,
        pi: u32,
        institutions: &[u32],
        persons: &[u64],
        settlements: &[u64],
    ) -> Case {
        Case {
            case: 0,
            kind: kind.as_str(),
            codes: vec![self.code_text(pi)],
            institutions: institutions
                .iter()
                .map(|&i| self.world.code(i).to_owned())
                .collect(),
            persons: persons.iter().map(|&p| person_text(p)).collect(),
            settlements: settlements.iter().map(|&s| settlement_text(s)).collect(),
            note: String::new(),
        }
    }

    /// Plants fraud of `kind` after the pack's intake at `inst` at time `t`.
    #[allow(clippy::too_many_arguments)]
    fn plant(
        &mut self,
        rng: &mut Rng,
        kind: FraudKind,
        pi: u32,
        mut t: i64,
        inst: u32,
        maker: u32,
        ring_choice: u64,
    ) -> io::Result<()> {
        let pack = self.window[pi as usize];
        let product = pack.product;
        let world = self.world;
        let here = &world.institutions[inst as usize];
        t += rng.range(2 * HOUR, 20 * DAY);
        let case = match kind {
            FraudKind::ResaleRing => {
                let ring = self.truth.ring(ring_choice, world);
                let buyer = *rng.pick(&ring.persons);
                let (fence, resell_at) = (ring.fence, ring.resell_at);
                let s1 = self.sale(pi, t, inst, product, buyer, 0, true, false);
                t += rng.range(2 * DAY, 10 * DAY);
                let mut intake = Ev::new(pi, Kind::Intake, t, resell_at);
                intake.other = fence;
                intake.product = product;
                self.push(intake);
                t += rng.range(HOUR, 5 * DAY);
                let other = self.person(rng);
                let s2 = self.sale(pi, t, resell_at, product, other, 0, true, false);
                let code = self.code_text(pi);
                return self.truth.add_to_ring(
                    ring_choice,
                    code,
                    [settlement_text(s1), settlement_text(s2)],
                    person_text(buyer),
                    world,
                );
            }
            FraudKind::ClonedCode => {
                let (a, b) = (self.person(rng), self.person(rng));
                let s1 = self.sale(pi, t, inst, product, a, 0, true, false);
                // The copy is sold in another province a few hours later.
                let pr = if here.province == 0 {
                    1 + rng.index(world.cities.len() - 1)
                } else {
                    0
                };
                let city = rng.index(world.cities[pr].len());
                let far = *rng.pick(&world.cities[pr][city].pharmacies);
                t += rng.range(2 * HOUR, 8 * HOUR);
                let s2 = self.sale(pi, t, far, product, b, 0, true, false);
                Case {
                    note: "one code sold in two provinces hours apart: a copied code".into(),
                    ..self.case(kind, pi, &[inst, far], &[a, b], &[s1, s2])
                }
            }
            FraudKind::Substitution => {
                // Billed as the dearest of a few other products: 串换 pays more.
                let n = self.catalog.products.len();
                let billed = (0..4)
                    .map(|_| rng.index(n) as u32)
                    .filter(|&b| b != product)
                    .max_by_key(|&b| self.catalog.products[b as usize].price_fen)
                    .unwrap_or((product + 1) % n as u32);
                let a = self.person(rng);
                let s = self.sale(pi, t, inst, billed, a, 0, true, false);
                Case {
                    note: format!(
                        "pack of {} billed as {} ({})",
                        self.catalog.products[product as usize].insurance_code,
                        self.catalog.products[billed as usize].insurance_code,
                        self.catalog.products[billed as usize].generic_name
                    ),
                    ..self.case(kind, pi, &[inst], &[a], &[s])
                }
            }
            FraudKind::SaleWithoutIntake => {
                let local = &world.cities[here.province][here.city];
                let seller = local
                    .pharmacies
                    .iter()
                    .copied()
                    .find(|&p| p != inst && rng.chance(0.3))
                    .unwrap_or_else(|| {
                        *local
                            .pharmacies
                            .iter()
                            .find(|&&p| p != inst)
                            .unwrap_or(&inst)
                    });
                let a = self.person(rng);
                let s = self.sale(pi, t, seller, product, a, 0, true, false);
                Case {
                    note: format!(
                        "sold by {} which never took the pack in (intake was at {})",
                        world.code(seller),
                        world.code(inst)
                    ),
                    ..self.case(kind, pi, &[seller, inst], &[a], &[s])
                }
            }
            FraudKind::SaleAfterExpiry => {
                let at = (pack.expiry + rng.range(1, 30)) * DAY + rng.range(9 * HOUR, 20 * HOUR);
                let a = self.person(rng);
                let s = self.sale(pi, at, inst, product, a, 0, true, false);
                Case {
                    note: "sold and paid for after the pack's expiry date".into(),
                    ..self.case(kind, pi, &[inst], &[a], &[s])
                }
            }
            FraudKind::SaleAfterRecall => {
                self.push(Ev::new(pi, Kind::Recall, t, maker));
                t += rng.range(DAY, 15 * DAY);
                let a = self.person(rng);
                let s = self.sale(pi, t, inst, product, a, 0, true, false);
                Case {
                    note: "sold after the manufacturer recalled the pack".into(),
                    ..self.case(kind, pi, &[inst, maker], &[a], &[s])
                }
            }
            FraudKind::SplitBeyondUnits => {
                let units = self.catalog.products[product as usize].units.max(2);
                let spare = rng.range(1, i64::from((units / 3).max(1))) as u32;
                let mut left = units - spare;
                let (mut persons, mut settlements) = (Vec::new(), Vec::new());
                while left > 0 {
                    let k = rng.range(1, i64::from(left)) as u32;
                    let a = self.person(rng);
                    settlements.push(self.sale(pi, t, inst, product, a, k, true, false));
                    persons.push(a);
                    left -= k;
                    t += rng.range(HOUR, 5 * DAY);
                }
                let a = self.person(rng);
                let k = spare + rng.range(1, 3) as u32;
                settlements.push(self.sale(pi, t, inst, product, a, k, true, false));
                persons.push(a);
                Case {
                    note: format!(
                        "split sales of {} units from a pack of {units}",
                        units - spare + k
                    ),
                    ..self.case(kind, pi, &[inst], &persons, &settlements)
                }
            }
            FraudKind::RepeatSale3Plus => {
                let n = rng.range(3, 6);
                let local = &world.cities[here.province][here.city];
                let (mut insts, mut persons, mut settlements) =
                    (Vec::new(), Vec::new(), Vec::new());
                for k in 0..n {
                    // The first sale is where the pack was taken in; the copies sell there
                    // or at other pharmacies of the city.
                    let seller = if k == 0 || rng.chance(0.7) {
                        inst
                    } else {
                        *rng.pick(&local.pharmacies)
                    };
                    let a = self.person(rng);
                    settlements.push(self.sale(pi, t, seller, product, a, 0, true, false));
                    persons.push(a);
                    if !insts.contains(&seller) {
                        insts.push(seller);
                    }
                    t += rng.range(DAY, 20 * DAY);
                }
                Case {
                    note: format!("one code sold {n} times, every time paid by the fund"),
                    ..self.case(kind, pi, &insts, &persons, &settlements)
                }
            }
            FraudKind::NeverIssued => unreachable!("never-issued packs end like honest ones"),
            FraudKind::CaseBoxDiverted => unreachable!("cases are planted with their boxes"),
        };
        self.truth.write(case)
    }
}

/// A person's identity number as text.
fn person_text(p: u64) -> String {
    let mut v = Vec::with_capacity(18);
    push_person_id(&mut v, p);
    String::from_utf8(v).expect("ASCII")
}

/// A settlement id as text.
pub(crate) fn settlement_text(s: u64) -> String {
    let mut v = Vec::with_capacity(20);
    push_settlement(&mut v, s);
    String::from_utf8(v).expect("ASCII")
}
