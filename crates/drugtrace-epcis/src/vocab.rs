//! The Core Business Vocabulary (CBV 2.0) values an event names its business step,
//! disposition, business transaction type, source or destination type and error reason by.
//!
//! EPCIS writes one CBV value three ways: bare in JSON-LD (`shipping`), as a URN in XML and
//! EPCIS 1.x (`urn:epcglobal:cbv:bizstep:shipping`) and as a Web URI
//! (`https://ref.gs1.org/cbv/BizStep-shipping`, or the CURIE `cbv:BizStep-shipping`). All
//! three read as the same [`Vocab::Cbv`] term; any other URI is a value of the sender's own
//! and is kept whole as [`Vocab::Other`].

use std::fmt;
use std::marker::PhantomData;

/// The base of the CBV Web URIs.
pub(crate) const CBV_WEB: &str = "https://ref.gs1.org/cbv/";

/// One CBV vocabulary: its names and its terms.
pub trait Vocabulary {
    /// What people call a value of it, for messages (`"business step"`).
    const NAME: &'static str;
    /// The URN prefix (`"urn:epcglobal:cbv:bizstep:"`).
    const URN: &'static str;
    /// The Web URI term prefix after `https://ref.gs1.org/cbv/` (`"BizStep-"`).
    const WEB: &'static str;
    /// The standard terms.
    const TERMS: &'static [&'static str];
}

/// A value of the vocabulary `V`: a standard CBV term or a URI of the sender's own.
#[derive(Debug)]
pub enum Vocab<V> {
    /// A standard term, by its short name (`shipping`).
    Cbv(Term<V>),
    /// Any other value, a full URI as written.
    Other(String),
}

/// A standard term of the vocabulary `V`. One that exists is one of `V`'s terms.
#[derive(Debug)]
pub struct Term<V> {
    name: &'static str,
    vocabulary: PhantomData<fn() -> V>,
}

impl<V> Term<V> {
    /// The short name, as JSON-LD writes it (`in_transit`).
    pub fn name(&self) -> &'static str {
        self.name
    }
}

// Manual impls: a derive would ask the marker type `V` for the same traits.
impl<V> Clone for Term<V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for Term<V> {}
impl<V> PartialEq for Term<V> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl<V> Eq for Term<V> {}
impl<V> std::hash::Hash for Term<V> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}
impl<V> Clone for Vocab<V> {
    fn clone(&self) -> Self {
        match self {
            Vocab::Cbv(t) => Vocab::Cbv(*t),
            Vocab::Other(s) => Vocab::Other(s.clone()),
        }
    }
}
impl<V> PartialEq for Vocab<V> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Vocab::Cbv(a), Vocab::Cbv(b)) => a == b,
            (Vocab::Other(a), Vocab::Other(b)) => a == b,
            _ => false,
        }
    }
}
impl<V> Eq for Vocab<V> {}
impl<V> std::hash::Hash for Vocab<V> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Vocab::Cbv(t) => t.hash(state),
            Vocab::Other(s) => s.hash(state),
        }
    }
}

/// Why a value is not one of a vocabulary's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is neither a CBV {vocabulary} (such as {example:?}) nor a URI")]
pub struct VocabError {
    /// The vocabulary's name.
    pub vocabulary: &'static str,
    /// The value as written.
    pub value: String,
    /// One of the vocabulary's terms, to show the expected form.
    pub example: &'static str,
}

