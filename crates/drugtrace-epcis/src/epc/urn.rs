//! EPC URNs of the typed schemes (EPC Tag Data Standard, "pure identity" URIs):
//!
//! - `urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial`
//! - `urn:epc:id:sscc:CompanyPrefix.ExtensionSerialRef`
//! - `urn:epc:id:sgln:CompanyPrefix.LocationRef.Extension`
//! - `urn:epc:id:pgln:CompanyPrefix.PartyRef`
//! - `urn:epc:class:lgtin:CompanyPrefix.IndicatorItemRef.Lot`
//! - `urn:epc:idpat:sgtin:CompanyPrefix.IndicatorItemRef.*`
//!
//! The check digit is not written in a URN; it is computed. Serials, lots and extensions
//! may hold `.` and percent-escapes, which are decoded.

use drugtrace_code::{Gtin, Sscc};

use super::percent::{self, all_digits, starts_with_ignore_case};
use super::{Epc, EpcError, Gln, GtinClass, Lgtin, Pgln, Sgln, SsccId, check_text, sgtin};

/// Reads `s` if it is a URN of a typed scheme: `Ok(None)` when it is not one.
pub(super) fn parse(s: &str) -> Result<Option<Epc>, EpcError> {
    const SCHEMES: [(&str, &str); 6] = [
        ("urn:epc:id:sgtin:", "SGTIN"),
        ("urn:epc:id:sscc:", "SSCC"),
        ("urn:epc:id:sgln:", "SGLN"),
        ("urn:epc:id:pgln:", "PGLN"),
        ("urn:epc:class:lgtin:", "LGTIN"),
        ("urn:epc:idpat:sgtin:", "SGTIN pattern"),
    ];
    let Some(&(prefix, scheme)) = SCHEMES.iter().find(|(p, _)| starts_with_ignore_case(s, p))
    else {
        return Ok(None);
    };
    let body = &s[prefix.len()..];
    let epc = match scheme {
        "SGTIN" => {
            let [cp, iir, serial] = parts::<3>(scheme, body)?;
            let (gtin, len) = gtin_of(scheme, cp, iir)?;
            let serial = decode(scheme, "serial", serial)?;
            sgtin(gtin, &serial, None, Some(len), s)?
        }
        "SSCC" => {
            let [cp, serial_ref] = parts::<2>(scheme, body)?;
            let len = company_prefix(scheme, cp)?;
            digits(
                scheme,
                "extension digit and serial reference",
                serial_ref,
                17 - usize::from(len),
                len,
            )?;
            let body = format!("{}{cp}{}", &serial_ref[..1], &serial_ref[1..]);
            let sscc = Sscc::parse(&percent::with_check_digit(&body))
                .expect("the check digit was just computed");
            Epc::Sscc(SsccId {
                sscc,
                prefix_len: Some(len),
                written: s.to_string(),
            })
        }
        "SGLN" => {
            let [cp, location_ref, extension] = parts::<3>(scheme, body)?;
            let len = company_prefix(scheme, cp)?;
            digits(
                scheme,
                "location reference",
                location_ref,
                12 - usize::from(len),
                len,
            )?;
            let extension = decode(scheme, "extension", extension)?;
            check_text(scheme, "extension", &extension, 20)?;
            Epc::Sgln(Sgln {
                gln: Gln::from_body(&format!("{cp}{location_ref}")),
                extension: (extension != "0").then_some(extension),
                prefix_len: Some(len),
                written: s.to_string(),
            })
        }
        "PGLN" => {
            let [cp, party_ref] = parts::<2>(scheme, body)?;
            let len = company_prefix(scheme, cp)?;
            digits(
                scheme,
                "party reference",
                party_ref,
                12 - usize::from(len),
                len,
            )?;
            Epc::Pgln(Pgln {
                gln: Gln::from_body(&format!("{cp}{party_ref}")),
                prefix_len: Some(len),
                written: s.to_string(),
            })
        }
        "LGTIN" => {
            let [cp, iir, lot] = parts::<3>(scheme, body)?;
            let (gtin, len) = gtin_of(scheme, cp, iir)?;
            let lot = decode(scheme, "lot", lot)?;
            check_text(scheme, "lot", &lot, 20)?;
            Epc::Lgtin(Lgtin {
                gtin,
                lot,
                prefix_len: Some(len),
                written: s.to_string(),
            })
        }
        _ => {
            let [cp, iir, star] = parts::<3>(scheme, body)?;
            // A pattern wider than one product (`CompanyPrefix.*.*`) names no GTIN: kept as
            // written.
            if iir == "*" || star != "*" {
                return Ok(Some(Epc::Other(s.to_string())));
            }
            let (gtin, len) = gtin_of(scheme, cp, iir)?;
            Epc::GtinClass(GtinClass {
                gtin,
                prefix_len: Some(len),
                written: s.to_string(),
            })
        }
    };
    Ok(Some(epc))
}

