//! GS1 Digital Link URIs of the typed keys: `/01/{gtin}` with `/22/`, `/10/`, `/21/`
//! qualifiers, `/00/{sscc}`, `/414/{gln}` with `/254/`, and `/417/{gln}`; and the short
//! names of Digital Link 1.x (`/gtin/`, `/sscc/`, `/gln/`, `/party/`, `/cpv/`, `/lot/`,
//! `/ser/`). Any host and any path before the primary key are accepted, since each brand runs
//! its own resolver; the query string and fragment are not part of the identity.

use drugtrace_code::{Gtin, Sscc};

use super::percent::{self, all_digits, starts_with_ignore_case};
use super::{
    Epc, EpcError, Gln, GtinClass, Lgtin, Pgln, Sgln, SsccId, check_key, check_text, sgtin,
};

/// The canonical host of GS1 Digital Link URIs.
pub(crate) const CANONICAL_HOST: &str = "https://id.gs1.org";

/// The path segments of a URI after its host, up to the query or fragment, when it is an
/// `http` or `https` URI.
pub(crate) fn path_segments(s: &str) -> Option<Vec<&str>> {
    let rest = if starts_with_ignore_case(s, "https://") {
        &s[8..]
    } else if starts_with_ignore_case(s, "http://") {
        &s[7..]
    } else {
        return None;
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = &rest[..end];
    let path = &rest[rest.find('/')?..];
    Some(path.split('/').skip(1).collect())
}

/// The application identifier a path segment stands for, long or short name.
pub(crate) fn ai_of(segment: &str) -> &str {
    match segment {
        "gtin" => "01",
        "sscc" => "00",
        "gln" => "414",
        "party" => "417",
        "cpv" => "22",
        "lot" => "10",
        "ser" => "21",
        "itip" => "8006",
        "cpid" => "8010",
        "gsrnp" => "8017",
        "gsrn" => "8018",
        "gcn" => "255",
        "gdti" => "253",
        "ginc" => "401",
        "gsin" => "402",
        "grai" => "8003",
        "giai" => "8004",
        other => other,
    }
}

/// Reads `s` if it is a Digital Link with a typed primary key: `Ok(None)` when it is not a
/// URI, has no such key followed by digits, or carries a qualifier the typed keys do not
/// have (such a URI is kept as written).
pub(super) fn parse(s: &str) -> Result<Option<Epc>, EpcError> {
    let Some(segments) = path_segments(s) else {
        return Ok(None);
    };
    let is_key = |i: usize| {
        matches!(ai_of(segments[i]), "01" | "00" | "414" | "417")
            && segments.get(i + 1).is_some_and(|v| all_digits(v))
    };
    let Some(start) = (0..segments.len()).find(|&i| is_key(i)) else {
        return Ok(None);
    };
    let mut pairs = Vec::new();
    let mut i = start;
    while i < segments.len() {
        let ai = ai_of(segments[i]);
        match segments.get(i + 1) {
            Some(v) if !v.is_empty() => pairs.push((ai, *v)),
            // A trailing slash leaves one empty segment: harmless.
            None if ai.is_empty() => break,
            _ => return Err(EpcError::MissingValue { ai: ai.to_string() }),
        }
        i += 2;
    }
    let (key, value) = pairs[0];
    let mut decoded = Vec::with_capacity(pairs.len() - 1);
    for &(ai, v) in &pairs[1..] {
        let text = percent::decode(v).map_err(|e| EpcError::Escape {
            scheme: "GS1 Digital Link",
            part: qualifier_name(ai),
            pos: e.pos,
        })?;
        decoded.push((ai, text));
    }
    let get = |ai: &str| {
        decoded
            .iter()
            .find(|(a, _)| *a == ai)
            .map(|(_, v)| v.as_str())
    };
    let allowed: &[&str] = match key {
        "01" => &["22", "10", "21"],
        "414" => &["254"],
        _ => &[],
    };
    if decoded.iter().any(|(ai, _)| !allowed.contains(ai)) {
        return Ok(None);
    }
    let written = s.to_string();
    let epc = match key {
        "01" => {
            let gtin = Gtin::parse(value).map_err(EpcError::Gtin)?;
            if let Some(cpv) = get("22") {
                check_text("GS1 Digital Link", "consumer product variant", cpv, 20)?;
            }
            match (get("21"), get("10")) {
                (Some(serial), lot) => sgtin(gtin, serial, lot, None, s)?,
                (None, Some(lot)) => {
                    check_text("LGTIN", "lot", lot, 20)?;
                    Epc::Lgtin(Lgtin {
                        gtin,
                        lot: lot.to_string(),
                        prefix_len: None,
                        written,
                    })
                }
                (None, None) => Epc::GtinClass(GtinClass {
                    gtin,
                    prefix_len: None,
                    written,
                }),
            }
        }
        "00" => {
            check_key(value, "00", "SSCC", 18)?;
            let sscc = Sscc::parse(value).expect("the check digit was just checked");
            Epc::Sscc(SsccId {
                sscc,
                prefix_len: None,
                written,
            })
        }
        "414" => {
            let gln = Gln::parse(value, "414")?;
            let extension = get("254").map(str::to_string);
            if let Some(ext) = &extension {
                check_text("SGLN", "extension", ext, 20)?;
            }
            Epc::Sgln(Sgln {
                gln,
                extension,
                prefix_len: None,
                written,
            })
        }
        _ => Epc::Pgln(Pgln {
            gln: Gln::parse(value, "417")?,
            prefix_len: None,
            written,
        }),
    };
    Ok(Some(epc))
}

/// The name of a qualifier, for messages.
fn qualifier_name(ai: &str) -> &'static str {
    match ai {
        "21" => "serial",
        "10" => "lot",
        "22" => "consumer product variant",
        "254" => "extension",
        _ => "qualifier",
    }
}

/// The canonical Digital Link of a typed key: on `https://id.gs1.org`, the GTIN as 14
/// digits, only the finest level of identification, escapes as [`percent::encode_dl`] writes
/// them.
pub(super) fn render(epc: &Epc) -> String {
    let mut out = String::from(CANONICAL_HOST);
    match epc {
        Epc::Sgtin(s) => {
            out.push_str(&format!("/01/{}/21/", s.gtin().to_gtin14()));
            percent::encode_dl(s.serial(), &mut out);
        }
        Epc::Lgtin(l) => {
            out.push_str(&format!("/01/{}/10/", l.gtin.to_gtin14()));
            percent::encode_dl(&l.lot, &mut out);
        }
        Epc::GtinClass(g) => out.push_str(&format!("/01/{}", g.gtin.to_gtin14())),
        Epc::Sscc(s) => out.push_str(&format!("/00/{:018}", s.sscc.value())),
        Epc::Sgln(l) => {
            out.push_str(&format!("/414/{}", l.gln));
            if let Some(ext) = &l.extension {
                out.push_str("/254/");
                percent::encode_dl(ext, &mut out);
            }
        }
        Epc::Pgln(p) => out.push_str(&format!("/417/{}", p.gln)),
        Epc::Other(s) => return s.clone(),
    }
    out
}
