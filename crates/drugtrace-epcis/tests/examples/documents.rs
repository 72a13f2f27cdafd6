//! Every GS1 example file is either read, with the number of events it holds, or refused for
//! a reason listed here.

use drugtrace_epcis::{Document, DocumentKind, ReadError};

use crate::{example_files, text};

/// What reading one example file gives.
enum Expect {
    /// Read, with this many events. The counts were checked by hand against the files (and
    /// by counting event elements with another XML parser and entries of `eventList` with
    /// another JSON parser).
    Events(usize),
    /// Refused, with a message that contains this text.
    Refused(&'static str),
}

use Expect::{Events, Refused};

/// The capture jobs are the REST binding's status documents for a capture request, and the
/// master data documents hold vocabularies: neither holds events, so both are refused.
const EXPECTED: &[(&str, Expect)] = &[
    ("JSON/AssociationEvent/AssociationEvent-a.jsonld", Events(1)),
    ("JSON/AssociationEvent/AssociationEvent-b.jsonld", Events(1)),
    ("JSON/AssociationEvent/AssociationEvent-c.jsonld", Events(1)),
    ("JSON/AssociationEvent/AssociationEvent-d.jsonld", Events(1)),
    ("JSON/AssociationEvent/AssociationEvent-e.jsonld", Events(1)),
    ("JSON/AssociationEvent/AssociationEvent-f.jsonld", Events(1)),
    ("JSON/AssociationEvent/AssociationEvent-g.jsonld", Events(1)),
    ("JSON/AssociationEvent/AssociationEvent-h.jsonld", Events(1)),
    ("JSON/EPCISQueryDocument.jsonld", Events(2)),
    (
        "JSON/Example-TransactionEvents-2020_07_03y.jsonld",
        Events(2),
    ),
    (
        "JSON/Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld",
        Events(1),
    ),
    (
        "JSON/Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld",
        Events(2),
    ),
    ("JSON/Example_9.6.1-ObjectEvent.jsonld", Events(2)),
    ("JSON/Example_9.6.1-with-comment.jsonld", Events(2)),
    ("JSON/Example_9.6.2-ObjectEvent.jsonld", Events(1)),
    ("JSON/Example_9.6.3-AggregationEvent.jsonld", Events(1)),
    ("JSON/Example_9.6.4-TransformationEvent.jsonld", Events(1)),
    ("JSON/PersistentDisposition-example.jsonld", Events(2)),
    (
        "JSON/WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld",
        Events(2),
    ),
    (
        "JSON/WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld",
        Events(1),
    ),
    (
        "JSON/WithDigitalLinkID/Example_9.6.3-AggregationEventWithDigitalLink.jsonld",
        Events(1),
    ),
    (
        "JSON/WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld",
        Events(1),
    ),
    (
        "JSON/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld",
        Events(2),
    ),
    (
        "JSON/WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld",
        Events(2),
    ),
    (
        "JSON/WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld",
        Events(1),
    ),
    (
        "JSON/WithFullCombinationOfFields/association_event_all_possible_fields.jsonld",
        Events(1),
    ),
    (
        "JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld",
        Events(1),
    ),
    (
        "JSON/WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld",
        Events(1),
    ),
    (
        "JSON/WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld",
        Events(1),
    ),
    ("JSON/WithSensorData/SensorDataExample1.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample10.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample11.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample12.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample13.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample14.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample15.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample16.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample17.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample1b.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample2.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample3.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample4.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample5.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample6.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample7.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample8.jsonld", Events(1)),
    ("JSON/WithSensorData/SensorDataExample9.jsonld", Events(1)),
    (
        "XML/AssociationEvent/AssociationEventExamples.xml",
        Events(8),
    ),
    ("XML/CBV/CBV-11.1-2020-06-16a.xml", Events(1)),
    ("XML/CBV/CBV-11.2-2020-06-16a.xml", Events(1)),
    ("XML/CBV/CBV-11.3-2020-06-16a.xml", Events(1)),
    (
        "XML/CBV/CBV-11.4-2020-06-16a.xml",
        Refused("EPCISMasterDataDocument holds master data"),
    ),
    (
        "XML/CaptureJob/Example-CaptureJobRunning.xml",
        Refused("EPCISCaptureJob is the status of a capture request"),
    ),
    (
        "XML/CaptureJob/Example-CaptureJobSuccess.xml",
        Refused("EPCISCaptureJob is the status of a capture request"),
    ),
    (
        "XML/CaptureJob/Example-CaptureJobWithErrorFile.xml",
        Refused("EPCISCaptureJob is the status of a capture request"),
    ),
    (
        "XML/CaptureJob/Example-CaptureJobWithErrors.xml",
        Refused("EPCISCaptureJob is the status of a capture request"),
    ),
    ("XML/Example-PersistentDisposition.xml", Events(2)),
    ("XML/Example-TransactionEvent-2020_07_03y.xml", Events(2)),
    ("XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml", Events(2)),
    ("XML/Mimasu/Example-associatonEvent-sensor.xml", Events(8)),
    (
        "XML/Mimasu/Example-masterData.xml",
        Refused("EPCISMasterDataDocument holds master data"),
    ),
    ("XML/Mimasu/Example1.xml", Events(2)),
    ("XML/Mimasu/Example2.xml", Events(1)),
    ("XML/Mimasu/Example3.xml", Events(1)),
    ("XML/Mimasu/Example4.xml", Events(1)),
    (
        "XML/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.xml",
        Events(2),
    ),
    (
        "XML/WithEventHashID/event_with_identical_hash_id_1.xml",
        Events(1),
    ),
    (
        "XML/WithEventHashID/event_with_identical_hash_id_2.xml",
        Events(1),
    ),
    (
        "XML/WithEventHashID/event_with_identical_hash_id_3.xml",
        Events(1),
    ),
    (
        "XML/WithEventHashID/event_with_identical_hash_id_4.xml",
        Events(1),
    ),
    (
        "XML/WithEventHashID/event_with_identical_hash_id_5.xml",
        Events(1),
    ),
    (
        "XML/WithEventHashID/event_with_identical_hash_id_6.xml",
        Events(1),
    ),
    (
        "XML/WithEventHashID/event_with_identical_hash_id_7.json",
        Events(1),
    ),
    ("XML/WithExtension/AggregationEvent.xml", Events(1)),
    ("XML/WithExtension/AssociationEvent.xml", Events(1)),
    ("XML/WithExtension/ObjectEvent.xml", Events(2)),
    ("XML/WithExtension/TransactionEvent.xml", Events(1)),
    ("XML/WithExtension/TransformationEvent.xml", Events(1)),
    (
        "XML/WithFullCombinationOfFields/aggregation_event_all_possible_fields.xml",
        Events(1),
    ),
    (
        "XML/WithFullCombinationOfFields/association_event_all_possible_fields.xml",
        Events(1),
    ),
    // An EPCISDocument whose header holds master data and whose EventList is empty.
    (
        "XML/WithFullCombinationOfFields/masterdata_all_possible_fields.xml",
        Events(0),
    ),
    (
        "XML/WithFullCombinationOfFields/object_event_all_possible_fields.xml",
        Events(1),
    ),
    (
        "XML/WithFullCombinationOfFields/transaction_event_all_possible_fields.xml",
        Events(1),
    ),
    (
        "XML/WithFullCombinationOfFields/transformation_event_all_possible_fields.xml",
        Events(1),
    ),
    ("XML/WithSensorData/SensorDataExamples.xml", Events(14)),
];

#[test]
fn every_example_is_read_or_refused_as_listed() {
    let found = example_files();
    let listed: Vec<&str> = EXPECTED.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        found, listed,
        "the table must list every example file, in order"
    );
    for (name, expect) in EXPECTED {
        match (Document::read(&text(name)), expect) {
            (Ok(doc), Events(n)) => assert_eq!(doc.events().len(), *n, "{name}"),
            (Err(e), Refused(why)) => {
                assert!(matches!(e, ReadError::NotEvents { .. }), "{name}: {e:?}");
                assert!(e.to_string().contains(why), "{name}: {e}");
            }
            (Ok(doc), Refused(why)) => panic!(
                "{name}: expected refused ({why}), read {} events",
                doc.events().len()
            ),
            (Err(e), Events(n)) => panic!("{name}: expected {n} events, refused: {e}"),
        }
    }
}

