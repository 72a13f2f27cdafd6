//! The province's parties and people: manufacturers, distributors, hospitals and
//! pharmacies with codes, names and places, written to `institutions.csv`; and the insured
//! persons, who are never held in memory but computed from their number on demand.

use std::io::{self, Write};

use crate::names::{
    self, BRAND_WORDS, COMPANY_KINDS, FOREIGN_MAKERS, GIVEN, HOSPITALS, PHARMACY_BRANDS, PROVINCES,
    STREETS, SURNAMES,
};
use crate::rng::Rng;

/// What a party does in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Manufacturer,
    Distributor,
    Hospital,
    Pharmacy,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Manufacturer => "manufacturer",
            Kind::Distributor => "distributor",
            Kind::Hospital => "hospital",
            Kind::Pharmacy => "pharmacy",
        }
    }

    fn letter(self) -> char {
        match self {
            Kind::Manufacturer => 'M',
            Kind::Distributor => 'D',
            Kind::Hospital => 'H',
            Kind::Pharmacy => 'P',
        }
    }
}

/// One party.
pub(crate) struct Institution {
    /// Its code, as `drugtrace_ledger::InstitutionId` accepts: `H35010200001`.
    pub code: String,
    pub name: String,
    /// English name (manufacturers only; the English catalog names them).
    pub name_en: String,
    pub kind: Kind,
    pub province: usize,
    pub city: usize,
    lat: f64,
    lon: f64,
}

/// Indices of the parties of one city, by kind.
#[derive(Default)]
pub(crate) struct CityParties {
    pub hospitals: Vec<u32>,
    pub pharmacies: Vec<u32>,
    pub distributors: Vec<u32>,
}

/// Every party, and where to find them.
pub(crate) struct World {
    pub institutions: Vec<Institution>,
    /// Parties by province, then city.
    pub cities: Vec<Vec<CityParties>>,
    /// Domestic manufacturers.
    pub makers: Vec<u32>,
    /// Foreign manufacturers (their China agents commission imported packs).
    pub foreign_makers: Vec<u32>,
    /// Small distributors that resale rings use as the "supplier" of recycled packs.
    pub fences: Vec<u32>,
}

/// How many parties of each kind a city of the home province has; neighbouring
/// provinces' cities get a third as many.
const HOME_COUNTS: [(Kind, usize); 4] = [
    (Kind::Manufacturer, 4),
    (Kind::Distributor, 3),
    (Kind::Hospital, 7),
    (Kind::Pharmacy, 30),
];

impl World {
    /// Builds the parties from `seed`.
    pub(crate) fn new(seed: u64) -> World {
        let mut rng = Rng::new(seed, 0x5752_4c44);
        let mut w = World {
            institutions: Vec::new(),
            cities: Vec::new(),
            makers: Vec::new(),
            foreign_makers: Vec::new(),
            fences: Vec::new(),
        };
        let mut serial = [0u32; 4];
        for (p, province) in PROVINCES.iter().enumerate() {
            let mut cities = Vec::new();
            for (c, city) in province.cities.iter().enumerate() {
                let mut parties = CityParties::default();
                for (kind, home_count) in HOME_COUNTS {
                    let count = if p == 0 {
                        home_count
                    } else {
                        home_count.div_ceil(3)
                    };
                    for k in 0..count {
                        let s = &mut serial[kind as usize];
                        *s += 1;
                        let (name, name_en) = party_name(kind, city, k, &mut rng);
                        // County-level codes (平潭 350128) are districts already; city
                        // codes get a district number 01 to 05.
                        let district = if city.code.is_multiple_of(100) {
                            city.code + 1 + (k as u32 % 5)
                        } else {
                            city.code
                        };
                        let idx = w.institutions.len() as u32;
                        w.institutions.push(Institution {
                            code: format!("{}{district:06}{:05}", kind.letter(), *s),
                            name,
                            name_en,
                            kind,
                            province: p,
                            city: c,
                            lat: city.lat + (rng.unit() - 0.5) * 0.12,
                            lon: city.lon + (rng.unit() - 0.5) * 0.12,
                        });
                        match kind {
                            Kind::Manufacturer => w.makers.push(idx),
                            Kind::Distributor => parties.distributors.push(idx),
                            Kind::Hospital => parties.hospitals.push(idx),
                            Kind::Pharmacy => parties.pharmacies.push(idx),
                        }
                    }
                }
                cities.push(parties);
            }
            w.cities.push(cities);
        }
        // Foreign manufacturers are registered through agents in Xiamen, the home
        // province's port city.
        for (zh, en, _) in FOREIGN_MAKERS {
            serial[0] += 1;
            let idx = w.institutions.len() as u32;
            w.institutions.push(Institution {
                code: format!("M350206{:05}", serial[0]),
                name: (*zh).to_owned(),
                name_en: (*en).to_owned(),
                kind: Kind::Manufacturer,
                province: 0,
                city: 1,
                lat: 24.4798,
                lon: 118.0894,
            });
            w.foreign_makers.push(idx);
        }
        // Resale rings pass recycled packs through small traders: a few home distributors.
        for city in &w.cities[0] {
            w.fences.push(
                *city
                    .distributors
                    .last()
                    .expect("every city has distributors"),
            );
        }
        w
    }

