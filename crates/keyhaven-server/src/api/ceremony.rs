//! The two ceremonies as routes (L3 §7.1 and §7.2 through keyhaven-rp):
//! options with their stored challenge, and verification that consumes it and
//! opens a session.

#![allow(clippy::result_large_err)] // handlers return ready responses as errors

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RegistrationOptionsBody {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    /// L3 §5.4 `hints`, passed through to the options.
    #[serde(default)]
    hints: Vec<Hint>,
}

/// L3 §5.8.7 PublicKeyCredentialHint: how the page would like the browser to
/// ask (e.g. a button "Add a security key" sends `security-key`).
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Hint {
    SecurityKey,
    ClientDevice,
    Hybrid,
}

impl Hint {
    fn as_str(self) -> &'static str {
        match self {
            Hint::SecurityKey => "security-key",
            Hint::ClientDevice => "client-device",
            Hint::Hybrid => "hybrid",
        }
    }
}

/// The hints in order, each once.
fn hint_list(hints: &[Hint]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in hints {
        if !out.iter().any(|o| o == h.as_str()) {
            out.push(h.as_str().into());
        }
    }
    out
}

#[derive(Serialize, Deserialize)]
pub(super) struct RegPending {
    state: RegistrationState,
    username: String,
    display_name: String,
    user_id: Option<i64>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct AuthPending {
    state: AuthenticationState,
    user_id: Option<i64>,
}

/// A credential descriptor without transports: decoys for unknown usernames
/// carry none either, so the two cannot be told apart.
pub(super) fn descriptor(c: &Credential) -> CredentialDescriptorJson {
    CredentialDescriptorJson {
        type_: "public-key".into(),
        id: c.record.id.clone(),
        transports: None,
    }
}

/// Who a registration is for, the account's ID if it exists, and the
/// credentials to exclude.
type Registrant = (
    UserInfo,
    Option<i64>,
    Vec<keyhaven_proto::json::CredentialDescriptorJson>,
);

/// Logged in: another passkey for this account (the username in the body is ignored).
async fn for_account(st: &AppState, u: User) -> Result<Registrant, Response> {
    let creds = st.db.credentials_of(u.id).await.map_err(db_error)?;
    let user = UserInfo {
        name: u.username,
        display_name: u.display_name,
        handle: Some(u.handle),
    };
    Ok((user, Some(u.id), creds.iter().map(descriptor).collect()))
}

/// Not logged in: a new account, its username valid and free, within the
/// client address's account-creation limit.
async fn for_new_account(
    st: &AppState,
    client: IpAddr,
    b: RegistrationOptionsBody,
) -> Result<Registrant, Response> {
    let Some(username) = b.username.as_deref().and_then(normalize_username) else {
        return Err(error(StatusCode::BAD_REQUEST, USERNAME_RULE));
    };
    let display = match b.display_name.as_deref().map(clean_label) {
        None => username.clone(),
        Some(Some(d)) => d,
        Some(None) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("displayName: {LABEL_RULE}"),
            ))
        }
    };
    match st.db.user_by_name(&username).await {
        Ok(Some(_)) => return Err(error(StatusCode::CONFLICT, "this username is taken")),
        Ok(None) => {}
        Err(e) => return Err(db_error(e)),
    }
    // An account is about to be started: charged to the client address only
    // (naming a taken username costs that account nothing).
    if !st.limiter.signup(client) {
        return Err(limited(st));
    }
    let user = UserInfo {
        name: username,
        display_name: display,
        handle: None,
    };
    Ok((user, None, vec![]))
}