#[test]
fn header_facts() {
    let q = crate::read("JSON/EPCISQueryDocument.jsonld");
    assert_eq!(
        q.kind(),
        &DocumentKind::QueryDocument {
            query_name: "SimpleEventQuery".into(),
            subscription_id: Some("32d2aec1-a6d2-46d9-900a-24124288cce1".into()),
        }
    );
    assert_eq!(q.schema_version(), Some("2.0"));
    assert_eq!(
        q.creation_date().unwrap().to_string(),
        "2005-07-11T11:30:47Z"
    );
    assert_eq!(q.id(), Some("https://id.example.org/document1"));

    let x = crate::read("XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml");
    assert_eq!(x.kind(), &DocumentKind::EpcisDocument);
    assert_eq!(x.schema_version(), Some("2.0"));
    assert_eq!(
        x.creation_date().unwrap().to_string(),
        "2005-07-11T11:30:47Z"
    );
}

#[test]
fn typed_fields_of_an_example() {
    use drugtrace_epcis::{Action, EventType};
    let doc = crate::read("JSON/Example_9.6.1-ObjectEvent.jsonld");
    let e = &doc.events()[1];
    assert_eq!(e.kind(), EventType::Object);
    assert_eq!(e.action(), Some(Action::Observe));
    assert_eq!(e.event_time().to_string(), "2005-04-05T02:33:31.116Z");
    assert_eq!(e.event_time_zone_offset().to_string(), "-06:00");
    assert_eq!(e.biz_step().and_then(|b| b.cbv_name()), Some("receiving"));
    assert_eq!(
        e.disposition().and_then(|d| d.cbv_name()),
        Some("in_progress")
    );
    let key = e.epc_list()[0].pack_key().unwrap();
    assert_eq!(key.to_string(), "(01)10614141073464(21)2018");
    assert_eq!(
        e.read_point().unwrap().id().to_string(),
        "https://id.gs1.org/414/0012345111112/254/400"
    );
    let txs = e.biz_transaction_list();
    assert_eq!(txs[1].kind().and_then(|k| k.cbv_name()), Some("desadv"));
    assert_eq!(txs[1].id(), "urn:epcglobal:cbv:bt:0614141073467:1152");
    assert_eq!(
        e.extensions()["example:myField"],
        "Example of a vendor/user extension"
    );
    assert_eq!(
        e.namespaces().resolve("example"),
        Some("http://ns.example.com/epcis/")
    );

    // The same event from XML: CBV values written as URNs read as the same terms.
    let x = crate::read("XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml");
    let xe = &x.events()[1];
    assert_eq!(xe.biz_step(), e.biz_step());
    assert_eq!(xe.epc_list(), e.epc_list());
    assert_eq!(xe.biz_transaction_list(), e.biz_transaction_list());

    // An XML transformation with extensions everywhere keeps them as JSON.
    let t = crate::read("XML/WithExtension/TransformationEvent.xml");
    let te = &t.events()[0];
    assert_eq!(te.kind(), EventType::Transformation);
    assert_eq!(te.action(), None);
    assert_eq!(
        te.read_point().unwrap().extensions()["example:gs1ES"],
        "(414)4023333000000"
    );
    let ed = te.error_declaration().unwrap();
    assert_eq!(ed.declaration_time().to_string(), "2020-09-29T13:00:00Z");
    assert_eq!(
        ed.extensions()["example3:errorCodes"]["example3:value44"],
        "66"
    );
    assert_eq!(te.ilmd().unwrap()["cbvmda:lotNumber"], "LOTABC");
    assert_eq!(
        te.extensions()["example:extension"]["moreExtensions"]["futureExtension"]["tag2"],
        "2"
    );
    assert_eq!(
        te.extensions()["example2:furtherData"]["example2:workingShift"],
        "1"
    );
    assert_eq!(
        te.sensor_element_list()[0]["sensorReport"][0]["minValue"],
        12.4
    );
}

