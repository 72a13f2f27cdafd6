//! A synthetic province generated and then imported into a ledger: the one fixture that the
//! tests of the models, the reports and the server start from (feature `built`), instead of
//! each writing its own generate-load-import sequence.
//!
//! [`Generated::new`] writes the files and loads the catalog and the institution directory
//! from them, for a test that replays the files itself (through the national interface, say);
//! [`Generated::import`] then records `events.jsonl` into a ledger over the store it is given,
//! as `drugtrace import` does, and fails if any line is refused as malformed.

use std::path::{Path, PathBuf};

use drugtrace_catalog::{Catalog, CatalogImportError, Directory};
use drugtrace_ingest::{Format, ImportError, ImportOptions, ImportSummary, ParseContext};
use drugtrace_ledger::{Ledger, PersonKey, Policy, Store};

use crate::{SynthError, SynthOptions, SynthSummary, generate};

/// Why a province could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Generating the files failed.
    #[error("generating the province: {0}")]
    Synth(#[from] SynthError),
    /// The generated catalog or directory did not load.
    #[error("loading the province's {what}: {source}")]
    Load {
        /// `catalog.csv` or `institutions.csv`.
        what: &'static str,
        /// Why.
        source: CatalogImportError,
    },
    /// Importing the events failed.
    #[error("importing the province's events: {0}")]
    Import(#[from] ImportError),
    /// Some lines of the generated events were not events: the generator and the reader
    /// disagree.
    #[error("{bad} line(s) of the province's events were refused; see {rejects}")]
    BadLines {
        /// How many.
        bad: u64,
        /// The reject file.
        rejects: PathBuf,
    },
}

/// A province's files, with the catalog and the institution directory loaded from them.
#[derive(Debug)]
pub struct Generated {
    /// The directory the files are in ([`SynthOptions::out`]).
    pub out: PathBuf,
    /// What [`generate`] said it wrote.
    pub summary: SynthSummary,
    /// `catalog.csv`.
    pub catalog: Catalog,
    /// `institutions.csv`.
    pub directory: Directory,
}

impl Generated {
    /// Generates the province `opts` describes and loads its catalog and directory.
    pub fn new(opts: &SynthOptions) -> Result<Generated, BuildError> {
        let summary = generate(opts)?;
        let out = opts.out.clone();
        let catalog = Catalog::load_csv_file(&out.join("catalog.csv")).map_err(|source| {
            BuildError::Load {
                what: "catalog.csv",
                source,
            }
        })?;
        let directory =
            Directory::load_csv_file(&out.join("institutions.csv")).map_err(|source| {
                BuildError::Load {
                    what: "institutions.csv",
                    source,
                }
            })?;
        Ok(Generated {
            out,
            summary,
            catalog,
            directory,
        })
    }

    /// A file of the province, such as `events.jsonl` or `truth.jsonl`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.out.join(name)
    }

    /// Records `events.jsonl` into a ledger over `store` (the catalog loaded, the default
    /// policy, persons hashed under `person_key`, times read at UTC+8), in batches of 5,000
    /// events; bad lines would go to `rejects`, and any is an error.
    pub fn import<S: Store + Sync>(
        self,
        store: S,
        person_key: PersonKey,
        rejects: &Path,
    ) -> Result<Built<S>, BuildError> {
        let ledger = Ledger::new(store, self.catalog.clone(), Policy::default());
        let import = drugtrace_ingest::import_file(
            &ledger,
            &self.file("events.jsonl"),
            ParseContext {
                person_key,
                local_offset_minutes: 480,
            },
            &ImportOptions {
                format: Format::JsonLines,
                batch: 5_000,
                rejects: rejects.to_path_buf(),
            },
            |_| {},
        )?;
        if import.bad_lines > 0 {
            return Err(BuildError::BadLines {
                bad: import.bad_lines,
                rejects: rejects.to_path_buf(),
            });
        }
        Ok(Built {
            generated: self,
            ledger,
            import,
        })
    }
}

/// A province imported into a ledger.
pub struct Built<S> {
    /// Its files, catalog and directory.
    pub generated: Generated,
    /// The ledger holding its events.
    pub ledger: Ledger<S>,
    /// What the import recorded.
    pub import: ImportSummary,
}
