//! The events of a pack's life, and what the ledger decided about each.

use std::fmt;

use drugtrace_catalog::InsuranceCode;
use drugtrace_code::{PackKey, TraceCode};

use crate::{Batch, Date, InstitutionId, PersonHash, SettlementId, Timestamp, UploadId, VisitId};

/// One thing that happened to one pack, as reported by one party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The pack.
    pub pack: PackKey,
    /// When it happened (the scan's time), not when it reached us.
    pub at: Timestamp,
    /// Who reports it: the manufacturer, distributor, hospital or pharmacy.
    pub actor: InstitutionId,
    /// Batch and expiry as the scan itself told them (GS1 codes carry both; Chinese codes
    /// carry neither, and their commission event says them).
    pub lot: Lot,
    /// What happened.
    pub kind: EventKind,
    /// The upload batch the actor sent it in, when its system names one (`fixmedins_bchno`):
    /// what a later void ([`EventKind::Void`]) of that batch refers to.
    pub upload: Option<UploadId>,
}

/// A pack's batch and expiry, and what else the scanned code carried about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lot {
    /// The production batch (批号).
    pub batch: Option<Batch>,
    /// The last day of use (有效期至).
    pub expiry: Option<Date>,
    /// What else the scanned GS1 code carried, when it carried any (boxed: few codes do,
    /// and every event has a lot).
    pub extra: Option<Box<CodeExtra>>,
}

/// What a GS1 code carries besides its pack's identity, batch and expiry, kept as evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeExtra {
    /// The secondary serial (AI 250).
    pub secondary_serial: Option<String>,
    /// The digital signature (AI 8030): whoever holds the maker's public key can check that
    /// the pack's code was signed by it.
    pub signature: Option<String>,
}

impl Lot {
    /// What scanned `code` says of its pack besides which pack it is: a GS1 code's batch,
    /// expiry (its `YYMMDD` read as of `at`), secondary serial and signature; nothing for a
    /// Chinese code, whose commission says its batch and expiry.
    pub fn of_code(code: &TraceCode, at: Timestamp) -> Lot {
        Lot {
            batch: code.batch().and_then(|b| Batch::parse(b).ok()),
            expiry: code.expiry().and_then(|x| Date::from_expiry(x, at)),
            extra: (code.secondary_serial().is_some() || code.signature().is_some()).then(|| {
                Box::new(CodeExtra {
                    secondary_serial: code.secondary_serial().map(str::to_owned),
                    signature: code.signature().map(str::to_owned),
                })
            }),
        }
    }

    /// The secondary serial (AI 250) the scanned code carried.
    pub fn secondary_serial(&self) -> Option<&str> {
        self.extra.as_ref()?.secondary_serial.as_deref()
    }

    /// The digital signature (AI 8030) the scanned code carried.
    pub fn signature(&self) -> Option<&str> {
        self.extra.as_ref()?.signature.as_deref()
    }
}

/// What happened to a pack. The names follow the chain: a manufacturer commissions (赋码),
/// logistics ships and receives, an institution takes the pack in (采购入库), changes stock,
/// sells (销售) and takes back (退货); anyone entitled destroys or recalls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The manufacturer issued the code for a pack (its batch and expiry are in the lot).
    Commission,
    /// Shipped from the actor, to a party when known.
    Ship {
        /// The receiving party, when the shipping scan names it.
        to: Option<InstitutionId>,
    },
    /// Received by the actor, from a party when known.
    Receive {
        /// The sending party, when the receiving scan names it.
        from: Option<InstitutionId>,
    },
    /// Purchase intake at a hospital or pharmacy.
    Intake(Intake),
    /// A stock change at an institution (the national interface's 3502).
    StockChange(StockChange),
    /// A sale to a patient, settled by insurance or paid by the patient.
    Sale(Sale),
    /// The patient brought (part of) a pack back.
    SaleReturn(SaleReturn),
    /// The pack was destroyed (销毁).
    Destroy,
    /// The pack was recalled (召回).
    Recall,
    /// The actor declared its records of one upload batch void (the national interface's
    /// 3507, 商品信息删除). Nothing is removed: the voided records stay in the log as
    /// evidence, and the pack's state is derived as if they had not been applied.
    Void(Void),
    /// The pack was put into a case (装箱, an aggregation): the box's side. A box is inside
    /// its case until it is taken out ([`EventKind::Unpack`]), sold, or moves on without
    /// it; the ledger records the case's side ([`EventKind::Fill`]) in the same commit.
    PackInto {
        /// The case.
        case: PackKey,
    },
    /// Boxes were put into this pack, a case: the case's side of a packing. Submitted with
    /// its boxes (a manufacturer's relation upload, an EPCIS aggregation), each box is
    /// judged as a [`EventKind::PackInto`]; as recorded, it lists the boxes that went in.
    Fill {
        /// The boxes.
        boxes: Vec<PackKey>,
    },
    /// The pack was taken out of its case (拆箱): the box's side.
    Unpack,
    /// The pack, a case, was opened and everything still inside taken out: each box inside
    /// gets its [`EventKind::Unpack`] in the same commit.
    Open,
}

