//! [`Client::create`] (L3 §5.1.3) and [`Client::get`] (L3 §5.1.4) over any
//! number of CTAP 2.2 authenticators.

use crate::ctap::Session;
use crate::device::{AbortSignal, Cancel, Device};
use crate::error::{ClientError, TransportError};
use crate::extensions::{cred_protect_level, prf_salts, HmacSecretSession};
use crate::large_blob;
use crate::origin::{related_origin_allowed, Origin, OriginError};
use crate::pin::{self, NoPin, PinProvider, Token};
use crate::response::{
    AuthenticatorAssertionResponse, AuthenticatorAttestationResponse, CreationOptions,
    PublicKeyCredential, RequestOptions,
};
use keyhaven_crypto::digest::sha256;
use keyhaven_proto::attestation::AttestationObject;
use keyhaven_proto::authdata::{AttestedCredentialData, AuthenticatorData};
use keyhaven_proto::cbor::Value;
use keyhaven_proto::client_data::CollectedClientData;
use keyhaven_proto::ctap2::client_pin::permissions;
use keyhaven_proto::ctap2::get_assertion::{GetAssertionRequest, GetAssertionResponse};
use keyhaven_proto::ctap2::make_credential::{MakeCredentialRequest, MakeCredentialResponse};
use keyhaven_proto::ctap2::types::{
    CredentialDescriptor, CredentialParameters, Options, RpEntity, UserEntity,
};
use keyhaven_proto::ctap2::{Request, ResponseBody, StatusCode};
use keyhaven_proto::json::{
    CredPropsJson, CredentialDescriptorJson, ExtensionInputsJson, ExtensionOutputsJson,
    HmacGetSecretOutputJson, LargeBlobOutputsJson, PrfOutputsJson, PrfValuesJson,
};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

/// Client policy.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The smallest ceremony timeout accepted; shorter ones are raised to it
    /// (L3 §15.1 recommends 300 000 ms).
    pub timeout_min: Duration,
    /// The largest; longer ones are lowered to it (recommended 600 000 ms).
    pub timeout_max: Duration,
    /// The timeout when the options give none (recommended 300 000 ms).
    pub timeout_default: Duration,
    /// The registrable origin labels honoured in a related origins document (§5.11; at least 5).
    pub max_related_origin_labels: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout_min: Duration::from_secs(300),
            timeout_max: Duration::from_secs(600),
            timeout_default: Duration::from_secs(300),
            max_related_origin_labels: 5,
        }
    }
}

/// What the calling page supplies besides the options.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// The caller's origin, e.g. `https://login.example.com`.
    pub origin: String,
    /// The top-level origin when the caller is a cross-origin iframe
    /// (sameOriginWithAncestors false): clientData gets crossOrigin true and topOrigin.
    pub top_origin: Option<String>,
    /// The AbortSignal.
    pub signal: Option<AbortSignal>,
    /// The body of `https://{rpId}/.well-known/webauthn`, fetched by the caller,
    /// for related origin requests (L3 §5.11) when the RP ID is not a suffix of the origin.
    pub related_origins: Option<String>,
}

impl CallOptions {
    /// A same-origin call from `origin`.
    pub fn new(origin: impl Into<String>) -> Self {
        CallOptions {
            origin: origin.into(),
            ..Default::default()
        }
    }
}

/// One account the authenticator offers (a getNextAssertion result).
#[derive(Debug, Clone)]
pub struct Account {
    /// The credential ID.
    pub credential_id: Vec<u8>,
    /// user.id.
    pub user_id: Option<Vec<u8>>,
    /// user.name (given after user verification).
    pub name: Option<String>,
    /// user.displayName.
    pub display_name: Option<String>,
}

/// Lets the user pick among several discoverable credentials.
pub trait AccountChooser: Send {
    /// The index of the chosen account, or None to cancel.
    fn choose(&mut self, rp_id: &str, accounts: &[Account]) -> Option<usize>;
}

/// Always picks the first account (the most recently created, CTAP 2.2 §6.2.2).
#[derive(Debug, Default, Clone, Copy)]
pub struct FirstAccount;

impl AccountChooser for FirstAccount {
    fn choose(&mut self, _: &str, accounts: &[Account]) -> Option<usize> {
        (!accounts.is_empty()).then_some(0)
    }
}

type Pins = Mutex<Box<dyn PinProvider>>;
type Chooser = Mutex<Box<dyn AccountChooser>>;

/// The WebAuthn client.
///
/// ```
/// use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
/// use keyhaven_client::{CallOptions, Client, InProcess, parse_creation_options_from_json};
/// let auth = Authenticator::new(MemoryStore::new(10), AlwaysApprove::default(), Settings::default()).unwrap();
/// let mut client = Client::new(vec![Box::new(InProcess::new(auth))]);
/// let options = parse_creation_options_from_json(r#"{"rp":{"name":"Example","id":"example.com"},
///   "user":{"id":"AQID","name":"alice","displayName":"Alice"},"challenge":"AAECAwQFBgcICQoLDA0ODw",
///   "pubKeyCredParams":[{"type":"public-key","alg":-7}]}"#).unwrap();
/// let credential = client.create(&CallOptions::new("https://login.example.com"), &options).unwrap();
/// assert_eq!(credential.response.get_public_key_algorithm(), -7);
/// let json = credential.to_json_string();
/// assert!(json.starts_with(r#"{"authenticatorAttachment":"platform","clientExtensionResults":{}"#));
/// ```
pub struct Client {
    devices: Vec<Box<dyn Device>>,
    pins: Pins,
    chooser: Chooser,
    config: ClientConfig,
}

struct Prepared {
    origin: Origin,
    rp_id: String,
    client_data_json: Vec<u8>,
    client_data_hash: Vec<u8>,
    cancel: Cancel,
    timeout: Duration,
}

fn is_cancelled(e: &ClientError) -> bool {
    matches!(e, ClientError::Transport(TransportError::Cancelled))
}

