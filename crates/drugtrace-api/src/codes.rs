//! `GET /v1/codes/{code}`: the patient's query. Anyone holding a pack may ask; the answer
//! says whether it was sold never, once or more than once (`no_sale`, `one_sale`,
//! `multiple_sales`), with the product, the sellers and any public notice.
//!
//! Whether a single sale was the asker's (`one_sale_mine`, `one_sale_not_mine`) is told
//! only to an asker who proves who they are: header `x-person-assertion` holds an HS256
//! JWT signed by the deployment's identity provider, with an expiry (see [`crate::identity`]).
//! Its `sub` is hashed with the installation's person key, exactly as the buyer was at
//! sale, and never stored. An unsigned ID number could be guessed (anyone with the pack
//! could try ID numbers until one matched and so learn who bought it), so:
//!
//! - a valid assertion: mine / not mine, and `"identity": "verified"`;
//! - an invalid one (expired, bad signature, `alg` other than HS256, malformed…): the
//!   anonymous answer, HTTP 200 still (the pack's facts are public), and `identity` saying
//!   why (the [`AssertionError`] message, e.g. `"expired"`);
//! - a server with no identity key configured accepts no assertion: the anonymous answer
//!   and `identity` saying so;
//! - the old bare `x-person-identity` header is ignored, and `identity` says so.
//!
//! Without either header the answer is anonymous and has no `identity`. Other buyers'
//! identities are never shown.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use drugtrace_code::TraceCode;
use drugtrace_ledger::{PackState, PersonHash, Reason, Store};
use serde::Serialize;

use crate::access::ClientIp;
use crate::identity::{ASSERTION_HEADER, AssertionError};
use crate::{ApiError, AppState};

/// The header that once carried the asker's bare ID number; it is ignored now.
pub const UNSIGNED_PERSON_HEADER: &str = "x-person-identity";

/// `identity` of an answer whose assertion was verified and used.
pub const IDENTITY_VERIFIED: &str = "verified";

/// `identity` of an answer to a request that sent the old, unsigned header.
pub const IDENTITY_UNSIGNED: &str = "unsigned identity ignored: send x-person-assertion";

/// `identity` of an answer from a server with no identity provider's key.
pub const IDENTITY_NOT_CONFIGURED: &str =
    "no identity provider configured: x-person-assertion is not accepted";

/// Sale records shown at most, latest first.
const SHOWN_SALES: usize = 5;

#[derive(Serialize)]
pub struct CodeAnswer {
    code: String,
    /// `no_sale`, `one_sale`, `one_sale_mine`, `one_sale_not_mine` or `multiple_sales`.
    case: &'static str,
    product: Option<ProductFacts>,
    /// When the pack's latest event happened.
    updated_at: Option<String>,
    sales: Vec<SaleFact>,
    advice: Advice,
    /// The public notice of duplicated codes this code is on, if a bureau published one.
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<NoticeFact>,
    /// The recall of this pack, of its batch or of its product, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    recall: Option<RecallFact>,
    /// What became of the asker's identity, when one was sent: `verified`, or why it was
    /// not used (then the answer is the anonymous one).
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
}

/// The asker, if a valid assertion proves who they are, and what the answer says of the
/// identity sent (nothing when none was).
fn asker<S>(
    state: &AppState<S>,
    headers: &HeaderMap,
    now_seconds: i64,
) -> (Option<PersonHash>, Option<String>) {
    let mut assertions = headers.get_all(ASSERTION_HEADER).iter();
    let Some(value) = assertions.next() else {
        let unsigned = headers.contains_key(UNSIGNED_PERSON_HEADER);
        return (None, unsigned.then(|| IDENTITY_UNSIGNED.to_owned()));
    };
    let Some(key) = &state.inner.identity_key else {
        return (None, Some(IDENTITY_NOT_CONFIGURED.to_owned()));
    };
    let verified = if assertions.next().is_some() {
        Err(AssertionError::Malformed(format!(
            "more than one {ASSERTION_HEADER} header"
        )))
    } else {
        value
            .to_str()
            .map_err(|_| AssertionError::Malformed("not printable ASCII".into()))
            .and_then(|token| key.verify(token, now_seconds))
    };
    match verified {
        Ok(id) => (
            Some(state.inner.person_key.hash(&id.sub)),
            Some(IDENTITY_VERIFIED.to_owned()),
        ),
        Err(e) => (None, Some(e.to_string())),
    }
}

#[derive(Serialize)]
struct NoticeFact {
    id: u32,
    title: String,
    published_at: String,
    /// Times the code was sold, as the notice counted them.
    times_sold: i64,
}

