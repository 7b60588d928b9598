#![no_main]
//! CTAP2 request messages; a parsed request re-encodes to a message that parses to the same request.
use keyhaven_proto::ctap2::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::from_bytes(data) {
        let b = r.to_bytes();
        assert_eq!(
            Request::from_bytes(&b).expect("re-encoded request parses"),
            r
        );
    }
});
