//! authenticatorCredentialManagement (CTAP 2.2 §6.8) over discoverable credentials.

use crate::client_pin::PinState;
use crate::store::{CredentialStore, StoredCredential};
use keyhaven_crypto::signature::SigningKey;
use keyhaven_proto::cose::CoseAlgorithm;
use keyhaven_proto::ctap2::credential_management::{
    CredentialManagementParams, CredentialManagementRequest as Req,
    CredentialManagementResponse as Resp, CredentialManagementSubcommand as S,
};
use keyhaven_proto::ctap2::types::{CredentialDescriptor, RpEntity};
use keyhaven_proto::ctap2::StatusCode;

/// Enumeration state between a *Begin and its *GetNext calls.
#[derive(Default)]
pub struct CredMgmtState {
    rps: Vec<StoredCredential>,
    creds: Vec<StoredCredential>,
}

type R<T> = crate::error::Result<T>;

fn discoverable<S: CredentialStore>(store: &S) -> R<Vec<StoredCredential>> {
    let mut v: Vec<StoredCredential> = store
        .all()?
        .into_iter()
        .filter(|c| c.discoverable)
        .collect();
    v.sort_by_key(|c| c.created);
    Ok(v)
}

fn rp_entry(c: &StoredCredential, total: Option<usize>) -> Resp {
    Resp {
        rp: Some(RpEntity {
            id: c.rp_id.clone(),
            name: None,
        }),
        rp_id_hash: Some(c.rp_id_hash.to_vec()),
        total_rps: total.map(|t| t as u64),
        ..Default::default()
    }
}

fn cred_entry(c: &StoredCredential, total: Option<usize>) -> R<Resp> {
    let alg = CoseAlgorithm::from_id(c.alg).ok_or(StatusCode::Ctap1ErrOther)?;
    let key = SigningKey::from_private_bytes(alg, c.private_key.expose())?;
    Ok(Resp {
        user: Some(c.user.clone()),
        credential_id: Some(CredentialDescriptor::public_key(c.id.clone())),
        public_key: Some(key.public_key()),
        total_credentials: total.map(|t| t as u64),
        cred_protect: Some(u64::from(c.cred_protect)),
        large_blob_key: c.large_blob_key.as_ref().map(|k| k.expose().to_vec()),
        third_party_payment: Some(c.third_party_payment),
        ..Default::default()
    })
}

/// Processes a credentialManagement request.
pub fn process<S2: CredentialStore>(
    r: &Req,
    store: &mut S2,
    pin: &mut PinState,
    state: &mut CredMgmtState,
) -> R<Resp> {
    let sub = r.sub_command;
    let params = r.sub_command_params.as_ref();
    // The *GetNext subcommands carry no pinUvAuthParam.
    if !matches!(
        sub,
        S::EnumerateRpsGetNextRp | S::EnumerateCredentialsGetNextCredential
    ) {
        authorize(r, store, pin)?;
    }
    match sub {
        S::GetCredsMetadata => Ok(Resp {
            existing_resident_credentials_count: Some(discoverable(store)?.len() as u64),
            max_possible_remaining_resident_credentials_count: Some(
                store.remaining_discoverable() as u64
            ),
            ..Default::default()
        }),
        S::EnumerateRpsBegin => enumerate_rps_begin(store, state),
        S::EnumerateRpsGetNextRp => {
            if state.rps.is_empty() {
                return Err(StatusCode::Ctap2ErrNotAllowed.into());
            }
            Ok(rp_entry(&state.rps.remove(0), None))
        }
        S::EnumerateCredentialsBegin => enumerate_credentials_begin(store, state, params),
        S::EnumerateCredentialsGetNextCredential => {
            if state.creds.is_empty() {
                return Err(StatusCode::Ctap2ErrNotAllowed.into());
            }
            cred_entry(&state.creds.remove(0), None)
        }
        S::DeleteCredential => {
            let c = cred_by_id(store, params)?;
            store.delete(&c.id)?;
            Ok(Resp::default())
        }
        S::UpdateUserInformation => {
            let mut c = cred_by_id(store, params)?;
            let user = params
                .and_then(|p| p.user.as_ref())
                .ok_or(StatusCode::Ctap2ErrMissingParameter)?;
            if user.id != c.user.id {
                return Err(StatusCode::Ctap1ErrInvalidParameter.into());
            }
            c.user.name = user.name.clone();
            c.user.display_name = user.display_name.clone();
            store.put(c)?;
            Ok(Resp::default())
        }
        S::Other(_) => Err(StatusCode::Ctap2ErrInvalidSubcommand.into()),
    }
}

