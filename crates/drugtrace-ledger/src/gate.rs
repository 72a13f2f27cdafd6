//! The decision for one event given its pack's state: a pure function, so that the same
//! state and event always give the same verdict, whichever store holds the pack.

use drugtrace_catalog::Catalog;

use crate::{
    Authority, Event, EventKind, Outcome, PackState, Policy, Reason, Recorded, Sale, SaleReturn,
    Timestamp, UnknownCodePolicy, Void,
};

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Record this event (resolved: a sale's units and pack size are filled in) with this
    /// outcome.
    Record(Event, Outcome),
    /// The event repeats a sale already decided for the same settlement: record nothing and
    /// answer as before.
    Replay {
        /// The earlier outcome.
        outcome: Outcome,
        /// The earlier event's position in the pack's log.
        index: u32,
    },
}

/// What the gate judges by, besides the pack's state and the event.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The products (pack sizes, billed codes), as they were when judging began.
    pub catalog: std::sync::Arc<Catalog>,
    /// The recalls of batches and withdrawals of products in force when judging began.
    pub recalls: std::sync::Arc<crate::Recalls>,
    /// The province's rules.
    pub policy: &'a Policy,
    /// The server's clock when the event is judged.
    pub now: Timestamp,
    /// Who submits the event.
    pub by: Authority,
}

impl Context<'_> {
    /// The recall covering the pack `event` is about: by the batch the pack was
    /// commissioned or taken in with, else the batch the event names. A recall covers every
    /// party's event judged after it was recorded, by the server's clock: the late-upload
    /// window does not apply, or a sale claimed a day earlier would pay for a recalled pack.
    /// Only the operator's back-fill, judged at each event's own time, is covered from the
    /// recall's time on.
    pub fn recall(&self, state: &PackState, event: &Event) -> Option<crate::Covered<'_>> {
        if self.recalls.is_empty() {
            return None;
        }
        let batch = state.batch.as_ref().or(event.lot.batch.as_ref());
        let at = if self.by.trusts_event_times() {
            event.at
        } else {
            self.now
        };
        self.recalls.covering(&self.catalog, &event.pack, batch, at)
    }

    /// The instant an event is judged at: the server's clock, or the event's own time within
    /// the late-upload window ([`Policy::judging_time`]); the operator's back-fill is judged
    /// at each event's own time.
    pub fn instant(&self, event: &Event) -> Timestamp {
        if self.by.trusts_event_times() {
            event.at
        } else {
            self.policy.judging_time(event.at, self.now)
        }
    }
}

/// Judges `event` against the state of its pack (the default state for a pack never seen).
/// A void needs the pack's log, not only its state: [`judge_void`] judges it, and here it is
/// answered `nothing_to_void`.
pub fn judge(state: &PackState, event: &Event, cx: &Context<'_>) -> Verdict {
    let forbidden = cx.by.forbids(&event.kind, &event.actor, state);
    match &event.kind {
        EventKind::Sale(sale) => judge_sale(state, event, sale, cx, forbidden),
        _ if forbidden.is_some() => Verdict::Record(
            event.clone(),
            Outcome::Rejected(forbidden.expect("checked")),
        ),
        EventKind::SaleReturn(ret) => judge_return(state, event, ret),
        EventKind::Commission => {
            let outcome = if makes_another_partys_product(event, cx) {
                Outcome::Rejected(Reason::NotPermitted)
            } else if state.is_issued() {
                Outcome::Rejected(Reason::AlreadyIssued)
            } else {
                Outcome::Accepted
            };
            Verdict::Record(event.clone(), outcome)
        }
        EventKind::Ship { .. }
        | EventKind::Receive { .. }
        | EventKind::Intake(_)
        | EventKind::StockChange(_) => {
            Verdict::Record(event.clone(), judge_movement(state, event, cx))
        }
        EventKind::Destroy | EventKind::Recall => Verdict::Record(event.clone(), Outcome::Accepted),
        EventKind::Void(_) => {
            Verdict::Record(event.clone(), Outcome::Rejected(Reason::NothingToVoid))
        }
        EventKind::PackInto { case } => judge_packing(state, event, case),
        EventKind::Fill { .. } => Verdict::Record(event.clone(), Outcome::Accepted),
        EventKind::Unpack => {
            let outcome = if state.case.is_some() {
                Outcome::Accepted
            } else {
                Outcome::Rejected(Reason::NotInCase)
            };
            Verdict::Record(event.clone(), outcome)
        }
        EventKind::Open => {
            let outcome = if state.is_case {
                Outcome::Accepted
            } else {
                Outcome::Rejected(Reason::NotInCase)
            };
            Verdict::Record(event.clone(), outcome)
        }
    }
}

