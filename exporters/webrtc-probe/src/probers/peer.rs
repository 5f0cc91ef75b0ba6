//! The `peer` prober: two peer connections in this process, offer and answer exchanged in
//! memory, ICE through the target STUN/TURN server, then a fixed-rate stream over an
//! unordered data channel without retransmissions, echoed by the answering peer.
//!
//! # Why webrtc 0.17
//! Measured with `bench/stack-compare/` on loopback through coturn 4.6.1 (table in the README,
//! "Choice of WebRTC stack"): 0.17.2 relays a data-channel echo in 0.5 to 0.7 ms (median), like
//! coturn's own `turnutils_uclient`, and opens the channel in 5 ms; 0.21.1 took 180 to 220 ms
//! per relayed echo and 4 s to open, so its figures would be the library's, not the network's. 0.17 leaves candidate-pair RTT empty, so the round trip is measured here with
//! application-level echoes. The relay acceptance wait is set to zero: a probe has no better
//! pair to wait for.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use exporter_kit::ProbeContext;
use prometheus_client::encoding::EncodeLabelSet;
use tokio::sync::{mpsc, watch};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::data_channel::data_channel_init::RTCDataChannelInit;
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice_transport::ice_connection_state::RTCIceConnectionState;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::policy::ice_transport_policy::RTCIceTransportPolicy;
use webrtc::peer_connection::RTCPeerConnection;

use crate::config::{IcePolicy, Module};
use crate::credentials;
use crate::names::{self, stage};
use crate::probe::{self, Deadline, Failure};
use crate::stream::{self, Echo};
use crate::target;

/// Echoes queued for the prober; the stream never has more in flight than it sends.
const ECHO_QUEUE: usize = 1024;
/// The longest closing the two peer connections may take.
const CLOSE_WAIT: Duration = Duration::from_millis(500);

pub(super) async fn probe(
    module: &Module,
    target: &str,
    ctx: &mut ProbeContext,
    deadline: Deadline,
) -> Result<(), Failure> {
    let (_, server) = target::locate(target, module.preferred_ip_protocol, deadline, ctx).await?;
    let config = rtc_configuration(module, server)?;
    let api = api();
    let offerer = Peer::new(&api, config.clone()).await?;
    let answerer = Peer::new(&api, config).await?;
    let outcome = connect_and_measure(module, &offerer, &answerer, deadline, ctx).await;
    let wait = CLOSE_WAIT.min(deadline.remaining());
    let _ = tokio::time::timeout(wait, async {
        let _ = offerer.pc.close().await;
        let _ = answerer.pc.close().await;
    })
    .await;
    outcome
}

/// The API every `peer` probe builds its connections with.
pub(crate) fn api() -> API {
    APIBuilder::new().with_setting_engine(settings()).build()
}

/// The ICE settings of every probe: no mDNS, loopback candidates allowed (a probe may well
/// run next to its server), and no wait before accepting a relay pair.
pub(crate) fn settings() -> SettingEngine {
    let mut settings = SettingEngine::default();
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    settings.set_include_loopback_candidate(true);
    settings.set_relay_acceptance_min_wait(Some(Duration::ZERO));
    settings.set_srflx_acceptance_min_wait(Some(Duration::ZERO));
    settings.set_host_acceptance_min_wait(Some(Duration::ZERO));
    settings.set_prflx_acceptance_min_wait(Some(Duration::ZERO));
    settings
}

/// STUN always, TURN over UDP when credentials are configured; IP literals, so the ICE agent
/// never resolves a name without a timeout.
fn rtc_configuration(module: &Module, server: SocketAddr) -> Result<RTCConfiguration, Failure> {
    let mut ice_servers = vec![RTCIceServer {
        urls: vec![format!("stun:{server}")],
        ..RTCIceServer::default()
    }];
    if let Some(turn) = &module.turn {
        let credentials = credentials::for_probe(turn, SystemTime::now())?;
        ice_servers.push(RTCIceServer {
            urls: vec![format!("turn:{server}?transport=udp")],
            username: credentials.username,
            credential: credentials.password,
        });
    }
    let ice_transport_policy = match module.peer.ice_transport_policy {
        IcePolicy::All => RTCIceTransportPolicy::All,
        IcePolicy::Relay => RTCIceTransportPolicy::Relay,
    };
    Ok(RTCConfiguration {
        ice_servers,
        ice_transport_policy,
        ..RTCConfiguration::default()
    })
}

/// One peer connection with its states watched.
pub(crate) struct Peer {
    pub pc: Arc<RTCPeerConnection>,
    pub ice: watch::Receiver<RTCIceConnectionState>,
    pub state: watch::Receiver<RTCPeerConnectionState>,
}