/// Maps an authenticator status to the client's error (CTAP 2.2 §8.2 → L3 DOMExceptions).
fn status_error(e: ClientError) -> ClientError {
    match e {
        ClientError::Status(s) => match s {
            StatusCode::Ctap2ErrCredentialExcluded => ClientError::CredentialExcluded,
            StatusCode::Ctap2ErrUnsupportedAlgorithm => ClientError::UnsupportedAlgorithm(vec![]),
            StatusCode::Ctap2ErrNoCredentials => ClientError::NoCredentials(String::new()),
            StatusCode::Ctap2ErrOperationDenied
            | StatusCode::Ctap2ErrNotAllowed
            | StatusCode::Ctap2ErrActionTimeout
            | StatusCode::Ctap2ErrUserActionTimeout
            | StatusCode::Ctap2ErrUpRequired => ClientError::UserRefused(s.to_string()),
            StatusCode::Ctap2ErrPinInvalid
            | StatusCode::Ctap2ErrPinBlocked
            | StatusCode::Ctap2ErrPinAuthInvalid
            | StatusCode::Ctap2ErrPinAuthBlocked
            | StatusCode::Ctap2ErrPinNotSet => ClientError::Pin(s.to_string()),
            _ => ClientError::Status(s),
        },
        other => other,
    }
}

fn descriptors(list: &[CredentialDescriptorJson], max_id: usize) -> Vec<CredentialDescriptor> {
    list.iter()
        .filter(|d| d.type_ == "public-key" && !d.id.is_empty() && d.id.len() <= max_id)
        .map(|d| CredentialDescriptor::public_key(d.id.clone()))
        .collect()
}

