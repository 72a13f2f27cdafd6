//! The pack ledger on PostgreSQL: several `drugtrace serve` processes on one database, and a
//! database that can be replicated with automatic failover (Patroni) or distributed (Citus,
//! YugabyteDB) without the ledger knowing.
//!
//! # Tables
//! Values are `drugtrace-codec`'s bytes, the same the embedded store keeps, and the pack
//! column holds the codec's length-prefixed pack key, whose byte order is the packs' order.
//!
//! | table | key | holds |
//! |---|---|---|
//! | `drugtrace_packs` | `pack` | `version` (events in the log) and `state`; pages filled to 80 %, so that a pack's next state can take its old one's page (a HOT update: no new index entry) |
//! | `drugtrace_events` | `(pack, idx)` | each recorded event |
//! | `drugtrace_lookups` | `(lookup, pack)` | the index ([`Lookup`]) |
//! | `drugtrace_movements` | `id` | the movements without trace codes |
//! | `drugtrace_movement_uploads` | `(batch, id)` | which movements an institution sent in a batch ([`codec::movement_upload_prefix`]) |
//! | `drugtrace_movement_voids` | `id` | the voids of movements (3507) |
//! | `drugtrace_meta` | `name` | what an older database has been brought up to |
//! | `drugtrace_secrets` | `name` | the installation's secrets every server must share (the person-hash key) |
//! | `drugtrace_journals` | `(journal, seq)` | the shared journals ([`journal::PgJournal`]: keys, clue book, notices), one row per record |
//!
//! # A commit is one transaction
//! A gate's group is one statement, sent and answered in one round trip, which PostgreSQL
//! runs as a transaction of its own ([`COMMIT_GROUP`]: data-modifying `WITH` clauses). Each
//! pack's state row is written only if its version is still the one the ledger judged
//! against (`UPDATE … FROM UNNEST(…) WHERE version = expected`, and `INSERT … ON CONFLICT DO
//! NOTHING` for new packs, each `RETURNING` the packs it wrote); the events go in with the
//! pack of their written state row, so an event of a pack that moved has no pack and is
//! refused by the table (`NOT NULL`), as is an event at an index another commit already
//! took (the events' primary key). Either refusal fails the whole statement, so a conflict
//! writes nothing; the packs that moved are then read and named. The index entries go in
//! the same statement: those not stored yet, picked with `NOT EXISTS`, since `ON CONFLICT
//! DO NOTHING` costs a second write-ahead log record a row (on a database with the Citus
//! extension, which has not taken subqueries in `INSERT`, `ON CONFLICT` all the same). It
//! returns once the server has made it durable (the default `synchronous_commit`; with
//! Patroni's synchronous mode, on a replica too).
//!
//! A commit of many events (an import's batch) is a transaction of several statements
//! instead: the state rows as above, each statement's `RETURNING` naming what moved (then
//! rolled back), the events streamed in with `COPY … FROM STDIN BINARY` (Citus and YugabyteDB
//! take `COPY` into distributed tables too), the index entries, then `COMMIT`. A deadlock or
//! serialization failure between two commits is reported as a conflict on their packs, which
//! the ledger judges again.
//!
//! The statements a request runs (a commit's, the reads of packs, logs and lookups) are
//! prepared once per connection and kept with it: an unprepared statement is parsed and
//! planned on every call and costs a round trip more (a parse, then an execution). So a
//! connection pooler between the servers and the database must keep each client's prepared
//! statements: session pooling, or PgBouncer 1.21 or later with `max_prepared_statements`
//! set; PgBouncer's transaction pooling without it fails the second statement.
//!
//! A writer keeps up to eight commits in flight at once ([`Store::commits_in_flight`]; the
//! gate's batcher does): on a cluster each waits for a synchronous replica's fsync, and
//! overlapped they keep one slow commit from holding up the rest. With the batcher's small
//! groups waiting for more while one is in flight, eight ran the gate 1.20× faster than
//! four without that wait, with a lower p99 (`BENCHMARKS.md`, "Small groups wait for more").
//! `DRUGTRACE_PG_COMMITS_IN_FLIGHT` (1 to 16) sets another number, 1 one commit at a time.
//!
//! # The SQL subset
//! `CREATE TABLE IF NOT EXISTS` with primary keys, `INSERT … ON CONFLICT … RETURNING`,
//! `UPDATE … FROM UNNEST(…) … RETURNING` joined on the primary key, `SELECT … ORDER BY …
//! LIMIT`, `UNNEST` of arrays, `COPY`, no triggers, no sequences, no cross-table foreign
//! keys; the group commit's data-modifying `WITH`, whose sub-statements touch the packs
//! table, the events table (colocated with it by pack) and the lookups table; the index
//! entries' `INSERT … SELECT … WHERE NOT EXISTS`, a subquery on the lookups table; and, for
//! forgetting old change marks, `DELETE … WHERE lookup = $1` (one shard's on Citus) and a
//! range `SELECT … WHERE lookup >= $1 AND lookup < $2 ORDER BY lookup LIMIT 1`, which on
//! Citus asks every shard of the lookups table.
//! YugabyteDB runs PostgreSQL's query layer, `WITH` and subqueries included. Citus plans a
//! statement across shards in steps; its documentation has listed modifying `WITH` clauses
//! among its limits in older versions, and lists subqueries in `INSERT` among them now. So
//! on a database with the Citus extension the store inserts the index entries with `ON
//! CONFLICT DO NOTHING` instead (the shared suite runs that form on plain PostgreSQL too).
//! Neither Citus nor YugabyteDB was available to verify here (issue 14). On Citus, distribute
//! and colocate by pack:
//!
//! ```sql
//! SELECT create_distributed_table('drugtrace_packs', 'pack');
//! SELECT create_distributed_table('drugtrace_events', 'pack', colocate_with => 'drugtrace_packs');
//! SELECT create_distributed_table('drugtrace_lookups', 'lookup');
//! SELECT create_distributed_table('drugtrace_movements', 'id');
//! SELECT create_distributed_table('drugtrace_movement_voids', 'id', colocate_with => 'drugtrace_movements');
//! SELECT create_distributed_table('drugtrace_movement_uploads', 'batch');
//! SELECT create_reference_table('drugtrace_meta');
//! SELECT create_reference_table('drugtrace_secrets');
//! SELECT create_distributed_table('drugtrace_journals', 'journal');
//! ```
//!
//! A journal's append (`INSERT … SELECT … WHERE` its number is the journal's next, read by a
//! subquery on the same journal) filters on the distribution column, so it stays on one shard.
//!
//! On YugabyteDB the primary keys above are hash-sharded on their first column by default
//! (`pack`, `lookup`, `id`, `batch`, `journal`), which is the same layout.
//!
//! # A lost answer is settled, never guessed
//! When the connection drops during a commit (a failover, a network cut), the commit may
//! have happened or not. The store then reads back what it wrote, on a new connection (which
//! finds the new leader when the connection string names every host with
//! `target_session_attrs=read-write`), retrying for up to 30 s: the first event it appended
//! is there with the exact bytes it sent (its `recorded_at` makes them unique) if and only
//! if the commit happened, since a commit is atomic. Committed: the commit succeeds, and is
//! acknowledged once. Not committed: it is reported as a conflict on its packs, which the
//! ledger judges again against what is there now (so a sale that another server made
//! meanwhile is not made twice). Unreadable for 30 s: a storage failure whose message says
//! that the outcome is unknown, which the API answers as a retryable 503, never as a
//! decision.

