#![no_main]
//! The relying party's two ceremonies on arbitrary response JSON: refused or
//! accepted, never a panic. The input's first byte picks the ceremony.
use keyhaven_proto::json::{AuthenticationResponseJson, RegistrationResponseJson};
use keyhaven_rp::options::{AuthenticationState, RegistrationState};
use keyhaven_rp::{CredentialRecord, RpConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    let cfg = RpConfig::new("example.org", "Example");
    if which & 1 == 0 {
        if let Ok(r) = serde_json::from_slice::<RegistrationResponseJson>(json) {
            let state = RegistrationState {
                challenge: vec![0; 32],
                user_handle: vec![1],
                algorithms: vec![-7, -8, -257],
                user_verification_required: false,
                conditional_mediation: false,
                extensions: None,
            };
            let _ = keyhaven_rp::verify_registration(&cfg, &r, &state, |_| false);
        }
    } else if let Ok(r) = serde_json::from_slice::<AuthenticationResponseJson>(json) {
        let state = AuthenticationState {
            challenge: vec![0; 32],
            allow_credentials: vec![],
            user_handle: None,
            user_verification_required: false,
            extensions: None,
        };
        let record = CredentialRecord::imported(
            r.raw_id.clone(),
            // An ES256 key (the W3C none-es256 vector's).
            keyhaven_proto::b64::decode("pQECAyYgASFYIK_voW-XypstI-uGzLZAmNINuQhWBi6yScM6m2cvJt9hIlggkwpWuHovymYzSwNFir-HlxfBLMaO1zKQry4mZHlrkiA").unwrap(),
            0,
            r.response.user_handle.clone(),
            "example.org",
        )
        .unwrap();
        let _ = keyhaven_rp::verify_authentication(&cfg, &r, &state, |_| Some(record));
    }
});
