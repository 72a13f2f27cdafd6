//! Reading chain events from files: CSV and JSON Lines records become ledger [`Event`]s,
//! one result per line, so that a bad line is reported with its number and reason and the
//! good lines around it are kept.
//!
//! [`import_file`] runs a whole file: a reader thread parses while the ledger judges one
//! batch and commits the one before, and bad lines go to a reject file.
//!
//! This is an edge of the system: its record types are the file formats, kept apart from
//! the domain types. The insured person's identity is hashed the moment a record is parsed,
//! and is redacted from anything this crate hands back for a reject file. Amounts in yuan
//! are read by `drugtrace-money`'s one parser.
//!
//! [`SettlementReader`] reads the settlement system's export of drug items, the upload
//! rate's denominator, by the same field readers.
//!
//! [`Event`]: drugtrace_ledger::Event

mod fields;
mod pipeline;
mod reader;
mod settlements;

pub use fields::{FIELDS, ParseContext, RecordError, parse_json_event};
pub use pipeline::{ImportError, ImportOptions, ImportProgress, ImportSummary, import_file};
pub use reader::{Format, FormatError, Line, LineError, Reader};
pub use settlements::{SETTLEMENT_COLUMNS, SettlementFileError, SettlementItem, SettlementReader};
