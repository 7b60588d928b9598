//! The authenticator: CTAP2 request bytes in, response bytes out.
//!
//! Implemented so far: authenticatorMakeCredential (§6.1), GetAssertion (§6.2),
//! GetNextAssertion (§6.3), GetInfo (§6.4), ClientPIN (§6.5, PIN/UV auth
//! protocols 1 and 2, pinUvAuthTokens with permissions), Reset (§6.6),
//! CredentialManagement (§6.8), Selection (§6.9) and Config (§6.11:
//! toggleAlwaysUv, setMinPINLength) and LargeBlobs (§6.10); the extensions
//! credProtect, hmac-secret, credBlob, largeBlobKey and thirdPartyPayment;
//! none / packed self attestation; built-in user verification through
//! [`UserInteraction`].

use crate::attestation::{attest, NewCredential, Statement};
use crate::client_pin::PinState;
use crate::cred_mgmt::{self, CredMgmtState};
use crate::hmac_secret;
use crate::large_blobs::{self, LargeBlobState};
use crate::pin_protocol::PinProtocol;
use crate::store::{CredentialStore, StoredCredential};
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::signature::SigningKey;
use keyhaven_crypto::SecretBytes;
use keyhaven_proto::authdata::{Aaguid, AuthenticatorData, Flags};
use keyhaven_proto::cbor::Value;
use keyhaven_proto::cose::{CoseAlgorithm, CoseKey};
use keyhaven_proto::ctap2::get_assertion::{GetAssertionRequest, GetAssertionResponse};
use keyhaven_proto::ctap2::get_info::GetInfoResponse;
use keyhaven_proto::ctap2::make_credential::{MakeCredentialRequest, MakeCredentialResponse};
use keyhaven_proto::ctap2::types::{CredentialDescriptor, CredentialParameters, UserEntity};
use keyhaven_proto::ctap2::{Request, Response, ResponseBody, StatusCode};
use std::time::{Duration, Instant};

/// The user's side of the ceremony: presence and built-in verification.
pub trait UserInteraction {
    /// Asks for user presence (a touch); true if given.
    fn presence(&mut self, rp_id: &str) -> bool;
    /// Whether the authenticator has built-in user verification.
    fn has_built_in_uv(&self) -> bool;
    /// Performs built-in user verification; true if the user was verified.
    fn verify_user(&mut self, rp_id: &str) -> bool;
}

/// Approves everything without asking (tests, automation: `--presence always`).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysApprove {
    /// Simulate built-in user verification (`--uv always`).
    pub uv: bool,
}

impl UserInteraction for AlwaysApprove {
    fn presence(&mut self, _: &str) -> bool {
        true
    }
    fn has_built_in_uv(&self) -> bool {
        self.uv
    }
    fn verify_user(&mut self, _: &str) -> bool {
        self.uv
    }
}

pub use crate::attestation::BatchAttestation;

/// Static settings of the authenticator.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The AAGUID.
    pub aaguid: Aaguid,
    /// Algorithms supported, in the authenticator's order of preference.
    pub algorithms: Vec<CoseAlgorithm>,
    /// maxCredBlobLength (at least 32).
    pub max_cred_blob_length: usize,
    /// How long getNextAssertion state lives (CTAP 2.2 §6.3: 30 s).
    pub next_assertion_timeout: Duration,
    /// How long after power-up authenticatorReset is allowed (§6.6: 10 s).
    pub reset_window: Duration,
    /// Packed attestation with this batch key instead of self attestation.
    pub batch_attestation: Option<std::sync::Arc<BatchAttestation>>,
    /// Speak CTAP2 (authenticatorMakeCredential, …). Off: a U2F-only device.
    pub ctap2: bool,
    /// Speak CTAP1/U2F (U2F_REGISTER, U2F_AUTHENTICATE, U2F_VERSION).
    pub u2f: bool,
    /// New credentials keep signCount 0 forever, as synced passkey providers'
    /// do: they can then be exported with CXF, which excludes passkeys whose
    /// counter is not zero. Off: each assertion increments the counter.
    pub zero_counters: bool,
}

/// The largest CTAP message: one CTAPHID message of 128 continuation packets
/// (64-byte reports: 57 + 128 × 59 bytes), advertised as maxMsgSize.
pub const MAX_MSG_SIZE: usize = 7609;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            aaguid: Aaguid::ZERO,
            algorithms: SigningKey::SIGNING_ALGORITHMS
                .into_iter()
                .chain(SigningKey::FULLY_SPECIFIED_SIGNING_ALGORITHMS)
                .chain(SigningKey::ML_DSA_SIGNING_ALGORITHMS)
                .collect(),
            max_cred_blob_length: 32,
            next_assertion_timeout: Duration::from_secs(30),
            reset_window: Duration::from_secs(10),
            batch_attestation: None,
            ctap2: true,
            u2f: true,
            zero_counters: false,
        }
    }
}