/// Packing a box into `case`, on the box's state alone: a resent packing into the case it
/// is in is answered as before; a box with units out with a buyer is packed but flagged
/// (sold packs going back into cases is how resold packs re-enter the chain), as are a
/// destroyed box and a code never issued. Whether it is still inside another case, or
/// would make a loop, takes other packs' states: the ledger judges that.
fn judge_packing(state: &PackState, event: &Event, case: &drugtrace_code::PackKey) -> Verdict {
    if *case == event.pack {
        return Verdict::Record(event.clone(), Outcome::Rejected(Reason::CaseCycle));
    }
    if let Some(link) = state.case.as_ref().filter(|l| l.case == *case) {
        return Verdict::Replay {
            outcome: link.outcome,
            index: link.index,
        };
    }
    let out_with_buyer = state.sales.iter().any(|s| s.units_out() > 0);
    let flag = if out_with_buyer {
        Some(Reason::SoldPackInCase)
    } else if state.destroyed {
        Some(Reason::Destroyed)
    } else if is_unknown(state) {
        Some(Reason::UnknownCode)
    } else {
        None
    };
    Verdict::Record(
        event.clone(),
        flag.map_or(Outcome::Accepted, Outcome::Flagged),
    )
}

/// Judges a void against the pack's whole log (`log`, in order) and the state it folds to
/// (`state`). The void covers the
/// actor's own applied records of the upload batch that no earlier void covers, and
/// nothing else: another party's records, rejected attempts (evidence) and records sent
/// without that batch number (a 2207 settlement's sales) cannot be voided. A resent void
/// with nothing new to cover is answered as before; a void that covers nothing at all is
/// recorded as a rejected attempt (`nothing_to_void`).
pub fn judge_void(state: &PackState, log: &[Recorded], event: &Event, cx: &Context<'_>) -> Verdict {
    let EventKind::Void(void) = &event.kind else {
        return Verdict::Record(event.clone(), Outcome::Rejected(Reason::NothingToVoid));
    };
    if let Some(r) = cx.by.forbids(&event.kind, &event.actor, state) {
        return Verdict::Record(event.clone(), Outcome::Rejected(r));
    }
    let voided = crate::voided(log);
    let mine = |r: &Recorded| {
        r.event.actor == event.actor && r.event.upload.as_ref() == Some(&void.upload)
    };
    let voids: Vec<u32> = log
        .iter()
        .filter(|r| {
            mine(r)
                && r.outcome.is_applied()
                && !matches!(r.event.kind, EventKind::Void(_))
                && !voided.contains(&r.index)
        })
        .map(|r| r.index)
        .collect();
    if voids.is_empty() {
        let earlier = log.iter().rev().find(|r| {
            r.outcome.is_applied()
                && r.event.actor == event.actor
                && matches!(&r.event.kind, EventKind::Void(v) if v.upload == void.upload)
        });
        return match earlier {
            Some(r) => Verdict::Replay {
                outcome: r.outcome,
                index: r.index,
            },
            None => Verdict::Record(event.clone(), Outcome::Rejected(Reason::NothingToVoid)),
        };
    }
    let mut resolved = event.clone();
    resolved.kind = EventKind::Void(Void {
        upload: void.upload.clone(),
        voids,
    });
    Verdict::Record(resolved, Outcome::Accepted)
}

