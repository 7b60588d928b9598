//! The CTAPHID packet layer: INIT and channel allocation, reassembly of long
//! messages, CBOR, the error codes for bad sequences, lengths and channels.

use keyhaven_authenticator::ctaphid::{cmd, err, HidDevice, MAX_MESSAGE, REPORT};
use keyhaven_authenticator::{AlwaysApprove, Authenticator, MemoryStore, Settings};

fn device() -> HidDevice<MemoryStore, AlwaysApprove> {
    HidDevice::new(
        Authenticator::new(
            MemoryStore::new(10),
            AlwaysApprove::default(),
            Settings::default(),
        )
        .unwrap(),
    )
}

fn init_report(cid: u32, command: u8, len: usize, data: &[u8]) -> [u8; REPORT] {
    let mut r = [0u8; REPORT];
    r[..4].copy_from_slice(&cid.to_be_bytes());
    r[4] = 0x80 | command;
    r[5..7].copy_from_slice(&(len as u16).to_be_bytes());
    r[7..7 + data.len()].copy_from_slice(data);
    r
}

fn cont_report(cid: u32, seq: u8, data: &[u8]) -> [u8; REPORT] {
    let mut r = [0u8; REPORT];
    r[..4].copy_from_slice(&cid.to_be_bytes());
    r[4] = seq;
    r[5..5 + data.len()].copy_from_slice(data);
    r
}

/// Sends a whole message; returns (command, payload) of the answer.
fn transact(
    d: &mut HidDevice<MemoryStore, AlwaysApprove>,
    cid: u32,
    command: u8,
    data: &[u8],
) -> (u8, Vec<u8>) {
    let first = data.len().min(57);
    let mut out = d.handle_report(&init_report(cid, command, data.len(), &data[..first]));
    for (seq, chunk) in data[first..].chunks(59).enumerate() {
        assert!(out.is_empty(), "no answer before the message is complete");
        out = d.handle_report(&cont_report(cid, seq as u8, chunk));
    }
    let head = out[0];
    assert_eq!(u32::from_be_bytes(head[..4].try_into().unwrap()), cid);
    let len = usize::from(u16::from_be_bytes([head[5], head[6]]));
    let mut payload = head[7..7 + len.min(57)].to_vec();
    for r in &out[1..] {
        let n = (len - payload.len()).min(59);
        payload.extend_from_slice(&r[5..5 + n]);
    }
    (head[4] & 0x7f, payload)
}

