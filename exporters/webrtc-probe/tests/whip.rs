//! The `whip` prober against a small WHIP endpoint built here: axum in front of a `webrtc`
//! answering peer, with a bearer token, `Location` sessions and `Link` ice-server headers that
//! point at a real coturn.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::Router;
use common::{Auth, Coturn, PASSWORD, USER};
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

const TOKEN: &str = "whip-token-123";

#[derive(Default)]
struct Endpoint {
    /// The `Link` header of every 201, if any.
    link: Option<String>,
    sessions: Mutex<HashMap<usize, Arc<RTCPeerConnection>>>,
    next: AtomicUsize,
    deleted: AtomicUsize,
}

async fn ingest(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if authorized != Some(&format!("Bearer {TOKEN}")) {
        return (StatusCode::UNAUTHORIZED, "bad token").into_response();
    }
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/sdp")
    {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let mut media = MediaEngine::default();
    media.register_default_codecs().unwrap();
    // Loopback candidates too: the probe's relay is on 127.0.0.1.
    let mut settings = SettingEngine::default();
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    settings.set_include_loopback_candidate(true);
    let api = APIBuilder::new()
        .with_media_engine(media)
        .with_setting_engine(settings)
        .build();
    let pc = Arc::new(
        api.new_peer_connection(RTCConfiguration::default())
            .await
            .unwrap(),
    );
    let Ok(offer) = RTCSessionDescription::offer(body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if pc.set_remote_description(offer).await.is_err() {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let answer = pc.create_answer(None).await.unwrap();
    let mut gathered = pc.gathering_complete_promise().await;
    pc.set_local_description(answer).await.unwrap();
    let _ = gathered.recv().await;
    let sdp = pc.local_description().await.unwrap().sdp;
    let id = endpoint.next.fetch_add(1, Ordering::Relaxed);
    endpoint.sessions.lock().unwrap().insert(id, pc);
    let headers = [
        (header::CONTENT_TYPE, "application/sdp".to_string()),
        (header::LOCATION, format!("/whip/session/{id}")),
    ];
    let mut response = (StatusCode::CREATED, headers, sdp).into_response();
    if let Some(link) = &endpoint.link {
        let value = link.parse().unwrap();
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

async fn teardown(State(endpoint): State<Arc<Endpoint>>, Path(id): Path<usize>) -> StatusCode {
    let found = endpoint.sessions.lock().unwrap().remove(&id);
    match found {
        Some(pc) => {
            let _ = pc.close().await;
            endpoint.deleted.fetch_add(1, Ordering::Relaxed);
            StatusCode::OK
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// Serves the endpoint, announcing `link`, on a free loopback port from a thread of its own.
fn start_endpoint(link: Option<String>) -> (String, Arc<Endpoint>) {
    let endpoint = Arc::new(Endpoint {
        link,
        ..Endpoint::default()
    });
    let state = endpoint.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = Router::new()
                .route("/whip", post(ingest))
                .route("/whip/session/{id}", delete(teardown))
                .with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    let address = rx.recv().unwrap();
    (format!("http://{address}/whip"), endpoint)
}

const CONFIG: &str = "
modules:
  whip:
    prober: whip
    timeout: 10s
    whip: {bearer_token: whip-token-123}
  whip_relay:
    prober: whip
    timeout: 10s
    peer: {ice_transport_policy: relay}
    whip: {bearer_token: whip-token-123}
  whip_wrong_token:
    prober: whip
    timeout: 10s
    whip: {bearer_token: not-the-token}
";

/// The Link header announcing `coturn` as a TURN server with the test's credentials.
fn turn_link(coturn: &Coturn) -> String {
    format!(
        "<turn:{}?transport=udp>; rel=\"ice-server\"; username=\"{USER}\"; \
         credential=\"{PASSWORD}\"; credential-type=\"password\"",
        coturn.address()
    )
}

fn debug_page(
    exporter: &exporter_kit::testing::RunningExporter,
    module: &str,
    url: &str,
) -> String {
    let debug = exporter.url(&format!("/probe?module={module}&target={url}&debug=true"));
    exporter_kit::testing::get(&debug).1
}

#[test]
fn a_whip_session_is_created_connected_and_deleted() {
    let coturn = Coturn::start(Auth::LongTerm);
    let link = format!("<stun:{}>; rel=\"ice-server\"", coturn.address());
    let (url, endpoint) = start_endpoint(Some(link));
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    let (text, _) = common::probe(&exporter, "whip", &url);
    assert_eq!(common::value(&text, "probe_success"), 1.0, "{text}");
    assert_eq!(
        common::value(&text, "webrtc_probe_whip_post_status_code"),
        201.0
    );
    assert_eq!(
        common::value(&text, "webrtc_probe_whip_delete_status_code"),
        200.0
    );
    assert_eq!(common::value(&text, "webrtc_probe_whip_ice_servers"), 1.0);
    let connected = common::value(&text, "webrtc_probe_dtls_connected_seconds");
    assert!(connected > 0.0 && connected < 5.0, "{text}");
    assert_eq!(endpoint.deleted.load(Ordering::Relaxed), 1);
    assert!(endpoint.sessions.lock().unwrap().is_empty());
}

#[test]
fn the_turn_server_of_the_link_header_relays_the_session() {
    let coturn = Coturn::start(Auth::LongTerm);
    let (url, endpoint) = start_endpoint(Some(turn_link(&coturn)));
    let dir = tempfile::tempdir().unwrap();
    // The module names no TURN server: a relay can only come from the Link header.
    let exporter = common::exporter(dir.path(), CONFIG);
    let (text, _) = common::probe(&exporter, "whip_relay", &url);
    assert_eq!(common::value(&text, "probe_success"), 1.0, "{text}");
    let relayed = "webrtc_probe_selected_candidate_pair_info{local_type=\"relay\",\
                   remote_type=\"host\",relay_protocol=\"udp\"}";
    assert_eq!(common::value(&text, relayed), 1.0, "{text}");
    assert_eq!(endpoint.deleted.load(Ordering::Relaxed), 1);

    let page = debug_page(&exporter, "whip_relay", &url);
    assert!(page.contains("using ice server turn:127.0.0.1"), "{page}");
    let logs = exporter.logs();
    assert!(
        !page.contains(PASSWORD) && !logs.contains(PASSWORD),
        "{page}\n{logs}"
    );
}

#[test]
fn without_the_link_header_a_relay_only_session_has_no_candidate() {
    let (url, endpoint) = start_endpoint(None);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    let (text, _) = common::probe(&exporter, "whip_relay", &url);
    common::assert_failed_at(&text, "ice_gathering");
    assert_eq!(common::value(&text, "webrtc_probe_whip_ice_servers"), 0.0);
    assert_eq!(endpoint.deleted.load(Ordering::Relaxed), 1);
}

#[test]
fn a_malformed_link_header_fails_the_probe_and_the_session_is_still_deleted() {
    let link = format!("<turn:127.0.0.1:3478; rel=\"ice-server\"; credential=\"{PASSWORD}\"");
    let (url, endpoint) = start_endpoint(Some(link));
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    let (text, _) = common::probe(&exporter, "whip", &url);
    common::assert_failed_at(&text, "whip_post");
    assert_eq!(endpoint.deleted.load(Ordering::Relaxed), 1);

    let page = debug_page(&exporter, "whip", &url);
    assert!(
        page.contains("malformed Link header: expected '>' closing the URI at byte 21"),
        "{page}"
    );
    assert!(!page.contains(PASSWORD), "{page}");
    let (status, _) = exporter_kit::testing::get(&exporter.url("/-/healthy"));
    assert_eq!(status, 200);
}

#[test]
fn a_refused_token_fails_at_the_post_and_never_shows() {
    let (url, _endpoint) = start_endpoint(None);
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    let (text, _) = common::probe(&exporter, "whip_wrong_token", &url);
    common::assert_failed_at(&text, "whip_post");
    assert_eq!(
        common::value(&text, "webrtc_probe_whip_post_status_code"),
        401.0
    );
    let page = debug_page(&exporter, "whip_wrong_token", &url);
    assert!(
        !page.contains("not-the-token") && !page.contains(TOKEN),
        "{page}"
    );
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

#[test]
fn repeated_relayed_whip_probes_leave_no_sockets_open() {
    let coturn = Coturn::start(Auth::LongTerm);
    let (url, endpoint) = start_endpoint(Some(turn_link(&coturn)));
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::exporter(dir.path(), CONFIG);
    let run = |count: usize| {
        for _ in 0..count {
            let (text, _) = common::probe(&exporter, "whip_relay", &url);
            assert_eq!(common::value(&text, "probe_success"), 1.0, "{text}");
        }
    };
    run(10);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = open_fds(exporter.pid());
    run(50);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after = open_fds(exporter.pid());
    assert!(after <= before + 2, "fds {before} -> {after}");
    assert_eq!(endpoint.deleted.load(Ordering::Relaxed), 60);
}
