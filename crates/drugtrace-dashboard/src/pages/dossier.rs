//! A clue's inspection dossier: the one document a local bureau takes to the inspection,
//! made to be printed (A4, by the stylesheet's print rules) or saved as PDF from the
//! browser. It holds the clue with its deadline, the institution, the findings behind the
//! clue, the sales of the packs involved with their amounts, each pack's evidence chain and
//! the clue's audit trail, drawn by the same pieces as the clue and pack pages.

use drugtrace_money::Fen;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::Ctx;
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::layout::{self, Col, Frame, Section};
use crate::pages::clues::{AuditEntry, ClueRow, audit_table, clue_facts};
use crate::pages::institution::{InstitutionInfo, findings_table};
use crate::pages::pack::{EvidenceEvent, ProductInfo, product_facts, timeline, units_text};
use crate::types::{EventKind, FindingRow, Outcome, institution_kind_label, reason_text};

/// What a clue's dossier holds.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DossierPage {
    /// The clue, its deadline and whether it is overdue.
    pub clue: ClueRow,
    /// The day `clue.overdue` was decided against (the server's today), printed beside it.
    pub today: Date,
    /// When the dossier was put together.
    pub generated_at: Timestamp,
    /// The institution to inspect.
    pub institution: InstitutionInfo,
    /// The findings behind the clue, possibly only the latest ones.
    pub findings: Vec<FindingRow>,
    /// How many findings are behind the clue in all (at least `findings.len()`).
    pub findings_total: u64,
    /// The packs the findings name, each with its evidence chain, possibly only the first.
    pub packs: Vec<DossierPack>,
    /// How many packs the findings name in all (at least `packs.len()`).
    pub packs_total: u64,
    /// The clue's history, oldest first.
    pub audit: Vec<AuditEntry>,
}

/// A pack of the dossier: its code, its product and every event of its log.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DossierPack {
    /// The trace code.
    pub code: String,
    /// The product, if the catalogue knows the code.
    pub product: Option<ProductInfo>,
    /// The events of the pack's log in recorded order: every one, or the first ones.
    pub events: Vec<EvidenceEvent>,
    /// How many events the pack's log holds (at least `events.len()`).
    pub events_total: u64,
}

/// A sale of one of the dossier's packs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DossierSale<'a> {
    /// The pack sold.
    pub code: &'a str,
    /// The sale event.
    pub event: &'a EvidenceEvent,
}

impl DossierPage {
    /// Every sale of the packs listed, blocked attempts included, pack by pack in log order.
    pub fn sales(&self) -> impl Iterator<Item = DossierSale<'_>> {
        self.packs.iter().flat_map(|p| {
            p.events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Sale(_)))
                .map(|event| DossierSale {
                    code: &p.code,
                    event,
                })
        })
    }

    /// The amounts of the sales that went through and of the ones blocked.
    pub fn sale_totals(&self) -> (Fen, Fen) {
        self.sales()
            .fold((Fen::ZERO, Fen::ZERO), |(paid, blocked), s| {
                let amount = s.event.details.amount_fen.unwrap_or(Fen::ZERO);
                match s.event.outcome {
                    Outcome::Rejected(_) => (paid, blocked.saturating_add(amount)),
                    _ => (paid.saturating_add(amount), blocked),
                }
            })
    }
}

