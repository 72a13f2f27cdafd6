//! The catalog's CSV form, read all or nothing and written atomically.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use drugtrace_code::{DrugId, Gtin};

use crate::{Catalog, CatalogError, InsuranceCode, Product, ProductSpec, RowRef};

/// The header, in order. `manufacturer_code` may be left out (older files).
pub const COLUMNS: [&str; 10] = [
    "insurance_code",
    "drug_id_prefix",
    "gtin",
    "generic_name",
    "trade_name",
    "specification",
    "manufacturer",
    "approval_number",
    "units_per_pack",
    "manufacturer_code",
];

/// Row errors reported at most; the count says how many there were.
const MAX_REPORTED: usize = 50;

/// What an import added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows read.
    pub rows: u64,
    /// Products new to the catalog.
    pub new_products: usize,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {} rows, {} new products",
            self.rows, self.new_products
        )
    }
}

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Where.
    pub row: RowRef,
    /// The column, when one is at fault.
    pub column: Option<&'static str>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "{}, column {c}: {}", self.row, self.reason),
            None => write!(f, "{}: {}", self.row, self.reason),
        }
    }
}

/// Why an import changed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogImportError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not CSV the reader can follow.
    #[error("CSV: {0}")]
    Csv(String),
    /// The header lacks columns.
    #[error("the header lacks column(s) {}; the columns are {}", .0.join(", "), COLUMNS.join(","))]
    MissingColumns(Vec<&'static str>),
    /// Some rows are bad; none was imported.
    #[error("{count} bad row(s), nothing imported:\n{}", .errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Rows {
        /// The first bad rows.
        errors: Vec<RowError>,
        /// How many in all.
        count: usize,
    },
}

fn row_error(row: &RowRef, column: Option<&'static str>, reason: impl fmt::Display) -> RowError {
    RowError {
        row: row.clone(),
        column,
        reason: reason.to_string(),
    }
}