/// Splits the URN body into exactly `N` parts at the first `N - 1` dots (the last part may
/// hold dots of its own).
fn parts<'a, const N: usize>(
    scheme: &'static str,
    body: &'a str,
) -> Result<[&'a str; N], EpcError> {
    let mut out = [""; N];
    let mut rest = body;
    for (i, slot) in out.iter_mut().enumerate() {
        if i == N - 1 {
            *slot = rest;
            break;
        }
        let Some((part, tail)) = rest.split_once('.') else {
            return Err(EpcError::Parts {
                scheme,
                expected: N,
                got: i + 1,
            });
        };
        *slot = part;
        rest = tail;
    }
    // Parts with only digits cannot hold a dot, so a dot in a fixed-length last part means
    // too many parts.
    if N == 2 && rest.contains('.') {
        return Err(EpcError::Parts {
            scheme,
            expected: N,
            got: body.split('.').count(),
        });
    }
    Ok(out)
}

/// Checks a company prefix: 6 to 12 digits. Returns its length.
fn company_prefix(scheme: &'static str, cp: &str) -> Result<u8, EpcError> {
    let len = cp.chars().count();
    if !(6..=12).contains(&len) {
        return Err(EpcError::CompanyPrefix {
            scheme,
            prefix: cp.to_string(),
            len,
        });
    }
    if !all_digits(cp) {
        return Err(EpcError::NotDigits {
            scheme,
            part: "company prefix",
            value: cp.to_string(),
        });
    }
    Ok(len as u8)
}

/// Checks a numeric part of `expected` digits that follows a company prefix of `prefix_len`.
fn digits(
    scheme: &'static str,
    part: &'static str,
    value: &str,
    expected: usize,
    prefix_len: u8,
) -> Result<(), EpcError> {
    if !value.is_empty() && !all_digits(value) {
        return Err(EpcError::NotDigits {
            scheme,
            part,
            value: value.to_string(),
        });
    }
    if value.len() != expected {
        return Err(EpcError::PartLength {
            scheme,
            part,
            expected,
            got: value.len(),
            prefix_len: usize::from(prefix_len),
        });
    }
    Ok(())
}

/// The GTIN of a company prefix and an indicator digit + item reference: the indicator
/// first, then the prefix and the item reference, then the computed check digit.
fn gtin_of(scheme: &'static str, cp: &str, iir: &str) -> Result<(Gtin, u8), EpcError> {
    let len = company_prefix(scheme, cp)?;
    digits(
        scheme,
        "indicator digit and item reference",
        iir,
        13 - usize::from(len),
        len,
    )?;
    let body = format!("{}{cp}{}", &iir[..1], &iir[1..]);
    let gtin = Gtin::with_check_digit(body.parse().expect("13 digits"))
        .expect("13 digits are below the limit");
    Ok((gtin, len))
}

/// Decodes a text part's escapes.
fn decode(scheme: &'static str, part: &'static str, value: &str) -> Result<String, EpcError> {
    percent::decode(value).map_err(|e| EpcError::Escape {
        scheme,
        part,
        pos: e.pos,
    })
}

/// The URN of a typed key whose company prefix length is known.
pub(super) fn render(epc: &Epc) -> Option<String> {
    let mut out = String::new();
    match epc {
        Epc::Sgtin(s) => {
            let (cp, iir) = split_gtin(s.gtin(), s.prefix_len?);
            out.push_str(&format!("urn:epc:id:sgtin:{cp}.{iir}."));
            percent::encode_urn(s.serial(), &mut out);
        }
        Epc::Lgtin(l) => {
            let (cp, iir) = split_gtin(l.gtin, l.prefix_len?);
            out.push_str(&format!("urn:epc:class:lgtin:{cp}.{iir}."));
            percent::encode_urn(&l.lot, &mut out);
        }
        Epc::GtinClass(g) => {
            let (cp, iir) = split_gtin(g.gtin, g.prefix_len?);
            out.push_str(&format!("urn:epc:idpat:sgtin:{cp}.{iir}.*"));
        }
        Epc::Sscc(s) => {
            let len = usize::from(s.prefix_len?);
            let d = format!("{:018}", s.sscc.value());
            out.push_str(&format!(
                "urn:epc:id:sscc:{}.{}{}",
                &d[1..=len],
                &d[..1],
                &d[len + 1..17]
            ));
        }
        Epc::Sgln(l) => {
            let len = usize::from(l.prefix_len?);
            let d = l.gln.to_string();
            out.push_str(&format!("urn:epc:id:sgln:{}.{}.", &d[..len], &d[len..12]));
            percent::encode_urn(l.extension.as_deref().unwrap_or("0"), &mut out);
        }
        Epc::Pgln(p) => {
            let len = usize::from(p.prefix_len?);
            let d = p.gln.to_string();
            out.push_str(&format!("urn:epc:id:pgln:{}.{}", &d[..len], &d[len..12]));
        }
        Epc::Other(_) => return None,
    }
    Some(out)
}

/// Splits a GTIN into the company prefix of `len` digits and the indicator + item reference.
fn split_gtin(gtin: Gtin, len: u8) -> (String, String) {
    let d = gtin.to_gtin14();
    let len = usize::from(len);
    (
        d[1..=len].to_string(),
        format!("{}{}", &d[..1], &d[len + 1..13]),
    )
}
