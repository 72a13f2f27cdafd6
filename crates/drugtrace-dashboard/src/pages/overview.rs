//! The overview: key figures, activity and interceptions per day, findings per model, the
//! institutions where findings concentrate, and the regions.

use drugtrace_money::Fen;
use jiff::Timestamp;

use crate::Ctx;
use crate::charts::{self, Bar, BarChart, LineChart, Series, ValueFormat};
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::layout::{self, Col, Frame, Kpi, Section, Tone};
use crate::pages::live::{self, Ticker};
use crate::types::{DayPoint, InstitutionKind, ModelCount, Period, institution_kind_label};

/// The colour of scans in every chart.
pub const SCANS_COLOR: &str = "#1f5fa8";
/// The colour of sales in every chart.
pub const SALES_COLOR: &str = "#2f9e8f";
/// The colour of blocked payments in every chart.
pub const BLOCKED_COLOR: &str = "#c53030";

/// What the overview shows.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Overview {
    /// The period the figures cover.
    pub period: Period,
    /// When the figures were computed, if known.
    pub as_of: Option<Timestamp>,
    /// The period's totals.
    pub totals: Totals,
    /// Activity per day, oldest first.
    pub per_day: Vec<DayPoint>,
    /// Findings per model, in the order to show (largest first, say).
    pub findings_per_model: Vec<ModelCount>,
    /// Figures per region, in the order to show.
    pub regions: Vec<RegionRow>,
    /// The institutions with the most findings, highest first.
    pub top_institutions: Vec<InstitutionRank>,
    /// Today's blocked sales as they happen, when the server keeps the live feed, with the
    /// script's URL.
    pub live: Option<(Ticker, String)>,
}

/// The period's totals, for the key-figure tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Totals {
    /// Events recorded (scans of every kind).
    pub events: u64,
    /// Sales that went through.
    pub sales: u64,
    /// Distinct trace codes seen, if counted.
    pub packs: Option<u64>,
    /// Repeat payments blocked.
    pub interceptions: u64,
    /// Their amount.
    pub intercepted_amount_fen: Fen,
    /// Findings of all models.
    pub findings: u64,
    /// Institutions with at least one finding.
    pub institutions_with_findings: u64,
    /// Clues issued and not yet concluded.
    pub open_clues: u64,
    /// Of those, the ones past their deadline.
    pub overdue_clues: u64,
}

/// One region's figures.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RegionRow {
    /// The province.
    pub province: String,
    /// The city (empty for a province's own row).
    pub city: String,
    /// Institutions reporting.
    pub institutions: u64,
    /// Scan events.
    pub scans: u64,
    /// Findings.
    pub findings: u64,
    /// Amount involved in the findings.
    pub amount_fen: Fen,
    /// Share of sales whose trace codes were uploaded (0.0 to 1.0), if known.
    pub upload_rate: Option<f64>,
}

/// An institution in the ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InstitutionRank {
    /// Its code (links to its page).
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its kind, if known.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::types::ser::institution_kind")
    )]
    pub kind: Option<InstitutionKind>,
    /// Its province.
    pub province: String,
    /// Its city.
    pub city: String,
    /// Its findings.
    pub findings: u64,
    /// Amount involved.
    pub amount_fen: Fen,
    /// The models that found something there.
    pub models: Vec<String>,
}

/// The overview page.
pub fn render_overview(data: &Overview, ctx: &Ctx) -> String {
    let title = ctx.t(T::OverviewTitle);
    let frame = Frame {
        title: title.to_owned(),
        section: Section::Overview,
        crumbs: vec![],
        ctx,
    };
    layout::page(frame, |h| {
        let mut sub = period_text(ctx, &data.period);
        if let Some(at) = data.as_of {
            sub.push_str(&format!(
                " · {} {}",
                ctx.t(T::DataAsOf),
                format::datetime(at, ctx.utc_offset_minutes)
            ));
        }
        layout::page_head(h, title, Some(&sub), |_| {});
        tiles(h, ctx, &data.totals);
        if let Some((ticker, script)) = &data.live {
            live::render_ticker(h, ctx, ticker, script);
        }
        h.el("div", &[("class", Some("grid2"))], |h| {
            let (step, points) = stepped(&data.per_day);
            layout::card(h, ctx.t(step.scans_title()), None, |h| {
                layout::chart(h, |size| activity_chart(ctx, (step, &points), size));
            });
            layout::card(h, ctx.t(step.interceptions_title()), None, |h| {
                layout::chart(h, |size| interceptions_chart(ctx, (step, &points), size));
            });
        });
        h.el("div", &[("class", Some("grid-wide"))], |h| {
            layout::card(h, ctx.t(T::ChartModelsTitle), None, |h| {
                // The narrower column of a 5:7 split at 1280 pixels.
                layout::chart_sized(h, (470.0, 0.0), |(width, _)| {
                    models_chart(ctx, &data.findings_per_model, width)
                });
                if !data.findings_per_model.is_empty() {
                    h.el_text(
                        "p",
                        &[("class", Some("chart-hint"))],
                        ctx.t(T::ChartModelsHint),
                    );
                }
            });
            layout::card(h, ctx.t(T::TopInstitutionsTitle), None, |h| {
                top_institutions(h, ctx, &data.top_institutions);
            });
        });
        layout::card(h, ctx.t(T::RegionsTitle), None, |h| {
            regions(h, ctx, &data.regions)
        });
    })
}