fn list<T, E: fmt::Display>(
    s: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, String> {
    s.split([';', '|'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| parse(p).map_err(|e| format!("{p:?}: {e}")))
        .collect()
}

impl Catalog {
    /// Imports products from CSV with the [`COLUMNS`] header. All rows or none: if any row
    /// is bad, or conflicts with the catalog or another row, the catalog is unchanged and
    /// the error lists the bad rows.
    pub fn import_csv<R: Read>(
        &mut self,
        input: R,
        source: &str,
    ) -> Result<ImportSummary, CatalogImportError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let index = column_index(
            &mut reader,
            &COLUMNS,
            &[
                "insurance_code",
                "generic_name",
                "manufacturer",
                "units_per_pack",
            ],
        )?;
        let mut next = self.clone();
        let mut errors = Vec::new();
        let mut rows = 0u64;
        let before = self.len();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) if e.is_io_error() => return Err(CatalogImportError::Csv(e.to_string())),
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    errors.push(row_error(
                        &RowRef {
                            source: source.to_owned(),
                            line,
                        },
                        None,
                        e,
                    ));
                    continue;
                }
            };
            rows += 1;
            let row = RowRef {
                source: source.to_owned(),
                line: record.position().map_or(rows + 1, |p| p.line()),
            };
            let field = |c: usize| index[c].and_then(|i| record.get(i)).unwrap_or("").trim();
            let parsed = (|| {
                let insurance_code = InsuranceCode::parse(field(0))
                    .map_err(|e| row_error(&row, Some(COLUMNS[0]), e))?;
                let drug_ids = list(field(1), DrugId::parse)
                    .map_err(|e| row_error(&row, Some(COLUMNS[1]), e))?;
                let gtins = list(field(2), Gtin::parse)
                    .map_err(|e| row_error(&row, Some(COLUMNS[2]), e))?;
                let units_per_pack = field(8).parse::<u32>().map_err(|_| {
                    row_error(
                        &row,
                        Some(COLUMNS[8]),
                        format!("{:?} is not a whole number", field(8)),
                    )
                })?;
                let product = Product::new(ProductSpec {
                    insurance_code,
                    drug_ids,
                    gtins,
                    generic_name: field(3).to_owned(),
                    trade_name: field(4).to_owned(),
                    specification: field(5).to_owned(),
                    manufacturer: field(6).to_owned(),
                    manufacturer_code: Some(field(9).to_owned()),
                    approval_number: field(7).to_owned(),
                    units_per_pack,
                })
                .map_err(|e| row_error(&row, None, e))?;
                next.insert(product, row.clone())
                    .map_err(|e: CatalogError| row_error(&row, None, e))
            })();
            if let Err(e) = parsed {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            let count = errors.len();
            errors.truncate(MAX_REPORTED);
            return Err(CatalogImportError::Rows { errors, count });
        }
        *self = next;
        Ok(ImportSummary {
            rows,
            new_products: self.len() - before,
        })
    }

    /// Writes the catalog as CSV that [`Catalog::import_csv`] reads back to an equal catalog.
    pub fn write_csv<W: Write>(&self, output: W) -> Result<(), CatalogImportError> {
        let mut w = csv::Writer::from_writer(output);
        let csv_err = |e: csv::Error| CatalogImportError::Csv(e.to_string());
        w.write_record(COLUMNS).map_err(csv_err)?;
        for p in self.iter() {
            let ids: Vec<String> = p.drug_ids().iter().map(ToString::to_string).collect();
            let gtins: Vec<String> = p.gtins().iter().map(|g| g.to_gtin14()).collect();
            w.write_record([
                p.insurance_code().as_str(),
                &ids.join(";"),
                &gtins.join(";"),
                p.generic_name(),
                p.trade_name(),
                p.specification(),
                p.manufacturer(),
                p.approval_number(),
                &p.units_per_pack().to_string(),
                p.manufacturer_code().unwrap_or(""),
            ])
            .map_err(csv_err)?;
        }
        w.flush()?;
        Ok(())
    }

    /// Reads a catalog file.
    pub fn load_csv_file(path: &Path) -> Result<Catalog, CatalogImportError> {
        let file = fs::File::open(path)?;
        let mut c = Catalog::default();
        c.import_csv(std::io::BufReader::new(file), &path.display().to_string())?;
        Ok(c)
    }

    /// Writes a catalog file atomically: a temporary file beside it, synced, renamed over
    /// it, and the directory synced, so a crash leaves the old catalog or the new one.
    pub fn save_csv_file(&self, path: &Path) -> Result<(), CatalogImportError> {
        write_atomically(path, |w| self.write_csv(w))
    }
}

/// Where each of `columns` is in the reader's header row (a UTF-8 BOM and spaces around
/// names are ignored), or the error naming the `required` columns that are missing.
pub(crate) fn column_index<R: Read>(
    reader: &mut csv::Reader<R>,
    columns: &[&'static str],
    required: &[&'static str],
) -> Result<Vec<Option<usize>>, CatalogImportError> {
    let headers = reader
        .headers()
        .map_err(|e| CatalogImportError::Csv(e.to_string()))?;
    let index: Vec<Option<usize>> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h.trim().trim_start_matches('\u{feff}') == *c)
        })
        .collect();
    let missing: Vec<&'static str> = columns
        .iter()
        .zip(&index)
        .filter(|(c, i)| i.is_none() && required.contains(c))
        .map(|(c, _)| *c)
        .collect();
    if missing.is_empty() {
        Ok(index)
    } else {
        Err(CatalogImportError::MissingColumns(missing))
    }
}

/// Writes a file so that a crash leaves the old content or the new, never a mix (see
/// [`drugtrace_durable::replace`]): `write` fills it through a buffer.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&mut fs::File>) -> Result<(), CatalogImportError>,
) -> Result<(), CatalogImportError> {
    drugtrace_durable::replace(path, |file| {
        let mut out = std::io::BufWriter::new(file);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    })
    .map_err(|e| {
        e.into_inner(|path, source| {
            CatalogImportError::Io(std::io::Error::new(
                source.kind(),
                format!("{}: {source}", path.display()),
            ))
        })
    })
}
