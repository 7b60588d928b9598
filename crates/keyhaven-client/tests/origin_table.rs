//! Origin / RP ID table: each row is (origin, requested RP ID, expected RP ID
//! or the DOMException name). Related origins (§5.11) come with the client.

use keyhaven_client::origin::Origin;

const OK: &str = "";

#[rustfmt::skip]
const TABLE: &[(&str, Option<&str>, &str, &str)] = &[
    // (origin, rpId, expected rpId or "", expected error name or "")
    ("https://example.org", None, "example.org", OK),
    ("https://example.org", Some("example.org"), "example.org", OK),
    ("https://login.example.org", Some("example.org"), "example.org", OK),
    ("https://a.b.c.example.org", Some("b.c.example.org"), "b.c.example.org", OK),
    ("https://example.org", Some("login.example.org"), "", "SecurityError"),
    ("https://example.org", Some("example.com"), "", "SecurityError"),
    ("https://notexample.org", Some("example.org"), "", "SecurityError"),
    ("https://example.org", Some("org"), "", "SecurityError"),
    ("https://example.org:8443", Some("example.org"), "example.org", OK),
    ("https://example.org:443", None, "example.org", OK),
    ("https://EXAMPLE.org", Some("Example.ORG"), "example.org", OK),
    // Public suffixes (ICANN and private sections).
    ("https://login.example.co.uk", Some("example.co.uk"), "example.co.uk", OK),
    ("https://login.example.co.uk", Some("co.uk"), "", "SecurityError"),
    ("https://example.co.uk", Some("uk"), "", "SecurityError"),
    ("https://alice.github.io", Some("alice.github.io"), "alice.github.io", OK),
    ("https://alice.github.io", Some("github.io"), "", "SecurityError"),
    ("https://www.alice.github.io", Some("alice.github.io"), "alice.github.io", OK),
    ("https://bob.github.io", Some("alice.github.io"), "", "SecurityError"),
    ("https://app.herokuapp.com", Some("herokuapp.com"), "", "SecurityError"),
    ("https://a.b.blogspot.com", Some("b.blogspot.com"), "b.blogspot.com", OK),
    ("https://shop.example.com.au", Some("example.com.au"), "example.com.au", OK),
    ("https://shop.example.com.au", Some("com.au"), "", "SecurityError"),
    // An unlisted TLD: the default rule makes the last label the public suffix.
    ("https://a.example.zz", Some("example.zz"), "example.zz", OK),
    ("https://a.example.zz", Some("zz"), "", "SecurityError"),
    // IP addresses are not valid domains.
    ("https://192.0.2.1", None, "", "SecurityError"),
    ("https://[2001:db8::1]", None, "", "SecurityError"),
    ("https://example.org", Some("192.0.2.1"), "", "SecurityError"),
    ("https://192.0.2.1", Some("0.2.1"), "", "SecurityError"),
    // http only for localhost.
    ("http://example.org", None, "", "SecurityError"),
    ("http://localhost", None, "localhost", OK),
    ("http://localhost:8080", Some("localhost"), "localhost", OK),
    ("https://localhost", Some("localhost"), "localhost", OK),
    ("http://app.localhost:3000", Some("app.localhost"), "app.localhost", OK),
    ("http://127.0.0.1:8080", None, "", "SecurityError"),
    // Not origins.
    ("ftp://example.org", None, "", "NotAllowedError"),
    ("https://example.org/path", None, "", "NotAllowedError"),
    ("https://example.org/", None, "", "NotAllowedError"),
    ("https://user@example.org", None, "", "NotAllowedError"),
    ("https://example.org?q=1", None, "", "NotAllowedError"),
    ("https://example.org#f", None, "", "NotAllowedError"),
    ("example.org", None, "", "NotAllowedError"),
    ("", None, "", "NotAllowedError"),
    ("null", None, "", "NotAllowedError"),
    ("data:text/html,hi", None, "", "NotAllowedError"),
    // Bad RP IDs.
    ("https://example.org", Some(""), "", "SecurityError"),
    ("https://example.org", Some("exa mple.org"), "", "SecurityError"),
    ("https://example.org", Some(".example.org"), "", "SecurityError"),
    ("https://example.org", Some("https://example.org"), "", "SecurityError"),
    // IDN: compared in punycode.
    ("https://bücher.example", Some("bücher.example"), "xn--bcher-kva.example", OK),
    ("https://shop.xn--bcher-kva.example", Some("bücher.example"), "xn--bcher-kva.example", OK),
    ("https://bücher.example", Some("xn--bcher-kva.example"), "xn--bcher-kva.example", OK),
    ("https://münchen.de", Some("xn--mnchen-3ya.de"), "xn--mnchen-3ya.de", OK),
];

