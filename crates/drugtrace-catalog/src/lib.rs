//! The product catalog and the three-code mapping (三码映射): the insurance drug code
//! (医保码) ↔ the drug identification prefix of trace codes (药品标识码) ↔ the commodity
//! barcode (商品码, a GTIN), with each product's names, specification, manufacturer,
//! approval number and units per pack.
//!
//! It also keeps the directory of institutions (name, kind, province, city, place).
//!
//! The catalog lives in memory and is read from and written to CSV, or folded from a shared
//! journal of imports when several servers share it ([`SharedImports`]); it knows nothing of
//! the ledger, of any database, or of HTTP.

mod catalog;
mod csv_io;
mod institutions;
mod insurance_code;
mod product;
mod shared;

pub use catalog::{Catalog, CatalogError, RowRef};
pub use csv_io::{COLUMNS, CatalogImportError, ImportSummary, RowError};
pub use institutions::{Directory, INSTITUTION_COLUMNS, Institution, InstitutionKind};
pub use insurance_code::{InsuranceCode, InsuranceCodeError, InsuranceCodeKind};
pub use product::{Product, ProductError, ProductSpec};
pub use shared::{Imported, SharedImportError, SharedImports};
