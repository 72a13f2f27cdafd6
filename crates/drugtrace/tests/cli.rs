//! The `drugtrace` command, run as a person or a script would run it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use drugtrace_catalog::Catalog;
use drugtrace_code::TraceCode;
use drugtrace_ledger::{Ledger, Policy, RebuildMode, Store};
use drugtrace_store_fjall::FjallStore;

fn drugtrace(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_drugtrace"));
    c.arg("--data").arg(data);
    c
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fail(out: Output) -> String {
    assert!(!out.status.success(), "should have failed");
    String::from_utf8(out.stderr).unwrap()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn init(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    init_data(&data, &[]);
    data
}

/// `drugtrace --data DATA init ARGS…`, then the example catalog imported.
fn init_data(data: &Path, args: &[&str]) {
    ok(drugtrace(data).arg("init").args(args).output().unwrap());
    ok(drugtrace(data)
        .args(["catalog", "import"])
        .arg(examples().join("catalog.csv"))
        .output()
        .unwrap());
}

/// A new API key of `role` for `institution`, as `key create` prints it.
fn create_key(data: &Path, role: &str, institution: &str) -> String {
    create_key_as(data, role, Some(institution))
}

/// A new API key of `role`, for `institution` if one is given.
fn create_key_as(data: &Path, role: &str, institution: Option<&str>) -> String {
    let mut cmd = drugtrace(data);
    cmd.args(["key", "create", "--role", role]);
    if let Some(i) = institution {
        cmd.args(["--institution", i]);
    }
    ok(cmd.output().unwrap()).trim().to_owned()
}

/// Sends SIGTERM to a `drugtrace serve` and waits for it to exit.
fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    child.wait().unwrap()
}

#[test]
fn init_refuses_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let err = fail(drugtrace(&data).arg("init").output().unwrap());
    assert!(err.contains("already a drugtrace data directory"), "{err}");
    let err = fail(
        drugtrace(&dir.path().join("nowhere"))
            .args(["lookup", "81000010000000000001"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("run `drugtrace init` first"), "{err}");
}

#[test]
fn import_keeps_good_lines_and_reports_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let events = dir.path().join("events.jsonl");
    std::fs::copy(examples().join("events.jsonl"), &events).unwrap();
    let out = ok(drugtrace(&data)
        .arg("import")
        .arg(&events)
        .output()
        .unwrap());
    assert!(out.contains("4 bad lines were not imported"), "{out}");
    assert!(out.contains("skipped 1 repeats"), "{out}");
    assert!(out.contains("rejected (already_sold)"), "{out}");

    let path = dir.path().join("events.jsonl.rejects.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("350102199001011234"),
        "the identity is redacted"
    );
    let mut reader = csv::Reader::from_path(&path).unwrap();
    assert_eq!(reader.headers().unwrap(), vec!["line", "reason", "record"]);
    let rows: Vec<(String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned(), r[2].to_owned())
        })
        .collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert_eq!(rows[0].0, "34");
    assert_eq!(rows[0].1, "field `code`: expected 20 digits, got 19");
    assert!(
        rows[0].2.contains(r#""person":"<redacted>""#),
        "{}",
        rows[0].2
    );
    assert_eq!(rows[1].0, "35");
    assert!(
        rows[1]
            .1
            .starts_with(r#"field `type`: "teleport" is not one of: commission"#)
    );
    assert_eq!(rows[2].0, "36");
    assert!(rows[2].1.starts_with("not a JSON event record"));
    assert_eq!(
        rows[2].2, "",
        "an unparsed line is not copied: it may hold an identity"
    );
    assert_eq!(rows[3].0, "37");
    assert!(
        rows[3].1.contains("unknown field `colour`"),
        "{}",
        rows[3].1
    );

    let out = ok(drugtrace(&data)
        .args(["lookup", "81000020000000000002"])
        .output()
        .unwrap());
    assert!(out.contains("盐酸阿来替尼胶囊"), "{out}");
    assert!(
        out.contains("sales            1 (1 blocked attempts)"),
        "{out}"
    );
    assert!(out.contains("[rejected (already_sold)]"), "{out}");

    let out = ok(drugtrace(&data)
        .args(["rebuild", "--check"])
        .output()
        .unwrap());
    assert!(out.contains("0 stored states differed"), "{out}");
}

/// The raw identity of a buyer reaches neither the store nor any other file.
#[test]
fn identities_never_reach_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    ok(drugtrace(&data)
        .arg("import")
        .arg(examples().join("events.jsonl"))
        .arg("--rejects")
        .arg(dir.path().join("rejects.csv"))
        .output()
        .unwrap());
    ok(drugtrace(&data)
        .args([
            "sale",
            "81000010000000000099",
            "--institution",
            "P1",
            "--settlement",
            "X1",
        ])
        .args(["--person", "11010519491231002X"])
        .output()
        .unwrap());
    let mut files = vec![dir.path().to_path_buf()];
    let mut seen = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        seen += 1;
        for id in [
            "350102199001011234",
            "11010519491231002X",
            "130703197707073333",
        ] {
            assert!(
                !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
                "{id} found in {}",
                p.display()
            );
        }
    }
    assert!(seen > 5, "the store's files were searched");
}

