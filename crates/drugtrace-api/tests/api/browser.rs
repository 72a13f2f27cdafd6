//! The patient page in headless Chromium (Debian's `chromium`; `scripts/test` installs it):
//! each result case rendered from the real API, checked in the DOM after the page's script
//! ran, with a screenshot per case in `target/screenshots/`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use super::{commission, patient_identity, spawn_app};

fn chromium() -> &'static str {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c;
        }
    }
    panic!("no Chromium: scripts/test installs Debian's chromium package");
}

/// Runs headless Chromium on `url` with `extra` flags; returns its standard output.
fn run_chromium(url: &str, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            "--window-size=820,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patient_page_shows_every_case() {
    let app = spawn_app().await;
    let me = "350102199001011234";
    app.post(
        "/v1/events",
        &json!([
            commission("81000020000000000021"),
            commission("81000020000000000022"),
            commission("81000020000000000023")
        ]),
    )
    .await;
    app.sale("S-22", "P35010200017", me, &["81000020000000000022"])
        .await;
    app.sale(
        "S-23a",
        "P35010200017",
        "130703197707073333",
        &["81000020000000000023"],
    )
    .await;
    app.sale("S-23b", "P13070300088", me, &["81000020000000000023"])
        .await;

    let cases = [
        (
            "no_sale",
            "81000020000000000021",
            None,
            "zh",
            "未查询到销售信息",
        ),
        (
            "one_sale_mine",
            "81000020000000000022",
            Some(me),
            "zh",
            "仅有1次销售，为本人购买",
        ),
        (
            "one_sale_not_mine",
            "81000020000000000022",
            Some("130703197707073333"),
            "en",
            "Sold once, not to you",
        ),
        (
            "multiple_sales",
            "81000020000000000023",
            None,
            "zh",
            "查询到多次销售信息",
        ),
        ("one_sale", "81000020000000000022", None, "en", "Sold once"),
    ];
    let shots = screenshots();
    for (case, code, person, lang, heading) in cases {
        let mut url = format!("{}/?code={code}&lang={lang}", app.url);
        // As the NHSA app hands the signed identity over after its login.
        if let Some(p) = person {
            url.push_str(&format!("#assertion={}", patient_identity::assertion(p)));
        }
        let dom = {
            let url = url.clone();
            tokio::task::spawn_blocking(move || run_chromium(&url, &["--dump-dom".into()]))
                .await
                .unwrap()
        };
        assert!(
            dom.contains(&format!(r#"data-case="{case}""#)),
            "{case}: the page did not render its case:\n{dom}"
        );
        assert!(dom.contains(heading), "{case}: no heading {heading:?}");
        if person.is_some() {
            assert!(
                dom.contains(r#"data-identity="verified""#),
                "{case}: the assertion was used"
            );
        }
        assert!(
            dom.contains("盐酸阿来替尼胶囊"),
            "{case}: the product is shown"
        );
        let path = shots.join(format!("patient-{case}.png"));
        let _ = std::fs::remove_file(&path);
        let flag = format!("--screenshot={}", path.display());
        tokio::task::spawn_blocking(move || run_chromium(&url, &[flag]))
            .await
            .unwrap();
        assert!(
            path.metadata().is_ok_and(|m| m.len() > 10_000),
            "{case}: screenshot written"
        );
    }

    // An expired assertion pasted into the page: the anonymous case, and the page says why.
    let expired = patient_identity::identity_key().issue(&drugtrace_api::Claims::new(
        me,
        drugtrace_ledger::Timestamp::now().millis() / 1000 - 3600,
        600,
    ));
    let url = format!(
        "{}/?code=81000020000000000022&lang=zh#assertion={expired}",
        app.url
    );
    let dom = tokio::task::spawn_blocking(move || run_chromium(&url, &["--dump-dom".into()]))
        .await
        .unwrap();
    assert!(dom.contains(r#"data-case="one_sale""#), "{dom}");
    assert!(dom.contains(r#"data-identity="expired""#), "{dom}");
    assert!(dom.contains("身份凭证已过期"), "{dom}");
}

/// The regulator's dashboard in a real browser: signed in through the login form (the
/// cookie is set by the server, as for a person), then the overview, a batch's clue list
/// and a pack's evidence chain in Chinese and English, each checked in the DOM and
/// screenshotted; and the patient page's warning for a code on a published notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_browser() {
    use super::REGULATOR_KEY;
    use super::supervision::{Auth, Client};
    let c = Client::province();
    let bearer = Auth::Bearer(REGULATOR_KEY);
    let r = c
        .post_json(
            "/v1/clues/batches",
            &json!({"title": "浏览器测试批次", "deadline": "2099-06-30", "top_n": 8}),
            bearer,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let batch = r.json()["batch"].as_str().unwrap().to_owned();
    let first = r.json()["clues"][0].as_str().unwrap().to_owned();
    c.post_json(
        &format!("/v1/clues/{first}/transition"),
        &json!({"to": "under_verification", "note": "已派员核查"}),
        bearer,
    )
    .await;
    let duplicated = c.get("/v1/reports/duplicated_codes", bearer).await.json();
    let code = duplicated["rows"][0]["code"].as_str().unwrap().to_owned();
    let r = c
        .post_json(
            "/v1/notices",
            &json!({"title": "重复追溯码公告（浏览器测试）", "codes": [code]}),
            bearer,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let url = c.url.clone();
    tokio::task::spawn_blocking(move || {
        let shots = screenshots();
        let mut b = super::cdp::Browser::start(chromium(), 1280, 900);
        b.goto(&format!("{url}/dashboard/clues"));
        assert_eq!(b.eval("location.pathname"), "/dashboard/login", "not signed in yet");
        b.screenshot(&shots.join("dashboard-login-zh.png"), 900.0);
        b.eval_and_wait(&format!(
            "document.getElementById('key').value = '{REGULATOR_KEY}'; document.querySelector('main form').submit()"
        ));
        assert_eq!(b.eval("location.pathname"), "/dashboard/clues", "signed in");
        assert_eq!(b.eval("document.cookie"), "", "the cookie is HttpOnly");
        let pages = [
            ("overview", "/dashboard/".to_owned(), "document.querySelectorAll('main svg').length >= 3"),
            (
                "clues",
                format!("/dashboard/clues?batch={batch}"),
                "document.querySelectorAll('tr[id^=clue-]').length === 8 && document.body.innerText.includes('浏览器测试批次')",
            ),
            (
                "pack",
                format!("/dashboard/packs/{code}"),
                "document.querySelectorAll('li.highlighted').length > 0",
            ),
        ];
        b.goto(&format!("{url}/dashboard/notices"));
        assert_eq!(b.eval("document.querySelector('#publish form') !== null"), true);
        b.screenshot(&shots.join("dashboard-notices-zh.png"), 2000.0);
        for lang in ["zh", "en"] {
            for (name, path, check) in &pages {
                let sep = if path.contains('?') { '&' } else { '?' };
                b.goto(&format!("{url}{path}{sep}lang={lang}"));
                assert_eq!(b.eval(check), true, "{name} ({lang})");
                let html_lang = if lang == "en" { "en" } else { "zh-CN" };
                assert_eq!(b.eval("document.documentElement.lang"), html_lang);
                let path = shots.join(format!("dashboard-{name}-{lang}.png"));
                let _ = std::fs::remove_file(&path);
                b.screenshot(&path, 3000.0);
                assert!(path.metadata().is_ok_and(|m| m.len() > 20_000), "{name} ({lang}) screenshot");
            }
        }
        // A form posted by the browser (its Origin and the SameSite cookie go with it).
        b.goto(&format!("{url}/dashboard/clues/{first}"));
        b.eval_and_wait(
            "const f = document.querySelector('form.workflow'); f.to.value = 'confirmed'; \
             f.note.value = '查实：串换药品'; f.recovered_yuan.value = '88.5'; f.submit()",
        );
        assert_eq!(b.eval("location.pathname"), format!("/dashboard/clues/{first}"));
        assert_eq!(
            b.eval("document.body.innerText.includes('查实：串换药品') && document.body.innerText.includes('88.50')"),
            true,
            "the move is in the audit trail"
        );
        // The API's page renders every documented path, the supervision ones included.
        b.goto(&format!("{url}/docs"));
        let rendered = (0..100).any(|_| {
            let n = b.eval("document.querySelectorAll('section.op').length");
            if n.as_u64().unwrap_or(0) > 0 {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            false
        });
        assert!(rendered, "/docs rendered the operations");
        let spec: Value = serde_json::from_str(drugtrace_api::OPENAPI).unwrap();
        let ops: usize = spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(b.eval("document.querySelectorAll('section.op').length"), ops);
        // The patient checks a code on the notice: the page warns.
        for lang in ["zh", "en"] {
            b.goto(&format!("{url}/?code={code}&lang={lang}"));
            let warned = (0..100).any(|_| {
                let shown = b.eval("getComputedStyle(document.getElementById('notice')).display !== 'none'");
                if shown == true {
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
                false
            });
            assert!(warned, "the notice is shown ({lang})");
            let text = b.eval("document.getElementById('notice').textContent");
            assert!(text.as_str().unwrap().contains("重复追溯码公告（浏览器测试）"), "{text}");
            let path = shots.join(format!("patient-notice-{lang}.png"));
            b.screenshot(&path, 1200.0);
        }
    })
    .await
    .unwrap();
}

/// Issue 16, live supervision: the overview open in a browser shows a sale the gate blocked
/// a moment ago without a reload, marked new, and counts it; screenshotted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_a_blocked_sale_without_a_reload() {
    use super::REGULATOR_KEY;
    use super::supervision::{Client, block_a_sale, fresh_code};
    let c = Client::province();
    let code = fresh_code(&c, 2).await;
    let url = c.url.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut b = super::cdp::Browser::start(chromium(), 1280, 900);
        b.goto(&format!("{url}/dashboard/login"));
        b.eval_and_wait(&format!(
            "document.getElementById('key').value = '{REGULATOR_KEY}'; document.querySelector('main form').submit()"
        ));
        b.goto(&format!("{url}/dashboard/?lang=en"));
        assert_eq!(b.eval("document.getElementById('live-interceptions') !== null"), true);
        // Marks this page: a reload would lose the mark.
        b.eval("window.loadedOnce = true; document.getElementById('live-new').textContent");
        let before = b.eval("document.getElementById('live-new').textContent");
        let settlement = format!("BROWSER-LIVE-{}", std::process::id());
        handle.block_on(block_a_sale(&c, &code, &settlement));
        let shown = format!(
            "window.loadedOnce === true && [...document.querySelectorAll('#live-interceptions li.live-item.new')]\
             .some(li => li.textContent.includes('{code}') && li.textContent.includes('{settlement}'))"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while b.eval(&shown) != true {
            assert!(
                std::time::Instant::now() < deadline,
                "the blocked sale of {code} did not show without a reload"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let after = b.eval("document.getElementById('live-new').textContent");
        let n = |v: &serde_json::Value| v.as_str().unwrap().parse::<u64>().unwrap();
        assert!(n(&after) > n(&before), "the new count went from {before} to {after}");
        let path = screenshots().join("dashboard-live-en.png");
        let _ = std::fs::remove_file(&path);
        b.screenshot(&path, 1400.0);
        assert!(path.metadata().is_ok_and(|m| m.len() > 20_000));
    })
    .await
    .unwrap();
}

/// A clue's inspection dossier as a bureau prints it: signed in through the form, the
/// dossier of a clue whose pack was sold twice printed to PDF by Chromium in Chinese and
/// English (`target/screenshots/dossier-*.pdf`), and a screenshot of each as the print
/// stylesheet lays it out on an A4-wide page (`dossier-*-print.png`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dossier_prints_to_pdf() {
    use super::REGULATOR_KEY;
    use super::cdp::pdf_pages;
    use super::supervision::Client;
    let c = Client::province();
    let (id, _, code) =
        super::dossier::clue_with_a_pack_sold_twice(&c, "检查材料打印测试批次").await;
    let url = c.url.clone();
    tokio::task::spawn_blocking(move || {
        let shots = screenshots();
        let mut b = super::cdp::Browser::start(chromium(), 1280, 900);
        b.goto(&format!("{url}/dashboard/clues/{id}/dossier"));
        assert_eq!(b.eval("location.pathname"), "/dashboard/login");
        b.eval_and_wait(&format!(
            "document.getElementById('key').value = '{REGULATOR_KEY}'; document.querySelector('main form').submit()"
        ));
        assert_eq!(b.eval("location.pathname"), format!("/dashboard/clues/{id}/dossier"));
        for (lang, heading) in [("zh", "线索检查材料"), ("en", "Inspection dossier")] {
            b.emulate_media("");
            b.goto(&format!("{url}/dashboard/clues/{id}/dossier?lang={lang}"));
            assert_eq!(
                b.eval("document.querySelector('h1').textContent"),
                format!("{heading} {id}")
            );
            assert_eq!(
                b.eval(&format!(
                    "[...document.querySelectorAll('#dossier-sales tr.sale')].filter(r => r.textContent.includes('{code}')).length >= 2"
                )),
                true,
                "both sales ({lang})"
            );
            b.emulate_media("print");
            // As printed: no navigation, no forms, black text on white.
            assert_eq!(
                b.eval("getComputedStyle(document.querySelector('nav.main')).display"),
                "none"
            );
            assert_eq!(
                b.eval("getComputedStyle(document.querySelector('header.top')).color"),
                "rgb(0, 0, 0)"
            );
            assert_eq!(
                b.eval("getComputedStyle(document.querySelector('.dossier-chains')).breakBefore"),
                "page"
            );
            let pdf_path = shots.join(format!("dossier-{lang}.pdf"));
            let _ = std::fs::remove_file(&pdf_path);
            let pdf = b.print_to_pdf(&pdf_path);
            assert!(pdf.starts_with(b"%PDF-"), "a PDF ({lang})");
            let pages = pdf_pages(&pdf);
            assert!(pages >= 2, "{pages} pages ({lang}): the chains start on a page of their own");
            if lang == "zh" {
                // The Chinese text is set in a CJK font, embedded (Debian's fonts-wqy-microhei).
                let embedded = pdf.windows(9).any(|w| w == b"WenQuanYi");
                assert!(embedded, "a CJK font in the PDF");
            }
            // The width printed on: A4 less the stylesheet's 12 mm margins, at 96 dpi.
            b.page(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": 703, "height": 1000, "deviceScaleFactor": 1, "mobile": false}),
            );
            assert_eq!(
                b.eval("document.documentElement.scrollWidth <= 703"),
                true,
                "nothing is wider than the printed page ({lang})"
            );
            let png = shots.join(format!("dossier-{lang}-print.png"));
            let _ = std::fs::remove_file(&png);
            b.screenshot(&png, 16_000.0);
            assert!(png.metadata().is_ok_and(|m| m.len() > 20_000), "{lang} print screenshot");
            b.page(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
            );
        }
    })
    .await
    .unwrap();
}
