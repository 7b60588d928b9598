#![no_main]
//! CTAP2 response messages for every command that has a response body.
use keyhaven_proto::ctap2::{Command, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for c in [
        Command::MakeCredential,
        Command::GetAssertion,
        Command::GetInfo,
        Command::ClientPin,
        Command::CredentialManagement,
        Command::LargeBlobs,
        Command::Selection,
    ] {
        if let Ok(r) = Response::from_bytes(c, data) {
            let b = r.to_bytes();
            assert_eq!(
                Response::from_bytes(c, &b).expect("re-encoded response parses"),
                r
            );
        }
    }
});
