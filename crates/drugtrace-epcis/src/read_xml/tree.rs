//! The XML text as a tree of elements, namespace prefixes resolved: all the XML-level work
//! (well-formedness, entities, namespaces) happens here, so the conversion to JSON-LD works
//! on plain values.

use quick_xml::events::Event as XmlEvent;

use super::XSI;
use crate::error::ReadError;

/// One element, its names resolved.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) prefix: Option<String>,
    pub(super) local: String,
    pub(super) ns: Option<String>,
    pub(super) attrs: Vec<Attr>,
    pub(super) children: Vec<Node>,
    pub(super) text: String,
}

/// One attribute (namespace declarations excluded).
#[derive(Debug)]
pub(super) struct Attr {
    pub(super) prefix: Option<String>,
    pub(super) local: String,
    pub(super) ns: Option<String>,
    pub(super) value: String,
}

impl Node {
    /// Whether the element is unqualified (as EPCIS's standard elements are) and named `name`.
    pub(super) fn is(&self, name: &str) -> bool {
        self.ns.is_none() && self.local == name
    }

    pub(super) fn text(&self) -> &str {
        self.text.trim()
    }

    /// Whether the element is marked `xsi:nil="true"`: present, but without a value.
    pub(super) fn is_nil(&self) -> bool {
        self.attrs.iter().any(|a| {
            a.ns.as_deref() == Some(XSI)
                && a.local == "nil"
                && matches!(a.value.trim(), "true" | "1")
        })
    }

    pub(super) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == name)
            .map(|a| a.value.as_str())
    }

    /// The children, with EPCIS 1.x `extension`/`baseExtension` wrappers dissolved.
    pub(super) fn flat_children(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        for c in &self.children {
            if c.is("extension") || c.is("baseExtension") {
                out.extend(c.flat_children());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// Parses the text into a tree, resolving namespace prefixes.
pub(super) fn parse_tree(text: &str) -> Result<Node, ReadError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let line_at = |pos: u64| {
        text.as_bytes()[..(pos as usize).min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let xml_err = |pos: u64, message: String| ReadError::Xml {
        line: line_at(pos),
        message,
    };
    // Each open element's namespace declarations, innermost last.
    let mut scopes: Vec<Vec<(Option<String>, String)>> = Vec::new();
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| xml_err(reader.buffer_position(), e.to_string()))?;
        match event {
            XmlEvent::Start(_) | XmlEvent::Empty(_) if root.is_some() => {
                return Err(xml_err(pos, "content after the root element".to_string()));
            }
            XmlEvent::Start(ref start) | XmlEvent::Empty(ref start) => {
                let mut decls = Vec::new();
                let mut raw_attrs = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| xml_err(pos, e.to_string()))?;
                    let key = attr.key.into_inner().to_string();
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| xml_err(pos, e.to_string()))?
                        .into_owned();
                    if key == "xmlns" {
                        decls.push((None, value));
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        decls.push((Some(p.to_string()), value));
                    } else {
                        raw_attrs.push((key, value));
                    }
                }
                scopes.push(decls);
                let resolve = |prefix: Option<&str>| -> Option<String> {
                    scopes
                        .iter()
                        .rev()
                        .flat_map(|s| s.iter())
                        .find(|(p, _)| p.as_deref() == prefix)
                        .map(|(_, ns)| ns.clone())
                        .filter(|ns| !ns.is_empty())
                };
                let qname = start.name().into_inner().to_string();
                let (prefix, local) = split_qname(&qname);
                let ns = match prefix {
                    Some("xml") => Some("http://www.w3.org/XML/1998/namespace".to_string()),
                    Some(p) => Some(resolve(Some(p)).ok_or_else(|| {
                        xml_err(
                            pos,
                            format!("the prefix {p:?} of element <{qname}> is not declared"),
                        )
                    })?),
                    None => resolve(None),
                };
                let mut attrs = Vec::new();
                for (key, value) in raw_attrs {
                    let (p, l) = split_qname(&key);
                    let ns = match p {
                        Some("xml") => Some("http://www.w3.org/XML/1998/namespace".to_string()),
                        Some(p) => Some(resolve(Some(p)).ok_or_else(|| {
                            xml_err(pos, format!("the prefix {p:?} of attribute {key} on <{qname}> is not declared"))
                        })?),
                        None => None,
                    };
                    attrs.push(Attr {
                        prefix: p.map(str::to_string),
                        local: l.to_string(),
                        ns,
                        value,
                    });
                }
                let node = Node {
                    prefix: prefix.map(str::to_string),
                    local: local.to_string(),
                    ns,
                    attrs,
                    children: Vec::new(),
                    text: String::new(),
                };
                if matches!(event, XmlEvent::Empty(_)) {
                    scopes.pop();
                    close(node, &mut stack, &mut root);
                } else {
                    stack.push(node);
                }
            }
            XmlEvent::End(_) => {
                scopes.pop();
                let node = stack
                    .pop()
                    .ok_or_else(|| xml_err(pos, "an end tag without a start".to_string()))?;
                close(node, &mut stack, &mut root);
            }
            XmlEvent::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(xml_err(pos, "text outside the root element".to_string())),
                }
            }
            XmlEvent::CData(t) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&t.xml10_content());
                }
            }
            XmlEvent::GeneralRef(r) => {
                let resolved = match r
                    .resolve_char_ref()
                    .map_err(|e| xml_err(pos, e.to_string()))?
                {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| xml_err(pos, format!("unknown entity &{};", &*r)))?
                        .to_string(),
                };
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&resolved);
                }
            }
            XmlEvent::Eof => break,
            // Declarations, comments, processing instructions and the DOCTYPE carry no data.
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(xml_err(
            text.len() as u64,
            "the document ends inside an element".to_string(),
        ));
    }
    root.ok_or_else(|| xml_err(0, "no root element".to_string()))
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(node: Node, stack: &mut [Node], root: &mut Option<Node>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => *root = Some(node),
    }
}

pub(super) fn split_qname(qname: &str) -> (Option<&str>, &str) {
    match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname),
    }
}
