//! Tests of dispatch and of the promises the whole crate makes: every form round-trips,
//! every form of one pack gives one key, and no input panics.

use proptest::prelude::*;

use super::*;

/// The example pack most tests read: GTIN 09506000134352, expiry 2025-12-31, batch, serial.
fn example(serial: &str, batch: Option<&str>) -> TraceCode {
    let gtin = Gtin::parse("09506000134352").unwrap();
    let expiry = Expiry::parse_yymmdd("251231").ok();
    TraceCode::Gs1(Gs1Pack::new(gtin, serial, batch, expiry).unwrap())
}

fn china(s: &str) -> TraceCode {
    TraceCode::China(ChinaCode::parse(s).unwrap())
}

/// Found by the fuzz target `trace_code`: a Digital Link whose serial holds `(21)` rendered
/// to a bracketed form that did not parse back.
#[test]
fn a_serial_holding_an_ai_survives_its_bracketed_form() {
    let link = "https://id.gsg/01/06901234567816/21/12(21)069!!!!!345";
    let code = TraceCode::parse(link).unwrap();
    let shown = code.to_string();
    assert_eq!(shown, "(01)06901234567816(21)12\\(21)069!!!!!345");
    assert_eq!(TraceCode::parse(&shown).unwrap(), code);
    assert_eq!(code.pack_key().to_string(), shown);
}

