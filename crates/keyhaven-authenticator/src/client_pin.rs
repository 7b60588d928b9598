//! authenticatorClientPIN (CTAP 2.2 §6.5.5): PIN set / change, PIN retries
//! and the three-strikes power-cycle rule, key agreement, and the
//! pinUvAuthToken with its permissions and permissions RP ID (§6.5.2).

use crate::pin_protocol::{KeyAgreement, PinProtocol};
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::{ct_eq, SecretBytes};
use keyhaven_proto::ctap2::client_pin::{
    permissions, ClientPinRequest, ClientPinResponse, ClientPinSubcommand,
};
use keyhaven_proto::ctap2::StatusCode;

/// Maximum PIN retries (§6.5.2.2).
pub const MAX_PIN_RETRIES: u8 = 8;
/// Consecutive wrong PINs before a power cycle is needed.
const MAX_CONSECUTIVE_MISMATCHES: u8 = 3;
/// Permissions this authenticator can grant so far.
const SUPPORTED_PERMISSIONS: u64 =
    permissions::MC | permissions::GA | permissions::CM | permissions::ACFG | permissions::LBW;

/// The PIN, the retry counters and the current pinUvAuthToken.
pub struct PinState {
    /// LEFT(SHA-256(PIN), 16) when a PIN is set (persisted by the store later).
    pin_hash: Option<[u8; 16]>,
    /// Remaining PIN retries.
    retries: u8,
    /// Wrong PINs since power-up.
    consecutive_mismatches: u8,
    /// minPINLength in code points.
    pub min_pin_length: usize,
    /// RP IDs allowed to see minPINLength (setMinPINLength).
    pub min_pin_length_rp_ids: Vec<String>,
    /// forcePINChange: tokens are refused until the PIN is changed.
    pub force_change: bool,
    /// alwaysUv (toggleAlwaysUv).
    pub always_uv: bool,
    /// Code points of the current PIN.
    pin_length: usize,
    /// The device secret that wraps non-discoverable credential IDs.
    device_secret: SecretBytes,
    /// The generated U2F attestation key (PKCS#8) and its self-signed
    /// certificate (DER), kept with the device secret once made.
    pub u2f_attestation: Option<(SecretBytes, Vec<u8>)>,
    key_agreement: KeyAgreement,
    token: SecretBytes,
    token_protocol: Option<PinProtocol>,
    token_permissions: u64,
    token_rp_id: Option<String>,
}

/// getInfo's maxRPIDsForSetMinPINLength (0x10): how many RP IDs
/// setMinPINLength keeps for the minPinLength extension.
pub const MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH: usize = 8;

/// A required request member (CTAP2_ERR_MISSING_PARAMETER when absent).
fn need<T>(v: Option<T>) -> R<T> {
    v.ok_or(StatusCode::Ctap2ErrMissingParameter.into())
}

type R<T> = crate::error::Result<T>;

/// The permissions of a getPinUvAuthToken…WithPermissions request (§6.5.5.7):
/// present, non-zero, and only ones this authenticator can grant.
fn requested_permissions(r: &ClientPinRequest) -> R<u64> {
    let perms = r.permissions.ok_or(StatusCode::Ctap2ErrMissingParameter)?;
    if perms == 0 {
        return Err(StatusCode::Ctap1ErrInvalidParameter.into());
    }
    if perms & !SUPPORTED_PERMISSIONS != 0 {
        return Err(StatusCode::Ctap2ErrUnauthorizedPermission.into());
    }
    Ok(perms)
}

impl PinState {
    /// Fresh state at power-up: no PIN, a new key agreement key and token.
    pub fn new() -> Result<Self, keyhaven_crypto::CryptoError> {
        Ok(PinState {
            pin_hash: None,
            retries: MAX_PIN_RETRIES,
            consecutive_mismatches: 0,
            min_pin_length: 4,
            min_pin_length_rp_ids: Vec::new(),
            force_change: false,
            always_uv: false,
            pin_length: 0,
            device_secret: SecretBytes::new(keyhaven_crypto::rand::vec(32)?),
            u2f_attestation: None,
            key_agreement: KeyAgreement::generate()?,
            token: SecretBytes::new(keyhaven_crypto::rand::vec(32)?),
            token_protocol: None,
            token_permissions: 0,
            token_rp_id: None,
        })
    }

