//! The HTTP API (a contract other clients are written against):
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /api/registration/options` | `{"username", "displayName"}` | PublicKeyCredentialCreationOptionsJSON; logged in: a passkey for the current account; a taken username: 409 |
//! | `POST /api/registration/verify` | RegistrationResponseJSON | `{"verified": true, "credentialId"}` + session cookie, or 400 `{"verified": false, "error"}` |
//! | `POST /api/authentication/options` | `{"username"}` or `{}` | PublicKeyCredentialRequestOptionsJSON |
//! | `POST /api/authentication/verify` | AuthenticationResponseJSON | `{"verified": true, "username"}` + session cookie, or 400 |
//! | `GET /api/me` | — | `{"username", "credentials": [...]}`, 401 when not logged in |
//! | `PATCH /api/credentials/{id}` | `{"name"}` | `{"ok": true}` |
//! | `DELETE /api/credentials/{id}[?confirm=true]` | — | `{"ok": true}`; the last one only with confirm (else 409) |
//! | `POST /api/logout` | — | `{"ok": true}` |
//! | `GET /api/openapi.json`, `GET /healthz`, `GET /metrics` | — | — |

#![allow(clippy::result_large_err)] // handlers return ready responses as errors

use crate::db::{Added, Challenge, Credential, Deleted, Kind, LoginUpdate, Owner, User};
use crate::{guard, web, AppState};
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::b64;
use keyhaven_proto::client_data::CollectedClientData;
use keyhaven_proto::json::{
    AuthenticationResponseJson, CredentialDescriptorJson, ExtensionInputsJson,
    RegistrationResponseJson,
};
use keyhaven_rp::options::{
    authentication_options, registration_options, AuthenticationExtras, AuthenticationState,
    RegistrationExtras, RegistrationState, UserInfo,
};
use keyhaven_rp::time::Clock;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// The session cookie's name.
pub const COOKIE: &str = "kh_session";

type St = State<Arc<AppState>>;

/// The router with every route, the body limit and the guards.
pub fn router(st: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/api/registration/options",
            post(registration_options_route),
        )
        .route("/api/registration/verify", post(registration_verify))
        .route(
            "/api/authentication/options",
            post(authentication_options_route),
        )
        .route("/api/authentication/verify", post(authentication_verify))
        .route("/api/me", get(me))
        .route(
            "/api/credentials/{id}",
            patch(rename_credential).delete(delete_credential),
        )
        .route("/api/logout", post(logout))
        .route("/api/openapi.json", get(web::openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/", get(web::index))
        .route("/account", get(web::index))
        .route("/app.js", get(web::app_js))
        .route("/style.css", get(web::style_css))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(st.clone(), guard_layer))
        .with_state(st)
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": msg.into() }))).into_response()
}

/// A refused ceremony: exactly 400 `{"verified": false, "error": …}`.
fn refused(st: &AppState, msg: impl Into<String>) -> Response {
    st.metrics.refused.fetch_add(1, Ordering::Relaxed);
    let msg = msg.into();
    tracing::info!(reason = %msg, "ceremony refused");
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "verified": false, "error": msg })),
    )
        .into_response()
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        error(StatusCode::NOT_FOUND, "no such API route")
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}

/// CSRF for state-changing requests, security headers, metrics and the access log.
async fn guard_layer(State(st): St, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("(unmatched)", |p| p.as_str());
    let api = req.uri().path().starts_with("/api/");
    let changing = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let mut resp = if changing && !guard::origin_allowed(req.headers(), &st.config.origins) {
        error(
            StatusCode::FORBIDDEN,
            "cross-site request refused: the Origin header is not an allowed origin",
        )
    } else {
        next.run(req).await
    };
    guard::security_headers(resp.headers_mut(), api);
    let status = resp.status().as_u16();
    st.metrics.request(route, status);
    tracing::info!(
        method = %method,
        route = %route,
        status,
        micros = start.elapsed().as_micros() as u64,
        "request"
    );
    resp
}

/// The request body, at most [`MAX_BODY`] bytes (413 beyond).
async fn body_bytes(body: Body) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {MAX_BODY} bytes"),
        )
    })
}

/// Reads a JSON body of at most [`MAX_BODY`] bytes (413 beyond).
async fn json_body<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, Response> {
    serde_json::from_slice(&body_bytes(body).await?)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("malformed JSON body: {e}")))
}

/// A verify endpoint's body: malformed JSON is a refused ceremony (400 with `verified: false`).
async fn ceremony_body<T: serde::de::DeserializeOwned>(
    st: &AppState,
    body: Body,
) -> Result<T, Response> {
    serde_json::from_slice(&body_bytes(body).await?)
        .map_err(|e| refused(st, format!("malformed JSON body: {e}")))
}

/// Challenges and session tokens are `time prefix (8 bytes) ‖ 32 random
/// bytes`: the microseconds since the epoch, big-endian.
const TIME_PREFIX: usize = 8;