#[derive(Serialize)]
struct RecallFact {
    /// `pack` (this pack was recalled), `batch` (its batch was), `product` (the product was
    /// withdrawn), or `batch_unknown` (a batch of the product was recalled, and the ledger
    /// does not know this pack's batch).
    scope: &'static str,
    /// The recalled batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<String>,
    /// Why, as the recall says.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// When the recall was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    recalled_at: Option<String>,
    advice: RecallAdvice,
}

#[derive(Serialize)]
struct RecallAdvice {
    zh: String,
    en: String,
}

/// What the patient is told of a recall covering the pack.
fn recall_fact(
    recalls: &drugtrace_ledger::Recalls,
    catalog: &drugtrace_catalog::Catalog,
    key: &drugtrace_code::PackKey,
    pack: &PackState,
    offset: i32,
) -> Option<RecallFact> {
    use drugtrace_ledger::Covered;
    const STOP_ZH: &str = "请停止使用，保留药盒和票据，联系购药机构退换。";
    const STOP_EN: &str =
        "Stop using it; keep the box and the receipt and return it to where you bought it.";
    let covered = recalls.covering(
        catalog,
        key,
        pack.batch.as_ref(),
        drugtrace_ledger::Timestamp::now(),
    );
    let (scope, recall) = match covered {
        Some(Covered::Yes(r)) if r.batch.is_some() => ("batch", Some(r)),
        Some(Covered::Yes(r)) => ("product", Some(r)),
        Some(Covered::BatchUnknown(r)) if !pack.recalled => ("batch_unknown", Some(r)),
        _ if pack.recalled => ("pack", None),
        _ => return None,
    };
    let batch = recall
        .and_then(|r| r.batch.as_ref())
        .map(|b| b.as_str().to_owned());
    let (zh, en) = match scope {
        "batch" => (
            format!(
                "该药品批号 {} 已被召回。{STOP_ZH}",
                batch.as_deref().unwrap_or("")
            ),
            format!(
                "Batch {} of this medicine has been recalled. {STOP_EN}",
                batch.as_deref().unwrap_or("")
            ),
        ),
        "product" => (
            format!("该药品已撤市召回。{STOP_ZH}"),
            format!("This medicine has been withdrawn. {STOP_EN}"),
        ),
        "batch_unknown" => (
            format!(
                "该药品的批号 {} 已被召回。请核对药盒上的批号：如相同，{STOP_ZH}",
                batch.as_deref().unwrap_or("")
            ),
            format!(
                "Batch {} of this medicine has been recalled. Check the batch printed on the box: if it is the same, stop using it; keep the box and the receipt and return it to where you bought it.",
                batch.as_deref().unwrap_or("")
            ),
        ),
        _ => (
            format!("此盒药品已被召回。{STOP_ZH}"),
            format!("This pack has been recalled. {STOP_EN}"),
        ),
    };
    Some(RecallFact {
        scope,
        batch,
        reason: recall.map(|r| r.reason.clone()),
        recalled_at: recall.map(|r| r.at.to_rfc3339(offset)),
        advice: RecallAdvice { zh, en },
    })
}

#[derive(Serialize)]
struct ProductFacts {
    generic_name: String,
    trade_name: String,
    specification: String,
    manufacturer: String,
    insurance_code: String,
}

#[derive(Serialize)]
struct SaleFact {
    institution: String,
    /// The institution's name and city, when the directory knows it.
    institution_name: Option<String>,
    city: Option<String>,
    at: String,
    units: u32,
    /// The payment was blocked by the gate: the pack had been sold before.
    blocked: bool,
}

#[derive(Serialize)]
struct Advice {
    zh: &'static str,
    en: &'static str,
}

fn advice(case: &str) -> Advice {
    let (zh, en) = match case {
        "no_sale" => (
            "未查询到产品销售信息。请两天后再次扫码查询；如仍无记录，说明销售机构未上传，可向其索要购药凭证。",
            "No sale found. Scan again in two days; if there is still none, the seller did not upload the sale: ask it for the purchase documents.",
        ),
        "one_sale" => (
            "查询到1次销售信息。登录后可核对是否为本人购买。",
            "Sold once. Sign in to check that the sale was yours.",
        ),
        "one_sale_mine" => (
            "查询到仅有1次销售信息，为本人购买，可放心使用。",
            "Sold once, to you: this pack's record is in order.",
        ),
        "one_sale_not_mine" => (
            "查询到1次销售信息，但非本人购买，可能为回流药、串换药或假药。请保留药盒和票据，向医保部门举报，并可向销售机构索赔。",
            "Sold once, but not to you: the pack may be resold, substituted or fake. Keep the box and the receipt, report it to the insurance bureau, and claim compensation from the seller.",
        ),
        _ => (
            "查询到多次销售信息，可能为回流药或假药。请保留药盒和票据，向医保部门举报；依据《药品管理法》和《消费者权益保护法》可向销售机构索赔。",
            "Sold more than once: the pack is likely resold or fake. Keep the box and the receipt and report it; under the Drug Administration Law and the Consumer Rights Protection Law you can claim compensation from the seller.",
        ),
    };
    Advice { zh, en }
}

