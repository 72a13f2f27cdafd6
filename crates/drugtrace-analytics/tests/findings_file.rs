//! The findings file is checked when the warehouse opens: a file of the version before a
//! finding's evidence became a list is still read (through a view that splits its text),
//! and a file that lacks a column fails, naming it.

mod common;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use drugtrace_analytics::{Analytics, AnalyticsError, Table, write_parquet_atomically};

/// The duplicate sales' (code, evidence) in the warehouse's findings table.
async fn evidence(analytics: &Analytics) -> Vec<(String, Vec<i64>)> {
    let t: Table = analytics
        .table("SELECT code, evidence FROM findings WHERE model = 'duplicate_sale' ORDER BY code")
        .await
        .unwrap();
    t.records()
        .map(|r| {
            (
                r.text("code"),
                r.list("evidence").iter().map(|v| v.int()).collect(),
            )
        })
        .collect()
}

#[test]
fn a_findings_file_with_text_evidence_is_read_as_lists() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = common::warehouse(common::sold_twice().store(), dir.path());
    common::rt().block_on(async {
        let analytics = Analytics::open(&warehouse).await.unwrap();
        analytics.run_all(&mut |_| {}).await.unwrap();
        let listed = evidence(&analytics).await;
        assert_eq!(listed.len(), 3);
        assert!(listed.iter().all(|(_, e)| e.len() == 2), "{listed:?}");

        // The file as the version before wrote it: evidence as "3,5".
        let batches = analytics
            .collect("SELECT * FROM findings")
            .await
            .unwrap();
        let fields: Vec<Field> = batches[0]
            .schema()
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                "evidence" => Field::new("evidence", DataType::Utf8, true),
                _ => f.as_ref().clone(),
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let old: Vec<RecordBatch> = batches
            .iter()
            .map(|b| {
                let i = b.schema().index_of("evidence").unwrap();
                let mut columns: Vec<ArrayRef> = b.columns().to_vec();
                let lists = columns[i].as_any().downcast_ref::<datafusion::arrow::array::ListArray>().unwrap();
                let text: StringArray = (0..lists.len())
                    .map(|row| {
                        (!lists.is_null(row)).then(|| {
                            let seqs = cast(&lists.value(row), &DataType::Utf8).unwrap();
                            let seqs = seqs.as_any().downcast_ref::<StringArray>().unwrap();
                            seqs.iter().flatten().collect::<Vec<_>>().join(",")
                        })
                    })
                    .collect();
                columns[i] = Arc::new(text);
                RecordBatch::try_new(Arc::clone(&schema), columns).unwrap()
            })
            .collect();
        write_parquet_atomically(&warehouse.findings_path(), Arc::clone(&schema), &old).unwrap();
        let reopened = Analytics::open(&warehouse).await.unwrap();
        assert_eq!(evidence(&reopened).await, listed);

        // A file without a column of the findings table fails the opening, naming it.
        let i = schema.index_of("detail").unwrap();
        let mut fields = schema.fields().to_vec();
        fields.remove(i);
        let cut = Arc::new(Schema::new(fields));
        let cut_batches: Vec<RecordBatch> = old
            .iter()
            .map(|b| {
                let mut columns = b.columns().to_vec();
                columns.remove(i);
                RecordBatch::try_new(Arc::clone(&cut), columns).unwrap()
            })
            .collect();
        write_parquet_atomically(&warehouse.findings_path(), cut, &cut_batches).unwrap();
        let e = Analytics::open(&warehouse).await.err().expect("the opening fails");
        assert!(
            matches!(&e, AnalyticsError::FindingsSchema { column, found: None, .. } if column == "detail"),
            "{e:?}"
        );
        assert!(e.to_string().contains("run the models again"), "{e}");
    });
}
