//! Reading EPCIS 2.0 JSON-LD: an `EPCISDocument`, an `EPCISQueryDocument`, or one event (what
//! the REST binding's `POST /events` takes). The XML reader converts to this shape and ends
//! here too.

use serde_json::{Map, Value};

use crate::Epc;
use crate::document::{Document, DocumentKind};
use crate::error::{FieldError, ReadError, json_type};
use crate::event::{
    Action, BizTransaction, ErrorDeclaration, Event, EventType, Location, PersistentDisposition,
    QuantityElement, SourceDest,
};
use crate::namespaces::Namespaces;
use crate::time::{TimeZoneOffset, parse_instant};
use crate::vocab::{Vocab, Vocabulary};

/// Reads a parsed JSON document.
pub(crate) fn read_document(root: &Value) -> Result<Document, ReadError> {
    let Value::Object(obj) = root else {
        let reason = match root {
            Value::Array(_) => {
                "a bare JSON array of events is not an EPCIS document: the REST binding takes an EPCISDocument or EPCISQueryDocument (POST /capture) or one event (POST /events)".to_string()
            }
            other => format!("an EPCIS document is a JSON object, not {}", json_type(other)),
        };
        return Err(ReadError::NotEvents { reason });
    };
    let doc_err = |field: &str, problem: FieldError| ReadError::Document {
        field: field.to_string(),
        problem,
    };
    let mut namespaces = Namespaces::new();
    if let Some(ctx) = obj.get("@context") {
        read_context(ctx, &mut namespaces).map_err(|p| doc_err("@context", p))?;
    }
    let kind = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(other) => {
            return Err(doc_err(
                "type",
                FieldError::WrongType {
                    expected: "a string",
                    found: json_type(other),
                },
            ));
        }
        None => {
            return Err(ReadError::NotEvents {
                reason: "the JSON has no \"type\": expected \"EPCISDocument\", \"EPCISQueryDocument\" or an event type such as \"ObjectEvent\"".to_string(),
            });
        }
    };
    let header_string = |field: &str| -> Result<Option<String>, ReadError> {
        match obj.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(doc_err(
                field,
                FieldError::WrongType {
                    expected: "a string",
                    found: json_type(other),
                },
            )),
        }
    };
    if EventType::from_name(kind).is_some() {
        let event = read_event(obj, &namespaces, 0)?;
        return Ok(Document {
            kind: DocumentKind::SingleEvent,
            id: None,
            schema_version: None,
            creation_date: None,
            events: vec![event],
        });
    }
    let (doc_kind, list_path): (DocumentKind, &[&str]) = match kind {
        "EPCISDocument" => (DocumentKind::EpcisDocument, &["epcisBody", "eventList"]),
        "EPCISQueryDocument" => {
            let results = walk(obj, &["epcisBody", "queryResults"])?;
            let text = |field: &str, required: bool| -> Result<Option<String>, ReadError> {
                let path = format!("epcisBody.queryResults.{field}");
                match results.get(field) {
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Err(doc_err(
                        &path,
                        FieldError::WrongType {
                            expected: "a string",
                            found: json_type(other),
                        },
                    )),
                    None if required => Err(doc_err(&path, FieldError::Missing)),
                    None => Ok(None),
                }
            };
            let kind = DocumentKind::QueryDocument {
                query_name: text("queryName", true)?.unwrap_or_default(),
                subscription_id: text("subscriptionID", false)?,
            };
            (
                kind,
                &["epcisBody", "queryResults", "resultsBody", "eventList"],
            )
        }
        "EPCISMasterDataDocument" => {
            return Err(ReadError::NotEvents {
                reason: "an EPCISMasterDataDocument holds master data (vocabularies), not events"
                    .to_string(),
            });
        }
        other => {
            return Err(ReadError::NotEvents {
                reason: format!(
                    "type {other:?} is not an EPCIS document: expected \"EPCISDocument\", \"EPCISQueryDocument\" or an event type such as \"ObjectEvent\""
                ),
            });
        }
    };
    let list = walk(obj, list_path)?;
    let Value::Array(items) = list else {
        return Err(doc_err(
            &list_path.join("."),
            FieldError::WrongType {
                expected: "an array of events",
                found: json_type(list),
            },
        ));
    };
    let mut events = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::Object(event) = item else {
            return Err(ReadError::Event {
                index,
                field: "(the event)".to_string(),
                problem: FieldError::WrongType {
                    expected: "an object",
                    found: json_type(item),
                },
            });
        };
        events.push(read_event(event, &namespaces, index)?);
    }
    let creation_date = match header_string("creationDate")? {
        None => None,
        Some(s) => {
            Some(parse_instant(&s).map_err(|p| doc_err("creationDate", FieldError::Time(p)))?)
        }
    };
    Ok(Document {
        kind: doc_kind,
        id: header_string("id")?,
        schema_version: header_string("schemaVersion")?,
        creation_date,
        events,
    })
}

