//! The frame every page shares (head, stylesheet, header with navigation and language
//! switch, breadcrumbs, footer) and the small components pages are built of.

use std::sync::LazyLock;

use crate::Ctx;
use crate::charts::FONT_STACK;
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::types::{ClueState, Outcome, Severity, outcome_label, severity_label, state_label};

/// The one stylesheet, inline in every page.
static STYLE: LazyLock<String> =
    LazyLock::new(|| include_str!("style.css").replace("FONT_STACK", FONT_STACK));

/// The stylesheet every page carries inline.
pub fn stylesheet() -> &'static str {
    &STYLE
}

/// The top-level sections, for the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Clues,
    Models,
    Notices,
    Sql,
}

/// A page's frame: its title, section and breadcrumbs (the last one is the page itself).
pub(crate) struct Frame<'a> {
    pub title: String,
    pub section: Section,
    pub crumbs: Vec<(String, Option<String>)>,
    pub ctx: &'a Ctx,
}

/// A complete document: the frame around what `body` writes into `<main>`.
pub(crate) fn page(frame: Frame<'_>, body: impl FnOnce(&mut Html)) -> String {
    let ctx = frame.ctx;
    let mut h = Html::new();
    h.raw("<!doctype html>\n");
    h.open("html", &[("lang", Some(ctx.lang.html_lang()))]);
    h.el("head", &[], |h| {
        h.void("meta", &[("charset", Some("utf-8"))]);
        h.void(
            "meta",
            &[
                ("name", Some("viewport")),
                ("content", Some("width=device-width, initial-scale=1")),
            ],
        );
        h.void(
            "meta",
            &[("name", Some("robots")), ("content", Some("noindex"))],
        );
        let title = if ctx.deployment.is_empty() {
            format!("{} · {}", frame.title, ctx.t(T::Product))
        } else {
            format!("{} · {}", frame.title, ctx.deployment)
        };
        h.el_text("title", &[], &title);
        h.el("style", &[], |h| {
            h.raw(stylesheet());
        });
    });
    h.open("body", &[]);
    h.el_text(
        "a",
        &[("class", Some("skip")), ("href", Some("#main"))],
        ctx.t(T::SkipToContent),
    );
    header(&mut h, ctx, frame.section);
    h.el("main", &[("id", Some("main"))], |h| {
        if let Some(alert) = &ctx.alert {
            h.el_text(
                "div",
                &[("class", Some("notice")), ("role", Some("alert"))],
                alert,
            );
        }
        if frame.crumbs.len() > 1 {
            h.el(
                "nav",
                &[
                    ("class", Some("crumbs")),
                    ("aria-label", Some(ctx.t(T::Breadcrumbs))),
                ],
                |h| {
                    h.el("ol", &[], |h| {
                        let last = frame.crumbs.len() - 1;
                        for (i, (label, href)) in frame.crumbs.iter().enumerate() {
                            h.el("li", &[], |h| match href {
                                Some(href) if i < last => {
                                    h.el_text("a", &[("href", Some(href))], label);
                                }
                                _ => {
                                    h.el_text("span", &[("aria-current", Some("page"))], label);
                                }
                            });
                        }
                    });
                },
            );
        }
        body(h);
    });
    h.el("footer", &[("class", Some("page"))], |h| {
        h.el_text("span", &[], ctx.t(T::FooterNote));
        h.el_text(
            "span",
            &[],
            &format!(
                "{} {}",
                ctx.t(T::TimesIn),
                format::utc_offset(ctx.utc_offset_minutes)
            ),
        );
    });
    h.close("body");
    h.close("html");
    h.finish()
}

