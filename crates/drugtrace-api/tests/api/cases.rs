//! Issue 15: packs inside cases. A manufacturer uploads its packaging relations (in the
//! 码上放心 shape or as CSV); shipping, receiving and intake of the case code account for
//! every box inside, each with its own record; a pharmacy asks what a case holds, sells its
//! boxes one by one (never the case), and opens it.

use serde_json::{Value, json};

use super::{App, commission, key_of, spawn_app};

const MAKER: &str = "M3301001";
const PHARMACY: &str = "P35010200017";
const CASE: &str = "81000090000000000001";
const BOXES: [&str; 3] = [
    "81000010000000000501",
    "81000010000000000502",
    "81000010000000000503",
];

/// The relation query's answer as the platform nests it, for `rows` of (code, parent).
fn relation_answer(rows: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = rows
        .iter()
        .map(|(code, parent)| {
            json!({"code": code, "parent_code": parent, "code_level": if parent.is_empty() { "1" } else { "2" },
                   "code_pack_level": if parent.is_empty() { "2" } else { "1" }, "status": "I"})
        })
        .collect();
    json!({"alibaba_alihealth_drug_kyt_yb_getcoderelation_response": {
        "result": {"model_list": [{"code_relation_list": list, "pkg_ratio": "1:3"}]}
    }})
}

async fn children(app: &App, code: &str) -> Value {
    let (status, body) = app
        .get_with(&format!("/v1/packs/{code}/children"), &key_of(PHARMACY))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn codes(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_case_scanned_at_intake_records_its_boxes_and_its_boxes_sell_one_by_one() {
    let app = spawn_app().await;
    let events: Vec<Value> = BOXES.iter().map(|b| commission(b)).collect();
    let (status, answer) = app.post("/v1/events", &Value::Array(events)).await;
    assert_eq!(status, 200, "{answer}");

    // Two boxes in the platform's shape, the third as CSV; a resend records nothing.
    let rows = [(CASE, ""), (BOXES[0], CASE), (BOXES[1], CASE)];
    let (status, answer) = app
        .post_with(
            "/v1/relations",
            &relation_answer(&rows),
            Some(&key_of(MAKER)),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["recorded"], 2, "{answer}");
    assert_eq!(answer["top"], 1, "{answer}");
    assert_eq!(answer["relations"][0]["status"], "ok", "{answer}");
    let csv = format!("code,parent_code\n{},{CASE}\n", BOXES[2]);
    let (status, answer) = app.post_raw("/v1/relations", csv, "text/csv").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["recorded"], 1, "{answer}");
    let (status, again) = app
        .post_with(
            "/v1/relations",
            &relation_answer(&rows),
            Some(&key_of(MAKER)),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["recorded"], 0, "{again}");
    assert_eq!(again["relations"][0]["replayed"], true, "{again}");

    let inside = children(&app, CASE).await;
    assert_eq!(inside["is_case"], true, "{inside}");
    assert_eq!(codes(&inside["children"]), BOXES, "{inside}");

    // The maker ships the case: each box is shipped with it.
    let ship = json!([{"type": "ship", "code": CASE, "at": "2025-03-02 09:00:00",
                       "institution": MAKER, "to": PHARMACY}]);
    let (status, shipped) = app.post("/v1/events", &ship).await;
    assert_eq!(status, 200, "{shipped}");
    assert_eq!(codes(&shipped["events"][0]["boxes"]), BOXES, "{shipped}");

    // The pharmacy takes the case in by its code: three packs, each taken in.
    let (status, intake) = app
        .post(
            "/v1/intake",
            &json!({"institution": PHARMACY, "supplier": MAKER, "items": [{"code": CASE}]}),
        )
        .await;
    assert_eq!(status, 200, "{intake}");
    assert_eq!(intake["ok"], 3, "{intake}");
    assert_eq!(intake["flagged"], 0, "{intake}");
    assert_eq!(codes(&intake["items"][0]["boxes"]), BOXES, "{intake}");
    let (status, history) = app
        .get_with(&format!("/v1/packs/{}", BOXES[1]), super::REGULATOR_KEY)
        .await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["commission", "pack_into", "ship", "intake"],
        "{history}"
    );

    // A case is never paid for; its boxes are, one by one, and a sold box leaves it.
    let (status, sale) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": "C1", "institution": PHARMACY, "items": [{"code": CASE}]}),
        )
        .await;
    assert_eq!(status, 200, "{sale}");
    assert_eq!(sale["decision"], "block", "{sale}");
    assert_eq!(sale["items"][0]["reason"], "case_not_sold", "{sale}");
    let (_, sale) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": "C2", "institution": PHARMACY, "items": [{"code": BOXES[0]}]}),
        )
        .await;
    assert_eq!(sale["decision"], "allow", "{sale}");
    let inside = children(&app, CASE).await;
    assert_eq!(codes(&inside["children"]), &BOXES[1..], "{inside}");
    assert_eq!(inside["left"][0]["code"], BOXES[0], "{inside}");
    assert_eq!(inside["left"][0]["why"], "sold", "{inside}");

    // Opening the case takes out what is left.
    let open = json!([{"type": "open", "code": CASE, "at": "2025-03-03 09:00:00", "institution": PHARMACY}]);
    let (status, opened) = app.post("/v1/events", &open).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(
        codes(&opened["events"][0]["boxes"]),
        &BOXES[1..],
        "{opened}"
    );
    let inside = children(&app, CASE).await;
    assert!(
        inside["children"].as_array().unwrap().is_empty(),
        "{inside}"
    );
}

