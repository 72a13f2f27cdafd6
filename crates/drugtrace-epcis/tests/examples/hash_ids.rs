//! The event hash id on GS1's examples.
//!
//! GS1 ships seven representations of one event (`XML/WithEventHashID`, six XML, one JSON)
//! that must hash alike, and 45 events across `JSON/` whose `eventID` is a `ni:///sha-256`
//! id. The seven agree, except the one GS1 wrote with another `eventTimeZoneOffset` (see
//! below). None of the 45 ids is the CBV 2.0 hash of its event: they were computed with
//! drafts of the algorithm from before CBV 2.0 was final (2020-2021), as shown below.

use sha2::{Digest, Sha256};

use crate::{example_files, read};

#[test]
fn seven_representations_of_one_event_hash_alike() {
    let hash_of = |i: usize| {
        let ext = if i == 7 { "json" } else { "xml" };
        let doc = read(&format!(
            "XML/WithEventHashID/event_with_identical_hash_id_{i}.{ext}"
        ));
        assert_eq!(doc.events().len(), 1);
        doc.events()[0].clone()
    };
    let base = hash_of(1);
    // 3: epcList shuffled; 4: quantityList shuffled; 5: other namespace prefixes; 6: an
    // extension typed xsi:type="xsd:string"; 7: the same event in JSON-LD.
    for i in [3, 4, 5, 6, 7] {
        assert_eq!(hash_of(i).hash_id(), base.hash_id(), "representation {i}");
    }
    // 2 states the same instant with eventTimeZoneOffset -05:00 instead of -06:00. GS1's
    // comment calls it "exactly identical", but CBV 2.0 puts eventTimeZoneOffset in the
    // pre-hash string (field 3), so its id differs, and only in that field.
    let other_zone = hash_of(2);
    assert_ne!(other_zone.hash_id(), base.hash_id());
    assert_eq!(
        other_zone.prehash(),
        base.prehash()
            .replace("eventTimeZoneOffset=-06:00", "eventTimeZoneOffset=-05:00")
    );
}

#[test]
fn xml_and_json_of_one_event_hash_alike() {
    // The pairs whose two files say the same. Other XML/JSON pairs in GS1's folders differ
    // in content, not only in syntax: PersistentDisposition (an AggregationEvent in XML, an
    // ObjectEvent in JSON), WithErrorDeclaration (quantities xsi:nil in XML, 500 KGM in
    // JSON), WithFullCombinationOfFields (certificationInfo and extensions only in JSON),
    // 9.6.1 event 2 (namespace "http://ns.example.com/epcis" without the JSON's final "/")
    // and TransactionEvent event 2 (rail:vehicleMasterGIAI only in XML).
    let mut pairs = vec![
        (
            "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml",
            0,
            "JSON/Example_9.6.1-ObjectEvent.jsonld".to_string(),
            0,
        ),
        (
            "XML/Example-TransactionEvent-2020_07_03y.xml",
            0,
            "JSON/Example-TransactionEvents-2020_07_03y.jsonld".to_string(),
            0,
        ),
    ];
    for (i, letter) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
        pairs.push((
            "XML/AssociationEvent/AssociationEventExamples.xml",
            i,
            format!("JSON/AssociationEvent/AssociationEvent-{letter}.jsonld"),
            0,
        ));
    }
    for (xml, i, json, j) in &pairs {
        let x = read(xml).events()[*i].clone();
        let js = read(json).events()[*j].clone();
        assert_eq!(x.prehash(), js.prehash(), "{xml} #{i} and {json} #{j}");
        assert_eq!(x.hash_id(), js.hash_id());
    }
}

#[test]
fn a_comment_is_not_part_of_the_event() {
    // The second file is the first with an rdfs:comment added to event 1.
    let plain = read("JSON/Example_9.6.1-ObjectEvent.jsonld");
    let commented = read("JSON/Example_9.6.1-with-comment.jsonld");
    assert!(
        commented.events()[0]
            .extensions()
            .contains_key("rdfs:comment")
    );
    assert_eq!(commented.events()[0].hash_id(), plain.events()[0].hash_id());
}

/// Every `(file, event index, eventID)` of GS1's examples whose eventID is a hash id.
fn gs1_hash_ids() -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for name in example_files() {
        let Ok(doc) = drugtrace_epcis::Document::read(&crate::text(&name)) else {
            continue;
        };
        for (i, e) in doc.events().iter().enumerate() {
            if let Some(id) = e.event_id().filter(|id| id.starts_with("ni:///")) {
                out.push((name.clone(), i, id.to_string()));
            }
        }
    }
    out
}

/// The GS1 example events whose eventID is the CBV 2.0 hash of their content: none.
///
/// Why: GS1's example ids predate CBV 2.0's final rules. 16 of the 45 are reproduced exactly
/// by the 2020 draft rules, which differ from CBV 2.0 in four points: identifiers are hashed
/// as written (EPC URNs stay URNs; CBV 2.0 converts them to canonical Digital Links), CBV
/// values as URNs (`urn:epcglobal:cbv:bizstep:shipping`; CBV 2.0 writes Web URIs, and bare
/// JSON terms expand to them), a business transaction, source or destination is written
/// value first and type second (CBV 2.0: type first), and an extension key is its expanded
/// IRI without braces (`http://ns.example.com/epcis/myField=`; CBV 2.0:
/// `{http://ns.example.com/epcis/}myField=`). Those 16 are: AssociationEvent-a to -e,
/// EPCISQueryDocument #1 and #2, Example_9.6.1-ObjectEvent #1 and #2, the same two events in
/// Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers, Example_9.6.2-ObjectEvent,
/// Example_9.6.3-AggregationEvent, WithDigitalLinkID/Example_9.6.1 #2 and Example_9.6.2, and
/// WithErrorDeclaration/Example_9.6.1 #2 (counting events from 1).
/// [`draft_rules_reproduce_gs1_ids`] shows two of them. The other 29 (the sensor data
/// examples, Example-Type-sourceOrDestination, ILMD, error declarations, persistent
/// dispositions, the rdfs:comment example,
/// the full-combination files, AssociationEvent-f and -g, and WithDigitalLinkID 9.6.1 #1,
/// 9.6.3 and 9.6.4) match neither CBV 2.0 nor those draft rules; they were made with other
/// draft versions or on content edited since, and cannot be checked from their files.
const CBV20_MATCHES: &[(&str, usize)] = &[];

