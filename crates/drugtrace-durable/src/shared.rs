//! The journal seam: an append-only sequence of records that several servers share, so that
//! the state folded from it (the keys, the clue book, the notices) is one state however many
//! `drugtrace serve` processes run. A table of a PostgreSQL database keeps it for servers on
//! one database (`drugtrace-store-postgres`); [`FileJournal`] keeps it in a journal file of
//! one server's data directory, a record a line; [`MemoryJournal`] keeps it in one process.
//!
//! Records are numbered from 0 and never change. A writer appends at the number it expects
//! next, the length of the journal it has folded: when another server got there first, the
//! append is [`SharedError::Stale`] and writes nothing, and the writer reads on, folds what it
//! missed and decides again. So two servers can never both append a change that was only
//! valid before the other's.

use std::path::Path;
use std::sync::Mutex;

use crate::{Journal, Lock, OpenError, TornTail};

/// Why a shared journal could not be read or appended to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SharedError {
    /// The journal already has a record numbered `at`: another server wrote first. Nothing
    /// was written; read on from `at` and decide again.
    #[error("another server wrote record {at} of the journal first")]
    Stale {
        /// The number that was taken.
        at: u64,
    },
    /// The journal could not be reached or did not answer. For an append, nothing is known
    /// to have been written: reading on from `at` says whether it was.
    #[error("the journal is unavailable: {0}")]
    Unavailable(String),
    /// The record cannot be kept by this journal (a line break in a record of a journal
    /// file). Nothing was written.
    #[error("the record cannot be kept: {0}")]
    Invalid(String),
}

/// An append-only sequence of records shared by several servers.
pub trait SharedJournal: Send + Sync + std::fmt::Debug {
    /// The records from number `from` on, in order (none when there are no more).
    fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>, SharedError>;

    /// Appends `record` as number `at`, which must be the journal's length: durable when this
    /// returns `Ok`.
    fn append(&self, at: u64, record: &[u8]) -> Result<(), SharedError>;
}

impl<T: SharedJournal + ?Sized> SharedJournal for std::sync::Arc<T> {
    fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>, SharedError> {
        (**self).read_from(from)
    }

    fn append(&self, at: u64, record: &[u8]) -> Result<(), SharedError> {
        (**self).append(at, record)
    }
}

/// A journal in this process's memory: what a shared journal does, for one process (and for
/// tests of the code that folds one).
#[derive(Debug, Default)]
pub struct MemoryJournal {
    records: Mutex<Vec<Vec<u8>>>,
}

impl SharedJournal for MemoryJournal {
    fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>, SharedError> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let from = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(records.len());
        Ok(records[from..].to_vec())
    }

    fn append(&self, at: u64, record: &[u8]) -> Result<(), SharedError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if at != records.len() as u64 {
            return Err(SharedError::Stale { at });
        }
        records.push(record.to_vec());
        Ok(())
    }
}

/// A journal in a file of one server's data directory: each record a line, synced before
/// an append returns, a torn last line cut off when it is opened (see [`Journal`]), so a
/// record may hold any bytes but a line break. The file is locked while it is open: one
/// server owns it, and only that server appends, so "another server wrote first" cannot
/// happen here, though an append at a number other than the next is still refused.
#[derive(Debug)]
pub struct FileJournal {
    inner: Mutex<FileInner>,
}

#[derive(Debug)]
struct FileInner {
    journal: Journal,
    records: Vec<Vec<u8>>,
}

