//! Ranking institutions by the anomaly findings that concentrate on them.
//!
//! The score is meant to be read aloud to the bureau that receives the clue: "3 high, 2
//! medium and 5 low findings make 3×10 + 2×3 + 5×1 = 41". It is a severity-weighted count
//! of findings ([`Severity::weight`]); ties are broken by the fund amount at risk (larger
//! first), then by institution code (ascending), so the order is total and stable.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use drugtrace_money::Fen;

/// How serious a finding is, as the model that produced it judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A likely fraud (a code settled three or more times, say).
    High,
    /// Worth a look.
    Medium,
    /// A weak signal.
    Low,
}

impl Severity {
    /// Every severity, most serious first.
    pub const ALL: [Severity; 3] = [Severity::High, Severity::Medium, Severity::Low];

    /// The finding's weight in the score: high 10, medium 3, low 1. One high finding
    /// outweighs three medium ones, so a few certain cases rank above many weak signals.
    pub fn weight(self) -> u64 {
        match self {
            Severity::High => 10,
            Severity::Medium => 3,
            Severity::Low => 1,
        }
    }

    /// The severity's name: `high`, `medium` or `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    /// Reads a name as written by [`Severity::as_str`] (ASCII case ignored).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Its name, padded to the formatter's width (`drugtrace analytics models` lines them up).
impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Written as its name (see [`Severity::as_str`]), so page data served as JSON says `high`,
/// as the findings table does. There is no `Deserialize`: severities are read from text
/// with [`Severity::parse`], once, where findings are produced or loaded.
impl serde::Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(self.as_str())
    }
}

/// One finding of an analysis model: a trace code at an institution that looks wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    /// The model that found it (`secondary_sale`, `substitution`, ...).
    pub model: String,
    /// How serious the model judged it.
    pub severity: Severity,
    /// The trace code concerned.
    pub code: String,
    /// The institution's code (定点医药机构编码).
    pub institution: String,
    /// The insurance drug code (医保码) of the product, when known.
    pub product: Option<String>,
    /// When the offending event happened, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Fund amount at risk.
    pub amount_fen: Fen,
}

/// What the ranking knows about an institution beyond its findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    /// Its code, as findings name it.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its province.
    pub province: String,
    /// Its city.
    pub city: String,
    /// Events the institution uploaded in the period (the denominator of
    /// [`RankedInstitution::share_of_scans`]).
    pub scans: u64,
}

/// Which findings count, applied to each finding before aggregation. `None` in a field
/// means no restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only findings of this product (insurance drug code); findings without a product
    /// never match.
    pub product: Option<String>,
    /// Only institutions in this province, as the directory gives it; findings of
    /// institutions missing from the directory never match.
    pub province: Option<String>,
    /// Only institutions in this city, as the directory gives it; findings of
    /// institutions missing from the directory never match.
    pub city: Option<String>,
    /// Only events at or after this instant (ms since the epoch, inclusive).
    pub from_ms: Option<i64>,
    /// Only events before this instant (ms since the epoch, exclusive).
    pub to_ms: Option<i64>,
    /// Only findings of these models; an empty list matches no finding.
    pub models: Option<Vec<String>>,
}

impl Filter {
    /// Whether `finding`, at `institution` (its directory entry, if any), passes.
    pub fn matches(&self, finding: &FindingRow, institution: Option<&Institution>) -> bool {
        if let Some(p) = &self.product
            && finding.product.as_deref() != Some(p.as_str())
        {
            return false;
        }
        if let Some(p) = &self.province
            && institution.is_none_or(|i| &i.province != p)
        {
            return false;
        }
        if let Some(c) = &self.city
            && institution.is_none_or(|i| &i.city != c)
        {
            return false;
        }
        if self.from_ms.is_some_and(|from| finding.at_ms < from) {
            return false;
        }
        if self.to_ms.is_some_and(|to| finding.at_ms >= to) {
            return false;
        }
        if let Some(models) = &self.models
            && !models.contains(&finding.model)
        {
            return false;
        }
        true
    }
}

/// Findings counted per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeverityCounts {
    /// High-severity findings.
    pub high: u64,
    /// Medium-severity findings.
    pub medium: u64,
    /// Low-severity findings.
    pub low: u64,
}

impl SeverityCounts {
    /// The count for `severity`.
    pub fn get(&self, severity: Severity) -> u64 {
        match severity {
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }

    fn add(&mut self, severity: Severity) {
        let slot = match severity {
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
        };
        *slot += 1;
    }

    /// The score these counts make: Σ count × [`Severity::weight`].
    pub fn score(&self) -> u64 {
        Severity::ALL
            .into_iter()
            .map(|s| self.get(s).saturating_mul(s.weight()))
            .fold(0, u64::saturating_add)
    }
}

/// One institution in the ranking, with the figures that put it there.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RankedInstitution {
    /// Its place, 1 for the first.
    pub rank: usize,
    /// The institution's code.
    pub institution: String,
    /// Its name; empty when the institution is missing from the directory.
    pub name: String,
    /// Its province; empty when missing from the directory.
    pub province: String,
    /// Its city; empty when missing from the directory.
    pub city: String,
    /// Whether the directory knows the institution.
    pub in_directory: bool,
    /// Findings that passed the filter.
    pub findings: u64,
    /// Distinct trace codes among them.
    pub distinct_codes: u64,
    /// Findings per model.
    pub by_model: BTreeMap<String, u64>,
    /// Findings per severity.
    pub by_severity: SeverityCounts,
    /// Fund amount at risk, summed over the findings (saturating).
    pub amount_fen: Fen,
    /// Events the institution uploaded in the period, when the directory knows it.
    pub scans: Option<u64>,
    /// Distinct codes with findings divided by scans; `None` when scans are unknown or 0.
    pub share_of_scans: Option<f64>,
    /// The score: Σ findings × [`Severity::weight`] (see [`SeverityCounts::score`]).
    pub score: u64,
}

