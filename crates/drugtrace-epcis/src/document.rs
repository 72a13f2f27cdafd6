//! An EPCIS document: its events and the header facts drugtrace keeps about it.

use jiff::Timestamp;

use crate::Event;
use crate::error::ReadError;

/// What a document was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentKind {
    /// An `EPCISDocument`, what `POST /capture` takes.
    EpcisDocument,
    /// An `EPCISQueryDocument`, the answer to a query (which `POST /capture` takes too).
    QueryDocument {
        /// The query's name, such as `SimpleEventQuery`.
        query_name: String,
        /// The subscription the answer was sent for, when it was.
        subscription_id: Option<String>,
    },
    /// One bare event, what `POST /events` takes.
    SingleEvent,
}

/// An EPCIS document's events, with the facts of its header.
///
/// The standard business document header and master data of a document's header are not
/// read: drugtrace takes events, and its catalog is its master data.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub(crate) kind: DocumentKind,
    pub(crate) id: Option<String>,
    pub(crate) schema_version: Option<String>,
    pub(crate) creation_date: Option<Timestamp>,
    pub(crate) events: Vec<Event>,
}

impl Document {
    /// Reads EPCIS 2.0 JSON-LD: an `EPCISDocument`, an `EPCISQueryDocument` or one event.
    pub fn from_json(text: &str) -> Result<Document, ReadError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(ReadError::Json)?;
        Document::from_json_value(&value)
    }

    /// Reads EPCIS 2.0 JSON-LD already parsed.
    pub fn from_json_value(value: &serde_json::Value) -> Result<Document, ReadError> {
        crate::read_json::read_document(value)
    }

    /// Reads EPCIS XML (2.0, and 1.x documents in their `extension` wrappers): an
    /// `EPCISDocument`, an `EPCISQueryDocument` or one event element.
    pub fn from_xml(text: &str) -> Result<Document, ReadError> {
        crate::read_xml::read_document(text)
    }

    /// Reads XML when the text starts with `<` (after whitespace and a byte-order mark),
    /// JSON-LD otherwise.
    pub fn read(text: &str) -> Result<Document, ReadError> {
        if text
            .trim_start_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
            .starts_with('<')
        {
            Document::from_xml(text)
        } else {
            Document::from_json(text)
        }
    }

    /// A query answer to be written ([`Document::to_json_ld`]) as an `EPCISQueryDocument`.
    pub fn query_answer(
        query_name: &str,
        subscription_id: Option<&str>,
        creation_date: Timestamp,
        events: Vec<Event>,
    ) -> Document {
        Document {
            kind: DocumentKind::QueryDocument {
                query_name: query_name.to_string(),
                subscription_id: subscription_id.map(str::to_string),
            },
            id: None,
            schema_version: Some("2.0".to_string()),
            creation_date: Some(creation_date),
            events,
        }
    }

    /// What the document was.
    pub fn kind(&self) -> &DocumentKind {
        &self.kind
    }

    /// The document's own identifier (`id`), when given.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The EPCIS schema version the document states (`2.0`).
    pub fn schema_version(&self) -> Option<&str> {
        self.schema_version.as_deref()
    }

    /// When the document was created, when stated.
    pub fn creation_date(&self) -> Option<Timestamp> {
        self.creation_date
    }

    /// The events, in document order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The events, taken out of the document.
    pub fn into_events(self) -> Vec<Event> {
        self.events
    }
}
