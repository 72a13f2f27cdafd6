//! What a record can be found by besides its pack: the ledger's secondary index.
//!
//! A pack's log is found by its key. The national interface also asks by other names: a
//! settlement reversal (2208) names a settlement, a void (3507) an upload batch, a query
//! (3513) a person. Each recorded event yields the [`Lookup`]s it can be found by
//! ([`Lookup::of`]); a store keeps the pairs *(lookup, pack)* in the same atomic commit as
//! the events, and answers [`crate::Store::packs_by`]. The index is derived from the logs
//! alone, so `drugtrace rebuild` can always rewrite it.
//!
//! The same index is the ledger's change feed: every record also marks its pack as changed
//! in the minute the ledger recorded it ([`Lookup::Changed`]), so the warehouse can re-read
//! only the packs that changed since its last export (`drugtrace_analytics::update`)
//! instead of scanning every log. The marks of one minute are spread over [`STRIPES`]
//! stripes by pack, so that a database distributed by the index's key does not send a whole
//! minute's writes to one node.
//!
//! Change marks are the one kind of entry that is removed: nobody reads a mark older than
//! [`CHANGES_KEPT_MINUTES`], and a [`ChangeSweeper`] forgets those, oldest first, so the
//! feed does not grow with the ledger.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;
use std::time::Instant;

use drugtrace_code::PackKey;

use crate::{
    EventKind, InstitutionId, PersonHash, Recorded, SettlementId, Store, StoreError, Timestamp,
    UploadId, VisitId,
};

/// How many stripes the change marks of one minute are spread over.
pub const STRIPES: u8 = 8;

/// How long change marks are kept, in minutes: eight days. An update of the warehouse
/// reads a week back at most, and a few minutes either side (`drugtrace_analytics`); the
/// day beyond that leaves room for servers whose clocks differ.
pub const CHANGES_KEPT_MINUTES: i64 = 8 * 24 * 60;

/// The first byte of every change mark's key ([`Lookup::key`]): the marks of every minute
/// lie between it and the next byte.
const CHANGED_TAG: u8 = 5;

/// One stripe of the packs that gained a record in one minute of the ledger's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeMark {
    /// Minutes since the Unix epoch, by the ledger's clock when it recorded.
    pub minute: i64,
    /// Which of the [`STRIPES`] (by pack).
    pub stripe: u8,
}

impl ChangeMark {
    /// The mark a record of `key` made at `recorded_at` leaves.
    pub fn of(key: &PackKey, recorded_at: Timestamp) -> ChangeMark {
        ChangeMark {
            minute: minute_of(recorded_at),
            stripe: stripe_of(key),
        }
    }

    /// Every stripe of `minute`.
    pub fn minute(minute: i64) -> impl Iterator<Item = ChangeMark> {
        (0..STRIPES).map(move |stripe| ChangeMark { minute, stripe })
    }

    /// The mark of an index key a store read among the change marks: a key that does not
    /// parse as one is corruption.
    pub fn stored(key: &[u8]) -> Result<ChangeMark, StoreError> {
        ChangeMark::from_key(key)
            .ok_or_else(|| StoreError::Corrupt("a change mark's index key does not parse".into()))
    }

    /// The mark whose key ([`Lookup::key`]) `key` begins with, or `None` when it is not a
    /// change mark's.
    pub fn from_key(key: &[u8]) -> Option<ChangeMark> {
        let (&tag, rest) = key.split_first()?;
        let minute: [u8; 8] = rest.get(..8)?.try_into().ok()?;
        let stripe = *rest.get(8)?;
        (tag == CHANGED_TAG && stripe < STRIPES).then(|| ChangeMark {
            minute: (u64::from_be_bytes(minute) ^ (1 << 63)) as i64,
            stripe,
        })
    }

    /// The key every stripe of `minute`'s marks begins with (their [`Lookup::key`] up to
    /// the stripe's byte).
    pub fn minute_key(minute: i64) -> Vec<u8> {
        let mut key = Lookup::Changed(ChangeMark { minute, stripe: 0 }).key();
        key.pop();
        key
    }

    /// The keys that bound the marks of `minute` and later: every such mark's key is at
    /// least the first and less than the second.
    pub fn keys_from(minute: i64) -> (Vec<u8>, Vec<u8>) {
        (ChangeMark::minute_key(minute), vec![CHANGED_TAG + 1])
    }
}

/// The oldest minute whose change marks are kept when the ledger's clock reads `now`: the
/// marks of every minute before it are forgotten ([`CHANGES_KEPT_MINUTES`]).
pub fn first_kept_minute(now: Timestamp) -> i64 {
    minute_of(now).saturating_sub(CHANGES_KEPT_MINUTES)
}

