//! Two `keyhaven serve` nodes on one PostgreSQL database, through the
//! batched statements (crates/keyhaven-server/src/db/postgres_batch.rs)
//! and each node's read cache: counters never go back whichever node sees
//! which login, concurrent logins of one zero-counter passkey all succeed,
//! batched reads give each request its own rows, a node killed (SIGKILL)
//! under load has lost no login it acknowledged, and a node whose database
//! goes away and comes back recovers by itself.
//!
//! Needs PostgreSQL: ignored (reported as skipped) by a plain `cargo test`;
//! scripts/test starts a cluster and runs these with `--ignored`, and there
//! they fail when no database is named.

mod support;
use serde_json::{json, Value};
use support::serve::*;

use std::sync::Barrier;
use std::time::Duration;

fn database() -> String {
    std::env::var("KEYHAVEN_TEST_POSTGRES").expect(
        "KEYHAVEN_TEST_POSTGRES must name the PostgreSQL database (scripts/test starts one)",
    )
}

/// Two nodes behind one origin, as behind a load balancer.
fn two_nodes() -> (Server, Server) {
    two_nodes_with(&[])
}

/// [`two_nodes`], each started with `flags` too.
fn two_nodes_with(flags: &[&str]) -> (Server, Server) {
    let url = database();
    let flags: Vec<&str> = ["--no-rate-limit"].iter().chain(flags).copied().collect();
    let a = serve(Some(&url), &flags, None);
    let port = a.origin.rsplit(':').next().unwrap().parse().unwrap();
    let b = serve(Some(&url), &flags, Some(port));
    (a, b)
}

/// The signature counter an AuthenticationResponseJSON carries (authData
/// bytes 33..37).
fn counter(assertion: &Value) -> u64 {
    let text = assertion["response"]["authenticatorData"].as_str().unwrap();
    let data = base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(text.as_bytes())
        .unwrap();
    u64::from(u32::from_be_bytes(data[33..37].try_into().unwrap()))
}