    /// The state that must survive a restart, as CBOR: PIN hash, retries,
    /// minPINLength and its RP IDs, forcePINChange, alwaysUv, PIN length.
    pub fn persistent(&self) -> Vec<u8> {
        use keyhaven_proto::cbor::Value;
        let mut m = vec![
            (Value::from(2), Value::from(self.retries)),
            (Value::from(3), Value::from(self.min_pin_length as u64)),
            (
                Value::from(4),
                Value::Array(
                    self.min_pin_length_rp_ids
                        .iter()
                        .map(|s| Value::from(s.as_str()))
                        .collect(),
                ),
            ),
            (Value::from(5), Value::Bool(self.force_change)),
            (Value::from(6), Value::Bool(self.always_uv)),
            (Value::from(7), Value::from(self.pin_length as u64)),
            (
                Value::from(8),
                Value::Bytes(self.device_secret.expose().to_vec()),
            ),
        ];
        if let Some(h) = self.pin_hash {
            m.push((Value::from(1), Value::Bytes(h.to_vec())));
        }
        if let Some((key, cert)) = &self.u2f_attestation {
            m.push((Value::from(9), Value::Bytes(key.expose().to_vec())));
            m.push((Value::from(10), Value::Bytes(cert.clone())));
        }
        keyhaven_proto::cbor::encode(&Value::canonical_map(m))
    }

