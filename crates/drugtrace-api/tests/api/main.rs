//! The API over HTTP: the real server on port 0 with its own store, as a hospital system,
//! a settlement system and a patient would use it.

mod browser;
mod cdp;
mod dossier;
mod supervision;

use std::path::Path;

use drugtrace_catalog::Catalog;
use drugtrace_ledger::{InstitutionId, Ledger, PersonKey, Policy};
use drugtrace_store_fjall::FjallStore;
use serde_json::{Value, json};

/// Institutions the tests act as; each has a key.
const INSTITUTIONS: &[&str] = &[
    "M3301001",
    "M9",
    "P35010200017",
    "P13070300088",
    "P1",
    "P0",
    "P2",
    "P3",
    "P4",
    "P5",
    "P6",
    "P7",
    "H1",
];
const REGULATOR_KEY: &str = "dtk_test_regulator";

/// The party kind of a test institution, by its code's first letter: M manufacturer, D
/// distributor, H hospital, else pharmacy.
fn kind_of(institution: &str) -> drugtrace_catalog::InstitutionKind {
    use drugtrace_catalog::InstitutionKind as K;
    match institution.as_bytes()[0] {
        b'M' => K::Manufacturer,
        b'D' => K::Distributor,
        b'H' => K::Hospital,
        _ => K::Pharmacy,
    }
}

fn key_of(institution: &str) -> String {
    format!("dtk_test_{institution}")
}

/// The institution a request body speaks for: its `institution`, or its first event's.
fn speaker(body: &Value) -> Option<String> {
    let obj = if body.is_array() { &body[0] } else { body };
    obj["institution"].as_str().map(str::to_owned)
}

struct App {
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn spawn_app() -> App {
    spawn_app_limited(drugtrace_api::RateLimiter::new(1000, 1000.0)).await
}

async fn spawn_app_limited(limiter: drugtrace_api::RateLimiter) -> App {
    spawn_app_with(limiter, Some(patient_identity::identity_key())).await
}

/// The test server: the example catalog, a key for each test institution and the regulator,
/// and the identity provider's key when one is given.
async fn spawn_app_with(
    limiter: drugtrace_api::RateLimiter,
    identity: Option<drugtrace_api::IdentityKey>,
) -> App {
    let dir = tempfile::tempdir().unwrap();
    let state = test_state(dir.path(), limiter, identity);
    spawn_state(dir, state).await
}

/// Serves `state`, whose files are in `dir`, as the test server.
async fn spawn_state(dir: tempfile::TempDir, state: drugtrace_api::AppState<FjallStore>) -> App {
    let url = serve(state).await;
    App {
        url,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

/// The test server's state (see [`spawn_app_with`]), its store under `dir`, for a test that
/// changes a part of it before serving it with [`spawn_state`].
fn test_state(
    dir: &Path,
    limiter: drugtrace_api::RateLimiter,
    identity: Option<drugtrace_api::IdentityKey>,
) -> drugtrace_api::AppState<FjallStore> {
    let store = FjallStore::open(&dir.join("store")).unwrap();
    let catalog = Catalog::load_csv_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/catalog.csv"),
    )
    .unwrap();
    let ledger = Ledger::new(store, catalog, Policy::default());
    let mut keys = drugtrace_api::Keys::default();
    for i in INSTITUTIONS {
        keys.insert_party(&key_of(i), InstitutionId::parse(i).unwrap(), kind_of(i));
    }
    keys.insert(REGULATOR_KEY, drugtrace_api::Role::Regulator);
    let mut directory = drugtrace_catalog::Directory::default();
    directory
        .import_csv(
            "code,name,kind,province,city,lat,lon\nP35010200017,仁心大药房（五一路店）,pharmacy,福建省,福州,26.07,119.30\n".as_bytes(),
            "institutions.csv",
        )
        .unwrap();
    let mut state = state_limited(ledger, keys, limiter).with_directory(directory);
    if let Some(key) = identity {
        state = state.with_identity_key(key);
    }
    state
}

/// The one way a test's server state is made: `ledger` with `keys`, the tests' person-hash
/// secret, times at UTC+8, and a rate limit no test reaches.
fn state_of<S: drugtrace_ledger::Store + Sync + 'static>(
    ledger: Ledger<S>,
    keys: drugtrace_api::Keys,
) -> drugtrace_api::AppState<S> {
    state_limited(ledger, keys, drugtrace_api::RateLimiter::new(1000, 1000.0))
}

/// [`state_of`] with the rate limit `limiter`.
fn state_limited<S: drugtrace_ledger::Store + Sync + 'static>(
    ledger: Ledger<S>,
    keys: drugtrace_api::Keys,
    limiter: drugtrace_api::RateLimiter,
) -> drugtrace_api::AppState<S> {
    drugtrace_api::AppState::new(ledger, PERSON_KEY, 480, keys, limiter)
}

