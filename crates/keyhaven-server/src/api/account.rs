//! The account routes: the logged-in user's passkeys (list, rename, delete)
//! and logout.

#![allow(clippy::result_large_err)] // handlers return ready responses as errors

use super::*;

pub(super) async fn me(State(st): St, headers: HeaderMap) -> Response {
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
                "provider": provider_json(&st, &c.record.aaguid),
            })
        })
        .collect();
    // What the page's Signal API calls need (L3 §5.1.10): the RP ID and the
    // user handle as base64url.
    axum::Json(json!({
        "rpId": st.rp.rp_id,
        "userId": b64::encode(&user.handle),
        "username": user.username,
        "displayName": user.display_name,
        "credentials": list,
    }))
    .into_response()
}

/// The provider of a passkey's AAGUID, if known: its name and the URLs of
/// its icons (served by [`provider_icon`]).
fn provider_json(st: &AppState, aaguid: &str) -> Value {
    let Some(p) = st.config.providers.get(aaguid) else {
        return Value::Null;
    };
    let url = |icon: &Option<crate::providers::Icon>, variant: &str| {
        icon.as_ref()
            .map(|_| format!("/providers/{}/{variant}", aaguid.to_ascii_lowercase()))
    };
    json!({
        "name": p.name,
        "iconLight": url(&p.icon_light, "light"),
        "iconDark": url(&p.icon_dark, "dark"),
        "source": match p.source {
            crate::providers::Source::List => "aaguid-list",
            crate::providers::Source::Mds => "mds",
        },
    })
}

/// `GET /providers/{aaguid}/{light|dark}`: a provider's icon, from the
/// binary (or the configured list or MDS BLOB). An SVG from a third party
/// is served sandboxed, so opening it on its own runs nothing on this origin.
pub(super) async fn provider_icon(
    State(st): St,
    Path((aaguid, variant)): Path<(String, String)>,
) -> Response {
    let Some(p) = st.config.providers.get(&aaguid) else {
        return (StatusCode::NOT_FOUND, "no such provider").into_response();
    };
    let icon = match variant.as_str() {
        "light" => &p.icon_light,
        "dark" => &p.icon_dark,
        _ => return (StatusCode::NOT_FOUND, "light or dark").into_response(),
    };
    let Some(icon) = icon else {
        return (StatusCode::NOT_FOUND, "no icon").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, icon.media_type),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            ),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        icon.bytes.clone(),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct UpdateMeBody {
    display_name: String,
}

/// Changes the display name. The page then tells the passkey manager
/// (L3 §5.1.10.3 signalCurrentUserDetails).
pub(super) async fn update_me(State(st): St, headers: HeaderMap, body: Body) -> Response {
    let user = match current_user(&st, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "not logged in"),
        Err(r) => return r,
    };
    let b: UpdateMeBody = match json_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(name) = clean_label(&b.display_name) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("displayName: {LABEL_RULE}"),
        );
    };
    match st.db.set_display_name(user.id, name.clone()).await {
        Ok(true) => axum::Json(json!({
            "ok": true,
            "rpId": st.rp.rp_id,
            "userId": b64::encode(&user.handle),
            "username": user.username,
            "displayName": name,
        }))
        .into_response(),
        Ok(false) => error(StatusCode::UNAUTHORIZED, "not logged in"),
        Err(e) => db_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RenameBody {
    name: String,
}

pub(super) async fn rename_credential(
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
        return error(StatusCode::BAD_REQUEST, format!("name: {LABEL_RULE}"));
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
pub(super) struct DeleteQuery {
    #[serde(default)]
    confirm: Option<bool>,
}

pub(super) async fn delete_credential(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<DeleteQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (user, session) = match signed_in(&st, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    // A sensitive change: only right after a user-verifying ceremony.
    if !fresh(&st, &session) {
        return reauthenticate(&st);
    }
    let Ok(Query(q)) = q else {
        return error(StatusCode::BAD_REQUEST, "confirm must be true or false");
    };
    let Ok(raw) = b64::decode(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the credential ID is not base64url",
        );
    };
    let ends_this_session = raw == session.credential_id;
    match st
        .db
        .delete_credential(user.id, raw, q.confirm == Some(true))
        .await
    {
        // The sessions that passkey opened are over, this one among them
        // if it did: then its cookie is cleared too.
        Ok(Deleted::Yes { sessions_ended }) => {
            // The passkeys left, for the page's signalAllAcceptedCredentials
            // (L3 §5.1.10.2), which it sends even when this deletion signed
            // it out.
            let remaining = match st.db.credentials_of(user.id).await {
                Ok(c) => c
                    .iter()
                    .map(|c| b64::encode(&c.record.id))
                    .collect::<Vec<_>>(),
                Err(e) => return db_error(e),
            };
            let resp = axum::Json(json!({
                "ok": true,
                "sessionsEnded": sessions_ended,
                "signedOut": ends_this_session,
                "rpId": st.rp.rp_id,
                "userId": b64::encode(&user.handle),
                "acceptedCredentialIds": remaining,
            }))
            .into_response();
            if ends_this_session {
                without_cookie(&st, resp)
            } else {
                resp
            }
        }
        Ok(Deleted::NotFound) => error(StatusCode::NOT_FOUND, "no such credential on this account"),
        Ok(Deleted::LastOne) => error(
            StatusCode::CONFLICT,
            "this is the account's last passkey; delete it with ?confirm=true",
        ),
        Err(e) => db_error(e),
    }
}

/// The account's live sessions, the most recently seen first.
pub(super) async fn sessions(State(st): St, headers: HeaderMap) -> Response {
    let (user, current) = match signed_in(&st, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let list = match st.db.sessions_of(user.id, st.rp.clock.unix_millis()).await {
        Ok(l) => l,
        Err(e) => return db_error(e),
    };
    let list: Vec<_> = list
        .iter()
        .map(|s| {
            json!({
                "id": b64::encode(&s.key),
                "device": describe_device(&s.device),
                "userAgent": s.device,
                "createdAt": rfc3339(s.created_at),
                "lastSeenAt": rfc3339(s.last_seen_at),
                "verifiedAt": s.verified_at.map(rfc3339),
                "expiresAt": rfc3339(s.expires_at),
                "credentialId": b64::encode(&s.credential_id),
                "current": s.key == current.key,
            })
        })
        .collect();
    axum::Json(json!({ "sessions": list })).into_response()
}

/// Ends one of the account's sessions (another browser's, or this one).
pub(super) async fn end_session(
    State(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (user, current) = match signed_in(&st, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(key) = b64::decode(&id)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "the session ID is not 32 bytes of base64url",
        );
    };
    match st.db.end_session_of(user.id, key).await {
        Ok(true) => {
            let this_one = key == current.key;
            let resp = axum::Json(json!({ "ok": true, "signedOut": this_one })).into_response();
            if this_one {
                without_cookie(&st, resp)
            } else {
                resp
            }
        }
        Ok(false) => error(StatusCode::NOT_FOUND, "no such session on this account"),
        Err(e) => db_error(e),
    }
}

pub(super) async fn logout(State(st): St, headers: HeaderMap) -> Response {
    // With two session cookies, neither is ended; the cookie is cleared.
    if let Ok(Some(hash)) = session_token(&headers, cookie_name(&st)) {
        if let Err(e) = st.db.delete_session(hash).await {
            return db_error(e);
        }
    }
    without_cookie(&st, axum::Json(json!({ "ok": true })).into_response())
}
