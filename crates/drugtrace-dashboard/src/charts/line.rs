//! Line (and area) charts over labelled points.

use super::{ValueFormat, chart_id, n, no_data, open_svg, text_width};
use crate::html::Html;
use crate::i18n::Lang;

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend's name for it.
    pub name: String,
    /// Its colour, a CSS colour (`#2b6cb0`).
    pub color: String,
    /// One value per point of the chart's `x_labels`; a non-finite value is a gap. Missing
    /// trailing values are gaps too.
    pub values: Vec<f64>,
}

/// A line chart: series of values over labelled points, e.g. days.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// The chart's accessible title (`<title>`).
    pub title: String,
    /// Its accessible description (`<desc>`).
    pub desc: String,
    /// The points' labels, left to right (dates as `YYYY-MM-DD`).
    pub x_labels: Vec<String>,
    /// The lines.
    pub series: Vec<Series>,
    /// How values are shown.
    pub format: ValueFormat,
    /// The unit written above the y axis (`次`, `元`), or empty.
    pub unit: String,
    /// Whether the area under each line is shaded.
    pub area: bool,
    /// Width in pixels of the drawing (it scales with CSS).
    pub width: f64,
    /// Height in pixels.
    pub height: f64,
}

impl LineChart {
    /// A chart of `series` over `x_labels`, 600×260, counts, with shaded areas.
    pub fn new(
        title: impl Into<String>,
        desc: impl Into<String>,
        x_labels: Vec<String>,
        series: Vec<Series>,
    ) -> LineChart {
        LineChart {
            title: title.into(),
            desc: desc.into(),
            x_labels,
            series,
            format: ValueFormat::Count,
            unit: String::new(),
            area: true,
            width: 600.0,
            height: 260.0,
        }
    }
}

const FONT: f64 = 12.0;

