//! PIN/UV auth tokens from the platform's side (CTAP 2.2 §6.5.5): the shared
//! secret, getPinUvAuthTokenUsingUvWithPermissions,
//! getPinUvAuthTokenUsingPinWithPermissions, the legacy getPinToken, setting
//! and changing the PIN, and the [`PinProvider`] that asks the user.

use crate::ctap::Session;
use crate::error::ClientError;
use keyhaven_crypto::digest::sha256;
use keyhaven_crypto::SecretBytes;
use keyhaven_ctap::pin_protocol::PinProtocol;
use keyhaven_proto::cose::CoseKey;
use keyhaven_proto::ctap2::client_pin::{ClientPinRequest, ClientPinResponse, ClientPinSubcommand};
use keyhaven_proto::ctap2::{Request, ResponseBody, StatusCode};

/// Asks the user for the authenticator's PIN.
pub trait PinProvider: Send {
    /// The PIN, or None if the user declines. `retries` is what the
    /// authenticator reports as attempts left; `again` is true after a wrong PIN.
    fn pin(&mut self, rp_id: &str, retries: Option<u64>, again: bool) -> Option<SecretBytes>;
}

/// Never gives a PIN.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPin;

impl PinProvider for NoPin {
    fn pin(&mut self, _: &str, _: Option<u64>, _: bool) -> Option<SecretBytes> {
        None
    }
}

/// Gives the same PIN once per ceremony attempt (non-interactive use,
/// `--pin-env`); after a wrong PIN it gives up rather than burn retries.
pub struct FixedPin(pub SecretBytes);

impl PinProvider for FixedPin {
    fn pin(&mut self, _: &str, _: Option<u64>, again: bool) -> Option<SecretBytes> {
        (!again).then(|| self.0.clone())
    }
}

/// A pinUvAuthToken and the protocol it belongs to.
pub struct Token {
    /// The protocol.
    pub protocol: PinProtocol,
    token: SecretBytes,
}

impl Token {
    /// pinUvAuthParam = authenticate(token, message).
    pub fn param(&self, message: &[u8]) -> Vec<u8> {
        self.protocol.authenticate(self.token.expose(), message)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(protocol {}, [redacted])", self.protocol.number())
    }
}

fn pin_call(s: &mut Session, r: ClientPinRequest) -> Result<ClientPinResponse, ClientError> {
    match s.call(Request::ClientPin(r))? {
        ResponseBody::ClientPin(r) => Ok(r),
        ResponseBody::Empty => Ok(ClientPinResponse::default()),
        _ => Err(ClientError::BadResponse(
            "clientPIN answer of another kind".into(),
        )),
    }
}

/// getKeyAgreement, then encapsulate: (our public key, shared secret).
pub fn shared_secret(
    s: &mut Session,
    p: PinProtocol,
) -> Result<(CoseKey, SecretBytes), ClientError> {
    let r = pin_call(
        s,
        ClientPinRequest::new(p.number(), ClientPinSubcommand::GetKeyAgreement),
    )?;
    let peer = r
        .key_agreement
        .ok_or_else(|| ClientError::BadResponse("getKeyAgreement without keyAgreement".into()))?;
    p.encapsulate(&peer)
        .map_err(|e| ClientError::BadResponse(format!("key agreement: {e}")))
}

fn decrypt_token(
    p: PinProtocol,
    secret: &SecretBytes,
    r: ClientPinResponse,
) -> Result<Token, ClientError> {
    let enc = r
        .pin_uv_auth_token
        .ok_or_else(|| ClientError::BadResponse("no pinUvAuthToken".into()))?;
    let token = p
        .decrypt(secret.expose(), &enc)
        .map_err(|e| ClientError::BadResponse(format!("pinUvAuthToken: {e}")))?;
    Ok(Token {
        protocol: p,
        token: SecretBytes::new(token),
    })
}

/// getPinUvAuthTokenUsingUvWithPermissions (0x06).
pub fn token_with_uv(
    s: &mut Session,
    p: PinProtocol,
    permissions: u64,
    rp_id: &str,
) -> Result<Token, ClientError> {
    let (key, secret) = shared_secret(s, p)?;
    let mut r = ClientPinRequest::new(
        p.number(),
        ClientPinSubcommand::GetPinUvAuthTokenUsingUvWithPermissions,
    );
    r.key_agreement = Some(key);
    r.permissions = Some(permissions);
    r.rp_id = Some(rp_id.to_owned());
    decrypt_token(p, &secret, pin_call(s, r)?)
}

/// getPinUvAuthTokenUsingPinWithPermissions (0x09), or getPinToken (0x05)
/// when the authenticator lacks the pinUvAuthToken option.
pub fn token_with_pin(
    s: &mut Session,
    p: PinProtocol,
    pin: &SecretBytes,
    permissions: u64,
    rp_id: &str,
) -> Result<Token, ClientError> {
    let (key, secret) = shared_secret(s, p)?;
    let hash = sha256(pin.expose());
    let pin_hash_enc = p
        .encrypt(secret.expose(), &hash[..16])
        .map_err(|e| ClientError::Pin(e.to_string()))?;
    let modern = s.option("pinUvAuthToken") == Some(true);
    let mut r = ClientPinRequest::new(
        p.number(),
        if modern {
            ClientPinSubcommand::GetPinUvAuthTokenUsingPinWithPermissions
        } else {
            ClientPinSubcommand::GetPinToken
        },
    );
    r.key_agreement = Some(key);
    r.pin_hash_enc = Some(pin_hash_enc);
    if modern {
        r.permissions = Some(permissions);
        r.rp_id = Some(rp_id.to_owned());
    }
    decrypt_token(p, &secret, pin_call(s, r)?)
}

