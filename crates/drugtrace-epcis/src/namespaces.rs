//! The namespaces of user extension fields: the prefixes a document declares (in its JSON-LD
//! `@context` or its XML `xmlns:` attributes) and those the EPCIS 2.0 context defines.

use std::collections::BTreeMap;

/// The standard EPCIS 2.0 JSON-LD context, which every written document refers to.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The prefixes the standard context defines, so that a document may use them undeclared.
const DEFAULTS: [(&str, &str); 8] = [
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("gs1", "https://gs1.org/voc/"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
];

/// The prefixes a document declared, each bound to its namespace IRI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespaces {
    declared: BTreeMap<String, String>,
}

impl Namespaces {
    /// No declared prefixes.
    pub fn new() -> Namespaces {
        Namespaces::default()
    }

    /// Binds `prefix` to `iri`, replacing an earlier binding of the same prefix.
    pub fn declare(&mut self, prefix: &str, iri: &str) {
        self.declared.insert(prefix.to_string(), iri.to_string());
    }

    /// The prefixes declared, in order, with their IRIs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.declared.iter().map(|(p, i)| (p.as_str(), i.as_str()))
    }

    /// Whether no prefix is declared.
    pub fn is_empty(&self) -> bool {
        self.declared.is_empty()
    }

    /// The IRI of `prefix`: the declared one, else the standard context's.
    pub fn resolve(&self, prefix: &str) -> Option<&str> {
        self.declared
            .get(prefix)
            .map(String::as_str)
            .or_else(|| DEFAULTS.iter().find(|(p, _)| *p == prefix).map(|(_, i)| *i))
    }

    /// The key of an extension field as the event hash writes it: `{namespace}local` for a
    /// prefixed name whose prefix is known or a full IRI, the name itself otherwise (an
    /// unqualified XML child of an extension element, say).
    pub(crate) fn expand_key(&self, key: &str) -> String {
        if key.contains("://") {
            let split = key.rfind(['/', '#']).map_or(key.len(), |i| i + 1);
            return format!("{{{}}}{}", &key[..split], &key[split..]);
        }
        match key.split_once(':') {
            Some((prefix, local)) => match self.resolve(prefix) {
                Some(iri) => format!("{{{iri}}}{local}"),
                None => key.to_string(),
            },
            None => key.to_string(),
        }
    }

    /// A CURIE value (`gs1:Temperature`) as its full URI, when its prefix is known.
    pub(crate) fn expand_value(&self, value: &str) -> Option<String> {
        let (prefix, local) = value.split_once(':')?;
        if local.starts_with("//") {
            return None;
        }
        self.resolve(prefix).map(|iri| format!("{iri}{local}"))
    }

    /// Adds every binding of `other` that `self` lacks. Returns the prefixes both bind, to
    /// different IRIs.
    pub(crate) fn merge(&mut self, other: &Namespaces) -> Vec<String> {
        let mut clashes = Vec::new();
        for (p, i) in other.iter() {
            match self.declared.get(p) {
                Some(mine) if mine != i => clashes.push(p.to_string()),
                Some(_) => {}
                None => self.declare(p, i),
            }
        }
        clashes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_expand_through_declared_then_default_prefixes() {
        let mut ns = Namespaces::new();
        ns.declare("ext1", "http://example.com/ext1/");
        ns.declare("gs1", "https://example.com/not-gs1/");
        assert_eq!(ns.expand_key("ext1:int"), "{http://example.com/ext1/}int");
        assert_eq!(
            ns.expand_key("cbvmda:lotNumber"),
            "{urn:epcglobal:cbv:mda:}lotNumber"
        );
        assert_eq!(ns.expand_key("gs1:x"), "{https://example.com/not-gs1/}x");
        assert_eq!(ns.expand_key("unknown:x"), "unknown:x");
        assert_eq!(ns.expand_key("part1"), "part1");
        assert_eq!(
            ns.expand_key("http://example.com/ns#field"),
            "{http://example.com/ns#}field"
        );
        assert_eq!(
            ns.expand_value("cbv:Comp-x").as_deref(),
            Some("https://ref.gs1.org/cbv/Comp-x")
        );
        assert_eq!(ns.expand_value("https://example.com/x"), None);
    }
}