pub(super) async fn registration_options_route(
    State(st): St,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !st.limiter.ip(client) {
        return limited(&st);
    }
    let b: RegistrationOptionsBody = match json_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let me = match current_session(&st, &headers).await {
        Ok(Some((u, s))) => {
            // Another passkey is a sensitive change: only right after a
            // user-verifying ceremony in this session.
            if !fresh(&st, &s) {
                return reauthenticate(&st);
            }
            Some(u)
        }
        Ok(None) => None,
        Err(r) => return r,
    };
    // Logged in, a username naming another account is a mistake, not a
    // request to register it: refused rather than silently ignored.
    if let (Some(u), Some(named)) = (&me, b.username.as_deref().filter(|n| !n.is_empty())) {
        if normalize_username(named).as_deref() != Some(u.username.as_str()) {
            return error(
                StatusCode::CONFLICT,
                format!(
                    "signed in as {}: sign out to register another account",
                    u.username
                ),
            );
        }
    }
    let hints = hint_list(&b.hints);
    let (user, user_id, exclude) = match me {
        Some(u) => match for_account(&st, u).await {
            Ok(v) => v,
            Err(r) => return r,
        },
        None => match for_new_account(&st, client, b).await {
            Ok(v) => v,
            Err(r) => return r,
        },
    };
    let extras = RegistrationExtras {
        challenge_prefix: time_prefix(&st.rp.clock).to_vec(),
        exclude_credentials: exclude,
        resident_key: Some("preferred".into()),
        hints,
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

pub(super) async fn put_challenge<T: Serialize>(
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
pub(super) fn answered_challenge(client_data_json: &[u8]) -> Result<[u8; 32], String> {
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
pub(super) async fn open_ceremony<T: serde::de::DeserializeOwned>(
    st: &AppState,
    client: IpAddr,
    body: Body,
    kind: Kind,
    parts: impl Fn(&T) -> (&[u8], Option<Vec<u8>>),
) -> Result<Opened<T>, Response> {
    if !st.limiter.ip(client) {
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

pub(super) async fn registration_verify(
    State(st): St,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let start = Instant::now();
    let (resp, hash, now, pending, _) = match open_ceremony::<RegistrationResponseJson>(
        &st,
        client,
        body,
        Kind::Registration,
        |r| (&r.response.client_data_json, None),
    )
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pending: RegPending = match serde_json::from_str(&pending.state) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    // A passkey for an existing account is added only within a live session
    // of that account (not after its logout, not from another account's).
    if let Some(owner) = pending.user_id {
        match current_user(&st, &headers).await {
            Ok(Some(u)) if u.id == owner => {}
            Ok(_) => {
                return refused(
                    &st,
                    "the session that asked for this passkey has ended; sign in again",
                )
            }
            Err(r) => return r,
        }
    }
    let result = match keyhaven_rp::verify_registration(&st.rp, &resp, &pending.state, |_| false) {
        Ok(r) => r,
        Err(e) => return refused(&st, e.to_string()),
    };
    // A new account's first session; a passkey added to an account opens
    // none (the session that asked for it goes on).
    let session = match pending.user_id {
        Some(_) => None,
        None => match new_session(&st, &headers, result.record.uv_initialized) {
            Ok(s) => Some(s),
            Err(r) => return r,
        },
    };
    let log_name = pending.username.clone();
    // Named after its provider when the AAGUID is known ("iCloud Keychain",
    // "YubiKey 5 Series"), else "Passkey N"; a name the account already
    // uses gets a number.
    let provider = st
        .config
        .providers
        .get(&result.record.aaguid)
        .map(|p| p.name.clone());
    let (owner, taken) = match pending.user_id {
        Some(id) => {
            let names = match st.db.credentials_of(id).await {
                Ok(c) => c.into_iter().map(|c| c.name).collect(),
                Err(e) => return db_error(e),
            };
            (Owner::Existing(id), names)
        }
        None => (
            Owner::New {
                username: pending.username,
                display_name: pending.display_name,
                handle: pending.state.user_handle.clone(),
            },
            Vec::new(),
        ),
    };
    let name = passkey_name(provider, &taken);
    let id = result.record.id.clone();
    match st
        .db
        .add_credential(
            hash,
            owner,
            name,
            result.record,
            now,
            session.as_ref().map(|(_, s)| s.clone()),
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
    // While fewer accounts exist than decoys sample, each new one joins at once.
    if st
        .decoy_shapes
        .read()
        .is_ok_and(|s| (s.len() as i64) < DECOY_SAMPLE)
    {
        crate::refresh_decoy_shapes(&st).await;
    }
    st.metrics.verify_latency(start.elapsed().as_secs_f64());
    let body = axum::Json(json!({ "verified": true, "credentialId": b64::encode(&id) }));
    let resp = match &session {
        Some((token, _)) => with_cookie(&st, body.into_response(), token),
        None => body.into_response(),
    };
    for_user(resp, &log_name)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthenticationOptionsBody {
    #[serde(default)]
    username: Option<String>,
    /// Signed in: verify the user again (UV required) before a sensitive
    /// change; the options name the account's passkeys.
    #[serde(default)]
    reauthenticate: bool,
    /// L3 §5.5 `hints`, passed through to the options.
    #[serde(default)]
    hints: Vec<Hint>,
}

/// How many of the oldest accounts decoys take their shapes from.
pub const DECOY_SAMPLE: i64 = 1000;

/// A well-mixed 64 bits from `x` (the SplitMix64 finalizer; not for secrets,
/// only to rank sampled accounts).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Decoy credential IDs and user handle for a username without an account,
/// the same every time and shaped like a real account's: the number and
/// lengths of its IDs are those of one of the oldest accounts (chosen by
/// rendezvous hashing on the username, so the choice stays put as accounts
/// are added), the bytes HMACs under the server secret.
pub(super) fn decoy(st: &AppState, username: &str) -> (Vec<Vec<u8>>, Vec<u8>) {
    use keyhaven_crypto::mac::hmac_sha256;
    let seed = hmac_sha256(&st.secret, format!("decoy-shape:{username}").as_bytes());
    let h = u64::from_be_bytes(seed[..8].try_into().expect("8 bytes"));
    let lengths: Vec<usize> = st
        .decoy_shapes
        .read()
        .ok()
        .and_then(|shapes| {
            shapes
                .iter()
                .max_by_key(|(user, _)| mix(h ^ *user as u64))
                .map(|(_, l)| l.clone())
        })
        .unwrap_or_else(|| vec![32]);
    let ids = lengths
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let mut id = Vec::with_capacity(len + 32);
            let mut block = 0u32;
            while id.len() < len {
                id.extend(hmac_sha256(
                    &st.secret,
                    format!("decoy-id:{username}:{i}:{block}").as_bytes(),
                ));
                block += 1;
            }
            id.truncate(len);
            id
        })
        .collect();
    let handle = hmac_sha256(&st.secret, format!("decoy-handle:{username}").as_bytes());
    (ids, handle.to_vec())
}

/// Options to verify the signed-in user again: their passkeys, UV required.
async fn reauthentication(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<(AuthenticationExtras, Option<i64>), Response> {
    let (user, _) = signed_in(st, headers).await?;
    let creds = st.db.credentials_of(user.id).await.map_err(db_error)?;
    Ok((
        AuthenticationExtras {
            allow_credentials: creds.iter().map(descriptor).collect(),
            user_handle: Some(user.handle),
            user_verification: Some(UserVerification::Required),
            ..Default::default()
        },
        Some(user.id),
    ))
}

pub(super) async fn authentication_options_route(
    State(st): St,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !st.limiter.ip(client) {
        return limited(&st);
    }
    let b: AuthenticationOptionsBody = match json_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let hints = hint_list(&b.hints);
    if b.reauthenticate {
        return match reauthentication(&st, &headers).await {
            Ok((mut extras, user_id)) => {
                extras.hints = hints;
                issue_authentication(&st, extras, user_id).await
            }
            Err(r) => r,
        };
    }
    let named = match b.username.as_deref() {
        None | Some("") => None,
        Some(u) => match normalize_username(u) {
            Some(n) => Some(n),
            None => return error(StatusCode::BAD_REQUEST, USERNAME_RULE),
        },
    };
    let (extras, user_id) = match named.as_deref() {
        None => (AuthenticationExtras::default(), None),
        // One read for a known and an unknown username alike.
        Some(u) => match st.db.account(u).await {
            Err(e) => return db_error(e),
            Ok(Some((user, creds))) => (
                AuthenticationExtras {
                    allow_credentials: creds.iter().map(descriptor).collect(),
                    user_handle: Some(user.handle.clone()),
                    ..Default::default()
                },
                Some(user.id),
            ),
            Ok(None) => {
                let (ids, handle) = decoy(&st, u);
                (
                    AuthenticationExtras {
                        allow_credentials: ids
                            .into_iter()
                            .map(|id| CredentialDescriptorJson {
                                type_: "public-key".into(),
                                id,
                                transports: None,
                            })
                            .collect(),
                        user_handle: Some(handle),
                        ..Default::default()
                    },
                    None,
                )
            }
        },
    };
    let extras = AuthenticationExtras { hints, ..extras };
    issue_authentication(&st, extras, user_id).await
}

/// Authentication options and their stored challenge.
async fn issue_authentication(
    st: &AppState,
    mut extras: AuthenticationExtras,
    user_id: Option<i64>,
) -> Response {
    extras.challenge_prefix = time_prefix(&st.rp.clock).to_vec();
    let (options, state) = match authentication_options(&st.rp, extras) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let pending = AuthPending { state, user_id };
    if let Err(r) =
        put_challenge(st, Kind::Authentication, &pending.state.challenge, &pending).await
    {
        return r;
    }
    axum::Json(options).into_response()
}

pub(super) async fn authentication_verify(
    State(st): St,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let start = Instant::now();
    // The challenge is looked up here and consumed below, atomically with the
    // counter update and the session: of two submissions only one gets it.
    let (resp, hash, now, pending, cred) = match open_ceremony::<AuthenticationResponseJson>(
        &st,
        client,
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
        // The page tells the browser's passkey manager, so that a passkey
        // deleted here stops being offered (L3 §5.1.10.1 signalUnknownCredential).
        return refused_with(
            &st,
            "unknown credential",
            json!({ "unknownCredential": true }),
        );
    };
    // An attempt that could sign this account in: charged to the account
    // and this client address together, so no one else can spend it.
    if !st.limiter.sign_in(cred.user_id, client) {
        return limited(&st);
    }
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
    let (token, session) = match new_session(&st, &headers, result.user_verified) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st
        .db
        .record_login(hash, result.record, user_id, now, session)
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
    for_user(with_cookie(&st, body.into_response(), &token), &username)
}

/// A new passkey's name: its provider's, numbered past the names in `taken`
/// ("YubiKey 5 Series 2"), or the first free "Passkey N".
fn passkey_name(provider: Option<String>, taken: &[String]) -> String {
    let free = |n: &String| !taken.iter().any(|t| t == n);
    match provider {
        Some(p) if free(&p) => p,
        Some(p) => (2..).map(|i| format!("{p} {i}")).find(free).unwrap_or(p),
        None => (taken.len() + 1..)
            .map(|i| format!("Passkey {i}"))
            .find(free)
            .unwrap_or_else(|| "Passkey".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::passkey_name;

    #[test]
    fn new_passkeys_are_named_after_their_provider_and_numbered() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let yk = || Some("YubiKey 5 Series".to_string());
        assert_eq!(passkey_name(yk(), &[]), "YubiKey 5 Series");
        assert_eq!(passkey_name(yk(), &t(&["Passkey 1"])), "YubiKey 5 Series");
        assert_eq!(
            passkey_name(yk(), &t(&["YubiKey 5 Series"])),
            "YubiKey 5 Series 2"
        );
        assert_eq!(
            passkey_name(yk(), &t(&["YubiKey 5 Series", "YubiKey 5 Series 2"])),
            "YubiKey 5 Series 3"
        );
        assert_eq!(passkey_name(None, &[]), "Passkey 1");
        assert_eq!(passkey_name(None, &t(&["Work"])), "Passkey 2");
        // "Passkey 2" renamed away and back: the next free number.
        assert_eq!(passkey_name(None, &t(&["Passkey 2", "x"])), "Passkey 3");
    }
}
