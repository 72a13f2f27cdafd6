//! Query results as plain values, for pages, exports and tests that should not have to
//! know Arrow's array types.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, TimeUnit};
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
    /// A boolean column.
    Bool(bool),
    /// A date column (`DATE`).
    Date(jiff::civil::Date),
    /// A timestamp column without a time zone: the warehouse's times are local wall-clock
    /// times (see [`crate::schema`]).
    Time(jiff::civil::DateTime),
    /// A list column (`array_agg`, `make_array`), each element a value of its own.
    List(Vec<Value>),
    /// Anything else, as Arrow displays it (text, and the rare type none of the above is).
    Text(String),
}

impl Value {
    /// The value as an integer (0 for `NULL` and anything not a number).
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            Value::Float(f) => *f as i64,
            _ => 0,
        }
    }

    /// The value as a float (0 for `NULL` and anything not a number).
    pub fn float(&self) -> f64 {
        match self {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            _ => 0.0,
        }
    }

    /// The value as a date, if it is one.
    pub fn date(&self) -> Option<jiff::civil::Date> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }

    /// The value as a local time, if it is one.
    pub fn time(&self) -> Option<jiff::civil::DateTime> {
        match self {
            Value::Time(t) => Some(*t),
            _ => None,
        }
    }

    /// The elements of a list (none for `NULL` and anything not a list).
    pub fn list(&self) -> &[Value] {
        match self {
            Value::List(items) => items,
            _ => &[],
        }
    }

    /// The value as text (empty for `NULL`): what a CSV cell holds. Dates and times are
    /// ISO 8601 (`2025-04-08`, `2025-04-08T09:30:00`), a list its elements joined by commas.
    pub fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Time(t) => t.to_string(),
            Value::List(items) => items.iter().map(Value::text).collect::<Vec<_>>().join(","),
            Value::Text(s) => s.clone(),
        }
    }

    /// Whether it is `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// The days from 1970-01-01 (Arrow's `Date32`) as a date; `None` past jiff's range.
fn date_of(days: i32) -> Option<jiff::civil::Date> {
    let epoch = jiff::civil::date(1970, 1, 1);
    epoch
        .checked_add(jiff::Span::new().days(i64::from(days)))
        .ok()
}

/// A timestamp without a time zone, `n` units of `unit` from 1970-01-01T00:00, as the
/// wall-clock time it names; `None` past jiff's range.
fn time_of(n: i64, unit: TimeUnit) -> Option<jiff::civil::DateTime> {
    let nanos = match unit {
        TimeUnit::Second => i128::from(n) * 1_000_000_000,
        TimeUnit::Millisecond => i128::from(n) * 1_000_000,
        TimeUnit::Microsecond => i128::from(n) * 1_000,
        TimeUnit::Nanosecond => i128::from(n),
    };
    let at = jiff::Timestamp::from_nanosecond(nanos).ok()?;
    Some(at.to_zoned(jiff::tz::TimeZone::UTC).datetime())
}

/// One column's cells.
fn values(column: &dyn Array, options: &FormatOptions) -> Result<Vec<Value>, AnalyticsError> {
    let dt = column.data_type();
    let cell = |i: usize, v: Option<Value>| {
        if column.is_null(i) {
            Value::Null
        } else {
            v.unwrap_or(Value::Null)
        }
    };
    let n = column.len();
    Ok(if dt.is_integer() {
        let c = cast(&column.slice(0, n), &DataType::Int64)?;
        let c = c.as_primitive::<Int64Type>();
        (0..n)
            .map(|i| cell(i, Some(Value::Int(c.value(i)))))
            .collect()
    } else if dt.is_floating() || matches!(dt, DataType::Decimal128(..)) {
        let c = cast(&column.slice(0, n), &DataType::Float64)?;
        let c = c.as_primitive::<Float64Type>();
        (0..n)
            .map(|i| cell(i, Some(Value::Float(c.value(i)))))
            .collect()
    } else {
        match dt {
            DataType::Boolean => {
                let c = column.as_boolean();
                (0..n)
                    .map(|i| cell(i, Some(Value::Bool(c.value(i)))))
                    .collect()
            }
            DataType::Date32 => {
                let c = column.as_primitive::<Date32Type>();
                (0..n)
                    .map(|i| cell(i, date_of(c.value(i)).map(Value::Date)))
                    .collect()
            }
            DataType::Timestamp(unit, None) => {
                let c = cast(&column.slice(0, n), &DataType::Int64)?;
                let c = c.as_primitive::<Int64Type>();
                (0..n)
                    .map(|i| cell(i, time_of(c.value(i), *unit).map(Value::Time)))
                    .collect()
            }
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
                let lists = cast(&column.slice(0, n), &DataType::new_list(element(dt), true))?;
                let lists = lists.as_list::<i32>();
                (0..n)
                    .map(|i| {
                        if lists.is_null(i) {
                            Ok(Value::Null)
                        } else {
                            Ok(Value::List(values(lists.value(i).as_ref(), options)?))
                        }
                    })
                    .collect::<Result<_, AnalyticsError>>()?
            }
            _ => {
                let f = ArrayFormatter::try_new(column, options)?;
                (0..n)
                    .map(|i| cell(i, Some(Value::Text(f.value(i).to_string()))))
                    .collect()
            }
        }
    })
}

/// A list type's element type.
fn element(dt: &DataType) -> DataType {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            f.data_type().clone()
        }
        other => other.clone(),
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
            let columns = batch
                .columns()
                .iter()
                .map(|c| values(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()?;
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

impl<'a> Record<'a> {
    /// The value of column `name` (`NULL` if there is no such column).
    pub fn get(&self, name: &str) -> &'a Value {
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

    /// Column `name` as a date, if it is one.
    pub fn date(&self, name: &str) -> Option<jiff::civil::Date> {
        self.get(name).date()
    }

    /// Column `name`'s elements, if it is a list.
    pub fn list(&self, name: &str) -> &'a [Value] {
        self.get(name).list()
    }
}
