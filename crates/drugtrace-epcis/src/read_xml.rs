//! Reading EPCIS XML by converting it to the JSON-LD shape, which [`crate::read_json`] reads.
//!
//! The conversion follows the EPCIS 2.0 JSON binding: list wrappers become arrays
//! (`<epcList><epc>…` → `"epcList": […]`), attributes become members (`<bizTransaction
//! type="…">` → `{"type": …, "bizTransaction": …}`, a sensor report's attributes its
//! members), and user extension elements become members keyed `prefix:local`, repeated
//! elements an array, nested elements an object, an element's text its value (or `#text`
//! beside attributes and children). An extension value typed `xsi:type="xsd:integer"` (or
//! another numeric type) becomes a JSON number and `xsd:boolean` a boolean, as GS1's JSON
//! examples write them. The unqualified `extension` and `baseExtension` wrappers of EPCIS 1.x
//! are dissolved into their parent. Each prefix keeps the namespace it was declared with,
//! and goes to the converted document's `@context`.

use serde_json::{Map, Number, Value};

use crate::document::Document;
use crate::error::{FieldError, ReadError};
use crate::event::EventType;
use crate::namespaces::EPCIS_CONTEXT;

mod tree;

use tree::{Attr, Node, parse_tree, split_qname};

/// The XML Schema instance namespace, whose attributes (`xsi:type`) annotate values.
pub(crate) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The namespace of CBV master data attributes in XML. JSON-LD writes it with a trailing
/// colon, and the standard context fixes the prefix `cbvmda` to that form.
const CBVMDA_XML: &str = "urn:epcglobal:cbv:mda";

/// The JSON-LD prefixes chosen for the XML namespaces met, one prefix per namespace.
#[derive(Default)]
struct Prefixes {
    bound: Vec<(String, String)>,
}

impl Prefixes {
    /// The JSON-LD key of a qualified name: `prefix:local`, with the prefix written in the
    /// XML when it is free for this namespace, else a fresh one.
    fn key(&mut self, prefix: Option<&str>, ns: &str, local: &str) -> String {
        if ns == CBVMDA_XML || ns == "urn:epcglobal:cbv:mda:" {
            return format!("cbvmda:{local}");
        }
        if let Some((p, _)) = self.bound.iter().find(|(_, n)| n == ns) {
            return format!("{p}:{local}");
        }
        let wanted = prefix.unwrap_or("ns");
        let taken = |p: &str| self.bound.iter().any(|(b, _)| b == p) || is_standard_prefix(p);
        let mut chosen = wanted.to_string();
        let mut n = 1;
        while taken(&chosen) {
            n += 1;
            chosen = format!("{wanted}{n}");
        }
        self.bound.push((chosen.clone(), ns.to_string()));
        format!("{chosen}:{local}")
    }

    fn context(&self) -> Value {
        let mut ctx = Map::new();
        for (p, ns) in &self.bound {
            ctx.insert(p.clone(), Value::String(ns.clone()));
        }
        Value::Array(vec![
            Value::String(EPCIS_CONTEXT.to_string()),
            Value::Object(ctx),
        ])
    }
}

/// The prefixes the standard EPCIS context defines (and protects): a namespace the XML binds
/// to one of them under another IRI gets another prefix.
fn is_standard_prefix(p: &str) -> bool {
    matches!(
        p,
        "epcis" | "cbv" | "cbvmda" | "gs1" | "rdfs" | "owl" | "xsd" | "dcterms"
    )
}

