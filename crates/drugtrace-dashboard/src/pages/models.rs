//! The analysis models: what each looks for, its rule in SQL, and how it performs.

use drugtrace_money::Fen;
use jiff::Timestamp;

use crate::Ctx;
use crate::ctx::ModelLabel;
use crate::format;
use crate::html::Html;
use crate::i18n::{Lang, T};
use crate::layout::{self, Frame, Section};
use crate::types::Severity;

/// What the models page shows.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ModelsPage {
    /// The models, in registry order.
    pub models: Vec<ModelInfo>,
}

/// One analysis model.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ModelInfo {
    /// Its stable name, `secondary_sale`.
    pub name: String,
    /// Its version, `3`.
    pub version: String,
    /// Its title in Chinese.
    pub title_zh: String,
    /// Its title in English.
    pub title_en: String,
    /// What it looks for and why, in Chinese.
    pub description_zh: String,
    /// The same in English (the Chinese is shown when empty).
    pub description_en: String,
    /// The severity of its findings.
    pub severity: Severity,
    /// Its rule, the SQL it runs.
    pub sql: String,
    /// Findings it produced.
    pub findings: u64,
    /// Amount involved in them.
    pub amount_fen: Fen,
    /// Its precision against verified clues (0.0 to 1.0), if measured.
    pub precision: Option<f64>,
    /// Its recall against planted or verified cases (0.0 to 1.0), if measured.
    pub recall: Option<f64>,
    /// When it last ran, if it has.
    pub last_run: Option<Timestamp>,
}

impl ModelInfo {
    /// The model's name and titles, for [`Ctx::models`].
    pub fn label(&self) -> ModelLabel {
        ModelLabel {
            name: self.name.clone(),
            title_zh: self.title_zh.clone(),
            title_en: self.title_en.clone(),
        }
    }

    fn title(&self, lang: Lang) -> &str {
        match lang {
            Lang::En if !self.title_en.is_empty() => &self.title_en,
            _ if !self.title_zh.is_empty() => &self.title_zh,
            _ => &self.name,
        }
    }

    fn description(&self, lang: Lang) -> &str {
        match lang {
            Lang::En if !self.description_en.is_empty() => &self.description_en,
            _ => &self.description_zh,
        }
    }
}

/// The models page.
pub fn render_models(data: &ModelsPage, ctx: &Ctx) -> String {
    let title = ctx.t(T::ModelsTitle);
    let frame = Frame {
        title: title.to_owned(),
        section: Section::Models,
        crumbs: vec![],
        ctx,
    };
    layout::page(frame, |h| {
        layout::page_head(h, title, None, |_| {});
        h.el_text("p", &[("class", Some("intro"))], ctx.t(T::ModelsIntro));
        if data.models.is_empty() {
            layout::card(h, title, None, |h| {
                h.el_text("p", &[("class", Some("small"))], ctx.t(T::NoRows));
            });
        }
        h.el("div", &[("class", Some("models"))], |h| {
            for m in &data.models {
                model_card(h, ctx, m);
            }
        });
    })
}

fn model_card(h: &mut Html, ctx: &Ctx, m: &ModelInfo) {
    let id = format!("model-{}", m.name);
    h.el(
        "section",
        &[("class", Some("card")), ("id", Some(&id))],
        |h| {
            h.el("div", &[("class", Some("model-head"))], |h| {
                let style = format!("background:{}", ctx.model_color(&m.name));
                h.el(
                    "span",
                    &[
                        ("class", Some("swatch")),
                        ("style", Some(&style)),
                        ("aria-hidden", Some("true")),
                    ],
                    |_| {},
                );
                h.el_text("h2", &[], m.title(ctx.lang));
                h.el_text(
                    "span",
                    &[("class", Some("mono small"))],
                    &format!("{} · {} {}", m.name, ctx.t(T::Version), m.version),
                );
                layout::severity_badge(h, ctx, m.severity);
            });
            h.el_text("p", &[], m.description(ctx.lang));
            h.el("div", &[("class", Some("model-stats"))], |h| {
                let stat = |h: &mut Html, label: T, class: Option<&str>, value: &str| {
                    h.el("div", &[], |h| {
                        h.el_text("span", &[], ctx.t(label));
                        h.el_text("b", &[("class", class)], value);
                    });
                };
                h.el("div", &[], |h| {
                    h.el_text("span", &[], ctx.t(T::Findings));
                    let href = ctx.href(&crate::ctx::with_param(
                        &format!("{}/clues", ctx.base),
                        "model",
                        Some(&m.name),
                    ));
                    h.el("b", &[], |h| {
                        h.el_text("a", &[("href", Some(&href))], &format::int(m.findings));
                    });
                });
                stat(h, T::AmountInvolved, None, &format::yuan(m.amount_fen));
                for (label, value) in [(T::Precision, m.precision), (T::Recall, m.recall)] {
                    match value {
                        Some(v) => stat(h, label, None, &format::percent(v)),
                        None => stat(h, label, Some("muted"), ctx.t(T::NotMeasured)),
                    }
                }
                if let Some(at) = m.last_run {
                    stat(
                        h,
                        T::LastRun,
                        Some("when"),
                        &format::datetime(at, ctx.utc_offset_minutes),
                    );
                }
            });
            h.el("details", &[("open", Some(""))], |h| {
                h.el_text("summary", &[("class", Some("small"))], ctx.t(T::ModelSql));
                h.el("pre", &[("class", Some("sql"))], |h| {
                    h.el_text("code", &[], m.sql.trim());
                });
            });
        },
    );
}
