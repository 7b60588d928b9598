//! Sessions: time-prefixed tokens, their storage keys, the session cookie, the
//! logged-in user.

#![allow(clippy::result_large_err)] // handlers return ready responses as errors

use super::*;

/// Challenges and session tokens are `time prefix (8 bytes) ‖ 32 random
/// bytes`: the microseconds since the epoch, big-endian.
pub(super) const TIME_PREFIX: usize = 8;

/// The time prefix of a new challenge or session token.
pub(super) fn time_prefix(clock: &Clock) -> [u8; TIME_PREFIX] {
    clock.unix_micros().to_be_bytes()
}

/// The key a challenge or session token is stored under: its time prefix,
/// then the first 24 bytes of SHA-256 over the whole token (192 bits nobody
/// can find without the token). Keys of tokens issued together are neighbours
/// in the database's index, so consuming challenges and adding sessions
/// rewrite a few recent pages instead of one random page each. A token
/// without the prefix (issued before it existed) is keyed by its plain hash.
pub(super) fn storage_key(token: &[u8]) -> [u8; 32] {
    let h = sha256(token);
    if token.len() != TIME_PREFIX + 32 {
        return h;
    }
    let mut k = [0u8; 32];
    k[..TIME_PREFIX].copy_from_slice(&token[..TIME_PREFIX]);
    k[TIME_PREFIX..].copy_from_slice(&h[..32 - TIME_PREFIX]);
    k
}

/// The session cookie's name: `__Host-kh_session` when cookies are `Secure`
/// (https origins), so a sibling subdomain cannot set or shadow it (cookie
/// tossing); `kh_session` on http://localhost, where `__Host-` cannot be used.
pub(super) fn cookie_name(st: &AppState) -> &'static str {
    if st.config.insecure_localhost() {
        COOKIE
    } else {
        HOST_COOKIE
    }
}

/// Two session cookies in one request (one planted by someone else).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DuplicateCookie;

/// The session's storage key from the cookie named `name`: `None` without
/// one (or a malformed one), an error when the request carries two.
pub(super) fn session_token(
    headers: &HeaderMap,
    name: &str,
) -> Result<Option<[u8; 32]>, DuplicateCookie> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == name);
    let Some(v) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(DuplicateCookie);
    }
    Ok(b64::decode(v.value())
        .ok()
        .filter(|r| r.len() == 32 || r.len() == TIME_PREFIX + 32)
        .map(|raw| storage_key(&raw)))
}

/// [`session_token`] for this server, a duplicate answered 400.
pub(super) fn session_key(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<Option<[u8; 32]>, Response> {
    session_token(headers, cookie_name(st)).map_err(|DuplicateCookie| {
        error(
            StatusCode::BAD_REQUEST,
            "more than one session cookie: clear this site's cookies and sign in again",
        )
    })
}

pub(super) async fn current_user(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<Option<User>, Response> {
    Ok(current_session(st, headers).await?.map(|(u, _)| u))
}

/// How often a session's last-seen time is written, at most (ms).
const SEEN_EVERY_MS: i64 = 60_000;

/// The request's live session and its user. A session last seen over a
/// minute ago is marked seen now, in the background: a failed write is
/// only logged (the request does not depend on it).
pub(super) async fn current_session(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(User, Session)>, Response> {
    let Some(hash) = session_key(st, headers)? else {
        return Ok(None);
    };
    let now = st.rp.clock.unix_millis();
    let found = st.db.session_user(hash, now).await.map_err(db_error)?;
    if let Some((_, s)) = &found {
        if now - s.last_seen_at >= SEEN_EVERY_MS {
            let db = st.db.clone();
            tokio::spawn(async move {
                if let Err(e) = db.touch_session(hash, now).await {
                    tracing::debug!(error = %e, "a session's last-seen time was not stored");
                }
            });
        }
    }
    Ok(found)
}

/// The request's live session, or the 401 answer.
pub(super) async fn signed_in(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<(User, Session), Response> {
    current_session(st, headers)
        .await?
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "not logged in"))
}

/// Whether the session verified its user (a UV ceremony) within the
/// reauthentication window: adding or deleting a passkey needs it.
pub(super) fn fresh(st: &AppState, s: &Session) -> bool {
    let window = st.config.reauth_window.as_millis() as i64;
    s.verified_at
        .is_some_and(|t| st.rp.clock.unix_millis() - t <= window)
}

/// 403 for an operation that needs a recent user-verifying ceremony: the
/// client signs in again with `{"reauthenticate": true}` options (UV
/// required) and retries.
pub(super) fn reauthenticate(st: &AppState) -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::Json(json!({
            "error": format!(
                "verify it is you: this needs a passkey sign-in with user verification (PIN or biometrics) in the last {} seconds",
                st.config.reauth_window.as_secs()
            ),
            "reauthenticate": true,
        })),
    )
        .into_response()
}