/// Reads an EPCIS XML document.
pub(crate) fn read_document(text: &str) -> Result<Document, ReadError> {
    let root = parse_tree(text)?;
    let mut prefixes = Prefixes::default();
    let mut doc = Map::new();
    let not_events = |reason: &str| ReadError::NotEvents {
        reason: reason.to_string(),
    };
    if EventType::from_name(&root.local).is_some() && root.ns.is_none() {
        let mut event = convert_event(&root, 0, &mut prefixes)?;
        event.insert("@context".to_string(), prefixes.context());
        return crate::read_json::read_document(&Value::Object(event));
    }
    match root.local.as_str() {
        "EPCISDocument" => {
            doc.insert("type".into(), "EPCISDocument".into());
            let events = event_list(&root, &["EPCISBody", "EventList"], &mut prefixes)?;
            doc.insert(
                "epcisBody".into(),
                object([("eventList", Value::Array(events))]),
            );
        }
        "EPCISQueryDocument" => {
            doc.insert("type".into(), "EPCISQueryDocument".into());
            let body = child(&root, "EPCISBody").ok_or_else(|| missing("EPCISBody"))?;
            // `QueryResults` is in the query namespace; its children are unqualified.
            let results = body
                .children
                .iter()
                .find(|c| c.local == "QueryResults")
                .ok_or_else(|| missing("EPCISBody/QueryResults"))?;
            let mut qr = Map::new();
            for field in ["queryName", "subscriptionID"] {
                if let Some(c) = child(results, field) {
                    qr.insert(field.to_string(), Value::String(c.text().to_string()));
                }
            }
            let events = event_list(results, &["resultsBody", "EventList"], &mut prefixes)?;
            qr.insert(
                "resultsBody".into(),
                object([("eventList", Value::Array(events))]),
            );
            doc.insert(
                "epcisBody".into(),
                object([("queryResults", Value::Object(qr))]),
            );
        }
        "EPCISMasterDataDocument" => {
            return Err(not_events(
                "an EPCISMasterDataDocument holds master data (vocabularies), not events",
            ));
        }
        "EPCISCaptureJob" => {
            return Err(not_events(
                "an EPCISCaptureJob is the status of a capture request, not a document of events",
            ));
        }
        other => {
            return Err(ReadError::NotEvents {
                reason: format!(
                    "the root element <{other}> is not an EPCIS document: expected EPCISDocument, EPCISQueryDocument or an event such as ObjectEvent"
                ),
            });
        }
    }
    for attr in ["schemaVersion", "creationDate"] {
        if let Some(v) = root.attr(attr) {
            doc.insert(attr.to_string(), Value::String(v.to_string()));
        }
    }
    doc.insert("@context".to_string(), prefixes.context());
    crate::read_json::read_document(&Value::Object(doc))
}

fn missing(path: &str) -> ReadError {
    ReadError::Document {
        field: path.to_string(),
        problem: FieldError::Missing,
    }
}

fn child<'a>(node: &'a Node, name: &str) -> Option<&'a Node> {
    node.children.iter().find(|c| c.is(name))
}

fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// The events under `path` (an empty or absent `EventList` holds none), EPCIS 1.x
/// `extension` wrappers dissolved.
fn event_list(
    under: &Node,
    path: &[&str],
    prefixes: &mut Prefixes,
) -> Result<Vec<Value>, ReadError> {
    let mut node = under;
    for (depth, name) in path.iter().enumerate() {
        match child(node, name) {
            Some(c) => node = c,
            // A document may leave the list out when it has no events.
            None if depth + 1 == path.len() => return Ok(Vec::new()),
            None => return Err(missing(&path[..=depth].join("/"))),
        }
    }
    let mut out = Vec::new();
    for (index, e) in node.flat_children().into_iter().enumerate() {
        out.push(Value::Object(convert_event(e, index, prefixes)?));
    }
    Ok(out)
}

