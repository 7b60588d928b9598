//! The ceremony timer and the AbortSignal against a CTAPHID authenticator
//! whose user is slow to touch it: the client sends CTAPHID_CANCEL and answers
//! at once with AbortError or NotAllowedError.

use keyhaven_testkit::slow;

use keyhaven_client::hid::HidDevice;
use keyhaven_client::{
    parse_creation_options_from_json, AbortSignal, CallOptions, Client, ClientConfig, ClientError,
    DomException,
};
use std::time::{Duration, Instant};

const CREATE: &str = r#"{"rp":{"name":"Example","id":"example.org"},"user":{"id":"dXNlcjE","name":"u1","displayName":"U1"},"challenge":"Y2hhbGxlbmdlLWNoYWxsZW5nZQ","pubKeyCredParams":[{"type":"public-key","alg":-7}],"timeout":400}"#;

fn client(name: &str) -> Client {
    let (_dir, conn) = slow::slow_device_with(name, Duration::from_secs(3));
    let dev = HidDevice::open(
        Box::new(conn.try_clone().unwrap()),
        Box::new(conn),
        false,
        name.into(),
    )
    .unwrap();
    Client::new(vec![Box::new(dev)]).with_config(ClientConfig {
        timeout_min: Duration::from_millis(10),
        ..Default::default()
    })
}

#[test]
fn abort_cancels_the_pending_request() {
    let mut c = client("client-abort");
    let signal = AbortSignal::new();
    let s2 = signal.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        s2.abort();
    });
    let mut options = parse_creation_options_from_json(CREATE).unwrap();
    options.timeout = Some(60_000);
    let call = CallOptions {
        signal: Some(signal),
        ..CallOptions::new("https://example.org")
    };
    let start = Instant::now();
    let e = c.create(&call, &options).unwrap_err();
    assert_eq!(e, ClientError::Aborted);
    assert_eq!(e.dom_exception(), DomException::AbortError);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn the_timer_ends_the_ceremony_with_not_allowed() {
    let mut c = client("client-timeout");
    let options = parse_creation_options_from_json(CREATE).unwrap();
    let start = Instant::now();
    let e = c
        .create(&CallOptions::new("https://example.org"), &options)
        .unwrap_err();
    assert_eq!(e, ClientError::Timeout(400));
    assert_eq!(e.dom_exception(), DomException::NotAllowedError);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}
