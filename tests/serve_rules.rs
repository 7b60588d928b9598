//! `keyhaven serve`'s rules around the API: JSON bodies only, HSTS on https
//! origins, `--require-uv`, `/metrics` on its own address, and an access log
//! naming the client address and the user (never a secret).

mod support;
use support::serve::*;

use serde_json::json;
use std::process::Stdio;

#[test]
fn json_routes_refuse_other_content_types() {
    let s = serve(None, &[], None);
    let h = browser();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
    ] {
        let r = h
            .post(format!("{}/api/authentication/options", s.base))
            .header("Origin", &s.origin)
            .header("Content-Type", ct)
            .body("{}")
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 415, "{ct}");
    }
    // No Content-Type at all, with a body: refused too.
    let r = h
        .post(format!("{}/api/authentication/options", s.base))
        .header("Origin", &s.origin)
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    // JSON with parameters is JSON; a bodiless POST (logout) needs none.
    let r = h
        .post(format!("{}/api/authentication/options", s.base))
        .header("Origin", &s.origin)
        .header("Content-Type", "application/json; charset=utf-8")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = h
        .post(format!("{}/api/logout", s.base))
        .header("Origin", &s.origin)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[test]
fn hsts_only_on_https_origins() {
    let plain = serve(None, &[], None);
    let r = browser().get(format!("{}/", plain.base)).send().unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
    // Behind a TLS proxy: the origin is https.
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let s = serve_in(
        None,
        &["--origin", "https://login.example.org"],
        None,
        port,
        dir.path(),
        Stdio::inherit(),
        "warn",
    );
    for path in ["/", "/healthz", "/api/me"] {
        let r = browser().get(format!("{}{path}", s.base)).send().unwrap();
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

#[test]
fn require_uv_asks_for_and_checks_user_verification() {
    let s = serve(None, &["--require-uv"], None);
    let h = browser();
    let (st, reg) = post(
        &h,
        &s,
        "/api/registration/options",
        &json!({"username": "uvuser"}),
    );
    assert_eq!(st, 200);
    assert_eq!(
        reg["authenticatorSelection"]["userVerification"],
        "required"
    );
    let (_, auth) = post(&h, &s, "/api/authentication/options", &json!({}));
    assert_eq!(auth["userVerification"], "required");
    // The default stays "preferred".
    let d = serve(None, &[], None);
    let (_, auth) = post(&h, &d, "/api/authentication/options", &json!({}));
    assert_eq!(auth["userVerification"], "preferred");
    // A registration answered by an authenticator that verified the user passes.
    let mut c = authenticator();
    let (st, body) = register(&browser(), &s, &mut c, json!({"username": "uvuser2"}));
    assert_eq!(st, 200, "{body}");
}

#[test]
fn metrics_on_their_own_address() {
    let port = free_port();
    let metrics = free_port();
    let dir = tempfile::tempdir().unwrap();
    let s = serve_in(
        None,
        &["--metrics-listen", &format!("127.0.0.1:{metrics}")],
        None,
        port,
        dir.path(),
        Stdio::inherit(),
        "warn",
    );
    let h = browser();
    assert_eq!(
        h.get(format!("{}/metrics", s.base))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let r = h
        .get(format!("http://127.0.0.1:{metrics}/metrics"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().unwrap().contains("keyhaven_http_requests_total"));
    // Without the flag, /metrics is on the main address.
    let d = serve(None, &[], None);
    assert_eq!(
        h.get(format!("{}/metrics", d.base))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

#[test]
fn the_access_log_names_client_and_user() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let s = serve_in(
        None,
        &["--log-json"],
        None,
        port,
        dir.path(),
        Stdio::from(log),
        "info",
    );
    let h = browser();
    let mut c = authenticator();
    let user = format!("logged{port}");
    assert_eq!(register(&h, &s, &mut c, json!({"username": user})).0, 200);
    let a = assertion(&browser(), &s, &mut c, json!({"username": user}));
    let (st, _) = post(&browser(), &s, "/api/authentication/verify", &a);
    assert_eq!(st, 200);
    drop(s);
    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "request")
        .collect();
    let verify: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|v| {
            matches!(
                v["fields"]["route"].as_str(),
                Some("/api/registration/verify" | "/api/authentication/verify")
            )
        })
        .collect();
    assert_eq!(verify.len(), 2, "{text}");
    for v in verify {
        assert_eq!(v["fields"]["client"], "127.0.0.1", "{v}");
        assert_eq!(v["fields"]["user"], user.as_str(), "{v}");
    }
    // No secret: the session cookie's value never appears.
    assert!(!text.contains("kh_session="), "{text}");
}

#[test]
fn usernames_are_one_account_whatever_their_case_and_labels_refuse_invisible_characters() {
    let s = serve(None, &[], None);
    let h = browser();
    let mut c = authenticator();
    let base = format!("Case{}", s.base.len());
    let (st, body) = register(&h, &s, &mut c, json!({"username": base}));
    assert_eq!(st, 200, "{body}");
    let _ = post(&h, &s, "/api/logout", &json!({}));
    let other = browser();
    for variant in [base.to_lowercase(), base.to_uppercase()] {
        let (st, body) = post(
            &other,
            &s,
            "/api/registration/options",
            &json!({"username": variant}),
        );
        assert_eq!(st, 409, "{variant}: {body}");
    }
    // Signing in by any case names the one account; it is stored folded.
    let a = assertion(&other, &s, &mut c, json!({"username": base.to_uppercase()}));
    let (st, body) = post(&other, &s, "/api/authentication/verify", &a);
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["username"], base.to_lowercase());
    // Display and passkey names with a bidi override or a zero-width space: 400.
    for bad in ["evil\u{202e}gpj", "zero\u{200b}width"] {
        let (st, body) = post(
            &browser(),
            &s,
            "/api/registration/options",
            &json!({"username": format!("n{}", s.base.len()), "displayName": bad}),
        );
        assert_eq!(st, 400, "{bad:?}");
        assert!(
            body["error"].as_str().unwrap().contains("zero-width"),
            "{body}"
        );
    }
    let (_, me) = get(&other, &s, "/api/me");
    let id = me["credentials"][0]["id"].as_str().unwrap().to_owned();
    let r = other
        .patch(format!("{}/api/credentials/{id}", s.base))
        .header("Origin", &s.origin)
        .json(&json!({"name": "my\u{202e}key"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

/// The lengths of the allowCredentials IDs in authentication options for `username`.
fn shape(s: &Server, username: &str) -> Vec<usize> {
    let (st, o) = post(
        &browser(),
        s,
        "/api/authentication/options",
        &json!({"username": username}),
    );
    assert_eq!(st, 200, "{o}");
    o["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            keyhaven_proto::b64::decode(d["id"].as_str().unwrap())
                .unwrap()
                .len()
        })
        .collect()
}

#[test]
fn decoys_look_like_real_accounts_and_cost_the_same() {
    let s = serve(None, &["--no-rate-limit"], None);
    // Three accounts with 1, 2 and 3 passkeys.
    let mut real = Vec::new();
    for n in 1..=3 {
        let h = browser();
        let user = format!("shape{n}x{}", s.base.len());
        let mut c = authenticator();
        assert_eq!(register(&h, &s, &mut c, json!({"username": user})).0, 200);
        for _ in 1..n {
            let mut other = authenticator();
            assert_eq!(register(&h, &s, &mut other, json!({})).0, 200);
        }
        let sh = shape(&s, &user);
        assert_eq!(sh.len(), n);
        real.push(sh);
    }
    // Unknown usernames: a real account's shape, the same on every call, and
    // not always the same one.
    let mut counts = std::collections::BTreeSet::new();
    for i in 0..40 {
        let name = format!("nobody{i}");
        let a = shape(&s, &name);
        assert_eq!(shape(&s, &name), a, "{name}: a stable decoy");
        assert!(real.contains(&a), "{name}: {a:?} is not one of {real:?}");
        counts.insert(a.len());
    }
    assert_eq!(
        counts.len(),
        3,
        "decoys take every account's shape: {counts:?}"
    );
    // The same work: medians of 150 calls each, known and unknown, interleaved.
    let h = browser();
    let time = |name: &str| {
        let t = std::time::Instant::now();
        let (st, _) = post(
            &h,
            &s,
            "/api/authentication/options",
            &json!({"username": name}),
        );
        assert_eq!(st, 200);
        t.elapsed()
    };
    let known = format!("shape2x{}", s.base.len());
    let (mut k, mut u) = (Vec::new(), Vec::new());
    for i in 0..150 {
        k.push(time(&known));
        u.push(time(&format!("ghost{i}")));
    }
    k.sort();
    u.sort();
    let (mk, mu) = (k[75].as_secs_f64(), u[75].as_secs_f64());
    let ratio = mu / mk;
    assert!(
        (0.5..2.0).contains(&ratio),
        "median unknown {mu:.6} s against known {mk:.6} s"
    );
}

#[test]
fn session_cookie_rules() {
    // http://localhost: kh_session; two of them are refused.
    let s = serve(None, &[], None);
    let h = browser();
    let mut c = authenticator();
    let user = format!("cookie{}", s.base.len());
    assert_eq!(register(&h, &s, &mut c, json!({"username": user})).0, 200);
    let (st, _) = get(&h, &s, "/api/me");
    assert_eq!(st, 200);
    let raw = Http::new();
    let r = raw
        .get(format!("{}/api/me", s.base))
        .header("Cookie", "kh_session=AAAA; kh_session=BBBB")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // Logged in, registration options naming another username: 409.
    let (st, body) = post(
        &h,
        &s,
        "/api/registration/options",
        &json!({"username": "someone-else"}),
    );
    assert_eq!(st, 409, "{body}");
    // Naming oneself (any case) is adding a passkey.
    let (st, _) = post(
        &h,
        &s,
        "/api/registration/options",
        &json!({"username": user.to_uppercase()}),
    );
    assert_eq!(st, 200);

    // An add-passkey ceremony started in a session completes only while it lives.
    let mut second = authenticator();
    let cred = credential(&h, &s, &mut second, json!({}));
    let _ = post(&h, &s, "/api/logout", &json!({}));
    let (st, body) = post(&h, &s, "/api/registration/verify", &cred);
    assert_eq!(st, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("session"),
        "{body}"
    );

    // https origins: __Host-kh_session, Secure, Path=/, no Domain; a plain
    // kh_session (settable from a sibling subdomain) is not a session there.
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let origin = "https://login.example.org";
    let s = serve_in(
        None,
        &["--rp-id", "login.example.org", "--origin", origin],
        None,
        port,
        dir.path(),
        Stdio::inherit(),
        "warn",
    );
    let h = Http::new();
    let (st, options) = {
        let r = h
            .post(format!("{}/api/registration/options", s.base))
            .header("Origin", origin)
            .json(&json!({"username": "hostcookie"}))
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<serde_json::Value>().unwrap())
    };
    assert_eq!(st, 200, "{options}");
    let options = keyhaven_client::parse_creation_options_from_json(&options.to_string()).unwrap();
    let cred = authenticator()
        .create(&keyhaven_client::CallOptions::new(origin), &options)
        .unwrap();
    let r = h
        .post(format!("{}/api/registration/verify", s.base))
        .header("Origin", origin)
        .header("Content-Type", "application/json")
        .body(cred.to_json_string())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.starts_with("__Host-kh_session="), "{set}");
    assert!(
        set.contains("Secure") && set.contains("Path=/") && !set.contains("Domain"),
        "{set}"
    );
    let value = set
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let me = |cookie: String| {
        h.get(format!("{}/api/me", s.base))
            .header("Cookie", cookie)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(me(format!("__Host-kh_session={value}")), 200);
    assert_eq!(me(format!("kh_session={value}")), 401);
    assert_eq!(
        me(format!(
            "__Host-kh_session={value}; __Host-kh_session={value}"
        )),
        400
    );
}

/// `--algorithm` decides what registration options offer: with `-49` an
/// ML-DSA-65 credential registers and signs in end to end; a key agreement
/// algorithm or an unknown one is refused at startup (one line, exit 2).
#[test]
fn algorithm_flag_offers_ml_dsa() {
    let s = serve(None, &["--algorithm", "-49"], None);
    let h = browser();
    let (st, options) = post(
        &h,
        &s,
        "/api/registration/options",
        &json!({"username": "quantum"}),
    );
    assert_eq!(st, 200, "{options}");
    assert_eq!(
        options["pubKeyCredParams"],
        json!([{"type": "public-key", "alg": -49}])
    );
    let mut key = authenticator();
    let cred = credential(&h, &s, &mut key, json!({"username": "quantum"}));
    assert_eq!(cred["response"]["publicKeyAlgorithm"], -49);
    let (st, v) = post(&h, &s, "/api/registration/verify", &cred);
    assert_eq!((st, &v["verified"]), (200, &json!(true)), "{v}");
    assert_eq!(post(&h, &s, "/api/logout", &json!({})).0, 200);
    let a = assertion(&h, &s, &mut key, json!({"username": "quantum"}));
    let sig = keyhaven_proto::b64::decode(a["response"]["signature"].as_str().unwrap()).unwrap();
    assert_eq!(sig.len(), 3309, "an ML-DSA-65 signature");
    let (st, v) = post(&h, &s, "/api/authentication/verify", &a);
    assert_eq!((st, &v["username"]), (200, &json!("quantum")), "{v}");

    // Names work too, in order; a key agreement algorithm does not.
    let s2 = serve(
        None,
        &["--algorithm", "ML-DSA-87", "--algorithm", "-7"],
        None,
    );
    let (_, options) = post(
        &browser(),
        &s2,
        "/api/registration/options",
        &json!({"username": "q"}),
    );
    assert_eq!(
        options["pubKeyCredParams"],
        json!([{"type": "public-key", "alg": -50}, {"type": "public-key", "alg": -7}])
    );
    for bad in ["-25", "-999", "ML-KEM"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyhaven"))
            .args(["serve", "--algorithm", bad])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--algorithm"), "{bad}: {err}");
    }
}
