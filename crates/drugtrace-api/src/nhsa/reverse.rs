//! 2208 outpatient settlement reversal (门诊结算撤销): the settlement's packs are given back.
//!
//! The request names the settlement as 2207 answered it (`input.data.setl_id`, with
//! `mdtrt_id` and `psn_no`). Every pack sold under that settlement at the caller's
//! institution gets a sale return of all its units still out, in one atomic commit, so the
//! packs can be sold (and paid for) again. Only a sale of exactly that settlement is
//! returned: a pack whose sale under it was blocked (never paid) gets nothing, and no other
//! sale of the pack is touched. A resent reversal finds nothing left out and is answered
//! `already_reversed`, recording nothing. A settlement this institution never recorded is
//! refused (infcode -1), naming it.
//!
//! A 2207 sent again after the reversal, under the same visit and charge batch (so the same
//! settlement id), is a new sale, not a retry: the gate does not take a sale given back whole
//! for the one a later sale under its settlement repeats.
//!
//! The output is `{setlinfo: {setl_id, mdtrt_id, psn_no}, drug_trac_rslt: [{drug_trac_codg,
//! outcome, units}]}` with `outcome` `reversed`, `already_reversed` or `not_paid`.

use drugtrace_code::PackKey;
use drugtrace_ledger::{Event, EventKind, Lookup, Lot, SaleReturn, SettlementId, Store};
use serde::Serialize;
use serde_json::Value;

use super::Failure;
use super::read::{Fault, Obj};
use super::record::{Ctx, Verdict};
use crate::{ApiError, AppState};

/// Packs in one settlement at most, as 2207 takes them.
const MAX_PACKS: usize = 1000;

#[derive(Serialize)]
struct Output {
    setlinfo: SetlInfo,
    #[serde(flatten)]
    verdict: Verdict,
    drug_trac_rslt: Vec<PackResult>,
}

#[derive(Serialize)]
struct SetlInfo {
    setl_id: String,
    mdtrt_id: Option<String>,
    psn_no: Option<String>,
}

#[derive(Serialize)]
struct PackResult {
    drug_trac_codg: String,
    /// `reversed`, `already_reversed` (a resent reversal) or `not_paid` (its sale under
    /// this settlement was blocked).
    outcome: &'static str,
    /// Units given back.
    units: u32,
}

/// What each pack of the settlement needs.
enum Plan {
    Return(u32),
    Done,
    NotPaid,
}

/// Reverses the settlement named in `input.data`.
pub async fn reverse<S: Store + Sync + 'static>(
    state: &AppState<S>,
    input: &Obj<'_>,
    ctx: &Ctx,
) -> Result<(Value, Option<String>), Failure> {
    let data = input.object("data")?;
    let data = data.obj();
    let setl_id = data
        .parsed("setl_id", SettlementId::parse)?
        .ok_or_else(|| {
            Fault::at(
                &data.field_path("setl_id"),
                "is required: name the settlement as 2207 answered it (output.setlinfo.setl_id)",
            )
        })?;
    let mdtrt_id = data.text("mdtrt_id")?;
    let psn_no = data.text("psn_no")?;
    let me = ctx.me.clone();
    let id = setl_id.clone();
    let packs: Vec<(PackKey, Plan)> = state
        .blocking(move |inner| {
            let keys = inner
                .ledger
                .packs_by(&Lookup::Settlement(me.clone(), id.clone()), MAX_PACKS + 1)
                .map_err(ApiError::internal)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let pack = inner
                    .ledger
                    .pack(&key)
                    .map_err(ApiError::internal)?
                    .unwrap_or_default();
                let out_units: Option<u32> = pack
                    .sales
                    .iter()
                    .filter(|s| s.institution == me && s.settlement.as_ref() == Some(&id))
                    .map(|s| s.units_out())
                    .reduce(|a, b| a + b);
                out.push((
                    key,
                    match out_units {
                        None => Plan::NotPaid,
                        Some(0) => Plan::Done,
                        Some(n) => Plan::Return(n),
                    },
                ));
            }
            Ok(out)
        })
        .await?;
    if packs.is_empty() {
        return Err(Fault::at(
            &data.field_path("setl_id"),
            format!(
                "no settlement {setl_id} of {} is recorded here: nothing was reversed",
                ctx.me
            ),
        )
        .into());
    }
    if packs.len() > MAX_PACKS {
        return Err(Fault(format!(
            "settlement {setl_id} holds more than {MAX_PACKS} packs; ask the bureau to reverse it"
        ))
        .into());
    }
    let events: Vec<Event> = packs
        .iter()
        .filter(|(_, p)| matches!(p, Plan::Return(_)))
        .map(|(key, _)| Event {
            pack: *key,
            at: ctx.now,
            actor: ctx.me.clone(),
            lot: Lot::default(),
            kind: EventKind::SaleReturn(SaleReturn {
                settlement: Some(setl_id.clone()),
                units: None,
            }),
            upload: None,
        })
        .collect();
    let decisions = if events.is_empty() {
        Vec::new()
    } else {
        state.record(events, ctx.by).await?
    };
    let mut next = decisions.iter();
    let mut results = Vec::with_capacity(packs.len());
    let mut refused = Vec::new();
    for (key, plan) in &packs {
        let code = key.to_string();
        let (outcome, units) = match plan {
            Plan::NotPaid => ("not_paid", 0),
            Plan::Done => ("already_reversed", 0),
            Plan::Return(n) => match next.next() {
                Some(d) if d.outcome.is_applied() => ("reversed", *n),
                Some(d) => {
                    let why = d.outcome.reason().map_or("rejected", |r| r.as_str());
                    refused.push(format!("{code} {why}"));
                    ("rejected", 0)
                }
                None => ("rejected", 0),
            },
        };
        results.push(PackResult {
            drug_trac_codg: code,
            outcome,
            units,
        });
    }
    let reversed = results.iter().filter(|r| r.outcome == "reversed").count();
    let problems: Vec<String> = if refused.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "settlement {setl_id}: {} packs not given back: {}",
            refused.len(),
            refused.join("; ")
        )]
    };
    let verdict = Verdict::of(
        &problems,
        format!(
            "settlement {setl_id}: {reversed} of {} packs given back",
            results.len()
        ),
    );
    let warn = verdict.problems();
    let out = Output {
        setlinfo: SetlInfo {
            setl_id: setl_id.to_string(),
            mdtrt_id,
            psn_no,
        },
        verdict,
        drug_trac_rslt: results,
    };
    Ok((serde_json::to_value(out).map_err(ApiError::internal)?, warn))
}
