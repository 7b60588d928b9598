//! CTAP1 / U2F (FIDO U2F Raw Message Formats v1.2; CTAP 2.2 §10 and
//! §11.2.9.1.1): U2F_REGISTER, U2F_AUTHENTICATE (check-only,
//! enforce-user-presence, dont-enforce-user-presence) and U2F_VERSION.
//!
//! A U2F credential is a CTAP2 non-discoverable ES256 credential whose RP ID
//! hash is the application parameter: its key handle is the same wrapped
//! credential ID (`wrap.rs`), it is kept in the store for its counter, and
//! CTAP2 getAssertion finds it when the platform sends the appid as the RP ID
//! (CTAP 2.2 §10.2). The counter is the credential's, whichever protocol
//! signs. The attestation is the configured batch key and certificate when it
//! is ES256, otherwise a P-256 key and self-signed certificate generated once
//! and kept with the device secret.

use keyhaven_crypto::signature::SigningKey;
use keyhaven_crypto::SecretBytes;
use keyhaven_ctap::u2f::{
    control, ins, response, sw, Apdu, AuthenticateRequest, AuthenticateResponse, RegisterRequest,
    RegisterResponse, VERSION,
};
use keyhaven_proto::cose::{CoseAlgorithm, KeyParams};
use keyhaven_proto::ctap2::types::UserEntity;

use crate::authenticator::Authenticator;
use crate::store::{CredentialStore, StoredCredential};
use crate::UserInteraction;

/// Why a U2F command failed: the status word, or an internal failure (logged,
/// answered 0x6F00 "no precise diagnosis").
enum Failure {
    Status(u16),
    Internal(crate::error::Error),
}

impl<E: Into<crate::error::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Internal(e.into())
    }
}

/// ISO 7816 "no precise diagnosis".
const SW_UNKNOWN: u16 = 0x6F00;

/// The longest key handle U2F can carry (one length byte).
const MAX_KEY_HANDLE: usize = 255;

impl<S: CredentialStore, U: UserInteraction> Authenticator<S, U> {
    /// Processes one U2F command APDU and returns the response APDU (data ‖
    /// status word). Never panics on input; bad input changes no state.
    pub fn process_u2f(&mut self, apdu: &[u8]) -> Vec<u8> {
        if !self.settings.u2f {
            return response(&[], sw::INS_NOT_SUPPORTED);
        }
        // A U2F attestation generated on first use is durable before it is used.
        let (result, saved) = self.persisting_state(|a| a.u2f_dispatch(apdu));
        match (result, saved) {
            (Ok(data), Ok(())) => response(&data, sw::NO_ERROR),
            (Err(Failure::Status(s)), Ok(())) => response(&[], s),
            (Err(Failure::Internal(e)), _) => {
                e.into_status();
                response(&[], SW_UNKNOWN)
            }
            (_, Err(e)) => {
                crate::error::Error::from(e).into_status();
                response(&[], SW_UNKNOWN)
            }
        }
    }

