//! Clues: the list with its filter, workflow forms and exports, the form that issues a new
//! batch, and one clue with its audit trail.

use drugtrace_money::Fen;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::Ctx;
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::layout::{self, Col, Frame, Section};
use crate::types::{ClueState, FindingRow, state_label};

/// What the clue list shows.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClueListPage {
    /// The batches issued, newest first.
    pub batches: Vec<ClueBatch>,
    /// The clues matching the filter, in the order to show.
    pub clues: Vec<ClueRow>,
    /// How many clues match the filter in all (more than `clues.len()` when the list is cut).
    pub total: u64,
    /// The filter as the request gave it (the form shows it filled in).
    pub filter: ClueFilter,
    /// The provinces the filter offers.
    pub provinces: Vec<String>,
    /// Where the forms post and the exports are.
    pub urls: ClueUrls,
}

/// A batch of clues issued together, with a deadline for their results.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClueBatch {
    /// Its id (the `batch` filter value).
    pub id: String,
    /// Its title, e.g. `2025年第3批 重复结算线索`.
    pub title: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// The day results are due.
    pub deadline: Date,
    /// Clues in it.
    pub clues: u64,
    /// Of those, still open.
    pub open: u64,
    /// Of those, open past the deadline.
    pub overdue: u64,
    /// Fund amount recovered over its confirmed clues.
    pub recovered_fen: Fen,
}

/// One clue: an institution to verify, with what the models found there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClueRow {
    /// Its id.
    pub id: String,
    /// Its batch's title.
    pub batch: String,
    /// The institution's code.
    pub institution_code: String,
    /// The institution's name.
    pub institution_name: String,
    /// The institution's province.
    pub province: String,
    /// The institution's city.
    pub city: String,
    /// The bureau that verifies it (`福建省/福州市`).
    pub assigned_to: String,
    /// The models behind it.
    pub models: Vec<String>,
    /// Findings behind it.
    pub findings: u64,
    /// Amount involved.
    pub amount_fen: Fen,
    /// The day the result is due.
    pub deadline: Date,
    /// Where it is in the workflow.
    pub state: ClueState,
    /// Whether it is open past its deadline.
    pub overdue: bool,
    /// The latest note (the verifier's conclusion, say).
    pub note: String,
    /// Fund amount recovered, once confirmed and reported.
    pub recovered_fen: Option<Fen>,
    /// The states it may move to now (`issued → under_verification`, `under_verification →
    /// confirmed | dismissed`); empty when it is concluded. The workflow form offers these,
    /// and a field for the amount recovered when `confirmed` is among them.
    pub transitions: Vec<ClueState>,
}

/// The clue list's filter, as GET parameters: `batch`, `state`, `province`, `model`,
/// `overdue` (`1`) and `q` (free text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClueFilter {
    /// A batch id.
    pub batch: Option<String>,
    /// A state.
    pub state: Option<ClueState>,
    /// A province.
    pub province: Option<String>,
    /// A model name.
    pub model: Option<String>,
    /// Only clues past their deadline.
    pub overdue_only: bool,
    /// Free text: institution name or code, clue id.
    pub q: Option<String>,
}

/// The URLs the clue pages' forms post to and link to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClueUrls {
    /// Where a clue's workflow form posts, with `{id}` standing for the clue's id
    /// (percent-encoded when filled in): `/dashboard/clues/{id}/transition`. The form
    /// sends `to` (a [`ClueState::as_str`]), `note`, and, when confirming is offered,
    /// `recovered_yuan` (a decimal number of yuan, empty when not given).
    pub transition: String,
    /// Where the new-batch form posts: `/dashboard/clues/batches`. It sends `title`,
    /// `deadline` (`YYYY-MM-DD`), `top_n`, and the filter fields `province`, `model` and
    /// `min_findings` (empty when not set).
    pub issue_batch: String,
    /// The CSV export of the list as filtered.
    pub export_csv: String,
    /// The Parquet export of the list as filtered.
    pub export_parquet: String,
}

