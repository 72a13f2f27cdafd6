//! GS1 identifiers as EPCIS writes them: EPC URNs (`urn:epc:id:sgtin:…`) and GS1 Digital
//! Link URIs (`https://id.gs1.org/01/…/21/…`), read into one [`Epc`] whichever form was
//! used, so the two forms of one pack compare equal and give the same [`PackKey`].

mod digital_link;
pub(crate) mod other_keys;
pub(crate) mod percent;
mod urn;

use std::fmt;
use std::hash::{Hash, Hasher};

use drugtrace_code::{Gs1Pack, Gtin, GtinError, PackKey, ParseError, Sscc};

/// An identifier in an EPCIS event: what an `epcList` entry, a `parentID`, an `epcClass`, a
/// `readPoint` id or a source or destination names.
///
/// The GS1 keys drugtrace works with are read into typed values, from either form; anything
/// else (another EPC scheme, a URI of the sender's own) is kept as written in
/// [`Epc::Other`]. Two values are equal when they name the same thing: the URN and the
/// Digital Link of one pack are equal. [`Epc::as_written`] gives back the text as it was
/// sent; `Display` gives the canonical GS1 Digital Link (on `https://id.gs1.org`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Epc {
    /// One pack or item: GTIN + serial (`urn:epc:id:sgtin:…`, Digital Link `/01/…/21/…`).
    Sgtin(Sgtin),
    /// A logistic unit, a carton or pallet (`urn:epc:id:sscc:…`, Digital Link `/00/…`).
    Sscc(SsccId),
    /// A location: GLN with an optional extension (`urn:epc:id:sgln:…`, `/414/…/254/…`).
    Sgln(Sgln),
    /// A party: its GLN (`urn:epc:id:pgln:…`, Digital Link `/417/…`).
    Pgln(Pgln),
    /// A batch of a product: GTIN + lot (`urn:epc:class:lgtin:…`, `/01/…/10/…`).
    Lgtin(Lgtin),
    /// A product, every instance of one GTIN (`urn:epc:idpat:sgtin:….*`, Digital Link
    /// `/01/…` alone).
    GtinClass(GtinClass),
    /// Any other identifier, kept as written.
    Other(String),
}

/// Why an identifier that claims to be a GS1 key is not a valid one. Each message names the
/// scheme and the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EpcError {
    /// An empty identifier.
    #[error("the identifier is empty")]
    Empty,
    /// The URN does not have the number of `.`-separated parts its scheme has.
    #[error("{scheme} URN has {got} parts separated by '.', but needs {expected}")]
    Parts {
        /// The scheme, such as `"SGTIN"`.
        scheme: &'static str,
        /// The number of parts the scheme has.
        expected: usize,
        /// The number of parts found.
        got: usize,
    },
    /// The GS1 company prefix is not 6 to 12 digits.
    #[error(
        "{scheme} URN: the GS1 company prefix {prefix:?} has {len} characters, but a company prefix is 6 to 12 digits"
    )]
    CompanyPrefix {
        /// The scheme.
        scheme: &'static str,
        /// The company prefix as written.
        prefix: String,
        /// Its length in characters.
        len: usize,
    },
    /// A part that must be digits is not.
    #[error("{scheme} URN: the {part} {value:?} must be digits only")]
    NotDigits {
        /// The scheme.
        scheme: &'static str,
        /// Which part, such as `"item reference"`.
        part: &'static str,
        /// The part as written.
        value: String,
    },
    /// A numeric part does not have the length the company prefix leaves it.
    #[error(
        "{scheme} URN: the {part} has {got} digits, but with a {prefix_len}-digit company prefix it needs {expected}"
    )]
    PartLength {
        /// The scheme.
        scheme: &'static str,
        /// Which part.
        part: &'static str,
        /// The digits the part needs.
        expected: usize,
        /// The digits it has.
        got: usize,
        /// The length of the company prefix.
        prefix_len: usize,
    },
    /// A text part (serial, lot, extension) is empty.
    #[error("{scheme}: the {part} is empty")]
    EmptyPart {
        /// The scheme.
        scheme: &'static str,
        /// Which part.
        part: &'static str,
    },
    /// A text part holds a character outside GS1's character set 82.
    #[error(
        "{scheme}: character {pos} of the {part} is {ch:?}, which GS1 does not allow (character set 82)"
    )]
    BadChar {
        /// The scheme.
        scheme: &'static str,
        /// Which part.
        part: &'static str,
        /// One-based position of the character in the part, after decoding escapes.
        pos: usize,
        /// The character.
        ch: char,
    },
    /// A text part is longer than GS1 allows.
    #[error("{scheme}: the {part} has {got} characters, but at most {max} are allowed")]
    TooLong {
        /// The scheme.
        scheme: &'static str,
        /// Which part.
        part: &'static str,
        /// The most characters allowed.
        max: usize,
        /// The characters found.
        got: usize,
    },
    /// A `%` that is not followed by two hexadecimal digits.
    #[error(
        "{scheme}: the '%' at character {pos} of the {part} is not followed by two hexadecimal digits"
    )]
    Escape {
        /// The scheme.
        scheme: &'static str,
        /// Which part.
        part: &'static str,
        /// One-based position of the `%` in the part.
        pos: usize,
    },
    /// A GTIN (in a Digital Link) that is not one.
    #[error("GS1 Digital Link /01/: {0}")]
    Gtin(GtinError),
    /// A GS1 key whose length is wrong.
    #[error("GS1 Digital Link /{ai}/{value}: a {key} has {expected} digits, this one has {got}")]
    KeyLength {
        /// The application identifier of the key.
        ai: &'static str,
        /// The key's name, such as `"GLN"`.
        key: &'static str,
        /// The key as written.
        value: String,
        /// The digits the key has.
        expected: usize,
        /// The digits found.
        got: usize,
    },
    /// A GS1 key whose check digit is wrong.
    #[error("{key} {value}: the check digit is {found}, but the other digits call for {expected}")]
    CheckDigit {
        /// The key's name, such as `"SSCC"`.
        key: &'static str,
        /// The key as written.
        value: String,
        /// The check digit the other digits call for.
        expected: u8,
        /// The check digit written.
        found: u8,
    },
    /// A serial or lot that drugtrace's trace-code crate refuses for a pack.
    #[error("SGTIN: {0}")]
    Pack(ParseError),
    /// A Digital Link path that ends with an identifier and no value.
    #[error("GS1 Digital Link: the path ends after /{ai}/ with no value")]
    MissingValue {
        /// The application identifier.
        ai: String,
    },
}