#[test]
fn the_gate_blocks_a_second_sale_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let sale = |settlement: &str, institution: &str| {
        drugtrace(&data)
            .args(["sale", "８１００００１００００００００００００１"])
            .args(["--institution", institution, "--settlement", settlement])
            .output()
            .unwrap()
    };
    assert!(ok(sale("S1", "P1")).starts_with("ALLOW: flagged (unknown_code)"));
    assert!(ok(sale("S1", "P1")).contains("nothing new recorded"));
    let out = ok(sale("S2", "P2"));
    assert!(out.starts_with("BLOCK: rejected (already_sold)"), "{out}");
    assert!(out.contains("prior sale at"), "{out}");
    let err = fail(
        drugtrace(&data)
            .args(["sale", "12345", "--institution", "P1", "--settlement", "S3"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("expected 20 digits, got 5"), "{err}");
}

/// Kills an import with SIGKILL after some batches were acknowledged, then checks that
/// every acknowledged event is in the store and that states still equal their logs.
#[test]
fn acknowledged_events_survive_kill_9() {
    const PACKS: u64 = 300_000;
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let events = dir.path().join("big.jsonl");
    let code = |n: u64| format!("{}", 81_000_010_000_000_000_000u128 + u128::from(n));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&events).unwrap());
        for n in 0..PACKS {
            writeln!(
                f,
                r#"{{"type":"commission","code":"{}","at":"2025-03-01T09:00:00+08:00","institution":"M1"}}"#,
                code(n)
            )
            .unwrap();
        }
    }
    let mut child = drugtrace(&data)
        .arg("import")
        .arg(&events)
        .args(["--progress", "plain", "--batch", "2000"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked_line = 0u64;
    let mut acks = 0;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("committed ") {
            acked_line = rest.rsplit(' ').next().unwrap().parse().unwrap();
            acks += 1;
            if acks == 10 {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    child.wait().unwrap();
    assert!(acked_line >= 20_000, "ten batches were acknowledged");
    assert!(acked_line < PACKS, "the import was killed before its end");

    let store = FjallStore::open(&data.join("store")).unwrap();
    for n in 0..acked_line {
        let key = TraceCode::parse(&code(n)).unwrap().pack_key();
        let state = store.pack(&key).unwrap();
        assert!(
            state.is_some_and(|s| s.is_issued()),
            "acknowledged line {} lost",
            n + 1
        );
    }
    let ledger = Ledger::new(store, Catalog::default(), Policy::default());
    let report = ledger.rebuild(RebuildMode::Check).unwrap();
    assert_eq!(report.mismatched_count, 0);
    assert!(report.packs >= acked_line);
}

/// A plain HTTP/1.1 request over a socket: the test needs no HTTP client crate.
fn http(addr: &str, method: &str, path: &str, key: &str, body: &str) -> (u16, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    // A server that stops answering fails the test instead of hanging it.
    s.set_read_timeout(Some(std::time::Duration::from_secs(90)))
        .unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

/// Starts `drugtrace serve` on port 0 (from drugtrace.toml's [serve] table) and returns the
/// child and the address it logs on stderr. The rest of its log is drained by a thread, so
/// a full pipe can never stall the server.
fn spawn_serve(data: &Path, log: &str, env: &[(&str, &str)]) -> (std::process::Child, String) {
    let config = data.join("drugtrace.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    // Once: a directory served again keeps its section.
    if !text.contains("\n[serve]\n") {
        text.push_str("\n[serve]\nlisten = \"127.0.0.1:0\"\n");
        std::fs::write(&config, text).unwrap();
    }
    let mut child = drugtrace(data)
        .arg("serve")
        .env_remove("DRUGTRACE_LISTEN")
        .env("RUST_LOG", log)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(i) = line.find("address=") {
            addr = line[i + 8..].split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
    assert!(!addr.is_empty(), "the server logs its address on stderr");
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

/// Issue 13: the log went to stdout, whose lock the command held for the whole of `serve`,
/// so the first worker that logged (a 5xx, say) waited on it for ever: two such answers on
/// two cores and the server was dead, SIGTERM ignored. Now any number of logged failures
/// leave it answering.
#[test]
fn logged_failures_never_hang_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let key = ok(drugtrace(&data)
        .args(["key", "create", "--role", "regulator"])
        .output()
        .unwrap())
    .trim()
    .to_owned();
    let (mut child, addr) = spawn_serve(&data, "debug", &[]);
    // Before any analytics run, findings are a 503, which the trace layer logs as a failure.
    for _ in 0..6 {
        let (status, body) = http(&addr, "GET", "/v1/findings", &key, "");
        assert_eq!(status, 503, "{body}");
    }
    let (status, _) = http(&addr, "GET", "/healthz", "", "");
    assert_eq!(status, 200);
    assert!(terminate(&mut child).success());
}

/// `drugtrace serve` answers on the address it logs, and on SIGTERM finishes and exits
/// cleanly with every acknowledged event in the store.
#[test]
fn serve_answers_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let key_of = |institution: &str| create_key(&data, "institution", institution);
    let (m1, p1) = (key_of("M1"), key_of("P1"));
    assert!(m1.starts_with("dtk_") && m1 != p1);
    let keys = std::fs::read_to_string(data.join("keys.jsonl")).unwrap();
    assert!(!keys.contains(&m1), "only the key's hash is stored");
    let regulator = create_key_as(&data, "regulator", None);
    let (mut child, addr) = spawn_serve(&data, "info", &[]);
    let (status, _) = http(&addr, "GET", "/healthz", "", "");
    assert_eq!(status, 200);
    let (status, body) = http(
        &addr,
        "POST",
        "/v1/events",
        &m1,
        r#"[{"type":"commission","code":"81000010000000000042","at":"2025-03-01 09:00:00","institution":"M1"}]"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        &addr,
        "POST",
        "/v1/gate/sale",
        &p1,
        r#"{"settlement_id":"S1","institution":"P1","items":[{"code":"81000010000000000042"}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""decision":"allow""#), "{body}");
    // A recall recorded before a restart still blocks after it (recalls.jsonl).
    let (status, body) = http(
        &addr,
        "POST",
        "/v1/recalls",
        &regulator,
        r#"{"drug_id":"8100001","batch":"250301","reason":"contamination"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let exit = terminate(&mut child);
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    let out = ok(drugtrace(&data)
        .args(["lookup", "81000010000000000042"])
        .output()
        .unwrap());
    assert!(out.contains("sales            1"), "{out}");
    let (mut child, addr) = spawn_serve(&data, "info", &[]);
    let (status, body) = http(
        &addr,
        "POST",
        "/v1/gate/sale",
        &p1,
        r#"{"settlement_id":"S2","institution":"P1","items":[{"code":"81000010000000000043","batch":"250301"}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""reason":"recalled""#), "{body}");
    assert!(terminate(&mut child).success());
}

/// A synthetic province imports cleanly: its catalog, and its events with no bad line, the
/// planted fraud showing up as the gate's rejections.
#[test]
fn a_synthetic_province_imports_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(drugtrace(&data).arg("init").output().unwrap());
    let province = dir.path().join("province");
    let out = ok(drugtrace(&data)
        .args([
            "synth",
            "--packs",
            "3000",
            "--seed",
            "7",
            "--fraud-rate",
            "0.05",
            "--out",
        ])
        .arg(&province)
        .output()
        .unwrap());
    assert!(out.contains("3000 packs"), "{out}");
    ok(drugtrace(&data)
        .args(["catalog", "import"])
        .arg(province.join("catalog.csv"))
        .output()
        .unwrap());
    let out = ok(drugtrace(&data)
        .arg("import")
        .arg(province.join("events.jsonl"))
        .output()
        .unwrap());
    assert!(out.contains("no bad lines"), "{out}");
    assert!(out.contains("rejected (already_sold)"), "{out}");
    let out = ok(drugtrace(&data)
        .args(["rebuild", "--check"])
        .output()
        .unwrap());
    assert!(out.contains("0 stored states differed"), "{out}");

    // The settlement system's items: added once, skipped when imported again.
    let settlements = province.join("settlements.csv");
    let out = ok(drugtrace(&data)
        .args(["settlements", "import"])
        .arg(&settlements)
        .output()
        .unwrap());
    assert!(out.contains(" 0 already imported"), "{out}");
    assert!(out.contains("part-000001.parquet"), "{out}");
    let rows: usize = out.split(' ').next().unwrap().parse().unwrap();
    let out = ok(drugtrace(&data)
        .args(["settlements", "import"])
        .arg(&settlements)
        .output()
        .unwrap());
    assert!(
        out.contains(&format!(
            "{rows} rows: 0 settled items added, {rows} already imported"
        )),
        "{out}"
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "settlement_id,institution,at,insurance_code,amount\nS1,P1,yesterday,X1,1\n",
    )
    .unwrap();
    let err = fail(
        drugtrace(&data)
            .args(["settlements", "import"])
            .arg(&bad)
            .output()
            .unwrap(),
    );
    assert!(err.contains("line 2, field at"), "{err}");
    ok(drugtrace(&data)
        .args(["analytics", "export"])
        .output()
        .unwrap());
    let out = ok(drugtrace(&data)
        .args(["analytics", "sql", "SELECT COUNT(*) AS n FROM settlements"])
        .output()
        .unwrap());
    assert_eq!(out, format!("n\n{rows}\n"));

    // Kept current by updates: the packs recorded since the export began are read again
    // (here, all of them: the import ended minutes ago), then the per-pack models run over
    // those only once there are findings to keep.
    let out = ok(drugtrace(&data)
        .args(["analytics", "run", "--update"])
        .output()
        .unwrap());
    assert!(out.contains("updated: "), "{out}");
    assert!(!out.contains("over the changed packs"), "{out}");
    let out = ok(drugtrace(&data)
        .args(["analytics", "run", "--update"])
        .output()
        .unwrap());
    assert!(
        out.contains("(the per-pack models over the changed packs)"),
        "{out}"
    );
    let out = ok(drugtrace(&data)
        .args(["analytics", "update", "--cap", "1"])
        .output()
        .unwrap());
    assert!(
        out.contains("exported whole (more than 1 packs changed since the export)"),
        "{out}"
    );
}

/// The main job, short of serving: every case of the patient's query gets a sample code
/// that the patient query then answers with that case.
#[test]
fn the_demo_finds_a_sample_for_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(Command::new(env!("CARGO_BIN_EXE_drugtrace"))
        .args(["demo", "--packs", "5000", "--no-serve", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap());
    assert!(out.contains("no bad lines"), "{out}");
    assert!(
        out.contains("settled items added, 0 already imported"),
        "{out}"
    );
    assert!(out.contains("regulator                  dtk_"), "{out}");
    for case in [
        "no_sale",
        "one_sale",
        "one_sale_mine",
        "one_sale_not_mine",
        "multiple_sales",
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{case} ")))
            .unwrap_or_else(|| panic!("no line for {case}:\n{out}"));
        assert!(line.contains("/?code="), "{case} has no sample: {line}");
    }
    // "Mine" and "not mine" come with assertions signed by the directory's identity key,
    // for two different persons.
    let key = identity_key(&dir.path().join("data"));
    let sub = |case: &str| {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{case} ")))
            .unwrap();
        let token = line
            .split_once("#assertion=")
            .unwrap_or_else(|| panic!("{case} has no assertion: {line}"))
            .1;
        key.verify(token, now()).unwrap().sub
    };
    assert_ne!(sub("one_sale_mine"), sub("one_sale_not_mine"));
}

fn identity_key(data: &Path) -> drugtrace_api::IdentityKey {
    drugtrace_api::IdentityKey::from_hex(
        &std::fs::read_to_string(data.join("identity.key")).unwrap(),
    )
    .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `init` writes the identity provider's key (hex, owner only); `identity token` signs an
/// assertion with it; `identity init` gives a directory made before the key one, and never
/// replaces a key.
#[test]
fn identity_tokens_are_signed_with_the_directory_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let path = data.join("identity.key");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim().len(), 64, "32 bytes as hex: {text:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(path.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }
    let token = ok(drugtrace(&data)
        .args([
            "identity",
            "token",
            "--person",
            "11010519491231002X",
            "--minutes",
            "5",
        ])
        .output()
        .unwrap());
    let id = identity_key(&data).verify(token.trim(), now()).unwrap();
    assert_eq!(id.sub, "11010519491231002X");
    assert!((now() + 240..=now() + 300).contains(&id.exp), "{}", id.exp);
    let err = fail(
        drugtrace(&data)
            .args(["identity", "init"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("never replaced"), "{err}");
    let err = fail(
        drugtrace(&data)
            .args(["identity", "token", "--person", "P", "--minutes", "0"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("--minutes"), "{err}");

    // A directory from before the key: no token until `identity init` makes one.
    std::fs::remove_file(&path).unwrap();
    let err = fail(
        drugtrace(&data)
            .args(["identity", "token", "--person", "P"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("`drugtrace identity init`"), "{err}");
    ok(drugtrace(&data)
        .args(["identity", "init"])
        .output()
        .unwrap());
    let token = ok(drugtrace(&data)
        .args(["identity", "token", "--person", "P"])
        .output()
        .unwrap());
    assert!(identity_key(&data).verify(token.trim(), now()).is_ok());
}

/// Issue 13: three regulator queries each stopped or held the whole server. `SELECT
/// 1+1+…+1` overflowed the SQL thread's stack and aborted the process; a sort over a cross
/// join answered 408 but kept a core busy and the next query waited behind it; and a
/// scalar function's allocation past the memory limit aborted the process. Now queries run
/// in worker processes: each of these ends its own worker, the answers say why, and the
/// server, gate included, goes on answering at once.
#[test]
fn no_query_can_stop_or_hold_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(Command::new(env!("CARGO_BIN_EXE_drugtrace"))
        .args(["demo", "--packs", "3000", "--no-serve", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap());
    let key = out
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("regulator"))
        .and_then(|rest| rest.split_whitespace().find(|w| w.starts_with("dtk_")))
        .unwrap_or_else(|| panic!("no regulator key in:\n{out}"))
        .to_owned();
    let data = dir.path().join("data");
    let (mut child, addr) = spawn_serve(
        &data,
        "info",
        &[
            ("DRUGTRACE_SQL_TIMEOUT_SECONDS", "3"),
            ("DRUGTRACE_SQL_MEMORY_MB", "1024"),
        ],
    );
    let sql = |query: &str| {
        let body = serde_json::json!({ "query": query }).to_string();
        http(&addr, "POST", "/v1/sql", &key, &body)
    };
    let (status, body) = sql("SELECT count(*) AS n FROM events");
    assert_eq!(status, 200, "{body}");

    // 100 KB of `1+1+…`: refused for its size before anything parses it.
    let long = format!("SELECT 1{}", "+1".repeat(50_000));
    let (status, body) = sql(&long);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("at most 65536"), "{body}");
    // Under the size limit, as deep as it can be: answered (or its worker stopped), and
    // either way the server lives.
    let deep = format!("SELECT 1{}", "+1".repeat(30_000));
    let (status, body) = sql(&deep);
    assert!(matches!(status, 200 | 400 | 422), "{status} {body}");

    // A sort over a cross join: stopped at the time limit, and the next query is answered
    // at once, not after the first has finished.
    let started = std::time::Instant::now();
    let (status, body) =
        sql("SELECT a.code FROM events a CROSS JOIN events b ORDER BY a.code, b.code DESC");
    assert_eq!(status, 408, "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let started = std::time::Instant::now();
    let (status, body) = sql("SELECT 1 AS one");
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the next query waited {:?}",
        started.elapsed()
    );

    // An allocation past the worker's memory ends the worker, not the server.
    let (status, body) =
        sql("SELECT length(repeat(arrow_cast('x', 'LargeUtf8'), 3000000000)) AS n");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("query_stopped"), "{body}");

    let (status, _) = http(&addr, "GET", "/healthz", "", "");
    assert_eq!(status, 200);
    assert!(terminate(&mut child).success());
}

/// Issue 14: two `drugtrace serve` processes, each with its own data directory, keep the
/// ledger in one PostgreSQL database: a pack sold through one is blocked through the other,
/// and what either acknowledged is there after both are gone.
#[test]
fn two_servers_on_one_database_sell_a_pack_once() {
    let server = drugtrace_store_postgres::testing::Server::start();
    let database = server.database("cli_two_servers");
    let dir = tempfile::tempdir().unwrap();
    let start = |name: &str| {
        let data = dir.path().join(name);
        init_data(&data, &["--database", &database]);
        let (m1, p1) = (
            create_key(&data, "manufacturer", "M1"),
            create_key(&data, "pharmacy", "P1"),
        );
        let (child, addr) = spawn_serve(&data, "info", &[]);
        (data, child, addr, m1, p1)
    };
    let (data_a, mut a, addr_a, m1_a, p1_a) = start("a");
    let (data_b, mut b, addr_b, _, p1_b) = start("b");
    // Both hash buyers and check patients' assertions with the database's secrets.
    for file in ["person.key", "identity.key"] {
        assert_eq!(
            std::fs::read(data_a.join(file)).unwrap(),
            std::fs::read(data_b.join(file)).unwrap(),
            "{file} is shared"
        );
    }
    assert!(
        !data_a.join("store").exists(),
        "the packs live in the database, not in the data directory"
    );
    let (status, body) = http(
        &addr_a,
        "POST",
        "/v1/events",
        &m1_a,
        r#"[{"type":"commission","code":"81000010000000000042","at":"2025-03-01 09:00:00","institution":"M1"}]"#,
    );
    assert_eq!(status, 200, "{body}");
    let sale = |settlement: &str| {
        format!(
            r#"{{"settlement_id":"{settlement}","institution":"P1","items":[{{"code":"81000010000000000042"}}]}}"#
        )
    };
    let (status, body) = http(&addr_a, "POST", "/v1/gate/sale", &p1_a, &sale("S1"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""decision":"allow""#), "{body}");
    let (status, body) = http(&addr_b, "POST", "/v1/gate/sale", &p1_b, &sale("S2"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""decision":"block""#), "{body}");
    assert!(body.contains("already_sold"), "{body}");
    // A key made on one directory while both serve is accepted by the other server too: the
    // keys are a journal of the database, which every server reads on.
    let regulator = create_key_as(&data_a, "regulator", None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, body) = http(&addr_b, "GET", "/v1/clues", &regulator, "");
        if status == 200 {
            break;
        }
        assert_eq!(status, 401, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "server b never accepted the key made on a: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        !data_a.join("keys.jsonl").exists(),
        "the keys live in the database, not in the data directory"
    );
    // A catalog imported on one directory and a directory of institutions imported on the
    // other, while both serve, reach both servers: they are journals of the database too.
    let files = tempfile::tempdir().unwrap();
    let catalog = files.path().join("more.csv");
    std::fs::write(
        &catalog,
        "insurance_code,drug_id_prefix,generic_name,manufacturer,units_per_pack\n\
         XJ01CAA040A001010100009,8100009,示例新药胶囊,浙江示例制药有限公司,12\n",
    )
    .unwrap();
    let out = ok(drugtrace(&data_a)
        .args(["catalog", "import"])
        .arg(&catalog)
        .output()
        .unwrap());
    assert!(out.contains("for every server on it"), "{out}");
    let institutions = files.path().join("institutions.csv");
    std::fs::write(
        &institutions,
        "code,name,kind,province,city,lat,lon\nP1,示例共享药房,pharmacy,福建省,福州市,26.08,119.30\n",
    )
    .unwrap();
    let out = ok(drugtrace(&data_b)
        .arg("institutions")
        .arg(&institutions)
        .output()
        .unwrap());
    assert!(out.contains("for every server on it"), "{out}");
    for (addr, code, want) in [
        (&addr_b, "81000090000000000001", "示例新药胶囊"),
        (&addr_a, "81000090000000000001", "示例新药胶囊"),
        (&addr_a, "81000010000000000042", "示例共享药房"),
        (&addr_b, "81000010000000000042", "示例共享药房"),
    ] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, body) = http(addr, "GET", &format!("/v1/codes/{code}"), "", "");
            assert_eq!(status, 200, "{body}");
            if body.contains(want) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{addr} never showed {want} for {code}: {body}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    let out = ok(drugtrace(&data_b)
        .args(["catalog", "lookup", "XJ01CAA040A001010100009"])
        .output()
        .unwrap());
    assert!(out.contains("示例新药胶囊"), "{out}");
    // Settlement items imported on one directory are the database's: the other server
    // copies them within a second or so, and importing them there again adds nothing.
    let items = files.path().join("settlements.csv");
    std::fs::write(
        &items,
        "settlement_id,institution,at,insurance_code,amount\n\
         S1,P1,2025-03-02 10:00:00,XJ01CAA040A001010100009,12.50\n\
         S2,P1,2025-03-02 11:00:00,XJ01CAA040A001010100009,12.50\n",
    )
    .unwrap();
    let out = ok(drugtrace(&data_b)
        .args(["settlements", "import"])
        .arg(&items)
        .output()
        .unwrap());
    assert!(out.contains("2 settled items added"), "{out}");
    assert!(
        !data_b.join("settlements").exists(),
        "the items live in the database, not in the data directory"
    );
    let copied = data_a
        .join("settlements.shared")
        .join("part-000001.parquet");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !copied.is_file() {
        assert!(
            std::time::Instant::now() < deadline,
            "server a never copied the items imported on b"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = ok(drugtrace(&data_a)
        .args(["settlements", "import"])
        .arg(&items)
        .output()
        .unwrap());
    assert!(
        out.contains("0 settled items added, 2 already imported"),
        "{out}"
    );
    // A recall recorded through one server blocks the batch through the other within a
    // second or so: the recalls are a journal of the database.
    let (status, body) = http(
        &addr_a,
        "POST",
        "/v1/recalls",
        &regulator,
        r#"{"drug_id":"8100001","batch":"250301","reason":"contamination"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for n in 0.. {
        let (status, body) = http(
            &addr_b,
            "POST",
            "/v1/gate/sale",
            &p1_b,
            &format!(
                r#"{{"settlement_id":"R{n}","institution":"P1","items":[{{"code":"810000100000000009{n:02}","batch":"250301"}}]}}"#
            ),
        );
        assert_eq!(status, 200, "{body}");
        if body.contains(r#""reason":"recalled""#) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server b never applied the recall made on a: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for child in [&mut a, &mut b] {
        assert!(terminate(child).success());
    }
    let out = ok(drugtrace(&data_a)
        .args(["lookup", "81000010000000000042"])
        .output()
        .unwrap());
    assert!(out.contains("sales            1"), "{out}");
    let check = ok(drugtrace(&data_a)
        .args(["rebuild", "--check"])
        .output()
        .unwrap());
    assert!(check.contains("0 stored states differed"), "{check}");
}

/// A webhook receiver on a thread: each POST's `Drugtrace-Signature` and body, answered 200.
fn receiver() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/findings", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut signature) = (0, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("drugtrace-signature:") {
                    signature = line.split_once(':').unwrap().1.trim().to_owned();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx
                .send((signature, String::from_utf8_lossy(&body).into_owned()))
                .is_err()
            {
                return;
            }
        }
    });
    (url, rx)
}

/// Issue 16, live supervision, on two servers sharing a database: a sale blocked through
/// one shows on the other's overview, and with both running the models every second a
/// subscribed webhook is sent the new finding once, signed, not once per server.
#[test]
fn two_servers_share_the_live_feed_and_send_each_new_finding_once() {
    let server = drugtrace_store_postgres::testing::Server::start();
    let database = server.database("cli_live");
    let dir = tempfile::tempdir().unwrap();
    let start = |name: &str, pharmacy: &str| {
        let data = dir.path().join(name);
        init_data(&data, &["--database", &database]);
        let key = create_key(&data, "pharmacy", pharmacy);
        let (child, addr) = spawn_serve(&data, "info", &[("DRUGTRACE_MODELS_EVERY", "1s")]);
        (data, child, addr, key)
    };
    let (data_a, mut a, addr_a, p1) = start("a", "P1");
    let (data_b, mut b, addr_b, p2) = start("b", "P2");
    let maker = create_key(&data_a, "manufacturer", "M1");
    let regulator = create_key_as(&data_a, "regulator", None);
    let (dest, deliveries) = receiver();
    let secret = "the-bureau-system-secret-77";
    // Keys made while the servers run reach them within a second or so (the database's
    // journal); then a subscribes the webhook.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, body) = http(
            &addr_a,
            "POST",
            "/v1/findings/subscriptions",
            &regulator,
            &format!(r#"{{"dest":"{dest}","secret":"{secret}"}}"#),
        );
        if status == 201 {
            break;
        }
        assert_eq!(status, 401, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "the key never reached a"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let code = "81000010000000000077";
    let (status, body) = http(
        &addr_a,
        "POST",
        "/v1/events",
        &maker,
        &format!(
            r#"[{{"type":"commission","code":"{code}","at":"2025-03-01 09:00:00","institution":"M1"}}]"#
        ),
    );
    assert_eq!(status, 200, "{body}");
    let sale = |settlement: &str, institution: &str| {
        format!(
            r#"{{"settlement_id":"{settlement}","institution":"{institution}","items":[{{"code":"{code}","amount":21.5}}]}}"#
        )
    };
    let (_, body) = http(&addr_a, "POST", "/v1/gate/sale", &p1, &sale("L1", "P1"));
    assert!(body.contains(r#""decision":"allow""#), "{body}");
    let (_, body) = http(&addr_b, "POST", "/v1/gate/sale", &p2, &sale("L2", "P2"));
    assert!(body.contains(r#""decision":"block""#), "{body}");

    // The sale blocked on b is on a's overview (once a's first model run made a warehouse).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(&addr_a).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        write!(
            s,
            "GET /dashboard/?lang=en HTTP/1.1\r\nHost: {addr_a}\r\nCookie: drugtrace_key={regulator}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut page = String::new();
        let _ = s.read_to_string(&mut page);
        if page.starts_with("HTTP/1.1 200") && page.contains(&format!(">{code}<")) {
            assert!(page.contains("L2"), "the blocked settlement is shown");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a's overview never showed the sale blocked on b: {}",
            &page[..page.len().min(300)]
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    // The duplicate sale reaches the webhook, signed; then nothing more about it comes.
    let duplicate = format!(r#""model":"duplicate_sale","severity":"high","code":"{code}""#);
    let mut seen = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while seen == 0 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let (signature, body) = deliveries
            .recv_timeout(left)
            .expect("no finding reached the webhook");
        assert_eq!(
            signature,
            drugtrace_api::epcis_signature(secret, body.as_bytes()),
            "signed under the secret"
        );
        seen += body.matches(&duplicate).count();
    }
    let quiet = std::time::Instant::now() + std::time::Duration::from_secs(6);
    while let Some(left) = quiet.checked_duration_since(std::time::Instant::now()) {
        match deliveries.recv_timeout(left) {
            Ok((_, body)) => seen += body.matches(&duplicate).count(),
            Err(_) => break,
        }
    }
    assert_eq!(
        seen, 1,
        "the new finding was sent once, not once per server or per run"
    );
    for data in [&data_a, &data_b] {
        assert!(
            data.join("warehouse").join("findings.parquet").is_file(),
            "each server runs the models on its own warehouse"
        );
    }
    for child in [&mut a, &mut b] {
        assert!(terminate(child).success());
    }
}

/// Issue 14: `drugtrace migrate` copies an embedded data directory into PostgreSQL and
/// verifies it; run again, it finds everything there; the ledger then answers the same from
/// the database.
#[test]
fn migrate_copies_the_embedded_store_into_postgres() {
    let server = drugtrace_store_postgres::testing::Server::start();
    let database = server.database("cli_migrate");
    let dir = tempfile::tempdir().unwrap();
    let data = init(dir.path());
    let events = dir.path().join("events.jsonl");
    std::fs::copy(examples().join("events.jsonl"), &events).unwrap();
    ok(drugtrace(&data)
        .arg("import")
        .arg(&events)
        .output()
        .unwrap());
    let before = ok(drugtrace(&data)
        .args(["lookup", "81000010000000000001"])
        .output()
        .unwrap());
    let pharmacy = create_key(&data, "pharmacy", "P1");
    create_key_as(&data, "regulator", None);
    let items = dir.path().join("settlements.csv");
    std::fs::write(
        &items,
        "settlement_id,institution,at,insurance_code,amount\n\
         S1,P1,2025-03-02 10:00:00,XJ01CAA040A001010100863,12.50\n",
    )
    .unwrap();
    ok(drugtrace(&data)
        .args(["settlements", "import"])
        .arg(&items)
        .output()
        .unwrap());
    let out = ok(drugtrace(&data)
        .args(["migrate", "--to", &database])
        .output()
        .unwrap());
    assert!(out.contains("0 packs were there already"), "{out}");
    assert!(
        out.contains("1 parts of settlement items into the database"),
        "{out}"
    );
    assert!(out.contains("verified:"), "{out}");
    assert!(
        out.contains("2 records copied into the shared journal keys, 0 there already"),
        "{out}"
    );
    assert!(
        out.contains("4 new products, into the database's catalog"),
        "{out}"
    );
    let again = ok(drugtrace(&data)
        .args(["migrate", "--to", &database])
        .output()
        .unwrap());
    assert!(again.starts_with("copied 0 packs"), "{again}");
    assert!(
        again.contains("0 records copied into the shared journal keys, 2 there already"),
        "{again}"
    );
    assert!(
        again.contains("the database has a catalog of its own already (1 imports); kept"),
        "{again}"
    );
    assert!(
        again.contains("the database has settlement items of its own already; kept"),
        "{again}"
    );
    // A server on the database accepts the migrated keys, with the file gone.
    std::fs::remove_file(data.join("keys.jsonl")).unwrap();
    let config = std::fs::read_to_string(data.join("drugtrace.toml")).unwrap();
    std::fs::write(
        data.join("drugtrace.toml"),
        format!("database = {database:?}\n{config}"),
    )
    .unwrap();
    let (mut child, addr) = spawn_serve(&data, "info", &[]);
    let (status, body) = http(
        &addr,
        "GET",
        "/v1/packs/81000010000000000001",
        &pharmacy,
        "",
    );
    assert_ne!(status, 401, "{body}");
    assert!(terminate(&mut child).success());
    let after = ok(drugtrace(&data)
        .args(["--database", &database, "lookup", "81000010000000000001"])
        .output()
        .unwrap());
    assert_eq!(before, after);
    let out = ok(drugtrace(&data)
        .args(["--database", &database, "settlements", "import"])
        .arg(&items)
        .output()
        .unwrap());
    assert!(
        out.contains("0 settled items added, 1 already imported"),
        "{out}"
    );
    let check = ok(drugtrace(&data)
        .args(["--database", &database, "rebuild", "--check"])
        .output()
        .unwrap());
    assert!(check.contains("0 stored states differed"), "{check}");
    // Another installation's directory cannot use this database.
    let other = tempfile::tempdir().unwrap();
    let other = init(other.path());
    let err = fail(
        drugtrace(&other)
            .args(["--database", &database, "lookup", "81000010000000000001"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("differs from the person-hash secret"), "{err}");
}

/// Issue 14: two `drugtrace serve` processes on a 3-node Patroni cluster take gate sales from
/// four clients (two of them, one per server, racing for the same packs) when the leader is
/// killed (kill -9 of its Patroni and its postmaster). Every answered decision is in the
/// ledger as it was answered, no pack is sold twice, the gate answers again through the new
/// leader, and the old leader, brought back, rejoins as a replica.
#[test]
fn a_leader_killed_under_gate_load_through_two_servers_loses_no_sale() {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    const PACKS: u64 = 300;
    let cluster = drugtrace_store_postgres::testing::Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let code = |n: u64| format!("8100001{:013}", 500_000 + n);
    let mut servers = Vec::new();
    for name in ["a", "b"] {
        let data = dir.path().join(name);
        init_data(&data, &["--store", cluster.conninfo()]);
        let (m1, p1) = (
            create_key(&data, "manufacturer", "M1"),
            create_key(&data, "pharmacy", "P1"),
        );
        let (child, addr) = spawn_serve(&data, "info", &[]);
        servers.push((data, child, addr, m1, p1));
    }
    let events: Vec<String> = (0..PACKS)
        .map(|n| {
            format!(
                r#"{{"type":"commission","code":"{}","at":"2025-03-01 09:00:00","institution":"M1"}}"#,
                code(n)
            )
        })
        .collect();
    let (status, body) = http(
        &servers[0].2,
        "POST",
        "/v1/events",
        &servers[0].3,
        &format!("[{}]", events.join(",")),
    );
    assert_eq!(status, 200, "{body}");

    // (pack, settlement, allowed) as each client was answered.
    let acked: Arc<Mutex<Vec<(u64, String, bool)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let unavailable = Arc::new(AtomicU64::new(0));
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let first_after: Arc<Mutex<Option<Duration>>> = Arc::default();
    let acked_after = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4u64)
        .map(|w| {
            let (addr, key) = (
                servers[w as usize % 2].2.clone(),
                servers[w as usize % 2].4.clone(),
            );
            let (acked, stop, unavailable) =
                (Arc::clone(&acked), Arc::clone(&stop), Arc::clone(&unavailable));
            let (killed_at, first_after, acked_after) = (
                Arc::clone(&killed_at),
                Arc::clone(&first_after),
                Arc::clone(&acked_after),
            );
            std::thread::spawn(move || {
                let mut attempt = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Clients 0 (server a) and 1 (server b) walk the same packs.
                    let n = match w {
                        0 | 1 => attempt % (PACKS / 2),
                        _ => PACKS / 2 + (attempt * 2 + w - 2) % (PACKS / 2),
                    };
                    attempt += 1;
                    let settlement = format!("W{w}A{attempt}");
                    let body = format!(
                        r#"{{"settlement_id":"{settlement}","institution":"P1","items":[{{"code":"{}"}}]}}"#,
                        code(n)
                    );
                    let (status, answer) = http(&addr, "POST", "/v1/gate/sale", &key, &body);
                    match status {
                        200 => {
                            let allowed = answer.contains(r#""decision":"allow""#);
                            assert!(
                                allowed || answer.contains(r#""decision":"block""#),
                                "{answer}"
                            );
                            acked.lock().unwrap().push((n, settlement, allowed));
                            if let Some(at) = *killed_at.lock().unwrap() {
                                acked_after.fetch_add(1, Ordering::Relaxed);
                                first_after.lock().unwrap().get_or_insert(at.elapsed());
                            }
                        }
                        503 => {
                            // Nothing decided: a client sends it again later.
                            unavailable.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        _ => panic!("{status} for {settlement}: {answer}"),
                    }
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs(3));
    let before = acked.lock().unwrap().len();
    assert!(before > 0, "sales were answered before the kill");
    let leader = cluster.kill_leader();
    *killed_at.lock().unwrap() = Some(Instant::now());
    let deadline = Instant::now() + Duration::from_secs(90);
    while acked_after.load(Ordering::Relaxed) < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let after = acked_after.load(Ordering::Relaxed);
    assert!(
        after >= 200,
        "the gate answered again after the kill: {after} sales"
    );
    let gap = first_after
        .lock()
        .unwrap()
        .expect("an answer after the kill");

    // The old leader comes back as a replica.
    let rejoin_started = Instant::now();
    cluster.up();
    let rejoined = loop {
        let members = cluster.members();
        if members.iter().any(|(name, role, state)| {
            name == &leader && role != "leader" && (state == "running" || state == "streaming")
        }) {
            break rejoin_started.elapsed();
        }
        assert!(
            rejoin_started.elapsed() < Duration::from_secs(90),
            "{leader} did not rejoin: {members:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    let store = drugtrace_store_postgres::PostgresStore::connect(cluster.conninfo()).unwrap();
    let acked = acked.lock().unwrap();
    let mut by_pack: HashMap<u64, Vec<&(u64, String, bool)>> = HashMap::new();
    for a in acked.iter() {
        by_pack.entry(a.0).or_default().push(a);
    }
    for (n, answers) in &by_pack {
        let key = TraceCode::parse(&code(*n)).unwrap().pack_key();
        let log = store.history(&key).unwrap();
        let sales: Vec<_> = log
            .iter()
            .filter(|r| matches!(r.event.kind, drugtrace_ledger::EventKind::Sale(_)))
            .collect();
        let sold = sales.iter().filter(|r| r.outcome.is_applied()).count();
        assert!(sold <= 1, "pack {n} sold {sold} times");
        for (_, settlement, allowed) in answers {
            let rec = sales
                .iter()
                .find(|r| matches!(&r.event.kind, drugtrace_ledger::EventKind::Sale(s) if s.settlement.as_ref().is_some_and(|s| s.as_str() == settlement)))
                .unwrap_or_else(|| panic!("pack {n}: answered {settlement} is not in the ledger"));
            assert_eq!(rec.outcome.is_applied(), *allowed, "pack {n}: {settlement}");
        }
    }
    for (_, child, ..) in servers.iter_mut() {
        assert!(terminate(child).success());
    }
    let check = ok(drugtrace(&servers[0].0)
        .args(["rebuild", "--check"])
        .output()
        .unwrap());
    assert!(check.contains("0 stored states differed"), "{check}");
    eprintln!(
        "failover through two servers: {} sales answered ({before} before the kill of {leader}, {after} after), {} answered 503, first answer {:.1} s after the kill, {leader} back as a replica {:.1} s after it was started again; 0 lost, 0 sold twice",
        acked.len(),
        unavailable.load(Ordering::Relaxed),
        gap.as_secs_f64(),
        rejoined.as_secs_f64(),
    );
}
