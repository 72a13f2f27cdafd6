//! Any trace code a scanner may send, recognized by its form.

use std::fmt;
use std::str::FromStr;

use crate::gs1::{GS, is_cset82};
use crate::normalize::normalize;
use crate::{
    ChinaCode, Expiry, Gs1Pack, Gtin, PackKey, ParseError, ProductKey, digital_link, element_string,
};

/// A pack's trace code: China's 20-digit code or a GS1 pack (from an element string or a
/// Digital Link). Whichever way one pack is scanned, its [`TraceCode::pack_key`] is the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TraceCode {
    /// China's 20-digit code.
    China(ChinaCode),
    /// A GS1 pack: GTIN + serial, with batch and expiry when the code carries them.
    Gs1(Gs1Pack),
}

impl TraceCode {
    /// Parses what a scanner or a person sent, after normalization, by its form:
    ///
    /// - `http://` or `https://` (any case): a GS1 Digital Link, uncompressed or compressed;
    /// - a `]` symbology identifier: `]d2`, `]C1`, `]Q3` or `]e0` announce GS1 data; any
    ///   other (such as Code 128's `]C0`) is dropped and the rest read as below;
    /// - a leading `(`, or a group separator anywhere: a GS1 element string;
    /// - exactly 20 digits: a Chinese code, unless it is `00` and an SSCC with a correct
    ///   check digit (a carton's or pallet's label, refused as [`ParseError::LogisticsLabel`]);
    /// - 20 characters of `&é"'(-è_çà` alone: a Chinese code typed through a French
    ///   keyboard layout, refused saying so ([`ParseError::KeyboardLayout`]);
    /// - longer than 16 characters of GS1's set 82 starting with `01`: an element string
    ///   whose scanner dropped the prefix.
    ///
    /// Anything else fails with the error most useful to the person scanning: a wrong
    /// number of digits, a product barcode scanned by mistake, or an unknown form. A code
    /// refused where its case shows Caps Lock was on, and that reads with its letters'
    /// case turned back, is refused as [`ParseError::CapsLock`], saying so; an element
    /// string whose scanner prefix shows it (`]D2`) and that holds letters is refused so
    /// even though it parses, since its letters are likely inverted too.
    pub fn parse(s: &str) -> Result<TraceCode, ParseError> {
        let code = normalize(s);
        let outcome = dispatch(&code, true);
        crate::caps_lock::check(&code, outcome, |inverted| dispatch(inverted, true))
    }

    /// The pack's canonical key, for storage and duplicate detection.
    pub fn pack_key(&self) -> PackKey {
        match self {
            TraceCode::China(c) => c.pack_key(),
            TraceCode::Gs1(p) => p.pack_key(),
        }
    }

    /// The product the code names: its drug identification code or GTIN.
    pub fn product_key(&self) -> ProductKey {
        match self {
            TraceCode::China(c) => ProductKey::DrugId(c.drug_id()),
            TraceCode::Gs1(p) => ProductKey::Gtin(p.gtin()),
        }
    }

    /// The batch, which only GS1 codes carry.
    pub fn batch(&self) -> Option<&str> {
        match self {
            TraceCode::China(_) => None,
            TraceCode::Gs1(p) => p.batch(),
        }
    }

    /// The expiry date, which only GS1 codes carry.
    pub fn expiry(&self) -> Option<Expiry> {
        match self {
            TraceCode::China(_) => None,
            TraceCode::Gs1(p) => p.expiry(),
        }
    }

    /// The secondary serial (AI 250), which only GS1 codes carry.
    pub fn secondary_serial(&self) -> Option<&str> {
        match self {
            TraceCode::China(_) => None,
            TraceCode::Gs1(p) => p.secondary_serial(),
        }
    }

    /// The digital signature (AI 8030), which only GS1 codes carry.
    pub fn signature(&self) -> Option<&str> {
        match self {
            TraceCode::China(_) => None,
            TraceCode::Gs1(p) => p.signature(),
        }
    }
}

