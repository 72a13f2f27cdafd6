//! Reading chain events from files: CSV and JSON Lines records become ledger [`Event`]s,
//! one result per line, so that a bad line is reported with its number and reason and the
//! good lines around it are kept.
//!
//! This is an edge of the system: its record types are the file formats, kept apart from
//! the domain types. The insured person's identity is hashed the moment a record is parsed,
//! and is redacted from anything this crate hands back for a reject file.
//!
//! [`Event`]: drugtrace_ledger::Event

mod amount;
mod fields;
mod reader;

pub use amount::parse_yuan;
pub use fields::{FIELDS, ParseContext, RecordError};
pub use reader::{Format, FormatError, Line, LineError, Reader};
