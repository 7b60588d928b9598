//! The HTTP API (a contract other clients are written against):
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /api/registration/options` | `{"username", "displayName"}` | PublicKeyCredentialCreationOptionsJSON; logged in: a passkey for the current account (403 `"reauthenticate": true` unless verified within the window); a taken username: 409 |
//! | `POST /api/registration/verify` | RegistrationResponseJSON | `{"verified": true, "credentialId"}` (+ session cookie for a new account), or 400 `{"verified": false, "error"}` |
//! | `POST /api/authentication/options` | `{"username"}`, `{}` or (signed in) `{"reauthenticate": true}` | PublicKeyCredentialRequestOptionsJSON |
//! | `POST /api/authentication/verify` | AuthenticationResponseJSON | `{"verified": true, "username"}` + session cookie (replacing the browser's session), or 400 |
//! | `GET /api/me` | — | `{"username", "credentials": [...]}`, 401 when not logged in |
//! | `PATCH /api/credentials/{id}` | `{"name"}` | `{"ok": true}` |
//! | `DELETE /api/credentials/{id}[?confirm=true]` | — | `{"ok": true, "sessionsEnded", "signedOut"}`; the last one only with confirm (else 409); 403 reauthenticate as above |
//! | `GET /api/sessions` | — | `{"sessions": [{"id", "device", "userAgent", "createdAt", "lastSeenAt", "verifiedAt", "expiresAt", "credentialId", "current"}]}` |
//! | `DELETE /api/sessions/{id}` | — | `{"ok": true, "signedOut"}`, 404 if not this account's |
//! | `POST /api/logout` | — | `{"ok": true}` |
//! | `GET /api/openapi.json`, `GET /healthz`, `GET /metrics` | — | — |

#![allow(clippy::result_large_err)] // handlers return ready responses as errors

use crate::db::{
    Added, Challenge, Credential, Deleted, Kind, LoginUpdate, NewSession, Owner, Session, User,
};
use crate::{guard, web, AppState};
use axum::body::Body;
use axum::extract::{ConnectInfo, Extension, MatchedPath, Path, Query, Request, State};
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
use keyhaven_rp::config::UserVerification;
use keyhaven_rp::options::{
    authentication_options, registration_options, AuthenticationExtras, AuthenticationState,
    RegistrationExtras, RegistrationState, UserInfo,
};
use keyhaven_rp::time::Clock;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

mod account;
mod ceremony;
mod session;
use account::*;
pub use ceremony::DECOY_SAMPLE;
use ceremony::*;
pub use session::describe_device;
use session::*;

/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// The session cookie's name on http://localhost.
pub const COOKIE: &str = "kh_session";
/// The session cookie's name on https origins.
pub const HOST_COOKIE: &str = "__Host-kh_session";

type St = State<Arc<AppState>>;

/// The client's address (see [`guard::client_address`]), put on every
/// request by the guard layer.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The router with every route, the body limit and the guards.
pub fn router(st: Arc<AppState>) -> Router {
    let mut r = Router::new();
    // /metrics here unless it has an address of its own.
    if st.config.metrics_listen.is_none() {
        r = r.route("/metrics", get(metrics));
    }
    r.route(
        "/api/registration/options",
        post(registration_options_route),
    )
    .route("/api/registration/verify", post(registration_verify))
    .route(
        "/api/authentication/options",
        post(authentication_options_route),
    )
    .route("/api/authentication/verify", post(authentication_verify))
    .route("/api/me", get(me).patch(update_me))
    .route(
        "/api/credentials/{id}",
        patch(rename_credential).delete(delete_credential),
    )
    .route("/api/sessions", get(sessions))
    .route("/api/sessions/{id}", axum::routing::delete(end_session))
    .route("/api/logout", post(logout))
    .route("/providers/{aaguid}/{variant}", get(provider_icon))
    .route("/api/openapi.json", get(web::openapi))
    .route("/healthz", get(healthz))
    .route("/", get(web::index))
    .route("/account", get(web::index))
    .route("/app.js", get(web::app_js))
    .route("/style.css", get(web::style_css))
    .fallback(not_found)
    .layer(middleware::from_fn_with_state(st.clone(), guard_layer))
    .with_state(st)
}

/// `/metrics` alone, for `--metrics-listen`.
pub fn metrics_router(st: Arc<AppState>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(st)
}

/// The username a response concerns, for the access log (set by handlers).
#[derive(Debug, Clone)]
pub struct LogUser(pub String);

/// Marks `resp` as concerning `username` in the access log.
fn for_user(mut resp: Response, username: &str) -> Response {
    resp.extensions_mut().insert(LogUser(username.to_owned()));
    resp
}

/// Whether a request's body is declared JSON (`application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether a request carries a body.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|n| n.trim() != "0")
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": msg.into() }))).into_response()
}

/// A refused ceremony: exactly 400 `{"verified": false, "error": …}`.
fn refused(st: &AppState, msg: impl Into<String>) -> Response {
    refused_with(st, msg, json!({}))
}

/// [`refused`] with more members in the answer (`extra` is an object).
fn refused_with(st: &AppState, msg: impl Into<String>, extra: Value) -> Response {
    st.metrics.refused.fetch_add(1, Ordering::Relaxed);
    let msg = msg.into();
    tracing::info!(reason = %msg, "ceremony refused");
    let mut body = json!({ "verified": false, "error": msg });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        error(StatusCode::NOT_FOUND, "no such API route")
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}

