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
}

/// Every report.
pub const REPORTS: &[Report] = &[
    Report {
        name: "daily",
        needs_findings: false,
        sql: include_str!("../reports/daily.sql"),
    },
    Report {
        name: "interceptions",
        needs_findings: false,
        sql: include_str!("../reports/interceptions.sql"),
    },
    Report {
        name: "institutions",
        needs_findings: true,
        sql: include_str!("../reports/institutions.sql"),
    },
    Report {
        name: "regions",
        needs_findings: true,
        sql: include_str!("../reports/regions.sql"),
    },
    Report {
        name: "duplicated_codes",
        needs_findings: true,
        sql: include_str!("../reports/duplicated_codes.sql"),
    },
    Report {
        name: "resale_flows",
        needs_findings: true,
        sql: include_str!("../reports/resale_flows.sql"),
    },
    Report {
        name: "resale_persons",
        needs_findings: true,
        sql: include_str!("../reports/resale_persons.sql"),
    },
];

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
        Table::from_batches(&self.collect(report.sql).await?)
    }

    /// Runs a query of the crate's own (or a page's, built from fixed text) as a table.
    pub async fn table(&self, sql: &str) -> Result<Table, AnalyticsError> {
        Table::from_batches(&self.collect(sql).await?)
    }
}
