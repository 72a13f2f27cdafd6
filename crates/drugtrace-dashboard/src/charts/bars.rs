//! Horizontal bar charts: one labelled bar per category.

use super::{ValueFormat, chart_id, n, no_data, open_svg, text_width, truncate_to_width};
use crate::html::Html;
use crate::i18n::Lang;

/// One bar of a [`BarChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The category, written left of the bar.
    pub label: String,
    /// The bar's length; a non-finite value draws no bar and shows `—`.
    pub value: f64,
    /// Its colour, a CSS colour.
    pub color: String,
    /// A link the bar and its label lead to, if any.
    pub href: Option<String>,
    /// A second figure shown after the value, e.g. the amount `¥12,345.00`.
    pub caption: Option<String>,
}

/// A horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// The chart's accessible title (`<title>`).
    pub title: String,
    /// Its accessible description (`<desc>`).
    pub desc: String,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
    /// How values are shown.
    pub format: ValueFormat,
    /// Width in pixels of the drawing (it scales with CSS); the height follows the bars.
    pub width: f64,
}

impl BarChart {
    /// A chart of `bars`, 600 wide, counts.
    pub fn new(title: impl Into<String>, desc: impl Into<String>, bars: Vec<Bar>) -> BarChart {
        BarChart {
            title: title.into(),
            desc: desc.into(),
            bars,
            format: ValueFormat::Count,
            width: 600.0,
        }
    }
}

const FONT: f64 = 12.0;
const ROW: f64 = 34.0;
const BAR: f64 = 20.0;

