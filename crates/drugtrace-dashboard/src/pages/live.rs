//! The live interceptions: the overview's ticker of the sales the gate blocked today, which
//! `live.js` keeps up to date from the server's event stream without a reload, and the one
//! rendering of an interception ([`LiveItem`]) that the page and the stream share.

use drugtrace_money::Fen;
use jiff::Timestamp;

use crate::Ctx;
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::layout;
use crate::types::ReasonName;

/// Rows the ticker shows at most; the script drops the oldest beyond them.
pub const TICKER_ROWS: usize = 50;

/// A sale the gate blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Interception {
    /// Its place in the day's feed, what the stream's `Last-Event-ID` resumes from.
    pub id: String,
    /// When the server decided (its clock).
    pub at: Timestamp,
    /// The selling institution's code.
    pub institution: String,
    /// Its name, when the directory knows it.
    pub institution_name: Option<String>,
    /// The pack's trace code.
    pub code: String,
    /// Why the sale was refused, as the feed names it.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::types::ser::reason_name")
    )]
    pub reason: ReasonName,
    /// The settlement it was part of, when the client named one.
    pub settlement: Option<String>,
    /// The amount the sale asked for.
    pub amount_fen: Fen,
}

/// The overview's ticker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Ticker {
    /// Today's latest interceptions, newest first (at most [`TICKER_ROWS`]).
    pub items: Vec<Interception>,
    /// How many of `items`, from the first, came after the regulator last looked.
    pub new: usize,
    /// Interceptions today in all, `items` and older ones.
    pub today: u64,
    /// The event stream's URL (`text/event-stream`, one `interception` event each).
    pub stream: String,
}

/// An interception as shown: every text already in the page's language. The ticker's rows
/// are rendered from it, and the event stream sends it as JSON, so a row `live.js` adds
/// reads exactly like one the server rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LiveItem {
    /// The feed position.
    pub id: String,
    /// The local time, `2025-05-01 09:30`.
    pub time: String,
    /// The institution as shown: its name, else its code.
    pub institution: String,
    /// Its drill-down page.
    pub institution_url: String,
    /// The trace code.
    pub code: String,
    /// Its evidence chain's page.
    pub code_url: String,
    /// The reason, labelled.
    pub reason: String,
    /// The amount in yuan, grouped.
    pub amount: String,
    /// The settlement, or empty.
    pub settlement: String,
}

impl LiveItem {
    /// `i` as shown in `ctx`'s language.
    pub fn of(i: &Interception, ctx: &Ctx) -> LiveItem {
        LiveItem {
            id: i.id.clone(),
            time: format::datetime(i.at, ctx.utc_offset_minutes),
            institution: i
                .institution_name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| i.institution.clone()),
            institution_url: ctx.institution_url(&i.institution),
            code: i.code.clone(),
            code_url: ctx.pack_url(&i.code),
            reason: i.reason.text(ctx.lang).to_owned(),
            amount: format::yuan(i.amount_fen),
            settlement: i.settlement.clone().unwrap_or_default(),
        }
    }
}

/// The script that follows the stream (served at `<base>/live.js`: the pages' policy runs
/// no inline script).
pub fn live_script() -> &'static str {
    include_str!("live.js")
}

/// The ticker's card: today's count, how many are new, and the rows. `live.js` adds rows
/// as the stream sends them, marked new.
pub(crate) fn render_ticker(h: &mut Html, ctx: &Ctx, ticker: &Ticker, script: &str) {
    layout::card(h, ctx.t(T::LiveTitle), None, |h| {
        let today = format::int(ticker.today.max(ticker.items.len() as u64));
        let new = ticker.new.min(ticker.items.len()).to_string();
        h.el("p", &[("class", Some("live-status"))], |h| {
            h.text(ctx.t(T::LiveToday));
            h.text(" ");
            h.el_text(
                "span",
                &[("id", Some("live-today")), ("class", Some("live-total"))],
                &today,
            );
            h.text(" · ");
            h.el_text(
                "span",
                &[("id", Some("live-new")), ("class", Some("live-count"))],
                &new,
            );
            h.text(" ");
            h.text(ctx.t(T::LiveNewSince));
        });
        let max = TICKER_ROWS.to_string();
        h.el(
            "ol",
            &[
                ("id", Some("live-interceptions")),
                ("class", Some("live")),
                ("data-stream", Some(&ticker.stream)),
                ("data-new-label", Some(ctx.t(T::LiveNew))),
                ("data-settlement-label", Some(ctx.t(T::LiveSettlement))),
                ("data-max", Some(&max)),
                ("aria-live", Some("polite")),
            ],
            |h| {
                for (n, i) in ticker.items.iter().enumerate() {
                    item(h, ctx, &LiveItem::of(i, ctx), n < ticker.new);
                }
            },
        );
        h.el_text(
            "p",
            &[
                ("id", Some("live-empty")),
                ("class", Some("empty")),
                ("hidden", (!ticker.items.is_empty()).then_some("")),
            ],
            ctx.t(T::LiveEmpty),
        );
        h.el_text("p", &[("class", Some("chart-hint"))], ctx.t(T::LiveHint));
        h.el(
            "script",
            &[("src", Some(script)), ("defer", Some(""))],
            |_| {},
        );
    });
}

