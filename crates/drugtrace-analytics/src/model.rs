//! The anomaly models: each a named, versioned SQL query a regulator can read, kept as a
//! file under `models/` whose header comment says what it is.
//!
//! ```sql
//! -- model: duplicate_sale
//! -- version: 1
//! -- severity: high
//! -- level: code
//! -- reads: pack
//! -- truth: resale_ring, cloned_code, repeat_sale_3plus
//! -- title.zh: 重复销售
//! -- title.en: Duplicate sale
//! -- about.zh: …
//! -- about.en: …
//! SELECT severity, code, institution, related_institution, person, product, at,
//!        amount_fen, evidence, detail FROM …
//! ```
//!
//! `reads: pack` says that what the model finds about a pack rests on that pack's events
//! alone (and on the `institutions` and `products` tables): every join of `events` is on
//! `code`, every window is partitioned by it. Such a model is run over the changed packs
//! only after an update ([`crate::Analytics::run_changed`]); without the line (or with
//! `reads: all`) it reads every pack each run.
//!
//! Every query reads the tables `events`, `institutions` and `products` (see
//! [`crate::schema`]) and returns the columns of [`crate::schema::MODEL_COLUMNS`] in that
//! order. The SQL keeps to what DataFusion and DuckDB both run, so the same file can be
//! checked and timed in either.

use std::sync::LazyLock;

use drugtrace_clues::Severity;

/// Whether a model's findings are about packs or about institutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// One finding per suspicious pack (or per suspicious event of it).
    Code,
    /// One finding per institution (and product), with no pack.
    Institution,
}

/// What a model's query must read to find what it finds about a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// That pack's events only (and the institutions and products).
    Pack,
    /// Other packs' too (a case and its boxes, an upload batch, an institution's stock).
    All,
}

/// One model, parsed from its file.
#[derive(Debug, Clone)]
pub struct Model {
    /// Its name, `snake_case`, unique.
    pub name: String,
    /// Its version: a changed query gets a new one, and findings say which they came from.
    pub version: i32,
    /// The severity it usually assigns (a finding's own may differ).
    pub severity: Severity,
    /// What its findings are about.
    pub level: Level,
    /// What it reads for one pack's findings.
    pub reads: Reads,
    /// The kinds of planted fraud in the synthetic province's `truth.jsonl` it should find.
    pub truth: Vec<String>,
    /// Its title in Chinese.
    pub title_zh: String,
    /// Its title in English.
    pub title_en: String,
    /// What it finds and why, in Chinese.
    pub about_zh: String,
    /// What it finds and why, in English.
    pub about_en: String,
    /// The whole file, header included.
    pub sql: String,
}

/// Why a model file does not parse.
#[derive(Debug, thiserror::Error)]
#[error("model file {file}: {message}")]
pub struct ModelFileError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

const FILES: &[(&str, &str)] = &[
    (
        "duplicate_sale.sql",
        include_str!("../models/duplicate_sale.sql"),
    ),
    (
        "duplicate_sale_3plus.sql",
        include_str!("../models/duplicate_sale_3plus.sql"),
    ),
    ("cloned_code.sql", include_str!("../models/cloned_code.sql")),
    (
        "sale_without_intake.sql",
        include_str!("../models/sale_without_intake.sql"),
    ),
    (
        "stock_imbalance.sql",
        include_str!("../models/stock_imbalance.sql"),
    ),
    (
        "never_issued.sql",
        include_str!("../models/never_issued.sql"),
    ),
    (
        "sale_after_expiry.sql",
        include_str!("../models/sale_after_expiry.sql"),
    ),
    (
        "sale_after_recall.sql",
        include_str!("../models/sale_after_recall.sql"),
    ),
    (
        "substitution.sql",
        include_str!("../models/substitution.sql"),
    ),
    (
        "split_beyond_units.sql",
        include_str!("../models/split_beyond_units.sql"),
    ),
    (
        "return_mismatch.sql",
        include_str!("../models/return_mismatch.sql"),
    ),
    (
        "voided_sales.sql",
        include_str!("../models/voided_sales.sql"),
    ),
    (
        "case_box_diverted.sql",
        include_str!("../models/case_box_diverted.sql"),
    ),
    (
        "voided_codeless_sales.sql",
        include_str!("../models/voided_codeless_sales.sql"),
    ),
    (
        "resale_network.sql",
        include_str!("../models/resale_network.sql"),
    ),
];

/// Every model, in a fixed order.
pub fn models() -> &'static [Model] {
    static MODELS: LazyLock<Vec<Model>> = LazyLock::new(|| {
        FILES
            .iter()
            .map(|(file, text)| {
                Model::parse(file, text).unwrap_or_else(|e| panic!("built-in model: {e}"))
            })
            .collect()
    });
    &MODELS
}

