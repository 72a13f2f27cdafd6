//! Group commit: many writers, one fsync. A writer whose batch is in the journal waits until
//! a sync that started after its write has finished; whoever finds no sync running starts
//! one for everybody written so far.

use parking_lot::{Condvar, Mutex};

#[derive(Default)]
struct Progress {
    /// Tickets handed out: one per write that reached the journal.
    written: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    /// A sync is running.
    syncing: bool,
    /// The last sync failed: the journal may have lost writes, so nothing more is
    /// acknowledged.
    failed: Option<String>,
}

/// Tracks which writes are durable.
#[derive(Default)]
pub struct GroupCommit {
    progress: Mutex<Progress>,
    synced: Condvar,
}

impl GroupCommit {
    /// Takes a ticket for a write that has just reached the journal (in memory).
    pub fn ticket(&self) -> u64 {
        let mut p = self.progress.lock();
        p.written += 1;
        p.written
    }

    /// Returns once `ticket`'s write is durable, running `sync` (which must make everything
    /// written before it was called durable) when no other writer is doing so.
    pub fn wait(&self, ticket: u64, sync: impl Fn() -> Result<(), String>) -> Result<(), String> {
        let mut p = self.progress.lock();
        loop {
            if let Some(e) = &p.failed {
                return Err(e.clone());
            }
            if p.synced >= ticket {
                return Ok(());
            }
            if p.syncing {
                self.synced.wait(&mut p);
                continue;
            }
            p.syncing = true;
            let target = p.written;
            drop(p);
            let result = sync();
            p = self.progress.lock();
            p.syncing = false;
            match result {
                Ok(()) => p.synced = p.synced.max(target),
                Err(e) => p.failed = Some(e),
            }
            self.synced.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn concurrent_writers_share_syncs() {
        let gc = Arc::new(GroupCommit::default());
        let syncs = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let gc = Arc::clone(&gc);
                let syncs = Arc::clone(&syncs);
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let t = gc.ticket();
                        gc.wait(t, || {
                            syncs.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = syncs.load(Ordering::Relaxed);
        assert!(n <= 1600, "never more syncs than writes");
        assert!(n >= 200, "every thread's last write waited for a sync");
    }

    #[test]
    fn a_failed_sync_acknowledges_nothing_after_it() {
        let gc = GroupCommit::default();
        let t = gc.ticket();
        assert!(gc.wait(t, || Err("disk gone".into())).is_err());
        let t = gc.ticket();
        assert_eq!(gc.wait(t, || Ok(())), Err("disk gone".into()));
    }
}
