//! Passkey sign-up and sign-in for a small axum app with keyhaven-rp: the
//! code of docs/integrate.md. The app keeps its own storage (the `Store`
//! trait, here on HashMaps) and its own sessions (left out: a sign-in answers
//! with the username).
use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
use keyhaven_proto::json::{AuthenticationResponseJson, CredentialDescriptorJson, RegistrationResponseJson};
use keyhaven_rp::options::{authentication_options, registration_options};
use keyhaven_rp::options::{AuthenticationExtras, AuthenticationState, RegistrationExtras};
use keyhaven_rp::options::{RegistrationState, UserInfo};
use keyhaven_rp::{verify_authentication, verify_registration, CredentialRecord, RpConfig};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the app stores: accounts (username → user handle) and passkeys.
pub trait Store: Send + Sync {
    fn user_handle(&self, username: &str) -> Option<Vec<u8>>;
    fn add_user(&self, username: &str, handle: Vec<u8>) -> bool;
    fn credentials_of(&self, username: &str) -> Vec<CredentialRecord>;
    /// A passkey by its credential ID, with its owner's username.
    fn credential(&self, id: &[u8]) -> Option<(String, CredentialRecord)>;
    /// Adds a passkey, or replaces it (its counter and last use changed).
    fn save(&self, username: &str, record: CredentialRecord);
}

#[derive(Default)]
struct MemoryStore {
    users: Mutex<HashMap<String, Vec<u8>>>,
    creds: Mutex<HashMap<Vec<u8>, (String, CredentialRecord)>>,
}

impl Store for MemoryStore {
    fn user_handle(&self, username: &str) -> Option<Vec<u8>> {
        self.users.lock().unwrap().get(username).cloned()
    }
    fn add_user(&self, username: &str, handle: Vec<u8>) -> bool {
        let mut users = self.users.lock().unwrap();
        !users.contains_key(username) && users.insert(username.into(), handle).is_none()
    }
    fn credentials_of(&self, username: &str) -> Vec<CredentialRecord> {
        let creds = self.creds.lock().unwrap();
        creds.values().filter(|(u, _)| u == username).map(|(_, r)| r.clone()).collect()
    }
    fn credential(&self, id: &[u8]) -> Option<(String, CredentialRecord)> {
        self.creds.lock().unwrap().get(id).cloned()
    }
    fn save(&self, username: &str, record: CredentialRecord) {
        let mut creds = self.creds.lock().unwrap();
        creds.insert(record.id.clone(), (username.into(), record));
    }
}

/// A ceremony between its options and its response, by a one-time ID.
enum Pending {
    Registration(String, RegistrationState),
    Authentication(AuthenticationState),
}

struct App {
    rp: RpConfig,
    store: Box<dyn Store>,
    pending: Mutex<HashMap<String, (Instant, Pending)>>,
}
type Shared = State<Arc<App>>;
type Answer = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn refuse(e: impl std::fmt::Display) -> (StatusCode, Json<Value>) {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": e.to_string() })))
}

