//! 3505 sale (商品销售) and 3506 sale return (商品销售退货), with their batch forms.

use std::collections::HashMap;

use drugtrace_code::{PackKey, TraceCode};
use drugtrace_ledger::{EventKind, MovementKind, PersonKey, Sale, SaleReturn, SettlementId};

use super::read::{Fault, Obj, decimal};
use super::record::{
    Codes, Ctx, DataType, Plan, Row, codes_of, event, milli, movement, product, split, visit_ids,
};

/// `sel_retn_cnt` has four decimals.
const QTY_SCALE: u32 = 4;
/// `finl_trns_pric` has six decimals.
const PRICE_SCALE: u32 = 6;

/// 3505 / 3505A: each code of each `selinfo` record is sold (see the module's field table).
/// One pack twice in one settlement is refused, as the gate refuses it: a split sale of
/// several units is one line with `sel_retn_cnt`. A record that does not read is refused
/// alone; the others are recorded.
pub fn sale(input: &Obj<'_>, ctx: &Ctx, person_key: &PersonKey) -> Result<Plan, Fault> {
    let records = input.records("selinfo")?;
    let codes = codes_of(input, &records)?;
    let mut plan = Plan::default();
    let mut seen: HashMap<(PackKey, Option<SettlementId>), String> = HashMap::new();
    for (i, (owned, codes)) in records.iter().zip(codes).enumerate() {
        let row = sale_row(&owned.obj(), codes, ctx, person_key, &seen).map(|(row, keys)| {
            seen.extend(keys);
            row
        });
        plan.add(i, row)?;
    }
    plan.finish()
}

/// A pack in a settlement, and the path of its code.
type Seen = Vec<((PackKey, Option<SettlementId>), String)>;

/// The events of one sale record, and its packs with their settlement, which the records
/// after it may not sell again in the same settlement.
fn sale_row(
    rec: &Obj<'_>,
    codes: Result<Codes, Fault>,
    ctx: &Ctx,
    person_key: &PersonKey,
    seen: &HashMap<(PackKey, Option<SettlementId>), String>,
) -> Result<(Row, Seen), Fault> {
    // Only `setl_id` identifies a settlement. `fixmedins_bchno` is the upload's batch
    // number, which clients reuse (a constant per institution, the lot number): taking it
    // as the settlement let a second sale of one pack pass as a retry of the first.
    let settlement = rec.parsed("setl_id", SettlementId::parse)?;
    // The same identity the file import hashes: the certificate number, else the
    // insured-person number. The raw identity goes no further than this line.
    let psn_no = rec.text("psn_no")?;
    let person = match rec.text("certno")? {
        Some(c) => Some(person_key.hash(&c)),
        None => psn_no.as_deref().map(|p| person_key.hash(p)),
    };
    let fund_paid = fund_paid(rec, settlement.is_some(), psn_no.is_some())?;
    // The platform's visit id when the client sends it, else its own visit number.
    let visit = visit_ids(rec)?.into_iter().next();
    let at = ctx.at(rec, "sel_retn_time")?;
    let product = product(rec)?;
    let codes = codes?;
    let split = split(rec)?;
    let units = line_units(rec, split, &codes)?;
    let price = rec
        .parsed("finl_trns_pric", |t| decimal(t, PRICE_SCALE))?
        .unwrap_or(0);
    let qty = match rec.parsed("sel_retn_cnt", |t| decimal(t, QTY_SCALE))? {
        Some(q) => q,
        None => codes.len().max(1) as i128 * 10i128.pow(QTY_SCALE),
    };
    let amounts = shares(line_fen(price, qty), codes.len());
    let mut row = Row::of(rec, DataType::Sale)?;
    let mut keys = Vec::new();
    for ((path, code), amount_fen) in codes.iter().zip(amounts) {
        let key = (code.pack_key(), settlement.clone());
        if let Some(first) = seen.get(&key) {
            return Err(Fault::at(
                path,
                format!(
                    "the same pack as {first} in the same settlement; sell several units of one pack as one line with sel_retn_cnt"
                ),
            ));
        }
        let lot = ctx.lot(rec, code, at)?;
        let kind = EventKind::Sale(Sale {
            settlement: settlement.clone(),
            person,
            units,
            pack_units: None,
            product: product.clone(),
            amount_fen,
            fund_paid,
            visit: visit.clone(),
        });
        row.push(code, event(ctx, code, at, lot, kind));
        keys.push((key, path.clone()));
    }
    if let (true, Some(product)) = (codes.is_empty(), product) {
        let mut m = movement(ctx, product, at, MovementKind::Sale);
        m.quantity_milli = milli(qty, QTY_SCALE);
        m.split = split;
        m.amount_fen = i64::try_from(line_fen(price, qty)).unwrap_or(i64::MAX);
        m.fund_paid = fund_paid;
        m.settlement = settlement;
        row.codeless(m);
    }
    Ok((row, keys))
}

/// 3506 / 3506A: each code of each `selinfo` record is taken back from the sale
/// `medins_prod_sel_no` (else `setl_id`; with neither, the pack's latest sale with units
/// still out). A record that does not read is refused alone; the others are recorded.
pub fn sale_return(input: &Obj<'_>, ctx: &Ctx) -> Result<Plan, Fault> {
    let records = input.records("selinfo")?;
    let codes = codes_of(input, &records)?;
    let mut plan = Plan::default();
    for (i, (owned, codes)) in records.iter().zip(codes).enumerate() {
        plan.add(i, return_row(&owned.obj(), codes, ctx))?;
    }
    plan.finish()
}

