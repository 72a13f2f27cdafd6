//! The catalog and the directory of institutions kept where several servers share them.
//!
//! Each is the fold of a [`SharedJournal`] of imports: a record is one imported CSV file
//! and its name, applied in journal order with the same rules as an import into a file
//! (all rows or none, a conflict refuses the file). A server folds the journal when it
//! opens it and reads on with [`SharedImports::refresh`], so a catalog imported through
//! any server, or by `drugtrace catalog import` against the database, reaches every server
//! without a restart. An import is appended at the number the importer folded up to: when
//! another import got there first, the importer folds it and judges its file again, so two
//! imports can never both be accepted against a catalog that only held before the other.

use std::sync::Arc;

use drugtrace_durable::{Fold, FoldError, Folded, SharedError, SharedJournal};

use crate::{Catalog, CatalogImportError, Directory, ImportSummary};

/// What can be imported from CSV and shared: the catalog, the directory of institutions.
pub trait Imported: Clone + Default + Send + Sync + 'static {
    /// What an import says it did.
    type Summary;
    /// Imports `csv` (named `source` in errors) into `self`, all rows or none.
    fn import(&mut self, csv: &[u8], source: &str) -> Result<Self::Summary, CatalogImportError>;
}

impl Imported for Catalog {
    type Summary = ImportSummary;
    fn import(&mut self, csv: &[u8], source: &str) -> Result<ImportSummary, CatalogImportError> {
        self.import_csv(csv, source)
    }
}

impl Imported for Directory {
    /// The institutions that were new.
    type Summary = usize;
    fn import(&mut self, csv: &[u8], source: &str) -> Result<usize, CatalogImportError> {
        self.import_csv(csv, source)
    }
}