/// `统计期间 2025-05-01 至 2025-05-31`.
pub(crate) fn period_text(ctx: &Ctx, period: &Period) -> String {
    format!(
        "{} {} {} {}",
        ctx.t(T::Period),
        format::date(period.from),
        ctx.t(T::PeriodTo),
        format::date(period.to)
    )
}

fn tiles(h: &mut Html, ctx: &Ctx, t: &Totals) {
    let share = if t.sales > 0 {
        Some((
            format!(
                "{} {}",
                ctx.t(T::KpiInterceptionRate),
                format::percent(t.interceptions as f64 / t.sales as f64)
            ),
            false,
        ))
    } else {
        None
    };
    let mut tiles = vec![Kpi {
        label: ctx.t(T::KpiEvents),
        value: format::int(t.events),
        note: t.packs.map(|_| {
            (
                format!("{} {}", ctx.t(T::KpiSales), format::int(t.sales)),
                false,
            )
        }),
        tone: Tone::Info,
    }];
    tiles.push(match t.packs {
        Some(packs) => Kpi {
            label: ctx.t(T::KpiPacks),
            value: format::int(packs),
            note: None,
            tone: Tone::Info,
        },
        None => Kpi {
            label: ctx.t(T::KpiSales),
            value: format::int(t.sales),
            note: None,
            tone: Tone::Info,
        },
    });
    tiles.extend([
        Kpi {
            label: ctx.t(T::KpiInterceptions),
            value: format::int(t.interceptions),
            note: share,
            tone: Tone::Bad,
        },
        Kpi {
            label: ctx.t(T::KpiInterceptedAmount),
            value: format::yuan(t.intercepted_amount_fen),
            note: None,
            tone: Tone::Bad,
        },
        Kpi {
            label: ctx.t(T::KpiFindings),
            value: format::int(t.findings),
            note: Some((
                format!(
                    "{} {}",
                    ctx.t(T::KpiInstitutionsWithFindings),
                    format::int(t.institutions_with_findings)
                ),
                false,
            )),
            tone: Tone::Warn,
        },
        Kpi {
            label: ctx.t(T::KpiOpenClues),
            value: format::int(t.open_clues),
            note: Some((
                format!(
                    "{} {}",
                    ctx.t(T::KpiOverdueClues),
                    format::int(t.overdue_clues)
                ),
                t.overdue_clues > 0,
            )),
            tone: if t.overdue_clues > 0 {
                Tone::Bad
            } else {
                Tone::Plain
            },
        },
    ]);
    layout::kpis(h, &tiles);
}

/// Points a per-day chart draws at most. Each carries a tooltip and is drawn twice (wide and
/// narrow), so a longer period is drawn per week, and a much longer one per month: the page
/// stays small whatever the period (three years of days made the overview 744 KB).
pub(crate) const MAX_POINTS: usize = 120;

/// The step of a chart's points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Day,
    Week,
    Month,
}

impl Step {
    /// The scans chart's title at this step.
    pub(crate) fn scans_title(self) -> T {
        match self {
            Step::Day => T::ChartScansTitle,
            Step::Week => T::ChartScansTitleWeekly,
            Step::Month => T::ChartScansTitleMonthly,
        }
    }

    /// The interceptions chart's title at this step.
    pub(crate) fn interceptions_title(self) -> T {
        match self {
            Step::Day => T::ChartInterceptionsTitle,
            Step::Week => T::ChartInterceptionsTitleWeekly,
            Step::Month => T::ChartInterceptionsTitleMonthly,
        }
    }
}

