//! Issue 16, live supervision: the models run on a schedule inside the server, and a
//! subscribed webhook is sent each new finding, signed with its secret, once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use drugtrace_api::{Supervision, SupervisionPaths};
use serde_json::{Value, json};

use super::{REGULATOR_KEY, commission, spawn_state, test_state, webhook};

/// The findings in the deliveries `rx` gets within `wait` that name `code`, each checked
/// against its signature under `secret`.
async fn findings_for(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<super::Received>,
    secret: &str,
    code: &str,
    wait: Duration,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut found = Vec::new();
    while let Ok(Some((_, signature, body))) = tokio::time::timeout_at(deadline, rx.recv()).await {
        assert_eq!(
            signature.as_deref(),
            Some(drugtrace_api::epcis_signature(secret, body.as_bytes()).as_str()),
            "a delivery is signed under the subscription's secret"
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        found.extend(
            body["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["code"] == code)
                .cloned(),
        );
        if !found.is_empty() {
            break;
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_model_run_sends_each_new_finding_signed_once() {
    let dir = tempfile::tempdir().unwrap();
    let supervision = Supervision::open(&SupervisionPaths::in_data_dir(dir.path())).unwrap();
    let state = test_state(
        dir.path(),
        drugtrace_api::RateLimiter::new(1000, 1000.0),
        None,
    )
    .with_supervision(supervision)
    .with_model_schedule(Duration::from_secs(1));
    let app = spawn_state(dir, state).await;
    let (hook, mut rx) = webhook("drugtrace-signature");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dest = format!("http://{}/findings", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
    let subscribe = |body: Value| {
        app.http
            .post(format!("{}/v1/findings/subscriptions", app.url))
            .bearer_auth(REGULATOR_KEY)
            .json(&body)
            .send()
    };

    // Bad subscriptions are refused, naming the field.
    for (body, field) in [
        (json!({"dest": dest, "secret": "short"}), "secret"),
        (
            json!({"dest": "ftp://x", "secret": "0123456789abcdef"}),
            "dest",
        ),
        (
            json!({"dest": dest, "secret": "0123456789abcdef", "models": ["nope"]}),
            "models",
        ),
        (
            json!({"dest": dest, "secret": "0123456789abcdef", "min_severity": "urgent"}),
            "min_severity",
        ),
    ] {
        let r = subscribe(body).await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], field);
    }
    // Not JSON, or a field the API does not know (a misspelt one), is refused too.
    for body in [
        r#"{"dest": "#,
        r#"{"dest": "http://x", "secret": "0123456789abcdef", "sekret": 1}"#,
    ] {
        let r = app
            .http
            .post(format!("{}/v1/findings/subscriptions", app.url))
            .bearer_auth(REGULATOR_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
    }
    let institution = app
        .http
        .post(format!("{}/v1/findings/subscriptions", app.url))
        .bearer_auth(super::key_of("P35010200017"))
        .json(&json!({"dest": dest, "secret": "0123456789abcdef"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        institution.status(),
        403,
        "an institution may not subscribe"
    );

    let secret = "the-bureau-system-secret-42";
    let r = subscribe(json!({"dest": dest, "secret": secret}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list: Value = app
        .http
        .get(format!("{}/v1/findings/subscriptions", app.url))
        .bearer_auth(REGULATOR_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["subscriptions"][0]["id"], id);
    assert!(
        !list.to_string().contains(secret),
        "the secret is never shown"
    );

    // A pack sold at one pharmacy, then settled again at another: the gate blocks the
    // second payment, and the next run finds a duplicate sale.
    let code = "81000010000000000901";
    app.post("/v1/events", &json!([commission(code)])).await;
    let first = app
        .sale("S-W1", "P35010200017", "350102199001011234", &[code])
        .await;
    assert_eq!(first["decision"], "allow");
    let again = app
        .sale("S-W2", "P13070300088", "350102199001011234", &[code])
        .await;
    assert_eq!(again["decision"], "block");
    let found = findings_for(&mut rx, secret, code, Duration::from_secs(120)).await;
    assert!(
        found.iter().any(|f| f["model"] == "duplicate_sale"),
        "no duplicate sale of {code} delivered: {found:?}"
    );
    let f = found
        .iter()
        .find(|f| f["model"] == "duplicate_sale")
        .unwrap();
    assert_eq!(f["severity"], "high");
    assert!(
        f["evidence"].as_array().is_some_and(|e| e.len() >= 2),
        "{f}"
    );

    // Later runs find it again: it is not new, and nothing is sent about it.
    let resent = findings_for(&mut rx, secret, code, Duration::from_secs(5)).await;
    assert!(resent.is_empty(), "sent again: {resent:?}");

    let r = app
        .http
        .delete(format!("{}/v1/findings/subscriptions/{id}", app.url))
        .bearer_auth(REGULATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .http
        .delete(format!("{}/v1/findings/subscriptions/{id}", app.url))
        .bearer_auth(REGULATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// A receiver that answers 503 while `down` is set and takes deliveries (200) once it is
/// not; every attempt reaches `rx` as (taken, body).
fn flaky_receiver(
    down: Arc<AtomicBool>,
) -> (
    axum::Router,
    tokio::sync::mpsc::UnboundedReceiver<(bool, Value)>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let router = axum::Router::new().fallback(move |body: String| {
        let (tx, down) = (tx.clone(), Arc::clone(&down));
        async move {
            let taken = !down.load(Ordering::SeqCst);
            let _ = tx.send((taken, serde_json::from_str(&body).unwrap_or(Value::Null)));
            if taken {
                axum::http::StatusCode::OK
            } else {
                axum::http::StatusCode::SERVICE_UNAVAILABLE
            }
        }
    });
    (router, rx)
}

/// The duplicate sale of `code` among a delivery's findings, if there is one.
fn duplicate_of(body: &Value, code: &str) -> Option<Value> {
    body["findings"]
        .as_array()?
        .iter()
        .find(|f| f["code"] == code && f["model"] == "duplicate_sale")
        .cloned()
}

/// A pack sold at one pharmacy and then at another (blocked), on the server at `app`.
async fn sell_twice(app: &super::App, code: &str) {
    app.post("/v1/events", &json!([commission(code)])).await;
    let first = app
        .sale("S-O1", "P35010200017", "350102199001011234", &[code])
        .await;
    assert_eq!(first["decision"], "allow");
    let again = app
        .sale("S-O2", "P13070300088", "350102199001011234", &[code])
        .await;
    assert_eq!(again["decision"], "block");
}

/// A finding the server that found it could not deliver (its receiver was down) and then
/// died with is not lost: it stays owed in the journal, and another server sends it once it
/// has been owed two periods. Before, a finding was recorded as sent before any delivery,
/// and nobody sent it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_owed_by_a_server_that_died_is_sent_by_another() {
    let down = Arc::new(AtomicBool::new(true));
    let (receiver, mut rx) = flaky_receiver(Arc::clone(&down));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dest = format!("http://{}/findings", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let code = "81000010000000000902";
    let first_dir = tempfile::tempdir().unwrap();
    let journal = first_dir.path().join("finding-hooks.jsonl");

    // The first server, on a runtime of its own so that it can die: it finds the duplicate
    // sale and tries to deliver it while the receiver is down.
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let root = first_dir.path().to_path_buf();
    let first = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let supervision = Supervision::open(&SupervisionPaths::in_data_dir(&root)).unwrap();
            let state = test_state(&root, drugtrace_api::RateLimiter::new(1000, 1000.0), None)
                .with_supervision(supervision)
                .with_model_schedule(Duration::from_secs(1));
            url_tx.send(super::serve(state).await).unwrap();
        });
        let _ = stop_rx.recv();
        // Dies: its scheduler and its retrying delivery go with its runtime.
        rt.shutdown_timeout(Duration::from_secs(5));
    });
    let app = super::App {
        url: url_rx.recv().unwrap(),
        http: reqwest::Client::new(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let r = app
        .http
        .post(format!("{}/v1/findings/subscriptions", app.url))
        .bearer_auth(REGULATOR_KEY)
        .json(&json!({"dest": dest, "secret": "the-bureau-system-secret-43"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    sell_twice(&app, code).await;
    let tried = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let (taken, body) = rx.recv().await.unwrap();
            if let Some(f) = duplicate_of(&body, code) {
                assert!(!taken);
                return f;
            }
        }
    })
    .await
    .expect("the first server tried to deliver the duplicate sale");
    stop_tx.send(()).unwrap();
    tokio::task::spawn_blocking(move || first.join().unwrap())
        .await
        .unwrap();
    down.store(false, Ordering::SeqCst);
    while rx.try_recv().is_ok() {}

    // The second server keeps its own ledger and warehouse (the same sales, so the same
    // finding) and shares the first one's journal.
    let second_dir = tempfile::tempdir().unwrap();
    let paths = SupervisionPaths {
        finding_hooks: journal,
        ..SupervisionPaths::in_data_dir(second_dir.path())
    };
    let state = test_state(
        second_dir.path(),
        drugtrace_api::RateLimiter::new(1000, 1000.0),
        None,
    )
    .with_supervision(Supervision::open(&paths).unwrap())
    .with_model_schedule(Duration::from_secs(1));
    let second = spawn_state(second_dir, state).await;
    sell_twice(&second, code).await;
    let sent = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let (taken, body) = rx.recv().await.unwrap();
            if let Some(f) = duplicate_of(&body, code) {
                return (taken, f);
            }
        }
    })
    .await
    .expect("the second server delivered the owed finding");
    assert!(sent.0, "{sent:?}");
    assert_eq!(sent.1["id"], tried["id"], "the same finding, by its id");
    // Recorded as delivered: not sent again.
    let again = tokio::time::timeout(Duration::from_secs(6), async {
        loop {
            let (_, body) = rx.recv().await.unwrap();
            if duplicate_of(&body, code).is_some() {
                return body;
            }
        }
    })
    .await;
    assert!(again.is_err(), "sent again: {again:?}");
}