impl ClueUrls {
    /// The URLs under `base` (`/dashboard`): `{base}/clues/{id}/transition`,
    /// `{base}/clues/batches`, `{base}/clues.csv` and `{base}/clues.parquet`.
    pub fn under(base: &str) -> ClueUrls {
        let base = base.trim_end_matches('/');
        ClueUrls {
            transition: format!("{base}/clues/{{id}}/transition"),
            issue_batch: format!("{base}/clues/batches"),
            export_csv: format!("{base}/clues.csv"),
            export_parquet: format!("{base}/clues.parquet"),
        }
    }

    /// The transition URL of clue `id`.
    pub fn transition_for(&self, id: &str) -> String {
        self.transition
            .replace("{id}", &crate::html::url_encode(id))
    }
}

/// One clue with its history.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClueDetailPage {
    /// The clue.
    pub clue: ClueRow,
    /// Its history, oldest first.
    pub audit: Vec<AuditEntry>,
    /// The findings behind it.
    pub findings: Vec<FindingRow>,
    /// Where its workflow form posts (the clue's transition URL).
    pub transition_url: String,
}

/// One step of a clue's history.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who (a user name, or the system that issued the batch).
    pub actor: String,
    /// The state before; `None` when the clue was created.
    pub from: Option<ClueState>,
    /// The state after (equal to `from` for a note without a move).
    pub to: ClueState,
    /// The note given with the step (empty if none).
    pub note: String,
    /// Fund amount recovered given with the step.
    pub recovered_fen: Option<Fen>,
}

/// The clue list.
pub fn render_clue_list(data: &ClueListPage, ctx: &Ctx) -> String {
    let title = ctx.t(T::CluesTitle);
    let frame = Frame {
        title: title.to_owned(),
        section: Section::Clues,
        crumbs: vec![],
        ctx,
    };
    layout::page(frame, |h| {
        layout::page_head(h, title, None, |h| {
            h.el_text(
                "a",
                &[
                    ("class", Some("btn secondary")),
                    ("href", Some(&data.urls.export_csv)),
                    ("download", Some("")),
                ],
                ctx.t(T::ExportCsv),
            );
            h.el_text(
                "a",
                &[
                    ("class", Some("btn secondary")),
                    ("href", Some(&data.urls.export_parquet)),
                    ("download", Some("")),
                ],
                ctx.t(T::ExportParquet),
            );
        });
        h.el_text("p", &[("class", Some("intro"))], ctx.t(T::CluesIntro));
        batches(h, ctx, &data.batches);
        layout::card(h, ctx.t(T::Filter), None, |h| filter_form(h, ctx, data));
        let shown = T::ShowingNOfTotal.fill(
            ctx.lang,
            &[
                ("n", &format::int(data.clues.len() as u64)),
                (
                    "total",
                    &format::int(data.total.max(data.clues.len() as u64)),
                ),
            ],
        );
        layout::card(h, ctx.t(T::ClueList), Some(&shown), |h| {
            clue_table(h, ctx, &data.clues, &data.urls);
        });
        issue_form(h, ctx, data);
    })
}

fn batches(h: &mut Html, ctx: &Ctx, rows: &[ClueBatch]) {
    if rows.is_empty() {
        return;
    }
    layout::card(h, ctx.t(T::Batches), None, |h| {
        let cols = [
            Col(ctx.t(T::BatchTitle), false),
            Col(ctx.t(T::IssuedAt), false),
            Col(ctx.t(T::Deadline), false),
            Col(ctx.t(T::Clues), true),
            Col(ctx.t(T::OpenClues), true),
            Col(ctx.t(T::OverdueClues), true),
            Col(ctx.t(T::Recovered), true),
        ];
        layout::table(h, ctx, &cols, false, |h| {
            for b in rows {
                h.el("tr", &[], |h| {
                    h.el("td", &[], |h| {
                        let href = ctx.href(&crate::ctx::with_param(
                            &format!("{}/clues", ctx.base),
                            "batch",
                            Some(&b.id),
                        ));
                        h.el_text("a", &[("href", Some(&href))], &b.title);
                    });
                    h.el_text(
                        "td",
                        &[("class", Some("nowrap"))],
                        &format::datetime(b.issued_at, ctx.utc_offset_minutes),
                    );
                    h.el_text(
                        "td",
                        &[("class", Some("nowrap"))],
                        &format::date(b.deadline),
                    );
                    layout::td_num(h, &format::int(b.clues));
                    layout::td_num(h, &format::int(b.open));
                    let class = if b.overdue > 0 { "num bad-text" } else { "num" };
                    h.el_text("td", &[("class", Some(class))], &format::int(b.overdue));
                    layout::td_num(h, &format::yuan(b.recovered_fen));
                });
            }
        });
    });
}