/// Whether a manufacturer commissions a code of a product the catalog says another party
/// makes (`manufacturer_code`): a manufacturer issues codes for its own products only. The
/// operator's back-fill, and products whose maker the catalog does not name, are not
/// checked.
fn makes_another_partys_product(event: &Event, cx: &Context<'_>) -> bool {
    matches!(cx.by, Authority::Party(_))
        && cx
            .catalog
            .by_product_key(event.pack.product_key())
            .and_then(|p| p.manufacturer_code())
            .is_some_and(|maker| maker != event.actor.as_str())
}

/// The earlier attempt `event` retries, if it retries a sale that was not paid only because
/// another item of its settlement was blocked (`settlement_blocked`). Such a retry is judged
/// afresh: the corrected settlement may now go through.
pub fn collateral_retry(state: &PackState, event: &Event) -> Option<u32> {
    let EventKind::Sale(sale) = &event.kind else {
        return None;
    };
    state
        .blocked
        .iter()
        .rev()
        .find(|b| {
            b.reason == Reason::SettlementBlocked && sale.repeats(&event.actor, event.at, &b.key())
        })
        .map(|b| b.index)
}

fn judge_sale(
    state: &PackState,
    event: &Event,
    sale: &Sale,
    cx: &Context<'_>,
    forbidden: Option<Reason>,
) -> Verdict {
    // A sale given back whole (a 2208 reversal, a 3506 of every unit) is not what a later
    // sale under its settlement retries: a settlement reversed and settled again under the
    // same id is paid again, and answering it as a retry would leave the pack unsold while
    // paid for. It is judged as a new sale.
    if let Some(prior) = state.sales.iter().find(|s| {
        sale.repeats(&event.actor, event.at, &s.key()) && !(s.returned > 0 && s.units_out() == 0)
    }) {
        return Verdict::Replay {
            outcome: prior.outcome,
            index: prior.index,
        };
    }
    if let Some(prior) = state.blocked.iter().rev().find(|b| {
        b.reason != Reason::SettlementBlocked && sale.repeats(&event.actor, event.at, &b.key())
    }) {
        return Verdict::Replay {
            outcome: Outcome::Rejected(prior.reason),
            index: prior.index,
        };
    }

    let product = cx.catalog.by_product_key(event.pack.product_key());
    let pack_units = state
        .pack_units
        .or_else(|| product.map(|p| p.units_per_pack()))
        .unwrap_or(1);
    let units = sale.units.unwrap_or(pack_units);
    let left = state.units_left().unwrap_or(pack_units);
    let recall = cx.recall(state, event);

    let reject = if let Some(r) = forbidden {
        Some(r)
    } else if is_a_case(state, event) {
        Some(Reason::CaseNotSold)
    } else if units == 0 {
        Some(Reason::ZeroUnits)
    } else if state.destroyed {
        Some(Reason::Destroyed)
    } else if left == 0 {
        Some(Reason::AlreadySold)
    } else if units > left {
        Some(Reason::UnitsExceeded)
    } else if state.recalled || matches!(recall, Some(crate::Covered::Yes(_))) {
        Some(Reason::Recalled)
    } else if is_expired(state, event, cx) {
        Some(Reason::Expired)
    } else if matches!((&sale.product, product), (Some(billed), Some(p)) if billed != p.insurance_code())
    {
        Some(Reason::ProductMismatch)
    } else if !state.is_issued() && cx.policy.unknown_code == UnknownCodePolicy::Block {
        Some(Reason::UnknownCode)
    } else {
        None
    };
    let outcome = match reject {
        Some(r) => Outcome::Rejected(r),
        None if matches!(recall, Some(crate::Covered::BatchUnknown(_))) => {
            Outcome::Flagged(Reason::RecallBatchUnknown)
        }
        None if !state.is_issued() => Outcome::Flagged(Reason::UnknownCode),
        None => Outcome::Accepted,
    };
    let mut resolved = event.clone();
    if let EventKind::Sale(s) = &mut resolved.kind {
        s.units = Some(units);
        s.pack_units = Some(pack_units);
    }
    Verdict::Record(resolved, outcome)
}