#[test]
fn good_inputs() {
    let c = china("81234567890123456789");
    let g = example("SER1", Some("LOT1"));
    let cases = [
        ("81234567890123456789", &c),
        ("\u{3000}８１２３４５６７８９０１２３４５６７８９\r\n", &c),
        ("]C081234567890123456789", &c),
        ("]d2010950600013435217251231\u{1d}10LOT1\u{1d}21SER1", &g),
        ("]C1010950600013435217251231\u{1d}10LOT1\u{1d}21SER1", &g),
        (
            "]Q3\u{1d}010950600013435217251231\u{1d}10LOT1\u{1d}21SER1",
            &g,
        ),
        ("]e0(01)09506000134352(17)251231(10)LOT1(21)SER1", &g),
        ("010950600013435217251231\u{1d}10LOT1\u{1d}21SER1", &g),
        ("\u{1d}010950600013435217251231\u{1d}10LOT1\u{1d}21SER1", &g),
        ("01095060001343521725123110LOT1<GS>21SER1", &g),
        (
            "（０１）０９５０６０００１３４３５２（１７）２５１２３１（１０）ＬＯＴ１（２１）ＳＥＲ１",
            &g,
        ),
        (
            "https://id.gs1.org/01/09506000134352/10/LOT1/21/SER1?17=251231",
            &g,
        ),
        // Digital Link 1.x short names.
        (
            "https://id.gs1.org/gtin/09506000134352/lot/LOT1/ser/SER1?17=251231",
            &g,
        ),
        (
            "HTTPS://example.com/p/01/9506000134352/10/LOT1/21/SER1?linkType=all&17=251231",
            &g,
        ),
        (
            "]Q1https://id.gs1.org/01/09506000134352/10/LOT1/21/SER1?17=251231",
            &g,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(TraceCode::parse(input).as_ref(), Ok(expected), "{input:?}");
    }
    // Unbracketed without any separator: the serial is last, so none is needed.
    assert_eq!(
        TraceCode::parse("01095060001343521725123121SER1"),
        Ok(example("SER1", None))
    );
}

/// A 20-digit string beginning with `00` is an SSCC only with a correct check digit; with a
/// wrong one it is read as a Chinese code, as before.
#[test]
fn only_a_checked_sscc_is_taken_for_a_label() {
    assert_eq!(
        TraceCode::parse("00106141412345678907"),
        Ok(china("00106141412345678907"))
    );
    // Every 20-digit `00` string is one or the other, never a panic.
    for last in 0..10 {
        let s = format!("0010614141234567890{last}");
        let parsed = TraceCode::parse(&s);
        assert_eq!(
            matches!(parsed, Err(ParseError::LogisticsLabel { .. })),
            last == 8,
            "{s}: {parsed:?}"
        );
    }
}

#[test]
fn bad_inputs() {
    for (input, expected) in [
        ("", "empty code"),
        (" \u{3000}\t", "empty code"),
        ("8123456789012345678", "expected 20 digits, got 19"),
        ("812345678901234567890", "expected 20 digits, got 21"),
        ("0123456789012345678", "expected 20 digits, got 19"),
        ("8123x567890123456789", "character 5 is 'x', not a digit"),
        // A carton's SSCC, bare (as most scanners send it), bracketed, raw and as a link.
        (
            "00106141412345678908",
            "(00)106141412345678908 is an SSCC, the shipping label of a carton or pallet, not a pack's trace code: scan the packs inside it",
        ),
        (
            "(00)106141412345678908",
            "(00)106141412345678908 is an SSCC, the shipping label of a carton or pallet, not a pack's trace code: scan the packs inside it",
        ),
        (
            "]C100106141412345678908",
            "(00)106141412345678908 is an SSCC, the shipping label of a carton or pallet, not a pack's trace code: scan the packs inside it",
        ),
        (
            "https://example.com/sscc/106141412345678908",
            "(00)106141412345678908 is an SSCC, the shipping label of a carton or pallet, not a pack's trace code: scan the packs inside it",
        ),
        (
            "https://id.gs1.org/00/106141412345678908",
            "(00)106141412345678908 is an SSCC, the shipping label of a carton or pallet, not a pack's trace code: scan the packs inside it",
        ),
        (
            "(00)106141412345678907",
            "(00) SSCC 106141412345678907: the check digit is wrong (a misread label?)",
        ),
        // A Chinese code through a French keyboard layout.
        (
            "_&éé\"'(-è_çà&éé\"'(-è",
            "the digits came through a French (AZERTY) keyboard layout (read as digits: 81223456789012234567): set the scanner's keyboard layout to the computer's, then scan again",
        ),
        (
            "6901234567892",
            "06901234567892 is a product barcode (GTIN), not the pack's trace code",
        ),
        (
            "hello",
            "not a trace code: expected 20 digits, a GS1 element string or a GS1 Digital Link",
        ),
        ("]", "unknown scanner prefix \"]\" (symbology identifier)"),
        (
            "]]]",
            "unknown scanner prefix \"]]]\" (symbology identifier)",
        ),
        (
            "]d20109506000134353\u{1d}21X",
            "GTIN check digit is 3, but the other digits call for 2",
        ),
        (
            "]d2010950600013435299X",
            "unknown application identifier 99 at character 20",
        ),
        ("(01)09506000134352(17)251231", "missing (21) serial"),
        (
            "(01)09506000134352(17)251341(21)X",
            "(17) expiry 251341: month 13 does not exist",
        ),
        (
            "010950600013435221123456789012345678901",
            "(21) serial longer than 20 characters (it has 21)",
        ),
        (
            "https://id.gs1.org/gtin/123",
            "a GTIN has 8, 12, 13 or 14 digits, this one has 3",
        ),
        (
            "https://id.gs1.org/product/123",
            "Digital Link path has no /01/ segment",
        ),
        (
            "(01)09506000134352(21)A(21)B",
            "(21) serial appears twice with different values",
        ),
    ] {
        let err = TraceCode::parse(input).unwrap_err();
        assert_eq!(err.to_string(), expected, "{input:?}");
    }
}

#[test]
fn accessors() {
    let c = china("81234567890123456789");
    assert_eq!(c.product_key().to_string(), "8123456");
    assert_eq!((c.batch(), c.expiry()), (None, None));
    assert_eq!(c.to_string(), "81234567890123456789");
    let g = example("S", Some("L"));
    assert_eq!(g.product_key().to_string(), "(01)09506000134352");
    assert_eq!(g.batch(), Some("L"));
    assert_eq!(g.expiry(), Expiry::parse_yymmdd("251231").ok());
    assert_eq!(g.to_string(), "(01)09506000134352(17)251231(10)L(21)S");
    assert_eq!("81234567890123456789".parse::<TraceCode>(), Ok(c));
}

/// A string of 1 to 20 characters of GS1's set 82.
fn cset82(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]{{1,{max}}}"))
        .expect("valid regex")
}

