//! Stock movements without trace codes: what an institution reports of a product when its
//! records carry no pack codes (most stock changes, purchases and older sales in the wild).
//!
//! The ledger keeps packs, and a record without a code names no pack, so it cannot judge or
//! block one. But the record is still a fact about the institution's stock (进销存): so many
//! units of a product in or out. Dropping it would make stock and upload-rate figures blind to
//! most of what institutions report. It is kept as a [`Movement`]: never judged, appended
//! once (a resent record is the same movement), and read by the warehouse's `movements`
//! table, which `stock_imbalance` counts beside the packs.
//!
//! A 3507 of a batch voids its movements as it voids its packs' records: each gets a
//! [`MovementVoid`] (who, when), kept beside it; nothing is removed, and a voided movement
//! stops counting. The batch can then be uploaded again, often under the same number and
//! with the same rows: a record sent again after its movement was voided is a new movement,
//! the same record's next [`Movement::revision`], so that a resend before the void is kept
//! once and a re-upload after it counts again.

use std::fmt;

use drugtrace_catalog::InsuranceCode;
use sha2::{Digest, Sha256};

use crate::{InstitutionId, SettlementId, StockChange, Timestamp, UploadId};

/// What a movement did to the institution's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    /// A purchase intake (3503).
    Intake,
    /// A stock change (3502; a purchase return, 3504, is `ReturnOut`).
    StockChange(StockChange),
    /// A sale to a patient (3505).
    Sale,
    /// A patient's return (3506).
    SaleReturn,
}

impl MovementKind {
    /// `+1` when stock comes in, `-1` when it goes out.
    pub fn direction(self) -> i64 {
        match self {
            MovementKind::Intake | MovementKind::SaleReturn => 1,
            MovementKind::Sale => -1,
            MovementKind::StockChange(c) if c.is_outgoing() => -1,
            MovementKind::StockChange(_) => 1,
        }
    }

    /// `intake`, `stock_change`, `sale` or `sale_return`.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Intake => "intake",
            MovementKind::StockChange(_) => "stock_change",
            MovementKind::Sale => "sale",
            MovementKind::SaleReturn => "sale_return",
        }
    }
}

/// A movement of a product's stock at an institution, reported without trace codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// The reporting institution.
    pub institution: InstitutionId,
    /// The product (`med_list_codg`).
    pub product: InsuranceCode,
    /// When it happened, as reported.
    pub at: Timestamp,
    /// What happened.
    pub kind: MovementKind,
    /// The quantity as reported, in thousandths (`2.5` is 2500), never negative.
    pub quantity_milli: i64,
    /// Whether the quantity counts the smallest units (拆零, `trdn_flag` 1) rather than packs.
    pub split: bool,
    /// The amount in fen (sales).
    pub amount_fen: i64,
    /// Whether the insurance fund pays (sales).
    pub fund_paid: bool,
    /// The settlement (sales and returns), when named.
    pub settlement: Option<SettlementId>,
    /// The upload batch it came in.
    pub upload: Option<UploadId>,
    /// The record's position in the call that sent it: two identical records of one call
    /// are two movements, while the same call resent gives the same ones.
    pub line: u32,
    /// How often this same record was voided before it was sent this time: 0 for a record
    /// never voided. Set by [`crate::Ledger::add_movements`], not by the sender.
    pub revision: u32,
}

/// A void of a movement (3507): who voided it and when. The movement stays, marked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MovementVoid {
    /// The institution that voided it (always the movement's own).
    pub by: InstitutionId,
    /// When the void was recorded, by the server's clock.
    pub at: Timestamp,
}

/// A movement's identity: a hash of everything it says, so that a resent record is the
/// same movement and is kept once.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MovementId([u8; 16]);

impl MovementId {
    /// Wraps stored bytes.
    pub fn from_bytes(b: [u8; 16]) -> MovementId {
        MovementId(b)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for MovementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "MovementId({hex})")
    }
}

impl Movement {
    /// The movement's identity.
    pub fn id(&self) -> MovementId {
        let mut h = Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u32).to_be_bytes());
            h.update(b);
        };
        field(self.institution.as_str().as_bytes());
        field(self.product.as_str().as_bytes());
        field(&self.at.millis().to_be_bytes());
        field(self.kind.as_str().as_bytes());
        let change = match self.kind {
            MovementKind::StockChange(c) => c.code(),
            _ => 0,
        };
        field(&change.to_be_bytes());
        field(&self.quantity_milli.to_be_bytes());
        field(&[u8::from(self.split), u8::from(self.fund_paid)]);
        field(&self.amount_fen.to_be_bytes());
        field(
            self.settlement
                .as_ref()
                .map_or("", |s| s.as_str())
                .as_bytes(),
        );
        field(self.upload.as_ref().map_or("", |u| u.as_str()).as_bytes());
        field(&self.line.to_be_bytes());
        // Revision 0 hashes as a movement did before revisions, so stored ids stay valid.
        if self.revision > 0 {
            field(&self.revision.to_be_bytes());
        }
        let digest = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        MovementId(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movement() -> Movement {
        Movement {
            institution: InstitutionId::parse("P1").unwrap(),
            product: InsuranceCode::parse("XJ01CAA040A001010100001").unwrap(),
            at: Timestamp::from_millis(1_750_000_000_000),
            kind: MovementKind::Intake,
            quantity_milli: 10_000,
            split: false,
            amount_fen: 0,
            fund_paid: false,
            settlement: None,
            upload: None,
            line: 0,
            revision: 0,
        }
    }

    #[test]
    fn the_same_record_is_the_same_movement() {
        let a = movement();
        assert_eq!(a.id(), a.clone().id());
        let mut b = movement();
        b.quantity_milli = 10_001;
        assert_ne!(a.id(), b.id());
        let mut c = movement();
        c.kind = MovementKind::StockChange(StockChange::PurchaseIn);
        assert_ne!(a.id(), c.id());
        let mut d = movement();
        d.line = 1;
        assert_ne!(a.id(), d.id(), "two identical records of one call");
        let mut e = movement();
        e.revision = 1;
        assert_ne!(a.id(), e.id(), "sent again after a void");
        assert_eq!(
            MovementKind::StockChange(StockChange::ReturnOut).direction(),
            -1
        );
    }
}
