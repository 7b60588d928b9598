//! The rules around the API: rate limits (GCRA buckets from `governor`, per
//! client address, per account and address, and for account creation), the
//! client's address behind trusted proxies, the CSRF check of the `Origin`
//! header, security headers, and the counters behind `/metrics`.

use axum::http::{HeaderMap, HeaderValue};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Rate limits: buckets of `*_burst` requests refilled at the sustained rate.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Off entirely (load tests on loopback).
    pub disabled: bool,
    /// Ceremony requests per client address (IPv6: per /64): burst.
    pub ip_burst: u32,
    /// Ceremony requests per client address: refill per minute.
    pub ip_per_minute: u32,
    /// Sign-in attempts on one account from one client address: burst. Only
    /// an authentication/verify with a credential of that account is charged,
    /// so nobody can spend another address's attempts (no targeted lockout).
    pub user_burst: u32,
    /// Per account and address: refill per minute.
    pub user_per_minute: u32,
    /// New accounts per client address: burst.
    pub signup_burst: u32,
    /// New accounts per client address: refill per hour.
    pub signup_per_hour: u32,
}

impl Default for Limits {
    /// 120 at once and 600 a minute per address (a burst of 60 calls in 10 s
    /// passes); 30 at once and 30 a minute per account and address; 20 new
    /// accounts at once and 60 an hour per address.
    fn default() -> Self {
        Limits {
            disabled: false,
            ip_burst: 120,
            ip_per_minute: 600,
            user_burst: 30,
            user_per_minute: 30,
            signup_burst: 20,
            signup_per_hour: 60,
        }
    }
}

/// A client address as the limits see it: IPv4 addresses whole, IPv6 ones by
/// their /64 (one subscriber's usual allocation), IPv4-mapped IPv6 as IPv4.
pub fn address_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn quota(burst: u32, per: Duration, n: u32) -> Quota {
    let n = n.max(1);
    let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
    Quota::with_period(per / n)
        .expect("a non-zero period")
        .allow_burst(burst)
}

/// The rate limiters. Limits are per node: they slow brute force down and
/// need not be exact, so they live in memory; [`Limiter::forget_idle`] drops
/// buckets that are full again, so memory follows the active clients.
pub struct Limiter {
    disabled: bool,
    ip: DefaultKeyedRateLimiter<IpAddr>,
    user: DefaultKeyedRateLimiter<(i64, IpAddr)>,
    signup: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limiter {
    /// Limiter with these limits.
    pub fn new(limits: Limits) -> Self {
        let minute = Duration::from_secs(60);
        Limiter {
            disabled: limits.disabled,
            ip: RateLimiter::keyed(quota(limits.ip_burst, minute, limits.ip_per_minute)),
            user: RateLimiter::keyed(quota(limits.user_burst, minute, limits.user_per_minute)),
            signup: RateLimiter::keyed(quota(
                limits.signup_burst,
                Duration::from_secs(3600),
                limits.signup_per_hour,
            )),
        }
    }

    /// One ceremony request from the client address `ip`.
    pub fn ip(&self, ip: IpAddr) -> bool {
        self.disabled || self.ip.check_key(&address_group(ip)).is_ok()
    }

    /// One sign-in attempt on account `user_id` from `ip`.
    pub fn sign_in(&self, user_id: i64, ip: IpAddr) -> bool {
        self.disabled || self.user.check_key(&(user_id, address_group(ip))).is_ok()
    }

    /// One new account from `ip`.
    pub fn signup(&self, ip: IpAddr) -> bool {
        self.disabled || self.signup.check_key(&address_group(ip)).is_ok()
    }

    /// Forgets buckets that have refilled (run now and then).
    pub fn forget_idle(&self) {
        self.ip.retain_recent();
        self.user.retain_recent();
        self.signup.retain_recent();
        self.ip.shrink_to_fit();
        self.user.shrink_to_fit();
        self.signup.shrink_to_fit();
    }

    /// Buckets held (for tests and /metrics).
    pub fn buckets(&self) -> usize {
        self.ip.len() + self.user.len() + self.signup.len()
    }
}

/// The client's address: the TCP peer, unless the peer is one of the
/// `trusted` proxies; then the nearest address in its `Forwarded` (RFC 7239)
/// or, without one, `X-Forwarded-For` header that is not itself a trusted
/// proxy (read right to left: entries further left are the client's word).
/// A malformed header from a trusted proxy: the proxy's own address.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let chain = forwarded_chain(headers);
    let Some(chain) = chain else {
        return peer;
    };
    let mut client = peer;
    for hop in chain.iter().rev() {
        client = *hop;
        if !is_trusted(hop) {
            break;
        }
    }
    client
}