/// Any expiry: a two-digit year read in 2000..2099, where Gregorian leap years are exactly
/// the years whose two digits divide by 4, as GS1 assumes.
fn expiry() -> impl Strategy<Value = Expiry> {
    (2000i32..2100, 1u32..=12, 0u32..=31)
        .prop_filter_map("day exists", |(y, m, d)| Expiry::from_ymd(y, m, d))
}

fn gs1_pack() -> impl Strategy<Value = Gs1Pack> {
    (
        0u64..10_000_000_000_000,
        cset82(20),
        proptest::option::of(cset82(20)),
        proptest::option::of(expiry()),
    )
        .prop_map(|(body, serial, batch, expiry)| {
            let gtin = Gtin::with_check_digit(body).unwrap();
            Gs1Pack::new(gtin, &serial, batch.as_deref(), expiry).unwrap()
        })
}

fn trace_code() -> impl Strategy<Value = TraceCode> {
    prop_oneof![
        // Chinese codes as issued: none begins with `00`, which an SSCC label does.
        (10u128.pow(18)..10u128.pow(20))
            .prop_map(|v| TraceCode::China(ChinaCode::from_value(v).unwrap())),
        gs1_pack().prop_map(TraceCode::Gs1),
    ]
}

/// Parses `s` and renders the result or the error, which must not panic either.
fn parse_and_show(s: &str) {
    match TraceCode::parse(s) {
        Ok(code) => drop(code.to_string()),
        Err(e) => drop(e.to_string()),
    }
}

proptest! {
    #[test]
    fn display_round_trips(code in trace_code()) {
        // Also when a serial or batch holds text like `(21)`: the form escapes it as `\(`.
        prop_assert_eq!(TraceCode::parse(&code.to_string()), Ok(code));
    }

    #[test]
    fn every_form_gives_one_pack(p in gs1_pack()) {
        let key = p.pack_key();
        for form in [
            p.to_element_string(),
            p.to_digital_link("https://id.gs1.org"),
            p.to_compressed_digital_link("https://id.gs1.org"),
        ] {
            let parsed = TraceCode::parse(&form);
            prop_assert_eq!(&parsed, &Ok(TraceCode::Gs1(p.clone())), "{:?}", form);
            prop_assert_eq!(parsed.unwrap().pack_key(), key);
        }
        // The element string without its prefix, as scanners configured not to send one do.
        // Exactly 20 digits, though, are always read as a Chinese code, by design.
        let bare = p.to_element_string().split_off(3);
        if bare.len() != 20 || !bare.bytes().all(|b| b.is_ascii_digit()) {
            prop_assert_eq!(TraceCode::parse(&bare), Ok(TraceCode::Gs1(p)));
        }
    }

    #[test]
    fn pack_keys_round_trip(code in trace_code()) {
        let key = code.pack_key();
        prop_assert_eq!(PackKey::from_bytes(key.as_bytes()), Ok(key));
        let shown = key.to_string();
        prop_assert_eq!(TraceCode::parse(&shown).map(|c| c.pack_key()), Ok(key));
    }

    #[test]
    fn no_input_panics(s in "[0-9()\u{1d}/%０-９（）\\]dCQe2http:s?=&<GS>a-zé \u{3000}]{0,60}") {
        parse_and_show(&s);
    }

    #[test]
    fn no_printable_input_panics(s in "\\PC{0,60}") {
        parse_and_show(&s);
    }

    /// With a secondary serial and a signature too: the compressed form keeps both.
    #[test]
    fn compressed_links_round_trip(p in gs1_pack(), kept in proptest::option::of((cset82(30), "[A-Za-z0-9_=-]{1,90}"))) {
        let p = match kept {
            Some((secondary, signature)) => {
                let bracketed = format!(
                    "{}(250){}(8030){signature}",
                    p,
                    crate::element_string::escape_bracketed(&secondary)
                );
                let TraceCode::Gs1(p) = TraceCode::parse(&bracketed).unwrap() else { unreachable!() };
                p
            }
            None => p,
        };
        let link = p.to_compressed_digital_link("https://example.com/p/");
        prop_assert_eq!(TraceCode::parse(&link), Ok(TraceCode::Gs1(p)), "{}", link);
    }

    #[test]
    fn compressed_sscc_links_are_labels(v in 0u64..100_000_000_000_000_000) {
        let sscc = crate::Sscc::checked(&format!("{:017}{}", v, crate::gtin::check_digit(v))).unwrap();
        let link = sscc.to_compressed_digital_link("https://id.gs1.org");
        prop_assert_eq!(TraceCode::parse(&link), Err(ParseError::LogisticsLabel { sscc }));
        prop_assert_eq!(parse_case(&link), Ok(sscc.pack_key()));
    }

    /// An element string typed with Caps Lock on (its prefix `]D2`) is never read as another
    /// pack: refused, saying how it reads turned back, unless turning back changes nothing.
    #[test]
    fn caps_locked_element_strings_are_not_misread(p in gs1_pack()) {
        let typed = crate::caps_lock::invert_case(&p.to_element_string());
        let parsed = TraceCode::parse(&typed);
        let as_typed = TraceCode::parse(&typed.replacen("]D2", "]d2", 1));
        if as_typed.as_ref() == Ok(&TraceCode::Gs1(p.clone())) {
            prop_assert_eq!(parsed, Ok(TraceCode::Gs1(p)));
        } else {
            let Err(ParseError::CapsLock { reads_as, .. }) = parsed else {
                return Err(TestCaseError::fail(format!("{typed:?}: {parsed:?}")));
            };
            prop_assert_eq!(reads_as, p.to_string());
        }
    }

    #[test]
    fn no_compressed_segment_panics(seg in "[A-Za-z0-9_-]{1,80}", prefix in "(|/01/09506000134352)") {
        parse_and_show(&format!("https://id.gs1.org{prefix}/{seg}"));
    }

    #[test]
    fn no_damaged_code_panics(code in trace_code(), form in 0..4usize, cut in any::<prop::sample::Index>(), ch in any::<char>()) {
        let text = match (&code, form) {
            (TraceCode::Gs1(p), 1) => p.to_element_string(),
            (TraceCode::Gs1(p), 2) => p.to_digital_link("http://x"),
            (TraceCode::Gs1(p), 3) => p.to_compressed_digital_link("http://x"),
            _ => code.to_string(),
        };
        let mut chars: Vec<char> = text.chars().collect();
        let at = cut.index(chars.len());
        parse_and_show(&chars[..at].iter().collect::<String>());
        chars[at] = ch;
        parse_and_show(&chars.iter().collect::<String>());
    }
}

