//! Names of the parties, settlements, batches and persons that events refer to.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Why a string is not a valid identifier of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {input:?}: {reason}")]
pub struct IdError {
    what: &'static str,
    input: String,
    reason: &'static str,
}

/// Checks a short identifier: 1 to `max` printable ASCII characters with no spaces, as the
/// national interface's codes are. Returns the trimmed text.
fn short_ascii<'a>(what: &'static str, s: &'a str, max: usize) -> Result<&'a str, IdError> {
    let t = s.trim();
    let err = |reason| IdError {
        what,
        input: s.to_owned(),
        reason,
    };
    if t.is_empty() {
        return Err(err("is empty"));
    }
    if t.len() > max {
        return Err(err("is too long"));
    }
    if !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(err(
            "may hold only printable ASCII characters without spaces",
        ));
    }
    Ok(t)
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Box<str>);

        impl $name {
            #[doc = concat!("Parses a ", $what, ": 1 to ", stringify!($max), " printable ASCII characters, no spaces.")]
            pub fn parse(s: &str) -> Result<$name, IdError> {
                short_ascii($what, s, $max).map(|t| $name(t.into()))
            }

            #[doc = concat!("The ", $what, " that `s` names: `s` itself when it parses, else `V` and 32 hex")]
            /// characters of its SHA-256 digest, so that text no identifier may hold (too long,
            /// with spaces, in another script) still names one thing, and the same each time.
            pub fn or_digest(s: &str) -> $name {
                $name::parse(s).unwrap_or_else(|_| {
                    use sha2::{Digest, Sha256};
                    let d = Sha256::digest(s.as_bytes());
                    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
                    $name(format!("V{hex}").into())
                })
            }

            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// A party in the chain: a manufacturer, distributor, hospital or pharmacy, by its code
    /// (定点医药机构编码 such as `H11010500001`, or a unified social credit code).
    InstitutionId,
    "institution code",
    40
);
text_id!(
    /// A settlement (结算) of the insurance system, the unit a sale is paid and retried in.
    SettlementId,
    "settlement id",
    64
);
text_id!(
    /// A patient's visit (就诊) at an institution: the national platform's `mdtrt_id`, or the
    /// institution's own visit number (`mdtrt_sn`) when that is all a sale carries. A visit
    /// may hold several settlements and a settlement's sales one visit.
    VisitId,
    "visit id",
    64
);
text_id!(
    /// A production batch (批号) as printed on the pack.
    Batch,
    "batch",
    40
);
text_id!(
    /// An institution's own number for an upload batch (the national interface's
    /// `fixmedins_bchno`, 定点医药机构批次流水号): what a 3507 names to void that upload's
    /// records. Clients reuse it freely (a constant, a lot number), so with the institution
    /// it names a set of records, never a settlement.
    UploadId,
    "upload batch number",
    64
);

/// The keyed hash of an insured person's identity. The raw identity is never stored: two
/// sales by one person carry the same hash under one installation's secret, and nobody
/// without that secret can tell who it was.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonHash([u8; PersonHash::LEN]);

impl PersonHash {
    /// Bytes kept of the HMAC-SHA256 tag: 128 bits make collisions between any two of a
    /// nation's insured persons vanishingly unlikely.
    pub const LEN: usize = 16;

    /// Wraps stored bytes.
    pub fn from_bytes(b: [u8; PersonHash::LEN]) -> PersonHash {
        PersonHash(b)
    }

    /// The hash's bytes.
    pub fn as_bytes(&self) -> &[u8; PersonHash::LEN] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for PersonHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonHash({})", self.to_hex())
    }
}

/// The secret that person hashes are keyed with, created once at `drugtrace init`.
#[derive(Clone)]
pub struct PersonKey([u8; 32]);

impl PersonKey {
    /// A new random secret from the operating system's generator.
    pub fn generate() -> Result<PersonKey, getrandom::Error> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k)?;
        Ok(PersonKey(k))
    }

    /// A secret from stored bytes.
    pub const fn from_bytes(k: [u8; 32]) -> PersonKey {
        PersonKey(k)
    }

    /// The secret's bytes, for storing it.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Hashes an identity (a certificate number or an insured-person number). Surrounding
    /// white space, inner spaces and letter case are ignored, so `11010519491231002x` and
    /// `11010519491231002X` are one person.
    pub fn hash(&self, identity: &str) -> PersonHash {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for c in identity.chars().filter(|c| !c.is_whitespace()) {
            let mut buf = [0u8; 4];
            mac.update(c.to_ascii_uppercase().encode_utf8(&mut buf).as_bytes());
        }
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; PersonHash::LEN];
        out.copy_from_slice(&tag[..PersonHash::LEN]);
        PersonHash(out)
    }
}

impl fmt::Debug for PersonKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonKey(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_no_id_may_hold_names_its_digest() {
        assert_eq!(VisitId::or_digest("MD0001").as_str(), "MD0001");
        let odd = VisitId::or_digest("门诊 2026-001");
        assert_eq!(
            odd,
            VisitId::or_digest("门诊 2026-001"),
            "the same each time"
        );
        assert_ne!(odd, VisitId::or_digest("门诊 2026-002"));
        assert!(odd.as_str().starts_with('V') && odd.as_str().len() == 33);
        assert_eq!(
            VisitId::parse(odd.as_str()).unwrap(),
            odd,
            "a valid id itself"
        );
        let long = "S".repeat(65);
        assert_eq!(SettlementId::or_digest(&long).as_str().len(), 33);
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(
            InstitutionId::parse(" H11010500001 ").unwrap().as_str(),
            "H11010500001"
        );
        assert!(InstitutionId::parse("").is_err());
        assert!(InstitutionId::parse("H 1").is_err());
        assert!(InstitutionId::parse("医院").is_err());
        assert_eq!(
            SettlementId::parse("").unwrap_err().to_string(),
            "settlement id \"\": is empty"
        );
    }

    #[test]
    fn person_hash_is_keyed_and_normalised() {
        let k1 = PersonKey::from_bytes([1; 32]);
        let k2 = PersonKey::from_bytes([2; 32]);
        let id = "11010519491231002x";
        assert_eq!(k1.hash(id), k1.hash(" 11010519491231002X"));
        assert_ne!(k1.hash(id), k2.hash(id));
        assert_ne!(k1.hash(id), k1.hash("11010519491231003X"));
        // The hash does not carry the identity's digits in the clear.
        assert!(!k1.hash(id).to_hex().contains("1101051949"));
        assert_eq!(format!("{k1:?}"), "PersonKey(<secret>)");
    }
}