/// The discoverable credential named by subCommandParams.credentialID.
fn cred_by_id<S2: CredentialStore>(
    store: &S2,
    params: Option<&CredentialManagementParams>,
) -> R<StoredCredential> {
    let id = &params
        .and_then(|p| p.credential_id.as_ref())
        .ok_or(StatusCode::Ctap2ErrMissingParameter)?
        .id;
    store
        .get(id)?
        .filter(|c| c.discoverable)
        .ok_or(StatusCode::Ctap2ErrNoCredentials.into())
}

/// The pinUvAuthParam over the subcommand and its parameters, with a token of
/// the credentialManagement permission (scoped to the RP the subcommand
/// concerns, where it concerns one).
fn authorize<S2: CredentialStore>(r: &Req, store: &S2, pin: &mut PinState) -> R<()> {
    let params = r.sub_command_params.as_ref();
    let (param, protocol) =
        crate::client_pin::token_param(r.pin_uv_auth_param.as_deref(), r.pin_uv_auth_protocol)?;
    let scope = match r.sub_command {
        S::EnumerateCredentialsBegin => {
            let hash = params
                .and_then(|p| p.rp_id_hash.as_ref())
                .ok_or(StatusCode::Ctap2ErrMissingParameter)?;
            discoverable(store)?
                .into_iter()
                .find(|c| c.rp_id_hash.as_slice() == hash.as_slice())
                .map(|c| c.rp_id)
        }
        S::DeleteCredential | S::UpdateUserInformation => {
            cred_by_id(store, params).ok().map(|c| c.rp_id)
        }
        _ => None,
    };
    pin.check_token_cm(protocol, param, &r.auth_message(), scope.as_deref())
}

/// enumerateRPsBegin: the first RP and the count; the others wait for GetNextRp.
fn enumerate_rps_begin<S2: CredentialStore>(store: &S2, state: &mut CredMgmtState) -> R<Resp> {
    let mut rps: Vec<StoredCredential> = Vec::new();
    for c in discoverable(store)? {
        if !rps.iter().any(|r| r.rp_id_hash == c.rp_id_hash) {
            rps.push(c);
        }
    }
    if rps.is_empty() {
        return Err(StatusCode::Ctap2ErrNoCredentials.into());
    }
    let total = rps.len();
    let first = rps.remove(0);
    state.rps = rps;
    Ok(rp_entry(&first, Some(total)))
}

/// enumerateCredentialsBegin: an RP's first credential and the count.
fn enumerate_credentials_begin<S2: CredentialStore>(
    store: &S2,
    state: &mut CredMgmtState,
    params: Option<&CredentialManagementParams>,
) -> R<Resp> {
    let hash = params
        .and_then(|p| p.rp_id_hash.as_ref())
        .ok_or(StatusCode::Ctap2ErrMissingParameter)?;
    let mut creds: Vec<StoredCredential> = discoverable(store)?
        .into_iter()
        .filter(|c| c.rp_id_hash.as_slice() == hash.as_slice())
        .collect();
    if creds.is_empty() {
        return Err(StatusCode::Ctap2ErrNoCredentials.into());
    }
    let total = creds.len();
    let first = creds.remove(0);
    state.creds = creds;
    cred_entry(&first, Some(total))
}