/// The chart as an `<svg>` element.
pub fn line(chart: &LineChart, lang: Lang) -> String {
    let width = chart.width.max(200.0);
    let height = chart.height.max(140.0);
    let points = chart.x_labels.len();
    let value = |s: &Series, i: usize| s.values.get(i).copied().filter(|v| v.is_finite());
    let finite: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|s| (0..points).filter_map(move |i| value(s, i)))
        .collect();

    let mut h = Html::new();
    let id = chart_id(&[&chart.title, &chart.desc, &points.to_string(), &n(width)]);
    open_svg(&mut h, width, height, &chart.title, &chart.desc, &id);

    // The legend along the top, right-aligned; the unit at the top left.
    let legend_y = 14.0;
    let mut x = width - 4.0;
    for s in chart.series.iter().rev() {
        let w = text_width(&s.name, FONT);
        x -= w;
        h.el_text(
            "text",
            &[
                ("x", Some(&n(x))),
                ("y", Some(&n(legend_y + 4.0))),
                ("fill", Some("#2d3748")),
            ],
            &s.name,
        );
        x -= 16.0;
        h.svg_void(
            "rect",
            &[
                ("x", Some(&n(x))),
                ("y", Some(&n(legend_y - 4.0))),
                ("width", Some("12")),
                ("height", Some("8")),
                ("rx", Some("2")),
                ("fill", Some(&s.color)),
            ],
        );
        x -= 14.0;
    }

    let top = 34.0;
    let bottom = height - 26.0;
    if finite.is_empty() {
        no_data(&mut h, 8.0, top, width - 16.0, bottom - top, lang);
        h.close("svg");
        return h.finish();
    }

    let lo = finite.iter().copied().fold(0.0f64, f64::min);
    let hi = finite.iter().copied().fold(0.0f64, f64::max);
    let ticks = chart.format.ticks(lo, hi);
    let labels = chart.format.tick_labels(&ticks, lang);
    let label_width = labels
        .iter()
        .map(|l| text_width(l, FONT))
        .fold(0.0, f64::max);
    // The x labels are centred on their points, so the plot keeps half the widest label
    // clear on either side.
    let widest = chart
        .x_labels
        .iter()
        .map(|l| text_width(l, FONT))
        .fold(0.0, f64::max);
    let left = (label_width + 14.0)
        .max(text_width(&chart.unit, FONT) + 4.0)
        .max(widest / 2.0 + 2.0)
        .max(36.0);
    let right = width - (widest / 2.0 + 2.0).max(12.0);
    let (y_min, y_max) = (ticks.min(), ticks.max());
    let y = |v: f64| bottom - (v - y_min) / (y_max - y_min) * (bottom - top);
    let x = |i: usize| {
        if points <= 1 {
            (left + right) / 2.0
        } else {
            left + i as f64 * (right - left) / (points - 1) as f64
        }
    };

    if !chart.unit.is_empty() {
        h.el_text(
            "text",
            &[
                ("x", Some("4")),
                ("y", Some(&n(legend_y + 4.0))),
                ("fill", Some("#718096")),
            ],
            &chart.unit,
        );
    }

    // Grid lines and y labels; the zero line darker.
    h.open("g", &[("class", Some("axis y"))]);
    for (v, label) in ticks.values().into_iter().zip(&labels) {
        let yy = n(y(v));
        let zero = v == 0.0;
        h.svg_void(
            "line",
            &[
                ("x1", Some(&n(left))),
                ("x2", Some(&n(right))),
                ("y1", Some(&yy)),
                ("y2", Some(&yy)),
                ("stroke", Some(if zero { "#a0aec0" } else { "#e6eaf0" })),
                ("stroke-width", Some("1")),
            ],
        );
        h.el_text(
            "text",
            &[
                ("x", Some(&n(left - 8.0))),
                ("y", Some(&yy)),
                ("text-anchor", Some("end")),
                ("dominant-baseline", Some("middle")),
                ("fill", Some("#4a5568")),
            ],
            label,
        );
    }
    h.close("g");

    // X labels, thinned so they do not overlap: every k-th from the first, k chosen (when a
    // little more thinning allows) so that the last point gets its label too.
    let room = if points <= 1 {
        f64::MAX
    } else {
        (right - left) / (points - 1) as f64
    };
    let needed = ((widest + 14.0) / room).ceil().max(1.0) as usize;
    let every = if points > 1 {
        (needed..=needed + needed / 2)
            .find(|&k| (points - 1).is_multiple_of(k))
            .unwrap_or(needed)
    } else {
        1
    };
    h.open("g", &[("class", Some("axis x")), ("fill", Some("#4a5568"))]);
    for (i, label) in chart.x_labels.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let xx = x(i);
        h.svg_void(
            "line",
            &[
                ("x1", Some(&n(xx))),
                ("x2", Some(&n(xx))),
                ("y1", Some(&n(bottom))),
                ("y2", Some(&n(bottom + 4.0))),
                ("stroke", Some("#a0aec0")),
            ],
        );
        h.el_text(
            "text",
            &[
                ("x", Some(&n(xx))),
                ("y", Some(&n(bottom + 18.0))),
                ("text-anchor", Some("middle")),
            ],
            label,
        );
    }
    h.close("g");

    // Areas first, then lines and points over them.
    let baseline = y(0.0f64.clamp(y_min, y_max));
    for s in &chart.series {
        let runs = runs(points, |i| value(s, i));
        if chart.area {
            for run in &runs {
                let mut d = format!("M{},{}", n(x(run[0])), n(baseline));
                for &i in run {
                    d.push_str(&format!(
                        " L{},{}",
                        n(x(i)),
                        n(y(value(s, i).unwrap_or(0.0)))
                    ));
                }
                d.push_str(&format!(" L{},{} Z", n(x(run[run.len() - 1])), n(baseline)));
                h.svg_void(
                    "path",
                    &[
                        ("d", Some(&d)),
                        ("fill", Some(&s.color)),
                        ("fill-opacity", Some("0.12")),
                    ],
                );
            }
        }
        for run in &runs {
            let mut d = String::new();
            for (k, &i) in run.iter().enumerate() {
                let cmd = if k == 0 { "M" } else { " L" };
                d.push_str(&format!(
                    "{cmd}{},{}",
                    n(x(i)),
                    n(y(value(s, i).unwrap_or(0.0)))
                ));
            }
            if run.len() > 1 {
                h.svg_void(
                    "path",
                    &[
                        ("d", Some(&d)),
                        ("fill", Some("none")),
                        ("stroke", Some(&s.color)),
                        ("stroke-width", Some("2")),
                        ("stroke-linejoin", Some("round")),
                        ("stroke-linecap", Some("round")),
                    ],
                );
            }
            // Points when there is room for them, and always for a lone point.
            if points <= 45 || run.len() == 1 {
                for &i in run {
                    h.svg_void(
                        "circle",
                        &[
                            ("cx", Some(&n(x(i)))),
                            ("cy", Some(&n(y(value(s, i).unwrap_or(0.0))))),
                            ("r", Some("2.5")),
                            ("fill", Some("#fff")),
                            ("stroke", Some(&s.color)),
                            ("stroke-width", Some("1.5")),
                        ],
                    );
                }
            }
        }
    }

    // One hover band per point, its tooltip listing every series.
    let band = if points <= 1 {
        right - left
    } else {
        (right - left) / (points - 1) as f64
    };
    h.open("g", &[("class", Some("hover"))]);
    for (i, label) in chart.x_labels.iter().enumerate() {
        let mut tip = label.clone();
        for s in &chart.series {
            let v = value(s, i).map_or_else(
                || crate::format::MISSING.to_owned(),
                |v| chart.format.exact(v),
            );
            tip.push_str(&format!("\n{}: {v}", s.name));
        }
        let x0 = (x(i) - band / 2.0).max(left);
        let x1 = (x(i) + band / 2.0).min(right);
        h.el(
            "rect",
            &[
                ("x", Some(&n(x0))),
                ("y", Some(&n(top))),
                ("width", Some(&n((x1 - x0).max(1.0)))),
                ("height", Some(&n(bottom - top))),
                ("fill", Some("transparent")),
            ],
            |h| {
                h.el_text("title", &[], &tip);
            },
        );
    }
    h.close("g");

    h.close("svg");
    h.finish()
}

