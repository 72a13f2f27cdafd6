//! `POST /nhsa/callService`: the national interface's stock-ledger (进销存) transactions, as
//! hospital and pharmacy systems already send them to the insurance platform.
//!
//! # The envelope
//! A request is `{infno, msgid, inf_time, fixmedins_code, input, ...}` (the other envelope
//! fields are accepted and ignored). The answer is always HTTP 200 with `{infcode,
//! inf_refmsgid, refmsg_time, respond_time, err_msg, warn_msg, output}`: `infcode` 0 when
//! the call was carried out, -1 when it was refused, in which case **nothing was recorded**
//! and `err_msg` names the field and the problem
//! (`input.selinfo.drugtracinfo[0].drug_trac_codg: expected 20 digits, got 19`). Only a body
//! that is not JSON at all (400), a missing or unknown key (401) and a body over the limit
//! (413) get the API's usual JSON errors instead.
//!
//! **Per record.** A call's records are read one by one. A record that does not read (a
//! field missing or malformed) is not recorded and is answered `outcome: "refused"` with a
//! `message` naming the field and the problem; the call's other records are recorded. A call
//! whose every record is refused is refused (infcode -1, nothing recorded): a single-record
//! form (3502, 3505, ...) with a bad record is refused as a whole, with that record's
//! problem as `err_msg`; a batch (3501A to 3506A) whose records are all bad names the first
//! few. What refuses a call whatever its records: the envelope, an `infno` not served, a
//! section missing (`input.selinfo`), codes beside a batch's records that belong to no one
//! record (below), more than 10,000 codes.
//!
//! **retRslt.** Every writing or checking call's output carries the national convention's
//! result, in the two places clients read it: `output.result.retRslt` and `output.retRslt`
//! (`"1"`: every record was taken and no sale was blocked; `"0"`: not so), with
//! `output.result.msgRslt` and `output.msgRslt` a short summary (`1 record of 2 refused, not
//! recorded: input.selinfoDetail[1].sel_retn_time: ...`; `2 of 3 sales blocked:
//! 81000020000000000101 already_sold; 81000020000000000102 expired`). When `retRslt` is `"0"`,
//! `err_msg` repeats `msgRslt` while `infcode` stays 0 (the upload was received and what it
//! holds is recorded, blocked sales as evidence): a client that reads only `infcode` and
//! `err_msg` does not take a blocked sale for a paid one. A record without a trace code
//! (below) is a good record: it leaves `retRslt` at `"1"`. A rejected record of another
//! kind than a sale (a return exceeding the sale, a stock change by a party not holding the
//! pack) is answered in `output.results` and `warn_msg` only.
//!
//! `fixmedins_code` must be the caller's own institution. A regulator's key may only query
//! (3513). The key's party kind decides what its records may do, as everywhere (a sale is a
//! hospital's or pharmacy's, an outgoing stock change only the pack's holder's); a record it
//! may not send is kept as a rejected attempt (`not_permitted`, `not_holder`). Every time a
//! call carries is checked against the server's clock: not before 2000 and at most an hour
//! ahead; the gate judges a record at its own time only within the late-upload window. A
//! call's events (those of all its good records) are judged and recorded in one atomic,
//! durable commit.
//!
//! # Transactions
//! | infno | input | ledger |
//! |---|---|---|
//! | 3501, 3501A stock count (盘存) | `invinfo` / `invinfoDetail` | nothing recorded; each code is checked (see below) |
//! | 3502, 3502A stock change | `invinfo` / `invinfoDetail` | `StockChange(inv_chg_type)`, 101–111 |
//! | 3503, 3503A purchase (采购) | `purcinfo` / `purcinfoDetail` | `Intake { supplier: None, product: med_list_codg }` |
//! | 3504, 3504A purchase return | `purcinfo` / `purcinfoDetail` | `StockChange(ReturnOut)` (109) |
//! | 3505, 3505A sale | `selinfo` / `selinfoDetail` | `Sale` |
//! | 3506, 3506A sale return | `selinfo` / `selinfoDetail` | `SaleReturn` |
//! | 3507, 3507A delete (商品信息删除) | `data` / `goodDetail` | a `Void` per pack of the batch and a `MovementVoid` per record without codes in it: the records stay as evidence and stop counting (see `delete.rs`) |
//! | 3513 sale-trace query | `data` | by `drug_trac_codg`, `setl_id`, `mdtrt_id`/`mdtrt_sn` or `certno`/`psn_no`: reads the logs |
//! | 3508–3512 stock, purchase and sale queries | — | not served: no public client shows their messages, so there are no field names to answer in; refused naming 3513 and `GET /v1/packs/{code}` instead |
//! | 2207 outpatient settlement (门诊结算) | `data` + `drug_trac_info` | the gate: every pack a `Sale` of one settlement, paid whole or not at all (see `settle.rs`) |
//! | 2206 pre-settlement (预结算) | `data` + `drug_trac_info` | the gate's check, recording nothing |
//! | 2208 settlement reversal (门诊结算撤销) | `data.setl_id` | a `SaleReturn` of each pack the settlement sold (see `reverse.rs`) |
//!
//! A record's trace codes travel in `drugtracinfo: [{"drug_trac_codg": "…"}]`; each code is
//! one event. Also read: a single `drugtracinfo` object, a record-level `drug_trac_codg`
//! (older versions; comma-separated), and `drug_trac_code`, a misspelling one client ships,
//! as `drug_trac_codg` in both places. A code is up to 100 characters (China's 20 digits,
//! GS1 element strings, Digital Links), parsed by `TraceCode::parse`. A record without any
//! code (most 3502–3504 and older 3505 in the wild) names no pack, so nothing is judged; when
//! it names its product (`med_list_codg`) it is kept as a product-level stock movement
//! (`drugtrace_ledger::Movement`: the quantity `cnt`, `purc_retn_cnt` or `sel_retn_cnt`, split
//! or not, a sale's amount, fund-paid and settlement, the upload batch), counted by the
//! warehouse's `movements` table and `stock_imbalance`, and answered `movement` / `no_code`.
//! A resent record is the same movement (its content and its position in the call identify
//! it) and is kept once; sent again after a 3507 voided it, it counts again (its next
//! revision), as the national 3507 deletes a batch so that it can be uploaded again. Without a product it is answered `not_recorded` / `no_code`. Either
//! way it counts as a good record.
//!
//! Codes beside the records (`input.drugtracinfo` next to `input.selinfo`, as some systems
//! send them) belong to the one record without codes of its own: in a single-record call,
//! the record (when it has none of its own); in a batch, the one record without codes, when
//! exactly one has none. Otherwise which pack belongs to which record would be a guess, and
//! the call is refused naming the records (`input.drugtracinfo: 3 codes beside 2 records
//! without codes (input.selinfoDetail[0], input.selinfoDetail[1]); put each record's codes in
//! its own drugtracinfo`).
//!
//! The output of a writing call is `{"recorded": n, "result": {"retRslt", "msgRslt"},
//! "retRslt", "msgRslt", "results": [{"record", "drug_trac_codg", "outcome", "reason",
//! "replayed", "prior_sales", "message"}]}`, one result per code in request order (and one
//! per record without codes, `movement` or `not_recorded`, or refused, `refused` with its `message`), so
//! the institution learns at once of packs `already_sold`, `unknown_code`, `recalled`,
//! `expired`, or billed as another product (`product_mismatch`). A sale `rejected` must not be
//! paid. `warn_msg` counts the results that need attention.
//!
//! # Field mapping
//! | national field | ledger meaning |
//! |---|---|
//! | `fixmedins_code` (envelope) | the event's actor: the caller |
//! | `inf_time` (envelope) | the time of records that carry none of their own |
//! | `drugtracinfo[].drug_trac_codg` | the pack (`TraceCode::pack_key`) |
//! | `med_list_codg` | the product: the intake's delivery note (3503), the sale's billed code (3505); checked against the catalog |
//! | `manu_lotnum`, `expy_end` | the lot, when the code itself carries no batch or expiry (GS1 codes do); `无` and `-` are none; `expy_end` in any of the time forms below (its day as written) |
//! | `inv_chg_type` (3502) | `StockChange::from_code` |
//! | `inv_chg_time` (3502), `purc_retn_stoin_time` (3503, 3504), `sel_retn_time` (3505, 3506), `invdate` (3501) | the event's time (below) |
//! | `inf_time`, and every time above | local `yyyy-MM-dd HH:mm:ss`; also `yyyy/M/d H:mm:ss` (zh-CN Windows: one-digit month, day, hour), `yyyy-MM-ddHH:mm:ss`, `yyyy-MM-ddTHH:mm:ss` (fractional seconds and an offset `Z`/`±hh:mm` allowed), `yyyyMMddHHmmss` (and with `SSS`), epoch milliseconds (13 digits) or seconds (10), and a bare date `yyyy-MM-dd`, `yyyy/M/d`, `yyyyMMdd` (its midnight); local is the installation's offset; then checked against the server's clock |
//! | `setl_id` (3505) | the sale's settlement: a resent sale with the same settlement at the same institution is answered as before and recorded once. `fixmedins_bchno` is never a settlement (clients reuse it: a constant per institution, a lot number); a sale without `setl_id` is a retry only of the identical record (same pack, institution, time, buyer, units, amount), and any other sale of the pack is judged, and blocked when the pack is sold |
//! | `mdtrt_id`, else `mdtrt_sn` (3505); `mdtrt_id` (2207) | the sale's visit, what 3513 by visit finds; it does not identify the sale |
//! | `certno`, else `psn_no` (3505) | the buyer, hashed at once with the installation's secret (as the file import hashes `person`); never stored raw |
//! | `trdn_flag` 1 (split, 拆零) | the line sells or returns `sel_retn_cnt` whole units; with several codes, each code `sel_retn_cnt` / number of codes units, and the record is refused when that does not divide evenly (which pack gave the odd units is unknown); 0 or absent: each code is a whole pack |
//! | `finl_trns_pric` × `sel_retn_cnt` | the line's amount, in fen, rounded half up, shared over its codes |
//! | `mdtrt_setl_type` (3505) | `1` fund-paid, `2` self-paid; absent: `hi_feesetl_type` `1`/`2` fund-paid, `0` self-paid; with neither, fund-paid when `setl_id` or an insured buyer (`psn_no`) is given |
//! | `medins_prod_sel_no`, else `setl_id` (3506) | the settlement of the sale returned; with neither, or one no sale of the pack has (some clients send their own dispense number), the pack's latest sale with units out |
//! | `fixmedins_bchno` (3502–3506) | the record's upload batch, `{inv_data_type}/{fixmedins_bchno}` on each of its events: what a 3507 voids |
//! | `spler_name`, `spler_pmtno` (3503) | not institution codes: the intake's supplier stays unknown |
//!
//! Other fields (names, approval numbers, prices of purchases, operators, ...) are read by
//! nobody and ignored; values may be strings or numbers, and blank means absent.
//!
//! # Decisions
//! - **3501 records nothing.** A count is a snapshot of holdings, not a movement: recording
//!   it as stock gains would move packs that never moved. Each code is judged as a movement
//!   at the institution would be (without recording) and answered `accepted`, or `flagged`
//!   with the ledger's reason or `held_elsewhere` (the pack's last holder is another party).
//! - **Batches answer per record.** One malformed line refused a whole day's upload, which
//!   the institution then resent unchanged or not at all; now the good records are recorded
//!   (in one commit) and each bad one is named. A single-record call is still all or
//!   nothing, having one record.
//! - **A split line's codes share its units evenly.** Which pack gave which units of a
//!   split line is not sent, so the only honest reading of several codes is the same number
//!   of units from each; a count that does not divide evenly is refused, so that the
//!   institution sends one line per pack instead of the ledger guessing.
//! - **Codes beside a batch go to the one record without codes**, or refuse the call:
//!   spreading them over several records would be a guess, and dropping them (as before)
//!   lost the packs without a word.
//! - **3507 voids, never deletes.** Every record carries its upload batch, named
//!   `{inv_data_type}/{fixmedins_bchno}` (so one number shared by every type voids only the
//!   type named). A 3507 appends a void to each pack with the caller's records of that
//!   batch; the pack's state is derived without them (a voided sale's units are unsold
//!   again), and the records stay in the log, in the warehouse (`voided`) and before the
//!   model `voided_sales`. The batch's records without codes are marked voided beside their
//!   movements (kept, `voided` in the warehouse's `movements`, no longer counted in stock or
//!   upload rates), before the model `voided_codeless_sales`. A 2207 settlement's sales carry no batch and cannot be voided:
//!   the payment happened, and 2208 reverses it.
//! - **2208 returns only the settlement's own sales**: a pack whose sale under it was
//!   blocked gets nothing, and no other sale of the pack is touched. A resent 2208 records
//!   nothing (`already_reversed`).
//! - **A settlement given back is not retried.** A sale under a settlement whose earlier sale
//!   was returned whole (2208, or a 3506 of every unit) is judged as a new sale.
//! - **Retries.** A resent 3505 is idempotent by settlement and institution; a resent 3507
//!   or 2208 records nothing. Other
//!   transactions are recorded again when resent (as a re-imported file is): a resent 3506
//!   is answered `rejected` / `return_exceeds_sale` and changes nothing.
//! - **3513** by `drug_trac_codg` shows every sale and blocked attempt of the pack, latest
//!   first, at any institution (as the gate's `prior_sales` do). By `setl_id` it shows the
//!   institution's sales under that settlement; by `mdtrt_id` or `mdtrt_sn` its sales of
//!   that visit (found under the id the sale was recorded with: `mdtrt_id` when sent, else
//!   `mdtrt_sn`; a query may send both); by `certno` or `psn_no` a buyer's sales, at
//!   the caller's own institution only (a regulator sees every institution's). A buyer is
//!   found under the identity the sale was recorded with (`certno` when sent, else
//!   `psn_no`), so a client should send both. The settlement is shown only to its own
//!   institution and to regulators, the buyer never.

