//! One trace code: its product, its state, the findings on it, and its evidence chain, every
//! event of its log on a timeline, the events a finding cites highlighted.

use drugtrace_money::Fen;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::Ctx;
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::layout::{self, Frame, Kpi, Section, Tone};
use crate::types::{EventKind, FindingRow, Outcome, event_kind_label, reason_text};

/// What a pack's page shows.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PackPage {
    /// The trace code as scanned.
    pub code: String,
    /// The product, if the catalogue knows the code's prefix.
    pub product: Option<ProductInfo>,
    /// The pack's state now.
    pub summary: PackSummary,
    /// Findings on this code.
    pub findings: Vec<FindingRow>,
    /// Every event of the pack's log, in recorded order.
    pub events: Vec<EvidenceEvent>,
}

/// A product from the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProductInfo {
    /// 通用名.
    pub generic_name: String,
    /// 商品名.
    pub trade_name: String,
    /// 规格.
    pub specification: String,
    /// 生产企业.
    pub manufacturer: String,
    /// 医保药品编码, if mapped.
    pub insurance_code: Option<String>,
    /// 批准文号, if known.
    pub approval_number: Option<String>,
}

/// A pack's state, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PackSummary {
    /// Where the pack is.
    pub status: PackStatus,
    /// Events recorded, rejected ones included.
    pub events: u64,
    /// Sales that went through.
    pub sales: u64,
    /// Sale attempts blocked.
    pub blocked: u64,
    /// The party that holds it (name and code), if known.
    pub holder: Option<String>,
    /// Its production batch, if known.
    pub batch: Option<String>,
    /// Its expiry, if known.
    pub expiry: Option<Date>,
    /// When its latest event happened.
    pub last_at: Option<Timestamp>,
}

/// Where a pack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PackStatus {
    /// No manufacturer issued the code.
    NotIssued,
    /// In the chain or in stock, not sold.
    InStock,
    /// Some units sold (a split sale, 拆零).
    PartlySold,
    /// Sold.
    Sold,
    /// Recalled.
    Recalled,
    /// Destroyed.
    Destroyed,
}

impl PackStatus {
    /// The status's label.
    pub fn label(self) -> T {
        match self {
            PackStatus::NotIssued => T::PackStatusNotIssued,
            PackStatus::InStock => T::PackStatusInStock,
            PackStatus::PartlySold => T::PackStatusPartlySold,
            PackStatus::Sold => T::PackStatusSold,
            PackStatus::Recalled => T::PackStatusRecalled,
            PackStatus::Destroyed => T::PackStatusDestroyed,
        }
    }
}

/// One event of a pack's log, as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EvidenceEvent {
    /// Its position in the pack's log, from 0.
    pub seq: u32,
    /// When it happened (the scan's time).
    pub at: Timestamp,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// The reporting party's code.
    pub actor_code: String,
    /// The reporting party's name (empty if unknown).
    pub actor_name: String,
    /// What happened, as the ledger recorded it (its particulars as shown are in
    /// `details`).
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::types::ser::event_kind")
    )]
    pub kind: EventKind,
    /// What the ledger decided, with the reason of a flag or rejection.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::types::ser::outcome")
    )]
    pub outcome: Outcome,
    /// The event's particulars.
    pub details: EventDetails,
    /// Whether a finding cites this event.
    pub highlighted: bool,
}

/// An event's particulars; absent ones are not shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EventDetails {
    /// The other party (supplier, receiver), name and code.
    pub counterparty: Option<String>,
    /// The settlement id of a sale or return.
    pub settlement: Option<String>,
    /// The first characters of the buyer's hash, enough to tell buyers apart.
    pub person_hash_prefix: Option<String>,
    /// Units sold or returned.
    pub units: Option<u32>,
    /// Units in the whole pack.
    pub pack_units: Option<u32>,
    /// The amount.
    pub amount_fen: Option<Fen>,
    /// Whether the insurance fund paid.
    pub fund_paid: Option<bool>,
}

