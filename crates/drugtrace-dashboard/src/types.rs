//! Data types several pages share, and the domain's enums with their labels.
//!
//! These mirror the ledger's and the catalog's types without depending on them: the dashboard
//! is a view, filled by whoever computes the figures.

use drugtrace_money::Fen;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::i18n::T;

/// A reporting period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Period {
    /// The first day.
    pub from: Date,
    /// The last day.
    pub to: Date,
}

/// One day's activity, for the per-day charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DayPoint {
    /// The day.
    pub date: Date,
    /// Scan events recorded that day (all kinds).
    pub scans: u64,
    /// Sales that went through.
    pub sales: u64,
    /// Sale attempts blocked (repeat payments intercepted).
    pub interceptions: u64,
    /// The amount of the blocked attempts.
    pub intercepted_fen: Fen,
}

/// How many findings one model produced, and the amount they involve.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ModelCount {
    /// The model's name (its title and colour come from [`crate::Ctx::models`]).
    pub model: String,
    /// Findings.
    pub findings: u64,
    /// Amount involved.
    pub amount_fen: Fen,
}

/// One finding: a model's verdict on one trace code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FindingRow {
    /// The model's name.
    pub model: String,
    /// How serious the model rates it.
    pub severity: Severity,
    /// The trace code, linked to its pack page.
    pub code: String,
    /// When the cited event happened.
    pub at: Timestamp,
    /// Amount involved.
    pub amount_fen: Fen,
    /// The model's explanation, e.g. `第 3 次医保结算，前次：榆林市某药店 2025-04-02`.
    pub detail: String,
}

/// A clue, as other pages link to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClueRef {
    /// The clue's id.
    pub id: String,
    /// Its batch's title.
    pub batch: String,
    /// Its state.
    pub state: ClueState,
    /// The day the verification result is due.
    pub deadline: Date,
    /// Whether it is past the deadline and still open.
    pub overdue: bool,
}

/// Where a clue is in its verification workflow: the clue book's own state.
pub use drugtrace_clues::ClueState;

/// A clue state's label.
pub(crate) fn state_label(state: ClueState) -> T {
    match state {
        ClueState::Issued => T::StateIssued,
        ClueState::UnderVerification => T::StateUnderVerification,
        ClueState::Confirmed => T::StateConfirmed,
        ClueState::Dismissed => T::StateDismissed,
    }
}

/// How serious a model rates a finding: the clue ranking's own severity, so a finding
/// shows the severity its score was weighted by.
pub use drugtrace_clues::Severity;

/// A severity's label.
pub(crate) fn severity_label(severity: Severity) -> T {
    match severity {
        Severity::High => T::SeverityHigh,
        Severity::Medium => T::SeverityMedium,
        Severity::Low => T::SeverityLow,
    }
}

/// What kind of party an institution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum InstitutionKind {
    /// 生产企业.
    Manufacturer,
    /// 流通企业.
    Distributor,
    /// 定点医疗机构.
    Hospital,
    /// 定点零售药店.
    Pharmacy,
}

impl InstitutionKind {
    /// The kind's label.
    pub fn label(self) -> T {
        match self {
            InstitutionKind::Manufacturer => T::KindManufacturer,
            InstitutionKind::Distributor => T::KindDistributor,
            InstitutionKind::Hospital => T::KindHospital,
            InstitutionKind::Pharmacy => T::KindPharmacy,
        }
    }
}

/// What happened to a pack, as the evidence chain names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EventKind {
    /// The manufacturer issued the code (赋码).
    Commission,
    /// Shipped.
    Ship,
    /// Received.
    Receive,
    /// Purchase intake at a hospital or pharmacy.
    Intake,
    /// A stock change (the national interface's 3502).
    StockChange(StockChange),
    /// A sale.
    Sale,
    /// A sale return.
    SaleReturn,
    /// Destroyed.
    Destroy,
    /// Recalled.
    Recall,
    /// The institution voided its records of an upload batch (3507); they stay as evidence.
    Void,
    /// Packed into a case (the case's code is the counterparty).
    PackInto,
    /// A case was filled with boxes (their number is the units).
    Fill,
    /// Taken out of its case.
    Unpack,
    /// A case was opened.
    Open,
}

