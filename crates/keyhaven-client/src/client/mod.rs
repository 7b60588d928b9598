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

mod create;
mod get;
mod preflight;
mod u2f;
use create::*;
use get::*;
use preflight::*;

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
