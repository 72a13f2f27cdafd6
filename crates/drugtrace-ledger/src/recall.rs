//! Recalls of a batch and withdrawals of a product (召回, 撤市): records of their own, not
//! events of a pack, so that they cover every pack of the batch or product, the packs the
//! ledger has not seen yet among them.
//!
//! The gate reads the recalls in force ([`Recalls`]) beside the catalog: a sale of a covered
//! pack is rejected as `recalled` from the moment the recall is recorded, and an intake or
//! other movement of one is flagged `recalled`. A batch recall covers a pack whose batch is
//! known to be the recalled one: the batch its manufacturer commissioned it with (or an
//! intake recorded), else the batch the event itself names. When neither names a batch, the
//! pack may be of the recalled batch or not: a sale is let through, flagged
//! `recall_batch_unknown`, so that the institution checks the lot printed on the pack and the
//! regulator sees every such sale. A recall is never withdrawn: it is a fact about the
//! product, as a manufacturer's or regulator's notice is.

use drugtrace_catalog::{Catalog, InsuranceCode};
use drugtrace_code::{DrugId, Gtin, PackKey, ProductKey};

use crate::{Batch, Timestamp};

/// What a recall names: a product, by its insurance code (every trace-code prefix and GTIN
/// the catalog maps to it), by a Chinese drug identification code, or by a GTIN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecalledProduct {
    /// The product with this insurance drug code (医保药品编码).
    Insurance(InsuranceCode),
    /// The product whose Chinese trace codes start with this drug identification code.
    DrugId(DrugId),
    /// The product with this GTIN.
    Gtin(Gtin),
}

impl RecalledProduct {
    /// Whether `pack` is of this product, as its code or the catalog says.
    pub fn covers(&self, catalog: &Catalog, pack: &PackKey) -> bool {
        let key = pack.product_key();
        match (self, key) {
            (RecalledProduct::DrugId(d), ProductKey::DrugId(k)) => *d == k,
            (RecalledProduct::Gtin(g), ProductKey::Gtin(k)) => *g == k,
            (RecalledProduct::Insurance(code), _) => catalog
                .by_product_key(key)
                .is_some_and(|p| p.insurance_code() == code),
            // A product named by prefix or GTIN is also the catalog product they map to, so
            // that a recall by GTIN covers the same product's Chinese codes.
            (named, _) => {
                let named = match named {
                    RecalledProduct::DrugId(d) => catalog.by_drug_id(*d),
                    RecalledProduct::Gtin(g) => catalog.by_gtin(*g),
                    RecalledProduct::Insurance(_) => None,
                };
                named.is_some_and(|n| {
                    catalog
                        .by_product_key(key)
                        .is_some_and(|p| p.insurance_code() == n.insurance_code())
                })
            }
        }
    }
}

/// A recall of a batch of a product, or (with no batch) a withdrawal of the whole product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recall {
    /// Its number, from 1 in the order recalls were recorded.
    pub number: u64,
    /// The product.
    pub product: RecalledProduct,
    /// The recalled batch (批号); none when the whole product is withdrawn.
    pub batch: Option<Batch>,
    /// Who recorded it: a regulator, or the product's manufacturer by its code.
    pub by: String,
    /// Why, as its author wrote it.
    pub reason: String,
    /// When it was recorded, by the server's clock: it covers sales judged from then on.
    pub at: Timestamp,
}

/// Whether a recall covers a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covered<'a> {
    /// The pack is of the recalled product, and of the recalled batch if one is named.
    Yes(&'a Recall),
    /// The pack is of the product of a batch recall, and no batch of it is known.
    BatchUnknown(&'a Recall),
}

/// Batches are compared as printed, ignoring case and surrounding spaces: a lot keyed in
/// lower case is the same lot.
fn same_batch(a: &Batch, b: &Batch) -> bool {
    a.as_str().trim().eq_ignore_ascii_case(b.as_str().trim())
}

/// The recalls in force, in the order they were recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recalls {
    list: Vec<Recall>,
}

impl Recalls {
    /// No recall.
    pub fn new() -> Recalls {
        Recalls::default()
    }

    /// Adds a recall; its number is the next one.
    pub fn add(
        &mut self,
        product: RecalledProduct,
        batch: Option<Batch>,
        by: String,
        reason: String,
        at: Timestamp,
    ) -> &Recall {
        let number = self.list.len() as u64 + 1;
        self.list.push(Recall {
            number,
            product,
            batch,
            by,
            reason,
            at,
        });
        self.list.last().expect("just pushed")
    }

