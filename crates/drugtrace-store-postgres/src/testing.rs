//! Throwaway PostgreSQL servers for tests: a single server (`scripts/postgres`) and a 3-node
//! Patroni cluster (`scripts/cluster`), each in a temporary directory and stopped when
//! dropped. The one fixture of each kind every test that needs the database uses.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One of the repo's scripts (`scripts/NAME`).
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name)
}

/// A script's `VERB DIR/sub` (`start`, `up`) in a new temporary directory, and the
/// connection string it prints. Panics, saying how to install what is missing, when it fails.
fn start(name: &str, verb: &str, sub: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = Command::new(script(name))
        .arg(verb)
        .arg(dir.path().join(sub))
        .output()
        .unwrap_or_else(|e| panic!("scripts/{name} runs: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} {verb} failed (install with scripts/{name} install): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conninfo = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (dir, conninfo)
}

/// A script's `VERB DIR/sub` (`stop`, `down`), whatever it answers (for `Drop`).
fn stop(name: &str, verb: &str, dir: &Path, sub: &str) {
    let _ = Command::new(script(name))
        .arg(verb)
        .arg(dir.join(sub))
        .status();
}

/// A PostgreSQL server in a temporary directory, stopped when dropped.
pub struct Server {
    dir: tempfile::TempDir,
    conninfo: String,
}

impl Server {
    /// Starts one. Panics, saying how to install the server, when it cannot.
    pub fn start() -> Server {
        let (dir, conninfo) = start("postgres", "start", "pg");
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

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.conninfo
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("port="))
            .and_then(|p| p.parse().ok())
            .expect("scripts/postgres names the port")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop("postgres", "stop", self.dir.path(), "pg");
    }
}

/// A 3-node Patroni cluster (etcd, strict synchronous replication) in a temporary
/// directory, brought up and down with `scripts/cluster`.
pub struct Cluster {
    dir: tempfile::TempDir,
    conninfo: String,
}

impl Cluster {
    /// Starts one and waits for a leader and a synchronous replica. Panics, saying how to
    /// install what is missing, when it cannot.
    pub fn start() -> Cluster {
        let (dir, conninfo) = start("cluster", "up", "cluster");
        Cluster { dir, conninfo }
    }

    /// The connection string naming every node, which finds the leader.
    pub fn conninfo(&self) -> &str {
        &self.conninfo
    }

    /// Brings back every member that is down (`scripts/cluster up` again), as an operator
    /// restarting a failed node would: it rejoins as a replica. Panics when it fails.
    pub fn up(&self) {
        let out = Command::new(script("cluster"))
            .arg("up")
            .arg(self.dir.path().join("cluster"))
            .output()
            .expect("scripts/cluster runs");
        assert!(
            out.status.success(),
            "scripts/cluster up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The leader's name and the process ids of its postmaster and its Patroni, if there is
    /// a leader now.
    pub fn leader(&self) -> Option<(String, u32, u32)> {
        let out = Command::new(script("cluster"))
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

    /// Kills the leader as a crash would (kill -9 of its Patroni and its postmaster: the node
    /// is gone, and a replica must take over); returns its name. Panics when there is no
    /// leader or the kill fails.
    pub fn kill_leader(&self) -> String {
        let (leader, postmaster, patroni) = self.leader().expect("a leader");
        let killed = Command::new("kill")
            .args(["-9", &patroni.to_string(), &postmaster.to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success(), "kill -9 of {leader}");
        leader
    }

    /// Each member's name, role (`leader`, `sync_standby`, `replica`) and state
    /// (`running`, `streaming`, `stopped`…), as `scripts/cluster status` prints them; none
    /// when no node answers.
    pub fn members(&self) -> Vec<(String, String, String)> {
        let Ok(out) = Command::new(script("cluster"))
            .arg("status")
            .arg(self.dir.path().join("cluster"))
            .output()
        else {
            return Vec::new();
        };
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                Some((
                    words.next()?.to_owned(),
                    words.next()?.to_owned(),
                    words.next()?.to_owned(),
                ))
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        stop("cluster", "down", self.dir.path(), "cluster");
    }
}
