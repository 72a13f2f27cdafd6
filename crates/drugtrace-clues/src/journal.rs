//! The journal file: whole lines appended and synced, never rewritten.
//!
//! *Assumptions about the disk:* `write` followed by a successful `fsync` (`sync_data`)
//! makes the bytes durable; a crash can leave a prefix of an unsynced write at the end of the
//! file (a torn line), and no other damage. So a line that does not end in `\n` was never
//! acknowledged and is cut off on open, while a complete line that does not parse is damage
//! this design does not expect, and opening refuses the file rather than guess.
//!
//! A failed write is rolled back by truncating to the last acknowledged length. A failed
//! sync poisons the journal: after it, whether the line reached the disk is unknown (and
//! retrying `fsync` can falsely succeed), so nothing more is written until the book is
//! reopened, which reads the truth back from the file.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The journal's file name inside the book's directory.
pub(crate) const FILE_NAME: &str = "clues.jsonl";

/// Why a book could not be opened.
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
    /// Another `ClueBook`, in this process or another, has the journal open.
    #[error("{} is already open in another clue book", path.display())]
    Locked {
        /// The journal.
        path: PathBuf,
    },
    /// A complete line of the journal is not a record that may follow the lines before it.
    /// Nothing was changed on disk.
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
    /// A sync of the journal failed, now or earlier: whether that change was kept is unknown
    /// until the book is reopened, and nothing is written until then.
    #[error("{} could not be synced ({reason}); reopen the clue book", path.display())]
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

pub(crate) struct Journal {
    file: File,
    path: PathBuf,
    /// The acknowledged length: every byte before it is whole, synced lines.
    len: u64,
    poisoned: Option<String>,
}

/// What opening found: the journal, its whole lines and the torn tail cut off, if any.
pub(crate) struct Opened {
    pub journal: Journal,
    pub contents: Vec<u8>,
    pub torn_tail: Option<TornTail>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`, locks it, reads it and cuts off a
    /// torn last line.
    pub fn open(dir: &Path) -> Result<Opened, OpenError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(FILE_NAME);
        let existed = path.try_exists().map_err(io_err(&path))?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(OpenError::Locked { path }),
            Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
        if !existed {
            // The new file's name must be durable before anything in it is acknowledged.
            file.sync_all().map_err(io_err(&path))?;
            sync_dir(dir).map_err(io_err(dir))?;
        }
        let mut contents = Vec::new();
        file.read_to_end(&mut contents).map_err(io_err(&path))?;
        let whole = contents
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let torn_tail = (whole < contents.len()).then(|| TornTail {
            line: contents[..whole].iter().filter(|&&b| b == b'\n').count() + 1,
            bytes: contents.len() - whole,
        });
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

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