impl Peer {
    pub async fn new(api: &API, config: RTCConfiguration) -> Result<Peer, Failure> {
        let pc = api
            .new_peer_connection(config)
            .await
            .map_err(|e| Failure::new(stage::SETUP, format!("peer connection: {e}")))?;
        let (ice_tx, ice) = watch::channel(RTCIceConnectionState::New);
        pc.on_ice_connection_state_change(Box::new(move |state| {
            let _ = ice_tx.send(state);
            Box::pin(async {})
        }));
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        pc.on_peer_connection_state_change(Box::new(move |s| {
            let _ = state_tx.send(s);
            Box::pin(async {})
        }));
        Ok(Peer {
            pc: Arc::new(pc),
            ice,
            state,
        })
    }

    /// Sets the local description from an offer or answer and waits for gathering to end;
    /// returns how long gathering took.
    pub async fn describe(&self, offer: bool, deadline: Deadline) -> Result<Duration, Failure> {
        let failed = |e: webrtc::Error| Failure::new(stage::SETUP, format!("negotiation: {e}"));
        let description = if offer {
            self.pc.create_offer(None).await.map_err(failed)?
        } else {
            self.pc.create_answer(None).await.map_err(failed)?
        };
        let mut gathered = self.pc.gathering_complete_promise().await;
        let started = Instant::now();
        self.pc
            .set_local_description(description)
            .await
            .map_err(failed)?;
        deadline.within(stage::GATHERING, gathered.recv()).await?;
        Ok(started.elapsed())
    }

    /// Waits until the ICE state is connected (or completed); fails on failure or close.
    pub async fn ice_connected(&mut self, deadline: Deadline) -> Result<(), Failure> {
        use RTCIceConnectionState::{Closed, Completed, Connected, Failed};
        let reached = self
            .ice
            .wait_for(|s| matches!(s, Connected | Completed | Failed | Closed));
        let state = *deadline
            .within(stage::ICE, reached)
            .await?
            .map_err(|_| Failure::new(stage::ICE, "peer connection gone"))?;
        match state {
            Connected | Completed => Ok(()),
            other => Err(Failure::new(stage::ICE, format!("ICE {other}"))),
        }
    }

    /// Waits until the connection (DTLS included) is connected.
    pub async fn dtls_connected(&mut self, deadline: Deadline) -> Result<(), Failure> {
        use RTCPeerConnectionState::{Closed, Connected, Failed};
        let reached = self
            .state
            .wait_for(|s| matches!(s, Connected | Failed | Closed));
        let state = *deadline
            .within(stage::DTLS, reached)
            .await?
            .map_err(|_| Failure::new(stage::DTLS, "peer connection gone"))?;
        match state {
            Connected => Ok(()),
            other => Err(Failure::new(stage::DTLS, format!("connection {other}"))),
        }
    }

