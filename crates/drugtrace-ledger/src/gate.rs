//! The decision for one event given its pack's state: a pure function, so that the same
//! state and event always give the same verdict, whichever store holds the pack.

use drugtrace_catalog::Catalog;

use crate::{
    Event, EventKind, Outcome, PackState, Policy, Reason, Sale, SaleReturn, UnknownCodePolicy,
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

/// Judges `event` against the state of its pack (the default state for a pack never seen).
pub fn judge(state: &PackState, event: &Event, catalog: &Catalog, policy: &Policy) -> Verdict {
    match &event.kind {
        EventKind::Sale(sale) => judge_sale(state, event, sale, catalog, policy),
        EventKind::SaleReturn(ret) => judge_return(state, event, ret),
        EventKind::Commission => {
            let outcome = if state.is_issued() {
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
            Verdict::Record(event.clone(), judge_movement(state, event, catalog, policy))
        }
        EventKind::Destroy | EventKind::Recall => Verdict::Record(event.clone(), Outcome::Accepted),
    }
}

fn judge_sale(
    state: &PackState,
    event: &Event,
    sale: &Sale,
    catalog: &Catalog,
    policy: &Policy,
) -> Verdict {
    let same = |institution: &crate::InstitutionId, settlement: &crate::SettlementId| {
        *institution == event.actor && *settlement == sale.settlement
    };
    if let Some(prior) = state
        .sales
        .iter()
        .find(|s| same(&s.institution, &s.settlement))
    {
        return Verdict::Replay {
            outcome: prior.outcome,
            index: prior.index,
        };
    }
    if let Some(prior) = state
        .blocked
        .iter()
        .find(|b| same(&b.institution, &b.settlement))
    {
        return Verdict::Replay {
            outcome: Outcome::Rejected(prior.reason),
            index: prior.index,
        };
    }

    let product = catalog.by_product_key(event.pack.product_key());
    let pack_units = state
        .pack_units
        .or_else(|| product.map(|p| p.units_per_pack()))
        .unwrap_or(1);
    let units = sale.units.unwrap_or(pack_units);
    let left = state.units_left().unwrap_or(pack_units);

    let reject = if units == 0 {
        Some(Reason::ZeroUnits)
    } else if state.destroyed {
        Some(Reason::Destroyed)
    } else if left == 0 {
        Some(Reason::AlreadySold)
    } else if units > left {
        Some(Reason::UnitsExceeded)
    } else if state.recalled {
        Some(Reason::Recalled)
    } else if is_expired(state, event, policy) {
        Some(Reason::Expired)
    } else if matches!((&sale.product, product), (Some(billed), Some(p)) if billed != p.insurance_code())
    {
        Some(Reason::ProductMismatch)
    } else if !state.is_issued() && policy.unknown_code == UnknownCodePolicy::Block {
        Some(Reason::UnknownCode)
    } else {
        None
    };
    let outcome = match reject {
        Some(r) => Outcome::Rejected(r),
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
        _ if ret.units == Some(0) => Outcome::Rejected(Reason::ZeroUnits),
        None => Outcome::Rejected(Reason::ReturnWithoutSale),
        Some(i) => {
            let sale = &state.sales[i];
            let units = ret.units.unwrap_or(sale.units_out());
            if units == 0 || units > sale.units_out() {
                Outcome::Rejected(Reason::ReturnExceedsSale)
            } else {
                if let EventKind::SaleReturn(r) = &mut resolved.kind {
                    r.settlement = Some(sale.settlement.clone());
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
fn judge_movement(state: &PackState, event: &Event, catalog: &Catalog, policy: &Policy) -> Outcome {
    let delivered_as = match &event.kind {
        EventKind::Intake(i) => i.product.as_ref(),
        _ => None,
    };
    let mismatch = delivered_as.is_some_and(|code| {
        catalog
            .by_product_key(event.pack.product_key())
            .is_some_and(|p| p.insurance_code() != code)
    });
    let flag = if state.is_sold_out() {
        Some(Reason::AlreadySold)
    } else if state.recalled {
        Some(Reason::Recalled)
    } else if state.destroyed {
        Some(Reason::Destroyed)
    } else if is_expired(state, event, policy) {
        Some(Reason::Expired)
    } else if mismatch {
        Some(Reason::ProductMismatch)
    } else if !state.is_issued() {
        Some(Reason::UnknownCode)
    } else {
        None
    };
    flag.map_or(Outcome::Accepted, Outcome::Flagged)
}

fn is_expired(state: &PackState, event: &Event, policy: &Policy) -> bool {
    let day = event.at.local_date(policy.local_offset_minutes);
    state.expiry.or(event.lot.expiry).is_some_and(|x| x < day)
}
