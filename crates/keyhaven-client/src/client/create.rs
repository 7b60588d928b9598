//! `create()` with one authenticator: L3 §5.1.3 step 20.

use super::*;

pub(super) struct CreateContext<'a> {
    pub(super) options: &'a CreationOptions,
    pub(super) p: &'a Prepared,
    pub(super) algs: &'a [i64],
    pub(super) ext: &'a ExtensionInputsJson,
    pub(super) sel: &'a keyhaven_proto::json::AuthenticatorSelectionJson,
    pub(super) attestation: &'a str,
}

/// What makeCredential asks of one authenticator besides the request's
/// fixed members (§5.1.3 step 20.2 – 20.4).
pub(super) struct Selection<'u> {
    /// A discoverable credential.
    rk: bool,
    /// The userVerification requirement.
    uv_req: &'u str,
    /// Whether to verify the user.
    want_uv: bool,
}

/// The CTAP extension inputs of a makeCredential, and what is kept to read
/// the outputs.
pub(super) struct CreateExtensions {
    ctap: Vec<(Value, Value)>,
    hmac_secret_mc: Option<HmacSecretSession>,
    large_blob_supported: bool,
}

impl CreateContext<'_> {
    /// §5.1.3 step 20, "if an authenticator becomes available", for one authenticator.
    pub(super) fn on(
        &self,
        mut s: Session,
        pins: &Pins,
    ) -> Result<PublicKeyCredential<AuthenticatorAttestationResponse>, ClientError> {
        if s.u2f_only {
            return self.on_u2f(s);
        }
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
    pub(super) fn selection(&self, s: &Session) -> Result<Selection<'_>, ClientError> {
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
    pub(super) fn extension_inputs(
        &self,
        s: &mut Session,
        rk: bool,
    ) -> Result<CreateExtensions, ClientError> {
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
    pub(super) fn exclude_list(
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
    pub(super) fn request(
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
    pub(super) fn check_response(
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
    pub(super) fn extension_outputs(
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
    pub(super) fn credential(
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
