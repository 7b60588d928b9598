#![no_main]
//! The authenticator's `process()` on arbitrary messages, several per input
//! (split on 0xFF 0x00 0xFF), so state (PIN, getNextAssertion, enumerations,
//! large-blob writes) is exercised too. Every answer starts with a status byte.
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
        let out = a.process(msg);
        assert!(!out.is_empty(), "a response always has a status byte");
    }
});