/// (250) secondary serial and (8030) digital signature are accepted and kept, in every form,
/// without changing which pack the code names.
#[test]
fn a_secondary_serial_and_a_signature_are_kept() {
    let bracketed = "(01)09506000134352(17)251231(10)LOT1(250)SEC-9(8030)MEUCIQDx_c-9A=(21)SER1";
    let code = TraceCode::parse(bracketed).unwrap();
    let TraceCode::Gs1(p) = &code else {
        panic!("{code:?}")
    };
    assert_eq!(p.secondary_serial(), Some("SEC-9"));
    assert_eq!(p.signature(), Some("MEUCIQDx_c-9A="));
    assert_eq!(code.to_string(), bracketed);
    assert_eq!(code.pack_key(), example("SER1", Some("LOT1")).pack_key());
    for form in [
        p.to_element_string(),
        p.to_digital_link("https://id.gs1.org"),
    ] {
        assert_eq!(TraceCode::parse(&form).as_ref(), Ok(&code), "{form}");
    }
    let raw =
        "010950600013435217251231\u{1d}8030MEUCIQDx_c-9A=\u{1d}250SEC-9\u{1d}10LOT1\u{1d}21SER1";
    assert_eq!(TraceCode::parse(raw), Ok(code));
    // A signature too long is refused, naming the field.
    let long = format!("(01)09506000134352(8030){}(21)SER1", "A".repeat(91));
    assert_eq!(
        TraceCode::parse(&long).unwrap_err().to_string(),
        "(8030) longer than 90 characters (it has 91)"
    );
}

/// A scanner that drops FNC1 runs the batch into the serial: refused, saying where the
/// separator belongs and how the code then reads.
#[test]
fn a_lost_group_separator_is_pointed_at() {
    let err = TraceCode::parse("01095060001343521725123110LOT121SER1").unwrap_err();
    assert_eq!(
        err.to_string(),
        "a group separator (GS, ASCII 29) seems lost before character 31: with it the code reads (01)09506000134352(17)251231(10)LOT1(21)SER1; set the scanner to send FNC1 as GS, then scan again"
    );
    // A code that parses as it is keeps its meaning: a serial may hold `10`.
    assert!(TraceCode::parse("010950600013435221SER10LOT").is_ok());
}