    /// The number of parties.
    pub(crate) fn len(&self) -> usize {
        self.institutions.len()
    }

    /// The code of party `i`.
    pub(crate) fn code(&self, i: u32) -> &str {
        &self.institutions[i as usize].code
    }

    /// Writes `institutions.csv`.
    pub(crate) fn write_csv(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "code,name,kind,province,city,lat,lon")?;
        for i in &self.institutions {
            let province = &PROVINCES[i.province];
            writeln!(
                out,
                "{},{},{},{},{},{:.4},{:.4}",
                i.code,
                i.name,
                i.kind.as_str(),
                province.name,
                province.cities[i.city].name,
                i.lat,
                i.lon
            )?;
        }
        Ok(())
    }
}

fn party_name(kind: Kind, city: &names::City, k: usize, rng: &mut Rng) -> (String, String) {
    match kind {
        Kind::Manufacturer => {
            let (brand, brand_en) =
                BRAND_WORDS[(city.code as usize / 100 + k * 7) % BRAND_WORDS.len()];
            let (ending, ending_en) = COMPANY_KINDS[k % COMPANY_KINDS.len()];
            (
                format!("{}{brand}{ending}", city.name),
                format!("{} {brand_en} {ending_en}", names::city_pinyin(city.name)),
            )
        }
        Kind::Distributor => {
            let name = match k {
                0 => format!("{}医药集团有限公司", city.name),
                1 => format!("{}{}医药物流有限公司", city.name, rng.pick(BRAND_WORDS).0),
                _ => format!("{}{}医药贸易有限公司", city.name, rng.pick(BRAND_WORDS).0),
            };
            (name, String::new())
        }
        Kind::Hospital => (
            format!("{}{}", city.name, HOSPITALS[k % HOSPITALS.len()]),
            String::new(),
        ),
        Kind::Pharmacy => (
            format!(
                "{}大药房（{}{}店）",
                PHARMACY_BRANDS[k % PHARMACY_BRANDS.len()],
                city.name,
                STREETS[(k + city.code as usize / 100) % STREETS.len()]
            ),
            String::new(),
        ),
    }
}

/// The chain a pharmacy belongs to: its name's brand, before `大药房` (every branch of a
/// chain is named so).
pub(crate) fn pharmacy_brand(name: &str) -> &str {
    name.split("大药房").next().unwrap_or(name)
}

/// Distinct birth days a person number maps to (about 80 years).
const BIRTH_DAYS: u64 = 29_000;

/// Appends person `p`'s 18-character resident identity number: home-province area code,
/// birth date, sequence and the ISO 7064 MOD 11-2 check character. Distinct numbers give
/// distinct identities.
pub(crate) fn push_person_id(out: &mut Vec<u8>, p: u64) {
    let cities = PROVINCES[0].cities;
    let city = &cities[(p % cities.len() as u64) as usize];
    let q = p / cities.len() as u64;
    // Multiplying by a number prime to BIRTH_DAYS permutes the days, so neighbours in
    // number are not born on neighbouring days.
    let day = (q % BIRTH_DAYS) * 7919 % BIRTH_DAYS;
    let seq = q / BIRTH_DAYS % 1000;
    let area = if city.code.is_multiple_of(100) {
        city.code + 2
    } else {
        city.code
    };
    let birth = crate::fmt::days_from_civil(1940, 1, 1) + day as i64;
    let (y, m, d) = crate::fmt::civil(birth);
    let start = out.len();
    crate::fmt::push_padded(out, u128::from(area), 6);
    crate::fmt::push_padded(out, y as u128, 4);
    crate::fmt::push_padded(out, u128::from(m), 2);
    crate::fmt::push_padded(out, u128::from(d), 2);
    crate::fmt::push_padded(out, u128::from(seq), 3);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = out[start..]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    out.push(b"10X98765432"[(sum % 11) as usize]);
}

/// Appends person `p`'s name (family name and one or two given characters).
pub(crate) fn push_person_name(out: &mut Vec<u8>, p: u64) {
    let h = crate::rng::splitmix64(&mut p.clone());
    out.extend_from_slice(SURNAMES[(h % SURNAMES.len() as u64) as usize].as_bytes());
    out.extend_from_slice(GIVEN[((h >> 16) % GIVEN.len() as u64) as usize].as_bytes());
    if h >> 40 & 1 == 1 {
        out.extend_from_slice(GIVEN[((h >> 24) % GIVEN.len() as u64) as usize].as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_ids_are_distinct_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for p in 0..50_000 {
            let mut v = Vec::new();
            push_person_id(&mut v, p);
            assert_eq!(v.len(), 18);
            assert!(v[..17].iter().all(u8::is_ascii_digit));
            assert!(seen.insert(v));
        }
    }

    #[test]
    fn institution_codes_are_unique_short_ascii() {
        let w = World::new(3);
        let mut seen = std::collections::HashSet::new();
        for i in &w.institutions {
            assert!(i.code.len() <= 40 && i.code.bytes().all(|b| b.is_ascii_graphic()));
            assert!(seen.insert(i.code.clone()), "{}", i.code);
        }
        assert!(w.len() > 400);
    }
}
