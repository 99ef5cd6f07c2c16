//! Rate limits on the doors a guesser knocks on (issue 20 item 6): sign-in (`/auth/*`) and
//! the REST API (`/api/*`), keyed by the client's address. A token or a sign-in link is
//! random enough that guessing is hopeless; the limit keeps a guesser (or a runaway
//! pipeline) from costing the store one lookup per request without end.
//!
//! The limiter is `governor`'s keyed GCRA, a maintained crate; the key is ours because only
//! we know which proxies to believe: `X-Forwarded-For` is read only when the connection
//! comes from a configured proxy (`MAILVEND_TRUSTED_PROXIES`), and then only as far back as
//! the proxies are trusted, so a client cannot name its own address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;

use crate::config::Config;

pub struct Limiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    trusted: Vec<IpNet>,
}

impl Limiter {
    pub fn new(config: &Config) -> Limiter {
        let per_minute = NonZeroU32::new(config.rate_limit).unwrap_or(NonZeroU32::MIN);
        Limiter {
            limiter: governor::RateLimiter::keyed(Quota::per_minute(per_minute)),
            trusted: config.trusted_proxies.clone(),
        }
    }

    /// `Err(seconds)` to wait when `client` has spent its allowance.
    fn check(&self, client: IpAddr) -> Result<(), u64> {
        self.limiter.check_key(&client).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

/// The client's address: the connection's peer, or, when the peer is a trusted proxy, the
/// address that proxy saw, read from the right of `X-Forwarded-For` past every trusted hop.
/// An entry that is not an address ends the walk at the last hop believed.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    // On a dual-stack listener IPv4 peers arrive as ::ffff:a.b.c.d; compare and key them as
    // the IPv4 addresses they are.
    let peer = peer.to_canonical();
    let believed = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !believed(&peer) {
        return peer;
    }
    // Several headers count as one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) => {
                client = ip;
                if !believed(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// What one allowance is kept under: an IPv4 address, or an IPv6 /64 (one host usually holds
/// a whole /64, so keying by address would give it 2^64 allowances).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// Forgets clients whose allowance is whole again, so rotating addresses cannot grow the
/// table without end; run every minute beside the server.
pub async fn forget_idle(limiter: Arc<Limiter>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        limiter.limiter.retain_recent();
        limiter.limiter.shrink_to_fit();
    }
}

/// Answers 429 with `Retry-After` once a client has spent its allowance on `/auth/*`,
/// `/api/*` or `/export/*`; every other path passes untouched (`/sns` has its own checks, pages need a
/// session whose id cannot be guessed).
pub async fn rate_limit(
    State(limiter): State<Arc<Limiter>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !["/auth/", "/api/", "/export/"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let client = client_ip(peer, req.headers(), &limiter.trusted);
    match limiter.check(key(client)) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            tracing::warn!(%client, path, "rate limited");
            // The REST API's error shape (`web::api::error`), which sign-in's callers can read too.
            let body = serde_json::json!({"error": {
                "code": "rate_limited",
                "message": format!("too many requests from {client}; try again in {wait} s"),
            }});
            let mut res = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_client_address_is_believed_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/16".parse().unwrap()];
        let alb = ip("10.0.3.7");
        for (peer, headers, want, why) in [
            (
                "203.0.113.9",
                vec!["1.2.3.4"],
                "203.0.113.9",
                "a client names itself: ignored",
            ),
            ("10.0.3.7", vec![], "10.0.3.7", "a proxy without the header"),
            (
                "10.0.3.7",
                vec!["198.51.100.20"],
                "198.51.100.20",
                "the proxy's client",
            ),
            (
                "10.0.3.7",
                vec!["1.2.3.4, 198.51.100.20"],
                "198.51.100.20",
                "a spoofed entry left of the real one is not reached",
            ),
            (
                "10.0.3.7",
                vec!["1.2.3.4", "198.51.100.20, 10.0.9.9"],
                "198.51.100.20",
                "two headers are one list; a second trusted hop is walked past",
            ),
            (
                "10.0.3.7",
                vec!["198.51.100.20, not-an-ip"],
                "10.0.3.7",
                "garbage ends the walk at the last believed hop",
            ),
            ("10.0.3.7", vec!["2001:db8::1"], "2001:db8::1", "IPv6"),
            (
                "::ffff:10.0.3.7",
                vec!["::ffff:198.51.100.20"],
                "198.51.100.20",
                "IPv4 on a dual-stack listener is IPv4",
            ),
            (
                "::ffff:203.0.113.9",
                vec![],
                "203.0.113.9",
                "an IPv4 client is not keyed as the IPv6 /64 ::",
            ),
        ] {
            let got = client_ip(ip(peer), &xff(&headers), &proxies);
            assert_eq!(got, ip(want), "{why}");
        }
        // Nobody trusted: the header means nothing, even from the load balancer.
        assert_eq!(client_ip(alb, &xff(&["198.51.100.20"]), &[]), alb);
    }

    #[test]
    fn an_ipv6_host_gets_one_allowance_for_its_whole_64() {
        assert_eq!(
            key(ip("2001:db8:1:2:aaaa::1")),
            key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(key(ip("2001:db8:1:2::1")), key(ip("2001:db8:1:3::1")));
        assert_eq!(key(ip("192.0.2.7")), ip("192.0.2.7"));
    }
}
