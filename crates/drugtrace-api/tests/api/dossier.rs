//! A clue's inspection dossier over HTTP, on the shared province: a clue about an
//! institution where a pack was sold twice, issued and taken under verification, then its
//! dossier in Chinese and English with the institution, both sales and their amounts, the
//! total, the deadline and the audit trail.

use drugtrace_money::Fen;
use serde_json::{Value, json};

use super::REGULATOR_KEY;
use super::supervision::{Auth, Client, INSTITUTION_KEY};

/// The rows of a regulator's query, each an array of its columns' values.
async fn rows(c: &Client, sql: &str) -> Vec<Value> {
    let r = c
        .post_json(
            "/v1/sql",
            &json!({ "query": sql }),
            Auth::Bearer(REGULATOR_KEY),
        )
        .await;
    assert_eq!(r.status, 200, "{sql}: {}", r.text());
    r.json()["rows"].as_array().unwrap().clone()
}

/// An amount of fen in a query's answer (which gives numbers as text), as the pages show it.
fn yuan(fen: &Value) -> String {
    let fen = fen
        .as_i64()
        .or_else(|| fen.as_str()?.parse().ok())
        .unwrap_or_else(|| panic!("not a number of fen: {fen}"));
    Fen::new(fen).grouped().to_string()
}

