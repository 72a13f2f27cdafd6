//! Issue 15: GS1 EPCIS 2.0 over its REST binding. Every GS1 example document in
//! `../shared/epcis` is captured (each event kept, or refused with the reason when it says
//! nothing drugtrace keeps about packs) and queried back; a capture sent again keeps
//! nothing new; the standard filters select what they name; a party sees only its own.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{App, REGULATOR_KEY, key_of, spawn_app, webhook};

const MAKER: &str = "M3301001";

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/epcis");
    let mut out = Vec::new();
    let mut todo = vec![root.join("JSON"), root.join("XML")];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = entry.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p
                .extension()
                .is_some_and(|e| e == "jsonld" || e == "json" || e == "xml")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

async fn capture(app: &App, body: String, ctype: &str, behaviour: Option<&str>) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/epcis/capture", app.url))
        .bearer_auth(key_of(MAKER))
        .header("content-type", ctype)
        .body(body);
    if let Some(b) = behaviour {
        req = req.header("GS1-Capture-Error-Behaviour", b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Every event `key` sees that the query `query` selects, following the pages.
async fn query(app: &App, query: &str, key: &str) -> Vec<Value> {
    query_paged(app, query, key, 50).await
}

/// Every event `key` sees that the query `query` selects, `per_page` at a time.
async fn query_paged(app: &App, query: &str, key: &str, per_page: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{}/epcis/events?perPage={per_page}{query}", app.url);
        if let Some(t) = &token {
            url.push_str(&format!("&nextPageToken={t}"));
        }
        let r = app.http.get(url).bearer_auth(key).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        token = r
            .headers()
            .get("gs1-next-page-token")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["type"], "EPCISQueryDocument", "{body}");
        let list = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        events.extend(list);
        if token.is_none() {
            return events;
        }
    }
}