fn judge_return(state: &PackState, event: &Event, ret: &SaleReturn) -> Verdict {
    let mut resolved = event.clone();
    let outcome = match state.returnable_sale(ret.settlement.as_ref()) {
        _ if is_a_case(state, event) => Outcome::Rejected(Reason::CaseNotSold),
        _ if ret.units == Some(0) => Outcome::Rejected(Reason::ZeroUnits),
        None => Outcome::Rejected(Reason::ReturnWithoutSale),
        Some(i) => {
            let sale = &state.sales[i];
            let units = ret.units.unwrap_or(sale.units_out());
            if units == 0 || units > sale.units_out() {
                Outcome::Rejected(Reason::ReturnExceedsSale)
            } else {
                if let EventKind::SaleReturn(r) = &mut resolved.kind {
                    r.settlement = sale.settlement.clone();
                    r.units = Some(units);
                }
                Outcome::Accepted
            }
        }
    };
    Verdict::Record(resolved, outcome)
}

/// Shipping, receiving, intake and stock changes always happen (the pack moved, whatever we
/// think of it), so they are never rejected, only flagged: at intake the institution learns
/// before it dispenses that a pack was sold elsewhere, recalled, or is not what the delivery
/// note says.
fn judge_movement(state: &PackState, event: &Event, cx: &Context<'_>) -> Outcome {
    let delivered_as = match &event.kind {
        EventKind::Intake(i) => i.product.as_ref(),
        _ => None,
    };
    let mismatch = delivered_as.is_some_and(|code| {
        cx.catalog
            .by_product_key(event.pack.product_key())
            .is_some_and(|p| p.insurance_code() != code)
    });
    let recall = cx.recall(state, event);
    let flag = if state.is_sold_out() {
        Some(Reason::AlreadySold)
    } else if state.recalled || matches!(recall, Some(crate::Covered::Yes(_))) {
        Some(Reason::Recalled)
    } else if matches!(recall, Some(crate::Covered::BatchUnknown(_))) {
        Some(Reason::RecallBatchUnknown)
    } else if state.destroyed {
        Some(Reason::Destroyed)
    } else if is_expired(state, event, cx) {
        Some(Reason::Expired)
    } else if mismatch {
        Some(Reason::ProductMismatch)
    } else if is_unknown(state) {
        Some(Reason::UnknownCode)
    } else {
        None
    };
    flag.map_or(Outcome::Accepted, Outcome::Flagged)
}

/// Whether `event`'s pack is a case (boxes were packed into it, or it is a logistics unit's
/// SSCC), which is never sold or returned: its boxes are.
fn is_a_case(state: &PackState, event: &Event) -> bool {
    state.is_case || event.pack.is_sscc()
}

/// Whether the pack is unknown: no manufacturer issued it, and it is no case (a case is
/// known by what was packed into it; its boxes are judged on their own).
fn is_unknown(state: &PackState) -> bool {
    !state.is_issued() && !state.is_case
}

/// Whether the pack is past its expiry on the day it is judged at ([`Context::instant`]), not
/// on the day the client claims: a backdated sale of an expired pack is still expired.
fn is_expired(state: &PackState, event: &Event, cx: &Context<'_>) -> bool {
    let day = cx.instant(event).local_date(cx.policy.local_offset_minutes);
    state.expiry.or(event.lot.expiry).is_some_and(|x| x < day)
}