impl<V: Vocabulary> Vocab<V> {
    /// Reads a value written bare, as a CBV URN, as a CBV Web URI or CURIE, or as any other
    /// URI. A bare word that is not a standard term fails: it is neither a term nor a URI.
    pub fn parse(value: &str) -> Result<Vocab<V>, VocabError> {
        let term = |name: &str| V::TERMS.iter().find(|t| **t == name).copied();
        let candidates = [
            Some(value),
            value.strip_prefix(V::URN),
            value
                .strip_prefix(CBV_WEB)
                .and_then(|r| r.strip_prefix(V::WEB)),
            value
                .strip_prefix("cbv:")
                .and_then(|r| r.strip_prefix(V::WEB)),
        ];
        if let Some(name) = candidates.into_iter().flatten().find_map(term) {
            return Ok(Vocab::Cbv(Term {
                name,
                vocabulary: PhantomData,
            }));
        }
        if value.contains(':') {
            return Ok(Vocab::Other(value.to_string()));
        }
        Err(VocabError {
            vocabulary: V::NAME,
            value: value.to_string(),
            example: V::TERMS[0],
        })
    }

    /// The standard term's short name, or `None` for a value of the sender's own.
    pub fn cbv_name(&self) -> Option<&'static str> {
        match self {
            Vocab::Cbv(t) => Some(t.name),
            Vocab::Other(_) => None,
        }
    }

    /// The value as a full URI: the CBV Web URI of a standard term, or the sender's URI.
    pub fn to_uri(&self) -> String {
        match self {
            Vocab::Cbv(t) => format!("{CBV_WEB}{}{}", V::WEB, t.name),
            Vocab::Other(s) => s.clone(),
        }
    }
}

impl<V> fmt::Display for Vocab<V> {
    /// The short name of a standard term (as JSON-LD writes it), else the URI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Vocab::Cbv(t) => f.write_str(t.name),
            Vocab::Other(s) => f.write_str(s),
        }
    }
}

/// The CBV URN prefixes and the Web URI prefixes they stand for, which the event hash
/// writes in place of the URNs.
pub(crate) const URN_TO_WEB: [(&str, &str); 5] = [
    (
        "urn:epcglobal:cbv:bizstep:",
        "https://ref.gs1.org/cbv/BizStep-",
    ),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
];

/// Marker types naming the five vocabularies.
pub mod kinds {
    use super::Vocabulary;

    /// CBV 2.0 business steps (`bizStep`).
    #[derive(Debug)]
    pub enum BizStep {}
    impl Vocabulary for BizStep {
        const NAME: &'static str = "business step";
        const URN: &'static str = "urn:epcglobal:cbv:bizstep:";
        const WEB: &'static str = "BizStep-";
        const TERMS: &'static [&'static str] = &[
            "accepting",
            "arriving",
            "assembling",
            "collecting",
            "commissioning",
            "consigning",
            "creating_class_instance",
            "cycle_counting",
            "decommissioning",
            "departing",
            "destroying",
            "disassembling",
            "dispensing",
            "encoding",
            "entering_exiting",
            "holding",
            "inspecting",
            "installing",
            "killing",
            "loading",
            "other",
            "packing",
            "picking",
            "receiving",
            "removing",
            "repackaging",
            "repairing",
            "replacing",
            "reserving",
            "retail_selling",
            "sampling",
            "sensor_reporting",
            "shipping",
            "staging_outbound",
            "stock_taking",
            "stocking",
            "storing",
            "transporting",
            "unloading",
            "unpacking",
            "void_shipping",
        ];
    }

    /// CBV 2.0 dispositions (`disposition`, `persistentDisposition`).
    #[derive(Debug)]
    pub enum Disposition {}
    impl Vocabulary for Disposition {
        const NAME: &'static str = "disposition";
        const URN: &'static str = "urn:epcglobal:cbv:disp:";
        const WEB: &'static str = "Disp-";
        const TERMS: &'static [&'static str] = &[
            "active",
            "available",
            "completeness_inferred",
            "completeness_verified",
            "conformant",
            "container_closed",
            "container_open",
            "damaged",
            "destroyed",
            "dispensed",
            "disposed",
            "encoded",
            "expired",
            "in_progress",
            "in_transit",
            "inactive",
            "mismatch_class",
            "mismatch_instance",
            "mismatch_quantity",
            "needs_replacement",
            "no_pedigree_match",
            "non_conformant",
            "non_sellable_other",
            "partially_dispensed",
            "recalled",
            "reserved",
            "retail_sold",
            "returned",
            "sellable_accessible",
            "sellable_not_accessible",
            "stolen",
            "unavailable",
            "unknown",
        ];
    }

    /// CBV 2.0 business transaction types (`bizTransactionList[].type`).
    #[derive(Debug)]
    pub enum BizTransactionType {}
    impl Vocabulary for BizTransactionType {
        const NAME: &'static str = "business transaction type";
        const URN: &'static str = "urn:epcglobal:cbv:btt:";
        const WEB: &'static str = "BTT-";
        const TERMS: &'static [&'static str] = &[
            "po",
            "bol",
            "cert",
            "desadv",
            "inv",
            "pedigree",
            "poc",
            "prodorder",
            "recadv",
            "rma",
            "testprd",
            "testres",
            "upevt",
        ];
    }

    /// CBV 2.0 source and destination types (`sourceList[].type`).
    #[derive(Debug)]
    pub enum SourceDestType {}
    impl Vocabulary for SourceDestType {
        const NAME: &'static str = "source or destination type";
        const URN: &'static str = "urn:epcglobal:cbv:sdt:";
        const WEB: &'static str = "SDT-";
        const TERMS: &'static [&'static str] = &["owning_party", "possessing_party", "location"];
    }

    /// CBV 2.0 error reasons (`errorDeclaration.reason`).
    #[derive(Debug)]
    pub enum ErrorReason {}
    impl Vocabulary for ErrorReason {
        const NAME: &'static str = "error reason";
        const URN: &'static str = "urn:epcglobal:cbv:er:";
        const WEB: &'static str = "ER-";
        const TERMS: &'static [&'static str] = &["did_not_occur", "incorrect_data"];
    }
}

