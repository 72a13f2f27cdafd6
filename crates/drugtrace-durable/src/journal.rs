//! The journal: whole lines appended and synced, never rewritten.
//!
//! A line that does not end in `\n` was never acknowledged (its sync had not returned when
//! the crash came) and is cut off on open; a complete line that does not parse is damage the
//! assumptions do not allow, and the caller refuses the file ([`OpenError::Corrupt`]) rather
//! than guess.
//!
//! A failed write is rolled back by truncating to the last acknowledged length. A failed
//! sync poisons the journal: after it, whether the line reached the disk is unknown (and
//! retrying `fsync` can falsely succeed), so nothing more is written until the journal is
//! reopened, which reads the truth back from the file.
//!
//! A journal is locked while open. One kept open by a long-lived owner (the clue book) is
//! locked with [`Lock::Exclusive`]: a second owner is refused. One shared by short writers in
//! several processes (the key file: `drugtrace key create` beside a running server) is
//! opened with [`Lock::Wait`] for each append and read without a lock by [`read_lines`],
//! which leaves a torn tail to the next writer.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Why a journal could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The directory or the journal could not be created, read, locked or repaired.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Another owner, in this process or another, has the journal open exclusively.
    #[error("{} is already open elsewhere (another server or command on this directory?)", path.display())]
    Locked {
        /// The journal.
        path: PathBuf,
    },
    /// A shared journal (see [`crate::shared`]) could not be read.
    #[error(transparent)]
    Shared(#[from] crate::SharedError),
    /// A complete line of the journal is not a record that may follow the lines before it
    /// (found by the caller, which parses them). Nothing was changed on disk.
    #[error("{}, line {line}: {reason}", path.display())]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a write did not happen (or, when poisoned, may not have).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// Writing the journal failed; the write was rolled back and nothing changed.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The journal.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A shared journal (see [`crate::shared`]) could not be written; nothing is known to
    /// have been.
    #[error(transparent)]
    Shared(#[from] crate::SharedError),
    /// A sync of the journal failed, now or earlier: whether that change was kept is unknown
    /// until the book is reopened, and nothing is written until then.
    #[error("{} could not be synced ({reason}); nothing more is written to it until it is reopened", path.display())]
    Poisoned {
        /// The journal.
        path: PathBuf,
        /// The failure that poisoned it.
        reason: String,
    },
}

/// A torn last line found on open and cut off: a write that a crash interrupted, which was
/// never acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// The torn line's number, from 1.
    pub line: usize,
    /// Its length in bytes (no `\n`).
    pub bytes: usize,
}

/// An open, locked journal, appended to by [`Journal::append`].
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    /// The acknowledged length: every byte before it is whole, synced lines.
    len: u64,
    poisoned: Option<String>,
}

/// How an open journal is locked against other owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Refuse to open ([`OpenError::Locked`]) while another owner has it.
    Exclusive,
    /// Wait until the other owner is done.
    Wait,
}

/// What opening found: the journal, its whole lines and the torn tail cut off, if any.
#[derive(Debug)]
#[non_exhaustive]
pub struct Opened {
    /// The journal, locked.
    pub journal: Journal,
    /// Its whole lines, each ending in `\n`.
    pub contents: Vec<u8>,
    /// The torn last line that was cut off.
    pub torn_tail: Option<TornTail>,
}

impl Opened {
    /// The whole lines, numbered from 1, without their `\n`.
    pub fn lines(&self) -> impl Iterator<Item = (usize, &[u8])> {
        lines(&self.contents)
    }
}

/// The whole lines of `contents`, numbered from 1, without their `\n`.
pub fn lines(contents: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    contents
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| l.ends_with(b"\n"))
        .enumerate()
        .map(|(i, l)| (i + 1, &l[..l.len() - 1]))
}

/// Splits `contents` into its whole lines and the torn tail after them.
fn whole_lines(contents: &[u8]) -> (usize, Option<TornTail>) {
    let whole = contents
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let torn_tail = (whole < contents.len()).then(|| TornTail {
        line: contents[..whole].iter().filter(|&&b| b == b'\n').count() + 1,
        bytes: contents.len() - whole,
    });
    (whole, torn_tail)
}

