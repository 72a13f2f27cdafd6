//! The public notice of duplicated trace codes: codes sold and settled more than once, and
//! the institutions that sold them; and the recalls of batches and withdrawals of products
//! in force.

use jiff::civil::Date;

use crate::Ctx;
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::layout::{self, Col, Frame, Section};

/// What the notices page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NoticesPage {
    /// The published entries, newest first.
    pub notices: Vec<Notice>,
    /// The recalls in force, newest first.
    pub recalls: Vec<RecallEntry>,
    /// Where the form that records a recall posts; none shows no form.
    pub recall_form: Option<String>,
    /// The notices published by title, and the form that publishes the next; none shows
    /// neither.
    pub publish: Option<PublishPanel>,
}

/// The notices published by title, and the form that publishes the current duplicated
/// codes as the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PublishPanel {
    /// Where the form posts.
    pub action: String,
    /// Codes the duplicated-codes report lists now (none: nothing to publish).
    pub candidates: u64,
    /// The notices published, newest first.
    pub published: Vec<PublishedNotice>,
}

/// A notice published.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PublishedNotice {
    /// Its number.
    pub number: u32,
    /// Its title.
    pub title: String,
    /// When it was published.
    pub date: Date,
    /// The codes it lists.
    pub codes: u64,
}

/// A recall of a batch, or (with no batch) a withdrawal of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RecallEntry {
    /// The drug: generic name and specification when the catalog knows it, else how the
    /// recall names it (`药品标识码 8100001`).
    pub product: String,
    /// The recalled batch; none for a withdrawal of the whole product.
    pub batch: Option<String>,
    /// Why.
    pub reason: String,
    /// Who recorded it: `regulator`, or the manufacturer's code.
    pub by: String,
    /// When it was recorded.
    pub at: Date,
}

/// One duplicated code in a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Notice {
    /// The trace code.
    pub code: String,
    /// The drug: generic name and specification, `复方阿胶浆 20ml×12支`.
    pub product: String,
    /// Its manufacturer.
    pub manufacturer: String,
    /// How many times it was sold with an insurance settlement.
    pub times_sold: u64,
    /// The institutions that sold it.
    pub institutions: Vec<NoticeInstitution>,
    /// When the notice was published.
    pub published_at: Date,
}

/// An institution named in a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NoticeInstitution {
    /// Its name.
    pub name: String,
    /// Its province.
    pub province: String,
    /// Its city.
    pub city: String,
}

/// The notices page.
pub fn render_notices(data: &NoticesPage, ctx: &Ctx) -> String {
    let title = ctx.t(T::NoticesTitle);
    let frame = Frame {
        title: title.to_owned(),
        section: Section::Notices,
        crumbs: vec![],
        ctx,
    };
    layout::page(frame, |h| {
        layout::page_head(h, title, None, |_| {});
        h.el_text(
            "p",
            &[("class", Some("notice warn"))],
            ctx.t(T::NoticesIntro),
        );
        let count = T::RowsCount.fill(ctx.lang, &[("n", &format::int(data.notices.len() as u64))]);
        layout::card(h, ctx.t(T::NoticeList), Some(&count), |h| {
            let cols = [
                Col(ctx.t(T::TraceCode), false),
                Col(ctx.t(T::Drug), false),
                Col(ctx.t(T::TimesSold), true),
                Col(ctx.t(T::InstitutionsInvolved), false),
                Col(ctx.t(T::PublishedAt), false),
            ];
            layout::table(h, ctx, &cols, data.notices.is_empty(), |h| {
                for n in &data.notices {
                    h.el("tr", &[], |h| {
                        h.el("td", &[("class", Some("nowrap"))], |h| {
                            h.el_text(
                                "a",
                                &[
                                    ("class", Some("mono")),
                                    ("href", Some(&ctx.pack_url(&n.code))),
                                ],
                                &n.code,
                            );
                        });
                        h.el("td", &[], |h| {
                            h.text(&n.product);
                            if !n.manufacturer.is_empty() {
                                h.el_text("div", &[("class", Some("small"))], &n.manufacturer);
                            }
                        });
                        let class = if n.times_sold >= 3 {
                            "num bad-text"
                        } else {
                            "num"
                        };
                        h.el_text("td", &[("class", Some(class))], &format::int(n.times_sold));
                        h.el("td", &[], |h| {
                            for inst in &n.institutions {
                                h.el("div", &[], |h| {
                                    h.text(&inst.name);
                                    let place = layout::place(&inst.province, &inst.city);
                                    if !place.is_empty() {
                                        h.text(" ");
                                        h.el_text("span", &[("class", Some("small"))], &place);
                                    }
                                });
                            }
                        });
                        h.el_text(
                            "td",
                            &[("class", Some("nowrap"))],
                            &format::date(n.published_at),
                        );
                    });
                }
            });
        });
        let count = T::RowsCount.fill(ctx.lang, &[("n", &format::int(data.recalls.len() as u64))]);
        layout::card(h, ctx.t(T::RecallList), Some(&count), |h| {
            let cols = [
                Col(ctx.t(T::Drug), false),
                Col(ctx.t(T::LotBatch), false),
                Col(ctx.t(T::Reason), false),
                Col(ctx.t(T::RecalledBy), false),
                Col(ctx.t(T::RecalledAt), false),
            ];
            layout::table(h, ctx, &cols, data.recalls.is_empty(), |h| {
                for r in &data.recalls {
                    h.el("tr", &[], |h| {
                        h.el_text("td", &[], &r.product);
                        match &r.batch {
                            Some(b) => {
                                h.el_text("td", &[("class", Some("mono"))], b);
                            }
                            None => {
                                h.el_text(
                                    "td",
                                    &[("class", Some("bad-text"))],
                                    ctx.t(T::WholeProduct),
                                );
                            }
                        }
                        h.el_text("td", &[], &r.reason);
                        let by = if r.by == "regulator" {
                            ctx.t(T::ByRegulator)
                        } else {
                            &r.by
                        };
                        h.el_text("td", &[], by);
                        h.el_text("td", &[("class", Some("nowrap"))], &format::date(r.at));
                    });
                }
            });
        });
        if let Some(action) = &data.recall_form {
            recall_form(h, ctx, action);
        }
        if let Some(panel) = &data.publish {
            publish_panel(h, ctx, panel);
        }
    })
}

