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
    match session_key(st, headers)? {
        None => Ok(None),
        Some(hash) => st
            .db
            .session_user(hash, st.rp.clock.unix_millis())
            .await
            .map_err(db_error),
    }
}

/// A new session: (cookie value, hash stored, expiry).
pub(super) fn new_session(st: &AppState) -> Result<(String, [u8; 32], i64), Response> {
    let mut raw = time_prefix(&st.rp.clock).to_vec();
    raw.extend(
        keyhaven_crypto::rand::vec(32)
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness"))?,
    );
    let expires = st.rp.clock.unix_millis() + st.config.session_ttl.as_millis() as i64;
    Ok((b64::encode(&raw), storage_key(&raw), expires))
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

#[cfg(test)]
mod tests {
    use super::*;

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