/// Why shared imports could not be read or added to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SharedImportError {
    /// The journal could not be read or written.
    #[error(transparent)]
    Shared(#[from] SharedError),
    /// The file does not import: nothing was added.
    #[error(transparent)]
    Import(#[from] CatalogImportError),
    /// A record of the journal does not read or no longer imports: the journal was written
    /// by something else, and nothing past it is applied.
    #[error("record {at} of the shared journal: {message}")]
    Corrupt {
        /// The record's number.
        at: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// Why a record does not apply: it is not an import record, or its file does not import.
#[derive(Debug)]
enum RecordError {
    NotAnImport,
    Import(CatalogImportError),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::NotAnImport => f.write_str("not an import record"),
            RecordError::Import(e) => e.fmt(f),
        }
    }
}

impl From<FoldError<RecordError>> for SharedImportError {
    fn from(e: FoldError<RecordError>) -> Self {
        match e {
            FoldError::Shared(e) => SharedImportError::Shared(e),
            FoldError::Corrupt { at, message } => SharedImportError::Corrupt { at, message },
            FoldError::Refused(RecordError::Import(e)) => SharedImportError::Import(e),
            FoldError::Refused(RecordError::NotAnImport) => SharedImportError::Corrupt {
                at: 0,
                message: "not an import record".into(),
            },
        }
    }
}

/// A record: the source's length (4 bytes, big-endian), the source, then the CSV bytes.
fn encode(source: &str, csv: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(4 + source.len() + csv.len());
    r.extend_from_slice(&(source.len() as u32).to_be_bytes());
    r.extend_from_slice(source.as_bytes());
    r.extend_from_slice(csv);
    r
}

fn decode(record: &[u8]) -> Option<(&str, &[u8])> {
    let len = u32::from_be_bytes(record.get(..4)?.try_into().ok()?) as usize;
    let source = std::str::from_utf8(record.get(4..4 + len)?).ok()?;
    Some((source, record.get(4 + len..)?))
}

/// A catalog or directory as its imports fold it, shared with whoever holds it: an import
/// copies it once, and handing it out copies nothing.
#[derive(Clone, Default)]
struct Imports<T>(Arc<T>);

impl<T: Imported> Fold for Imports<T> {
    type Applied = T::Summary;
    type Error = RecordError;
    fn apply(&mut self, record: &[u8]) -> Result<T::Summary, RecordError> {
        let (source, csv) = decode(record).ok_or(RecordError::NotAnImport)?;
        // An import is all rows or none, so a refused file leaves the value as it was.
        Arc::make_mut(&mut self.0)
            .import(csv, source)
            .map_err(RecordError::Import)
    }
}

/// A catalog or directory folded from a shared journal of imports.
#[derive(Debug)]
pub struct SharedImports<T: Imported> {
    folded: Folded<Imports<T>>,
}

impl<T: Imported> SharedImports<T> {
    /// Folds every import `journal` holds.
    pub fn open(journal: Arc<dyn SharedJournal>) -> Result<SharedImports<T>, SharedImportError> {
        Ok(SharedImports {
            folded: Folded::open(journal)?,
        })
    }

    /// What the imports folded so far make.
    pub fn current(&self) -> Arc<T> {
        Arc::clone(&self.folded.current().0)
    }

    /// How many imports are folded.
    pub fn imports(&self) -> u64 {
        self.folded.records()
    }

    /// Reads on and folds the imports other servers added; returns whether there were any.
    pub fn refresh(&self) -> Result<bool, SharedImportError> {
        Ok(self.folded.refresh()?)
    }

    /// Imports `csv` (named `source`) for every server: judged against every import before
    /// it, appended, folded here. A file that does not import adds nothing.
    pub fn import(&self, csv: &[u8], source: &str) -> Result<T::Summary, SharedImportError> {
        let (summary, _) = self.folded.append(&encode(source, csv), |_| None)?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drugtrace_durable::MemoryJournal;

    const HEADER: &str = "insurance_code,generic_name,manufacturer,units_per_pack";

    fn csv(rows: &[&str]) -> Vec<u8> {
        let mut s = String::from(HEADER);
        for r in rows {
            s.push('\n');
            s.push_str(r);
        }
        s.push('\n');
        s.into_bytes()
    }

    #[test]
    fn an_import_through_one_server_reaches_the_other() {
        let journal: Arc<dyn SharedJournal> = Arc::new(MemoryJournal::default());
        let one = SharedImports::<Catalog>::open(Arc::clone(&journal)).unwrap();
        let two = SharedImports::<Catalog>::open(Arc::clone(&journal)).unwrap();
        one.import(
            &csv(&["XL01EDA123A001010200002,阿来替尼,某药业,24"]),
            "a.csv",
        )
        .unwrap();
        assert_eq!(one.current().len(), 1);
        assert_eq!(two.current().len(), 0, "not read on yet");
        assert!(two.refresh().unwrap());
        assert_eq!(two.current().len(), 1);
        assert!(!two.refresh().unwrap(), "nothing new");
        // The second server imports after it missed nothing: both see both.
        two.import(
            &csv(&["XJ01CAA040A001010100001,阿莫西林,某药业,12"]),
            "b.csv",
        )
        .unwrap();
        one.refresh().unwrap();
        assert_eq!(one.current().len(), 2);
        // A third server opening now folds both.
        let three = SharedImports::<Catalog>::open(journal).unwrap();
        assert_eq!(three.current().len(), 2);
        assert_eq!(three.imports(), 2);
    }

    #[test]
    fn an_import_is_judged_against_the_one_that_came_first() {
        let journal: Arc<dyn SharedJournal> = Arc::new(MemoryJournal::default());
        let one = SharedImports::<Catalog>::open(Arc::clone(&journal)).unwrap();
        let two = SharedImports::<Catalog>::open(Arc::clone(&journal)).unwrap();
        one.import(
            &csv(&["XL01EDA123A001010200002,阿来替尼,某药业,24"]),
            "a.csv",
        )
        .unwrap();
        // The second server has not read the first import; the same code with other units
        // per pack conflicts with it, and is refused once it is folded.
        let refused = two
            .import(
                &csv(&["XL01EDA123A001010200002,阿来替尼,某药业,48"]),
                "b.csv",
            )
            .unwrap_err();
        assert!(matches!(refused, SharedImportError::Import(_)), "{refused}");
        assert_eq!(two.current().len(), 1, "it folded the first import");
        assert_eq!(two.imports(), 1, "and appended nothing");
        // A bad file adds nothing either.
        assert!(one.import(b"no,header\n", "bad.csv").is_err());
        assert_eq!(one.imports(), 1);
    }

    #[test]
    fn a_record_that_is_not_an_import_stops_the_fold_and_is_named() {
        let journal = Arc::new(MemoryJournal::default());
        journal.append(0, b"\x00\x00").unwrap();
        let err = SharedImports::<Directory>::open(journal).unwrap_err();
        assert!(err.to_string().starts_with("record 0 "), "{err}");
    }
}