/// The published notices by title, and the form that publishes a new one.
fn publish_panel(h: &mut Html, ctx: &Ctx, panel: &PublishPanel) {
    if !panel.published.is_empty() {
        layout::card(h, ctx.t(T::PublishedNotices), None, |h| {
            let cols = [
                Col(ctx.t(T::NoticeNumber), false),
                Col(ctx.t(T::NoticeTitle), false),
                Col(ctx.t(T::PublishedAt), false),
                Col(ctx.t(T::NoticeCodes), true),
            ];
            layout::table(h, ctx, &cols, false, |h| {
                for n in &panel.published {
                    h.el("tr", &[], |h| {
                        h.el_text("td", &[("class", Some("mono"))], &format!("#{}", n.number));
                        h.el_text("td", &[], &n.title);
                        h.el_text("td", &[("class", Some("nowrap"))], &format::date(n.date));
                        layout::td_num(h, &format::int(n.codes));
                    });
                }
            });
        });
    }
    h.el(
        "section",
        &[("class", Some("card")), ("id", Some("publish"))],
        |h| {
            h.el_text("h2", &[], ctx.t(T::PublishTitle));
            if panel.candidates == 0 {
                h.el_text("p", &[("class", Some("intro"))], ctx.t(T::NothingToPublish));
                return;
            }
            h.el_text("p", &[("class", Some("intro"))], ctx.t(T::PublishIntro));
            h.el_text(
                "p",
                &[("class", Some("small"))],
                &format!(
                    "{}{}{}",
                    ctx.t(T::PublishCount),
                    ctx.lang.colon(),
                    format::int(panel.candidates)
                ),
            );
            h.el(
                "form",
                &[
                    ("method", Some("post")),
                    ("action", Some(&ctx.href(&panel.action))),
                    ("class", Some("form-grid")),
                ],
                |h| {
                    h.el("label", &[("class", Some("field wide"))], |h| {
                        h.el_text("span", &[], ctx.t(T::NoticeTitle));
                        h.void(
                            "input",
                            &[
                                ("type", Some("text")),
                                ("name", Some("title")),
                                ("required", Some("")),
                                ("maxlength", Some("200")),
                            ],
                        );
                    });
                    h.el("div", &[], |h| {
                        h.el_text("button", &[("type", Some("submit"))], ctx.t(T::Publish));
                    });
                },
            );
        },
    );
}

/// The form a regulator records a recall with: the product by one of its codes, the batch
/// (none withdraws the product), and why.
fn recall_form(h: &mut crate::html::Html, ctx: &Ctx, action: &str) {
    h.el("details", &[("class", Some("card"))], |h| {
        h.el_text("summary", &[], ctx.t(T::RecordRecall));
        h.el_text(
            "p",
            &[("class", Some("intro"))],
            ctx.t(T::RecordRecallIntro),
        );
        let action = ctx.href(action);
        h.el(
            "form",
            &[
                ("class", Some("form-grid")),
                ("method", Some("post")),
                ("action", Some(&action)),
            ],
            |h| {
                layout::field(h, ctx.t(T::RecallNamedBy), "field", |h| {
                    let options: Vec<(String, String)> = [
                        ("insurance_code", T::RecallByInsurance),
                        ("drug_id", T::RecallByDrugId),
                        ("gtin", T::RecallByGtin),
                    ]
                    .into_iter()
                    .map(|(v, l)| (v.to_owned(), ctx.t(l).to_owned()))
                    .collect();
                    layout::select(h, "named_by", None, &options, Some("insurance_code"));
                });
                for (label, name, required) in [
                    (T::RecallProduct, "product", true),
                    (T::RecallBatch, "batch", false),
                ] {
                    layout::field(h, ctx.t(label), "field", |h| {
                        h.void(
                            "input",
                            &[
                                ("type", Some("text")),
                                ("name", Some(name)),
                                ("maxlength", Some("40")),
                                ("required", required.then_some("")),
                            ],
                        );
                    });
                }
                h.el("label", &[("class", Some("field wide"))], |h| {
                    h.el_text("span", &[], ctx.t(T::Reason));
                    h.void(
                        "input",
                        &[
                            ("type", Some("text")),
                            ("name", Some("reason")),
                            ("required", Some("")),
                            ("maxlength", Some("500")),
                        ],
                    );
                });
                h.el("div", &[], |h| {
                    h.el_text(
                        "button",
                        &[("type", Some("submit"))],
                        ctx.t(T::RecallSubmit),
                    );
                });
            },
        );
    });
}
