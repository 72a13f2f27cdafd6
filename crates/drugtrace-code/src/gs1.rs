//! A pack identified the GS1 way (GTIN + serial, with batch and expiry), as imported drugs
//! carry it in a GS1 DataMatrix, and the field-by-field checks every GS1 reader shares.

use std::fmt;

use crate::ai::{self, Ai, Form};
use crate::pack_key::MAX_SERIAL;
use crate::{Expiry, Gtin, PackKey, ParseError};

/// The group separator (ASCII 29), which a scanner sends for FNC1 to end a variable field.
pub(crate) const GS: char = '\u{1d}';
/// The longest batch (AI 10).
const MAX_BATCH: usize = 20;

/// Whether `b` is in GS1's AI encodable character set 82, which serials and batches use.
pub(crate) fn is_cset82(b: u8) -> bool {
    matches!(b,
        b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b'/'
        | b'0'..=b'9' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// Whether `c` is in GS1's character set 82.
pub(crate) fn is_cset82_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_cset82)
}

/// One pack as GS1 identifies it: GTIN and serial name the pack; batch and expiry describe it.
///
/// A `Gs1Pack` that exists has a serial and (if any) a batch of 1 to 20 characters of GS1's
/// character set 82. Two scans of the same DataMatrix, in any of the forms [`crate::TraceCode`]
/// reads, give equal values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gs1Pack {
    gtin: Gtin,
    serial: String,
    batch: Option<String>,
    expiry: Option<Expiry>,
    /// (250) secondary serial and (8030) digital signature, in AI order, when the code
    /// carries them: kept with the pack, not part of its identity.
    kept: Vec<(&'static str, String)>,
}

impl Gs1Pack {
    /// Builds a pack from its parts, checking the serial (AI 21) and batch (AI 10): 1 to 20
    /// characters of GS1's character set 82. Error positions count within the value.
    pub fn new(
        gtin: Gtin,
        serial: &str,
        batch: Option<&str>,
        expiry: Option<Expiry>,
    ) -> Result<Gs1Pack, ParseError> {
        check_text("21", serial, MAX_SERIAL, 1)?;
        if let Some(batch) = batch {
            check_text("10", batch, MAX_BATCH, 1)?;
        }
        Ok(Gs1Pack {
            gtin,
            serial: serial.to_string(),
            batch: batch.map(str::to_string),
            expiry,
            kept: Vec::new(),
        })
    }

    /// The product's GTIN (AI 01).
    pub fn gtin(&self) -> Gtin {
        self.gtin
    }

    /// The pack's serial (AI 21).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The batch or lot (AI 10), when the code carries one.
    pub fn batch(&self) -> Option<&str> {
        self.batch.as_deref()
    }

    /// The expiry date (AI 17), when the code carries one.
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    /// The secondary serial (AI 250), when the code carries one.
    pub fn secondary_serial(&self) -> Option<&str> {
        self.kept_value("250")
    }

    /// The digital signature (AI 8030), when the code carries one.
    pub fn signature(&self) -> Option<&str> {
        self.kept_value("8030")
    }

    fn kept_value(&self, ai: &str) -> Option<&str> {
        self.kept
            .iter()
            .find(|(a, _)| *a == ai)
            .map(|(_, v)| v.as_str())
    }

    /// The kept attributes, (250) then (8030), as AI and value.
    pub(crate) fn kept(&self) -> &[(&'static str, String)] {
        &self.kept
    }

    /// The pack's canonical key: GTIN and serial, the EU rule for what identifies a pack.
    pub fn pack_key(&self) -> PackKey {
        PackKey::gs1(self.gtin, &self.serial)
    }

    /// The element string a scanner sends for this pack's DataMatrix: the `]d2` symbology
    /// identifier, then (01), (17), (10) and (21), with a group separator (0x1D) after the
    /// batch because it is variable-length and not last. The serial goes last so it needs none.
    pub fn to_element_string(&self) -> String {
        let mut s = format!("]d201{}", self.gtin.to_gtin14());
        if let Some(e) = self.expiry {
            s.push_str("17");
            s.push_str(&e.to_yymmdd());
        }
        if let Some(b) = &self.batch {
            s.push_str("10");
            s.push_str(b);
            s.push(GS);
        }
        for (ai, v) in &self.kept {
            s.push_str(ai);
            s.push_str(v);
            s.push(GS);
        }
        s.push_str("21");
        s.push_str(&self.serial);
        s
    }
}

impl fmt::Display for Gs1Pack {
    /// The bracketed human-readable form `(01)…(17)…(10)…(21)…`, with (17) and (10) only
    /// when present. A `(` in a batch or serial that would read as an AI is written `\(`,
    /// so the form always parses back to the same pack.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::element_string::escape_bracketed;
        write!(f, "(01){}", self.gtin)?;
        if let Some(e) = self.expiry {
            write!(f, "(17){}", e.to_yymmdd())?;
        }
        if let Some(b) = &self.batch {
            write!(f, "(10){}", escape_bracketed(b))?;
        }
        for (ai, v) in &self.kept {
            write!(f, "({ai}){}", escape_bracketed(v))?;
        }
        write!(f, "(21){}", escape_bracketed(&self.serial))
    }
}

/// Checks a text field: 1 to `max` characters of set 82. `pos` is the one-based position of
/// the value's first character, for error messages.
fn check_text(ai: &str, value: &str, max: usize, pos: usize) -> Result<(), ParseError> {
    if value.is_empty() {
        return Err(ParseError::EmptyValue { ai: ai.to_string() });
    }
    if let Some((i, ch)) = value.chars().enumerate().find(|&(_, c)| !is_cset82_char(c)) {
        return Err(ParseError::BadChar {
            ai: ai.to_string(),
            pos: pos + i,
            ch,
        });
    }
    // Set 82 is ASCII, so bytes count characters here.
    if value.len() > max {
        return Err(ParseError::TooLong {
            ai: ai.to_string(),
            max,
            got: value.len(),
        });
    }
    Ok(())
}