/// A Global Location Number: 13 digits with a GS1 check digit. One that exists has a
/// correct check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gln(u64);

impl Gln {
    /// Reads 13 digits, checking the check digit. `ai` is the Digital Link identifier the
    /// value came with, for the error message.
    fn parse(digits: &str, ai: &'static str) -> Result<Gln, EpcError> {
        check_key(digits, ai, "GLN", 13)?;
        Ok(Gln(digits.parse().expect("13 digits fit in u64")))
    }

    /// The GLN from its first 12 digits, computing the check digit.
    fn from_body(body: &str) -> Gln {
        Gln(percent::with_check_digit(body)
            .parse()
            .expect("13 digits fit in u64"))
    }

    /// The 13 digits as a number.
    pub fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Gln {
    /// The 13 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:013}", self.0)
    }
}

/// Checks that `digits` are `len` ASCII digits whose last is the GS1 check digit.
fn check_key(
    digits: &str,
    ai: &'static str,
    key: &'static str,
    len: usize,
) -> Result<(), EpcError> {
    if !percent::all_digits(digits) || digits.len() != len {
        return Err(EpcError::KeyLength {
            ai,
            key,
            value: digits.to_string(),
            expected: len,
            got: digits.chars().count(),
        });
    }
    let (body, last) = digits.split_at(len - 1);
    let expected = percent::check_digit(body);
    let found = last.as_bytes()[0] - b'0';
    if expected != found {
        return Err(EpcError::CheckDigit {
            key,
            value: digits.to_string(),
            expected,
            found,
        });
    }
    Ok(())
}

/// One pack or item, GTIN + serial: an SGTIN.
#[derive(Debug, Clone)]
pub struct Sgtin {
    pack: Gs1Pack,
    prefix_len: Option<u8>,
    written: String,
}

impl Sgtin {
    /// The pack, as drugtrace's trace-code crate knows it (with the lot, when a Digital Link
    /// carried one).
    pub fn pack(&self) -> &Gs1Pack {
        &self.pack
    }

    /// The product's GTIN.
    pub fn gtin(&self) -> Gtin {
        self.pack.gtin()
    }

    /// The serial, with URN escapes decoded.
    pub fn serial(&self) -> &str {
        self.pack.serial()
    }

    /// The pack's key: the same one [`drugtrace_code::TraceCode::parse`] gives for a scan
    /// of the pack's code.
    pub fn pack_key(&self) -> PackKey {
        self.pack.pack_key()
    }
}