/// The time prefix of a new challenge or session token.
fn time_prefix(clock: &Clock) -> [u8; TIME_PREFIX] {
    clock.unix_micros().to_be_bytes()
}

/// The key a challenge or session token is stored under: its time prefix,
/// then the first 24 bytes of SHA-256 over the whole token (192 bits nobody
/// can find without the token). Keys of tokens issued together are neighbours
/// in the database's index, so consuming challenges and adding sessions
/// rewrite a few recent pages instead of one random page each. A token
/// without the prefix (issued before it existed) is keyed by its plain hash.
fn storage_key(token: &[u8]) -> [u8; 32] {
    let h = sha256(token);
    if token.len() != TIME_PREFIX + 32 {
        return h;
    }
    let mut k = [0u8; 32];
    k[..TIME_PREFIX].copy_from_slice(&token[..TIME_PREFIX]);
    k[TIME_PREFIX..].copy_from_slice(&h[..32 - TIME_PREFIX]);
    k
}

fn session_token(headers: &HeaderMap) -> Option<[u8; 32]> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let v = cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)?
        .1;
    let raw = b64::decode(v)
        .ok()
        .filter(|r| r.len() == 32 || r.len() == TIME_PREFIX + 32)?;
    Some(storage_key(&raw))
}

async fn current_user(st: &AppState, headers: &HeaderMap) -> Result<Option<User>, Response> {
    match session_token(headers) {
        None => Ok(None),
        Some(hash) => st
            .db
            .session_user(hash, st.rp.clock.unix_millis())
            .await
            .map_err(db_error),
    }
}

fn db_error(e: crate::db::DbError) -> Response {
    tracing::error!(error = %e, "database");
    error(StatusCode::SERVICE_UNAVAILABLE, "storage is unavailable")
}

/// A new session: (cookie value, hash stored, expiry).
fn new_session(st: &AppState) -> Result<(String, [u8; 32], i64), Response> {
    let mut raw = time_prefix(&st.rp.clock).to_vec();
    raw.extend(
        keyhaven_crypto::rand::vec(32)
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness"))?,
    );
    let expires = st.rp.clock.unix_millis() + st.config.session_ttl.as_millis() as i64;
    Ok((b64::encode(&raw), storage_key(&raw), expires))
}

