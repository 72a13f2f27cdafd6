//! Who is calling: the bearer key's role, and for the public patient query, the client's
//! address and its share of the rate limit.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use drugtrace_catalog::InstitutionKind;
use drugtrace_ledger::{Authority, InstitutionId, Store};
use ipnet::IpNet;
use parking_lot::Mutex;

use crate::keys::Role;
use crate::{ApiError, AppState};

/// The caller of an endpoint that needs a key.
pub struct Caller(pub Role, pub Authority);

impl Caller {
    /// Who the caller is to the gate's permission rules: a regulator, or a party of the
    /// kind its key names, else the kind the directory lists for its institution, else a
    /// hospital or pharmacy (what keys of the older role `institution` were made for).
    pub fn authority(&self) -> Authority {
        self.1
    }

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
        let (role, kind) =
            state.inner.keys.entry(key).ok_or_else(|| {
                ApiError::unauthorized("unknown_key", "this API key is not known")
            })?;
        let authority = match &role {
            Role::Regulator => Authority::Regulator,
            Role::Institution(id) => Authority::Party(
                kind.or_else(|| state.inner.directory().get(id.as_str()).map(|i| i.kind))
                    .unwrap_or(InstitutionKind::Pharmacy),
            ),
        };
        Ok(Caller(role, authority))
    }
}

/// The client's address, when the server knows it: the peer of the connection, or, when the
/// peer is a trusted proxy, the address that proxy says it forwarded for.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Store + Sync + 'static> FromRequestParts<AppState<S>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(ClientIp(None));
        };
        let forwarded = parts
            .headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','));
        Ok(ClientIp(Some(
            state.inner.patient_limit.proxies.client(peer, forwarded),
        )))
    }
}

/// The header a reverse proxy names the addresses it forwarded for in, nearest last.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The reverse proxies (load balancers, gateways) in front of the server whose
/// `X-Forwarded-For` is believed. Anyone else's is ignored: a client could write any address
/// there and so escape its rate limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// A trusted-proxy entry that is neither an address nor a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted proxy `{entry}` is neither an IP address nor a network such as 10.0.0.0/8")]
pub struct BadProxyEntry {
    /// The entry as given.
    pub entry: String,
}

impl TrustedProxies {
    /// No proxy is trusted: the connection's peer is the client.
    pub fn none() -> TrustedProxies {
        TrustedProxies::default()
    }

    /// Parses addresses (`10.0.0.7`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<I, T>(entries: I) -> Result<TrustedProxies, BadProxyEntry>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        entries
            .into_iter()
            .map(|e| {
                let e = e.as_ref().trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| BadProxyEntry {
                        entry: e.to_owned(),
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that came from `peer` carrying the `X-Forwarded-For` entries
    /// `forwarded` (in header order, nearest proxy last). Walking from the nearest hop
    /// outwards, the first address that is not a trusted proxy is the client: entries further
    /// out were written by that client and prove nothing. An entry that is not an address
    /// stops the walk at the last address known good.
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = forwarded.map(str::trim).filter(|h| !h.is_empty()).collect();
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The bucket a client's requests count against: its IPv4 address, or its IPv6 /64 (one
/// subscriber's network: a client could otherwise walk through its 2^64 addresses).
fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
    }
}

/// A token bucket per client address: `burst` requests at once, refilled at `per_second`.
pub struct RateLimiter {
    proxies: TrustedProxies,
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
            proxies: TrustedProxies::none(),
            burst: f64::from(burst),
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The same limiter, taking the client's address from `X-Forwarded-For` when the
    /// connection comes from one of `proxies`.
    pub fn behind(self, proxies: TrustedProxies) -> RateLimiter {
        RateLimiter { proxies, ..self }
    }

    /// Takes a token for `ip`; on refusal, the seconds until one is free.
    pub fn take(&self, ip: IpAddr) -> Result<(), u64> {
        let ip = bucket_of(ip);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_behind_trusted_proxies() {
        let proxies = TrustedProxies::parse(["10.0.0.0/8", "192.168.1.5", "fd00::/8"]).unwrap();
        // (peer, X-Forwarded-For entries, the client)
        let cases: &[(&str, &[&str], &str)] = &[
            // A peer that is not a proxy is the client, whatever it claims.
            ("203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
            // One trusted proxy: the address it forwarded for.
            ("10.1.2.3", &["198.51.100.1"], "198.51.100.1"),
            // Two proxies in a chain; the client's own claim further out is not believed.
            (
                "192.168.1.5",
                &["6.6.6.6", "198.51.100.1", "10.9.9.9"],
                "198.51.100.1",
            ),
            // Several entries in one header and ports.
            ("10.1.2.3", &["6.6.6.6, 198.51.100.1:4711"], "198.51.100.1"),
            ("fd00::1", &["[2001:db8::7]:443"], "2001:db8::7"),
            // A proxy with nothing forwarded: the proxy itself.
            ("10.1.2.3", &[], "10.1.2.3"),
            // Garbage stops the walk at the last address known good.
            ("10.1.2.3", &["198.51.100.1", "unknown"], "10.1.2.3"),
            ("10.1.2.3", &["not-an-ip", "198.51.100.1"], "198.51.100.1"),
            // Every hop trusted: the farthest one.
            ("10.1.2.3", &["10.4.4.4", "10.5.5.5"], "10.4.4.4"),
            // IPv4-mapped IPv6 peers are their IPv4 address.
            ("::ffff:10.1.2.3", &["198.51.100.1"], "198.51.100.1"),
        ];
        for (peer, forwarded, want) in cases {
            let got = proxies.client(ip(peer), forwarded.iter().flat_map(|h| h.split(',')));
            assert_eq!(got, ip(want), "peer {peer}, X-Forwarded-For {forwarded:?}");
        }
        let nobody = TrustedProxies::none();
        assert_eq!(
            nobody.client(ip("10.1.2.3"), ["198.51.100.1"].into_iter()),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn bad_proxy_entries_are_named() {
        let err = TrustedProxies::parse(["10.0.0.0/8", "10.0.0.0/33"]).unwrap_err();
        assert_eq!(err.entry, "10.0.0.0/33");
        assert!(err.to_string().contains("`10.0.0.0/33`"));
        assert!(TrustedProxies::parse(["proxy.local"]).is_err());
        assert!(
            TrustedProxies::parse(Vec::<String>::new())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_ipv6_client_is_limited_by_its_64() {
        let limiter = RateLimiter::new(1, 0.001);
        assert!(limiter.take(ip("2001:db8:1:2::1")).is_ok());
        assert!(limiter.take(ip("2001:db8:1:2:ffff::9")).is_err());
        assert!(limiter.take(ip("2001:db8:1:3::1")).is_ok());
        assert!(limiter.take(ip("198.51.100.1")).is_ok());
        assert!(limiter.take(ip("198.51.100.2")).is_ok());
    }
}
