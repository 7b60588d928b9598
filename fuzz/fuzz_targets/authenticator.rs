#![no_main]
//! The authenticator's `process()` on arbitrary messages, several per input
//! (split on 0xFF 0x00 0xFF), so state (PIN, getNextAssertion, enumerations,
//! large-blob writes) is exercised too. A message starting 0x00 is a U2F
//! APDU (as on stdio): U2F and CTAP2 share credentials and counters. Every
//! CTAP2 answer has a status byte; every U2F answer a status word.
use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut a) = Authenticator::new(
        MemoryStore::new(16),
        AlwaysApprove {
            uv: data.first() == Some(&1),
        },
        Settings::default(),
    ) else {
        return;
    };
    for msg in data.split(|b| *b == 0xff).take(16) {
        if msg.first() == Some(&0) {
            let out = a.process_u2f(msg);
            assert!(out.len() >= 2, "a U2F response always has a status word");
        } else {
            let out = a.process(msg);
            assert!(!out.is_empty(), "a response always has a status byte");
        }
    }
});
