//! Supervision over HTTP: the regulator's dashboard and API over a small synthetic province
//! that was imported, exported to the warehouse and run through every model, as a regulator,
//! an institution and a patient would use them.
//!
//! The province is built once and served by one server on its own runtime, shared by the
//! tests here and the browser test; each test works on the clues and notices it makes.

use std::path::PathBuf;
use std::sync::LazyLock;

use drugtrace_analytics::{Analytics, ExportOptions, QueryLimits, Warehouse};
use drugtrace_api::{AppState, Keys, Role, Supervision, SupervisionPaths};
use drugtrace_catalog::Catalog;
use drugtrace_ledger::{InstitutionId, Ledger, MemStore, Policy};
use drugtrace_store_fjall::FjallStore;
use drugtrace_synth::built::{Built, Generated};
use serde_json::{Value, json};

use super::REGULATOR_KEY;

/// An institution's key, which supervision must refuse.
pub const INSTITUTION_KEY: &str = "dtk_test_supervision_institution";

/// The shared province's server.
pub struct Province {
    pub url: String,
    /// The data directory (the warehouse, the clue book, the notices).
    pub data: PathBuf,
}

/// The province, built and served on first use.
pub static PROVINCE: LazyLock<Province> = LazyLock::new(|| {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("supervision-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            // Its own runtime, which each test's ends before the process does.
            rt.block_on(async move {
                let (state, province) = build_province().await;
                let url = crate::serve(state).await;
                tx.send(Province {
                    url,
                    data: province,
                })
                .unwrap();
                std::future::pending::<()>().await;
            });
        })
        .unwrap();
    rx.recv().expect("the province server started")
});

fn keys() -> Keys {
    let mut keys = Keys::default();
    keys.insert(REGULATOR_KEY, Role::Regulator);
    keys.insert(
        INSTITUTION_KEY,
        Role::Institution(InstitutionId::parse("P35010200017").unwrap()),
    );
    keys
}