/// The addresses a request passed through, client first, from `Forwarded`
/// (its `for=` parameters) or `X-Forwarded-For`; `None` when absent or when
/// any element is not an IP address (an obfuscated or unknown node).
fn forwarded_chain(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let joined = |name: &str| -> Option<String> {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().ok())
            .collect::<Option<_>>()?;
        (!values.is_empty()).then(|| values.join(","))
    };
    if let Some(fwd) = joined("forwarded") {
        let mut out = Vec::new();
        for element in fwd.split(',') {
            let for_ = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
            })?;
            out.push(parse_node(for_)?);
        }
        return (!out.is_empty()).then_some(out);
    }
    let xff = joined("x-forwarded-for")?;
    xff.split(',')
        .map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Option<Vec<_>>>()
        .filter(|v| !v.is_empty())
}

/// A `Forwarded` node: `192.0.2.1`, `"192.0.2.1:4711"`, `"[2001:db8::1]:4711"`.
fn parse_node(v: &str) -> Option<IpAddr> {
    let v = v.trim_matches('"');
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let host = match v.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => v,
    };
    host.parse().ok()
}

/// CSRF: a state-changing request must carry an `Origin` header naming one
/// of the allowed origins.
pub fn origin_allowed(headers: &HeaderMap, origins: &[String]) -> bool {
    headers
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| origins.iter().any(|a| a == o))
}

