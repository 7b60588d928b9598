#![no_main]
//! The DER reader (keyhaven-proto's `der::Reader`, used by the tpm and
//! android-key procedures) walking arbitrary input: every TLV read or refused,
//! never a panic, and a value never extends past its parent.
use keyhaven_proto::der::Reader;
use libfuzzer_sys::fuzz_target;

fn walk(mut r: Reader, depth: usize) {
    while !r.is_empty() {
        let before = r.bytes().len();
        match r.read() {
            Ok((tag, inner)) => {
                assert!(
                    inner.bytes().len() < before,
                    "a TLV is longer than its parent"
                );
                if tag.constructed && depth < 32 {
                    walk(inner, depth + 1);
                }
            }
            Err(_) => return,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    walk(Reader::new(data), 0);
    let mut r = Reader::new(data);
    let _ = r.read_uint(keyhaven_proto::der::Tag::INTEGER);
});
