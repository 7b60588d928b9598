//! The caller's origin and the RP ID (L3 §5.1.3 steps 5–8, §5.1.4.1 steps 5–7).
//!
//! An origin is usable when it is a secure context (`https`, or `http` on
//! `localhost` / `*.localhost`) whose host is a valid domain (not an IP
//! address). An RP ID is usable when it equals the origin's effective domain
//! or is a registrable domain suffix of it, per HTML's "is a registrable
//! domain suffix of or is equal to", with the Public Suffix List (`psl` crate)
//! deciding what a public suffix is. Hosts and RP IDs are compared in their
//! ASCII (punycode) form.
//!
//! ```
//! use keyhaven_client::origin::{Origin, OriginError};
//! let o = Origin::parse("https://login.example.co.uk").unwrap();
//! assert_eq!(o.rp_id(Some("example.co.uk")).unwrap(), "example.co.uk");
//! assert!(matches!(o.rp_id(Some("co.uk")), Err(OriginError::RpIdNotSuffix { .. })));
//! assert_eq!(o.rp_id(None).unwrap(), "login.example.co.uk");
//! ```

/// Why an origin or RP ID was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// L3 §5.1.3 step 5: the origin does not parse as a tuple origin.
    #[error("L3 §5.1.3 step 5: {0:?} is not an origin (scheme://host[:port])")]
    NotAnOrigin(String),
    /// Not a secure context: https is required, except for localhost.
    #[error(
        "L3 §5.1.3 step 5: {0:?} is not a secure context (https required, except for localhost)"
    )]
    NotSecure(String),
    /// L3 §5.1.3 step 6: the effective domain is not a valid domain (e.g. an IP address).
    #[error("L3 §5.1.3 step 6: the effective domain of {0:?} is not a valid domain")]
    InvalidEffectiveDomain(String),
    /// The RP ID is empty or not a valid domain.
    #[error("L3 §5.1.3 step 8: RP ID {0:?} is not a valid domain")]
    InvalidRpId(String),
    /// L3 §5.1.3 step 8: the RP ID is neither the effective domain nor a registrable suffix of it.
    #[error("L3 §5.1.3 step 8: RP ID {rp_id:?} is not a registrable domain suffix of or equal to {effective_domain:?}")]
    RpIdNotSuffix {
        /// The RP ID asked for (ASCII form).
        rp_id: String,
        /// The origin's effective domain.
        effective_domain: String,
    },
}

impl OriginError {
    /// The DOMException name a browser reports for this failure.
    pub fn dom_exception_name(&self) -> &'static str {
        match self {
            OriginError::NotAnOrigin(_) => "NotAllowedError",
            _ => "SecurityError",
        }
    }
}

/// A caller's origin that passed the checks: a secure context with a domain host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    serialized: String,
    effective_domain: String,
}

impl Origin {
    /// Parses and checks an origin such as `https://login.example.org:8443`.
    pub fn parse(s: &str) -> Result<Origin, OriginError> {
        let not_origin = || OriginError::NotAnOrigin(s.to_owned());
        let url = url::Url::parse(s).map_err(|_| not_origin())?;
        // An origin has no credentials, path, query or fragment.
        if !url.username().is_empty()
            || url.password().is_some()
            || url.path() != "/"
            || s.ends_with('/')
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(not_origin());
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(_) => return Err(OriginError::InvalidEffectiveDomain(s.to_owned())),
            None => return Err(not_origin()),
        };
        let localhost = host == "localhost" || host.ends_with(".localhost");
        match url.scheme() {
            "https" => {}
            "http" if localhost => {}
            "http" => return Err(OriginError::NotSecure(s.to_owned())),
            _ => return Err(not_origin()),
        }
        if !valid_domain(&host) {
            return Err(OriginError::InvalidEffectiveDomain(s.to_owned()));
        }
        Ok(Origin {
            serialized: url.origin().ascii_serialization(),
            effective_domain: host,
        })
    }

    /// The origin as clientDataJSON carries it (ASCII serialization).
    pub fn as_str(&self) -> &str {
        &self.serialized
    }

    /// The effective domain: the origin's host, in ASCII.
    pub fn effective_domain(&self) -> &str {
        &self.effective_domain
    }

    /// The RP ID to use: the effective domain when none is given (L3 §5.1.3
    /// step 7), else the given one if it is the effective domain or a
    /// registrable domain suffix of it (step 8), in ASCII form.
    pub fn rp_id(&self, requested: Option<&str>) -> Result<String, OriginError> {
        let Some(requested) = requested else {
            return Ok(self.effective_domain.clone());
        };
        let rp_id = match url::Host::parse(requested) {
            Ok(url::Host::Domain(d)) if !requested.is_empty() && valid_domain(&d) => d,
            _ => return Err(OriginError::InvalidRpId(requested.to_owned())),
        };
        if rp_id == self.effective_domain
            || is_registrable_domain_suffix(&rp_id, &self.effective_domain)
        {
            Ok(rp_id)
        } else {
            Err(OriginError::RpIdNotSuffix {
                rp_id,
                effective_domain: self.effective_domain.clone(),
            })
        }
    }
}

