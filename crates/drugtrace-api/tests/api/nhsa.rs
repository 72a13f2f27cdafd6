//! `POST /nhsa/callService` over HTTP, as a hospital or pharmacy system sends the national
//! interface's envelopes; and a replay of the synthetic province's NHSA requests.

use std::sync::atomic::{AtomicU64, Ordering};

use drugtrace_ledger::{InstitutionId, Ledger, Policy};
use drugtrace_store_fjall::FjallStore;
use serde_json::{Value, json};

use super::{App, REGULATOR_KEY, commission, key_of, spawn_app};

const PATH: &str = "/nhsa/callService";
const PHARMACY: &str = "P35010200017";
const OTHER: &str = "P13070300088";

/// A full envelope, as hospital systems fill it.
fn envelope(infno: &str, fixmedins: &str, input: Value) -> Value {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    json!({
        "infno": infno,
        "msgid": format!("{fixmedins}20250408103000{n:04}"),
        "mdtrtarea_admvs": "350100",
        "insuplc_admdvs": "350100",
        "recer_sys_code": "FSI_LOCAL",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "0001",
        "opter_name": "张药师",
        "inf_time": "2025-04-08 10:30:00",
        "fixmedins_code": fixmedins,
        "fixmedins_name": "示例大药房",
        "sign_no": "",
        "input": input,
    })
}

fn codes(list: &[&str]) -> Value {
    Value::Array(list.iter().map(|c| json!({"drug_trac_codg": c})).collect())
}

/// A 3505 `selinfo` record of one or more whole packs of 盐酸阿来替尼胶囊.
fn sale_record(setl_id: &str, certno: &str, list: &[&str]) -> Value {
    json!({
        "med_list_codg": "XL01EDA123A001010200002",
        "fixmedins_hilist_id": "YP8100002",
        "fixmedins_hilist_name": "盐酸阿来替尼胶囊",
        "fixmedins_bchno": setl_id,
        "setl_id": setl_id,
        "mdtrt_sn": "MD0001",
        "psn_no": "35000000000000000510",
        "psn_cert_type": "01",
        "certno": certno,
        "psn_name": "林某",
        "manu_lotnum": "250301",
        "manu_date": "2025-03-01",
        "expy_end": "2030-12-31",
        "rx_flag": "1",
        "trdn_flag": "0",
        "finl_trns_pric": "18.50",
        "sel_retn_cnt": format!("{}.00", list.len()),
        "sel_retn_time": "2025-04-08 10:30:00",
        "sel_retn_opter_name": "张药师",
        "mdtrt_setl_type": "1",
        "drug_prod_barc": "6901234567816",
        "drugtracinfo": codes(list),
    })
}

impl App {
    /// Calls the service as `institution` and returns the answer, which is always HTTP 200.
    async fn nhsa(&self, institution: &str, body: &Value) -> Value {
        self.nhsa_with(&key_of(institution), body).await
    }

    async fn nhsa_with(&self, key: &str, body: &Value) -> Value {
        let (status, answer) = self.post_with(PATH, body, Some(key)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["inf_refmsgid"], body["msgid"], "{answer}");
        assert_eq!(
            answer["refmsg_time"].as_str().map(str::len),
            Some(17),
            "{answer}"
        );
        answer
    }

    /// The pack's events as the regulator sees them: `type/outcome(reason)`.
    async fn events_of(&self, code: &str) -> Vec<String> {
        let r = self
            .http
            .get(format!("{}/v1/packs/{code}", self.url))
            .bearer_auth(REGULATOR_KEY)
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| match e["reason"].as_str() {
                Some(r) => format!(
                    "{}/{}({r})",
                    e["type"].as_str().unwrap(),
                    e["outcome"].as_str().unwrap()
                ),
                None => format!(
                    "{}/{}",
                    e["type"].as_str().unwrap(),
                    e["outcome"].as_str().unwrap()
                ),
            })
            .collect()
    }

    async fn commission(&self, list: &[&str]) {
        let events: Vec<Value> = list.iter().map(|c| commission(c)).collect();
        let (status, body) = self.post("/v1/events", &Value::Array(events)).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn trace(&self, institution: &str, code: &str) -> Value {
        let a = self
            .nhsa(
                institution,
                &envelope(
                    "3513",
                    institution,
                    json!({"data": {"fixmedins_code": institution, "drug_trac_codg": code}}),
                ),
            )
            .await;
        assert_eq!(a["infcode"], 0, "{a}");
        a["output"].clone()
    }
}

/// The output of a call that went through in full: infcode 0, no `err_msg`, and for a
/// writing or checking call `retRslt` "1" in both places clients read it.
fn ok(answer: &Value) -> &Value {
    assert_eq!(answer["infcode"], 0, "{answer}");
    assert_eq!(answer["err_msg"], Value::Null, "{answer}");
    let out = &answer["output"];
    if out.get("results").is_some() {
        assert_eq!(out["retRslt"], "1", "{answer}");
        assert_eq!(out["result"]["retRslt"], "1", "{answer}");
        assert_eq!(out["msgRslt"], out["result"]["msgRslt"], "{answer}");
    }
    out
}