/// The value at `path` below `root`, each step an object member that must be there.
fn walk<'a>(root: &'a Map<String, Value>, path: &[&str]) -> Result<&'a Value, ReadError> {
    let missing = |depth: usize| ReadError::Document {
        field: path[..=depth].join("."),
        problem: FieldError::Missing,
    };
    let mut obj = root;
    for (depth, key) in path.iter().enumerate() {
        let value = obj.get(*key).ok_or_else(|| missing(depth))?;
        if depth + 1 == path.len() {
            return Ok(value);
        }
        obj = value.as_object().ok_or_else(|| ReadError::Document {
            field: path[..=depth].join("."),
            problem: FieldError::WrongType {
                expected: "an object",
                found: json_type(value),
            },
        })?;
    }
    Err(missing(0))
}

/// Extends `namespaces` with the prefixes a JSON-LD `@context` defines: string-valued terms
/// without a colon (`"example": "http://ns.example.com/epcis/"`) and terms with an `@id`.
/// Context URLs (the standard context) are references, not prefixes.
pub(crate) fn read_context(ctx: &Value, namespaces: &mut Namespaces) -> Result<(), FieldError> {
    match ctx {
        Value::String(_) | Value::Null => Ok(()),
        Value::Array(items) => items.iter().try_for_each(|c| read_context(c, namespaces)),
        Value::Object(terms) => {
            for (term, def) in terms {
                if term.starts_with('@') || term.contains(':') {
                    continue;
                }
                let iri = match def {
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(o) => o.get("@id").and_then(Value::as_str),
                    _ => None,
                };
                if let Some(iri) = iri.filter(|i| !i.starts_with('@')) {
                    namespaces.declare(term, iri);
                }
            }
            Ok(())
        }
        other => Err(FieldError::WrongType {
            expected: "a string, an object or an array",
            found: json_type(other),
        }),
    }
}

/// Whether `key` names a user extension: a prefixed name or a full IRI.
pub(crate) fn is_extension_key(key: &str) -> bool {
    key.contains(':')
}

/// The fields each event type has, beyond the ones all events share.
fn type_has(kind: EventType, field: &str) -> bool {
    use EventType::*;
    match field {
        "action" => kind != Transformation,
        "parentID" => matches!(kind, Aggregation | Transaction | Association),
        "epcList" | "quantityList" => matches!(kind, Object | Transaction),
        "childEPCs" | "childQuantityList" => matches!(kind, Aggregation | Association),
        "inputEPCList" | "outputEPCList" | "inputQuantityList" | "outputQuantityList"
        | "transformationID" => kind == Transformation,
        "ilmd" => matches!(kind, Object | Transformation),
        _ => true,
    }
}

