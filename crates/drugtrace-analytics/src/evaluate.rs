//! Precision and recall of every model against the synthetic province's ground truth
//! (`truth.jsonl`, one planted fraud case per line).
//!
//! A model with `-- truth: k1, k2` should find the codes of every case of those kinds and
//! nothing else: precision is the share of the codes it flagged that were planted, recall
//! the share of the planted codes it flagged. Models about institutions, or with no planted
//! counterpart, are listed without figures.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use serde::Deserialize;

use crate::model::{Level, models};
use crate::{Analytics, AnalyticsError};

/// One planted case of `truth.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct TruthCase {
    /// Its number.
    pub case: u64,
    /// Its kind (`resale_ring`, `cloned_code`, …).
    pub kind: String,
    /// The codes involved.
    pub codes: Vec<String>,
    /// The institutions involved.
    #[serde(default)]
    pub institutions: Vec<String>,
}

/// Why the truth file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A line is not a case.
    #[error("{path} line {line}: {message}")]
    Line {
        /// The file.
        path: String,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads a `truth.jsonl`.
pub fn read_truth(path: &Path) -> Result<Vec<TruthCase>, TruthError> {
    let p = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| TruthError::Io {
        path: p.clone(),
        source,
    })?;
    let mut cases = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| TruthError::Io {
            path: p.clone(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        cases.push(serde_json::from_str(&line).map_err(|e| TruthError::Line {
            path: p.clone(),
            line: i + 1,
            message: e.to_string(),
        })?);
    }
    Ok(cases)
}

/// One model's figures.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The model.
    pub model: String,
    /// The planted kinds it is measured against (empty: no figures).
    pub truth_kinds: Vec<String>,
    /// Distinct codes it flagged.
    pub flagged: usize,
    /// Distinct planted codes of its kinds.
    pub planted: usize,
    /// Codes both flagged and planted.
    pub true_positives: usize,
    /// `true_positives / flagged`, when it flagged any and has planted kinds.
    pub precision: Option<f64>,
    /// `true_positives / planted`, when there are planted codes.
    pub recall: Option<f64>,
    /// Up to five flagged codes that were not planted.
    pub false_positives: Vec<String>,
    /// Up to five planted codes it missed.
    pub missed: Vec<String>,
}

/// Measures every model's findings (the `findings` table of `analytics`) against `truth`.
pub async fn evaluate(
    analytics: &Analytics,
    truth: &[TruthCase],
) -> Result<Vec<Evaluation>, AnalyticsError> {
    let batches = analytics
        .collect("SELECT DISTINCT model, code FROM findings WHERE code IS NOT NULL")
        .await?;
    let mut flagged: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for b in &batches {
        let (m, c) = (text(b.column(0))?, text(b.column(1))?);
        let (m, c) = (m.as_string::<i32>(), c.as_string::<i32>());
        for i in 0..b.num_rows() {
            if !c.is_null(i) {
                flagged
                    .entry(m.value(i).to_string())
                    .or_default()
                    .insert(c.value(i).to_string());
            }
        }
    }
    let mut out = Vec::new();
    for model in models() {
        let found = flagged.remove(&model.name).unwrap_or_default();
        let kinds = if model.level == Level::Code {
            model.truth.clone()
        } else {
            Vec::new()
        };
        let planted: BTreeSet<String> = truth
            .iter()
            .filter(|c| kinds.contains(&c.kind))
            .flat_map(|c| c.codes.iter().map(|code| canonical(code)))
            .collect();
        let tp = found.intersection(&planted).count();
        let measured = !kinds.is_empty();
        out.push(Evaluation {
            model: model.name.clone(),
            truth_kinds: kinds,
            flagged: found.len(),
            planted: planted.len(),
            true_positives: tp,
            precision: (measured && !found.is_empty()).then(|| tp as f64 / found.len() as f64),
            recall: (!planted.is_empty()).then(|| tp as f64 / planted.len() as f64),
            false_positives: if measured {
                found.difference(&planted).take(5).cloned().collect()
            } else {
                Vec::new()
            },
            missed: planted.difference(&found).take(5).cloned().collect(),
        });
    }
    Ok(out)
}

/// A text column as plain UTF-8 (Parquet strings come back as string views).
pub(crate) fn text(column: &ArrayRef) -> Result<ArrayRef, AnalyticsError> {
    Ok(datafusion::arrow::compute::cast(column, &DataType::Utf8)?)
}

/// A code as the warehouse writes it (the pack's key: GS1 codes lose their batch and
/// expiry); a code that does not parse stays as it is, and can match nothing.
fn canonical(code: &str) -> String {
    drugtrace_code::TraceCode::parse(code)
        .map(|c| c.pack_key().to_string())
        .unwrap_or_else(|_| code.to_string())
}