fn header(h: &mut Html, ctx: &Ctx, section: Section) {
    h.el("header", &[("class", Some("top"))], |h| {
        h.el("div", &[("class", Some("inner"))], |h| {
            h.el(
                "a",
                &[
                    ("class", Some("brand")),
                    ("href", Some(&ctx.overview_url())),
                ],
                |h| {
                    h.raw(EMBLEM);
                    h.el("span", &[], |h| {
                        let (main, sub) = if ctx.deployment.is_empty() {
                            (ctx.t(T::Product), "")
                        } else {
                            (ctx.deployment.as_str(), ctx.t(T::Product))
                        };
                        h.el_text("b", &[], main);
                        if !sub.is_empty() {
                            h.el_text("small", &[], sub);
                        }
                    });
                },
            );
            h.el(
                "nav",
                &[
                    ("class", Some("main")),
                    ("aria-label", Some(ctx.t(T::MainNav))),
                ],
                |h| {
                    let items = [
                        (Section::Overview, T::NavOverview, ctx.overview_url()),
                        (Section::Clues, T::NavClues, ctx.clues_url()),
                        (Section::Models, T::NavModels, ctx.models_url()),
                        (Section::Notices, T::NavNotices, ctx.notices_url()),
                        (Section::Sql, T::NavSql, ctx.sql_url()),
                    ];
                    for (s, label, href) in items {
                        let current = (s == section).then_some("page");
                        h.el_text(
                            "a",
                            &[("href", Some(&href)), ("aria-current", current)],
                            ctx.t(label),
                        );
                    }
                },
            );
            let other = ctx.lang.other();
            h.el_text(
                "a",
                &[
                    ("class", Some("lang")),
                    ("href", Some(&ctx.switch_url())),
                    ("hreflang", Some(other.html_lang())),
                    ("lang", Some(other.html_lang())),
                    ("title", Some(ctx.t(T::SwitchLanguageTitle))),
                ],
                ctx.t(T::SwitchLanguage),
            );
            if ctx.signed_in {
                h.el(
                    "form",
                    &[
                        ("method", Some("post")),
                        ("action", Some(&format!("{}/logout", ctx.base))),
                        ("class", Some("logout")),
                    ],
                    |h| {
                        h.el_text(
                            "button",
                            &[
                                ("type", Some("submit")),
                                ("class", Some("btn-sm secondary")),
                            ],
                            ctx.t(T::SignOut),
                        );
                    },
                );
            }
        });
    });
}

/// A shield with a barcode: the platform's mark, drawn inline.
const EMBLEM: &str = r##"<svg width="30" height="30" viewBox="0 0 30 30" aria-hidden="true"><path d="M15 2 4 6v8c0 7 4.7 11.6 11 14 6.3-2.4 11-7 11-14V6z" fill="#fff" fill-opacity=".14" stroke="#f6c343" stroke-width="1.6"/><g fill="#fff"><rect x="9" y="10" width="1.6" height="9"/><rect x="11.6" y="10" width=".8" height="9"/><rect x="13.4" y="10" width="2" height="9"/><rect x="16.4" y="10" width=".8" height="9"/><rect x="18.2" y="10" width="1.4" height="9"/><rect x="20.4" y="10" width=".8" height="9"/></g></svg>"##;

/// The page heading with an optional line below it and optional actions on the right.
pub(crate) fn page_head(
    h: &mut Html,
    title: &str,
    sub: Option<&str>,
    actions: impl FnOnce(&mut Html),
) {
    h.el("div", &[("class", Some("page-head"))], |h| {
        h.el("div", &[], |h| {
            h.el_text("h1", &[], title);
            if let Some(sub) = sub {
                h.el_text("p", &[("class", Some("sub"))], sub);
            }
        });
        h.el("div", &[("class", Some("head-actions"))], actions);
    });
}

/// How a figure should catch the eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Info,
    Ok,
    Warn,
    Bad,
    Plain,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Info => "kpi",
            Tone::Ok => "kpi ok",
            Tone::Warn => "kpi warn",
            Tone::Bad => "kpi bad",
            Tone::Plain => "kpi plain",
        }
    }
}

/// A key figure: label, value (with an optional unit), and a note below.
pub(crate) struct Kpi<'a> {
    pub label: &'a str,
    pub value: String,
    pub note: Option<(String, bool)>,
    pub tone: Tone,
}