#[tokio::test]
async fn every_gs1_example_is_captured_or_refused_with_its_reason_and_queried_back() {
    let app = spawn_app().await;
    let files = examples();
    assert!(
        files.len() > 60,
        "the GS1 examples are there: {}",
        files.len()
    );
    let (mut captured, mut refused_events, mut refused_files) = (Vec::new(), 0, 0);
    let mut ledger_packs = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let ctype = if f.extension().is_some_and(|e| e == "xml") {
            "application/xml"
        } else {
            "application/ld+json"
        };
        let (status, answer) = capture(&app, text, ctype, Some("proceed")).await;
        let name = f.display().to_string();
        if status == 400 {
            // Not an event document (a capture job's status, master data), or no event.
            let says = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(!says.is_empty(), "{name}: a refusal says why: {answer}");
            refused_files += 1;
            continue;
        }
        assert_eq!(status, 202, "{name}: {answer}");
        for e in answer["events"].as_array().unwrap() {
            match e["status"].as_str().unwrap() {
                "captured" => {
                    captured.push(e["eventID"].as_str().unwrap().to_owned());
                    ledger_packs += e["packs"].as_array().map_or(0, Vec::len);
                }
                "already" => {}
                "refused" => {
                    assert!(
                        e["reason"].as_str().is_some_and(|r| !r.is_empty()),
                        "{name}: {e}"
                    );
                    refused_events += 1;
                }
                other => panic!("{name}: status {other}"),
            }
        }
    }
    assert!(captured.len() >= 30, "{} captured", captured.len());
    assert!(refused_events > 0 && refused_files > 0);
    assert!(
        ledger_packs > 0,
        "captured events recorded what they say about packs"
    );
    eprintln!(
        "{} files: {} events captured, {refused_events} refused, {refused_files} files refused, {ledger_packs} ledger records",
        files.len(),
        captured.len()
    );

    // Queried back: all of them, each by its hash id.
    let all = query(&app, "", &key_of(MAKER)).await;
    assert_eq!(all.len(), captured.len());
    for id in &captured {
        let found = query(
            &app,
            &format!("&EQ_eventID={}", urlencode(id)),
            &key_of(MAKER),
        )
        .await;
        assert_eq!(found.len(), 1, "{id}");
    }
    // The regulator sees them too, another party none of them.
    assert_eq!(query(&app, "", REGULATOR_KEY).await.len(), captured.len());
    assert!(query(&app, "", &key_of("P1")).await.is_empty());

    // Filters select what they name.
    let shipping = query(&app, "&EQ_bizStep=shipping", &key_of(MAKER)).await;
    assert!(!shipping.is_empty());
    for e in &shipping {
        assert!(e["bizStep"].as_str().unwrap().ends_with("shipping"), "{e}");
    }
    let later = query(&app, "&GE_eventTime=2019-01-01T00:00:00Z", &key_of(MAKER)).await;
    assert!(!later.is_empty() && later.len() < all.len());
    let aggregations = query(&app, "&eventType=AggregationEvent", &key_of(MAKER)).await;
    assert!(!aggregations.is_empty());
    for e in &aggregations {
        assert_eq!(e["type"], "AggregationEvent");
    }
    let epc = "urn:epc:id:sgtin:0614141.107346.2018";
    let by_urn = query(&app, &format!("&MATCH_epc={epc}"), &key_of(MAKER)).await;
    assert!(!by_urn.is_empty(), "an example names {epc}");
    // The Digital Link of the same pack finds the same events.
    let link = "https://id.gs1.org/01/10614141073464/21/2018";
    let r = app
        .http
        .get(format!("{}/epcis/epcs/{}/events", app.url, urlencode(link)))
        .bearer_auth(key_of(MAKER))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    let n = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(n >= by_urn.len().min(50), "{body}");
    // A filter drugtrace does not answer is refused, naming it.
    let r = app
        .http
        .get(format!("{}/epcis/events?EQ_readPointColour=red", app.url))
        .bearer_auth(key_of(MAKER))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("EQ_readPointColour"));

    // A capture sent again keeps nothing new; its job is told.
    let again = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/epcis/JSON/Example_9.6.1-ObjectEvent.jsonld"),
    )
    .unwrap();
    let (status, answer) = capture(&app, again.clone(), "application/ld+json", None).await;
    assert_eq!(status, 202, "{answer}");
    for e in answer["events"].as_array().unwrap() {
        assert_eq!(e["status"], "already", "{e}");
    }
    let id = answer["captureID"].as_str().unwrap();
    let r = app
        .http
        .get(format!("{}/epcis/capture/{id}", app.url))
        .bearer_auth(key_of(MAKER))
        .send()
        .await
        .unwrap();
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(job["running"], false, "{job}");
    assert_eq!(query(&app, "", &key_of(MAKER)).await.len(), captured.len());
}

