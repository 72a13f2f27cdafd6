//! Group commit: many writers, one fsync. A writer whose batch is in the journal waits until
//! a sync that started after its write has finished; whoever finds no sync running becomes
//! the leader and syncs for everybody written so far.
//!
//! fjall's journal stays locked while it syncs, so writers cannot queue writes during a
//! sync. The leader therefore first waits, briefly, for the writers already inside a commit
//! to reach the journal, so that one sync covers them all. A writer alone syncs at once.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The longest a leader waits for writers inside a commit before syncing without them.
const MAX_GATHER: Duration = Duration::from_micros(500);

#[derive(Default)]
struct Progress {
    /// Writers inside a commit that have not reached the journal yet.
    entering: usize,
    /// Tickets handed out: one per write that reached the journal.
    written: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    /// A leader is gathering writers or syncing.
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
    arrived: Condvar,
}

/// A writer inside a commit, from its start until its write reaches the journal (then it
/// takes a ticket) or it gives up (then it is dropped).
pub struct Entry<'a> {
    group: &'a GroupCommit,
    open: bool,
}

impl GroupCommit {
    /// Announces a writer starting a commit.
    pub fn enter(&self) -> Entry<'_> {
        self.progress.lock().entering += 1;
        Entry {
            group: self,
            open: true,
        }
    }

    fn leave(&self, took_ticket: bool) -> u64 {
        let mut p = self.progress.lock();
        p.entering -= 1;
        if took_ticket {
            p.written += 1;
        }
        if p.entering == 0 {
            self.arrived.notify_one();
        }
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
            let deadline = Instant::now() + MAX_GATHER;
            while p.entering > 0 && !self.arrived.wait_until(&mut p, deadline).timed_out() {}
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

impl Entry<'_> {
    /// The writer's batch is in the journal: its ticket, to [`GroupCommit::wait`] with.
    pub fn ticket(mut self) -> u64 {
        self.open = false;
        self.group.leave(true)
    }
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        if self.open {
            self.group.leave(false);
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
                        let t = gc.enter().ticket();
                        gc.wait(t, || {
                            syncs.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_micros(200));
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
        assert!(n < 1600, "writers shared syncs: {n} for 1600 writes");
        assert!(n >= 200, "every thread's last write waited for a sync");
    }

    #[test]
    fn a_writer_that_gives_up_does_not_hold_the_leader() {
        let gc = GroupCommit::default();
        let quitter = gc.enter();
        let t = gc.enter().ticket();
        drop(quitter);
        let started = Instant::now();
        gc.wait(t, || Ok(())).unwrap();
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn a_failed_sync_acknowledges_nothing_after_it() {
        let gc = GroupCommit::default();
        let t = gc.enter().ticket();
        assert!(gc.wait(t, || Err("disk gone".into())).is_err());
        let t = gc.enter().ticket();
        assert_eq!(gc.wait(t, || Ok(())), Err("disk gone".into()));
    }
}
