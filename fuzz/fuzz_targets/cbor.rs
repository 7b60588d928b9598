#![no_main]
//! Strict CBOR decoding; anything that decodes must re-encode to the same bytes.
use keyhaven_proto::cbor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = cbor::decode(data) {
        assert_eq!(cbor::encode(&v), data, "decode/encode must be byte-exact");
    }
});
