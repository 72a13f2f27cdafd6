//! What a record can be found by besides its pack: the ledger's secondary index.
//!
//! A pack's log is found by its key. The national interface also asks by other names: a
//! settlement reversal (2208) names a settlement, a void (3507) an upload batch, a query
//! (3513) a person. Each recorded event yields the [`Lookup`]s it can be found by
//! ([`Lookup::of`]); a store keeps the pairs *(lookup, pack)* in the same atomic commit as
//! the events, and answers [`crate::Store::packs_by`]. The index is derived from the logs
//! alone, so `drugtrace rebuild` can always rewrite it.

use std::fmt;

use crate::{EventKind, InstitutionId, PersonHash, Recorded, SettlementId, UploadId, VisitId};

/// A name records are looked up by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lookup {
    /// Sales (and blocked attempts) under one settlement of one institution.
    Settlement(InstitutionId, SettlementId),
    /// Records one institution sent in one upload batch.
    Upload(InstitutionId, UploadId),
    /// Sales (and blocked attempts) to one buyer, anywhere.
    Person(PersonHash),
    /// Sales (and blocked attempts) of one visit at one institution.
    Visit(InstitutionId, VisitId),
}

impl Lookup {
    /// The lookups a recorded event can be found by.
    pub fn of(r: &Recorded) -> Vec<Lookup> {
        let e = &r.event;
        let mut out = Vec::new();
        if let Some(u) = &e.upload {
            out.push(Lookup::Upload(e.actor.clone(), u.clone()));
        }
        if let EventKind::Sale(s) = &e.kind {
            if let Some(id) = &s.settlement {
                out.push(Lookup::Settlement(e.actor.clone(), id.clone()));
            }
            if let Some(p) = s.person {
                out.push(Lookup::Person(p));
            }
            if let Some(v) = &s.visit {
                out.push(Lookup::Visit(e.actor.clone(), v.clone()));
            }
        }
        out
    }

    /// A byte string that identifies the lookup and no other, and is a prefix of no other
    /// lookup's: backends key their index by it (followed by the pack's key).
    pub fn key(&self) -> Vec<u8> {
        fn text(k: &mut Vec<u8>, s: &str) {
            // Identifiers are at most 64 bytes (checked when parsed), so one length byte.
            k.push(s.len() as u8);
            k.extend_from_slice(s.as_bytes());
        }
        let mut k = Vec::with_capacity(48);
        match self {
            Lookup::Settlement(i, s) => {
                k.push(1);
                text(&mut k, i.as_str());
                text(&mut k, s.as_str());
            }
            Lookup::Upload(i, u) => {
                k.push(2);
                text(&mut k, i.as_str());
                text(&mut k, u.as_str());
            }
            Lookup::Person(p) => {
                k.push(3);
                k.extend_from_slice(p.as_bytes());
            }
            Lookup::Visit(i, v) => {
                k.push(4);
                text(&mut k, i.as_str());
                text(&mut k, v.as_str());
            }
        }
        k
    }
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lookup::Settlement(i, s) => write!(f, "settlement {s} of {i}"),
            Lookup::Upload(i, u) => write!(f, "upload batch {u} of {i}"),
            Lookup::Person(p) => write!(f, "buyer {}", p.to_hex()),
            Lookup::Visit(i, v) => write!(f, "visit {v} at {i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_prefix_free() {
        let i = |s: &str| InstitutionId::parse(s).unwrap();
        let a = Lookup::Upload(i("H1"), UploadId::parse("B1").unwrap()).key();
        let b = Lookup::Upload(i("H1B"), UploadId::parse("1").unwrap()).key();
        let c = Lookup::Settlement(i("H1"), SettlementId::parse("B1").unwrap()).key();
        let d = Lookup::Visit(i("H1"), VisitId::parse("B1").unwrap()).key();
        let keys = [&a, &b, &c, &d];
        for (n, x) in keys.iter().enumerate() {
            for y in &keys[n + 1..] {
                assert!(!x.starts_with(y) && !y.starts_with(x), "{x:?} {y:?}");
            }
        }
    }
}
