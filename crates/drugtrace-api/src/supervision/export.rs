//! Tables as downloads: JSON, CSV with a header row, and Parquet that pandas, DuckDB and
//! DataFusion read.

use std::sync::Arc;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use drugtrace_analytics::{Table, Value};
use drugtrace_clues::{Clue, Date};
use drugtrace_money::Fen;

use crate::ApiError;

/// What a download is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
    Parquet,
}

impl Format {
    /// The `format=` parameter (JSON when absent), or a 400 naming the formats `allowed`.
    pub(crate) fn parse(value: Option<&str>, allowed: &[Format]) -> Result<Format, ApiError> {
        let f = match value.map(str::trim).filter(|v| !v.is_empty()) {
            None | Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some("parquet") => Format::Parquet,
            Some(_) => Format::Parquet.refused(allowed)?,
        };
        if allowed.contains(&f) {
            Ok(f)
        } else {
            f.refused(allowed)
        }
    }

    fn refused(self, allowed: &[Format]) -> Result<Format, ApiError> {
        let names: Vec<_> = allowed.iter().map(|f| f.extension()).collect();
        Err(ApiError::field(
            "format",
            format!("must be one of {}", names.join(", ")),
        ))
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// `bytes` as a file to save, named `stem` and the format's extension.
pub(crate) fn download(format: Format, stem: &str, bytes: Vec<u8>) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let disposition = format!("attachment; filename=\"{stem}.{}\"", format.extension());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Bool(b) => (*b).into(),
        Value::Date(_) | Value::Time(_) | Value::Text(_) => v.text().into(),
        Value::List(items) => items.iter().map(json_value).collect(),
    }
}

/// A table's rows as JSON objects keyed by column name.
pub(crate) fn table_rows(t: &Table) -> Vec<serde_json::Map<String, serde_json::Value>> {
    t.rows
        .iter()
        .map(|row| {
            t.columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.clone(), json_value(v)))
                .collect()
        })
        .collect()
}

/// A table as CSV with a header row.
pub(crate) fn table_csv(t: &Table) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    t.write_csv(&mut out).map_err(ApiError::internal)?;
    Ok(out)
}

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build()
}

/// `batches` as one Parquet file in `schema`, each column cast to the schema's type (the
/// engine reads text as string views; files keep plain strings).
pub(crate) fn parquet(schema: SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, Arc::clone(&schema), Some(writer_properties()))
        .map_err(ApiError::internal)?;
    for b in batches {
        let columns = schema
            .fields()
            .iter()
            .zip(b.columns())
            .map(|(f, c)| cast(c, f.data_type()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::internal)?;
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), columns).map_err(ApiError::internal)?;
        writer.write(&batch).map_err(ApiError::internal)?;
    }
    writer.close().map_err(ApiError::internal)?;
    Ok(out)
}

/// Clues as CSV ([`drugtrace_clues::CLUE_COLUMNS`]); `bom` for a file meant for Excel.
pub(crate) fn clues_csv(clues: &[Clue], today: Date, bom: bool) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(drugtrace_clues::UTF8_BOM);
    }
    drugtrace_clues::write_csv(&mut out, clues, today).map_err(ApiError::internal)?;
    Ok(out)
}

/// The schema of clues as Parquet: the CSV's columns, typed.
fn clues_schema() -> SchemaRef {
    let utc = || DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()));
    Arc::new(Schema::new(vec![
        Field::new("clue", DataType::Utf8, false),
        Field::new("batch", DataType::Utf8, false),
        Field::new("position", DataType::UInt32, false),
        Field::new("institution", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("province", DataType::Utf8, false),
        Field::new("city", DataType::Utf8, false),
        Field::new("assigned_to", DataType::Utf8, false),
        Field::new("findings", DataType::UInt64, false),
        Field::new("distinct_codes", DataType::UInt64, false),
        Field::new("amount_fen", DataType::Int64, false),
        Field::new("score", DataType::UInt64, false),
        Field::new("deadline", DataType::Date32, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("overdue", DataType::Boolean, false),
        Field::new("result_note", DataType::Utf8, true),
        Field::new("recovered_fen", DataType::Int64, true),
        Field::new("issued_at", utc(), false),
        Field::new("updated_at", utc(), false),
    ]))
}

fn days_since_epoch(d: Date) -> i32 {
    (d - drugtrace_clues::Date::constant(1970, 1, 1)).get_days()
}

/// Clues as Parquet, the columns of the CSV with their types.
pub(crate) fn clues_parquet(clues: &[Clue], today: Date) -> Result<Vec<u8>, ApiError> {
    let text = |f: &dyn Fn(&Clue) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(clues.iter().map(f)))
    };
    let utc = |f: &dyn Fn(&Clue) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::from_iter_values(clues.iter().map(f))
                .with_timezone("+00:00"),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|c| c.id.to_string()),
        text(&|c| c.batch.to_string()),
        Arc::new(UInt32Array::from_iter_values(
            clues.iter().map(|c| c.position),
        )),
        text(&|c| c.institution.clone()),
        text(&|c| c.name.clone()),
        text(&|c| c.province.clone()),
        text(&|c| c.city.clone()),
        text(&|c| c.assigned_to.clone()),
        Arc::new(UInt64Array::from_iter_values(
            clues.iter().map(|c| c.findings),
        )),
        Arc::new(UInt64Array::from_iter_values(
            clues.iter().map(|c| c.distinct_codes),
        )),
        Arc::new(Int64Array::from_iter_values(
            clues.iter().map(|c| c.amount_fen.fen()),
        )),
        Arc::new(UInt64Array::from_iter_values(clues.iter().map(|c| c.score))),
        Arc::new(Date32Array::from_iter_values(
            clues.iter().map(|c| days_since_epoch(c.deadline)),
        )),
        text(&|c| c.state.as_str().to_owned()),
        Arc::new(BooleanArray::from(
            clues
                .iter()
                .map(|c| c.is_overdue(today))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            clues
                .iter()
                .map(|c| c.result.as_ref().map(|r| r.note.clone()))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            clues
                .iter()
                .map(|c| {
                    c.result
                        .as_ref()
                        .and_then(|r| r.recovered_fen)
                        .map(Fen::fen)
                })
                .collect::<Vec<_>>(),
        )),
        utc(&|c| c.issued_at_ms),
        utc(&|c| c.updated_at_ms),
    ];
    let schema = clues_schema();
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(ApiError::internal)?;
    parquet(schema, &[batch])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_checked_against_what_the_endpoint_offers() {
        let all = [Format::Json, Format::Csv, Format::Parquet];
        assert_eq!(Format::parse(None, &all).unwrap(), Format::Json);
        assert_eq!(Format::parse(Some("csv"), &all).unwrap(), Format::Csv);
        let e = Format::parse(Some("parquet"), &[Format::Json, Format::Csv]).unwrap_err();
        assert!(e.message().contains("json, csv"), "{}", e.message());
        assert!(Format::parse(Some("xlsx"), &all).is_err());
    }

    #[test]
    fn dates_count_days_from_the_epoch() {
        assert_eq!(days_since_epoch(Date::constant(1970, 1, 2)), 1);
        assert_eq!(days_since_epoch(Date::constant(2025, 11, 2)), 20_394);
    }
}