fn cookie(st: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if st.config.insecure_localhost() {
        ""
    } else {
        "; Secure"
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn with_cookie(st: &AppState, mut resp: Response, value: &str) -> Response {
    let c = cookie(st, value, st.config.session_ttl.as_secs());
    resp.headers_mut().insert(header::SET_COOKIE, c);
    resp
}

fn limited(st: &AppState) -> Response {
    st.metrics.limited.fetch_add(1, Ordering::Relaxed);
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests; try again later",
    )
}

/// Usernames: 1–64 ASCII letters, digits and `-_.@`.
pub fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

fn clean_label(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty() && t.chars().count() <= 64 && !t.chars().any(char::is_control))
        .then(|| t.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RegistrationOptionsBody {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RegPending {
    state: RegistrationState,
    username: String,
    display_name: String,
    user_id: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct AuthPending {
    state: AuthenticationState,
    user_id: Option<i64>,
}

/// A credential descriptor without transports: decoys for unknown usernames
/// carry none either, so the two cannot be told apart.
fn descriptor(c: &Credential) -> CredentialDescriptorJson {
    CredentialDescriptorJson {
        type_: "public-key".into(),
        id: c.record.id.clone(),
        transports: None,
    }
}

async fn registration_options_route(
    State(st): St,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !st.limiter.ip(addr.ip()) {
        return limited(&st);
    }
    let b: RegistrationOptionsBody = match json_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let me = match current_user(&st, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (user, user_id, exclude) = match me {
        // Logged in: another passkey for this account (username ignored).
        Some(u) => {
            let creds = match st.db.credentials_of(u.id).await {
                Ok(c) => c,
                Err(e) => return db_error(e),
            };
            (
                UserInfo {
                    name: u.username.clone(),
                    display_name: u.display_name.clone(),
                    handle: Some(u.handle.clone()),
                },
                Some(u.id),
                creds.iter().map(descriptor).collect(),
            )
        }
        None => {
            let Some(username) = b.username.filter(|u| valid_username(u)) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "username: 1 to 64 letters, digits and -_.@",
                );
            };
            if !st.limiter.user(&username) {
                return limited(&st);
            }
            let display = match b.display_name.as_deref().map(clean_label) {
                None => username.clone(),
                Some(Some(d)) => d,
                Some(None) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "displayName: 1 to 64 characters, no control characters",
                    )
                }
            };
            match st.db.user_by_name(&username).await {
                Ok(Some(_)) => return error(StatusCode::CONFLICT, "this username is taken"),
                Ok(None) => {}
                Err(e) => return db_error(e),
            }
            (
                UserInfo {
                    name: username,
                    display_name: display,
                    handle: None,
                },
                None,
                vec![],
            )
        }
    };
    let extras = RegistrationExtras {
        challenge_prefix: time_prefix(&st.rp.clock).to_vec(),
        exclude_credentials: exclude,
        resident_key: Some("preferred".into()),
        extensions: Some(ExtensionInputsJson {
            cred_props: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (options, state) = match registration_options(&st.rp, &user, extras) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let pending = RegPending {
        state,
        username: user.name,
        display_name: user.display_name,
        user_id,
    };
    if let Err(r) = put_challenge(&st, Kind::Registration, &pending.state.challenge, &pending).await
    {
        return r;
    }
    axum::Json(options).into_response()
}

async fn put_challenge<T: Serialize>(
    st: &AppState,
    kind: Kind,
    challenge: &[u8],
    pending: &T,
) -> Result<(), Response> {
    let state = serde_json::to_string(pending)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let c = Challenge {
        kind,
        state,
        expires_at: st.rp.clock.unix_millis() + st.config.challenge_ttl.as_millis() as i64,
    };
    st.db
        .put_challenge(storage_key(challenge), c)
        .await
        .map_err(db_error)
}

/// The challenge a response answers, from its clientDataJSON.
fn answered_challenge(client_data_json: &[u8]) -> Result<[u8; 32], String> {
    let cd = CollectedClientData::from_json_bytes(client_data_json)
        .map_err(|e| format!("clientDataJSON: {e}"))?;
    let c = cd
        .challenge_bytes()
        .map_err(|e| format!("clientDataJSON challenge: {e}"))?;
    Ok(storage_key(&c))
}

type Opened<T> = (T, [u8; 32], i64, Challenge, Option<Credential>);

/// The first steps of both verify endpoints: the rate limit, the body, the
/// challenge the response answers and the state kept with it (and, for an
/// assertion, the credential), read without consuming anything.
async fn open_ceremony<T: serde::de::DeserializeOwned>(
    st: &AppState,
    addr: SocketAddr,
    body: Body,
    kind: Kind,
    parts: impl Fn(&T) -> (&[u8], Option<Vec<u8>>),
) -> Result<Opened<T>, Response> {
    if !st.limiter.ip(addr.ip()) {
        return Err(limited(st));
    }
    let resp: T = ceremony_body(st, body).await?;
    let (client_data, credential) = parts(&resp);
    let hash = answered_challenge(client_data).map_err(|e| refused(st, e))?;
    let now = st.rp.clock.unix_millis();
    match st.db.peek_challenge(hash, kind, now, credential).await {
        Ok((Some(c), cred)) => Ok((resp, hash, now, c, cred)),
        Ok((None, _)) => Err(refused(st, "unknown, used or expired challenge")),
        Err(e) => Err(db_error(e)),
    }
}

async fn registration_verify(
    State(st): St,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body,
) -> Response {
    let start = Instant::now();
    let (resp, hash, now, pending, _) =
        match open_ceremony::<RegistrationResponseJson>(&st, addr, body, Kind::Registration, |r| {
            (&r.response.client_data_json, None)
        })
        .await
        {
            Ok(v) => v,
            Err(r) => return r,
        };
    let pending: RegPending = match serde_json::from_str(&pending.state) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let result = match keyhaven_rp::verify_registration(&st.rp, &resp, &pending.state, |_| false) {
        Ok(r) => r,
        Err(e) => return refused(&st, e.to_string()),
    };
    let (token, session_hash, expires) = match new_session(&st) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (owner, name) = match pending.user_id {
        Some(id) => {
            let n = st.db.credentials_of(id).await.map(|c| c.len()).unwrap_or(0);
            (Owner::Existing(id), format!("Passkey {}", n + 1))
        }
        None => (
            Owner::New {
                username: pending.username,
                display_name: pending.display_name,
                handle: pending.state.user_handle.clone(),
            },
            "Passkey 1".to_owned(),
        ),
    };
    let id = result.record.id.clone();
    match st
        .db
        .add_credential(
            hash,
            owner,
            name,
            result.record,
            now,
            (session_hash, expires),
        )
        .await
    {
        Ok(Added::Yes(_)) => {}
        Ok(Added::UsernameTaken) => return refused(&st, "this username was taken meanwhile"),
        Ok(Added::CredentialExists) => {
            return refused(&st, "this credential is already registered")
        }
        Ok(Added::ChallengeGone) => return refused(&st, "unknown, used or expired challenge"),
        Err(e) => return db_error(e),
    }
    st.metrics.registrations.fetch_add(1, Ordering::Relaxed);
    st.metrics.verify_latency(start.elapsed().as_secs_f64());
    let body = axum::Json(json!({ "verified": true, "credentialId": b64::encode(&id) }));
    with_cookie(&st, body.into_response(), &token)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthenticationOptionsBody {
    #[serde(default)]
    username: Option<String>,
}

/// A decoy credential ID for a username without an account, the same every
/// time (HMAC under the server secret), so options for unknown and known
/// usernames look alike.
fn decoy(st: &AppState, username: &str) -> (Vec<u8>, Vec<u8>) {
    let id =
        keyhaven_crypto::mac::hmac_sha256(&st.secret, format!("decoy-id:{username}").as_bytes());
    let handle = keyhaven_crypto::mac::hmac_sha256(
        &st.secret,
        format!("decoy-handle:{username}").as_bytes(),
    );
    (id.to_vec(), handle.to_vec())
}

async fn authentication_options_route(
    State(st): St,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body,
) -> Response {
    if !st.limiter.ip(addr.ip()) {
        return limited(&st);
    }
    let b: AuthenticationOptionsBody = match json_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (mut extras, user_id) = match b.username.as_deref() {
        None | Some("") => (AuthenticationExtras::default(), None),
        Some(u) if !valid_username(u) => {
            return error(
                StatusCode::BAD_REQUEST,
                "username: 1 to 64 letters, digits and -_.@",
            )
        }
        Some(u) => {
            if !st.limiter.user(u) {
                return limited(&st);
            }
            match st.db.user_by_name(u).await {
                Err(e) => return db_error(e),
                Ok(Some(user)) => {
                    let creds = match st.db.credentials_of(user.id).await {
                        Ok(c) => c,
                        Err(e) => return db_error(e),
                    };
                    (
                        AuthenticationExtras {
                            allow_credentials: creds.iter().map(descriptor).collect(),
                            user_handle: Some(user.handle.clone()),
                            ..Default::default()
                        },
                        Some(user.id),
                    )
                }
                Ok(None) => {
                    let (id, handle) = decoy(&st, u);
                    (
                        AuthenticationExtras {
                            allow_credentials: vec![CredentialDescriptorJson {
                                type_: "public-key".into(),
                                id,
                                transports: None,
                            }],
                            user_handle: Some(handle),
                            ..Default::default()
                        },
                        None,
                    )
                }
            }
        }
    };
    extras.challenge_prefix = time_prefix(&st.rp.clock).to_vec();
    let (options, state) = match authentication_options(&st.rp, extras) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let pending = AuthPending { state, user_id };
    if let Err(r) = put_challenge(
        &st,
        Kind::Authentication,
        &pending.state.challenge,
        &pending,
    )
    .await
    {
        return r;
    }
    axum::Json(options).into_response()
}

async fn authentication_verify(
    State(st): St,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Body,
) -> Response {
    let start = Instant::now();
    // The challenge is looked up here and consumed below, atomically with the
    // counter update and the session: of two submissions only one gets it.
    let (resp, hash, now, pending, cred) = match open_ceremony::<AuthenticationResponseJson>(
        &st,
        addr,
        body,
        Kind::Authentication,
        |r| (&r.response.client_data_json, Some(r.raw_id.clone())),
    )
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pending: AuthPending = match serde_json::from_str(&pending.state) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let Some(cred) = cred else {
        return refused(&st, "unknown credential");
    };
    if pending.user_id.is_some_and(|u| u != cred.user_id) {
        return refused(&st, "the credential belongs to another account");
    }
    let Credential {
        record,
        user_id,
        username,
        ..
    } = cred;
    let result =
        match keyhaven_rp::verify_authentication(&st.rp, &resp, &pending.state, |_| Some(record)) {
            Ok(r) => r,
            Err(e) => return refused(&st, e.to_string()),
        };
    let (token, session_hash, expires) = match new_session(&st) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st
        .db
        .record_login(hash, result.record, user_id, now, (session_hash, expires))
        .await
    {
        Ok(LoginUpdate::Done) => {}
        Ok(LoginUpdate::CounterRace) => {
            return refused(&st, "the signature counter did not increase")
        }
        Ok(LoginUpdate::ChallengeGone) => {
            return refused(&st, "unknown, used or expired challenge")
        }
        Err(e) => return db_error(e),
    }
    st.metrics.logins.fetch_add(1, Ordering::Relaxed);
    st.metrics.verify_latency(start.elapsed().as_secs_f64());
    let body = axum::Json(json!({ "verified": true, "username": username }));
    with_cookie(&st, body.into_response(), &token)
}

/// RFC 3339 UTC (whole seconds) from milliseconds since the epoch.
pub fn rfc3339(ms: i64) -> String {
    keyhaven_rp::time::format_rfc3339_millis(ms.div_euclid(1000) * 1000)
}

async fn me(State(st): St, headers: HeaderMap) -> Response {
    let user = match current_user(&st, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "not logged in"),
        Err(r) => return r,
    };
    let creds = match st.db.credentials_of(user.id).await {
        Ok(c) => c,
        Err(e) => return db_error(e),
    };
    let list: Vec<_> = creds
        .iter()
        .map(|c| {
            json!({
                "id": b64::encode(&c.record.id),
                "name": c.name,
                "signCount": c.record.sign_count,
                "createdAt": rfc3339(c.created_at),
                "lastUsedAt": c.last_used_at.map(rfc3339),
                "backupEligible": c.record.backup_eligible,
                "backedUp": c.record.backup_state,
                "transports": c.record.transports,
                "aaguid": c.record.aaguid,
            })
        })
        .collect();
    axum::Json(
        json!({ "username": user.username, "displayName": user.display_name, "credentials": list }),
    )
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    name: String,
}

async fn rename_credential(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let user = match current_user(&st, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "not logged in"),
        Err(r) => return r,
    };
    let b: RenameBody = match json_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = clean_label(&b.name) else {
        return error(
            StatusCode::BAD_REQUEST,
            "name: 1 to 64 characters, no control characters",
        );
    };
    let Ok(raw) = b64::decode(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the credential ID is not base64url",
        );
    };
    match st.db.rename_credential(user.id, raw, name).await {
        Ok(true) => axum::Json(json!({ "ok": true })).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "no such credential on this account"),
        Err(e) => db_error(e),
    }
}

#[derive(Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    confirm: Option<bool>,
}

