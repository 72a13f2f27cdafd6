//! A throwaway PostgreSQL server for tests, started and stopped with `scripts/postgres`: the
//! one fixture every test that needs the database uses.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL server in a temporary directory, stopped when dropped.
pub struct Server {
    dir: tempfile::TempDir,
    conninfo: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres")
}

impl Server {
    /// Starts one. Panics, saying how to install the server, when it cannot.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = Command::new(script())
            .arg("start")
            .arg(dir.path().join("pg"))
            .output()
            .expect("scripts/postgres runs");
        assert!(
            out.status.success(),
            "scripts/postgres start failed (install the server with scripts/postgres install): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let conninfo = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Server { dir, conninfo }
    }

    /// The connection string of its `postgres` database.
    pub fn conninfo(&self) -> &str {
        &self.conninfo
    }

    /// Creates the empty database `name` and returns its connection string.
    pub fn database(&self, name: &str) -> String {
        let mut admin =
            postgres::Client::connect(&self.conninfo, postgres::NoTls).expect("connects");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("creates the database");
        self.conninfo
            .replace("dbname=postgres", &format!("dbname={name}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .arg(self.dir.path().join("pg"))
            .status();
    }
}

fn patroni() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/patroni")
}

/// A 3-node Patroni cluster (etcd, strict synchronous replication) in a temporary
/// directory, started and stopped with `scripts/patroni`.
pub struct Cluster {
    dir: tempfile::TempDir,
    conninfo: String,
}

impl Cluster {
    /// Starts one and waits for a leader and a synchronous replica. Panics, saying how to
    /// install what is missing, when it cannot.
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = Command::new(patroni())
            .arg("start")
            .arg(dir.path().join("cluster"))
            .output()
            .expect("scripts/patroni runs");
        assert!(
            out.status.success(),
            "scripts/patroni start failed (install with scripts/patroni install): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let conninfo = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Cluster { dir, conninfo }
    }

    /// The connection string naming every node, which finds the leader.
    pub fn conninfo(&self) -> &str {
        &self.conninfo
    }

    /// The leader's name and the process ids of its postmaster and its Patroni, if there is
    /// a leader now.
    pub fn leader(&self) -> Option<(String, u32, u32)> {
        let out = Command::new(patroni())
            .arg("leader")
            .arg(self.dir.path().join("cluster"))
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut words = text.split_whitespace();
        let name = words.next()?.to_owned();
        let postmaster = words.next()?.parse().ok()?;
        let patroni = words.next()?.parse().ok()?;
        Some((name, postmaster, patroni))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(patroni())
            .arg("stop")
            .arg(self.dir.path().join("cluster"))
            .status();
    }
}
