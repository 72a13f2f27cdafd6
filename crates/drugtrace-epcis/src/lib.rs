//! GS1 EPCIS 2.0 for drugtrace: reading the event documents trading partners send, in
//! JSON-LD or XML, into typed [`Event`]s; mapping the GS1 identifiers in them to drugtrace's
//! [`PackKey`](drugtrace_code::PackKey); computing GS1's event hash id; and writing events
//! back as EPCIS 2.0 JSON-LD.
//!
//! - [`Document::from_json`], [`Document::from_xml`] and [`Document::read`] read an
//!   `EPCISDocument`, an `EPCISQueryDocument` or one bare event (what the REST binding's
//!   `POST /capture` and `POST /events` take), failing with a [`ReadError`] that names the
//!   event (counting from 1) and the field that is wrong.
//! - [`Epc`] reads an identifier in either form, EPC URN or GS1 Digital Link; an SGTIN's
//!   [`Epc::pack_key`] is the key a scan of the pack gives.
//! - [`Event::hash_id`] is the CBV 2.0 event hash (`ni:///sha-256;…?ver=CBV2.0`) as the
//!   standard's text specifies it, equal for one event however it was written. GS1's own
//!   example ids were made with drafts of the algorithm and do not match it; the tests in
//!   `tests/examples/hash_ids.rs` say which differ and how.
//! - [`Event::to_json_ld`] and [`Document::to_json_ld`] write JSON-LD, so an event captured
//!   from XML can be answered as JSON.
//! - [`QuerySchedule`] reads a scheduled query subscription's schedule and says when it runs
//!   next ([`QuerySchedule::next_after`]) and when it last ran
//!   ([`QuerySchedule::last_at_or_before`]).
//!
//! Parse, don't validate: a value that exists is valid. Standard fields are typed; sensor
//! data, ILMD and user extension fields are kept as the JSON-LD the sender wrote (an XML
//! sender's converted to the same shape), so nothing sent is lost.
//!
//! The crate does no I/O and keeps nothing: it knows no files, storage, ledger or HTTP. It
//! does not read master data documents or header master data, and does not check events
//! against the EPCIS JSON schema beyond what its types need.

mod document;
mod epc;
mod error;
mod event;
mod hash;
mod namespaces;
mod read_json;
mod read_xml;
mod schedule;
mod time;
pub mod vocab;
mod write;

pub use document::{Document, DocumentKind};
pub use epc::{Epc, EpcError, Gln, GtinClass, Lgtin, Pgln, Sgln, Sgtin, SsccId};
pub use error::{FieldError, ReadError};
pub use event::{
    Action, BizTransaction, ErrorDeclaration, Event, EventType, Location, PersistentDisposition,
    QuantityElement, SourceDest,
};
pub use namespaces::{EPCIS_CONTEXT, Namespaces};
pub use schedule::{QuerySchedule, ScheduleError, ScheduleFields};
pub use time::TimeZoneOffset;
pub use vocab::{
    BizStep, BizTransactionType, Disposition, ErrorReason, SourceDestType, Vocab, VocabError,
};
