#![no_main]
//! The whole `keyhaven inspect` path: encoding detection, kind detection, description, rendering.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = keyhaven_inspect::inspect(data, None) {
        let _ = r.to_text();
        let _ = r.to_json();
    }
});