/// The silent pre-flight (CTAP 2.2 §6.2, up=false): which of `list` the
/// authenticator holds for `rp_id`, asked in batches of
/// maxCredentialCountInList. None when the authenticator would not say.
fn preflight(
    s: &mut Session,
    rp_id: &str,
    list: &[CredentialDescriptor],
    token: Option<&Token>,
) -> Result<Option<Vec<CredentialDescriptor>>, ClientError> {
    let mut hits = Vec::new();
    for batch in list.chunks(s.max_list()) {
        let cdh = sha256(b"keyhaven pre-flight").to_vec();
        let mut r = GetAssertionRequest::new(rp_id, cdh.clone());
        r.allow_list = Some(batch.to_vec());
        r.options = Some(Options {
            up: Some(false),
            ..Default::default()
        });
        if let Some(t) = token {
            r.pin_uv_auth_param = Some(t.param(&cdh));
            r.pin_uv_auth_protocol = Some(t.protocol.number());
        }
        match s.call(Request::GetAssertion(r)) {
            Ok(ResponseBody::GetAssertion(resp)) => {
                let hit = match (&resp.credential, batch) {
                    (Some(c), _) => c.id.clone(),
                    (None, [only]) => only.id.clone(),
                    (None, _) => return Ok(None),
                };
                hits.push(CredentialDescriptor::public_key(hit));
            }
            Ok(_) => return Ok(None),
            Err(ClientError::Status(StatusCode::Ctap2ErrNoCredentials)) => {}
            Err(ClientError::Status(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(hits))
}

/// The token the ceremony needs, or built-in UV through the `uv` option.
struct Uv {
    token: Option<Token>,
    builtin: bool,
}

impl Uv {
    fn verified(&self) -> bool {
        self.token.is_some() || self.builtin
    }
    fn apply_mc(&self, r: &mut MakeCredentialRequest) {
        if let Some(t) = &self.token {
            r.pin_uv_auth_param = Some(t.param(&r.client_data_hash));
            r.pin_uv_auth_protocol = Some(t.protocol.number());
        }
        if self.builtin {
            r.options.get_or_insert_with(Options::default).uv = Some(true);
        }
    }
    fn apply_ga(&self, r: &mut GetAssertionRequest) {
        if let Some(t) = &self.token {
            r.pin_uv_auth_param = Some(t.param(&r.client_data_hash));
            r.pin_uv_auth_protocol = Some(t.protocol.number());
        }
        if self.builtin {
            r.options.get_or_insert_with(Options::default).uv = Some(true);
        }
    }
}

/// User verification for one authenticator: a pinUvAuthToken (built-in UV
/// or PIN), or the `uv` option of a CTAP 2.0 authenticator with built-in UV.
fn user_verification(
    s: &mut Session,
    pins: &Pins,
    want: bool,
    required: bool,
    perms: u64,
    rp_id: &str,
) -> Result<Uv, ClientError> {
    if !want {
        return Ok(Uv {
            token: None,
            builtin: false,
        });
    }
    if s.option("uv") == Some(true) && s.option("pinUvAuthToken") != Some(true) {
        return Ok(Uv {
            token: None,
            builtin: true,
        });
    }
    let token = {
        let mut p = pins
            .lock()
            .map_err(|_| ClientError::Pin("PIN provider poisoned".into()))?;
        pin::acquire(s, &mut **p, perms, rp_id)?
    };
    if token.is_none() && required {
        return Err(ClientError::Constraint(
            "user verification is required and the authenticator has neither built-in UV nor a PIN set"
                .into(),
        ));
    }
    Ok(Uv {
        token,
        builtin: false,
    })
}

impl Client {
    /// A client over these authenticators, with no PIN provider and the
    /// first account chosen.
    pub fn new(devices: Vec<Box<dyn Device>>) -> Self {
        Client {
            devices,
            pins: Mutex::new(Box::new(NoPin)),
            chooser: Mutex::new(Box::new(FirstAccount)),
            config: ClientConfig::default(),
        }
    }

    /// Asks this provider when a PIN is needed.
    pub fn with_pin_provider(mut self, p: impl PinProvider + 'static) -> Self {
        self.pins = Mutex::new(Box::new(p));
        self
    }

    /// Lets this chooser pick among several accounts.
    pub fn with_account_chooser(mut self, c: impl AccountChooser + 'static) -> Self {
        self.chooser = Mutex::new(Box::new(c));
        self
    }

    /// Replaces the policy.
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// The authenticators.
    pub fn devices_mut(&mut self) -> &mut [Box<dyn Device>] {
        &mut self.devices
    }

    /// Steps common to create and get: abort, timer, origin, RP ID, clientData.
    fn prepare(
        &self,
        call: &CallOptions,
        type_: &str,
        challenge: &[u8],
        rp_id: Option<&str>,
        timeout_ms: Option<u32>,
    ) -> Result<Prepared, ClientError> {
        let signal = call.signal.clone().unwrap_or_default();
        if signal.is_aborted() {
            return Err(ClientError::Aborted);
        }
        // §5.1.3 step 4 / §5.1.4.1 step 4: the timeout, corrected into the client's range.
        let timeout = match timeout_ms {
            Some(ms) => Duration::from_millis(u64::from(ms))
                .clamp(self.config.timeout_min, self.config.timeout_max),
            None => self.config.timeout_default,
        };
        // Steps 6–8: origin, effective domain, RP ID (or a related origin, §5.11).
        let origin = Origin::parse(&call.origin)?;
        let rp_id = match origin.rp_id(rp_id) {
            Ok(id) => id,
            Err(OriginError::RpIdNotSuffix { rp_id, .. }) if call.related_origins.is_some() => {
                let doc = call.related_origins.as_deref().unwrap_or_default();
                related_origin_allowed(&origin, doc, self.config.max_related_origin_labels.max(5))
                    .map_err(|e| ClientError::RelatedOrigins {
                        origin: origin.as_str().to_owned(),
                        rp_id: rp_id.clone(),
                        reason: e.to_string(),
                    })?;
                rp_id
            }
            Err(e) => return Err(e.into()),
        };
        // §5.1.3 step 13 / §5.1.4.1 step 11: collectedClientData, with crossOrigin and topOrigin.
        let mut cd = CollectedClientData::new(type_, challenge, origin.as_str());
        if let Some(top) = &call.top_origin {
            let top = url::Url::parse(top)
                .map(|u| u.origin())
                .ok()
                .filter(|o| o.is_tuple())
                .ok_or_else(|| {
                    ClientError::InvalidOptions(format!("topOrigin {top:?} is not an origin"))
                })?;
            cd.cross_origin = Some(true);
            cd.top_origin = Some(top.ascii_serialization());
        }
        // §5.8.1.1 serialization, then the hash (§5.1.3 step 15).
        let client_data_json = cd.to_json_bytes();
        let client_data_hash = sha256(&client_data_json).to_vec();
        Ok(Prepared {
            origin,
            rp_id,
            client_data_json,
            client_data_hash,
            cancel: Cancel {
                abort: signal,
                settled: AbortSignal::new(),
                deadline: Instant::now() + timeout,
            },
            timeout,
        })
    }

    /// Runs `f` on every authenticator at once; the first success wins and the
    /// others are cancelled; InvalidStateError also ends the ceremony (§5.1.3 step 20).
    fn run_all<T: Send>(
        &mut self,
        p: &Prepared,
        f: impl Fn(Session, &Pins, &Chooser) -> Result<T, ClientError> + Sync,
    ) -> Result<T, ClientError> {
        if self.devices.is_empty() {
            return Err(ClientError::NoAuthenticator("is connected".into()));
        }
        let (tx, rx) = mpsc::channel();
        let (pins, chooser) = (&self.pins, &self.chooser);
        let mut winner = None;
        let mut errors = Vec::new();
        std::thread::scope(|scope| {
            for dev in self.devices.iter_mut() {
                let tx = tx.clone();
                let f = &f;
                let cancel = p.cancel.clone();
                scope.spawn(move || {
                    let r = Session::open(&mut **dev, cancel).and_then(|s| f(s, pins, chooser));
                    let _ = tx.send(r);
                });
            }
            drop(tx);
            for r in rx {
                match r {
                    Ok(v) if winner.is_none() => {
                        p.cancel.settled.abort();
                        winner = Some(v);
                    }
                    Ok(_) => {}
                    Err(ClientError::CredentialExcluded) => {
                        p.cancel.settled.abort();
                        errors.push(ClientError::CredentialExcluded);
                    }
                    Err(e) => errors.push(e),
                }
            }
        });
        if let Some(v) = winner {
            return Ok(v);
        }
        if errors.contains(&ClientError::CredentialExcluded) {
            return Err(ClientError::CredentialExcluded);
        }
        if p.cancel.abort.is_aborted() {
            return Err(ClientError::Aborted);
        }
        if Instant::now() >= p.cancel.deadline || errors.iter().all(is_cancelled) {
            return Err(ClientError::Timeout(p.timeout.as_millis() as u64));
        }
        errors.sort_by_key(|e| std::cmp::Reverse(e.rank()));
        Err(errors.remove(0))
    }

    /// `navigator.credentials.create({publicKey})` (L3 §5.1.3).
    pub fn create(
        &mut self,
        call: &CallOptions,
        options: &CreationOptions,
    ) -> Result<PublicKeyCredential<AuthenticatorAttestationResponse>, ClientError> {
        // Step 5: user.id is 1 to 64 bytes.
        if options.user.id.is_empty() || options.user.id.len() > 64 {
            return Err(ClientError::UserIdLength(options.user.id.len()));
        }
        if options.challenge.is_empty() {
            return Err(ClientError::InvalidOptions("challenge is empty".into()));
        }
        let p = self.prepare(
            call,
            "webauthn.create",
            &options.challenge,
            options.rp.id.as_deref(),
            options.timeout,
        )?;
        // Step 10: credTypesAndPubKeyAlgs; ES256 and RS256 when none are given.
        let algs: Vec<i64> = if options.pub_key_cred_params.is_empty() {
            vec![-7, -257]
        } else {
            options
                .pub_key_cred_params
                .iter()
                .filter(|c| c.type_ == "public-key")
                .map(|c| c.alg)
                .collect()
        };
        if algs.is_empty() {
            return Err(ClientError::NoSupportedCredentialType);
        }
        let ext = options.extensions.clone().unwrap_or_default();
        // Step 11–12: client extension inputs that cannot apply at registration.
        if let Some(prf) = &ext.prf {
            if prf.eval_by_credential.is_some() {
                return Err(ClientError::PrfNotSupported(
                    "evalByCredential is not allowed at registration",
                ));
            }
        }
        if let Some(lb) = &ext.large_blob {
            if lb.read.is_some() || lb.write.is_some() {
                return Err(ClientError::LargeBlobNotSupported(
                    "read and write are not allowed at registration",
                ));
            }
        }
        if let Some(policy) = &ext.credential_protection_policy {
            if cred_protect_level(policy).is_none() {
                return Err(ClientError::InvalidOptions(format!(
                    "unknown credentialProtectionPolicy {policy:?}"
                )));
            }
        }
        let sel = options.authenticator_selection.clone().unwrap_or_default();
        let attestation = options.attestation.clone().unwrap_or_else(|| "none".into());
        let ctx = CreateContext {
            options,
            p: &p,
            algs: &algs,
            ext: &ext,
            sel: &sel,
            attestation: &attestation,
        };
        self.run_all(&p, |s, pins, _| ctx.on(s, pins))
    }

    /// `navigator.credentials.get({publicKey})` (L3 §5.1.4).
    pub fn get(
        &mut self,
        call: &CallOptions,
        options: &RequestOptions,
    ) -> Result<PublicKeyCredential<AuthenticatorAssertionResponse>, ClientError> {
        if options.challenge.is_empty() {
            return Err(ClientError::InvalidOptions("challenge is empty".into()));
        }
        let p = self.prepare(
            call,
            "webauthn.get",
            &options.challenge,
            options.rp_id.as_deref(),
            options.timeout,
        )?;
        let ext = options.extensions.clone().unwrap_or_default();
        // L3 §10.1.4 (prf, authentication) steps 1–2.
        if let Some(by) = ext.prf.as_ref().and_then(|p| p.eval_by_credential.as_ref()) {
            if !by.is_empty() && options.allow_credentials.is_empty() {
                return Err(ClientError::PrfNotSupported(
                    "evalByCredential needs allowCredentials",
                ));
            }
            for key in by.keys() {
                let ok = !key.is_empty()
                    && strict_b64url(key)
                        .is_some_and(|id| options.allow_credentials.iter().any(|c| c.id == id));
                if !ok {
                    return Err(ClientError::PrfBadKey(key.clone()));
                }
            }
        }
        // L3 §10.1.5 (largeBlob, authentication).
        if let Some(lb) = &ext.large_blob {
            if lb.support.is_some() {
                return Err(ClientError::LargeBlobNotSupported(
                    "support is only for registration",
                ));
            }
            if lb.read == Some(true) && lb.write.is_some() {
                return Err(ClientError::LargeBlobNotSupported(
                    "read and write together",
                ));
            }
            if lb.write.is_some() && options.allow_credentials.len() != 1 {
                return Err(ClientError::LargeBlobNotSupported(
                    "write needs exactly one allowCredentials entry",
                ));
            }
        }
        // L3 §10.1.1 (appid): the AppID must belong to the caller.
        let appid = match &ext.appid {
            Some(a) => Some(check_appid(&p.origin, a)?),
            None => None,
        };
        let ctx = GetContext {
            options,
            p: &p,
            ext: &ext,
            appid: appid.as_deref(),
        };
        self.run_all(&p, |s, pins, chooser| ctx.on(s, pins, chooser))
    }
}

/// L3 §10.1.1: an AppID is usable when it is an https URL on the caller's
/// host or on a host with the same registrable domain (FIDO AppID §3.1.2;
/// the trusted-facets list is not fetched).
fn check_appid(origin: &Origin, appid: &str) -> Result<String, ClientError> {
    let bad = |why: &str| ClientError::Extension("appid", format!("{appid:?}: {why}"));
    // SecurityError, with the same text as the extension error it refines.
    let denied = |why: &str| ClientError::AppIdNotAllowed(bad(why).to_string());
    let url = url::Url::parse(appid).map_err(|_| bad("not a URL"))?;
    if url.scheme() != "https" {
        return Err(denied("not an https URL"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    let registrable = psl::domain_str(host);
    let same = host == origin.effective_domain()
        || (registrable.is_some() && registrable == psl::domain_str(origin.effective_domain()));
    if !same {
        return Err(denied("not the caller's registrable domain"));
    }
    Ok(appid.to_owned())
}

/// base64url without padding, strictly (L3 §10.1.4 evalByCredential keys).
fn strict_b64url(s: &str) -> Option<Vec<u8>> {
    s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        .then(|| keyhaven_proto::b64::decode(s).ok())
        .flatten()
}

struct CreateContext<'a> {
    options: &'a CreationOptions,
    p: &'a Prepared,
    algs: &'a [i64],
    ext: &'a ExtensionInputsJson,
    sel: &'a keyhaven_proto::json::AuthenticatorSelectionJson,
    attestation: &'a str,
}

/// What makeCredential asks of one authenticator besides the request's
/// fixed members (§5.1.3 step 20.2 – 20.4).
struct Selection<'u> {
    /// A discoverable credential.
    rk: bool,
    /// The userVerification requirement.
    uv_req: &'u str,
    /// Whether to verify the user.
    want_uv: bool,
}

/// The CTAP extension inputs of a makeCredential, and what is kept to read
/// the outputs.
struct CreateExtensions {
    ctap: Vec<(Value, Value)>,
    hmac_secret_mc: Option<HmacSecretSession>,
    large_blob_supported: bool,
}

impl CreateContext<'_> {
    /// §5.1.3 step 20, "if an authenticator becomes available", for one authenticator.
    fn on(
        &self,
        mut s: Session,
        pins: &Pins,
    ) -> Result<PublicKeyCredential<AuthenticatorAttestationResponse>, ClientError> {
        let sel = self.selection(&s)?;
        let rp_id = self.p.rp_id.as_str();
        let excludes = descriptors(&self.options.exclude_credentials, s.max_id_len());
        let mut perms = permissions::MC;
        if !excludes.is_empty() {
            perms |= permissions::GA;
        }
        let required = sel.uv_req == "required";
        let mut uv = user_verification(&mut s, pins, sel.want_uv, required, perms, rp_id)?;
        let ext = self.extension_inputs(&mut s, sel.rk)?;
        let exclude_list = self.exclude_list(&mut s, &excludes, &uv)?;
        let mut req = self.request(sel.rk, exclude_list, &ext);
        uv.apply_mc(&mut req);
        let body = match s.call(Request::MakeCredential(req.clone())) {
            // The authenticator wants a token after all (PIN set, makeCredUvNotRqd false).
            Err(ClientError::Status(
                StatusCode::Ctap2ErrPuatRequired | StatusCode::Ctap2ErrPinNotSet,
            )) if !uv.verified() => {
                uv = user_verification(&mut s, pins, true, true, perms, rp_id)?;
                uv.apply_mc(&mut req);
                s.call(Request::MakeCredential(req))
            }
            other => other,
        }
        .map_err(status_error)?;
        let ResponseBody::MakeCredential(resp) = body else {
            return Err(ClientError::BadResponse(
                "makeCredential without a body".into(),
            ));
        };
        let acd = self.check_response(&resp)?;
        let outputs = self.extension_outputs(&resp, &ext, sel.rk)?;
        Ok(self.credential(&s, &resp, acd, outputs))
    }

    /// Steps 20.2.1 – 20.4: attachment, residentKey, userVerification, and
    /// whether the authenticator offers one of the algorithms.
    fn selection(&self, s: &Session) -> Result<Selection<'_>, ClientError> {
        let sel = self.sel;
        // Step 20.2.1: attachment.
        if let Some(a) = &sel.authenticator_attachment {
            if a != s.device().attachment().as_str() {
                return Err(ClientError::NoAuthenticator(format!(
                    "with attachment {a:?}"
                )));
            }
        }
        let rk_capable = s.option("rk") == Some(true);
        // Step 20.2.2: residentKey / requireResidentKey.
        let rk = match sel.resident_key.as_deref() {
            Some("required") => true,
            Some("preferred") => rk_capable,
            Some(_) => false,
            None => sel.require_resident_key,
        };
        if rk && !rk_capable {
            return Err(ClientError::Constraint(
                "residentKey is required and the authenticator cannot store discoverable credentials"
                    .into(),
            ));
        }
        // Step 20.2.3 and 20.4: effective user verification.
        let uv_req = sel.user_verification.as_deref().unwrap_or("preferred");
        if uv_req == "required" && !s.uv_capable() {
            return Err(ClientError::Constraint(
                "userVerification is required and the authenticator cannot verify users".into(),
            ));
        }
        let want_uv = match uv_req {
            "required" => true,
            "discouraged" => false,
            _ => s.uv_configured(),
        };
        // The algorithms the authenticator offers.
        if let Some(offered) = &s.info.algorithms {
            if !self
                .algs
                .iter()
                .any(|a| offered.iter().any(|o| o.alg == *a))
            {
                return Err(ClientError::UnsupportedAlgorithm(self.algs.to_vec()));
            }
        }
        Ok(Selection {
            rk,
            uv_req,
            want_uv,
        })
    }

    /// Extensions (§5.1.3 step 12) mapped to CTAP inputs (L3 §10.1, CTAP 2.2 §12).
    fn extension_inputs(&self, s: &mut Session, rk: bool) -> Result<CreateExtensions, ClientError> {
        let ext = self.ext;
        let mut ctap: Vec<(Value, Value)> = Vec::new();
        if let Some(policy) = &ext.credential_protection_policy {
            let level = cred_protect_level(policy).unwrap_or(1);
            if s.supports("credProtect") {
                ctap.push(("credProtect".into(), Value::from(level)));
            } else if ext.enforce_credential_protection_policy == Some(true) && level > 1 {
                return Err(ClientError::Extension(
                    "credProtect",
                    "the authenticator cannot enforce the credential protection policy".into(),
                ));
            }
        }
        if let Some(blob) = &ext.cred_blob {
            let max = s.info.max_cred_blob_length.unwrap_or(0) as usize;
            if rk && s.supports("credBlob") && !blob.is_empty() && blob.len() <= max {
                ctap.push(("credBlob".into(), Value::Bytes(blob.clone())));
            }
        }
        if ext.min_pin_length == Some(true) && s.supports("minPinLength") {
            ctap.push(("minPinLength".into(), Value::Bool(true)));
        }
        let mut hmac = ext.hmac_create_secret == Some(true);
        let mut hmac_secret_mc = None;
        if let Some(prf) = &ext.prf {
            hmac = true;
            if let (Some(eval), true) = (&prf.eval, s.supports("hmac-secret-mc")) {
                if let Some(hs) = HmacSecretSession::open(s)? {
                    ctap.push(("hmac-secret-mc".into(), hs.input(&prf_salts(eval))?));
                    hmac_secret_mc = Some(hs);
                }
            }
        }
        if hmac && s.supports("hmac-secret") {
            ctap.push(("hmac-secret".into(), Value::Bool(true)));
        }
        let mut large_blob_supported = false;
        if let Some(lb) = &ext.large_blob {
            let support = lb.support.as_deref().unwrap_or("preferred");
            large_blob_supported =
                rk && s.supports("largeBlobKey") && s.option("largeBlobs") == Some(true);
            if support == "required" && !large_blob_supported {
                return Err(ClientError::NoAuthenticator("supporting largeBlob".into()));
            }
            if large_blob_supported {
                ctap.push(("largeBlobKey".into(), Value::Bool(true)));
            }
        }
        Ok(CreateExtensions {
            ctap,
            hmac_secret_mc,
            large_blob_supported,
        })
    }

    /// excludeCredentials with the silent pre-flight (CTAP 2.2 §6.1.2, platform side).
    fn exclude_list(
        &self,
        s: &mut Session,
        excludes: &[CredentialDescriptor],
        uv: &Uv,
    ) -> Result<Option<Vec<CredentialDescriptor>>, ClientError> {
        if excludes.is_empty() {
            return Ok(None);
        }
        Ok(
            match preflight(s, &self.p.rp_id, excludes, uv.token.as_ref())? {
                // Known: send the one found, so the authenticator asks for
                // presence and answers CTAP2_ERR_CREDENTIAL_EXCLUDED.
                Some(hits) if !hits.is_empty() => Some(vec![hits[0].clone()]),
                Some(_) => None,
                None => Some(excludes.iter().take(s.max_list()).cloned().collect()),
            },
        )
    }

    /// The makeCredential request (step 20.7: attestationFormats; "none" asks for none).
    fn request(
        &self,
        rk: bool,
        exclude_list: Option<Vec<CredentialDescriptor>>,
        ext: &CreateExtensions,
    ) -> MakeCredentialRequest {
        let o = self.options;
        let formats = if self.attestation == "none" {
            vec!["none".to_owned()]
        } else {
            o.attestation_formats.clone()
        };
        MakeCredentialRequest {
            client_data_hash: self.p.client_data_hash.clone(),
            rp: RpEntity {
                id: self.p.rp_id.clone(),
                name: Some(o.rp.name.clone()),
            },
            user: UserEntity {
                id: o.user.id.clone(),
                name: Some(o.user.name.clone()),
                display_name: Some(o.user.display_name.clone()),
            },
            pub_key_cred_params: self
                .algs
                .iter()
                .map(|a| CredentialParameters {
                    type_: "public-key".into(),
                    alg: *a,
                })
                .collect(),
            exclude_list,
            extensions: (!ext.ctap.is_empty()).then(|| Value::canonical_map(ext.ctap.clone())),
            options: rk.then(|| Options {
                rk: Some(true),
                ..Default::default()
            }),
            attestation_formats_preference: (!formats.is_empty()).then_some(formats),
            ..Default::default()
        }
    }

    /// The answer must be for this RP and carry a new credential of a requested algorithm.
    fn check_response(
        &self,
        resp: &MakeCredentialResponse,
    ) -> Result<AttestedCredentialData, ClientError> {
        if resp.auth_data.rp_id_hash != sha256(self.p.rp_id.as_bytes()) {
            return Err(ClientError::BadResponse(
                "rpIdHash is not this RP ID's".into(),
            ));
        }
        let acd = resp
            .auth_data
            .attested_credential_data
            .clone()
            .ok_or_else(|| ClientError::BadResponse("no attested credential data".into()))?;
        if !self.algs.contains(&acd.credential_public_key.alg.id()) {
            return Err(ClientError::BadResponse(format!(
                "credential algorithm {} was not requested",
                acd.credential_public_key.alg.id()
            )));
        }
        Ok(acd)
    }

    /// The client extension outputs (L3 §10.1) from the authenticator's.
    fn extension_outputs(
        &self,
        resp: &MakeCredentialResponse,
        created: &CreateExtensions,
        rk: bool,
    ) -> Result<ExtensionOutputsJson, ClientError> {
        let ext = self.ext;
        let mut outputs = ExtensionOutputsJson::default();
        let ad_ext = |name: &str| resp.auth_data.extension(name);
        if ext.prf.is_some() {
            let mut out = PrfOutputsJson {
                enabled: Some(ad_ext("hmac-secret").and_then(Value::as_bool) == Some(true)),
                results: None,
            };
            if let (Some(hs), Some(enc)) = (
                &created.hmac_secret_mc,
                ad_ext("hmac-secret-mc").and_then(Value::as_bytes),
            ) {
                out.results = Some(hs.output(enc)?);
            }
            outputs.prf = Some(out);
        }
        if ext.hmac_create_secret == Some(true) {
            outputs.hmac_create_secret =
                Some(ad_ext("hmac-secret").and_then(Value::as_bool) == Some(true));
        }
        if ext.cred_blob.is_some() {
            outputs.cred_blob = Some(ad_ext("credBlob").and_then(Value::as_bool) == Some(true));
        }
        if ext.large_blob.is_some() {
            outputs.large_blob = Some(LargeBlobOutputsJson {
                supported: Some(created.large_blob_supported && resp.large_blob_key.is_some()),
                blob: None,
                written: None,
            });
        }
        if ext.cred_props == Some(true) {
            // L3 §10.1.3: rk is what the client asked of a CTAP2 authenticator.
            outputs.cred_props = Some(CredPropsJson { rk: Some(rk) });
        }
        Ok(outputs)
    }

    /// Step 20 "constructCredentialAlg": the credential, with attestation
    /// "none" hiding identifying statements, and the transports.
    fn credential(
        &self,
        s: &Session,
        resp: &MakeCredentialResponse,
        acd: AttestedCredentialData,
        outputs: ExtensionOutputsJson,
    ) -> PublicKeyCredential<AuthenticatorAttestationResponse> {
        let device_attachment = s.device().attachment();
        let mut att = AttestationObject::from_make_credential_response(resp);
        if self.attestation == "none" {
            let self_attested = acd.aaguid.0 == [0; 16]
                && att.fmt == "packed"
                && att.att_stmt.get_text("x5c").is_none();
            if !self_attested && att.fmt != "none" {
                att.fmt = "none".into();
                att.att_stmt = Value::Map(vec![]);
            }
        }
        let mut transports: Vec<String> = match device_attachment {
            crate::device::Attachment::Platform => vec!["internal".into()],
            crate::device::Attachment::CrossPlatform => s
                .info
                .transports
                .clone()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| vec![s.device().transport().to_owned()]),
        };
        transports.sort();
        transports.dedup();
        PublicKeyCredential {
            raw_id: acd.credential_id,
            response: AuthenticatorAttestationResponse {
                client_data_json: self.p.client_data_json.clone(),
                attestation_object: att.to_bytes(),
                transports,
                auth_data: resp.auth_data.clone(),
                auth_data_raw: resp.auth_data_raw.clone(),
            },
            authenticator_attachment: Some(device_attachment),
            client_extension_results: outputs,
        }
    }
}

struct GetContext<'a> {
    options: &'a RequestOptions,
    p: &'a Prepared,
    ext: &'a ExtensionInputsJson,
    appid: Option<&'a str>,
}

