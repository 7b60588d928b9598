//! `get()` with one authenticator: L3 §5.1.4.2 step 20.

use super::*;

pub(super) struct GetContext<'a> {
    pub(super) options: &'a RequestOptions,
    pub(super) p: &'a Prepared,
    pub(super) ext: &'a ExtensionInputsJson,
    pub(super) appid: Option<&'a str>,
}

/// What a getAssertion asked of one authenticator, kept to read its answer.
pub(super) struct Asked {
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
    pub(super) fn on(
        &self,
        mut s: Session,
        pins: &Pins,
        chooser: &Chooser,
    ) -> Result<PublicKeyCredential<AuthenticatorAssertionResponse>, ClientError> {
        if s.u2f_only {
            return self.on_u2f(s);
        }
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
    pub(super) fn user_verification(
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
    pub(super) fn allow_list(
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
    pub(super) fn extension_inputs(
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
    pub(super) fn choose(
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
    pub(super) fn finish(
        &self,
        s: &mut Session,
        r: GetAssertionResponse,
        asked: &Asked,
        token: Option<&Token>,
    ) -> Result<PublicKeyCredential<AuthenticatorAssertionResponse>, ClientError> {
        let (allow_list, rp_id) = (asked.allow_list.as_deref(), asked.rp_id.as_str());
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
        let outputs = self.extension_outputs(s, &r, asked, token)?;
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

    /// The client extension outputs (L3 §10.1) from the authenticator's:
    /// appid, prf / hmacGetSecret, getCredBlob, largeBlob read and write.
    fn extension_outputs(
        &self,
        s: &mut Session,
        r: &GetAssertionResponse,
        asked: &Asked,
        token: Option<&Token>,
    ) -> Result<ExtensionOutputsJson, ClientError> {
        let ext = self.ext;
        let (used_appid, hs) = (asked.used_appid, asked.hmac_secret.as_ref());
        let (large_blob, lb_write) = (asked.large_blob, &asked.large_blob_write);
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
        Ok(outputs)
    }
}
