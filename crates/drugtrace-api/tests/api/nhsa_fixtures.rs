//! The national interface as real clients send it: each file in `tests/nhsa/*.json` is one
//! client shape, replayed over HTTP against the real server (a fresh one per file).
//!
//! A fixture is
//!
//! ```json
//! {"about": "what client sends this, and what must happen",
//!  "setup": [<a /v1/events body (an event or a list)> or <an envelope>, ...],
//!  "request": <an envelope>,
//!  "expect": {"infcode": 0,
//!             "paths": {"output.result.retRslt": "1", "output.results[0].outcome": "accepted"},
//!             "events": {"81000020000000000101": ["commission/accepted", "sale/accepted"]},
//!             "packs": {"81000020000000000101": {"events[1].at": "2025-04-08T09:05:03+08:00"}}}}
//! ```
//!
//! - `setup` items are sent in order as the institution they speak for (`institution`, or an
//!   envelope's `fixmedins_code`) and must succeed (HTTP 200; an envelope infcode 0).
//! - `paths` are read in the answer: dotted names with `[i]` indices. The value found must
//!   equal the one expected; `null` also matches an absent field; `{"$contains": "text"}`
//!   and `{"$starts_with": "text"}` match a string.
//! - `events` is each pack's log as the regulator sees it, `type/outcome(reason)`; `packs`
//!   are paths in the pack's `GET /v1/packs/{code}` answer (the regulator's view).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{App, REGULATOR_KEY, key_of, spawn_app};

const SERVICE: &str = "/nhsa/callService";

/// The fixture files, in name order.
fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nhsa");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// The value at `path` (`output.results[0].outcome`) in `v`, if there is one.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for segment in path.split('.') {
        let (name, indices) = match segment.split_once('[') {
            Some((name, rest)) => (name, Some(rest)),
            None => (segment, None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(rest) = indices {
            for index in rest.split('[') {
                let i: usize = index.strip_suffix(']')?.parse().ok()?;
                cur = cur.get(i)?;
            }
        }
    }
    Some(cur)
}

/// Whether `got` is what `want` asks for (see the module's doc).
fn matches(got: Option<&Value>, want: &Value) -> bool {
    let text = got.and_then(Value::as_str);
    match want {
        Value::Null => got.is_none_or(Value::is_null),
        Value::Object(m) if m.len() == 1 && m.contains_key("$contains") => {
            let part = m["$contains"].as_str().expect("$contains takes a string");
            text.is_some_and(|t| t.contains(part))
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("$starts_with") => {
            let head = m["$starts_with"]
                .as_str()
                .expect("$starts_with takes a string");
            text.is_some_and(|t| t.starts_with(head))
        }
        want => got == Some(want),
    }
}

/// Checks each of `paths` in `v`, adding what does not match to `failures`.
fn check_paths(what: &str, v: &Value, paths: &Value, failures: &mut Vec<String>) {
    for (path, want) in paths.as_object().expect("paths is an object") {
        let got = lookup(v, path);
        if !matches(got, want) {
            failures.push(format!(
                "{what} {path}: want {want}, got {}",
                got.map_or("nothing".to_owned(), Value::to_string)
            ));
        }
    }
}

/// Posts an envelope as its `fixmedins_code`; the answer is always HTTP 200.
async fn call(app: &App, envelope: &Value) -> Value {
    let who = envelope["fixmedins_code"]
        .as_str()
        .expect("an envelope names its fixmedins_code");
    let (status, answer) = app.post_with(SERVICE, envelope, Some(&key_of(who))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["inf_refmsgid"], envelope["msgid"], "{answer}");
    answer
}

/// The pack's history as the regulator sees it.
async fn pack(app: &App, code: &str) -> Value {
    let r = app
        .http
        .get(format!("{}/v1/packs/{code}", app.url))
        .bearer_auth(REGULATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

/// A pack's log, `type/outcome(reason)`.
fn log(history: &Value) -> Vec<String> {
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let head = format!(
                "{}/{}",
                e["type"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            );
            match e["reason"].as_str() {
                Some(r) => format!("{head}({r})"),
                None => head,
            }
        })
        .collect()
}

/// Replays one fixture on a fresh server; returns what did not hold.
async fn replay(fixture: &Value) -> Vec<String> {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for (i, step) in fixture["setup"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if step.get("infno").is_some() {
            let answer = call(&app, step).await;
            if answer["infcode"] != 0 {
                failures.push(format!("setup[{i}]: {answer}"));
            }
        } else {
            let (status, body) = app.post("/v1/events", step).await;
            if status != 200 {
                failures.push(format!("setup[{i}]: HTTP {status}: {body}"));
            }
        }
    }
    let answer = call(&app, &fixture["request"]).await;
    let expect = &fixture["expect"];
    if answer["infcode"] != expect["infcode"] {
        failures.push(format!(
            "infcode: want {}, got {}",
            expect["infcode"], answer["infcode"]
        ));
    }
    if let Some(paths) = expect.get("paths") {
        check_paths("answer", &answer, paths, &mut failures);
    }
    if let Some(events) = expect.get("events").and_then(Value::as_object) {
        for (code, want) in events {
            let got = log(&pack(&app, code).await);
            if Value::from(got.clone()) != *want {
                failures.push(format!("events of {code}: want {want}, got {got:?}"));
            }
        }
    }
    if let Some(packs) = expect.get("packs").and_then(Value::as_object) {
        for (code, paths) in packs {
            let history = pack(&app, code).await;
            check_paths(&format!("pack {code}"), &history, paths, &mut failures);
        }
    }
    if !failures.is_empty() {
        failures.push(format!("the answer: {answer}"));
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_shapes_replay_as_their_fixtures_expect() {
    let files = fixtures();
    assert!(files.len() >= 20, "the fixtures are found: {files:?}");
    let mut failed = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let fixture: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        assert!(
            fixture["about"].as_str().is_some_and(|a| !a.is_empty()),
            "{name}: says what it is about"
        );
        assert!(
            fixture["expect"]["infcode"].is_i64(),
            "{name}: expects an infcode"
        );
        let failures = replay(&fixture).await;
        if !failures.is_empty() {
            failed.push(format!("{name}:\n  {}", failures.join("\n  ")));
        }
    }
    assert!(failed.is_empty(), "\n{}", failed.join("\n"));
}

#[test]
fn paths_and_matchers_read_as_documented() {
    let v = serde_json::json!({"output": {"results": [{"outcome": "accepted"}, {"m": [1, [2, 3]]}]}, "err_msg": null});
    assert_eq!(
        lookup(&v, "output.results[0].outcome"),
        Some(&Value::from("accepted"))
    );
    assert_eq!(
        lookup(&v, "output.results[1].m[1][0]"),
        Some(&Value::from(2))
    );
    assert_eq!(lookup(&v, "output.results[2]"), None);
    assert_eq!(lookup(&v, "output.results[x]"), None);
    assert!(matches(lookup(&v, "err_msg"), &Value::Null));
    assert!(matches(lookup(&v, "warn_msg"), &Value::Null));
    assert!(!matches(lookup(&v, "output"), &Value::Null));
    let accepted = lookup(&v, "output.results[0].outcome");
    assert!(matches(accepted, &serde_json::json!({"$contains": "cept"})));
    assert!(matches(
        accepted,
        &serde_json::json!({"$starts_with": "acc"})
    ));
    assert!(!matches(
        accepted,
        &serde_json::json!({"$starts_with": "cept"})
    ));
}