/// The pack's page.
pub fn render_pack(data: &PackPage, ctx: &Ctx) -> String {
    let frame = Frame {
        title: format!("{} {}", ctx.t(T::TraceCode), data.code),
        section: Section::Overview,
        crumbs: vec![
            (ctx.t(T::NavOverview).to_owned(), Some(ctx.overview_url())),
            (data.code.clone(), None),
        ],
        ctx,
    };
    layout::page(frame, |h| {
        h.el("div", &[("class", Some("page-head"))], |h| {
            h.el("div", &[], |h| {
                h.el("h1", &[], |h| {
                    h.text(ctx.t(T::PackTitle)).text(" ");
                    h.el_text("span", &[("class", Some("mono code"))], &data.code);
                });
                if let Some(p) = &data.product {
                    let sub = [
                        p.generic_name.as_str(),
                        p.specification.as_str(),
                        p.manufacturer.as_str(),
                    ]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" · ");
                    h.el_text("p", &[("class", Some("sub"))], &sub);
                }
            });
        });
        let s = &data.summary;
        if s.sales > 1 || s.blocked > 0 {
            h.el(
                "div",
                &[("class", Some("notice")), ("role", Some("note"))],
                |h| {
                    if s.sales > 1 {
                        h.el_text(
                            "strong",
                            &[],
                            &T::PackSoldTimes.fill(ctx.lang, &[("n", &format::int(s.sales))]),
                        );
                        h.text(" ");
                    }
                    if s.blocked > 0 {
                        h.text(
                            &T::PackBlockedTimes.fill(ctx.lang, &[("n", &format::int(s.blocked))]),
                        );
                    }
                },
            );
        }
        summary_tiles(h, ctx, s);
        h.el("div", &[("class", Some("grid2"))], |h| {
            layout::card(h, ctx.t(T::ProductInfo), None, |h| match &data.product {
                Some(p) => product_facts(h, ctx, p),
                None => {
                    h.el_text("p", &[("class", Some("small"))], ctx.t(T::UnknownProduct));
                }
            });
            layout::card(h, ctx.t(T::PackSummary), None, |h| {
                let s = &data.summary;
                layout::facts(
                    h,
                    &[
                        (ctx.t(T::Holder), s.holder.clone().unwrap_or_default()),
                        (ctx.t(T::LotBatch), s.batch.clone().unwrap_or_default()),
                        (
                            ctx.t(T::Expiry),
                            s.expiry.map(format::date).unwrap_or_default(),
                        ),
                        (
                            ctx.t(T::LastEvent),
                            s.last_at
                                .map(|t| format::datetime(t, ctx.utc_offset_minutes))
                                .unwrap_or_default(),
                        ),
                    ],
                );
            });
        });
        if !data.findings.is_empty() {
            layout::card(h, ctx.t(T::FindingsOnCode), None, |h| {
                super::institution::findings_table(h, ctx, &data.findings);
            });
        }
        layout::card(h, ctx.t(T::EvidenceChain), None, |h| {
            h.el_text(
                "p",
                &[("class", Some("intro"))],
                ctx.t(T::EvidenceChainIntro),
            );
            timeline(h, ctx, &data.events);
        });
    })
}

/// A product's facts (names, specification, manufacturer, codes), the empty ones left out.
pub(crate) fn product_facts(h: &mut Html, ctx: &Ctx, p: &ProductInfo) {
    layout::facts(
        h,
        &[
            (ctx.t(T::GenericName), p.generic_name.clone()),
            (ctx.t(T::TradeName), p.trade_name.clone()),
            (ctx.t(T::Specification), p.specification.clone()),
            (ctx.t(T::Manufacturer), p.manufacturer.clone()),
            (
                ctx.t(T::InsuranceCode),
                p.insurance_code.clone().unwrap_or_default(),
            ),
            (
                ctx.t(T::ApprovalNumber),
                p.approval_number.clone().unwrap_or_default(),
            ),
        ],
    );
}

fn summary_tiles(h: &mut Html, ctx: &Ctx, s: &PackSummary) {
    let status_tone = match s.status {
        PackStatus::InStock => Tone::Ok,
        PackStatus::Sold | PackStatus::PartlySold => Tone::Info,
        PackStatus::Recalled | PackStatus::Destroyed => Tone::Warn,
        PackStatus::NotIssued => Tone::Bad,
    };
    layout::kpis(
        h,
        &[
            Kpi {
                label: ctx.t(T::PackStatus),
                value: ctx.t(s.status.label()).to_owned(),
                note: None,
                tone: status_tone,
            },
            Kpi {
                label: ctx.t(T::SalesCount),
                value: format::int(s.sales),
                note: None,
                tone: if s.sales > 1 { Tone::Bad } else { Tone::Info },
            },
            Kpi {
                label: ctx.t(T::BlockedCount),
                value: format::int(s.blocked),
                note: None,
                tone: if s.blocked > 0 {
                    Tone::Bad
                } else {
                    Tone::Plain
                },
            },
            Kpi {
                label: ctx.t(T::EventsCount),
                value: format::int(s.events),
                note: None,
                tone: Tone::Plain,
            },
        ],
    );
}

