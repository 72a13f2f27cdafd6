//! 3507 / 3507A delete (商品信息删除): a void of an upload batch that keeps the evidence.
//!
//! Nationally, 3507 removes an uploaded batch (`fixmedins_bchno`) of stock changes (2),
//! purchases and their returns (3) or sales and their returns (4) (`inv_data_type`) so that
//! it can be uploaded again; 3507A takes a list (`goodDetail`). Here nothing is removed: each
//! pack that has records of the caller's in that batch gets a `void` event appended, the
//! voided records stay in its log as evidence, and the pack's state is derived as if they
//! had not been applied (a voided sale's units are unsold again, so the corrected upload
//! goes through). What a void cannot touch: another institution's records, rejected attempts,
//! and a 2207 settlement's sales (the payment happened; 2208 reverses it). Regulators see
//! every void in the pack's log and in the warehouse (`kind = 'void'`), and the model
//! `voided_sales` flags voids of fund-paid sales and voids covering many records.
//!
//! Records uploaded without trace codes, kept as product-level movements, are voided with
//! their batch too: each movement of the caller's in it is marked with the void (who, when),
//! stays as evidence, and stops counting in stock and upload rates. The batch can then be
//! uploaded again: a record sent again after the void counts again, once (the movement's
//! next revision), while one resent before it is kept once as always. A batch with many
//! movements is voided page by page; a void that failed half-way is completed by sending it
//! again.
//!
//! Stock counts (1) record nothing here, so there is nothing to void; such a record is
//! answered `nothing_to_void`. A batch is named by type and number together, so a client
//! that gives every type one number voids only the type it names.
//!
//! The answer is per record (`results`: `{record, fixmedins_bchno, inv_data_type, outcome,
//! packs, movements, message}`, `packs` the packs and `movements` the records without codes
//! in the batch; outcome `voided`, `already_voided` for a resent void, `nothing_to_void`,
//! or `refused` with the field and the problem), with `retRslt` "1" when every record was
//! read, and the totals newly voided (`voided` packs, `voided_movements`). All the packs'
//! voids of a call are recorded in one atomic commit, then the movements' voids.

use drugtrace_code::PackKey;
use drugtrace_ledger::{
    Event, EventKind, Lookup, Lot, MovementVoid, Outcome, Store, UploadId, Void,
};
use serde::Serialize;
use serde_json::Value;

use super::Failure;
use super::read::{Fault, Obj};
use super::record::{Ctx, DataType, MAX_CODES, Verdict, upload_id};
use crate::{ApiError, AppState};

#[derive(Serialize)]
struct Output {
    /// Packs given a void.
    voided: usize,
    /// Records without codes (movements) voided.
    voided_movements: usize,
    #[serde(flatten)]
    verdict: Verdict,
    results: Vec<RecordResult>,
}