/// The dossier of a clue.
pub fn render_dossier(data: &DossierPage, ctx: &Ctx) -> String {
    let c = &data.clue;
    let frame = Frame {
        title: format!("{} {}", ctx.t(T::DossierTitle), c.id),
        section: Section::Clues,
        crumbs: vec![
            (ctx.t(T::NavClues).to_owned(), Some(ctx.clues_url())),
            (c.id.clone(), Some(ctx.clue_url(&c.id))),
            (ctx.t(T::Dossier).to_owned(), None),
        ],
        ctx,
    };
    layout::page(frame, |h| {
        h.el("div", &[("class", Some("dossier"))], |h| {
            head(h, ctx, data);
            h.el("div", &[("class", Some("grid2"))], |h| {
                layout::card(h, ctx.t(T::ClueDetailTitle), None, |h| {
                    clue_card(h, ctx, data);
                });
                layout::card(h, ctx.t(T::InstitutionInspected), None, |h| {
                    institution_card(h, ctx, &data.institution);
                });
            });
            let shown = T::ShowingNOfTotal.fill(
                ctx.lang,
                &[
                    ("n", &format::int(data.findings.len() as u64)),
                    (
                        "total",
                        &format::int(data.findings_total.max(data.findings.len() as u64)),
                    ),
                ],
            );
            layout::card(h, ctx.t(T::FindingsOfClue), Some(&shown), |h| {
                findings_table(h, ctx, &data.findings);
            });
            h.el(
                "section",
                &[("class", Some("card")), ("id", Some("dossier-sales"))],
                |h| {
                    h.el_text("h2", &[], ctx.t(T::SalesAndAmounts));
                    h.el_text(
                        "p",
                        &[("class", Some("intro"))],
                        ctx.t(T::SalesAndAmountsIntro),
                    );
                    sales_table(h, ctx, data);
                },
            );
            chains(h, ctx, data);
            h.el(
                "section",
                &[("class", Some("card")), ("id", Some("dossier-audit"))],
                |h| {
                    h.el_text("h2", &[], ctx.t(T::AuditTrail));
                    audit_table(h, ctx, &data.audit);
                },
            );
        });
    })
}

fn head(h: &mut Html, ctx: &Ctx, data: &DossierPage) {
    let c = &data.clue;
    h.el("div", &[("class", Some("page-head"))], |h| {
        h.el("div", &[], |h| {
            h.el("h1", &[], |h| {
                h.text(ctx.t(T::DossierTitle)).text(" ");
                h.el_text("span", &[("class", Some("mono code"))], &c.id);
            });
            h.el("p", &[("class", Some("sub"))], |h| {
                layout::state_badge(h, ctx, c.state, c.overdue);
                h.text(" ").text(&c.batch).text(" · ");
                h.text(ctx.t(T::GeneratedAt)).text(ctx.lang.colon());
                h.el_text(
                    "time",
                    &[],
                    &format::datetime(data.generated_at, ctx.utc_offset_minutes),
                );
            });
        });
    });
    h.el_text("p", &[("class", Some("intro"))], ctx.t(T::DossierIntro));
    h.el_text(
        "p",
        &[("class", Some("intro no-print"))],
        ctx.t(T::DossierPrintHint),
    );
}

fn clue_card(h: &mut Html, ctx: &Ctx, data: &DossierPage) {
    let c = &data.clue;
    h.el("dl", &[("class", Some("facts"))], |h| {
        h.el_text("dt", &[], ctx.t(T::ClueId));
        h.el_text("dd", &[("class", Some("mono"))], &c.id);
        h.el_text("dt", &[], ctx.t(T::Batch));
        h.el_text("dd", &[], &c.batch);
        h.el_text("dt", &[], ctx.t(T::State));
        h.el("dd", &[], |h| layout::state_badge(h, ctx, c.state, false));
        clue_facts(h, ctx, c);
        h.el_text("dt", &[], ctx.t(T::DeadlineStatus));
        let today = format::date(data.today);
        let (class, text) = if c.overdue {
            (
                "bad-text deadline-status",
                T::OverdueAsOf.fill(ctx.lang, &[("today", &today)]),
            )
        } else if c.transitions.is_empty() {
            ("deadline-status", ctx.t(T::NoTransitions).to_owned())
        } else {
            (
                "deadline-status",
                T::NotOverdueAsOf.fill(ctx.lang, &[("today", &today)]),
            )
        };
        h.el_text("dd", &[("class", Some(class))], &text);
    });
}

fn institution_card(h: &mut Html, ctx: &Ctx, i: &InstitutionInfo) {
    layout::facts(
        h,
        &[
            (ctx.t(T::InstitutionCode), i.code.clone()),
            (ctx.t(T::Institution), i.name.clone()),
            (
                ctx.t(T::InstitutionKindLabel),
                i.kind
                    .map(|k| ctx.t(institution_kind_label(k)).to_owned())
                    .unwrap_or_default(),
            ),
            (ctx.t(T::Region), layout::place(&i.province, &i.city)),
        ],
    );
}