impl EventKind {
    /// The kind's label (a stock change gives the change's own label).
    pub fn label(self) -> T {
        match self {
            EventKind::Commission => T::EventCommission,
            EventKind::Ship => T::EventShip,
            EventKind::Receive => T::EventReceive,
            EventKind::Intake => T::EventIntake,
            EventKind::StockChange(change) => change.label(),
            EventKind::Sale => T::EventSale,
            EventKind::SaleReturn => T::EventSaleReturn,
            EventKind::Destroy => T::EventDestroy,
            EventKind::Recall => T::EventRecall,
            EventKind::Void => T::EventVoid,
            EventKind::PackInto => T::EventPackInto,
            EventKind::Fill => T::EventFill,
            EventKind::Unpack => T::EventUnpack,
            EventKind::Open => T::EventOpen,
        }
    }
}

/// The national interface's stock-change types (`inv_chg_type` 101–111).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum StockChange {
    /// 101 调入.
    TransferIn,
    /// 102 调出.
    TransferOut,
    /// 103 盘盈.
    CountGain,
    /// 104 盘损.
    CountLoss,
    /// 105 销毁.
    Destroyed,
    /// 106 其他入库.
    OtherIn,
    /// 107 其他出库.
    OtherOut,
    /// 108 采购入库.
    PurchaseIn,
    /// 109 退货出库.
    ReturnOut,
    /// 110 捐赠入库.
    DonatedIn,
    /// 111 捐赠退回.
    DonationReturned,
}

impl StockChange {
    /// The change's label.
    pub fn label(self) -> T {
        match self {
            StockChange::TransferIn => T::StockTransferIn,
            StockChange::TransferOut => T::StockTransferOut,
            StockChange::CountGain => T::StockCountGain,
            StockChange::CountLoss => T::StockCountLoss,
            StockChange::Destroyed => T::StockDestroyed,
            StockChange::OtherIn => T::StockOtherIn,
            StockChange::OtherOut => T::StockOtherOut,
            StockChange::PurchaseIn => T::StockPurchaseIn,
            StockChange::ReturnOut => T::StockReturnOut,
            StockChange::DonatedIn => T::StockDonatedIn,
            StockChange::DonationReturned => T::StockDonationReturned,
        }
    }
}

/// What the ledger decided about an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Outcome {
    /// Recorded and applied.
    Accepted,
    /// Recorded and applied, with a warning.
    Flagged(Reason),
    /// Recorded as an attempt and not applied (for a sale: the payment was blocked).
    Rejected(Reason),
}

impl Outcome {
    /// The outcome's label.
    pub fn label(&self) -> T {
        match self {
            Outcome::Accepted => T::OutcomeAccepted,
            Outcome::Flagged(_) => T::OutcomeFlagged,
            Outcome::Rejected(_) => T::OutcomeRejected,
        }
    }

    /// The reason of a flag or a rejection.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Outcome::Accepted => None,
            Outcome::Flagged(r) | Outcome::Rejected(r) => Some(r),
        }
    }

    /// `accepted`, `flagged` or `rejected` (also the CSS class suffix).
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Flagged(_) => "flagged",
            Outcome::Rejected(_) => "rejected",
        }
    }
}

/// Why an event was flagged or rejected: the ledger's reasons, and any other by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Reason {
    /// `already_sold`.
    AlreadySold,
    /// `units_exceeded`.
    UnitsExceeded,
    /// `zero_units`.
    ZeroUnits,
    /// `recalled`.
    Recalled,
    /// `expired`.
    Expired,
    /// `unknown_code`.
    UnknownCode,
    /// `product_mismatch`.
    ProductMismatch,
    /// `destroyed`.
    Destroyed,
    /// `return_without_sale`.
    ReturnWithoutSale,
    /// `return_exceeds_sale`.
    ReturnExceedsSale,
    /// `already_issued`.
    AlreadyIssued,
    /// `no_code`.
    NoCode,
    /// `settlement_blocked`: sold in a settlement another item of which was refused.
    SettlementBlocked,
    /// `not_permitted`.
    NotPermitted,
    /// `not_holder`.
    NotHolder,
    /// `nothing_to_void`.
    NothingToVoid,
    /// `recall_batch_unknown`.
    RecallBatchUnknown,
    /// `case_not_sold`.
    CaseNotSold,
    /// `in_another_case`.
    InAnotherCase,
    /// `sold_pack_in_case`.
    SoldPackInCase,
    /// `case_cycle`.
    CaseCycle,
    /// `not_in_case`.
    NotInCase,
    /// A reason this crate has no label for, shown by its name.
    Other(String),
}