/// Forgets the change marks nobody reads any more: those of the minutes more than
/// [`CHANGES_KEPT_MINUTES`] before the ledger's clock, oldest first, a minute at a time.
///
/// It remembers the minute it got to, so a pass starts where the last one ended: a store
/// that keeps a removal as a tombstone until it compacts is not asked to step over it
/// again. Once every [`RESCAN_MINUTES`] by the ledger's clock it starts again from the
/// oldest mark, so that marks written later for minutes it had passed (a `put_lookups` of
/// old marks, a server whose clock is behind; a rebuild does not write them, see
/// `Ledger::rebuild`) are forgotten within a day.
#[derive(Debug, Clone)]
pub struct ChangeSweeper {
    from: i64,
    /// The minute (the ledger's clock) of the last pass that started from the oldest mark.
    rescanned: i64,
}

/// How often a [`ChangeSweeper`] starts again from the oldest mark, in minutes: a day.
pub const RESCAN_MINUTES: i64 = 24 * 60;

/// What one pass of a [`ChangeSweeper`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Minutes whose marks it forgot.
    pub minutes: u64,
    /// Index entries those marks were.
    pub entries: u64,
    /// Whether older marks are left: the pass stopped at its deadline.
    pub behind: bool,
}

impl Default for ChangeSweeper {
    fn default() -> Self {
        ChangeSweeper::new()
    }
}

impl ChangeSweeper {
    /// A sweeper that starts from the oldest mark stored.
    pub fn new() -> ChangeSweeper {
        ChangeSweeper {
            from: i64::MIN,
            rescanned: i64::MIN,
        }
    }

    /// Forgets the marks of the minutes before `now` less [`CHANGES_KEPT_MINUTES`], until
    /// none is left or `deadline` has passed; it forgets one minute at least, so every pass
    /// makes progress. A failure leaves it where it was: the minute it failed in is tried
    /// again by the next pass.
    pub fn sweep<S: Store + ?Sized>(
        &mut self,
        store: &S,
        now: Timestamp,
        deadline: Instant,
    ) -> Result<Swept, StoreError> {
        let before = first_kept_minute(now);
        let minute = minute_of(now);
        if minute.saturating_sub(self.rescanned) >= RESCAN_MINUTES {
            self.from = i64::MIN;
            self.rescanned = minute;
        }
        let mut swept = Swept::default();
        while let Some(minute) = store
            .first_changed_minute(self.from)?
            .filter(|m| *m < before)
        {
            if swept.minutes > 0 && Instant::now() >= deadline {
                swept.behind = true;
                break;
            }
            swept.entries += store.forget_changes(minute)?;
            swept.minutes += 1;
            self.from = minute.saturating_add(1);
        }
        Ok(swept)
    }
}

/// The minute (since the Unix epoch) an instant falls in.
pub fn minute_of(t: Timestamp) -> i64 {
    t.millis().div_euclid(60_000)
}

/// The packs that gained a record in the minutes `minutes` (by the ledger's clock), or
/// `None` when they are more than `cap`: a caller that would rather read everything than
/// hold that many keys says so.
pub fn changed_packs<S: Store + ?Sized>(
    store: &S,
    minutes: RangeInclusive<i64>,
    cap: usize,
) -> Result<Option<BTreeSet<PackKey>>, StoreError> {
    let mut packs = BTreeSet::new();
    for minute in minutes {
        for mark in ChangeMark::minute(minute) {
            let room = cap.saturating_sub(packs.len()).saturating_add(1);
            packs.extend(store.packs_by(&Lookup::Changed(mark), room)?);
            if packs.len() > cap {
                return Ok(None);
            }
        }
    }
    Ok(Some(packs))
}

fn stripe_of(key: &PackKey) -> u8 {
    // FNV-1a over the key's bytes: stable across versions and machines, unlike std's hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in key.as_bytes() {
        h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    (h % u32::from(STRIPES)) as u8
}

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
    /// Packs that gained a record in one minute (one stripe of it).
    Changed(ChangeMark),
}

