#![no_main]
//! The client's `create()` and `get()` against an authenticator whose answers
//! are corrupted by the input: each answer of a real authenticator gets one
//! byte flipped and may be cut short, as chosen by the next input bytes. The
//! client must answer every time with a credential or an error, never panic.
use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};
use keyhaven_client::device::{Attachment, Cancel, Device};
use keyhaven_client::{
    parse_creation_options_from_json, parse_request_options_from_json, CallOptions, Client,
    TransportError,
};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, Mutex};

struct Corrupting {
    auth: Authenticator<MemoryStore, AlwaysApprove>,
    script: Arc<Mutex<Vec<u8>>>,
}

impl Device for Corrupting {
    fn transact(&mut self, message: &[u8], _: &Cancel) -> Result<Vec<u8>, TransportError> {
        let mut out = self.auth.process(message);
        let mut s = self.script.lock().unwrap();
        if s.len() >= 4 {
            let pos = usize::from(u16::from_be_bytes([s[0], s[1]]));
            let (mask, cut) = (s[2], s[3]);
            s.drain(..4);
            if !out.is_empty() {
                let i = pos % out.len();
                out[i] ^= mask;
                if cut & 0x80 != 0 {
                    out.truncate(i + 1);
                }
            }
        }
        Ok(out)
    }
    fn attachment(&self) -> Attachment {
        Attachment::CrossPlatform
    }
    fn transport(&self) -> &'static str {
        "usb"
    }
    fn name(&self) -> String {
        "corrupting".into()
    }
}

const CREATE: &str = r#"{"rp":{"name":"E","id":"example.org"},"user":{"id":"AQ","name":"a","displayName":"A"},"challenge":"AAECAwQFBgcICQoLDA0ODw","pubKeyCredParams":[{"type":"public-key","alg":-7},{"type":"public-key","alg":-8}],"excludeCredentials":[{"type":"public-key","id":"AAAA"}],"authenticatorSelection":{"residentKey":"required"},"extensions":{"credProps":true,"prf":{"eval":{"first":"AA"}},"largeBlob":{"support":"preferred"},"credBlob":"AQI","credentialProtectionPolicy":"userVerificationOptional"}}"#;
const GET: &str = r#"{"challenge":"AAECAwQFBgcICQoLDA0ODw","rpId":"example.org","extensions":{"prf":{"eval":{"first":"AA","second":"AQ"}},"largeBlob":{"read":true},"getCredBlob":true}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(auth) = Authenticator::new(
        MemoryStore::new(8),
        AlwaysApprove {
            uv: data.first() == Some(&1),
        },
        Settings::default(),
    ) else {
        return;
    };
    let script = Arc::new(Mutex::new(data.to_vec()));
    let dev = Corrupting { auth, script };
    let mut c = Client::new(vec![Box::new(dev)]);
    let call = CallOptions::new("https://example.org");
    let _ = c.create(&call, &parse_creation_options_from_json(CREATE).unwrap());
    let _ = c.get(&call, &parse_request_options_from_json(GET).unwrap());
    let _ = c.get(&call, &parse_request_options_from_json(GET).unwrap());
});