/// A business step.
pub type BizStep = Vocab<kinds::BizStep>;
/// A disposition.
pub type Disposition = Vocab<kinds::Disposition>;
/// A business transaction type.
pub type BizTransactionType = Vocab<kinds::BizTransactionType>;
/// A source or destination type.
pub type SourceDestType = Vocab<kinds::SourceDestType>;
/// An error declaration's reason.
pub type ErrorReason = Vocab<kinds::ErrorReason>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_spellings_read_as_one_term() {
        for written in [
            "shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "cbv:BizStep-shipping",
        ] {
            let step = BizStep::parse(written).unwrap();
            assert_eq!(step.cbv_name(), Some("shipping"), "{written}");
            assert_eq!(step.to_uri(), "https://ref.gs1.org/cbv/BizStep-shipping");
            assert_eq!(step.to_string(), "shipping");
        }
        let disp = Disposition::parse("urn:epcglobal:cbv:disp:in_transit").unwrap();
        assert_eq!(disp.cbv_name(), Some("in_transit"));
    }

    #[test]
    fn other_uris_are_kept_whole() {
        for written in [
            "https://example.com/steps/relabelling",
            // A CBV namespace with a term CBV does not define is not a CBV term.
            "urn:epcglobal:cbv:bizstep:relabelling",
            // The URN of another vocabulary is not a business step.
            "urn:epcglobal:cbv:disp:in_transit",
        ] {
            let step = BizStep::parse(written).unwrap();
            assert_eq!(step, BizStep::Other(written.to_string()));
            assert_eq!(step.cbv_name(), None);
            assert_eq!(step.to_uri(), written);
        }
    }

    #[test]
    fn a_bare_unknown_word_is_refused() {
        let err = BizStep::parse("shiping").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"shiping\" is neither a CBV business step (such as \"accepting\") nor a URI"
        );
        assert!(SourceDestType::parse("owner").is_err());
        assert_eq!(
            ErrorReason::parse("incorrect_data").unwrap().to_uri(),
            "https://ref.gs1.org/cbv/ER-incorrect_data"
        );
    }
}
