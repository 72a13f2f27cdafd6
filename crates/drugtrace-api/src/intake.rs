//! `POST /v1/intake`: purchase intake (采购入库验收). The institution sends the delivery
//! note's packs and learns at once, before it dispenses any, which were already sold
//! elsewhere, were never issued, are recalled, expired or destroyed, or are not the product
//! the note says. The intakes are recorded, atomically, whatever they show: a pack taken in
//! after being sold is evidence. A case code (箱码) takes in every box still inside it, each
//! box with its own record and status.

use axum::Json;
use axum::extract::State;
use drugtrace_catalog::InsuranceCode;
use drugtrace_code::TraceCode;
use drugtrace_ledger::{Event, EventKind, InstitutionId, Intake, Lot, Store, Timestamp};
use serde::{Deserialize, Serialize};

use crate::access::Caller;
use crate::gate::{PriorSale, prior_sales};
use crate::{ApiError, AppState};

/// Packs in one delivery at most.
const MAX_ITEMS: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    institution: String,
    /// The supplier on the delivery note.
    supplier: Option<String>,
    /// RFC 3339 or local `YYYY-MM-DD HH:MM:SS`; default: now.
    at: Option<String>,
    items: Vec<IntakeItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntakeItem {
    code: String,
    /// The product the delivery note says this pack is.
    insurance_code: Option<String>,
}

#[derive(Serialize)]
pub struct IntakeAnswer {
    /// Packs that may be dispensed (the boxes of a case each count).
    ok: usize,
    /// Packs that must be set aside and checked.
    flagged: usize,
    items: Vec<ItemAnswer>,
}

#[derive(Serialize)]
struct ItemAnswer {
    code: String,
    /// `ok`, or the problem: `already_sold`, `unknown_code`, `recalled`, `expired`,
    /// `destroyed`, `product_mismatch`.
    status: &'static str,
    prior_sales: Vec<PriorSale>,
    /// For a case: each box taken in with it, and its status.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    boxes: Vec<crate::packs::BoxAnswer>,
}

pub async fn post<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Result<Json<IntakeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<IntakeAnswer>, ApiError> {
    let me = caller.institution()?.clone();
    let caller_authority = caller.authority();
    let Json(req) = body?;
    let offset = state.inner.local_offset_minutes;
    let field = |name: String, e: &dyn std::fmt::Display| ApiError::field(name, e.to_string());
    let actor =
        InstitutionId::parse(&req.institution).map_err(|e| field("institution".into(), &e))?;
    if actor != me {
        return Err(ApiError::forbidden(
            Some("institution".into()),
            format!("this key belongs to {me}, not to {actor}"),
        ));
    }
    let supplier = req
        .supplier
        .as_deref()
        .map(InstitutionId::parse)
        .transpose()
        .map_err(|e| field("supplier".into(), &e))?;
    let now = Timestamp::now();
    let at = match &req.at {
        Some(t) => Timestamp::parse(t, offset).map_err(|e| field("at".into(), &e))?,
        None => now,
    };
    drugtrace_ledger::Policy::check_claimed_time(at, now, offset)
        .map_err(|e| field("at".into(), &e))?;
    if req.items.is_empty() || req.items.len() > MAX_ITEMS {
        return Err(ApiError::field(
            "items",
            format!("{} items; a delivery has 1 to {MAX_ITEMS}", req.items.len()),
        ));
    }
    // A carton's or pallet's SSCC is taken in as the case it is, when something was packed
    // into it; otherwise the scan is refused as the shipping label it is.
    let parsed: Vec<Result<TraceCode, drugtrace_code::ParseError>> = req
        .items
        .iter()
        .map(|item| TraceCode::parse(&item.code))
        .collect();
    let labels: Vec<drugtrace_code::PackKey> = parsed
        .iter()
        .filter_map(|p| match p {
            Err(drugtrace_code::ParseError::LogisticsLabel { sscc }) => Some(sscc.pack_key()),
            _ => None,
        })
        .collect();
    let cases: std::collections::HashSet<drugtrace_code::PackKey> = if labels.is_empty() {
        Default::default()
    } else {
        state
            .blocking(move |inner| {
                let mut cases = std::collections::HashSet::new();
                for k in labels {
                    if inner
                        .ledger
                        .pack(&k)
                        .map_err(ApiError::internal)?
                        .is_some_and(|p| p.is_case)
                    {
                        cases.insert(k);
                    }
                }
                Ok(cases)
            })
            .await?
    };
    let mut events = Vec::with_capacity(req.items.len());
    let mut codes = Vec::with_capacity(req.items.len());
    for (i, (item, parsed)) in req.items.iter().zip(parsed).enumerate() {
        let code = match parsed {
            Ok(code) => code,
            Err(drugtrace_code::ParseError::LogisticsLabel { sscc })
                if cases.contains(&sscc.pack_key()) =>
            {
                events.push(Event {
                    upload: None,
                    pack: sscc.pack_key(),
                    at,
                    actor: actor.clone(),
                    lot: Lot::default(),
                    kind: EventKind::Intake(Intake {
                        supplier: supplier.clone(),
                        product: None,
                    }),
                });
                codes.push(sscc.to_string());
                continue;
            }
            Err(e) => return Err(field(format!("items[{i}].code"), &e)),
        };
        let product = item
            .insurance_code
            .as_deref()
            .map(InsuranceCode::parse)
            .transpose()
            .map_err(|e| field(format!("items[{i}].insurance_code"), &e))?;
        let lot = Lot::of_code(&code, at);
        events.push(Event {
            upload: None,
            pack: code.pack_key(),
            at,
            actor: actor.clone(),
            lot,
            kind: EventKind::Intake(Intake {
                supplier: supplier.clone(),
                product,
            }),
        });
        codes.push(code.to_string());
    }
    let decisions = state.record(events, caller_authority).await?;
    let items: Vec<ItemAnswer> = codes
        .into_iter()
        .zip(&decisions)
        .map(|(code, d)| ItemAnswer {
            code,
            status: d.outcome.reason().map_or("ok", |r| r.as_str()),
            prior_sales: prior_sales(d, offset),
            boxes: crate::packs::box_answers(d),
        })
        .collect();
    // A case counts as its boxes.
    let statuses: Vec<&str> = items
        .iter()
        .flat_map(|i| {
            if i.boxes.is_empty() {
                vec![i.status]
            } else {
                i.boxes.iter().map(|b| b.status).collect()
            }
        })
        .collect();
    let ok = statuses.iter().filter(|s| **s == "ok").count();
    Ok(Json(IntakeAnswer {
        ok,
        flagged: statuses.len() - ok,
        items,
    }))
}
