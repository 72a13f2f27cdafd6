//! The gate's batcher: sale requests from concurrent connections are judged and recorded
//! together, one commit and one fsync for all that arrived while the last group was being
//! written. Each request still gets its own decisions, and requests on one pack are judged
//! in arrival order, so a batch decides exactly what the same requests one by one would.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Weak};

use drugtrace_ledger::{Decision, Store, Submission};
use tokio::sync::oneshot;

use crate::Inner;

/// Events in one group at most: a group's commit should stay short.
const MAX_GROUP_EVENTS: usize = 4096;

type Reply = oneshot::Sender<Result<Vec<Decision>, GateFailure>>;

/// Why a group of sales was not recorded: nothing of it was, and every request in it gets
/// this answer. `unavailable` when the storage could not be reached (a database failing
/// over): the request is answered with a retryable 503, not a 500.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct GateFailure {
    /// The storage could not be reached now.
    pub unavailable: bool,
    /// What failed.
    pub message: String,
}

impl GateFailure {
    fn stopped(message: &str) -> GateFailure {
        GateFailure {
            unavailable: false,
            message: message.to_owned(),
        }
    }
}

/// Sends requests to the batcher thread.
pub struct Batcher {
    tx: Sender<(Submission, Reply)>,
}

impl Batcher {
    /// Starts the batcher thread for the state behind `inner`; it ends when the state is
    /// dropped.
    pub fn start<S: Store + Sync + 'static>(inner: Weak<Inner<S>>) -> Batcher {
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("gate-batcher".into())
            .spawn(move || run(inner, rx))
            .expect("a thread can be started");
        Batcher { tx }
    }

    /// Judges and records `submission` with whatever else is waiting; the decisions come
    /// back once they are durable.
    pub async fn record(&self, submission: Submission) -> Result<Vec<Decision>, GateFailure> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((submission, reply))
            .map_err(|_| GateFailure::stopped("the gate batcher has stopped"))?;
        answer
            .await
            .map_err(|_| GateFailure::stopped("the gate batcher dropped the request"))?
    }
}

fn run<S: Store + Sync + 'static>(inner: Weak<Inner<S>>, rx: Receiver<(Submission, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut events: usize = first.0.events.len();
        let (mut subs, mut replies) = (vec![first.0], vec![first.1]);
        while events < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok((sub, reply)) => {
                    events += sub.events.len();
                    subs.push(sub);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        let Some(inner): Option<Arc<Inner<S>>> = inner.upgrade() else {
            return;
        };
        match inner.ledger.submit(&subs) {
            Ok(decisions) => {
                for (mine, reply) in decisions.into_iter().zip(replies) {
                    let _ = reply.send(Ok(mine));
                }
            }
            Err(e) => {
                let failure = GateFailure {
                    unavailable: crate::error::unavailable(&e),
                    message: e.to_string(),
                };
                if failure.unavailable {
                    tracing::warn!(error = %e, "the gate could not record a group: storage unavailable");
                } else {
                    tracing::error!(error = %e, "the gate could not record a group");
                }
                for reply in replies {
                    let _ = reply.send(Err(failure.clone()));
                }
            }
        }
    }
}
