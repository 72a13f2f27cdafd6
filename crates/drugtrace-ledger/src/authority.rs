//! Who may do what to a pack. The rules are part of the gate: an event its submitter may not
//! send is recorded as a rejected attempt (`not_permitted`, `not_holder`), never applied, so
//! nobody can recall, destroy or move another party's pack, and nobody but a manufacturer
//! can make a code genuine.

use drugtrace_catalog::InstitutionKind;

use crate::{EventKind, InstitutionId, PackState, Reason};

/// Who submits a batch of events, as the permission rules see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// The installation's operator, back-filling history from files (`drugtrace import`):
    /// every kind of event is permitted, and each is judged at its own time.
    Operator,
    /// An insurance bureau: may recall packs, nothing else.
    Regulator,
    /// A party of the chain, of this kind, acting as the events' actor.
    Party(InstitutionKind),
}

impl Authority {
    /// Whether events are judged at the times their submitter claims rather than at the
    /// server's clock: only for the operator's own back-fill.
    pub fn trusts_event_times(self) -> bool {
        self == Authority::Operator
    }

    /// Why this submitter may not record an event of `kind` by `actor` on a pack in `state`,
    /// if it may not.
    ///
    /// - Commission: a manufacturer (赋码 happens at the factory).
    /// - Recall: a regulator, or the manufacturer that issued the pack.
    /// - Destroy, and stock changes that take the pack out of stock: its current holder.
    /// - Sale and sale return: a hospital or pharmacy (定点医药机构).
    /// - Shipping, receiving, intake and incoming stock changes: any party of the chain
    ///   (the pack moved, whatever we think of it; the gate flags what is odd).
    /// - Void: any party, of its own records only (the ledger picks them).
    /// - Packing into a case, filling, unpacking and opening one: the pack's holder, or
    ///   anyone while nobody holds it (a manufacturer's relation upload may come first).
    pub fn forbids(
        self,
        kind: &EventKind,
        actor: &InstitutionId,
        state: &PackState,
    ) -> Option<Reason> {
        use InstitutionKind::{Hospital, Manufacturer, Pharmacy};
        let party = match self {
            Authority::Operator => return None,
            Authority::Regulator => {
                return (!matches!(kind, EventKind::Recall)).then_some(Reason::NotPermitted);
            }
            Authority::Party(k) => k,
        };
        let holds = state.holder.as_ref() == Some(actor);
        match kind {
            EventKind::Commission => (party != Manufacturer).then_some(Reason::NotPermitted),
            EventKind::Recall => {
                let issuer = state.issue.as_ref().is_some_and(|i| &i.by == actor);
                (party != Manufacturer || !issuer).then_some(Reason::NotPermitted)
            }
            EventKind::Destroy => (!holds).then_some(Reason::NotHolder),
            EventKind::StockChange(c) if c.is_outgoing() => (!holds).then_some(Reason::NotHolder),
            EventKind::Sale(_) | EventKind::SaleReturn(_) => {
                (!matches!(party, Hospital | Pharmacy)).then_some(Reason::NotPermitted)
            }
            EventKind::Ship { .. }
            | EventKind::Receive { .. }
            | EventKind::Intake(_)
            | EventKind::StockChange(_)
            | EventKind::Void(_) => None,
            EventKind::PackInto { .. }
            | EventKind::Fill { .. }
            | EventKind::Unpack
            | EventKind::Open => (state.holder.is_some() && !holds).then_some(Reason::NotHolder),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Issue, StockChange, Timestamp};

    fn id(s: &str) -> InstitutionId {
        InstitutionId::parse(s).unwrap()
    }

    #[test]
    fn each_party_does_only_its_own_part() {
        let held = PackState {
            holder: Some(id("P1")),
            issue: Some(Issue {
                by: id("M1"),
                at: Timestamp::from_millis(0),
            }),
            ..PackState::default()
        };
        let pharmacy = Authority::Party(InstitutionKind::Pharmacy);
        let maker = Authority::Party(InstitutionKind::Manufacturer);
        let out = EventKind::StockChange(StockChange::CountLoss);
        let gain = EventKind::StockChange(StockChange::CountGain);
        assert_eq!(
            pharmacy.forbids(&EventKind::Commission, &id("P1"), &held),
            Some(Reason::NotPermitted)
        );
        assert_eq!(
            maker.forbids(&EventKind::Commission, &id("M1"), &held),
            None
        );
        assert_eq!(maker.forbids(&EventKind::Recall, &id("M1"), &held), None);
        assert_eq!(
            maker.forbids(&EventKind::Recall, &id("M2"), &held),
            Some(Reason::NotPermitted)
        );
        assert_eq!(
            pharmacy.forbids(&EventKind::Recall, &id("P1"), &held),
            Some(Reason::NotPermitted)
        );
        assert_eq!(
            Authority::Regulator.forbids(&EventKind::Recall, &id("NHSA"), &held),
            None
        );
        assert_eq!(
            Authority::Regulator.forbids(&EventKind::Destroy, &id("NHSA"), &held),
            Some(Reason::NotPermitted)
        );
        assert_eq!(
            pharmacy.forbids(&EventKind::Destroy, &id("P1"), &held),
            None
        );
        assert_eq!(
            pharmacy.forbids(&EventKind::Destroy, &id("P2"), &held),
            Some(Reason::NotHolder)
        );
        assert_eq!(
            pharmacy.forbids(&out, &id("P2"), &held),
            Some(Reason::NotHolder)
        );
        assert_eq!(pharmacy.forbids(&gain, &id("P2"), &held), None);
        assert_eq!(
            pharmacy.forbids(&EventKind::Destroy, &id("P1"), &PackState::default()),
            Some(Reason::NotHolder)
        );
        assert_eq!(
            Authority::Operator.forbids(&EventKind::Destroy, &id("X"), &PackState::default()),
            None
        );
    }
}
