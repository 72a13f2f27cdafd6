//! Forgetting the change marks nobody reads any more, for as long as the server serves.
//!
//! Every record marks its pack as changed in its minute (`drugtrace_ledger::Lookup::Changed`),
//! and an update of the warehouse reads a week of marks back at most. The marks older than
//! [`drugtrace_ledger::CHANGES_KEPT_MINUTES`] by the ledger's clock are forgotten here, oldest
//! first: a short stretch of work, then a rest, so that a backlog (a ledger older than the
//! sweep) is worked off without taking the store from the gate. Every server on a database
//! sweeps; a minute two of them forget is removed once and counted by the one that did.

use std::sync::Arc;
use std::time::{Duration, Instant};

use drugtrace_ledger::{ChangeSweeper, Store};

use crate::AppState;

/// How long one stretch of sweeping may run before it rests.
const WORK: Duration = Duration::from_secs(1);

/// The rest after a stretch that left older marks: the sweep takes a tenth of a thread.
const REST: Duration = Duration::from_secs(10);

/// How long the sweep waits once nothing is left to forget, or after a failure.
const IDLE: Duration = Duration::from_secs(600);

/// Sweeps until the task is aborted (the server stops).
pub(crate) async fn run<S: Store + Sync + 'static>(state: AppState<S>) {
    let mut sweeper = ChangeSweeper::new();
    loop {
        let inner = Arc::clone(&state.inner);
        let pass = tokio::task::spawn_blocking(move || {
            let ledger = &inner.ledger;
            let swept = sweeper.sweep(ledger.store(), ledger.now(), Instant::now() + WORK);
            (sweeper, swept)
        })
        .await;
        let pause = match pass {
            Ok((passed, Ok(swept))) => {
                sweeper = passed;
                state.inner.metrics.forgotten(swept.entries);
                if swept.minutes > 0 {
                    tracing::info!(
                        minutes = swept.minutes,
                        entries = swept.entries,
                        behind = swept.behind,
                        "forgot the change marks no update reads any more"
                    );
                }
                if swept.behind { REST } else { IDLE }
            }
            Ok((passed, Err(e))) => {
                sweeper = passed;
                tracing::warn!(error = %e, "forgetting old change marks failed; trying again later");
                IDLE
            }
            Err(e) => {
                // The pass panicked, and its sweeper with it: the next starts from the oldest.
                sweeper = ChangeSweeper::new();
                tracing::warn!(error = %e, "the sweep of old change marks stopped");
                IDLE
            }
        };
        tokio::time::sleep(pause).await;
    }
}
