//! Data types several pages share, and the labels of the domain's enums.
//!
//! The enums are the domain's own (the clue book's, the ledger's, the directory's); their
//! labels are the dashboard's, one `match` each, so a variant added to an enum that is not
//! `#[non_exhaustive]` does not compile here until it has a label.

use drugtrace_money::Fen;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::i18n::{Lang, T};

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

/// What kind of party an institution is: the directory's own kind.
pub use drugtrace_catalog::InstitutionKind;

/// An institution kind's label.
pub(crate) fn institution_kind_label(kind: InstitutionKind) -> T {
    match kind {
        InstitutionKind::Manufacturer => T::KindManufacturer,
        InstitutionKind::Distributor => T::KindDistributor,
        InstitutionKind::Hospital => T::KindHospital,
        InstitutionKind::Pharmacy => T::KindPharmacy,
    }
}

/// What happened to a pack, the ledger's event kinds, and the national interface's
/// stock-change types.
pub use drugtrace_ledger::{EventKind, StockChange};

/// An event kind's label (a stock change gives the change's own label).
pub(crate) fn event_kind_label(kind: &EventKind) -> T {
    match kind {
        EventKind::Commission => T::EventCommission,
        EventKind::Ship { .. } => T::EventShip,
        EventKind::Receive { .. } => T::EventReceive,
        EventKind::Intake(_) => T::EventIntake,
        EventKind::StockChange(change) => stock_change_label(*change),
        EventKind::Sale(_) => T::EventSale,
        EventKind::SaleReturn(_) => T::EventSaleReturn,
        EventKind::Destroy => T::EventDestroy,
        EventKind::Recall => T::EventRecall,
        EventKind::Void(_) => T::EventVoid,
        EventKind::PackInto { .. } => T::EventPackInto,
        EventKind::Fill { .. } => T::EventFill,
        EventKind::Unpack => T::EventUnpack,
        EventKind::Open => T::EventOpen,
    }
}

/// A stock change's label. The ledger's `StockChange` is `#[non_exhaustive]`, so a type it
/// adds compiles here without one: it is shown as another change in or out until it has
/// its own (`every_stock_change_has_a_label` fails meanwhile).
pub(crate) fn stock_change_label(change: StockChange) -> T {
    known_stock_change_label(change).unwrap_or(if change.is_outgoing() {
        T::StockOtherOut
    } else {
        T::StockOtherIn
    })
}

fn known_stock_change_label(change: StockChange) -> Option<T> {
    Some(match change {
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
        _ => return None,
    })
}

/// What the ledger decided about an event, and why it flagged or rejected one.
pub use drugtrace_ledger::{Outcome, Reason};

/// An outcome's label.
pub(crate) fn outcome_label(outcome: Outcome) -> T {
    match outcome {
        Outcome::Accepted => T::OutcomeAccepted,
        Outcome::Flagged(_) => T::OutcomeFlagged,
        Outcome::Rejected(_) => T::OutcomeRejected,
    }
}

/// A reason's label. The ledger's `Reason` is `#[non_exhaustive]`, so a reason it adds
/// compiles here without one: it is shown by its name until it has its own
/// (`every_ledger_reason_has_a_label` fails meanwhile).
pub(crate) fn reason_label(reason: Reason) -> Option<T> {
    Some(match reason {
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
        _ => return None,
    })
}

/// A reason in `lang`: its label, or its name when it has none.
pub(crate) fn reason_text(reason: Reason, lang: Lang) -> &'static str {
    reason_label(reason).map_or(reason.as_str(), |t| t.text(lang))
}

/// A reason as a journal names it (the live feed keeps the ledger's name): the ledger's
/// [`Reason`] when this build knows the name, else the name alone, shown as it is (a newer
/// server wrote it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonName {
    known: Option<Reason>,
    name: String,
}

impl ReasonName {
    /// The reason named `name` as the ledger writes it (`already_sold`).
    pub fn parse(name: &str) -> ReasonName {
        ReasonName {
            known: Reason::from_name(name),
            name: name.to_owned(),
        }
    }

    /// The ledger's reason, when the name is one this build knows.
    pub fn known(&self) -> Option<Reason> {
        self.known
    }

    /// The name, as the journal wrote it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The reason in `lang`: its label, or its name.
    pub fn text(&self, lang: Lang) -> &str {
        match self.known {
            Some(r) => reason_text(r, lang),
            None => &self.name,
        }
    }
}

impl From<Reason> for ReasonName {
    fn from(r: Reason) -> ReasonName {
        ReasonName {
            known: Some(r),
            name: r.as_str().to_owned(),
        }
    }
}

/// The domain's enums as the page data serializes them: by their names, the way the
/// ledger and the directory write them (the domain types derive no serde).
#[cfg(feature = "serde")]
pub(crate) mod ser {
    use serde::Serializer;
    use serde::ser::SerializeMap;

    use super::{EventKind, InstitutionKind, Outcome, ReasonName};

    /// `manufacturer`, …; `null` when unknown.
    pub(crate) fn institution_kind<S: Serializer>(
        kind: &Option<InstitutionKind>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match kind {
            Some(k) => s.serialize_str(k.as_str()),
            None => s.serialize_none(),
        }
    }

    /// `sale`, …; a stock change as `{"stock_change": 108}` (its national code).
    pub(crate) fn event_kind<S: Serializer>(kind: &EventKind, s: S) -> Result<S::Ok, S::Error> {
        match kind {
            EventKind::StockChange(c) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(kind.name(), &c.code())?;
                m.end()
            }
            other => s.serialize_str(other.name()),
        }
    }

    /// `accepted`, or `{"flagged": "already_sold"}`, `{"rejected": …}`.
    pub(crate) fn outcome<S: Serializer>(outcome: &Outcome, s: S) -> Result<S::Ok, S::Error> {
        match outcome.reason() {
            None => s.serialize_str(outcome.as_str()),
            Some(r) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(outcome.as_str(), r.as_str())?;
                m.end()
            }
        }
    }

    /// The name, `already_sold`.
    pub(crate) fn reason_name<S: Serializer>(r: &ReasonName, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(r.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pages show every reason the ledger can give by its label in both languages:
    /// a reason added to the ledger without one fails here, not as a bare name on a page.
    #[test]
    fn every_ledger_reason_has_a_label() {
        for r in Reason::ALL.iter().copied() {
            assert!(reason_label(r).is_some(), "{} has no label", r.as_str());
            for lang in Lang::ALL {
                assert_ne!(reason_text(r, lang), r.as_str(), "{lang:?}");
            }
        }
    }

    /// Every national stock-change type the ledger reads has a label of its own.
    #[test]
    fn every_stock_change_has_a_label() {
        let all: Vec<StockChange> = (0..=u16::MAX).filter_map(StockChange::from_code).collect();
        assert_eq!(all.len(), 11);
        for c in all {
            assert!(
                known_stock_change_label(c).is_some(),
                "{} has no label",
                c.code()
            );
        }
    }

    #[test]
    fn reason_names_read_the_ledger_names() {
        let known = ReasonName::parse("already_sold");
        assert_eq!(known.known(), Some(Reason::AlreadySold));
        assert_eq!(known, ReasonName::from(Reason::AlreadySold));
        assert_eq!(
            known.text(Lang::Zh),
            reason_text(Reason::AlreadySold, Lang::Zh)
        );
        let other = ReasonName::parse("new_reason");
        assert_eq!(other.known(), None);
        assert_eq!(other.text(Lang::Zh), "new_reason");
    }
}
