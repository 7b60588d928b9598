//! The W3C WebAuthn L3 test vectors (`tests/vectors/vectors.json`, copied from
//! `../shared/webauthn-test-vectors`).

use serde_json::Value;

/// The vectors file, compiled in.
pub const JSON: &str = include_str!("../../../tests/vectors/vectors.json");

/// Every vector.
pub fn all() -> Vec<Value> {
    serde_json::from_str(JSON).expect("tests/vectors/vectors.json is JSON")
}

/// The vector with this `id` (panics if there is none).
pub fn by_id(id: &str) -> Value {
    all()
        .into_iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
}

/// A base64url member's bytes (panics if it is not base64url).
pub fn bytes(v: &Value) -> Vec<u8> {
    keyhaven_proto::b64::decode(v.as_str().expect("a base64url string")).expect("base64url")
}

/// `samples/authentication-response.json` (the packed-es256 vector's
/// assertion as an AuthenticationResponseJSON).
pub const SAMPLE_AUTHENTICATION_RESPONSE: &str =
    include_str!("../../../samples/authentication-response.json");

/// `samples/registration-response.json` (the packed-es256 vector's
/// registration as a RegistrationResponseJSON; challenge
/// [`SAMPLE_REGISTRATION_CHALLENGE`], attestation root [`SAMPLE_ROOT_PEM`]).
pub const SAMPLE_REGISTRATION_RESPONSE: &str =
    include_str!("../../../samples/registration-response.json");
/// The challenge the sample registration answers (base64url).
pub const SAMPLE_REGISTRATION_CHALLENGE: &str = "wRhKX934BF4T3Ef1S2H1pla2ZrWQGPFthw6SVumVIBI";
/// The challenge the sample authentication answers (base64url).
pub const SAMPLE_AUTHENTICATION_CHALLENGE: &str = "sRBvpGpXvvF4FRHAVX3ImKA0E9Xw8X0kRjDBlMfhrbU";
/// `samples/w3c-attestation-root.pem`: the vectors' attestation root.
pub const SAMPLE_ROOT_PEM: &str = include_str!("../../../samples/w3c-attestation-root.pem");
