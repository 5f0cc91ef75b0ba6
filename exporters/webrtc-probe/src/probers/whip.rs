//! The `whip` prober (RFC 9725): POST an SDP offer with one send-only audio track, expect
//! `201 Created` with a `Location`, complete ICE and DTLS with the answer through the ICE
//! servers the endpoint announced in its `Link: rel="ice-server"` headers, then DELETE the
//! session. The target is the endpoint URL.
//!
//! # Why two peer connections
//! The announced servers come with the answer, but the webrtc crate 0.17 fixes the ICE servers
//! of a connection when it is made: `set_configuration` changes the stored configuration, not
//! the servers its gatherer uses. So a first connection only writes the offer, without
//! gathering and so without candidates, which a WHIP endpoint accepts. After the POST a second
//! connection, with the same ICE credentials and DTLS certificate (so the offer is still its
//! own) and with the announced servers, gathers, takes the answer and connects. The endpoint's
//! candidates are all in its answer, and it learns ours as peer-reflexive candidates from our
//! connectivity checks, so no trickle PATCH is needed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use exporter_kit::ProbeContext;
use rand::distributions::Alphanumeric;
use rand::Rng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LINK, LOCATION};
use reqwest::{StatusCode, Url};
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::ice::url::{ProtoType, SchemeType, Url as IceUrl};
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::certificate::RTCCertificate;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::policy::ice_transport_policy::RTCIceTransportPolicy;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::rtp_transceiver::rtp_codec::RTCRtpCodecCapability;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use super::peer::{self, Peer};
use crate::config::{IcePolicy, IpProtocol, Module};
use crate::credentials;
use crate::link::{self, IceServerLink, LinkError};
use crate::names::{self, stage};
use crate::probe::{self, Deadline, Failure};

/// The longest closing a peer connection may take.
const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// How long the probe's DTLS certificate is valid; it lives for one probe.
const CERTIFICATE_LIFETIME: Duration = Duration::from_secs(24 * 3600);

pub(super) async fn probe(
    module: &Module,
    target: &str,
    ctx: &mut ProbeContext,
    deadline: Deadline,
) -> Result<(), Failure> {
    let endpoint = Url::parse(target)
        .map_err(|e| Failure::new(stage::SETUP, format!("target is not a URL: {e}")))?;
    let token = bearer_token(module)?;
    let http = http_client(module)?;
    let identity = Identity::generate()?;
    let offer = offer_without_candidates(&identity, deadline).await?;

    let started = Instant::now();
    let session = post(&http, &endpoint, token.as_deref(), offer, deadline, ctx).await?;
    // The endpoint holds a session from here on: it is released whether or not the media
    // path comes up.
    let connected = connect(module, &identity, &session, started, deadline, ctx).await;
    let deleted = delete(&http, &session.location, token.as_deref(), deadline, ctx).await;
    connected.and(deleted)
}

/// What the endpoint's `201 Created` gave.
struct Session {
    location: Url,
    answer: String,
    links: Result<Vec<IceServerLink>, LinkError>,
}

/// What the two peer connections share, so that the second one owns the first one's offer.
struct Identity {
    certificate: RTCCertificate,
    ufrag: String,
    pwd: String,
}

impl Identity {
    fn generate() -> Result<Identity, Failure> {
        let names = vec!["webrtc-probe".to_string()];
        let certificate = webrtc::dtls::crypto::Certificate::generate_self_signed(names)
            .map_err(|e| Failure::new(stage::SETUP, format!("DTLS certificate: {e}")))?;
        let expires = SystemTime::now() + CERTIFICATE_LIFETIME;
        Ok(Identity {
            certificate: RTCCertificate::from_existing(certificate, expires),
            ufrag: random_ice_chars(16),
            pwd: random_ice_chars(32),
        })
    }

    /// The probe's ICE settings with these ICE credentials, and the default codecs.
    fn api(&self) -> Result<API, Failure> {
        let mut media = MediaEngine::default();
        media
            .register_default_codecs()
            .map_err(|e| Failure::new(stage::SETUP, format!("codecs: {e}")))?;
        let mut settings = peer::settings();
        settings.set_ice_credentials(self.ufrag.clone(), self.pwd.clone());
        Ok(APIBuilder::new()
            .with_media_engine(media)
            .with_setting_engine(settings)
            .build())
    }

    fn configuration(
        &self,
        ice_servers: Vec<RTCIceServer>,
        ice_transport_policy: RTCIceTransportPolicy,
    ) -> RTCConfiguration {
        RTCConfiguration {
            ice_servers,
            ice_transport_policy,
            certificates: vec![self.certificate.clone()],
            ..RTCConfiguration::default()
        }
    }
}

