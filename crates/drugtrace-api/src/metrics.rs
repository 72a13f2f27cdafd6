//! Prometheus metrics at `/metrics`: requests by route and status, their latency, the
//! gate's decisions by outcome and reason, and the change marks the server has forgotten.

use std::time::Instant;

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
    forgotten: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("drugtrace");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            // 50 µs to about 3 s.
            Histogram::new(exponential_buckets(0.000_05, 2.0, 17))
        });
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
            forgotten,
        }
    }
}

impl Metrics {
    /// Counts one gate decision.
    pub fn decision(&self, allowed: bool, reason: Option<&str>) {
        self.decisions
            .get_or_create(&DecisionLabels {
                decision: if allowed { "allow" } else { "block" }.into(),
                reason: reason.unwrap_or("").into(),
            })
            .inc();
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
