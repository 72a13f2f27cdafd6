//! Why a document could not be read, in words for the person who sent it: each error says
//! what is wrong and where (which event, counting from 1, and which field).

use crate::{EpcError, VocabError};

/// Why an EPCIS document, or a single event, could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The text is not JSON.
    #[error("the document is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The text is not well-formed XML.
    #[error("the document is not well-formed XML (line {line}): {message}")]
    Xml {
        /// The line (from 1) where reading stopped.
        line: usize,
        /// What the XML reader found wrong.
        message: String,
    },
    /// Well-formed, but not something that holds EPCIS events.
    #[error("{reason}")]
    NotEvents {
        /// What the document is instead, and what is expected.
        reason: String,
    },
    /// A field of the document around the events is wrong.
    #[error("document: {field} {problem}")]
    Document {
        /// The field's path, such as `epcisBody.eventList`.
        field: String,
        /// What is wrong with it.
        #[source]
        problem: FieldError,
    },
    /// A field of one event is wrong.
    #[error("event {number}: {field} {problem}", number = index + 1)]
    Event {
        /// The event's position in the document, from 0 (messages count from 1).
        index: usize,
        /// The field's path within the event, such as `epcList[2]` or `readPoint.id`.
        field: String,
        /// What is wrong with it.
        #[source]
        problem: FieldError,
    },
}

/// What is wrong with one field. Each message reads after the field's name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A required field is absent.
    #[error("is missing")]
    Missing,
    /// A field has the wrong JSON type.
    #[error("must be {expected}, not {found}")]
    WrongType {
        /// What the field must be, such as `"a string"`.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// An identifier that is not a valid GS1 key.
    #[error("{value:?}: {source}")]
    Identifier {
        /// The identifier as written.
        value: String,
        /// What is wrong with it.
        source: Box<EpcError>,
    },
    /// A value of a CBV vocabulary that is neither a term nor a URI.
    #[error("{0}")]
    Vocabulary(#[from] VocabError),
    /// A time or time zone offset that cannot be read.
    #[error("{0}")]
    Time(String),
    /// A value outside a closed set.
    #[error("{value:?} is not one of {allowed}")]
    NotAllowed {
        /// The value as written.
        value: String,
        /// The values allowed.
        allowed: &'static str,
    },
    /// A field the event's type does not have.
    #[error("is not a field of {event_type}")]
    NotOfType {
        /// The event's type.
        event_type: &'static str,
    },
    /// A name that is neither an EPCIS field nor a namespaced extension.
    #[error(
        "is not an EPCIS field; a user extension field needs a namespace prefix, such as \"example:{name}\""
    )]
    UnknownField {
        /// The name as written.
        name: String,
    },
    /// An element or value that does not belong where it is.
    #[error("{0}")]
    Unexpected(String),
}

/// The JSON type of `v`, for messages.
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
