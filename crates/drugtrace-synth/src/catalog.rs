//! The product catalog: a few thousand products combined from drug stems, dosage forms,
//! strengths, pack sizes and manufacturers, each with a valid insurance code, a unique
//! 7-digit drug identification prefix and GTIN-13 barcode, written as `catalog.csv` (the
//! three-code mapping `drugtrace catalog import` reads) and `catalog_en.csv`.

use std::io::{self, Write};

use drugtrace_code::Gtin;

use crate::names::{FOREIGN_MAKERS, FORMS, PATENTS, STEMS};
use crate::rng::Rng;
use crate::world::World;

/// Products in every synthetic catalog.
pub(crate) const PRODUCTS: usize = 3_000;

/// One product.
pub(crate) struct Product {
    pub insurance_code: String,
    pub drug_id: u32,
    /// The domestic GTIN-13 (`69…`), as a 13-digit value.
    pub gtin: u64,
    /// For imported drugs, the GTIN-13 of the foreign barcode that their GS1 DataMatrix
    /// codes carry; the catalog maps it too.
    pub foreign_gtin: Option<u64>,
    pub generic_name: String,
    pub trade_name: String,
    pub specification: String,
    pub approval_number: String,
    /// Units in a pack: 1, or 6 to 24 for products hospitals sell split (拆零).
    pub units: u32,
    /// Price of a whole pack, in fen.
    pub price_fen: i64,
    pub rx: bool,
    /// The manufacturer's index in the world.
    pub maker: u32,
    pub generic_name_en: String,
    pub specification_en: String,
}

/// The catalog and the indices the generator draws from.
pub(crate) struct Catalog {
    pub products: Vec<Product>,
    /// Products sold split.
    pub split: Vec<u32>,
    /// 复方阿胶浆 products.
    pub ejiao: Vec<u32>,
}

/// A kind of product before a manufacturer is chosen.
struct Family {
    generic_name: String,
    generic_name_en: String,
    spec: String,
    spec_en: String,
    /// Insurance code from after the letter up to the manufacturer field.
    code_body: String,
    count: u32,
    price_fen: i64,
    rx: bool,
    patent: Option<usize>,
    splittable: bool,
}

fn families(rng: &mut Rng) -> Vec<Family> {
    let mut out = Vec::new();
    for (s, stem) in STEMS.iter().enumerate() {
        for &f in stem.forms {
            let form = &FORMS[f];
            for d in 0..2 {
                if d == 1 && stem.doses[0] == stem.doses[1] {
                    continue;
                }
                for c in 0..2 {
                    let count = form.counts[c];
                    let dose = stem.doses[d];
                    let spec = if form.unit == "支" && form.zh == "注射液" {
                        format!("2ml:{dose}*{count}{}", form.unit)
                    } else {
                        format!("{dose}*{count}{}", form.unit)
                    };
                    out.push(Family {
                        generic_name: format!("{}{}", stem.zh, form.zh),
                        generic_name_en: format!("{} {}", stem.en, form.en),
                        spec,
                        spec_en: format!("{dose} x {count}"),
                        code_body: format!(
                            "{}A{:03}{}{:02}{:02}",
                            stem.class,
                            s,
                            form.code,
                            d + 1,
                            c + 1
                        ),
                        count,
                        price_fen: (rng.range(300, 6_000) * (1 + d as i64)) * i64::from(count) / 12,
                        rx: stem.rx,
                        patent: None,
                        splittable: form.unit == "支" || (f == 0 && stem.rx),
                    });
                }
            }
        }
    }
    for (p, patent) in PATENTS.iter().enumerate() {
        for c in 0..2 {
            let spec = patent.spec[c];
            out.push(Family {
                generic_name: patent.zh.to_owned(),
                generic_name_en: patent.en.to_owned(),
                spec: spec.to_owned(),
                spec_en: spec
                    .replace('*', " x ")
                    .replace(|ch: char| !ch.is_ascii(), ""),
                // The class field is four characters and a subgroup letter; the name
                // field is `N` and four digits.
                code_body: format!(
                    "{}AN{:04}{:02}{:02}",
                    &patent.class[1..],
                    p + 1,
                    c + 1,
                    c + 1
                ),
                count: patent.counts[c],
                price_fen: if p == crate::names::EJIAO {
                    rng.range(8_000, 30_000)
                } else {
                    rng.range(1_500, 12_000)
                },
                rx: patent.rx,
                patent: Some(p),
                splittable: false,
            });
        }
    }
    out
}