/// The stored counter of the account's only passkey, as `s` reads it.
fn stored_counter(h: &Http, s: &Server) -> u64 {
    let (st, me) = get(h, s, "/api/me");
    assert_eq!(st, 200, "{me}");
    let creds = me["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1, "{me}");
    creds[0]["signCount"].as_u64().unwrap()
}

fn verify(h: &Http, s: &Server, assertion: &Value) -> (u16, Value) {
    post(h, s, "/api/authentication/verify", assertion)
}

/// Runs `request(k, client)` for k in 0..n on n threads at once (each
/// thread builds its HTTP client first; a barrier then releases them
/// together): each one's result, in order.
fn together<T: Send>(n: usize, request: impl Fn(usize, &Http) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|k| {
                let (start, request) = (&start, &request);
                scope.spawn(move || {
                    let http = browser();
                    start.wait();
                    request(k, &http)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Submits every assertion to its node at once ([`together`]): each one's
/// status and answer, in order.
fn submit_all(made: &[(&Server, &Value)]) -> Vec<(u16, Value)> {
    together(made.len(), |k, http| verify(http, made[k].0, made[k].1))
}

/// [`submit_all`], the even assertions to `a`, the odd ones to `b`: each
/// one's status.
fn submit_together(a: &Server, b: &Server, made: &[Value]) -> Vec<u16> {
    let to: Vec<(&Server, &Value)> = made
        .iter()
        .enumerate()
        .map(|(k, m)| (if k % 2 == 0 { a } else { b }, m))
        .collect();
    submit_all(&to).into_iter().map(|(st, _)| st).collect()
}

/// Logins whose challenge the other node issued read it from the database,
/// together with the other reads waiting at the same moment (one statement
/// per batch, postgres_batch.rs `Peeks`): released at once, each one gets
/// its own challenge and passkey back, whatever else shares its batch — a
/// replayed (consumed) challenge, a challenge the node issued itself, and a
/// passkey nobody registered.
#[test]
#[ignore = "needs PostgreSQL: scripts/test runs it with KEYHAVEN_TEST_POSTGRES set"]
fn logins_whose_challenge_another_node_issued_each_read_their_own() {
    let (a, b) = two_nodes();
    let h = browser();
    let tag = free_port();
    let mut users: Vec<(String, keyhaven_client::Client)> = (0..24)
        .map(|i| {
            let mut key = authenticator();
            let name = format!("peek{tag}x{i}");
            assert_eq!(
                register(&browser(), &a, &mut key, json!({"username": name})).0,
                200
            );
            (name, key)
        })
        .collect();
    // A login already used on a: its challenge is gone.
    let (name0, key0) = &mut users[0];
    let used = assertion(&h, &a, key0, json!({"username": name0}));
    assert_eq!(verify(&h, &a, &used).0, 200);
    // A passkey nobody registered, over a challenge a issued.
    let mut stranger = authenticator();
    let strange = {
        let (st, o) = post(&h, &a, "/api/authentication/options", &json!({}));
        assert_eq!(st, 200, "{o}");
        let o = keyhaven_client::parse_request_options_from_json(&o.to_string()).unwrap();
        // The stranger's passkey is for another server of the same RP ID
        // (localhost): it answers these usernameless options.
        let other = serve(None, &[], None);
        assert_eq!(
            register(
                &browser(),
                &other,
                &mut stranger,
                json!({"username": "stranger"})
            )
            .0,
            200
        );
        let cred = stranger
            .get(&keyhaven_client::CallOptions::new(&a.origin), &o)
            .unwrap();
        serde_json::from_str::<Value>(&cred.to_json_string()).unwrap()
    };
    for round in 0..3 {
        // Every user's options from a, except the last one's from b.
        let last = users.len() - 1;
        let made: Vec<Value> = users
            .iter_mut()
            .enumerate()
            .map(|(i, (name, key))| {
                let issuer = if i == last { &b } else { &a };
                assertion(&h, issuer, key, json!({"username": name}))
            })
            .collect();
        let mut to: Vec<(&Server, &Value)> = made.iter().map(|m| (&b, m)).collect();
        to.push((&b, &used));
        to.push((&b, &strange));
        let answers = submit_all(&to);
        for (i, (name, _)) in users.iter().enumerate() {
            let (st, v) = &answers[i];
            assert_eq!(*st, 200, "round {round}, {name}: {v}");
            assert_eq!(v["username"], name.as_str(), "round {round}: {v}");
        }
        let (st, v) = &answers[users.len()];
        assert_eq!(*st, 400, "round {round}, the replay: {v}");
        assert_eq!(v["error"], "unknown, used or expired challenge", "{v}");
        let (st, v) = &answers[users.len() + 1];
        assert_eq!(*st, 400, "round {round}, the stranger: {v}");
        assert_eq!(v["unknownCredential"], true, "{v}");
    }
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test runs it with KEYHAVEN_TEST_POSTGRES set"]
fn counters_never_go_back_across_two_nodes() {
    let (a, b) = two_nodes();
    let h = browser();
    let mut key = authenticator();
    let user = format!("counter{}", free_port());
    let body = json!({ "username": user });
    assert_eq!(register(&h, &b, &mut key, body.clone()).0, 200);
    // A login on a: a now holds the credential (and its counter) in its cache.
    let first = assertion(&h, &a, &mut key, body.clone());
    assert_eq!(verify(&h, &a, &first).0, 200);
    // Two more, made in order; b stores the later one first. a's cached
    // counter is older than both, so only the database can refuse the
    // earlier one there.
    let earlier = assertion(&h, &a, &mut key, body.clone());
    let later = assertion(&h, &b, &mut key, body.clone());
    assert!(counter(&later) > counter(&earlier));
    assert_eq!(verify(&h, &b, &later).0, 200);
    let (st, v) = verify(&h, &a, &earlier);
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["error"], "the signature counter did not increase", "{v}");
    assert_eq!(stored_counter(&h, &a), counter(&later));
    // a read the row again: the next login there succeeds.
    let next = assertion(&h, &a, &mut key, body.clone());
    assert_eq!(verify(&h, &a, &next).0, 200);
    assert_eq!(stored_counter(&h, &b), counter(&next));

    // Eight logins made in order, submitted together to both nodes: the
    // highest counter always wins (nothing can be ahead of it), and the
    // counter stored is exactly it, whatever order the others committed in.
    for round in 0..5 {
        let made: Vec<Value> = (0..8)
            .map(|k| assertion(&h, if k % 2 == 0 { &a } else { &b }, &mut key, body.clone()))
            .collect();
        let highest = made.iter().map(counter).max().unwrap();
        let outcomes: Vec<(u64, u16)> = made
            .iter()
            .map(counter)
            .zip(submit_together(&a, &b, &made))
            .collect();
        assert!(
            outcomes.contains(&(highest, 200)),
            "round {round}: {outcomes:?}"
        );
        assert_eq!(stored_counter(&h, &a), highest, "round {round}");
        assert_eq!(stored_counter(&h, &b), highest, "round {round}");
    }
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test runs it with KEYHAVEN_TEST_POSTGRES set"]
fn concurrent_logins_of_one_zero_counter_passkey_all_succeed() {
    // Synced passkeys keep their counter at zero; several devices may sign
    // in with one at the same moment. Grouped commits must not turn that
    // into a counter race.
    let (a, b) = two_nodes();
    let h = browser();
    let settings = keyhaven_authenticator::Settings {
        zero_counters: true,
        ..Default::default()
    };
    let mut key = authenticator_with(true, settings);
    let user = format!("zero{}", free_port());
    let body = json!({ "username": user });
    assert_eq!(register(&h, &a, &mut key, body.clone()).0, 200);
    for round in 0..5 {
        let made: Vec<Value> = (0..16)
            .map(|k| assertion(&h, if k % 2 == 0 { &a } else { &b }, &mut key, body.clone()))
            .collect();
        assert!(made.iter().all(|m| counter(m) == 0));
        let codes = submit_together(&a, &b, &made);
        assert_eq!(codes, vec![200; 16], "round {round}");
    }
}

/// Signs `name` in on the node at `base` over and over, from `start` until
/// the node is gone: each acknowledged login's session cookie and counter.
fn login_until_gone(
    base: &str,
    origin: &str,
    name: &str,
    key: &mut keyhaven_client::Client,
    start: &Barrier,
) -> Vec<(String, u64)> {
    let h = Http::new();
    let mut acked = Vec::new();
    start.wait();
    loop {
        // Options from the node (the challenge is in the database too),
        // then the login there.
        let Ok(r) = h
            .post(format!("{base}/api/authentication/options"))
            .header("Origin", origin)
            .json(&json!({"username": name}))
            .send()
        else {
            break;
        };
        let Ok(options) = r.text() else { break };
        let Ok(options) = keyhaven_client::parse_request_options_from_json(&options) else {
            break;
        };
        let cred = key
            .get(&keyhaven_client::CallOptions::new(origin), &options)
            .unwrap();
        let m: Value = serde_json::from_str(&cred.to_json_string()).unwrap();
        let Ok(r) = h
            .post(format!("{base}/api/authentication/verify"))
            .header("Origin", origin)
            .json(&m)
            .send()
        else {
            break;
        };
        let status = r.status().as_u16();
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .map(str::to_owned);
        // Acknowledged: a 200 whose body was read in full.
        match (status, r.json::<Value>(), cookie) {
            (200, Ok(v), Some(cookie)) if v["verified"] == true => {
                acked.push((cookie, counter(&m)));
            }
            (_, Err(_), _) => break,
            (st, v, _) => panic!("login refused before the kill: {st} {v:?}"),
        }
    }
    acked
}

#[test]
#[ignore = "needs PostgreSQL: scripts/test runs it with KEYHAVEN_TEST_POSTGRES set"]
fn a_node_killed_under_load_has_lost_no_acknowledged_login() {
    let url = database();
    let b = serve(Some(&url), &["--no-rate-limit"], None);
    let port = b.origin.rsplit(':').next().unwrap().parse().unwrap();
    // Twenty-four users signing in over and over on a node, each login without
    // a cookie (so that none replaces the one before: a login that committed
    // but whose answer the kill cut off ends no acknowledged session). Each
    // keeps every session cookie and counter it was acknowledged. Five
    // nodes in turn are killed under this load.
    let mut users: Vec<(String, keyhaven_client::Client)> = (0..24)
        .map(|i| {
            let mut key = authenticator();
            let name = format!("kill{}x{i}", free_port());
            assert_eq!(
                register(&browser(), &b, &mut key, json!({"username": name})).0,
                200
            );
            (name, key)
        })
        .collect();
    let mut acknowledged: Vec<Vec<(String, u64)>> = vec![Vec::new(); users.len()];
    for _ in 0..5 {
        let mut a = serve(Some(&url), &["--no-rate-limit"], Some(port));
        let start = Barrier::new(users.len() + 1);
        let (base, origin) = (a.base.clone(), a.origin.clone());
        let round: Vec<Vec<(String, u64)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = users
                .iter_mut()
                .map(|(name, key)| {
                    let (base, origin, start) = (&base, &origin, &start);
                    scope.spawn(move || login_until_gone(base, origin, name, key, start))
                })
                .collect();
            start.wait();
            std::thread::sleep(Duration::from_millis(1000));
            a.child.kill().unwrap(); // SIGKILL
            a.child.wait().unwrap();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (all, new) in acknowledged.iter_mut().zip(round) {
            all.extend(new);
        }
    }
    let total: usize = acknowledged.iter().map(Vec::len).sum();
    assert!(total >= 120, "too few logins before the kills: {total}");
    // Every acknowledged login is in the database: b knows each of its
    // sessions, and each user's counter is at least the last acknowledged.
    let h = Http::new();
    for acked in &acknowledged {
        let (_, last) = acked
            .last()
            .expect("a user never signed in before the kill");
        for (cookie, _) in acked {
            let r = h
                .get(format!("{}/api/me", b.base))
                .header("Cookie", cookie)
                .send()
                .unwrap();
            assert_eq!(
                r.status().as_u16(),
                200,
                "acknowledged session {cookie} lost"
            );
            let me: Value = r.json().unwrap();
            let stored = me["credentials"][0]["signCount"].as_u64().unwrap();
            assert!(
                stored >= *last,
                "counter {stored} behind the acknowledged {last}"
            );
        }
    }
}

/// Authentication options asked for at the same moment are read together
/// (one statement per batch, postgres_batch.rs `Accounts`): each answer
/// lists exactly its own account's passkeys, the second passkey of an
/// account included, and an unknown name gets a decoy made of none of them.
/// Each node has one database connection (`--db-connections 1`): no request
/// needs two at once, so nothing waits forever.
#[test]
#[ignore = "needs PostgreSQL: scripts/test runs it with KEYHAVEN_TEST_POSTGRES set"]
fn options_asked_together_each_list_their_own_passkeys() {
    let (a, b) = two_nodes_with(&["--db-connections", "1"]);
    let tag = free_port();
    let mut expected: Vec<(String, Vec<String>)> = (0..20)
        .map(|i| {
            let name = format!("opts{tag}x{i}");
            let h = browser();
            let (st, v) = register(&h, &a, &mut authenticator(), json!({"username": name}));
            assert_eq!(st, 200, "{v}");
            let mut ids = vec![v["credentialId"].as_str().unwrap().to_owned()];
            // Every third account adds a second passkey (its registration
            // just verified the user: no reauthentication asked for).
            if i % 3 == 0 {
                let (st, v) = register(&h, &a, &mut authenticator(), json!({}));
                assert_eq!(st, 200, "{v}");
                ids.push(v["credentialId"].as_str().unwrap().to_owned());
            }
            (name, ids)
        })
        .collect();
    expected.push((format!("opts{tag}nobody"), vec![]));
    let real: Vec<&String> = expected.iter().flat_map(|(_, ids)| ids).collect();
    for round in 0..3 {
        let answers: Vec<Value> = together(expected.len(), |k, http| {
            let node = if k % 2 == 0 { &a } else { &b };
            let body = json!({"username": expected[k].0});
            let (st, v) = post(http, node, "/api/authentication/options", &body);
            assert_eq!(st, 200, "{v}");
            v
        });
        for ((name, ids), v) in expected.iter().zip(&answers) {
            let listed: Vec<String> = v["allowCredentials"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_owned())
                .collect();
            if ids.is_empty() {
                assert!(
                    !listed.is_empty(),
                    "round {round}: the decoy lists none: {v}"
                );
                assert!(
                    listed.iter().all(|id| !real.contains(&id)),
                    "round {round}: the decoy lists a real passkey: {v}"
                );
            } else {
                assert_eq!(&listed, ids, "round {round}, {name}");
            }
        }
    }
}

/// A TCP relay between `serve` and PostgreSQL that the test can cut (every
/// open connection closed, new ones closed at once) and restore.
struct Relay {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn to(upstream: std::net::SocketAddr) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(upstream) else {
                    continue;
                };
                let mut list = open2.lock().unwrap();
                for s in [&client, &server] {
                    list.push(s.try_clone().unwrap());
                }
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, up, open }
    }

    /// Closes every relayed connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// PostgreSQL out of reach (every connection cut, new ones refused) and
/// back: meanwhile `/healthz` says 503 with the reason, a login or an
/// options call gets 503 and nothing else, and the node's batches and pool
/// recover by themselves once the database is back: the same user signs in
/// again without a restart.
#[test]
#[ignore = "needs PostgreSQL: scripts/test runs it with KEYHAVEN_TEST_POSTGRES set"]
fn a_node_recovers_when_postgresql_comes_back() {
    let url = database();
    let parsed = url::Url::parse(&url).unwrap();
    let upstream: std::net::SocketAddr = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let relay = Relay::to(upstream);
    let mut relayed = parsed.clone();
    relayed.set_port(Some(relay.port)).unwrap();
    let s = serve(Some(relayed.as_str()), &["--no-rate-limit"], None);
    let h = browser();
    let mut key = authenticator();
    let name = format!("outage{}", free_port());
    let body = json!({ "username": name });
    assert_eq!(register(&browser(), &s, &mut key, body.clone()).0, 200);
    let login = |key: &mut keyhaven_client::Client| {
        let m = assertion(&h, &s, key, body.clone());
        verify(&h, &s, &m)
    };
    assert_eq!(login(&mut key).0, 200);
    // Made before the cut (its challenge is stored), sent during it.
    let made = assertion(&h, &s, &mut key, body.clone());

    relay.cut();
    let (st, v) = get(&h, &s, "/healthz");
    assert_eq!(st, 503, "{v}");
    assert_eq!(v["status"], "unavailable", "{v}");
    assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()), "{v}");
    let (st, v) = verify(&h, &s, &made);
    assert_eq!(st, 503, "a login while the database is away: {v}");
    let (st, v) = post(&h, &s, "/api/authentication/options", &body);
    assert_eq!(st, 503, "options while the database is away: {v}");

    relay.restore();
    wait_for(
        Duration::from_secs(15),
        || "/healthz did not say ok again within 15 s".to_owned(),
        || (get(&h, &s, "/healthz").0 == 200).then_some(()),
    );
    // The login made before the cut was never committed: its challenge is
    // still there and it signs in now; so does a new one.
    let (st, v) = verify(&h, &s, &made);
    assert_eq!(st, 200, "{v}");
    assert_eq!(login(&mut key).0, 200);
    let (st, me) = get(&h, &s, "/api/me");
    assert_eq!((st, &me["username"]), (200, &json!(name)), "{me}");
}