pub mod journal;
mod pool;
#[cfg(feature = "testing")]
pub mod testing;

use std::time::{Duration, Instant};

use drugtrace_code::PackKey;
use drugtrace_codec as codec;
use drugtrace_ledger::{
    ChangeMark, CommitError, InstitutionId, LogRuns, Lookup, Movement, MovementId, MovementVoid,
    PackState, PackWrite, Recorded, Store, StoreError, UploadId,
};
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, Config, NoTls, Statement};

/// Rows fetched at a time by the scans.
const SCAN_ROWS: i32 = 10_000;

/// Connections a store opens at most; a caller beyond them waits for one to be given back
/// (up to [`POOL_WAIT`]). Opening a connection per request under load costs more than the
/// request: the patient query at 64 connections ran at 717/s that way, on the 3-node cluster.
const CONNECTIONS: usize = 32;
/// Commits a writer keeps in flight at once ([`Store::commits_in_flight`]) unless
/// `DRUGTRACE_PG_COMMITS_IN_FLIGHT` says otherwise (1 commits one group at a time).
const COMMITS_IN_FLIGHT: usize = 8;
/// The environment variable that sets the commits in flight.
const COMMITS_IN_FLIGHT_VAR: &str = "DRUGTRACE_PG_COMMITS_IN_FLIGHT";
/// At most this many: each one holds a connection of the pool while it commits.
const MAX_COMMITS_IN_FLIGHT: usize = 16;

/// How long a caller waits for a connection when all are in use before it is answered
/// unavailable.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// How long a commit whose answer was lost keeps trying to read back what it wrote.
const SETTLE_FOR: Duration = Duration::from_secs(30);

/// The schema, created when missing. Taken under an advisory lock, so that servers starting
/// together do not race on it.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS drugtrace_packs (
    pack bytea PRIMARY KEY,
    version integer NOT NULL,
    state bytea NOT NULL
) WITH (fillfactor = 80);
CREATE TABLE IF NOT EXISTS drugtrace_events (
    pack bytea NOT NULL,
    idx integer NOT NULL,
    recorded bytea NOT NULL,
    PRIMARY KEY (pack, idx)
);
CREATE TABLE IF NOT EXISTS drugtrace_lookups (
    lookup bytea NOT NULL,
    pack bytea NOT NULL,
    PRIMARY KEY (lookup, pack)
);
CREATE TABLE IF NOT EXISTS drugtrace_movements (
    id bytea PRIMARY KEY,
    movement bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS drugtrace_movement_uploads (
    batch bytea NOT NULL,
    id bytea NOT NULL,
    PRIMARY KEY (batch, id)
);
CREATE TABLE IF NOT EXISTS drugtrace_movement_voids (
    id bytea PRIMARY KEY,
    void bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS drugtrace_meta (
    name text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS drugtrace_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS drugtrace_journals (
    journal text NOT NULL,
    seq bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (journal, seq)
);
";

/// An arbitrary constant naming the schema's advisory lock.
const SCHEMA_LOCK: i64 = 0x6472_7567_7472_6163;

/// The ledger's packs in a PostgreSQL database.
pub struct PostgresStore {
    config: Config,
    /// Commits a writer keeps in flight at once ([`Store::commits_in_flight`]).
    in_flight: usize,
    /// How a commit's index entries go in.
    entries: Entries,
    pool: pool::Pool<Session>,
}

/// How a commit's index entries go in: those not stored yet with a plain insertion, or all
/// of them with `ON CONFLICT DO NOTHING`, whose speculative insertion costs a second
/// write-ahead log record a row but needs no subquery. Citus has not supported subqueries
/// in `INSERT` (its documentation lists them among its limits), so a database with the
/// Citus extension gets the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entries {
    Missing,
    OnConflict,
}

impl Entries {
    /// A gate's group commit in this form.
    fn commit_group(self) -> &'static str {
        match self {
            Entries::Missing => COMMIT_GROUP,
            Entries::OnConflict => COMMIT_GROUP_ON_CONFLICT,
        }
    }

    /// A transaction's insertion of its index entries in this form.
    fn insert_lookups(self) -> &'static str {
        match self {
            Entries::Missing => INSERT_NEW_LOOKUPS,
            Entries::OnConflict => INSERT_LOOKUPS,
        }
    }
}

/// A connection and the statements prepared on it. A statement the store runs often is
/// parsed and planned once per connection ([`Session::prepared`]) instead of once per call,
/// which also saves a round trip per call: an unprepared query is a parse, then an execute.
pub(crate) struct Session {
    client: Client,
    prepared: std::collections::HashMap<&'static str, Statement>,
}

impl Session {
    /// `sql` prepared on this connection, once.
    pub(crate) fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }
}

