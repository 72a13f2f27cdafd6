//! The store's connections: at most a fixed number open, each lent to one caller at a time.
//! When all are lent, callers wait in arrival order, and a connection given back goes to the
//! one that has waited longest, never to a caller that arrived after it. A pool that let
//! whoever asks first take a returned connection could leave one caller waiting while
//! newcomers pass it by, which shows as a long tail of latency under load.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// What a caller gets from [`Pool::take`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Got<T> {
    /// A connection to use, and give back or report closed.
    Idle(T),
    /// Leave to open a connection, already counted as open: the caller opens it, and calls
    /// [`Pool::closed`] if that fails.
    Open,
}

/// Connections, at most `limit` open.
pub(crate) struct Pool<T> {
    limit: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    idle: Vec<T>,
    /// Connections open, idle or lent, and those being opened.
    open: usize,
    /// Callers waiting, oldest first. Someone waits only while nothing is idle and all
    /// `limit` are open.
    waiting: VecDeque<Arc<Waiter<T>>>,
}

/// One waiting caller: what it was handed, put there under the pool's lock.
struct Waiter<T> {
    handed: Mutex<Option<Got<T>>>,
    ready: Condvar,
}

impl<T> Pool<T> {
    pub(crate) fn new(limit: usize) -> Pool<T> {
        Pool {
            limit,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                waiting: VecDeque::new(),
            }),
        }
    }

    /// A connection, or leave to open one, waiting up to `wait` behind the callers that
    /// came before; `None` when the wait ran out. Idle connections that are no longer
    /// `usable` (they broke while idle) are dropped first.
    pub(crate) fn take(&self, wait: Duration, usable: impl Fn(&T) -> bool) -> Option<Got<T>> {
        let deadline = Instant::now() + wait;
        let waiter = {
            let mut st = self.state.lock();
            let before = st.idle.len();
            st.idle.retain(|c| usable(c));
            st.open -= before - st.idle.len();
            if st.waiting.is_empty() {
                if let Some(c) = st.idle.pop() {
                    return Some(Got::Idle(c));
                }
                if st.open < self.limit {
                    st.open += 1;
                    return Some(Got::Open);
                }
            }
            let w = Arc::new(Waiter {
                handed: Mutex::new(None),
                ready: Condvar::new(),
            });
            st.waiting.push_back(Arc::clone(&w));
            w
        };
        let mut handed = waiter.handed.lock();
        loop {
            if let Some(got) = handed.take() {
                return Some(got);
            }
            if waiter.ready.wait_until(&mut handed, deadline).timed_out() {
                break;
            }
        }
        // The wait ran out. Still in the queue: leave it. Not in it: a connection was handed
        // over meanwhile (always under the pool's lock, so it is there now).
        drop(handed);
        let mut st = self.state.lock();
        if let Some(i) = st.waiting.iter().position(|w| Arc::ptr_eq(w, &waiter)) {
            st.waiting.remove(i);
            return None;
        }
        drop(st);
        waiter.handed.lock().take()
    }

    /// Gives a connection back: to the caller that has waited longest, or to the idle ones.
    pub(crate) fn give_back(&self, c: T) {
        let mut st = self.state.lock();
        match st.waiting.pop_front() {
            Some(w) => hand(&w, Got::Idle(c)),
            None => st.idle.push(c),
        }
    }

    /// Counts a connection closed (or never opened): the caller that has waited longest may
    /// open one in its place.
    pub(crate) fn closed(&self) {
        let mut st = self.state.lock();
        match st.waiting.pop_front() {
            Some(w) => hand(&w, Got::Open),
            None => st.open -= 1,
        }
    }

    /// Takes out every idle connection (to close them).
    pub(crate) fn drain_idle(&self) -> Vec<T> {
        let mut st = self.state.lock();
        let idle = std::mem::take(&mut st.idle);
        st.open -= idle.len();
        idle
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.state.lock().waiting.len()
    }
}

fn hand<T>(w: &Waiter<T>, got: Got<T>) {
    *w.handed.lock() = Some(got);
    w.ready.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    const LONG: Duration = Duration::from_secs(10);

    fn until_waiting(pool: &Pool<u32>, n: usize) {
        let deadline = Instant::now() + LONG;
        while pool.waiting() < n {
            assert!(Instant::now() < deadline, "{n} callers never queued");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_connection_given_back_goes_to_the_longest_waiting() {
        let pool = Arc::new(Pool::<u32>::new(1));
        assert_eq!(pool.take(LONG, |_| true), Some(Got::Open));
        let (tx, rx) = channel();
        for name in ["first", "second", "third"] {
            let (shared, tx) = (Arc::clone(&pool), tx.clone());
            let queued = pool.waiting() + 1;
            std::thread::spawn(move || {
                let got = shared.take(LONG, |_| true);
                tx.send((name, got)).unwrap();
            });
            until_waiting(&pool, queued);
        }
        for (n, name) in ["first", "second", "third"].into_iter().enumerate() {
            pool.give_back(n as u32);
            // A caller arriving now does not get ahead of those already waiting.
            assert_eq!(pool.take(Duration::ZERO, |_| true), None, "{name}'s turn");
            assert_eq!(rx.recv().unwrap(), (name, Some(Got::Idle(n as u32))));
        }
        pool.give_back(9);
        assert_eq!(pool.take(LONG, |_| true), Some(Got::Idle(9)));
    }

    #[test]
    fn a_wait_runs_out_and_leaves_the_queue() {
        let pool = Pool::<u32>::new(1);
        assert_eq!(pool.take(LONG, |_| true), Some(Got::Open));
        assert_eq!(pool.take(Duration::from_millis(20), |_| true), None);
        assert_eq!(pool.waiting(), 0);
        pool.give_back(1);
        assert_eq!(pool.take(LONG, |_| true), Some(Got::Idle(1)));
    }

    #[test]
    fn a_closed_connection_lets_the_longest_waiting_open_one() {
        let pool = Arc::new(Pool::<u32>::new(1));
        assert_eq!(pool.take(LONG, |_| true), Some(Got::Open));
        let waiter = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || pool.take(LONG, |_| true))
        };
        until_waiting(&pool, 1);
        pool.closed();
        assert_eq!(waiter.join().unwrap(), Some(Got::Open));
        // Still one open at most.
        assert_eq!(pool.take(Duration::ZERO, |_| true), None);
    }

    #[test]
    fn broken_idle_connections_are_dropped_and_replaced() {
        let pool = Pool::<u32>::new(2);
        assert_eq!(pool.take(LONG, |_| true), Some(Got::Open));
        assert_eq!(pool.take(LONG, |_| true), Some(Got::Open));
        pool.give_back(1);
        pool.give_back(2);
        // Both broke while idle: both are dropped, and a new one may be opened.
        assert_eq!(pool.take(LONG, |_| false), Some(Got::Open));
        assert_eq!(pool.drain_idle(), Vec::<u32>::new());
    }
}