impl EventKind {
    /// The kind's name in `snake_case`, as the API, the warehouse and reports say it.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Commission => "commission",
            EventKind::Ship { .. } => "ship",
            EventKind::Receive { .. } => "receive",
            EventKind::Intake(_) => "intake",
            EventKind::StockChange(_) => "stock_change",
            EventKind::Sale(_) => "sale",
            EventKind::SaleReturn(_) => "sale_return",
            EventKind::Destroy => "destroy",
            EventKind::Recall => "recall",
            EventKind::Void(_) => "void",
            EventKind::PackInto { .. } => "pack_into",
            EventKind::Fill { .. } => "fill",
            EventKind::Unpack => "unpack",
            EventKind::Open => "open",
        }
    }

    /// Whether an event of this kind on a case happens to every box inside it too: the
    /// case's movements, its destruction or recall, its opening and the void of its
    /// upload. A sale is not among them: a case is not sold ([`Reason::CaseNotSold`]).
    pub fn moves_contents(&self) -> bool {
        matches!(
            self,
            EventKind::Ship { .. }
                | EventKind::Receive { .. }
                | EventKind::Intake(_)
                | EventKind::StockChange(_)
                | EventKind::Destroy
                | EventKind::Recall
                | EventKind::Open
                | EventKind::Void(_)
        )
    }
}

/// A void of an upload batch's records on one pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Void {
    /// The batch voided.
    pub upload: UploadId,
    /// The log positions it voids: as requested, empty; as recorded, the actor's applied
    /// records of that batch not voided before, resolved by the ledger.
    pub voids: Vec<u32>,
}

/// A purchase intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The supplier on the delivery note.
    pub supplier: Option<InstitutionId>,
    /// The product the delivery note says this is.
    pub product: Option<InsuranceCode>,
}

/// A sale. As requested, `units` may be absent (the whole pack) and `pack_units` is always
/// absent; as recorded, the ledger has set both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    /// The settlement the sale belongs to (with the institution, it identifies the sale):
    /// retries of one settlement are one sale. Many clients upload sales without one; such a
    /// sale is a retry only of the identical record (see [`Sale::repeats`]).
    pub settlement: Option<SettlementId>,
    /// The buyer, as a keyed hash; absent for anonymous cash sales.
    pub person: Option<PersonHash>,
    /// Units sold (for split sales, 拆零), at least 1; absent means the whole pack.
    pub units: Option<u32>,
    /// Units in a whole pack, as the catalog said at the pack's first sale.
    pub pack_units: Option<u32>,
    /// The insurance code the sale is billed as.
    pub product: Option<InsuranceCode>,
    /// The amount, in fen (0.01 yuan).
    pub amount_fen: i64,
    /// Whether the insurance fund pays (医保结算) rather than the patient alone.
    pub fund_paid: bool,
    /// The visit the sale was part of, when the client names it: what a query by visit
    /// finds. It does not identify the sale (a visit may be settled several times).
    pub visit: Option<VisitId>,
}