fn filter_form(h: &mut Html, ctx: &Ctx, data: &ClueListPage) {
    let f = &data.filter;
    let action = format!("{}/clues", ctx.base);
    h.el(
        "form",
        &[
            ("class", Some("filters")),
            ("method", Some("get")),
            ("action", Some(&action)),
        ],
        |h| {
            layout::lang_field(h, ctx);
            layout::field(h, ctx.t(T::Batch), "field", |h| {
                let options: Vec<(String, String)> = data
                    .batches
                    .iter()
                    .map(|b| (b.id.clone(), b.title.clone()))
                    .collect();
                layout::select(
                    h,
                    "batch",
                    Some(ctx.t(T::All)),
                    &options,
                    f.batch.as_deref(),
                );
            });
            layout::field(h, ctx.t(T::State), "field", |h| {
                let options: Vec<(String, String)> = ClueState::ALL
                    .iter()
                    .map(|s| (s.as_str().to_owned(), ctx.t(state_label(*s)).to_owned()))
                    .collect();
                layout::select(
                    h,
                    "state",
                    Some(ctx.t(T::All)),
                    &options,
                    f.state.map(ClueState::as_str),
                );
            });
            layout::field(h, ctx.t(T::Province), "field", |h| {
                let options: Vec<(String, String)> = data
                    .provinces
                    .iter()
                    .map(|p| (p.clone(), p.clone()))
                    .collect();
                layout::select(
                    h,
                    "province",
                    Some(ctx.t(T::All)),
                    &options,
                    f.province.as_deref(),
                );
            });
            layout::field(h, ctx.t(T::Model), "field", |h| {
                model_select(h, ctx, f.model.as_deref());
            });
            layout::field(h, ctx.t(T::Search), "field grow", |h| {
                h.void(
                    "input",
                    &[
                        ("type", Some("search")),
                        ("name", Some("q")),
                        ("value", f.q.as_deref()),
                        ("placeholder", Some(ctx.t(T::SearchPlaceholder))),
                    ],
                );
            });
            h.el("label", &[("class", Some("field check"))], |h| {
                h.void(
                    "input",
                    &[
                        ("type", Some("checkbox")),
                        ("name", Some("overdue")),
                        ("value", Some("1")),
                        ("checked", f.overdue_only.then_some("")),
                    ],
                );
                h.text(ctx.t(T::OverdueOnly));
            });
            h.el_text("button", &[("type", Some("submit"))], ctx.t(T::Filter));
            h.el_text(
                "a",
                &[
                    ("class", Some("btn secondary")),
                    ("href", Some(&ctx.clues_url())),
                ],
                ctx.t(T::Reset),
            );
        },
    );
}

fn model_select(h: &mut Html, ctx: &Ctx, selected: Option<&str>) {
    let mut options: Vec<(String, String)> = ctx
        .models
        .iter()
        .map(|m| (m.name.clone(), ctx.model_title(&m.name).to_owned()))
        .collect();
    if let Some(s) = selected.filter(|s| !options.iter().any(|(v, _)| v == s)) {
        options.push((s.to_owned(), s.to_owned()));
    }
    layout::select(h, "model", Some(ctx.t(T::All)), &options, selected);
}

