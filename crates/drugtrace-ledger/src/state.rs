//! A pack's state: a fold over its log, never anything more.

use drugtrace_catalog::InsuranceCode;
use drugtrace_code::PackKey;

use crate::{
    Batch, Date, EventKind, InstitutionId, Outcome, PersonHash, Reason, Recorded, SaleKey,
    SettlementId, Timestamp,
};

/// Everything the gate needs to know about one pack, derived from its log alone.
///
/// *Invariant:* [`PackState::fold`] of a pack's log gives exactly the stored state;
/// `drugtrace rebuild` relies on it. Without voids, that is applying the recorded events in
/// order with [`PackState::apply`] from [`PackState::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackState {
    /// Events recorded for the pack, rejected ones included: the pack's version.
    pub events: u32,
    /// The commission, if a manufacturer issued the code.
    pub issue: Option<Issue>,
    /// Batch, from the commission or the first scan that carried one.
    pub batch: Option<Batch>,
    /// Expiry, from the commission or the first scan that carried one.
    pub expiry: Option<Date>,
    /// The party that last took the pack in, shipped, received, sold or took it back: the
    /// one that may destroy it or move it out of stock.
    pub holder: Option<InstitutionId>,
    /// The product the intake's delivery note named.
    pub delivered_as: Option<InsuranceCode>,
    /// Units in a whole pack, fixed at the first sale.
    pub pack_units: Option<u32>,
    /// Sales that went through, split sales each on their own.
    pub sales: Vec<SaleRecord>,
    /// Sale attempts that were blocked, latest last, at most [`PackState::MAX_BLOCKED`].
    pub blocked: Vec<BlockedSale>,
    /// Blocked sale attempts in all (the list above keeps only the latest).
    pub blocked_count: u32,
    /// Whether the pack was recalled.
    pub recalled: bool,
    /// Whether the pack was destroyed.
    pub destroyed: bool,
    /// When the latest event happened.
    pub last_at: Option<Timestamp>,
    /// The case the pack was last packed into and not taken out of since, nor sold from.
    /// Whether it is still inside also takes it being where the case is
    /// ([`PackState::is_inside`]): a box that moved on without its case left it.
    pub case: Option<CaseLink>,
    /// Whether the pack is a case: boxes were packed into it.
    pub is_case: bool,
    /// For a case: the boxes packed into it since it was last opened, in order. Each box's
    /// own state says whether it is still inside.
    pub contents: Vec<PackKey>,
}

/// A box's packing into a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLink {
    /// The case.
    pub case: PackKey,
    /// The packing's position in the box's log.
    pub index: u32,
    /// What the gate said of the packing, for answering a resent one as before.
    pub outcome: Outcome,
}

/// The log positions the applied voids of a pack's log cover: records that stay as evidence
/// but no longer count.
pub fn voided<'a>(log: impl IntoIterator<Item = &'a Recorded>) -> Vec<u32> {
    log.into_iter()
        .filter(|r| r.outcome.is_applied())
        .filter_map(|r| match &r.event.kind {
            EventKind::Void(v) => Some(v.voids.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// How a code was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The manufacturer.
    pub by: InstitutionId,
    /// When.
    pub at: Timestamp,
}

/// A sale that went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRecord {
    /// The sale event's position in the pack's log.
    pub index: u32,
    /// When it happened.
    pub at: Timestamp,
    /// The selling institution.
    pub institution: InstitutionId,
    /// The settlement, when the sale named one.
    pub settlement: Option<SettlementId>,
    /// The buyer's hash.
    pub person: Option<PersonHash>,
    /// Units sold.
    pub units: u32,
    /// Units since returned.
    pub returned: u32,
    /// The amount, in fen.
    pub amount_fen: i64,
    /// Whether the insurance fund paid.
    pub fund_paid: bool,
    /// What the gate said: accepted, or flagged (a code never issued, say).
    pub outcome: Outcome,
}

impl SaleRecord {
    /// Units of this sale still out with the buyer.
    pub fn units_out(&self) -> u32 {
        self.units - self.returned
    }
}

/// A sale attempt the gate blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedSale {
    /// The attempt's position in the pack's log.
    pub index: u32,
    /// The institution that tried.
    pub institution: InstitutionId,
    /// Its settlement, when it named one.
    pub settlement: Option<SettlementId>,
    /// Why it was blocked.
    pub reason: Reason,
    /// When the attempt said the sale happened.
    pub at: Timestamp,
    /// The buyer's hash.
    pub person: Option<PersonHash>,
    /// Units asked for, as resolved.
    pub units: u32,
    /// The amount, in fen.
    pub amount_fen: i64,
}

impl SaleRecord {
    /// What identifies this sale, for telling a retry from another sale.
    pub fn key(&self) -> SaleKey<'_> {
        SaleKey {
            institution: &self.institution,
            settlement: self.settlement.as_ref(),
            at: self.at,
            person: self.person,
            units: self.units,
            amount_fen: self.amount_fen,
        }
    }
}

impl BlockedSale {
    /// What identifies this attempt, for telling a retry from another sale.
    pub fn key(&self) -> SaleKey<'_> {
        SaleKey {
            institution: &self.institution,
            settlement: self.settlement.as_ref(),
            at: self.at,
            person: self.person,
            units: self.units,
            amount_fen: self.amount_fen,
        }
    }
}

impl PackState {
    /// Blocked attempts kept in the state for idempotent replies; all stay in the log.
    pub const MAX_BLOCKED: usize = 16;