/// The secret the tests' persons are hashed under.
const PERSON_KEY: PersonKey = PersonKey::from_bytes([5; 32]);

/// Serves `state` on a free loopback port until the test ends; returns its base URL.
async fn serve<S: drugtrace_ledger::Store + Sync + 'static>(
    state: drugtrace_api::AppState<S>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(drugtrace_api::serve(
        listener,
        state,
        std::future::pending(),
    ));
    url
}

/// Serves `state` on a free loopback port until the sender it returns is used (or
/// dropped): its base URL, the sender, and the server's task, which ends once the server
/// has stopped.
async fn serve_until_stopped<S: drugtrace_ledger::Store + Sync + 'static>(
    state: drugtrace_api::AppState<S>,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(drugtrace_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    (url, stop, server)
}

impl App {
    /// Posts `body` with the key of the institution it speaks for.
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let key = speaker(body).map(|i| key_of(&i));
        self.post_with(path, body, key.as_deref()).await
    }

    /// Gets `path` with no key and reads the answer as JSON.
    async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Gets `path` with `key` and reads the answer as JSON.
    async fn get_with(&self, path: &str, key: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post_with(&self, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        ctype: &str,
    ) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(key_of("M3301001"))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The patient's query, as `person` when given: with an assertion for them signed by
    /// the test identity provider.
    async fn code(&self, code: &str, person: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(format!("{}/v1/codes/{code}", self.url));
        if let Some(p) = person {
            req = req.header("x-person-assertion", patient_identity::assertion(p));
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn sale(
        &self,
        settlement: &str,
        institution: &str,
        person: &str,
        codes: &[&str],
    ) -> Value {
        let items: Vec<Value> = codes
            .iter()
            .map(|c| json!({"code": c, "amount": 18.5}))
            .collect();
        let (status, body) = self
            .post(
                "/v1/gate/sale",
                &json!({
                    "settlement_id": settlement,
                    "institution": institution,
                    "at": "2025-04-08 10:30:00",
                    "person": person,
                    "items": items,
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// What a test webhook received: the path, the signature header and the body.
type Received = (String, Option<String>, String);

/// A test webhook: a router that takes a POST on any path and passes it on, with the
/// header `signature` (`gs1-signature` for EPCIS, `drugtrace-signature` for findings).
fn webhook(
    signature: &'static str,
) -> (axum::Router, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Received>();
    let hook = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let sig = headers
                    .get(signature)
                    .map(|v| v.to_str().unwrap().to_owned());
                tx.send((uri.path().to_owned(), sig, body)).unwrap();
                "ok"
            }
        },
    );
    (hook, rx)
}

fn commission(code: &str) -> Value {
    json!({"type": "commission", "code": code, "at": "2025-03-01 09:00:00", "institution": "M3301001", "batch": "250301", "expiry": "2030-12-31"})
}

#[tokio::test]
async fn health() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn events_as_array_and_as_json_lines() {
    let app = spawn_app().await;
    let (status, body) = app
        .post(
            "/v1/events",
            &json!([
                commission("81000010000000000001"),
                commission("81000010000000000001")
            ]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recorded"], 2);
    assert_eq!(body["events"][0]["outcome"], "accepted");
    assert_eq!(body["events"][1]["reason"], "already_issued");
    let (status, body) = app
        .post(
            "/v1/events",
            &json!([{"type": "intake", "code": "81000010000000000001", "at": "2025-03-10 14:00:00", "institution": "P35010200017", "supplier": "D3501001", "insurance_code": "ZB02BAF0001010100003"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["outcome"], "flagged");
    assert_eq!(body["events"][0]["reason"], "product_mismatch");

    let lines = format!(
        "{}\n\n{}\n",
        commission("81000010000000000002"),
        commission("81000010000000000003")
    );
    let (status, body) = app
        .post_raw("/v1/events", lines, "application/x-ndjson")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recorded"], 2);
}

#[tokio::test]
async fn a_batch_with_a_bad_event_records_nothing() {
    let app = spawn_app().await;
    let (status, body) = app
        .post(
            "/v1/events",
            &json!([
                commission("81000010000000000009"),
                {"type": "sale", "code": "8100001000000000001", "at": "2025-04-08 10:30:00", "institution": "P1", "settlement_id": "S1"},
                {"type": "sale", "code": "81000010000000000009", "at": "2025-04-08 10:30:00", "institution": "P1", "amount": "-3.00"},
            ]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_events");
    assert_eq!(body["error"]["events"][0]["index"], 1);
    assert_eq!(
        body["error"]["events"][0]["message"],
        "field `code`: expected 20 digits, got 19"
    );
    assert_eq!(
        body["error"]["events"][1]["message"],
        "field `amount`: amount \"-3.00\" is negative: a sale's amount is what was paid, and money given back is a sale return"
    );
    let (_, q) = app.code("81000010000000000009", None).await;
    assert_eq!(
        q["updated_at"],
        Value::Null,
        "the good event was not recorded either"
    );
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_raw("/v1/gate/sale", "{\"settlement_id\": ", "application/json")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "malformed_json");
    let (status, body) = app.post_raw("/v1/gate/sale", "{}", "text/plain").await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    let (status, body) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": "S1", "institution": "P1", "items": [{"code": "123"}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "items[0].code");
    assert_eq!(body["error"]["message"], "expected 20 digits, got 3");
    let (status, body) = app
        .post_with(
            "/v1/gate/sale",
            &json!({"settlement_id": "S1", "institution": "P 1", "items": [{"code": "81000010000000000001"}]}),
            Some(&key_of("P1")),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "institution");
    let (status, body) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": "S1", "institution": "P1", "colour": "red", "items": []}),
        )
        .await;
    assert!(status == 400 || status == 422, "{status}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{body}"
    );
    let (status, body) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": "S1", "institution": "P1", "items": [{"code": "81000010000000000001"}, {"code": "８１００００１００００００００００００１"}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "items[1].code");
    let huge = "x".repeat(drugtrace_api::MAX_BODY + 1);
    let (status, body) = app
        .post_raw("/v1/events", huge, "application/x-ndjson")
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "body_too_large");
    let (status, body) = app.code("12345", None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "code");
}

#[tokio::test]
async fn the_gate_allows_once_and_retries_are_idempotent() {
    let app = spawn_app().await;
    app.post(
        "/v1/events",
        &json!([
            commission("81000020000000000002"),
            commission("81000010000000000001")
        ]),
    )
    .await;
    let first = app
        .sale(
            "SETL-1",
            "P35010200017",
            "350102199001011234",
            &["81000020000000000002", "81000010000000000001"],
        )
        .await;
    assert_eq!(first["decision"], "allow");
    let retry = app
        .sale(
            "SETL-1",
            "P35010200017",
            "350102199001011234",
            &["81000020000000000002", "81000010000000000001"],
        )
        .await;
    assert_eq!(retry["decision"], "allow");
    assert_eq!(retry["items"][0]["replayed"], true);
    assert_eq!(retry["items"][1]["replayed"], true);
    let again = app
        .sale(
            "SETL-2",
            "P13070300088",
            "130703197707073333",
            &["81000020000000000002"],
        )
        .await;
    assert_eq!(again["decision"], "block");
    assert_eq!(again["items"][0]["reason"], "already_sold");
    assert_eq!(
        again["items"][0]["prior_sales"][0]["institution"],
        "P35010200017"
    );
    assert_eq!(
        again["items"][0]["prior_sales"][0]["at"],
        "2025-04-08T10:30:00+08:00"
    );
    let (_, body) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": "SETL-3", "institution": "P1", "items": [{"code": "81000010000000000005", "insurance_code": "ZB02BAF0001010100003"}]}),
        )
        .await;
    assert_eq!(body["items"][0]["reason"], "product_mismatch");
    assert_eq!(body["decision"], "block");
    let unknown = app
        .sale("SETL-4", "P1", "1", &["81000020000000009999"])
        .await;
    assert_eq!(unknown["decision"], "allow");
    assert_eq!(unknown["items"][0]["outcome"], "flagged");
    assert_eq!(unknown["items"][0]["reason"], "unknown_code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_double_sales_over_http_allow_exactly_one() {
    let app = std::sync::Arc::new(spawn_app().await);
    const PACKS: u64 = 40;
    const RACERS: u64 = 8;
    let mut tasks = Vec::new();
    for r in 0..RACERS {
        let app = std::sync::Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            let mut allowed = 0;
            for p in 0..PACKS {
                let code = format!(
                    "{}",
                    81_000_010_000_000_001_000u128 + u128::from((p + r * 7) % PACKS)
                );
                let body = app
                    .sale(&format!("R{r}-{p}"), &format!("P{r}"), "x", &[&code])
                    .await;
                if body["decision"] == "allow" {
                    allowed += 1;
                } else {
                    assert_eq!(body["items"][0]["reason"], "already_sold");
                }
            }
            allowed
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, PACKS, "exactly one sale per pack went through");
}

#[tokio::test]
async fn the_patient_query_tells_every_case() {
    let app = spawn_app().await;
    let me = "350102199001011234";
    app.post(
        "/v1/events",
        &json!([
            commission("81000020000000000011"),
            commission("81000020000000000012"),
            commission("81000020000000000013")
        ]),
    )
    .await;
    let (status, q) = app.code("81000020000000000011", Some(me)).await;
    assert_eq!(status, 200);
    assert_eq!(q["case"], "no_sale");
    assert_eq!(q["product"]["generic_name"], "盐酸阿来替尼胶囊");
    assert!(q["advice"]["zh"].as_str().unwrap().contains("两天后"));

    app.sale("S-12", "P35010200017", me, &["81000020000000000012"])
        .await;
    assert_eq!(
        app.code("81000020000000000012", None).await.1["case"],
        "one_sale"
    );
    assert_eq!(
        app.code("81000020000000000012", Some(" 350102199001011234 "))
            .await
            .1["case"],
        "one_sale_mine"
    );
    let (_, other) = app
        .code("81000020000000000012", Some("130703197707073333"))
        .await;
    assert_eq!(other["case"], "one_sale_not_mine");
    assert_eq!(other["sales"][0]["institution"], "P35010200017");
    assert_eq!(
        other["sales"][0]["institution_name"],
        "仁心大药房（五一路店）"
    );
    assert_eq!(other["sales"][0]["city"], "福州");
    assert!(
        !other.to_string().contains(me),
        "another buyer's identity is never shown"
    );

    app.sale(
        "S-13a",
        "P35010200017",
        "130703197707073333",
        &["81000020000000000013"],
    )
    .await;
    app.sale("S-13b", "P13070300088", me, &["81000020000000000013"])
        .await;
    let (_, multi) = app.code("81000020000000000013", Some(me)).await;
    assert_eq!(multi["case"], "multiple_sales");
    assert_eq!(multi["sales"].as_array().unwrap().len(), 2);
    assert_eq!(
        multi["sales"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["blocked"] == true)
            .count(),
        1
    );
    assert!(
        multi["advice"]["en"]
            .as_str()
            .unwrap()
            .contains("Consumer Rights Protection Law")
    );
}

#[tokio::test]
async fn keys_decide_who_may_do_what() {
    let app = spawn_app().await;
    let events = json!([commission("81000010000000000077")]);
    let (status, body) = app.post_with("/v1/events", &events, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "missing_key");
    let (status, body) = app
        .post_with("/v1/events", &events, Some("dtk_nobody"))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unknown_key");
    // An institution submits only as itself.
    let (status, body) = app
        .post_with("/v1/events", &events, Some(&key_of("P1")))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["field"], "[0].institution");
    let sale = json!({"settlement_id": "S1", "institution": "P2", "items": [{"code": "81000010000000000077"}]});
    let (status, body) = app
        .post_with("/v1/gate/sale", &sale, Some(&key_of("P1")))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["field"], "institution");
    // A regulator may recall; anything else it sends is kept as a rejected attempt.
    let (status, body) = app
        .post_with("/v1/events", &events, Some(REGULATOR_KEY))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["outcome"], "rejected");
    assert_eq!(body["events"][0]["reason"], "not_permitted");
    let (status, _) = app.post("/v1/events", &events).await;
    assert_eq!(status, 200);
    app.sale("S-77", "P1", "1", &["81000010000000000077"]).await;
    let get = |key: Option<String>| {
        let mut r = app
            .http
            .get(format!("{}/v1/packs/81000010000000000077", app.url));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, all) = get(Some(REGULATOR_KEY.into())).await;
    assert_eq!(status, 200);
    assert_eq!(all["complete"], true);
    // The regulator's refused commission, the manufacturer's, and the sale.
    assert_eq!(all["events"].as_array().unwrap().len(), 3);
    // An institution reads only its own records.
    let (_, own) = get(Some(key_of("P1"))).await;
    assert_eq!(own["complete"], false);
    assert_eq!(own["events"].as_array().unwrap().len(), 1);
    assert_eq!(own["events"][0]["type"], "sale");
    let (status, _) = get(None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_patient_query_is_rate_limited_per_client() {
    let app = spawn_app_limited(drugtrace_api::RateLimiter::new(2, 0.01)).await;
    assert_eq!(app.code("81000010000000000001", None).await.0, 200);
    assert_eq!(app.code("81000010000000000001", None).await.0, 200);
    let r = app
        .http
        .get(format!("{}/v1/codes/81000010000000000001", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

/// The status of a patient query sent as if forwarded for `client`.
async fn forwarded_query(app: &App, client: &str) -> u16 {
    app.http
        .get(format!("{}/v1/codes/81000010000000000001", app.url))
        .header("X-Forwarded-For", client)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_limit_counts_the_forwarded_client() {
    let proxies = drugtrace_api::TrustedProxies::parse(["127.0.0.0/8"]).unwrap();
    let app = spawn_app_limited(drugtrace_api::RateLimiter::new(1, 0.001).behind(proxies)).await;
    assert_eq!(forwarded_query(&app, "198.51.100.1").await, 200);
    assert_eq!(forwarded_query(&app, "198.51.100.1").await, 429);
    // Another client behind the same proxy has its own bucket...
    assert_eq!(forwarded_query(&app, "198.51.100.2").await, 200);
    // ...and an address the client wrote further out changes nothing.
    assert_eq!(
        forwarded_query(&app, "203.0.113.1, 198.51.100.1").await,
        429
    );
}

#[tokio::test]
async fn an_untrusted_peer_cannot_escape_the_limit_with_x_forwarded_for() {
    let app = spawn_app_limited(drugtrace_api::RateLimiter::new(1, 0.001)).await;
    assert_eq!(forwarded_query(&app, "198.51.100.1").await, 200);
    assert_eq!(forwarded_query(&app, "198.51.100.2").await, 429);
}

/// The server's `/metrics`, as text.
async fn metrics(http: &reqwest::Client, url: &str) -> String {
    let response = http.get(format!("{url}/metrics")).send().await.unwrap();
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_decisions_and_gate_groups() {
    let app = spawn_app().await;
    app.post("/v1/events", &json!([commission("81000010000000000088")]))
        .await;
    app.sale("S-88", "P1", "1", &["81000010000000000088"]).await;
    app.sale("S-89", "P2", "2", &["81000010000000000088"]).await;
    // The first settlement sent again: answered as before.
    app.sale("S-88", "P1", "1", &["81000010000000000088"]).await;
    let text = metrics(&app.http, &app.url).await;
    assert!(
        text.contains(r#"drugtrace_gate_decisions_total{decision="allow",reason=""} 2"#),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "drugtrace_gate_replays_total 1"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"drugtrace_gate_decisions_total{decision="block",reason="already_sold"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"drugtrace_http_requests_total{method="POST",route="/v1/gate/sale",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"drugtrace_http_request_seconds_bucket{le="#),
        "{text}"
    );
    // The three sales came one after the other: three groups of one request, each judged
    // and committed once.
    for line in [
        "drugtrace_gate_group_requests_sum 3.0",
        "drugtrace_gate_group_requests_count 3",
        "drugtrace_gate_group_wait_seconds_count 3",
        "drugtrace_gate_group_judge_seconds_count 3",
        "drugtrace_gate_group_commit_seconds_count 3",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in {text}");
    }
    assert!(
        !text.contains("81000010000000000088"),
        "codes never become labels"
    );
}

#[tokio::test]
async fn intake_flags_packs_before_they_are_dispensed() {
    let app = spawn_app().await;
    app.post(
        "/v1/events",
        &json!([
            commission("81000010000000000031"),
            commission("81000010000000000032"),
            commission("81000010000000000033"),
            {"type": "recall", "code": "81000010000000000033", "at": "2025-03-05 09:00:00", "institution": "M3301001"},
        ]),
    )
    .await;
    app.sale("S-31", "P35010200017", "1", &["81000010000000000031"])
        .await;
    let (status, body) = app
        .post(
            "/v1/intake",
            &json!({
                "institution": "P13070300088",
                "supplier": "D1301009",
                "at": "2025-05-20 09:00:00",
                "items": [
                    {"code": "81000010000000000031"},
                    {"code": "81000010000000000032", "insurance_code": "XJ01CAA040A001010100001"},
                    {"code": "81000010000000000033"},
                    {"code": "81000010000000000034"},
                    {"code": "81000010000000000032", "insurance_code": "ZB02BAF0001010100003"},
                ],
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let statuses: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "already_sold",
            "ok",
            "recalled",
            "unknown_code",
            "product_mismatch"
        ]
    );
    assert_eq!(body["ok"], 1);
    assert_eq!(body["flagged"], 4);
    assert_eq!(
        body["items"][0]["prior_sales"][0]["institution"],
        "P35010200017"
    );
}

/// Every route the server answers is in `/openapi.json`, and every documented path answers.
#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let app = spawn_app().await;
    let spec = app.get_json("/openapi.json").await;
    // The routers: the API's own and the supervision routes it merges.
    let sources = [
        include_str!("../../src/lib.rs"),
        include_str!("../../src/supervision/mod.rs"),
    ];
    let routed: Vec<&str> = sources
        .iter()
        .flat_map(|src| {
            src.match_indices(".route(").map(move |(i, m)| {
                let rest = src[i + m.len()..].trim_start();
                let rest = rest.strip_prefix('"').expect("a route's path is a literal");
                &rest[..rest.find('"').unwrap()]
            })
        })
        .collect();
    assert!(
        routed.contains(&"/v1/sql"),
        "the supervision routes are read"
    );
    let documented: Vec<&String> = spec["paths"].as_object().unwrap().keys().collect();
    for r in &routed {
        assert!(
            documented.iter().any(|d| d == r),
            "{r} is served but not documented"
        );
    }
    for d in &documented {
        assert!(
            routed.contains(&d.as_str()),
            "{d} is documented but not served"
        );
    }
    let docs = app
        .http
        .get(format!("{}/docs", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status().as_u16(), 200);
    assert!(docs.text().await.unwrap().contains("/openapi.json"));
}
mod cases;
mod epcis;
mod nhsa;
mod nhsa_fixtures;
mod recalls;
mod watch;

/// Issue 13: a settlement of [good pack, already-sold pack] was answered `block` yet sold
/// the good pack, so the pharmacy's corrected settlement was blocked as `already_sold`.
/// Now a blocked settlement records no sale, and the correction goes through.
#[tokio::test]
async fn a_blocked_settlement_sells_nothing() {
    let app = spawn_app().await;
    let (good, sold) = ("81000010000000000601", "81000010000000000602");
    let (status, body) = app
        .post("/v1/events", &json!([commission(good), commission(sold)]))
        .await;
    assert_eq!(status, 200, "{body}");
    app.sale("S-600", "P2", "1", &[sold]).await;
    let mixed = json!({"settlement_id": "S-601", "institution": "P1", "items": [{"code": good}, {"code": sold}]});
    let (status, body) = app.post("/v1/gate/sale", &mixed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "block");
    assert_eq!(body["items"][0]["reason"], "settlement_blocked");
    assert_eq!(body["items"][1]["reason"], "already_sold");
    let corrected =
        json!({"settlement_id": "S-602", "institution": "P1", "items": [{"code": good}]});
    let (_, body) = app.post("/v1/gate/sale", &corrected).await;
    assert_eq!(body["decision"], "allow", "{body}");
    // A sale dated 1900 is refused before anything is recorded.
    let old = json!({"settlement_id": "S-603", "institution": "P1", "at": "1900-01-01 00:00:00", "items": [{"code": good}]});
    let (status, body) = app.post("/v1/gate/sale", &old).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "at");
}

/// A server that stops appends the sales it refused last to the live feed before it ends,
/// instead of leaving them to wait out the feed's batching in a process about to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_appends_its_last_blocked_sales_to_the_live_feed() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let state = test_state(
        dir.path(),
        drugtrace_api::RateLimiter::new(1000, 1000.0),
        None,
    )
    .with_interceptions(drugtrace_api::Interceptions::in_dir(&live, 480).unwrap());
    let (url, stop, server) = serve_until_stopped(state).await;
    let app = App {
        url,
        http: reqwest::Client::new(),
        _dir: dir,
    };
    let code = "81000010000000000701";
    let (status, body) = app.post("/v1/events", &json!([commission(code)])).await;
    assert_eq!(status, 200, "{body}");
    app.sale("S-700", "P2", "1", &[code]).await;
    let again = app.sale("S-701", "P1", "2", &[code]).await;
    assert_eq!(again["decision"], "block", "{again}");
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    ended.expect("the server stopped").unwrap().unwrap();
    let feed: String = std::fs::read_dir(&live)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        feed.contains(code) && feed.contains("S-701"),
        "the blocked sale is not in the feed's files: {feed:?}"
    );
}

mod patient_identity;

/// A manufacturer commissions codes of its own products only: the catalog names the maker of
/// product 8100003 (`manufacturer_code` M3301001), so another manufacturer's commission of
/// its code is a rejected attempt and the code stays unknown; a product whose maker the
/// catalog does not name is not checked.
#[tokio::test]
async fn a_manufacturer_commissions_only_its_own_products() {
    let app = spawn_app().await;
    let theirs = json!({"type": "commission", "code": "81000030000000000001", "at": "2025-03-01 09:00:00", "institution": "M9", "batch": "250301", "expiry": "2030-12-31"});
    let (status, body) = app
        .post_with("/v1/events", &theirs, Some(&key_of("M9")))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["outcome"], "rejected");
    assert_eq!(body["events"][0]["reason"], "not_permitted");
    let unnamed = json!({"type": "commission", "code": "81000010000000000001", "at": "2025-03-01 09:00:00", "institution": "M9", "batch": "250301", "expiry": "2030-12-31"});
    let (_, body) = app
        .post_with("/v1/events", &unnamed, Some(&key_of("M9")))
        .await;
    assert_eq!(body["events"][0]["outcome"], "accepted", "{body}");
    let mine = json!({"type": "commission", "code": "81000030000000000001", "at": "2025-03-01 09:00:00", "institution": "M3301001", "batch": "250301", "expiry": "2030-12-31"});
    let (_, body) = app
        .post_with("/v1/events", &mine, Some(&key_of("M3301001")))
        .await;
    assert_eq!(body["events"][0]["outcome"], "accepted", "{body}");
}

/// A store that cannot be reached, as a database failing over is: every call is
/// `StoreError::Unavailable`.
struct Unreachable;

fn unreachable<T>() -> Result<T, drugtrace_ledger::StoreError> {
    Err(drugtrace_ledger::StoreError::Unavailable(
        "the database is failing over".into(),
    ))
}

impl drugtrace_ledger::Store for Unreachable {
    fn pack(
        &self,
        _: &drugtrace_code::PackKey,
    ) -> Result<Option<drugtrace_ledger::PackState>, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn commit(
        &self,
        _: Vec<drugtrace_ledger::PackWrite>,
    ) -> Result<(), drugtrace_ledger::CommitError> {
        Ok(unreachable()?)
    }
    fn history(
        &self,
        _: &drugtrace_code::PackKey,
    ) -> Result<Vec<drugtrace_ledger::Recorded>, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn scan_logs(
        &self,
        _: &mut dyn FnMut(
            drugtrace_code::PackKey,
            Vec<drugtrace_ledger::Recorded>,
        ) -> Result<(), drugtrace_ledger::StoreError>,
    ) -> Result<(), drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn scan_states(
        &self,
        _: &mut dyn FnMut(
            drugtrace_code::PackKey,
            drugtrace_ledger::PackState,
        ) -> Result<(), drugtrace_ledger::StoreError>,
    ) -> Result<(), drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn put_states(
        &self,
        _: &[(drugtrace_code::PackKey, drugtrace_ledger::PackState)],
    ) -> Result<(), drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn packs_by(
        &self,
        _: &drugtrace_ledger::Lookup,
        _: usize,
    ) -> Result<Vec<drugtrace_code::PackKey>, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn put_lookups(
        &self,
        _: &[(drugtrace_ledger::Lookup, drugtrace_code::PackKey)],
    ) -> Result<(), drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn first_changed_minute(&self, _: i64) -> Result<Option<i64>, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn forget_changes(&self, _: i64) -> Result<u64, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn add_movements(
        &self,
        _: &[drugtrace_ledger::Movement],
    ) -> Result<usize, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn scan_movements(
        &self,
        _: &mut dyn FnMut(drugtrace_ledger::Movement) -> Result<(), drugtrace_ledger::StoreError>,
    ) -> Result<(), drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn movements_of_upload(
        &self,
        _: &drugtrace_ledger::InstitutionId,
        _: &drugtrace_ledger::UploadId,
        _: Option<&drugtrace_ledger::MovementId>,
        _: usize,
    ) -> Result<Vec<drugtrace_ledger::MovementId>, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn void_movements(
        &self,
        _: &[drugtrace_ledger::MovementId],
        _: &drugtrace_ledger::MovementVoid,
    ) -> Result<usize, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn movement_voids(
        &self,
        _: &[drugtrace_ledger::MovementId],
    ) -> Result<Vec<Option<drugtrace_ledger::MovementVoid>>, drugtrace_ledger::StoreError> {
        unreachable()
    }
    fn scan_movement_voids(
        &self,
        _: &mut dyn FnMut(
            drugtrace_ledger::MovementId,
            drugtrace_ledger::MovementVoid,
        ) -> Result<(), drugtrace_ledger::StoreError>,
    ) -> Result<(), drugtrace_ledger::StoreError> {
        unreachable()
    }
}

/// Issue 14: the gate's batcher turned every failure of a group into a string, so a sale
/// sent while the database failed over was answered 500 `internal` (the two-server failover
/// test caught it). A storage that cannot be reached is a retryable 503, on the gate, the
/// events and the national interface's settlement alike.
#[tokio::test]
async fn a_sale_while_the_storage_is_unreachable_is_a_retryable_503() {
    let ledger = Ledger::new(Unreachable, Catalog::default(), Policy::default());
    let mut keys = drugtrace_api::Keys::default();
    for i in ["P1", "M3301001"] {
        keys.insert_party(&key_of(i), InstitutionId::parse(i).unwrap(), kind_of(i));
    }
    let url = serve(state_of(ledger, keys)).await;
    let http = reqwest::Client::new();
    let sale = json!({"settlement_id": "S-1", "institution": "P1", "items": [{"code": "81000010000000000042"}]});
    for (path, by, body) in [
        ("/v1/gate/sale", "P1", sale),
        (
            "/v1/events",
            "M3301001",
            json!([commission("81000010000000000042")]),
        ),
    ] {
        let response = http
            .post(format!("{url}{path}"))
            .bearer_auth(key_of(by))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{path}");
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap()),
            Some("1"),
            "{path}"
        );
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            answer["error"]["code"], "storage_unavailable",
            "{path}: {answer}"
        );
    }
}

/// Issue 15: a GS1 code's secondary serial (250) and digital signature (8030) are kept with
/// every event recorded from it, and a regulator reads them back in the pack's history.
#[tokio::test]
async fn a_gs1_codes_secondary_serial_and_signature_are_kept_with_its_events() {
    let app = spawn_app().await;
    let code = "(01)09506000134352(17)301231(10)LOT1(250)SEC-9(8030)MEUCIQDx_c-9A=(21)SER250";
    let (status, body) = app
        .post(
            "/v1/events",
            &json!([{"type": "commission", "code": code, "at": "2025-03-01 09:00:00", "institution": "M3301001"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The same pack scanned without them (a label printed without the signature) is the
    // same pack; its event has none.
    let plain = "(01)09506000134352(17)301231(10)LOT1(21)SER250";
    let (status, body) = app
        .post(
            "/v1/events",
            &json!([{"type": "ship", "code": plain, "at": "2025-03-02 09:00:00", "institution": "M3301001"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, history) = app
        .get_with("/v1/packs/(01)09506000134352(21)SER250", REGULATOR_KEY)
        .await;
    assert_eq!(status, 200, "{history}");
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{history}");
    assert_eq!(events[0]["secondary_serial"], "SEC-9", "{history}");
    assert_eq!(events[0]["signature"], "MEUCIQDx_c-9A=", "{history}");
    assert!(events[1].get("signature").is_none(), "{history}");
}

/// Issue 14: change marks were never forgotten, so the index grew by one entry a record for
/// ever. A server forgets, from its start, the marks older than any update of the warehouse
/// reads; the newer marks, every other index entry and the logs stay.
#[tokio::test]
async fn the_server_forgets_change_marks_older_than_any_update_reads() {
    use drugtrace_ledger::{ChangeMark, Lookup, PackState, PackWrite, Store, Timestamp, testkit};
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(FjallStore::open(&dir.path().join("store")).unwrap());
    let now = Timestamp::now();
    let kept_minutes = drugtrace_ledger::CHANGES_KEPT_MINUTES;
    let old = Timestamp::from_millis(now.millis() - (kept_minutes + 60) * 60_000);
    let mut rng = testkit::Rng::new(3);
    let mut records = Vec::new();
    for n in 0..20 {
        let key = testkit::pack(n);
        let mut r = testkit::arbitrary_recorded(&mut rng, key, 0);
        r.recorded_at = if n < 12 { old } else { now };
        records.push((key, r.clone()));
        let state = PackState::fold([&r]);
        store
            .commit(vec![PackWrite {
                key,
                expected: 0,
                events: vec![r],
                state,
            }])
            .unwrap();
    }
    let ledger = Ledger::new(
        std::sync::Arc::clone(&store),
        Catalog::default(),
        Policy::default(),
    );
    let url = serve(state_of(ledger, drugtrace_api::Keys::default())).await;

    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let forgotten: u64 = metrics(&http, &url)
            .await
            .lines()
            .find_map(|l| l.strip_prefix("drugtrace_change_marks_forgotten_total "))
            .expect("the counter is exported")
            .parse()
            .unwrap();
        assert!(forgotten <= 12, "only the old records' marks: {forgotten}");
        if forgotten == 12 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "forgot {forgotten} of 12 in 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for (key, r) in &records {
        let mark = Lookup::Changed(ChangeMark::of(key, r.recorded_at));
        let found = store.packs_by(&mark, 10).unwrap().contains(key);
        assert_eq!(found, r.recorded_at == now, "{mark} of {key}");
        let others = Lookup::of(key, r)
            .into_iter()
            .filter(|l| !matches!(l, Lookup::Changed(_)));
        for l in others {
            assert!(store.packs_by(&l, 10).unwrap().contains(key), "{l} kept");
        }
        assert_eq!(store.history(key).unwrap().len(), 1, "the log kept");
    }
    assert_eq!(
        store.first_changed_minute(i64::MIN).unwrap(),
        Some(drugtrace_ledger::minute_of(now))
    );
}
