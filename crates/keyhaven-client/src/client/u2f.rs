//! Ceremonies with an authenticator that speaks CTAP1/U2F only, mapped as
//! CTAP 2.2 §10 says (what browsers do with U2F security keys):
//! makeCredential → U2F_REGISTER with a `fido-u2f` attestation statement
//! (§10.1.1; ES256 only, no discoverable credentials, no user verification),
//! getAssertion → U2F_AUTHENTICATE (§10.1.2), with the appid extension's
//! application parameter as the fallback (L3 §10.1.1).

use super::*;
use keyhaven_ctap::u2f::{
    control, sw, AuthenticateRequest, AuthenticateResponse, RegisterRequest, RegisterResponse,
};
use keyhaven_proto::authdata::{Aaguid, Flags};
use keyhaven_proto::cose::{CoseAlgorithm, CoseKey, EcCurve};

/// How often a U2F request waiting for a touch is repeated (U2F has no
/// KEEPALIVE: the device answers "conditions not satisfied" until touched).
const POLL: Duration = Duration::from_millis(100);

/// Sends `apdu` until the device stops answering "conditions not
/// satisfied" (a touch), the ceremony is cancelled, or it answers otherwise.
fn until_touched(
    s: &mut Session,
    apdu: &keyhaven_ctap::u2f::Apdu,
) -> Result<(Vec<u8>, u16), ClientError> {
    loop {
        let (data, status) = s.call_u2f(apdu)?;
        if status != sw::CONDITIONS_NOT_SATISFIED {
            return Ok((data, status));
        }
        if s.cancelled() {
            return Err(TransportError::Cancelled.into());
        }
        std::thread::sleep(POLL);
    }
}

/// Which of `ids` the device holds for `application` (U2F_AUTHENTICATE
/// check-only: "conditions not satisfied" means yes).
fn held(
    s: &mut Session,
    application: [u8; 32],
    ids: &[Vec<u8>],
) -> Result<Option<Vec<u8>>, ClientError> {
    for id in ids {
        let req = AuthenticateRequest {
            challenge: [0; 32],
            application,
            key_handle: id.clone(),
        };
        let Some(apdu) = req.to_apdu(control::CHECK_ONLY) else {
            continue; // longer than 255 bytes: never a U2F key handle
        };
        if s.call_u2f(&apdu)?.1 == sw::CONDITIONS_NOT_SATISFIED {
            return Ok(Some(id.clone()));
        }
    }
    Ok(None)
}

fn u2f_status(what: &str, status: u16) -> ClientError {
    ClientError::BadResponse(format!("{what}: U2F status word {status:04x}"))
}

impl CreateContext<'_> {
    /// CTAP 2.2 §10.1.1: makeCredential on a U2F authenticator.
    pub(super) fn on_u2f(
        &self,
        mut s: Session,
    ) -> Result<PublicKeyCredential<AuthenticatorAttestationResponse>, ClientError> {
        let sel = self.sel;
        if let Some(a) = &sel.authenticator_attachment {
            if a != s.device().attachment().as_str() {
                return Err(ClientError::NoAuthenticator(format!(
                    "with attachment {a:?}"
                )));
            }
        }
        if !self.algs.contains(&CoseAlgorithm::Es256.id()) {
            return Err(ClientError::UnsupportedAlgorithm(self.algs.to_vec()));
        }
        let rk = match sel.resident_key.as_deref() {
            Some("required") => true,
            Some(_) => false,
            None => sel.require_resident_key,
        };
        if rk {
            return Err(ClientError::Constraint(
                "residentKey is required and a U2F authenticator cannot store discoverable credentials".into(),
            ));
        }
        if sel.user_verification.as_deref() == Some("required") {
            return Err(ClientError::Constraint(
                "userVerification is required and a U2F authenticator cannot verify users".into(),
            ));
        }
        let application = sha256(self.p.rp_id.as_bytes());
        // §10.1.1 step 2: excludeList by check-only; a hit waits for a touch
        // (a register with a bogus application), then is refused.
        let excludes: Vec<Vec<u8>> = self
            .options
            .exclude_credentials
            .iter()
            .map(|d| d.id.clone())
            .collect();
        if held(&mut s, application, &excludes)?.is_some() {
            let bogus = RegisterRequest {
                challenge: [b'A'; 32],
                application: [b'B'; 32],
            };
            until_touched(&mut s, &bogus.to_apdu())?;
            return Err(status_error(ClientError::Status(
                StatusCode::Ctap2ErrCredentialExcluded,
            )));
        }
        let challenge: [u8; 32] = self
            .p
            .client_data_hash
            .as_slice()
            .try_into()
            .map_err(|_| ClientError::BadResponse("clientDataHash is not 32 bytes".into()))?;
        let req = RegisterRequest {
            challenge,
            application,
        };
        let (data, status) = until_touched(&mut s, &req.to_apdu())?;
        if status != sw::NO_ERROR {
            return Err(u2f_status("U2F_REGISTER", status));
        }
        let reg =
            RegisterResponse::parse(&data).map_err(|e| ClientError::BadResponse(e.to_string()))?;
        let resp = make_credential_response(&reg, application);
        let acd = self.check_response(&resp)?;
        let mut outputs = ExtensionOutputsJson::default();
        if self.ext.cred_props == Some(true) {
            outputs.cred_props = Some(CredPropsJson { rk: Some(false) });
        }
        Ok(self.credential(&s, &resp, acd, outputs))
    }
}

