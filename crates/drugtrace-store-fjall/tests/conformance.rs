//! The fjall store against the shared storage suite, and across a reopen.

use drugtrace_ledger::testkit::{self, Rng, arbitrary_recorded, pack};
use drugtrace_ledger::{PackState, PackWrite, Store};
use drugtrace_store_fjall::FjallStore;

#[test]
fn passes_the_shared_suite() {
    let dirs = std::sync::Mutex::new(Vec::new());
    testkit::check_store(&|| {
        let dir = tempfile::tempdir().unwrap();
        let store = FjallStore::open(dir.path()).unwrap();
        dirs.lock().unwrap().push(dir);
        store
    });
}

#[test]
fn committed_packs_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(9);
    let mut expected = Vec::new();
    {
        let store = FjallStore::open(dir.path()).unwrap();
        for n in 0..500 {
            let key = pack(n);
            let events: Vec<_> = (0..3)
                .map(|i| arbitrary_recorded(&mut rng, key, i))
                .collect();
            let state = PackState::fold(&events);
            store
                .commit(vec![PackWrite {
                    key,
                    expected: 0,
                    events: events.clone(),
                    state: state.clone(),
                }])
                .unwrap();
            expected.push((key, events, state));
        }
    }
    let store = FjallStore::open(dir.path()).unwrap();
    for (key, events, state) in expected {
        assert_eq!(store.history(&key).unwrap(), events);
        assert_eq!(store.pack(&key).unwrap(), Some(state));
    }
}