fn clue_table(h: &mut Html, ctx: &Ctx, rows: &[ClueRow], urls: &ClueUrls) {
    let cols = [
        Col(ctx.t(T::ClueId), false),
        Col(ctx.t(T::Institution), false),
        Col(ctx.t(T::Models), false),
        Col(ctx.t(T::Findings), true),
        Col(ctx.t(T::AmountInvolved), true),
        Col(ctx.t(T::Deadline), false),
        Col(ctx.t(T::State), false),
        Col(ctx.t(T::Note), false),
        Col(ctx.t(T::Actions), false),
    ];
    layout::table(h, ctx, &cols, rows.is_empty(), |h| {
        for c in rows {
            h.el("tr", &[("id", Some(&format!("clue-{}", c.id)))], |h| {
                h.el("td", &[("class", Some("nowrap"))], |h| {
                    h.el_text(
                        "a",
                        &[
                            ("class", Some("mono")),
                            ("href", Some(&ctx.clue_url(&c.id))),
                        ],
                        &c.id,
                    );
                    h.el_text("div", &[("class", Some("small"))], &c.batch);
                });
                h.el("td", &[("class", Some("inst"))], |h| {
                    h.el_text(
                        "a",
                        &[("href", Some(&ctx.institution_url(&c.institution_code)))],
                        &c.institution_name,
                    );
                    h.el("div", &[("class", Some("small"))], |h| {
                        h.el_text("span", &[("class", Some("mono"))], &c.institution_code);
                        let place = layout::place(&c.province, &c.city);
                        if !place.is_empty() {
                            h.text(" · ").text(&place);
                        }
                    });
                });
                h.el("td", &[], |h| {
                    for m in &c.models {
                        layout::model_chip(h, ctx, m);
                    }
                });
                layout::td_num(h, &format::int(c.findings));
                layout::td_num(h, &format::yuan(c.amount_fen));
                let class = if c.overdue {
                    "nowrap bad-text"
                } else {
                    "nowrap"
                };
                h.el_text("td", &[("class", Some(class))], &format::date(c.deadline));
                h.el("td", &[], |h| {
                    layout::state_badge(h, ctx, c.state, c.overdue)
                });
                h.el_text("td", &[("class", Some("small note"))], &c.note);
                h.el("td", &[], |h| {
                    if c.transitions.is_empty() {
                        h.el_text("span", &[("class", Some("small"))], ctx.t(T::NoTransitions));
                    } else {
                        h.el("details", &[("class", Some("action"))], |h| {
                            h.el_text("summary", &[], ctx.t(T::Handle));
                            transition_form(h, ctx, c, &urls.transition_for(&c.id), true);
                        });
                    }
                });
            });
        }
    });
}

/// The workflow form: the next state, a note, submit.
fn transition_form(h: &mut Html, ctx: &Ctx, clue: &ClueRow, action: &str, compact: bool) {
    let action = ctx.href(action);
    let class = if compact {
        "transition"
    } else {
        "transition workflow"
    };
    h.el(
        "form",
        &[
            ("class", Some(class)),
            ("method", Some("post")),
            ("action", Some(&action)),
        ],
        |h| {
            layout::field(h, ctx.t(T::TransitionTo), "field", |h| {
                let options: Vec<(String, String)> = clue
                    .transitions
                    .iter()
                    .map(|s| (s.as_str().to_owned(), ctx.t(state_label(*s)).to_owned()))
                    .collect();
                h.el(
                    "select",
                    &[("name", Some("to")), ("required", Some(""))],
                    |h| {
                        for (value, label) in &options {
                            h.el_text("option", &[("value", Some(value))], label);
                        }
                    },
                );
            });
            if compact {
                layout::field(h, ctx.t(T::Note), "field", |h| {
                    h.void(
                        "input",
                        &[
                            ("type", Some("text")),
                            ("name", Some("note")),
                            ("maxlength", Some("500")),
                        ],
                    );
                });
            } else {
                layout::field(h, ctx.t(T::Note), "field full", |h| {
                    h.el_text(
                        "textarea",
                        &[
                            ("name", Some("note")),
                            ("rows", Some("3")),
                            ("maxlength", Some("500")),
                        ],
                        "",
                    );
                });
            }
            if clue.transitions.contains(&ClueState::Confirmed) {
                layout::field(h, ctx.t(T::RecoveredWhenConfirmed), "field", |h| {
                    h.void(
                        "input",
                        &[
                            ("type", Some("number")),
                            ("name", Some("recovered_yuan")),
                            ("min", Some("0")),
                            ("step", Some("0.01")),
                            ("inputmode", Some("decimal")),
                        ],
                    );
                });
            }
            h.el_text(
                "button",
                &[
                    ("type", Some("submit")),
                    ("class", compact.then_some("btn-sm")),
                ],
                ctx.t(T::Submit),
            );
        },
    );
}