mod delete;
mod purchase;
mod query;
mod record;
mod reverse;
mod sale;
mod settle;
mod stock;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use drugtrace_ledger::{Store, Timestamp};
use serde_json::Value;

use drugtrace_nhsa::{envelope, read};

use crate::access::Caller;
use crate::keys::Role;
use crate::{ApiError, AppState};
use envelope::Answer;
use read::{Fault, Obj};
use record::Ctx;

/// Why a call did not produce an output: a business refusal (answered with infcode -1), or
/// an internal failure (a 500).
enum Failure {
    Fault(Fault),
    /// A settlement the gate blocked: infcode -1, this `err_msg`, and the details as output.
    Blocked(String, Value),
    Api(ApiError),
}

impl From<Fault> for Failure {
    fn from(f: Fault) -> Failure {
        Failure::Fault(f)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure::Api(e)
    }
}

/// The transactions served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tx {
    StockCount,
    StockChange,
    Purchase,
    PurchaseReturn,
    Sale,
    SaleReturn,
    Delete,
    SaleTrace,
    /// 2207 outpatient settlement: the gate.
    Settle,
    /// 2206 pre-settlement: the gate's check, recording nothing.
    PreSettle,
    /// 2208 settlement reversal: the packs given back.
    Reverse,
}

/// Every `infno` served, for the refusal of the others.
const SUPPORTED: &str = "2206, 2207, 2208, 3501, 3501A, 3502, 3502A, 3503, 3503A, 3504, 3504A, 3505, 3505A, 3506, 3506A, 3507, 3507A, 3513";