/// The output of a call that was carried out but not all went through (a record refused,
/// a sale blocked): infcode 0, `retRslt` "0" in both places, and `err_msg` repeating
/// `msgRslt`, which is returned beside the output.
fn partly(answer: &Value) -> (&Value, &str) {
    assert_eq!(answer["infcode"], 0, "{answer}");
    let out = &answer["output"];
    assert_eq!(out["retRslt"], "0", "{answer}");
    assert_eq!(out["result"]["retRslt"], "0", "{answer}");
    assert_eq!(out["msgRslt"], out["result"]["msgRslt"], "{answer}");
    assert_eq!(answer["err_msg"], out["msgRslt"], "{answer}");
    (out, answer["err_msg"].as_str().unwrap())
}

fn refused(answer: &Value) -> &str {
    assert_eq!(answer["infcode"], -1, "{answer}");
    assert_eq!(answer["output"], Value::Null, "{answer}");
    answer["err_msg"].as_str().unwrap()
}

#[tokio::test]
async fn every_writing_infno_records_its_events() {
    let app = spawn_app().await;
    let (a, b, c) = (
        "81000020000000000101",
        "81000020000000000102",
        "81000020000000000103",
    );
    app.commission(&[a, b, c]).await;

    // 3503 purchase: an intake of the product on the delivery note.
    let purchase = |list: &[&str], med: &str| {
        envelope(
            "3503",
            PHARMACY,
            json!({"purcinfo": {
                "med_list_codg": med, "fixmedins_hilist_id": "YP8100002",
                "fixmedins_hilist_name": "盐酸阿来替尼胶囊", "dynt_no": "", "fixmedins_bchno": "RK0001",
                "spler_name": "福州示例医药有限公司", "spler_pmtno": "", "manu_lotnum": "250301",
                "prodentp_name": "示例罗氏制药有限公司", "aprvno": "国药准字HJ20180001",
                "manu_date": "2025-03-01", "expy_end": "2030-12-31", "finl_trns_pric": 15.2,
                "purc_retn_cnt": list.len(), "purc_invo_codg": "", "purc_invo_no": "",
                "rx_flag": "1", "purc_retn_stoin_time": "2025-03-10 14:00:00",
                "purc_retn_opter_name": "王", "prod_geay_flag": "0", "memo": "",
                "drugtracinfo": codes(list)}}),
        )
    };
    let out = app
        .nhsa(PHARMACY, &purchase(&[a, b], "XL01EDA123A001010200002"))
        .await;
    let out = ok(&out);
    assert_eq!(out["recorded"], 2);
    assert_eq!(out["results"][0]["drug_trac_codg"], a);
    assert_eq!(out["results"][0]["outcome"], "accepted");
    assert_eq!(out["results"][1]["outcome"], "accepted");
    // A delivery note naming another product is flagged at once.
    let answer = app
        .nhsa(PHARMACY, &purchase(&[c], "ZB02BAF0001010100003"))
        .await;
    assert_eq!(ok(&answer)["results"][0]["reason"], "product_mismatch");
    assert!(
        answer["warn_msg"].as_str().unwrap().contains("1 flagged"),
        "{answer}"
    );

    // 3502 stock change: inv_chg_type 101 (transfer in).
    let change = envelope(
        "3502",
        PHARMACY,
        json!({"invinfo": {"med_list_codg": "XL01EDA123A001010200002", "inv_chg_type": "101",
            "fixmedins_hilist_id": "YP8100002", "fixmedins_hilist_name": "盐酸阿来替尼胶囊",
            "fixmedins_bchno": "KC0001", "pric": "18.5", "cnt": 1, "rx_flag": "1",
            "inv_chg_time": "2025-03-11 09:00:00", "inv_chg_opter_name": "王", "memo": "",
            "trdn_flag": "0", "drugtracinfo": codes(&[b])}}),
    );
    assert_eq!(ok(&app.nhsa(PHARMACY, &change).await)["recorded"], 1);

    // 3505 sale and 3506 sale return.
    let sale = envelope(
        "3505",
        PHARMACY,
        json!({"selinfo": sale_record("SETL-NHSA-1", "350102199001011234", &[a])}),
    );
    let out = app.nhsa(PHARMACY, &sale).await;
    assert_eq!(ok(&out)["results"][0]["outcome"], "accepted");
    let ret = envelope(
        "3506",
        PHARMACY,
        json!({"selinfo": {"med_list_codg": "XL01EDA123A001010200002", "fixmedins_bchno": "TH0001",
            "setl_id": "SETL-NHSA-1", "medins_prod_sel_no": "SETL-NHSA-1", "trdn_flag": "0",
            "finl_trns_pric": "18.50", "sel_retn_cnt": "1", "sel_retn_time": "2025-04-09 09:00:00",
            "sel_retn_opter_name": "张药师", "drugtracinfo": codes(&[a])}}),
    );
    assert_eq!(
        ok(&app.nhsa(PHARMACY, &ret).await)["results"][0]["outcome"],
        "accepted"
    );
    // Resending the return changes nothing: there is nothing left to return.
    let again = app.nhsa(PHARMACY, &ret).await;
    assert_eq!(ok(&again)["results"][0]["reason"], "return_exceeds_sale");

    // 3504 purchase return: stock change 109 back to the supplier.
    let mut back = purchase(&[b], "XL01EDA123A001010200002");
    back["infno"] = json!("3504");
    assert_eq!(
        ok(&app.nhsa(PHARMACY, &back).await)["results"][0]["outcome"],
        "accepted"
    );

    assert_eq!(
        app.events_of(a).await,
        [
            "commission/accepted",
            "intake/accepted",
            "sale/accepted",
            "sale_return/accepted",
            "sale_return/rejected(return_exceeds_sale)"
        ]
    );
    assert_eq!(
        app.events_of(b).await,
        [
            "commission/accepted",
            "intake/accepted",
            "stock_change/accepted",
            "stock_change/accepted"
        ]
    );

    // 3513: the sale, its return, the amount, and the settlement (it is the caller's own).
    let trace = app.trace(PHARMACY, a).await;
    assert_eq!(trace["med_list_codg"], "XL01EDA123A001010200002");
    assert_eq!(trace["sel_cnt"], 1);
    assert_eq!(trace["data"][0]["fixmedins_code"], PHARMACY);
    assert_eq!(trace["data"][0]["setl_id"], "SETL-NHSA-1");
    assert_eq!(trace["data"][0]["sel_retn_time"], "2025-04-08 10:30:00");
    assert_eq!(trace["data"][0]["retn_cnt"], 1);
    assert_eq!(trace["data"][0]["finl_trns_pric"], "18.50");
    assert_eq!(trace["data"][0]["mdtrt_setl_type"], "1");
    assert!(
        !trace.to_string().contains("350102199001011234"),
        "buyers are never shown"
    );
}