/// What a getAssertion asked of one authenticator, kept to read its answer.
struct Asked {
    /// The allow list sent (None: discoverable credentials).
    allow_list: Option<Vec<CredentialDescriptor>>,
    /// The RP ID used: the RP's, or the appid (L3 §10.1.1).
    rp_id: String,
    /// Whether the appid was used.
    used_appid: bool,
    /// The hmac-secret session, when PRF or hmacGetSecret asked for outputs.
    hmac_secret: Option<HmacSecretSession>,
    /// largeBlobKey was requested.
    large_blob: bool,
    /// The large blob to write, if any.
    large_blob_write: Option<Vec<u8>>,
}

impl GetContext<'_> {
    /// §5.1.4.2 step 20, "if an authenticator becomes available", for one authenticator.
    fn on(
        &self,
        mut s: Session,
        pins: &Pins,
        chooser: &Chooser,
    ) -> Result<PublicKeyCredential<AuthenticatorAssertionResponse>, ClientError> {
        let (uv, large_blob_write) = self.user_verification(&mut s, pins)?;
        let (allow_list, rp_id, used_appid) = self.allow_list(&mut s, &uv)?;
        let mut asked = Asked {
            allow_list,
            rp_id,
            used_appid,
            hmac_secret: None,
            large_blob: false,
            large_blob_write,
        };
        let ctap_ext = self.extension_inputs(&mut s, &mut asked)?;
        let mut req =
            GetAssertionRequest::new(asked.rp_id.clone(), self.p.client_data_hash.clone());
        req.allow_list = asked.allow_list.clone();
        req.extensions = (!ctap_ext.is_empty()).then(|| Value::canonical_map(ctap_ext));
        uv.apply_ga(&mut req);
        let first = match s.call(Request::GetAssertion(req)).map_err(status_error)? {
            ResponseBody::GetAssertion(r) => r,
            _ => {
                return Err(ClientError::BadResponse(
                    "getAssertion without a body".into(),
                ))
            }
        };
        let chosen = self.choose(&mut s, first, &asked, chooser)?;
        self.finish(&mut s, chosen, &asked, uv.token.as_ref())
    }

    /// User verification for a get (L3 §10.1.4: the PRF is the one with user
    /// verification whenever the authenticator can), with the largeBlobWrite
    /// permission when a blob is to be written.
    fn user_verification(
        &self,
        s: &mut Session,
        pins: &Pins,
    ) -> Result<(Uv, Option<Vec<u8>>), ClientError> {
        let (o, ext) = (self.options, self.ext);
        let uv_req = o.user_verification.as_deref().unwrap_or("preferred");
        if uv_req == "required" && !s.uv_capable() {
            return Err(ClientError::NoAuthenticator(
                "capable of user verification".into(),
            ));
        }
        let want_uv = match uv_req {
            "required" => true,
            "discouraged" => ext.prf.is_some() && s.uv_configured(),
            _ => s.uv_configured(),
        };
        let lb_write = ext.large_blob.as_ref().and_then(|l| l.write.clone());
        let mut perms = permissions::GA;
        if lb_write.is_some() {
            perms |= permissions::LBW;
        }
        let want_token = want_uv || (lb_write.is_some() && s.uv_configured());
        let uv = user_verification(
            s,
            pins,
            want_token,
            uv_req == "required",
            perms,
            &self.p.rp_id,
        )?;
        Ok((uv, lb_write))
    }

    /// allowCredentials with the silent pre-flight; the appid as the fallback
    /// RP ID (L3 §10.1.1). Returns the list to send, the RP ID, and whether
    /// the appid was used.
    fn allow_list(
        &self,
        s: &mut Session,
        uv: &Uv,
    ) -> Result<(Option<Vec<CredentialDescriptor>>, String, bool), ClientError> {
        let o = self.options;
        let mut rp_id = self.p.rp_id.clone();
        if o.allow_credentials.is_empty() {
            return Ok((None, rp_id, false));
        }
        let allow = descriptors(&o.allow_credentials, s.max_id_len());
        let mut used_appid = false;
        let mut hits = preflight(s, &rp_id, &allow, uv.token.as_ref())?;
        if hits.as_ref().is_some_and(|h| h.is_empty()) {
            if let Some(appid) = self.appid {
                let legacy = preflight(s, appid, &allow, uv.token.as_ref())?;
                if legacy.as_ref().is_some_and(|h| !h.is_empty()) {
                    rp_id = appid.to_owned();
                    used_appid = true;
                    hits = legacy;
                }
            }
        }
        let list = match hits {
            Some(h) if h.is_empty() => return Err(ClientError::NoCredentials(rp_id)),
            Some(mut h) => {
                // evalByCredential: prefer a credential that has inputs.
                let by = self
                    .ext
                    .prf
                    .as_ref()
                    .and_then(|p| p.eval_by_credential.as_ref());
                if let Some(by) = by {
                    if let Some(i) = h
                        .iter()
                        .position(|d| by.contains_key(&keyhaven_proto::b64::encode(&d.id)))
                    {
                        h.swap(0, i);
                    }
                }
                h.truncate(s.max_list());
                h
            }
            None => allow.iter().take(s.max_list()).cloned().collect(),
        };
        Ok((Some(list), rp_id, used_appid))
    }

    /// Extensions mapped to CTAP inputs (prf / hmacGetSecret through
    /// hmac-secret, largeBlob, getCredBlob); what is needed for the outputs goes
    /// into `asked`.
    fn extension_inputs(
        &self,
        s: &mut Session,
        asked: &mut Asked,
    ) -> Result<Vec<(Value, Value)>, ClientError> {
        let ext = self.ext;
        let mut ctap: Vec<(Value, Value)> = Vec::new();
        let prf_input: Option<PrfValuesJson> = ext.prf.as_ref().and_then(|prf| {
            let first = asked.allow_list.as_ref().and_then(|l| l.first());
            let by_cred = first.and_then(|d| {
                prf.eval_by_credential
                    .as_ref()?
                    .get(&keyhaven_proto::b64::encode(&d.id))
                    .cloned()
            });
            by_cred.or_else(|| prf.eval.clone())
        });
        let raw_salts = ext.hmac_get_secret.as_ref().map(|h| {
            let mut s = h.salt1.clone();
            if let Some(s2) = &h.salt2 {
                s.extend_from_slice(s2);
            }
            s
        });
        let salts = prf_input.as_ref().map(prf_salts).or(raw_salts);
        if let (Some(salts), true) = (&salts, s.supports("hmac-secret")) {
            if let Some(session) = HmacSecretSession::open(s)? {
                ctap.push(("hmac-secret".into(), session.input(salts)?));
                asked.hmac_secret = Some(session);
            }
        }
        asked.large_blob = ext.large_blob.is_some()
            && s.supports("largeBlobKey")
            && s.option("largeBlobs") == Some(true);
        if asked.large_blob {
            ctap.push(("largeBlobKey".into(), Value::Bool(true)));
        }
        if ext.get_cred_blob == Some(true) && s.supports("credBlob") {
            ctap.push(("credBlob".into(), Value::Bool(true)));
        }
        Ok(ctap)
    }

    /// Several discoverable credentials: collect them (getNextAssertion) and
    /// let the user choose one.
    fn choose(
        &self,
        s: &mut Session,
        first: GetAssertionResponse,
        asked: &Asked,
        chooser: &Chooser,
    ) -> Result<GetAssertionResponse, ClientError> {
        let n = first.number_of_credentials.unwrap_or(1);
        if asked.allow_list.is_some() || n <= 1 {
            return Ok(first);
        }
        let mut all = vec![first];
        for _ in 1..n.min(256) {
            match s.call(Request::GetNextAssertion).map_err(status_error)? {
                ResponseBody::GetAssertion(r) => all.push(r),
                _ => {
                    return Err(ClientError::BadResponse(
                        "getNextAssertion without a body".into(),
                    ))
                }
            }
        }
        let accounts: Vec<Account> = all
            .iter()
            .map(|r| Account {
                credential_id: r
                    .credential
                    .as_ref()
                    .map(|c| c.id.clone())
                    .unwrap_or_default(),
                user_id: r.user.as_ref().map(|u| u.id.clone()),
                name: r.user.as_ref().and_then(|u| u.name.clone()),
                display_name: r.user.as_ref().and_then(|u| u.display_name.clone()),
            })
            .collect();
        let pick = chooser
            .lock()
            .map_err(|_| ClientError::UserRefused("account chooser poisoned".into()))?
            .choose(&asked.rp_id, &accounts)
            .filter(|i| *i < all.len())
            .ok_or_else(|| ClientError::UserRefused("no account was chosen".into()))?;
        Ok(all.swap_remove(pick))
    }

    /// The answer checked (this RP, a credential that was allowed, a user
    /// handle for a discoverable one), its extension outputs, the credential.
    fn finish(
        &self,
        s: &mut Session,
        r: GetAssertionResponse,
        asked: &Asked,
        token: Option<&Token>,
    ) -> Result<PublicKeyCredential<AuthenticatorAssertionResponse>, ClientError> {
        let ext = self.ext;
        let (allow_list, rp_id) = (asked.allow_list.as_deref(), asked.rp_id.as_str());
        let (used_appid, hs) = (asked.used_appid, asked.hmac_secret.as_ref());
        let (large_blob, lb_write) = (asked.large_blob, &asked.large_blob_write);
        if r.auth_data.rp_id_hash != sha256(rp_id.as_bytes()) {
            return Err(ClientError::BadResponse(
                "rpIdHash is not this RP ID's".into(),
            ));
        }
        // CTAP 2.2 §6.2.2: credential may be omitted when the allow list had one entry.
        let id = match (&r.credential, allow_list) {
            (Some(c), _) => c.id.clone(),
            (None, Some([only])) => only.id.clone(),
            _ => {
                return Err(ClientError::BadResponse(
                    "no credential in the answer".into(),
                ))
            }
        };
        // L3 §5.1.4.2 step 20: a credential outside credentialIdFilter, or a
        // discoverable answer without a user handle, is not a usable answer.
        match allow_list {
            Some(list) if !list.iter().any(|d| d.id == id) => {
                return Err(ClientError::BadResponse(
                    "the credential used is not in allowCredentials".into(),
                ))
            }
            None if r.user.as_ref().is_none_or(|u| u.id.is_empty()) => {
                return Err(ClientError::BadResponse(
                    "a discoverable credential answered without a user handle".into(),
                ))
            }
            _ => {}
        }
        let ad: &AuthenticatorData = &r.auth_data;
        let mut outputs = ExtensionOutputsJson::default();
        if ext.appid.is_some() {
            outputs.appid = Some(used_appid);
        }
        let hmac_out = match (hs, ad.extension("hmac-secret").and_then(Value::as_bytes)) {
            (Some(hs), Some(enc)) => Some(hs.output(enc)?),
            _ => None,
        };
        if ext.prf.is_some() {
            outputs.prf = Some(PrfOutputsJson {
                enabled: None,
                results: hmac_out.clone(),
            });
        }
        if ext.hmac_get_secret.is_some() && ext.prf.is_none() {
            outputs.hmac_get_secret = hmac_out.map(|v| HmacGetSecretOutputJson {
                output1: v.first,
                output2: v.second,
            });
        }
        if ext.get_cred_blob == Some(true) {
            outputs.get_cred_blob = Some(
                ad.extension("credBlob")
                    .and_then(Value::as_bytes)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default(),
            );
        }
        if let Some(lb) = &ext.large_blob {
            let mut out = LargeBlobOutputsJson {
                supported: None,
                blob: None,
                written: None,
            };
            let key = r.large_blob_key.as_deref().filter(|_| large_blob);
            if lb.read == Some(true) {
                if let Some(key) = key {
                    out.blob = large_blob::read(s, key)?;
                }
            }
            if let Some(data) = lb_write {
                out.written = Some(match key {
                    Some(key) => large_blob::write(s, key, data, token).is_ok(),
                    None => false,
                });
            }
            outputs.large_blob = Some(out);
        }
        Ok(PublicKeyCredential {
            raw_id: id,
            response: AuthenticatorAssertionResponse {
                client_data_json: self.p.client_data_json.clone(),
                authenticator_data: r.auth_data_raw.clone(),
                signature: r.signature.clone(),
                user_handle: r
                    .user
                    .as_ref()
                    .map(|u| u.id.clone())
                    .filter(|u| !u.is_empty()),
                attestation_object: None,
            },
            authenticator_attachment: Some(s.device().attachment()),
            client_extension_results: outputs,
        })
    }
}
