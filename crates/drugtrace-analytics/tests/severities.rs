//! A finding's severity is parsed once, where the model's output becomes findings: one of
//! the three is written back by its name, anything else fails the run naming the model and
//! what it wrote (before, a model writing `critical` showed as low on the pages).

mod common;

use drugtrace_analytics::{Analytics, AnalyticsError, Model, Table};
use drugtrace_ledger::MemStore;

/// A model whose one finding has severity `severity` (an SQL expression).
fn model_rating(severity: &str) -> Model {
    model_with(
        severity,
        "make_array(CAST(1 AS INT UNSIGNED), CAST(2 AS INT UNSIGNED))",
    )
}

/// A model whose one finding has `severity` and `evidence` (SQL expressions).
fn model_with(severity: &str, evidence: &str) -> Model {
    let text = format!(
        "-- model: rates_oddly\n-- version: 1\n-- severity: high\n-- level: code\n\
         -- truth:\n-- title.zh: 测试\n-- title.en: Test\n-- about.zh: 测试\n-- about.en: Test\n\
         SELECT {severity} AS severity, 'c1' AS code, 'P1' AS institution, \
         NULL AS related_institution, NULL AS person, NULL AS product, \
         CAST(NULL AS TIMESTAMP) AS at, 0 AS amount_fen, {evidence} AS evidence, '' AS detail"
    );
    Model::parse("rates_oddly.sql", &text).unwrap()
}

/// What running `model` over an empty warehouse gives.
fn run(model: &Model) -> Result<Table, AnalyticsError> {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = common::warehouse(&MemStore::new(), dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let analytics = Analytics::open(&warehouse).await.unwrap();
        let batches = analytics.run_model(model).await?;
        Table::from_batches(&batches)
    })
}

#[test]
fn a_model_writing_an_unknown_severity_fails_naming_it() {
    let e = run(&model_rating("'critical'")).unwrap_err();
    assert!(
        matches!(
            &e,
            AnalyticsError::ModelSeverity { model, value }
                if model == "rates_oddly" && value.as_deref() == Some("critical")
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "model rates_oddly wrote a finding of severity \"critical\", not high, medium or low"
    );
}

#[test]
fn a_model_writing_no_severity_fails_naming_it() {
    let e = run(&model_rating("CAST(NULL AS VARCHAR)")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "model rates_oddly wrote a finding of severity NULL, not high, medium or low"
    );
}

#[test]
fn a_severity_in_another_case_is_written_by_its_name() {
    let table = run(&model_rating("' Medium'")).unwrap();
    let severities: Vec<String> = table.records().map(|r| r.text("severity")).collect();
    assert_eq!(severities, ["medium"]);
}

/// Evidence is a list of the pack's event seqs. Before, models wrote it as comma-separated
/// text, which every reader split again; text now fails the run, naming the model.
#[test]
fn a_model_giving_its_evidence_as_text_fails_naming_it() {
    let e = run(&model_with("'high'", "'1,2'")).unwrap_err();
    assert!(
        matches!(&e, AnalyticsError::ModelEvidence { model, .. } if model == "rates_oddly"),
        "{e:?}"
    );
    assert!(e.to_string().contains("not a list of event seqs"), "{e}");
}

#[test]
fn evidence_is_kept_as_a_list_and_none_as_null() {
    let table = run(&model_rating("'high'")).unwrap();
    let evidence: Vec<i64> = table
        .records()
        .next()
        .unwrap()
        .list("evidence")
        .iter()
        .map(|v| v.int())
        .collect();
    assert_eq!(evidence, [1, 2]);
    let table = run(&model_with("'high'", "CAST(NULL AS INT UNSIGNED[])")).unwrap();
    assert!(table.records().next().unwrap().get("evidence").is_null());
}