async fn delete_credential(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<DeleteQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let user = match current_user(&st, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "not logged in"),
        Err(r) => return r,
    };
    let Ok(Query(q)) = q else {
        return error(StatusCode::BAD_REQUEST, "confirm must be true or false");
    };
    let Ok(raw) = b64::decode(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the credential ID is not base64url",
        );
    };
    match st
        .db
        .delete_credential(user.id, raw, q.confirm == Some(true))
        .await
    {
        Ok(Deleted::Yes) => axum::Json(json!({ "ok": true })).into_response(),
        Ok(Deleted::NotFound) => error(StatusCode::NOT_FOUND, "no such credential on this account"),
        Ok(Deleted::LastOne) => error(
            StatusCode::CONFLICT,
            "this is the account's last passkey; delete it with ?confirm=true",
        ),
        Err(e) => db_error(e),
    }
}

async fn logout(State(st): St, headers: HeaderMap) -> Response {
    if let Some(hash) = session_token(&headers) {
        if let Err(e) = st.db.delete_session(hash).await {
            return db_error(e);
        }
    }
    let mut resp = axum::Json(json!({ "ok": true })).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie(&st, "", 0));
    resp
}

async fn healthz(State(st): St) -> Response {
    match st.db.ping().await {
        Ok(()) => {
            axum::Json(json!({ "status": "ok", "database": st.db.backend() })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "unavailable", "database": st.db.backend() })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(st): St) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_keys_keep_the_time_order_and_hide_the_token() {
        let mut a = 1_700_000_000_000_000u64.to_be_bytes().to_vec();
        a.extend([7u8; 32]);
        let mut b = 1_700_000_000_000_001u64.to_be_bytes().to_vec();
        b.extend([7u8; 32]);
        let (ka, kb) = (storage_key(&a), storage_key(&b));
        assert_eq!(ka[..TIME_PREFIX], a[..TIME_PREFIX]);
        assert_eq!(ka[TIME_PREFIX..], sha256(&a)[..32 - TIME_PREFIX]);
        assert!(ka < kb);
        // One changed random byte: a different key.
        let mut c = a.clone();
        c[39] ^= 1;
        assert_ne!(storage_key(&c), ka);
        // A token without the prefix is keyed by its hash.
        assert_eq!(storage_key(&[5u8; 32]), sha256(&[5u8; 32]));
        // The prefix is the clock's microseconds, big-endian.
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(0x0102_0304_0506);
        assert_eq!(time_prefix(&Clock::fixed(t)), [0, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(rfc3339(1_767_225_600_999), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
