//! Writing events as EPCIS 2.0 JSON-LD, alone or in an `EPCISDocument` or
//! `EPCISQueryDocument`, so that an event captured from XML can be answered as JSON.

use serde_json::{Map, Number, Value, json};

use crate::Epc;
use crate::document::{Document, DocumentKind};
use crate::event::{Event, Location, QuantityElement};
use crate::namespaces::{EPCIS_CONTEXT, Namespaces};

impl Event {
    /// The event as an entry of a JSON-LD `eventList`: standard fields in their JSON-LD
    /// names, CBV values by their short names, identifiers as they were written, extension
    /// fields as they were read. The event's namespaces are not included; a document carries
    /// them in its `@context` (see [`Event::to_json_ld_with_context`] for an event alone).
    pub fn to_json_ld(&self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), self.kind.name().into());
        let offset = self.event_time_zone_offset;
        o.insert(
            "eventTime".into(),
            self.event_time
                .display_with_offset(offset.to_offset())
                .to_string()
                .into(),
        );
        o.insert("eventTimeZoneOffset".into(), offset.to_string().into());
        if let Some(t) = self.record_time {
            o.insert("recordTime".into(), t.to_string().into());
        }
        if let Some(id) = &self.event_id {
            o.insert("eventID".into(), id.clone().into());
        }
        match self.certification_info.as_slice() {
            [] => {}
            [one] => {
                o.insert("certificationInfo".into(), one.clone().into());
            }
            many => {
                o.insert("certificationInfo".into(), many.to_vec().into());
            }
        }
        if let Some(ed) = &self.error_declaration {
            let mut e = ed.extensions.clone();
            e.insert(
                "declarationTime".into(),
                ed.declaration_time.to_string().into(),
            );
            if let Some(r) = &ed.reason {
                e.insert("reason".into(), r.to_string().into());
            }
            if !ed.corrective_event_ids.is_empty() {
                e.insert(
                    "correctiveEventIDs".into(),
                    ed.corrective_event_ids.clone().into(),
                );
            }
            o.insert("errorDeclaration".into(), Value::Object(e));
        }
        if let Some(a) = self.action {
            o.insert("action".into(), a.name().into());
        }
        if let Some(p) = &self.parent_id {
            o.insert("parentID".into(), p.as_written().into());
        }
        for (name, list) in [
            ("epcList", &self.epc_list),
            ("childEPCs", &self.child_epcs),
            ("inputEPCList", &self.input_epc_list),
            ("outputEPCList", &self.output_epc_list),
        ] {
            if !list.is_empty() {
                o.insert(
                    name.into(),
                    list.iter().map(Epc::as_written).collect::<Vec<_>>().into(),
                );
            }
        }
        for (name, list) in [
            ("quantityList", &self.quantity_list),
            ("childQuantityList", &self.child_quantity_list),
            ("inputQuantityList", &self.input_quantity_list),
            ("outputQuantityList", &self.output_quantity_list),
        ] {
            if !list.is_empty() {
                o.insert(
                    name.into(),
                    Value::Array(list.iter().map(quantity).collect()),
                );
            }
        }
        if let Some(id) = &self.transformation_id {
            o.insert("transformationID".into(), id.clone().into());
        }
        if let Some(s) = &self.biz_step {
            o.insert("bizStep".into(), s.to_string().into());
        }
        if let Some(d) = &self.disposition {
            o.insert("disposition".into(), d.to_string().into());
        }
        if let Some(pd) = &self.persistent_disposition {
            let mut p = Map::new();
            for (name, list) in [("set", &pd.set), ("unset", &pd.unset)] {
                if !list.is_empty() {
                    p.insert(
                        name.into(),
                        list.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .into(),
                    );
                }
            }
            o.insert("persistentDisposition".into(), Value::Object(p));
        }
        if let Some(l) = &self.read_point {
            o.insert("readPoint".into(), location(l));
        }
        if let Some(l) = &self.biz_location {
            o.insert("bizLocation".into(), location(l));
        }
        if !self.biz_transaction_list.is_empty() {
            let list = self
                .biz_transaction_list
                .iter()
                .map(|t| {
                    let mut b = Map::new();
                    if let Some(k) = &t.kind {
                        b.insert("type".into(), k.to_string().into());
                    }
                    b.insert("bizTransaction".into(), t.id.clone().into());
                    Value::Object(b)
                })
                .collect();
            o.insert("bizTransactionList".into(), Value::Array(list));
        }
        for (name, member, list) in [
            ("sourceList", "source", &self.source_list),
            ("destinationList", "destination", &self.destination_list),
        ] {
            if !list.is_empty() {
                let items = list
                    .iter()
                    .map(|sd| json!({ "type": sd.kind.to_string(), member: sd.id.as_written() }))
                    .collect();
                o.insert(name.into(), Value::Array(items));
            }
        }
        if !self.sensor_element_list.is_empty() {
            o.insert(
                "sensorElementList".into(),
                Value::Array(self.sensor_element_list.clone()),
            );
        }
        if let Some(ilmd) = &self.ilmd {
            o.insert("ilmd".into(), Value::Object(ilmd.clone()));
        }
        for (k, v) in &self.extensions {
            o.insert(k.clone(), v.clone());
        }
        Value::Object(o)
    }

    /// The event alone, as `GET /events/{eventID}` answers it: [`Event::to_json_ld`] with an
    /// `@context` of the standard context and the event's namespaces.
    pub fn to_json_ld_with_context(&self) -> Value {
        let mut v = self.to_json_ld();
        if let Value::Object(o) = &mut v {
            o.insert("@context".into(), context(&self.namespaces));
        }
        v
    }
}