/// How many times the pack was sold, as a patient counts: the sales that went through (the
/// partial sales of a split pack count once together) and the attempts to sell it again
/// that the gate blocked. Also whether the asker bought it.
fn sales_seen(state: &PackState, asker: Option<PersonHash>) -> (usize, bool) {
    let paid = usize::from(!state.sales.is_empty());
    let again = state
        .blocked
        .iter()
        .filter(|b| matches!(b.reason, Reason::AlreadySold | Reason::UnitsExceeded))
        .count();
    let mine = asker.is_some_and(|p| state.sales.iter().any(|s| s.person == Some(p)));
    (paid + again, mine)
}

pub async fn query<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Json<CodeAnswer>, ApiError> {
    if let Some(ip) = ip {
        state
            .inner
            .patient_limit
            .take(ip)
            .map_err(ApiError::too_many)?;
    }
    let code = TraceCode::parse(&code).map_err(|e| ApiError::field("code", e.to_string()))?;
    let now_seconds = drugtrace_ledger::Timestamp::now().millis().div_euclid(1000);
    let (asker, identity) = asker(&state, &headers, now_seconds);
    let offset = state.inner.local_offset_minutes;
    let key = code.pack_key();
    let (pack, history) = state
        .blocking(move |inner| {
            let pack = inner.ledger.pack(&key).map_err(ApiError::internal)?;
            // The history is read only when a blocked attempt must be shown with its time.
            let history = match &pack {
                Some(p) if !p.blocked.is_empty() => {
                    inner.ledger.history(&key).map_err(ApiError::internal)?
                }
                _ => Vec::new(),
            };
            Ok((pack, history))
        })
        .await?;
    let product = state
        .inner
        .ledger
        .catalog()
        .by_product_key(key.product_key())
        .map(|p| ProductFacts {
            generic_name: p.generic_name().to_owned(),
            trade_name: p.trade_name().to_owned(),
            specification: p.specification().to_owned(),
            manufacturer: p.manufacturer().to_owned(),
            insurance_code: p.insurance_code().to_string(),
        });
    let directory = state.inner.directory();
    let name_of = |code: &str| directory.get(code).map(|i| i.name.clone());
    let city_of = |code: &str| directory.get(code).map(|i| i.city.clone());
    let state_now = pack.unwrap_or_default();
    let (count, mine) = sales_seen(&state_now, asker);
    let case = match (count, asker) {
        (0, _) => "no_sale",
        (1, None) => "one_sale",
        (1, Some(_)) if mine => "one_sale_mine",
        (1, Some(_)) => "one_sale_not_mine",
        _ => "multiple_sales",
    };
    let mut sales: Vec<(drugtrace_ledger::Timestamp, SaleFact)> = state_now
        .sales
        .iter()
        .map(|s| {
            (
                s.at,
                SaleFact {
                    institution: s.institution.to_string(),
                    institution_name: name_of(s.institution.as_str()),
                    city: city_of(s.institution.as_str()),
                    at: s.at.to_rfc3339(offset),
                    units: s.units,
                    blocked: false,
                },
            )
        })
        .collect();
    for b in &state_now.blocked {
        if let Some(r) = history.get(b.index as usize) {
            sales.push((
                r.event.at,
                SaleFact {
                    institution: b.institution.to_string(),
                    institution_name: name_of(b.institution.as_str()),
                    city: city_of(b.institution.as_str()),
                    at: r.event.at.to_rfc3339(offset),
                    units: match &r.event.kind {
                        drugtrace_ledger::EventKind::Sale(s) => s.units.unwrap_or(0),
                        _ => 0,
                    },
                    blocked: true,
                },
            ));
        }
    }
    sales.sort_by_key(|s| std::cmp::Reverse(s.0));
    let notice = state
        .inner
        .supervision
        .as_ref()
        .and_then(|s| s.notice_for(&key.to_string()))
        .map(|n| NoticeFact {
            id: n.id,
            title: n.title,
            published_at: drugtrace_ledger::Timestamp::from_millis(n.published_at_ms)
                .to_rfc3339(offset),
            times_sold: n.times_sold,
        });
    let recall = recall_fact(
        &state.inner.ledger.recalls(),
        &state.inner.ledger.catalog(),
        &key,
        &state_now,
        offset,
    );
    Ok(Json(CodeAnswer {
        recall,
        code: code.to_string(),
        case,
        product,
        updated_at: state_now.last_at.map(|t| t.to_rfc3339(offset)),
        sales: sales
            .into_iter()
            .take(SHOWN_SALES)
            .map(|(_, s)| s)
            .collect(),
        advice: advice(case),
        notice,
        identity,
    }))
}
