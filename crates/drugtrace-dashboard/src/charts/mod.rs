//! Charts as standalone SVG, drawn on the server: no script, no web font, nothing fetched.
//!
//! [`line()`] draws series over labelled points (days), [`bars()`] draws horizontal bars
//! (one per model, say). Both come with axes at "nice" ticks ([`nice_ticks`]), grid lines, a
//! `<title>` and `<desc>` for screen readers, a tooltip (`<title>`) on every point or bar,
//! and a "no data" message instead of an empty or broken plot. Negative values extend below
//! (or left of) a marked zero line; values that are not finite are left out.
//!
//! The SVG has a `viewBox`, so CSS can scale it (`width: 100%; height: auto`); its text uses
//! the system font stack with CJK fonts, set on the root element.

mod bars;
mod line;
mod ticks;

pub use bars::{Bar, BarChart, bars};
pub use line::{LineChart, Series, line};
pub use ticks::{Ticks, nice_ticks, nice_ticks_min_step};

use crate::format;
use crate::html::Html;
use crate::i18n::{Lang, T};

/// The font stack of every page and chart: system fonts, with CJK fonts before the generic
/// fallback so Chinese never renders as boxes.
pub const FONT_STACK: &str = "system-ui, -apple-system, \"Segoe UI\", \"PingFang SC\", \"Hiragino Sans GB\", \"Microsoft YaHei\", \"WenQuanYi Micro Hei\", \"Noto Sans CJK SC\", \"Source Han Sans SC\", sans-serif";

/// What a chart's values are, which decides how axis labels and tooltips show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueFormat {
    /// Counts: `12,345`, axis `1.2万`.
    #[default]
    Count,
    /// Amounts in yuan (not fen): `12,345.00`, axis `1.2万`.
    Yuan,
    /// Fractions shown as percentages: `0.947` → `94.7%`.
    Percent,
}

impl ValueFormat {
    /// The axis ticks for values from `lo` to `hi`: whole steps for counts, a cent at least
    /// for yuan.
    pub fn ticks(self, lo: f64, hi: f64) -> Ticks {
        let min_step = match self {
            ValueFormat::Count => 1.0,
            ValueFormat::Yuan => 0.01,
            ValueFormat::Percent => 0.001,
        };
        nice_ticks_min_step(lo, hi, 5, min_step)
    }

    /// A value exactly, as tooltips and bar ends show it.
    pub fn exact(self, v: f64) -> String {
        match self {
            ValueFormat::Count => format::decimal(v, if v.fract() == 0.0 { 0 } else { 2 }),
            ValueFormat::Yuan => format::decimal(v, 2),
            ValueFormat::Percent => format::percent(v),
        }
    }

    /// The labels of an axis's ticks: one scale (万 or k, …) for all, chosen by the largest,
    /// with as many decimals as the step needs.
    pub fn tick_labels(self, ticks: &Ticks, lang: Lang) -> Vec<String> {
        let values = ticks.values();
        if self == ValueFormat::Percent {
            let d = ticks.decimals(0.01);
            return values
                .iter()
                .map(|v| format!("{}%", format::decimal(v * 100.0, d)))
                .collect();
        }
        let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // (from which largest tick, divide by, suffix): 万 and k start only at five digits,
        // so `2,500` stays a plain number.
        let units: &[(f64, f64, &str)] = match lang {
            Lang::Zh => &[(1e8, 1e8, "亿"), (1e5, 1e4, "万")],
            Lang::En => &[(1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")],
        };
        let (unit, suffix) = units
            .iter()
            .find(|(from, _, _)| largest >= *from)
            .map_or((1.0, ""), |&(_, unit, suffix)| (unit, suffix));
        let d = ticks.decimals(unit);
        values
            .iter()
            .map(|v| {
                if *v == 0.0 {
                    "0".to_owned()
                } else {
                    format!("{}{suffix}", format::decimal(v / unit, d))
                }
            })
            .collect()
    }
}

/// The width `s` takes at `font_size` pixels, estimated: CJK and full-width characters one
/// em, digits and most Latin letters a little over half. Used to lay out labels so they
/// neither overlap nor get clipped.
pub fn text_width(s: &str, font_size: f64) -> f64 {
    let ems: f64 = s
        .chars()
        .map(|c| match c {
            '\u{2e80}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}' | '\u{f900}'..='\u{faff}' => 1.0,
            '\u{ff00}'..='\u{ffef}' => 1.0,
            ' ' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'i' | 'l' | 'j' | 'I' => 0.34,
            '(' | ')' | '[' | ']' | '-' | 'f' | 't' | 'r' => 0.42,
            'm' | 'w' | 'M' | 'W' | '%' => 0.95,
            'A'..='Z' => 0.72,
            _ => 0.62,
        })
        .sum();
    ems * font_size
}

/// `s` cut to fit `max_width` at `font_size`, with an ellipsis when cut.
pub fn truncate_to_width(s: &str, font_size: f64, max_width: f64) -> String {
    if text_width(s, font_size) <= max_width {
        return s.to_owned();
    }
    let budget = max_width - text_width("…", font_size);
    let mut out = String::new();
    let mut used = 0.0;
    for c in s.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]), font_size);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// A coordinate as SVG attributes take it: at most one decimal.
