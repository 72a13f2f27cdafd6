//! A commit whose answer is lost is settled by reading back what it wrote, never guessed:
//! a TCP proxy between the store and a real server cuts the connection around `COMMIT`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use drugtrace_ledger::testkit::{Rng, arbitrary_recorded, pack};
use drugtrace_ledger::{CommitError, PackState, PackWrite, Store};
use drugtrace_store_postgres::PostgresStore;
use drugtrace_store_postgres::testing::Server;

/// What the proxy does with the next `COMMIT` it sees.
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
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let commit = buf[..n].windows(7).any(|w| w == b"COMMIT\0");
                    let how = if commit {
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

#[test]
fn a_commit_cut_after_it_happened_is_acknowledged_once() {
    let (_server, store, mode) = through_proxy("lost_after");
    let mut rng = Rng::new(5);
    let w = write(&mut rng, 1);
    mode.store(CUT_AFTER, Ordering::SeqCst);
    store.commit(vec![w.clone()]).expect("settled as committed");
    assert_eq!(mode.load(Ordering::SeqCst), PASS, "the proxy cut a COMMIT");
    assert_eq!(store.history(&w.key).unwrap(), w.events);
    assert_eq!(store.pack(&w.key).unwrap(), Some(w.state));
}

#[test]
fn a_commit_cut_before_it_happened_is_judged_again() {
    let (_server, store, mode) = through_proxy("lost_before");
    let mut rng = Rng::new(6);
    let w = write(&mut rng, 2);
    mode.store(CUT_BEFORE, Ordering::SeqCst);
    match store.commit(vec![w.clone()]) {
        Err(CommitError::Conflict(keys)) => assert_eq!(keys, vec![w.key]),
        other => panic!("expected a conflict to judge again, got {other:?}"),
    }
    assert!(
        store.history(&w.key).unwrap().is_empty(),
        "nothing was written"
    );
    // Judged again, it goes through.
    store.commit(vec![w.clone()]).unwrap();
    assert_eq!(store.history(&w.key).unwrap(), w.events);
}
