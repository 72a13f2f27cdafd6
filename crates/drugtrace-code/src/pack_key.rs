//! The canonical, storage-ready identity of one pack.

use std::fmt;

use crate::{DrugId, Gtin};

/// Tag byte of a key made from a Chinese 20-digit code.
const TAG_CHINA: u8 = 0x01;
/// Tag byte of a key made from a GS1 GTIN + serial.
const TAG_GS1: u8 = 0x02;
/// Tag byte of a key made from an SSCC: a logistics unit (carton, pallet), only ever a case.
const TAG_SSCC: u8 = 0x03;
/// Bytes of an SSCC's value (it is below 10^18 < 2^64).
const SSCC_BYTES: usize = 8;
/// Bytes of a Chinese code's value (it is below 10^20 < 2^72).
const CHINA_BYTES: usize = 9;
/// Bytes of a GTIN-14's value (it is below 10^14 < 2^48).
const GTIN_BYTES: usize = 6;
/// The longest GS1 serial (AI 21).
pub(crate) const MAX_SERIAL: usize = 20;
/// The longest key: tag, GTIN, serial.
const MAX_KEY: usize = 1 + GTIN_BYTES + MAX_SERIAL;

/// One pack's identity as a short byte string, the same whichever way its code was scanned.
///
/// A Chinese code packs into a tag byte and 9 big-endian bytes; a GS1 pack into a tag byte,
/// the GTIN in 6 big-endian bytes and the serial's characters (the EU rule: GTIN + serial
/// identify a pack; batch and expiry describe it). Keys of one kind sort like their codes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackKey {
    len: u8,
    bytes: [u8; MAX_KEY],
}

/// Why a byte string is not a pack key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PackKeyError {
    /// The first byte names no known kind of code.
    UnknownTag(u8),
    /// The length does not fit the kind of code.
    Length {
        /// The length seen.
        len: usize,
    },
    /// The bytes decode to a value that no valid code has.
    Value,
}

impl fmt::Display for PackKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackKeyError::UnknownTag(t) => write!(f, "pack key tag {t:#04x} is unknown"),
            PackKeyError::Length { len } => write!(f, "pack key length {len} fits no code"),
            PackKeyError::Value => write!(f, "pack key holds a value no code has"),
        }
    }
}

impl std::error::Error for PackKeyError {}

/// What a pack key identifies, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackIdentity {
    /// A Chinese 20-digit code, as its numeric value.
    China(u128),
    /// A GS1 pack: GTIN and serial.
    Gs1 {
        /// The product's GTIN.
        gtin: Gtin,
        /// The pack's serial (AI 21).
        serial: String,
    },
    /// A logistics unit's SSCC: a carton or pallet, which only ever holds packs.
    Sscc(crate::Sscc),
}

impl PackKey {
    /// The key of a Chinese code with numeric value `value` (below 10^20).
    pub(crate) fn china(value: u128) -> PackKey {
        debug_assert!(value < 10u128.pow(20));
        let mut bytes = [0u8; MAX_KEY];
        bytes[0] = TAG_CHINA;
        bytes[1..=CHINA_BYTES].copy_from_slice(&value.to_be_bytes()[16 - CHINA_BYTES..]);
        PackKey {
            len: (1 + CHINA_BYTES) as u8,
            bytes,
        }
    }

    /// The key of a GS1 pack. `serial` is at most 20 characters of GS1's set 82 (ASCII).
    pub(crate) fn gs1(gtin: Gtin, serial: &str) -> PackKey {
        debug_assert!(serial.len() <= MAX_SERIAL && serial.is_ascii());
        let mut bytes = [0u8; MAX_KEY];
        bytes[0] = TAG_GS1;
        bytes[1..=GTIN_BYTES].copy_from_slice(&gtin.value().to_be_bytes()[8 - GTIN_BYTES..]);
        let end = 1 + GTIN_BYTES + serial.len();
        bytes[1 + GTIN_BYTES..end].copy_from_slice(serial.as_bytes());
        PackKey {
            len: end as u8,
            bytes,
        }
    }

    /// The key of a logistics unit's SSCC.
    pub(crate) fn sscc(value: u64) -> PackKey {
        let mut bytes = [0u8; MAX_KEY];
        bytes[0] = TAG_SSCC;
        bytes[1..=SSCC_BYTES].copy_from_slice(&value.to_be_bytes());
        PackKey {
            len: (1 + SSCC_BYTES) as u8,
            bytes,
        }
    }

