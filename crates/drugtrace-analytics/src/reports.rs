//! Reports: fixed queries over the warehouse for the bureaus (uploads per institution,
//! coverage per region, the gate's interceptions, trends by day, duplicated codes, the
//! resale network's A -> B flows and the persons implicated).

use crate::table::Table;
use crate::{Analytics, AnalyticsError};

/// A report: its name, what it shows, and its query.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    /// Its name, as the API and the command line say it.
    pub name: &'static str,
    /// Whether it reads the `findings` table (so it needs a model run first).
    pub needs_findings: bool,
    /// The query.
    pub sql: &'static str,
    /// The columns it gives, each of its kind: what the pages and the API read from it.
    /// A run whose result lacks one, or gives it of another kind, fails naming it
    /// ([`AnalyticsError::ReportSchema`]), so a renamed column is an error, never zeros.
    pub columns: &'static [(&'static str, Kind)],
}

/// The kind of a report's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number (counts, amounts in fen, milliseconds).
    Int,
    /// A fraction (rates).
    Float,
    /// True or false.
    Bool,
    /// A date.
    Date,
    /// A local wall-clock time.
    Time,
    /// A list of values.
    List,
    /// Text.
    Text,
}

impl Kind {
    pub(crate) fn of(dt: &datafusion::arrow::datatypes::DataType) -> Kind {
        if dt.is_integer() {
            Kind::Int
        } else if dt.is_floating()
            || matches!(dt, datafusion::arrow::datatypes::DataType::Decimal128(..))
        {
            Kind::Float
        } else {
            use datafusion::arrow::datatypes::DataType as T;
            match dt {
                T::Boolean => Kind::Bool,
                T::Date32 => Kind::Date,
                T::Timestamp(_, None) => Kind::Time,
                T::List(_) | T::LargeList(_) | T::FixedSizeList(..) => Kind::List,
                _ => Kind::Text,
            }
        }
    }
}

use Kind::{Date, Float, Int, List, Text, Time};

/// Every report.
pub const REPORTS: &[Report] = &[
    Report {
        name: "daily",
        needs_findings: false,
        sql: include_str!("../reports/daily.sql"),
        columns: &[
            ("day", Date),
            ("scans", Int),
            ("sales", Int),
            ("interceptions", Int),
            ("intercepted_fen", Int),
        ],
    },
    Report {
        name: "interceptions",
        needs_findings: false,
        sql: include_str!("../reports/interceptions.sql"),
        columns: &[
            ("reason", Text),
            ("interceptions", Int),
            ("codes", Int),
            ("institutions", Int),
            ("intercepted_fen", Int),
        ],
    },
    Report {
        name: "institutions",
        needs_findings: true,
        sql: include_str!("../reports/institutions.sql"),
        columns: &[
            ("institution", Text),
            ("name", Text),
            ("kind", Text),
            ("province", Text),
            ("city", Text),
            ("scans", Int),
            ("codes", Int),
            ("sales", Int),
            ("interceptions", Int),
            ("intercepted_fen", Int),
            ("fund_paid_fen", Int),
            ("findings", Int),
            ("flagged_codes", Int),
            ("at_risk_fen", Int),
            ("settled_items", Int),
            ("uploaded_items", Int),
            ("upload_rate", Float),
        ],
    },
    Report {
        name: "regions",
        needs_findings: true,
        sql: include_str!("../reports/regions.sql"),
        columns: &[
            ("province", Text),
            ("city", Text),
            ("institutions", Int),
            ("uploading", Int),
            ("scans", Int),
            ("sales", Int),
            ("interceptions", Int),
            ("findings", Int),
            ("at_risk_fen", Int),
            ("settled_items", Int),
            ("uploaded_items", Int),
            ("upload_rate", Float),
        ],
    },
    Report {
        name: "duplicated_codes",
        needs_findings: true,
        sql: include_str!("../reports/duplicated_codes.sql"),
        columns: &[
            ("code", Text),
            ("product", Text),
            ("generic_name", Text),
            ("times_sold", Int),
            ("institutions", List),
            ("last_sale", Time),
        ],
    },
    Report {
        name: "resale_flows",
        needs_findings: true,
        sql: include_str!("../reports/resale_flows.sql"),
        columns: &[
            ("sold_at", Text),
            ("sold_at_name", Text),
            ("sold_at_city", Text),
            ("taken_in_at", Text),
            ("taken_in_at_name", Text),
            ("taken_in_at_city", Text),
            ("packs", Int),
            ("persons", Int),
            ("at_risk_fen", Int),
            ("first_at", Time),
            ("last_at", Time),
        ],
    },
    Report {
        name: "resale_persons",
        needs_findings: true,
        sql: include_str!("../reports/resale_persons.sql"),
        columns: &[
            ("person", Text),
            ("packs", Int),
            ("at_risk_fen", Int),
            ("bought_at", List),
            ("taken_in_at", List),
            ("first_at", Time),
            ("last_at", Time),
        ],
    },
];

/// The codes a notice of duplicated codes lists: the rows of the `duplicated_codes` report.
pub fn notice_entries(table: &Table) -> Vec<drugtrace_clues::NoticeEntry> {
    table
        .records()
        .map(|r| drugtrace_clues::NoticeEntry {
            code: r.text("code"),
            product: r.text("product"),
            generic_name: r.text("generic_name"),
            times_sold: r.int("times_sold"),
            institutions: r
                .list("institutions")
                .iter()
                .filter(|v| !v.is_null())
                .map(crate::Value::text)
                .collect(),
        })
        .collect()
}

/// Checks that `schema` gives each column `report` declares, of its kind.
fn check_columns(
    report: &Report,
    schema: &datafusion::arrow::datatypes::Schema,
) -> Result<(), AnalyticsError> {
    for &(column, kind) in report.columns {
        let found = schema
            .field_with_name(column)
            .ok()
            .map(|f| Kind::of(f.data_type()));
        if found != Some(kind) {
            return Err(AnalyticsError::ReportSchema {
                report: report.name,
                column,
                expected: kind,
                found,
            });
        }
    }
    Ok(())
}

/// The report named `name`.
pub fn report(name: &str) -> Option<&'static Report> {
    REPORTS.iter().find(|r| r.name == name)
}

impl Analytics {
    /// Runs a report.
    pub async fn report(&self, report: &Report) -> Result<Table, AnalyticsError> {
        if report.needs_findings && !self.warehouse().findings_path().is_file() {
            return Err(AnalyticsError::NoFindings);
        }
        let frame = self.ctx.sql(report.sql).await?;
        check_columns(report, frame.schema().as_arrow())?;
        Table::from_batches(&frame.collect().await?)
    }

    /// Plans every report the warehouse can answer (those over findings once a model run
    /// wrote them) and checks the columns each declares, without running any: what
    /// [`Analytics::open`] does, so a warehouse whose tables do not give the reports their
    /// columns fails when it opens, naming the report and the column.
    pub(crate) async fn check_reports(&self, with_findings: bool) -> Result<(), AnalyticsError> {
        for report in REPORTS
            .iter()
            .filter(|r| with_findings || !r.needs_findings)
        {
            let frame = self.ctx.sql(report.sql).await?;
            check_columns(report, frame.schema().as_arrow())?;
        }
        Ok(())
    }

    /// Runs a query of the crate's own (or a page's, built from fixed text) as a table.
    pub async fn table(&self, sql: &str) -> Result<Table, AnalyticsError> {
        Table::from_batches(&self.collect(sql).await?)
    }
}
