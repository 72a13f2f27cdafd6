//! 3501 stock count (盘存) and 3502 stock change (库存变更), with their batch forms.

use drugtrace_ledger::gate::{Verdict, judge};
use drugtrace_ledger::{EventKind, Lot, MovementKind, Outcome, StockChange, Store};

use super::Failure;
use super::read::{Fault, Obj, decimal};
use super::record::{
    CodeResult, Codes, Ctx, DataType, Plan, Row, checked_output, codes_of, event, milli, movement,
    product, split,
};
use crate::{ApiError, AppState};

/// 3502 / 3502A: each code of each `invinfo` record becomes a stock change of the type
/// `inv_chg_type` (101 to 111), at `inv_chg_time`.
pub fn change(input: &Obj<'_>, ctx: &Ctx) -> Result<Plan, Fault> {
    let records = input.records("invinfo")?;
    let codes = codes_of(input, &records)?;
    let mut plan = Plan::default();
    for (i, (owned, codes)) in records.iter().zip(codes).enumerate() {
        plan.add(i, change_row(&owned.obj(), codes, ctx))?;
    }
    plan.finish()
}

fn change_row(rec: &Obj<'_>, codes: Result<Codes, Fault>, ctx: &Ctx) -> Result<Row, Fault> {
    let path = rec.field_path("inv_chg_type");
    let text = rec.required("inv_chg_type")?;
    let change = text
        .parse::<u16>()
        .ok()
        .and_then(StockChange::from_code)
        .ok_or_else(|| Fault::at(&path, format!("expected 101 to 111, got {text:?}")))?;
    let at = ctx.at(rec, "inv_chg_time")?;
    let mut row = Row::of(rec, DataType::StockChange)?;
    let codes = codes?;
    for (_, code) in &codes {
        let lot = ctx.lot(rec, code, at)?;
        row.push(
            code,
            event(ctx, code, at, lot, EventKind::StockChange(change)),
        );
    }
    if let (true, Some(product)) = (codes.is_empty(), product(rec)?) {
        let mut m = movement(ctx, product, at, MovementKind::StockChange(change));
        if let Some(qty) = rec.parsed("cnt", |t| decimal(t, 4))? {
            m.quantity_milli = milli(qty, 4);
        }
        m.split = split(rec)?;
        row.codeless(m);
    }
    Ok(row)
}

/// 3501 / 3501A: a stock count reports what the institution holds on `invdate`; it moves
/// nothing, so nothing is recorded. Each code is checked as a stock movement at the
/// institution would be, and the answer says what the ledger knows: `accepted`, or
/// `flagged` with `already_sold`, `recalled`, `destroyed`, `expired`, `unknown_code`, or
/// `held_elsewhere` (the ledger's last holder of the pack is another party).
pub async fn count<S: Store + Sync + 'static>(
    state: &AppState<S>,
    input: &Obj<'_>,
    ctx: &Ctx,
) -> Result<(serde_json::Value, Option<String>), Failure> {
    let records = input.records("invinfo")?;
    let codes = codes_of(input, &records)?;
    let mut checks = Vec::new();
    let mut answered = Vec::new();
    for (i, (owned, codes)) in records.iter().zip(codes).enumerate() {
        let rec = owned.obj();
        let read = ctx.at(&rec, "invdate").and_then(|at| Ok((at, codes?)));
        let (at, codes) = match read {
            Ok(r) => r,
            Err(f) => {
                answered.push(CodeResult::refused(i, f.0));
                continue;
            }
        };
        if codes.is_empty() {
            answered.push(CodeResult::uncoded(i));
        }
        for (_, code) in codes {
            let e = event(
                ctx,
                &code,
                at,
                Lot::default(),
                EventKind::StockChange(StockChange::CountGain),
            );
            checks.push((i, code.to_string(), e));
            if checks.len() > super::record::MAX_CODES {
                return Err(Fault("too many trace codes in one call; split it".into()).into());
            }
        }
    }
    let me = ctx.me.clone();
    let authority = ctx.by;
    let verdicts = state
        .blocking(move |inner| {
            let mut out = Vec::with_capacity(checks.len());
            for (i, code, e) in checks {
                let pack = inner.ledger.pack(&e.pack).map_err(ApiError::internal)?;
                let pack = pack.unwrap_or_default();
                let outcome = match judge(&pack, &e, &inner.ledger.context(authority)) {
                    Verdict::Record(_, o) | Verdict::Replay { outcome: o, .. } => o,
                };
                let elsewhere = pack.holder.as_ref().is_some_and(|h| *h != me);
                let result = match outcome {
                    Outcome::Accepted if elsewhere => {
                        CodeResult::checked(i, code, "flagged", Some("held_elsewhere"))
                    }
                    o => CodeResult::checked(i, code, o.as_str(), o.reason().map(|r| r.as_str())),
                };
                out.push(result);
            }
            Ok(out)
        })
        .await?;
    let mut results = verdicts;
    results.extend(answered);
    results.sort_by_key(CodeResult::record);
    Ok(checked_output(records.len(), results)??)
}