    /// Restores what [`persistent`](Self::persistent) saved; unreadable state is an error.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        use keyhaven_proto::cbor::Value;
        let v = keyhaven_proto::cbor::decode(bytes).map_err(|e| e.to_string())?;
        let bad = || "malformed authenticator state".to_owned();
        self.pin_hash = match v.get_int(1) {
            None => None,
            Some(h) => Some(
                h.as_bytes()
                    .and_then(|b| <[u8; 16]>::try_from(b).ok())
                    .ok_or_else(bad)?,
            ),
        };
        self.retries = v
            .get_int(2)
            .and_then(Value::as_u64)
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(bad)?;
        self.min_pin_length = v.get_int(3).and_then(Value::as_u64).ok_or_else(bad)? as usize;
        self.min_pin_length_rp_ids = v
            .get_int(4)
            .and_then(Value::as_array)
            .ok_or_else(bad)?
            .iter()
            .filter_map(|s| s.as_text().map(str::to_owned))
            .collect();
        self.force_change = v.get_int(5).and_then(Value::as_bool).ok_or_else(bad)?;
        self.always_uv = v.get_int(6).and_then(Value::as_bool).ok_or_else(bad)?;
        self.pin_length = v.get_int(7).and_then(Value::as_u64).ok_or_else(bad)? as usize;
        let secret = v
            .get_int(8)
            .and_then(Value::as_bytes)
            .filter(|s| s.len() == 32)
            .ok_or_else(bad)?;
        self.device_secret = SecretBytes::new(secret.to_vec());
        self.u2f_attestation = match (v.get_int(9), v.get_int(10)) {
            (None, None) => None,
            (Some(k), Some(c)) => Some((
                SecretBytes::new(k.as_bytes().ok_or_else(bad)?.to_vec()),
                c.as_bytes().ok_or_else(bad)?.to_vec(),
            )),
            _ => return Err(bad()),
        };
        Ok(())
    }

    /// The device secret for wrapped credential IDs.
    pub fn device_secret(&self) -> &[u8] {
        self.device_secret.expose()
    }

    /// Whether a PIN is set.
    pub fn is_set(&self) -> bool {
        self.pin_hash.is_some()
    }

    /// The key agreement key pair (also used by hmac-secret).
    pub fn key_agreement(&self) -> &KeyAgreement {
        &self.key_agreement
    }

    fn regenerate(&mut self) -> R<()> {
        self.key_agreement = KeyAgreement::generate()?;
        Ok(())
    }

    /// resetPinUvAuthToken(): a new token, no permissions.
    fn reset_token(&mut self) -> R<()> {
        self.token = SecretBytes::new(keyhaven_crypto::rand::vec(32)?);
        self.token_protocol = None;
        self.token_permissions = 0;
        self.token_rp_id = None;
        Ok(())
    }

    /// Verifies a pinUvAuthParam over `message` for a command needing `permission`
    /// on `rp_id` (§6.1.2 step 11, §6.2.2 step 6). The permissions RP ID is bound
    /// on first use.
    pub fn check_token(
        &mut self,
        protocol: u64,
        param: &[u8],
        message: &[u8],
        permission: u64,
        rp_id: &str,
    ) -> R<()> {
        self.check_token_for(protocol, param, message, permission)?;
        match &self.token_rp_id {
            Some(bound) if bound != rp_id => return Err(StatusCode::Ctap2ErrPinAuthInvalid.into()),
            Some(_) => {}
            None => self.token_rp_id = Some(rp_id.to_owned()),
        }
        Ok(())
    }

    /// Verifies a pinUvAuthParam for credentialManagement (§6.8): the token
    /// needs the cm permission; a token bound to an RP ID only manages that RP
    /// (`rp_id` None means the subcommand spans every RP).
    pub fn check_token_cm(
        &mut self,
        protocol: u64,
        param: &[u8],
        message: &[u8],
        rp_id: Option<&str>,
    ) -> R<()> {
        self.check_token_for(protocol, param, message, permissions::CM)?;
        match (&self.token_rp_id, rp_id) {
            (Some(bound), Some(rp)) if bound != rp => {
                Err(StatusCode::Ctap2ErrPinAuthInvalid.into())
            }
            (Some(_), None) => Err(StatusCode::Ctap2ErrPinAuthInvalid.into()),
            _ => Ok(()),
        }
    }

    /// Verifies a pinUvAuthParam for a command that needs `permission` and no
    /// RP ID (authenticatorConfig: acfg; largeBlobs: lbw).
    pub fn check_token_for(
        &mut self,
        protocol: u64,
        param: &[u8],
        message: &[u8],
        permission: u64,
    ) -> R<()> {
        let p =
            PinProtocol::from_u64(protocol).map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        if self.token_protocol != Some(p) || !p.verify(self.token.expose(), message, param) {
            return Err(StatusCode::Ctap2ErrPinAuthInvalid.into());
        }
        if self.token_permissions & permission == 0 {
            return Err(StatusCode::Ctap2ErrPinAuthInvalid.into());
        }
        Ok(())
    }

    /// setMinPINLength (§6.11.4): the length only grows; a longer minimum than
    /// the current PIN forces a PIN change. Everything is checked before
    /// anything changes.
    pub fn set_min_pin_length(
        &mut self,
        new_len: Option<u64>,
        rp_ids: Option<Vec<String>>,
        force: bool,
    ) -> R<()> {
        let new_len = match new_len {
            None => None,
            Some(n) => {
                let n = usize::try_from(n).map_err(|_| StatusCode::Ctap2ErrPinPolicyViolation)?;
                if n < self.min_pin_length || n > 63 {
                    return Err(StatusCode::Ctap2ErrPinPolicyViolation.into());
                }
                Some(n)
            }
        };
        // More RP IDs than getInfo's maxRPIDsForSetMinPINLength do not fit.
        if rp_ids
            .as_ref()
            .is_some_and(|ids| ids.len() > MAX_RP_IDS_FOR_SET_MIN_PIN_LENGTH)
        {
            return Err(StatusCode::Ctap2ErrKeyStoreFull.into());
        }
        if force && !self.is_set() {
            return Err(StatusCode::Ctap2ErrPinNotSet.into());
        }
        if let Some(n) = new_len {
            self.min_pin_length = n;
            if self.is_set() && self.pin_length < n {
                self.force_change = true;
            }
        }
        if let Some(ids) = rp_ids {
            self.min_pin_length_rp_ids = ids;
        }
        if force {
            self.force_change = true;
        }
        Ok(())
    }

    /// Processes a clientPIN request (user verification for the UV subcommand is given by `uv`).
    pub fn process(
        &mut self,
        r: &ClientPinRequest,
        uv: impl FnOnce() -> bool,
    ) -> R<ClientPinResponse> {
        use ClientPinSubcommand as S;
        let protocol = || -> R<PinProtocol> {
            let n = need(r.pin_uv_auth_protocol)?;
            PinProtocol::from_u64(n).map_err(|_| StatusCode::Ctap1ErrInvalidParameter.into())
        };
        match r.sub_command {
            // No PIN, no retries to count: CTAP2_ERR_PIN_NOT_SET, as for the
            // token subcommands (what security keys answer, and what
            // python-fido2's device suite expects).
            S::GetPinRetries if !self.is_set() => Err(StatusCode::Ctap2ErrPinNotSet.into()),
            S::GetPinRetries => Ok(ClientPinResponse {
                pin_retries: Some(u64::from(self.retries)),
                power_cycle_state: Some(self.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES),
                ..Default::default()
            }),
            S::GetKeyAgreement => {
                protocol()?;
                Ok(ClientPinResponse {
                    key_agreement: Some(self.key_agreement.cose_key()?),
                    ..Default::default()
                })
            }
            S::SetPin => self.set_pin(r, protocol()?),
            S::ChangePin => self.change_pin(r, protocol()?),
            S::GetPinToken | S::GetPinUvAuthTokenUsingPinWithPermissions => {
                self.token_using_pin(r, protocol()?)
            }
            S::GetPinUvAuthTokenUsingUvWithPermissions => {
                let p = protocol()?;
                let ka = need(r.key_agreement.as_ref())?;
                let perms = requested_permissions(r)?;
                let secret = p
                    .decapsulate(&self.key_agreement, ka)
                    .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
                if !uv() {
                    return Err(StatusCode::Ctap2ErrUvInvalid.into());
                }
                self.issue_token(p, secret.expose(), perms, r.rp_id.clone())
            }
            S::GetUvRetries => Ok(ClientPinResponse {
                uv_retries: Some(8),
                ..Default::default()
            }),
            S::Other(_) => Err(StatusCode::Ctap2ErrInvalidSubcommand.into()),
        }
    }

    /// setPIN (CTAP 2.2 §6.5.5.5).
    fn set_pin(&mut self, r: &ClientPinRequest, p: PinProtocol) -> R<ClientPinResponse> {
        let ka = need(r.key_agreement.as_ref())?;
        let new_pin_enc = need(r.new_pin_enc.as_deref())?;
        let param = need(r.pin_uv_auth_param.as_deref())?;
        if self.is_set() {
            return Err(StatusCode::Ctap2ErrNotAllowed.into());
        }
        let secret = p
            .decapsulate(&self.key_agreement, ka)
            .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        if !p.verify(secret.expose(), new_pin_enc, param) {
            return Err(StatusCode::Ctap2ErrPinAuthInvalid.into());
        }
        self.set_new_pin(p, secret.expose(), new_pin_enc)?;
        Ok(ClientPinResponse::default())
    }

    /// changePIN (CTAP 2.2 §6.5.5.6).
    fn change_pin(&mut self, r: &ClientPinRequest, p: PinProtocol) -> R<ClientPinResponse> {
        let ka = need(r.key_agreement.as_ref())?;
        let pin_hash_enc = need(r.pin_hash_enc.as_deref())?;
        let new_pin_enc = need(r.new_pin_enc.as_deref())?;
        let param = need(r.pin_uv_auth_param.as_deref())?;
        if !self.is_set() {
            return Err(StatusCode::Ctap2ErrPinNotSet.into());
        }
        let secret = p
            .decapsulate(&self.key_agreement, ka)
            .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        if !p.verify(
            secret.expose(),
            &[new_pin_enc, pin_hash_enc].concat(),
            param,
        ) {
            return Err(StatusCode::Ctap2ErrPinAuthInvalid.into());
        }
        self.check_pin(p, secret.expose(), pin_hash_enc)?;
        self.set_new_pin(p, secret.expose(), new_pin_enc)?;
        self.reset_token()?;
        Ok(ClientPinResponse::default())
    }

    /// getPinToken (§6.5.5.7.1) and getPinUvAuthTokenUsingPinWithPermissions (§6.5.5.7.2).
    fn token_using_pin(&mut self, r: &ClientPinRequest, p: PinProtocol) -> R<ClientPinResponse> {
        let ka = need(r.key_agreement.as_ref())?;
        let pin_hash_enc = need(r.pin_hash_enc.as_deref())?;
        let perms = if r.sub_command == ClientPinSubcommand::GetPinToken {
            if r.permissions.is_some() || r.rp_id.is_some() {
                return Err(StatusCode::Ctap1ErrInvalidParameter.into());
            }
            permissions::MC | permissions::GA
        } else {
            requested_permissions(r)?
        };
        if !self.is_set() {
            return Err(StatusCode::Ctap2ErrPinNotSet.into());
        }
        let secret = p
            .decapsulate(&self.key_agreement, ka)
            .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        self.check_pin(p, secret.expose(), pin_hash_enc)?;
        if self.force_change {
            // §6.5.5.7.1 step 6: getPinToken answers CTAP2_ERR_PIN_INVALID;
            // §6.5.5.7.2 step 6: the permissions form answers PIN_POLICY_VIOLATION.
            return Err(if r.sub_command == ClientPinSubcommand::GetPinToken {
                StatusCode::Ctap2ErrPinInvalid
            } else {
                StatusCode::Ctap2ErrPinPolicyViolation
            }
            .into());
        }
        self.issue_token(p, secret.expose(), perms, r.rp_id.clone())
    }

    fn issue_token(
        &mut self,
        p: PinProtocol,
        secret: &[u8],
        perms: u64,
        rp_id: Option<String>,
    ) -> R<ClientPinResponse> {
        self.reset_token()?;
        self.token_protocol = Some(p);
        self.token_permissions = perms;
        self.token_rp_id = rp_id;
        let enc = p.encrypt(secret, self.token.expose())?;
        Ok(ClientPinResponse {
            pin_uv_auth_token: Some(enc),
            ..Default::default()
        })
    }

    /// Checks pinHashEnc against the stored PIN, with the retry rules of §6.5.5.5.
    fn check_pin(&mut self, p: PinProtocol, secret: &[u8], pin_hash_enc: &[u8]) -> R<()> {
        if self.retries == 0 {
            return Err(StatusCode::Ctap2ErrPinBlocked.into());
        }
        if self.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
            return Err(StatusCode::Ctap2ErrPinAuthBlocked.into());
        }
        self.retries -= 1;
        let hash = p
            .decrypt(secret, pin_hash_enc)
            .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        let stored = self.pin_hash.ok_or(StatusCode::Ctap2ErrPinNotSet)?;
        if hash.len() != 16 || !ct_eq(&hash, &stored) {
            self.regenerate()?;
            self.consecutive_mismatches += 1;
            if self.retries == 0 {
                return Err(StatusCode::Ctap2ErrPinBlocked.into());
            }
            if self.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
                return Err(StatusCode::Ctap2ErrPinAuthBlocked.into());
            }
            return Err(StatusCode::Ctap2ErrPinInvalid.into());
        }
        self.retries = MAX_PIN_RETRIES;
        self.consecutive_mismatches = 0;
        Ok(())
    }

    /// Decrypts newPinEnc (64-byte padded PIN) and applies the PIN policy.
    fn set_new_pin(&mut self, p: PinProtocol, secret: &[u8], new_pin_enc: &[u8]) -> R<()> {
        let expected = match p {
            PinProtocol::One => 64,
            PinProtocol::Two => 80,
        };
        if new_pin_enc.len() != expected {
            return Err(StatusCode::Ctap1ErrInvalidParameter.into());
        }
        let padded = p
            .decrypt(secret, new_pin_enc)
            .map_err(|_| StatusCode::Ctap1ErrInvalidParameter)?;
        let end = padded.iter().position(|b| *b == 0).unwrap_or(padded.len());
        if end == padded.len() || padded[end..].iter().any(|b| *b != 0) {
            return Err(StatusCode::Ctap2ErrPinPolicyViolation.into());
        }
        let pin = std::str::from_utf8(&padded[..end])
            .map_err(|_| StatusCode::Ctap2ErrPinPolicyViolation)?;
        if pin.chars().count() < self.min_pin_length || pin.len() > 63 {
            return Err(StatusCode::Ctap2ErrPinPolicyViolation.into());
        }
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&sha256(pin.as_bytes())[..16]);
        self.pin_hash = Some(hash);
        self.pin_length = pin.chars().count();
        self.retries = MAX_PIN_RETRIES;
        self.force_change = false;
        Ok(())
    }
}

/// The pinUvAuthParam and pinUvAuthProtocol of a command that needs a
/// pinUvAuthToken (config, credentialManagement, largeBlobs write):
/// CTAP2_ERR_PUAT_REQUIRED without the param, CTAP2_ERR_MISSING_PARAMETER
/// without the protocol.
pub(crate) fn token_param(param: Option<&[u8]>, protocol: Option<u64>) -> R<(&[u8], u64)> {
    let param = param.ok_or(StatusCode::Ctap2ErrPuatRequired)?;
    let protocol = protocol.ok_or(StatusCode::Ctap2ErrMissingParameter)?;
    Ok((param, protocol))
}