/// Longest device description kept.
const MAX_DEVICE: usize = 256;

/// The browser a session was opened from: its User-Agent, printable ASCII
/// only, at most [`MAX_DEVICE`] bytes (shown to the account's owner, so
/// nothing a header could smuggle into a page or log survives).
pub(super) fn device(headers: &HeaderMap) -> String {
    let ua = headers
        .get(header::USER_AGENT)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let mut out = String::new();
    for &b in ua {
        if out.len() == MAX_DEVICE {
            break;
        }
        if (0x20..0x7f).contains(&b) {
            out.push(char::from(b));
        }
    }
    out.trim().to_owned()
}

/// A short name for a User-Agent: "Firefox on Linux", or "Unknown browser".
pub fn describe_device(ua: &str) -> String {
    // Order matters: Edge and Opera say "Chrome", Chrome says "Safari".
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ];
    const SYSTEMS: &[(&str, &str)] = &[
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let pick = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(needle, _)| ua.contains(needle))
            .map(|(_, name)| *name)
    };
    match (pick(BROWSERS), pick(SYSTEMS)) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("a browser on {s}"),
        (None, None) if ua.is_empty() => "Unknown browser".to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// A new session opened by this request's ceremony: (cookie value, the
/// session to store). It replaces the request's current session, if any
/// (a sign-in rotates the token).
pub(super) fn new_session(
    st: &AppState,
    headers: &HeaderMap,
    verified: bool,
) -> Result<(String, NewSession), Response> {
    let mut raw = time_prefix(&st.rp.clock).to_vec();
    raw.extend(
        keyhaven_crypto::rand::vec(32)
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness"))?,
    );
    let expires_at = st.rp.clock.unix_millis() + st.config.session_ttl.as_millis() as i64;
    let session = NewSession {
        key: storage_key(&raw),
        expires_at,
        device: device(headers),
        verified,
        replaces: session_token(headers, cookie_name(st)).ok().flatten(),
    };
    Ok((b64::encode(&raw), session))
}

