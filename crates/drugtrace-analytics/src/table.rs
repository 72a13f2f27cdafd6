//! Query results as plain values, for pages, exports and tests that should not have to
//! know Arrow's array types.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::AnalyticsError;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// Any integer column.
    Int(i64),
    /// Any floating-point or decimal column.
    Float(f64),
    /// Anything else, as Arrow displays it (text, dates, timestamps, booleans).
    Text(String),
}

impl Value {
    /// The value as an integer (0 for `NULL` and text).
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            Value::Float(f) => *f as i64,
            _ => 0,
        }
    }

    /// The value as a float (0 for `NULL` and text).
    pub fn float(&self) -> f64 {
        match self {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            _ => 0.0,
        }
    }

    /// The value as text (empty for `NULL`).
    pub fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Text(s) => s.clone(),
        }
    }

    /// Whether it is `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// A query's result: column names and rows of values.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// Converts record batches (all of one schema).
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Table, AnalyticsError> {
        let mut table = Table::default();
        let Some(first) = batches.first() else {
            return Ok(table);
        };
        table.columns = first
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let options = FormatOptions::default();
        for batch in batches {
            let mut columns: Vec<Vec<Value>> = Vec::with_capacity(batch.num_columns());
            for column in batch.columns() {
                let dt = column.data_type();
                let values = if dt.is_integer() {
                    let c = cast(column, &DataType::Int64)?;
                    let c = c.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                    (0..c.len())
                        .map(|i| {
                            if c.is_null(i) {
                                Value::Null
                            } else {
                                Value::Int(c.value(i))
                            }
                        })
                        .collect()
                } else if dt.is_floating() || matches!(dt, DataType::Decimal128(..)) {
                    let c = cast(column, &DataType::Float64)?;
                    let c = c.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                    (0..c.len())
                        .map(|i| {
                            if c.is_null(i) {
                                Value::Null
                            } else {
                                Value::Float(c.value(i))
                            }
                        })
                        .collect()
                } else {
                    let f = ArrayFormatter::try_new(column.as_ref(), &options)?;
                    (0..column.len())
                        .map(|i| {
                            if column.is_null(i) {
                                Value::Null
                            } else {
                                Value::Text(f.value(i).to_string())
                            }
                        })
                        .collect()
                };
                columns.push(values);
            }
            for i in 0..batch.num_rows() {
                table
                    .rows
                    .push(columns.iter().map(|c| c[i].clone()).collect());
            }
        }
        Ok(table)
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Rows as maps from column name to value, for readable access.
    pub fn records(&self) -> impl Iterator<Item = Record<'_>> {
        self.rows.iter().map(move |r| Record {
            table: self,
            row: r,
        })
    }

    /// The table as CSV with a header row.
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> Result<(), csv::Error> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(&self.columns)?;
        for row in &self.rows {
            w.write_record(row.iter().map(Value::text))?;
        }
        w.flush()?;
        Ok(())
    }
}

/// One row of a [`Table`], read by column name.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    table: &'a Table,
    row: &'a [Value],
}

impl Record<'_> {
    /// The value of column `name` (`NULL` if there is no such column).
    pub fn get(&self, name: &str) -> &Value {
        const NULL: Value = Value::Null;
        self.table
            .column(name)
            .and_then(|i| self.row.get(i))
            .unwrap_or(&NULL)
    }

    /// Column `name` as an integer.
    pub fn int(&self, name: &str) -> i64 {
        self.get(name).int()
    }

    /// Column `name` as text.
    pub fn text(&self, name: &str) -> String {
        self.get(name).text()
    }
}