impl Lookup {
    /// The lookups a recorded event of the pack `key` can be found by.
    pub fn of(key: &PackKey, r: &Recorded) -> Vec<Lookup> {
        let e = &r.event;
        let mut out = vec![Lookup::Changed(ChangeMark::of(key, r.recorded_at))];
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
            Lookup::Changed(m) => {
                k.push(CHANGED_TAG);
                // Big-endian with the sign bit flipped, so keys sort by minute.
                k.extend_from_slice(&((m.minute as u64) ^ (1 << 63)).to_be_bytes());
                k.push(m.stripe);
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
            Lookup::Changed(m) => write!(
                f,
                "packs changed in minute {} (stripe {})",
                Timestamp::from_millis(m.minute.saturating_mul(60_000)).to_rfc3339(0),
                m.stripe
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweeper_comes_back_for_old_marks_written_behind_it_within_a_day() {
        use crate::testkit::pack;
        let store = crate::MemStore::new();
        let mark = |minute: i64| {
            Lookup::Changed(ChangeMark {
                minute,
                stripe: stripe_of(&pack(minute as u64)),
            })
        };
        let first = 29_000_000i64;
        store
            .put_lookups(&[
                (mark(first), pack(first as u64)),
                (mark(first + 10), pack(first as u64 + 10)),
            ])
            .unwrap();
        let at = |minute: i64| Timestamp::from_millis(minute * 60_000);
        let now = first + 20 + CHANGES_KEPT_MINUTES;
        let later = || Instant::now() + std::time::Duration::from_secs(60);
        let mut sweeper = ChangeSweeper::new();
        assert_eq!(sweeper.sweep(&store, at(now), later()).unwrap().minutes, 2);
        // A mark of a minute the sweeper has passed: left while its cursor stands beyond it.
        store
            .put_lookups(&[(mark(first + 5), pack(first as u64 + 5))])
            .unwrap();
        let hour_later = sweeper.sweep(&store, at(now + 60), later()).unwrap();
        assert_eq!(hour_later.minutes, 0, "{hour_later:?}");
        assert_eq!(
            store.first_changed_minute(i64::MIN).unwrap(),
            Some(first + 5)
        );
        // A day on, the sweeper starts again from the oldest mark.
        let day_later = sweeper
            .sweep(&store, at(now + RESCAN_MINUTES), later())
            .unwrap();
        assert_eq!(
            (day_later.minutes, day_later.entries),
            (1, 1),
            "{day_later:?}"
        );
        assert_eq!(store.first_changed_minute(i64::MIN).unwrap(), None);
    }

    #[test]
    fn keys_are_distinct_and_prefix_free() {
        let i = |s: &str| InstitutionId::parse(s).unwrap();
        let a = Lookup::Upload(i("H1"), UploadId::parse("B1").unwrap()).key();
        let b = Lookup::Upload(i("H1B"), UploadId::parse("1").unwrap()).key();
        let c = Lookup::Settlement(i("H1"), SettlementId::parse("B1").unwrap()).key();
        let d = Lookup::Visit(i("H1"), VisitId::parse("B1").unwrap()).key();
        let e = Lookup::Changed(ChangeMark {
            minute: 29_000_000,
            stripe: 3,
        })
        .key();
        let keys = [&a, &b, &c, &d, &e];
        for (n, x) in keys.iter().enumerate() {
            for y in &keys[n + 1..] {
                assert!(!x.starts_with(y) && !y.starts_with(x), "{x:?} {y:?}");
            }
        }
    }

    #[test]
    fn a_change_mark_reads_back_from_its_key_and_no_other_key_reads_as_one() {
        let (first, end) = ChangeMark::keys_from(-3);
        for minute in [i64::MIN, -3, -1, 0, 29_000_000, i64::MAX] {
            for stripe in [0, STRIPES - 1] {
                let m = ChangeMark { minute, stripe };
                let key = Lookup::Changed(m).key();
                assert_eq!(ChangeMark::from_key(&key), Some(m));
                assert_eq!(key >= first && key < end, minute >= -3, "{m:?}");
                assert!(key.starts_with(&ChangeMark::minute_key(minute)), "{m:?}");
                assert!(
                    !key.starts_with(&ChangeMark::minute_key(minute ^ 1)),
                    "{m:?}"
                );
            }
        }
        let other = Lookup::Person(PersonHash::from_bytes([5; PersonHash::LEN])).key();
        assert_eq!(ChangeMark::from_key(&other), None);
        assert_eq!(
            ChangeMark::from_key(&[CHANGED_TAG, 1, 2]),
            None,
            "truncated"
        );
    }

    #[test]
    fn change_marks_sort_by_minute_and_fall_in_every_stripe() {
        let mark = |minute| Lookup::Changed(ChangeMark { minute, stripe: 0 }).key();
        assert!(mark(-1) < mark(0) && mark(0) < mark(1) && mark(1) < mark(1 << 40));
        assert_eq!(minute_of(Timestamp::from_millis(119_999)), 1);
        assert_eq!(minute_of(Timestamp::from_millis(-1)), -1);
        let mut seen = [false; STRIPES as usize];
        for n in 0..200 {
            let key = crate::testkit::pack(n);
            let m = ChangeMark::of(&key, Timestamp::from_millis(0));
            seen[usize::from(m.stripe)] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }
}
