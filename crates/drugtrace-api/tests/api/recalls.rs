//! Issue 15: a recall of a batch, or a withdrawal of a product, is a record of its own that
//! the gate applies to every pack of it from the moment it is recorded, packs never seen
//! before among them; the intake check, the patient and the public list say so.

use serde_json::{Value, json};

use super::{App, REGULATOR_KEY, commission, key_of, spawn_app};

const PHARMACY: &str = "P35010200017";

async fn recall(app: &App, body: &Value, key: &str) -> (u16, Value) {
    app.post_with("/v1/recalls", body, Some(key)).await
}

async fn sell(app: &App, settlement: &str, item: Value) -> Value {
    let (status, body) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": settlement, "institution": PHARMACY, "items": [item]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_batch_recall_blocks_packs_never_seen_and_is_told_at_intake_and_to_the_patient() {
    let app = spawn_app().await;
    let body = json!({"drug_id": "8100001", "batch": "250301", "reason": "溶出度不合格"});
    // Only a regulator, or the product's manufacturer as the catalog names it, recalls.
    let (status, answer) = recall(&app, &body, &key_of(PHARMACY)).await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = recall(&app, &body, &key_of("M3301001")).await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("names no manufacturer"),
        "{answer}"
    );
    // A request that is not a recall says what is wrong with it.
    for (bad, says) in [
        (json!({"batch": "1", "reason": "x"}), "name the product"),
        (
            json!({"drug_id": "8100001", "gtin": "06901234567809", "reason": "x"}),
            "only one",
        ),
        (json!({"drug_id": "81", "reason": "x"}), "drug_id"),
        (
            json!({"insurance_code": "XJ01CAA040A001010199999", "reason": "x"}),
            "no product in the catalog",
        ),
        (json!({"drug_id": "8100001", "reason": "  "}), "reason"),
        (
            json!({"drug_id": "8100001", "reason": "x", "lot": "1"}),
            "lot",
        ),
    ] {
        let (status, answer) = recall(&app, &bad, REGULATOR_KEY).await;
        assert_eq!(status, 400, "{bad}: {answer}");
        assert!(answer.to_string().contains(says), "{bad}: {answer}");
    }

    let (status, answer) = recall(&app, &body, REGULATOR_KEY).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["recorded"], true);
    assert_eq!(answer["recall"]["number"], 1);
    assert_eq!(answer["recall"]["scope"], "batch");
    assert_eq!(answer["recall"]["product_name"], "阿莫西林胶囊");
    // The same recall again records nothing.
    let (status, again) = recall(&app, &body, REGULATOR_KEY).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["recorded"], false);
    assert_eq!(again["recall"]["number"], 1);

    // Packs the ledger has never seen: the batch printed on the pack decides.
    let blocked = sell(
        &app,
        "R1",
        json!({"code": "81000010000000000901", "batch": "250301"}),
    )
    .await;
    assert_eq!(blocked["decision"], "block", "{blocked}");
    assert_eq!(blocked["items"][0]["reason"], "recalled", "{blocked}");
    // Claiming the sale happened before the recall does not slip it through.
    let yesterday = yesterday_rfc3339();
    let (status, backdated) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": "R0", "institution": PHARMACY, "at": yesterday,
                    "items": [{"code": "81000010000000000900", "batch": "250301"}]}),
        )
        .await;
    assert_eq!(status, 200, "{backdated}");
    assert_eq!(backdated["items"][0]["reason"], "recalled", "{backdated}");
    let other = sell(
        &app,
        "R2",
        json!({"code": "81000010000000000902", "batch": "250302"}),
    )
    .await;
    assert_eq!(other["decision"], "allow", "{other}");
    let unknown = sell(&app, "R3", json!({"code": "81000010000000000903"})).await;
    assert_eq!(unknown["decision"], "allow", "{unknown}");
    assert_eq!(
        unknown["items"][0]["reason"], "recall_batch_unknown",
        "{unknown}"
    );
    // Another product is not touched.
    let fine = sell(
        &app,
        "R4",
        json!({"code": "81000020000000000901", "batch": "250301"}),
    )
    .await;
    assert_eq!(fine["decision"], "allow", "{fine}");

    // A pack commissioned in the batch is flagged at intake.
    let (status, answer) = app
        .post("/v1/events", &json!([commission("81000010000000000904")]))
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, intake) = app
        .post(
            "/v1/intake",
            &json!({"institution": PHARMACY, "items": [{"code": "81000010000000000904"}]}),
        )
        .await;
    assert_eq!(status, 200, "{intake}");
    assert_eq!(intake["items"][0]["status"], "recalled", "{intake}");

    // The patient is told, and told to check the lot where the ledger cannot.
    let (_, pack) = app.code("81000010000000000904", None).await;
    assert_eq!(pack["recall"]["scope"], "batch", "{pack}");
    assert!(
        pack["recall"]["advice"]["zh"]
            .as_str()
            .unwrap()
            .contains("250301"),
        "{pack}"
    );
    let (_, maybe) = app.code("81000010000000000903", None).await;
    assert_eq!(maybe["recall"]["scope"], "batch_unknown", "{maybe}");
    let (_, none) = app.code("81000020000000000901", None).await;
    assert!(none.get("recall").is_none(), "{none}");

    // A withdrawal of a whole product covers every batch.
    let (status, answer) = recall(
        &app,
        &json!({"insurance_code": "XL01EDA123A001010200002", "reason": "注册证注销"}),
        REGULATOR_KEY,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["recall"]["scope"], "product");
    let withdrawn = sell(
        &app,
        "R5",
        json!({"code": "81000020000000000902", "batch": "X"}),
    )
    .await;
    assert_eq!(withdrawn["items"][0]["reason"], "recalled", "{withdrawn}");

    // Public, newest first.
    let list = app.get_json("/v1/recalls").await;
    let recalls = list["recalls"].as_array().unwrap();
    assert_eq!(recalls.len(), 2, "{list}");
    assert_eq!(recalls[0]["scope"], "product");
    assert_eq!(recalls[1]["batch"], "250301");
    assert_eq!(recalls[1]["by"], "regulator");
    assert_eq!(recalls[1]["reason"], "溶出度不合格");
}

/// Yesterday at this time, as the RFC 3339 the gate reads.
fn yesterday_rfc3339() -> String {
    drugtrace_ledger::Timestamp::from_millis(
        drugtrace_ledger::Timestamp::now().millis() - 24 * 3_600_000,
    )
    .to_rfc3339(480)
}