fn n(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// A stable id for a chart's `<title>` and `<desc>`, from what it shows, so two charts on
/// one page do not share ids.
fn chart_id(parts: &[&str]) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("c{:x}", h & 0xffff_ffff)
}

/// Opens the root `<svg>` with its title and description.
fn open_svg(h: &mut Html, width: f64, height: f64, title: &str, desc: &str, id: &str) {
    let title_id = format!("{id}-t");
    let desc_id = format!("{id}-d");
    let labelled_by = format!("{title_id} {desc_id}");
    h.open(
        "svg",
        &[
            ("xmlns", Some("http://www.w3.org/2000/svg")),
            ("class", Some("chart")),
            ("viewBox", Some(&format!("0 0 {} {}", n(width), n(height)))),
            ("width", Some(&n(width))),
            ("height", Some(&n(height))),
            ("role", Some("img")),
            ("aria-labelledby", Some(&labelled_by)),
            ("font-family", Some(FONT_STACK)),
            ("font-size", Some("12")),
        ],
    );
    h.el_text("title", &[("id", Some(&title_id))], title);
    h.el_text("desc", &[("id", Some(&desc_id))], desc);
}

/// Writes the "no data" message centred in a box.
fn no_data(h: &mut Html, x: f64, y: f64, width: f64, height: f64, lang: Lang) {
    h.svg_void(
        "rect",
        &[
            ("x", Some(&n(x))),
            ("y", Some(&n(y))),
            ("width", Some(&n(width))),
            ("height", Some(&n(height))),
            ("fill", Some("#f7f9fc")),
            ("stroke", Some("#dde3ec")),
            ("stroke-dasharray", Some("4 3")),
        ],
    );
    h.el_text(
        "text",
        &[
            ("x", Some(&n(x + width / 2.0))),
            ("y", Some(&n(y + height / 2.0))),
            ("text-anchor", Some("middle")),
            ("dominant-baseline", Some("middle")),
            ("fill", Some("#718096")),
            ("font-size", Some("14")),
            ("class", Some("no-data")),
        ],
        T::NoData.text(lang),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_share_one_scale() {
        let t = nice_ticks(0.0, 250_000.0, 5);
        assert_eq!(
            ValueFormat::Count.tick_labels(&t, Lang::Zh),
            ["0", "10万", "20万", "30万"]
        );
        assert_eq!(
            ValueFormat::Count.tick_labels(&t, Lang::En),
            ["0", "100k", "200k", "300k"]
        );
        let t = nice_ticks(0.0, 12_000.0, 5);
        assert_eq!(
            ValueFormat::Count.tick_labels(&t, Lang::Zh),
            ["0", "5,000", "10,000", "15,000"]
        );
        let t = nice_ticks(0.0, 1.0, 5);
        assert_eq!(
            ValueFormat::Percent.tick_labels(&t, Lang::Zh),
            ["0%", "25%", "50%", "75%", "100%"]
        );
        let t = nice_ticks(0.0, 0.5, 3);
        assert_eq!(
            ValueFormat::Yuan.tick_labels(&t, Lang::Zh),
            ["0", "0.25", "0.50"]
        );
    }

    #[test]
    fn exact_values() {
        assert_eq!(ValueFormat::Count.exact(14057.0), "14,057");
        assert_eq!(ValueFormat::Yuan.exact(1262900.0), "1,262,900.00");
        assert_eq!(ValueFormat::Percent.exact(0.5), "50.0%");
    }

    #[test]
    fn widths_and_truncation() {
        assert!(text_width("药品二次销售", 12.0) > text_width("secondary", 12.0));
        let t = truncate_to_width("一个非常非常长的机构名称在这里", 12.0, 60.0);
        assert!(t.ends_with('…') && text_width(&t, 12.0) <= 60.0);
        assert_eq!(truncate_to_width("短", 12.0, 60.0), "短");
    }
}