#[tokio::test]
async fn a_stock_count_records_nothing_and_tells_what_the_ledger_knows() {
    let app = spawn_app().await;
    let (mine, sold, elsewhere, unknown) = (
        "81000020000000000201",
        "81000020000000000202",
        "81000020000000000203",
        "81000020000000009999",
    );
    app.commission(&[mine, sold, elsewhere]).await;
    let intake = |inst: &str, code: &str| json!({"type": "intake", "code": code, "at": "2025-03-10 14:00:00", "institution": inst});
    let (status, _) = app
        .post(
            "/v1/events",
            &json!([intake(PHARMACY, mine), intake(PHARMACY, sold)]),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post("/v1/events", &json!([intake(OTHER, elsewhere)]))
        .await;
    assert_eq!(status, 200);
    ok(&app
        .nhsa(
            PHARMACY,
            &envelope(
                "3505",
                PHARMACY,
                json!({"selinfo": sale_record("S-COUNT", "1", &[sold])}),
            ),
        )
        .await);

    let count = envelope(
        "3501A",
        PHARMACY,
        json!({"invinfoDetail": [
            {"med_list_codg": "XL01EDA123A001010200002", "fixmedins_hilist_id": "YP8100002",
             "fixmedins_hilist_name": "盐酸阿来替尼胶囊", "rx_flag": "1", "invdate": "2025-04-10",
             "inv_cnt": 3, "manu_lotnum": "250301", "fixmedins_bchno": "PC0001",
             "manu_date": "2025-03-01", "expy_end": "2030-12-31", "memo": "",
             "drugtracinfo": codes(&[mine, sold, elsewhere])},
            {"invdate": "2025-04-10", "inv_cnt": 1, "drugtracinfo": codes(&[unknown])},
            {"invdate": "2025-04-10", "inv_cnt": 5, "drugtracinfo": []},
        ]}),
    );
    let answer = app.nhsa(PHARMACY, &count).await;
    let out = ok(&answer);
    assert_eq!(out["recorded"], 0);
    let got: Vec<(u64, String, String)> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    let want: Vec<(u64, String, String)> = [
        (0, "accepted", "-"),
        (0, "flagged", "already_sold"),
        (0, "flagged", "held_elsewhere"),
        (1, "flagged", "unknown_code"),
        (2, "not_recorded", "no_code"),
    ]
    .iter()
    .map(|(i, o, r)| (*i, (*o).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(
        app.events_of(mine).await,
        ["commission/accepted", "intake/accepted"]
    );
    assert!(
        app.events_of(unknown).await.is_empty(),
        "a count records nothing"
    );
}

/// A batch answers per record: a record that does not read is named and not recorded, the
/// good ones are recorded (in one commit), and `retRslt` tells the client which it was.
#[tokio::test]
async fn batch_forms_answer_per_record() {
    let app = spawn_app().await;
    let (a, b, c) = (
        "81000020000000000301",
        "81000020000000000302",
        "81000020000000000303",
    );
    app.commission(&[a, b, c]).await;
    let mixed = envelope(
        "3505A",
        PHARMACY,
        json!({"selinfoDetail": [
            sale_record("S-BATCH-1", "1", &[a]),
            sale_record("S-BATCH-2", "2", &["8100002000000000030"]),
            {"sel_retn_time": "2025-04-08 10:30:00", "setl_id": "S-BATCH-3"},
        ]}),
    );
    let answer = app.nhsa(PHARMACY, &mixed).await;
    let (out, err) = partly(&answer);
    let bad = "input.selinfoDetail[1].drugtracinfo[0].drug_trac_codg: expected 20 digits, got 19";
    assert_eq!(err, format!("1 record of 3 refused, not recorded: {bad}"));
    assert_eq!(out["recorded"], 1);
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{out}");
    assert_eq!(results[0]["outcome"], "accepted");
    assert_eq!(results[1]["record"], 1);
    assert_eq!(results[1]["outcome"], "refused");
    assert_eq!(results[1]["message"], bad);
    assert_eq!(results[1]["drug_trac_codg"], Value::Null);
    // A record without codes is a good record: answered, and no failure.
    assert_eq!(results[2]["outcome"], "not_recorded");
    assert_eq!(results[2]["reason"], "no_code");
    assert!(
        answer["warn_msg"]
            .as_str()
            .unwrap()
            .contains("1 records refused"),
        "{answer}"
    );
    assert_eq!(
        app.events_of(a).await,
        ["commission/accepted", "sale/accepted"],
        "the good record was recorded"
    );

    // The corrected record alone, as a batch of one.
    let fixed = envelope(
        "3505A",
        PHARMACY,
        json!({"selinfoDetail": [sale_record("S-BATCH-2", "2", &[b])]}),
    );
    let out = app.nhsa(PHARMACY, &fixed).await;
    assert_eq!(ok(&out)["recorded"], 1);
    // A batch whose every record is good, including one without codes: retRslt 1.
    let good = envelope(
        "3505A",
        PHARMACY,
        json!({"selinfoDetail": [
            sale_record("S-BATCH-4", "4", &[c]),
            {"sel_retn_time": "2025-04-08 10:30:00"},
        ]}),
    );
    let out = app.nhsa(PHARMACY, &good).await;
    let out = ok(&out);
    assert_eq!(out["recorded"], 1);
    assert_eq!(out["msgRslt"], "2 records, 1 event recorded");
    assert_eq!(out["results"][1]["outcome"], "not_recorded");

    let returns = envelope(
        "3506A",
        PHARMACY,
        json!({"selinfoDetail": [
            {"setl_id": "S-BATCH-1", "medins_prod_sel_no": "S-BATCH-1", "sel_retn_cnt": "1.00", "sel_retn_time": "2025-04-09 09:00:00", "drugtracinfo": codes(&[a])},
            {"setl_id": "S-BATCH-2", "sel_retn_cnt": "1.00", "drugtracinfo": codes(&[b])},
            {"setl_id": "S-BATCH-4", "sel_retn_time": "2025-04-09 25:00:00", "drugtracinfo": codes(&[c])},
        ]}),
    );
    let answer = app.nhsa(PHARMACY, &returns).await;
    let (out, err) = partly(&answer);
    assert_eq!(out["recorded"], 2);
    assert_eq!(out["results"][1]["outcome"], "accepted");
    assert_eq!(out["results"][2]["outcome"], "refused");
    assert!(
        err.starts_with("1 record of 3 refused, not recorded: input.selinfoDetail[2].sel_retn_time: \"2025-04-09 25:00:00\" is not a time (no such time of day)"),
        "{err}"
    );

    let changes = envelope(
        "3502A",
        PHARMACY,
        json!({"invinfoDetail": [
            {"inv_chg_type": "104", "inv_chg_time": "2025-04-10 09:00:00", "drugtracinfo": codes(&[a])},
            {"inv_chg_type": 105, "inv_chg_time": "2025-04-10 09:00:00", "drugtracinfo": codes(&[b])},
            {"inv_chg_type": 112, "inv_chg_time": "2025-04-10 09:00:00", "drugtracinfo": codes(&[c])},
        ]}),
    );
    let answer = app.nhsa(PHARMACY, &changes).await;
    let (out, err) = partly(&answer);
    assert_eq!(out["recorded"], 2);
    assert_eq!(
        err,
        "1 record of 3 refused, not recorded: input.invinfoDetail[2].inv_chg_type: expected 101 to 111, got \"112\""
    );
    assert_eq!(
        app.events_of(b).await.last().unwrap(),
        "stock_change/accepted"
    );
    assert_eq!(
        app.events_of(c).await.last().unwrap(),
        "sale/accepted",
        "the refused change was not recorded"
    );

    // 3501A answers per record too, and records nothing either way.
    let count = envelope(
        "3501A",
        PHARMACY,
        json!({"invinfoDetail": [
            {"invdate": "2025/4/10", "drugtracinfo": codes(&[a])},
            {"invdate": "2025-04-10", "drugtracinfo": [{"drug_trac_codg": "x"}]},
        ]}),
    );
    let answer = app.nhsa(PHARMACY, &count).await;
    let (out, _) = partly(&answer);
    assert_eq!(out["results"][0]["drug_trac_codg"], a, "{out}");
    assert_eq!(out["results"][1]["outcome"], "refused");
    assert_eq!(out["recorded"], 0);
    // A batch whose every record is bad is refused whole, naming the first ones.
    let all_bad = envelope(
        "3502A",
        PHARMACY,
        json!({"invinfoDetail": [
            {"inv_chg_type": "112", "drugtracinfo": codes(&[a])},
            {"drugtracinfo": codes(&[b])},
        ]}),
    );
    assert_eq!(
        refused(&app.nhsa(PHARMACY, &all_bad).await),
        "all 2 records were refused, nothing was recorded: input.invinfoDetail[0].inv_chg_type: expected 101 to 111, got \"112\"; input.invinfoDetail[1].inv_chg_type: is required"
    );
}

#[tokio::test]
async fn a_resent_sale_is_idempotent_and_a_second_sale_is_rejected() {
    let app = spawn_app().await;
    let code = "81000020000000000401";
    app.commission(&[code]).await;
    let sale = envelope(
        "3505",
        PHARMACY,
        json!({"selinfo": sale_record("SETL-R1", "350102199001011234", &[code])}),
    );
    let first = app.nhsa(PHARMACY, &sale).await;
    assert_eq!(ok(&first)["recorded"], 1);
    let again = app.nhsa(PHARMACY, &sale).await;
    let out = ok(&again);
    assert_eq!(out["recorded"], 0);
    assert_eq!(out["results"][0]["outcome"], "accepted");
    assert_eq!(out["results"][0]["replayed"], true);

    // Sold again elsewhere: rejected, with the earlier sale as evidence.
    let second = envelope(
        "3505",
        OTHER,
        json!({"selinfo": sale_record("SETL-R2", "130703197707073333", &[code])}),
    );
    let answer = app.nhsa(OTHER, &second).await;
    let (out, err) = partly(&answer);
    assert_eq!(err, format!("1 of 1 sales blocked: {code} already_sold"));
    assert_eq!(out["results"][0]["outcome"], "rejected");
    assert_eq!(out["results"][0]["reason"], "already_sold");
    assert_eq!(
        out["results"][0]["prior_sales"][0]["fixmedins_code"],
        PHARMACY
    );
    assert_eq!(
        out["results"][0]["prior_sales"][0]["sel_retn_time"],
        "2025-04-08 10:30:00"
    );
    assert!(
        answer["warn_msg"]
            .as_str()
            .unwrap()
            .starts_with("1 rejected"),
        "{answer}"
    );

    // 3513 from the second institution: the sale and the blocked attempt, and only its own
    // settlement.
    let trace = app.trace(OTHER, code).await;
    assert_eq!(trace["sel_cnt"], 1);
    assert_eq!(trace["blocked_cnt"], 1);
    let data = trace["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let theirs = data
        .iter()
        .find(|r| r["fixmedins_code"] == PHARMACY)
        .unwrap();
    assert_eq!(theirs["setl_id"], Value::Null);
    let mine = data.iter().find(|r| r["fixmedins_code"] == OTHER).unwrap();
    assert_eq!(mine["setl_id"], "SETL-R2");
    assert_eq!(mine["reason"], "already_sold");
    // A regulator sees every settlement.
    let q = envelope(
        "3513",
        "NHSA",
        json!({"data": {"drug_trac_codg": code, "begndate": "2025-04-01", "enddate": "2025-04-30"}}),
    );
    let answer = app.nhsa_with(REGULATOR_KEY, &q).await;
    assert!(
        ok(&answer)["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["setl_id"].is_string())
    );
    // A date range without the sales shows none.
    let q = envelope(
        "3513",
        PHARMACY,
        json!({"data": {"drug_trac_codg": code, "enddate": "2025-04-07"}}),
    );
    assert_eq!(ok(&app.nhsa(PHARMACY, &q).await)["data"], json!([]));
}

#[tokio::test]
async fn split_sales_count_units_and_amounts() {
    let app = spawn_app().await;
    // 阿莫西林胶囊: 24 capsules a pack.
    let code = "81000010000000000501";
    app.commission(&[code]).await;
    let split = |setl: &str, cnt: &str| {
        let mut r = sale_record(setl, "1", &[code]);
        r["med_list_codg"] = json!("XJ01CAA040A001010100001");
        r["trdn_flag"] = json!("1");
        r["finl_trns_pric"] = json!("0.375");
        r["sel_retn_cnt"] = json!(cnt);
        envelope("3505", PHARMACY, json!({"selinfo": r}))
    };
    let out = app.nhsa(PHARMACY, &split("SP-1", "10.0000")).await;
    assert_eq!(ok(&out)["results"][0]["outcome"], "accepted");
    let out = app.nhsa(PHARMACY, &split("SP-2", "15")).await;
    assert_eq!(partly(&out).0["results"][0]["reason"], "units_exceeded");
    let out = app.nhsa(PHARMACY, &split("SP-3", "14")).await;
    assert_eq!(ok(&out)["results"][0]["outcome"], "accepted");
    let out = app.nhsa(PHARMACY, &split("SP-4", "1")).await;
    assert_eq!(partly(&out).0["results"][0]["reason"], "already_sold");
    let trace = app.trace(PHARMACY, code).await;
    let first = trace["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["setl_id"] == "SP-1")
        .unwrap();
    assert_eq!(first["sel_retn_cnt"], 10);
    assert_eq!(first["finl_trns_pric"], "0.375");

    let answer = app.nhsa(PHARMACY, &split("SP-5", "1.5")).await;
    assert_eq!(
        refused(&answer),
        "input.selinfo.sel_retn_cnt: a split line counts whole units (at least 1)"
    );
}

#[tokio::test]
async fn refusals_name_the_field_and_record_nothing() {
    let app = spawn_app().await;
    let code = "81000020000000000601";
    app.commission(&[code]).await;
    let sale = |inst: &str| {
        envelope(
            "3505",
            inst,
            json!({"selinfo": sale_record("S-601", "1", &[code])}),
        )
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            sale(OTHER),
            "fixmedins_code: P13070300088 is not the institution of this key (P35010200017); nothing was recorded",
        ),
        (
            envelope("9999", PHARMACY, json!({})),
            "infno: \"9999\" is not supported here; supported: 2206, 2207, 2208, 3501, 3501A, 3502, 3502A, 3503, 3503A, 3504, 3504A, 3505, 3505A, 3506, 3506A, 3507, 3507A, 3513",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e.as_object_mut().unwrap().remove("inf_time");
                e
            },
            "inf_time: is required",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["inf_time"] = json!("2025-13-01 00:00:00");
                e
            },
            "inf_time: ",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["input"] = json!({});
                e
            },
            "input.selinfo: is required (or selinfoDetail for a list)",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["input"]["selinfo"]["sel_retn_time"] = json!("1900-01-01 00:00:00");
                e
            },
            "input.selinfo.sel_retn_time: 1900-01-01T00:00:00+08:00 is before 2000-01-01: no trace code is that old",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["input"]["selinfo"]["med_list_codg"] = json!("X123");
                e
            },
            "input.selinfo.med_list_codg: ",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["input"]["selinfo"]["mdtrt_setl_type"] = json!("9");
                e
            },
            "input.selinfo.mdtrt_setl_type: expected 1 (insurance) or 2 (self-paid), got \"9\"",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["input"]["selinfo"]["sel_retn_time"] = json!("yesterday");
                e
            },
            "input.selinfo.sel_retn_time: ",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["input"]["selinfo"]["drugtracinfo"] =
                    json!([{"drug_trac_codg": 8100002000000000060u64}]);
                e
            },
            "input.selinfo.drugtracinfo[0].drug_trac_codg: expected a string",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["input"]["selinfo"]["trdn_flag"] = json!("1");
                e["input"]["selinfo"]["sel_retn_cnt"] = json!("3");
                e["input"]["selinfo"]["drugtracinfo"] = codes(&[code, "81000020000000000602"]);
                e
            },
            "input.selinfo.sel_retn_cnt: a split line (trdn_flag 1) with 2 codes sells the same whole number of units from each: 3 units do not divide evenly over 2 packs",
        ),
        (
            {
                let mut e = sale(PHARMACY);
                e["input"]["selinfo"]["drugtracinfo"] = codes(&[code, code]);
                e
            },
            "input.selinfo.drugtracinfo[1].drug_trac_codg: the same pack as input.selinfo.drugtracinfo[0].drug_trac_codg",
        ),
        (
            envelope(
                "3505A",
                PHARMACY,
                json!({"selinfoDetail": [
                    sale_record("S-601", "1", &["8100002000000000060"]),
                    {"sel_retn_time": "yesterday", "drugtracinfo": codes(&[code])},
                    sale_record("S-601", "1", &[code, code]),
                    {"trdn_flag": "2", "drugtracinfo": codes(&[code])},
                ]}),
            ),
            "all 4 records were refused, nothing was recorded: input.selinfoDetail[0].drugtracinfo[0].drug_trac_codg: expected 20 digits, got 19; input.selinfoDetail[1].sel_retn_time: \"yesterday\" is not a time (",
        ),
        (
            envelope(
                "3505A",
                PHARMACY,
                json!({"selinfoDetail": [
                    {"drugtracinfo": []},
                    {"setl_id": "S-602"},
                ], "drugtracinfo": codes(&[code])}),
            ),
            "input.drugtracinfo: 1 code beside 2 records without codes (input.selinfoDetail[0], input.selinfoDetail[1]); put each record's codes in its own drugtracinfo",
        ),
        (
            envelope(
                "3502A",
                PHARMACY,
                json!({"invinfoDetail": [
                    {"inv_chg_type": "101", "drugtracinfo": codes(&["81000020000000000602"])},
                    {"inv_chg_type": "101", "drugtracinfo": codes(&["81000020000000000603"])},
                ], "drugtracinfo": codes(&[code])}),
            ),
            "input.drugtracinfo: 1 code beside 2 records that all carry codes of their own; put each record's codes in its own drugtracinfo",
        ),
        (
            envelope(
                "3502",
                PHARMACY,
                json!({"invinfo": {"inv_chg_type": "112", "drugtracinfo": codes(&[code])}}),
            ),
            "input.invinfo.inv_chg_type: expected 101 to 111, got \"112\"",
        ),
        (
            envelope(
                "3502",
                PHARMACY,
                json!({"invinfo": {"drugtracinfo": codes(&[code])}}),
            ),
            "input.invinfo.inv_chg_type: is required",
        ),
        (
            envelope(
                "3503",
                PHARMACY,
                json!({"purcinfo": {"manu_lotnum": "批号1", "drugtracinfo": codes(&[code])}}),
            ),
            "input.purcinfo.manu_lotnum: ",
        ),
        (
            envelope(
                "3513",
                PHARMACY,
                json!({"data": {"med_list_codg": "XL01EDA123A001010200002"}}),
            ),
            "input.data.drug_trac_codg: is required",
        ),
        (
            json!([1, 2]),
            "the request is a list, not an envelope object",
        ),
    ];
    for (body, want) in cases {
        let answer = app.nhsa_with(&key_of(PHARMACY), &body).await;
        let got = refused(&answer);
        assert!(got.starts_with(want), "want {want:?}, got {got:?}");
    }
    assert_eq!(
        app.events_of(code).await,
        ["commission/accepted"],
        "nothing was recorded"
    );

    // A regulator may query, but not submit.
    let answer = app.nhsa_with(REGULATOR_KEY, &sale(PHARMACY)).await;
    assert!(refused(&answer).contains("only an institution's key submits"));
}