/// A directory for this process's province under Cargo's temporary directory for tests. The
/// server reads it until the process ends, so nothing removes it then: each run removes the
/// ones of processes that are gone instead.
fn province_dir() -> PathBuf {
    let parent = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(entries) = std::fs::read_dir(&parent) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("supervision-province-")
                && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = parent.join(format!("supervision-province-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Synthesizes a province, imports it into a fjall store, exports the warehouse, runs the
/// models, and returns the server's state and the data directory.
async fn build_province() -> (AppState<FjallStore>, PathBuf) {
    let root = province_dir();
    let mut opts = drugtrace_synth::SynthOptions::new(1_500, 5, root.join("province"));
    opts.fraud_rate = 0.05;
    let data = root.join("data");
    let Built {
        generated, ledger, ..
    } = Generated::new(&opts)
        .unwrap()
        .import(
            FjallStore::open(&data.join("store")).unwrap(),
            crate::PERSON_KEY,
            &root.join("rejects.csv"),
        )
        .unwrap();
    let (synth, catalog, directory) = (generated.out, generated.catalog, generated.directory);
    let paths = SupervisionPaths {
        truth: Some(synth.join("truth.jsonl")),
        ..SupervisionPaths::in_data_dir(&data)
    };
    // The settlement system's items, so the reports have an upload rate.
    drugtrace_analytics::import_settlements(
        &paths.settlements,
        &synth.join("settlements.csv"),
        480,
    )
    .unwrap();
    let warehouse = Warehouse::new(&paths.warehouse);
    drugtrace_analytics::export(
        ledger.store(),
        &catalog,
        &directory,
        &warehouse,
        &ExportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let analytics = Analytics::open(&warehouse).await.unwrap();
    analytics.run_all(&mut |_| {}).await.unwrap();
    let supervision = Supervision::open(&paths)
        .unwrap()
        .with_deployment("测试省医疗保障局");
    let state = crate::state_of(ledger, keys())
        .with_directory(directory)
        .with_supervision(supervision)
        .with_interceptions(drugtrace_api::Interceptions::in_dir(&data.join("live"), 480).unwrap());
    (state, data)
}

/// How a request proves who sends it.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

/// A client of the province's server that does not follow redirects.
pub struct Client {
    pub url: String,
    http: reqwest::Client,
}

/// An answer: status, headers and body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

/// `pairs` as a form body.
fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Client {
    pub fn new(url: &str) -> Client {
        Client {
            url: url.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub fn province() -> Client {
        Client::new(&PROVINCE.url)
    }

    async fn send(&self, mut req: reqwest::RequestBuilder, auth: Auth<'_>) -> Answer {
        match auth {
            Auth::None => {}
            Auth::Bearer(k) => req = req.bearer_auth(k),
            Auth::Cookie(c) => req = req.header("cookie", c),
        }
        let r = req.send().await.unwrap();
        Answer {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            bytes: r.bytes().await.unwrap().to_vec(),
        }
    }

    pub async fn get(&self, path: &str, auth: Auth<'_>) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.url)), auth)
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value, auth: Auth<'_>) -> Answer {
        self.send(
            self.http.post(format!("{}{path}", self.url)).json(body),
            auth,
        )
        .await
    }

    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)], auth: Auth<'_>) -> Answer {
        self.send(
            self.http
                .post(format!("{}{path}", self.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(pairs)),
            auth,
        )
        .await
    }

    /// Signs in with `key` through the form; returns the `Cookie` header to send.
    pub async fn login(&self, key: &str) -> String {
        let r = self
            .post_form(
                "/dashboard/login",
                &[("key", key), ("next", "/dashboard/")],
                Auth::None,
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let cookie = r.header("set-cookie");
        cookie.split(';').next().unwrap().to_owned()
    }
}

/// A code of one of the province's products that the province never saw (so no finding
/// or report of another test names it), different for each `n`.
pub async fn fresh_code(c: &Client, n: u32) -> String {
    let r = c
        .get("/v1/reports/duplicated_codes", Auth::Bearer(REGULATOR_KEY))
        .await;
    let known = r.json()["rows"][0]["code"].as_str().unwrap().to_owned();
    format!(
        "{}9{:06}{n:06}",
        &known[..7],
        std::process::id() % 1_000_000
    )
}

/// Sells `code` twice through the gate as the province's pharmacy, under two settlements:
/// the first goes through, the second is blocked.
pub async fn block_a_sale(c: &Client, code: &str, settlement: &str) {
    let sell = |settlement: String| async move {
        let r = c
            .post_json(
                "/v1/gate/sale",
                &json!({
                    "settlement_id": settlement,
                    "institution": "P35010200017",
                    "at": "2025-06-30 10:30:00",
                    "items": [{"code": code, "amount": 18.5}],
                }),
                Auth::Bearer(INSTITUTION_KEY),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["decision"].as_str().unwrap().to_owned()
    };
    assert_eq!(sell(format!("{settlement}-FIRST")).await, "allow");
    assert_eq!(sell(settlement.to_owned()).await, "block");
}

/// The findings of `model` (JSON rows).
async fn findings_of(c: &Client, model: &str) -> Vec<Value> {
    let r = c
        .get(
            &format!("/v1/findings?model={model}"),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["findings"].as_array().unwrap().clone()
}

/// Issue 13: a CR/LF in `next` reached the `Location` header (and `Redirect::to` panics on
/// it). Now such a target leads to the dashboard's start, and the server goes on answering.
#[tokio::test]
async fn a_control_character_in_next_never_reaches_location() {
    let c = Client::province();
    for next in [
        "/dashboard/\r\nX-Injected: 1",
        "/dashboard/\nX",
        "/dashboard/\u{7f}",
    ] {
        let r = c
            .post_form(
                "/dashboard/login",
                &[("key", REGULATOR_KEY), ("next", next)],
                Auth::None,
            )
            .await;
        assert_eq!(r.status, 303, "{next:?}");
        assert_eq!(r.header("location"), "/dashboard/", "{next:?}");
        assert!(r.header("x-injected").is_empty());
    }
    let r = c.get("/healthz", Auth::None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn the_dashboard_lets_in_regulators_only() {
    let c = Client::province();
    let r = c.get("/dashboard/clues?state=issued", Auth::None).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        "/dashboard/login?next=%2Fdashboard%2Fclues%3Fstate%3Dissued"
    );
    let r = c.get("/dashboard/login?next=/dashboard/", Auth::None).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("name=\"key\""), "{}", r.text());

    let r = c
        .post_form("/dashboard/login", &[("key", INSTITUTION_KEY)], Auth::None)
        .await;
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_empty());
    assert!(r.text().contains("机构的密钥"), "{}", r.text());
    let r = c
        .post_form(
            "/dashboard/login",
            &[("key", "dtk_nobody"), ("lang", "en")],
            Auth::None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("This key is not known"));

    let r = c
        .post_form(
            "/dashboard/login",
            &[
                ("key", REGULATOR_KEY),
                ("next", "/dashboard/models?lang=en"),
            ],
            Auth::None,
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/dashboard/models?lang=en");
    let set = r.header("set-cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(set.contains(part), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();
    let r = c.get("/dashboard/", Auth::Cookie(&cookie)).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("测试省医疗保障局"));
    assert!(
        r.header("content-security-policy")
            .contains("default-src 'none'")
    );
    // A key in the cookie is checked like a Bearer key: an institution's is refused.
    let r = c
        .get(
            "/dashboard/",
            Auth::Cookie(&format!("drugtrace_key={INSTITUTION_KEY}")),
        )
        .await;
    assert_eq!(r.status, 403);
    // A form posted from another site is refused even with the cookie.
    let r = c
        .send(
            c.http
                .post(format!("{}/dashboard/notices", c.url))
                .header("origin", "http://evil.example")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("title=x"),
            Auth::Cookie(&cookie),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = c
        .post_form("/dashboard/logout", &[], Auth::Cookie(&cookie))
        .await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").contains("Max-Age=0"));

    // The JSON API wants the regulator's Bearer key.
    assert_eq!(c.get("/v1/findings", Auth::None).await.status, 401);
    assert_eq!(
        c.get("/v1/findings", Auth::Bearer(INSTITUTION_KEY))
            .await
            .status,
        403
    );
    assert_eq!(
        c.get("/v1/findings", Auth::Cookie(&cookie)).await.status,
        401
    );
}

/// Every page and form of the dashboard, by method and path (ids and codes that need not
/// exist: the sign-in is checked before anything else).
const DASHBOARD_ROUTES: &[(&str, &str)] = &[
    ("GET", "/dashboard/"),
    ("GET", "/dashboard/clues"),
    ("GET", "/dashboard/clues.csv"),
    ("GET", "/dashboard/clues.parquet"),
    ("GET", "/dashboard/clues/C1"),
    ("GET", "/dashboard/clues/C1/dossier"),
    ("GET", "/dashboard/institutions/H1"),
    ("GET", "/dashboard/packs/81000000000000000001"),
    ("GET", "/dashboard/models"),
    ("GET", "/dashboard/sql"),
    ("GET", "/dashboard/notices"),
    ("GET", "/dashboard/live/interceptions"),
    ("POST", "/dashboard/clues/batches"),
    ("POST", "/dashboard/clues/C1/transition"),
    ("POST", "/dashboard/sql"),
    ("POST", "/dashboard/notices"),
    ("POST", "/dashboard/recalls"),
];

async fn request(c: &Client, method: &str, path: &str, auth: Auth<'_>) -> Answer {
    match method {
        "GET" => c.get(path, auth).await,
        _ => c.post_form(path, &[], auth).await,
    }
}

#[tokio::test]
async fn every_dashboard_page_asks_for_the_sign_in_the_same_way() {
    use drugtrace_dashboard::html::url_encode;
    let c = Client::province();
    let institution = format!("drugtrace_key={INSTITUTION_KEY}");
    for &(method, path) in DASHBOARD_ROUTES {
        for lang in ["", "?lang=en"] {
            let url = format!("{path}{lang}");
            // A GET leads back to the page after the sign-in; a form's post to the overview.
            let next = match method {
                "GET" => url_encode(&url).into_owned(),
                _ => "%2Fdashboard%2F".to_owned(),
            };
            let login = format!(
                "/dashboard/login?next={next}{}",
                if lang.is_empty() { "" } else { "&lang=en" }
            );
            for nobody in [Auth::None, Auth::Cookie("drugtrace_key=dtk_nobody")] {
                let r = request(&c, method, &url, nobody).await;
                assert_eq!(r.status, 303, "{method} {url}: {}", r.text());
                assert_eq!(r.header("location"), login, "{method} {url}");
            }
            let r = request(&c, method, &url, Auth::Cookie(&institution)).await;
            assert_eq!(r.status, 403, "{method} {url}");
            assert!(r.text().contains("<h1>"), "an error page: {}", r.text());
            let html_lang = if lang.is_empty() { "zh-CN" } else { "en" };
            assert!(
                r.text().contains(&format!("<html lang=\"{html_lang}\">")),
                "{method} {url}: {}",
                r.text()
            );
        }
    }
}

#[tokio::test]
async fn a_page_that_cannot_be_shown_is_an_error_page_in_the_request_language() {
    let c = Client::province();
    let cookie = c.login(REGULATOR_KEY).await;
    let auth = Auth::Cookie(&cookie);
    for (path, status, says) in [
        ("/dashboard/packs/not-a-code", 400, ""),
        (
            "/dashboard/institutions/not-a-code",
            400,
            "letters and digits",
        ),
        (
            "/dashboard/institutions/NOSUCH0",
            404,
            "no institution NOSUCH0",
        ),
        ("/dashboard/clues/nope", 400, ""),
        ("/dashboard/clues/C999999", 404, "no clue C999999"),
        ("/dashboard/clues?state=nonsense", 400, ""),
        ("/dashboard/clues.csv?state=nonsense", 400, ""),
    ] {
        for (lang, title) in [
            ("", "<h1>无法显示</h1>"),
            ("en", "<h1>Cannot show this</h1>"),
        ] {
            let url =
                drugtrace_dashboard::with_param(path, "lang", Some(lang).filter(|l| !l.is_empty()));
            let r = c.get(&url, auth).await;
            assert_eq!(r.status, status, "{url}: {}", r.text());
            assert!(r.text().contains(title), "{url}: {}", r.text());
            assert!(r.text().contains(says), "{url}: {}", r.text());
            assert!(r.header("content-type").starts_with("text/html"), "{url}");
        }
    }
    // A form's post about a clue the book does not hold is an error page, not the form again.
    let r = c
        .post_form(
            "/dashboard/clues/C999999/transition?lang=en",
            &[("to", "under_verification")],
            auth,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(
        r.text().contains("<h1>Cannot show this</h1>"),
        "{}",
        r.text()
    );
    assert!(!r.text().contains("name=\"note\""), "{}", r.text());
    // A refused new batch or notice shows its page again with the reason on top.
    let r = c
        .post_form(
            "/dashboard/clues/batches",
            &[("title", "t"), ("deadline", "someday"), ("top_n", "2")],
            auth,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("role=\"alert\""), "{}", r.text());
    assert!(r.text().contains("deadline"), "{}", r.text());
    assert!(
        r.text().contains("name=\"top_n\""),
        "the list's form: {}",
        r.text()
    );
    let r = c
        .post_form("/dashboard/notices?lang=en", &[("title", " ")], auth)
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("role=\"alert\""), "{}", r.text());
    assert!(r.text().contains("<html lang=\"en\">"), "{}", r.text());
    assert!(
        r.text().contains("name=\"title\""),
        "the notices' form: {}",
        r.text()
    );
}

#[tokio::test]
async fn the_pages_show_the_province() {
    let c = Client::province();
    let cookie = c.login(REGULATOR_KEY).await;
    let auth = Auth::Cookie(&cookie);

    let institutions = c
        .get("/v1/reports/institutions", Auth::Bearer(REGULATOR_KEY))
        .await
        .json();
    let top = &institutions["rows"][0];
    let (code, name) = (
        top["institution"].as_str().unwrap(),
        top["name"].as_str().unwrap(),
    );
    assert!(top["findings"].as_i64().unwrap() > 0);

    let overview = c.get("/dashboard/", auth).await;
    assert_eq!(overview.status, 200);
    let html = overview.text();
    // Years of days, drawn per week or per month: a page of bounded size.
    assert!(html.len() < 200_000, "the overview is {} bytes", html.len());
    assert!(
        html.contains("每周扫码与销售") || html.contains("每月扫码与销售"),
        "drawn per week or month"
    );
    assert!(html.contains("<svg"), "charts are drawn");
    assert!(html.contains(name), "the top institution is listed");
    let en = c.get("/dashboard/?lang=en", auth).await.text();
    assert!(en.contains("Overview") && en.contains("Sign out"));

    let page = c
        .get(&format!("/dashboard/institutions/{code}"), auth)
        .await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains(name) && html.contains(code));
    assert!(html.contains("<svg"));
    // Codes are letters and digits; anything else never reaches a query.
    let r = c
        .get("/dashboard/institutions/P1'%20OR%20'1'='1", auth)
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        c.get("/dashboard/institutions/X0000", auth).await.status,
        404
    );

    // A pack a finding cites: its evidence chain with the cited events highlighted.
    let duplicate = &findings_of(&c, "duplicate_sale").await[0];
    let pack_code = duplicate["code"].as_str().unwrap();
    let page = c.get(&format!("/dashboard/packs/{pack_code}"), auth).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    let cited: Vec<u64> = duplicate["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|seq| seq.as_u64().unwrap())
        .collect();
    assert_eq!(cited.len(), 2, "{duplicate}");
    for seq in &cited {
        assert!(
            html.contains(&format!("highlighted\" id=\"event-{seq}\"")),
            "event {seq} highlighted"
        );
    }
    assert!(
        html.contains("重复销售") || html.contains("已拦截"),
        "{html}"
    );
    assert_eq!(c.get("/dashboard/packs/123", auth).await.status, 400);

    let models = c.get("/dashboard/models?lang=en", auth).await.text();
    for m in drugtrace_analytics::models() {
        let title = m.title_en.replace('\'', "&#39;");
        assert!(models.contains(&title), "{} shown", m.name);
    }
    // Precision and recall against the planted truth, for the models it can measure.
    let measured = models
        .match_indices("%<")
        .filter(|(i, _)| models[..*i].ends_with(|c: char| c.is_ascii_digit()))
        .count();
    assert!(measured >= 10, "{measured} figures shown");

    let sql = c.get("/dashboard/sql", auth).await;
    assert_eq!(sql.status, 200);
    let r = c
        .post_form(
            "/dashboard/sql",
            &[(
                "query",
                "SELECT kind, COUNT(*) AS n FROM events GROUP BY kind ORDER BY kind",
            )],
            auth,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("commission"), "{}", r.text());
    let r = c
        .post_form("/dashboard/sql", &[("query", "DROP TABLE events")], auth)
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("role=\"alert\""));

    // A recall is listed among the public notices.
    let r = c
        .post_json(
            "/v1/recalls",
            &serde_json::json!({"drug_id": "8100001", "batch": "B-2503", "reason": "溶出度不合格"}),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let notices = c.get("/dashboard/notices", auth).await;
    assert_eq!(notices.status, 200);
    assert!(
        notices.text().contains("name=\"title\""),
        "the publish form"
    );
    assert!(
        notices.text().contains("药品召回与撤市"),
        "{}",
        notices.text()
    );
    assert!(notices.text().contains("B-2503"), "{}", notices.text());
    assert!(
        notices.text().contains("溶出度不合格"),
        "{}",
        notices.text()
    );

    // The regulator records one in the page's form: it is in force, listed, and authored.
    assert!(
        notices.text().contains("name=\"named_by\""),
        "the recall form"
    );
    let r = c
        .post_form(
            "/dashboard/recalls",
            &[
                ("named_by", "drug_id"),
                ("product", "8100001"),
                ("batch", "FORM-2511"),
                ("reason", "包装密封不严"),
            ],
            auth,
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), "/dashboard/notices");
    let notices = c.get("/dashboard/notices", auth).await;
    assert!(notices.text().contains("FORM-2511"), "{}", notices.text());
    assert!(notices.text().contains("包装密封不严"));
    let public = c.get("/v1/recalls", Auth::None).await.json();
    let listed = public["recalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["batch"] == "FORM-2511")
        .cloned()
        .expect("the form's recall is public");
    assert_ne!(
        listed["by"], "regulator",
        "authored by the signed-in user: {listed}"
    );
    // A wrong field is shown on the page again, naming it; nothing is recorded.
    let r = c
        .post_form(
            "/dashboard/recalls",
            &[
                ("named_by", "drug_id"),
                ("product", "81"),
                ("batch", "FORM-2512"),
                ("reason", "x"),
            ],
            auth,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("role=\"alert\""));
    let public = c.get("/v1/recalls", Auth::None).await.json();
    assert!(!public.to_string().contains("FORM-2512"));
}

/// The upload rate (上传率) comes from the imported settlement items: each institution's
/// share of its settled items with an uploaded sale, shown on its page and per region.
#[tokio::test]
async fn the_upload_rate_is_reported_and_shown() {
    let c = Client::province();
    let bearer = Auth::Bearer(REGULATOR_KEY);
    let report = c.get("/v1/reports/institutions", bearer).await.json();
    let rows = report["rows"].as_array().unwrap();
    let settled_file = std::fs::read_to_string(
        PROVINCE
            .data
            .parent()
            .unwrap()
            .join("province/settlements.csv"),
    )
    .unwrap();
    let settled: i64 = rows
        .iter()
        .map(|r| r["settled_items"].as_i64().unwrap())
        .sum();
    assert_eq!(settled as usize, settled_file.lines().count() - 1);
    let mut rated = Vec::new();
    for r in rows {
        let (s, u) = (
            r["settled_items"].as_i64().unwrap(),
            r["uploaded_items"].as_i64().unwrap(),
        );
        if s == 0 {
            assert!(r["upload_rate"].is_null(), "{r}");
            continue;
        }
        let rate = r["upload_rate"].as_f64().unwrap();
        assert_eq!(rate, u as f64 / s as f64, "{r}");
        rated.push((rate, r["institution"].as_str().unwrap().to_owned()));
    }
    rated.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (worst, code) = rated.first().unwrap();
    assert!(
        *worst < 0.95,
        "every institution uploads 95% or more: {rated:?}"
    );
    assert!(rated.iter().filter(|(r, _)| *r >= 0.95).count() > rated.len() / 2);

    let cookie = c.login(REGULATOR_KEY).await;
    let html = c
        .get(
            &format!("/dashboard/institutions/{code}"),
            Auth::Cookie(&cookie),
        )
        .await
        .text();
    let shown = format!("{:.1}%", worst * 100.0);
    assert!(
        html.contains("上传率") && html.contains(&shown),
        "{shown} not shown"
    );

    // The overview's regions show their rates where they had "—".
    let regions = c.get("/v1/reports/regions", bearer).await.json();
    let region_rates: Vec<f64> = regions["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["upload_rate"].as_f64())
        .collect();
    assert!(
        region_rates.iter().any(|&x| x > 0.0 && x < 1.0),
        "{regions}"
    );
    let overview = c.get("/dashboard/", Auth::Cookie(&cookie)).await.text();
    for x in region_rates {
        let shown = format!("{:.1}%</td>", x * 100.0);
        assert!(overview.contains(&shown), "{shown} not on the overview");
    }
}

#[tokio::test]
async fn a_clue_batch_goes_through_its_workflow_in_the_forms() {
    let c = Client::province();
    let cookie = c.login(REGULATOR_KEY).await;
    let auth = Auth::Cookie(&cookie);
    let r = c
        .post_form(
            "/dashboard/clues/batches",
            &[
                ("title", "2025年第1批 重复结算线索"),
                ("deadline", "2099-12-31"),
                ("top_n", "3"),
                ("province", ""),
                ("model", "duplicate_sale"),
                ("min_findings", ""),
            ],
            auth,
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.header("location");
    let batch = to
        .strip_prefix("/dashboard/clues?batch=")
        .unwrap()
        .to_owned();
    let list = c.get(&to, auth).await;
    assert_eq!(list.status, 200);
    assert!(list.text().contains("2025年第1批 重复结算线索"));

    let clues = c
        .get(
            &format!("/v1/clues?batch={batch}"),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await
        .json();
    assert_eq!(clues["count"], 3, "{clues}");
    let id = clues["clues"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(clues["clues"][0]["state"], "issued");
    assert!(
        clues["clues"][0]["amount_fen"].is_i64(),
        "an amount is a number of fen: {clues}"
    );
    let move_to = format!("/dashboard/clues/{id}/transition");

    let r = c
        .post_form(
            &move_to,
            &[("to", "under_verification"), ("note", "")],
            auth,
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), format!("/dashboard/clues/{id}"));
    let r = c
        .post_form(&move_to, &[("to", "confirmed"), ("note", " ")], auth)
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("needs a note"), "{}", r.text());
    for (recovered, why) in [("-1", "is negative"), ("126.555", "at most two decimals")] {
        let r = c
            .post_form(
                &move_to,
                &[
                    ("to", "confirmed"),
                    ("note", "查实"),
                    ("recovered_yuan", recovered),
                ],
                auth,
            )
            .await;
        assert_eq!(r.status, 400, "{recovered}");
        assert!(r.text().contains(why), "{recovered}: {}", r.text());
    }
    let r = c
        .post_form(
            &move_to,
            &[
                ("to", "confirmed"),
                ("note", "查实：无进货票据，追回基金"),
                ("recovered_yuan", "126.5"),
            ],
            auth,
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let r = c
        .post_form(&move_to, &[("to", "dismissed"), ("note", "x")], auth)
        .await;
    assert_eq!(r.status, 409, "a closed clue stays closed");

    let page = c.get(&format!("/dashboard/clues/{id}"), auth).await.text();
    assert!(page.contains("查实：无进货票据，追回基金"));
    let detail = c
        .get(&format!("/v1/clues/{id}"), Auth::Bearer(REGULATOR_KEY))
        .await
        .json();
    let audit = detail["audit"].as_array().unwrap();
    let moves: Vec<(&Value, &Value)> = audit.iter().map(|a| (&a["from"], &a["to"])).collect();
    assert_eq!(
        moves,
        [
            (&Value::Null, &json!("issued")),
            (&json!("issued"), &json!("under_verification")),
            (&json!("under_verification"), &json!("confirmed")),
        ]
    );
    assert_eq!(audit[2]["note"], "查实：无进货票据，追回基金");
    assert_eq!(audit[2]["recovered_fen"], 12_650);
    assert!(
        audit[2]["actor"]
            .as_str()
            .unwrap()
            .starts_with("regulator:")
    );
    assert_eq!(detail["clue"]["state"], "confirmed");
    assert_eq!(detail["clue"]["recovered_fen"], 12_650);

    // The same over the JSON API.
    let r = c
        .post_json(
            "/v1/clues/batches",
            &json!({"title": "API batch", "deadline": "2099-01-31", "top_n": 2}),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let second = r.json()["clues"][1].as_str().unwrap().to_owned();
    let r = c
        .post_json(
            &format!("/v1/clues/{second}/transition"),
            &json!({"to": "dismissed", "note": "x"}),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"]["code"], "illegal_transition");
    let r = c
        .post_json(
            "/v1/clues/C999999/transition",
            &json!({"to": "under_verification"}),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = c
        .post_json(
            "/v1/clues/batches",
            &json!({"title": "t", "deadline": "someday", "top_n": 2}),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "deadline");

    // The list as the bureaus' spreadsheet.
    let csv = c
        .get(&format!("/dashboard/clues.csv?batch={batch}"), auth)
        .await;
    assert_eq!(csv.status, 200);
    let text = csv.text();
    assert!(
        text.starts_with("\u{feff}clue,batch,position,institution"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4);
}

#[tokio::test]
async fn findings_reports_and_clues_export_as_csv_and_parquet() {
    let c = Client::province();
    let bearer = Auth::Bearer(REGULATOR_KEY);
    let all = c.get("/v1/findings", bearer).await.json();
    let n = all["count"].as_u64().unwrap();
    assert!(n > 10, "{n} findings");

    let csv = c.get("/v1/findings?format=csv", bearer).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        csv.header("content-disposition"),
        "attachment; filename=\"findings.csv\""
    );
    let text = csv.text();
    assert!(
        text.starts_with(
            "model,version,severity,code,institution,related_institution,person,product,at,amount_fen,evidence,detail\n"
        ),
        "{}",
        &text[..200]
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count() as u64, n);

    let parquet = c.get("/v1/findings?format=parquet", bearer).await;
    assert_eq!(
        parquet.header("content-type"),
        "application/vnd.apache.parquet"
    );
    assert!(parquet.bytes.starts_with(b"PAR1"));
    let rows = parquet_rows(parquet.bytes.clone());
    assert_eq!(rows, n);

    let model = "duplicate_sale";
    let some = findings_of(&c, model).await;
    assert!(some.iter().all(|f| f["model"] == model));
    let p = c
        .get(
            &format!("/v1/findings?model={model}&format=parquet"),
            bearer,
        )
        .await;
    assert_eq!(parquet_rows(p.bytes), some.len() as u64);
    let inst = some[0]["institution"].as_str().unwrap();
    let mine = c
        .get(&format!("/v1/findings?institution={inst}"), bearer)
        .await
        .json();
    assert!(
        mine["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["institution"] == inst)
    );
    let r = c.get("/v1/findings?model=nope", bearer).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "model");
    assert_eq!(c.get("/v1/findings?format=xlsx", bearer).await.status, 400);

    let daily = c.get("/v1/reports/daily?format=csv", bearer).await;
    assert!(
        daily
            .text()
            .starts_with("day,scans,sales,interceptions,intercepted_fen\n")
    );
    let r = c.get("/v1/reports/nope", bearer).await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("duplicated_codes")
    );

    // Clues as Parquet (whatever batches the other tests issued).
    c.post_json(
        "/v1/clues/batches",
        &json!({"title": "export", "deadline": "2099-01-31", "top_n": 1}),
        bearer,
    )
    .await;
    let listed = c.get("/v1/clues", bearer).await.json()["count"]
        .as_u64()
        .unwrap();
    let p = c.get("/v1/clues?format=parquet", bearer).await;
    assert!(p.bytes.starts_with(b"PAR1"));
    assert!(parquet_rows(p.bytes) >= listed.min(1));
    let r = c.get("/v1/clues?state=closed", bearer).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "state");

    let r = c
        .post_json("/v1/analytics/refresh", &json!({}), bearer)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["findings"].as_u64(), Some(n));
}

/// Rows of a Parquet file, read with the Parquet crate DataFusion uses.
fn parquet_rows(bytes: Vec<u8>) -> u64 {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    reader.map(|b| b.unwrap().num_rows() as u64).sum()
}

#[tokio::test]
async fn sql_is_read_only_and_limited() {
    let c = Client::province();
    let bearer = Auth::Bearer(REGULATOR_KEY);
    let r = c
        .post_json("/v1/sql", &json!({"query": "SELECT * FROM events"}), bearer)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["truncated"], true);
    assert_eq!(body["rows"].as_array().unwrap().len(), 1_000);
    assert_eq!(body["columns"][0], "code");
    assert!(body["elapsed_ms"].as_f64().unwrap() >= 0.0);

    for refused in [
        "DROP TABLE events",
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO findings SELECT * FROM findings",
        "COPY events TO '/tmp/stolen.csv'",
        "SET datafusion.execution.batch_size = 1",
        "SELEC 1",
        "SELECT nope FROM events",
    ] {
        let r = c
            .post_json("/v1/sql", &json!({"query": refused}), bearer)
            .await;
        assert_eq!(r.status, 400, "{refused}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "invalid_query");
    }
    assert!(!std::path::Path::new("/tmp/stolen.csv").exists());
    let r = c
        .post_json(
            "/v1/sql",
            &json!({"query": "SELECT 1"}),
            Auth::Bearer(INSTITUTION_KEY),
        )
        .await;
    assert_eq!(r.status, 403);
}

/// A server over the province's warehouse whose queries may take a millisecond.
#[tokio::test]
async fn a_query_past_the_time_limit_is_cancelled() {
    let data = &PROVINCE.data;
    let dir = tempfile::tempdir().unwrap();
    let paths = SupervisionPaths {
        warehouse: data.join("warehouse"),
        settlements: data.join("settlements"),
        clues: dir.path().join("clues"),
        notices: dir.path().join("notices.jsonl"),
        finding_hooks: dir.path().join("finding-hooks.jsonl"),
        truth: None,
    };
    let supervision = Supervision::open(&paths)
        .unwrap()
        .with_query_limits(QueryLimits {
            max_rows: 10,
            timeout: std::time::Duration::from_millis(1),
        });
    let url = serve_mem(Some(supervision)).await;
    let c = Client::new(&url);
    let r = c
        .post_json(
            "/v1/sql",
            &json!({"query": "SELECT code, COUNT(*) AS n FROM events GROUP BY code ORDER BY n DESC"}),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await;
    assert_eq!(r.status, 408, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "query_timeout");
}

/// A server over an empty in-memory ledger, with or without supervision.
async fn serve_mem(supervision: Option<Supervision>) -> String {
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let mut state = crate::state_of(ledger, keys());
    if let Some(s) = supervision {
        state = state.with_supervision(s);
    }
    crate::serve(state).await
}

#[tokio::test]
async fn before_the_models_ran_supervision_says_what_to_run() {
    let c = Client::new(&serve_mem(None).await);
    let r = c.get("/v1/findings", Auth::Bearer(REGULATOR_KEY)).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"]["code"], "supervision_not_configured");
    assert!(r.text().contains("drugtrace analytics run"));

    let dir = tempfile::tempdir().unwrap();
    let supervision = Supervision::open(&SupervisionPaths::in_data_dir(dir.path())).unwrap();
    let c = Client::new(&serve_mem(Some(supervision)).await);
    for path in ["/v1/findings", "/v1/reports/daily"] {
        let r = c.get(path, Auth::Bearer(REGULATOR_KEY)).await;
        assert_eq!(r.status, 503, "{path}");
        assert_eq!(r.json()["error"]["code"], "no_warehouse");
        assert!(r.text().contains("drugtrace analytics run"));
    }
    let cookie = c.login(REGULATOR_KEY).await;
    let r = c.get("/dashboard/", Auth::Cookie(&cookie)).await;
    assert_eq!(r.status, 503);
    assert!(r.text().contains("drugtrace analytics run"));
    // Clues and notices need no warehouse.
    assert_eq!(
        c.get("/v1/clues", Auth::Bearer(REGULATOR_KEY)).await.status,
        200
    );
    assert_eq!(c.get("/v1/notices", Auth::None).await.status, 200);
}

#[tokio::test]
async fn without_supervision_every_dashboard_page_says_so_in_the_request_language() {
    let c = Client::new(&serve_mem(None).await);
    // The sign-in needs only the key file.
    let cookie = c.login(REGULATOR_KEY).await;
    for &(method, path) in DASHBOARD_ROUTES {
        for (lang, title) in [
            ("", "<h1>无法显示</h1>"),
            ("?lang=en", "<h1>Cannot show this</h1>"),
        ] {
            let url = format!("{path}{lang}");
            let r = request(&c, method, &url, Auth::Cookie(&cookie)).await;
            assert_eq!(r.status, 503, "{method} {url}: {}", r.text());
            assert!(r.text().contains(title), "{method} {url}: {}", r.text());
            assert!(
                r.text().contains("drugtrace analytics run"),
                "{method} {url}: {}",
                r.text()
            );
        }
    }
    // Still nobody unsigned gets that far.
    let r = c.get("/dashboard/models", Auth::None).await;
    assert_eq!(r.status, 303);
}

#[tokio::test]
async fn a_published_notice_warns_the_patient() {
    let c = Client::province();
    let bearer = Auth::Bearer(REGULATOR_KEY);
    let report = c.get("/v1/reports/duplicated_codes", bearer).await.json();
    let code = report["rows"][0]["code"].as_str().unwrap().to_owned();
    let times = report["rows"][0]["times_sold"].as_i64().unwrap();
    let before = c.get(&format!("/v1/codes/{code}"), Auth::None).await.json();
    assert_eq!(before["case"], "multiple_sales");

    let r = c
        .post_json(
            "/v1/notices",
            &json!({"title": "重复追溯码公告（第1期）", "codes": [code]}),
            Auth::Bearer(INSTITUTION_KEY),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = c
        .post_json(
            "/v1/notices",
            &json!({"title": "重复追溯码公告（第1期）", "codes": ["00000000000000000000"]}),
            bearer,
        )
        .await;
    assert_eq!(r.status, 400);
    let r = c
        .post_json(
            "/v1/notices",
            &json!({"title": "重复追溯码公告（第1期）", "codes": [code]}),
            bearer,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_u64().unwrap();

    let public = c.get("/v1/notices", Auth::None).await.json();
    assert!(
        public["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == id && n["entries"][0]["code"] == code.as_str())
    );
    let after = c.get(&format!("/v1/codes/{code}"), Auth::None).await.json();
    assert_eq!(after["notice"]["id"], id);
    assert_eq!(after["notice"]["title"], "重复追溯码公告（第1期）");
    assert_eq!(after["notice"]["times_sold"], times);

    // And through the dashboard's form: every duplicated code.
    let cookie = c.login(REGULATOR_KEY).await;
    let r = c
        .post_form(
            "/dashboard/notices",
            &[("title", "全部重复追溯码")],
            Auth::Cookie(&cookie),
        )
        .await;
    assert_eq!(r.status, 303);
    let page = c
        .get("/dashboard/notices", Auth::Cookie(&cookie))
        .await
        .text();
    assert!(page.contains("全部重复追溯码") && page.contains(&code));
    let r = c
        .post_form(
            "/dashboard/notices",
            &[("title", " ")],
            Auth::Cookie(&cookie),
        )
        .await;
    assert_eq!(r.status, 400);
}

/// Reads server-sent events from `r` until one `interception` event names `code`; returns
/// its id and data.
async fn interception_for(r: &mut reqwest::Response, code: &str) -> (String, Value) {
    let mut buf = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        for event in buf.split("\n\n") {
            let field = |name: &str| {
                event
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_owned())
            };
            if field("event:").as_deref() == Some("interception")
                && let (Some(id), Some(data)) = (field("id:"), field("data:"))
            {
                let data: Value = serde_json::from_str(&data).unwrap();
                if data["code"] == code {
                    return (id, data);
                }
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "no interception of {code} on the stream: {buf}"
        );
        match tokio::time::timeout(left, r.chunk()).await {
            Ok(Ok(Some(chunk))) => buf.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(other) => panic!("the stream ended: {other:?}; {buf}"),
            Err(_) => panic!("no interception of {code} on the stream: {buf}"),
        }
    }
}

/// Issue 16, live supervision: a sale the gate blocks reaches a regulator's open event
/// stream as it happens and the overview's ticker, marked new until the overview was seen;
/// a reconnecting stream gets what it missed; a bad place to resume from is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_sale_reaches_the_live_ticker_as_it_happens() {
    let c = Client::province();
    let cookie = c.login(REGULATOR_KEY).await;
    let code = fresh_code(&c, 1).await;
    let open = |resume: Option<&str>| {
        let mut req = c
            .http
            .get(format!("{}/dashboard/live/interceptions?lang=en", c.url))
            .header("cookie", &cookie);
        if let Some(id) = resume {
            req = req.header("last-event-id", id);
        }
        req.send()
    };
    let mut stream = open(None).await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    // Without the regulator's cookie there is no stream.
    let r = c.get("/dashboard/live/interceptions", Auth::None).await;
    assert_eq!(r.status, 303, "to the sign-in");

    let settlement = format!("LIVE-{}", std::process::id());
    block_a_sale(&c, &code, &settlement).await;
    let (id, item) = interception_for(&mut stream, &code).await;
    assert_eq!(item["settlement"], settlement);
    assert_eq!(item["amount"], "18.50");
    assert!(
        item["code_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/dashboard/packs/{code}")),
        "{item}"
    );
    assert!(!item["reason"].as_str().unwrap().is_empty(), "{item}");
    assert!(!item["institution"].as_str().unwrap().is_empty(), "{item}");

    // The overview shows it, new; what it showed is seen on the next look.
    let r = c.get("/dashboard/?lang=en", Auth::Cookie(&cookie)).await;
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(
        page.contains(&format!("class=\"live-item new\" data-id=\"{id}\"")),
        "{id} not new on the overview"
    );
    assert!(
        r.header("content-security-policy")
            .contains("script-src 'self'"),
        "the ticker's script is allowed"
    );
    let seen = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("drugtrace_seen="))
        .expect("the overview marks what it showed as seen")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let again = c
        .get(
            "/dashboard/?lang=en",
            Auth::Cookie(&format!("{cookie}; {seen}")),
        )
        .await
        .text();
    assert!(
        again.contains(&format!("class=\"live-item\" data-id=\"{id}\"")),
        "{id} still new after it was seen"
    );
    let script = c.get("/dashboard/live.js", Auth::Cookie(&cookie)).await;
    assert!(script.header("content-type").starts_with("text/javascript"));
    assert!(script.text().contains("EventSource"));

    // A browser that reconnects sends the last id it got: it gets what came after.
    // (An id of an earlier day resumes from today's first.)
    let mut resumed = open(Some("2000-01-01/0/0")).await.unwrap();
    let (again_id, _) = interception_for(&mut resumed, &code).await;
    assert_eq!(again_id, id);
    let r = open(Some("yesterday")).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("no place in the feed"));
}

/// An open event stream never ends by itself: a graceful shutdown ends it instead of
/// waiting for it for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_ends_the_open_live_streams() {
    let dir = tempfile::tempdir().unwrap();
    let supervision = Supervision::open(&SupervisionPaths::in_data_dir(dir.path())).unwrap();
    let ledger = Ledger::new(MemStore::new(), Catalog::default(), Policy::default());
    let state = crate::state_of(ledger, keys())
        .with_supervision(supervision)
        .with_interceptions(
            drugtrace_api::Interceptions::in_dir(&dir.path().join("live"), 480).unwrap(),
        );
    let (url, stop, server) = crate::serve_until_stopped(state).await;
    let c = Client::new(&url);
    let cookie = c.login(REGULATOR_KEY).await;
    let mut stream = c
        .http
        .get(format!("{url}/dashboard/live/interceptions"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(ended.is_ok(), "the server waited for the open stream");
    ended.unwrap().unwrap().unwrap();
    let rest = tokio::time::timeout(std::time::Duration::from_secs(5), stream.chunk()).await;
    assert!(matches!(rest, Ok(Ok(None)) | Ok(Err(_))), "{rest:?}");
}
