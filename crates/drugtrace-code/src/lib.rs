//! Drug trace codes, parsed from what scanners send, and the canonical pack key they map to.
//!
//! This crate owns the identity of a pack. It knows China's 20-digit drug trace code
//! (药品追溯码: a 7-digit drug identification code, 药品标识码, then 13 digits of serial and
//! check), GS1 element strings as read from a DataMatrix (GTIN, expiry, batch, serial) and GS1
//! Digital Link URIs. Each parses into a [`TraceCode`], and every kind maps to one [`PackKey`],
//! the short byte string that storage keys packs by.
//!
//! Parse, don't validate: a value of any type here that exists is valid. The crate does no
//! I/O, knows nothing of storage, serde or HTTP, and has no dependencies.

mod drug_id;
pub(crate) mod gs1;
mod gtin;
mod pack_key;

pub use drug_id::{DrugId, DrugIdError};
pub use gtin::{Gtin, GtinError};
pub use pack_key::{PackIdentity, PackKey, PackKeyError, ProductKey};
