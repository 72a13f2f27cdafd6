//! 3503 purchase (商品采购) and 3504 purchase return (商品采购退货), with their batch forms
//! (3503A, 3504A: `purcinfoDetail`).

use drugtrace_ledger::{EventKind, Intake, MovementKind, StockChange};

use super::read::{Fault, Obj, decimal};
use super::record::{Ctx, DataType, Plan, Row, codes_of, event, milli, movement, product};

/// 3503 / 3503A: each code of each `purcinfo` record is taken in (采购入库) at
/// `purc_retn_stoin_time`, as the product `med_list_codg`. The record names its supplier
/// only by name (`spler_name`) and licence number (`spler_pmtno`), neither of which is an
/// institution code, so the intake's supplier stays unknown.
pub fn intake(input: &Obj<'_>, ctx: &Ctx) -> Result<Plan, Fault> {
    each(input, ctx, |rec| {
        Ok(EventKind::Intake(Intake {
            supplier: None,
            product: product(rec)?,
        }))
    })
}

/// 3504 / 3504A: each code of each `purcinfo` record goes back to the supplier, a stock change
/// 109 (退货出库) at `purc_retn_stoin_time`.
pub fn return_out(input: &Obj<'_>, ctx: &Ctx) -> Result<Plan, Fault> {
    each(input, ctx, |_| {
        Ok(EventKind::StockChange(StockChange::ReturnOut))
    })
}

fn each(
    input: &Obj<'_>,
    ctx: &Ctx,
    kind: impl Fn(&Obj<'_>) -> Result<EventKind, Fault>,
) -> Result<Plan, Fault> {
    let records = input.records("purcinfo")?;
    let codes = codes_of(input, &records)?;
    let mut plan = Plan::default();
    for (i, (owned, codes)) in records.iter().zip(codes).enumerate() {
        let rec = owned.obj();
        let row = (|| {
            let kind = kind(&rec)?;
            let at = ctx.at(&rec, "purc_retn_stoin_time")?;
            let mut row = Row::of(&rec, DataType::Purchase)?;
            let codes = codes?;
            for (_, code) in &codes {
                let lot = ctx.lot(&rec, code, at)?;
                row.push(code, event(ctx, code, at, lot, kind.clone()));
            }
            if let (true, Some(product)) = (codes.is_empty(), product(&rec)?) {
                let moved = match &kind {
                    EventKind::StockChange(c) => MovementKind::StockChange(*c),
                    _ => MovementKind::Intake,
                };
                let mut m = movement(ctx, product, at, moved);
                if let Some(qty) = rec.parsed("purc_retn_cnt", |t| decimal(t, 4))? {
                    m.quantity_milli = milli(qty, 4);
                }
                row.codeless(m);
            }
            Ok(row)
        })();
        plan.add(i, row)?;
    }
    plan.finish()
}