impl Catalog {
    /// Builds the catalog from `seed`, with manufacturers from `world`.
    pub(crate) fn new(seed: u64, world: &World) -> Catalog {
        let mut rng = Rng::new(seed, 0x4341_5441);
        let families = families(&mut rng);
        let prefix_offset = rng.below(1_000_000);
        let mut products = Vec::with_capacity(PRODUCTS);
        let mut split = Vec::new();
        let mut ejiao = Vec::new();
        // Families take turns, each round adding one more manufacturer to every family,
        // so common drugs end up with many makers and every family has at least one.
        let mut round = 0usize;
        while products.len() < PRODUCTS {
            for fam in &families {
                if products.len() == PRODUCTS {
                    break;
                }
                let i = products.len();
                // Imported Western drugs: about one product in sixteen.
                let foreign = fam.patent.is_none() && rng.below(16) == 0;
                let (maker, foreign_country) = if foreign {
                    let f = rng.index(world.foreign_makers.len());
                    (world.foreign_makers[f], Some(FOREIGN_MAKERS[f].2))
                } else {
                    (world.makers[(i * 7 + round) % world.makers.len()], None)
                };
                let maker_no = maker as usize;
                let letter = if fam.patent.is_some() { 'Z' } else { 'X' };
                let insurance_code = format!(
                    "{letter}{}{:05}",
                    fam.code_body,
                    maker_no * 100 + round % 100
                );
                // Distinct products get distinct prefixes: i times a number prime to 10^6
                // permutes 0..10^6.
                let drug_id = 8_000_000 + ((i as u64 * 7919 + prefix_offset) % 1_000_000) as u32;
                let company = 10_000 + (maker_no as u64 * 37) % 90_000;
                let body = |country: u64| country * 10_000_000_000 + company * 100_000 + i as u64;
                let gtin = Gtin::with_check_digit(body(69)).expect("12 digits").value();
                let foreign_gtin = foreign_country
                    .map(|cc| Gtin::with_check_digit(body(cc)).expect("12 digits").value());
                let units = if fam.splittable && (6..=24).contains(&fam.count) && rng.chance(0.5) {
                    fam.count
                } else {
                    1
                };
                let approval_number = match (fam.patent, foreign) {
                    (Some(_), _) => format!("国药准字Z{:08}", 35_000_000 + i),
                    (None, true) => format!("国药准字HJ{:08}", 20_000_000 + i),
                    (None, false) => format!("国药准字H{:08}", 35_000_000 + i),
                };
                let idx = i as u32;
                if units > 1 {
                    split.push(idx);
                }
                if fam.patent == Some(crate::names::EJIAO) {
                    ejiao.push(idx);
                }
                products.push(Product {
                    insurance_code,
                    drug_id,
                    gtin,
                    foreign_gtin,
                    generic_name: fam.generic_name.clone(),
                    trade_name: trade_name(&mut rng),
                    specification: fam.spec.clone(),
                    approval_number,
                    units,
                    price_fen: fam.price_fen * rng.range(85, 125) / 100,
                    rx: fam.rx,
                    maker,
                    generic_name_en: fam.generic_name_en.clone(),
                    specification_en: fam.spec_en.clone(),
                });
            }
            round += 1;
        }
        Catalog {
            products,
            split,
            ejiao,
        }
    }

    /// Writes `catalog.csv` in the importer's column order.
    pub(crate) fn write_csv(&self, out: &mut impl Write, world: &World) -> io::Result<()> {
        writeln!(
            out,
            "insurance_code,drug_id_prefix,gtin,generic_name,trade_name,specification,manufacturer,approval_number,units_per_pack"
        )?;
        for p in &self.products {
            write!(out, "{},{:07},{:013}", p.insurance_code, p.drug_id, p.gtin)?;
            if let Some(g) = p.foreign_gtin {
                write!(out, ";{g:013}")?;
            }
            writeln!(
                out,
                ",{},{},{},{},{},{}",
                p.generic_name,
                p.trade_name,
                p.specification,
                world.institutions[p.maker as usize].name,
                p.approval_number,
                p.units
            )?;
        }
        Ok(())
    }

    /// Writes `catalog_en.csv`: English names keyed by insurance code (the importer takes
    /// no extra columns, so they live apart).
    pub(crate) fn write_en_csv(&self, out: &mut impl Write, world: &World) -> io::Result<()> {
        writeln!(
            out,
            "insurance_code,generic_name_en,specification_en,manufacturer_en"
        )?;
        for p in &self.products {
            // English company names contain commas ("Co., Ltd."), so that field is quoted.
            writeln!(
                out,
                "{},{},{},\"{}\"",
                p.insurance_code,
                p.generic_name_en,
                p.specification_en,
                world.institutions[p.maker as usize].name_en
            )?;
        }
        Ok(())
    }
}

fn trade_name(rng: &mut Rng) -> String {
    const SYLLABLES: &[&str] = &[
        "诺", "立", "拜", "络", "倍", "舒", "希", "捷", "安", "优", "易", "康", "欣", "泰", "力",
        "瑞", "达", "宁", "平", "畅", "清", "乐", "维", "信",
    ];
    format!("{}{}", rng.pick(SYLLABLES), rng.pick(SYLLABLES))
}
