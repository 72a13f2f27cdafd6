//! A commit whose answer is lost is settled by reading back what it wrote, never guessed:
//! a TCP proxy between the store and a real server cuts the connection around the message
//! that commits: a gate's group is one statement run on its own, a bulk load a transaction
//! ended by `COMMIT`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use drugtrace_ledger::testkit::{Rng, arbitrary_recorded, pack};
use drugtrace_ledger::{CommitError, PackState, PackWrite, Store};
use drugtrace_store_postgres::PostgresStore;
use drugtrace_store_postgres::testing::Server;

/// What the proxy does with the next message that commits.
const PASS: u8 = 0;
/// Forward it, let the server commit, then cut the connection before the answer.
const CUT_AFTER: u8 = 1;
/// Cut the connection instead of forwarding it: the transaction never commits.
const CUT_BEFORE: u8 = 2;

/// A proxy on loopback to `upstream`, and the mode of its next `COMMIT`.
fn proxy(upstream: u16) -> (u16, Arc<AtomicU8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mode = Arc::new(AtomicU8::new(PASS));
    let m = Arc::clone(&mode);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_in, mut c_out) = (server, client);
            let mode = Arc::clone(&m);
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = s_in.read(&mut buf) {
                    if n == 0 || c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = c_out.shutdown(Shutdown::Both);
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let mut committing = Committing::default();
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let how = if committing.commits(&buf[..n]) {
                        mode.swap(PASS, Ordering::SeqCst)
                    } else {
                        PASS
                    };
                    if how == CUT_BEFORE {
                        let _ = s_out.shutdown(Shutdown::Both);
                        let _ = c_in.shutdown(Shutdown::Both);
                        break;
                    }
                    if s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if how == CUT_AFTER {
                        std::thread::sleep(Duration::from_millis(300));
                        let _ = s_out.shutdown(Shutdown::Both);
                        let _ = c_in.shutdown(Shutdown::Both);
                        break;
                    }
                }
            });
        }
    });
    (port, mode)
}

/// Tells the messages a client sends (after its startup message) that commit: a simple
/// `COMMIT`, or the execution of a prepared statement that is a whole commit (a `WITH` that
/// inserts the events). The messages of one client write arrive in one read here.
#[derive(Default)]
struct Committing {
    started: bool,
    /// The names of the prepared statements that commit.
    statements: Vec<Vec<u8>>,
}

impl Committing {
    fn commits(&mut self, chunk: &[u8]) -> bool {
        if !std::mem::replace(&mut self.started, true) {
            return false; // the startup message, which has no type byte
        }
        let mut commits = false;
        let mut rest = chunk;
        while rest.len() >= 5 {
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            let Some(body) = rest.get(5..1 + len) else {
                break;
            };
            let mut fields = body.split(|b| *b == 0);
            match rest[0] {
                b'Q' => commits |= body.starts_with(b"COMMIT\0"),
                b'P' => {
                    let name = fields.next().unwrap_or_default();
                    let sql = fields.next().unwrap_or_default();
                    if sql.starts_with(b"WITH")
                        && sql
                            .windows(28)
                            .any(|w| w == b"INSERT INTO drugtrace_events")
                    {
                        self.statements.push(name.to_vec());
                    }
                }
                b'B' => {
                    let _portal = fields.next();
                    let name = fields.next().unwrap_or_default();
                    commits |= self.statements.iter().any(|s| s == name);
                }
                _ => {}
            }
            rest = &rest[1 + len..];
        }
        commits
    }
}

/// A new pack with one event: a commit of one is a gate's group, of
/// [`BULK`] an import's batch.
fn write(rng: &mut Rng, n: u64) -> PackWrite {
    let key = pack(n);
    let events = vec![arbitrary_recorded(rng, key, 0)];
    let state = PackState::fold(&events);
    PackWrite {
        key,
        expected: 0,
        events,
        state,
    }
}

/// A new database `name` on a new server, a store connected to it through the proxy, and
/// the proxy's mode.
fn through_proxy(name: &str) -> (Server, PostgresStore, Arc<AtomicU8>) {
    let server = Server::start();
    let conninfo = server.database(name);
    let upstream = server.port();
    let (port, mode) = proxy(upstream);
    let store = PostgresStore::connect(
        &conninfo.replace(&format!("port={upstream}"), &format!("port={port}")),
    )
    .unwrap();
    (server, store, mode)
}

/// Packs in a bulk commit: enough events for the store to stream them in with `COPY` in a
/// transaction.
const BULK: u64 = 1_500;

/// `packs` new packs with one event each.
fn writes(seed: u64, packs: u64) -> Vec<PackWrite> {
    let mut rng = Rng::new(seed);
    (1..=packs).map(|n| write(&mut rng, n)).collect()
}

fn cut_after(name: &str, packs: u64) {
    let (_server, store, mode) = through_proxy(name);
    let ws = writes(5, packs);
    mode.store(CUT_AFTER, Ordering::SeqCst);
    store.commit(ws.clone()).expect("settled as committed");
    assert_eq!(mode.load(Ordering::SeqCst), PASS, "the proxy cut a commit");
    for w in [&ws[0], &ws[ws.len() - 1]] {
        assert_eq!(store.history(&w.key).unwrap(), w.events);
        assert_eq!(store.pack(&w.key).unwrap(), Some(w.state.clone()));
    }
}

fn cut_before(name: &str, packs: u64) {
    let (_server, store, mode) = through_proxy(name);
    let ws = writes(6, packs);
    mode.store(CUT_BEFORE, Ordering::SeqCst);
    match store.commit(ws.clone()) {
        Err(CommitError::Conflict(keys)) => {
            assert_eq!(keys, ws.iter().map(|w| w.key).collect::<Vec<_>>())
        }
        other => panic!("expected a conflict to judge again, got {other:?}"),
    }
    assert_eq!(mode.load(Ordering::SeqCst), PASS, "the proxy cut a commit");
    for w in &ws {
        assert!(
            store.history(&w.key).unwrap().is_empty(),
            "nothing was written"
        );
    }
    // Judged again, it goes through.
    store.commit(ws.clone()).unwrap();
    assert_eq!(store.history(&ws[0].key).unwrap(), ws[0].events);
}

#[test]
fn a_group_cut_after_it_happened_is_acknowledged_once() {
    cut_after("lost_after", 1);
}

#[test]
fn a_bulk_commit_cut_after_it_happened_is_acknowledged_once() {
    cut_after("lost_bulk_after", BULK);
}

#[test]
fn a_group_cut_before_it_happened_is_judged_again() {
    cut_before("lost_before", 1);
}

#[test]
fn a_bulk_commit_cut_before_it_happened_is_judged_again() {
    cut_before("lost_bulk_before", BULK);
}