#[tokio::test]
async fn bad_relations_are_refused_naming_what_is_wrong() {
    let app = spawn_app().await;
    let maker = key_of(MAKER);
    for (body, says) in [
        (
            json!({"code_relation_list": [{"code": 8.100001e19, "parent_code": CASE}]}),
            "JSON number",
        ),
        (
            json!({"code_relation_list": [{"code": CASE, "parent_code": CASE}]}),
            "itself",
        ),
        (
            json!({"code_relation_list": [{"code": "8100001", "parent_code": CASE}]}),
            "code_relation_list[0].code",
        ),
        (json!({"model_list": []}), "no relation"),
        (json!({"code_relation_list": "x"}), "not a list"),
    ] {
        let (status, answer) = app.post_with("/v1/relations", &body, Some(&maker)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.to_string().contains(says), "{body}: {answer}");
    }
    let (status, answer) = app
        .post_raw("/v1/relations", "code,case\n1,2\n", "text/csv")
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("parent_code"), "{answer}");
    // A regulator uploads no relations; a code nobody has seen has no children to list.
    let (status, _) = app
        .post_with(
            "/v1/relations",
            &relation_answer(&[(BOXES[0], CASE)]),
            Some(super::REGULATOR_KEY),
        )
        .await;
    assert_eq!(status, 403);
    let (status, answer) = app
        .get_with("/v1/packs/81000090000000000999/children", &maker)
        .await;
    assert_eq!(status, 404, "{answer}");
}

/// A pallet labelled only with an SSCC holds a case: relations name it as a parent, intake
/// of its label records every box at every level, and it is never sold; an SSCC nothing was
/// packed into is refused at intake as the shipping label it is.
#[tokio::test]
async fn a_pallet_known_by_its_sscc_is_taken_in_whole() {
    let app = spawn_app().await;
    let pallet = "00106141412345678908";
    let boxes = ["81000010000000000601", "81000010000000000602"];
    let case = "81000090000000000002";
    let events: Vec<Value> = boxes.iter().map(|b| commission(b)).collect();
    let (status, answer) = app.post("/v1/events", &Value::Array(events)).await;
    assert_eq!(status, 200, "{answer}");
    let rows = [
        (pallet, ""),
        (case, pallet),
        (boxes[0], case),
        (boxes[1], case),
    ];
    let (status, answer) = app
        .post_with(
            "/v1/relations",
            &relation_answer(&rows),
            Some(&key_of(MAKER)),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["recorded"], 3, "{answer}");
    assert_eq!(
        answer["relations"][0]["parent_code"],
        "(00)106141412345678908"
    );
    let inside = children(&app, pallet).await;
    assert_eq!(codes(&inside["children"]), [case], "{inside}");
    assert_eq!(inside["children"][0]["is_case"], true, "{inside}");

    let ship = json!([{"type": "ship", "code": pallet, "at": "2025-03-02 09:00:00",
                       "institution": MAKER, "to": PHARMACY}]);
    let (status, shipped) = app.post("/v1/events", &ship).await;
    assert_eq!(status, 200, "{shipped}");
    assert_eq!(
        shipped["events"][0]["boxes"].as_array().unwrap().len(),
        3,
        "{shipped}"
    );
    let (status, intake) = app
        .post(
            "/v1/intake",
            &json!({"institution": PHARMACY, "items": [{"code": format!("(00){}", &pallet[2..])}]}),
        )
        .await;
    assert_eq!(status, 200, "{intake}");
    assert_eq!(intake["ok"], 3, "{intake}");

    // A label nothing was packed into is refused, naming what it is.
    let (status, refused) = app
        .post(
            "/v1/intake",
            &json!({"institution": PHARMACY, "items": [{"code": "00106141410000000019"}]}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("SSCC"), "{refused}");
    // A pallet is never sold.
    let (status, sale) = app
        .post(
            "/v1/gate/sale",
            &json!({"settlement_id": "C9", "institution": PHARMACY, "items": [{"code": pallet}]}),
        )
        .await;
    assert!(
        status == 400 || sale["decision"] == "block",
        "{status} {sale}"
    );
    assert!(
        sale.to_string().contains("SSCC") || sale.to_string().contains("case_not_sold"),
        "{sale}"
    );
}