#[test]
fn gs1_example_ids_against_cbv_2_0() {
    let ids = gs1_hash_ids();
    assert_eq!(ids.len(), 45, "GS1's examples carry 45 hash ids");
    let mut matching = Vec::new();
    for (name, i, id) in &ids {
        let event = read(name).events()[*i].clone();
        if &event.hash_id() == id {
            matching.push((name.clone(), *i));
        }
    }
    let expected: Vec<(String, usize)> = CBV20_MATCHES
        .iter()
        .map(|(n, i)| (n.to_string(), *i))
        .collect();
    assert_eq!(matching, expected);
}

/// Two of GS1's ids, recomputed from the draft-rule pre-hash strings of their events: the
/// strings are the CBV 2.0 pre-hash strings of the same events with the four draft
/// differences applied, which shows those are the only differences.
#[test]
fn draft_rules_reproduce_gs1_ids() {
    let doc = read("JSON/Example_9.6.1-ObjectEvent.jsonld");
    let draft = [
        concat!(
            "eventType=ObjectEventeventTime=2005-04-04T02:33:31.116ZeventTimeZoneOffset=-06:00",
            "epcListepc=urn:epc:id:sgtin:0614141.107346.2017epc=urn:epc:id:sgtin:0614141.107346.2018",
            "action=OBSERVEbizStep=urn:epcglobal:cbv:bizstep:shippingdisposition=urn:epcglobal:cbv:disp:in_transit",
            "readPointid=urn:epc:id:sgln:0614141.07346.1234",
            "bizTransactionListbizTransaction=http://transaction.acme.com/po/12345678type=urn:epcglobal:cbv:btt:po",
        ),
        concat!(
            "eventType=ObjectEventeventTime=2005-04-05T02:33:31.116ZeventTimeZoneOffset=-06:00",
            "epcListepc=urn:epc:id:sgtin:0614141.107346.2018",
            "action=OBSERVEbizStep=urn:epcglobal:cbv:bizstep:receivingdisposition=urn:epcglobal:cbv:disp:in_progress",
            "readPointid=urn:epc:id:sgln:0012345.11111.400bizLocationid=urn:epc:id:sgln:0012345.11111.0",
            "bizTransactionListbizTransaction=http://transaction.acme.com/po/12345678type=urn:epcglobal:cbv:btt:po",
            "bizTransaction=urn:epcglobal:cbv:bt:0614141073467:1152type=urn:epcglobal:cbv:btt:desadv",
            "http://ns.example.com/epcis/myField=Example of a vendor/user extension",
        ),
    ];
    for (event, draft) in doc.events().iter().zip(draft) {
        let hex: String = Sha256::digest(draft.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            event.event_id(),
            Some(format!("ni:///sha-256;{hex}?ver=CBV2.0").as_str())
        );
        // Undo the four differences and the string is ours.
        let ours = draft
            .replace("urn:epc:id:sgtin:0614141.107346.", "https://id.gs1.org/01/10614141073464/21/")
            .replace("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234")
            .replace("urn:epc:id:sgln:0012345.11111.400", "https://id.gs1.org/414/0012345111112/254/400")
            .replace("urn:epc:id:sgln:0012345.11111.0", "https://id.gs1.org/414/0012345111112")
            .replace("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-")
            .replace("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-")
            .replace(
                "bizTransaction=http://transaction.acme.com/po/12345678type=urn:epcglobal:cbv:btt:po",
                "type=https://ref.gs1.org/cbv/BTT-pobizTransaction=http://transaction.acme.com/po/12345678",
            )
            .replace(
                "bizTransaction=urn:epcglobal:cbv:bt:0614141073467:1152type=urn:epcglobal:cbv:btt:desadv",
                "type=https://ref.gs1.org/cbv/BTT-desadvbizTransaction=urn:epcglobal:cbv:bt:0614141073467:1152",
            )
            .replace("http://ns.example.com/epcis/myField", "{http://ns.example.com/epcis/}myField");
        // CBV 2.0 sorts the transactions by their type-first strings: desadv before po.
        let ours = ours.replace(
            "type=https://ref.gs1.org/cbv/BTT-pobizTransaction=http://transaction.acme.com/po/12345678type=https://ref.gs1.org/cbv/BTT-desadvbizTransaction=urn:epcglobal:cbv:bt:0614141073467:1152",
            "type=https://ref.gs1.org/cbv/BTT-desadvbizTransaction=urn:epcglobal:cbv:bt:0614141073467:1152type=https://ref.gs1.org/cbv/BTT-pobizTransaction=http://transaction.acme.com/po/12345678",
        );
        assert_eq!(event.prehash(), ours);
    }
}
