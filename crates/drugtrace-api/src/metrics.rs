//! Prometheus metrics at `/metrics`: requests by route and status, their latency, the
//! gate's decisions by outcome and reason and those answered as before, the gate's groups
//! (their size, how long their oldest request waited, how long judging and committing
//! took), and the change marks the server has forgotten.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: String,
    reason: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    decisions: Family<DecisionLabels, Counter>,
    replayed: Counter,
    forgotten: Counter,
    gate: GateMetrics,
}

/// The gate's groups, as its batcher forms, judges and commits them: what an operator
/// reads to see where a sale's time goes (waiting for a group, the state reads of
/// judging, the commit) and how well concurrent requests share commits.
#[derive(Clone)]
pub(crate) struct GateMetrics {
    group_requests: Histogram,
    waited: Histogram,
    judging: Histogram,
    committing: Histogram,
}

impl GateMetrics {
    /// A group judged: its requests, how long its oldest one had waited, and how long
    /// judging took (the packs' states read and the sales decided).
    pub(crate) fn judged(&self, requests: usize, waited: Duration, judging: Duration) {
        self.group_requests.observe(requests as f64);
        self.waited.observe(waited.as_secs_f64());
        self.judging.observe(judging.as_secs_f64());
    }

    /// A group's commit, landed or not, and how long it took.
    pub(crate) fn committed(&self, took: Duration) {
        self.committing.observe(took.as_secs_f64());
    }
}

/// A histogram of durations from 50 µs to about 3 s.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("drugtrace");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(seconds);
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "gate_decisions",
            "Sale gate decisions by decision and reason",
            decisions.clone(),
        );
        let gate = GateMetrics {
            // 1 to 4096 requests.
            group_requests: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
            waited: seconds(),
            judging: seconds(),
            committing: seconds(),
        };
        for (name, help, histogram) in [
            (
                "gate_group_requests",
                "Sale requests judged together in one gate group",
                &gate.group_requests,
            ),
            (
                "gate_group_wait_seconds",
                "How long the oldest request of a gate group waited before the group was judged",
                &gate.waited,
            ),
            (
                "gate_group_judge_seconds",
                "Judging one gate group: reading its packs' states and deciding its sales",
                &gate.judging,
            ),
            (
                "gate_group_commit_seconds",
                "Committing one gate group, until it is durable or has failed",
                &gate.committing,
            ),
        ] {
            registry.register(name, help, histogram.clone());
        }
        let replayed = Counter::default();
        registry.register(
            "gate_replays",
            "Gate decisions answered as before: a settlement sent again, which records nothing new",
            replayed.clone(),
        );
        let forgotten = Counter::default();
        registry.register(
            "change_marks_forgotten",
            "Index entries of change marks forgotten, older than any update of the warehouse reads",
            forgotten.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            decisions,
            replayed,
            forgotten,
            gate,
        }
    }
}

impl Metrics {
    /// Counts one gate decision, and whether it was answered as before (`replayed`).
    pub fn decision(&self, allowed: bool, reason: Option<&str>, replayed: bool) {
        self.decisions
            .get_or_create(&DecisionLabels {
                decision: if allowed { "allow" } else { "block" }.into(),
                reason: reason.unwrap_or("").into(),
            })
            .inc();
        if replayed {
            self.replayed.inc();
        }
    }

    /// The gate's group metrics, for its batcher.
    pub(crate) fn gate(&self) -> &GateMetrics {
        &self.gate
    }

    /// Counts index entries of change marks forgotten.
    pub fn forgotten(&self, entries: u64) {
        self.forgotten.inc_by(entries);
    }

    fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Middleware: counts and times every request by its route pattern (never by its path, so
/// codes do not become label values).
pub async fn track<S: drugtrace_ledger::Store + Sync + 'static>(
    State(state): State<crate::AppState<S>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let m = &state.inner.metrics;
    m.latency
        .get_or_create(&LatencyLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RouteLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics`.
pub async fn export<S: drugtrace_ledger::Store + Sync + 'static>(
    State(state): State<crate::AppState<S>>,
) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.inner.metrics.render(),
    )
        .into_response()
}
