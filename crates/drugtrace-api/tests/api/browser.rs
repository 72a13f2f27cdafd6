//! The patient page in headless Chromium (Debian's `chromium`; `scripts/test` installs it):
//! each result case rendered from the real API, checked in the DOM after the page's script
//! ran, with a screenshot per case in `target/screenshots/`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use super::{commission, spawn_app};

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
        if let Some(p) = person {
            url.push_str(&format!("#person={p}"));
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
}