/// Reads one event object. `inherited` are the document's namespaces; an event's own
/// `@context` adds to them.
pub(crate) fn read_event(
    obj: &Map<String, Value>,
    inherited: &Namespaces,
    index: usize,
) -> Result<Event, ReadError> {
    let err = |field: &str, problem: FieldError| ReadError::Event {
        index,
        field: field.to_string(),
        problem,
    };
    let mut namespaces = inherited.clone();
    if let Some(ctx) = obj.get("@context") {
        read_context(ctx, &mut namespaces).map_err(|p| err("@context", p))?;
    }
    let kind_name = match obj.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(err(
                "type",
                FieldError::WrongType {
                    expected: "a string",
                    found: json_type(other),
                },
            ));
        }
        None => return Err(err("type", FieldError::Missing)),
    };
    let kind = EventType::from_name(kind_name).ok_or_else(|| {
        err(
            "type",
            FieldError::NotAllowed {
                value: kind_name.to_string(),
                allowed: "ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent",
            },
        )
    })?;
    let f = Fields { index };
    let time = |field: &str| -> Result<Option<jiff::Timestamp>, ReadError> {
        match obj.get(field) {
            None => Ok(None),
            Some(v) => {
                let s = f.string(field, v)?;
                parse_instant(s)
                    .map(Some)
                    .map_err(|p| err(field, FieldError::Time(p)))
            }
        }
    };
    let event_time = time("eventTime")?.ok_or_else(|| err("eventTime", FieldError::Missing))?;
    let offset_text = f.string(
        "eventTimeZoneOffset",
        obj.get("eventTimeZoneOffset")
            .ok_or_else(|| err("eventTimeZoneOffset", FieldError::Missing))?,
    )?;
    let event_time_zone_offset = TimeZoneOffset::parse(offset_text)
        .map_err(|p| err("eventTimeZoneOffset", FieldError::Time(p)))?;

    let mut event = Event {
        kind,
        event_time,
        event_time_zone_offset,
        record_time: time("recordTime")?,
        event_id: None,
        certification_info: Vec::new(),
        error_declaration: None,
        action: None,
        parent_id: None,
        epc_list: Vec::new(),
        child_epcs: Vec::new(),
        input_epc_list: Vec::new(),
        output_epc_list: Vec::new(),
        quantity_list: Vec::new(),
        child_quantity_list: Vec::new(),
        input_quantity_list: Vec::new(),
        output_quantity_list: Vec::new(),
        transformation_id: None,
        biz_step: None,
        disposition: None,
        persistent_disposition: None,
        read_point: None,
        biz_location: None,
        biz_transaction_list: Vec::new(),
        source_list: Vec::new(),
        destination_list: Vec::new(),
        sensor_element_list: Vec::new(),
        ilmd: None,
        extensions: Map::new(),
        namespaces: Namespaces::new(),
    };

    for (key, value) in obj {
        if !type_has(kind, key) {
            return Err(err(
                key,
                FieldError::NotOfType {
                    event_type: kind.name(),
                },
            ));
        }
        match key.as_str() {
            "@context" | "type" | "eventTime" | "eventTimeZoneOffset" | "recordTime" => {}
            "eventID" => event.event_id = Some(f.string(key, value)?.to_string()),
            "certificationInfo" => {
                event.certification_info = match value {
                    Value::Array(items) => items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| f.string(&format!("{key}[{i}]"), v).map(str::to_string))
                        .collect::<Result<_, _>>()?,
                    v => vec![f.string(key, v)?.to_string()],
                }
            }
            "errorDeclaration" => event.error_declaration = Some(f.error_declaration(value)?),
            "action" => {
                let s = f.string(key, value)?;
                event.action = Some(Action::from_name(s).ok_or_else(|| {
                    err(
                        key,
                        FieldError::NotAllowed {
                            value: s.to_string(),
                            allowed: "ADD, OBSERVE, DELETE",
                        },
                    )
                })?);
            }
            "parentID" => event.parent_id = Some(f.epc(key, value)?),
            "epcList" => event.epc_list = f.epc_list(key, value)?,
            "childEPCs" => event.child_epcs = f.epc_list(key, value)?,
            "inputEPCList" => event.input_epc_list = f.epc_list(key, value)?,
            "outputEPCList" => event.output_epc_list = f.epc_list(key, value)?,
            "quantityList" => event.quantity_list = f.quantity_list(key, value)?,
            "childQuantityList" => event.child_quantity_list = f.quantity_list(key, value)?,
            "inputQuantityList" => event.input_quantity_list = f.quantity_list(key, value)?,
            "outputQuantityList" => event.output_quantity_list = f.quantity_list(key, value)?,
            "transformationID" => event.transformation_id = Some(f.string(key, value)?.to_string()),
            "bizStep" => event.biz_step = Some(f.vocab(key, value)?),
            "disposition" => event.disposition = Some(f.vocab(key, value)?),
            "persistentDisposition" => {
                event.persistent_disposition = Some(f.persistent_disposition(value)?)
            }
            "readPoint" => event.read_point = Some(f.location(key, value)?),
            "bizLocation" => event.biz_location = Some(f.location(key, value)?),
            "bizTransactionList" => event.biz_transaction_list = f.biz_transactions(value)?,
            "sourceList" => event.source_list = f.source_dest(key, "source", value)?,
            "destinationList" => {
                event.destination_list = f.source_dest(key, "destination", value)?
            }
            "sensorElementList" => event.sensor_element_list = f.sensor_elements(value)?,
            "ilmd" => event.ilmd = Some(f.object(key, value)?.clone()),
            k if is_extension_key(k) => {
                event.extensions.insert(k.to_string(), value.clone());
            }
            k => {
                return Err(err(
                    k,
                    FieldError::UnknownField {
                        name: k.to_string(),
                    },
                ));
            }
        }
    }
    if event.action.is_none() && kind != EventType::Transformation {
        return Err(err("action", FieldError::Missing));
    }
    event.namespaces = namespaces;
    Ok(event)
}