#[derive(Default)]
struct Tally<'a> {
    findings: u64,
    codes: BTreeSet<&'a str>,
    by_model: BTreeMap<&'a str, u64>,
    by_severity: SeverityCounts,
    amount_fen: Fen,
}

/// Ranks the institutions that have findings passing `filter`.
///
/// Order: score descending, then fund amount at risk descending, then institution code
/// ascending. Institutions without findings are not listed. Findings of institutions
/// missing from `institutions` are kept under their code with an empty name (unless a
/// province or city filter excludes them). When the directory lists a code twice, the
/// first entry counts.
pub fn rank(
    findings: &[FindingRow],
    institutions: &[Institution],
    filter: &Filter,
) -> Vec<RankedInstitution> {
    let mut directory: HashMap<&str, &Institution> = HashMap::with_capacity(institutions.len());
    for inst in institutions {
        directory.entry(inst.code.as_str()).or_insert(inst);
    }
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for f in findings {
        let inst = directory.get(f.institution.as_str()).copied();
        if !filter.matches(f, inst) {
            continue;
        }
        let t = tallies.entry(f.institution.as_str()).or_default();
        t.findings += 1;
        t.codes.insert(f.code.as_str());
        *t.by_model.entry(f.model.as_str()).or_default() += 1;
        t.by_severity.add(f.severity);
        t.amount_fen = t.amount_fen.saturating_add(f.amount_fen);
    }
    let mut rows: Vec<RankedInstitution> = tallies
        .into_iter()
        .map(|(code, t)| {
            let inst = directory.get(code).copied();
            let distinct_codes = t.codes.len() as u64;
            let scans = inst.map(|i| i.scans);
            RankedInstitution {
                rank: 0,
                institution: code.to_owned(),
                name: inst.map(|i| i.name.clone()).unwrap_or_default(),
                province: inst.map(|i| i.province.clone()).unwrap_or_default(),
                city: inst.map(|i| i.city.clone()).unwrap_or_default(),
                in_directory: inst.is_some(),
                findings: t.findings,
                distinct_codes,
                by_model: t
                    .by_model
                    .into_iter()
                    .map(|(m, n)| (m.to_owned(), n))
                    .collect(),
                by_severity: t.by_severity,
                amount_fen: t.amount_fen,
                scans,
                share_of_scans: scans
                    .filter(|&s| s > 0)
                    .map(|s| distinct_codes as f64 / s as f64),
                score: t.by_severity.score(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(b.amount_fen.cmp(&a.amount_fen))
            .then_with(|| a.institution.cmp(&b.institution))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = i + 1;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(inst: &str, code: &str, severity: Severity, amount_fen: i64) -> FindingRow {
        FindingRow {
            model: "secondary_sale".into(),
            severity,
            code: code.into(),
            institution: inst.into(),
            product: Some("ZA01".into()),
            at_ms: 1_000,
            amount_fen: Fen::new(amount_fen),
        }
    }

    #[test]
    fn counts_distinct_codes_models_and_share() {
        let mut fs = vec![
            finding("H1", "c1", Severity::High, 100),
            finding("H1", "c1", Severity::Low, 50),
            finding("H1", "c2", Severity::Medium, 0),
        ];
        fs[2].model = "substitution".into();
        let dir = [Institution {
            code: "H1".into(),
            name: "福州市第一医院".into(),
            province: "福建省".into(),
            city: "福州市".into(),
            scans: 8,
        }];
        let rows = rank(&fs, &dir, &Filter::default());
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.rank, 1);
        assert_eq!(r.findings, 3);
        assert_eq!(r.distinct_codes, 2);
        assert_eq!(r.by_model["secondary_sale"], 2);
        assert_eq!(r.by_model["substitution"], 1);
        assert_eq!(
            r.by_severity,
            SeverityCounts {
                high: 1,
                medium: 1,
                low: 1
            }
        );
        assert_eq!(r.score, 14);
        assert_eq!(r.amount_fen, Fen::new(150));
        assert_eq!(r.share_of_scans, Some(0.25));
        assert_eq!(r.name, "福州市第一医院");
    }

    #[test]
    fn zero_scans_and_unknown_institutions_have_no_share() {
        let fs = [
            finding("H1", "c1", Severity::High, 0),
            finding("X9", "c2", Severity::High, 0),
        ];
        let dir = [Institution {
            code: "H1".into(),
            name: "A".into(),
            province: "P".into(),
            city: "C".into(),
            scans: 0,
        }];
        let rows = rank(&fs, &dir, &Filter::default());
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.share_of_scans.is_none()));
        let unknown = rows.iter().find(|r| r.institution == "X9").unwrap();
        assert!(!unknown.in_directory);
        assert_eq!(unknown.name, "");
        assert_eq!(unknown.scans, None);
    }

    #[test]
    fn severity_names_round_trip() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse(" HIGH "), Some(Severity::High));
        assert_eq!(Severity::parse("urgent"), None);
        assert_eq!(Severity::parse("critical"), None);
        assert_eq!(format!("{:<6}|", Severity::Low), "low   |");
    }

    #[test]
    fn a_severity_serializes_as_its_name() {
        for s in Severity::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