/// The indices `0..points` split into runs of consecutive points that have a value.
fn runs(points: usize, value: impl Fn(usize) -> Option<f64>) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    for i in 0..points {
        if value(i).is_some() {
            current.push(i);
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: Vec<f64>) -> LineChart {
        let labels = (1..=values.len())
            .map(|d| format!("2025-06-{d:02}"))
            .collect();
        LineChart::new(
            "<b>扫码</b>",
            "desc",
            labels,
            vec![Series {
                name: "扫码".into(),
                color: "#2b6cb0".into(),
                values,
            }],
        )
    }

    #[test]
    fn draws_axes_title_and_points() {
        let svg = line(&chart(vec![3.0, 10.0, 7.0]), Lang::Zh);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<title id="));
        assert!(svg.contains("&lt;b&gt;扫码&lt;/b&gt;"));
        assert!(svg.contains("<desc id="));
        assert!(svg.contains("2025-06-01"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn empty_or_non_finite_data_says_no_data() {
        for values in [vec![], vec![f64::NAN, f64::INFINITY]] {
            let svg = line(&chart(values), Lang::En);
            assert!(svg.contains("No data"), "{svg}");
            assert!(!svg.contains("NaN"));
        }
        let mut c = chart(vec![1.0]);
        c.x_labels.clear();
        assert!(line(&c, Lang::Zh).contains("暂无数据"));
    }

    #[test]
    fn zeros_negatives_single_points_and_gaps_render() {
        for values in [
            vec![0.0, 0.0, 0.0],
            vec![-5.0, 3.0, -1.0],
            vec![42.0],
            vec![1.0, f64::NAN, 3.0, 4.0],
        ] {
            let svg = line(&chart(values.clone()), Lang::Zh);
            assert!(
                !svg.contains("NaN") && !svg.contains("inf"),
                "{values:?}: {svg}"
            );
            assert!(svg.contains("<circle"), "{values:?}");
        }
        let gapped = line(&chart(vec![1.0, f64::NAN, 3.0, 4.0]), Lang::Zh);
        // One run of one point (no line) and one of two (a line): one stroke path.
        assert_eq!(gapped.matches("stroke-linejoin").count(), 1);
    }

    #[test]
    fn many_points_thin_the_labels() {
        let svg = line(&chart((0..90).map(f64::from).collect()), Lang::Zh);
        let shown = svg.matches("text-anchor=\"middle\"").count();
        assert!(shown < 15, "{shown} x labels");
    }
}