impl Tx {
    fn of(infno: &str) -> Option<Tx> {
        Some(match infno.to_ascii_uppercase().as_str() {
            "3501" | "3501A" => Tx::StockCount,
            "3502" | "3502A" => Tx::StockChange,
            "3503" | "3503A" => Tx::Purchase,
            "3504" | "3504A" => Tx::PurchaseReturn,
            "3505" | "3505A" => Tx::Sale,
            "3506" | "3506A" => Tx::SaleReturn,
            "3507" | "3507A" => Tx::Delete,
            "3513" => Tx::SaleTrace,
            "2206" => Tx::PreSettle,
            "2207" => Tx::Settle,
            "2208" => Tx::Reverse,
            _ => return None,
        })
    }
}

/// Answers one NHSA envelope.
pub async fn call_service<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Answer>, ApiError> {
    let received = Timestamp::now();
    let body = body?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let offset = state.inner.local_offset_minutes;
    let msgid = envelope::msgid(&value);
    match serve(&state, &caller, &value, offset, received).await {
        Ok((output, warn)) => Ok(Json(Answer::ok(msgid, received, offset, output, warn))),
        Err(Failure::Fault(f)) => {
            tracing::debug!(msgid = ?msgid, err = %f.0, "nhsa call refused");
            Ok(Json(Answer::fault(msgid, received, offset, f)))
        }
        Err(Failure::Blocked(err, output)) => {
            tracing::debug!(msgid = ?msgid, err = %err, "settlement blocked");
            Ok(Json(Answer::blocked(msgid, received, offset, err, output)))
        }
        Err(Failure::Api(e)) => Err(e),
    }
}