/// Keeps the state under the challenge's text, the ID the client sends back,
/// for the options' timeout; expired ones go, and at most 10,000 wait.
fn pend(app: &App, challenge: &[u8], p: Pending) -> Result<String, (StatusCode, Json<Value>)> {
    let mut pending = app.pending.lock().unwrap();
    let ttl = Duration::from_millis(app.rp.timeout_ms.into());
    pending.retain(|_, (at, _)| at.elapsed() < ttl);
    if pending.len() >= 10_000 {
        return Err((StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": "busy" }))));
    }
    let id = keyhaven_proto::b64::encode(challenge);
    pending.insert(id.clone(), (Instant::now(), p));
    Ok(id)
}

/// The ceremony `id`, once, if it has not expired.
fn take(app: &App, id: &str) -> Option<Pending> {
    let (at, p) = app.pending.lock().unwrap().remove(id)?;
    (at.elapsed() < Duration::from_millis(app.rp.timeout_ms.into())).then_some(p)
}

#[derive(Deserialize)]
struct Named {
    username: Option<String>,
}

async fn register_options(State(app): Shared, Json(b): Json<Named>) -> Answer {
    let name = b.username.filter(|n| !n.is_empty()).ok_or_else(|| refuse("username?"))?;
    if app.store.user_handle(&name).is_some() {
        return Err(refuse("this username is taken"));
    }
    // A passkey: a discoverable credential, so sign-in needs no username.
    let extras = RegistrationExtras { resident_key: Some("preferred".into()), ..Default::default() };
    let user = UserInfo { name: name.clone(), display_name: name.clone(), handle: None };
    let (options, state) = registration_options(&app.rp, &user, extras).map_err(refuse)?;
    let id = pend(&app, &options.challenge, Pending::Registration(name, state))?;
    Ok(Json(json!({ "ceremony": id, "publicKey": options })))
}

#[derive(Deserialize)]
struct Finish<T> {
    ceremony: String,
    credential: T,
}

async fn register_verify(State(app): Shared, Json(b): Json<Finish<RegistrationResponseJson>>) -> Answer {
    let Some(Pending::Registration(name, state)) = take(&app, &b.ceremony) else {
        return Err(refuse("unknown or used ceremony"));
    };
    let known = |id: &[u8]| app.store.credential(id).is_some();
    let result = verify_registration(&app.rp, &b.credential, &state, known).map_err(refuse)?;
    if !app.store.add_user(&name, state.user_handle.clone()) {
        return Err(refuse("this username is taken"));
    }
    app.store.save(&name, result.record);
    Ok(Json(json!({ "registered": name })))
}

async fn login_options(State(app): Shared, Json(b): Json<Named>) -> Answer {
    // With a username: its passkeys; without: any discoverable passkey.
    let mut extras = AuthenticationExtras::default();
    if let Some(name) = b.username.filter(|n| !n.is_empty()) {
        extras.user_handle = app.store.user_handle(&name);
        extras.allow_credentials = (app.store.credentials_of(&name).into_iter())
            .map(|r| CredentialDescriptorJson { type_: "public-key".into(), id: r.id, transports: None })
            .collect();
    }
    let (options, state) = authentication_options(&app.rp, extras).map_err(refuse)?;
    let id = pend(&app, &options.challenge, Pending::Authentication(state))?;
    Ok(Json(json!({ "ceremony": id, "publicKey": options })))
}

async fn login_verify(State(app): Shared, Json(b): Json<Finish<AuthenticationResponseJson>>) -> Answer {
    let Some(Pending::Authentication(state)) = take(&app, &b.ceremony) else {
        return Err(refuse("unknown or used ceremony"));
    };
    let owner = app.store.credential(&b.credential.raw_id);
    let record = owner.as_ref().map(|(_, r)| r.clone());
    let result = verify_authentication(&app.rp, &b.credential, &state, |_| record).map_err(refuse)?;
    let name = owner.map(|(n, _)| n).unwrap_or_default();
    app.store.save(&name, result.record); // the new counter and last use
    Ok(Json(json!({ "signedIn": name })))
}

#[tokio::main]
async fn main() {
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let mut rp = RpConfig::new(var("RP_ID", "localhost"), "axum passkeys");
    rp.origins = vec![var("ORIGIN", "http://localhost:3000")];
    let app = Arc::new(App { rp, store: Box::<MemoryStore>::default(), pending: Mutex::default() });
    let router = Router::new()
        .route("/register/options", post(register_options))
        .route("/register/verify", post(register_verify))
        .route("/login/options", post(login_options))
        .route("/login/verify", post(login_verify))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(var("LISTEN", "127.0.0.1:3000")).await.unwrap();
    println!("listening on {}", listener.local_addr().unwrap());
    axum::serve(listener, router).await.unwrap();
}