pub(crate) fn kpis(h: &mut Html, tiles: &[Kpi<'_>]) {
    h.el("div", &[("class", Some("kpis"))], |h| {
        for k in tiles {
            h.el("div", &[("class", Some(k.tone.class()))], |h| {
                h.el_text("div", &[("class", Some("label"))], k.label);
                let class = if k.value.chars().count() > 10 {
                    "value long"
                } else {
                    "value"
                };
                h.el_text("div", &[("class", Some(class))], &k.value);
                if let Some((note, alarm)) = &k.note {
                    let class = if *alarm { "note bad" } else { "note" };
                    h.el_text("div", &[("class", Some(class))], note);
                }
            });
        }
    });
}

/// A card with a heading, an optional aside in the heading, and a body.
pub(crate) fn card(h: &mut Html, title: &str, aside: Option<&str>, body: impl FnOnce(&mut Html)) {
    h.el("section", &[("class", Some("card"))], |h| {
        h.el("h2", &[], |h| {
            h.el_text("span", &[], title);
            if let Some(aside) = aside {
                h.el_text("span", &[("class", Some("aside"))], aside);
            }
        });
        body(h);
    });
}

/// The size charts are drawn at in a half-width card at 1280 pixels, so they show 1:1.
pub(crate) const WIDE: (f64, f64) = (580.0, 260.0);
/// The size charts are drawn at for phones.
pub(crate) const NARROW: (f64, f64) = (350.0, 230.0);

/// A chart drawn twice, by `draw(width, height)`: at [`WIDE`] for screens and at [`NARROW`]
/// for phones, CSS showing one of them. Scaling one drawing down would shrink its text below
/// legibility; two drawings keep 12-pixel labels and thin the axis labels to fit.
pub(crate) fn chart(h: &mut Html, draw: impl Fn((f64, f64)) -> String) {
    chart_sized(h, WIDE, draw);
}

/// [`chart`] with another size than [`WIDE`] for screens.
pub(crate) fn chart_sized(h: &mut Html, wide: (f64, f64), draw: impl Fn((f64, f64)) -> String) {
    h.el("div", &[("class", Some("chart-wrap wide"))], |h| {
        h.raw(&draw(wide));
    });
    h.el("div", &[("class", Some("chart-wrap narrow"))], |h| {
        h.raw(&draw(NARROW));
    });
}

/// A model as a coloured chip with its title.
pub(crate) fn model_chip(h: &mut Html, ctx: &Ctx, model: &str) {
    let style = format!("background:{}", ctx.model_color(model));
    h.el(
        "span",
        &[("class", Some("chip")), ("title", Some(model))],
        |h| {
            h.el(
                "i",
                &[("style", Some(&style)), ("aria-hidden", Some("true"))],
                |_| {},
            );
            h.text(ctx.model_title(model));
        },
    );
}

/// A clue's state as a badge, with an overdue badge after it.
pub(crate) fn state_badge(h: &mut Html, ctx: &Ctx, state: ClueState, overdue: bool) {
    let class = format!("badge {}", state.as_str());
    h.el_text(
        "span",
        &[("class", Some(&class))],
        ctx.t(state_label(state)),
    );
    if overdue {
        h.el_text(
            "span",
            &[("class", Some("badge overdue"))],
            ctx.t(T::Overdue),
        );
    }
}

/// A severity as a badge.
pub(crate) fn severity_badge(h: &mut Html, ctx: &Ctx, severity: Severity) {
    let class = format!("badge sev-{}", severity.as_str());
    h.el_text(
        "span",
        &[("class", Some(&class))],
        ctx.t(severity_label(severity)),
    );
}

/// An outcome as a badge.
pub(crate) fn outcome_badge(h: &mut Html, ctx: &Ctx, outcome: &Outcome) {
    let class = format!("badge out-{}", outcome.as_str());
    h.el_text(
        "span",
        &[("class", Some(&class))],
        ctx.t(outcome_label(*outcome)),
    );
}

/// A table's column: its header and whether it holds numbers (right-aligned).
pub(crate) struct Col<'a>(pub &'a str, pub bool);