/// One row, as `live.js` builds it too: time, reason, institution, code, amount.
fn item(h: &mut Html, ctx: &Ctx, i: &LiveItem, new: bool) {
    let class = if new { "live-item new" } else { "live-item" };
    h.el(
        "li",
        &[("class", Some(class)), ("data-id", Some(&i.id))],
        |h| {
            h.el_text("time", &[], &i.time);
            h.el_text("span", &[("class", Some("badge out-rejected"))], &i.reason);
            h.el_text(
                "a",
                &[("class", Some("inst")), ("href", Some(&i.institution_url))],
                &i.institution,
            );
            h.el_text(
                "a",
                &[("class", Some("mono")), ("href", Some(&i.code_url))],
                &i.code,
            );
            h.el_text("span", &[("class", Some("num"))], &i.amount);
            if !i.settlement.is_empty() {
                h.el_text(
                    "span",
                    &[("class", Some("muted"))],
                    &format!("{} {}", ctx.t(T::LiveSettlement), i.settlement),
                );
            }
            if new {
                h.el_text("span", &[("class", Some("badge new"))], ctx.t(T::LiveNew));
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;

    fn blocked(id: &str) -> Interception {
        Interception {
            id: id.into(),
            at: "2025-05-01T01:30:00Z".parse().unwrap(),
            institution: "H0001".into(),
            institution_name: Some("<测试>药房".into()),
            code: "81234567890123456789".into(),
            reason: ReasonName::parse("already_sold"),
            settlement: Some("S-1".into()),
            amount_fen: Fen::new(123_450),
        }
    }

    #[test]
    fn the_ticker_marks_what_came_after_the_last_look_and_escapes_names() {
        let ctx = Ctx::new(Lang::En, "/dashboard", "/dashboard/?lang=en", "");
        let ticker = Ticker {
            items: vec![blocked("d/2/0"), blocked("d/1/0")],
            new: 1,
            today: 7,
            stream: "/dashboard/live/interceptions?lang=en".into(),
        };
        let mut h = Html::new();
        render_ticker(&mut h, &ctx, &ticker, "/dashboard/live.js");
        let page = h.finish();
        assert_eq!(page.matches("class=\"live-item new\"").count(), 1);
        assert_eq!(page.matches("class=\"live-item\"").count(), 1);
        assert!(page.contains("&lt;测试&gt;药房"), "{page}");
        assert!(page.contains("1,234.50"));
        assert!(
            page.contains("Already sold") || page.contains("already"),
            "{page}"
        );
        assert!(page.contains("data-stream=\"/dashboard/live/interceptions?lang=en\""));
        assert!(page.contains("<script src=\"/dashboard/live.js\" defer"));
        assert!(
            page.contains("id=\"live-today\" class=\"live-total\">7<"),
            "{page}"
        );
        assert!(page.contains("id=\"live-empty\" class=\"empty\" hidden"));
    }

    #[test]
    fn an_item_reads_in_the_page_language() {
        let zh = Ctx::new(Lang::Zh, "/dashboard", "/dashboard/", "");
        let i = LiveItem::of(&blocked("d/1/0"), &zh);
        assert_eq!(i.institution, "<测试>药房");
        assert_eq!(i.amount, "1,234.50");
        assert!(
            i.code_url
                .starts_with("/dashboard/packs/81234567890123456789")
        );
        assert_eq!(i.reason, "该码已售出");
        let unnamed = Interception {
            institution_name: None,
            ..blocked("d/1/1")
        };
        assert_eq!(LiveItem::of(&unnamed, &zh).institution, "H0001");
    }
}
