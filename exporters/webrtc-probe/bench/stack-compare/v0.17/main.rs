// Measures relayed and host data-channel echo RTT with the webrtc crate version this is built
// against: two in-process peers, unordered/no-retransmit channel, 50 x 100 B at 20 ms.
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::data_channel::data_channel_init::RTCDataChannelInit;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::policy::ice_transport_policy::RTCIceTransportPolicy;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let server = &args[1];
    let relay = args[2] == "relay";
    let mut s = SettingEngine::default();
    s.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    s.set_include_loopback_candidate(true);
    s.set_relay_acceptance_min_wait(Some(Duration::ZERO));
    let api = APIBuilder::new().with_setting_engine(s).build();
    let config = RTCConfiguration {
        ice_servers: vec![RTCIceServer {
            urls: vec![format!("turn:{server}?transport=udp")],
            username: "u".into(),
            credential: "p".into(),
            ..Default::default()
        }],
        ice_transport_policy: if relay { RTCIceTransportPolicy::Relay } else { RTCIceTransportPolicy::All },
        ..Default::default()
    };
    let a = Arc::new(api.new_peer_connection(config.clone()).await.unwrap());
    let b = Arc::new(api.new_peer_connection(config).await.unwrap());
    b.on_data_channel(Box::new(|dc| {
        let w = Arc::downgrade(&dc);
        dc.on_message(Box::new(move |m| {
            let w = w.clone();
            Box::pin(async move { if let Some(dc) = w.upgrade() { let _ = dc.send(&m.data).await; } })
        }));
        Box::pin(async {})
    }));
    let init = RTCDataChannelInit { ordered: Some(false), max_retransmits: Some(0), ..Default::default() };
    let dc = a.create_data_channel("p", Some(init)).await.unwrap();
    let (otx, mut orx) = mpsc::channel(1);
    dc.on_open(Box::new(move || { let _ = otx.try_send(()); Box::pin(async {}) }));
    let (etx, mut erx) = mpsc::channel::<Bytes>(1024);
    dc.on_message(Box::new(move |m| { let _ = etx.try_send(m.data); Box::pin(async {}) }));
    let start = Instant::now();
    let offer = a.create_offer(None).await.unwrap();
    let mut g = a.gathering_complete_promise().await;
    a.set_local_description(offer).await.unwrap();
    g.recv().await;
    b.set_remote_description(a.local_description().await.unwrap()).await.unwrap();
    let answer = b.create_answer(None).await.unwrap();
    let mut g = b.gathering_complete_promise().await;
    b.set_local_description(answer).await.unwrap();
    g.recv().await;
    a.set_remote_description(b.local_description().await.unwrap()).await.unwrap();
    orx.recv().await;
    let open = start.elapsed();
    let mut rtts = Vec::new();
    for i in 0..50u32 {
        let mut msg = vec![0u8; 100];
        msg[..4].copy_from_slice(&i.to_be_bytes());
        let t = Instant::now();
        dc.send(&Bytes::from(msg)).await.unwrap();
        if tokio::time::timeout(Duration::from_millis(500), erx.recv()).await.is_ok() {
            rtts.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rtts.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let mean: f64 = rtts.iter().sum::<f64>() / rtts.len().max(1) as f64;
    println!(
        "mode={} open_ms={:.1} received={} rtt_mean_ms={:.3} rtt_median_ms={:.3}",
        args[2], open.as_secs_f64() * 1000.0, rtts.len(), mean, rtts.get(rtts.len() / 2).copied().unwrap_or(f64::NAN)
    );
    let _ = a.close().await;
    let _ = b.close().await;
}