impl std::ops::Deref for Session {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

fn backend(e: postgres::Error) -> StoreError {
    if lost(&e) {
        StoreError::Unavailable(format!("PostgreSQL: {}", describe(&e)))
    } else {
        StoreError::Backend(format!("PostgreSQL: {}", describe(&e)))
    }
}

/// What went wrong, in full: the server's own message for an error it sent (the client's
/// `Display` says only "db error"), else the client's words and their causes ("error
/// connecting to server: Connection refused").
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
        if let Some(detail) = db.detail() {
            s.push_str("; ");
            s.push_str(detail);
        }
        if let Some(hint) = db.hint() {
            s.push_str("; hint: ");
            s.push_str(hint);
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

impl Drop for PostgresStore {
    /// The synchronous client closes a connection by blocking on its own runtime, which
    /// panics on a thread that drives async tasks (a server's, when it shuts down): the
    /// idle connections are closed on a thread of their own.
    fn drop(&mut self) {
        let idle = self.pool.drain_idle();
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

/// A connection borrowed from the store, given back when dropped (unless it broke).
struct Conn<'a> {
    store: &'a PostgresStore,
    client: Option<Session>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.client.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.client.as_mut().expect("held until dropped")
    }
}

impl Conn<'_> {
    /// Closes the connection instead of giving it back: it broke.
    fn discard(mut self) {
        drop(self.client.take());
        self.store.pool.closed();
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(c) = self.client.take() else {
            return;
        };
        if c.is_closed() {
            drop(c);
            self.store.pool.closed();
        } else {
            self.store.pool.give_back(c);
        }
    }
}

impl PostgresStore {
    /// Connects to the database named by a libpq connection string (`host=… port=… user=…
    /// dbname=…`, or a `postgresql://` URL; several hosts with
    /// `target_session_attrs=read-write` find a cluster's leader) and creates the tables
    /// if they are missing.
    pub fn connect(conninfo: &str) -> Result<PostgresStore, StoreError> {
        let mut config: Config = conninfo.parse().map_err(|e: postgres::Error| {
            StoreError::Backend(format!(
                "the PostgreSQL connection string: {}",
                describe(&e)
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let in_flight = match std::env::var(COMMITS_IN_FLIGHT_VAR) {
            Err(_) => COMMITS_IN_FLIGHT,
            Ok(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_COMMITS_IN_FLIGHT).contains(n))
                .ok_or_else(|| {
                    StoreError::Backend(format!(
                        "{COMMITS_IN_FLIGHT_VAR}={v:?}: a number of commits from 1 to {MAX_COMMITS_IN_FLIGHT}"
                    ))
                })?,
        };
        let mut store = PostgresStore {
            config,
            in_flight,
            entries: Entries::Missing,
            pool: pool::Pool::new(CONNECTIONS),
        };
        let mut c = store.conn()?;
        let mut tx = c.transaction().map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(backend)?;
        // "relation already exists, skipping" on every start is not news.
        tx.batch_execute("SET LOCAL client_min_messages = warning")
            .map_err(backend)?;
        tx.batch_execute(SCHEMA).map_err(backend)?;
        index_older_movements(&mut tx).map_err(backend)?;
        let citus: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')",
                &[],
            )
            .map_err(backend)?
            .get(0);
        tx.commit().map_err(backend)?;
        drop(c);
        if citus {
            store.entries = Entries::OnConflict;
        }
        Ok(store)
    }

    /// The store with the statements it uses on a database with the Citus extension,
    /// whatever the database: so that they are tested on plain PostgreSQL too.
    #[doc(hidden)]
    pub fn with_citus_statements(mut self) -> PostgresStore {
        self.entries = Entries::OnConflict;
        self
    }

    /// The shared journal `name` (`keys`, `clues`, `notices`) kept in this database, for
    /// every server on it.
    pub fn journal(self: &std::sync::Arc<Self>, name: &str) -> journal::PgJournal {
        journal::PgJournal::new(std::sync::Arc::clone(self), name)
    }

    fn conn(&self) -> Result<Conn<'_>, StoreError> {
        // A connection that broke while idle (a restarted server) is not handed out.
        match self.pool.take(POOL_WAIT, |c| !c.is_closed()) {
            Some(pool::Got::Idle(client)) => Ok(Conn {
                store: self,
                client: Some(client),
            }),
            Some(pool::Got::Open) => match self.config.connect(NoTls) {
                Ok(client) => Ok(Conn {
                    store: self,
                    client: Some(Session {
                        client,
                        prepared: std::collections::HashMap::new(),
                    }),
                }),
                Err(e) => {
                    self.pool.closed();
                    Err(backend(e))
                }
            },
            None => Err(StoreError::Unavailable(format!(
                "all {CONNECTIONS} connections to PostgreSQL stayed busy for {} s",
                POOL_WAIT.as_secs()
            ))),
        }
    }

    /// The installation's secret `name`, which every server on this database must use: the
    /// one stored, or `proposed`, stored now, when there is none yet (the first server to
    /// ask decides, also when several ask at once).
    pub fn shared_secret(&self, name: &str, proposed: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.with_conn(|c| {
            c.execute(
                "INSERT INTO drugtrace_secrets (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &proposed],
            )?;
            let row = c.query_one(
                "SELECT value FROM drugtrace_secrets WHERE name = $1",
                &[&name],
            )?;
            Ok(row.get::<_, Vec<u8>>(0))
        })
    }

    /// Runs `f` on a connection; when the connection turns out to be lost (a restarted or
    /// failed-over server), once more on a new one. Only for operations that may run twice.
    pub(crate) fn with_conn<T>(
        &self,
        f: impl Fn(&mut Session) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut c = self.conn()?;
        match f(&mut c) {
            Err(e) if lost(&e) => {
                c.discard();
                let mut c = self.conn()?;
                f(&mut c).map_err(backend)
            }
            other => other.map_err(backend),
        }
    }

    /// Runs `query` (one `bytea` parameter) page by page in one transaction, handing each
    /// row's columns to `visit`.
    fn scan(
        &self,
        query: &str,
        visit: &mut dyn FnMut(&postgres::Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(backend)?;
        let portal = tx.bind(query, &[]).map_err(backend)?;
        loop {
            let rows = tx.query_portal(&portal, SCAN_ROWS).map_err(backend)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                visit(row)?;
            }
        }
        tx.commit().map_err(backend)
    }

    fn try_commit(
        c: &mut Session,
        writes: &[PackWrite],
        entries: Entries,
    ) -> Result<Result<(), Vec<PackKey>>, postgres::Error> {
        let events: usize = writes.iter().map(|w| w.events.len()).sum();
        if events >= COPY_EVENTS || writes.iter().any(|w| w.events.is_empty()) {
            return Self::commit_in_transaction(c, writes, events >= COPY_EVENTS, entries);
        }
        // A gate's group: one statement, one round trip, committed on its own. A pack that
        // moved makes it fail and write nothing; which packs moved is read after.
        let packs = stored_keys(writes);
        let states = StateRows::of(writes, &packs);
        let rows = EventRows::of(writes, &packs);
        let commit = c.prepared(entries.commit_group())?;
        let sent = c.execute(
            &commit,
            &[
                &states.new_packs,
                &states.new_versions,
                &states.new_states,
                &states.packs,
                &states.versions,
                &states.states,
                &states.expected,
                &rows.event_packs,
                &rows.idxs,
                &rows.recs,
                &rows.lookups,
                &rows.lookup_packs,
            ],
        );
        match sent {
            Ok(_) => Ok(Ok(())),
            Err(e) if moved(&e) => Ok(Err(Self::moved_packs(c, &states)?)),
            Err(e) => Err(e),
        }
    }

    /// A commit as a transaction of several statements: for a bulk load (`bulk`), whose
    /// events are streamed in with `COPY`, and for writes without events, which
    /// [`COMMIT_GROUP`]'s check (the events' key and their packs' written states) would not
    /// cover.
    fn commit_in_transaction(
        c: &mut Session,
        writes: &[PackWrite],
        bulk: bool,
        entries: Entries,
    ) -> Result<Result<(), Vec<PackKey>>, postgres::Error> {
        // Prepared before the transaction begins, so that a commit is a `BEGIN`, four
        // executions and a `COMMIT` once the connection has run one.
        let insert_new = c.prepared(INSERT_NEW_PACKS)?;
        let update = c.prepared(UPDATE_PACKS)?;
        let insert_events = c.prepared(INSERT_EVENTS)?;
        let insert_lookups = c.prepared(entries.insert_lookups())?;
        let packs = stored_keys(writes);
        std::thread::scope(|scope| {
            // A bulk load's events and index entries are encoded on another core while the
            // state rows go in: encoding 20,000 events takes about as long as those
            // statements.
            let encoding = bulk.then(|| scope.spawn(|| EventRows::of(writes, &packs)));
            let states = StateRows::of(writes, &packs);
            let mut tx = c.transaction()?;
            // The state rows, in two statements whatever the number of packs: new packs
            // inserted if absent, known ones updated at the version judged against. Each
            // returns the packs it wrote; the others moved on.
            let mut written: std::collections::HashSet<Vec<u8>, foldhash::fast::RandomState> =
                std::collections::HashSet::with_capacity_and_hasher(
                    states.judged.len(),
                    Default::default(),
                );
            if !states.new_packs.is_empty() {
                for row in tx.query(
                    &insert_new,
                    &[&states.new_packs, &states.new_versions, &states.new_states],
                )? {
                    written.insert(row.get::<_, Vec<u8>>(0));
                }
            }
            if !states.packs.is_empty() {
                for row in tx.query(
                    &update,
                    &[
                        &states.packs,
                        &states.versions,
                        &states.states,
                        &states.expected,
                    ],
                )? {
                    written.insert(row.get::<_, Vec<u8>>(0));
                }
            }
            let moved: Vec<PackKey> = states
                .judged
                .iter()
                .filter(|j| !written.contains(&j.pack))
                .map(|j| j.key)
                .collect();
            if !moved.is_empty() {
                tx.rollback()?;
                return Ok(Err(moved));
            }
            let rows = match encoding {
                Some(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => EventRows::of(writes, &packs),
            };
            if bulk {
                // A bulk load's events are streamed in (`COPY … FROM STDIN BINARY`), which
                // PostgreSQL takes faster than the same rows as arrays to unnest.
                let mut copy = postgres::binary_copy::BinaryCopyInWriter::new(
                    tx.copy_in("COPY drugtrace_events (pack, idx, recorded) FROM STDIN BINARY")?,
                    &[Type::BYTEA, Type::INT4, Type::BYTEA],
                );
                for ((pack, idx), rec) in rows.event_packs.iter().zip(&rows.idxs).zip(&rows.recs) {
                    copy.write(&[pack, idx, rec])?;
                }
                copy.finish()?;
            } else if !rows.recs.is_empty() {
                tx.execute(&insert_events, &[&rows.event_packs, &rows.idxs, &rows.recs])?;
            }
            if !rows.lookups.is_empty() {
                tx.execute(&insert_lookups, &[&rows.lookups, &rows.lookup_packs])?;
            }
            tx.commit()?;
            Ok(Ok(()))
        })
    }

    /// The packs of a commit whose stored version is no longer the one judged against,
    /// after [`COMMIT_GROUP`] failed on one: all of them when none has moved by now (the
    /// writer that got in the way rolled back), so that the ledger judges them again.
    fn moved_packs(c: &mut Session, rows: &StateRows) -> Result<Vec<PackKey>, postgres::Error> {
        let wanted: Vec<&[u8]> = rows.judged.iter().map(|j| j.pack.as_slice()).collect();
        let q = c.prepared("SELECT pack, version FROM drugtrace_packs WHERE pack = ANY($1)")?;
        let versions: std::collections::HashMap<Vec<u8>, i32> = c
            .query(&q, &[&wanted])?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let moved: Vec<PackKey> = rows
            .judged
            .iter()
            .filter(|j| versions.get(&j.pack).copied().unwrap_or(0) != j.expected)
            .map(|j| j.key)
            .collect();
        Ok(if moved.is_empty() {
            rows.judged.iter().map(|j| j.key).collect()
        } else {
            moved
        })
    }
}

/// Each write's pack as stored (the key's bytes).
fn stored_keys(writes: &[PackWrite]) -> Vec<Vec<u8>> {
    writes.iter().map(|w| codec::pack_prefix(&w.key)).collect()
}

/// A commit's state rows as the arrays its statements take.
struct StateRows {
    /// Each write's pack, as judged.
    judged: Vec<Judged>,
    new_packs: Vec<Vec<u8>>,
    new_versions: Vec<i32>,
    new_states: Vec<Vec<u8>>,
    packs: Vec<Vec<u8>>,
    versions: Vec<i32>,
    states: Vec<Vec<u8>>,
    expected: Vec<i32>,
}

/// A pack of a commit: its key, its key as stored, and the version it was judged against.
struct Judged {
    key: PackKey,
    pack: Vec<u8>,
    expected: i32,
}

impl StateRows {
    /// The rows of `writes`, whose packs are stored as `packs`.
    fn of(writes: &[PackWrite], packs: &[Vec<u8>]) -> StateRows {
        let mut rows = StateRows {
            judged: Vec::with_capacity(writes.len()),
            new_packs: Vec::new(),
            new_versions: Vec::new(),
            new_states: Vec::new(),
            packs: Vec::new(),
            versions: Vec::new(),
            states: Vec::new(),
            expected: Vec::new(),
        };
        for (w, pack) in writes.iter().zip(packs) {
            let state = codec::encode_state(&w.state);
            let version = i32::try_from(w.state.events).unwrap_or(i32::MAX);
            let expected = i32::try_from(w.expected).unwrap_or(i32::MAX);
            // A new pack is inserted if absent; a known one updated at the version judged
            // against.
            if expected == 0 {
                rows.new_packs.push(pack.clone());
                rows.new_versions.push(version);
                rows.new_states.push(state);
            } else {
                rows.packs.push(pack.clone());
                rows.versions.push(version);
                rows.states.push(state);
                rows.expected.push(expected);
            }
            rows.judged.push(Judged {
                key: w.key,
                pack: pack.clone(),
                expected,
            });
        }
        rows
    }
}

/// A commit's events and index entries as the arrays its statements take.
struct EventRows {
    event_packs: Vec<Vec<u8>>,
    idxs: Vec<i32>,
    recs: Vec<Vec<u8>>,
    lookups: Vec<Vec<u8>>,
    lookup_packs: Vec<Vec<u8>>,
}

impl EventRows {
    /// The rows of `writes`, whose packs are stored as `packs`.
    fn of(writes: &[PackWrite], packs: &[Vec<u8>]) -> EventRows {
        let events = writes.iter().map(|w| w.events.len()).sum();
        let mut rows = EventRows {
            event_packs: Vec::with_capacity(events),
            idxs: Vec::with_capacity(events),
            recs: Vec::with_capacity(events),
            lookups: Vec::new(),
            lookup_packs: Vec::new(),
        };
        for (w, pack) in writes.iter().zip(packs) {
            // A pack's events often share index entries (its change mark of the minute, its
            // upload batch): each goes in once.
            let mut entries: std::collections::HashSet<Vec<u8>, foldhash::fast::RandomState> =
                Default::default();
            for r in &w.events {
                rows.event_packs.push(pack.clone());
                rows.idxs.push(i32::try_from(r.index).unwrap_or(i32::MAX));
                rows.recs.push(codec::encode_recorded(r));
                for l in Lookup::of(&w.key, r) {
                    let l = l.key();
                    if entries.insert(l.clone()) {
                        rows.lookups.push(l);
                        rows.lookup_packs.push(pack.clone());
                    }
                }
            }
        }
        rows
    }
}

/// Whether [`COMMIT_GROUP`] failed because a pack moved: an event already stored at an
/// index it appends at, or an event of a pack whose state row it did not write.
fn moved(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::NOT_NULL_VIOLATION
    )
}

/// Events from which a commit streams its events in with `COPY` instead of one `INSERT`.
const COPY_EVENTS: usize = 1_000;

/// A commit's statements (see [`PostgresStore::try_commit`]).
const INSERT_NEW_PACKS: &str = "INSERT INTO drugtrace_packs (pack, version, state) \
     SELECT * FROM UNNEST($1::bytea[], $2::integer[], $3::bytea[]) \
     ON CONFLICT (pack) DO NOTHING RETURNING pack";
const UPDATE_PACKS: &str = "UPDATE drugtrace_packs AS p SET version = u.version, state = u.state \
     FROM UNNEST($1::bytea[], $2::integer[], $3::bytea[], $4::integer[]) \
         AS u(pack, version, state, expected) \
     WHERE p.pack = u.pack AND p.version = u.expected RETURNING p.pack";
const INSERT_EVENTS: &str = "INSERT INTO drugtrace_events (pack, idx, recorded) \
     SELECT * FROM UNNEST($1::bytea[], $2::integer[], $3::bytea[])";
/// A transaction's index entries, those not stored yet. The transaction holds the row
/// locks of every pack they are of (it wrote their states first), so no commit that has not
/// finished can be adding the same entries: a plain insertion of those missing is enough,
/// without `ON CONFLICT`'s speculative insertion, which costs a second write-ahead log
/// record a row. Should one collide anyway, the unique violation is a conflict, and the
/// commit is judged and made again.
const INSERT_NEW_LOOKUPS: &str = "INSERT INTO drugtrace_lookups (lookup, pack) \
     SELECT n.lookup, n.pack FROM UNNEST($1::bytea[], $2::bytea[]) AS n(lookup, pack) \
     WHERE NOT EXISTS (SELECT 1 FROM drugtrace_lookups AS l \
         WHERE l.lookup = n.lookup AND l.pack = n.pack)";
/// A transaction's index entries, all of them, with those stored already skipped: the
/// form for Citus ([`Entries::OnConflict`]).
const INSERT_LOOKUPS: &str = "INSERT INTO drugtrace_lookups (lookup, pack) \
     SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) ON CONFLICT DO NOTHING";

/// [`COMMIT_GROUP`] with its clause inserting the index entries (parameters 11 and 12).
macro_rules! commit_group {
    ($lookups:literal) => {
        concat!(
            "WITH new AS (\
                 INSERT INTO drugtrace_packs (pack, version, state) \
                 SELECT * FROM UNNEST($1::bytea[], $2::integer[], $3::bytea[]) \
                 ON CONFLICT (pack) DO NOTHING RETURNING pack), \
             known AS (\
                 UPDATE drugtrace_packs AS p SET version = u.version, state = u.state \
                 FROM UNNEST($4::bytea[], $5::integer[], $6::bytea[], $7::integer[]) \
                     AS u(pack, version, state, expected) \
                 WHERE p.pack = u.pack AND p.version = u.expected RETURNING p.pack), \
             written AS (SELECT pack FROM new UNION ALL SELECT pack FROM known), \
             lookups AS (",
            $lookups,
            ") \
             INSERT INTO drugtrace_events (pack, idx, recorded) \
             SELECT w.pack, e.idx, e.recorded \
             FROM UNNEST($8::bytea[], $9::integer[], $10::bytea[]) AS e(pack, idx, recorded) \
             LEFT JOIN written AS w ON w.pack = e.pack"
        )
    };
}

/// A commit of writes that each append events, in one statement (PostgreSQL runs a
/// statement outside a transaction block as a transaction of its own). New packs are
/// inserted if absent and known ones updated at the version judged against, as in
/// [`INSERT_NEW_PACKS`] and [`UPDATE_PACKS`]; the events are inserted with the pack of the
/// state row that was written, so an event of a pack not written (one that moved) has no
/// pack, which the table refuses (`NOT NULL`); and an event at an index another commit
/// took is refused by the events' key (a commit appends from the version it judged
/// against). Either failure is the whole statement's: nothing of the commit is written.
/// The index entries not stored yet go in as in [`INSERT_NEW_LOOKUPS`]. One that another
/// commit stored after this statement's snapshot was taken is a unique violation, which
/// fails the statement too, and the packs that moved are read as for the other two
/// (all of them judged again when none has).
const COMMIT_GROUP: &str = commit_group!(
    "INSERT INTO drugtrace_lookups (lookup, pack) \
     SELECT n.lookup, n.pack FROM UNNEST($11::bytea[], $12::bytea[]) AS n(lookup, pack) \
     WHERE NOT EXISTS (SELECT 1 FROM drugtrace_lookups AS l \
         WHERE l.lookup = n.lookup AND l.pack = n.pack)"
);
/// [`COMMIT_GROUP`] in the form for Citus ([`Entries::OnConflict`]): every index entry,
/// those stored already skipped by `ON CONFLICT DO NOTHING`.
const COMMIT_GROUP_ON_CONFLICT: &str = commit_group!(
    "INSERT INTO drugtrace_lookups (lookup, pack) \
     SELECT * FROM UNNEST($11::bytea[], $12::bytea[]) ON CONFLICT DO NOTHING"
);

/// Whether the connection was lost (or the server went away) while a statement was in
/// flight, so that whether it took effect is unknown.
/// The `drugtrace_meta` row saying that every movement is in `drugtrace_movement_uploads`.
const INDEXED_UPLOADS: &str = "movement_uploads indexed";

/// Indexes by batch the movements a database kept before the batch index existed, once:
/// in the schema's transaction, so that no server sees the mark without the index.
fn index_older_movements(tx: &mut postgres::Transaction<'_>) -> Result<(), postgres::Error> {
    let done = tx.query_opt(
        "SELECT 1 FROM drugtrace_meta WHERE name = $1",
        &[&INDEXED_UPLOADS],
    )?;
    if done.is_some() {
        return Ok(());
    }
    let portal = tx.bind("SELECT movement FROM drugtrace_movements", &[])?;
    loop {
        let rows = tx.query_portal(&portal, SCAN_ROWS)?;
        if rows.is_empty() {
            break;
        }
        let (mut batches, mut ids) = (Vec::new(), Vec::new());
        for row in &rows {
            // A movement that does not decode is reported by the scans that read it; it has
            // no batch to index here.
            let Ok(m) = codec::decode_movement(row.get::<_, &[u8]>(0)) else {
                continue;
            };
            if let Some(u) = &m.upload {
                batches.push(codec::movement_upload_prefix(&m.institution, u));
                ids.push(m.id().as_bytes().to_vec());
            }
        }
        tx.execute(
            "INSERT INTO drugtrace_movement_uploads (batch, id) \
             SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) ON CONFLICT DO NOTHING",
            &[&batches, &ids],
        )?;
    }
    tx.execute(
        "INSERT INTO drugtrace_meta (name, value) VALUES ($1, 'yes') ON CONFLICT DO NOTHING",
        &[&INDEXED_UPLOADS],
    )?;
    Ok(())
}

/// A movement id read from a `bytea` column.
fn movement_id(b: &[u8]) -> Result<MovementId, StoreError> {
    let id: [u8; 16] = b
        .try_into()
        .map_err(|_| StoreError::Corrupt("a stored movement id is not 16 bytes".into()))?;
    Ok(MovementId::from_bytes(id))
}

fn lost(e: &postgres::Error) -> bool {
    match e.code() {
        None => true,
        // Class 08, connection exception; class 57, operator intervention (a server
        // shutting down, a failover).
        Some(c) => c.code().starts_with("08") || c.code().starts_with("57"),
    }
}

impl PostgresStore {
    /// Whether a commit whose answer was lost happened: its first event is stored with the
    /// bytes it sent. Retries on new connections for up to [`SETTLE_FOR`].
    fn settle(&self, writes: &[PackWrite]) -> Result<bool, StoreError> {
        let Some((w, first)) = writes.iter().find_map(|w| w.events.first().map(|e| (w, e))) else {
            return Ok(true);
        };
        let pack = codec::pack_prefix(&w.key);
        let idx = i32::try_from(first.index).unwrap_or(i32::MAX);
        let sent = codec::encode_recorded(first);
        let row = self.read_back(|c| {
            c.query_opt(
                "SELECT recorded FROM drugtrace_events WHERE pack = $1 AND idx = $2",
                &[&pack, &idx],
            )
        })?;
        Ok(row.is_some_and(|r| r.get::<_, &[u8]>(0) == sent.as_slice()))
    }