struct PendingAssertions {
    client_data_hash: Vec<u8>,
    uv: bool,
    up: bool,
    remaining: Vec<StoredCredential>,
    requested_extensions: Option<Value>,
    expires: Instant,
}

/// A CTAP 2.2 authenticator over a credential store and a user.
pub struct Authenticator<S: CredentialStore, U: UserInteraction> {
    pub(crate) store: S,
    pub(crate) user: U,
    pub(crate) settings: Settings,
    pub(crate) pin: PinState,
    cred_mgmt: CredMgmtState,
    large_blobs: LargeBlobState,
    powered_up: Instant,
    next: Option<PendingAssertions>,
    pub(crate) counter: u64,
    keys: std::collections::HashMap<Vec<u8>, std::sync::Arc<SigningKey>>,
}

type CtapResult<T> = crate::error::Result<T>;

/// getInfo's maxCredentialCountInList (0x07): the longest allowList or
/// excludeList a platform should send in one request.
pub const MAX_CREDENTIAL_COUNT_IN_LIST: usize = 16;

/// getInfo's firmwareVersion (0x0E): this crate's version as
/// major·10⁶ + minor·10³ + patch.
pub const FIRMWARE_VERSION: u64 = {
    const fn num(s: &str) -> u64 {
        let b = s.as_bytes();
        let mut n = 0;
        let mut i = 0;
        while i < b.len() {
            n = n * 10 + (b[i] - b'0') as u64;
            i += 1;
        }
        n
    }
    num(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
        + num(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
        + num(env!("CARGO_PKG_VERSION_PATCH"))
};

impl<S: CredentialStore, U: UserInteraction> Authenticator<S, U> {
    /// An authenticator over `store`, asking `user`.
    pub fn new(
        store: S,
        user: U,
        settings: Settings,
    ) -> Result<Self, keyhaven_crypto::CryptoError> {
        // The PIN and config survive restarts: restore them from the store.
        let mut pin = PinState::new()?;
        let mut store = store;
        match store.authenticator_state() {
            Ok(Some(saved)) => pin
                .restore(&saved)
                .map_err(|_| keyhaven_crypto::CryptoError::Library("stored authenticator state"))?,
            // First start: persist the fresh state (the device secret) right away.
            _ => store
                .set_authenticator_state(pin.persistent())
                .map_err(|_| keyhaven_crypto::CryptoError::Library("store authenticator state"))?,
        }
        let counter = store
            .all()
            .map(|c| c.iter().map(|c| c.created).max().unwrap_or(0))
            .unwrap_or(0);
        Ok(Authenticator {
            store,
            user,
            settings,
            pin,
            cred_mgmt: CredMgmtState::default(),
            large_blobs: LargeBlobState::default(),
            powered_up: Instant::now(),
            next: None,
            counter,
            keys: Default::default(),
        })
    }

    /// The store (for tools that list credentials).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (for tools that delete credentials).
    pub fn store_mut(&mut self) -> &mut S {
        self.keys.clear();
        &mut self.store
    }

    /// Processes one CTAP2 message (command byte + CBOR) and returns the
    /// response (status byte + CBOR). Never panics on input.
    pub fn process(&mut self, message: &[u8]) -> Vec<u8> {
        if !self.settings.ctap2 {
            // A U2F-only device knows no CTAP2 command.
            return Response::error(StatusCode::Ctap1ErrInvalidCommand).to_bytes();
        }
        let response = match Request::from_bytes(message) {
            Err(e) => Response::error(e.status()),
            Ok(req) => {
                if !matches!(req, Request::GetNextAssertion) {
                    self.next = None;
                }
                if !matches!(req, Request::CredentialManagement(_)) {
                    self.cred_mgmt = CredMgmtState::default();
                }
                // PIN retries, a new PIN or config must be durable before the answer leaves.
                let (result, saved) = self.persisting_state(|a| a.dispatch(req));
                match (result, saved) {
                    (_, Err(cause)) => {
                        Response::error(crate::error::Error::from(cause).into_status())
                    }
                    (Ok(body), Ok(())) => Response::ok(body),
                    (Err(e), Ok(())) => Response::error(e.into_status()),
                }
            }
        };
        response.to_bytes()
    }

    fn dispatch(&mut self, req: Request) -> CtapResult<ResponseBody> {
        match req {
            Request::MakeCredential(r) => self.make_credential(r).map(ResponseBody::MakeCredential),
            Request::GetAssertion(r) => self.get_assertion(r).map(ResponseBody::GetAssertion),
            Request::GetNextAssertion => self.get_next_assertion().map(ResponseBody::GetAssertion),
            Request::GetInfo => Ok(ResponseBody::GetInfo(self.get_info())),
            Request::Reset => self.reset().map(|_| ResponseBody::Empty),
            Request::Selection => {
                if self.user.presence("") {
                    Ok(ResponseBody::Empty)
                } else {
                    Err(StatusCode::Ctap2ErrOperationDenied.into())
                }
            }
            Request::ClientPin(r) => {
                let user = &mut self.user;
                // Subcommands without output (setPIN, changePIN) answer the status byte alone.
                self.pin.process(&r, || user.verify_user("")).map(|resp| {
                    if resp == Default::default() {
                        ResponseBody::Empty
                    } else {
                        ResponseBody::ClientPin(resp)
                    }
                })
            }
            Request::Config(r) => self.config(r).map(|_| ResponseBody::Empty),
            Request::LargeBlobs(r) => {
                let protected = self.pin.is_set() || self.user.has_built_in_uv();
                large_blobs::process(
                    &r,
                    &mut self.store,
                    &mut self.pin,
                    &mut self.large_blobs,
                    protected,
                )
                .map(|resp| {
                    if resp.config.is_none() {
                        ResponseBody::Empty
                    } else {
                        ResponseBody::LargeBlobs(resp)
                    }
                })
            }
            Request::CredentialManagement(r) => {
                self.keys.clear();
                cred_mgmt::process(&r, &mut self.store, &mut self.pin, &mut self.cred_mgmt).map(
                    |resp| {
                        if resp == Default::default() {
                            ResponseBody::Empty
                        } else {
                            ResponseBody::CredentialManagement(resp)
                        }
                    },
                )
            }
        }
    }

    /// Runs `f`, then stores the persistent authenticator state (PIN, retries,
    /// config, U2F attestation) if `f` changed it: durable before any answer.
    pub(crate) fn persisting_state<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> T,
    ) -> (T, Result<(), crate::store::StoreError>) {
        let before = self.pin.persistent();
        let result = f(self);
        let after = self.pin.persistent();
        let saved = if after != before {
            self.store.set_authenticator_state(after)
        } else {
            Ok(())
        };
        (result, saved)
    }

    /// getInfo's versions: U2F_V2 when CTAP1 is spoken (CTAP 2.2 §6.4).
    fn versions(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.settings.u2f {
            v.push("U2F_V2".to_owned());
        }
        v.extend(["FIDO_2_0", "FIDO_2_1", "FIDO_2_2"].map(String::from));
        v
    }

    /// authenticatorGetInfo (§6.4): only what is implemented is advertised.
    pub fn get_info(&self) -> GetInfoResponse {
        let mut options = vec![
            ("rk".to_owned(), true),
            ("up".to_owned(), true),
            ("plat".to_owned(), false),
        ];
        if self.user.has_built_in_uv() {
            options.push(("uv".to_owned(), true));
        }
        options.push(("clientPin".to_owned(), self.pin.is_set()));
        options.push(("pinUvAuthToken".to_owned(), true));
        options.push(("credMgmt".to_owned(), true));
        options.push(("authnrCfg".to_owned(), true));
        options.push(("largeBlobs".to_owned(), true));
        options.push(("setMinPINLength".to_owned(), true));
        options.push(("alwaysUv".to_owned(), self.pin.always_uv));
        options.push(("makeCredUvNotRqd".to_owned(), !self.pin.always_uv));
        GetInfoResponse {
            versions: self.versions(),
            extensions: Some(
                [
                    "credProtect",
                    "hmac-secret",
                    "hmac-secret-mc",
                    "minPinLength",
                    "credBlob",
                    "largeBlobKey",
                    "thirdPartyPayment",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ),
            aaguid: self.settings.aaguid.0,
            options: Some(options),
            max_msg_size: Some(MAX_MSG_SIZE as u64),
            pin_uv_auth_protocols: Some(vec![2, 1]),
            force_pin_change: Some(self.pin.force_change),
            min_pin_length: Some(self.pin.min_pin_length as u64),
            max_credential_count_in_list: Some(MAX_CREDENTIAL_COUNT_IN_LIST as u64),
            max_credential_id_length: Some(1023),
            max_rp_ids_for_set_min_pin_length: Some(
                crate::client_pin::MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH as u64,
            ),
            firmware_version: Some(FIRMWARE_VERSION),
            max_pin_length: Some(63),
            transports: Some(vec!["usb".into()]),
            algorithms: Some(
                self.settings
                    .algorithms
                    .iter()
                    .map(|a| CredentialParameters {
                        type_: "public-key".into(),
                        alg: a.id(),
                    })
                    .collect(),
            ),
            max_cred_blob_length: Some(self.settings.max_cred_blob_length as u64),
            max_serialized_large_blob_array: Some(large_blobs::MAX_SERIALIZED as u64),
            remaining_discoverable_credentials: Some(self.store.remaining_discoverable() as u64),
            attestation_formats: Some(vec!["packed".into(), "none".into()]),
            ..Default::default()
        }
    }

    /// authenticatorConfig (§6.11): toggleAlwaysUv and setMinPINLength.
    fn config(&mut self, r: keyhaven_proto::ctap2::config::ConfigRequest) -> CtapResult<()> {
        use keyhaven_proto::ctap2::config::ConfigSubcommand as C;
        // Protected by a token with the acfg permission once a PIN or built-in UV exists.
        if self.pin.is_set() || self.user.has_built_in_uv() {
            let (param, protocol) = crate::client_pin::token_param(
                r.pin_uv_auth_param.as_deref(),
                r.pin_uv_auth_protocol,
            )?;
            self.pin.check_token_for(
                protocol,
                param,
                &r.auth_message(),
                keyhaven_proto::ctap2::client_pin::permissions::ACFG,
            )?;
        }
        match r.sub_command {
            C::ToggleAlwaysUv => {
                self.pin.always_uv = !self.pin.always_uv;
                Ok(())
            }
            C::SetMinPinLength => {
                let p = r.sub_command_params.unwrap_or_default();
                self.pin.set_min_pin_length(
                    p.new_min_pin_length,
                    p.min_pin_length_rp_ids,
                    p.force_change_pin == Some(true),
                )
            }
            _ => Err(StatusCode::Ctap2ErrInvalidSubcommand.into()),
        }
    }

    fn reset(&mut self) -> CtapResult<()> {
        // §6.6: only within the window after power-up, and with user presence.
        if self.powered_up.elapsed() > self.settings.reset_window {
            return Err(StatusCode::Ctap2ErrNotAllowed.into());
        }
        if !self.user.presence("") {
            return Err(StatusCode::Ctap2ErrOperationDenied.into());
        }
        self.store.clear()?;
        self.keys.clear();
        self.pin = PinState::new()?;
        Ok(())
    }

    /// Shared option handling for makeCredential / getAssertion: returns (up, uv).
    fn options(
        &mut self,
        opts: Option<&keyhaven_proto::ctap2::types::Options>,
        make: bool,
    ) -> CtapResult<(bool, bool)> {
        let up = opts.and_then(|o| o.up).unwrap_or(true);
        let uv = opts.and_then(|o| o.uv).unwrap_or(false);
        if make && !up {
            return Err(StatusCode::Ctap2ErrInvalidOption.into());
        }
        if uv && !self.user.has_built_in_uv() {
            return Err(StatusCode::Ctap2ErrInvalidOption.into());
        }
        Ok((up, uv))
    }

    /// pinUvAuthParam handling of makeCredential (§6.1.2 steps 1-2, 11) and
    /// getAssertion (§6.2.2 steps 1-2, 6): Ok(true) when a valid token vouches for UV.
    fn check_pin_uv_param(
        &mut self,
        param: &Option<Vec<u8>>,
        protocol: Option<u64>,
        client_data_hash: &[u8],
        permission: u64,
        rp_id: &str,
    ) -> CtapResult<bool> {
        let Some(param) = param else { return Ok(false) };
        if param.is_empty() {
            // A zero-length pinUvAuthParam asks the authenticator to blink: presence, then PIN status.
            if !self.user.presence(rp_id) {
                return Err(StatusCode::Ctap2ErrOperationDenied.into());
            }
            return Err(if self.pin.is_set() {
                StatusCode::Ctap2ErrPinInvalid
            } else {
                StatusCode::Ctap2ErrPinNotSet
            }
            .into());
        }
        let protocol = protocol.ok_or(StatusCode::Ctap2ErrMissingParameter)?;
        PinProtocol::from_u64(protocol).map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        self.pin
            .check_token(protocol, param, client_data_hash, permission, rp_id)?;
        Ok(true)
    }

    fn visible(cred: &StoredCredential, uv: bool, allow_list: bool) -> bool {
        match cred.cred_protect {
            3 => uv,
            2 => uv || allow_list,
            _ => true,
        }
    }

    /// authenticatorMakeCredential (CTAP 2.2 §6.1.2), step by step.
    fn make_credential(&mut self, r: MakeCredentialRequest) -> CtapResult<MakeCredentialResponse> {
        if r.client_data_hash.len() != 32 {
            return Err(StatusCode::Ctap1ErrInvalidParameter.into());
        }
        let token_uv = self.check_pin_uv_param(
            &r.pin_uv_auth_param,
            r.pin_uv_auth_protocol,
            &r.client_data_hash,
            keyhaven_proto::ctap2::client_pin::permissions::MC,
            &r.rp.id,
        )?;
        // Step 3: the first supported algorithm, in the RP's order.
        let alg = r
            .pub_key_cred_params
            .iter()
            .filter(|p| p.type_ == "public-key")
            .find_map(|p| {
                CoseAlgorithm::from_id(p.alg).filter(|a| self.settings.algorithms.contains(a))
            })
            .ok_or(StatusCode::Ctap2ErrUnsupportedAlgorithm)?;
        let (_, want_uv) = self.options(r.options.as_ref(), true)?;
        let rk = r.options.as_ref().and_then(|o| o.rk).unwrap_or(false);
        let rp_id_hash = sha256(r.rp.id.as_bytes());
        let uv = self.mc_user_verification(&r.rp.id, token_uv, want_uv, rk)?;
        // Step 11: excludeList.
        for d in r.exclude_list.iter().flatten() {
            if let Some(c) = self.lookup(&d.id, &rp_id_hash)? {
                if Self::visible(&c, uv, true) {
                    let _ = self.user.presence(&r.rp.id);
                    return Err(StatusCode::Ctap2ErrCredentialExcluded.into());
                }
            }
        }
        // Step 12: extensions.
        let ext = McExtensions::parse(r.extensions.as_ref(), rk)?;
        // Step 13: user presence.
        if !self.user.presence(&r.rp.id) {
            return Err(StatusCode::Ctap2ErrOperationDenied.into());
        }
        // Steps 14-17: the key pair and the credential, stored.
        let (key, cred) = self.new_credential(&r, alg, rp_id_hash, rk, &ext)?;
        self.store_new(&cred)?;
        let extensions = self.mc_extension_outputs(&r, &cred, &ext, uv)?;
        let mut flags = Flags::UP;
        if uv {
            flags = flags | Flags::UV;
        }
        // Step 18: attestation, honouring attestationFormatsPreference.
        let fmt = r
            .attestation_formats_preference
            .as_ref()
            .and_then(|prefs| prefs.iter().find(|f| *f == "packed" || *f == "none"))
            .map_or("packed", String::as_str);
        let statement = match (fmt, &self.settings.batch_attestation) {
            ("none", _) => Statement::None,
            (_, Some(batch)) => Statement::PackedBatch(batch),
            (_, None) => Statement::PackedSelf,
        };
        let aaguid = self.settings.aaguid;
        let attest_with = |statement: Statement<'_>| {
            let new = NewCredential {
                rp_id_hash,
                flags,
                sign_count: 0,
                aaguid,
                credential_id: cred.id.clone(),
                key: &key,
                extensions: extensions.clone(),
            };
            let mut response = attest(new, &r.client_data_hash, statement)?;
            response.large_blob_key = cred.large_blob_key.as_ref().map(|k| k.expose().to_vec());
            Ok::<_, keyhaven_crypto::CryptoError>(response)
        };
        let mut response = attest_with(statement)?;
        // The response must fit in one CTAPHID message (status byte
        // included). A packed self attestation by ML-DSA-87 (a 4627-byte
        // signature beside a 2592-byte key) fits only with a short credential
        // ID; otherwise the statement is `none` (L3 §8.7), which leaves out
        // only the credential's signature over its own key.
        if matches!(statement, Statement::PackedSelf)
            && 1 + keyhaven_proto::cbor::encode(&response.to_value()).len() > MAX_MSG_SIZE
        {
            response = attest_with(Statement::None)?;
        }
        Ok(response)
    }

    /// makeCredential step 17: stores a new credential. A discoverable one
    /// overwrites any discoverable credential of the same rp.id and user ID.
    /// With room to spare the new one is written first (a crash in between
    /// leaves both, never neither); in a full store the old one goes first.
    fn store_new(&mut self, cred: &StoredCredential) -> CtapResult<()> {
        let replaced: Vec<Vec<u8>> = if cred.discoverable {
            self.store
                .by_rp(&cred.rp_id_hash)?
                .into_iter()
                .filter(|c| c.discoverable && c.user.id == cred.user.id && c.id != cred.id)
                .map(|c| c.id)
                .collect()
        } else {
            vec![]
        };
        let room = self.store.remaining_discoverable() > 0;
        if room {
            self.store.put(cred.clone())?;
        }
        for id in &replaced {
            self.keys.remove(id);
            self.store.delete(id)?;
        }
        if !room {
            self.store.put(cred.clone())?;
        }
        Ok(())
    }

    /// makeCredential step 9: user verification (a pinUvAuthToken, or built-in
    /// UV when asked for), and makeCredUvNotRqd: with a PIN set only
    /// discoverable credentials need UV; with alwaysUv every credential does.
    fn mc_user_verification(
        &mut self,
        rp_id: &str,
        token_uv: bool,
        want_uv: bool,
        rk: bool,
    ) -> CtapResult<bool> {
        let uv = if token_uv {
            true
        } else if want_uv {
            if !self.user.verify_user(rp_id) {
                return Err(StatusCode::Ctap2ErrOperationDenied.into());
            }
            true
        } else {
            false
        };
        if !uv && ((rk && self.pin.is_set()) || self.pin.always_uv) {
            return Err(StatusCode::Ctap2ErrPuatRequired.into());
        }
        Ok(uv)
    }

    /// makeCredential steps 14–17: a new key pair and its credential; a
    /// non-discoverable credential's ID carries the credential, encrypted under
    /// the device secret (it also stays in the store for its counter).
    fn new_credential(
        &mut self,
        r: &MakeCredentialRequest,
        alg: CoseAlgorithm,
        rp_id_hash: [u8; 32],
        rk: bool,
        ext: &McExtensions,
    ) -> CtapResult<(SigningKey, StoredCredential)> {
        let key = SigningKey::generate(alg)?;
        let id = keyhaven_crypto::rand::vec(32)?;
        let random32 = || {
            keyhaven_crypto::rand::vec(32)
                .map(SecretBytes::new)
                .map_err(crate::error::Error::from)
        };
        self.counter += 1;
        let mut cred = StoredCredential {
            id,
            rp_id: r.rp.id.clone(),
            rp_id_hash,
            user: r.user.clone(),
            alg: alg.id(),
            private_key: key.to_private_bytes()?,
            sign_count: 0,
            discoverable: rk,
            cred_protect: ext.cred_protect,
            cred_random: if ext.hmac {
                Some((random32()?, random32()?))
            } else {
                None
            },
            cred_blob: ext
                .cred_blob
                .clone()
                .filter(|b| b.len() <= self.settings.max_cred_blob_length),
            large_blob_key: if ext.large_blob_key {
                Some(random32()?)
            } else {
                None
            },
            third_party_payment: ext.third_party_payment,
            created: self.counter,
            fixed_counter: self.settings.zero_counters,
        };
        if !rk {
            if let Some(wrapped) = crate::wrap::wrap(self.pin.device_secret(), &cred) {
                cred.id = wrapped;
            }
        }
        Ok((key, cred))
    }

    /// The extension outputs in a new credential's authenticator data (CTAP 2.2 §12).
    fn mc_extension_outputs(
        &mut self,
        r: &MakeCredentialRequest,
        cred: &StoredCredential,
        ext: &McExtensions,
        uv: bool,
    ) -> CtapResult<Option<Value>> {
        let input = |name: &str| r.extensions.as_ref().and_then(|e| e.get_text(name));
        let mut out = Vec::new();
        if input("credProtect").is_some() {
            out.push((
                Value::from("credProtect"),
                Value::from(u64::from(ext.cred_protect)),
            ));
        }
        if input("hmac-secret").is_some() {
            out.push((Value::from("hmac-secret"), Value::Bool(ext.hmac)));
        }
        if ext.cred_blob.is_some() {
            out.push((
                Value::from("credBlob"),
                Value::Bool(cred.cred_blob.is_some()),
            ));
        }
        // hmac-secret-mc (CTAP 2.2 §12.7): the hmac-secret outputs at creation.
        if let Some(v) = input("hmac-secret-mc") {
            if let Some(v) = self.hmac_secret_output(cred, v, uv)? {
                out.push((Value::from("hmac-secret-mc"), Value::Bytes(v)));
            }
        }
        // minPinLength (§12.4): only for RP IDs authorized by setMinPINLength.
        if input("minPinLength").and_then(Value::as_bool) == Some(true)
            && self.pin.min_pin_length_rp_ids.contains(&r.rp.id)
        {
            out.push((
                Value::from("minPinLength"),
                Value::from(self.pin.min_pin_length as u64),
            ));
        }
        if input("thirdPartyPayment").is_some() {
            out.push((
                Value::from("thirdPartyPayment"),
                Value::Bool(ext.third_party_payment),
            ));
        }
        Ok((!out.is_empty()).then(|| Value::canonical_map(out)))
    }

    /// authenticatorGetAssertion (§6.2.2).
    fn get_assertion(&mut self, r: GetAssertionRequest) -> CtapResult<GetAssertionResponse> {
        if r.client_data_hash.len() != 32 {
            return Err(StatusCode::Ctap1ErrInvalidParameter.into());
        }
        let token_uv = self.check_pin_uv_param(
            &r.pin_uv_auth_param,
            r.pin_uv_auth_protocol,
            &r.client_data_hash,
            keyhaven_proto::ctap2::client_pin::permissions::GA,
            &r.rp_id,
        )?;
        if r.options.as_ref().and_then(|o| o.rk).is_some() {
            return Err(StatusCode::Ctap2ErrUnsupportedOption.into());
        }
        let (up, want_uv) = self.options(r.options.as_ref(), false)?;
        let rp_id_hash = sha256(r.rp_id.as_bytes());
        let uv = if token_uv {
            true
        } else if want_uv {
            if !self.user.verify_user(&r.rp_id) {
                return Err(StatusCode::Ctap2ErrOperationDenied.into());
            }
            true
        } else {
            false
        };
        if self.pin.always_uv && !uv {
            return Err(StatusCode::Ctap2ErrPuatRequired.into());
        }
        // Step 7: locate the credentials.
        let allow = r.allow_list.as_ref().filter(|l| !l.is_empty());
        let mut creds: Vec<StoredCredential> = match allow {
            Some(list) => {
                let mut found = Vec::new();
                for d in list {
                    if let Some(c) = self.lookup(&d.id, &rp_id_hash)? {
                        if Self::visible(&c, uv, true) {
                            found.push(c);
                        }
                    }
                }
                found.truncate(1);
                found
            }
            None => self
                .store
                .by_rp(&rp_id_hash)?
                .into_iter()
                .filter(|c| c.discoverable && Self::visible(c, uv, false))
                .collect(),
        };
        if creds.is_empty() {
            return Err(StatusCode::Ctap2ErrNoCredentials.into());
        }
        // Most recently created first.
        creds.sort_by_key(|c| std::cmp::Reverse(c.created));
        // Step 9: user presence.
        if up && !self.user.presence(&r.rp_id) {
            return Err(StatusCode::Ctap2ErrOperationDenied.into());
        }
        let total = creds.len();
        let first = creds.remove(0);
        let mut resp = self.assert(&first, &r.client_data_hash, up, uv, r.extensions.as_ref())?;
        if allow.is_none() && total > 1 {
            resp.number_of_credentials = Some(total as u64);
            self.next = Some(PendingAssertions {
                client_data_hash: r.client_data_hash.clone(),
                uv,
                up,
                remaining: creds,
                requested_extensions: r.extensions.clone(),
                expires: Instant::now() + self.settings.next_assertion_timeout,
            });
        }
        Ok(resp)
    }

    /// authenticatorGetNextAssertion (§6.3).
    fn get_next_assertion(&mut self) -> CtapResult<GetAssertionResponse> {
        let mut pending = self.next.take().ok_or(StatusCode::Ctap2ErrNotAllowed)?;
        if Instant::now() > pending.expires || pending.remaining.is_empty() {
            return Err(StatusCode::Ctap2ErrNotAllowed.into());
        }
        let cred = pending.remaining.remove(0);
        let ext = pending.requested_extensions.clone();
        let resp = self.assert(
            &cred,
            &pending.client_data_hash,
            pending.up,
            pending.uv,
            ext.as_ref(),
        )?;
        if !pending.remaining.is_empty() {
            self.next = Some(pending);
        }
        Ok(resp)
    }

    /// One assertion with `cred`: counter update (persisted first), extensions, signature.
    fn assert(
        &mut self,
        cred: &StoredCredential,
        client_data_hash: &[u8],
        up: bool,
        uv: bool,
        extensions: Option<&Value>,
    ) -> CtapResult<GetAssertionResponse> {
        // The counter is written before the response exists; a fixed one
        // stays 0 (CTAP 2.2 §6.1.2 allows a constant zero counter).
        let count = if cred.fixed_counter {
            0
        } else {
            let current = self
                .store
                .get(&cred.id)?
                .map_or(cred.sign_count, |c| c.sign_count);
            let count = current.checked_add(1).ok_or(StatusCode::Ctap1ErrOther)?;
            self.store.set_sign_count(&cred.id, count)?;
            count
        };
        let ext = |name: &str| extensions.and_then(|e| e.get_text(name));
        let mut out = Vec::new();
        if let Some(hs) = ext("hmac-secret") {
            if let Some(v) = self.hmac_secret_output(cred, hs, uv)? {
                out.push((Value::from("hmac-secret"), Value::Bytes(v)));
            }
        }
        if ext("credBlob").and_then(Value::as_bool) == Some(true) {
            out.push((
                Value::from("credBlob"),
                Value::Bytes(cred.cred_blob.clone().unwrap_or_default()),
            ));
        }
        if ext("thirdPartyPayment").and_then(Value::as_bool) == Some(true) {
            out.push((
                Value::from("thirdPartyPayment"),
                Value::Bool(cred.third_party_payment),
            ));
        }
        let mut flags = Flags(0);
        if up {
            flags = flags | Flags::UP;
        }
        if uv {
            flags = flags | Flags::UV;
        }
        let mut ad = AuthenticatorData::new(cred.rp_id_hash, flags, count);
        if !out.is_empty() {
            ad = ad.with_extensions(Value::canonical_map(out));
        }
        let key = self.signing_key(cred)?;
        let raw = ad.to_bytes();
        let sig = key.sign(&[raw.as_slice(), client_data_hash].concat())?;
        let mut resp = GetAssertionResponse::new(ad, sig);
        resp.credential = Some(CredentialDescriptor::public_key(cred.id.clone()));
        if cred.discoverable {
            // The user id always; name and displayName only after user verification.
            resp.user = Some(UserEntity {
                id: cred.user.id.clone(),
                name: if uv { cred.user.name.clone() } else { None },
                display_name: if uv {
                    cred.user.display_name.clone()
                } else {
                    None
                },
            });
        }
        if ext("largeBlobKey").and_then(Value::as_bool) == Some(true) {
            resp.large_blob_key = cred.large_blob_key.as_ref().map(|k| k.expose().to_vec());
        }
        Ok(resp)
    }

    /// A credential of this RP by ID: from the store, or unwrapped from a
    /// credential ID this device issued (then stored, so its counter persists).
    pub(crate) fn lookup(
        &mut self,
        id: &[u8],
        rp_id_hash: &[u8; 32],
    ) -> CtapResult<Option<StoredCredential>> {
        if let Some(c) = self.store.get(id)? {
            return Ok((c.rp_id_hash == *rp_id_hash).then_some(c));
        }
        match crate::wrap::unwrap(self.pin.device_secret(), rp_id_hash, id) {
            Some(c) => {
                self.store.put(c.clone())?;
                Ok(Some(c))
            }
            None => Ok(None),
        }
    }

    /// The credential's parsed signing key, from a bounded cache (parsing and
    /// validating PKCS#8 costs as much as a signature).
    pub(crate) fn signing_key(
        &mut self,
        cred: &StoredCredential,
    ) -> CtapResult<std::sync::Arc<SigningKey>> {
        if let Some(k) = self.keys.get(&cred.id) {
            return Ok(k.clone());
        }
        let alg = CoseAlgorithm::from_id(cred.alg).ok_or(StatusCode::Ctap1ErrOther)?;
        let key = std::sync::Arc::new(SigningKey::from_private_bytes(
            alg,
            cred.private_key.expose(),
        )?);
        if self.keys.len() >= 1024 {
            self.keys.clear();
        }
        self.keys.insert(cred.id.clone(), key.clone());
        Ok(key)
    }

    /// hmac-secret in getAssertion (CTAP 2.2 §12.5): keyAgreement (1), saltEnc (2),
    /// saltAuth (3), pinUvAuthProtocol (4, default 1).
    fn hmac_secret_output(
        &mut self,
        cred: &StoredCredential,
        input: &Value,
        uv: bool,
    ) -> CtapResult<Option<Vec<u8>>> {
        let Some((without_uv, with_uv)) = &cred.cred_random else {
            return Ok(None);
        };
        let get = |k: i64| input.get_int(k);
        let peer = CoseKey::from_value(get(1).ok_or(StatusCode::Ctap2ErrMissingParameter)?)
            .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        let salt_enc = get(2)
            .and_then(Value::as_bytes)
            .ok_or(StatusCode::Ctap2ErrMissingParameter)?;
        let salt_auth = get(3)
            .and_then(Value::as_bytes)
            .ok_or(StatusCode::Ctap2ErrMissingParameter)?;
        let protocol = PinProtocol::from_u64(get(4).and_then(Value::as_u64).unwrap_or(1))
            .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        let secret = protocol
            .decapsulate(self.pin.key_agreement(), &peer)
            .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        let cred_random = if uv { with_uv } else { without_uv };
        match hmac_secret::process(
            protocol,
            secret.expose(),
            salt_enc,
            salt_auth,
            cred_random.expose(),
            None,
        ) {
            Ok(v) => Ok(Some(v)),
            Err(hmac_secret::HmacSecretError::SaltAuth) => {
                Err(StatusCode::Ctap2ErrPinAuthInvalid.into())
            }
            // §12.5: salts that are not 32 or 64 bytes are an invalid parameter.
            Err(hmac_secret::HmacSecretError::SaltLength(_)) => {
                Err(StatusCode::Ctap1ErrInvalidParameter.into())
            }
            // saltEnc that does not decrypt (not whole AES blocks, no IV).
            Err(hmac_secret::HmacSecretError::Protocol(_)) => {
                Err(StatusCode::Ctap1ErrInvalidLength.into())
            }
        }
    }

    /// The current key agreement public key (what clientPIN getKeyAgreement returns).
    pub fn key_agreement_public(&self) -> Result<CoseKey, keyhaven_crypto::CryptoError> {
        self.pin.key_agreement().cose_key()
    }
}
/// The makeCredential extension inputs the authenticator acts on (step 12).
struct McExtensions {
    /// credProtect level (1 when absent).
    cred_protect: u8,
    /// hmac-secret: true.
    hmac: bool,
    /// credBlob as sent (stored only when it fits).
    cred_blob: Option<Vec<u8>>,
    /// largeBlobKey: true (discoverable credentials only).
    large_blob_key: bool,
    /// thirdPartyPayment: true.
    third_party_payment: bool,
}

impl McExtensions {
    fn parse(ext: Option<&Value>, rk: bool) -> CtapResult<Self> {
        let get = |name: &str| ext.and_then(|e| e.get_text(name));
        let cred_protect = match get("credProtect") {
            None => 1,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=3) => n as u8,
                _ => return Err(StatusCode::Ctap1ErrInvalidParameter.into()),
            },
        };
        let cred_blob = match get("credBlob") {
            None => None,
            Some(v) => Some(
                v.as_bytes()
                    .ok_or(StatusCode::Ctap2ErrCborUnexpectedType)?
                    .to_vec(),
            ),
        };
        let large_blob_key = get("largeBlobKey").and_then(Value::as_bool) == Some(true);
        if large_blob_key && !rk {
            return Err(StatusCode::Ctap2ErrInvalidOption.into());
        }
        Ok(McExtensions {
            cred_protect,
            hmac: get("hmac-secret").and_then(Value::as_bool) == Some(true),
            cred_blob,
            large_blob_key,
            third_party_payment: get("thirdPartyPayment").and_then(Value::as_bool) == Some(true),
        })
    }
}
