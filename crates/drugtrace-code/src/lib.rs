//! Drug trace codes, parsed from what scanners send, and the canonical pack key they map to.
//!
//! This crate owns the identity of a pack. It knows China's 20-digit drug trace code
//! ([`ChinaCode`], 药品追溯码: a 7-digit drug identification code, 药品标识码, then 13 digits
//! of serial and check), GS1 element strings as read from a DataMatrix (GTIN, expiry, batch,
//! serial) and GS1 Digital Link URIs, uncompressed or compressed (both give a [`Gs1Pack`]).
//! It recognises a carton's or pallet's [`Sscc`] scanned by mistake, a code typed through
//! the wrong keyboard layout, and one typed with Caps Lock on where its case shows it.
//! [`TraceCode::parse`] reads any of them, after cleaning scanner noise (surrounding
//! whitespace, full-width characters), and every kind maps to one [`PackKey`], the short
//! byte string that storage keys packs by: two scans of one pack in different forms give
//! equal keys.
//!
//! Parse, don't validate: a value of any type here that exists is valid, and every parser
//! fails with a [`ParseError`] whose message tells the person at the scanner what is wrong
//! and where. The crate does no I/O, knows nothing of storage, serde or HTTP, and has no
//! dependencies.

mod ai;
mod caps_lock;
mod china;
mod compressed;
mod digital_link;
mod drug_id;
mod element_string;
mod error;
mod expiry;
pub(crate) mod gs1;
mod gtin;
mod normalize;
mod pack_key;
mod sscc;
mod trace_code;

pub use china::ChinaCode;
pub use drug_id::{DrugId, DrugIdError};
pub use error::{CapsLockSign, CompressedProblem, ExpiryProblem, ParseError};
pub use expiry::Expiry;
pub use gs1::Gs1Pack;
pub use gtin::{Gtin, GtinError};
pub use pack_key::{PackIdentity, PackKey, PackKeyError, ProductKey};
pub use sscc::Sscc;
pub use trace_code::{TraceCode, parse_case};