/// Field readers for one event, which know the event's index for their errors.
struct Fields {
    index: usize,
}

impl Fields {
    fn err(&self, field: &str, problem: FieldError) -> ReadError {
        ReadError::Event {
            index: self.index,
            field: field.to_string(),
            problem,
        }
    }

    fn wrong(&self, field: &str, expected: &'static str, v: &Value) -> ReadError {
        self.err(
            field,
            FieldError::WrongType {
                expected,
                found: json_type(v),
            },
        )
    }

    /// A string field, trimmed: EPCIS values carry no meaningful surrounding whitespace.
    fn string<'v>(&self, field: &str, v: &'v Value) -> Result<&'v str, ReadError> {
        match v {
            Value::String(s) => Ok(s.trim()),
            other => Err(self.wrong(field, "a string", other)),
        }
    }

    fn object<'v>(&self, field: &str, v: &'v Value) -> Result<&'v Map<String, Value>, ReadError> {
        match v {
            Value::Object(o) => Ok(o),
            other => Err(self.wrong(field, "an object", other)),
        }
    }

    fn array<'v>(&self, field: &str, v: &'v Value) -> Result<&'v [Value], ReadError> {
        match v {
            Value::Array(a) => Ok(a),
            other => Err(self.wrong(field, "an array", other)),
        }
    }

    fn epc(&self, field: &str, v: &Value) -> Result<Epc, ReadError> {
        let s = self.string(field, v)?;
        Epc::parse(s).map_err(|source| {
            self.err(
                field,
                FieldError::Identifier {
                    value: s.to_string(),
                    source: Box::new(source),
                },
            )
        })
    }

    fn epc_list(&self, field: &str, v: &Value) -> Result<Vec<Epc>, ReadError> {
        self.array(field, v)?
            .iter()
            .enumerate()
            .map(|(i, item)| self.epc(&format!("{field}[{i}]"), item))
            .collect()
    }

    fn vocab<V: Vocabulary>(&self, field: &str, v: &Value) -> Result<Vocab<V>, ReadError> {
        let s = self.string(field, v)?;
        Vocab::parse(s).map_err(|e| self.err(field, FieldError::Vocabulary(e)))
    }

    fn quantity_list(&self, field: &str, v: &Value) -> Result<Vec<QuantityElement>, ReadError> {
        let mut out = Vec::new();
        for (i, item) in self.array(field, v)?.iter().enumerate() {
            let path = format!("{field}[{i}]");
            let obj = self.object(&path, item)?;
            let mut epc_class = None;
            let mut quantity = None;
            let mut uom = None;
            for (key, value) in obj {
                let at = format!("{path}.{key}");
                match key.as_str() {
                    "epcClass" => epc_class = Some(self.epc(&at, value)?),
                    "quantity" => {
                        let q = value
                            .as_f64()
                            .filter(|q| q.is_finite())
                            .ok_or_else(|| self.wrong(&at, "a number", value))?;
                        quantity = Some(q);
                    }
                    "uom" => uom = Some(self.string(&at, value)?.to_string()),
                    k => {
                        return Err(self.err(
                            &at,
                            FieldError::UnknownField {
                                name: k.to_string(),
                            },
                        ));
                    }
                }
            }
            out.push(QuantityElement {
                epc_class: epc_class
                    .ok_or_else(|| self.err(&format!("{path}.epcClass"), FieldError::Missing))?,
                quantity,
                uom,
            });
        }
        Ok(out)
    }

    fn location(&self, field: &str, v: &Value) -> Result<Location, ReadError> {
        let obj = self.object(field, v)?;
        let mut id = None;
        let mut extensions = Map::new();
        for (key, value) in obj {
            let at = format!("{field}.{key}");
            match key.as_str() {
                "id" => id = Some(self.epc(&at, value)?),
                k if is_extension_key(k) => {
                    extensions.insert(k.to_string(), value.clone());
                }
                k => {
                    return Err(self.err(
                        &at,
                        FieldError::UnknownField {
                            name: k.to_string(),
                        },
                    ));
                }
            }
        }
        Ok(Location {
            id: id.ok_or_else(|| self.err(&format!("{field}.id"), FieldError::Missing))?,
            extensions,
        })
    }

    fn biz_transactions(&self, v: &Value) -> Result<Vec<BizTransaction>, ReadError> {
        let field = "bizTransactionList";
        let mut out = Vec::new();
        for (i, item) in self.array(field, v)?.iter().enumerate() {
            let path = format!("{field}[{i}]");
            let obj = self.object(&path, item)?;
            let mut kind = None;
            let mut id = None;
            for (key, value) in obj {
                let at = format!("{path}.{key}");
                match key.as_str() {
                    "type" => kind = Some(self.vocab(&at, value)?),
                    "bizTransaction" => id = Some(self.string(&at, value)?.to_string()),
                    k => {
                        return Err(self.err(
                            &at,
                            FieldError::UnknownField {
                                name: k.to_string(),
                            },
                        ));
                    }
                }
            }
            out.push(BizTransaction {
                kind,
                id: id.ok_or_else(|| {
                    self.err(&format!("{path}.bizTransaction"), FieldError::Missing)
                })?,
            });
        }
        Ok(out)
    }

    fn source_dest(
        &self,
        field: &str,
        member: &str,
        v: &Value,
    ) -> Result<Vec<SourceDest>, ReadError> {
        let mut out = Vec::new();
        for (i, item) in self.array(field, v)?.iter().enumerate() {
            let path = format!("{field}[{i}]");
            let obj = self.object(&path, item)?;
            let mut kind = None;
            let mut id = None;
            for (key, value) in obj {
                let at = format!("{path}.{key}");
                match key.as_str() {
                    "type" => kind = Some(self.vocab(&at, value)?),
                    k if k == member => id = Some(self.epc(&at, value)?),
                    k => {
                        return Err(self.err(
                            &at,
                            FieldError::UnknownField {
                                name: k.to_string(),
                            },
                        ));
                    }
                }
            }
            out.push(SourceDest {
                kind: kind.ok_or_else(|| self.err(&format!("{path}.type"), FieldError::Missing))?,
                id: id.ok_or_else(|| self.err(&format!("{path}.{member}"), FieldError::Missing))?,
            });
        }
        Ok(out)
    }

    fn persistent_disposition(&self, v: &Value) -> Result<PersistentDisposition, ReadError> {
        let field = "persistentDisposition";
        let obj = self.object(field, v)?;
        let mut out = PersistentDisposition::default();
        for (key, value) in obj {
            let at = format!("{field}.{key}");
            let list = match key.as_str() {
                "set" => &mut out.set,
                "unset" => &mut out.unset,
                k => {
                    return Err(self.err(
                        &at,
                        FieldError::UnknownField {
                            name: k.to_string(),
                        },
                    ));
                }
            };
            for (i, item) in self.array(&at, value)?.iter().enumerate() {
                list.push(self.vocab(&format!("{at}[{i}]"), item)?);
            }
        }
        Ok(out)
    }

    fn error_declaration(&self, v: &Value) -> Result<ErrorDeclaration, ReadError> {
        let field = "errorDeclaration";
        let obj = self.object(field, v)?;
        let mut declaration_time = None;
        let mut reason = None;
        let mut corrective_event_ids = Vec::new();
        let mut extensions = Map::new();
        for (key, value) in obj {
            let at = format!("{field}.{key}");
            match key.as_str() {
                "declarationTime" => {
                    let s = self.string(&at, value)?;
                    declaration_time =
                        Some(parse_instant(s).map_err(|p| self.err(&at, FieldError::Time(p)))?);
                }
                "reason" => reason = Some(self.vocab(&at, value)?),
                "correctiveEventIDs" => {
                    for (i, item) in self.array(&at, value)?.iter().enumerate() {
                        corrective_event_ids
                            .push(self.string(&format!("{at}[{i}]"), item)?.to_string());
                    }
                }
                k if is_extension_key(k) => {
                    extensions.insert(k.to_string(), value.clone());
                }
                k => {
                    return Err(self.err(
                        &at,
                        FieldError::UnknownField {
                            name: k.to_string(),
                        },
                    ));
                }
            }
        }
        Ok(ErrorDeclaration {
            declaration_time: declaration_time.ok_or_else(|| {
                self.err(&format!("{field}.declarationTime"), FieldError::Missing)
            })?,
            reason,
            corrective_event_ids,
            extensions,
        })
    }

    /// Sensor elements are kept as written; only their shape is checked, so that the hash
    /// and the writer can rely on it.
    fn sensor_elements(&self, v: &Value) -> Result<Vec<Value>, ReadError> {
        let field = "sensorElementList";
        let items = self.array(field, v)?;
        for (i, item) in items.iter().enumerate() {
            let path = format!("{field}[{i}]");
            let obj = self.object(&path, item)?;
            for (key, value) in obj {
                let at = format!("{path}.{key}");
                match key.as_str() {
                    "sensorMetadata" => {
                        self.object(&at, value)?;
                    }
                    "sensorReport" => {
                        for (j, report) in self.array(&at, value)?.iter().enumerate() {
                            self.object(&format!("{at}[{j}]"), report)?;
                        }
                    }
                    k if is_extension_key(k) => {}
                    k => {
                        return Err(self.err(
                            &at,
                            FieldError::UnknownField {
                                name: k.to_string(),
                            },
                        ));
                    }
                }
            }
        }
        Ok(items.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn base() -> Value {
        json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": "http://ex.example/"}],
            "type": "ObjectEvent",
            "eventTime": "2020-01-01T00:00:00.5+01:00",
            "eventTimeZoneOffset": "+01:00",
            "action": "ADD",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.1"],
            "bizStep": "commissioning",
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.0"},
            "quantityList": [{"epcClass": "urn:epc:idpat:sgtin:0614141.107346.*", "quantity": 2}],
            "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.07346"}],
            "ex:field": {"ex:a": [1, "b"]}
        })
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            "\\PC{0,24}".prop_map(Value::String),
            prop::sample::select(vec![
                "urn:epc:id:sgtin:0614141.107346.X",
                "https://id.gs1.org/01/10614141073464/21/x",
                "in_transit",
                "urn:epcglobal:cbv:disp:in_transit",
                "2020-02-02T00:00:00Z",
                "+05:30",
                "OBSERVE",
                "KGM",
            ])
            .prop_map(|s| Value::String(s.to_string())),
            any::<i32>().prop_map(|n| json!(n)),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "id", "type", "set", "ex:k", "epcClass", "quantity", "source"
                        ]),
                        inner
                    ),
                    0..4
                )
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        /// Whatever value a field holds, reading fails cleanly or gives an event that
        /// survives writing and reading again.
        #[test]
        fn any_field_value_is_refused_or_round_trips(
            field in prop::sample::select(vec![
                "type", "eventTime", "eventTimeZoneOffset", "recordTime", "eventID", "certificationInfo",
                "errorDeclaration", "action", "parentID", "epcList", "childEPCs", "quantityList", "bizStep",
                "disposition", "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList",
                "sourceList", "destinationList", "sensorElementList", "ilmd", "ex:field", "unknown", "@context",
            ]),
            value in any_value(),
        ) {
            let mut event = base();
            event[field] = value;
            if let Ok(doc) = read_document(&event) {
                let written = doc.to_json_ld();
                let again = read_document(&written).expect("what was written reads back");
                prop_assert_eq!(again.events(), doc.events());
                prop_assert_eq!(again.events()[0].hash_id(), doc.events()[0].hash_id());
            }
        }
    }

    #[test]
    fn the_base_event_reads() {
        let doc = read_document(&base()).unwrap();
        assert_eq!(doc.events()[0].epc_list().len(), 1);
    }
}