#[tokio::test]
async fn by_default_a_capture_with_an_event_drugtrace_cannot_keep_keeps_nothing() {
    let app = spawn_app().await;
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/epcis/JSON/Example_9.6.4-TransformationEvent.jsonld"),
    )
    .unwrap();
    let (status, answer) = capture(&app, doc, "application/ld+json", None).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.to_string().contains("TransformationEvent"),
        "{answer}"
    );
    assert!(query(&app, "", &key_of(MAKER)).await.is_empty());
    // What is not EPCIS at all is refused saying what is wrong.
    let (status, answer) = capture(
        &app,
        "{\"type\": \"Nope\"}".into(),
        "application/json",
        None,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = capture(&app, "<EPCISDocument".into(), "application/xml", None).await;
    assert_eq!(status, 400);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A stream subscription delivers each capture's new matching events to its webhook, signed
/// with HMAC-SHA256 under the subscriber's token; what does not match is not sent, an
/// ended subscription gets nothing, and a bad subscription is refused naming the field.
#[tokio::test]
async fn a_subscription_delivers_new_matching_events_signed() {
    let app = spawn_app().await;
    let (hook, mut rx) = webhook("gs1-signature");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dest = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });

    let token = "a-secret-of-the-subscriber-0123";
    let subscribe = |body: Value, query: &'static str| {
        let app = &app;
        async move {
            let r = app
                .http
                .post(format!(
                    "{}/epcis/queries/SimpleEventQuery/subscriptions{query}",
                    app.url
                ))
                .bearer_auth(key_of(MAKER))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    for (bad, says) in [
        (
            serde_json::json!({"dest": "ftp://x/y", "stream": true}),
            "dest",
        ),
        (serde_json::json!({"dest": dest, "stream": false}), "stream"),
        (
            serde_json::json!({"dest": dest, "schedule": {"hour": "25"}}),
            "schedule",
        ),
        (
            serde_json::json!({"dest": dest, "schedule": {"hour": "1"}, "stream": true}),
            "stream",
        ),
        (
            serde_json::json!({"dest": dest, "stream": true, "reportIfEmpty": true}),
            "reportIfEmpty",
        ),
        (
            serde_json::json!({"dest": dest, "stream": true, "signatureToken": "short"}),
            "signatureToken",
        ),
    ] {
        let (status, answer) = subscribe(bad.clone(), "").await;
        assert_eq!(status, 400, "{bad}: {answer}");
        assert!(answer.to_string().contains(says), "{bad}: {answer}");
    }
    let (status, answer) = subscribe(
        serde_json::json!({"dest": dest, "stream": true, "signatureToken": token}),
        "?EQ_bizStep=shipping",
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let id = answer["subscriptionID"].as_str().unwrap().to_owned();
    // Another party's subscription, without filters, is sent nothing of the maker's.
    let r = app
        .http
        .post(format!(
            "{}/epcis/queries/SimpleEventQuery/subscriptions",
            app.url
        ))
        .bearer_auth(key_of("P1"))
        .json(&serde_json::json!({"dest": dest, "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    // A receiving event does not match; the shipping one is delivered, signed.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/epcis/JSON");
    let doc = std::fs::read_to_string(shared.join("Example_9.6.1-ObjectEvent.jsonld")).unwrap();
    let (status, answer) = capture(&app, doc, "application/ld+json", Some("proceed")).await;
    assert_eq!(status, 202, "{answer}");
    let (_, sig, body) = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("a delivery within 10 s")
        .unwrap();
    assert_eq!(
        sig.as_deref(),
        Some(drugtrace_api::epcis_signature(token, body.as_bytes()).as_str())
    );
    let delivered: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        delivered["epcisBody"]["queryResults"]["subscriptionID"], id,
        "{delivered}"
    );
    let events = delivered["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap();
    assert!(!events.is_empty());
    for e in events {
        assert!(e["bizStep"].as_str().unwrap().ends_with("shipping"), "{e}");
    }

    // Ended, it gets nothing more.
    let r = app
        .http
        .delete(format!(
            "{}/epcis/queries/SimpleEventQuery/subscriptions/{id}",
            app.url
        ))
        .bearer_auth(key_of(MAKER))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    // The same events a year later: new events, a shipping one among them.
    let doc = std::fs::read_to_string(shared.join("Example_9.6.1-ObjectEvent.jsonld"))
        .unwrap()
        .replace("2005-", "2006-");
    let (status, answer) = capture(&app, doc, "application/ld+json", Some("proceed")).await;
    assert_eq!(status, 202, "{answer}");
    assert!(
        answer["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "captured"),
        "{answer}"
    );
    let more = tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv()).await;
    assert!(
        more.is_err(),
        "nothing after the subscription ended, and nothing ever to the other party: {more:?}"
    );
}

/// A capture journal whose appends of captures fail while `failing` is set, as a database
/// failing over after the ledger's commit and before the journal's would (the claim before
/// the commit still goes through).
#[derive(Debug, Default)]
struct FailingJournal {
    records: drugtrace_durable::MemoryJournal,
    failing: std::sync::atomic::AtomicBool,
}

impl drugtrace_durable::SharedJournal for FailingJournal {
    fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>, drugtrace_durable::SharedError> {
        self.records.read_from(from)
    }

    fn append(&self, at: u64, record: &[u8]) -> Result<(), drugtrace_durable::SharedError> {
        let capture =
            serde_json::from_slice::<Value>(record).is_ok_and(|v| v.get("behaviour").is_some());
        if capture && self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(drugtrace_durable::SharedError::Unavailable(
                "the test's journal is failing".into(),
            ));
        }
        self.records.append(at, record)
    }
}

/// Every pack code a capture's answer names, with the number of records its history shows.
async fn histories(app: &App, answer: &Value) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for e in answer["events"].as_array().unwrap() {
        for p in e["packs"].as_array().unwrap() {
            let code = p["code"].as_str().unwrap().to_owned();
            let r = app
                .http
                .get(format!("{}/v1/packs/{code}", app.url))
                .bearer_auth(REGULATOR_KEY)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            let h: Value = r.json().await.unwrap();
            out.push((code, h["events"].as_array().unwrap().len()));
        }
    }
    out
}

/// Regression (issue 15, capture not atomic across the ledger and the journal): a capture
/// whose journal append failed after the ledger had recorded its events, sent again, is
/// captured without recording them a second time (a resent dispensing would otherwise be a
/// second sale of each pack), and then answered "already".
#[tokio::test]
async fn a_capture_whose_journal_append_failed_is_recorded_once_when_sent_again() {
    use std::sync::atomic::Ordering;
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/epcis/JSON/Example_9.6.1-ObjectEvent.jsonld"),
    )
    .unwrap();
    let journal = std::sync::Arc::new(FailingJournal::default());
    let dir = tempfile::tempdir().unwrap();
    let state = super::test_state(
        dir.path(),
        drugtrace_api::RateLimiter::new(1000, 1000.0),
        None,
    )
    .with_capture_book(drugtrace_api::CaptureBook::open(journal.clone()).unwrap());
    let app = super::spawn_state(dir, state).await;

    journal.failing.store(true, Ordering::SeqCst);
    let (status, answer) = capture(&app, doc.clone(), "application/ld+json", Some("proceed")).await;
    assert!(status >= 500, "{status}: {answer}");
    journal.failing.store(false, Ordering::SeqCst);
    let (status, again) = capture(&app, doc.clone(), "application/ld+json", Some("proceed")).await;
    assert_eq!(status, 202, "{again}");
    let recovered = histories(&app, &again).await;
    assert!(!recovered.is_empty(), "the example names packs: {again}");

    // What one capture that never failed records.
    let control = spawn_app().await;
    let (status, once) = capture(
        &control,
        doc.clone(),
        "application/ld+json",
        Some("proceed"),
    )
    .await;
    assert_eq!(status, 202, "{once}");
    assert_eq!(recovered, histories(&control, &once).await);
    for (a, b) in again["events"]
        .as_array()
        .unwrap()
        .iter()
        .zip(once["events"].as_array().unwrap())
    {
        assert_eq!(a["status"], b["status"], "{a} {b}");
        let outcomes = |e: &Value| -> Vec<Value> {
            e["packs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["outcome"].clone())
                .collect()
        };
        assert_eq!(outcomes(a), outcomes(b), "{a} {b}");
    }

    // Sent a third time, it is captured already and nothing more is recorded.
    let (status, third) = capture(&app, doc, "application/ld+json", Some("proceed")).await;
    assert_eq!(status, 202, "{third}");
    for e in third["events"].as_array().unwrap() {
        if e["status"] != "refused" {
            assert_eq!(e["status"], "already", "{e}");
        }
    }
    assert_eq!(recovered, histories(&app, &again).await);
}

/// The page tokens go on from where the last page stopped, over the events a query looks at
/// (every one, a party's own, or those naming an EPC): one event a page gives what one page
/// of fifty gives, for the regulator, for the party, and by EPC.
#[tokio::test]
async fn pages_of_one_event_give_what_one_page_gives() {
    let app = spawn_app().await;
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/epcis/JSON");
    for name in [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.3-AggregationEvent.jsonld",
    ] {
        let doc = std::fs::read_to_string(shared.join(name)).unwrap();
        let (status, answer) = capture(&app, doc, "application/ld+json", Some("proceed")).await;
        assert_eq!(status, 202, "{name}: {answer}");
    }
    let all = query(&app, "", REGULATOR_KEY).await;
    assert!(all.len() >= 3, "{all:?}");
    let epc = all
        .iter()
        .find_map(|e| e["epcList"].as_array().and_then(|l| l.first()).cloned())
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("an event with an EPC list");
    let by_epc = format!("&MATCH_anyEPC={}", urlencode(&epc));
    for (q, key) in [
        ("", REGULATOR_KEY.to_owned()),
        ("", key_of(MAKER)),
        (by_epc.as_str(), key_of(MAKER)),
        (by_epc.as_str(), REGULATOR_KEY.to_owned()),
    ] {
        let whole = query(&app, q, &key).await;
        assert!(!whole.is_empty(), "{q}");
        assert_eq!(query_paged(&app, q, &key, 1).await, whole, "{q}");
    }
    // Another party sees none of it, by EPC or not.
    assert!(query(&app, &by_epc, &key_of("P1")).await.is_empty());
    assert!(query(&app, "", &key_of("P1")).await.is_empty());
}

/// A webhook receiver over TLS, its certificate for `localhost` issued by a test CA.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    tls: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A handshake the client broke off (it did not trust the certificate) is the
            // client's business: wait for the next connection.
            if let Ok(tls) = self.tls.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A test CA's certificate (PEM), and a TLS acceptor with a certificate for `localhost`
/// that it issued.
fn test_tls() -> (String, tokio_rustls::TlsAcceptor) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "drugtrace test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let key =
        tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    (
        ca.pem(),
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
    )
}

