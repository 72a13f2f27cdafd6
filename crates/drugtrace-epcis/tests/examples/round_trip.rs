//! Writing events back as JSON-LD loses nothing: every example read, written and read again
//! gives equal events (and equal hash ids), whichever syntax it came in.

use drugtrace_epcis::{Document, DocumentKind};
use jiff::Timestamp;

use crate::{example_files, text};

#[test]
fn every_example_survives_json_ld() {
    let mut documents = 0;
    for name in example_files() {
        let Ok(doc) = Document::read(&text(&name)) else {
            continue;
        };
        documents += 1;
        let written = doc.to_json_ld();
        let again = Document::from_json_value(&written).unwrap_or_else(|e| {
            panic!("{name}: the written JSON-LD does not read back: {e}\n{written:#}")
        });
        assert_eq!(again.kind(), doc.kind(), "{name}");
        assert_eq!(again.events().len(), doc.events().len(), "{name}");
        for (i, (a, b)) in doc.events().iter().zip(again.events()).enumerate() {
            assert_eq!(a, b, "{name} event {i}");
            assert_eq!(a.hash_id(), b.hash_id(), "{name} event {i}");
        }
        // Written a second time, the text is the same: writing is deterministic.
        assert_eq!(again.to_json_ld(), written, "{name}");
    }
    // 85 example files, less the 6 refused (capture jobs and master data documents).
    assert_eq!(documents, 79);
}

#[test]
fn an_xml_capture_is_answered_as_a_json_ld_query_document() {
    let xml = Document::read(&text("XML/WithExtension/TransformationEvent.xml")).unwrap();
    let created: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
    let answer = Document::query_answer(
        "SimpleEventQuery",
        Some("sub-1"),
        created,
        xml.events().to_vec(),
    );
    let json = answer.to_json_ld();
    assert_eq!(json["type"], "EPCISQueryDocument");
    assert_eq!(json["schemaVersion"], "2.0");
    assert_eq!(json["creationDate"], "2026-01-02T03:04:05Z");
    assert_eq!(
        json["epcisBody"]["queryResults"]["queryName"],
        "SimpleEventQuery"
    );
    assert_eq!(json["epcisBody"]["queryResults"]["subscriptionID"], "sub-1");
    let event = &json["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0];
    assert_eq!(event["type"], "TransformationEvent");
    assert_eq!(
        event["bizStep"], "commissioning",
        "CBV URNs are written as JSON-LD's bare terms"
    );
    assert_eq!(event["eventTime"], "2020-09-29T14:00:00+02:00");
    assert_eq!(
        event["ilmd"]["example2:userMasterData"]["example2:sizeCode"],
        "B-2"
    );
    assert_eq!(
        json["@context"][1]["example2"],
        "http://ns.example.com/epcis-2"
    );
    let back = Document::from_json_value(&json).unwrap();
    assert_eq!(
        back.kind(),
        &DocumentKind::QueryDocument {
            query_name: "SimpleEventQuery".into(),
            subscription_id: Some("sub-1".into())
        }
    );
    assert_eq!(back.events(), xml.events());
}

#[test]
fn a_single_event_is_written_with_its_context() {
    let doc = Document::read(&text("JSON/Example_9.6.2-ObjectEvent.jsonld")).unwrap();
    let event = &doc.events()[0];
    let json = event.to_json_ld_with_context();
    assert_eq!(json["@context"][0], drugtrace_epcis::EPCIS_CONTEXT);
    assert_eq!(
        json["@context"][1]["example"],
        "http://ns.example.com/epcis/"
    );
    let back = Document::from_json_value(&json).unwrap();
    assert_eq!(back.kind(), &DocumentKind::SingleEvent);
    assert_eq!(&back.events()[0], event);
}
