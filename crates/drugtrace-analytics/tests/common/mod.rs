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

/// The findings of model `name` over `warehouse`.
#[allow(dead_code)] // Not every test binary that shares this module uses each helper.
pub fn findings(name: &str, warehouse: &Warehouse) -> Table {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let analytics = Analytics::open(warehouse).await.unwrap();
        let batches = analytics.run_model(model(name).unwrap()).await.unwrap();
        Table::from_batches(&batches).unwrap()
    })
}