fn sales_table(h: &mut Html, ctx: &Ctx, data: &DossierPage) {
    let cols = [
        Col(ctx.t(T::TraceCode), false),
        Col(ctx.t(T::At), false),
        Col(ctx.t(T::Seller), false),
        Col(ctx.t(T::Settlement), false),
        Col(ctx.t(T::Units), true),
        Col(ctx.t(T::Amount), true),
        Col(ctx.t(T::OutcomeLabel), false),
    ];
    let sales: Vec<DossierSale<'_>> = data.sales().collect();
    let (paid, blocked) = data.sale_totals();
    let foot = |h: &mut Html| {
        for (label, total, id) in [
            (T::TotalSettled, paid, "total-settled"),
            (T::TotalBlocked, blocked, "total-blocked"),
        ] {
            h.el("tr", &[("id", Some(id))], |h| {
                h.el_text("td", &[("colspan", Some("5"))], ctx.t(label));
                layout::td_num(h, &format::yuan(total));
                h.el("td", &[], |_| {});
            });
        }
    };
    layout::table_with_foot(
        h,
        ctx,
        &cols,
        sales.is_empty(),
        |h| {
            for s in &sales {
                let e = s.event;
                h.el("tr", &[("class", Some("sale"))], |h| {
                    h.el_text("td", &[("class", Some("mono nowrap"))], s.code);
                    h.el_text(
                        "td",
                        &[("class", Some("nowrap"))],
                        &format::datetime(e.at, ctx.utc_offset_minutes),
                    );
                    h.el("td", &[], |h| {
                        if !e.actor_name.is_empty() {
                            h.text(&e.actor_name).text(" ");
                        }
                        h.el_text("span", &[("class", Some("small mono"))], &e.actor_code);
                    });
                    h.el_text(
                        "td",
                        &[("class", Some("mono settlement"))],
                        e.details.settlement.as_deref().unwrap_or(format::MISSING),
                    );
                    layout::td_num(h, &units_text(&e.details).unwrap_or_default());
                    layout::td_num(
                        h,
                        &e.details
                            .amount_fen
                            .map_or_else(|| format::MISSING.to_owned(), format::yuan),
                    );
                    h.el("td", &[], |h| {
                        layout::outcome_badge(h, ctx, &e.outcome);
                        if let Some(reason) = e.outcome.reason() {
                            h.el_text(
                                "div",
                                &[("class", Some("small"))],
                                reason_text(reason, ctx.lang),
                            );
                        }
                    });
                });
            }
        },
        Some(foot),
    );
}