/// The chart as an `<svg>` element.
pub fn bars(chart: &BarChart, lang: Lang) -> String {
    let width = chart.width.max(240.0);
    let top = 8.0;
    let axis = 24.0;
    let rows = chart.bars.len();
    let finite: Vec<f64> = chart
        .bars
        .iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .collect();
    let height = if finite.is_empty() {
        120.0
    } else {
        top + rows as f64 * ROW + axis
    };

    let mut h = Html::new();
    let id = chart_id(&[&chart.title, &chart.desc, &rows.to_string(), &n(width)]);
    open_svg(&mut h, width, height, &chart.title, &chart.desc, &id);
    if finite.is_empty() {
        no_data(&mut h, 8.0, 8.0, width - 16.0, height - 16.0, lang);
        h.close("svg");
        return h.finish();
    }

    let value_text = |b: &Bar| {
        let v = if b.value.is_finite() {
            chart.format.exact(b.value)
        } else {
            crate::format::MISSING.to_owned()
        };
        match &b.caption {
            Some(c) => format!("{v} · {c}"),
            None => v,
        }
    };
    // The label column takes what the longest label needs, up to 38% of the width; the
    // value column what the longest value needs.
    let label_col = chart
        .bars
        .iter()
        .map(|b| text_width(&b.label, FONT))
        .fold(0.0, f64::max)
        .min(width * 0.38)
        + 12.0;
    let value_col = chart
        .bars
        .iter()
        .map(|b| text_width(&value_text(b), FONT))
        .fold(0.0, f64::max)
        + 10.0;
    let lo = finite.iter().copied().fold(0.0f64, f64::min);
    let hi = finite.iter().copied().fold(0.0f64, f64::max);
    let ticks = chart.format.ticks(lo, hi);
    let negative_room = if lo < 0.0 { value_col } else { 0.0 };
    let left = label_col + negative_room;
    let right = width - value_col - 4.0;
    let (x_min, x_max) = (ticks.min(), ticks.max());
    let x = |v: f64| left + (v - x_min) / (x_max - x_min) * (right - left);
    let plot_bottom = top + rows as f64 * ROW;

    // Vertical grid lines with labels below.
    h.open("g", &[("class", Some("axis x")), ("fill", Some("#4a5568"))]);
    let labels = chart.format.tick_labels(&ticks, lang);
    for (v, label) in ticks.values().into_iter().zip(&labels) {
        let xx = n(x(v));
        h.svg_void(
            "line",
            &[
                ("x1", Some(&xx)),
                ("x2", Some(&xx)),
                ("y1", Some(&n(top))),
                ("y2", Some(&n(plot_bottom))),
                ("stroke", Some(if v == 0.0 { "#a0aec0" } else { "#e6eaf0" })),
            ],
        );
        h.el_text(
            "text",
            &[
                ("x", Some(&xx)),
                ("y", Some(&n(plot_bottom + 16.0))),
                ("text-anchor", Some("middle")),
            ],
            label,
        );
    }
    h.close("g");

    let zero = x(0.0f64.clamp(x_min, x_max));
    for (row, b) in chart.bars.iter().enumerate() {
        let cy = top + row as f64 * ROW + ROW / 2.0;
        let value = value_text(b);
        let body = |h: &mut Html| {
            h.el_text("title", &[], &format!("{}: {value}", b.label));
            let shown = truncate_to_width(&b.label, FONT, label_col - 12.0);
            h.el_text(
                "text",
                &[
                    ("x", Some(&n(label_col - 8.0))),
                    ("y", Some(&n(cy))),
                    ("text-anchor", Some("end")),
                    ("dominant-baseline", Some("middle")),
                    ("fill", Some("#1a202c")),
                    ("class", Some("label")),
                ],
                &shown,
            );
            if b.value.is_finite() {
                let end = x(b.value);
                let (x0, x1) = if end >= zero {
                    (zero, end)
                } else {
                    (end, zero)
                };
                h.svg_void(
                    "rect",
                    &[
                        ("x", Some(&n(x0))),
                        ("y", Some(&n(cy - BAR / 2.0))),
                        // A zero still shows a hairline, so the row does not look empty.
                        ("width", Some(&n((x1 - x0).max(1.0)))),
                        ("height", Some(&n(BAR))),
                        ("rx", Some("2")),
                        ("fill", Some(&b.color)),
                    ],
                );
                let (tx, anchor) = if b.value < 0.0 {
                    (x0 - 6.0, "end")
                } else {
                    (x1 + 6.0, "start")
                };
                h.el_text(
                    "text",
                    &[
                        ("x", Some(&n(tx))),
                        ("y", Some(&n(cy))),
                        ("text-anchor", Some(anchor)),
                        ("dominant-baseline", Some("middle")),
                        ("fill", Some("#2d3748")),
                        ("class", Some("value")),
                    ],
                    &value,
                );
            } else {
                h.el_text(
                    "text",
                    &[
                        ("x", Some(&n(zero + 6.0))),
                        ("y", Some(&n(cy))),
                        ("dominant-baseline", Some("middle")),
                        ("fill", Some("#718096")),
                    ],
                    &value,
                );
            }
        };
        match &b.href {
            Some(href) => {
                h.el("a", &[("href", Some(href))], |h| {
                    h.el("g", &[("class", Some("bar"))], body);
                });
            }
            None => {
                h.el("g", &[("class", Some("bar"))], body);
            }
        }
    }
    h.close("svg");
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            color: "#4e79a7".into(),
            href: None,
            caption: None,
        }
    }

    #[test]
    fn one_bar_per_category_with_values() {
        let mut chart = BarChart::new("t", "d", vec![bar("二次销售", 120.0), bar("串换", 45.0)]);
        chart.bars[0].href = Some("/m?a=1&b=2".into());
        let svg = bars(&chart, Lang::Zh);
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
        assert!(svg.contains(">120<") && svg.contains(">45<"));
        assert!(svg.contains("href=\"/m?a=1&amp;b=2\""));
    }

    #[test]
    fn empty_and_non_finite_say_no_data() {
        for chart in [
            BarChart::new("t", "d", vec![]),
            BarChart::new("t", "d", vec![bar("x", f64::NAN)]),
        ] {
            let svg = bars(&chart, Lang::En);
            assert!(svg.contains("No data"));
            assert!(!svg.contains("NaN"));
        }
    }

    #[test]
    fn negatives_and_zeros_draw_from_the_zero_line() {
        let svg = bars(
            &BarChart::new(
                "t",
                "d",
                vec![
                    bar("a", -30.0),
                    bar("b", 0.0),
                    bar("c", 50.0),
                    bar("d", f64::NAN),
                ],
            ),
            Lang::Zh,
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(svg.contains(">-30<"));
        assert!(svg.contains(">—<"));
        assert!(
            svg.contains("stroke=\"#a0aec0\""),
            "the zero line is marked"
        );
    }

    #[test]
    fn long_labels_are_cut_with_the_full_text_in_the_tooltip() {
        let long = "一个名称非常非常非常非常非常非常非常非常长的分析模型";
        let svg = bars(&BarChart::new("t", "d", vec![bar(long, 1.0)]), Lang::Zh);
        assert!(svg.contains('…'));
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
    }
}
