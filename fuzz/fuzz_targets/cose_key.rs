#![no_main]
//! COSE_Key parsing; a parsed key must re-encode to the same bytes.
use keyhaven_proto::cose::CoseKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = CoseKey::from_bytes(data) {
        assert_eq!(k.to_bytes(), data);
        let _ = k.to_spki_der();
    }
});
