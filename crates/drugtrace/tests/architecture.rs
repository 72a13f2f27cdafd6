//! ARCHITECTURE.md's dependency invariants, checked against what Cargo resolves: a crate
//! that gains a dependency the map says it must not have fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// The workspace as `cargo metadata` resolves it.
struct Workspace {
    /// Package id → name.
    names: BTreeMap<String, String>,
    /// Package name → the names of its normal and build dependencies (not dev).
    direct: BTreeMap<String, BTreeSet<String>>,
    /// Package name → its declared dependencies that are not optional (no feature needed).
    required: BTreeMap<String, BTreeSet<String>>,
    members: BTreeSet<String>,
}

impl Workspace {
    fn load() -> Workspace {
        // For this machine's platform only: the packages of others need not be downloaded.
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let version = Command::new(rustc).arg("-vV").output().expect("rustc runs");
        let host = String::from_utf8_lossy(&version.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
            .expect("rustc -vV names the host");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--locked", "--offline"])
            .args(["--filter-platform", &host])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "cargo metadata: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut names = BTreeMap::new();
        let mut required = BTreeMap::new();
        for p in meta["packages"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap().to_owned();
            names.insert(p["id"].as_str().unwrap().to_owned(), name.clone());
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null() && d["optional"] == false)
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            required.insert(name, deps);
        }
        let mut direct = BTreeMap::new();
        for node in meta["resolve"]["nodes"].as_array().unwrap() {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].as_str() != Some("dev"))
                })
                .map(|d| names[d["pkg"].as_str().unwrap()].clone())
                .collect();
            direct.insert(names[node["id"].as_str().unwrap()].clone(), deps);
        }
        let members = meta["workspace_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| names[id.as_str().unwrap()].clone())
            .collect();
        Workspace {
            names,
            direct,
            required,
            members,
        }
    }

    /// Everything `name` builds on, itself excluded.
    fn transitive(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![name.to_owned()];
        while let Some(n) = todo.pop() {
            for d in self.direct.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    }

    /// The workspace crates `name` depends on directly.
    fn own_deps(&self, name: &str) -> BTreeSet<String> {
        self.direct[name]
            .iter()
            .filter(|d| self.members.contains(*d))
            .cloned()
            .collect()
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_crates_depend_only_as_architecture_md_says() {
    let w = Workspace::load();
    assert!(w.names.len() > 50, "the resolve graph was read");
    let mut broken = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            broken.push(what);
        }
    };

    // drugtrace-code: no dependencies.
    let code = w.transitive("drugtrace-code");
    check(
        code.is_empty(),
        format!("drugtrace-code depends on {code:?}"),
    );
    // drugtrace-money: thiserror only; serde behind its feature.
    let money = &w.required["drugtrace-money"];
    check(
        money == &set(&["thiserror"]),
        format!("drugtrace-money needs {money:?} without features"),
    );
    // Only analytics, the API and the binary build DataFusion.
    let datafusion: BTreeSet<String> = w
        .members
        .iter()
        .filter(|m| w.transitive(m).contains("datafusion"))
        .cloned()
        .collect();
    check(
        datafusion == set(&["drugtrace-analytics", "drugtrace-api", "drugtrace"]),
        format!("DataFusion is built by {datafusion:?}"),
    );
    // The clue book never depends on the analytics.
    check(
        !w.transitive("drugtrace-clues")
            .contains("drugtrace-analytics"),
        "drugtrace-clues depends on drugtrace-analytics".into(),
    );
    // The ledger knows nothing of files, HTTP or byte layouts (the catalog it reads has
    // its own file import, through drugtrace-durable).
    let ledger = w.transitive("drugtrace-ledger");
    for banned in [
        "drugtrace-codec",
        "fjall",
        "postgres",
        "tokio",
        "axum",
        "hyper",
        "reqwest",
    ] {
        check(
            !ledger.contains(banned),
            format!("drugtrace-ledger depends on {banned}"),
        );
    }
    for banned in ["drugtrace-durable", "serde", "serde_json"] {
        check(
            !w.direct["drugtrace-ledger"].contains(banned),
            format!("drugtrace-ledger uses {banned} itself"),
        );
    }
    // The national interface's reader: the code and ledger crates only.
    let nhsa = w.own_deps("drugtrace-nhsa");
    check(
        nhsa == set(&["drugtrace-code", "drugtrace-ledger"]),
        format!("drugtrace-nhsa depends on {nhsa:?}"),
    );
    // The dashboard: the clue book, the money type, and the ledger's and the directory's
    // types (their enums); no storage, no async runtime, no HTTP, no DataFusion.
    let dashboard = w.own_deps("drugtrace-dashboard");
    check(
        dashboard
            == set(&[
                "drugtrace-catalog",
                "drugtrace-clues",
                "drugtrace-ledger",
                "drugtrace-money",
            ]),
        format!("drugtrace-dashboard depends on {dashboard:?}"),
    );
    let dashboard = w.transitive("drugtrace-dashboard");
    for banned in [
        "drugtrace-analytics",
        "drugtrace-codec",
        "datafusion",
        "fjall",
        "postgres",
        "tokio",
        "axum",
        "hyper",
        "reqwest",
    ] {
        check(
            !dashboard.contains(banned),
            format!("drugtrace-dashboard depends on {banned}"),
        );
    }
    // EPCIS documents: no I/O, no storage, no HTTP.
    let epcis = w.transitive("drugtrace-epcis");
    for banned in [
        "tokio",
        "axum",
        "reqwest",
        "fjall",
        "postgres",
        "drugtrace-ledger",
    ] {
        check(
            !epcis.contains(banned),
            format!("drugtrace-epcis depends on {banned}"),
        );
    }
    // The byte layout is the codec's: only the stores (and the bench, through them) use it.
    let codec: BTreeSet<String> = w
        .members
        .iter()
        .filter(|m| w.own_deps(m).contains("drugtrace-codec"))
        .cloned()
        .collect();
    check(
        codec == set(&["drugtrace-store-fjall", "drugtrace-store-postgres"]),
        format!("drugtrace-codec is used by {codec:?}"),
    );
    assert!(
        broken.is_empty(),
        "ARCHITECTURE.md says otherwise: {broken:#?}"
    );
}
