//! One institution: its figures, its activity per day, its findings per model and one by one,
//! and the clues about it.

use drugtrace_money::Fen;

use crate::Ctx;
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::layout::{self, Col, Frame, Kpi, Section, Tone};
use crate::pages::overview;
use crate::types::{
    ClueRef, DayPoint, FindingRow, InstitutionKind, ModelCount, Period, institution_kind_label,
};

/// What an institution's page shows.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InstitutionPage {
    /// Who it is.
    pub institution: InstitutionInfo,
    /// The period the figures cover.
    pub period: Period,
    /// Its figures over the period.
    pub stats: InstitutionStats,
    /// Its findings per model.
    pub findings_per_model: Vec<ModelCount>,
    /// Its findings, newest first (possibly only the latest ones).
    pub findings: Vec<FindingRow>,
    /// Its activity per day, oldest first.
    pub per_day: Vec<DayPoint>,
    /// Clues about it.
    pub clues: Vec<ClueRef>,
}

/// An institution's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InstitutionInfo {
    /// Its code.
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
}

/// An institution's figures over a period.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InstitutionStats {
    /// Scan events it reported.
    pub scans: u64,
    /// Sales that went through.
    pub sales: u64,
    /// Its sale attempts blocked.
    pub interceptions: u64,
    /// Their amount.
    pub intercepted_fen: Fen,
    /// Findings about it.
    pub findings: u64,
    /// Amount involved in them.
    pub amount_fen: Fen,
    /// Trace codes it uploaded, if counted.
    pub codes_uploaded: Option<u64>,
    /// Share of its sales with an uploaded trace code (0.0 to 1.0), if known.
    pub upload_rate: Option<f64>,
}

/// The institution's page.
pub fn render_institution(data: &InstitutionPage, ctx: &Ctx) -> String {
    let inst = &data.institution;
    let frame = Frame {
        title: inst.name.clone(),
        section: Section::Overview,
        crumbs: vec![
            (ctx.t(T::NavOverview).to_owned(), Some(ctx.overview_url())),
            (inst.name.clone(), None),
        ],
        ctx,
    };
    layout::page(frame, |h| {
        let mut sub = inst.code.clone();
        if let Some(kind) = inst.kind {
            sub.push_str(" · ");
            sub.push_str(ctx.t(institution_kind_label(kind)));
        }
        let place = layout::place(&inst.province, &inst.city);
        if !place.is_empty() {
            sub.push_str(" · ");
            sub.push_str(&place);
        }
        sub.push_str(" · ");
        sub.push_str(&overview::period_text(ctx, &data.period));
        layout::page_head(h, &inst.name, Some(&sub), |_| {});
        tiles(h, ctx, &data.stats);
        h.el("div", &[("class", Some("grid2"))], |h| {
            let (step, points) = overview::stepped(&data.per_day);
            layout::card(h, ctx.t(step.scans_title()), None, |h| {
                layout::chart(h, |size| {
                    overview::activity_chart(ctx, (step, &points), size)
                });
            });
            layout::card(h, ctx.t(step.interceptions_title()), None, |h| {
                layout::chart(h, |size| {
                    overview::interceptions_chart(ctx, (step, &points), size)
                });
            });
        });
        h.el("div", &[("class", Some("grid2"))], |h| {
            layout::card(h, ctx.t(T::ChartModelsTitle), None, |h| {
                layout::chart(h, |(width, _)| {
                    overview::models_chart(ctx, &data.findings_per_model, width)
                });
            });
            layout::card(h, ctx.t(T::RelatedClues), None, |h| {
                related_clues(h, ctx, &data.clues)
            });
        });
        let aside = (data.stats.findings > data.findings.len() as u64).then(|| {
            T::ShowingNOfTotal.fill(
                ctx.lang,
                &[
                    ("n", &format::int(data.findings.len() as u64)),
                    ("total", &format::int(data.stats.findings)),
                ],
            )
        });
        layout::card(h, ctx.t(T::FindingsList), aside.as_deref(), |h| {
            findings_table(h, ctx, &data.findings);
        });
    })
}