/// A clue about an institution with a pack sold twice, issued with a deadline already past,
/// and moved to under verification with a note; returns the clue's id, its institution and
/// the pack.
pub async fn clue_with_a_pack_sold_twice(c: &Client, title: &str) -> (String, String, String) {
    let bearer = Auth::Bearer(REGULATOR_KEY);
    let r = c
        .post_json(
            "/v1/clues/batches",
            &json!({"title": title, "deadline": "2025-11-20", "top_n": 1, "models": ["duplicate_sale"]}),
            bearer,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["clues"][0].as_str().unwrap().to_owned();
    let clue = c.get(&format!("/v1/clues/{id}"), bearer).await.json();
    let institution = clue["clue"]["institution"].as_str().unwrap().to_owned();
    // A pack of its findings sold (went through, or was refused) at least twice.
    let sold = rows(
        c,
        &format!(
            "SELECT code FROM events WHERE kind = 'sale' AND code IN \
             (SELECT code FROM findings WHERE institution = '{institution}' AND model = 'duplicate_sale') \
             GROUP BY code HAVING COUNT(*) >= 2 ORDER BY code LIMIT 1"
        ),
    )
    .await;
    let code = sold[0][0].as_str().unwrap().to_owned();
    let r = c
        .post_json(
            &format!("/v1/clues/{id}/transition"),
            &json!({"to": "under_verification", "note": "已派员调取进销存台账"}),
            bearer,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    (id, institution, code)
}

#[tokio::test]
async fn a_clues_dossier_holds_the_institution_sales_amounts_deadline_and_audit_trail() {
    let c = Client::province();
    let cookie = c.login(REGULATOR_KEY).await;
    let auth = Auth::Cookie(&cookie);
    let (id, institution, code) = clue_with_a_pack_sold_twice(&c, "检查材料测试批次").await;
    let path = format!("/dashboard/clues/{id}/dossier");

    let page = c.get(&path, auth).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(
        page.header("content-security-policy")
            .starts_with("default-src 'none'")
    );
    let html = page.text();
    assert!(!html.contains("<script"), "the dossier needs no script");
    for text in [
        "线索检查材料",
        "被检查机构",
        "销售与金额",
        "各追溯码证据链",
        "处理记录",
        "检查材料测试批次",
        &format!(">{institution}<"),
        // The deadline, past: overdue against today.
        "2025-11-20",
        "已逾期",
        // The audit trail: created, then taken under verification with its note.
        "<span class=\"small\">创建</span> → <span class=\"badge issued\">已下发</span>",
        "<span class=\"badge issued\">已下发</span> → <span class=\"badge under_verification\">核查中</span>",
        "已派员调取进销存台账",
        &format!("<a class=\"mono\" href=\"/dashboard/packs/{code}\">{code}</a>"),
    ] {
        assert!(html.contains(text), "the dossier lacks {text}");
    }
    let directory_name = rows(
        &c,
        &format!("SELECT name FROM institutions WHERE code = '{institution}'"),
    )
    .await;
    let name = directory_name[0][0].as_str().unwrap();
    assert!(html.contains(name), "the institution's name {name}");

    // Both sales of the pack, each with its settlement and amount, in the sales table.
    let sales = rows(
        &c,
        &format!(
            "SELECT settlement, amount_fen, outcome FROM events \
             WHERE kind = 'sale' AND code = '{code}' ORDER BY seq"
        ),
    )
    .await;
    assert!(sales.len() >= 2, "{sales:?}");
    let table = &html
        [html.find("id=\"dossier-sales\"").unwrap()..html.find("id=\"dossier-chains\"").unwrap()];
    let rows_of_code: Vec<&str> = table
        .split("<tr class=\"sale\">")
        .skip(1)
        .filter(|row| row.contains(&format!(">{code}<")))
        .collect();
    assert_eq!(
        rows_of_code.len(),
        sales.len(),
        "every sale of {code} is listed"
    );
    for (row, sale) in rows_of_code.iter().zip(&sales) {
        let amount = yuan(&sale[1]);
        assert!(
            row.contains(&format!("<td class=\"num\">{amount}</td>")),
            "{amount} in {row}"
        );
        if let Some(settlement) = sale[0].as_str() {
            assert!(row.contains(settlement), "{settlement} in {row}");
        }
    }

    // The totals are those of every sale of the clue's packs.
    let totals = rows(
        &c,
        &format!(
            "SELECT \
               COALESCE(SUM(CASE WHEN outcome <> 'rejected' THEN amount_fen END), 0) AS settled, \
               COALESCE(SUM(CASE WHEN outcome = 'rejected' THEN amount_fen END), 0) AS blocked \
             FROM events WHERE kind = 'sale' AND code IN \
             (SELECT code FROM findings WHERE institution = '{institution}' AND code <> '')"
        ),
    )
    .await;
    let settled = yuan(&totals[0][0]);
    let blocked = yuan(&totals[0][1]);
    let foot = |id: &str| {
        let at = html.find(&format!("<tr id=\"{id}\">")).unwrap();
        html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
    };
    assert!(
        foot("total-settled").contains(&format!(">{settled}<")),
        "{settled}: {}",
        foot("total-settled")
    );
    assert!(
        foot("total-blocked").contains(&format!(">{blocked}<")),
        "{blocked}: {}",
        foot("total-blocked")
    );

    // English.
    let en = c.get(&format!("{path}?lang=en"), auth).await;
    assert_eq!(en.status, 200);
    let en = en.text();
    for text in [
        "<html lang=\"en\">",
        "Inspection dossier",
        "Institution inspected",
        "Sales and amounts",
        "Audit trail",
        "Overdue as of",
        "Total settled",
        &format!("<td class=\"num\">{}</td>", yuan(&sales[0][1])),
    ] {
        assert!(en.contains(text), "the English dossier lacks {text}");
    }

    // The clue's page links to it.
    let detail = c.get(&format!("/dashboard/clues/{id}"), auth).await.text();
    assert!(
        detail.contains(&format!("href=\"{path}\"")),
        "the clue page links its dossier"
    );
    let detail = c
        .get(&format!("/dashboard/clues/{id}?lang=en"), auth)
        .await
        .text();
    assert!(detail.contains(&format!("href=\"{path}?lang=en\">Dossier</a>")));
}

#[tokio::test]
async fn the_dossier_is_for_regulators_and_names_an_unknown_clue() {
    let c = Client::province();
    let cookie = c.login(REGULATOR_KEY).await;
    let r = c
        .get("/dashboard/clues/C999999/dossier", Auth::Cookie(&cookie))
        .await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("no clue C999999"), "{}", r.text());
    assert!(
        r.text().contains("<h1>无法显示</h1>"),
        "an error page: {}",
        r.text()
    );
    let r = c
        .get(
            "/dashboard/clues/not-a-clue/dossier?lang=en",
            Auth::Cookie(&cookie),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("<html lang=\"en\">"));

    let r = c.get("/dashboard/clues/C1/dossier", Auth::None).await;
    assert_eq!(r.status, 303);
    assert!(r.header("location").starts_with("/dashboard/login"));
    let institution = format!("drugtrace_key={INSTITUTION_KEY}");
    let r = c
        .get("/dashboard/clues/C1/dossier", Auth::Cookie(&institution))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
}