    /// Applies one recorded event. Only the recorded outcome is consulted, never the catalog
    /// or the policy, so that the fold is the same today as when the event was recorded.
    pub fn apply(&mut self, r: &Recorded) {
        self.events = r.index + 1;
        let e = &r.event;
        if let Outcome::Rejected(reason) = r.outcome {
            if let EventKind::Sale(s) = &e.kind {
                self.blocked_count += 1;
                self.blocked.push(BlockedSale {
                    index: r.index,
                    institution: e.actor.clone(),
                    settlement: s.settlement.clone(),
                    reason,
                    at: e.at,
                    person: s.person,
                    units: s.units.or(s.pack_units).unwrap_or(1),
                    amount_fen: s.amount_fen,
                });
                if self.blocked.len() > Self::MAX_BLOCKED {
                    self.blocked.remove(0);
                }
            }
            return;
        }
        self.last_at = Some(self.last_at.map_or(e.at, |t| t.max(e.at)));
        if self.batch.is_none() {
            self.batch = e.lot.batch.clone();
        }
        if self.expiry.is_none() {
            self.expiry = e.lot.expiry;
        }
        match &e.kind {
            EventKind::Commission => {
                self.issue = Some(Issue {
                    by: e.actor.clone(),
                    at: e.at,
                });
                if let Some(b) = &e.lot.batch {
                    self.batch = Some(b.clone());
                }
                if let Some(x) = e.lot.expiry {
                    self.expiry = Some(x);
                }
                self.holder = Some(e.actor.clone());
            }
            EventKind::Ship { .. } | EventKind::Receive { .. } | EventKind::StockChange(_) => {
                self.holder = Some(e.actor.clone());
            }
            EventKind::Intake(i) => {
                self.holder = Some(e.actor.clone());
                if i.product.is_some() {
                    self.delivered_as = i.product.clone();
                }
            }
            EventKind::Sale(s) => {
                // The seller had the pack (many never upload their intake), and a split
                // pack's rest stays on its shelf.
                self.holder = Some(e.actor.clone());
                // A box sold from a case has left it.
                self.case = None;
                let pack_units = s.pack_units.unwrap_or(1);
                self.pack_units.get_or_insert(pack_units);
                self.sales.push(SaleRecord {
                    index: r.index,
                    at: e.at,
                    institution: e.actor.clone(),
                    settlement: s.settlement.clone(),
                    person: s.person,
                    units: s.units.unwrap_or(pack_units),
                    returned: 0,
                    amount_fen: s.amount_fen,
                    fund_paid: s.fund_paid,
                    outcome: r.outcome,
                });
            }
            EventKind::SaleReturn(ret) => {
                self.holder = Some(e.actor.clone());
                if let Some(i) = self.returnable_sale(ret.settlement.as_ref()) {
                    let sale = &mut self.sales[i];
                    let units = ret.units.unwrap_or(sale.units_out()).min(sale.units_out());
                    sale.returned += units;
                }
            }
            EventKind::Destroy => self.destroyed = true,
            EventKind::Recall => self.recalled = true,
            // A void changes what came before it: only a fold of the whole log applies it.
            EventKind::Void(_) => {}
            EventKind::PackInto { case } => {
                // Packing takes the box in hand: the case and its boxes are where its
                // packer is.
                self.holder = Some(e.actor.clone());
                self.case = Some(CaseLink {
                    case: *case,
                    index: r.index,
                    outcome: r.outcome,
                });
            }
            EventKind::Fill { boxes } => {
                self.holder = Some(e.actor.clone());
                self.is_case = true;
                for b in boxes {
                    if !self.contents.contains(b) {
                        self.contents.push(*b);
                    }
                }
            }
            EventKind::Unpack => self.case = None,
            EventKind::Open => self.contents.clear(),
        }
    }

    /// Whether this pack, a box, is inside the case `case` whose state is `case_state`:
    /// packed into it and not taken out, sold or destroyed since, where the case is, and
    /// with nothing happened to it alone since the case last moved. A box shipped, taken in
    /// or counted on its own has left its case, whether its system recorded the unpacking
    /// or not (most do not).
    pub fn is_inside(&self, case: &PackKey, case_state: &PackState) -> bool {
        self.case.as_ref().is_some_and(|l| l.case == *case)
            && self.holder == case_state.holder
            && self.last_at <= case_state.last_at
            && !self.destroyed
    }

    /// Rebuilds a state from a pack's whole log. Records a void names are skipped, as if
    /// they had never been applied (they stay in the log as evidence); every other record is
    /// applied in order.
    pub fn fold<'a>(log: impl IntoIterator<Item = &'a Recorded> + Clone) -> PackState {
        let voided = voided(log.clone());
        let mut s = PackState::default();
        for r in log {
            if voided.contains(&r.index) {
                s.events = r.index + 1;
            } else {
                s.apply(r);
            }
        }
        s
    }

    /// The sale a return refers to: the one with that settlement, or, when the return names
    /// none or a settlement no sale of the pack has (some clients put their own dispense
    /// number there), the latest with units still out.
    pub fn returnable_sale(&self, settlement: Option<&SettlementId>) -> Option<usize> {
        settlement
            .and_then(|id| {
                self.sales
                    .iter()
                    .rposition(|s| s.settlement.as_ref() == Some(id))
            })
            .or_else(|| self.sales.iter().rposition(|s| s.units_out() > 0))
    }

    /// Units still unsold, once the pack's size is known (before the first sale: `None`).
    pub fn units_left(&self) -> Option<u32> {
        let sold: u32 = self.sales.iter().map(SaleRecord::units_out).sum();
        self.pack_units.map(|p| p.saturating_sub(sold))
    }

    /// Whether a manufacturer issued the code.
    pub fn is_issued(&self) -> bool {
        self.issue.is_some()
    }

    /// Whether every unit of the pack is sold.
    pub fn is_sold_out(&self) -> bool {
        self.units_left() == Some(0)
    }
}
