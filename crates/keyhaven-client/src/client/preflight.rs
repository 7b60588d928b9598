//! What every ceremony does with one authenticator before its command: the
//! credential lists as CTAP descriptors, the silent up=false pre-flight of
//! exclude/allow lists in batches of maxCredentialCountInList, and user
//! verification (a pinUvAuthToken, or built-in UV).

use super::*;

pub(super) fn descriptors(
    list: &[CredentialDescriptorJson],
    max_id: usize,
) -> Vec<CredentialDescriptor> {
    list.iter()
        .filter(|d| d.type_ == "public-key" && !d.id.is_empty() && d.id.len() <= max_id)
        .map(|d| CredentialDescriptor::public_key(d.id.clone()))
        .collect()
}

/// The silent pre-flight (CTAP 2.2 §6.2, up=false): which of `list` the
/// authenticator holds for `rp_id`, asked in batches of
/// maxCredentialCountInList. None when the authenticator would not say.
pub(super) fn preflight(
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
pub(super) struct Uv {
    pub(super) token: Option<Token>,
    builtin: bool,
}

impl Uv {
    pub(super) fn verified(&self) -> bool {
        self.token.is_some() || self.builtin
    }
    pub(super) fn apply_mc(&self, r: &mut MakeCredentialRequest) {
        if let Some(t) = &self.token {
            r.pin_uv_auth_param = Some(t.param(&r.client_data_hash));
            r.pin_uv_auth_protocol = Some(t.protocol.number());
        }
        if self.builtin {
            r.options.get_or_insert_with(Options::default).uv = Some(true);
        }
    }
    pub(super) fn apply_ga(&self, r: &mut GetAssertionRequest) {
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
pub(super) fn user_verification(
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