/// Reads the whole lines of the journal at `path` without locking or changing it (`None`
/// when it does not exist). A torn tail, a crash's or a writer's still in progress, is left
/// out and reported.
pub fn read_lines(path: &Path) -> Result<Option<WholeLines>, OpenError> {
    let mut contents = match fs::read(path) {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let (whole, torn_tail) = whole_lines(&contents);
    contents.truncate(whole);
    Ok(Some(WholeLines {
        contents,
        torn_tail,
    }))
}

/// What [`read_lines`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct WholeLines {
    /// The whole lines, each ending in `\n`.
    pub contents: Vec<u8>,
    /// The torn last line left out.
    pub torn_tail: Option<TornTail>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Journal {
    /// Opens (creating it and its directory if needed) the journal at `path`, locks it,
    /// reads it and cuts off a torn last line.
    pub fn open(path: &Path, lock: Lock) -> Result<Opened, OpenError> {
        let dir = crate::parent(path);
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = path.to_path_buf();
        let existed = path.try_exists().map_err(io_err(&path))?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match lock {
            Lock::Exclusive => match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(OpenError::Locked { path }),
                Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            },
            Lock::Wait => file.lock().map_err(io_err(&path))?,
        }
        if !existed {
            // The new file's name must be durable before anything in it is acknowledged.
            file.sync_all().map_err(io_err(&path))?;
            crate::sync_dir(dir).map_err(io_err(dir))?;
        }
        let mut contents = Vec::new();
        file.read_to_end(&mut contents).map_err(io_err(&path))?;
        let (whole, torn_tail) = whole_lines(&contents);
        if torn_tail.is_some() {
            contents.truncate(whole);
            file.set_len(whole as u64).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
        }
        Ok(Opened {
            journal: Journal {
                file,
                path,
                len: whole as u64,
                poisoned: None,
            },
            contents,
            torn_tail,
        })
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `line` and a `\n`, and syncs: when this returns `Ok`, the line is durable.
    pub fn append(&mut self, line: &[u8]) -> Result<(), StorageError> {
        if let Some(reason) = &self.poisoned {
            return Err(StorageError::Poisoned {
                path: self.path.clone(),
                reason: reason.clone(),
            });
        }
        debug_assert!(!line.contains(&b'\n'));
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        if let Err(source) = self.file.write_all(&buf) {
            // Take back whatever part was written, so the next line starts on a boundary.
            if let Err(e) = self.file.set_len(self.len) {
                self.poisoned = Some(format!("{source}; rolling back failed: {e}"));
            }
            return Err(StorageError::Write {
                path: self.path.clone(),
                source,
            });
        }
        if let Err(e) = self.file.sync_data() {
            let reason = e.to_string();
            self.poisoned = Some(reason.clone());
            return Err(StorageError::Poisoned {
                path: self.path.clone(),
                reason,
            });
        }
        self.len += buf.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_torn_last_line_is_cut_off_and_the_next_append_starts_on_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.jsonl");
        fs::write(&path, b"{\"a\":1}\n{\"b\":").unwrap();
        let opened = Journal::open(&path, Lock::Wait).unwrap();
        assert_eq!(opened.torn_tail, Some(TornTail { line: 2, bytes: 5 }));
        let mut journal = opened.journal;
        journal.append(b"{\"c\":3}").unwrap();
        drop(journal);
        assert_eq!(fs::read(&path).unwrap(), b"{\"a\":1}\n{\"c\":3}\n");
    }

    #[test]
    fn reading_without_the_lock_leaves_a_torn_tail_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.jsonl");
        assert!(read_lines(&path).unwrap().is_none());
        fs::write(&path, b"one\ntw").unwrap();
        let read = read_lines(&path).unwrap().unwrap();
        assert_eq!(read.contents, b"one\n");
        assert_eq!(read.torn_tail, Some(TornTail { line: 2, bytes: 2 }));
        assert_eq!(
            fs::read(&path).unwrap(),
            b"one\ntw",
            "nothing changed on disk"
        );
    }

    #[test]
    fn an_exclusive_journal_refuses_a_second_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clues.jsonl");
        let first = Journal::open(&path, Lock::Exclusive).unwrap();
        assert!(matches!(
            Journal::open(&path, Lock::Exclusive),
            Err(OpenError::Locked { .. })
        ));
        drop(first);
        Journal::open(&path, Lock::Exclusive).unwrap();
    }

    proptest! {
        /// A crash anywhere in a run of appends leaves, after the next open, exactly the lines
        /// that were wholly written: none lost before the cut, no fragment kept after it.
        #[test]
        fn a_crash_at_any_byte_keeps_exactly_the_whole_lines(
            records in proptest::collection::vec("[a-z{}\":,0-9]{0,20}", 0..12),
            cut in any::<proptest::sample::Index>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal.jsonl");
            let mut journal = Journal::open(&path, Lock::Exclusive).unwrap().journal;
            for r in &records {
                journal.append(r.as_bytes()).unwrap();
            }
            drop(journal);
            let full = fs::read(&path).unwrap();
            let at = cut.index(full.len() + 1);
            fs::write(&path, &full[..at]).unwrap();
            let opened = Journal::open(&path, Lock::Exclusive).unwrap();
            let kept: Vec<Vec<u8>> = opened.lines().map(|(_, l)| l.to_vec()).collect();
            let whole = full[..at].iter().filter(|&&b| b == b'\n').count();
            let expected: Vec<Vec<u8>> =
                records[..whole].iter().map(|r| r.as_bytes().to_vec()).collect();
            prop_assert_eq!(kept, expected);
            prop_assert_eq!(opened.torn_tail.is_some(), !full[..at].is_empty() && full[at - 1] != b'\n');
        }
    }
}
