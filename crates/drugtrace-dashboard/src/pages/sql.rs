//! The SQL console: a query form and its result.

use crate::Ctx;
use crate::format;
use crate::html::Html;
use crate::i18n::T;
use crate::layout::{self, Frame, Section};

/// What the SQL page shows: the form, and the last query's result or error.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SqlPage {
    /// Where the form posts; it sends the field `query`.
    pub action: String,
    /// The query text (shown in the form).
    pub query: String,
    /// The result's column names (empty when nothing ran).
    pub columns: Vec<String>,
    /// The result's rows, each value as text.
    pub rows: Vec<Vec<String>>,
    /// Why the query failed, if it did.
    pub error: Option<String>,
    /// How long it ran, in milliseconds; `None` when nothing ran.
    pub elapsed_ms: Option<f64>,
    /// Whether the result was cut at the row limit.
    pub row_limit_hit: bool,
    /// The tables one can query, with their columns, shown beside the form.
    pub tables: Vec<SqlTable>,
}

/// A table the console can query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SqlTable {
    /// Its name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<String>,
}

/// The SQL page.
pub fn render_sql(data: &SqlPage, ctx: &Ctx) -> String {
    let title = ctx.t(T::SqlTitle);
    let frame = Frame {
        title: title.to_owned(),
        section: Section::Sql,
        crumbs: vec![],
        ctx,
    };
    layout::page(frame, |h| {
        layout::page_head(h, title, Some(ctx.t(T::SqlIntro)), |_| {});
        let grid = (!data.tables.is_empty()).then_some("grid-sql");
        h.el("div", &[("class", grid)], |h| {
            layout::card(h, ctx.t(T::SqlQuery), None, |h| {
                let action = ctx.href(&data.action);
                h.el(
                    "form",
                    &[("method", Some("post")), ("action", Some(&action))],
                    |h| {
                        h.el_text(
                            "label",
                            &[("for", Some("sql-query")), ("class", Some("sr-only"))],
                            ctx.t(T::SqlQuery),
                        );
                        h.el_text(
                            "textarea",
                            &[
                                ("id", Some("sql-query")),
                                ("class", Some("sql")),
                                ("name", Some("query")),
                                ("rows", Some("8")),
                                ("spellcheck", Some("false")),
                                ("required", Some("")),
                            ],
                            &data.query,
                        );
                        h.el("div", &[("style", Some("margin-top:10px"))], |h| {
                            h.el_text("button", &[("type", Some("submit"))], ctx.t(T::Run));
                        });
                    },
                );
            });
            if !data.tables.is_empty() {
                layout::card(h, ctx.t(T::SqlTables), None, |h| tables(h, &data.tables));
            }
        });
        if let Some(error) = &data.error {
            h.el(
                "div",
                &[("class", Some("notice")), ("role", Some("alert"))],
                |h| {
                    h.el_text("strong", &[], ctx.t(T::SqlError));
                    h.el_text("pre", &[], error);
                },
            );
        } else if data.elapsed_ms.is_some() || !data.columns.is_empty() {
            result(h, ctx, data);
        }
    })
}

fn tables(h: &mut Html, tables: &[SqlTable]) {
    h.el("dl", &[("class", Some("facts"))], |h| {
        for t in tables {
            h.el_text("dt", &[("class", Some("mono"))], &t.name);
            h.el_text(
                "dd",
                &[("class", Some("mono small"))],
                &t.columns.join(", "),
            );
        }
    });
}

fn result(h: &mut Html, ctx: &Ctx, data: &SqlPage) {
    layout::card(h, ctx.t(T::SqlResult), None, |h| {
        h.el("div", &[("class", Some("result-meta"))], |h| {
            h.el_text(
                "span",
                &[],
                &T::RowsN.fill(ctx.lang, &[("n", &format::int(data.rows.len() as u64))]),
            );
            if let Some(ms) = data.elapsed_ms {
                h.el_text(
                    "span",
                    &[],
                    &format!(
                        "{}{}{}",
                        ctx.t(T::Elapsed),
                        ctx.lang.colon(),
                        format::elapsed_ms(ms)
                    ),
                );
            }
            if data.row_limit_hit {
                h.el_text(
                    "span",
                    &[("class", Some("bad-text"))],
                    ctx.t(T::RowLimitHit),
                );
            }
        });
        let numeric: Vec<bool> = (0..data.columns.len())
            .map(|c| {
                let mut cells = data
                    .rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .filter(|v| !v.is_empty());
                let mut any = false;
                let all = cells.all(|v| {
                    any = true;
                    looks_numeric(v)
                });
                any && all
            })
            .collect();
        let cols: Vec<layout::Col<'_>> = data
            .columns
            .iter()
            .zip(&numeric)
            .map(|(name, &num)| layout::Col(name, num))
            .collect();
        layout::table(h, ctx, &cols, data.rows.is_empty(), |h| {
            for row in &data.rows {
                h.el("tr", &[], |h| {
                    for (i, value) in row.iter().enumerate() {
                        let class = numeric.get(i).copied().unwrap_or(false).then_some("num");
                        h.el_text("td", &[("class", class)], value);
                    }
                });
            }
        });
    });
}

/// Whether a value reads as a quantity (right-aligned) rather than an identifier: an
/// optional sign, at most 15 digits without a leading zero, an optional fraction. A 20-digit
/// trace code or a code with leading zeros stays left-aligned.
fn looks_numeric(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !int.is_empty()
        && int.len() <= 15
        && digits(int)
        && digits(frac)
        && !(int.len() > 1 && int.starts_with('0'))
        && (frac.is_empty() != v.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_identifiers() {
        assert!(looks_numeric("14057"));
        assert!(looks_numeric("-12.50"));
        assert!(looks_numeric("0.947"));
        assert!(!looks_numeric("81000010000000000001"));
        assert!(!looks_numeric("007"));
        assert!(!looks_numeric("1."));
        assert!(!looks_numeric("1,234"));
        assert!(!looks_numeric(""));
    }
}