    /// The key's bytes, for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Reads a key back from storage, checking that it decodes to a valid code.
    pub fn from_bytes(b: &[u8]) -> Result<PackKey, PackKeyError> {
        let Some(&tag) = b.first() else {
            return Err(PackKeyError::Length { len: 0 });
        };
        let key = match tag {
            TAG_CHINA => {
                if b.len() != 1 + CHINA_BYTES {
                    return Err(PackKeyError::Length { len: b.len() });
                }
                let mut v = [0u8; 16];
                v[16 - CHINA_BYTES..].copy_from_slice(&b[1..]);
                let value = u128::from_be_bytes(v);
                if value >= 10u128.pow(20) {
                    return Err(PackKeyError::Value);
                }
                PackKey::china(value)
            }
            TAG_GS1 => {
                if b.len() <= 1 + GTIN_BYTES || b.len() > MAX_KEY {
                    return Err(PackKeyError::Length { len: b.len() });
                }
                let mut v = [0u8; 8];
                v[8 - GTIN_BYTES..].copy_from_slice(&b[1..=GTIN_BYTES]);
                let gtin = Gtin::from_value(u64::from_be_bytes(v)).ok_or(PackKeyError::Value)?;
                let serial = std::str::from_utf8(&b[1 + GTIN_BYTES..])
                    .ok()
                    .filter(|s| s.bytes().all(crate::gs1::is_cset82))
                    .ok_or(PackKeyError::Value)?;
                PackKey::gs1(gtin, serial)
            }
            TAG_SSCC => {
                if b.len() != 1 + SSCC_BYTES {
                    return Err(PackKeyError::Length { len: b.len() });
                }
                let value = u64::from_be_bytes(b[1..].try_into().expect("length checked"));
                let digits = format!("{value:018}");
                crate::Sscc::checked(&digits)
                    .ok_or(PackKeyError::Value)?
                    .pack_key()
            }
            other => return Err(PackKeyError::UnknownTag(other)),
        };
        Ok(key)
    }

    /// Decodes what the key identifies.
    pub fn identity(&self) -> PackIdentity {
        let b = self.as_bytes();
        if b[0] == TAG_CHINA {
            let mut v = [0u8; 16];
            v[16 - CHINA_BYTES..].copy_from_slice(&b[1..]);
            PackIdentity::China(u128::from_be_bytes(v))
        } else if b[0] == TAG_SSCC {
            let value = u64::from_be_bytes(b[1..].try_into().expect("an SSCC key's length"));
            PackIdentity::Sscc(
                crate::Sscc::checked(&format!("{value:018}")).expect("a key holds a valid SSCC"),
            )
        } else {
            let mut v = [0u8; 8];
            v[8 - GTIN_BYTES..].copy_from_slice(&b[1..=GTIN_BYTES]);
            let gtin = Gtin::from_value(u64::from_be_bytes(v)).expect("a key holds a valid GTIN");
            let serial = String::from_utf8_lossy(&b[1 + GTIN_BYTES..]).into_owned();
            PackIdentity::Gs1 { gtin, serial }
        }
    }

    /// The product the pack belongs to, as far as its code alone tells.
    pub fn product_key(&self) -> ProductKey {
        match self.identity() {
            PackIdentity::China(v) => ProductKey::DrugId(
                DrugId::from_value((v / 10u128.pow(13)) as u32).expect("seven digits"),
            ),
            PackIdentity::Gs1 { gtin, .. } => ProductKey::Gtin(gtin),
            PackIdentity::Sscc(_) => ProductKey::Logistics,
        }
    }

    /// Whether the key is a logistics unit's SSCC: a case, never a pack that is sold.
    pub fn is_sscc(&self) -> bool {
        self.bytes[0] == TAG_SSCC
    }
}

impl std::hash::Hash for PackKey {
    /// Hashes the key's bytes only: the unused tail of the buffer is always zero, and keys
    /// are hashed on every hot path.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
    }
}

impl fmt::Display for PackKey {
    /// Renders the pack's code: 20 digits, or `(01)GTIN(21)SERIAL` (a `(` in the serial
    /// that would read as an AI written `\(`, so the text parses back to this pack).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.identity() {
            PackIdentity::China(v) => write!(f, "{v:020}"),
            PackIdentity::Gs1 { gtin, serial } => write!(
                f,
                "(01){gtin}(21){}",
                crate::element_string::escape_bracketed(&serial)
            ),
            PackIdentity::Sscc(s) => write!(f, "{s}"),
        }
    }
}

impl fmt::Debug for PackKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PackKey({self})")
    }
}

/// The product a code names by itself: the drug identification code of a Chinese code, or the
/// GTIN of a GS1 code. The catalog maps either to an insurance drug code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProductKey {
    /// The first seven digits of a Chinese code.
    DrugId(DrugId),
    /// A GS1 GTIN.
    Gtin(Gtin),
    /// A logistics unit (an SSCC): it names no product.
    Logistics,
}

impl fmt::Display for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProductKey::DrugId(d) => write!(f, "{d}"),
            ProductKey::Gtin(g) => write!(f, "(01){g}"),
            ProductKey::Logistics => f.write_str("a logistics unit (SSCC)"),
        }
    }
}
