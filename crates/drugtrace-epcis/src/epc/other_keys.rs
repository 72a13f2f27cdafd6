//! The canonical GS1 Digital Link of every GS1 identifier EPCIS may carry, for the event
//! hash: the typed keys of [`Epc`], the other EPC URN schemes (GRAI, GIAI, GDTI, GSRN,
//! GSRN-P, SGCN, GINC, GSIN, CPI, ITIP, UPUI and their class patterns) and Digital Links of
//! any primary key. drugtrace reads none of the other schemes as a typed value; they only
//! need one spelling so that two forms of one event hash alike.

use super::Epc;
use super::digital_link::{CANONICAL_HOST, ai_of, path_segments};
use super::percent::{self, all_digits, starts_with_ignore_case, with_check_digit};

/// The canonical Digital Link of `value`, when it is a GS1 identifier in any form; `None`
/// for anything else (or a malformed identifier, which is then hashed as written).
pub(crate) fn canonical(value: &str) -> Option<String> {
    match Epc::parse(value) {
        Ok(Epc::Other(_)) => {}
        Ok(typed) => return Some(typed.to_string()),
        Err(_) => return None,
    }
    if starts_with_ignore_case(value, "urn:epc:") {
        return urn(value);
    }
    digital_link(value)
}

/// An EPC URN of a scheme [`Epc`] does not type.
fn urn(value: &str) -> Option<String> {
    let (kind, rest) = value["urn:epc:".len()..].split_once(':')?;
    let (scheme, body) = rest.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let pieces = match scheme.as_str() {
        "itip" => 5,
        // A CPI's component/part reference may hold dots; its serial follows the last one.
        "cpi" => 2,
        _ => 3,
    };
    let parts: Vec<&str> = body.splitn(pieces, '.').collect();
    let cp = *parts.first()?;
    if !(6..=12).contains(&cp.len()) || !all_digits(cp) {
        return None;
    }
    // Text parts are decoded, then written the canonical Digital Link way.
    let text = |s: &str| -> Option<String> {
        let decoded = percent::decode(s).ok()?;
        let mut out = String::new();
        percent::encode_dl(&decoded, &mut out);
        Some(out)
    };
    // A numeric part that fills the company prefix up to `total` digits.
    let fill = |s: &str, total: usize| {
        (s.len() + cp.len() == total && (s.is_empty() || all_digits(s))).then_some(())
    };
    let path = match (
        kind.to_ascii_lowercase().as_str(),
        scheme.as_str(),
        parts.as_slice(),
    ) {
        ("id", "grai", [_, asset_type, serial]) => {
            fill(asset_type, 12)?;
            format!(
                "/8003/{}{}",
                with_check_digit(&format!("0{cp}{asset_type}")),
                text(serial)?
            )
        }
        ("idpat", "grai", [_, asset_type, "*"]) => {
            fill(asset_type, 12)?;
            format!("/8003/{}", with_check_digit(&format!("0{cp}{asset_type}")))
        }
        ("id", "giai", [_, asset_ref]) => format!("/8004/{cp}{}", text(asset_ref)?),
        ("id", "gdti", [_, doc_type, serial]) => {
            fill(doc_type, 12)?;
            format!(
                "/253/{}{}",
                with_check_digit(&format!("{cp}{doc_type}")),
                text(serial)?
            )
        }
        ("idpat", "gdti", [_, doc_type, "*"]) => {
            fill(doc_type, 12)?;
            format!("/253/{}", with_check_digit(&format!("{cp}{doc_type}")))
        }
        ("id", "gsrn", [_, service_ref]) => {
            fill(service_ref, 17)?;
            format!("/8018/{}", with_check_digit(&format!("{cp}{service_ref}")))
        }
        ("id", "gsrnp", [_, service_ref]) => {
            fill(service_ref, 17)?;
            format!("/8017/{}", with_check_digit(&format!("{cp}{service_ref}")))
        }
        ("id", "sgcn", [_, coupon_ref, serial]) => {
            fill(coupon_ref, 12)?;
            (serial.is_empty() || all_digits(serial)).then_some(())?;
            format!(
                "/255/{}{serial}",
                with_check_digit(&format!("{cp}{coupon_ref}"))
            )
        }
        ("idpat", "sgcn", [_, coupon_ref, "*"]) => {
            fill(coupon_ref, 12)?;
            format!("/255/{}", with_check_digit(&format!("{cp}{coupon_ref}")))
        }
        ("id", "ginc", [_, consignment_ref]) => format!("/401/{cp}{}", text(consignment_ref)?),
        ("id", "gsin", [_, shipper_ref]) => {
            fill(shipper_ref, 16)?;
            format!("/402/{}", with_check_digit(&format!("{cp}{shipper_ref}")))
        }
        ("id", "cpi", [_, rest]) => {
            let (cp_ref, serial) = rest.rsplit_once('.')?;
            all_digits(serial).then_some(())?;
            format!("/8010/{}/8011/{serial}", text(&format!("{cp}{cp_ref}"))?)
        }
        ("idpat", "cpi", [_, rest]) => {
            let cp_ref = rest.strip_suffix(".*")?;
            format!("/8010/{}", text(&format!("{cp}{cp_ref}"))?)
        }
        ("id", "itip", [_, iir, piece, total, serial]) => {
            let gtin = gtin14(cp, iir)?;
            (piece.len() == 2 && total.len() == 2 && all_digits(piece) && all_digits(total))
                .then_some(())?;
            format!("/8006/{gtin}{piece}{total}/21/{}", text(serial)?)
        }
        ("idpat", "itip", [_, iir, piece, total, "*"]) => {
            let gtin = gtin14(cp, iir)?;
            (piece.len() == 2 && total.len() == 2 && all_digits(piece) && all_digits(total))
                .then_some(())?;
            format!("/8006/{gtin}{piece}{total}")
        }
        ("id", "upui", [_, iir, tpx]) => format!("/01/{}/235/{}", gtin14(cp, iir)?, text(tpx)?),
        ("idpat", "upui", [_, iir, "*"]) => format!("/01/{}", gtin14(cp, iir)?),
        _ => return None,
    };
    Some(format!("{CANONICAL_HOST}{path}"))
}