/// Checks a numeric field of `min..=max` digits.
fn check_digits(
    ai: &str,
    value: &str,
    min: usize,
    max: usize,
    pos: usize,
) -> Result<(), ParseError> {
    let len = value.chars().count();
    if len == 0 && min > 0 {
        return Err(ParseError::EmptyValue { ai: ai.to_string() });
    }
    if min == max && len != min {
        return Err(ParseError::WrongLength {
            ai: ai.to_string(),
            expected: min,
            got: len,
        });
    }
    if let Some((i, ch)) = value.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(ParseError::NotDigit { pos: pos + i, ch });
    }
    if len > max {
        return Err(ParseError::TooLong {
            ai: ai.to_string(),
            max,
            got: len,
        });
    }
    Ok(())
}

/// The fields of a GS1 code gathered one AI at a time, in whatever order the code has them,
/// by the element-string and Digital Link readers.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    /// Every AI seen with its value, to catch one AI given twice with different values.
    seen: Vec<(&'static str, String)>,
    gtin: Option<Gtin>,
    serial: Option<String>,
    batch: Option<String>,
    expiry: Option<Expiry>,
    sscc: Option<crate::Sscc>,
    kept: Vec<(&'static str, String)>,
}

impl Fields {
    /// Checks and records one field. `pos` is the one-based position of the value's first
    /// character in the scanned code.
    pub(crate) fn add(&mut self, ai: Ai, value: &str, pos: usize) -> Result<(), ParseError> {
        if let Some((_, earlier)) = self.seen.iter().find(|(c, _)| *c == ai.code) {
            if earlier == value {
                return Ok(());
            }
            return Err(ParseError::DuplicateAi {
                ai: ai.code.to_string(),
            });
        }
        match ai.form {
            Form::Fixed(n) => check_digits(ai.code, value, n, n, pos)?,
            Form::Digits(max) => check_digits(ai.code, value, 1, max, pos)?,
            Form::Text(max) => check_text(ai.code, value, max, pos)?,
        }
        match ai.code {
            "01" => self.gtin = Some(Gtin::parse(value)?),
            "17" => self.expiry = Some(Expiry::parse_yymmdd(value)?),
            "10" => self.batch = Some(value.to_string()),
            "21" => self.serial = Some(value.to_string()),
            "00" => self.sscc = Some(crate::Sscc::parse(value)?),
            "250" | "8030" => {
                self.kept.push((ai.code, value.to_string()));
                self.kept.sort_by_key(|(a, _)| a.len());
            }
            _ => {}
        }
        self.seen.push((ai.code, value.to_string()));
        Ok(())
    }

    /// Records a GTIN already parsed (a Digital Link may write it with 8, 12 or 13 digits).
    pub(crate) fn add_gtin(&mut self, gtin: Gtin) -> Result<(), ParseError> {
        let ai = ai::lookup("01").expect("01 is known");
        self.add(ai, &gtin.to_gtin14(), 1)
    }

    /// The pack, once every field is in: (01) and (21) are required.
    pub(crate) fn finish(self) -> Result<Gs1Pack, ParseError> {
        // A logistics unit's label: what was scanned is a carton or pallet, whatever else
        // the label says.
        if let Some(sscc) = self.sscc {
            return Err(ParseError::LogisticsLabel { sscc });
        }
        Ok(Gs1Pack {
            gtin: self.gtin.ok_or(ParseError::MissingGtin)?,
            serial: self.serial.ok_or(ParseError::MissingSerial)?,
            batch: self.batch,
            expiry: self.expiry,
            kept: self.kept,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtin() -> Gtin {
        Gtin::parse("09506000134352").unwrap()
    }

    #[test]
    fn new_checks_serial_and_batch() {
        let e = Expiry::parse_yymmdd("251231").ok();
        assert!(Gs1Pack::new(gtin(), "ABC-1/2", Some("L(1)"), e).is_ok());
        for (serial, batch, expected) in [
            ("", None, "(21) serial is empty"),
            (
                "A B",
                None,
                "character 2 is ' ', not allowed in (21) serial (GS1 character set 82)",
            ),
            (
                "123456789012345678901",
                None,
                "(21) serial longer than 20 characters (it has 21)",
            ),
            ("1", Some(""), "(10) batch is empty"),
            (
                "1",
                Some("é"),
                "character 1 is 'é', not allowed in (10) batch (GS1 character set 82)",
            ),
        ] {
            let err = Gs1Pack::new(gtin(), serial, batch, None).unwrap_err();
            assert_eq!(err.to_string(), expected, "{serial:?} {batch:?}");
        }
    }

    #[test]
    fn renders() {
        let e = Expiry::parse_yymmdd("251231").ok();
        let full = Gs1Pack::new(gtin(), "S1", Some("B1"), e).unwrap();
        assert_eq!(full.to_string(), "(01)09506000134352(17)251231(10)B1(21)S1");
        assert_eq!(
            full.to_element_string(),
            concat!("]d2", "0109506000134352", "17251231", "10B1\u{1d}", "21S1")
        );
        let bare = Gs1Pack::new(gtin(), "S1", None, None).unwrap();
        assert_eq!(bare.to_string(), "(01)09506000134352(21)S1");
        assert_eq!(bare.to_element_string(), "]d2010950600013435221S1");
        assert_eq!(bare.pack_key().to_string(), "(01)09506000134352(21)S1");
    }
}