    fn u2f_dispatch(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Failure> {
        let apdu = Apdu::parse(bytes).map_err(|_| Failure::Status(sw::WRONG_LENGTH))?;
        if apdu.cla != 0 {
            return Err(Failure::Status(sw::CLA_NOT_SUPPORTED));
        }
        let wrong_length = |_| Failure::Status(sw::WRONG_LENGTH);
        match apdu.ins {
            ins::VERSION => {
                if !apdu.data.is_empty() {
                    return Err(Failure::Status(sw::WRONG_LENGTH));
                }
                Ok(VERSION.as_bytes().to_vec())
            }
            ins::REGISTER => {
                let req = RegisterRequest::parse(&apdu.data).map_err(wrong_length)?;
                self.u2f_register(&req)
            }
            ins::AUTHENTICATE => {
                let p1 = apdu.p1;
                if ![
                    control::CHECK_ONLY,
                    control::ENFORCE_USER_PRESENCE,
                    control::DONT_ENFORCE_USER_PRESENCE,
                ]
                .contains(&p1)
                {
                    return Err(Failure::Status(sw::INCORRECT_P1P2));
                }
                let req = AuthenticateRequest::parse(&apdu.data).map_err(wrong_length)?;
                self.u2f_authenticate(p1, &req)
            }
            _ => Err(Failure::Status(sw::INS_NOT_SUPPORTED)),
        }
    }

    /// U2F_REGISTER (U2F raw messages §4): presence, a new P-256 key, the key
    /// handle, and the attestation signature.
    fn u2f_register(&mut self, req: &RegisterRequest) -> Result<Vec<u8>, Failure> {
        if !self.user.presence(&application_label(&req.application)) {
            return Err(Failure::Status(sw::CONDITIONS_NOT_SATISFIED));
        }
        let key = SigningKey::generate(CoseAlgorithm::Es256)?;
        let public_key = uncompressed_point(&key)?;
        self.counter += 1;
        let mut cred = StoredCredential {
            id: Vec::new(),
            rp_id: String::new(),
            rp_id_hash: req.application,
            user: UserEntity {
                id: Vec::new(),
                name: None,
                display_name: None,
            },
            alg: CoseAlgorithm::Es256.id(),
            private_key: key.to_pkcs8()?,
            sign_count: 0,
            discoverable: false,
            cred_protect: 1,
            cred_random: None,
            cred_blob: None,
            large_blob_key: None,
            third_party_payment: false,
            created: self.counter,
            fixed_counter: false,
        };
        // The CTAP2 wrapped form when it fits in U2F's 255 bytes; otherwise a
        // random handle (the credential lives in the store either way).
        cred.id = match crate::wrap::wrap(self.pin.device_secret(), &cred) {
            Some(id) if id.len() <= MAX_KEY_HANDLE => id,
            _ => keyhaven_crypto::rand::vec(32)?,
        };
        let (att_key, certificate) = self.u2f_attestation()?;
        let signed =
            RegisterResponse::signed_data(&req.application, &req.challenge, &cred.id, &public_key);
        let signature = att_key.sign(&signed)?;
        self.store.put(cred.clone())?;
        Ok(RegisterResponse {
            public_key,
            key_handle: cred.id,
            certificate,
            signature,
        }
        .to_bytes())
    }

    /// U2F_AUTHENTICATE (U2F raw messages §5).
    fn u2f_authenticate(&mut self, p1: u8, req: &AuthenticateRequest) -> Result<Vec<u8>, Failure> {
        let cred = self
            .lookup(&req.key_handle, &req.application)?
            // U2F signs with P-256 only, and cannot verify the user that
            // credProtect level 3 asks for.
            .filter(|c| c.alg == CoseAlgorithm::Es256.id() && c.cred_protect < 3)
            .ok_or(Failure::Status(sw::WRONG_DATA))?;
        let user_presence = match p1 {
            // The key handle is ours: "conditions not satisfied" says so.
            control::CHECK_ONLY => return Err(Failure::Status(sw::CONDITIONS_NOT_SATISFIED)),
            control::ENFORCE_USER_PRESENCE => {
                if !self.user.presence(&application_label(&req.application)) {
                    return Err(Failure::Status(sw::CONDITIONS_NOT_SATISFIED));
                }
                1
            }
            _ => 0,
        };
        // The credential's counter, shared with CTAP2, written before the answer exists.
        let current = self
            .store
            .get(&cred.id)?
            .map_or(cred.sign_count, |c| c.sign_count);
        let counter = current.checked_add(1).ok_or(Failure::Status(SW_UNKNOWN))?;
        self.store.set_sign_count(&cred.id, counter)?;
        let key = self.signing_key(&cred)?;
        let signed = AuthenticateResponse::signed_data(
            &req.application,
            user_presence,
            counter,
            &req.challenge,
        );
        let signature = key.sign(&signed)?;
        Ok(AuthenticateResponse {
            user_presence,
            counter,
            signature,
        }
        .to_bytes())
    }

    /// The U2F attestation key and certificate: the batch attestation when it
    /// is ES256, else the generated one (made on first use).
    fn u2f_attestation(&mut self) -> Result<(SigningKey, Vec<u8>), Failure> {
        if let Some(batch) = &self.settings.batch_attestation {
            if batch.key.algorithm() == CoseAlgorithm::Es256 {
                if let Some(leaf) = batch.x5c.first() {
                    let key = SigningKey::from_pkcs8(
                        CoseAlgorithm::Es256,
                        batch.key.to_pkcs8()?.expose(),
                    )?;
                    return Ok((key, leaf.clone()));
                }
            }
        }
        if self.pin.u2f_attestation.is_none() {
            self.pin.u2f_attestation = Some(generate_attestation()?);
        }
        let Some((pkcs8, cert)) = &self.pin.u2f_attestation else {
            return Err(Failure::Status(SW_UNKNOWN));
        };
        Ok((
            SigningKey::from_pkcs8(CoseAlgorithm::Es256, pkcs8.expose())?,
            cert.clone(),
        ))
    }
}

/// What the user is asked about: U2F knows only the application's hash.
fn application_label(application: &[u8; 32]) -> String {
    format!("U2F application {}…", hex::encode(&application[..8]))
}

/// The 65-byte uncompressed point of a P-256 key.
fn uncompressed_point(key: &SigningKey) -> Result<[u8; 65], Failure> {
    match key.public_key().params {
        KeyParams::Ec2 { x, y, .. } if x.len() == 32 && y.len() == 32 => {
            let mut p = [0u8; 65];
            p[0] = 0x04;
            p[1..33].copy_from_slice(&x);
            p[33..].copy_from_slice(&y);
            Ok(p)
        }
        _ => Err(Failure::Status(SW_UNKNOWN)),
    }
}

/// A new P-256 attestation key and a self-signed certificate for it.
fn generate_attestation() -> Result<(SecretBytes, Vec<u8>), Failure> {
    let key = SigningKey::generate(CoseAlgorithm::Es256)?;
    let pkcs8 = key.to_pkcs8()?;
    let internal =
        |what: &'static str| Failure::Internal(keyhaven_crypto::CryptoError::Library(what).into());
    let pair = rcgen::KeyPair::try_from(pkcs8.expose())
        .map_err(|_| internal("U2F attestation key for rcgen"))?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "keyhaven U2F attestation");
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        "keyhaven software authenticator",
    );
    let cert = params
        .self_signed(&pair)
        .map_err(|_| internal("U2F attestation certificate"))?;
    Ok((pkcs8, cert.der().to_vec()))
}