/// §10.1.1.2: the attestation object a U2F registration stands for:
/// authenticator data with UP and AT, counter 0, the zero AAGUID, the key
/// handle as credential ID and the point as an ES256 COSE key; `fido-u2f`
/// with the signature and the certificate.
fn make_credential_response(
    reg: &RegisterResponse,
    application: [u8; 32],
) -> MakeCredentialResponse {
    let p = &reg.public_key;
    let key = CoseKey::ec2(
        CoseAlgorithm::Es256,
        EcCurve::P256,
        p[1..33].to_vec(),
        p[33..].to_vec(),
    );
    let auth_data = AuthenticatorData::new(application, Flags::UP, 0)
        .with_attested_credential_data(AttestedCredentialData {
            aaguid: Aaguid::ZERO,
            credential_id: reg.key_handle.clone(),
            credential_public_key: key,
        });
    let att_stmt = Value::Map(vec![
        (Value::from("sig"), Value::Bytes(reg.signature.clone())),
        (
            Value::from("x5c"),
            Value::Array(vec![Value::Bytes(reg.certificate.clone())]),
        ),
    ]);
    MakeCredentialResponse {
        fmt: "fido-u2f".into(),
        auth_data_raw: auth_data.to_bytes(),
        auth_data,
        att_stmt,
        ep_att: None,
        large_blob_key: None,
        unsigned_extension_outputs: None,
    }
}

impl GetContext<'_> {
    /// CTAP 2.2 §10.1.2: getAssertion on a U2F authenticator.
    pub(super) fn on_u2f(
        &self,
        mut s: Session,
    ) -> Result<PublicKeyCredential<AuthenticatorAssertionResponse>, ClientError> {
        let o = self.options;
        if o.user_verification.as_deref() == Some("required") {
            return Err(ClientError::NoAuthenticator(
                "capable of user verification".into(),
            ));
        }
        // U2F has no discoverable credentials: the allow list is needed.
        let ids: Vec<Vec<u8>> = o.allow_credentials.iter().map(|d| d.id.clone()).collect();
        let mut application = sha256(self.p.rp_id.as_bytes());
        let mut used_appid = false;
        let mut found = held(&mut s, application, &ids)?;
        if found.is_none() {
            if let Some(appid) = self.appid {
                let legacy = sha256(appid.as_bytes());
                found = held(&mut s, legacy, &ids)?;
                if found.is_some() {
                    application = legacy;
                    used_appid = true;
                }
            }
        }
        let key_handle = found.ok_or_else(|| ClientError::NoCredentials(self.p.rp_id.clone()))?;
        let challenge: [u8; 32] = self
            .p
            .client_data_hash
            .as_slice()
            .try_into()
            .map_err(|_| ClientError::BadResponse("clientDataHash is not 32 bytes".into()))?;
        let req = AuthenticateRequest {
            challenge,
            application,
            key_handle: key_handle.clone(),
        };
        let apdu = req
            .to_apdu(control::ENFORCE_USER_PRESENCE)
            .ok_or_else(|| ClientError::BadResponse("key handle over 255 bytes".into()))?;
        let (data, status) = until_touched(&mut s, &apdu)?;
        if status != sw::NO_ERROR {
            return Err(u2f_status("U2F_AUTHENTICATE", status));
        }
        let r = AuthenticateResponse::parse(&data)
            .map_err(|e| ClientError::BadResponse(e.to_string()))?;
        // §10.1.2.2: authenticator data is application ‖ flags ‖ counter,
        // exactly the bytes U2F signed before the challenge.
        let auth_data =
            AuthenticatorData::new(application, Flags(r.user_presence & 0x01), r.counter);
        let mut outputs = ExtensionOutputsJson::default();
        if self.ext.appid.is_some() {
            outputs.appid = Some(used_appid);
        }
        Ok(PublicKeyCredential {
            raw_id: key_handle,
            response: AuthenticatorAssertionResponse {
                client_data_json: self.p.client_data_json.clone(),
                authenticator_data: auth_data.to_bytes(),
                signature: r.signature,
                user_handle: None,
                attestation_object: None,
            },
            authenticator_attachment: Some(s.device().attachment()),
            client_extension_results: outputs,
        })
    }
}