/// A domain as the URL parser leaves it, with non-empty labels of at most 63
/// characters, 253 in all.
fn valid_domain(d: &str) -> bool {
    let d = d.strip_suffix('.').unwrap_or(d);
    !d.is_empty() && d.len() <= 253 && d.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}

/// HTML "is a registrable domain suffix of" for two different ASCII domains.
fn is_registrable_domain_suffix(suffix: &str, host: &str) -> bool {
    // Step 4.2: ".suffix" must end host.
    if !host.ends_with(&format!(".{suffix}")) {
        return false;
    }
    // Step 4.3: the suffix may not be a public suffix itself, nor lie within host's public suffix.
    if psl::suffix_str(suffix) == Some(suffix) {
        return false;
    }
    match psl::suffix_str(host) {
        Some(public) => !(public == suffix || public.ends_with(&format!(".{suffix}"))),
        None => false,
    }
}

/// The registrable origin label of a domain (L3 §4): the first label of its
/// registrable domain, or None when it has none.
pub fn registrable_origin_label(domain: &str) -> Option<String> {
    let registrable = psl::domain_str(domain)?;
    let label = registrable.split('.').next()?;
    (!label.is_empty()).then(|| label.to_owned())
}

/// Why a related origins document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelatedOriginsError {
    /// Not a JSON object.
    #[error("the document is not a JSON object")]
    NotAnObject,
    /// `origins` missing or not an array of strings.
    #[error("`origins` is missing or not an array of strings")]
    BadOrigins,
    /// The caller's origin is not listed (within the label limit).
    #[error("the caller's origin is not listed within the first {0} registrable origin labels")]
    NotListed(usize),
}

/// The related origins validation procedure (L3 §5.11.1), given the body of
/// `https://{rpIdRequested}/.well-known/webauthn` as fetched by the caller.
/// `max_labels` is the client's limit on registrable origin labels (at least 5).
///
/// ```
/// use keyhaven_client::origin::{related_origin_allowed, Origin};
/// let doc = r#"{"origins": ["https://example.co.uk", "https://example.de"]}"#;
/// let caller = Origin::parse("https://example.de").unwrap();
/// assert!(related_origin_allowed(&caller, doc, 5).is_ok());
/// ```
pub fn related_origin_allowed(
    caller: &Origin,
    document: &str,
    max_labels: usize,
) -> Result<(), RelatedOriginsError> {
    let v: serde_json::Value =
        serde_json::from_str(document).map_err(|_| RelatedOriginsError::NotAnObject)?;
    let obj = v.as_object().ok_or(RelatedOriginsError::NotAnObject)?;
    let origins = obj
        .get("origins")
        .and_then(|o| o.as_array())
        .ok_or(RelatedOriginsError::BadOrigins)?;
    if origins.iter().any(|o| !o.is_string()) {
        return Err(RelatedOriginsError::BadOrigins);
    }
    let mut labels_seen: Vec<String> = Vec::new();
    for item in origins.iter().filter_map(|o| o.as_str()) {
        // Step 4.1–4.2: the URL and its effective domain (a domain host).
        let Ok(url) = url::Url::parse(item) else {
            continue;
        };
        let Some(url::Host::Domain(domain)) = url.host() else {
            continue;
        };
        // Step 4.3–4.4: its registrable origin label.
        let Some(label) = registrable_origin_label(domain) else {
            continue;
        };
        // Step 4.5: past the limit, only labels already seen count.
        if labels_seen.len() >= max_labels && !labels_seen.contains(&label) {
            continue;
        }
        // Step 4.6: same origin (scheme, host, port).
        if url.origin().ascii_serialization() == caller.as_str() {
            return Ok(());
        }
        // Step 4.7.
        if labels_seen.len() < max_labels && !labels_seen.contains(&label) {
            labels_seen.push(label);
        }
    }
    Err(RelatedOriginsError::NotListed(max_labels))
}
