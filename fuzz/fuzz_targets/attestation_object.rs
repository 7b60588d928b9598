#![no_main]
//! attestationObject parsing; a parsed value must re-serialize byte-exactly.
use keyhaven_proto::attestation::AttestationObject;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ao) = AttestationObject::from_bytes(data) {
        assert_eq!(ao.to_bytes(), data);
    }
});