/// Converts one event element to its JSON-LD object.
fn convert_event(
    e: &Node,
    index: usize,
    prefixes: &mut Prefixes,
) -> Result<Map<String, Value>, ReadError> {
    let err = |field: &str, what: String| ReadError::Event {
        index,
        field: field.to_string(),
        problem: FieldError::Unexpected(what),
    };
    if e.ns.is_some() || EventType::from_name(&e.local).is_none() {
        return Err(err(
            "(the event)",
            format!(
                "<{}> is not an EPCIS event: expected ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent",
                e.local
            ),
        ));
    }
    let mut out = Map::new();
    out.insert("type".into(), Value::String(e.local.clone()));
    let mut cert = Vec::new();
    for c in e.flat_children() {
        if c.ns.is_some() {
            insert_extension(&mut out, c, prefixes);
            continue;
        }
        {
            let name = c.local.as_str();
            let value = match name {
                "eventTime"
                | "recordTime"
                | "eventTimeZoneOffset"
                | "eventID"
                | "action"
                | "parentID"
                | "transformationID"
                | "bizStep"
                | "disposition" => Value::String(c.text().to_string()),
                "certificationInfo" => {
                    cert.push(Value::String(c.text().to_string()));
                    continue;
                }
                "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => {
                    let mut epcs = Vec::new();
                    for item in &c.children {
                        if !item.is("epc") {
                            return Err(err(
                                name,
                                format!(
                                    "holds <{}>, but only <epc> elements belong there",
                                    item.local
                                ),
                            ));
                        }
                        epcs.push(Value::String(item.text().to_string()));
                    }
                    Value::Array(epcs)
                }
                "quantityList" | "childQuantityList" | "inputQuantityList"
                | "outputQuantityList" => {
                    let mut items = Vec::new();
                    for q in &c.children {
                        if !q.is("quantityElement") {
                            return Err(err(
                                name,
                                format!(
                                    "holds <{}>, but only <quantityElement> elements belong there",
                                    q.local
                                ),
                            ));
                        }
                        let mut item = Map::new();
                        for f in q.children.iter().filter(|f| !f.is_nil()) {
                            let v = match f.local.as_str() {
                                "quantity" if f.ns.is_none() => number_or_string(f.text()),
                                _ => Value::String(f.text().to_string()),
                            };
                            item.insert(member_key(f, prefixes), v);
                        }
                        items.push(Value::Object(item));
                    }
                    Value::Array(items)
                }
                "readPoint" | "bizLocation" => {
                    let mut loc = Map::new();
                    for f in c.flat_children() {
                        if f.is("id") {
                            loc.insert("id".into(), Value::String(f.text().to_string()));
                        } else {
                            insert_extension(&mut loc, f, prefixes);
                        }
                    }
                    Value::Object(loc)
                }
                "bizTransactionList" | "sourceList" | "destinationList" => {
                    let member = &name[..name.len() - 4];
                    let mut items = Vec::new();
                    for item in &c.children {
                        if !item.is(member) {
                            return Err(err(
                                name,
                                format!(
                                    "holds <{}>, but only <{member}> elements belong there",
                                    item.local
                                ),
                            ));
                        }
                        let mut obj = Map::new();
                        if let Some(t) = item.attr("type") {
                            obj.insert("type".into(), Value::String(t.trim().to_string()));
                        }
                        obj.insert(member.to_string(), Value::String(item.text().to_string()));
                        items.push(Value::Object(obj));
                    }
                    Value::Array(items)
                }
                "persistentDisposition" => {
                    let mut pd = Map::new();
                    for f in &c.children {
                        let key = f.local.as_str();
                        if f.ns.is_some() || !matches!(key, "set" | "unset") {
                            return Err(err(
                                name,
                                format!("holds <{key}>, but only <set> and <unset> belong there"),
                            ));
                        }
                        let list = pd
                            .entry(key.to_string())
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(a) = list {
                            a.push(Value::String(f.text().to_string()));
                        }
                    }
                    Value::Object(pd)
                }
                "errorDeclaration" => {
                    let mut ed = Map::new();
                    for f in c.flat_children() {
                        if f.is("declarationTime") || f.is("reason") {
                            ed.insert(f.local.clone(), Value::String(f.text().to_string()));
                        } else if f.is("correctiveEventIDs") {
                            let ids = f
                                .children
                                .iter()
                                .map(|id| Value::String(id.text().to_string()))
                                .collect();
                            ed.insert("correctiveEventIDs".into(), Value::Array(ids));
                        } else {
                            insert_extension(&mut ed, f, prefixes);
                        }
                    }
                    Value::Object(ed)
                }
                "sensorElementList" => {
                    let mut elements = Vec::new();
                    for se in &c.children {
                        if !se.is("sensorElement") {
                            return Err(err(
                                name,
                                format!(
                                    "holds <{}>, but only <sensorElement> elements belong there",
                                    se.local
                                ),
                            ));
                        }
                        elements.push(Value::Object(sensor_element(se, prefixes)));
                    }
                    Value::Array(elements)
                }
                "ilmd" => {
                    let mut ilmd = Map::new();
                    for f in c.flat_children() {
                        insert_extension(&mut ilmd, f, prefixes);
                    }
                    Value::Object(ilmd)
                }
                // An unknown unqualified element: converted as is, so the reader names it.
                _ => extension_value(c, prefixes),
            };
            out.insert(name.to_string(), value);
        }
    }
    match cert.len() {
        0 => {}
        1 => {
            out.insert("certificationInfo".into(), cert.remove(0));
        }
        _ => {
            out.insert("certificationInfo".into(), Value::Array(cert));
        }
    }
    Ok(out)
}

