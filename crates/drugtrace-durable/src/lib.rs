//! Writing files so that a crash keeps everything that was acknowledged and nothing
//! half-written. Every file drugtrace keeps outside its store is written through here.
//!
//! *Assumptions about the disk*, the same for every routine:
//! - `write` followed by a successful `fsync` makes the bytes durable;
//! - `rename` within one directory is atomic, and a created or renamed name is durable only
//!   once the directory itself has been synced;
//! - a crash can leave a prefix of an unsynced append at the end of a file (a torn line),
//!   and no other damage.
//!
//! So there are three ways to write, and no others:
//! - [`replace`]: a whole file, written beside its name, synced, renamed over it, directory
//!   synced: readers and a crash see the old content or the new, never a mix;
//! - [`create_new`]: a file that must not exist yet (a secret, a configuration);
//! - [`Journal`]: whole lines appended and synced, a torn last line cut off on open, and a
//!   failed sync poisoning the journal until it is reopened.
//!
//! [`replace_dir`] puts a freshly written directory in place of another in one step.
//!
//! [`shared`] is the seam beside the journal file: the same append-only records kept where
//! several servers share them (a PostgreSQL table), appended only at the number the writer
//! expects, so no two servers append on a state the other has changed.

mod journal;
pub mod shared;

pub use shared::{FileJournal, Fold, FoldError, Folded, MemoryJournal, SharedError, SharedJournal};

pub use journal::{
    Journal, Lock, OpenError, Opened, StorageError, TornTail, WholeLines, lines, read_lines,
};

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The directory `path` is in (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Syncs a directory, making the names created, renamed or removed in it durable.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Syncs a directory (a no-op where directories cannot be opened for syncing).
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Syncs the directory `path` is in: a crash after this finds `path` under its new name.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    sync_dir(parent(path))
}

/// Makes a file written in place durable: its content and its name.
pub fn sync_file(file: &File, path: &Path) -> io::Result<()> {
    file.sync_all()?;
    sync_parent(path)
}

/// The hidden name `.{name}.{suffix}` beside `path`, in its directory (so that a rename
/// between the two stays in one directory).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent(path).join(format!(".{name}.{suffix}"))
}

/// Waits for, then holds, the turn at writing `target`: an exclusive advisory lock on
/// `.{name}.lock` beside it, released when the returned file is dropped (or its process
/// dies). Processes sharing a data directory take turns with it at what writes one place
/// through a fixed staging name, such as the warehouse's export.
pub fn take_turn(target: &Path) -> io::Result<File> {
    let dir = parent(target);
    std::fs::create_dir_all(dir)?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(beside(target, "lock"))?;
    lock.lock()?;
    Ok(lock)
}

/// The temporary a [`replace`] of `path` writes first, named after this process so that two
/// writers never share one.
fn temporary(path: &Path) -> PathBuf {
    beside(path, &format!("{}.tmp", std::process::id()))
}

/// Where a new directory is written before [`replace_dir`] puts it in place of `target`
/// (`.{name}.new`, beside it).
pub fn staging_dir(target: &Path) -> PathBuf {
    beside(target, "new")
}

/// Finishes a [`replace_dir`] that a crash interrupted where the directories could not be
/// exchanged in one step: with nothing at `target` and the old directory set aside, the old
/// one goes back (the new one, if complete, was never moved in). Readers call it before they
/// look, so they are never left without the directory.
pub fn recover_dir(target: &Path) -> io::Result<()> {
    let aside = beside(target, "old");
    if !target.exists() && aside.is_dir() {
        fs::rename(&aside, target)?;
        sync_parent(target)?;
    }
    Ok(())
}

/// Why a [`replace`] did not happen; `path` is then as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError<E> {
    /// The caller's `fill` failed.
    #[error(transparent)]
    Fill(E),
    /// Writing, syncing or renaming failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (the temporary, or the directory) that failed.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl<E> ReplaceError<E> {
    /// The caller's error, or `io` made of the file and cause that failed.
    pub fn into_inner(self, io: impl FnOnce(PathBuf, io::Error) -> E) -> E {
        match self {
            ReplaceError::Fill(e) => e,
            ReplaceError::Io { path, source } => io(path, source),
        }
    }
}

