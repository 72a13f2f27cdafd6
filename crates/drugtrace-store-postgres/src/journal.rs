//! Shared journals (the keys, the clue book, the notices) in the table `drugtrace_journals`,
//! one row per record: `(journal, seq)` is the key, so two servers appending the same number
//! cannot both succeed, and an append is taken only at the journal's end.

use std::sync::Arc;

use drugtrace_durable::{SharedError, SharedJournal};

use crate::{PostgresStore, lost};

/// One shared journal of a PostgreSQL database (see [`PostgresStore::journal`]).
#[derive(Debug, Clone)]
pub struct PgJournal {
    store: Arc<PostgresStore>,
    name: String,
}

impl PgJournal {
    pub(crate) fn new(store: Arc<PostgresStore>, name: &str) -> PgJournal {
        PgJournal {
            store,
            name: name.to_owned(),
        }
    }

    /// Whether record `at` holds `record`, read back (`PostgresStore::read_back`) after an
    /// append whose answer was lost: `Some(true)` it does (the append happened),
    /// `Some(false)` another record is there, `None` there is none (the append did not
    /// happen).
    fn settle(&self, at: i64, record: &[u8]) -> Result<Option<bool>, SharedError> {
        let row = self
            .store
            .read_back(|c| {
                c.query_opt(
                    "SELECT record FROM drugtrace_journals WHERE journal = $1 AND seq = $2",
                    &[&self.name, &at],
                )
            })
            .map_err(|e| {
                SharedError::Unavailable(format!(
                    "whether record {at} of journal {} was written is unknown: {e}",
                    self.name
                ))
            })?;
        Ok(row.map(|r| r.get::<_, &[u8]>(0) == record))
    }
}

fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SharedJournal for PgJournal {
    fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>, SharedError> {
        let from = seq(from);
        let rows = self
            .store
            .with_conn(|c| {
                c.query(
                    "SELECT record FROM drugtrace_journals WHERE journal = $1 AND seq >= $2 \
                     ORDER BY seq",
                    &[&self.name, &from],
                )
            })
            .map_err(|e| SharedError::Unavailable(e.to_string()))?;
        Ok(rows.iter().map(|r| r.get::<_, Vec<u8>>(0)).collect())
    }

    fn append(&self, at: u64, record: &[u8]) -> Result<(), SharedError> {
        let at = seq(at);
        let mut c = self
            .store
            .conn()
            .map_err(|e| SharedError::Unavailable(e.to_string()))?;
        // Taken only at the end: a number already there conflicts, one past the end finds
        // the `WHERE` false; either way nothing is written.
        let inserted = c.execute(
            "INSERT INTO drugtrace_journals (journal, seq, record) \
             SELECT $1, $2, $3 \
             WHERE $2 = COALESCE((SELECT max(seq) + 1 FROM drugtrace_journals WHERE journal = $1), 0) \
             ON CONFLICT (journal, seq) DO NOTHING",
            &[&self.name, &at, &record],
        );
        match inserted {
            Ok(1) => Ok(()),
            Ok(_) => Err(SharedError::Stale { at: at as u64 }),
            Err(e) if lost(&e) => {
                c.discard();
                match self.settle(at, record)? {
                    Some(true) => Ok(()),
                    Some(false) => Err(SharedError::Stale { at: at as u64 }),
                    None => Err(SharedError::Unavailable(format!(
                        "record {at} of journal {} was not written: {}",
                        self.name,
                        crate::describe(&e)
                    ))),
                }
            }
            Err(e) => Err(SharedError::Unavailable(format!(
                "appending to journal {}: {}",
                self.name,
                crate::describe(&e)
            ))),
        }
    }
}