fn return_row(rec: &Obj<'_>, codes: Result<Codes, Fault>, ctx: &Ctx) -> Result<Row, Fault> {
    let settlement = match rec.parsed("medins_prod_sel_no", SettlementId::parse)? {
        Some(s) => Some(s),
        None => rec.parsed("setl_id", SettlementId::parse)?,
    };
    let at = ctx.at(rec, "sel_retn_time")?;
    let codes = codes?;
    let units = line_units(rec, split(rec)?, &codes)?;
    let mut row = Row::of(rec, DataType::Sale)?;
    for (_, code) in &codes {
        let lot = ctx.lot(rec, code, at)?;
        let kind = EventKind::SaleReturn(SaleReturn {
            settlement: settlement.clone(),
            units,
        });
        row.push(code, event(ctx, code, at, lot, kind));
    }
    if let (true, Some(product)) = (codes.is_empty(), product(rec)?) {
        let mut m = movement(ctx, product, at, MovementKind::SaleReturn);
        if let Some(qty) = rec.parsed("sel_retn_cnt", |t| decimal(t, QTY_SCALE))? {
            m.quantity_milli = milli(qty, QTY_SCALE);
        }
        m.split = split(rec)?;
        m.settlement = settlement;
        row.codeless(m);
    }
    Ok(row)
}

/// Whether the insurance fund paid for a sale record, from what clients actually send:
/// `mdtrt_setl_type` (1 insurance, 2 self-paid) when given; else `hi_feesetl_type` (1 or 2:
/// settled by insurance, 0: not); else a settlement id or an insured buyer (`psn_no`, which
/// only insured persons have) means the fund paid, and a sale with neither was self-paid.
fn fund_paid(rec: &Obj<'_>, settled: bool, insured: bool) -> Result<bool, Fault> {
    match rec.text("mdtrt_setl_type")?.as_deref() {
        Some("1") => return Ok(true),
        Some("2") => return Ok(false),
        Some(other) => {
            return Err(Fault::at(
                &rec.field_path("mdtrt_setl_type"),
                format!("expected 1 (insurance) or 2 (self-paid), got {other:?}"),
            ));
        }
        None => {}
    }
    match rec.text("hi_feesetl_type")?.as_deref() {
        Some("1" | "2") => Ok(true),
        Some("0") => Ok(false),
        Some(other) => Err(Fault::at(
            &rec.field_path("hi_feesetl_type"),
            format!("expected 0 (not settled by insurance), 1 or 2, got {other:?}"),
        )),
        None => Ok(settled || insured),
    }
}

/// The units of each pack of a line: for a split line (`trdn_flag` 1), `sel_retn_cnt` whole
/// units shared evenly over its codes (all of them for one code); otherwise `None`, every
/// code being a whole pack. A split line whose units do not divide evenly over its codes is
/// refused: which pack gave the odd units is unknown.
fn line_units(
    rec: &Obj<'_>,
    split: bool,
    codes: &[(String, TraceCode)],
) -> Result<Option<u32>, Fault> {
    if !split {
        return Ok(None);
    }
    let path = rec.field_path("sel_retn_cnt");
    let qty = rec
        .parsed("sel_retn_cnt", |t| decimal(t, QTY_SCALE))?
        .ok_or_else(|| Fault::at(&path, "is required for a split line (trdn_flag 1)"))?;
    let one = 10i128.pow(QTY_SCALE);
    if qty % one != 0 || qty == 0 {
        return Err(Fault::at(
            &path,
            "a split line counts whole units (at least 1)",
        ));
    }
    let units = qty / one;
    let packs = codes.len().max(1) as i128;
    if units % packs != 0 {
        return Err(Fault::at(
            &path,
            format!(
                "a split line (trdn_flag 1) with {packs} codes sells the same whole number of units from each: {units} units do not divide evenly over {packs} packs; send one line per pack"
            ),
        ));
    }
    u32::try_from(units / packs)
        .map(Some)
        .map_err(|_| Fault::at(&path, "is too large"))
}

/// The line's amount in fen: unit price (10⁻⁶ yuan) × quantity (10⁻⁴), rounded half up.
fn line_fen(price: i128, qty: i128) -> i128 {
    // price·qty is in 10⁻¹⁰ yuan = 10⁻⁸ fen.
    (price * qty + 50_000_000) / 100_000_000
}

/// Splits `total` fen over `n` packs, the first packs taking the odd fen.
fn shares(total: i128, n: usize) -> Vec<i64> {
    if n == 0 {
        return Vec::new();
    }
    let n128 = n as i128;
    let (each, rest) = (total / n128, total % n128);
    (0..n128)
        .map(|i| i64::try_from(each + i128::from(i < rest)).unwrap_or(i64::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_price_times_quantity_in_fen() {
        assert_eq!(line_fen(35_910_000, 10_000), 3591);
        assert_eq!(line_fen(11_970_000, 30_000), 3591);
        assert_eq!(line_fen(1_234_567, 10_000), 123);
        assert_eq!(line_fen(1_235_000, 10_000), 124);
        assert_eq!(shares(1001, 3), vec![334, 334, 333]);
        assert_eq!(shares(5, 0), Vec::<i64>::new());
    }
}