/// Issue 15: a subscription delivers to an `https://` webhook whose certificate the
/// operator's CA issued, signed; a server that does not trust that CA delivers nothing
/// (and says why in its log).
#[tokio::test]
async fn a_subscription_delivers_to_an_https_webhook_the_operator_trusts() {
    let (ca_pem, acceptor) = test_tls();
    let (hook, mut rx) = webhook("gs1-signature");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dest = format!(
        "https://localhost:{}/hook",
        tcp.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        axum::serve(TlsListener { tcp, tls: acceptor }, hook)
            .await
            .unwrap()
    });
    let token = "a-secret-of-the-subscriber-0123";
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/epcis/JSON/Example_9.6.1-ObjectEvent.jsonld"),
    )
    .unwrap();

    for trusted in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut state = super::test_state(
            dir.path(),
            drugtrace_api::RateLimiter::new(1000, 1000.0),
            None,
        );
        if trusted {
            state =
                state.with_webhooks(drugtrace_api::Webhooks::new(Some(ca_pem.as_bytes())).unwrap());
        }
        let app = super::spawn_state(dir, state).await;
        let r = app
            .http
            .post(format!(
                "{}/epcis/queries/SimpleEventQuery/subscriptions",
                app.url
            ))
            .bearer_auth(key_of(MAKER))
            .json(&serde_json::json!({"dest": dest, "stream": true, "signatureToken": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let (status, answer) =
            capture(&app, doc.clone(), "application/ld+json", Some("proceed")).await;
        assert_eq!(status, 202, "{answer}");
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await;
        if !trusted {
            assert!(
                got.is_err(),
                "a certificate from a CA the server does not trust is refused: {got:?}"
            );
            continue;
        }
        let (_, sig, body) = got.expect("a delivery within 5 s").unwrap();
        assert_eq!(
            sig.as_deref(),
            Some(drugtrace_api::epcis_signature(token, body.as_bytes()).as_str())
        );
        let delivered: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(delivered["type"], "EPCISQueryDocument", "{delivered}");
    }
}

/// Issue 15: scheduled subscriptions. Two servers on one capture journal each run the
/// schedule; every run is claimed in the journal by one of them, so each event captured is
/// reported once, by the run after its capture, and a subscription with `reportIfEmpty`
/// gets one report per instant of its schedule, never two.
#[tokio::test]
async fn a_scheduled_subscription_reports_each_event_once_from_two_servers() {
    let (hook, mut rx) = webhook("gs1-signature");
    const TOKEN: &str = "a-secret-of-the-subscriber-0123";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hooks = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });

    let journal: std::sync::Arc<dyn drugtrace_durable::SharedJournal> =
        std::sync::Arc::new(drugtrace_durable::MemoryJournal::default());
    let mut servers = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let state = super::test_state(
            dir.path(),
            drugtrace_api::RateLimiter::new(1000, 1000.0),
            None,
        )
        .with_capture_book(drugtrace_api::CaptureBook::open(journal.clone()).unwrap());
        servers.push(super::spawn_state(dir, state).await);
    }
    let subscribe = |app: &App, body: Value, query: &'static str| {
        let r = app
            .http
            .post(format!(
                "{}/epcis/queries/SimpleEventQuery/subscriptions{query}",
                app.url
            ))
            .bearer_auth(key_of(MAKER))
            .json(&body)
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // Every second, shipping only; and every second, reporting even when empty.
    let (status, shipping) = subscribe(
        &servers[0],
        serde_json::json!({"dest": format!("{hooks}/shipping"), "signatureToken": TOKEN,
                           "schedule": {"second": "[0-59]"}}),
        "?EQ_bizStep=shipping",
    )
    .await;
    assert_eq!(status, 201, "{shipping}");
    assert_eq!(shipping["stream"], false);
    let (status, empty) = subscribe(
        &servers[1],
        serde_json::json!({"dest": format!("{hooks}/empty"), "signatureToken": TOKEN,
                           "schedule": {"second": "[0-59]"}, "reportIfEmpty": true}),
        "?EQ_bizStep=destroying",
    )
    .await;
    assert_eq!(status, 201, "{empty}");

    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/epcis/JSON");
    let doc = std::fs::read_to_string(shared.join("Example_9.6.1-ObjectEvent.jsonld")).unwrap();
    let (status, answer) = capture(&servers[1], doc, "application/ld+json", Some("proceed")).await;
    assert_eq!(status, 202, "{answer}");

    // Six seconds of runs.
    let mut shipped: Vec<String> = Vec::new();
    let mut empty_runs: Vec<String> = Vec::new();
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(6);
    while let Ok(Some((path, sig, body))) = tokio::time::timeout_at(until, rx.recv()).await {
        assert_eq!(
            sig.as_deref(),
            Some(drugtrace_api::epcis_signature(TOKEN, body.as_bytes()).as_str())
        );
        let doc: Value = serde_json::from_str(&body).unwrap();
        let which = path.trim_start_matches("/hook/");
        let results = &doc["epcisBody"]["queryResults"];
        let events = results["resultsBody"]["eventList"].as_array().unwrap();
        match which {
            "shipping" => {
                assert_eq!(results["subscriptionID"], shipping["subscriptionID"]);
                for e in events {
                    assert!(e["bizStep"].as_str().unwrap().ends_with("shipping"), "{e}");
                    shipped.push(e["eventID"].as_str().unwrap_or_default().to_owned());
                }
                assert!(!events.is_empty(), "no empty report without reportIfEmpty");
            }
            "empty" => {
                assert!(events.is_empty(), "{doc}");
                empty_runs.push(doc["creationDate"].as_str().unwrap().to_owned());
            }
            other => panic!("{other}"),
        }
    }
    let mut once = shipped.clone();
    once.sort();
    once.dedup();
    assert!(!shipped.is_empty(), "the shipping event was reported");
    assert_eq!(
        once.len(),
        shipped.len(),
        "each event reported once: {shipped:?}"
    );
    assert!(
        empty_runs.len() >= 3,
        "a report each second: {empty_runs:?}"
    );
    let mut runs = empty_runs.clone();
    runs.sort();
    runs.dedup();
    assert_eq!(
        runs.len(),
        empty_runs.len(),
        "each run reported once: {empty_runs:?}"
    );

    // The subscriber sees its schedule and the last run.
    let r = servers[0]
        .http
        .get(format!(
            "{}/epcis/queries/SimpleEventQuery/subscriptions",
            servers[0].url
        ))
        .bearer_auth(key_of(MAKER))
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    let mine = list["subscriptions"].as_array().unwrap();
    assert_eq!(mine.len(), 2, "{list}");
    for s in mine {
        assert_eq!(s["schedule"]["second"], "[0-59]", "{s}");
        assert!(s["lastRunAt"].is_string(), "{s}");
    }
}