/// A sensor element: `sensorMetadata`'s attributes, each `sensorReport`'s attributes, and the
/// element's extension children.
fn sensor_element(se: &Node, prefixes: &mut Prefixes) -> Map<String, Value> {
    const NUMBERS: [&str; 7] = [
        "value",
        "minValue",
        "maxValue",
        "meanValue",
        "sDev",
        "percRank",
        "percValue",
    ];
    let mut out = Map::new();
    let mut reports = Vec::new();
    for c in se.flat_children() {
        if c.is("sensorMetadata") || c.is("sensorReport") {
            let mut obj = Map::new();
            for a in &c.attrs {
                if a.ns.as_deref() == Some(XSI) {
                    continue;
                }
                let value = match (&a.ns, a.local.as_str()) {
                    (None, n) if NUMBERS.contains(&n) => number_or_string(a.value.trim()),
                    (None, "booleanValue") => match a.value.trim() {
                        "true" | "1" => Value::Bool(true),
                        "false" | "0" => Value::Bool(false),
                        other => Value::String(other.to_string()),
                    },
                    _ => Value::String(a.value.trim().to_string()),
                };
                obj.insert(attr_key(a, prefixes), value);
            }
            for f in c.flat_children() {
                insert_extension(&mut obj, f, prefixes);
            }
            if c.is("sensorMetadata") {
                out.insert("sensorMetadata".into(), Value::Object(obj));
            } else {
                reports.push(Value::Object(obj));
            }
        } else {
            insert_extension(&mut out, c, prefixes);
        }
    }
    if !reports.is_empty() {
        out.insert("sensorReport".into(), Value::Array(reports));
    }
    out
}

/// A JSON number for numeric text (an integer stays one), else the text.
fn number_or_string(text: &str) -> Value {
    let number = match text.parse::<i64>() {
        Ok(i) => Some(Number::from(i)),
        Err(_) => text.parse::<f64>().ok().and_then(Number::from_f64),
    };
    number.map_or_else(|| Value::String(text.to_string()), Value::Number)
}

/// The key of a member element: its prefixed name when qualified, its local name if not.
fn member_key(node: &Node, prefixes: &mut Prefixes) -> String {
    match &node.ns {
        Some(ns) => prefixes.key(node.prefix.as_deref(), ns, &node.local),
        None => node.local.clone(),
    }
}

fn attr_key(a: &Attr, prefixes: &mut Prefixes) -> String {
    match &a.ns {
        Some(ns) => prefixes.key(a.prefix.as_deref(), ns, &a.local),
        None => a.local.clone(),
    }
}