    /// Runs `read`, reading back what a write whose answer was lost left, on new
    /// connections until one answers (the new leader, after a failover), for up to
    /// [`SETTLE_FOR`]; then its last error.
    pub(crate) fn read_back<T>(
        &self,
        read: impl Fn(&mut Session) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let deadline = Instant::now() + SETTLE_FOR;
        loop {
            match self.with_conn(&read) {
                Ok(value) => return Ok(value),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }
}

/// Whether two transactions got in each other's way: the writes may be judged again.
fn contended(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

impl Store for PostgresStore {
    fn pack(&self, key: &PackKey) -> Result<Option<PackState>, StoreError> {
        let pack = codec::pack_prefix(key);
        let row = self.with_conn(|c| {
            let q = c.prepared("SELECT state FROM drugtrace_packs WHERE pack = $1")?;
            c.query_opt(&q, &[&pack])
        })?;
        row.map(|r| codec::decode_state(r.get::<_, &[u8]>(0)))
            .transpose()
    }

    fn packs(&self, keys: &[PackKey]) -> Result<Vec<Option<PackState>>, StoreError> {
        let wanted: Vec<Vec<u8>> = keys.iter().map(codec::pack_prefix).collect();
        let rows = self.with_conn(|c| {
            let q = c.prepared(
                "SELECT pack, state FROM drugtrace_packs WHERE pack = ANY($1::bytea[])",
            )?;
            c.query(&q, &[&wanted])
        })?;
        let mut found: std::collections::HashMap<Vec<u8>, PackState> =
            std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            found.insert(
                r.get::<_, Vec<u8>>(0),
                codec::decode_state(r.get::<_, &[u8]>(1))?,
            );
        }
        Ok(wanted.iter().map(|k| found.get(k).cloned()).collect())
    }

    fn commit(&self, mut writes: Vec<PackWrite>) -> Result<(), CommitError> {
        if writes.is_empty() {
            return Ok(());
        }
        // One order for every commit, so two commits lock their rows in the same order.
        writes.sort_by_key(|w| w.key);
        let mut c = self.conn()?;
        match Self::try_commit(&mut c, &writes, self.entries) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(moved)) => Err(CommitError::Conflict(moved)),
            Err(e) if contended(&e) => Err(CommitError::Conflict(
                writes.iter().map(|w| w.key).collect(),
            )),
            Err(e) if lost(&e) => {
                c.discard();
                match self.settle(&writes) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(CommitError::Conflict(
                        writes.iter().map(|w| w.key).collect(),
                    )),
                    Err(unknown) => Err(CommitError::Store(StoreError::Unavailable(format!(
                        "PostgreSQL: the connection was lost during a commit ({}) and what it \
                         wrote could not be read back ({unknown}): whether it was recorded is \
                         unknown until the database answers again",
                        describe(&e)
                    )))),
                }
            }
            Err(e) => Err(CommitError::Store(backend(e))),
        }
    }

