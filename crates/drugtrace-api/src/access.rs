//! Who is calling: the bearer key's role, and for the public patient query, the client's
//! address and its share of the rate limit.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use drugtrace_ledger::{InstitutionId, Store};
use parking_lot::Mutex;

use crate::keys::Role;
use crate::{ApiError, AppState};

/// The caller of an endpoint that needs a key.
pub struct Caller(pub Role);

impl Caller {
    /// The institution a key belongs to, or a 403 for keys of other roles.
    pub fn institution(&self) -> Result<&InstitutionId, ApiError> {
        match &self.0 {
            Role::Institution(i) => Ok(i),
            Role::Regulator => Err(ApiError::forbidden(
                None,
                "a regulator key reads; only an institution's key submits",
            )),
        }
    }
}

impl<S: Store + Sync + 'static> FromRequestParts<AppState<S>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized("missing_key", "send `Authorization: Bearer <API key>`")
            })?;
        let key = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "missing_key",
                    "the Authorization header is not `Bearer <API key>`",
                )
            })?;
        state
            .inner
            .keys
            .role(key)
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::unauthorized("unknown_key", "this API key is not known"))
    }
}

/// The client's address, when the server knows it.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A token bucket per client address: `burst` requests at once, refilled at `per_second`.
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Buckets kept before idle ones are dropped.
const MAX_CLIENTS: usize = 100_000;

impl RateLimiter {
    /// A limiter allowing `burst` requests at once and `per_second` on average per client.
    pub fn new(burst: u32, per_second: f64) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst),
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip`; on refusal, the seconds until one is free.
    pub fn take(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_CLIENTS {
            let full = self.burst;
            let rate = self.per_second;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < full
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil() as u64)
        }
    }
}