#[test]
fn init_ping_cbor_and_errors() {
    let mut d = device();
    // INIT on the broadcast channel allocates a channel.
    let (c, resp) = transact(&mut d, 0xffff_ffff, cmd::INIT, &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(c, cmd::INIT);
    assert_eq!(resp[..8], [1, 2, 3, 4, 5, 6, 7, 8], "nonce echoed");
    let cid = u32::from_be_bytes(resp[8..12].try_into().unwrap());
    assert_eq!(resp[12], 2, "CTAPHID protocol version 2");
    assert_eq!(
        resp[16],
        0x01 | 0x04,
        "WINK and CBOR; NMSG clear: U2F is spoken"
    );
    // PING of the largest message: 7609 bytes in 1 + 128 reports.
    let big: Vec<u8> = (0..MAX_MESSAGE).map(|i| i as u8).collect();
    assert_eq!(
        transact(&mut d, cid, cmd::PING, &big),
        (cmd::PING, big.clone())
    );
    // CBOR: getInfo.
    let (c, resp) = transact(&mut d, cid, cmd::CBOR, &[0x04]);
    assert_eq!(c, cmd::CBOR);
    assert_eq!(resp[0], 0, "CTAP2_OK");
    // Errors.
    assert_eq!(
        transact(&mut d, 0x1234_5678, cmd::PING, &[1]),
        (cmd::ERROR, vec![err::INVALID_CHANNEL])
    );
    // §11.2.3: the broadcast channel carries INIT alone.
    for command in [cmd::PING, cmd::CBOR, cmd::WINK, cmd::MSG] {
        assert_eq!(
            transact(&mut d, 0xffff_ffff, command, &[4]),
            (cmd::ERROR, vec![err::INVALID_CHANNEL])
        );
    }
    assert_eq!(
        transact(&mut d, cid, 0x55, &[1]),
        (cmd::ERROR, vec![err::INVALID_CMD])
    );
    // CTAPHID_MSG carries U2F: a 1-byte APDU is answered with SW_WRONG_LENGTH.
    assert_eq!(
        transact(&mut d, cid, cmd::MSG, &[1]),
        (cmd::MSG, vec![0x67, 0x00])
    );
    assert_eq!(
        transact(&mut d, cid, cmd::MSG, &[0, 3, 0, 0, 0, 0, 0]),
        (cmd::MSG, [&b"U2F_V2"[..], &[0x90, 0x00]].concat())
    );
    let too_long = d.handle_report(&init_report(cid, cmd::PING, MAX_MESSAGE + 1, &[]));
    assert_eq!(too_long[0][4], 0x80 | cmd::ERROR);
    assert_eq!(too_long[0][7], err::INVALID_LEN);
    // A wrong continuation sequence number.
    assert!(d
        .handle_report(&init_report(cid, cmd::PING, 100, &[0; 57]))
        .is_empty());
    let bad = d.handle_report(&cont_report(cid, 5, &[0; 43]));
    assert_eq!(
        (bad[0][4], bad[0][7]),
        (0x80 | cmd::ERROR, err::INVALID_SEQ)
    );
    // Another channel while a transaction is in progress is busy.
    let (_, resp) = transact(&mut d, 0xffff_ffff, cmd::INIT, &[9; 8]);
    let other = u32::from_be_bytes(resp[8..12].try_into().unwrap());
    assert!(d
        .handle_report(&init_report(cid, cmd::PING, 100, &[0; 57]))
        .is_empty());
    let busy = d.handle_report(&init_report(other, cmd::PING, 1, &[1]));
    assert_eq!(
        (busy[0][4], busy[0][7]),
        (0x80 | cmd::ERROR, err::CHANNEL_BUSY)
    );
    // INIT on the busy channel aborts its transaction; then the other channel works.
    assert_eq!(transact(&mut d, cid, cmd::INIT, &[3; 8]).0, cmd::INIT);
    assert_eq!(transact(&mut d, other, cmd::WINK, &[]).0, cmd::WINK);
    assert_eq!(d.winks, 1);
}

use keyhaven_testkit::slow::slow_device_on_socket;

#[test]
fn keepalive_upneeded_while_waiting_for_presence() {
    use keyhaven_authenticator::ctaphid::keepalive;
    use std::io::{Read, Write};
    let (_dir, mut conn) = slow_device_on_socket("keepalive");
    let read = |conn: &mut std::os::unix::net::UnixStream| {
        let mut r = [0u8; REPORT];
        conn.read_exact(&mut r).unwrap();
        r
    };
    conn.write_all(&init_report(0xffff_ffff, cmd::INIT, 8, &[7; 8]))
        .unwrap();
    let init = read(&mut conn);
    assert_eq!(init[4], 0x80 | cmd::INIT);
    let cid = u32::from_be_bytes(init[15..19].try_into().unwrap());
    // authenticatorSelection (0x0B) waits for a touch.
    conn.write_all(&init_report(cid, cmd::CBOR, 1, &[0x0b]))
        .unwrap();
    let mut keepalives = Vec::new();
    let answer = loop {
        let r = read(&mut conn);
        assert_eq!(u32::from_be_bytes(r[..4].try_into().unwrap()), cid);
        if r[4] == 0x80 | cmd::KEEPALIVE {
            assert_eq!(u16::from_be_bytes([r[5], r[6]]), 1, "one status byte");
            keepalives.push(r[7]);
        } else {
            break r;
        }
    };
    assert_eq!(answer[4], 0x80 | cmd::CBOR);
    assert_eq!(answer[7], 0, "CTAP2_OK after the touch");
    assert!(
        keepalives.len() >= 2,
        "KEEPALIVE every 100 ms during a 450 ms wait, got {keepalives:?}"
    );
    assert!(
        keepalives.iter().all(|s| *s == keepalive::UPNEEDED),
        "status UPNEEDED while waiting for presence: {keepalives:?}"
    );
    // Without a wait there are none: getInfo answers at once.
    conn.write_all(&init_report(cid, cmd::CBOR, 1, &[0x04]))
        .unwrap();
    assert_eq!(read(&mut conn)[4], 0x80 | cmd::CBOR);
}

#[test]
fn cancel_answers_at_once_and_the_late_touch_creates_nothing() {
    use keyhaven_proto::ctap2::get_assertion::GetAssertionRequest;
    use keyhaven_proto::ctap2::make_credential::MakeCredentialRequest;
    use keyhaven_proto::ctap2::types::UserEntity;
    use keyhaven_proto::ctap2::Request;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let (_dir, mut conn) = slow_device_on_socket("cancel");
    let read = |conn: &mut UnixStream| {
        let mut r = [0u8; REPORT];
        conn.read_exact(&mut r).unwrap();
        r
    };
    // The first report that is not a KEEPALIVE.
    let answer = |conn: &mut UnixStream| loop {
        let r = read(conn);
        if r[4] != 0x80 | cmd::KEEPALIVE {
            break r;
        }
    };
    let alloc = |conn: &mut UnixStream, nonce: u8| {
        conn.write_all(&init_report(0xffff_ffff, cmd::INIT, 8, &[nonce; 8]))
            .unwrap();
        let r = read(conn);
        u32::from_be_bytes(r[15..19].try_into().unwrap())
    };
    let cid = alloc(&mut conn, 1);
    let other = alloc(&mut conn, 2);
    let make = Request::MakeCredential(
        MakeCredentialRequest::new(
            vec![1; 32],
            "example.org",
            UserEntity::new(b"u".to_vec(), None),
            -7,
        )
        .with_rk(true),
    )
    .to_bytes();
    let first = make.len().min(57);
    conn.write_all(&init_report(cid, cmd::CBOR, make.len(), &make[..first]))
        .unwrap();
    for (seq, chunk) in make[first..].chunks(59).enumerate() {
        conn.write_all(&cont_report(cid, seq as u8, chunk)).unwrap();
    }
    // While the touch is awaited: KEEPALIVE, another channel is busy, CANCEL answers at once.
    assert_eq!(read(&mut conn)[4], 0x80 | cmd::KEEPALIVE);
    conn.write_all(&init_report(other, cmd::PING, 1, &[9]))
        .unwrap();
    let busy = answer(&mut conn);
    assert_eq!((busy[4], busy[7]), (0x80 | cmd::ERROR, err::CHANNEL_BUSY));
    conn.write_all(&init_report(cid, cmd::CANCEL, 0, &[]))
        .unwrap();
    let cancelled = answer(&mut conn);
    assert_eq!(
        (
            cancelled[4],
            u16::from_be_bytes([cancelled[5], cancelled[6]]),
            cancelled[7]
        ),
        (0x80 | cmd::CBOR, 1, 0x2d),
        "CTAP2_ERR_KEEPALIVE_CANCEL"
    );
    // The touch that comes later is refused: no credential was made.
    let get =
        Request::GetAssertion(GetAssertionRequest::new("example.org", vec![2; 32])).to_bytes();
    conn.write_all(&init_report(cid, cmd::CBOR, get.len(), &get))
        .unwrap();
    let r = answer(&mut conn);
    assert_eq!(
        r[4],
        0x80 | cmd::CBOR,
        "no stray answer to the cancelled command"
    );
    assert_eq!(r[7], 0x2e, "CTAP2_ERR_NO_CREDENTIALS");
}

/// §11.2.9.1: a message left unfinished gets ERR_MSG_TIMEOUT on its channel
/// when its time is up, with no further report from the host.
#[test]
fn an_unfinished_message_times_out_without_another_report() {
    use keyhaven_authenticator::ctaphid::{serve, TRANSACTION_TIMEOUT};
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let (mut host, mut dev_end) = std::os::unix::net::UnixStream::pair().unwrap();
    std::thread::spawn(move || {
        let mut d = device();
        let _ = serve(&mut d, &mut dev_end);
    });
    let read = |host: &mut std::os::unix::net::UnixStream| {
        let mut r = [0u8; REPORT];
        host.read_exact(&mut r).unwrap();
        r
    };
    host.write_all(&init_report(0xffff_ffff, cmd::INIT, 8, &[7; 8]))
        .unwrap();
    let init = read(&mut host);
    let cid = u32::from_be_bytes(init[15..19].try_into().unwrap());
    // The first of three reports of a PING, and then nothing.
    let sent = Instant::now();
    host.write_all(&init_report(cid, cmd::PING, 150, &[1; 57]))
        .unwrap();
    host.set_read_timeout(Some(TRANSACTION_TIMEOUT * 2))
        .unwrap();
    let r = read(&mut host);
    let waited = sent.elapsed();
    assert_eq!(u32::from_be_bytes(r[..4].try_into().unwrap()), cid);
    assert_eq!((r[4], r[7]), (0x80 | cmd::ERROR, err::MSG_TIMEOUT));
    assert!(
        waited >= TRANSACTION_TIMEOUT - Duration::from_millis(50),
        "not before its time: {waited:?}"
    );
    // The channel works again afterwards.
    host.write_all(&init_report(cid, cmd::PING, 1, &[9]))
        .unwrap();
    let r = read(&mut host);
    assert_eq!((r[4], r[7]), (0x80 | cmd::PING, 9));
}