fn chains(h: &mut Html, ctx: &Ctx, data: &DossierPage) {
    h.el(
        "section",
        &[
            ("class", Some("dossier-chains")),
            ("id", Some("dossier-chains")),
        ],
        |h| {
            h.el("h2", &[("class", Some("section-title"))], |h| {
                h.el_text("span", &[], ctx.t(T::EvidenceChains));
                h.el_text(
                    "span",
                    &[("class", Some("aside"))],
                    &format!(
                        "{}{}{}",
                        ctx.t(T::PacksInvolved),
                        ctx.lang.colon(),
                        format::int(data.packs_total.max(data.packs.len() as u64))
                    ),
                );
            });
            h.el_text(
                "p",
                &[("class", Some("intro"))],
                ctx.t(T::EvidenceChainsIntro),
            );
            if data.packs_total > data.packs.len() as u64 {
                h.el_text(
                    "div",
                    &[("class", Some("notice warn")), ("id", Some("packs-cut"))],
                    &T::PacksShownOfTotal.fill(
                        ctx.lang,
                        &[
                            ("n", &format::int(data.packs.len() as u64)),
                            ("total", &format::int(data.packs_total)),
                        ],
                    ),
                );
            }
            if data.packs.is_empty() {
                h.el_text("p", &[("class", Some("small"))], ctx.t(T::NoPacks));
            }
            for p in &data.packs {
                h.el("section", &[("class", Some("card dossier-pack"))], |h| {
                    h.el("h2", &[], |h| {
                        h.el("span", &[], |h| {
                            h.text(ctx.t(T::TraceCode)).text(" ");
                            h.el_text(
                                "a",
                                &[
                                    ("class", Some("mono")),
                                    ("href", Some(&ctx.pack_url(&p.code))),
                                ],
                                &p.code,
                            );
                        });
                        if let Some(product) = &p.product {
                            h.el_text(
                                "span",
                                &[("class", Some("aside"))],
                                &[
                                    product.generic_name.as_str(),
                                    product.specification.as_str(),
                                    product.manufacturer.as_str(),
                                ]
                                .into_iter()
                                .filter(|s| !s.is_empty())
                                .collect::<Vec<_>>()
                                .join(" · "),
                            );
                        }
                    });
                    if let Some(product) = &p.product {
                        h.el("div", &[("class", Some("pack-product"))], |h| {
                            product_facts(h, ctx, product);
                        });
                    }
                    timeline(h, ctx, &p.events);
                    if p.events_total > p.events.len() as u64 {
                        h.el_text(
                            "p",
                            &[("class", Some("notice warn"))],
                            &T::EventsShownOfTotal.fill(
                                ctx.lang,
                                &[
                                    ("n", &format::int(p.events.len() as u64)),
                                    ("total", &format::int(p.events_total)),
                                ],
                            ),
                        );
                    }
                });
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lang, sample};

    #[test]
    fn the_dossier_holds_everything_an_inspection_needs_in_both_languages() {
        let data = sample::dossier();
        let zh = render_dossier(
            &data,
            &sample::ctx(Lang::Zh, "/dashboard/clues/C301/dossier"),
        );
        for text in [
            "<html lang=\"zh-CN\">",
            "线索检查材料",
            "被检查机构",
            "定点零售药店",
            "福州市鼓楼区康宁大药房",
            "H35010200417",
            "线索所含疑点",
            "销售与金额",
            "各追溯码证据链",
            "处理记录",
            "福州市医保局 林某",
            "截至 2025-06-25 已逾期",
            "<span class=\"badge overdue\">逾期</span>",
            "2025-06-20",
            "已结算合计",
            "被拦截合计",
            // Two sales through (68.50 each) and one blocked.
            "<td class=\"num\">137.00</td>",
            "<td class=\"num\">68.50</td>",
            "原因：该码已售出",
            "href=\"/dashboard/clues/C301\"",
        ] {
            assert!(zh.contains(text), "the Chinese dossier lacks {text}");
        }
        assert_eq!(zh.matches("<tr class=\"sale\">").count(), 3);
        assert_eq!(zh.matches("class=\"card dossier-pack\"").count(), 2);
        assert!(!zh.contains("<script"));
        assert!(!zh.contains("packs-cut"), "every pack is listed");

        let en = render_dossier(
            &data,
            &sample::ctx(Lang::En, "/dashboard/clues/C301/dossier?lang=en"),
        );
        for text in [
            "<html lang=\"en\">",
            "Inspection dossier",
            "Institution inspected",
            "Pharmacy",
            "Findings behind this clue",
            "Sales and amounts",
            "Each trace code&#39;s evidence chain",
            "Audit trail",
            "Overdue as of 2025-06-25",
            "Total settled",
            "Total blocked",
            "<td class=\"num\">137.00</td>",
            "href=\"/dashboard/clues/C301?lang=en\"",
        ] {
            assert!(en.contains(text), "the English dossier lacks {text}");
        }
        assert!(!en.contains("已结算合计") && !en.contains("被检查机构"));
    }

    #[test]
    fn a_cut_list_of_packs_says_how_many_there_are() {
        let mut data = sample::dossier();
        data.packs_total = 250;
        data.packs[1].events_total = 900;
        let html = render_dossier(
            &data,
            &sample::ctx(Lang::Zh, "/dashboard/clues/C301/dossier"),
        );
        assert!(html.contains("列出前 2 个追溯码，共 250 个；其余未列出。"));
        assert!(html.contains("列出前 4 条事件，共 900 条；其余未列出。"));
        data.clue.overdue = false;
        let html = render_dossier(
            &data,
            &sample::ctx(Lang::En, "/dashboard/clues/C301/dossier"),
        );
        assert!(html.contains("Not overdue as of 2025-06-25"));
        assert!(html.contains("The first 2 of 250 trace codes are listed"));
    }

    #[test]
    fn totals_count_blocked_attempts_apart() {
        let (paid, blocked) = sample::dossier().sale_totals();
        assert_eq!(paid, Fen::new(13_700));
        assert_eq!(blocked, Fen::new(6_850));
    }
}
