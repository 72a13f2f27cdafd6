//! Ranking, data-driven: each case is a table of findings, a filter, and the expected order
//! with scores.

use drugtrace_clues::{Filter, FindingRow, Institution, Severity, rank};
use drugtrace_money::Fen;

use Severity::{High, Low, Medium};

/// (institution, code, severity, amount in fen, model, product, at_ms)
type Row = (
    &'static str,
    &'static str,
    Severity,
    i64,
    &'static str,
    Option<&'static str>,
    i64,
);

struct Case {
    name: &'static str,
    findings: Vec<Row>,
    filter: Filter,
    /// (institution, score), in rank order.
    expect: Vec<(&'static str, u64)>,
}

fn directory() -> Vec<Institution> {
    let inst = |code: &str, name: &str, province: &str, city: &str, scans| Institution {
        code: code.into(),
        name: name.into(),
        province: province.into(),
        city: city.into(),
        scans,
    };
    vec![
        inst("H1", "福州市第一医院", "福建省", "福州市", 100),
        inst("H2", "厦门鹭岛大药房", "福建省", "厦门市", 0),
        inst("H3", "张家口某诊所", "河北省", "张家口市", 50),
    ]
}

const S: &str = "secondary_sale";
const X: &str = "substitution";
const P: Option<&str> = Some("ZA01");

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "one high finding outweighs three medium and nine low",
            findings: [
                vec![("H1", "a", High, 0, S, P, 0)],
                vec![("H2", "b", Medium, 100, S, P, 0); 3],
                vec![("H3", "c", Low, 500, S, P, 0); 9],
            ]
            .concat(),
            filter: Filter::default(),
            expect: vec![("H1", 10), ("H3", 9), ("H2", 9)],
        },
        Case {
            name: "equal scores: larger amount first, then code",
            findings: vec![
                ("H2", "a", High, 100, S, P, 0),
                ("H1", "b", High, 100, S, P, 0),
                ("H3", "c", High, 200, S, P, 0),
            ],
            filter: Filter::default(),
            expect: vec![("H3", 10), ("H1", 10), ("H2", 10)],
        },
        Case {
            name: "an institution missing from the directory is kept",
            findings: vec![("X9", "a", High, 0, S, P, 0), ("H1", "b", Low, 0, S, P, 0)],
            filter: Filter::default(),
            expect: vec![("X9", 10), ("H1", 1)],
        },
        Case {
            name: "a province filter drops other provinces and unknown institutions",
            findings: vec![
                ("X9", "a", High, 0, S, P, 0),
                ("H1", "b", High, 0, S, P, 0),
                ("H3", "c", Low, 0, S, P, 0),
            ],
            filter: Filter {
                province: Some("河北省".into()),
                ..Filter::default()
            },
            expect: vec![("H3", 1)],
        },
        Case {
            name: "a city filter",
            findings: vec![("H1", "a", High, 0, S, P, 0), ("H2", "b", High, 0, S, P, 0)],
            filter: Filter {
                city: Some("厦门市".into()),
                ..Filter::default()
            },
            expect: vec![("H2", 10)],
        },
        Case {
            name: "the time window includes its start and excludes its end",
            findings: vec![
                ("H1", "a", High, 0, S, P, 999),
                ("H1", "b", Medium, 0, S, P, 1_000),
                ("H1", "c", Low, 0, S, P, 1_999),
                ("H2", "d", High, 0, S, P, 2_000),
            ],
            filter: Filter {
                from_ms: Some(1_000),
                to_ms: Some(2_000),
                ..Filter::default()
            },
            expect: vec![("H1", 4)],
        },
        Case {
            name: "a product filter drops findings without a product",
            findings: vec![
                ("H1", "a", High, 0, S, None, 0),
                ("H2", "b", Low, 0, S, P, 0),
                ("H3", "c", High, 0, S, Some("XR05"), 0),
            ],
            filter: Filter {
                product: Some("ZA01".into()),
                ..Filter::default()
            },
            expect: vec![("H2", 1)],
        },
        Case {
            name: "a model filter",
            findings: vec![("H1", "a", High, 0, S, P, 0), ("H2", "b", Low, 0, X, P, 0)],
            filter: Filter {
                models: Some(vec![X.into()]),
                ..Filter::default()
            },
            expect: vec![("H2", 1)],
        },
        Case {
            name: "an empty model list matches nothing",
            findings: vec![("H1", "a", High, 0, S, P, 0)],
            filter: Filter {
                models: Some(vec![]),
                ..Filter::default()
            },
            expect: vec![],
        },
        Case {
            name: "repeated codes count as findings, once as distinct codes",
            findings: vec![
                ("H1", "a", Low, 0, S, P, 0),
                ("H1", "a", Low, 0, S, P, 0),
                ("H1", "a", Low, 0, S, P, 0),
                ("H2", "b", Low, 0, S, P, 0),
                ("H2", "c", Low, 0, S, P, 0),
            ],
            filter: Filter::default(),
            expect: vec![("H1", 3), ("H2", 2)],
        },
        Case {
            name: "no findings, no rows",
            findings: vec![],
            filter: Filter::default(),
            expect: vec![],
        },
    ]
}

#[test]
fn ranking_table() {
    let dir = directory();
    for case in cases() {
        let findings: Vec<FindingRow> = case
            .findings
            .iter()
            .map(
                |&(inst, code, severity, amount_fen, model, product, at_ms)| FindingRow {
                    model: model.into(),
                    severity,
                    code: code.into(),
                    institution: inst.into(),
                    product: product.map(Into::into),
                    at_ms,
                    amount_fen: Fen::new(amount_fen),
                },
            )
            .collect();
        let rows = rank(&findings, &dir, &case.filter);
        let got: Vec<(&str, u64)> = rows
            .iter()
            .map(|r| (r.institution.as_str(), r.score))
            .collect();
        assert_eq!(got, case.expect, "case: {}", case.name);
        let ranks: Vec<usize> = rows.iter().map(|r| r.rank).collect();
        assert_eq!(
            ranks,
            (1..=rows.len()).collect::<Vec<_>>(),
            "case: {}",
            case.name
        );
        // The order does not depend on the order of the input.
        let mut reversed = findings.clone();
        reversed.reverse();
        assert_eq!(
            rank(&reversed, &dir, &case.filter),
            rows,
            "case: {}",
            case.name
        );
    }
}

#[test]
fn distinct_codes_and_share_of_scans() {
    let findings: Vec<FindingRow> = [("H1", "a"), ("H1", "a"), ("H1", "b"), ("H2", "c")]
        .iter()
        .map(|&(inst, code)| FindingRow {
            model: S.into(),
            severity: Low,
            code: code.into(),
            institution: inst.into(),
            product: None,
            at_ms: 0,
            amount_fen: Fen::new(10),
        })
        .collect();
    let rows = rank(&findings, &directory(), &Filter::default());
    let h1 = &rows[0];
    assert_eq!(
        (h1.institution.as_str(), h1.findings, h1.distinct_codes),
        ("H1", 3, 2)
    );
    assert_eq!(h1.share_of_scans, Some(0.02));
    assert_eq!(h1.amount_fen, Fen::new(30));
    let h2 = &rows[1];
    assert_eq!(h2.scans, Some(0));
    assert_eq!(h2.share_of_scans, None, "0 scans give no share");
}
