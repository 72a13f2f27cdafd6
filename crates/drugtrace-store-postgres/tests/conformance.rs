//! The shared store suite against a real PostgreSQL server, which the test starts with
//! `scripts/postgres` (a fresh database for each part of the suite).

use std::sync::atomic::{AtomicU32, Ordering};

use drugtrace_ledger::testkit;
use drugtrace_store_postgres::PostgresStore;
use drugtrace_store_postgres::testing::Server;

#[test]
fn postgres_passes_the_store_suite() {
    store_suite("suite", false);
}

/// The statements a database with the Citus extension gets (the index entries with `ON
/// CONFLICT DO NOTHING`, no subquery) pass the suite too, here on plain PostgreSQL.
#[test]
fn the_statements_for_citus_pass_the_store_suite() {
    store_suite("citus", true);
}

/// The shared suite on a server of its own, each part on a fresh database `PREFIX_N`, with
/// the statements for Citus when `citus`.
fn store_suite(prefix: &str, citus: bool) {
    let server = Server::start();
    let n = AtomicU32::new(0);
    testkit::check_store(&|| {
        let name = format!("{prefix}_{}", n.fetch_add(1, Ordering::Relaxed));
        let store = PostgresStore::connect(&server.database(&name)).unwrap();
        if citus {
            store.with_citus_statements()
        } else {
            store
        }
    });
}

#[test]
fn postgres_journals_pass_the_shared_journal_suite() {
    let server = Server::start();
    let conninfo = server.database("journals");
    let store = std::sync::Arc::new(PostgresStore::connect(&conninfo).unwrap());
    // A second server's handle on the same database.
    let other = std::sync::Arc::new(PostgresStore::connect(&conninfo).unwrap());
    let n = AtomicU32::new(0);
    drugtrace_durable::shared::conformance(|| {
        let name = format!("journal_{}", n.fetch_add(1, Ordering::Relaxed));
        (store.journal(&name), other.journal(&name))
    });
}

#[test]
fn reconnecting_finds_what_was_committed() {
    let server = Server::start();
    let conninfo = server.database("reopen");
    let mut rng = testkit::Rng::new(11);
    let key = testkit::pack(3);
    let rec = testkit::arbitrary_recorded(&mut rng, key, 0);
    let state = drugtrace_ledger::PackState::fold(std::slice::from_ref(&rec));
    {
        let store = PostgresStore::connect(&conninfo).unwrap();
        drugtrace_ledger::Store::commit(
            &store,
            vec![drugtrace_ledger::PackWrite {
                key,
                expected: 0,
                events: vec![rec.clone()],
                state: state.clone(),
            }],
        )
        .unwrap();
    }
    let again = PostgresStore::connect(&conninfo).unwrap();
    assert_eq!(
        drugtrace_ledger::Store::pack(&again, &key).unwrap(),
        Some(state)
    );
    assert_eq!(
        drugtrace_ledger::Store::history(&again, &key).unwrap(),
        vec![rec]
    );
}

#[test]
fn a_bad_connection_string_is_a_clear_error() {
    let e =
        PostgresStore::connect("host=127.0.0.1 port=1 user=nobody connect_timeout=2").unwrap_err();
    assert!(e.to_string().contains("PostgreSQL"), "{e}");
    let e = PostgresStore::connect("port=notanumber").unwrap_err();
    assert!(e.to_string().contains("connection string"), "{e}");
}

/// A database written before movements were indexed by batch: the first server of this
/// version to connect indexes them, so that a 3507 finds them.
#[test]
fn movements_kept_before_the_batch_index_are_indexed_on_connect() {
    use drugtrace_ledger::{InstitutionId, Store, UploadId};
    let server = Server::start();
    let conninfo = server.database("older_movements");
    let me = InstitutionId::parse("P1").unwrap();
    let upload = UploadId::parse("3/B1").unwrap();
    let m = testkit::movement(&me, &upload, 0);
    drop(PostgresStore::connect(&conninfo).unwrap());
    // As an older version left it: the movement alone, and no mark.
    let mut c = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO drugtrace_movements (id, movement) VALUES ($1, $2)",
        &[
            &m.id().as_bytes().as_slice(),
            &drugtrace_codec::encode_movement(&m),
        ],
    )
    .unwrap();
    c.execute("DELETE FROM drugtrace_meta", &[]).unwrap();
    let store = PostgresStore::connect(&conninfo).unwrap();
    assert_eq!(
        store.movements_of_upload(&me, &upload, None, 10).unwrap(),
        vec![m.id()]
    );
}

/// A failure names what PostgreSQL said, not only that there was one.
#[test]
fn errors_say_what_postgresql_said() {
    let server = Server::start();
    let missing = format!("{} dbname=drugtrace_no_such_database", server.conninfo());
    let e = PostgresStore::connect(&missing).unwrap_err().to_string();
    assert!(
        e.contains("database \"drugtrace_no_such_database\" does not exist") && e.contains("3D000"),
        "{e}"
    );
    let e = PostgresStore::connect("host=127.0.0.1 port=1 connect_timeout=2")
        .unwrap_err()
        .to_string();
    assert!(e.contains("error connecting to server: "), "{e}");
    assert!(
        e.len() > "PostgreSQL: error connecting to server: ".len() + 5,
        "{e}"
    );
}