/// `days` (oldest first) per day, else per week from Monday, else per month: the finest step
/// that gives at most [`MAX_POINTS`] points (per month whatever the count). A week's or a
/// month's point is dated by its first day and sums its days.
pub(crate) fn stepped(days: &[DayPoint]) -> (Step, Vec<DayPoint>) {
    if days.len() <= MAX_POINTS {
        return (Step::Day, days.to_vec());
    }
    let weekly = bucket(days, |d| {
        let back = i64::from(d.weekday().to_monday_zero_offset());
        d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d)
    });
    if weekly.len() <= MAX_POINTS {
        return (Step::Week, weekly);
    }
    (Step::Month, bucket(days, |d| d.first_of_month()))
}

fn bucket(
    days: &[DayPoint],
    start: impl Fn(jiff::civil::Date) -> jiff::civil::Date,
) -> Vec<DayPoint> {
    let mut out: Vec<DayPoint> = Vec::new();
    for d in days {
        let at = start(d.date);
        match out.last_mut() {
            Some(last) if last.date == at => {
                last.scans += d.scans;
                last.sales += d.sales;
                last.interceptions += d.interceptions;
                last.intercepted_fen = last.intercepted_fen.saturating_add(d.intercepted_fen);
            }
            _ => out.push(DayPoint { date: at, ..*d }),
        }
    }
    out
}

fn day_labels(step: Step, days: &[DayPoint]) -> Vec<String> {
    days.iter()
        .map(|d| match step {
            Step::Month => format!("{:04}-{:02}", d.date.year(), d.date.month()),
            Step::Day | Step::Week => format::date(d.date),
        })
        .collect()
}

/// Scans and sales per day (or per `step`).
pub(crate) fn activity_chart(
    ctx: &Ctx,
    (step, days): (Step, &[DayPoint]),
    (width, height): (f64, f64),
) -> String {
    let mut chart = LineChart::new(
        ctx.t(step.scans_title()),
        ctx.t(T::ChartScansDesc),
        day_labels(step, days),
        vec![
            Series {
                name: ctx.t(T::SeriesScans).to_owned(),
                color: SCANS_COLOR.to_owned(),
                values: days.iter().map(|d| d.scans as f64).collect(),
            },
            Series {
                name: ctx.t(T::SeriesSales).to_owned(),
                color: SALES_COLOR.to_owned(),
                values: days.iter().map(|d| d.sales as f64).collect(),
            },
        ],
    );
    chart.unit = ctx.t(T::UnitTimes).to_owned();
    chart.width = width;
    chart.height = height;
    charts::line(&chart, ctx.lang)
}

/// Blocked repeat payments per day (or per `step`).
pub(crate) fn interceptions_chart(
    ctx: &Ctx,
    (step, days): (Step, &[DayPoint]),
    (width, height): (f64, f64),
) -> String {
    let mut chart = LineChart::new(
        ctx.t(step.interceptions_title()),
        ctx.t(T::ChartInterceptionsDesc),
        day_labels(step, days),
        vec![Series {
            name: ctx.t(T::SeriesInterceptions).to_owned(),
            color: BLOCKED_COLOR.to_owned(),
            values: days.iter().map(|d| d.interceptions as f64).collect(),
        }],
    );
    chart.unit = ctx.t(T::UnitTimes).to_owned();
    chart.width = width;
    chart.height = height;
    charts::line(&chart, ctx.lang)
}

/// Findings per model, each bar in the model's colour, its amount as the caption.
pub(crate) fn models_chart(ctx: &Ctx, models: &[ModelCount], width: f64) -> String {
    let bars = models
        .iter()
        .map(|m| Bar {
            label: ctx.model_title(&m.model).to_owned(),
            value: m.findings as f64,
            color: ctx.model_color(&m.model).to_owned(),
            href: Some(ctx.href(&crate::ctx::with_param(
                &format!("{}/clues", ctx.base),
                "model",
                Some(&m.model),
            ))),
            caption: Some(format!("¥{}", format::yuan(m.amount_fen))),
        })
        .collect();
    let mut chart = BarChart::new(ctx.t(T::ChartModelsTitle), ctx.t(T::ChartModelsDesc), bars);
    chart.format = ValueFormat::Count;
    chart.width = width;
    charts::bars(&chart, ctx.lang)
}