#[tokio::test]
async fn transport_errors_stay_http_errors() {
    let app = spawn_app().await;
    let body = envelope(
        "3505",
        PHARMACY,
        json!({"selinfo": sale_record("S-1", "1", &["81000020000000000701"])}),
    );
    let (status, answer) = app.post_with(PATH, &body, None).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], "missing_key");
    let (status, answer) = app.post_raw(PATH, "{\"infno\": ", "application/json").await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the body is not JSON")
    );
    let huge = format!("{{\"x\": \"{}\"}}", "x".repeat(drugtrace_api::MAX_BODY));
    let (status, answer) = app.post_raw(PATH, huge, "application/json").await;
    assert_eq!(status, 413);
    assert_eq!(answer["error"]["code"], "body_too_large");
    // Hospital systems do not always label their JSON: the body is read all the same.
    let (status, answer) = app
        .post_raw(
            PATH,
            serde_json::to_string(&envelope(
                "3507",
                "M3301001",
                json!({"data": {"fixmedins_bchno": "B1", "inv_data_type": "4"}}),
            ))
            .unwrap(),
            "text/plain",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["infcode"], 0, "{answer}");
    assert_eq!(answer["output"]["results"][0]["outcome"], "nothing_to_void");
}

/// The synthetic province's NHSA requests (3503, 3505, 3506), replayed through the endpoint
/// with a key for each of its institutions: the reader accepts exactly what the writer
/// produces, and the planted repeat sales are rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synth_requests_replay_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = drugtrace_synth::SynthOptions::new(300, 7, dir.path().join("synth"));
    opts.formats.nhsa = true;
    opts.fraud_rate = 0.2;
    let province = drugtrace_synth::built::Generated::new(&opts).unwrap();
    let out = province.out.clone();

    let store = FjallStore::open(&dir.path().join("store")).unwrap();
    let ledger = Ledger::new(store, province.catalog, Policy::default());
    let mut keys = drugtrace_api::Keys::default();
    for i in province.directory.iter() {
        keys.insert(
            &key_of(&i.code),
            drugtrace_api::Role::Institution(InstitutionId::parse(&i.code).unwrap()),
        );
    }
    // The keys name no party kind (the key file's older role `institution`): the directory
    // says which institution is a manufacturer.
    let state = crate::state_of(ledger, keys).with_directory(province.directory);
    let url = format!("{}{PATH}", crate::serve(state).await);
    let http = reqwest::Client::new();

    // The manufacturers' side first: the commissions of events.jsonl, so that the replay
    // meets issued codes as the national platform would.
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let mut by_maker = std::collections::BTreeMap::<String, Vec<Value>>::new();
    for line in events.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        if e["type"] == "commission" {
            let maker = e["institution"].as_str().unwrap().to_owned();
            by_maker.entry(maker).or_default().push(e);
        }
    }
    for (maker, list) in by_maker {
        let r = http
            .post(url.replace(PATH, "/v1/events"))
            .bearer_auth(key_of(&maker))
            .json(&list)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }

    let requests = std::fs::read_to_string(out.join("nhsa/requests.jsonl")).unwrap();
    let mut calls = std::collections::BTreeMap::<String, usize>::new();
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    for (n, line) in requests.lines().enumerate() {
        let body: Value = serde_json::from_str(line).unwrap();
        let who = body["fixmedins_code"].as_str().unwrap();
        let r = http
            .post(&url)
            .bearer_auth(key_of(who))
            .header("content-type", "application/json")
            .body(line.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "line {}", n + 1);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["infcode"], 0, "line {}: {line}\n{answer}", n + 1);
        assert_eq!(answer["inf_refmsgid"], body["msgid"]);
        *calls
            .entry(body["infno"].as_str().unwrap().to_owned())
            .or_default() += 1;
        for r in answer["output"]["results"].as_array().unwrap() {
            let key = format!(
                "{} {}",
                r["outcome"].as_str().unwrap(),
                r["reason"].as_str().unwrap_or("")
            );
            *reasons.entry(key).or_default() += 1;
        }
    }
    assert!(
        calls.len() == 3 && calls.values().all(|&n| n > 0),
        "{calls:?}"
    );
    assert!(
        reasons.get("rejected already_sold").copied().unwrap_or(0) > 0,
        "{reasons:?}"
    );
    assert!(!reasons.contains_key("not_recorded no_code"), "{reasons:?}");
    let total: usize = reasons.values().sum();
    assert!(
        reasons["accepted "] * 4 > total * 3,
        "most packs are in order: {reasons:?}"
    );
    eprintln!("replayed {calls:?}: {reasons:?}");
}