/// Adds an extension element to `obj`: a repeated key becomes an array.
fn insert_extension(obj: &mut Map<String, Value>, node: &Node, prefixes: &mut Prefixes) {
    let key = member_key(node, prefixes);
    let value = extension_value(node, prefixes);
    match obj.get_mut(&key) {
        None => {
            obj.insert(key, value);
        }
        // Extension values are never arrays themselves, so an array is a repeated element.
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

/// The JSON value of an extension element.
fn extension_value(node: &Node, prefixes: &mut Prefixes) -> Value {
    let attrs: Vec<&Attr> = node
        .attrs
        .iter()
        .filter(|a| a.ns.as_deref() != Some(XSI))
        .collect();
    let children = node.flat_children();
    let text = node.text();
    if attrs.is_empty() && children.is_empty() {
        let xsi_type = node
            .attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(XSI) && a.local == "type")
            .map(|a| split_qname(a.value.trim()).1);
        return match xsi_type {
            Some(
                "integer" | "int" | "long" | "short" | "byte" | "decimal" | "double" | "float"
                | "nonNegativeInteger" | "positiveInteger" | "unsignedInt" | "unsignedLong",
            ) => match number_or_string(text) {
                Value::Number(n) => Value::Number(n),
                other => other,
            },
            Some("boolean") => match text {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => Value::String(text.to_string()),
            },
            _ => Value::String(text.to_string()),
        };
    }
    let mut obj = Map::new();
    for a in attrs {
        obj.insert(
            attr_key(a, prefixes),
            Value::String(a.value.trim().to_string()),
        );
    }
    for c in children {
        insert_extension(&mut obj, c, prefixes);
    }
    if !text.is_empty() {
        obj.insert("#text".into(), Value::String(text.to_string()));
    }
    Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// The converted JSON-LD of the first event of an `EPCISDocument` with these namespace
    /// declarations and this event body.
    fn convert(xmlns: &str, body: &str) -> (Map<String, Value>, Value) {
        let text = format!(
            "<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:2\" {xmlns}><EPCISBody><EventList>\
             <ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
             <action>OBSERVE</action>{body}</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
        );
        let root = parse_tree(&text).unwrap();
        let mut prefixes = Prefixes::default();
        let list = event_list(&root, &["EPCISBody", "EventList"], &mut prefixes).unwrap();
        let Value::Object(event) = list[0].clone() else {
            panic!()
        };
        (event, prefixes.context())
    }

    #[test]
    fn extension_elements_take_the_json_shape() {
        let (e, ctx) = convert(
            "xmlns:x=\"http://x.example/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
            "<x:n xsi:type=\"xsd:integer\">10</x:n><x:d xsi:type=\"xsd:double\">2.50</x:d>\
             <x:b xsi:type=\"xsd:boolean\">true</x:b><x:s xsi:type=\"xsd:string\">10</x:s>\
             <x:r>1</x:r><x:r>2</x:r><x:o a=\"v\">text</x:o><x:e/>\
             <x:nest><plain>p</plain><x:deep><x:er>&amp;</x:er></x:deep></x:nest>",
        );
        assert_eq!(e["x:n"], json!(10));
        assert_eq!(e["x:d"], json!(2.5));
        assert_eq!(e["x:b"], json!(true));
        assert_eq!(e["x:s"], json!("10"), "a string stays a string");
        assert_eq!(
            e["x:r"],
            json!(["1", "2"]),
            "a repeated element is an array"
        );
        assert_eq!(e["x:o"], json!({"a": "v", "#text": "text"}));
        assert_eq!(e["x:e"], json!(""));
        assert_eq!(e["x:nest"], json!({"plain": "p", "x:deep": {"x:er": "&"}}));
        assert_eq!(ctx, json!([EPCIS_CONTEXT, {"x": "http://x.example/"}]));
    }

    #[test]
    fn prefixes_are_kept_apart_by_namespace() {
        // A default namespace gets a prefix; the CBV master data namespace is the standard
        // context's `cbvmda`; a standard prefix bound to another IRI is renamed; an EPCIS 1.x
        // extension wrapper is dissolved.
        let (e, ctx) = convert(
            "xmlns:cbvmda=\"urn:epcglobal:cbv:mda\" xmlns:gs1=\"http://not-gs1.example/\"",
            "<ilmd><cbvmda:lotNumber>L1</cbvmda:lotNumber></ilmd>\
             <extension><gs1:a>1</gs1:a></extension><b xmlns=\"http://b.example/\">2</b>",
        );
        assert_eq!(e["ilmd"], json!({"cbvmda:lotNumber": "L1"}));
        assert_eq!(e["gs12:a"], json!("1"));
        assert_eq!(e["ns:b"], json!("2"));
        assert_eq!(
            ctx,
            json!([EPCIS_CONTEXT, {"gs12": "http://not-gs1.example/", "ns": "http://b.example/"}])
        );
    }

    #[test]
    fn standard_lists_are_arrays_and_attributes_members() {
        let (e, _) = convert(
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
            "<epcList><epc> urn:epc:id:sgtin:0614141.107346.2017 </epc></epcList>\
             <quantityList><quantityElement><epcClass>urn:epc:class:lgtin:4012345.012345.998877</epcClass>\
             <quantity>200</quantity><uom>KGM</uom></quantityElement>\
             <quantityElement><epcClass>urn:epc:class:lgtin:4012345.012345.1</epcClass><quantity xsi:nil=\"true\"/></quantityElement></quantityList>\
             <bizTransactionList><bizTransaction type=\"urn:epcglobal:cbv:btt:po\">urn:x:1</bizTransaction></bizTransactionList>\
             <sensorElementList><sensorElement><sensorMetadata time=\"2020-01-01T00:00:00Z\"/>\
             <sensorReport type=\"gs1:Temperature\" value=\"26.0\" booleanValue=\"true\"/></sensorElement></sensorElementList>",
        );
        assert_eq!(
            e["epcList"],
            json!(["urn:epc:id:sgtin:0614141.107346.2017"])
        );
        assert_eq!(
            e["quantityList"],
            json!([
                {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200, "uom": "KGM"},
                {"epcClass": "urn:epc:class:lgtin:4012345.012345.1"}
            ])
        );
        assert_eq!(
            e["bizTransactionList"],
            json!([{"type": "urn:epcglobal:cbv:btt:po", "bizTransaction": "urn:x:1"}])
        );
        assert_eq!(
            e["sensorElementList"],
            json!([{
                "sensorMetadata": {"time": "2020-01-01T00:00:00Z"},
                "sensorReport": [{"type": "gs1:Temperature", "value": 26.0, "booleanValue": true}]
            }])
        );
    }

    #[test]
    fn xml_errors_say_where() {
        for (text, expected) in [
            ("<a><b></a>", "line 1"),
            (
                "<x:a/>",
                "the prefix \"x\" of element <x:a> is not declared",
            ),
            ("<a/><b/>", "content after the root element"),
            ("\n\n<a>", "the document ends inside an element"),
            ("<Foo/>", "the root element <Foo> is not an EPCIS document"),
        ] {
            let err = read_document(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    proptest! {
        #[test]
        fn readers_never_panic(s in "\\PC{0,200}") {
            let _ = read_document(&s);
            let _ = Document::read(&s);
        }

        #[test]
        fn readers_never_panic_on_epcis_shapes(
            parts in prop::collection::vec(prop::sample::select(vec![
                "<ObjectEvent>", "</ObjectEvent>", "<epcList>", "</epcList>", "<epc>", "</epc>",
                "<eventTime>2020-01-01T00:00:00Z</eventTime>", "<eventTimeZoneOffset>+01:00</eventTimeZoneOffset>",
                "<action>ADD</action>", "urn:epc:id:sgtin:0614141.107346.1", "<x:e xmlns:x=\"http://x/\">",
                "</x:e>", "<quantityList><quantityElement>", "</quantityElement></quantityList>",
                "<sensorElementList><sensorElement><sensorReport value=\"1\"/>", "</sensorElement></sensorElementList>",
                "<extension>", "</extension>", "&amp;", "&#x41;", "<![CDATA[z]]>",
            ]), 0..30),
        ) {
            let _ = read_document(&parts.concat());
        }
    }
}