/// getPINRetries.
pub fn pin_retries(s: &mut Session, p: PinProtocol) -> Option<u64> {
    pin_call(
        s,
        ClientPinRequest::new(p.number(), ClientPinSubcommand::GetPinRetries),
    )
    .ok()
    .and_then(|r| r.pin_retries)
}

/// Gets a token the best way the authenticator offers: built-in UV first,
/// then the PIN (asking `pins`, again after a wrong one). None when the
/// authenticator has no user verification configured.
pub fn acquire(
    s: &mut Session,
    pins: &mut dyn PinProvider,
    permissions: u64,
    rp_id: &str,
) -> Result<Option<Token>, ClientError> {
    let Some(p) = s.protocol() else {
        return Ok(None);
    };
    if s.option("uv") == Some(true) && s.option("pinUvAuthToken") == Some(true) {
        match token_with_uv(s, p, permissions, rp_id) {
            Ok(t) => return Ok(Some(t)),
            // Built-in UV failed or is blocked: fall back to the PIN if there is one.
            Err(ClientError::Status(
                StatusCode::Ctap2ErrUvInvalid
                | StatusCode::Ctap2ErrUvBlocked
                | StatusCode::Ctap2ErrOperationDenied,
            )) if s.option("clientPin") == Some(true) => {}
            Err(e) => return Err(e),
        }
    }
    if s.option("clientPin") != Some(true) {
        return Ok(None);
    }
    let mut again = false;
    loop {
        let retries = pin_retries(s, p);
        let pin = pins
            .pin(rp_id, retries, again)
            .ok_or_else(|| ClientError::Pin("a PIN is needed and none was given".into()))?;
        match token_with_pin(s, p, &pin, permissions, rp_id) {
            Ok(t) => return Ok(Some(t)),
            Err(ClientError::Status(StatusCode::Ctap2ErrPinInvalid)) => again = true,
            Err(ClientError::Status(StatusCode::Ctap2ErrPinBlocked)) => {
                return Err(ClientError::Pin(
                    "the PIN is blocked; reset the authenticator".into(),
                ))
            }
            Err(ClientError::Status(StatusCode::Ctap2ErrPinAuthBlocked)) => {
                return Err(ClientError::Pin(
                    "too many wrong PINs; reinsert or restart the authenticator".into(),
                ))
            }
            Err(ClientError::Status(StatusCode::Ctap2ErrPinPolicyViolation)) => {
                return Err(ClientError::Pin(
                    "the PIN does not meet the authenticator's policy".into(),
                ))
            }
            Err(e) => return Err(e),
        }
    }
}

fn padded(pin: &SecretBytes) -> Result<Vec<u8>, ClientError> {
    // CTAP 2.2 §6.5.5.5: UTF-8, at least 4 code points, at most 63 bytes, padded to 64.
    let text = std::str::from_utf8(pin.expose())
        .map_err(|_| ClientError::Pin("the PIN is not UTF-8".into()))?;
    if text.chars().count() < 4 || pin.len() > 63 {
        return Err(ClientError::Pin("a PIN has 4 to 63 bytes".into()));
    }
    let mut v = pin.expose().to_vec();
    v.resize(64, 0);
    Ok(v)
}

/// The common start of setPIN and changePIN: the protocol, the key agreement
/// and newPinEnc.
fn new_pin_enc(
    s: &mut Session,
    new_pin: &SecretBytes,
) -> Result<(PinProtocol, CoseKey, SecretBytes, Vec<u8>), ClientError> {
    let p = s
        .protocol()
        .ok_or_else(|| ClientError::Pin("the authenticator has no PIN protocol".into()))?;
    let (key, secret) = shared_secret(s, p)?;
    let enc = p
        .encrypt(secret.expose(), &padded(new_pin)?)
        .map_err(|e| ClientError::Pin(e.to_string()))?;
    Ok((p, key, secret, enc))
}

/// setPIN (0x03) on an authenticator without a PIN.
pub fn set_pin(s: &mut Session, new_pin: &SecretBytes) -> Result<(), ClientError> {
    let (p, key, secret, new_pin_enc) = new_pin_enc(s, new_pin)?;
    let mut r = ClientPinRequest::new(p.number(), ClientPinSubcommand::SetPin);
    r.key_agreement = Some(key);
    r.pin_uv_auth_param = Some(p.authenticate(secret.expose(), &new_pin_enc));
    r.new_pin_enc = Some(new_pin_enc);
    pin_call(s, r).map(|_| ())
}

/// changePIN (0x04).
pub fn change_pin(
    s: &mut Session,
    current: &SecretBytes,
    new_pin: &SecretBytes,
) -> Result<(), ClientError> {
    let (p, key, secret, new_pin_enc) = new_pin_enc(s, new_pin)?;
    let hash = sha256(current.expose());
    let pin_hash_enc = p
        .encrypt(secret.expose(), &hash[..16])
        .map_err(|e| ClientError::Pin(e.to_string()))?;
    let mut r = ClientPinRequest::new(p.number(), ClientPinSubcommand::ChangePin);
    r.key_agreement = Some(key);
    r.pin_uv_auth_param = Some(p.authenticate(
        secret.expose(),
        &[new_pin_enc.as_slice(), &pin_hash_enc].concat(),
    ));
    r.new_pin_enc = Some(new_pin_enc);
    r.pin_hash_enc = Some(pin_hash_enc);
    pin_call(s, r).map(|_| ())
}
