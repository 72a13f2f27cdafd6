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