/// Issue 12, the gate bypass: a client that leaves `setl_id` blank and reuses one
/// `fixmedins_bchno` (a constant per institution) sent a second 3505 of a sold pack for
/// another buyer a day later, and it was answered as a replay that recorded nothing. Now
/// the second sale is judged, blocked and kept as evidence; only the identical record is a
/// retry.
#[tokio::test]
async fn a_reused_batch_number_is_no_settlement() {
    let app = spawn_app().await;
    let code = "81000020000000000901";
    app.commission(&[code]).await;
    let record = |certno: &str, time: &str| {
        let mut r = sale_record("", certno, &[code]);
        r["fixmedins_bchno"] = json!(format!("{PHARMACY}001"));
        r["sel_retn_time"] = json!(time);
        r.as_object_mut().unwrap().remove("mdtrt_setl_type");
        r
    };
    let first = envelope(
        "3505",
        PHARMACY,
        json!({"selinfo": record("1", "2025-04-08 10:30:00")}),
    );
    let out = app.nhsa(PHARMACY, &first).await;
    assert_eq!(ok(&out)["results"][0]["outcome"], "accepted");
    // The identical record again is a retry.
    let again = app.nhsa(PHARMACY, &first).await;
    assert_eq!(ok(&again)["results"][0]["replayed"], true);
    // Another buyer a day later, same batch number: a second sale, blocked.
    let second = envelope(
        "3505",
        PHARMACY,
        json!({"selinfo": record("2", "2025-04-09 09:00:00")}),
    );
    let out = app.nhsa(PHARMACY, &second).await;
    let result = &out["output"]["results"][0];
    assert_eq!(result["outcome"], "rejected", "{out}");
    assert_eq!(result["reason"], "already_sold");
    assert_eq!(result["replayed"], false);
    assert_eq!(
        app.events_of(code).await,
        [
            "commission/accepted",
            "sale/accepted",
            "sale/rejected(already_sold)"
        ]
    );
    // An insured buyer with no settlement type sent was paid by the fund.
    let trace = app.trace(PHARMACY, code).await;
    assert_eq!(trace["data"][1]["mdtrt_setl_type"], "1", "{trace}");
}