/// Carries out one call.
async fn serve<S: Store + Sync + 'static>(
    state: &AppState<S>,
    caller: &Caller,
    body: &Value,
    offset: i32,
    now: Timestamp,
) -> Result<(Value, Option<String>), Failure> {
    let role = &caller.0;
    let env = envelope::read(body, offset, now)?;
    let tx = Tx::of(&env.infno).ok_or_else(|| {
        let message = match env.infno.as_str() {
            // The national stock, purchase and sale queries: no public client shows what
            // they send or read, so there is nothing to answer in. What the ledger holds is
            // still there to ask for.
            "3508" | "3509" | "3510" | "3511" | "3512" => format!(
                "{:?} (a query of stock, purchases or sales) is not served here: ask for a pack's sales with 3513 (by drug_trac_codg, setl_id, mdtrt_id or psn_no), or for a pack's whole history with GET /v1/packs/{{code}}; supported: {SUPPORTED}",
                env.infno
            ),
            _ => format!(
                "{:?} is not supported here; supported: {SUPPORTED}",
                env.infno
            ),
        };
        Fault::at("infno", message)
    })?;
    let me = match role {
        Role::Regulator if tx == Tx::SaleTrace => None,
        Role::Regulator => {
            return Err(Fault(
                "a regulator key may only query (3513); only an institution's key submits".into(),
            )
            .into());
        }
        Role::Institution(me) if *me != env.fixmedins_code => {
            return Err(Fault::at(
                "fixmedins_code",
                format!(
                    "{} is not the institution of this key ({me}); nothing was recorded",
                    env.fixmedins_code
                ),
            )
            .into());
        }
        Role::Institution(me) => Some(me.clone()),
    };
    let input: &Obj<'_> = &env.input;
    let ctx = Ctx {
        me: me.unwrap_or_else(|| env.fixmedins_code.clone()),
        offset,
        inf_time: env.inf_time,
        by: caller.authority(),
        now,
    };
    let plan = match tx {
        Tx::StockCount => return stock::count(state, input, &ctx).await,
        Tx::SaleTrace => return query::sale_trace(state, role, input, &ctx.me, offset).await,
        Tx::Delete => return delete::void(state, input, &ctx).await,
        Tx::Reverse => return reverse::reverse(state, input, &ctx).await,
        Tx::Settle | Tx::PreSettle => {
            let record = tx == Tx::Settle;
            return match settle::settle(state, input, &ctx, &state.inner.person_key, record).await?
            {
                settle::Settled::Allowed(output, warn) => Ok((output, warn)),
                settle::Settled::Blocked(err, output) => Err(Failure::Blocked(err, output)),
            };
        }
        Tx::StockChange => stock::change(input, &ctx)?,
        Tx::Purchase => purchase::intake(input, &ctx)?,
        Tx::PurchaseReturn => purchase::return_out(input, &ctx)?,
        Tx::Sale => sale::sale(input, &ctx, &state.inner.person_key)?,
        Tx::SaleReturn => sale::sale_return(input, &ctx)?,
    };
    debug_assert!(plan.events().iter().all(|e| e.actor == ctx.me));
    Ok(plan.record(state, ctx.by, offset).await?)
}