/// The model named `name`.
pub fn model(name: &str) -> Option<&'static Model> {
    models().iter().find(|m| m.name == name)
}

impl Model {
    /// Parses a model file: its header of `-- key: value` lines, then the query.
    pub fn parse(file: &str, text: &str) -> Result<Model, ModelFileError> {
        let err = |message: String| ModelFileError {
            file: file.to_string(),
            message,
        };
        let mut fields = std::collections::BTreeMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("--") else {
                break;
            };
            let Some((key, value)) = rest.split_once(':') else {
                continue;
            };
            let key = key.trim();
            if key.contains(' ') || key.is_empty() {
                continue;
            }
            fields.insert(key.to_string(), value.trim().to_string());
        }
        let reads_text = fields.remove("reads");
        let mut take = |key: &str| {
            fields
                .remove(key)
                .ok_or_else(|| err(format!("the header has no `-- {key}:` line")))
        };
        let name = take("model")?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(err(format!("model name {name:?} is not snake_case")));
        }
        let version_text = take("version")?;
        let version = version_text
            .parse()
            .map_err(|_| err(format!("version {version_text:?} is not a whole number")))?;
        let severity_text = take("severity")?;
        let severity = Severity::parse(&severity_text).ok_or_else(|| {
            err(format!(
                "severity {severity_text:?} is not high, medium or low"
            ))
        })?;
        let level = match take("level")?.as_str() {
            "code" => Level::Code,
            "institution" => Level::Institution,
            other => {
                return Err(err(format!("level {other:?} is not code or institution")));
            }
        };
        let reads = match reads_text.as_deref() {
            None | Some("all") => Reads::All,
            Some("pack") => Reads::Pack,
            Some(other) => return Err(err(format!("reads {other:?} is not pack or all"))),
        };
        if reads == Reads::Pack && level != Level::Code {
            return Err(err(
                "a model about institutions cannot read one pack only".into()
            ));
        }
        let truth = take("truth")?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let model = Model {
            name,
            version,
            severity,
            level,
            reads,
            truth,
            title_zh: take("title.zh")?,
            title_en: take("title.en")?,
            about_zh: take("about.zh")?,
            about_en: take("about.en")?,
            sql: text.to_string(),
        };
        if !model.query().to_ascii_uppercase().contains("SELECT") {
            return Err(err("there is no query after the header".into()));
        }
        Ok(model)
    }

    /// The query without the header comment.
    pub fn query(&self) -> &str {
        let mut rest = self.sql.as_str();
        while let Some(line_end) = rest.find('\n') {
            if rest.starts_with("--") {
                rest = &rest[line_end + 1..];
            } else {
                break;
            }
        }
        rest
    }

    /// Its title in the language `lang` (`zh` or `en`).
    pub fn title(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.title_en
        } else {
            &self.title_zh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_model_parses_and_names_are_unique() {
        let all = models();
        assert_eq!(all.len(), FILES.len());
        let mut names: Vec<_> = all.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for (m, (file, _)) in all.iter().zip(FILES) {
            assert_eq!(
                format!("{}.sql", m.name),
                *file,
                "file named after its model"
            );
            assert!(m.query().trim_start().starts_with("WITH") || m.query().contains("SELECT"));
        }
    }

    #[test]
    fn a_header_without_a_field_is_an_error_naming_it() {
        let e = Model::parse("x.sql", "-- model: x\n-- version: 1\nSELECT 1").unwrap_err();
        assert!(e.to_string().contains("-- severity:"), "{e}");
        let e = Model::parse(
            "x.sql",
            "-- model: X y\n-- version: 1\n-- severity: high\nSELECT 1",
        )
        .unwrap_err();
        assert!(e.to_string().contains("snake_case"), "{e}");
    }

    #[test]
    fn a_header_severity_is_one_of_the_three() {
        let header = |severity: &str| {
            format!(
                "-- model: x\n-- version: 1\n-- severity: {severity}\n-- level: code\n\
                 -- truth:\n-- title.zh: x\n-- title.en: x\n-- about.zh: x\n-- about.en: x\n\
                 SELECT 1"
            )
        };
        let m = Model::parse("x.sql", &header("medium")).unwrap();
        assert_eq!(m.severity, Severity::Medium);
        let e = Model::parse("x.sql", &header("critical")).unwrap_err();
        assert!(
            e.to_string()
                .contains("severity \"critical\" is not high, medium or low"),
            "{e}"
        );
    }
}