fn top_institutions(h: &mut Html, ctx: &Ctx, rows: &[InstitutionRank]) {
    let cols = [
        Col(ctx.t(T::Rank), true),
        Col(ctx.t(T::Institution), false),
        Col(ctx.t(T::Models), false),
        Col(ctx.t(T::Findings), true),
        Col(ctx.t(T::AmountInvolved), true),
    ];
    layout::table(h, ctx, &cols, rows.is_empty(), |h| {
        for (i, r) in rows.iter().enumerate() {
            h.el("tr", &[], |h| {
                layout::td_num(h, &(i + 1).to_string());
                h.el("td", &[("class", Some("inst"))], |h| {
                    h.el_text(
                        "a",
                        &[("href", Some(&ctx.institution_url(&r.code)))],
                        &r.name,
                    );
                    h.el("div", &[("class", Some("small"))], |h| {
                        h.el_text("span", &[("class", Some("mono"))], &r.code);
                        if let Some(kind) = r.kind {
                            h.text(" · ").text(ctx.t(institution_kind_label(kind)));
                        }
                        let place = layout::place(&r.province, &r.city);
                        if !place.is_empty() {
                            h.text(" · ").text(&place);
                        }
                    });
                });
                h.el("td", &[], |h| {
                    for m in &r.models {
                        layout::model_chip(h, ctx, m);
                    }
                });
                layout::td_num(h, &format::int(r.findings));
                layout::td_num(h, &format::yuan(r.amount_fen));
            });
        }
    });
}

fn regions(h: &mut Html, ctx: &Ctx, rows: &[RegionRow]) {
    let cols = [
        Col(ctx.t(T::Province), false),
        Col(ctx.t(T::City), false),
        Col(ctx.t(T::Institutions), true),
        Col(ctx.t(T::Scans), true),
        Col(ctx.t(T::Findings), true),
        Col(ctx.t(T::AmountInvolved), true),
        Col(ctx.t(T::UploadRate), true),
    ];
    let most = rows.iter().map(|r| r.findings).max().unwrap_or(0);
    let rows_html = |h: &mut Html| {
        for r in rows {
            h.el("tr", &[], |h| {
                layout::td(h, &r.province);
                layout::td(h, &r.city);
                layout::td_num(h, &format::int(r.institutions));
                layout::td_num(h, &format::int(r.scans));
                h.el("td", &[("class", Some("num"))], |h| {
                    bar_cell(h, r.findings, most, &format::int(r.findings));
                });
                layout::td_num(h, &format::yuan(r.amount_fen));
                upload_rate_cell(h, r.upload_rate);
            });
        }
    };
    let totals = |h: &mut Html| {
        h.el("tr", &[], |h| {
            h.el_text("td", &[("colspan", Some("2"))], ctx.t(T::Total));
            let sum = |f: fn(&RegionRow) -> u64| rows.iter().map(f).sum::<u64>();
            layout::td_num(h, &format::int(sum(|r| r.institutions)));
            layout::td_num(h, &format::int(sum(|r| r.scans)));
            layout::td_num(h, &format::int(sum(|r| r.findings)));
            let amount = rows
                .iter()
                .fold(Fen::ZERO, |sum, r| sum.saturating_add(r.amount_fen));
            layout::td_num(h, &format::yuan(amount));
            layout::td(h, "");
        });
    };
    let foot = (rows.len() > 1).then_some(totals);
    layout::table_with_foot(h, ctx, &cols, rows.is_empty(), rows_html, foot);
}

/// A number with a small bar showing it against the column's largest.
pub(crate) fn bar_cell(h: &mut Html, value: u64, most: u64, text: &str) {
    let share = if most == 0 {
        0.0
    } else {
        value as f64 / most as f64 * 100.0
    };
    h.el("div", &[("class", Some("bar-cell"))], |h| {
        h.el_text("span", &[], text);
        h.el(
            "span",
            &[("class", Some("track")), ("aria-hidden", Some("true"))],
            |h| {
                let style = format!("width:{share:.1}%");
                h.el(
                    "span",
                    &[("class", Some("fill")), ("style", Some(&style))],
                    |_| {},
                );
            },
        );
    });
}

/// An upload rate, red below 90% and amber below 95%.
pub(crate) fn upload_rate_cell(h: &mut Html, rate: Option<f64>) {
    let class = match rate {
        Some(r) if r < 0.90 => "num rate-low",
        Some(r) if r < 0.95 => "num rate-mid",
        _ => "num",
    };
    h.el_text("td", &[("class", Some(class))], &format::percent_opt(rate));
}
