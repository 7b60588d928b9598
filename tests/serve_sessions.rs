//! `keyhaven serve`'s sessions: adding or deleting a passkey needs a recent
//! user-verifying ceremony (and the page's reauthentication gets one);
//! deleting a passkey ends the sessions it opened; an account lists its
//! sessions and ends them; a sign-in rotates the browser's session.

mod support;
use support::serve::*;

use serde_json::{json, Value};
use std::time::Duration;

/// A browser whose User-Agent is `ua`.
fn browser_as(ua: &str) -> Http {
    Http::builder()
        .cookie_store(true)
        .user_agent(ua)
        .build()
        .unwrap()
}

fn sessions(h: &Http, s: &Server) -> Vec<Value> {
    let (st, v) = get(h, s, "/api/sessions");
    assert_eq!(st, 200, "{v}");
    v["sessions"].as_array().unwrap().clone()
}

fn current(list: &[Value]) -> &Value {
    let mine: Vec<_> = list.iter().filter(|x| x["current"] == true).collect();
    assert_eq!(mine.len(), 1, "{list:?}");
    mine[0]
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

#[test]
fn sensitive_changes_need_a_fresh_verification_and_sessions_end_with_their_passkey() {
    let window = 2;
    let s = serve(None, &["--reauth-window", &window.to_string()], None);
    let laptop = browser_as(FIREFOX);
    let mut key1 = authenticator();
    let (st, v) = register(&laptop, &s, &mut key1, json!({"username": "alice"}));
    assert_eq!(st, 200, "{v}");
    let first = v["credentialId"].as_str().unwrap().to_owned();

    // One session: this browser's, opened by the first passkey, user verified.
    let list = sessions(&laptop, &s);
    assert_eq!(list.len(), 1, "{list:?}");
    let mine = current(&list);
    assert_eq!(mine["device"], "Firefox on Linux");
    assert_eq!(mine["userAgent"], FIREFOX);
    assert_eq!(mine["credentialId"], first.as_str());
    assert!(mine["verifiedAt"].is_string(), "{mine}");
    let laptop_session = mine["id"].as_str().unwrap().to_owned();

    // Fresh: a second passkey is added; that opens no new session.
    let mut key2 = authenticator();
    let (st, v) = register(&laptop, &s, &mut key2, json!({}));
    assert_eq!(st, 200, "{v}");
    let second = v["credentialId"].as_str().unwrap().to_owned();
    let list = sessions(&laptop, &s);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(current(&list)["id"], laptop_session.as_str());

    // A phone signs in with the second passkey: two sessions.
    let phone = browser_as(PHONE);
    let a = assertion(&phone, &s, &mut key2, json!({}));
    assert_eq!(post(&phone, &s, "/api/authentication/verify", &a).0, 200);
    let list = sessions(&laptop, &s);
    assert_eq!(list.len(), 2, "{list:?}");
    let phone_entry = list.iter().find(|x| x["current"] == false).unwrap();
    assert_eq!(phone_entry["device"], "Chrome on Android");
    assert_eq!(phone_entry["credentialId"], second.as_str());

    // Past the window: deleting a passkey or adding one asks to verify again.
    std::thread::sleep(Duration::from_millis(window * 1000 + 500));
    let (st, v) = delete(&laptop, &s, &format!("/api/credentials/{second}"));
    assert_eq!((st, &v["reauthenticate"]), (403, &json!(true)), "{v}");
    let (st, v) = post(&laptop, &s, "/api/registration/options", &json!({}));
    assert_eq!((st, &v["reauthenticate"]), (403, &json!(true)), "{v}");
    assert_eq!(get(&phone, &s, "/api/me").0, 200, "nothing was deleted");

    // Reauthentication: options for this account's passkeys, UV required;
    // not offered to someone signed out.
    assert_eq!(
        post(
            &browser(),
            &s,
            "/api/authentication/options",
            &json!({"reauthenticate": true})
        )
        .0,
        401
    );
    let (st, options) = post(
        &laptop,
        &s,
        "/api/authentication/options",
        &json!({"reauthenticate": true}),
    );
    assert_eq!(st, 200, "{options}");
    assert_eq!(options["userVerification"], "required");
    assert_eq!(options["allowCredentials"].as_array().unwrap().len(), 2);
    // An answer without user verification does not pass, even when the
    // client was talked into not asking for it.
    let mut relaxed = options.clone();
    relaxed["userVerification"] = json!("discouraged");
    let parsed = keyhaven_client::parse_request_options_from_json(&relaxed.to_string()).unwrap();
    let cred = key1
        .get(&keyhaven_client::CallOptions::new(&s.origin), &parsed)
        .unwrap();
    let unverified: Value = serde_json::from_str(&cred.to_json_string()).unwrap();
    let (st, v) = post(&laptop, &s, "/api/authentication/verify", &unverified);
    assert_eq!((st, &v["verified"]), (400, &json!(false)), "{v}");
    assert!(v["error"].as_str().unwrap().contains("UV"), "{v}");
    let (st, v) = delete(&laptop, &s, &format!("/api/credentials/{second}"));
    assert_eq!(st, 403, "still not verified: {v}");
    let mut presence_only = authenticator_uv(false);
    let (st, _) = register(
        &browser(),
        &s,
        &mut presence_only,
        json!({"username": "bob"}),
    );
    assert_eq!(st, 200);
    let a = assertion(&laptop, &s, &mut key1, json!({"reauthenticate": true}));
    let (st, v) = post(&laptop, &s, "/api/authentication/verify", &a);
    assert_eq!((st, &v["username"]), (200, &json!("alice")), "{v}");
    // The sign-in replaced this browser's session (a new token), the phone's stays.
    let list = sessions(&laptop, &s);
    assert_eq!(list.len(), 2, "{list:?}");
    let renewed = current(&list)["id"].as_str().unwrap().to_owned();
    assert_ne!(renewed, laptop_session);
    assert!(!list.iter().any(|x| x["id"] == laptop_session.as_str()));

    // Fresh again: deleting the second passkey ends the phone's session (it
    // opened it), not this one.
    let (st, v) = delete(&laptop, &s, &format!("/api/credentials/{second}"));
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (&v["sessionsEnded"], &v["signedOut"]),
        (&json!(1), &json!(false)),
        "{v}"
    );
    assert_eq!(get(&phone, &s, "/api/me").0, 401);
    assert_eq!(get(&laptop, &s, "/api/me").0, 200);
    assert_eq!(sessions(&laptop, &s).len(), 1);

    // Ending another browser's session: the phone signs in with the first
    // passkey, the laptop ends that session.
    let a = assertion(&phone, &s, &mut key1, json!({}));
    assert_eq!(post(&phone, &s, "/api/authentication/verify", &a).0, 200);
    let list = sessions(&laptop, &s);
    assert_eq!(list.len(), 2);
    let phone_id = list.iter().find(|x| x["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Bob cannot end it (not his), and a malformed ID is a 400.
    let bob = browser();
    let a = assertion(&bob, &s, &mut presence_only, json!({"username": "bob"}));
    assert_eq!(post(&bob, &s, "/api/authentication/verify", &a).0, 200);
    assert_eq!(
        delete(&bob, &s, &format!("/api/sessions/{phone_id}")).0,
        404
    );
    assert_eq!(delete(&bob, &s, "/api/sessions/AAAA").0, 400);
    assert_eq!(get(&phone, &s, "/api/me").0, 200);
    let (st, v) = delete(&laptop, &s, &format!("/api/sessions/{phone_id}"));
    assert_eq!((st, &v["signedOut"]), (200, &json!(false)), "{v}");
    assert_eq!(get(&phone, &s, "/api/me").0, 401);
    assert_eq!(
        delete(&laptop, &s, &format!("/api/sessions/{phone_id}")).0,
        404
    );

    // Bob's sign-in did not verify him: adding a passkey asks him to, and
    // his authenticator cannot.
    let bob_list = sessions(&bob, &s);
    assert!(current(&bob_list)["verifiedAt"].is_null(), "{bob_list:?}");
    let (st, v) = post(&bob, &s, "/api/registration/options", &json!({}));
    assert_eq!((st, &v["reauthenticate"]), (403, &json!(true)), "{v}");

    // Deleting the passkey this session was opened with (the last one, so
    // confirmed) signs this browser out too.
    let (st, v) = delete(
        &laptop,
        &s,
        &format!("/api/credentials/{first}?confirm=true"),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (&v["sessionsEnded"], &v["signedOut"]),
        (&json!(1), &json!(true)),
        "{v}"
    );
    assert_eq!(get(&laptop, &s, "/api/me").0, 401);
}

#[test]
fn ending_this_session_signs_out_and_the_list_needs_a_session() {
    let s = serve(None, &[], None);
    assert_eq!(get(&browser(), &s, "/api/sessions").0, 401);
    let h = browser();
    let mut key = authenticator();
    assert_eq!(
        register(&h, &s, &mut key, json!({"username": "carol"})).0,
        200
    );
    let id = current(&sessions(&h, &s))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .delete(format!("{}/api/sessions/{id}", s.base))
        .header("Origin", &s.origin)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cleared = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cleared.starts_with("kh_session=;"), "{cleared}");
    assert_eq!(get(&h, &s, "/api/me").0, 401);
    // Cross-site: refused before anything is ended.
    let h2 = browser();
    assert_eq!(
        register(&h2, &s, &mut authenticator(), json!({"username": "dave"})).0,
        200
    );
    let id2 = current(&sessions(&h2, &s))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h2
        .delete(format!("{}/api/sessions/{id2}", s.base))
        .header("Origin", "https://evil.example")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(get(&h2, &s, "/api/me").0, 200);
}