    /// A commit waits for the server's fsync and, on a cluster, a synchronous replica's:
    /// commits overlapped on several connections keep one stalled commit from holding up
    /// the rest.
    fn commits_in_flight(&self) -> usize {
        self.in_flight
    }

    fn history(&self, key: &PackKey) -> Result<Vec<Recorded>, StoreError> {
        let pack = codec::pack_prefix(key);
        let rows = self.with_conn(|c| {
            let q =
                c.prepared("SELECT recorded FROM drugtrace_events WHERE pack = $1 ORDER BY idx")?;
            c.query(&q, &[&pack])
        })?;
        rows.iter()
            .map(|r| codec::decode_recorded(*key, r.get::<_, &[u8]>(0)))
            .collect()
    }

    fn histories(&self, keys: &[PackKey]) -> Result<Vec<Vec<Recorded>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<Vec<u8>> = keys.iter().map(codec::pack_prefix).collect();
        let rows = self.with_conn(|c| {
            let q = c.prepared(
                "SELECT pack, recorded FROM drugtrace_events WHERE pack = ANY($1::bytea[]) \
                 ORDER BY pack, idx",
            )?;
            c.query(&q, &[&wanted])
        })?;
        // Each pack asked, by its stored key: the key and the log read so far.
        let mut logs: std::collections::HashMap<&[u8], (PackKey, Vec<Recorded>)> = wanted
            .iter()
            .map(Vec::as_slice)
            .zip(keys)
            .map(|(stored, key)| (stored, (*key, Vec::new())))
            .collect();
        for r in &rows {
            if let Some((key, log)) = logs.get_mut(r.get::<_, &[u8]>(0)) {
                log.push(codec::decode_recorded(*key, r.get::<_, &[u8]>(1))?);
            }
        }
        Ok(wanted
            .iter()
            .map(|k| logs[k.as_slice()].1.clone())
            .collect())
    }