/// A pack's events as a timeline, each with its time, kind, outcome and reason, actor and
/// particulars; the ones a finding cites highlighted.
pub(crate) fn timeline(h: &mut Html, ctx: &Ctx, events: &[EvidenceEvent]) {
    if events.is_empty() {
        h.el_text("p", &[("class", Some("small"))], ctx.t(T::NoRows));
        return;
    }
    h.el("ol", &[("class", Some("timeline"))], |h| {
        for e in events {
            let class = format!(
                "tl {}{}",
                e.outcome.as_str(),
                if e.highlighted { " highlighted" } else { "" }
            );
            let id = format!("event-{}", e.seq);
            h.el("li", &[("class", Some(&class)), ("id", Some(&id))], |h| {
                h.el("div", &[("class", Some("tl-head"))], |h| {
                    h.el_text("span", &[("class", Some("seq"))], &format!("#{}", e.seq));
                    h.el_text(
                        "span",
                        &[("class", Some("kind"))],
                        ctx.t(event_kind_label(&e.kind)),
                    );
                    layout::outcome_badge(h, ctx, &e.outcome);
                    if e.highlighted {
                        h.el_text(
                            "span",
                            &[("class", Some("badge evidence"))],
                            ctx.t(T::Evidence),
                        );
                    }
                    h.el("span", &[("class", Some("when"))], |h| {
                        h.text(ctx.t(T::At)).text(" ");
                        h.el_text("time", &[], &format::datetime(e.at, ctx.utc_offset_minutes));
                        h.text(" · ").text(ctx.t(T::RecordedAt)).text(" ");
                        h.el_text(
                            "time",
                            &[],
                            &format::datetime(e.recorded_at, ctx.utc_offset_minutes),
                        );
                    });
                });
                h.el("div", &[("class", Some("tl-actor"))], |h| {
                    if e.actor_name.is_empty() {
                        h.el_text("span", &[("class", Some("mono"))], &e.actor_code);
                    } else {
                        h.el_text(
                            "a",
                            &[("href", Some(&ctx.institution_url(&e.actor_code)))],
                            &e.actor_name,
                        );
                        h.text(" ");
                        h.el_text("span", &[("class", Some("small mono"))], &e.actor_code);
                    }
                });
                if let Some(reason) = e.outcome.reason() {
                    h.el_text(
                        "div",
                        &[("class", Some("tl-reason"))],
                        &format!(
                            "{}{}{}",
                            ctx.t(T::Reason),
                            ctx.lang.colon(),
                            reason_text(reason, ctx.lang)
                        ),
                    );
                }
                details(h, ctx, &e.details);
            });
        }
    });
}

/// The units of an event, with the pack's when known: `1 / 10`.
pub(crate) fn units_text(d: &EventDetails) -> Option<String> {
    match (d.units, d.pack_units) {
        (Some(u), Some(p)) => Some(format!("{u} / {p}")),
        (Some(u), None) => Some(u.to_string()),
        _ => None,
    }
}

fn details(h: &mut Html, ctx: &Ctx, d: &EventDetails) {
    let units = units_text(d);
    let rows: Vec<(&str, String, bool)> = [
        (T::Counterparty, d.counterparty.clone(), false),
        (T::Settlement, d.settlement.clone(), true),
        (
            T::Person,
            d.person_hash_prefix.as_ref().map(|p| format!("{p}…")),
            true,
        ),
        (T::Units, units, false),
        (T::Amount, d.amount_fen.map(format::yuan), false),
        (
            T::FundPaid,
            d.fund_paid
                .map(|p| ctx.t(if p { T::Yes } else { T::No }).to_owned()),
            false,
        ),
    ]
    .into_iter()
    .filter_map(|(label, value, mono)| value.map(|v| (ctx.t(label), v, mono)))
    .collect();
    if rows.is_empty() {
        return;
    }
    h.el("dl", &[("class", Some("tl-details"))], |h| {
        for (label, value, mono) in rows {
            h.el("div", &[], |h| {
                h.el_text("dt", &[], label);
                h.el_text("dd", &[("class", mono.then_some("mono"))], &value);
            });
        }
    });
}
