//! The catalog read from CSV, looked up every way, and written back.

use drugtrace_catalog::{COLUMNS, Catalog, CatalogImportError, InsuranceCode};
use drugtrace_code::{DrugId, Gtin, TraceCode};

const HEADER: &str = "insurance_code,drug_id_prefix,gtin,generic_name,trade_name,specification,manufacturer,approval_number,units_per_pack\n";

fn catalog(rows: &str) -> Result<Catalog, CatalogImportError> {
    let mut c = Catalog::default();
    c.import_csv(format!("{HEADER}{rows}").as_bytes(), "catalog.csv")?;
    Ok(c)
}

const GOOD: &str = "\
XJ01CAA040A001010100001,8100001;8100011,6901234567809,阿莫西林胶囊,阿莫仙,0.25g×24粒,浙江示例制药有限公司,国药准字H33020001,24
ZB02BAF0001010100003,8100003,6901234567823|06901234567830,复方阿胶浆,东阿阿胶,20ml×12支,示例阿胶股份有限公司,国药准字Z37020001,12
XL01EDA123A001010200002,,,盐酸阿来替尼胶囊,,150mg×224粒,示例罗氏制药有限公司,,1
";

#[test]
fn looks_up_every_direction() {
    let c = catalog(GOOD).unwrap();
    assert_eq!(c.len(), 3);
    let amox = c
        .by_insurance_code(&InsuranceCode::parse("XJ01CAA040A001010100001").unwrap())
        .unwrap();
    assert_eq!(amox.generic_name(), "阿莫西林胶囊");
    assert_eq!(amox.units_per_pack(), 24);
    let by_prefix = c.by_drug_id(DrugId::parse("8100011").unwrap()).unwrap();
    assert_eq!(by_prefix.insurance_code(), amox.insurance_code());
    let syrup = c.by_gtin(Gtin::parse("6901234567830").unwrap()).unwrap();
    assert_eq!(syrup.trade_name(), "东阿阿胶");
    let code = TraceCode::parse("81000030000000000001").unwrap();
    assert_eq!(
        c.by_product_key(code.product_key()).unwrap().generic_name(),
        "复方阿胶浆"
    );
    assert!(c.by_drug_id(DrugId::parse("8100009").unwrap()).is_none());
}

#[test]
fn a_prefix_mapped_twice_names_both_rows() {
    let err = catalog(&format!(
        "{GOOD}XR05CBA198A001010100863,8100003,,氨溴索,,30mg,示例,,1\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("drug identification code 8100003 is mapped to ZB02BAF0001010100003 on catalog.csv line 3 and to XR05CBA198A001010100863 on catalog.csv line 5"),
        "{err}"
    );
    let err = catalog(&format!(
        "{GOOD}XR05CBA198A001010100863,,6901234567809,氨溴索,,30mg,示例,,1\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("GTIN 06901234567809 is mapped to XJ01CAA040A001010100001 on catalog.csv line 2 and to XR05CBA198A001010100863 on catalog.csv line 5"), "{err}");
}

#[test]
fn rows_of_one_code_merge_only_when_they_agree() {
    let c = catalog(&format!(
        "{GOOD}XJ01CAA040A001010100001,8100021,,阿莫西林胶囊,阿莫仙,0.25g×24粒,浙江示例制药有限公司,国药准字H33020001,24\n"
    ))
    .unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(
        c.by_drug_id(DrugId::parse("8100021").unwrap())
            .unwrap()
            .drug_ids()
            .len(),
        3
    );
    let err = catalog(&format!(
        "{GOOD}XJ01CAA040A001010100001,8100021,,阿莫西林胶囊,阿莫仙,0.5g×24粒,浙江示例制药有限公司,国药准字H33020001,24\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("XJ01CAA040A001010100001 has a different specification on catalog.csv line 2 and on catalog.csv line 5"),
        "{err}"
    );
}

#[test]
fn bad_rows_change_nothing_and_are_all_named() {
    let mut c = catalog(GOOD).unwrap();
    let bad = format!(
        "{HEADER}XJ01CAA040A00101010000,,,甲,,,乙,,1\nZB02BAF0001010100009,8100abc,,甲,,,乙,,1\nZB02BAF0001010100008,,6901234567800,甲,,,乙,,1\nZB02BAF0001010100007,,,甲,,,乙,,0\nZB02BAF0001010100006,,,,,,乙,,1\nZB02BAF0001010100005,,,甲,,,乙,,1\n"
    );
    let err = c
        .import_csv(bad.as_bytes(), "more.csv")
        .unwrap_err()
        .to_string();
    for needle in [
        "5 bad row(s), nothing imported",
        "more.csv line 2, column insurance_code: an insurance code for a Western drug (X) has 23 characters, this one has 22",
        "more.csv line 3, column drug_id_prefix: \"8100abc\"",
        "more.csv line 4, column gtin: \"6901234567800\": GTIN check digit is 0, but the other digits call for 9",
        "more.csv line 5: units_per_pack is 0",
        "more.csv line 6: generic_name is empty",
    ] {
        assert!(err.contains(needle), "{needle}\n{err}");
    }
    assert_eq!(c.len(), 3, "nothing was imported");
    let err = c
        .import_csv("code,name\nX,Y\n".as_bytes(), "x.csv")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("lacks column(s) insurance_code, generic_name, manufacturer, units_per_pack"),
        "{err}"
    );
}

#[test]
fn csv_round_trips_through_a_file() {
    let c = catalog(GOOD).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.csv");
    c.save_csv_file(&path).unwrap();
    let back = Catalog::load_csv_file(&path).unwrap();
    let a: Vec<_> = c.iter().collect();
    let b: Vec<_> = back.iter().collect();
    assert_eq!(a, b);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(&COLUMNS.join(",")));
    assert!(!dir.path().join("catalog.csv.tmp").exists());
}