    fn scan_logs(
        &self,
        visit: &mut dyn FnMut(PackKey, Vec<Recorded>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut runs = LogRuns::default();
        self.scan(
            "SELECT pack, recorded FROM drugtrace_events ORDER BY pack, idx",
            &mut |row| {
                let key = codec::key_pack(row.get::<_, &[u8]>(0))?;
                runs.push(
                    key,
                    codec::decode_recorded(key, row.get::<_, &[u8]>(1))?,
                    visit,
                )
            },
        )?;
        runs.finish(visit)
    }

    fn scan_states(
        &self,
        visit: &mut dyn FnMut(PackKey, PackState) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.scan(
            "SELECT pack, state FROM drugtrace_packs ORDER BY pack",
            &mut |row| {
                visit(
                    codec::key_pack(row.get::<_, &[u8]>(0))?,
                    codec::decode_state(row.get::<_, &[u8]>(1))?,
                )
            },
        )
    }

    fn put_states(&self, states: &[(PackKey, PackState)]) -> Result<(), StoreError> {
        let mut packs = Vec::with_capacity(states.len());
        let mut versions = Vec::with_capacity(states.len());
        let mut bytes = Vec::with_capacity(states.len());
        for (k, s) in states {
            packs.push(codec::pack_prefix(k));
            versions.push(i32::try_from(s.events).unwrap_or(i32::MAX));
            bytes.push(codec::encode_state(s));
        }
        self.with_conn(|c| {
            c.execute(
                "INSERT INTO drugtrace_packs (pack, version, state) \
                 SELECT * FROM UNNEST($1::bytea[], $2::integer[], $3::bytea[]) \
                 ON CONFLICT (pack) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state",
                &[&packs, &versions, &bytes],
            )
        })?;
        Ok(())
    }

    fn packs_by(&self, lookup: &Lookup, limit: usize) -> Result<Vec<PackKey>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let lookup = lookup.key();
        let rows = self.with_conn(|c| {
            let q = c.prepared(
                "SELECT pack FROM drugtrace_lookups WHERE lookup = $1 ORDER BY pack LIMIT $2",
            )?;
            c.query(&q, &[&lookup, &limit])
        })?;
        rows.iter()
            .map(|r| codec::key_pack(r.get::<_, &[u8]>(0)))
            .collect()
    }

