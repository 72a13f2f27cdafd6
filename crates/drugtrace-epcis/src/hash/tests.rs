use super::*;
use crate::Document;

/// A small commissioning event, written by hand with a bit of everything the rules touch:
/// times in another offset with more than three decimals, a URN and a Digital Link, a
/// quantity with a trailing zero, a CBV URN and a bare term, two business transactions out of
/// order, destinations written before sources, a location extension, sensor data with
/// extensions, ILMD and a nested user extension.
const EVENT: &str = r#"{
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": "https://example.com/ns/"}],
  "type": "ObjectEvent",
  "eventID": "urn:uuid:00000000-0000-4000-8000-000000000000",
  "recordTime": "2024-01-01T00:00:00Z",
  "eventTime": "2024-03-01T09:30:15.12345+08:00",
  "eventTimeZoneOffset": "+08:00",
  "epcList": ["https://id.gs1.org/01/09506000134352/21/B2", "urn:epc:id:sgtin:9506000.013435.A1"],
  "action": "ADD",
  "bizStep": "urn:epcglobal:cbv:bizstep:commissioning",
  "disposition": "active",
  "readPoint": {"id": "urn:epc:id:sgln:9506000.13430.0", "ex:line": " 2 "},
  "quantityList": [{"epcClass": "urn:epc:class:lgtin:9506000.013435.L1", "quantity": 12.50, "uom": "KGM"}],
  "bizTransactionList": [
    {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:9506000134307:PO2"},
    {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:9506000134307:D1"}
  ],
  "certificationInfo": "https://cert.example/c1",
  "persistentDisposition": {"unset": ["completeness_inferred"], "set": ["completeness_verified"]},
  "destinationList": [{"type": "location", "destination": "https://id.gs1.org/414/9506000134307/254/7"}],
  "sourceList": [{"type": "possessing_party", "source": "urn:epc:id:pgln:9506000.13430"}],
  "sensorElementList": [{
    "ex:s": "x",
    "sensorReport": [{"uom": "CEL", "value": 5.0, "type": "Temperature"}, {"type": "gs1:Humidity", "value": 40}],
    "sensorMetadata": {"ex:m": "1", "time": "2024-03-01T09:00:00+08:00"}
  }],
  "ilmd": {"cbvmda:lotNumber": "L1"},
  "ex:batch": {"ex:step": ["b", "a"], "ex:ok": true}
}"#;

/// The pre-hash string of [`EVENT`], worked out by hand from the rules: event id, record
/// time and the order things were written in play no part.
const PREHASH: &str = concat!(
    "eventType=ObjectEvent",
    "eventTime=2024-03-01T01:30:15.123Z",
    "eventTimeZoneOffset=+08:00",
    "certificationInfo=https://cert.example/c1",
    "epcList",
    "epc=https://id.gs1.org/01/09506000134352/21/A1",
    "epc=https://id.gs1.org/01/09506000134352/21/B2",
    "quantityList",
    "quantityElementepcClass=https://id.gs1.org/01/09506000134352/10/L1quantity=12.5uom=KGM",
    "action=ADD",
    "bizStep=https://ref.gs1.org/cbv/BizStep-commissioning",
    "disposition=https://ref.gs1.org/cbv/Disp-active",
    "persistentDispositionset=https://ref.gs1.org/cbv/Disp-completeness_verified",
    "unset=https://ref.gs1.org/cbv/Disp-completeness_inferred",
    "readPointid=https://id.gs1.org/414/9506000134307{https://example.com/ns/}line=2",
    "bizTransactionList",
    "type=https://ref.gs1.org/cbv/BTT-desadvbizTransaction=urn:epcglobal:cbv:bt:9506000134307:D1",
    "type=https://ref.gs1.org/cbv/BTT-pobizTransaction=urn:epcglobal:cbv:bt:9506000134307:PO2",
    // Sources before destinations, both before the sensor data (the standard's order).
    "sourceListtype=https://ref.gs1.org/cbv/SDT-possessing_partysource=https://id.gs1.org/417/9506000134307",
    "destinationListtype=https://ref.gs1.org/cbv/SDT-locationdestination=https://id.gs1.org/414/9506000134307/254/7",
    "sensorElementListsensorElement",
    "sensorMetadatatime=2024-03-01T01:00:00.000Z{https://example.com/ns/}m=1",
    "sensorReporttype=https://gs1.org/voc/Humidityvalue=40",
    "sensorReporttype=https://gs1.org/voc/Temperaturevalue=5uom=CEL",
    "{https://example.com/ns/}s=x",
    "ilmd{urn:epcglobal:cbv:mda:}lotNumber=L1",
    "{https://example.com/ns/}batch{https://example.com/ns/}ok=true",
    "{https://example.com/ns/}step=a{https://example.com/ns/}step=b",
);

fn event(json: &str) -> Event {
    Document::from_json(json).unwrap().into_events().remove(0)
}

#[test]
fn a_hand_written_event_gives_the_hand_made_prehash() {
    let e = event(EVENT);
    assert_eq!(e.prehash(), PREHASH);
    let digest = Sha256::digest(PREHASH.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(e.hash_id(), format!("ni:///sha-256;{hex}?ver=CBV2.0"));
}

#[test]
fn what_is_left_out_and_what_counts() {
    let base = event(EVENT);
    // The event id, record time and an error declaration do not change the hash.
    let declared = EVENT.replace(
        "\"recordTime\": \"2024-01-01T00:00:00Z\",",
        "\"recordTime\": \"2025-01-01T00:00:00Z\", \"errorDeclaration\": {\"declarationTime\": \"2025-01-01T00:00:00Z\", \"reason\": \"incorrect_data\"},",
    );
    assert_eq!(event(&declared).hash_id(), base.hash_id());
    // A comment does not either; any other extension does.
    let commented = EVENT.replace(
        "\"action\"",
        "\"rdfs:comment\": \"checked by hand\", \"action\"",
    );
    assert_eq!(event(&commented).hash_id(), base.hash_id());
    let extended = EVENT.replace("\"action\"", "\"ex:note\": \"x\", \"action\"");
    assert_ne!(event(&extended).hash_id(), base.hash_id());
    // The same instant written in UTC, the Web URI of the business step, other prefixes
    // for the same namespace: the same event.
    let respelled = EVENT
        .replace(
            "2024-03-01T09:30:15.12345+08:00",
            "2024-03-01T01:30:15.1234Z",
        )
        .replace(
            "urn:epcglobal:cbv:bizstep:commissioning",
            "https://ref.gs1.org/cbv/BizStep-commissioning",
        )
        .replace("\"ex\"", "\"other\"")
        .replace("ex:", "other:");
    assert_eq!(event(&respelled).prehash(), PREHASH);
    // A different time zone offset is a different event (CBV 2.0 hashes the offset).
    let elsewhere = EVENT.replace(
        "\"eventTimeZoneOffset\": \"+08:00\"",
        "\"eventTimeZoneOffset\": \"+09:00\"",
    );
    assert_ne!(event(&elsewhere).hash_id(), base.hash_id());
}

#[test]
fn numbers_lose_trailing_zeros_and_exponents() {
    for (written, canonical) in [
        ("26.0", "26"),
        ("0.30", "0.3"),
        ("-0.0", "0"),
        ("007", "7"),
        ("+5", "5"),
        ("1.5e3", "1500"),
        ("12E-2", "0.12"),
        (".5", "0.5"),
        ("12345678901234567890", "12345678901234567890"),
    ] {
        assert_eq!(number(written).as_deref(), Some(canonical), "{written}");
    }
    for not_a_number in ["", "-", ".", "1.2.3", "12a", "1e", "NaN", "inf", "1e999999"] {
        assert_eq!(number(not_a_number), None, "{not_a_number:?}");
    }
}

#[test]
fn values_are_made_canonical() {
    let ns = Namespaces::new();
    for (raw, canonical) in [
        (
            "  urn:epcglobal:cbv:btt:po ",
            "https://ref.gs1.org/cbv/BTT-po",
        ),
        ("2019-04-02T14:05:00+01:00", "2019-04-02T13:05:00.000Z"),
        ("20.0", "20"),
        (
            "urn:epc:id:giai:4000001.111",
            "https://id.gs1.org/8004/4000001111",
        ),
        ("gs1:Temperature", "https://gs1.org/voc/Temperature"),
        ("example:x", "example:x"),
        ("2019-04-02", "2019-04-02"),
    ] {
        assert_eq!(value(&ns, raw), canonical, "{raw:?}");
    }
}