impl Sale {
    /// Whether this sale by `actor` at `at` is a retry of an earlier attempt by `institution`
    /// at `prior_at` with the given fields. With a settlement id, the institution and the id
    /// decide. Without one, only the identical record is a retry: same institution, time,
    /// buyer, units and amount; anything else is another sale, judged as one.
    pub fn repeats(&self, actor: &InstitutionId, at: Timestamp, prior: &SaleKey<'_>) -> bool {
        if actor != prior.institution {
            return false;
        }
        match (&self.settlement, prior.settlement) {
            (Some(mine), Some(theirs)) => mine == theirs,
            (None, None) => {
                at == prior.at
                    && self.person == prior.person
                    && self.amount_fen == prior.amount_fen
                    && self.units.is_none_or(|u| u == prior.units)
            }
            _ => false,
        }
    }
}

/// What identifies an earlier sale attempt, for [`Sale::repeats`].
#[derive(Debug, Clone, Copy)]
pub struct SaleKey<'a> {
    /// The selling institution.
    pub institution: &'a InstitutionId,
    /// Its settlement, if it named one.
    pub settlement: Option<&'a SettlementId>,
    /// When the sale happened, as the client said.
    pub at: Timestamp,
    /// The buyer's hash.
    pub person: Option<PersonHash>,
    /// Units, as resolved.
    pub units: u32,
    /// The amount, in fen.
    pub amount_fen: i64,
}

/// A sale return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleReturn {
    /// The settlement of the sale being returned; absent means the latest open sale.
    pub settlement: Option<SettlementId>,
    /// Units returned; absent means all units of that sale still out.
    pub units: Option<u32>,
}

/// The national interface's stock-change types (`inv_chg_type` 101–111).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StockChange {
    /// 101 调入: transferred in.
    TransferIn,
    /// 102 调出: transferred out.
    TransferOut,
    /// 103 盘盈: found in a stock count.
    CountGain,
    /// 104 盘损: lost in a stock count.
    CountLoss,
    /// 105 销毁: destroyed.
    Destroyed,
    /// 106 其他入库: other in.
    OtherIn,
    /// 107 其他出库: other out.
    OtherOut,
    /// 108 采购入库: purchased in.
    PurchaseIn,
    /// 109 退货出库: returned to the supplier.
    ReturnOut,
    /// 110 捐赠入库: donated in.
    DonatedIn,
    /// 111 捐赠退回: donation returned.
    DonationReturned,
}

impl StockChange {
    const ALL: [StockChange; 11] = [
        StockChange::TransferIn,
        StockChange::TransferOut,
        StockChange::CountGain,
        StockChange::CountLoss,
        StockChange::Destroyed,
        StockChange::OtherIn,
        StockChange::OtherOut,
        StockChange::PurchaseIn,
        StockChange::ReturnOut,
        StockChange::DonatedIn,
        StockChange::DonationReturned,
    ];

    /// The type with national code `code` (101 to 111).
    pub fn from_code(code: u16) -> Option<StockChange> {
        code.checked_sub(101)
            .and_then(|i| Self::ALL.get(usize::from(i)))
            .copied()
    }

    /// The national code.
    pub fn code(self) -> u16 {
        101 + Self::ALL.iter().position(|c| *c == self).unwrap_or(0) as u16
    }

    /// Whether the pack leaves the institution's stock.
    pub fn is_outgoing(self) -> bool {
        matches!(
            self,
            StockChange::TransferOut
                | StockChange::CountLoss
                | StockChange::Destroyed
                | StockChange::OtherOut
                | StockChange::ReturnOut
                | StockChange::DonationReturned
        )
    }
}

/// What the ledger decided about an event. Every event is recorded with its outcome, the
/// rejected ones too: they are the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Recorded and applied.
    Accepted,
    /// Recorded and applied, with a warning for the regulator.
    Flagged(Reason),
    /// Recorded as an attempt and not applied: for a sale, the payment must not go through.
    Rejected(Reason),
}

