// Same measurement as the 0.17 program, written against the 0.21 API: two in-process peers,
// unordered/no-retransmit channel, 50 x 100 B at 20 ms, relay acceptance wait 0.
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy, SettingEngineBuilder,
};
use webrtc::data_channel::RTCDataChannelInit;

struct H {
    gathered: mpsc::Sender<()>,
    echo: bool,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for H {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.try_send(());
        }
    }
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        if !self.echo {
            return;
        }
        tokio::spawn(async move {
            while let Some(event) = dc.poll().await {
                if let DataChannelEvent::OnMessage(m) = event {
                    let _ = dc.send(BytesMut::from(&m.data[..])).await;
                }
            }
        });
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let server = &args[1];
    let relay = args[2] == "relay";
    let make = |echo: bool| {
        let server = server.clone();
        async move {
            let (gtx, grx) = mpsc::channel(1);
            let se = SettingEngineBuilder::new()
                .with_relay_acceptance_min_wait(Some(Duration::ZERO))
                .with_include_loopback_candidate(true)
                .build();
            let config = RTCConfigurationBuilder::new()
                .with_ice_servers(vec![RTCIceServer {
                    urls: vec![format!("turn:{server}?transport=udp")],
                    username: "u".into(),
                    credential: "p".into(),
                }])
                .with_ice_transport_policy(if relay { RTCIceTransportPolicy::Relay } else { RTCIceTransportPolicy::All })
                .build();
            let pc = PeerConnectionBuilder::new()
                .with_configuration(config)
                .with_setting_engine(se)
                .with_handler(Arc::new(H { gathered: gtx, echo }))
                .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
                .build()
                .await
                .unwrap();
            (pc, grx)
        }
    };
    let (a, mut ga) = make(false).await;
    let (b, mut gb) = make(true).await;
    let init = RTCDataChannelInit { ordered: false, max_retransmits: Some(0), ..Default::default() };
    let dc = a.create_data_channel("p", Some(init)).await.unwrap();
    let start = Instant::now();
    let offer = a.create_offer(None).await.unwrap();
    a.set_local_description(offer).await.unwrap();
    ga.recv().await;
    b.set_remote_description(a.local_description().await.unwrap()).await.unwrap();
    let answer = b.create_answer(None).await.unwrap();
    b.set_local_description(answer).await.unwrap();
    gb.recv().await;
    a.set_remote_description(b.local_description().await.unwrap()).await.unwrap();
    let (etx, mut erx) = mpsc::channel::<()>(1024);
    let (otx, mut orx) = mpsc::channel::<()>(1);
    let reader = dc.clone();
    tokio::spawn(async move {
        while let Some(event) = reader.poll().await {
            match event {
                DataChannelEvent::OnOpen => { let _ = otx.try_send(()); }
                DataChannelEvent::OnMessage(_) => { let _ = etx.try_send(()); }
                _ => {}
            }
        }
    });
    orx.recv().await;
    let open = start.elapsed();
    let mut rtts = Vec::new();
    for i in 0..50u32 {
        let mut msg = vec![0u8; 100];
        msg[..4].copy_from_slice(&i.to_be_bytes());
        let t = Instant::now();
        dc.send(BytesMut::from(&msg[..])).await.unwrap();
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
