//! Passkey provider names and icons by AAGUID, for the account page: the
//! community passkey AAGUID list (a snapshot compiled in, `data/SOURCE.md`;
//! or a newer file), completed by the descriptions and icons of a FIDO MDS3
//! BLOB when one is configured (MDS3 §3.1.2 `description`, `icon`).
//!
//! A list is checked whole before it is used: a malformed entry refuses the
//! file, with the AAGUID and the reason, rather than half-loading it.

use std::collections::HashMap;
use std::fmt;

/// The snapshot compiled into the binary.
pub const BUILT_IN: &str = include_str!("../data/aaguid.json");

/// Largest icon accepted (decoded bytes). The list's largest is ~15 KB.
pub const MAX_ICON: usize = 64 * 1024;
/// Longest provider name accepted (characters).
pub const MAX_NAME: usize = 100;

/// An icon: its media type and bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Icon {
    /// `image/svg+xml` or `image/png`.
    pub media_type: &'static str,
    /// The image.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Icon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Icon({}, {} bytes)", self.media_type, self.bytes.len())
    }
}

/// Where a provider's entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The community AAGUID list.
    List,
    /// A FIDO MDS3 BLOB.
    Mds,
}

/// One provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// Its name, e.g. "iCloud Keychain".
    pub name: String,
    /// For light backgrounds.
    pub icon_light: Option<Icon>,
    /// For dark backgrounds.
    pub icon_dark: Option<Icon>,
    /// Where the entry came from.
    pub source: Source,
}

