use drugtrace_code::TraceCode;
use proptest::prelude::*;

use super::*;

fn parse(s: &str) -> Epc {
    Epc::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn urn_and_digital_link_of_one_pack_are_one_pack() {
    // GS1's example SGTIN: company prefix 0614141, indicator 1, item reference 07346.
    let urn = parse("urn:epc:id:sgtin:0614141.107346.2017");
    let dl = parse("https://id.gs1.org/01/10614141073464/21/2017");
    let other_host = parse("https://brand.example/x/01/10614141073464/21/2017?linkType=all");
    assert_eq!(urn, dl);
    assert_eq!(dl, other_host);
    let key = urn.pack_key().unwrap();
    assert_eq!(dl.pack_key(), Some(key));
    assert_eq!(
        TraceCode::parse("(01)10614141073464(21)2017")
            .unwrap()
            .pack_key(),
        key
    );
    assert_eq!(urn.gtin().unwrap().to_gtin14(), "10614141073464");
    assert_eq!(
        urn.to_string(),
        "https://id.gs1.org/01/10614141073464/21/2017"
    );
    assert_eq!(
        urn.to_epc_urn().as_deref(),
        Some("urn:epc:id:sgtin:0614141.107346.2017")
    );
    assert_eq!(
        dl.to_epc_urn(),
        None,
        "a Digital Link does not tell the company prefix length"
    );
    assert_eq!(urn.as_written(), "urn:epc:id:sgtin:0614141.107346.2017");
}

#[test]
fn urn_serial_escapes_are_decoded() {
    let urn = parse("urn:epc:id:sgtin:0614141.107346.A%2FB.1");
    let Epc::Sgtin(s) = &urn else {
        panic!("{urn:?}")
    };
    assert_eq!(s.serial(), "A/B.1");
    assert_eq!(
        urn.to_string(),
        "https://id.gs1.org/01/10614141073464/21/A%2FB.1"
    );
    assert_eq!(
        parse("https://id.gs1.org/01/10614141073464/21/A%2FB.1"),
        urn
    );
    assert_eq!(
        urn.to_epc_urn().as_deref(),
        Some("urn:epc:id:sgtin:0614141.107346.A%2FB.1")
    );
    assert_eq!(
        urn.pack_key(),
        Some(
            TraceCode::parse("(01)10614141073464(21)A/B.1")
                .unwrap()
                .pack_key()
        )
    );
}

#[test]
fn other_typed_keys() {
    let sscc = parse("urn:epc:id:sscc:0614141.1234567890");
    assert_eq!(sscc.sscc().unwrap().to_string(), "(00)106141412345678908");
    assert_eq!(parse("https://id.gs1.org/00/106141412345678908"), sscc);
    assert_eq!(
        sscc.to_epc_urn().as_deref(),
        Some("urn:epc:id:sscc:0614141.1234567890")
    );
    assert_eq!(sscc.pack_key(), None);

    let sgln = parse("urn:epc:id:sgln:0614141.07346.1234");
    assert_eq!(
        sgln.to_string(),
        "https://id.gs1.org/414/0614141073467/254/1234"
    );
    assert_eq!(parse("https://id.gs1.org/414/0614141073467/254/1234"), sgln);
    assert_eq!(sgln.gln().unwrap().to_string(), "0614141073467");
    let site = parse("urn:epc:id:sgln:0614141.07346.0");
    assert_eq!(
        site.to_string(),
        "https://id.gs1.org/414/0614141073467",
        "extension 0 is none"
    );
    assert_eq!(parse("https://id.gs1.org/gln/0614141073467"), site);

    let pgln = parse("urn:epc:id:pgln:4012345.00225");
    assert_eq!(pgln.to_string(), "https://id.gs1.org/417/4012345002256");
    assert_eq!(parse("https://id.gs1.org/417/4012345002256"), pgln);
    assert_ne!(
        pgln,
        parse("urn:epc:id:sgln:4012345.00225.0"),
        "a party is not a location"
    );

    let lgtin = parse("urn:epc:class:lgtin:4012345.012345.998877");
    assert_eq!(
        lgtin.to_string(),
        "https://id.gs1.org/01/04012345123456/10/998877"
    );
    assert_eq!(lgtin.lot(), Some("998877"));
    assert_eq!(
        parse("https://id.gs1.org/01/04012345123456/10/998877"),
        lgtin
    );

    let class = parse("urn:epc:idpat:sgtin:4012345.012345.*");
    assert_eq!(class.to_string(), "https://id.gs1.org/01/04012345123456");
    assert_eq!(
        parse("https://id.gs1.org/01/4012345123456"),
        class,
        "GTIN-13 in the path"
    );
    assert_eq!(
        class.to_epc_urn().as_deref(),
        Some("urn:epc:idpat:sgtin:4012345.012345.*")
    );
    assert_eq!(class.gtin(), lgtin.gtin());
}

#[test]
fn anything_else_is_kept_as_written() {
    for s in [
        "urn:epc:id:giai:4000001.111",
        "urn:epc:idpat:sgtin:0614141.*.*",
        "http://transaction.acme.com/po/12345678",
        "https://id.gs1.org/8004/4000001111",
        "https://id.gs1.org/01/10614141073464/235/X1",
        "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",
    ] {
        assert_eq!(parse(s), Epc::Other(s.to_string()), "{s}");
        assert_eq!(parse(s).to_string(), s);
    }
}

#[test]
fn malformed_keys_say_what_is_wrong() {
    for (input, expected) in [
        ("", "the identifier is empty"),
        (
            "urn:epc:id:sgtin:0614141.107346",
            "SGTIN URN has 2 parts separated by '.', but needs 3",
        ),
        (
            "urn:epc:id:sgtin:06141.1073460.1",
            "SGTIN URN: the GS1 company prefix \"06141\" has 5 characters, but a company prefix is 6 to 12 digits",
        ),
        (
            "urn:epc:id:sgtin:0614141.10734.1",
            "SGTIN URN: the indicator digit and item reference has 5 digits, but with a 7-digit company prefix it needs 6",
        ),
        (
            "urn:epc:id:sgtin:0614141.10734X.1",
            "SGTIN URN: the indicator digit and item reference \"10734X\" must be digits only",
        ),
        (
            "urn:epc:id:sgtin:0614141.107346.",
            "SGTIN: the serial is empty",
        ),
        (
            "urn:epc:id:sgtin:0614141.107346.a b",
            "SGTIN: character 2 of the serial is ' ', which GS1 does not allow (character set 82)",
        ),
        (
            "urn:epc:id:sgtin:0614141.107346.123456789012345678901",
            "SGTIN: the serial has 21 characters, but at most 20 are allowed",
        ),
        (
            "urn:epc:id:sgtin:0614141.107346.12%2",
            "SGTIN: the '%' at character 3 of the serial is not followed by two hexadecimal digits",
        ),
        (
            "urn:epc:id:sscc:0614141.12345678901.2",
            "SSCC URN has 3 parts separated by '.', but needs 2",
        ),
        (
            "https://id.gs1.org/01/10614141073465/21/2017",
            "GS1 Digital Link /01/: GTIN check digit is 5, but the other digits call for 4",
        ),
        (
            "https://id.gs1.org/00/106141412345678907",
            "SSCC 106141412345678907: the check digit is 7, but the other digits call for 8",
        ),
        (
            "https://id.gs1.org/414/061414107346",
            "GS1 Digital Link /414/061414107346: a GLN has 13 digits, this one has 12",
        ),
        (
            "https://id.gs1.org/01/10614141073464/21",
            "GS1 Digital Link: the path ends after /21/ with no value",
        ),
    ] {
        let err = Epc::parse(input).unwrap_err();
        assert_eq!(err.to_string(), expected, "{input:?}");
    }
}

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,60}") {
        let _ = Epc::parse(&s);
        let _ = other_keys::canonical(&s);
    }

    #[test]
    fn never_panics_on_key_shapes(
        scheme in prop::sample::select(vec![
            "urn:epc:id:sgtin:", "urn:epc:id:sscc:", "urn:epc:id:sgln:", "urn:epc:id:pgln:",
            "urn:epc:class:lgtin:", "urn:epc:idpat:sgtin:", "urn:epc:id:grai:", "urn:epc:id:cpi:",
            "urn:epc:id:itip:", "https://id.gs1.org/01/", "https://x.example/00/", "http://a/414/",
        ]),
        rest in "[0-9.%*/A-Za-z]{0,40}",
    ) {
        let s = format!("{scheme}{rest}");
        let _ = Epc::parse(&s);
        let _ = other_keys::canonical(&s);
    }

    /// An SGTIN written as a URN (for every company prefix length) and as a Digital Link is
    /// one pack, with the pack key of its element string.
    #[test]
    fn urn_digital_link_and_pack_key_agree(
        body in 0u64..10_000_000_000_000,
        prefix_len in 6usize..=12,
        serial in "[!\"%&'()*+,./0-9:;<=>?A-Z_a-z-]{1,20}",
    ) {
        let gtin = Gtin::with_check_digit(body).unwrap();
        let d = gtin.to_gtin14();
        let mut urn = format!("urn:epc:id:sgtin:{}.{}{}.", &d[1..=prefix_len], &d[..1], &d[prefix_len + 1..13]);
        percent::encode_urn(&serial, &mut urn);
        let mut dl = format!("https://id.gs1.org/01/{d}/21/");
        percent::encode_dl(&serial, &mut dl);

        let from_urn = Epc::parse(&urn).unwrap();
        let from_dl = Epc::parse(&dl).unwrap();
        prop_assert_eq!(&from_urn, &from_dl);
        prop_assert_eq!(from_urn.to_string(), dl.clone());
        prop_assert_eq!(from_urn.to_epc_urn(), Some(urn.clone()));
        let key = drugtrace_code::TraceCode::Gs1(Gs1Pack::new(gtin, &serial, None, None).unwrap()).pack_key();
        prop_assert_eq!(from_urn.pack_key(), Some(key));
        prop_assert_eq!(from_dl.pack_key(), Some(key));
        // The Digital Link reader of the trace-code crate agrees too.
        prop_assert_eq!(drugtrace_code::TraceCode::parse(&dl).map(|t| t.pack_key()), Ok(key));
    }
}