/// The security headers every answer carries.
pub fn security_headers(h: &mut HeaderMap, api: bool) {
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    // A route's own, stricter policy (provider icons) stays.
    if !h.contains_key("content-security-policy") {
        set(
            h,
            "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        );
    }
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-frame-options", "DENY");
    set(h, "cross-origin-opener-policy", "same-origin");
    if api {
        set(h, "cache-control", "no-store");
    }
}

/// Latency buckets of the verify endpoints, in seconds.
pub const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// Counters for `/metrics` (Prometheus text format).
#[derive(Default)]
pub struct Metrics {
    /// route → status → count (sorted, as /metrics lists them).
    requests: Mutex<std::collections::BTreeMap<String, std::collections::BTreeMap<u16, u64>>>,
    /// Successful registrations.
    pub registrations: AtomicU64,
    /// Successful logins.
    pub logins: AtomicU64,
    /// Refused ceremonies.
    pub refused: AtomicU64,
    /// Rate-limited requests.
    pub limited: AtomicU64,
    verify_buckets: [AtomicU64; 10],
    verify_count: AtomicU64,
    verify_sum_us: AtomicU64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            // The route's name is allocated once, on its first request.
            let by_status = match m.get_mut(route) {
                Some(v) => v,
                None => m.entry(route.to_owned()).or_default(),
            };
            *by_status.entry(status).or_default() += 1;
        }
    }

    /// Records a verify endpoint's latency.
    pub fn verify_latency(&self, seconds: f64) {
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.verify_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.verify_count.fetch_add(1, Ordering::Relaxed);
        self.verify_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The Prometheus exposition.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        s.push_str("# HELP keyhaven_http_requests_total HTTP requests answered.\n# TYPE keyhaven_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for (route, by_status) in m.iter() {
                for (status, n) in by_status {
                    let _ = writeln!(
                        s,
                        "keyhaven_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                    );
                }
            }
        }
        for (name, help, v) in [
            (
                "keyhaven_registrations_total",
                "Verified registrations.",
                &self.registrations,
            ),
            ("keyhaven_logins_total", "Verified logins.", &self.logins),
            (
                "keyhaven_ceremonies_refused_total",
                "Refused ceremonies.",
                &self.refused,
            ),
            (
                "keyhaven_rate_limited_total",
                "Requests refused by rate limits.",
                &self.limited,
            ),
        ] {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        s.push_str("# HELP keyhaven_verify_seconds Latency of the verify endpoints.\n# TYPE keyhaven_verify_seconds histogram\n");
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "keyhaven_verify_seconds_bucket{{le=\"{le}\"}} {}",
                self.verify_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.verify_count.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "keyhaven_verify_seconds_bucket{{le=\"+Inf\"}} {count}\nkeyhaven_verify_seconds_sum {}\nkeyhaven_verify_seconds_count {count}",
            self.verify_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn ipv6_is_grouped_by_its_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(
            address_group(ip("2001:db8:1:2:3:4:5:6")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            address_group(ip("2001:db8:1:2::ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(address_group(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(address_group(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(address_group(ip("192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.4")]);
        // From an untrusted peer the header is the client's own word: ignored.
        assert_eq!(
            client_address(ip("192.0.2.1"), &xff, &trusted),
            ip("192.0.2.1")
        );
        assert_eq!(client_address(ip("10.1.1.1"), &xff, &[]), ip("10.1.1.1"));
        // From a trusted proxy: the nearest untrusted hop, not the leftmost
        // entry (which the client may have written itself).
        assert_eq!(
            client_address(ip("10.1.1.1"), &xff, &trusted),
            ip("198.51.100.4")
        );
        let chain = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.4, 10.2.2.2")]);
        assert_eq!(
            client_address(ip("10.1.1.1"), &chain, &trusted),
            ip("198.51.100.4")
        );
        // Several header lines are one list, in order.
        let lines = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-for", "198.51.100.5"),
        ]);
        assert_eq!(
            client_address(ip("10.1.1.1"), &lines, &trusted),
            ip("198.51.100.5")
        );
        // Forwarded (RFC 7239) wins over X-Forwarded-For; quoted, ports, IPv6.
        let fwd = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=https, for=\"[2001:db8::17]:4711\"",
            ),
            ("x-forwarded-for", "198.51.100.4"),
        ]);
        assert_eq!(
            client_address(ip("10.1.1.1"), &fwd, &trusted),
            ip("2001:db8::17")
        );
        let port = headers(&[("forwarded", "For=\"192.0.2.43:47011\"")]);
        assert_eq!(
            client_address(ip("10.1.1.1"), &port, &trusted),
            ip("192.0.2.43")
        );
        // All hops trusted: the leftmost. Malformed or obfuscated: the proxy.
        let inner = headers(&[("x-forwarded-for", "10.9.9.9")]);
        assert_eq!(
            client_address(ip("10.1.1.1"), &inner, &trusted),
            ip("10.9.9.9")
        );
        for bad in [
            headers(&[("x-forwarded-for", "203.0.113.9, nonsense")]),
            headers(&[("forwarded", "for=_hidden")]),
            headers(&[("forwarded", "proto=https")]),
            headers(&[("x-forwarded-for", "")]),
        ] {
            assert_eq!(
                client_address(ip("10.1.1.1"), &bad, &trusted),
                ip("10.1.1.1")
            );
        }
    }

    #[test]
    fn buckets_are_per_address_group_and_per_account_and_address() {
        let l = Limiter::new(Limits {
            ip_burst: 3,
            ip_per_minute: 1,
            user_burst: 2,
            user_per_minute: 1,
            signup_burst: 1,
            signup_per_hour: 1,
            ..Limits::default()
        });
        let a = ip("2001:db8:0:1::1");
        assert_eq!((0..5).filter(|_| l.ip(a)).count(), 3);
        // The same /64: the same bucket. Another /64 or an IPv4 client: its own.
        assert!(!l.ip(ip("2001:db8:0:1::2")));
        assert!(l.ip(ip("2001:db8:0:2::1")));
        assert!(l.ip(ip("192.0.2.1")));
        // Sign-in attempts: per account and address.
        assert_eq!((0..4).filter(|_| l.sign_in(7, a)).count(), 2);
        assert!(
            l.sign_in(7, ip("192.0.2.1")),
            "the owner elsewhere is not locked out"
        );
        assert!(l.sign_in(8, a), "another account from the same address");
        // New accounts.
        assert!(l.signup(a));
        assert!(!l.signup(a));
        assert!(l.signup(ip("192.0.2.1")));
        assert_eq!(l.buckets(), 3 + 3 + 2);
        let off = Limiter::new(Limits {
            disabled: true,
            ip_burst: 1,
            ..Limits::default()
        });
        assert!((0..10).all(|_| off.ip(a) && off.sign_in(1, a) && off.signup(a)));
    }
}