/// Why a provider list was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProviderListError {
    /// Not JSON, or not an object at the top.
    #[error("provider list: not a JSON object of AAGUIDs: {0}")]
    NotAnObject(String),
    /// `{}`: the list's README says a retired list becomes an empty object.
    #[error("provider list: empty (the community list leaves an empty object when it is retired)")]
    Empty,
    /// A key that is not a UUID.
    #[error(
        "provider list: {0:?} is not an AAGUID (a UUID like 00000000-0000-0000-0000-000000000000)"
    )]
    BadAaguid(String),
    /// The same AAGUID twice (differing only in case).
    #[error("provider list: {0} appears twice")]
    Duplicate(String),
    /// An entry's `name`.
    #[error("provider list: {aaguid}: name: {reason}")]
    BadName {
        /// The entry.
        aaguid: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An entry's icon.
    #[error("provider list: {aaguid}: {field}: {reason}")]
    BadIcon {
        /// The entry.
        aaguid: String,
        /// `icon_light` or `icon_dark`.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Providers by AAGUID (lowercase UUID text).
#[derive(Clone, Default)]
pub struct Providers {
    by_aaguid: HashMap<String, Provider>,
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Providers({} entries)", self.by_aaguid.len())
    }
}

impl Providers {
    /// The snapshot compiled in.
    pub fn built_in() -> Self {
        // Checked by a unit test, so this cannot fail in a released binary.
        Self::from_list(BUILT_IN).unwrap_or_default()
    }

    /// A list in the community list's format: `{"<aaguid>": {"name",
    /// "icon_light", "icon_dark"}}`, icons as `data:image/svg+xml;base64,`
    /// URLs. Other members are ignored (the schema may grow).
    pub fn from_list(text: &str) -> Result<Self, ProviderListError> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ProviderListError::NotAnObject(e.to_string()))?;
        let obj = v.as_object().ok_or_else(|| {
            ProviderListError::NotAnObject("the top level is not an object".into())
        })?;
        if obj.is_empty() {
            return Err(ProviderListError::Empty);
        }
        let mut by_aaguid = HashMap::with_capacity(obj.len());
        for (key, entry) in obj {
            let aaguid =
                normalize_aaguid(key).ok_or_else(|| ProviderListError::BadAaguid(key.clone()))?;
            let name = entry.get("name").and_then(|n| n.as_str()).ok_or_else(|| {
                ProviderListError::BadName {
                    aaguid: aaguid.clone(),
                    reason: "missing or not a string",
                }
            })?;
            let name = check_name(name).map_err(|reason| ProviderListError::BadName {
                aaguid: aaguid.clone(),
                reason,
            })?;
            let icon = |field: &'static str| -> Result<Option<Icon>, ProviderListError> {
                match entry.get(field) {
                    None | Some(serde_json::Value::Null) => Ok(None),
                    Some(serde_json::Value::String(url)) => data_url(url, &["image/svg+xml"])
                        .map(Some)
                        .map_err(|reason| ProviderListError::BadIcon {
                            aaguid: aaguid.clone(),
                            field,
                            reason,
                        }),
                    Some(_) => Err(ProviderListError::BadIcon {
                        aaguid: aaguid.clone(),
                        field,
                        reason: "not a string",
                    }),
                }
            };
            let provider = Provider {
                name,
                icon_light: icon("icon_light")?,
                icon_dark: icon("icon_dark")?,
                source: Source::List,
            };
            if by_aaguid.insert(aaguid.clone(), provider).is_some() {
                return Err(ProviderListError::Duplicate(aaguid));
            }
        }
        Ok(Providers { by_aaguid })
    }

    /// Adds the entries of a verified MDS3 BLOB for AAGUIDs the list does not
    /// name: the statement's description, and its icon (one for both
    /// backgrounds). An entry whose description or icon does not pass the
    /// list's checks is skipped or keeps no icon.
    pub fn with_mds(mut self, md: &keyhaven_rp::mds::Metadata) -> Self {
        for e in &md.entries {
            let (Some(aaguid), Some(desc)) = (&e.aaguid, &e.description) else {
                continue;
            };
            let Some(aaguid) = normalize_aaguid(aaguid) else {
                continue;
            };
            if self.by_aaguid.contains_key(&aaguid) {
                continue;
            }
            let Ok(name) = check_name(desc) else {
                continue;
            };
            let icon = e
                .icon
                .as_deref()
                .and_then(|u| data_url(u, &["image/png", "image/svg+xml"]).ok());
            self.by_aaguid.insert(
                aaguid,
                Provider {
                    name,
                    icon_light: icon.clone(),
                    icon_dark: icon,
                    source: Source::Mds,
                },
            );
        }
        self
    }

    /// The provider of an AAGUID (UUID text, any case). The all-zero AAGUID
    /// names nobody.
    pub fn get(&self, aaguid: &str) -> Option<&Provider> {
        let a = normalize_aaguid(aaguid)?;
        if a == "00000000-0000-0000-0000-000000000000" {
            return None;
        }
        self.by_aaguid.get(&a)
    }

    /// How many providers, and how many of them have an icon.
    pub fn counts(&self) -> (usize, usize) {
        let icons = self
            .by_aaguid
            .values()
            .filter(|p| p.icon_light.is_some() || p.icon_dark.is_some())
            .count();
        (self.by_aaguid.len(), icons)
    }
}

/// Lowercase 8-4-4-4-12 hex UUID text, or None.
pub fn normalize_aaguid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        let dash = matches!(i, 8 | 13 | 18 | 23);
        if dash != (*c == b'-') || (!dash && !c.is_ascii_hexdigit()) {
            return None;
        }
    }
    Some(s.to_ascii_lowercase())
}

/// A name shown beside a user's passkey: 1 to [`MAX_NAME`] characters of
/// the PRECIS Nickname profile (RFC 8266: spaces trimmed and collapsed, no
/// control, bidirectional-override or zero-width characters, which would
/// reach the page and the passkey's default name).
fn check_name(s: &str) -> Result<String, &'static str> {
    use precis_core::profile::Profile;
    if s.trim().is_empty() {
        return Err("empty");
    }
    let t = precis_profiles::Nickname::new()
        .enforce(s)
        .map_err(|_| "control, bidirectional-override or zero-width character")?;
    if t.chars().count() > MAX_NAME {
        return Err("longer than 100 characters");
    }
    Ok(t.into_owned())
}

