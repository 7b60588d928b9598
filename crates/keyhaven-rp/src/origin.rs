//! Origin validation (L3 §13.4.9 "Validating the origin of a credential").
//!
//! Origins are compared as opaque strings against the allow-list. Optional
//! rules relax this for https origins only: any subdomain of the RP ID (on a
//! dot boundary: `evil-example.org` never matches `example.org`) and any port.

use crate::config::OriginRules;

/// The host (a domain name) and port of an https origin in its serialized
/// form (WHATWG URL parsing, through `url`: what a browser puts in
/// clientDataJSON); None for anything else: another scheme, an IP literal,
/// credentials, a path, a query, a fragment, or a non-serialized spelling
/// (upper case, the default port, a trailing colon or slash).
fn split_https(origin: &str) -> Option<(String, Option<u16>)> {
    let u = url::Url::parse(origin).ok()?;
    if u.scheme() != "https" || u.origin().ascii_serialization() != origin {
        return None;
    }
    match u.host()? {
        url::Host::Domain(d) => Some((d.to_owned(), u.port())),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => None,
    }
}

/// Whether `origin` is acceptable.
pub fn origin_allowed(origin: &str, allowed: &[String], rp_id: &str, rules: OriginRules) -> bool {
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let Some((host, port)) = split_https(origin) else {
        return false;
    };
    if rules.allow_any_port {
        for a in allowed {
            if let Some((ah, _)) = split_https(a) {
                if ah == host {
                    return true;
                }
            }
        }
    }
    if rules.allow_subdomains {
        let rp = rp_id.to_ascii_lowercase();
        let same_port_ok = rules.allow_any_port || port.is_none();
        if same_port_ok && (host == rp || host.ends_with(&format!(".{rp}"))) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_and_rules() {
        let allowed = list(&["https://example.org", "android:apk-key-hash:abc"]);
        let none = OriginRules::default();
        assert!(origin_allowed(
            "https://example.org",
            &allowed,
            "example.org",
            none
        ));
        assert!(origin_allowed(
            "android:apk-key-hash:abc",
            &allowed,
            "example.org",
            none
        ));
        assert!(!origin_allowed(
            "https://example.org:8443",
            &allowed,
            "example.org",
            none
        ));
        assert!(!origin_allowed(
            "https://login.example.org",
            &allowed,
            "example.org",
            none
        ));
        assert!(!origin_allowed(
            "http://example.org",
            &allowed,
            "example.org",
            none
        ));
        let sub = OriginRules {
            allow_subdomains: true,
            allow_any_port: false,
        };
        assert!(origin_allowed(
            "https://login.example.org",
            &allowed,
            "example.org",
            sub
        ));
        assert!(!origin_allowed(
            "https://evil-example.org",
            &allowed,
            "example.org",
            sub
        ));
        assert!(!origin_allowed(
            "https://example.org.evil.com",
            &allowed,
            "example.org",
            sub
        ));
        assert!(!origin_allowed(
            "http://login.example.org",
            &allowed,
            "example.org",
            sub
        ));
        assert!(!origin_allowed(
            "https://login.example.org:444",
            &allowed,
            "example.org",
            sub
        ));
        let port = OriginRules {
            allow_subdomains: false,
            allow_any_port: true,
        };
        assert!(origin_allowed(
            "https://example.org:8443",
            &allowed,
            "example.org",
            port
        ));
        assert!(!origin_allowed(
            "https://example.org:8443/path",
            &allowed,
            "example.org",
            port
        ));
        assert!(!origin_allowed(
            "https://user@example.org",
            &allowed,
            "example.org",
            port
        ));
        // Parsed as WHATWG URLs, and only in their serialized form: no path,
        // query, fragment or IP literal, lower case, no default port.
        let both = OriginRules {
            allow_subdomains: true,
            allow_any_port: false,
        };
        for refused in [
            "https://login.example.org/",
            "https://login.example.org?x",
            "https://login.example.org#x",
            "https://127.0.0.1",
            "https://[::1]",
            "https://login.example.org:",
            "https://",
            "https://LOGIN.Example.org",
            "https://login.example.org:443",
        ] {
            assert!(
                !origin_allowed(refused, &allowed, "example.org", both),
                "{refused}"
            );
        }
        assert!(origin_allowed(
            "https://login.example.org",
            &allowed,
            "example.org",
            both
        ));
    }
}