/// Two captures of the same new events at once (a client retrying through another server
/// before the first answered) do not both record them: the first claims them in the journal
/// before its ledger commit, and the second is answered a retryable 409 while the claim is
/// live; a claim left by a server that died expires after a minute.
#[tokio::test]
async fn a_capture_of_events_another_capture_claimed_waits_for_it() {
    use drugtrace_durable::SharedJournal;
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/epcis/JSON/Example_9.6.1-ObjectEvent.jsonld"),
    )
    .unwrap();
    let control = spawn_app().await;
    let (status, once) = capture(
        &control,
        doc.clone(),
        "application/ld+json",
        Some("proceed"),
    )
    .await;
    assert_eq!(status, 202, "{once}");
    let recording: Vec<Value> = once["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["packs"].as_array().unwrap().is_empty())
        .map(|e| e["eventID"].clone())
        .collect();
    assert!(!recording.is_empty(), "{once}");
    let now_ms = jiff::Timestamp::now().as_millisecond();

    for (age_ms, live) in [(1_000, true), (61_000, false)] {
        let journal = std::sync::Arc::new(drugtrace_durable::MemoryJournal::default());
        let claim =
            serde_json::json!({"claim": recording, "by": "M3301001", "at_ms": now_ms - age_ms});
        journal
            .append(0, serde_json::to_vec(&claim).unwrap().as_slice())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let state = super::test_state(
            dir.path(),
            drugtrace_api::RateLimiter::new(1000, 1000.0),
            None,
        )
        .with_capture_book(drugtrace_api::CaptureBook::open(journal).unwrap());
        let app = super::spawn_state(dir, state).await;
        let (status, answer) =
            capture(&app, doc.clone(), "application/ld+json", Some("proceed")).await;
        if live {
            assert_eq!(status, 409, "{answer}");
            assert_eq!(answer["error"]["code"], "capture_in_progress", "{answer}");
            // Nothing was recorded.
            for e in once["events"].as_array().unwrap() {
                for p in e["packs"].as_array().unwrap() {
                    let r = app
                        .http
                        .get(format!(
                            "{}/v1/packs/{}",
                            app.url,
                            p["code"].as_str().unwrap()
                        ))
                        .bearer_auth(REGULATOR_KEY)
                        .send()
                        .await
                        .unwrap();
                    let h: Value = r.json().await.unwrap();
                    assert!(h["events"].as_array().is_none_or(Vec::is_empty), "{h}");
                }
            }
        } else {
            assert_eq!(status, 202, "an expired claim holds nothing off: {answer}");
            assert_eq!(
                histories(&app, &answer).await,
                histories(&control, &once).await
            );
        }
    }
}