/// Decodes a `data:<type>;base64,<data>` URL whose type is one of `types`.
fn data_url(url: &str, types: &[&'static str]) -> Result<Icon, &'static str> {
    let rest = url.strip_prefix("data:").ok_or("not a data: URL")?;
    let (meta, data) = rest.split_once(',').ok_or("a data: URL without a comma")?;
    let media = meta
        .strip_suffix(";base64")
        .ok_or("a data: URL that is not base64")?;
    let media_type = *types
        .iter()
        .find(|t| media.eq_ignore_ascii_case(t))
        .ok_or("an unexpected media type")?;
    // Checked before decoding: the decoded size is 3/4 of the text.
    if data.len() / 4 * 3 > MAX_ICON {
        return Err("larger than 64 KiB");
    }
    let bytes = base64_simd::STANDARD
        .decode_to_vec(data.trim_end())
        .map_err(|_| "not valid base64")?;
    let looks_right = match media_type {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        _ => std::str::from_utf8(&bytes).is_ok_and(|t| t.contains("<svg")),
    };
    if !looks_right {
        return Err("the data is not the image its media type says");
    }
    Ok(Icon { media_type, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg() -> String {
        format!(
            "data:image/svg+xml;base64,{}",
            base64_simd::STANDARD.encode_to_string(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
        )
    }

    #[test]
    fn the_built_in_snapshot_loads_whole() {
        let p = Providers::from_list(BUILT_IN).unwrap();
        // The snapshot of data/SOURCE.md: 52 providers, 50 with icons.
        assert_eq!(p.counts(), (52, 50));
        let g = p.get("EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4").unwrap();
        assert_eq!(g.name, "Google Password Manager");
        assert_eq!(g.icon_light.as_ref().unwrap().media_type, "image/svg+xml");
        assert_eq!(
            p.get("fbfc3007-154e-4ecc-8c0b-6e020557d7bd").unwrap().name,
            "Apple Passwords"
        );
        assert!(p.get("00000000-0000-0000-0000-000000000000").is_none());
    }

    #[test]
    fn a_bad_entry_refuses_the_whole_list() {
        let ok = format!(
            r#"{{"01020304-0506-0708-0102-030405060708": {{"name": "Test", "icon_light": "{}"}}}}"#,
            svg()
        );
        let p = Providers::from_list(&ok).unwrap();
        assert_eq!(p.counts(), (1, 1));
        let a = "01020304-0506-0708-0102-030405060708";
        let png_in_svg = format!(
            "data:image/svg+xml;base64,{}",
            base64_simd::STANDARD.encode_to_string(b"\x89PNG\r\n\x1a\n")
        );
        let huge = format!("data:image/svg+xml;base64,{}", "A".repeat(MAX_ICON * 2));
        let cases: Vec<(String, ProviderListError)> = vec![
            ("[]".into(), ProviderListError::NotAnObject("the top level is not an object".into())),
            ("{}".into(), ProviderListError::Empty),
            (r#"{"not-a-uuid": {"name": "x"}}"#.into(), ProviderListError::BadAaguid("not-a-uuid".into())),
            (format!(r#"{{"{a}": {{}}}}"#), ProviderListError::BadName { aaguid: a.into(), reason: "missing or not a string" }),
            (format!(r#"{{"{a}": {{"name": "  "}}}}"#), ProviderListError::BadName { aaguid: a.into(), reason: "empty" }),
            (format!(r#"{{"{a}": {{"name": "Evil\u202e"}}}}"#), ProviderListError::BadName { aaguid: a.into(), reason: "control, bidirectional-override or zero-width character" }),
            (format!(r#"{{"{a}": {{"name": "{}"}}}}"#, "x".repeat(101)), ProviderListError::BadName { aaguid: a.into(), reason: "longer than 100 characters" }),
            (format!(r#"{{"{a}": {{"name": "x", "icon_dark": "https://example.com/x.svg"}}}}"#), ProviderListError::BadIcon { aaguid: a.into(), field: "icon_dark", reason: "not a data: URL" }),
            (format!(r#"{{"{a}": {{"name": "x", "icon_dark": "data:image/png;base64,AAAA"}}}}"#), ProviderListError::BadIcon { aaguid: a.into(), field: "icon_dark", reason: "an unexpected media type" }),
            (format!(r#"{{"{a}": {{"name": "x", "icon_light": "data:image/svg+xml;base64,@@@@"}}}}"#), ProviderListError::BadIcon { aaguid: a.into(), field: "icon_light", reason: "not valid base64" }),
            (format!(r#"{{"{a}": {{"name": "x", "icon_light": "{png_in_svg}"}}}}"#), ProviderListError::BadIcon { aaguid: a.into(), field: "icon_light", reason: "the data is not the image its media type says" }),
            (format!(r#"{{"{a}": {{"name": "x", "icon_light": "{huge}"}}}}"#), ProviderListError::BadIcon { aaguid: a.into(), field: "icon_light", reason: "larger than 64 KiB" }),
            (format!(r#"{{"{a}": {{"name": "x", "icon_light": 7}}}}"#), ProviderListError::BadIcon { aaguid: a.into(), field: "icon_light", reason: "not a string" }),
            (r#"{"abcdef00-0000-0000-0000-000000000000": {"name": "x"}, "ABCDEF00-0000-0000-0000-000000000000": {"name": "y"}}"#.into(), ProviderListError::Duplicate("abcdef00-0000-0000-0000-000000000000".into())),
        ];
        for (text, want) in cases {
            assert_eq!(Providers::from_list(&text).unwrap_err(), want, "{text:.80}");
        }
    }

    #[test]
    fn mds_entries_fill_in_what_the_list_does_not_name() {
        use keyhaven_rp::mds::{Metadata, MetadataEntry};
        let png = format!(
            "data:image/png;base64,{}",
            base64_simd::STANDARD.encode_to_string(b"\x89PNG\r\n\x1a\n....")
        );
        let entry = |aaguid: &str, desc: &str, icon: Option<&str>| MetadataEntry {
            aaguid: Some(aaguid.into()),
            attestation_certificate_key_identifiers: vec![],
            description: Some(desc.into()),
            icon: icon.map(str::to_owned),
            attestation_root_certificates: vec![],
            status_reports: vec![],
        };
        let md = Metadata::from_entries(
            1,
            "2027-01-01".into(),
            vec![
                entry(
                    "cb69481e-8ff7-4039-93ec-0a2729a154a8",
                    "YubiKey 5 Series",
                    Some(&png),
                ),
                // Named by the list already: the list's name stays.
                entry(
                    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
                    "Something else",
                    None,
                ),
                // Refused by the name rules: left out.
                entry("aaaaaaaa-0000-0000-0000-000000000000", "Bad\u{202e}", None),
                // An icon that is not a PNG: the name without an icon.
                entry(
                    "bbbbbbbb-0000-0000-0000-000000000000",
                    "Plain Key",
                    Some("data:image/png;base64,AAAA"),
                ),
            ],
        );
        let p = Providers::built_in().with_mds(&md);
        assert_eq!(p.counts(), (52 + 2, 50 + 1));
        let yk = p.get("CB69481E-8FF7-4039-93EC-0A2729A154A8").unwrap();
        assert_eq!(
            (yk.name.as_str(), yk.source),
            ("YubiKey 5 Series", Source::Mds)
        );
        assert_eq!(yk.icon_light.as_ref().unwrap().media_type, "image/png");
        assert_eq!(yk.icon_light, yk.icon_dark);
        let g = p.get("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").unwrap();
        assert_eq!(
            (g.name.as_str(), g.source),
            ("Google Password Manager", Source::List)
        );
        assert!(p.get("aaaaaaaa-0000-0000-0000-000000000000").is_none());
        let plain = p.get("bbbbbbbb-0000-0000-0000-000000000000").unwrap();
        assert_eq!(
            (plain.name.as_str(), &plain.icon_light),
            ("Plain Key", &None)
        );
    }

    #[test]
    fn aaguids_are_uuids() {
        assert_eq!(
            normalize_aaguid("ABCDEF00-0000-0000-0000-000000000000").as_deref(),
            Some("abcdef00-0000-0000-0000-000000000000")
        );
        for bad in [
            "",
            "abcdef000000000000000000000000000000",
            "abcdef00-0000-0000-0000-00000000000g",
            "abcdef00-0000-0000-0000-0000000000000",
            "abcdef000-000-0000-0000-000000000000",
        ] {
            assert_eq!(normalize_aaguid(bad), None, "{bad}");
        }
    }
}