#[derive(Serialize)]
struct RecordResult {
    record: usize,
    fixmedins_bchno: Option<String>,
    inv_data_type: Option<String>,
    /// `voided`, `already_voided`, `nothing_to_void` or `refused`.
    outcome: &'static str,
    /// Packs with records in the batch.
    packs: usize,
    /// Records without codes (movements) in the batch, voided before or now.
    movements: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// One record of the call, read: its batch, and the ledger's name for it (none for a stock
/// count, which records nothing).
struct Request {
    bchno: String,
    data: String,
    upload: Option<UploadId>,
    packs: Vec<PackKey>,
    /// The batch's movements, and how many of them this call voided.
    movements: (usize, usize),
}

/// A record that does not read: its batch and type as sent, and why.
type Refused = (Option<String>, Option<String>, Fault);

/// Voids the batches named in `input.data` (3507) or `input.goodDetail` (3507A).
pub async fn void<S: Store + Sync + 'static>(
    state: &AppState<S>,
    input: &Obj<'_>,
    ctx: &Ctx,
) -> Result<(Value, Option<String>), Failure> {
    let records = match input.records("data") {
        Ok(r) => r,
        Err(_) => input.records("good")?,
    };
    let mut read: Vec<Result<Request, Refused>> = Vec::new();
    for owned in &records {
        let rec = owned.obj();
        let r = (|| {
            let bchno = rec.required("fixmedins_bchno")?;
            let data = rec.required("inv_data_type")?;
            let kind = DataType::parse(&data).ok_or_else(|| {
                Fault::at(
                    &rec.field_path("inv_data_type"),
                    format!(
                        "expected 1 (stock count), 2 (stock change), 3 (purchase) or 4 (sale), got {data:?}"
                    ),
                )
            })?;
            let upload = match kind {
                DataType::StockCount => None,
                _ => Some(
                    upload_id(kind, &bchno)
                        .map_err(|e| Fault::at(&rec.field_path("fixmedins_bchno"), e))?,
                ),
            };
            Ok(Request {
                bchno,
                data,
                upload,
                packs: Vec::new(),
                movements: (0, 0),
            })
        })();
        read.push(r.map_err(|f: Fault| {
            (
                rec.text("fixmedins_bchno").ok().flatten(),
                rec.text("inv_data_type").ok().flatten(),
                f,
            )
        }));
    }
    if read.iter().all(Result::is_err) {
        let (_, _, f) = read
            .into_iter()
            .find_map(Result::err)
            .expect("one record at least");
        return Err(f.into());
    }
    let me = ctx.me.clone();
    let read = state
        .blocking(move |inner| {
            let mut read = read;
            for req in read.iter_mut().flatten() {
                if let Some(u) = &req.upload {
                    let lookup = Lookup::Upload(me.clone(), u.clone());
                    req.packs = inner
                        .ledger
                        .packs_by(&lookup, MAX_CODES + 1)
                        .map_err(ApiError::internal)?;
                }
            }
            Ok(read)
        })
        .await?;
    let total: usize = read.iter().flatten().map(|r| r.packs.len()).sum();
    if total > MAX_CODES {
        return Err(Fault(format!(
            "the batches name records on {total} packs, more than {MAX_CODES} in one call; void them one batch per call"
        ))
        .into());
    }
    let mut events = Vec::with_capacity(total);
    for req in read.iter().flatten() {
        let Some(upload) = &req.upload else {
            continue;
        };
        for pack in &req.packs {
            events.push(Event {
                pack: *pack,
                at: ctx.now,
                actor: ctx.me.clone(),
                lot: Lot::default(),
                kind: EventKind::Void(Void {
                    upload: upload.clone(),
                    voids: Vec::new(),
                }),
                upload: None,
            });
        }
    }
    let decisions = if events.is_empty() {
        Vec::new()
    } else {
        state.record(events, ctx.by).await?
    };
    // The movements after the packs: a void that fails here is sent again, and the packs
    // are then already voided.
    let me = ctx.me.clone();
    let void = MovementVoid {
        by: ctx.me.clone(),
        at: ctx.now,
    };
    let read = state
        .blocking(move |inner| {
            let mut read = read;
            for req in read.iter_mut().flatten() {
                if let Some(u) = &req.upload {
                    req.movements = inner
                        .ledger
                        .void_movements(&me, u, &void)
                        .map_err(ApiError::internal)?;
                }
            }
            Ok(read)
        })
        .await?;
    let mut next = decisions.iter();
    let mut results = Vec::with_capacity(read.len());
    let mut voided = 0;
    let mut voided_movements = 0;
    let mut refused = Vec::new();
    for (i, r) in read.into_iter().enumerate() {
        match r {
            Err((bchno, data, f)) => {
                refused.push(f.0.clone());
                results.push(RecordResult {
                    record: i,
                    fixmedins_bchno: bchno,
                    inv_data_type: data,
                    outcome: "refused",
                    packs: 0,
                    movements: 0,
                    message: Some(f.0),
                });
            }
            Ok(req) => {
                let mine: Vec<_> = next.by_ref().take(req.packs.len()).collect();
                let fresh = mine
                    .iter()
                    .filter(|d| !d.replayed && d.outcome == Outcome::Accepted)
                    .count();
                let again = mine.iter().filter(|d| d.replayed).count();
                let (held, fresh_movements) = req.movements;
                voided += fresh;
                voided_movements += fresh_movements;
                let (outcome, message) = if fresh + fresh_movements > 0 {
                    ("voided", None)
                } else if again > 0 || held > 0 {
                    ("already_voided", None)
                } else if req.data == "1" {
                    (
                        "nothing_to_void",
                        Some("stock counts (3501) record nothing here".to_owned()),
                    )
                } else {
                    (
                        "nothing_to_void",
                        Some(format!(
                            "no record of this institution's in batch {} of type {} can be voided",
                            req.bchno, req.data
                        )),
                    )
                };
                results.push(RecordResult {
                    record: i,
                    fixmedins_bchno: Some(req.bchno),
                    inv_data_type: Some(req.data),
                    outcome,
                    packs: req.packs.len(),
                    movements: held,
                    message,
                });
            }
        }
    }
    let problems: Vec<String> = if refused.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "{} of {} records refused, not voided: {}",
            refused.len(),
            results.len(),
            refused.join("; ")
        )]
    };
    let verdict = Verdict::of(
        &problems,
        format!(
            "{} records read, {voided} packs and {voided_movements} records without codes voided",
            results.len()
        ),
    );
    let warn = verdict.problems();
    let out = Output {
        voided,
        voided_movements,
        verdict,
        results,
    };
    Ok((serde_json::to_value(out).map_err(ApiError::internal)?, warn))
}