    /// The selected pair: local type, remote type, and the relay protocol ("" if not relayed).
    pub async fn selected_pair(&self) -> Option<PairLabels> {
        let pair = self
            .pc
            .sctp()
            .transport()
            .ice_transport()
            .get_selected_candidate_pair()
            .await?;
        let local_type = pair.local.typ.to_string();
        let relayed = local_type == "relay" || pair.remote.typ.to_string() == "relay";
        Some(PairLabels {
            local_type,
            remote_type: pair.remote.typ.to_string(),
            // The webrtc crate allocates TURN relays over UDP only.
            relay_protocol: if relayed { "udp" } else { "" }.to_string(),
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PairLabels {
    local_type: String,
    remote_type: String,
    relay_protocol: String,
}

async fn connect_and_measure(
    module: &Module,
    offerer: &Peer,
    answerer: &Peer,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(), Failure> {
    let started = Instant::now();
    answer_with_echo(answerer);
    let (channel, mut opened, echoes) = open_channel(offerer).await?;
    let gathering = offerer.describe(true, deadline).await?;
    let help = "Time to gather ICE candidates";
    probe::gauge(ctx, names::ICE_GATHERING, help, probe::seconds(gathering));
    if module.peer.ice_transport_policy == IcePolicy::Relay && !has_relay_candidate(offerer).await {
        let reason = "no relay candidate gathered (the TURN allocation failed)";
        return Err(Failure::new(stage::GATHERING, reason));
    }
    exchange(offerer, answerer, deadline).await?;

    let mut offerer_watch = Peer {
        pc: offerer.pc.clone(),
        ice: offerer.ice.clone(),
        state: offerer.state.clone(),
    };
    offerer_watch.ice_connected(deadline).await?;
    let help = "Time from the offer to ICE connected";
    probe::gauge(
        ctx,
        names::ICE_CONNECTED,
        help,
        probe::seconds(started.elapsed()),
    );
    offerer_watch.dtls_connected(deadline).await?;
    let help = "Time from the offer to DTLS connected";
    probe::gauge(
        ctx,
        names::DTLS_CONNECTED,
        help,
        probe::seconds(started.elapsed()),
    );
    deadline
        .within(stage::DATA_CHANNEL, opened.recv())
        .await?
        .ok_or_else(|| Failure::new(stage::DATA_CHANNEL, "data channel closed"))?;
    let help = "Time from the offer to the data channel open";
    probe::gauge(
        ctx,
        names::DATA_CHANNEL_OPEN,
        help,
        probe::seconds(started.elapsed()),
    );
    if let Some(pair) = offerer.selected_pair().await {
        ctx.log(format!("selected pair {pair:?}"));
        let help = "The selected ICE candidate pair (1)";
        probe::gauges(ctx, names::SELECTED_PAIR, help, &[(pair, 1.0)]);
    }

    let mut path = ChannelPath { channel, echoes };
    let measured = stream::measure(&mut path, &module.stream, deadline).await;
    let samples = measured.map_err(|e| Failure::new(stage::STREAM, e))?;
    stream::conclude(ctx, &samples, stage::STREAM, "over the data channel", true)
}

pub(crate) async fn has_relay_candidate(peer: &Peer) -> bool {
    let offer = peer.pc.local_description().await;
    offer.is_some_and(|o| o.sdp.contains(" typ relay"))
}

/// Hands the answerer's description to the offerer; the offerer's was given first.
async fn exchange(offerer: &Peer, answerer: &Peer, deadline: Deadline) -> Result<(), Failure> {
    let failed = |e: webrtc::Error| Failure::new(stage::SETUP, format!("negotiation: {e}"));
    let offer = offerer.pc.local_description().await;
    let offer = offer.ok_or_else(|| Failure::new(stage::SETUP, "no offer"))?;
    answerer
        .pc
        .set_remote_description(offer)
        .await
        .map_err(failed)?;
    answerer.describe(false, deadline).await?;
    let answer = answerer.pc.local_description().await;
    let answer = answer.ok_or_else(|| Failure::new(stage::SETUP, "no answer"))?;
    offerer
        .pc
        .set_remote_description(answer)
        .await
        .map_err(failed)
}

type Opened = (
    Arc<RTCDataChannel>,
    mpsc::Receiver<()>,
    mpsc::Receiver<Bytes>,
);

/// The offerer's unordered channel without retransmissions, with its open signal and echoes.
async fn open_channel(offerer: &Peer) -> Result<Opened, Failure> {
    let init = RTCDataChannelInit {
        ordered: Some(false),
        max_retransmits: Some(0),
        ..RTCDataChannelInit::default()
    };
    let channel = offerer
        .pc
        .create_data_channel("probe", Some(init))
        .await
        .map_err(|e| Failure::new(stage::SETUP, format!("data channel: {e}")))?;
    let (open_tx, opened) = mpsc::channel(1);
    channel.on_open(Box::new(move || {
        let _ = open_tx.try_send(());
        Box::pin(async {})
    }));
    let (echo_tx, echoes) = mpsc::channel(ECHO_QUEUE);
    channel.on_message(Box::new(move |message| {
        let _ = echo_tx.try_send(message.data);
        Box::pin(async {})
    }));
    Ok((channel, opened, echoes))
}

/// The answerer sends every message back on the channel it came on.
fn answer_with_echo(answerer: &Peer) {
    answerer
        .pc
        .on_data_channel(Box::new(|channel: Arc<RTCDataChannel>| {
            // A weak handle: the handler lives inside the channel and must not keep it alive.
            let weak: Weak<RTCDataChannel> = Arc::downgrade(&channel);
            channel.on_message(Box::new(move |message| {
                let weak = weak.clone();
                Box::pin(async move {
                    if let Some(channel) = weak.upgrade() {
                        let _ = channel.send(&message.data).await;
                    }
                })
            }));
            Box::pin(async {})
        }));
}

/// The offerer's side of the stream.
struct ChannelPath {
    channel: Arc<RTCDataChannel>,
    echoes: mpsc::Receiver<Bytes>,
}

impl Echo for ChannelPath {
    async fn send(&mut self, message: Vec<u8>) -> io::Result<()> {
        self.channel
            .send(&Bytes::from(message))
            .await
            .map(|_| ())
            .map_err(|e| io::Error::other(e.to_string()))
    }

    async fn recv(&mut self) -> io::Result<Vec<u8>> {
        match self.echoes.recv().await {
            Some(data) => Ok(data.to_vec()),
            None => Err(io::Error::other("data channel closed")),
        }
    }
}
