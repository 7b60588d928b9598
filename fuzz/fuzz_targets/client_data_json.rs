#![no_main]
//! clientDataJSON parsing and §5.8.1.1 serialization of what was parsed.
use keyhaven_proto::client_data::CollectedClientData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cd) = CollectedClientData::from_json_bytes(data) {
        let out = cd.to_json_bytes();
        let again = CollectedClientData::from_json_bytes(&out).expect("our serialization parses");
        assert_eq!(again.to_json_bytes(), out);
    }
});
