//! The EPCIS event hash id of CBV 2.0 (section 8.9, "EPCIS Event Hash ID"): a fingerprint
//! of what an event says, the same whichever syntax (XML or JSON-LD), field order, list
//! order, namespace prefixes or identifier forms (EPC URN or Digital Link) it was written in.
//!
//! The event is written as a *pre-hash string*: its fields in a canonical order, each as
//! `name=value`, lists as their name followed by their sorted members, without separators.
//! Values are canonical: times in UTC with milliseconds, numbers without trailing zeros, GS1
//! identifiers as constrained canonical Digital Links on `https://id.gs1.org`, CBV values as
//! Web URIs, CURIEs expanded. Extension fields are written `{namespace}local=value`, sorted,
//! after their parent's standard fields (and ILMD's, then the event's own, at the end). The
//! event id, record time and error declaration are left out, so that an error declaration
//! names the same event as the one it declares in error. The SHA-256 of the string's UTF-8
//! bytes, in hex, makes the id: `ni:///sha-256;{hex}?ver=CBV2.0` (RFC 6920).
//!
//! Where the standard's text leaves a choice, this follows GS1's reference implementation
//! (the Python "EPCIS Event Hash Generator"): `certificationInfo` right after
//! `eventTimeZoneOffset`; a business transaction, source or destination as `type=…` then its
//! value; `gs1:` as `https://gs1.org/voc/`; `rdfs:comment` left out. It departs from that
//! implementation in two places, both toward the standard: `sourceList` comes before
//! `destinationList` and both before `sensorElementList`, as the canonical property order
//! lists them (the reference implementation sorts these lists after the sensor data, by
//! name); and a CURIE whose prefix the document declares is expanded whichever syntax it
//! came in (the reference expands declared prefixes only in JSON-LD).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::Epc;
use crate::epc::other_keys;
use crate::event::{Event, Location, QuantityElement};
use crate::namespaces::Namespaces;
use crate::time::{hash_form, parse_instant};
use crate::vocab::{URN_TO_WEB, Vocab, Vocabulary};

/// The GS1 Web Vocabulary, which sensor measurement types and alert types are terms of.
const GS1_VOC: &str = "https://gs1.org/voc/";

/// The fields of `sensorMetadata`, in canonical order.
const SENSOR_METADATA: [&str; 8] = [
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
];

/// The fields of `sensorReport`, in canonical order.
const SENSOR_REPORT: [&str; 23] = [
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
];

/// Extension fields that are comments on an event, not part of what it says: GS1's hash
/// generators leave them out.
const COMMENTS: [&str; 2] = ["rdfs:comment", "comment"];

impl Event {
    /// The event's hash id, `ni:///sha-256;{hex}?ver=CBV2.0`.
    pub fn hash_id(&self) -> String {
        let digest = Sha256::digest(self.prehash().as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest.iter() {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 0x0F)]));
        }
        format!("ni:///sha-256;{hex}?ver=CBV2.0")
    }

    /// The canonical pre-hash string the hash id is the SHA-256 of (useful to see why two
    /// events hash apart).
    pub fn prehash(&self) -> String {
        let ns = &self.namespaces;
        let mut s = String::new();
        field(&mut s, "eventType", self.kind.name());
        field(&mut s, "eventTime", &hash_form(self.event_time));
        field(
            &mut s,
            "eventTimeZoneOffset",
            &self.event_time_zone_offset.to_string(),
        );
        let mut certificates: Vec<String> = self
            .certification_info
            .iter()
            .map(|c| format!("certificationInfo={}", value(ns, c)))
            .collect();
        certificates.sort();
        s.extend(certificates);
        epcs(&mut s, ns, "epcList", &self.epc_list);
        if let Some(p) = &self.parent_id {
            field(&mut s, "parentID", &epc(ns, p));
        }
        epcs(&mut s, ns, "inputEPCList", &self.input_epc_list);
        epcs(&mut s, ns, "childEPCs", &self.child_epcs);
        quantities(&mut s, ns, "quantityList", &self.quantity_list);
        quantities(&mut s, ns, "childQuantityList", &self.child_quantity_list);
        quantities(&mut s, ns, "inputQuantityList", &self.input_quantity_list);
        epcs(&mut s, ns, "outputEPCList", &self.output_epc_list);
        quantities(&mut s, ns, "outputQuantityList", &self.output_quantity_list);
        if let Some(a) = self.action {
            field(&mut s, "action", a.name());
        }
        if let Some(t) = &self.transformation_id {
            field(&mut s, "transformationID", &value(ns, t));
        }
        if let Some(b) = &self.biz_step {
            field(&mut s, "bizStep", &vocab(ns, b));
        }
        if let Some(d) = &self.disposition {
            field(&mut s, "disposition", &vocab(ns, d));
        }
        if let Some(pd) = &self.persistent_disposition {
            let mut inner = String::new();
            for (name, items) in [("set", &pd.set), ("unset", &pd.unset)] {
                let mut parts: Vec<String> = items
                    .iter()
                    .map(|d| format!("{name}={}", vocab(ns, d)))
                    .collect();
                parts.sort();
                inner.extend(parts);
            }
            if !inner.is_empty() {
                s.push_str("persistentDisposition");
                s.push_str(&inner);
            }
        }
        if let Some(l) = &self.read_point {
            location(&mut s, ns, "readPoint", l);
        }
        if let Some(l) = &self.biz_location {
            location(&mut s, ns, "bizLocation", l);
        }
        list(
            &mut s,
            "bizTransactionList",
            self.biz_transaction_list
                .iter()
                .map(|t| {
                    let kind = t
                        .kind
                        .as_ref()
                        .map(|k| format!("type={}", vocab(ns, k)))
                        .unwrap_or_default();
                    format!("{kind}bizTransaction={}", value(ns, &t.id))
                })
                .collect(),
        );
        for (name, member, items) in [
            ("sourceList", "source", &self.source_list),
            ("destinationList", "destination", &self.destination_list),
        ] {
            list(
                &mut s,
                name,
                items
                    .iter()
                    .map(|sd| format!("type={}{member}={}", vocab(ns, &sd.kind), epc(ns, &sd.id)))
                    .collect(),
            );
        }
        list(
            &mut s,
            "sensorElementList",
            self.sensor_element_list
                .iter()
                .map(|e| sensor_element(ns, e))
                .collect(),
        );
        if let Some(ilmd) = &self.ilmd {
            let entries = extensions(ns, ilmd);
            if !entries.is_empty() {
                s.push_str("ilmd");
                s.push_str(&entries);
            }
        }
        let own: Map<String, Value> = self
            .extensions
            .iter()
            .filter(|(k, _)| !COMMENTS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        s.push_str(&extensions(ns, &own));
        s
    }
}