/// CSRF for state-changing requests, security headers, metrics and the access log.
async fn guard_layer(State(st): St, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Served without connect info (embedded): one unknown address.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client = guard::client_address(peer, req.headers(), &st.config.trusted_proxies);
    req.extensions_mut().insert(ClientAddr(client));
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
    } else if api && changing && has_body(req.headers()) && !is_json(req.headers()) {
        error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be Content-Type: application/json",
        )
    } else {
        next.run(req).await
    };
    guard::security_headers(resp.headers_mut(), api);
    if st.hsts {
        resp.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    // Taken out of the response (it was only there for this log line).
    let user = resp.extensions_mut().remove::<LogUser>();
    let user = user.as_ref().map_or("", |u| u.0.as_str());
    let status = resp.status().as_u16();
    st.metrics.request(route, status);
    tracing::info!(
        method = %method,
        route = %route,
        client = %client,
        user = %user,
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

fn db_error(e: crate::db::DbError) -> Response {
    tracing::error!(error = %e, "database");
    error(StatusCode::SERVICE_UNAVAILABLE, "storage is unavailable")
}

fn limited(st: &AppState) -> Response {
    st.metrics.limited.fetch_add(1, Ordering::Relaxed);
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests; try again later",
    )
}

/// A username as stored and compared: PRECIS UsernameCaseMapped (RFC 8265
/// §3.3, as L3 §5.4.3 suggests: fullwidth forms mapped to their ASCII
/// letters, lowercased, NFC), then 1–64 of `a-z 0-9 - _ . @`. So "Alice",
/// "ALICE" and "Ａｌｉｃｅ" are one account, "alice"; anything else
/// (other scripts, spaces, controls) is refused.
pub fn normalize_username(u: &str) -> Option<String> {
    use precis_core::profile::Profile;
    let folded = precis_profiles::UsernameCaseMapped::new().enforce(u).ok()?;
    (!folded.is_empty()
        && folded.len() <= 64
        && folded.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b'@')
        }))
    .then(|| folded.into_owned())
}

/// The refusal of a username [`normalize_username`] does not accept.
const USERNAME_RULE: &str = "username: 1 to 64 letters, digits and -_.@ (compared without case)";

/// A display name or passkey name: PRECIS Nickname (RFC 8266: spaces
/// trimmed and collapsed, NFKC), 1–64 characters. The profile refuses
/// controls, bidi overrides (U+202E) and zero-width characters (U+200B),
/// which would otherwise reach authenticators' account pickers.
fn clean_label(s: &str) -> Option<String> {
    use precis_core::profile::Profile;
    let t = precis_profiles::Nickname::new().enforce(s).ok()?;
    (!t.is_empty() && t.chars().count() <= 64).then(|| t.into_owned())
}

/// The refusal of a label [`clean_label`] does not accept.
const LABEL_RULE: &str =
    "1 to 64 characters; no control, bidirectional-override or zero-width characters";

/// RFC 3339 UTC (whole seconds) from milliseconds since the epoch.
pub fn rfc3339(ms: i64) -> String {
    keyhaven_rp::time::format_rfc3339_millis(ms.div_euclid(1000) * 1000)
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
                axum::Json(json!({
                    "status": "unavailable",
                    "database": st.db.backend(),
                    "reason": e.to_string(),
                })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(st): St) -> Response {
    let mut text = st.metrics.render();
    let c = &st.connections;
    text.push_str(&format!(
        "# HELP keyhaven_connections_open HTTP connections open.\n# TYPE keyhaven_connections_open gauge\nkeyhaven_connections_open {}\n\
         # HELP keyhaven_connections_refused_total Connections closed at once: the connection limit was reached.\n# TYPE keyhaven_connections_refused_total counter\nkeyhaven_connections_refused_total {}\n",
        c.open.load(Ordering::Relaxed),
        c.refused.load(Ordering::Relaxed),
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fold_case_and_width_and_refuse_the_rest() {
        for (input, want) in [
            ("alice", "alice"),
            ("Alice", "alice"),
            ("ALICE", "alice"),
            ("\u{ff21}\u{ff4c}ice", "alice"),
            ("Bob.Smith@Example.org", "bob.smith@example.org"),
            ("a-_.9", "a-_.9"),
        ] {
            assert_eq!(
                normalize_username(input).as_deref(),
                Some(want),
                "{input:?}"
            );
        }
        for bad in [
            "",
            " alice",
            "al ice",
            "alice\u{200b}",
            "\u{202e}alice",
            "\u{430}lice", // Cyrillic a
            "al/ice",
            &"a".repeat(65),
        ] {
            assert_eq!(normalize_username(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn labels_refuse_bidi_overrides_and_zero_width_characters() {
        assert_eq!(
            clean_label("  My   YubiKey ").as_deref(),
            Some("My YubiKey")
        );
        assert_eq!(clean_label("Zoë's phone").as_deref(), Some("Zoë's phone"));
        assert_eq!(clean_label("Ｗork").as_deref(), Some("Work"), "NFKC");
        for bad in [
            "evil\u{202e}gpj.exe",
            "zero\u{200b}width",
            "joiner\u{200d}",
            "bom\u{feff}",
            "tab\tname",
            "new\nline",
            "",
            "   ",
        ] {
            assert_eq!(clean_label(bad), None, "{bad:?}");
        }
        assert!(clean_label(&"é".repeat(64)).is_some());
        assert!(clean_label(&"é".repeat(65)).is_none());
    }

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