impl Document {
    /// The document as JSON-LD: an `EPCISDocument`, an `EPCISQueryDocument` (the shape the
    /// REST binding answers queries with), or the single event. Namespaces the events agree
    /// on go to the document's `@context`; an event that binds one of those prefixes to
    /// another IRI carries its own `@context` too.
    pub fn to_json_ld(&self) -> Value {
        if self.kind == DocumentKind::SingleEvent
            && let [event] = self.events.as_slice()
        {
            return event.to_json_ld_with_context();
        }
        let mut shared = Namespaces::new();
        let mut events = Vec::with_capacity(self.events.len());
        for event in &self.events {
            let mut v = event.to_json_ld();
            let clashes = shared.merge(&event.namespaces);
            if !clashes.is_empty()
                && let Value::Object(o) = &mut v
            {
                let own: Map<String, Value> = event
                    .namespaces
                    .iter()
                    .filter(|(p, _)| clashes.iter().any(|c| c == p))
                    .map(|(p, i)| (p.to_string(), Value::String(i.to_string())))
                    .collect();
                o.insert("@context".into(), Value::Object(own));
            }
            events.push(v);
        }
        let mut doc = Map::new();
        doc.insert("@context".into(), context(&shared));
        if let Some(id) = &self.id {
            doc.insert("id".into(), id.clone().into());
        }
        doc.insert(
            "schemaVersion".into(),
            self.schema_version
                .clone()
                .unwrap_or_else(|| "2.0".into())
                .into(),
        );
        if let Some(t) = self.creation_date {
            doc.insert("creationDate".into(), t.to_string().into());
        }
        match &self.kind {
            DocumentKind::QueryDocument {
                query_name,
                subscription_id,
            } => {
                doc.insert("type".into(), "EPCISQueryDocument".into());
                let mut results = Map::new();
                results.insert("queryName".into(), query_name.clone().into());
                if let Some(s) = subscription_id {
                    results.insert("subscriptionID".into(), s.clone().into());
                }
                results.insert("resultsBody".into(), json!({ "eventList": events }));
                doc.insert("epcisBody".into(), json!({ "queryResults": results }));
            }
            DocumentKind::EpcisDocument | DocumentKind::SingleEvent => {
                doc.insert("type".into(), "EPCISDocument".into());
                doc.insert("epcisBody".into(), json!({ "eventList": events }));
            }
        }
        Value::Object(doc)
    }
}

/// A JSON-LD `@context`: the standard context, then an object of the declared prefixes.
fn context(ns: &Namespaces) -> Value {
    let mut items = vec![Value::String(EPCIS_CONTEXT.to_string())];
    if !ns.is_empty() {
        items.push(Value::Object(
            ns.iter()
                .map(|(p, i)| (p.to_string(), Value::String(i.to_string())))
                .collect(),
        ));
    }
    Value::Array(items)
}

fn quantity(q: &QuantityElement) -> Value {
    let mut o = Map::new();
    o.insert("epcClass".into(), q.epc_class.as_written().into());
    if let Some(n) = q.quantity.and_then(Number::from_f64) {
        o.insert("quantity".into(), Value::Number(n));
    }
    if let Some(u) = &q.uom {
        o.insert("uom".into(), u.clone().into());
    }
    Value::Object(o)
}

fn location(l: &Location) -> Value {
    let mut o = l.extensions.clone();
    o.insert("id".into(), l.id.as_written().into());
    Value::Object(o)
}