#[test]
fn origin_and_rp_id_table() {
    assert!(TABLE.len() >= 40);
    for (origin, requested, want_id, want_err) in TABLE {
        let got = Origin::parse(origin).and_then(|o| o.rp_id(*requested));
        match got {
            Ok(id) => assert!(
                want_err.is_empty() && id == *want_id,
                "{origin} / {requested:?}: got RP ID {id:?}, want {want_id:?} {want_err}"
            ),
            Err(e) => assert_eq!(
                e.dom_exception_name(),
                *want_err,
                "{origin} / {requested:?}: {e}"
            ),
        }
    }
}

#[test]
fn origin_serialization_is_ascii_and_drops_default_ports() {
    assert_eq!(
        Origin::parse("https://bücher.example:443")
            .unwrap()
            .as_str(),
        "https://xn--bcher-kva.example"
    );
    assert_eq!(
        Origin::parse("https://example.org:8443").unwrap().as_str(),
        "https://example.org:8443"
    );
    let e = Origin::parse("http://example.org").unwrap_err();
    assert!(e.to_string().contains("secure context"), "{e}");
}

/// Related origins (L3 §5.11.1): (caller origin, document, accepted).
#[rustfmt::skip]
const RELATED: &[(&str, &str, bool)] = &[
    ("https://example.co.uk", r#"{"origins":["https://example.co.uk"]}"#, true),
    ("https://example.co.uk", r#"{"origins":["https://example.de","https://example.co.uk"]}"#, true),
    ("https://example.co.uk:8443", r#"{"origins":["https://example.co.uk"]}"#, false),
    ("https://www.example.co.uk", r#"{"origins":["https://example.co.uk"]}"#, false),
    ("https://example.co.uk", r#"{"origins":["http://example.co.uk"]}"#, false),
    // Five labels (a, b, c, d, e) fill the set; a sixth label is skipped …
    ("https://f.com", r#"{"origins":["https://a.com","https://b.com","https://c.com","https://d.com","https://e.com","https://f.com"]}"#, false),
    // … but more origins under a label already seen still count.
    ("https://www.a.de", r#"{"origins":["https://a.com","https://b.com","https://c.com","https://d.com","https://e.com","https://www.a.de"]}"#, true),
    // Entries that are not URLs, IP addresses and public suffixes are skipped.
    ("https://x.com", r#"{"origins":["not a url","https://192.0.2.1","https://co.uk","https://x.com"]}"#, true),
    ("https://x.com", r#"{"origins":"https://x.com"}"#, false),
    ("https://x.com", r#"{"origins":[1,"https://x.com"]}"#, false),
    ("https://x.com", r#"["https://x.com"]"#, false),
    ("https://x.com", "not json", false),
];

#[test]
fn related_origins_table() {
    use keyhaven_client::origin::related_origin_allowed;
    for (caller, doc, want) in RELATED {
        let o = Origin::parse(caller).unwrap();
        let got = related_origin_allowed(&o, doc, 5);
        assert_eq!(got.is_ok(), *want, "{caller} with {doc}: {got:?}");
    }
    assert!(TABLE.len() + RELATED.len() >= 60);
}