/// Appends `name=value`.
fn field(s: &mut String, name: &str, value: &str) {
    s.push_str(name);
    s.push('=');
    s.push_str(value);
}

/// Appends a list: its name, then its members sorted; nothing when it is empty.
fn list(s: &mut String, name: &str, mut members: Vec<String>) {
    if members.is_empty() {
        return;
    }
    members.sort();
    s.push_str(name);
    s.extend(members);
}

fn epcs(s: &mut String, ns: &Namespaces, name: &str, items: &[Epc]) {
    list(
        s,
        name,
        items
            .iter()
            .map(|e| format!("epc={}", epc(ns, e)))
            .collect(),
    );
}

fn quantities(s: &mut String, ns: &Namespaces, name: &str, items: &[QuantityElement]) {
    let members = items
        .iter()
        .map(|q| {
            let mut m = format!("quantityElementepcClass={}", epc(ns, &q.epc_class));
            if let Some(n) = q.quantity {
                m.push_str(&format!(
                    "quantity={}",
                    number(&n.to_string()).unwrap_or_else(|| n.to_string())
                ));
            }
            if let Some(u) = &q.uom {
                m.push_str(&format!("uom={u}"));
            }
            m
        })
        .collect();
    list(s, name, members);
}

fn location(s: &mut String, ns: &Namespaces, name: &str, l: &Location) {
    s.push_str(name);
    field(s, "id", &epc(ns, &l.id));
    s.push_str(&extensions(ns, &l.extensions));
}

/// An identifier in canonical form: a GS1 key as its constrained canonical Digital Link.
fn epc(ns: &Namespaces, e: &Epc) -> String {
    match e {
        Epc::Other(s) => value(ns, s),
        typed => typed.to_string(),
    }
}

/// A CBV value as its Web URI; a value of the sender's own canonical like any other value.
fn vocab<V: Vocabulary>(ns: &Namespaces, v: &Vocab<V>) -> String {
    match v {
        Vocab::Cbv(_) => v.to_uri(),
        Vocab::Other(s) => value(ns, s),
    }
}

/// Any other value in canonical form: trimmed; a CBV URN as its Web URI; a date-time in UTC
/// with milliseconds; a number without trailing zeros; a GS1 identifier as its canonical
/// Digital Link; a CURIE expanded.
fn value(ns: &Namespaces, raw: &str) -> String {
    let v = raw.trim();
    if let Some((urn, web)) = URN_TO_WEB.iter().find(|(urn, _)| v.starts_with(urn)) {
        return format!("{web}{}", &v[urn.len()..]);
    }
    if looks_like_time(v)
        && let Ok(t) = parse_instant(v)
    {
        return hash_form(t);
    }
    if let Some(n) = number(v) {
        return n;
    }
    if let Some(dl) = other_keys::canonical(v) {
        return dl;
    }
    if let Some(full) = ns.expand_value(v) {
        return full;
    }
    v.to_string()
}