#[test]
fn errors_name_the_event_and_the_field() {
    let good = text("JSON/Example_9.6.1-ObjectEvent.jsonld");
    for (from, to, expected) in [
        (
            "[\"urn:epc:id:sgtin:0614141.107346.2018\"]",
            "[\"urn:epc:id:sgtin:0614141.10734.2018\"]",
            "event 2: epcList[0] \"urn:epc:id:sgtin:0614141.10734.2018\": SGTIN URN: the indicator digit and item reference has 5 digits, but with a 7-digit company prefix it needs 6",
        ),
        (
            "\"bizStep\": \"receiving\"",
            "\"bizStep\": \"recieving\"",
            "event 2: bizStep \"recieving\" is neither a CBV business step (such as \"accepting\") nor a URI",
        ),
        (
            "\"eventTime\": \"2005-04-04T20:33:31.116-06:00\"",
            "\"eventTime\": \"2005-04-04 20:33\"",
            "event 2: eventTime \"2005-04-04 20:33\" is not a date-time with an offset",
        ),
        (
            "\"example:myField\"",
            "\"myField\"",
            "event 2: myField is not an EPCIS field; a user extension field needs a namespace prefix, such as \"example:myField\"",
        ),
        (
            "\"bizLocation\": {\"id\": \"urn:epc:id:sgln:0012345.11111.0\"}",
            "\"bizLocation\": {}",
            "event 2: bizLocation.id is missing",
        ),
        (
            "\"action\": \"OBSERVE\"",
            "\"action\": \"SEEN\"",
            "event 1: action \"SEEN\" is not one of ADD, OBSERVE, DELETE",
        ),
    ] {
        assert!(good.contains(from), "{from}");
        let err = Document::from_json(&good.replacen(from, to, 1)).unwrap_err();
        assert!(err.to_string().starts_with(expected), "{err}");
    }
    let err = Document::from_json("[]").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("a bare JSON array of events is not an EPCIS document"),
        "{err}"
    );
    let err = Document::from_xml(
        "<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:2\"><EPCISBody>",
    )
    .unwrap_err();
    assert!(matches!(err, ReadError::Xml { line: 1, .. }), "{err}");
    let err = Document::from_json(r#"{"type": "EPCISDocument", "epcisBody": {}}"#).unwrap_err();
    assert_eq!(err.to_string(), "document: epcisBody.eventList is missing");
}

#[test]
fn a_bare_event_is_what_post_events_takes() {
    let single = r#"{
      "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"example": "http://ns.example.com/epcis/"}],
      "type": "ObjectEvent", "action": "OBSERVE",
      "eventTime": "2005-04-03T20:33:31.116000-06:00", "eventTimeZoneOffset": "-06:00",
      "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"], "example:x": 1
    }"#;
    let doc = Document::from_json(single).unwrap();
    assert_eq!(doc.kind(), &DocumentKind::SingleEvent);
    assert_eq!(doc.events().len(), 1);
    assert_eq!(
        doc.events()[0].namespaces().resolve("example"),
        Some("http://ns.example.com/epcis/")
    );
    let xml = r#"<ObjectEvent><eventTime>2005-04-03T20:33:31.116-06:00</eventTime>
        <eventTimeZoneOffset>-06:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:0614141.107346.2017</epc></epcList>
        <action>OBSERVE</action></ObjectEvent>"#;
    let from_xml = Document::from_xml(xml).unwrap();
    assert_eq!(from_xml.events()[0].epc_list(), doc.events()[0].epc_list());
}
