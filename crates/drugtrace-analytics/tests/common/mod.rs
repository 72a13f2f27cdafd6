//! What the model tests on hand-made ledgers share: the ledger exported into a warehouse, and
//! one model run over it.

use drugtrace_analytics::{Analytics, ExportOptions, Table, Warehouse, export, model};
use drugtrace_catalog::{Catalog, Directory};
use drugtrace_ledger::Store;

/// `store` exported (empty catalog and directory, default options) into `dir/warehouse`.
#[allow(dead_code)] // Not every test binary that shares this module uses each helper.
pub fn warehouse(store: &dyn Store, dir: &std::path::Path) -> Warehouse {
    warehouse_with(store, &Catalog::default(), &Directory::default(), dir)
}

/// `store` exported with `catalog` and `directory` (default options) into `dir/warehouse`.
#[allow(dead_code)] // Not every test binary that shares this module uses each helper.
pub fn warehouse_with(
    store: &dyn Store,
    catalog: &Catalog,
    directory: &Directory,
    dir: &std::path::Path,
) -> Warehouse {
    let warehouse = Warehouse::new(dir.join("warehouse"));
    export(
        store,
        catalog,
        directory,
        &warehouse,
        &ExportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    warehouse
}

/// A runtime for a test's queries.
#[allow(dead_code)] // Not every test binary that shares this module uses each helper.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A ledger of three packs, each sold at P1 and then again at P2: three duplicate sales.
#[allow(dead_code)] // Not every test binary that shares this module uses each helper.
pub fn sold_twice() -> drugtrace_ledger::Ledger<drugtrace_ledger::MemStore> {
    use drugtrace_ingest::{ParseContext, parse_json_event};
    let ledger = drugtrace_ledger::Ledger::new(
        drugtrace_ledger::MemStore::new(),
        Catalog::default(),
        drugtrace_ledger::Policy::default(),
    );
    let ctx = ParseContext {
        person_key: drugtrace_ledger::PersonKey::from_bytes([1; 32]),
        local_offset_minutes: 480,
    };
    let events: Vec<_> = (0..3)
        .flat_map(|n| {
            let code = format!("8100001000000000000{n}");
            [
                format!(r#"{{"type":"commission","code":"{code}","at":"2025-03-01 09:00:00","institution":"M1"}}"#),
                format!(r#"{{"type":"sale","code":"{code}","at":"2025-04-01 09:00:00","institution":"P1","settlement_id":"S{n}"}}"#),
                format!(r#"{{"type":"sale","code":"{code}","at":"2025-04-02 09:00:00","institution":"P2","settlement_id":"T{n}"}}"#),
            ]
        })
        .map(|l| parse_json_event(&l, &ctx).unwrap())
        .collect();
    ledger.record_batch(&events).unwrap();
    ledger
}

/// The findings of model `name` over `warehouse`.
#[allow(dead_code)] // Not every test binary that shares this module uses each helper.
pub fn findings(name: &str, warehouse: &Warehouse) -> Table {
    rt().block_on(async {
        let analytics = Analytics::open(warehouse).await.unwrap();
        let batches = analytics.run_model(model(name).unwrap()).await.unwrap();
        Table::from_batches(&batches).unwrap()
    })
}

/// The findings of each model of `names` over `warehouse`, from one session.
#[allow(dead_code)] // Not every test binary that shares this module uses each helper.
pub fn findings_of(
    names: &[&str],
    warehouse: &Warehouse,
    rt: &tokio::runtime::Runtime,
) -> std::collections::BTreeMap<String, Table> {
    rt.block_on(async {
        let analytics = Analytics::open(warehouse).await.unwrap();
        let mut out = std::collections::BTreeMap::new();
        for name in names {
            let batches = analytics.run_model(model(name).unwrap()).await.unwrap();
            out.insert((*name).to_owned(), Table::from_batches(&batches).unwrap());
        }
        out
    })
}