/// The GTIN-14 of a company prefix and an indicator digit + item reference.
fn gtin14(cp: &str, iir: &str) -> Option<String> {
    (iir.len() + cp.len() == 13 && all_digits(iir))
        .then(|| with_check_digit(&format!("{}{cp}{}", &iir[..1], &iir[1..])))
}

/// A Digital Link whose primary key [`Epc`] does not type (or whose qualifiers it does not
/// have): moved to the canonical host, query and consumer product variant dropped, a lot
/// dropped when a serial is there, a GTIN padded to 14 digits.
fn digital_link(value: &str) -> Option<String> {
    const PRIMARY: [&str; 14] = [
        "01", "8006", "8010", "414", "417", "8017", "8018", "255", "00", "253", "401", "402",
        "8003", "8004",
    ];
    let segments = path_segments(value)?;
    let start = (0..segments.len()).find(|&i| {
        PRIMARY.contains(&ai_of(segments[i]))
            && segments
                .get(i + 1)
                .is_some_and(|v| v.len() >= 4 && v.bytes().take(4).all(|b| b.is_ascii_digit()))
    })?;
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let mut i = start;
    while i < segments.len() {
        let ai = ai_of(segments[i]);
        match segments.get(i + 1) {
            Some(v) if !v.is_empty() => pairs.push((ai, (*v).to_string())),
            None if ai.is_empty() => break,
            _ => return None,
        }
        i += 2;
    }
    if pairs[0].0 == "01" {
        let gtin = &pairs[0].1;
        (matches!(gtin.len(), 8 | 12 | 13 | 14) && all_digits(gtin)).then_some(())?;
        pairs[0].1 = format!("{gtin:0>14}");
    }
    pairs.retain(|(ai, _)| *ai != "22");
    if pairs.iter().any(|(ai, _)| *ai == "21") {
        pairs.retain(|(ai, _)| *ai != "10");
    }
    let mut out = String::from(CANONICAL_HOST);
    for (ai, v) in pairs {
        out.push('/');
        out.push_str(ai);
        out.push('/');
        out.push_str(&v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_schemes_become_digital_links() {
        for (input, expected) in [
            (
                "urn:epc:id:gdti:0614141.00001.1618034",
                "https://id.gs1.org/253/06141410000121618034",
            ),
            (
                "urn:epc:id:giai:4000001.111",
                "https://id.gs1.org/8004/4000001111",
            ),
            (
                "urn:epc:id:grai:4012345.55555.98765",
                "https://id.gs1.org/8003/0401234555555498765",
            ),
            (
                "urn:epc:id:gsrn:0614141.0000010253",
                "https://id.gs1.org/8018/061414100000102534",
            ),
            (
                "https://example.org/8004/401234599999",
                "https://id.gs1.org/8004/401234599999",
            ),
            (
                "https://example.com/253/4012345000054987",
                "https://id.gs1.org/253/4012345000054987",
            ),
            (
                "https://id.gs1.org/01/9506000134352/10/L1/21/S1?x=1",
                "https://id.gs1.org/01/09506000134352/21/S1",
            ),
            (
                "urn:epc:id:cpi:0614141.123-A%23%2F.1234",
                "https://id.gs1.org/8010/0614141123-A%23%2F/8011/1234",
            ),
            (
                "urn:epc:idpat:cpi:4012345.ABC.*",
                "https://id.gs1.org/8010/4012345ABC",
            ),
            (
                "urn:epc:id:sgcn:4012345.67890.04711",
                "https://id.gs1.org/255/401234567890104711",
            ),
            (
                "urn:epc:id:sgtin:0614141.107346.2017",
                "https://id.gs1.org/01/10614141073464/21/2017",
            ),
        ] {
            assert_eq!(canonical(input).as_deref(), Some(expected), "{input}");
        }
        for not_a_key in [
            "http://transaction.acme.com/po/12345678",
            "urn:epcglobal:cbv:bt:0614141073467:1152",
            "x",
        ] {
            assert_eq!(canonical(not_a_key), None, "{not_a_key}");
        }
    }
}