/// Caps Lock inverts the case of every letter a keyboard-wedge scanner types. Where GS1 fixes
/// the case, a refusal says so and how the code reads turned back; near cases keep their own
/// reading or error.
#[test]
fn caps_lock_is_named_where_it_shows() {
    let g = example("SER1", Some("LOT1"));
    let hint = |sign: &str, reads: &str, printed: bool| {
        format!(
            "the letters came through in the other case, as with Caps Lock on ({sign}); turned back, the code reads {reads}: turn Caps Lock off (or set the scanner to ignore it), then scan again{}",
            if printed {
                "; if the code is printed so, the code itself is wrong"
            } else {
                ""
            }
        )
    };
    let full = "(01)09506000134352(17)251231(10)LOT1(21)SER1";
    let TraceCode::Gs1(p) = &g else {
        unreachable!()
    };
    let compressed =
        crate::caps_lock::invert_case(&p.to_compressed_digital_link("https://id.gs1.org"));
    for (input, expected) in [
        (
            "]D2010950600013435217251231\u{1d}10lot1\u{1d}21ser1",
            Err(hint("the scanner prefix is ]D2, not ]d2", full, false)),
        ),
        (
            "]q1HTTPS://ID.GS1.ORG/01/09506000134352/10/lot1/21/ser1?17=251231",
            Err(hint("the scanner prefix is ]q1, not ]Q1", full, false)),
        ),
        (
            "https://id.gs1.org/GTIN/09506000134352/LOT/lot1/SER/ser1?17=251231",
            Err(hint(
                "the path says /GTIN/ where GS1 writes /gtin/",
                full,
                true,
            )),
        ),
        (
            compressed.as_str(),
            Err(hint(
                "its compressed segment decodes only with the case of its letters turned back",
                full,
                true,
            )),
        ),
        (
            "01095060001343521725123110lot1<gs>21ser1",
            Err(hint("the separator is written <gs>, not <GS>", full, false)),
        ),
        (
            "HTTPS://ID.GS1.ORG/SSCC/106141412345678908",
            Err(hint(
                "the path says /SSCC/ where GS1 writes /sscc/",
                "(00)106141412345678908",
                true,
            )),
        ),
        // Near cases. Upper-case scheme and host are case-insensitive, and GS1 recommends
        // them for QR codes: read as they are.
        (
            "HTTPS://ID.GS1.ORG/01/09506000134352/10/LOT1/21/SER1?17=251231",
            Ok(full),
        ),
        // A serial in capitals is as likely as one in small letters: nothing shows.
        (
            "(01)09506000134352(17)251231(10)lot1(21)ser1",
            Ok("(01)09506000134352(17)251231(10)lot1(21)ser1"),
        ),
        // The prefix shows Caps Lock, but turning the case back reads the same pack.
        ("]D2010950600013435221123", Ok("(01)09506000134352(21)123")),
        (
            "]q1HTTPS://ID.GS1.ORG/01/09506000134352/21/123",
            Ok("(01)09506000134352(21)123"),
        ),
        (
            "]d2010950600013435217251231\u{1d}10LOT1\u{1d}21SER1",
            Ok(full),
        ),
        ("01095060001343521725123110LOT1<GS>21SER1", Ok(full)),
        // Wrong whatever the keyboard: the code's own error, no word of Caps Lock.
        (
            "]D20109506000134353\u{1d}21ABC",
            Err("GTIN check digit is 3, but the other digits call for 2".to_string()),
        ),
        (
            "https://id.gs1.org/GTIN/123",
            Err("Digital Link path has no /01/ segment".to_string()),
        ),
        (
            "https://id.gs1.org/DBFKk4XBoMiQi",
            Err(
                "compressed Digital Link, at character 20: the link ends inside (21) serial"
                    .to_string(),
            ),
        ),
    ] {
        let got = TraceCode::parse(input)
            .map(|c| c.to_string())
            .map_err(|e| e.to_string());
        assert_eq!(got, expected.map(str::to_string), "{input:?}");
    }
}
