#![no_main]
//! The WebAuthn L3 JSON forms; what parses serializes and parses back equal.
use keyhaven_proto::json::{
    AuthenticationResponseJson, CreationOptionsJson, RegistrationResponseJson, RequestOptionsJson,
};
use libfuzzer_sys::fuzz_target;

fn check<T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug>(
    data: &[u8],
) {
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let s = serde_json::to_vec(&v).expect("serializes");
        assert_eq!(serde_json::from_slice::<T>(&s).expect("parses back"), v);
    }
}

fuzz_target!(|data: &[u8]| {
    check::<AuthenticationResponseJson>(data);
    check::<RegistrationResponseJson>(data);
    check::<CreationOptionsJson>(data);
    check::<RequestOptionsJson>(data);
});
