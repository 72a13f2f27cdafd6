//! A small HTML (and SVG) builder that escapes everything it is not told is markup.
//!
//! Element and attribute names are `&'static str`, so they can only come from this crate's
//! code; text and attribute values are always escaped. The one way to add markup unescaped is
//! [`Html::raw`], used for this crate's own output (a chart's SVG, the stylesheet).

use std::borrow::Cow;

/// Escapes `s` for HTML text and for attribute values in double or single quotes:
/// `&`, `<`, `>`, `"` and `'` become character references.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A document under construction.
#[derive(Debug, Default, Clone)]
pub struct Html {
    buf: String,
}

impl Html {
    /// An empty document.
    pub fn new() -> Html {
        Html::default()
    }

    /// Appends `s` as text, escaped.
    pub fn text(&mut self, s: &str) -> &mut Html {
        self.buf.push_str(&escape(s));
        self
    }

    /// Appends `markup` unescaped. Only for markup this crate produced itself.
    pub fn raw(&mut self, markup: &str) -> &mut Html {
        self.buf.push_str(markup);
        self
    }

    /// Appends a start tag with escaped attribute values. An attribute whose value is `None`
    /// is left out, which is how optional and boolean attributes are written
    /// (`("selected", Some(""))`).
    pub fn open(&mut self, tag: &'static str, attrs: &[(&'static str, Option<&str>)]) -> &mut Html {
        self.buf.push('<');
        self.buf.push_str(tag);
        for (name, value) in attrs {
            if let Some(value) = value {
                self.buf.push(' ');
                self.buf.push_str(name);
                self.buf.push_str("=\"");
                self.buf.push_str(&escape(value));
                self.buf.push('"');
            }
        }
        self.buf.push('>');
        self
    }

    /// Appends an end tag.
    pub fn close(&mut self, tag: &'static str) -> &mut Html {
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    /// Appends an element whose content `body` writes.
    pub fn el(
        &mut self,
        tag: &'static str,
        attrs: &[(&'static str, Option<&str>)],
        body: impl FnOnce(&mut Html),
    ) -> &mut Html {
        self.open(tag, attrs);
        body(self);
        self.close(tag)
    }

    /// Appends an element holding `text`, escaped.
    pub fn el_text(
        &mut self,
        tag: &'static str,
        attrs: &[(&'static str, Option<&str>)],
        text: &str,
    ) -> &mut Html {
        self.open(tag, attrs);
        self.text(text);
        self.close(tag)
    }

    /// Appends an element without content (`<input>`, `<br>`, or a self-closed SVG element).
    pub fn void(&mut self, tag: &'static str, attrs: &[(&'static str, Option<&str>)]) -> &mut Html {
        self.open(tag, attrs);
        self
    }

    /// Appends a self-closing SVG element (`<rect … />`).
    pub fn svg_void(
        &mut self,
        tag: &'static str,
        attrs: &[(&'static str, Option<&str>)],
    ) -> &mut Html {
        self.open(tag, attrs);
        self.buf.pop();
        self.buf.push_str("/>");
        self
    }

    /// The markup written so far.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// The finished markup.
    pub fn finish(self) -> String {
        self.buf
    }
}

/// Percent-encodes `s` for a URL path segment or query value: everything but the unreserved
/// characters `A-Z a-z 0-9 - . _ ~` is written as `%XX` of its UTF-8 bytes.
pub fn url_encode(s: &str) -> Cow<'_, str> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if s.bytes().all(keep) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert!(matches!(escape("云南白药 plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn builder_escapes_text_and_attribute_values() {
        let mut h = Html::new();
        h.el(
            "a",
            &[("href", Some("/x?a=1&b=\"2\"")), ("title", None)],
            |h| {
                h.text("<b>bold</b>");
            },
        );
        assert_eq!(
            h.finish(),
            "<a href=\"/x?a=1&amp;b=&quot;2&quot;\">&lt;b&gt;bold&lt;/b&gt;</a>"
        );
    }

    #[test]
    fn svg_void_self_closes() {
        let mut h = Html::new();
        h.svg_void("rect", &[("x", Some("1"))]);
        assert_eq!(h.finish(), "<rect x=\"1\"/>");
    }

    #[test]
    fn url_encode_keeps_unreserved_only() {
        assert_eq!(url_encode("81000010000000000001"), "81000010000000000001");
        assert_eq!(url_encode("a b/c?d&e"), "a%20b%2Fc%3Fd%26e");
        assert_eq!(url_encode("福"), "%E7%A6%8F");
    }
}