/// Whether `v` starts like an `xsd:dateTime` (`YYYY-MM-DDT`), before trying to read it.
fn looks_like_time(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() > 11
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
}

/// A decimal number written without trailing zeros, leading zeros, exponent or `+` sign
/// (`26.0` → `26`, `0.30` → `0.3`, `1.5e3` → `1500`), or `None` when `v` is not a number.
pub(crate) fn number(v: &str) -> Option<String> {
    let (negative, body) = match v.as_bytes().first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, v),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || !(-400..=400).contains(&exponent)
    {
        return None;
    }
    // All the digits, and where the decimal point falls among them.
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + i64::from(exponent);
    let (int_part, frac_part) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let int_part = int_part.trim_start_matches('0');
    let frac_part = frac_part.trim_end_matches('0');
    let mut out = String::new();
    if negative && !(int_part.is_empty() && frac_part.is_empty()) {
        out.push('-');
    }
    out.push_str(if int_part.is_empty() { "0" } else { int_part });
    if !frac_part.is_empty() {
        out.push('.');
        out.push_str(frac_part);
    }
    Some(out)
}

/// One sensor element: its metadata, its reports (sorted), then its extensions.
fn sensor_element(ns: &Namespaces, element: &Value) -> String {
    let Value::Object(obj) = element else {
        return String::new();
    };
    let mut s = String::from("sensorElement");
    if let Some(Value::Object(meta)) = obj.get("sensorMetadata") {
        let fields = ordered(ns, meta, &SENSOR_METADATA);
        if !fields.is_empty() {
            s.push_str("sensorMetadata");
            s.push_str(&fields);
        }
    }
    if let Some(Value::Array(reports)) = obj.get("sensorReport") {
        let mut parts: Vec<String> = reports
            .iter()
            .filter_map(Value::as_object)
            .map(|r| format!("sensorReport{}", ordered(ns, r, &SENSOR_REPORT)))
            .collect();
        parts.sort();
        s.extend(parts);
    }
    let rest: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| *k != "sensorMetadata" && *k != "sensorReport")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    s.push_str(&extensions(ns, &rest));
    s
}

/// The standard fields of a sensor object in canonical order, then its extensions.
fn ordered(ns: &Namespaces, obj: &Map<String, Value>, order: &[&str]) -> String {
    let mut s = String::new();
    for name in order {
        let Some(v) = obj.get(*name) else { continue };
        let text = match v {
            Value::String(t) => t.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        let canonical = match *name {
            "type" | "exception" if !text.contains(':') => format!("{GS1_VOC}{text}"),
            "component" if !text.contains(':') => format!("https://ref.gs1.org/cbv/Comp-{text}"),
            "stringValue" | "hexBinaryValue" | "uom" | "booleanValue" => text,
            _ => value(ns, &text),
        };
        field(&mut s, name, &canonical);
    }
    let rest: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !order.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    s.push_str(&extensions(ns, &rest));
    s
}

/// Extension fields, each `{namespace}local=value` (or, with children, the key followed by
/// its children's strings, sorted), all sorted and concatenated. An array gives one entry
/// per member under the same key, as repeated XML elements do.
fn extensions(ns: &Namespaces, obj: &Map<String, Value>) -> String {
    let mut entries = Vec::new();
    for (k, v) in obj {
        entries_of(ns, &ns.expand_key(k), v, &mut entries);
    }
    entries.sort();
    entries.concat()
}

fn entries_of(ns: &Namespaces, key: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for item in items {
                entries_of(ns, key, item, out);
            }
        }
        Value::Object(o) if o.contains_key("@value") => entries_of(ns, key, &o["@value"], out),
        Value::Object(o) => {
            let mut entry = key.to_string();
            if let Some(Value::String(text)) = o.get("#text")
                && !text.trim().is_empty()
            {
                entry.push('=');
                entry.push_str(&value(ns, text));
            }
            let children: Map<String, Value> = o
                .iter()
                .filter(|(k, _)| *k != "#text")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            entry.push_str(&extensions(ns, &children));
            out.push(entry);
        }
        Value::String(text) if text.trim().is_empty() => out.push(key.to_string()),
        Value::String(text) => out.push(format!("{key}={}", value(ns, text))),
        Value::Number(n) => out.push(format!(
            "{key}={}",
            number(&n.to_string()).unwrap_or_else(|| n.to_string())
        )),
        Value::Bool(b) => out.push(format!("{key}={b}")),
        Value::Null => out.push(key.to_string()),
    }
}

#[cfg(test)]
mod tests;