/// A file being written to take the place of `path`: the bytes go to a temporary beside it,
/// and [`Staged::commit`] syncs it, renames it over `path` and syncs the directory. Dropped
/// without a commit, the temporary is removed and `path` is as it was.
#[derive(Debug)]
pub struct Staged {
    file: Option<File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl Staged {
    /// Starts writing the new content of `path`.
    pub fn new(path: &Path) -> io::Result<Staged> {
        let tmp = temporary(path);
        let file = File::create(&tmp)?;
        Ok(Staged {
            file: Some(file),
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("a staged file is open until committed")
    }

    /// Puts the written content in place of `path`, durably; `path` then holds it whole.
    pub fn commit(mut self) -> io::Result<()> {
        let mut file = self.file.take().expect("committed once");
        file.flush()?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.path)?;
        sync_parent(&self.path)
    }
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `path` whole, so that a crash or a reader sees its old content or the new, never a
/// mix or nothing: `fill` writes a temporary file beside it, which is synced, renamed over
/// `path`, and the directory synced (a [`Staged`] file). When `fill` or any step fails, the
/// temporary is removed and `path` is as it was.
pub fn replace<T, E>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<T, E>,
) -> Result<T, ReplaceError<E>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReplaceError::Io { path, source }
    };
    let mut staged = Staged::new(path).map_err(io(&temporary(path)))?;
    let value = fill(staged.file()).map_err(ReplaceError::Fill)?;
    staged.commit().map_err(io(path))?;
    Ok(value)
}

/// [`replace`] with bytes already in memory.
pub fn replace_bytes(path: &Path, bytes: &[u8]) -> Result<(), ReplaceError<io::Error>> {
    replace(path, |f| f.write_all(bytes))
}

/// Creates `path`, which must not exist yet, holding `bytes`, durably (content and name);
/// a `private` file is readable by its owner only. An existing file is an error
/// ([`io::ErrorKind::AlreadyExists`]) and is left untouched.
pub fn create_new(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = private;
    let mut file = opts.open(path)?;
    let written = file.write_all(bytes).and_then(|()| sync_file(&file, path));
    if written.is_err() {
        // A partly written file would be taken for a whole one next time.
        drop(file);
        let _ = fs::remove_file(path);
    }
    written
}

/// Puts the directory `fresh` (written and synced by the caller) in place of `target` and
/// removes what was there, so that `target` names the old directory or the new one at every
/// instant, never neither: on Linux the two are exchanged in one step (`RENAME_EXCHANGE`);
/// elsewhere, or on a file system without it, the old one is moved aside first. Both must be
/// in the same directory. A crash before the old one is removed leaves it under `fresh`'s
/// name, for the next writer to clear.
pub fn replace_dir(fresh: &Path, target: &Path) -> io::Result<()> {
    sync_dir(fresh)?;
    if !target.exists() {
        fs::rename(fresh, target)?;
        return sync_parent(target);
    }
    if !exchange(fresh, target)? {
        // The window without a directory at `target`, which `recover_dir` closes after a crash.
        let aside = beside(target, "old");
        if aside.exists() {
            fs::remove_dir_all(&aside)?;
        }
        fs::rename(target, &aside)?;
        fs::rename(fresh, target)?;
        sync_parent(target)?;
        return fs::remove_dir_all(&aside);
    }
    sync_parent(target)?;
    fs::remove_dir_all(fresh)
}

/// Exchanges two paths in one step; `false` where the system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_the_old_content_when_writing_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.csv");
        replace_bytes(&path, b"old").unwrap();
        let failed = replace(&path, |f| {
            f.write_all(b"half")?;
            Err::<(), _>(io::Error::other("the disk is full"))
        });
        assert!(failed.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "the temporary is removed");
        replace_bytes(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn create_new_refuses_an_existing_file_and_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("person.key");
        create_new(&path, b"first", true).unwrap();
        let again = create_new(&path, b"second", true).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn replace_dir_swaps_in_the_new_directory_and_removes_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("warehouse");
        let fresh = dir.path().join(".warehouse.new");
        fs::create_dir(&fresh).unwrap();
        fs::write(fresh.join("a"), "1").unwrap();
        replace_dir(&fresh, &target).unwrap();
        assert_eq!(fs::read_to_string(target.join("a")).unwrap(), "1");
        assert!(!fresh.exists());

        fs::create_dir(&fresh).unwrap();
        fs::write(fresh.join("b"), "2").unwrap();
        replace_dir(&fresh, &target).unwrap();
        assert!(!target.join("a").exists(), "the old content is gone");
        assert_eq!(fs::read_to_string(target.join("b")).unwrap(), "2");
        assert!(!fresh.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
