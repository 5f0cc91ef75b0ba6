//! The `whip` prober (RFC 9725): POST an SDP offer with one send-only audio track, expect
//! `201 Created` with a `Location`, complete ICE and DTLS with the answer, then DELETE the
//! session. The target is the endpoint URL.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use exporter_kit::ProbeContext;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, LINK, LOCATION};
use reqwest::{StatusCode, Url};
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::rtp_transceiver::rtp_codec::RTCRtpCodecCapability;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use super::peer::Peer;
use crate::config::Module;
use crate::credentials;
use crate::names::{self, stage};
use crate::probe::{self, Deadline, Failure};

pub fn run<'a>(
    module: &'a Module,
    target: &'a str,
    ctx: &'a mut ProbeContext,
    deadline: Deadline,
) -> Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'a>> {
    Box::pin(probe(module, target, ctx, deadline))
}

async fn probe(
    module: &Module,
    target: &str,
    ctx: &mut ProbeContext,
    deadline: Deadline,
) -> Result<(), Failure> {
    let endpoint = Url::parse(target)
        .map_err(|e| Failure::new(stage::SETUP, format!("target is not a URL: {e}")))?;
    let token = bearer_token(module)?;
    let http = http_client(module)?;
    let mut peer = sending_peer().await?;
    let outcome = session(&http, &endpoint, token.as_deref(), &mut peer, deadline, ctx).await;
    let _ = tokio::time::timeout(deadline.remaining(), peer.pc.close()).await;
    outcome
}

async fn session(
    http: &reqwest::Client,
    endpoint: &Url,
    token: Option<&str>,
    peer: &mut Peer,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(), Failure> {
    let gathering = peer.describe(true, deadline).await?;
    probe::gauge(
        ctx,
        names::ICE_GATHERING,
        "Time to gather ICE candidates",
        probe::seconds(gathering),
    );
    let offer = peer.pc.local_description().await;
    let offer = offer.ok_or_else(|| Failure::new(stage::SETUP, "no offer"))?;

    let started = Instant::now();
    let (location, answer) = post(http, endpoint, token, offer.sdp, deadline, ctx).await?;
    let answer = RTCSessionDescription::answer(answer)
        .map_err(|e| Failure::new(stage::WHIP_POST, format!("bad SDP answer: {e}")))?;
    let connected = async {
        peer.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| Failure::new(stage::WHIP_POST, format!("answer refused: {e}")))?;
        peer.ice_connected(deadline).await?;
        let help = "Time from the POST to ICE connected";
        probe::gauge(
            ctx,
            names::ICE_CONNECTED,
            help,
            probe::seconds(started.elapsed()),
        );
        peer.dtls_connected(deadline).await?;
        let help = "Time from the POST to DTLS connected";
        probe::gauge(
            ctx,
            names::DTLS_CONNECTED,
            help,
            probe::seconds(started.elapsed()),
        );
        Ok(())
    }
    .await;
    // The session is released whether or not the media path came up.
    let deleted = delete(http, &location, token, deadline, ctx).await;
    connected.and(deleted)
}

/// POSTs the offer; returns the session URL and the SDP answer.
async fn post(
    http: &reqwest::Client,
    endpoint: &Url,
    token: Option<&str>,
    offer: String,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(Url, String), Failure> {
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
    let ice_servers = ice_servers(response.headers());
    ctx.log(format!(
        "POST answered {status} with {} ice-server links",
        ice_servers.len()
    ));
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
    Ok((location, answer))
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

/// The ICE servers of `Link: <URL>; rel="ice-server"; username=...; credential=...` headers.
pub fn ice_servers(headers: &HeaderMap) -> Vec<IceServerLink> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_link)
        .collect()
}

/// One `rel="ice-server"` link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServerLink {
    pub url: String,
    pub username: Option<String>,
    pub credential: Option<String>,
}

fn parse_link(link: &str) -> Option<IceServerLink> {
    let mut parts = link.split(';').map(str::trim);
    let url = parts
        .next()?
        .strip_prefix('<')?
        .strip_suffix('>')?
        .to_string();
    let mut found = IceServerLink {
        url,
        username: None,
        credential: None,
    };
    let mut is_ice_server = false;
    for part in parts {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "rel" => is_ice_server = value == "ice-server",
            "username" => found.username = Some(value),
            "credential" => found.credential = Some(value),
            _ => {}
        }
    }
    is_ice_server.then_some(found)
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
async fn sending_peer() -> Result<Peer, Failure> {
    let failed = |e: webrtc::Error| Failure::new(stage::SETUP, format!("peer connection: {e}"));
    let mut media = MediaEngine::default();
    media.register_default_codecs().map_err(failed)?;
    let mut settings = SettingEngine::default();
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    settings.set_include_loopback_candidate(true);
    let api = APIBuilder::new()
        .with_media_engine(media)
        .with_setting_engine(settings)
        .build();
    let peer = Peer::new(&api, RTCConfiguration::default()).await?;
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
        .map_err(failed)?;
    Ok(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_server_links_are_read_with_their_credentials() {
        let mut headers = HeaderMap::new();
        let link = "<turn:turn.example.net:3478?transport=udp>; rel=\"ice-server\"; \
                    username=\"user\"; credential=\"pass\"; credential-type=\"password\", \
                    <stun:stun.example.net>; rel=\"ice-server\"";
        headers.append(LINK, link.parse().unwrap());
        headers.append(
            LINK,
            "<https://example.net/>; rel=\"help\"".parse().unwrap(),
        );
        let found = ice_servers(&headers);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].url, "turn:turn.example.net:3478?transport=udp");
        assert_eq!(found[0].username.as_deref(), Some("user"));
        assert_eq!(found[0].credential.as_deref(), Some("pass"));
        assert_eq!(found[1].url, "stun:stun.example.net");
    }
}