impl FileJournal {
    /// Opens (creating it if needed) and locks the journal file at `path`, and reads its
    /// records; also says what torn last line was cut off, if one was.
    pub fn open(path: &Path) -> Result<(FileJournal, Option<TornTail>), OpenError> {
        let opened = Journal::open(path, Lock::Exclusive)?;
        let records = opened.lines().map(|(_, l)| l.to_vec()).collect();
        let torn = opened.torn_tail;
        Ok((
            FileJournal {
                inner: Mutex::new(FileInner {
                    journal: opened.journal,
                    records,
                }),
            },
            torn,
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FileInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SharedJournal for FileJournal {
    fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>, SharedError> {
        let inner = self.lock();
        let from = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(inner.records.len());
        Ok(inner.records[from..].to_vec())
    }

    fn append(&self, at: u64, record: &[u8]) -> Result<(), SharedError> {
        if record.contains(&b'\n') {
            return Err(SharedError::Invalid(
                "a record of a journal file cannot hold a line break".into(),
            ));
        }
        let mut inner = self.lock();
        if at != inner.records.len() as u64 {
            return Err(SharedError::Stale { at });
        }
        inner
            .journal
            .append(record)
            .map_err(|e| SharedError::Unavailable(e.to_string()))?;
        inner.records.push(record.to_vec());
        Ok(())
    }
}

/// A state folded from a journal's records, one after the other: the catalog from its
/// imports, the recalls from theirs.
pub trait Fold: Clone + Default + Send + Sync + 'static {
    /// What applying a record says it did (an import's summary, the recall added).
    type Applied;
    /// Why a record does not apply.
    type Error: std::fmt::Display;
    /// Applies `record`; on error `self` is unchanged.
    fn apply(&mut self, record: &[u8]) -> Result<Self::Applied, Self::Error>;
}

/// Why a folded journal could not be read or added to.
#[derive(Debug)]
pub enum FoldError<E> {
    /// The journal could not be read or written.
    Shared(SharedError),
    /// A record already in the journal does not apply: the journal was written by
    /// something else, and nothing past it is folded.
    Corrupt {
        /// The record's number.
        at: u64,
        /// Why it does not apply.
        message: String,
    },
    /// The record offered does not apply to what is folded: nothing was appended.
    Refused(E),
}

impl<E> From<SharedError> for FoldError<E> {
    fn from(e: SharedError) -> Self {
        FoldError::Shared(e)
    }
}

/// What a journal's records fold to, kept up to date: the one place that reads a shared
/// journal on, applies what other servers appended, and appends a record judged against
/// everything before it. An append goes at the number folded up to; when another server
/// got there first, its record is folded and the new one judged again, so no two servers
/// append changes that were each valid only before the other's.
pub struct Folded<T: Fold> {
    journal: std::sync::Arc<dyn SharedJournal>,
    state: Mutex<(u64, std::sync::Arc<T>)>,
}

impl<T: Fold> std::fmt::Debug for Folded<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Folded")
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl<T: Fold> Folded<T> {
    /// Folds every record `journal` holds.
    pub fn open(journal: std::sync::Arc<dyn SharedJournal>) -> Result<Self, FoldError<T::Error>> {
        let folded = Folded {
            journal,
            state: Mutex::new((0, std::sync::Arc::default())),
        };
        folded.refresh()?;
        Ok(folded)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, std::sync::Arc<T>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the records folded so far make.
    pub fn current(&self) -> std::sync::Arc<T> {
        std::sync::Arc::clone(&self.lock().1)
    }

    /// How many records are folded.
    pub fn records(&self) -> u64 {
        self.lock().0
    }

    /// Reads on and folds what other servers appended; whether there was anything.
    pub fn refresh(&self) -> Result<bool, FoldError<T::Error>> {
        let mut state = self.lock();
        self.catch_up(&mut state)
    }

    /// Appends `record` and folds it, judged against every record before it, unless
    /// `already` finds that what it would add is folded already (then `false` and what
    /// `already` found, and nothing is appended).
    pub fn append(
        &self,
        record: &[u8],
        already: impl Fn(&T) -> Option<T::Applied>,
    ) -> Result<(T::Applied, bool), FoldError<T::Error>> {
        let mut state = self.lock();
        loop {
            self.catch_up(&mut state)?;
            if let Some(found) = already(&state.1) {
                return Ok((found, false));
            }
            let mut next = T::clone(&state.1);
            let applied = next.apply(record).map_err(FoldError::Refused)?;
            match self.journal.append(state.0, record) {
                Ok(()) => {
                    *state = (state.0 + 1, std::sync::Arc::new(next));
                    return Ok((applied, true));
                }
                // Another server appended first: fold it and judge this record again.
                Err(SharedError::Stale { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Folds the records after those folded; whether there were any.
    fn catch_up(&self, state: &mut (u64, std::sync::Arc<T>)) -> Result<bool, FoldError<T::Error>> {
        let records = self.journal.read_from(state.0)?;
        if records.is_empty() {
            return Ok(false);
        }
        let mut next = T::clone(&state.1);
        for (i, record) in records.iter().enumerate() {
            next.apply(record).map_err(|e| FoldError::Corrupt {
                at: state.0 + i as u64,
                message: e.to_string(),
            })?;
        }
        *state = (state.0 + records.len() as u64, std::sync::Arc::new(next));
        Ok(true)
    }
}

/// What every [`SharedJournal`] must do, for each implementation's tests: `fresh` makes a new,
/// empty journal, and a second handle on the same one.
pub fn conformance<J: SharedJournal>(fresh: impl Fn() -> (J, J)) {
    conformance_with(fresh, &[0, 255, b'\n']);
}

/// [`conformance`] for a journal whose records are lines ([`FileJournal`]): `odd`, a record
/// of unusual bytes, has no line break.
pub fn conformance_of_lines<J: SharedJournal>(fresh: impl Fn() -> (J, J)) {
    conformance_with(fresh, &[0, 255, b'\r']);
}

fn conformance_with<J: SharedJournal>(fresh: impl Fn() -> (J, J), odd: &[u8]) {
    // Appends in order and reads back from any point.
    let (a, b) = fresh();
    assert_eq!(a.read_from(0).unwrap(), Vec::<Vec<u8>>::new());
    a.append(0, b"first").unwrap();
    a.append(1, b"").unwrap();
    b.append(2, odd).unwrap();
    assert_eq!(
        b.read_from(0).unwrap(),
        vec![b"first".to_vec(), Vec::new(), odd.to_vec()]
    );
    assert_eq!(a.read_from(2).unwrap(), vec![odd.to_vec()]);
    assert!(a.read_from(3).unwrap().is_empty());
    assert!(a.read_from(u64::MAX).unwrap().is_empty());

    // A number already taken is stale and changes nothing; so is one past the end.
    assert_eq!(b.append(1, b"late"), Err(SharedError::Stale { at: 1 }));
    assert_eq!(b.append(5, b"ahead"), Err(SharedError::Stale { at: 5 }));
    assert_eq!(a.read_from(0).unwrap().len(), 3);

    // Writers racing for the same number: exactly one wins each.
    let (a, b) = fresh();
    let racers = [&a, &b];
    std::thread::scope(|s| {
        for (i, j) in racers.into_iter().enumerate() {
            s.spawn(move || {
                let mut won = 0;
                while won < 50 {
                    let at = j.read_from(0).unwrap().len() as u64;
                    if at >= 100 {
                        break;
                    }
                    match j.append(at, format!("{i}:{at}").as_bytes()) {
                        Ok(()) => won += 1,
                        Err(SharedError::Stale { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            });
        }
    });
    let all = a.read_from(0).unwrap();
    assert_eq!(all.len(), 100);
    for (n, r) in all.iter().enumerate() {
        let text = String::from_utf8(r.clone()).unwrap();
        assert!(text.ends_with(&format!(":{n}")), "record {n} is {text}");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[test]
    fn the_memory_journal_conforms() {
        super::conformance(|| {
            let j = Arc::new(super::MemoryJournal::default());
            (Arc::clone(&j), j)
        });
    }

    #[test]
    fn the_file_journal_conforms_and_keeps_its_records_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let n = std::sync::atomic::AtomicU32::new(0);
        super::conformance_of_lines(|| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (j, _) = super::FileJournal::open(&dir.path().join(format!("j{i}"))).unwrap();
            let j = Arc::new(j);
            (Arc::clone(&j), j)
        });
        use super::SharedJournal;
        let path = dir.path().join("kept.jsonl");
        {
            let (j, _) = super::FileJournal::open(&path).unwrap();
            j.append(0, br#"{"a":1}"#).unwrap();
            assert!(matches!(
                j.append(1, b"two\nlines"),
                Err(super::SharedError::Invalid(_))
            ));
            j.append(1, br#"{"b":2}"#).unwrap();
            assert!(
                super::FileJournal::open(&path).is_err(),
                "locked while it is open"
            );
        }
        // A torn last line (a crash in the middle of an append) is cut off on open.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, br#"{"c":"#))
            .unwrap();
        let (j, torn) = super::FileJournal::open(&path).unwrap();
        assert!(torn.is_some());
        assert_eq!(
            j.read_from(0).unwrap(),
            vec![br#"{"a":1}"#.to_vec(), br#"{"b":2}"#.to_vec()]
        );
    }
}