impl Reason {
    /// The reason named `name` as the ledger writes it (`already_sold`); an unknown name
    /// becomes [`Reason::Other`].
    pub fn from_name(name: &str) -> Reason {
        match name {
            "already_sold" => Reason::AlreadySold,
            "units_exceeded" => Reason::UnitsExceeded,
            "zero_units" => Reason::ZeroUnits,
            "recalled" => Reason::Recalled,
            "expired" => Reason::Expired,
            "unknown_code" => Reason::UnknownCode,
            "product_mismatch" => Reason::ProductMismatch,
            "destroyed" => Reason::Destroyed,
            "return_without_sale" => Reason::ReturnWithoutSale,
            "return_exceeds_sale" => Reason::ReturnExceedsSale,
            "already_issued" => Reason::AlreadyIssued,
            "no_code" => Reason::NoCode,
            "settlement_blocked" => Reason::SettlementBlocked,
            "not_permitted" => Reason::NotPermitted,
            "not_holder" => Reason::NotHolder,
            "nothing_to_void" => Reason::NothingToVoid,
            "recall_batch_unknown" => Reason::RecallBatchUnknown,
            "case_not_sold" => Reason::CaseNotSold,
            "in_another_case" => Reason::InAnotherCase,
            "sold_pack_in_case" => Reason::SoldPackInCase,
            "case_cycle" => Reason::CaseCycle,
            "not_in_case" => Reason::NotInCase,
            other => Reason::Other(other.to_owned()),
        }
    }

    /// The reason's label, `None` for [`Reason::Other`].
    pub fn label(&self) -> Option<T> {
        Some(match self {
            Reason::AlreadySold => T::ReasonAlreadySold,
            Reason::UnitsExceeded => T::ReasonUnitsExceeded,
            Reason::ZeroUnits => T::ReasonZeroUnits,
            Reason::Recalled => T::ReasonRecalled,
            Reason::Expired => T::ReasonExpired,
            Reason::UnknownCode => T::ReasonUnknownCode,
            Reason::ProductMismatch => T::ReasonProductMismatch,
            Reason::Destroyed => T::ReasonDestroyed,
            Reason::ReturnWithoutSale => T::ReasonReturnWithoutSale,
            Reason::ReturnExceedsSale => T::ReasonReturnExceedsSale,
            Reason::AlreadyIssued => T::ReasonAlreadyIssued,
            Reason::NoCode => T::ReasonNoCode,
            Reason::SettlementBlocked => T::ReasonSettlementBlocked,
            Reason::NotPermitted => T::ReasonNotPermitted,
            Reason::NotHolder => T::ReasonNotHolder,
            Reason::NothingToVoid => T::ReasonNothingToVoid,
            Reason::RecallBatchUnknown => T::ReasonRecallBatchUnknown,
            Reason::CaseNotSold => T::ReasonCaseNotSold,
            Reason::InAnotherCase => T::ReasonInAnotherCase,
            Reason::SoldPackInCase => T::ReasonSoldPackInCase,
            Reason::CaseCycle => T::ReasonCaseCycle,
            Reason::NotInCase => T::ReasonNotInCase,
            Reason::Other(_) => return None,
        })
    }

    /// The reason in `lang`: its label, or the name of an unknown reason.
    pub fn text(&self, lang: crate::Lang) -> &str {
        match self {
            Reason::Other(name) => name,
            known => known.label().map_or("", |t| t.text(lang)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_the_ledger_names() {
        assert_eq!(Reason::from_name("already_sold"), Reason::AlreadySold);
        let other = Reason::from_name("new_reason");
        assert_eq!(other.label(), None);
        assert_eq!(other.text(crate::Lang::Zh), "new_reason");
    }
}