/// Chooses the parser for a normalized code. `prefix_allowed` is false once a symbology
/// identifier has been dropped, so a code has at most one.
fn dispatch(code: &str, prefix_allowed: bool) -> Result<TraceCode, ParseError> {
    if code.is_empty() {
        return Err(ParseError::Empty);
    }
    if starts_with_ignore_case(code, "http://") || starts_with_ignore_case(code, "https://") {
        return digital_link::parse(code).map(TraceCode::Gs1);
    }
    if prefix_allowed && code.starts_with(']') {
        let id: String = code.chars().take(3).collect();
        let b = id.as_bytes();
        if b.len() != 3 || !b[1].is_ascii_alphabetic() || !b[2].is_ascii_digit() {
            return Err(ParseError::Symbology { id });
        }
        return match id[1..].to_ascii_lowercase().as_str() {
            "d2" | "c1" | "q3" | "e0" => element_string::parse(code, 3).map(TraceCode::Gs1),
            _ => dispatch(&code[3..], false),
        };
    }
    if let Some(meant) = azerty_digits(code) {
        return Err(ParseError::KeyboardLayout {
            layout: "French (AZERTY)",
            meant,
        });
    }
    if code.starts_with('(') || code.contains(GS) {
        return element_string::parse(code, 0).map(TraceCode::Gs1);
    }
    let all_digits = code.bytes().all(|b| b.is_ascii_digit());
    if all_digits && code.len() == 20 {
        // `00` and an SSCC with a correct check digit: a carton's or pallet's label, sent
        // without its symbology prefix (see `sscc.rs` for why no Chinese code is taken).
        if let Some(sscc) = code.strip_prefix("00").and_then(crate::Sscc::checked) {
            return Err(ParseError::LogisticsLabel { sscc });
        }
        return ChinaCode::parse(code).map(TraceCode::China);
    }
    if code.starts_with("01") && code.len() > 16 && code.bytes().all(is_cset82) {
        return match element_string::parse(code, 0) {
            Ok(p) => Ok(TraceCode::Gs1(p)),
            // One digit short or long, an all-digit code is far likelier a mistyped Chinese
            // code than a GS1 string.
            Err(_) if all_digits && matches!(code.len(), 19 | 21) => {
                Err(ParseError::Length { got: code.len() })
            }
            Err(e) => Err(e),
        };
    }
    if all_digits && let Ok(gtin) = Gtin::parse(code) {
        return Err(ParseError::ProductBarcode { gtin });
    }
    if code.starts_with(|c: char| c.is_ascii_digit()) {
        return ChinaCode::parse(code).map(TraceCode::China);
    }
    Err(ParseError::Unrecognized)
}

/// The digits a 20-character code meant, when it is one typed through a French AZERTY
/// layout: a scanner that types as a US keyboard sends each digit's key, and on AZERTY those
/// keys give `&é"'(-è_çà` for 1 to 0 unless shifted.
fn azerty_digits(code: &str) -> Option<String> {
    const KEYS: [char; 10] = ['à', '&', 'é', '"', '\'', '(', '-', 'è', '_', 'ç'];
    // Unshifted, those keys never give a digit: a code with any digit in it is something
    // else (a bare GS1 string whose serial holds `_` or `-`, say).
    let mut meant = String::with_capacity(20);
    for c in code.chars() {
        let d = KEYS.iter().position(|&k| k == c)?;
        meant.push(char::from(b'0' + d as u8));
    }
    (meant.len() == 20).then_some(meant)
}

/// Whether `s` starts with the ASCII `prefix`, in any case (URI schemes are case-insensitive).
fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

impl fmt::Display for TraceCode {
    /// A Chinese code as its 20 digits, a GS1 pack in the bracketed form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceCode::China(c) => c.fmt(f),
            TraceCode::Gs1(p) => p.fmt(f),
        }
    }
}

impl FromStr for TraceCode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<TraceCode, ParseError> {
        TraceCode::parse(s)
    }
}

impl From<ChinaCode> for TraceCode {
    fn from(c: ChinaCode) -> TraceCode {
        TraceCode::China(c)
    }
}

impl From<Gs1Pack> for TraceCode {
    fn from(p: Gs1Pack) -> TraceCode {
        TraceCode::Gs1(p)
    }
}

#[cfg(test)]
mod tests;

/// Parses a code where a case (箱码) may stand: a trace code as [`TraceCode::parse`] reads it,
/// or a logistics unit's SSCC (a carton or pallet label, in any form a scanner sends it),
/// as the key the unit is kept under ([`crate::Sscc::pack_key`]).
pub fn parse_case(s: &str) -> Result<PackKey, ParseError> {
    match TraceCode::parse(s) {
        Ok(code) => Ok(code.pack_key()),
        Err(ParseError::LogisticsLabel { sscc }) => Ok(sscc.pack_key()),
        Err(e) => Err(e),
    }
}
