//! The rules around the API: rate limits (token buckets per client address
//! and per username), the CSRF check of the `Origin` header, security
//! headers, and the counters behind `/metrics`.

use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Rate limits: a bucket of `burst` requests refilled at `per_minute` a minute.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Off entirely (load tests on loopback).
    pub disabled: bool,
    /// Ceremony requests per client address: burst.
    pub ip_burst: u32,
    /// Ceremony requests per client address: refill per minute.
    pub ip_per_minute: u32,
    /// Options and verify requests per username: burst.
    pub user_burst: u32,
    /// Per username: refill per minute.
    pub user_per_minute: u32,
}

impl Default for Limits {
    /// 120 at once and 600 a minute per address (a burst of 60 calls in 10 s
    /// passes); 30 at once and 30 a minute per username.
    fn default() -> Self {
        Limits {
            disabled: false,
            ip_burst: 120,
            ip_per_minute: 600,
            user_burst: 30,
            user_per_minute: 30,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets. Limits are per node: they slow brute force down and need
/// not be exact, so they live in memory.
pub struct Limiter {
    limits: Limits,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    /// Limiter with these limits.
    pub fn new(limits: Limits) -> Self {
        Limiter {
            limits,
            buckets: Mutex::default(),
        }
    }

    fn take(&self, key: String, burst: u32, per_minute: u32) -> bool {
        if self.limits.disabled {
            return true;
        }
        let now = Instant::now();
        let Ok(mut b) = self.buckets.lock() else {
            return true;
        };
        if b.len() > 100_000 {
            // Forget full buckets so memory stays bounded.
            b.retain(|_, v| {
                v.tokens + now.duration_since(v.at).as_secs_f64() * f64::from(per_minute) / 60.0
                    < f64::from(burst)
            });
        }
        let e = b.entry(key).or_insert(Bucket {
            tokens: f64::from(burst),
            at: now,
        });
        let refill = now.duration_since(e.at).as_secs_f64() * f64::from(per_minute) / 60.0;
        e.tokens = (e.tokens + refill).min(f64::from(burst));
        e.at = now;
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// One ceremony request from `ip`.
    pub fn ip(&self, ip: std::net::IpAddr) -> bool {
        self.take(
            format!("ip:{ip}"),
            self.limits.ip_burst,
            self.limits.ip_per_minute,
        )
    }

    /// One request naming `username`.
    pub fn user(&self, username: &str) -> bool {
        self.take(
            format!("user:{username}"),
            self.limits.user_burst,
            self.limits.user_per_minute,
        )
    }
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
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
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
