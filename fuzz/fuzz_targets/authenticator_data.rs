#![no_main]
//! authenticatorData parsing; a parsed value must re-serialize bit-exactly.
use keyhaven_proto::authdata::AuthenticatorData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ad) = AuthenticatorData::from_bytes(data) {
        assert_eq!(ad.to_bytes(), data);
    }
});
