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

pub(super) async fn logout(State(st): St, headers: HeaderMap) -> Response {
    // With two session cookies, neither is ended; the cookie is cleared.
    if let Ok(Some(hash)) = session_token(&headers, cookie_name(&st)) {
        if let Err(e) = st.db.delete_session(hash).await {
            return db_error(e);
        }
    }
    let mut resp = axum::Json(json!({ "ok": true })).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie(&st, "", 0));
    resp
}
