//! The directory of institutions: who a code in the chain is, where, and of what kind.
//! Patients see the seller's name and city; regulators' models need the place.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use crate::CatalogImportError;

/// What kind of party an institution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstitutionKind {
    /// 生产企业.
    Manufacturer,
    /// 流通企业.
    Distributor,
    /// 定点医疗机构.
    Hospital,
    /// 定点零售药店.
    Pharmacy,
}

impl InstitutionKind {
    /// The kind's name in the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            InstitutionKind::Manufacturer => "manufacturer",
            InstitutionKind::Distributor => "distributor",
            InstitutionKind::Hospital => "hospital",
            InstitutionKind::Pharmacy => "pharmacy",
        }
    }

    /// The kind named `s` as the CSV (and [`InstitutionKind::as_str`]) writes it.
    pub fn parse(s: &str) -> Option<InstitutionKind> {
        Some(match s {
            "manufacturer" => InstitutionKind::Manufacturer,
            "distributor" => InstitutionKind::Distributor,
            "hospital" => InstitutionKind::Hospital,
            "pharmacy" => InstitutionKind::Pharmacy,
            _ => return None,
        })
    }
}

/// One institution.
#[derive(Debug, Clone, PartialEq)]
pub struct Institution {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: InstitutionKind,
    /// Its province.
    pub province: String,
    /// Its city.
    pub city: String,
    /// Latitude and longitude, degrees, when known.
    pub location: Option<(f64, f64)>,
}

/// The header of the directory's CSV.
pub const INSTITUTION_COLUMNS: [&str; 7] =
    ["code", "name", "kind", "province", "city", "lat", "lon"];

/// Institutions by code.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    by_code: BTreeMap<String, Institution>,
}

impl Directory {
    /// Every institution, in code order.
    pub fn iter(&self) -> impl Iterator<Item = &Institution> {
        self.by_code.values()
    }

    /// The institution with this code.
    pub fn get(&self, code: &str) -> Option<&Institution> {
        self.by_code.get(code)
    }

    /// How many institutions.
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// Adds or replaces institutions from CSV with [`INSTITUTION_COLUMNS`]. All rows or none:
    /// a bad row leaves the directory unchanged and the error names every bad row.
    pub fn import_csv<R: Read>(
        &mut self,
        input: R,
        source: &str,
    ) -> Result<usize, CatalogImportError> {
        let mut reader = csv::Reader::from_reader(input);
        let idx = crate::csv_io::column_index(
            &mut reader,
            &INSTITUTION_COLUMNS,
            &INSTITUTION_COLUMNS[..5],
        )?;
        let mut next = self.clone();
        let mut errors = Vec::new();
        let mut added = 0;
        for (n, record) in reader.records().enumerate() {
            let line = n as u64 + 2;
            let row = crate::RowRef {
                source: source.to_owned(),
                line,
            };
            let bad = |column: Option<&'static str>, reason: String| crate::RowError {
                row: row.clone(),
                column,
                reason,
            };
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    errors.push(bad(None, e.to_string()));
                    continue;
                }
            };
            let f = |i: usize| idx[i].and_then(|j| record.get(j)).unwrap_or("").trim();
            if f(0).is_empty() || f(1).is_empty() {
                errors.push(bad(Some("code"), "code and name are required".into()));
                continue;
            }
            let Some(kind) = InstitutionKind::parse(f(2)) else {
                errors.push(bad(
                    Some("kind"),
                    format!(
                        "{:?} is not manufacturer, distributor, hospital or pharmacy",
                        f(2)
                    ),
                ));
                continue;
            };
            let location = match (f(5), f(6)) {
                ("", "") => None,
                (lat, lon) => match (lat.parse::<f64>(), lon.parse::<f64>()) {
                    (Ok(a), Ok(b))
                        if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) =>
                    {
                        Some((a, b))
                    }
                    _ => {
                        errors.push(bad(
                            Some("lat"),
                            format!("{lat:?}, {lon:?} is no place on Earth"),
                        ));
                        continue;
                    }
                },
            };
            let inst = Institution {
                code: f(0).to_owned(),
                name: f(1).to_owned(),
                kind,
                province: f(3).to_owned(),
                city: f(4).to_owned(),
                location,
            };
            if next.by_code.insert(inst.code.clone(), inst).is_none() {
                added += 1;
            }
        }
        if !errors.is_empty() {
            let count = errors.len();
            errors.truncate(50);
            return Err(CatalogImportError::Rows { errors, count });
        }
        *self = next;
        Ok(added)
    }

    /// Reads a directory file (an empty directory if it does not exist).
    pub fn load_csv_file(path: &Path) -> Result<Directory, CatalogImportError> {
        let mut d = Directory::default();
        match fs::File::open(path) {
            Ok(f) => {
                d.import_csv(std::io::BufReader::new(f), &path.display().to_string())?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        Ok(d)
    }

    /// Writes the directory atomically (a synced temporary file renamed over the old one).
    pub fn save_csv_file(&self, path: &Path) -> Result<(), CatalogImportError> {
        crate::csv_io::write_atomically(path, |out| {
            let mut w = csv::Writer::from_writer(out);
            let csv_err = |e: csv::Error| CatalogImportError::Csv(e.to_string());
            w.write_record(INSTITUTION_COLUMNS).map_err(csv_err)?;
            for i in self.by_code.values() {
                let (lat, lon) = i.location.map_or((String::new(), String::new()), |(a, b)| {
                    (a.to_string(), b.to_string())
                });
                w.write_record([
                    &i.code,
                    &i.name,
                    i.kind.as_str(),
                    &i.province,
                    &i.city,
                    &lat,
                    &lon,
                ])
                .map_err(csv_err)?;
            }
            w.flush()?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "code,name,kind,province,city,lat,lon\nP35010200017,仁心大药房（五一路店）,pharmacy,福建省,福州,26.07,119.30\nM1,示例制药,manufacturer,浙江省,杭州,,\n";

    #[test]
    fn reads_writes_and_rejects() {
        let mut d = Directory::default();
        assert_eq!(d.import_csv(CSV.as_bytes(), "i.csv").unwrap(), 2);
        let p = d.get("P35010200017").unwrap();
        assert_eq!(
            (p.city.as_str(), p.kind),
            ("福州", InstitutionKind::Pharmacy)
        );
        assert_eq!(p.location, Some((26.07, 119.30)));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("institutions.csv");
        d.save_csv_file(&path).unwrap();
        let back = Directory::load_csv_file(&path).unwrap();
        assert_eq!(back.get("M1"), d.get("M1"));
        let err = d
            .import_csv(
                "code,name,kind,province,city\nX,Y,shop,浙江省,杭州\n".as_bytes(),
                "bad.csv",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.csv line 2, column kind: \"shop\" is not manufacturer"),
            "{err}"
        );
        assert_eq!(d.len(), 2, "nothing imported from a bad file");
    }
}