    fn put_lookups(&self, entries: &[(Lookup, PackKey)]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let lookups: Vec<Vec<u8>> = entries.iter().map(|(l, _)| l.key()).collect();
        let packs: Vec<Vec<u8>> = entries.iter().map(|(_, k)| codec::pack_prefix(k)).collect();
        self.with_conn(|c| {
            c.execute(
                "INSERT INTO drugtrace_lookups (lookup, pack) \
                 SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) ON CONFLICT DO NOTHING",
                &[&lookups, &packs],
            )
        })?;
        Ok(())
    }

    fn first_changed_minute(&self, from: i64) -> Result<Option<i64>, StoreError> {
        let (first, end) = ChangeMark::keys_from(from);
        let row = self.with_conn(|c| {
            let q = c.prepared(
                "SELECT lookup FROM drugtrace_lookups WHERE lookup >= $1 AND lookup < $2 \
                 ORDER BY lookup LIMIT 1",
            )?;
            c.query_opt(&q, &[&first, &end])
        })?;
        row.map(|r| Ok(ChangeMark::stored(r.get::<_, &[u8]>(0))?.minute))
            .transpose()
    }

    fn forget_changes(&self, minute: i64) -> Result<u64, StoreError> {
        // One stripe a statement: on a database distributed by the index's key, each is one
        // shard's.
        let mut removed = 0;
        for mark in ChangeMark::minute(minute) {
            let key = Lookup::Changed(mark).key();
            removed += self.with_conn(|c| {
                let q = c.prepared("DELETE FROM drugtrace_lookups WHERE lookup = $1")?;
                c.execute(&q, &[&key])
            })?;
        }
        Ok(removed)
    }

