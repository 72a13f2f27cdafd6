//! 3507 delete (商品信息删除): refused, because the ledger is append-only.
//!
//! Nationally, 3507 removes an uploaded batch (`fixmedins_bchno`) of stock-count (1),
//! stock-change (2), purchase (3) or sale (4) records (`inv_data_type`) so that it can be
//! uploaded again. Here every event stays in its pack's log: a sale once recorded is the
//! evidence of a payment, and a deleted sale would let the same pack be paid for again. So
//! a well-formed 3507 is answered with infcode -1 and an `err_msg` naming the transaction
//! that undoes each kind of record; nothing is changed. (Answering 0 would tell the
//! institution's system that the records are gone when they are not.)

use super::read::{Fault, Obj};

/// Checks the request and explains the refusal.
pub fn delete(input: &Obj<'_>) -> Fault {
    match refusal(input) {
        Ok(f) | Err(f) => f,
    }
}

fn refusal(input: &Obj<'_>) -> Result<Fault, Fault> {
    let records = input.records("data")?;
    let mut named = Vec::new();
    for owned in &records {
        let rec = owned.obj();
        let bchno = rec.required("fixmedins_bchno")?;
        let kind = rec.required("inv_data_type")?;
        let undo = match kind.as_str() {
            "1" => "a stock count records nothing here, so there is nothing to delete",
            "2" => "send the opposite stock change (3502)",
            "3" => "send a purchase return (3504)",
            "4" => "send a sale return (3506)",
            other => {
                return Err(Fault::at(
                    &rec.field_path("inv_data_type"),
                    format!(
                        "expected 1 (stock count), 2 (stock change), 3 (purchase) or 4 (sale), got {other:?}"
                    ),
                ));
            }
        };
        named.push(format!("{bchno} (inv_data_type {kind}: {undo})"));
    }
    Ok(Fault(format!(
        "records are never deleted: the trace ledger is append-only and keeps every upload as evidence; nothing was changed. To correct {}",
        named.join("; ")
    )))
}