impl Outcome {
    /// Whether the event changed the pack's state.
    pub fn is_applied(self) -> bool {
        !matches!(self, Outcome::Rejected(_))
    }

    /// The reason behind a flag or a rejection.
    pub fn reason(self) -> Option<Reason> {
        match self {
            Outcome::Accepted => None,
            Outcome::Flagged(r) | Outcome::Rejected(r) => Some(r),
        }
    }

    /// `accepted`, `flagged` or `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Flagged(_) => "flagged",
            Outcome::Rejected(_) => "rejected",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            None => f.write_str(self.as_str()),
            Some(r) => write!(f, "{} ({r})", self.as_str()),
        }
    }
}

macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// Why an event was flagged or rejected.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $($(#[$doc])* $variant,)*
        }

        impl Reason {
            /// Every reason, in a fixed order (its index is its storage code).
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The reason's name in `snake_case`, as the API and reports say it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $text,)*
                }
            }

            /// The reason named `s`.
            pub fn from_name(s: &str) -> Option<Reason> {
                match s {
                    $($text => Some(Reason::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    /// The pack has been sold already (all of its units).
    AlreadySold = "already_sold",
    /// A split sale asks for more units than the pack has left.
    UnitsExceeded = "units_exceeded",
    /// A sale or return of zero units.
    ZeroUnits = "zero_units",
    /// The pack was recalled.
    Recalled = "recalled",
    /// The pack is past its expiry date.
    Expired = "expired",
    /// The code was never issued by a manufacturer.
    UnknownCode = "unknown_code",
    /// The billed or delivered insurance code is not the product the trace code belongs to.
    ProductMismatch = "product_mismatch",
    /// The pack was destroyed.
    Destroyed = "destroyed",
    /// A return with no matching sale.
    ReturnWithoutSale = "return_without_sale",
    /// A return of more units than the sale has out.
    ReturnExceedsSale = "return_exceeds_sale",
    /// The code was issued already: a cloned code or a repeated commission.
    AlreadyIssued = "already_issued",
    /// A settlement item without a trace code, on or after the "no scan, no settlement" date.
    NoCode = "no_code",
    /// The submitting party may not do this (a pharmacy commissioning a code, a distributor
    /// selling to a patient, a regulator doing anything but recall).
    NotPermitted = "not_permitted",
    /// Only the pack's current holder may destroy it or move it out of stock.
    NotHolder = "not_holder",
    /// Another item of the same settlement was blocked, so this one was not paid either: a
    /// settlement is paid whole or not at all.
    SettlementBlocked = "settlement_blocked",
    /// A void of an upload batch that has no record of the actor's left to void on the pack.
    NothingToVoid = "nothing_to_void",
    /// A batch of the pack's product is recalled and the pack's batch is not known: check
    /// the lot printed on the pack.
    RecallBatchUnknown = "recall_batch_unknown",
    /// A case code (箱码) was billed or returned: its boxes are sold one by one.
    CaseNotSold = "case_not_sold",
    /// The box was packed into a case while still inside another one it had not been
    /// taken out of.
    InAnotherCase = "in_another_case",
    /// A box with units sold and not returned was packed into a case.
    SoldPackInCase = "sold_pack_in_case",
    /// A pack cannot go into itself or into a case inside it.
    CaseCycle = "case_cycle",
    /// An unpacking of a pack that is in no case and holds nothing.
    NotInCase = "not_in_case",
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event as the log keeps it: its place in the pack's log, when it reached us, and what
/// the ledger decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Position in the pack's log, from 0.
    pub index: u32,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// The event (a recorded sale has `units` and `pack_units` set).
    pub event: Event,
    /// The decision.
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_change_codes_round_trip() {
        for code in 101..=111 {
            assert_eq!(StockChange::from_code(code).unwrap().code(), code);
        }
        assert_eq!(StockChange::from_code(100), None);
        assert_eq!(StockChange::from_code(112), None);
        assert!(StockChange::from_code(105).unwrap().is_outgoing());
    }

    #[test]
    fn reason_names_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_name(r.as_str()), Some(*r));
        }
    }
}
