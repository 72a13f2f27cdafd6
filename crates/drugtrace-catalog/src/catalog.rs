//! The catalog: products, looked up by any of their three codes.

use std::collections::HashMap;
use std::fmt;

use drugtrace_code::{DrugId, Gtin, ProductKey};

use crate::{InsuranceCode, Product};

/// Where a product came from: a file and a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRef {
    /// The file's name.
    pub source: String,
    /// The line number, from 1.
    pub line: u64,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.source, self.line)
    }
}

/// Why a product cannot join the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// A prefix or GTIN is already mapped to another insurance code.
    #[error("{key} is mapped to {first_code} on {first} and to {second_code} on {second}")]
    Conflict {
        /// The prefix or GTIN, in words.
        key: String,
        /// The row that mapped it first.
        first: RowRef,
        /// Its insurance code there.
        first_code: InsuranceCode,
        /// The row that maps it again.
        second: RowRef,
        /// Its insurance code there.
        second_code: InsuranceCode,
    },
    /// Two rows of one insurance code describe different products.
    #[error("{code} has a different {field} on {first} and on {second}")]
    Differs {
        /// The insurance code.
        code: InsuranceCode,
        /// The field that differs.
        field: &'static str,
        /// The first row.
        first: RowRef,
        /// The second row.
        second: RowRef,
    },
}

/// The products, with lookups in every direction. An insurance code may have several
/// prefixes and GTINs; a prefix or a GTIN belongs to exactly one insurance code.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    products: Vec<(Product, RowRef)>,
    by_code: HashMap<InsuranceCode, usize>,
    by_drug_id: HashMap<DrugId, usize>,
    by_gtin: HashMap<Gtin, usize>,
}

impl Catalog {
    /// Adds a product, or merges its prefixes and GTINs into the product of its insurance
    /// code. Nothing changes on error.
    pub fn insert(&mut self, product: Product, origin: RowRef) -> Result<(), CatalogError> {
        let existing = self.by_code.get(product.insurance_code()).copied();
        if let Some(i) = existing {
            let (old, first) = &self.products[i];
            if let Some(field) = old.differs_from(&product) {
                return Err(CatalogError::Differs {
                    code: product.insurance_code().clone(),
                    field,
                    first: first.clone(),
                    second: origin,
                });
            }
        }
        let conflict = |owner: Option<&usize>, key: String| match owner {
            Some(&j) if self.products[j].0.insurance_code() != product.insurance_code() => {
                Err(CatalogError::Conflict {
                    key,
                    first: self.products[j].1.clone(),
                    first_code: self.products[j].0.insurance_code().clone(),
                    second: origin.clone(),
                    second_code: product.insurance_code().clone(),
                })
            }
            _ => Ok(()),
        };
        for d in product.drug_ids() {
            conflict(
                self.by_drug_id.get(d),
                format!("drug identification code {d}"),
            )?;
        }
        for g in product.gtins() {
            conflict(self.by_gtin.get(g), format!("GTIN {g}"))?;
        }
        let i = match existing {
            Some(i) => {
                self.products[i].0 = self.products[i].0.merged(&product);
                i
            }
            None => {
                self.products.push((product, origin));
                let i = self.products.len() - 1;
                self.by_code
                    .insert(self.products[i].0.insurance_code().clone(), i);
                i
            }
        };
        let p = &self.products[i].0;
        for d in p.drug_ids() {
            self.by_drug_id.insert(*d, i);
        }
        for g in p.gtins() {
            self.by_gtin.insert(*g, i);
        }
        Ok(())
    }

    /// The product with this insurance code.
    pub fn by_insurance_code(&self, code: &InsuranceCode) -> Option<&Product> {
        self.by_code.get(code).map(|&i| &self.products[i].0)
    }

    /// The product whose packs' trace codes start with `id`.
    pub fn by_drug_id(&self, id: DrugId) -> Option<&Product> {
        self.by_drug_id.get(&id).map(|&i| &self.products[i].0)
    }

    /// The product with this commodity barcode.
    pub fn by_gtin(&self, gtin: Gtin) -> Option<&Product> {
        self.by_gtin.get(&gtin).map(|&i| &self.products[i].0)
    }

    /// The product a trace code names by itself.
    pub fn by_product_key(&self, key: ProductKey) -> Option<&Product> {
        match key {
            ProductKey::DrugId(d) => self.by_drug_id(d),
            ProductKey::Gtin(g) => self.by_gtin(g),
            ProductKey::Logistics => None,
        }
    }

    /// How many products.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// The products, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Product> {
        self.products.iter().map(|(p, _)| p)
    }
}