fn issue_form(h: &mut Html, ctx: &Ctx, data: &ClueListPage) {
    h.el("details", &[("class", Some("card"))], |h| {
        h.el_text("summary", &[], ctx.t(T::IssueBatch));
        h.el_text("p", &[("class", Some("intro"))], ctx.t(T::IssueBatchIntro));
        let action = ctx.href(&data.urls.issue_batch);
        h.el(
            "form",
            &[
                ("class", Some("form-grid")),
                ("method", Some("post")),
                ("action", Some(&action)),
            ],
            |h| {
                h.el("label", &[("class", Some("field wide"))], |h| {
                    h.el_text("span", &[], ctx.t(T::BatchTitle));
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
                layout::field(h, ctx.t(T::Deadline), "field", |h| {
                    h.void(
                        "input",
                        &[
                            ("type", Some("date")),
                            ("name", Some("deadline")),
                            ("required", Some("")),
                        ],
                    );
                });
                layout::field(h, ctx.t(T::TopN), "field", |h| {
                    h.void(
                        "input",
                        &[
                            ("type", Some("number")),
                            ("name", Some("top_n")),
                            ("min", Some("1")),
                            ("max", Some("10000")),
                            ("value", Some("50")),
                            ("required", Some("")),
                        ],
                    );
                });
                layout::field(h, ctx.t(T::Province), "field", |h| {
                    let options: Vec<(String, String)> = data
                        .provinces
                        .iter()
                        .map(|p| (p.clone(), p.clone()))
                        .collect();
                    layout::select(
                        h,
                        "province",
                        Some(ctx.t(T::All)),
                        &options,
                        data.filter.province.as_deref(),
                    );
                });
                layout::field(h, ctx.t(T::Model), "field", |h| {
                    model_select(h, ctx, data.filter.model.as_deref());
                });
                layout::field(h, ctx.t(T::MinFindings), "field", |h| {
                    h.void(
                        "input",
                        &[
                            ("type", Some("number")),
                            ("name", Some("min_findings")),
                            ("min", Some("1")),
                        ],
                    );
                });
                h.el("div", &[], |h| {
                    h.el_text("button", &[("type", Some("submit"))], ctx.t(T::IssueSubmit));
                });
            },
        );
    });
}

/// One clue: its facts, the workflow form, its history and its findings.
pub fn render_clue_detail(data: &ClueDetailPage, ctx: &Ctx) -> String {
    let c = &data.clue;
    let title = format!("{} {}", ctx.t(T::ClueDetailTitle), c.id);
    let frame = Frame {
        title: title.clone(),
        section: Section::Clues,
        crumbs: vec![
            (ctx.t(T::NavClues).to_owned(), Some(ctx.clues_url())),
            (c.id.clone(), None),
        ],
        ctx,
    };
    layout::page(frame, |h| {
        h.el("div", &[("class", Some("page-head"))], |h| {
            h.el("div", &[], |h| {
                h.el("h1", &[], |h| {
                    h.text(ctx.t(T::ClueDetailTitle)).text(" ");
                    h.el_text("span", &[("class", Some("mono code"))], &c.id);
                });
                h.el("p", &[("class", Some("sub"))], |h| {
                    layout::state_badge(h, ctx, c.state, c.overdue);
                    h.text(" ").text(&c.batch);
                });
            });
            h.el("div", &[("class", Some("head-actions"))], |h| {
                h.el_text(
                    "a",
                    &[
                        ("class", Some("btn secondary")),
                        ("href", Some(&ctx.dossier_url(&c.id))),
                    ],
                    ctx.t(T::Dossier),
                );
            });
        });
        h.el("div", &[("class", Some("grid2"))], |h| {
            layout::card(h, ctx.t(T::ClueDetailTitle), None, |h| {
                h.el("dl", &[("class", Some("facts"))], |h| clue_facts(h, ctx, c));
            });
            layout::card(h, ctx.t(T::Workflow), None, |h| {
                if c.transitions.is_empty() {
                    h.el("p", &[], |h| {
                        layout::state_badge(h, ctx, c.state, false);
                        h.text(" ").text(ctx.t(T::NoTransitions));
                    });
                } else {
                    transition_form(h, ctx, c, &data.transition_url, false);
                }
            });
        });
        layout::card(h, ctx.t(T::AuditTrail), None, |h| {
            audit_table(h, ctx, &data.audit)
        });
        layout::card(h, ctx.t(T::FindingsOfClue), None, |h| {
            super::institution::findings_table(h, ctx, &data.findings);
        });
    })
}

/// A clue's facts as `dt`/`dd` pairs of a `dl.facts`: the institution, region, bureau,
/// models, findings, amount, deadline, and the note and amount recovered when there are.
pub(crate) fn clue_facts(h: &mut Html, ctx: &Ctx, c: &ClueRow) {
    h.el_text("dt", &[], ctx.t(T::Institution));
    h.el("dd", &[], |h| {
        h.el_text(
            "a",
            &[("href", Some(&ctx.institution_url(&c.institution_code)))],
            &c.institution_name,
        );
        h.text(" ");
        h.el_text(
            "span",
            &[("class", Some("small mono"))],
            &c.institution_code,
        );
    });
    h.el_text("dt", &[], ctx.t(T::Region));
    h.el_text("dd", &[], &layout::place(&c.province, &c.city));
    if !c.assigned_to.is_empty() {
        h.el_text("dt", &[], ctx.t(T::AssignedTo));
        h.el_text("dd", &[], &c.assigned_to);
    }
    h.el_text("dt", &[], ctx.t(T::Models));
    h.el("dd", &[], |h| {
        for m in &c.models {
            layout::model_chip(h, ctx, m);
        }
    });
    h.el_text("dt", &[], ctx.t(T::Findings));
    h.el_text("dd", &[], &format::int(c.findings));
    h.el_text("dt", &[], ctx.t(T::AmountInvolved));
    h.el_text("dd", &[], &format::yuan(c.amount_fen));
    h.el_text("dt", &[], ctx.t(T::Deadline));
    let class = if c.overdue { "bad-text" } else { "" };
    h.el_text("dd", &[("class", Some(class))], &format::date(c.deadline));
    if !c.note.is_empty() {
        h.el_text("dt", &[], ctx.t(T::Note));
        h.el_text("dd", &[], &c.note);
    }
    if let Some(fen) = c.recovered_fen {
        h.el_text("dt", &[], ctx.t(T::Recovered));
        h.el_text("dd", &[], &format::yuan(fen));
    }
}

/// A clue's history as a table: when, who, the change (or a note without one), the note
/// and the amount recovered.
pub(crate) fn audit_table(h: &mut Html, ctx: &Ctx, audit: &[AuditEntry]) {
    let cols = [
        Col(ctx.t(T::Time), false),
        Col(ctx.t(T::Actor), false),
        Col(ctx.t(T::FromTo), false),
        Col(ctx.t(T::Note), false),
        Col(ctx.t(T::Recovered), true),
    ];
    layout::table(h, ctx, &cols, audit.is_empty(), |h| {
        for e in audit {
            h.el("tr", &[], |h| {
                h.el_text(
                    "td",
                    &[("class", Some("nowrap"))],
                    &format::datetime(e.at, ctx.utc_offset_minutes),
                );
                layout::td(h, &e.actor);
                h.el("td", &[("class", Some("nowrap"))], |h| match e.from {
                    // A note without a move.
                    Some(from) if from == e.to => {
                        layout::state_badge(h, ctx, e.to, false);
                        h.text(" ");
                        h.el_text("span", &[("class", Some("small"))], ctx.t(T::NoteOnly));
                    }
                    Some(from) => {
                        layout::state_badge(h, ctx, from, false);
                        h.text(" → ");
                        layout::state_badge(h, ctx, e.to, false);
                    }
                    None => {
                        h.el_text("span", &[("class", Some("small"))], ctx.t(T::Created));
                        h.text(" → ");
                        layout::state_badge(h, ctx, e.to, false);
                    }
                });
                layout::td(h, &e.note);
                layout::td_num(h, &e.recovered_fen.map(format::yuan).unwrap_or_default());
            });
        }
    });
}
