//! A product of the catalog: one insurance code with its trace-code prefixes and barcodes.

use drugtrace_code::{DrugId, Gtin};

use crate::InsuranceCode;

/// What a product is made of, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSpec {
    /// The insurance drug code.
    pub insurance_code: InsuranceCode,
    /// Trace-code prefixes (药品标识码) of its packs.
    pub drug_ids: Vec<DrugId>,
    /// Commodity barcodes (商品码).
    pub gtins: Vec<Gtin>,
    /// Generic name (通用名).
    pub generic_name: String,
    /// Trade name (商品名).
    pub trade_name: String,
    /// Specification (规格).
    pub specification: String,
    /// Manufacturer (生产企业).
    pub manufacturer: String,
    /// The manufacturer's institution code, as its key names it, when known: only that
    /// party may commission (赋码) the product's codes.
    pub manufacturer_code: Option<String>,
    /// Approval number (批准文号).
    pub approval_number: String,
    /// Smallest sale units in a whole pack, for split sales (拆零).
    pub units_per_pack: u32,
}

/// Why a product spec is not a product.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProductError {
    /// A field that must be given is empty.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A pack has at least one unit.
    #[error("units_per_pack is 0; a pack has at least one unit")]
    ZeroUnits,
}

/// A product. Its names are non-empty where required and it has at least one unit per pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    spec: ProductSpec,
}

impl Product {
    /// Checks a spec (trimming its text fields and dropping repeated prefixes and GTINs).
    pub fn new(mut spec: ProductSpec) -> Result<Product, ProductError> {
        for (name, field) in [
            ("generic_name", &mut spec.generic_name),
            ("trade_name", &mut spec.trade_name),
            ("specification", &mut spec.specification),
            ("manufacturer", &mut spec.manufacturer),
            ("approval_number", &mut spec.approval_number),
        ] {
            *field = field.trim().to_owned();
            if field.is_empty() && matches!(name, "generic_name" | "manufacturer") {
                return Err(ProductError::Empty(name));
            }
        }
        if spec.units_per_pack == 0 {
            return Err(ProductError::ZeroUnits);
        }
        spec.manufacturer_code = spec
            .manufacturer_code
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        spec.drug_ids.sort();
        spec.drug_ids.dedup();
        spec.gtins.sort();
        spec.gtins.dedup();
        Ok(Product { spec })
    }

    /// The insurance drug code.
    pub fn insurance_code(&self) -> &InsuranceCode {
        &self.spec.insurance_code
    }
    /// Trace-code prefixes.
    pub fn drug_ids(&self) -> &[DrugId] {
        &self.spec.drug_ids
    }
    /// Commodity barcodes.
    pub fn gtins(&self) -> &[Gtin] {
        &self.spec.gtins
    }
    /// Generic name.
    pub fn generic_name(&self) -> &str {
        &self.spec.generic_name
    }
    /// Trade name (may be empty).
    pub fn trade_name(&self) -> &str {
        &self.spec.trade_name
    }
    /// Specification.
    pub fn specification(&self) -> &str {
        &self.spec.specification
    }
    /// Manufacturer.
    pub fn manufacturer(&self) -> &str {
        &self.spec.manufacturer
    }
    /// The manufacturer's institution code, when the catalog knows it.
    pub fn manufacturer_code(&self) -> Option<&str> {
        self.spec.manufacturer_code.as_deref()
    }
    /// Approval number (may be empty).
    pub fn approval_number(&self) -> &str {
        &self.spec.approval_number
    }
    /// Units in a whole pack.
    pub fn units_per_pack(&self) -> u32 {
        self.spec.units_per_pack
    }

    /// The first descriptive field in which two products of one insurance code differ.
    pub(crate) fn differs_from(&self, other: &Product) -> Option<&'static str> {
        let (a, b) = (&self.spec, &other.spec);
        [
            ("generic_name", a.generic_name != b.generic_name),
            ("trade_name", a.trade_name != b.trade_name),
            ("specification", a.specification != b.specification),
            ("manufacturer", a.manufacturer != b.manufacturer),
            ("approval_number", a.approval_number != b.approval_number),
            ("units_per_pack", a.units_per_pack != b.units_per_pack),
        ]
        .into_iter()
        .find_map(|(name, differs)| differs.then_some(name))
    }

    /// This product with `other`'s prefixes and GTINs added.
    pub(crate) fn merged(&self, other: &Product) -> Product {
        let mut spec = self.spec.clone();
        spec.drug_ids.extend_from_slice(&other.spec.drug_ids);
        spec.gtins.extend_from_slice(&other.spec.gtins);
        Product::new(spec).expect("merging two valid products stays valid")
    }
}