fn tiles(h: &mut Html, ctx: &Ctx, s: &InstitutionStats) {
    let mut tiles = vec![
        Kpi {
            label: ctx.t(T::KpiEvents),
            value: format::int(s.scans),
            note: s.codes_uploaded.map(|n| {
                (
                    format!("{} {}", ctx.t(T::CodesUploaded), format::int(n)),
                    false,
                )
            }),
            tone: Tone::Info,
        },
        Kpi {
            label: ctx.t(T::KpiSales),
            value: format::int(s.sales),
            note: None,
            tone: Tone::Info,
        },
        Kpi {
            label: ctx.t(T::KpiInterceptions),
            value: format::int(s.interceptions),
            note: Some((
                format!(
                    "{} ¥{}",
                    ctx.t(T::BlockedAmountShort),
                    format::yuan(s.intercepted_fen)
                ),
                false,
            )),
            tone: Tone::Bad,
        },
        Kpi {
            label: ctx.t(T::KpiFindings),
            value: format::int(s.findings),
            note: Some((
                format!(
                    "{} ¥{}",
                    ctx.t(T::AmountInvolvedShort),
                    format::yuan(s.amount_fen)
                ),
                false,
            )),
            tone: Tone::Warn,
        },
    ];
    if let Some(rate) = s.upload_rate {
        tiles.push(Kpi {
            label: ctx.t(T::UploadRate),
            value: format::percent(rate),
            note: None,
            tone: if rate < 0.9 {
                Tone::Bad
            } else if rate < 0.95 {
                Tone::Warn
            } else {
                Tone::Ok
            },
        });
    }
    layout::kpis(h, &tiles);
}

fn related_clues(h: &mut Html, ctx: &Ctx, clues: &[ClueRef]) {
    let cols = [
        Col(ctx.t(T::ClueId), false),
        Col(ctx.t(T::Batch), false),
        Col(ctx.t(T::Deadline), false),
        Col(ctx.t(T::State), false),
    ];
    layout::table(h, ctx, &cols, clues.is_empty(), |h| {
        for c in clues {
            h.el("tr", &[], |h| {
                h.el("td", &[], |h| {
                    h.el_text(
                        "a",
                        &[
                            ("class", Some("mono")),
                            ("href", Some(&ctx.clue_url(&c.id))),
                        ],
                        &c.id,
                    );
                });
                layout::td(h, &c.batch);
                let class = if c.overdue {
                    "nowrap bad-text"
                } else {
                    "nowrap"
                };
                h.el_text("td", &[("class", Some(class))], &format::date(c.deadline));
                h.el("td", &[], |h| {
                    layout::state_badge(h, ctx, c.state, c.overdue)
                });
            });
        }
    });
}

/// The findings table shared by the institution and clue pages: model, severity, the code
/// linked to its pack page, when, amount, detail.
pub(crate) fn findings_table(h: &mut Html, ctx: &Ctx, rows: &[FindingRow]) {
    let cols = [
        Col(ctx.t(T::Model), false),
        Col(ctx.t(T::Severity), false),
        Col(ctx.t(T::TraceCode), false),
        Col(ctx.t(T::At), false),
        Col(ctx.t(T::Amount), true),
        Col(ctx.t(T::Detail), false),
    ];
    layout::table(h, ctx, &cols, rows.is_empty(), |h| {
        for f in rows {
            h.el("tr", &[], |h| {
                h.el("td", &[], |h| layout::model_chip(h, ctx, &f.model));
                h.el("td", &[], |h| layout::severity_badge(h, ctx, f.severity));
                h.el("td", &[("class", Some("nowrap"))], |h| {
                    h.el_text(
                        "a",
                        &[
                            ("class", Some("mono")),
                            ("href", Some(&ctx.pack_url(&f.code))),
                        ],
                        &f.code,
                    );
                });
                h.el_text(
                    "td",
                    &[("class", Some("nowrap"))],
                    &format::datetime(f.at, ctx.utc_offset_minutes),
                );
                layout::td_num(h, &format::yuan(f.amount_fen));
                layout::td(h, &f.detail);
            });
        }
    });
}