pub(super) fn cookie(st: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let c = cookie::Cookie::build((cookie_name(st), value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .secure(!st.config.insecure_localhost())
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(super) fn with_cookie(st: &AppState, mut resp: Response, value: &str) -> Response {
    let c = cookie(st, value, st.config.session_ttl.as_secs());
    resp.headers_mut().insert(header::SET_COOKIE, c);
    resp
}

/// `resp` clearing the session cookie (its session has ended).
pub(super) fn without_cookie(st: &AppState, mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie(st, "", 0));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server state on a clock the test moves, with one session of a new
    /// account (opened at the clock's start, user verified): (state, clock
    /// offset in ms, the session cookie's headers, its storage key).
    async fn state_with_session() -> (
        Arc<AppState>,
        Arc<std::sync::atomic::AtomicI64>,
        HeaderMap,
        [u8; 32],
        tempfile::TempDir,
    ) {
        use std::time::{Duration, UNIX_EPOCH};
        let dir = tempfile::tempdir().unwrap();
        let config = crate::ServerConfig::local(dir.path());
        let mut st = Arc::try_unwrap(crate::state(config).await.unwrap())
            .ok()
            .unwrap();
        let offset = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let o = offset.clone();
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        st.rp.clock =
            Clock::from_fn(move || start + Duration::from_millis(o.load(Ordering::SeqCst) as u64));
        let challenge = [3u8; 32];
        let now = st.rp.clock.unix_millis();
        st.db
            .put_challenge(
                challenge,
                crate::db::Challenge {
                    kind: Kind::Registration,
                    state: "{}".into(),
                    expires_at: now + 60_000,
                },
            )
            .await
            .unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, HeaderValue::from_static("test/1.0"));
        let (token, session) = new_session(&st, &h, true).unwrap();
        let key = session.key;
        let added = st
            .db
            .add_credential(
                challenge,
                Owner::New {
                    username: "alice".into(),
                    display_name: "Alice".into(),
                    handle: vec![1],
                },
                "Passkey 1".into(),
                crate::db::cache::tests::credential(1, 0).record,
                now,
                Some(session),
            )
            .await
            .unwrap();
        assert!(matches!(added, Added::Yes(_)), "{added:?}");
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={token}")).unwrap(),
        );
        (Arc::new(st), offset, h, key, dir)
    }

    /// The session's row as stored, read until `want` holds (the last-seen
    /// write runs in the background) or 5 s pass.
    async fn stored(st: &AppState, key: [u8; 32], want: impl Fn(&Session) -> bool) -> Session {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let (_, s) = st.db.session_user(key, 0).await.unwrap().unwrap();
            if want(&s) || std::time::Instant::now() > deadline {
                return s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn last_seen_is_written_at_most_once_a_minute() {
        let (st, offset, h, key, _dir) = state_with_session().await;
        let t0 = st.rp.clock.unix_millis();
        let s = stored(&st, key, |_| true).await;
        assert_eq!(
            (
                s.created_at,
                s.last_seen_at,
                s.verified_at,
                s.device.as_str()
            ),
            (t0, t0, Some(t0), "test/1.0")
        );
        // 59 s later: seen, but not written.
        offset.store(59_000, Ordering::SeqCst);
        assert!(current_session(&st, &h).await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(stored(&st, key, |_| true).await.last_seen_at, t0);
        // 60 s after the last write: written.
        offset.store(60_000, Ordering::SeqCst);
        assert!(current_session(&st, &h).await.unwrap().is_some());
        let s = stored(&st, key, |s| s.last_seen_at != t0).await;
        assert_eq!(s.last_seen_at, t0 + 60_000);
        // And not again until a minute after that.
        offset.store(119_000, Ordering::SeqCst);
        assert!(current_session(&st, &h).await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(stored(&st, key, |_| true).await.last_seen_at, t0 + 60_000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_is_fresh_for_the_reauthentication_window_only() {
        let (st, offset, h, _key, _dir) = state_with_session().await;
        let window = st.config.reauth_window.as_millis() as i64;
        let (_, s) = current_session(&st, &h).await.unwrap().unwrap();
        assert!(fresh(&st, &s));
        offset.store(window, Ordering::SeqCst);
        assert!(fresh(&st, &s), "the window's last millisecond");
        offset.store(window + 1, Ordering::SeqCst);
        assert!(!fresh(&st, &s));
        // Never verified: never fresh.
        let unverified = Session {
            verified_at: None,
            ..s
        };
        offset.store(0, Ordering::SeqCst);
        assert!(!fresh(&st, &unverified));
        let r = reauthenticate(&st);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn devices_are_printable_bounded_and_named() {
        let mut h = HeaderMap::new();
        assert_eq!(device(&h), "");
        h.insert(
            header::USER_AGENT,
            HeaderValue::from_bytes(b"Mozilla/5.0\t(\xe2\x80\xaeevil)").unwrap(),
        );
        // The tab and the bidi override (as raw UTF-8 bytes) are dropped.
        assert_eq!(device(&h), "Mozilla/5.0(evil)");
        h.insert(
            header::USER_AGENT,
            HeaderValue::from_str(&"a".repeat(5000)).unwrap(),
        );
        assert_eq!(device(&h).len(), MAX_DEVICE);
        for (ua, want) in [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"),
            ("", "Unknown browser"),
            ("keyhaven-test", "keyhaven-test"),
        ] {
            assert_eq!(describe_device(ua), want, "{ua}");
        }
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let token = [7u8; TIME_PREFIX + 32];
        let mut h = HeaderMap::new();
        let v = format!("a=1; {COOKIE}={}; theme=dark", b64::encode(&token));
        h.insert(header::COOKIE, HeaderValue::from_str(&v).unwrap());
        assert_eq!(session_token(&h, COOKIE), Ok(Some(storage_key(&token))));
        // Only the cookie of that name: on https, a plain kh_session (which a
        // sibling subdomain could set) is not the session.
        assert_eq!(session_token(&h, HOST_COOKIE), Ok(None));
        // Wrong length, not base64url, or absent: no session.
        for bad in [
            format!("{COOKIE}=AAAA"),
            format!("{COOKIE}=!!"),
            "other=1".to_owned(),
        ] {
            h.insert(header::COOKIE, HeaderValue::from_str(&bad).unwrap());
            assert_eq!(session_token(&h, COOKIE), Ok(None), "{bad}");
        }
        // Two of them, in one header or two: refused.
        let one = format!("{COOKIE}={}", b64::encode(&token));
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{one}; {one}")).unwrap(),
        );
        assert_eq!(session_token(&h, COOKIE), Err(DuplicateCookie));
        h.insert(header::COOKIE, HeaderValue::from_str(&one).unwrap());
        h.append(header::COOKIE, HeaderValue::from_str(&one).unwrap());
        assert_eq!(session_token(&h, COOKIE), Err(DuplicateCookie));
    }
}