    fn add_movements(&self, movements: &[Movement]) -> Result<usize, StoreError> {
        let mut ids: Vec<Vec<u8>> = Vec::with_capacity(movements.len());
        let mut bytes = Vec::with_capacity(movements.len());
        let (mut batches, mut batch_ids) = (Vec::new(), Vec::new());
        for m in movements {
            let id = m.id().as_bytes().to_vec();
            if !ids.contains(&id) {
                if let Some(u) = &m.upload {
                    batches.push(codec::movement_upload_prefix(&m.institution, u));
                    batch_ids.push(id.clone());
                }
                ids.push(id);
                bytes.push(codec::encode_movement(m));
            }
        }
        if ids.is_empty() {
            return Ok(0);
        }
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(backend)?;
        let n = tx
            .execute(
                "INSERT INTO drugtrace_movements (id, movement) \
                 SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) ON CONFLICT DO NOTHING",
                &[&ids, &bytes],
            )
            .map_err(backend)?;
        if !batches.is_empty() {
            tx.execute(
                "INSERT INTO drugtrace_movement_uploads (batch, id) \
                 SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) ON CONFLICT DO NOTHING",
                &[&batches, &batch_ids],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn scan_movements(
        &self,
        visit: &mut dyn FnMut(Movement) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.scan(
            "SELECT movement FROM drugtrace_movements ORDER BY id",
            &mut |row| visit(codec::decode_movement(row.get::<_, &[u8]>(0))?),
        )
    }

    fn movements_of_upload(
        &self,
        institution: &InstitutionId,
        upload: &UploadId,
        after: Option<&MovementId>,
        limit: usize,
    ) -> Result<Vec<MovementId>, StoreError> {
        let batch = codec::movement_upload_prefix(institution, upload);
        // Every id is longer than the empty string, so none is "after" nothing.
        let after: &[u8] = after.map_or(&[], |a| a.as_bytes());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.with_conn(|c| {
            c.query(
                "SELECT id FROM drugtrace_movement_uploads \
                 WHERE batch = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&batch, &after, &limit],
            )
        })?;
        rows.iter().map(|r| movement_id(r.get(0))).collect()
    }

    fn void_movements(&self, ids: &[MovementId], void: &MovementVoid) -> Result<usize, StoreError> {
        let mut keys: Vec<&[u8]> = Vec::with_capacity(ids.len());
        for id in ids {
            if !keys.contains(&id.as_bytes().as_slice()) {
                keys.push(id.as_bytes());
            }
        }
        if keys.is_empty() {
            return Ok(0);
        }
        let bytes = codec::encode_movement_void(void);
        let n = self.with_conn(|c| {
            c.execute(
                "INSERT INTO drugtrace_movement_voids (id, void) \
                 SELECT id, $2 FROM UNNEST($1::bytea[]) AS u(id) ON CONFLICT DO NOTHING",
                &[&keys, &bytes],
            )
        })?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn movement_voids(&self, ids: &[MovementId]) -> Result<Vec<Option<MovementVoid>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<&[u8]> = ids.iter().map(|id| id.as_bytes().as_slice()).collect();
        let rows = self.with_conn(|c| {
            let q =
                c.prepared("SELECT id, void FROM drugtrace_movement_voids WHERE id = ANY($1)")?;
            c.query(&q, &[&keys])
        })?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            found.insert(
                movement_id(r.get(0))?,
                codec::decode_movement_void(r.get::<_, &[u8]>(1))?,
            );
        }
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    fn scan_movement_voids(
        &self,
        visit: &mut dyn FnMut(MovementId, MovementVoid) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.scan(
            "SELECT id, void FROM drugtrace_movement_voids ORDER BY id",
            &mut |row| {
                visit(
                    movement_id(row.get(0))?,
                    codec::decode_movement_void(row.get::<_, &[u8]>(1))?,
                )
            },
        )
    }
}