/// A table in a sideways-scrolling box: headers, then `rows` writes the `<tr>`s. With no
/// rows (`empty` true), one row says so.
pub(crate) fn table(
    h: &mut Html,
    ctx: &Ctx,
    cols: &[Col<'_>],
    empty: bool,
    rows: impl FnOnce(&mut Html),
) {
    table_with_foot(h, ctx, cols, empty, rows, None::<fn(&mut Html)>);
}

/// [`table`] with a `<tfoot>` (totals) whose rows `foot` writes.
pub(crate) fn table_with_foot(
    h: &mut Html,
    ctx: &Ctx,
    cols: &[Col<'_>],
    empty: bool,
    rows: impl FnOnce(&mut Html),
    foot: Option<impl FnOnce(&mut Html)>,
) {
    h.el("div", &[("class", Some("table-wrap"))], |h| {
        h.el("table", &[], |h| {
            h.el("thead", &[], |h| {
                h.el("tr", &[], |h| {
                    for Col(label, numeric) in cols {
                        h.el_text(
                            "th",
                            &[("scope", Some("col")), ("class", numeric.then_some("num"))],
                            label,
                        );
                    }
                });
            });
            h.el("tbody", &[], |h| {
                if empty {
                    h.el("tr", &[], |h| {
                        let span = cols.len().to_string();
                        h.el_text(
                            "td",
                            &[("class", Some("empty")), ("colspan", Some(&span))],
                            ctx.t(T::NoRows),
                        );
                    });
                } else {
                    rows(h);
                }
            });
            if let Some(foot) = foot {
                h.el("tfoot", &[], foot);
            }
        });
    });
}

/// A right-aligned numeric cell.
pub(crate) fn td_num(h: &mut Html, value: &str) {
    h.el_text("td", &[("class", Some("num"))], value);
}

/// A plain cell.
pub(crate) fn td(h: &mut Html, value: &str) {
    h.el_text("td", &[], value);
}

/// The hidden field that keeps the language across a GET form.
pub(crate) fn lang_field(h: &mut Html, ctx: &Ctx) {
    if ctx.lang == crate::Lang::En {
        h.void(
            "input",
            &[
                ("type", Some("hidden")),
                ("name", Some("lang")),
                ("value", Some("en")),
            ],
        );
    }
}

/// A labelled field wrapping what `input` writes.
pub(crate) fn field(h: &mut Html, label: &str, class: &str, input: impl FnOnce(&mut Html)) {
    h.el("label", &[("class", Some(class))], |h| {
        h.el_text("span", &[], label);
        input(h);
    });
}

/// A `<select>` named `name` with an "all" option (empty value) first when `all` is given.
pub(crate) fn select(
    h: &mut Html,
    name: &'static str,
    all: Option<&str>,
    options: &[(String, String)],
    selected: Option<&str>,
) {
    h.el("select", &[("name", Some(name))], |h| {
        if let Some(all) = all {
            h.el_text("option", &[("value", Some(""))], all);
        }
        for (value, label) in options {
            let is = (selected == Some(value.as_str())).then_some("");
            h.el_text("option", &[("value", Some(value)), ("selected", is)], label);
        }
    });
}

/// A `dl` of facts, skipping empty values.
pub(crate) fn facts(h: &mut Html, rows: &[(&str, String)]) {
    h.el("dl", &[("class", Some("facts"))], |h| {
        for (label, value) in rows {
            if value.is_empty() {
                continue;
            }
            h.el_text("dt", &[], label);
            h.el_text("dd", &[], value);
        }
    });
}

/// The text of an institution's place: `福建省 福州市`.
pub(crate) fn place(province: &str, city: &str) -> String {
    match (province.is_empty(), city.is_empty()) {
        (false, false) if province != city => format!("{province} {city}"),
        (false, _) => province.to_owned(),
        (true, _) => city.to_owned(),
    }
}