impl PartialEq for Sgtin {
    fn eq(&self, other: &Sgtin) -> bool {
        self.gtin() == other.gtin() && self.serial() == other.serial()
    }
}

impl Eq for Sgtin {}

impl Hash for Sgtin {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.gtin().hash(state);
        self.serial().hash(state);
    }
}

/// A logistic unit's Serial Shipping Container Code.
#[derive(Debug, Clone)]
pub struct SsccId {
    sscc: Sscc,
    prefix_len: Option<u8>,
    written: String,
}

impl SsccId {
    /// The SSCC.
    pub fn sscc(&self) -> Sscc {
        self.sscc
    }
}

impl PartialEq for SsccId {
    fn eq(&self, other: &SsccId) -> bool {
        self.sscc == other.sscc
    }
}

impl Eq for SsccId {}

impl Hash for SsccId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.sscc.hash(state);
    }
}

/// A location: a GLN and, for a place within it, an extension.
#[derive(Debug, Clone)]
pub struct Sgln {
    gln: Gln,
    extension: Option<String>,
    prefix_len: Option<u8>,
    written: String,
}

impl Sgln {
    /// The location's GLN.
    pub fn gln(&self) -> Gln {
        self.gln
    }

    /// The extension (AI 254), when the identifier names a place within the location. The
    /// URN extension `0`, which means "none", is `None`.
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }
}

impl PartialEq for Sgln {
    fn eq(&self, other: &Sgln) -> bool {
        self.gln == other.gln && self.extension == other.extension
    }
}

impl Eq for Sgln {}

impl Hash for Sgln {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.gln.hash(state);
        self.extension.hash(state);
    }
}

/// A party (a company, an institution): its GLN.
#[derive(Debug, Clone)]
pub struct Pgln {
    gln: Gln,
    prefix_len: Option<u8>,
    written: String,
}

impl Pgln {
    /// The party's GLN.
    pub fn gln(&self) -> Gln {
        self.gln
    }
}

impl PartialEq for Pgln {
    fn eq(&self, other: &Pgln) -> bool {
        self.gln == other.gln
    }
}

impl Eq for Pgln {}

impl Hash for Pgln {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.gln.hash(state);
    }
}

/// A batch of a product: GTIN + lot.
#[derive(Debug, Clone)]
pub struct Lgtin {
    gtin: Gtin,
    lot: String,
    prefix_len: Option<u8>,
    written: String,
}

impl Lgtin {
    /// The product's GTIN.
    pub fn gtin(&self) -> Gtin {
        self.gtin
    }

    /// The lot or batch (AI 10), with URN escapes decoded.
    pub fn lot(&self) -> &str {
        &self.lot
    }
}

impl PartialEq for Lgtin {
    fn eq(&self, other: &Lgtin) -> bool {
        self.gtin == other.gtin && self.lot == other.lot
    }
}

impl Eq for Lgtin {}

impl Hash for Lgtin {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.gtin.hash(state);
        self.lot.hash(state);
    }
}

/// Every instance of one product: a GTIN alone.
#[derive(Debug, Clone)]
pub struct GtinClass {
    gtin: Gtin,
    prefix_len: Option<u8>,
    written: String,
}

impl GtinClass {
    /// The product's GTIN.
    pub fn gtin(&self) -> Gtin {
        self.gtin
    }
}

impl PartialEq for GtinClass {
    fn eq(&self, other: &GtinClass) -> bool {
        self.gtin == other.gtin
    }
}

impl Eq for GtinClass {}

impl Hash for GtinClass {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.gtin.hash(state);
    }
}

impl Epc {
    /// Reads an identifier: an EPC URN of a typed scheme, a GS1 Digital Link URI (any host)
    /// whose primary key is a GTIN, SSCC, GLN or party GLN, or anything else as
    /// [`Epc::Other`]. A value that claims one of the typed schemes but is malformed fails,
    /// naming the part that is wrong.
    pub fn parse(s: &str) -> Result<Epc, EpcError> {
        if s.is_empty() {
            return Err(EpcError::Empty);
        }
        if let Some(epc) = urn::parse(s)? {
            return Ok(epc);
        }
        if let Some(epc) = digital_link::parse(s)? {
            return Ok(epc);
        }
        Ok(Epc::Other(s.to_string()))
    }

