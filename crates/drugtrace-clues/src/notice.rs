//! Public notices of duplicated codes (重复追溯码公示): a bureau publishes the codes found
//! sold more than once, and the patient's query says so when the patient's code is on one.
//!
//! Notices are kept in one append-only JSON Lines file, one notice per line, written and
//! synced before [`NoticeBoard::publish`] returns. A last line cut short by a crash was
//! never acknowledged: opening drops it (and says so); any other line that does not read is
//! an error naming it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use drugtrace_durable::{SharedError, SharedJournal};
use serde::{Deserialize, Serialize};

/// One duplicated code on a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeEntry {
    /// The code.
    pub code: String,
    /// The product's insurance code.
    pub product: String,
    /// The product's generic name.
    pub generic_name: String,
    /// Times the code was sold.
    pub times_sold: i64,
    /// The institutions that sold it again.
    pub institutions: Vec<String>,
}

/// A published notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Its number, from 1.
    pub id: u32,
    /// Its title.
    pub title: String,
    /// Who published it.
    pub published_by: String,
    /// When, in milliseconds since the Unix epoch.
    pub published_at_ms: i64,
    /// The codes.
    pub entries: Vec<NoticeEntry>,
}

/// Why the notices cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// The file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file could not be opened, locked or read.
    #[error(transparent)]
    Journal(#[from] drugtrace_durable::OpenError),
    /// The notice could not be written; it was not published.
    #[error(transparent)]
    Write(#[from] drugtrace_durable::StorageError),
    /// A line of the file is not a notice.
    #[error("{path} line {line} is not a notice ({message}); the file was left as it is")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A notice needs a title and at least one code.
    #[error("a notice needs {0}")]
    Invalid(&'static str),
}

/// The published notices, and which code is on which.
#[derive(Debug)]
pub struct NoticeBoard {
    path: PathBuf,
    /// A journal shared with other servers, instead of the file at `path` (which then only
    /// names it in messages).
    shared: Option<Arc<dyn SharedJournal>>,
    notices: Vec<Notice>,
    by_code: HashMap<String, (usize, usize)>,
}

impl NoticeBoard {
    /// Opens (or starts) the notices kept in `path`. Returns the board and, when a torn
    /// last line was dropped, its line number.
    pub fn open(path: &Path) -> Result<(NoticeBoard, Option<usize>), NoticeError> {
        let mut board = NoticeBoard {
            path: path.to_path_buf(),
            shared: None,
            notices: Vec::new(),
            by_code: HashMap::new(),
        };
        if !path.exists() {
            return Ok((board, None));
        }
        let opened = board.journal()?;
        board.catch_up(&opened)?;
        Ok((board, opened.torn_tail.map(|t| t.line)))
    }

    /// Opens the notices kept in `journal`, which other servers share (`name` says which in
    /// messages).
    pub fn open_shared(
        journal: Arc<dyn SharedJournal>,
        name: &str,
    ) -> Result<NoticeBoard, NoticeError> {
        let mut board = NoticeBoard {
            path: PathBuf::from(name),
            shared: Some(journal),
            notices: Vec::new(),
            by_code: HashMap::new(),
        };
        board.refresh()?;
        Ok(board)
    }

    /// Adds what other servers published to a shared board since it last looked; returns
    /// how many notices that was (none for a board in a file, which is read when it
    /// publishes).
    pub fn refresh(&mut self) -> Result<usize, NoticeError> {
        let Some(journal) = &self.shared else {
            return Ok(0);
        };
        let records = journal
            .read_from(self.notices.len() as u64)
            .map_err(drugtrace_durable::OpenError::from)?;
        let first = self.notices.len();
        for (i, record) in records.iter().enumerate() {
            self.add_line(first + i + 1, record)?;
        }
        Ok(records.len())
    }

    fn add_line(&mut self, number: usize, line: &[u8]) -> Result<(), NoticeError> {
        let notice: Notice = serde_json::from_slice(line).map_err(|e| NoticeError::Corrupt {
            path: self.path.clone(),
            line: number,
            message: e.to_string(),
        })?;
        self.add(notice);
        Ok(())
    }

    /// The journal, locked until the returned value is dropped, read whole and without a
    /// torn tail.
    fn journal(&self) -> Result<drugtrace_durable::Opened, NoticeError> {
        Ok(drugtrace_durable::Journal::open(
            &self.path,
            drugtrace_durable::Lock::Wait,
        )?)
    }

    /// Adds the notices of `opened` this board has not read yet (another process may have
    /// published since).
    fn catch_up(&mut self, opened: &drugtrace_durable::Opened) -> Result<(), NoticeError> {
        for (number, line) in opened.lines().skip(self.notices.len()) {
            self.add_line(number, line)?;
        }
        Ok(())
    }

    fn line(&self, notice: &Notice) -> Result<Vec<u8>, NoticeError> {
        serde_json::to_vec(notice).map_err(|e| NoticeError::Io {
            path: self.path.clone(),
            source: e.into(),
        })
    }

    fn add(&mut self, notice: Notice) {
        let n = self.notices.len();
        for (j, e) in notice.entries.iter().enumerate() {
            self.by_code.insert(e.code.clone(), (n, j));
        }
        self.notices.push(notice);
    }

    /// Publishes a notice of `entries`, durably; returns it.
    pub fn publish(
        &mut self,
        title: &str,
        published_by: &str,
        published_at_ms: i64,
        entries: Vec<NoticeEntry>,
    ) -> Result<&Notice, NoticeError> {
        if title.trim().is_empty() {
            return Err(NoticeError::Invalid("a title"));
        }
        if entries.is_empty() {
            return Err(NoticeError::Invalid("at least one code"));
        }
        let notice = Notice {
            id: self.notices.len() as u32 + 1,
            title: title.trim().to_string(),
            published_by: published_by.to_string(),
            published_at_ms,
            entries,
        };
        match self.shared.clone() {
            None => {
                let mut opened = self.journal()?;
                self.catch_up(&opened)?;
                let notice = Notice {
                    id: self.notices.len() as u32 + 1,
                    ..notice
                };
                opened.journal.append(&self.line(&notice)?)?;
                self.add(notice);
            }
            Some(journal) => loop {
                // Numbered after what every server published: another one may have been first.
                self.refresh()?;
                let notice = Notice {
                    id: self.notices.len() as u32 + 1,
                    ..notice.clone()
                };
                match journal.append(self.notices.len() as u64, &self.line(&notice)?) {
                    Ok(()) => {
                        self.add(notice);
                        break;
                    }
                    Err(SharedError::Stale { .. }) => continue,
                    Err(e) => return Err(drugtrace_durable::StorageError::from(e).into()),
                }
            },
        }
        Ok(self.notices.last().expect("just added"))
    }

    /// Every notice, oldest first.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// The latest notice `code` is on, and its entry there.
    pub fn find(&self, code: &str) -> Option<(&Notice, &NoticeEntry)> {
        let &(n, j) = self.by_code.get(code)?;
        let notice = &self.notices[n];
        Some((notice, &notice.entries[j]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(code: &str) -> NoticeEntry {
        NoticeEntry {
            code: code.into(),
            product: "XA".into(),
            generic_name: "阿莫西林胶囊".into(),
            times_sold: 3,
            institutions: vec!["P1".into(), "P2".into()],
        }
    }

    #[test]
    fn boards_of_two_servers_on_one_shared_journal_number_in_turn_and_see_each_other() {
        let journal: Arc<dyn SharedJournal> = Arc::new(drugtrace_durable::MemoryJournal::default());
        let mut a = NoticeBoard::open_shared(Arc::clone(&journal), "journal notices").unwrap();
        let mut b = NoticeBoard::open_shared(Arc::clone(&journal), "journal notices").unwrap();
        assert_eq!(a.publish("一", "r", 1, vec![entry("1")]).unwrap().id, 1);
        // b has not looked: it publishes after a's notice all the same.
        assert_eq!(b.publish("二", "r", 2, vec![entry("2")]).unwrap().id, 2);
        assert!(b.find("1").is_some(), "b folded a's notice in");
        assert!(a.find("2").is_none(), "a has not looked yet");
        assert_eq!(a.refresh().unwrap(), 1);
        assert_eq!(a.find("2").unwrap().0.id, 2);
        let c = NoticeBoard::open_shared(journal, "journal notices").unwrap();
        assert_eq!(c.notices().len(), 2);
    }

    #[test]
    fn two_boards_on_one_file_number_their_notices_in_turn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notices.jsonl");
        let (mut a, _) = NoticeBoard::open(&path).unwrap();
        let (mut b, _) = NoticeBoard::open(&path).unwrap();
        assert_eq!(a.publish("一", "r", 1, vec![entry("1")]).unwrap().id, 1);
        assert_eq!(b.publish("二", "r", 2, vec![entry("2")]).unwrap().id, 2);
        assert_eq!(a.publish("三", "r", 3, vec![entry("3")]).unwrap().id, 3);
        assert_eq!(a.notices().len(), 3);
        let (again, _) = NoticeBoard::open(&path).unwrap();
        let ids: Vec<u32> = again.notices().iter().map(|n| n.id).collect();
        assert_eq!(ids, [1, 2, 3]);
    }

    #[test]
    fn published_notices_survive_reopening_and_a_torn_tail_is_dropped() {
        use std::fs::OpenOptions;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notices.jsonl");
        let (mut board, torn) = NoticeBoard::open(&path).unwrap();
        assert_eq!(torn, None);
        board
            .publish("第一批", "regulator", 1, vec![entry("1"), entry("2")])
            .unwrap();
        board
            .publish("第二批", "regulator", 2, vec![entry("2")])
            .unwrap();
        assert_eq!(board.find("2").unwrap().0.id, 2);
        let good = std::fs::read(&path).unwrap();
        // A crash in the middle of a third notice.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"id\":3,\"title\":\"cut").unwrap();
        drop(f);
        let (board, torn) = NoticeBoard::open(&path).unwrap();
        assert_eq!(torn, Some(3));
        assert_eq!(std::fs::read(&path).unwrap(), good);
        assert_eq!(board.notices().len(), 2);
        assert_eq!(board.find("1").unwrap().0.title, "第一批");
        assert!(board.find("3").is_none());
    }

    #[test]
    fn a_corrupt_line_is_an_error_naming_it_and_nothing_is_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notices.jsonl");
        let (mut board, _) = NoticeBoard::open(&path).unwrap();
        board.publish("a", "r", 1, vec![entry("1")]).unwrap();
        let mut bytes = b"not json\n".to_vec();
        bytes.extend(std::fs::read(&path).unwrap());
        std::fs::write(&path, &bytes).unwrap();
        let e = NoticeBoard::open(&path).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn a_notice_needs_a_title_and_codes() {
        let dir = tempfile::tempdir().unwrap();
        let (mut board, _) = NoticeBoard::open(&dir.path().join("n.jsonl")).unwrap();
        assert!(board.publish(" ", "r", 1, vec![entry("1")]).is_err());
        assert!(board.publish("t", "r", 1, vec![]).is_err());
        assert!(board.notices().is_empty());
    }
}