/// 2207 is the gate (issue 12): a settlement blocked by one sold pack records no sale, and
/// the hospital's corrected settlement (the same visit and charge batch, the sold pack taken
/// off) goes through.
#[tokio::test]
async fn a_blocked_2207_is_corrected_and_paid() {
    let app = spawn_app().await;
    let (good, sold) = ("81000020000000000801", "81000020000000000802");
    app.commission(&[good, sold]).await;
    let elsewhere = envelope(
        "3505",
        OTHER,
        json!({"selinfo": sale_record("S-ELSE", "1", &[sold])}),
    );
    assert_eq!(ok(&app.nhsa(OTHER, &elsewhere).await)["recorded"], 1);
    let settlement = |codes: &[&str]| {
        let info: Vec<Value> = codes
            .iter()
            .map(|c| json!({"feedetl_sn": "1", "drug_trac_codg": c, "trdn_flag": "0"}))
            .collect();
        envelope(
            "2207",
            "H1",
            json!({"data": {"mdtrt_id": "MD-9", "chrg_bchno": "CB-9", "psn_no": "35000000000000000510"},
                   "drug_trac_info": info}),
        )
    };
    let blocked = app.nhsa("H1", &settlement(&[good, sold])).await;
    assert_eq!(blocked["infcode"], -1, "{blocked}");
    assert!(
        blocked["err_msg"]
            .as_str()
            .unwrap()
            .contains(&format!("{sold} already_sold")),
        "{blocked}"
    );
    let paid = app.nhsa("H1", &settlement(&[good])).await;
    assert_eq!(paid["infcode"], 0, "{paid}");
    assert_eq!(paid["output"]["drug_trac_rslt"][0]["outcome"], "accepted");
    assert_eq!(
        app.events_of(good).await,
        [
            "commission/accepted",
            "sale/rejected(settlement_blocked)",
            "sale/accepted"
        ]
    );
}