    /// The recall of the same product and batch recorded already, if any: recording it
    /// again would add nothing.
    pub fn same_as(&self, product: &RecalledProduct, batch: Option<&Batch>) -> Option<&Recall> {
        self.list.iter().find(|r| {
            &r.product == product
                && match (&r.batch, batch) {
                    (None, None) => true,
                    (Some(a), Some(b)) => same_batch(a, b),
                    _ => false,
                }
        })
    }

    /// Every recall, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Recall> {
        self.list.iter()
    }

    /// How many recalls there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The recall in force at `at` that covers `pack`, whose batch is `batch` when one is
    /// known: a recall that surely covers it before one that may, the first recorded among
    /// equals. A recall is in force from when it was recorded: an event judged at a moment
    /// before that (an old record imported by the operator) is not covered.
    pub fn covering(
        &self,
        catalog: &Catalog,
        pack: &PackKey,
        batch: Option<&Batch>,
        at: Timestamp,
    ) -> Option<Covered<'_>> {
        let mut maybe = None;
        for r in self
            .list
            .iter()
            .filter(|r| r.at <= at && r.product.covers(catalog, pack))
        {
            match (&r.batch, batch) {
                (None, _) => return Some(Covered::Yes(r)),
                (Some(a), Some(b)) if same_batch(a, b) => return Some(Covered::Yes(r)),
                (Some(_), Some(_)) => {}
                (Some(_), None) => {
                    maybe.get_or_insert(Covered::BatchUnknown(r));
                }
            }
        }
        maybe
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drugtrace_code::ChinaCode;

    fn pack(prefix: u64, serial: u64) -> PackKey {
        ChinaCode::from_value(u128::from(prefix) * 10u128.pow(13) + u128::from(serial))
            .unwrap()
            .pack_key()
    }

    fn batch(s: &str) -> Batch {
        Batch::parse(s).unwrap()
    }

    #[test]
    fn a_batch_recall_covers_its_batch_of_its_product_only() {
        let mut recalls = Recalls::new();
        let product = RecalledProduct::DrugId(DrugId::parse("8100001").unwrap());
        recalls.add(
            product.clone(),
            Some(batch("250301")),
            "regulator".into(),
            "contamination".into(),
            Timestamp::from_millis(0),
        );
        let catalog = Catalog::default();
        let covered = |prefix, b: Option<&str>| {
            recalls.covering(
                &catalog,
                &pack(prefix, 7),
                b.map(batch).as_ref(),
                Timestamp::from_millis(10),
            )
        };
        assert!(matches!(
            covered(8_100_001, Some("250301")),
            Some(Covered::Yes(_))
        ));
        assert!(
            matches!(covered(8_100_001, Some(" 250301 ")), Some(Covered::Yes(_))),
            "the same lot, keyed with spaces"
        );
        assert_eq!(covered(8_100_001, Some("250302")), None, "another batch");
        assert!(matches!(
            covered(8_100_001, None),
            Some(Covered::BatchUnknown(_))
        ));
        assert_eq!(covered(8_100_002, Some("250301")), None, "another product");
        assert!(recalls.same_as(&product, Some(&batch("250301"))).is_some());
        assert!(recalls.same_as(&product, None).is_none());
    }

    #[test]
    fn a_withdrawal_covers_every_pack_and_wins_over_a_batch_recall() {
        let mut recalls = Recalls::new();
        let product = RecalledProduct::DrugId(DrugId::parse("8100001").unwrap());
        recalls.add(
            product.clone(),
            Some(batch("A1")),
            "M1".into(),
            "label error".into(),
            Timestamp::from_millis(0),
        );
        recalls.add(
            product,
            None,
            "regulator".into(),
            "licence revoked".into(),
            Timestamp::from_millis(1),
        );
        let catalog = Catalog::default();
        let at = |ms| Timestamp::from_millis(ms);
        match recalls.covering(&catalog, &pack(8_100_001, 1), None, at(1)) {
            Some(Covered::Yes(r)) => assert_eq!(r.number, 2),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(
                recalls.covering(&catalog, &pack(8_100_001, 1), None, at(0)),
                Some(Covered::BatchUnknown(_))
            ),
            "before the withdrawal was recorded, only the batch recall was in force"
        );
    }
}