    /// The pack's key, for an SGTIN: the same key the pack's scanned code gives.
    pub fn pack_key(&self) -> Option<PackKey> {
        match self {
            Epc::Sgtin(s) => Some(s.pack_key()),
            _ => None,
        }
    }

    /// The key drugtrace keeps the identified thing under: a pack's (an SGTIN), or a
    /// carton's or pallet's as a case (an SSCC). Other identifiers name no pack.
    pub fn case_key(&self) -> Option<PackKey> {
        match self {
            Epc::Sgtin(s) => Some(s.pack_key()),
            Epc::Sscc(s) => Some(s.sscc.pack_key()),
            _ => None,
        }
    }

    /// The SSCC, for a logistic unit.
    pub fn sscc(&self) -> Option<Sscc> {
        match self {
            Epc::Sscc(s) => Some(s.sscc),
            _ => None,
        }
    }

    /// The GTIN of a product class (LGTIN or GTIN class), or of an SGTIN's product.
    pub fn gtin(&self) -> Option<Gtin> {
        match self {
            Epc::Sgtin(s) => Some(s.gtin()),
            Epc::Lgtin(l) => Some(l.gtin),
            Epc::GtinClass(g) => Some(g.gtin),
            _ => None,
        }
    }

    /// The lot, for an LGTIN.
    pub fn lot(&self) -> Option<&str> {
        match self {
            Epc::Lgtin(l) => Some(&l.lot),
            _ => None,
        }
    }

    /// The GLN, for a location or a party.
    pub fn gln(&self) -> Option<Gln> {
        match self {
            Epc::Sgln(s) => Some(s.gln),
            Epc::Pgln(p) => Some(p.gln),
            _ => None,
        }
    }

    /// The identifier as it was written.
    pub fn as_written(&self) -> &str {
        match self {
            Epc::Sgtin(x) => &x.written,
            Epc::Sscc(x) => &x.written,
            Epc::Sgln(x) => &x.written,
            Epc::Pgln(x) => &x.written,
            Epc::Lgtin(x) => &x.written,
            Epc::GtinClass(x) => &x.written,
            Epc::Other(s) => s,
        }
    }

    /// The EPC URN of a typed GS1 key, when the company prefix length is known (it is when
    /// the identifier was read from a URN; a Digital Link does not tell it).
    pub fn to_epc_urn(&self) -> Option<String> {
        urn::render(self)
    }
}

impl fmt::Display for Epc {
    /// The canonical GS1 Digital Link on `https://id.gs1.org`, with only the finest level
    /// of identification (an SGTIN's lot is left out), for the typed keys; an
    /// [`Epc::Other`] as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Epc::Other(s) => f.write_str(s),
            typed => f.write_str(&digital_link::render(typed)),
        }
    }
}

impl std::str::FromStr for Epc {
    type Err = EpcError;

    fn from_str(s: &str) -> Result<Epc, EpcError> {
        Epc::parse(s)
    }
}

/// Checks a text part (serial, lot, extension) once its escapes are decoded: 1 to `max`
/// characters of GS1's set 82.
fn check_text(
    scheme: &'static str,
    part: &'static str,
    value: &str,
    max: usize,
) -> Result<(), EpcError> {
    if value.is_empty() {
        return Err(EpcError::EmptyPart { scheme, part });
    }
    if let Some((i, ch)) = value
        .chars()
        .enumerate()
        .find(|&(_, c)| !percent::is_cset82(c))
    {
        return Err(EpcError::BadChar {
            scheme,
            part,
            pos: i + 1,
            ch,
        });
    }
    let got = value.chars().count();
    if got > max {
        return Err(EpcError::TooLong {
            scheme,
            part,
            max,
            got,
        });
    }
    Ok(())
}

/// Builds an SGTIN from a checked GTIN and a serial, through drugtrace's own pack type so the
/// key is the one a scan gives.
fn sgtin(
    gtin: Gtin,
    serial: &str,
    lot: Option<&str>,
    prefix_len: Option<u8>,
    written: &str,
) -> Result<Epc, EpcError> {
    check_text("SGTIN", "serial", serial, 20)?;
    if let Some(lot) = lot {
        check_text("SGTIN", "lot", lot, 20)?;
    }
    // The checks above are the pack's own; should they ever differ, the pack's word is kept.
    let pack = Gs1Pack::new(gtin, serial, lot, None).map_err(EpcError::Pack)?;
    Ok(Epc::Sgtin(Sgtin {
        pack,
        prefix_len,
        written: written.to_string(),
    }))
}

#[cfg(test)]
mod tests;