/// ICE ufrag and password characters (RFC 8839 `ice-char`, alphanumerics here).
fn random_ice_chars(length: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

/// The offer of a connection that never gathers: ICE credentials, fingerprint, one track.
async fn offer_without_candidates(
    identity: &Identity,
    deadline: Deadline,
) -> Result<String, Failure> {
    let config = identity.configuration(Vec::new(), RTCIceTransportPolicy::All);
    let writer = sending_peer(&identity.api()?, config).await?;
    let offer = writer.pc.create_offer(None).await;
    let _ = tokio::time::timeout(CLOSE_WAIT.min(deadline.remaining()), writer.pc.close()).await;
    offer
        .map(|o| o.sdp)
        .map_err(|e| Failure::new(stage::SETUP, format!("offer: {e}")))
}

/// Brings the media path up with the connection that uses the announced ICE servers.
async fn connect(
    module: &Module,
    identity: &Identity,
    session: &Session,
    started: Instant,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(), Failure> {
    let links = session
        .links
        .as_ref()
        .map_err(|e| Failure::new(stage::WHIP_POST, format!("malformed Link header: {e}")))?;
    let help = "ICE servers the endpoint announced in Link headers";
    probe::gauge(ctx, names::WHIP_ICE_SERVERS, help, links.len() as f64);
    let servers = ice_servers(links, module.preferred_ip_protocol, deadline, ctx).await?;
    let policy = match module.peer.ice_transport_policy {
        IcePolicy::All => RTCIceTransportPolicy::All,
        IcePolicy::Relay => RTCIceTransportPolicy::Relay,
    };
    let config = identity.configuration(servers, policy);
    let mut peer = sending_peer(&identity.api()?, config).await?;
    let outcome = complete(module, &mut peer, &session.answer, started, deadline, ctx).await;
    let _ = tokio::time::timeout(CLOSE_WAIT.min(deadline.remaining()), peer.pc.close()).await;
    outcome
}

/// Gathers, applies the answer and waits for ICE and DTLS.
async fn complete(
    module: &Module,
    peer: &mut Peer,
    answer: &str,
    started: Instant,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(), Failure> {
    let gathering = peer.describe(true, deadline).await?;
    let help = "Time to gather ICE candidates";
    probe::gauge(ctx, names::ICE_GATHERING, help, probe::seconds(gathering));
    if module.peer.ice_transport_policy == IcePolicy::Relay
        && !peer::has_relay_candidate(peer).await
    {
        let reason = "no relay candidate gathered (no usable TURN server announced, or its \
                      allocation failed)";
        return Err(Failure::new(stage::GATHERING, reason));
    }
    let answer = RTCSessionDescription::answer(answer.to_string())
        .map_err(|e| Failure::new(stage::WHIP_POST, format!("bad SDP answer: {e}")))?;
    peer.pc
        .set_remote_description(answer)
        .await
        .map_err(|e| Failure::new(stage::WHIP_POST, format!("answer refused: {e}")))?;

    peer.ice_connected(deadline).await?;
    let help = "Time from the POST to ICE connected";
    let elapsed = probe::seconds(started.elapsed());
    probe::gauge(ctx, names::ICE_CONNECTED, help, elapsed);
    peer.dtls_connected(deadline).await?;
    let help = "Time from the POST to DTLS connected";
    let elapsed = probe::seconds(started.elapsed());
    probe::gauge(ctx, names::DTLS_CONNECTED, help, elapsed);
    if let Some(pair) = peer.selected_pair().await {
        ctx.log(format!("selected pair {pair:?}"));
        let help = "The selected ICE candidate pair (1)";
        probe::gauges(ctx, names::SELECTED_PAIR, help, &[(pair, 1.0)]);
    }
    Ok(())
}

/// The announced servers as the ICE agent takes them: names resolved here under the deadline
/// (the agent resolves without a timeout), those the agent cannot reach left out.
async fn ice_servers(
    links: &[IceServerLink],
    preferred: IpProtocol,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<Vec<RTCIceServer>, Failure> {
    let mut servers = Vec::new();
    for link in links {
        let bad =
            |e: String| Failure::new(stage::WHIP_POST, format!("ice server {}: {e}", link.url));
        let mut url = IceUrl::parse_url(&link.url).map_err(|e| bad(e.to_string()))?;
        let secure = matches!(url.scheme, SchemeType::Stuns | SchemeType::Turns);
        if secure || url.proto != ProtoType::Udp {
            let why = "the webrtc crate 0.17 reaches STUN and TURN servers over UDP only";
            ctx.log(format!("ice server {} left out: {why}", link.url));
            continue;
        }
        if url.host.parse::<IpAddr>().is_err() {
            let address = resolve(&url.host, url.port, preferred, deadline).await?;
            url.host = address.ip().to_string();
        }
        ctx.log(format!("using ice server {url}"));
        let secret = |s: &Option<exporter_kit::Secret>| {
            s.as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default()
        };
        servers.push(RTCIceServer {
            urls: vec![url.to_string()],
            username: secret(&link.username),
            credential: secret(&link.credential),
        });
    }
    Ok(servers)
}

async fn resolve(
    host: &str,
    port: u16,
    preferred: IpProtocol,
    deadline: Deadline,
) -> Result<SocketAddr, Failure> {
    let lookup = tokio::net::lookup_host((host, port));
    let failed = |e: String| Failure::new(stage::RESOLVE, format!("ice server {host}: {e}"));
    let found: Vec<SocketAddr> = deadline
        .within(stage::RESOLVE, lookup)
        .await?
        .map_err(|e| failed(e.to_string()))?
        .collect();
    let wanted = |a: &&SocketAddr| a.is_ipv4() == (preferred == IpProtocol::Ip4);
    found
        .iter()
        .find(wanted)
        .or_else(|| found.first())
        .copied()
        .ok_or_else(|| failed("the name has no address".into()))
}

/// POSTs the offer; returns the session URL, the SDP answer and the announced ICE servers.
async fn post(
    http: &reqwest::Client,
    endpoint: &Url,
    token: Option<&str>,
    offer: String,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<Session, Failure> {
    let failed = |e: reqwest::Error| Failure::new(stage::WHIP_POST, format!("POST failed: {e}"));
    let mut request = http
        .post(endpoint.clone())
        .header(CONTENT_TYPE, "application/sdp")
        .body(offer);
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let started = Instant::now();
    let response = deadline
        .within(stage::WHIP_POST, request.send())
        .await?
        .map_err(failed)?;
    let status = response.status();
    probe::gauge(
        ctx,
        names::WHIP_POST,
        "Time to the answer of the POST",
        probe::seconds(started.elapsed()),
    );
    let help = "HTTP status of the WHIP POST";
    probe::gauge(
        ctx,
        names::WHIP_POST_STATUS,
        help,
        f64::from(status.as_u16()),
    );
    ctx.log(format!("POST answered {status}"));
    let links = response
        .headers()
        .get_all(LINK)
        .iter()
        .map(|v| v.as_bytes());
    let links = link::ice_servers(links);
    if let Ok(links) = &links {
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        ctx.log(format!("ice servers announced: {urls:?}"));
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| endpoint.join(v).ok());
    if status != StatusCode::CREATED {
        return Err(Failure::new(
            stage::WHIP_POST,
            format!("expected 201 Created, got {status}"),
        ));
    }
    let location =
        location.ok_or_else(|| Failure::new(stage::WHIP_POST, "201 without Location"))?;
    let answer = deadline
        .within(stage::WHIP_POST, response.text())
        .await?
        .map_err(failed)?;
    Ok(Session {
        location,
        answer,
        links,
    })
}

async fn delete(
    http: &reqwest::Client,
    location: &Url,
    token: Option<&str>,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(), Failure> {
    let mut request = http.delete(location.clone());
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = deadline
        .within(stage::WHIP_DELETE, request.send())
        .await?
        .map_err(|e| Failure::new(stage::WHIP_DELETE, format!("DELETE failed: {e}")))?;
    let status = response.status();
    let help = "HTTP status of the WHIP DELETE";
    probe::gauge(
        ctx,
        names::WHIP_DELETE_STATUS,
        help,
        f64::from(status.as_u16()),
    );
    if !status.is_success() {
        return Err(Failure::new(
            stage::WHIP_DELETE,
            format!("DELETE answered {status}"),
        ));
    }
    Ok(())
}

fn bearer_token(module: &Module) -> Result<Option<String>, Failure> {
    if let Some(token) = &module.whip.bearer_token {
        return Ok(Some(token.expose().to_string()));
    }
    module
        .whip
        .bearer_token_file
        .as_deref()
        .map(credentials::read_secret)
        .transpose()
}

fn http_client(module: &Module) -> Result<reqwest::Client, Failure> {
    let tls = crate::tls::client_config(&module.tls).map_err(|e| Failure::new(stage::SETUP, e))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(Arc::unwrap_or_clone(tls))
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| Failure::new(stage::SETUP, format!("HTTP client: {e}")))
}

/// A peer connection with one send-only Opus track, as a WHIP client offers.
async fn sending_peer(api: &API, config: RTCConfiguration) -> Result<Peer, Failure> {
    let peer = Peer::new(api, config).await?;
    let codec = RTCRtpCodecCapability {
        mime_type: "audio/opus".to_string(),
        clock_rate: 48_000,
        channels: 2,
        ..RTCRtpCodecCapability::default()
    };
    let track = Arc::new(TrackLocalStaticSample::new(
        codec,
        "audio".into(),
        "probe".into(),
    ));
    let init = RTCRtpTransceiverInit {
        direction: RTCRtpTransceiverDirection::Sendonly,
        send_encodings: Vec::new(),
    };
    peer.pc
        .add_transceiver_from_track(track, Some(init))
        .await
        .map_err(|e| Failure::new(stage::SETUP, format!("peer connection: {e}")))?;
    Ok(peer)
}
