//! 438 (Stale Nonce) from a real coturn: `--stale-nonce=1` gives each nonce a lifetime of
//! one second, and a TCP proxy in front of coturn holds chosen requests back for longer, as a
//! slow path would, so that they reach coturn with a nonce it has already retired.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::{Auth, Coturn};

/// Longer than a one-second nonce can live: coturn counts whole seconds, so a nonce given at
/// any moment of one second is stale from the start of the second after next.
const HOLD: Duration = Duration::from_millis(2500);

/// Proxies TCP connections to `upstream`, holding back the client's STUN messages whose
/// numbers (from 1, per connection) are in `held` for [`HOLD`]; answers pass at once.
fn slow_proxy(upstream: SocketAddr, held: &'static [usize]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let server = TcpStream::connect(upstream).unwrap();
            let (mut from_server, mut to_client) =
                (server.try_clone().unwrap(), client.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
                let _ = to_client.shutdown(Shutdown::Write);
            });
            std::thread::spawn(move || forward_holding(client, server, held));
        }
    });
    address
}

fn forward_holding(mut client: TcpStream, mut server: TcpStream, held: &[usize]) {
    let mut number = 0;
    while let Some(frame) = read_frame(&mut client) {
        number += 1;
        if held.contains(&number) {
            std::thread::sleep(HOLD);
        }
        if server.write_all(&frame).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

/// One STUN message (20-byte header and its length) or ChannelData frame (4 bytes and its
/// length padded to 4) from a stream.
fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).ok()?;
    let length = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let rest = if head[0] & 0xC0 == 0 {
        16 + length
    } else {
        length.div_ceil(4) * 4
    };
    let mut frame = head.to_vec();
    frame.resize(4 + rest, 0);
    stream.read_exact(&mut frame[4..]).ok()?;
    Some(frame)
}

/// The password is that of `common::PASSWORD`.
const CONFIG: &str = "
modules:
  turn_tcp:
    prober: turn
    transport: tcp
    timeout: 15s
    turn: {username: probe, password: correct-horse}
";

fn coturn() -> Coturn {
    Coturn::start_with(Auth::LongTerm, &["--stale-nonce=1"])
}

#[test]
fn a_stale_nonce_is_renewed_once_and_the_probe_succeeds() {
    let coturn = coturn();
    let upstream: SocketAddr = coturn.address().parse().unwrap();
    // Message 1 is the unauthenticated Allocate (answered 401 with a nonce); message 2, the
    // Allocate with that nonce, arrives after it went stale; the retry passes at once.
    let proxy = slow_proxy(upstream, &[2]);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);

    let (text, _) = common::probe(&exporter, "turn_tcp", &proxy.to_string());
    assert_eq!(common::value(&text, "probe_success"), 1.0, "{text}");
    let allocate = common::value(&text, "webrtc_probe_turn_allocate_seconds");
    assert!(allocate >= HOLD.as_secs_f64(), "{text}");

    let url = format!("/probe?module=turn_tcp&target={proxy}&debug=true");
    let (_, page) = exporter_kit::testing::get(&exporter.url(&url));
    let retried = "allocation: the server answered 438 (Stale Nonce); retried once";
    assert!(page.contains(retried), "{page}");
    assert!(page.contains("probe_success 1"), "{page}");
}

#[test]
fn a_second_stale_nonce_in_a_row_fails_the_allocation_with_438() {
    let coturn = coturn();
    let upstream: SocketAddr = coturn.address().parse().unwrap();
    // The retry with the renewed nonce is held back too, so it is stale again.
    let proxy = slow_proxy(upstream, &[2, 3]);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);

    let (text, took) = common::probe(&exporter, "turn_tcp", &proxy.to_string());
    common::assert_failed_at(&text, "allocate");
    assert_eq!(common::value(&text, "webrtc_probe_turn_error_code"), 438.0);
    assert!(took < Duration::from_secs(10), "{took:?}");

    let url = format!("/probe?module=turn_tcp&target={proxy}&debug=true");
    let (_, page) = exporter_kit::testing::get(&exporter.url(&url));
    assert!(page.contains("error 438 (Stale"), "{page}");
}
