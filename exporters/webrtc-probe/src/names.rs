//! Every metric, label and stage name of webrtc-probe, in one place.

pub const STUN_RTT: &str = "webrtc_probe_stun_rtt_seconds";
pub const REFLEXIVE_IP_PROTOCOL: &str = "webrtc_probe_reflexive_ip_protocol";
pub const IP_PROTOCOL: &str = "probe_ip_protocol";
pub const DNS_LOOKUP: &str = "probe_dns_lookup_time_seconds";
pub const CONNECT: &str = "webrtc_probe_connect_seconds";
pub const TURN_ALLOCATE: &str = "webrtc_probe_turn_allocate_seconds";
pub const TURN_PERMISSION: &str = "webrtc_probe_turn_permission_seconds";
pub const TURN_ERROR_CODE: &str = "webrtc_probe_turn_error_code";
pub const ICE_GATHERING: &str = "webrtc_probe_ice_gathering_seconds";
pub const ICE_CONNECTED: &str = "webrtc_probe_ice_connected_seconds";
pub const DTLS_CONNECTED: &str = "webrtc_probe_dtls_connected_seconds";
pub const DATA_CHANNEL_OPEN: &str = "webrtc_probe_data_channel_open_seconds";
pub const ROUND_TRIP_TIME: &str = "webrtc_probe_round_trip_time_seconds";
pub const JITTER: &str = "webrtc_probe_jitter_seconds";
pub const PACKET_LOSS: &str = "webrtc_probe_packet_loss_ratio";
pub const PACKETS_SENT: &str = "webrtc_probe_packets_sent";
pub const PACKETS_RECEIVED: &str = "webrtc_probe_packets_received";
pub const MOS: &str = "webrtc_probe_mos";
pub const QUALITY: &str = "webrtc_probe_quality";
pub const SELECTED_PAIR: &str = "webrtc_probe_selected_candidate_pair_info";
pub const FAILED_STAGE: &str = "webrtc_probe_failed_stage";
pub const WHIP_POST_STATUS: &str = "webrtc_probe_whip_post_status_code";
pub const WHIP_POST: &str = "webrtc_probe_whip_post_seconds";
pub const WHIP_DELETE_STATUS: &str = "webrtc_probe_whip_delete_status_code";
pub const WHIP_ICE_SERVERS: &str = "webrtc_probe_whip_ice_servers";

pub const IN_FLIGHT: &str = "webrtc_probe_probes_in_flight";
/// A counter; the text format adds `_total`.
pub const OVER_LIMIT: &str = "webrtc_probe_probes_over_limit";

pub const LABEL_QUANTILE: &str = "quantile";
pub const LABEL_STAGE: &str = "stage";
pub const LABEL_CLASS: &str = "class";

/// The stages a probe can fail at; `webrtc_probe_failed_stage{stage}` names one of them.
pub mod stage {
    pub const CONCURRENCY: &str = "concurrency";
    pub const CREDENTIALS: &str = "credentials";
    pub const RESOLVE: &str = "resolve";
    pub const CONNECT: &str = "connect";
    pub const TLS: &str = "tls";
    pub const BINDING: &str = "binding";
    pub const ALLOCATE: &str = "allocate";
    pub const PERMISSION: &str = "permission";
    pub const RELAY: &str = "relay";
    pub const SETUP: &str = "setup";
    pub const GATHERING: &str = "ice_gathering";
    pub const ICE: &str = "ice_connected";
    pub const DTLS: &str = "dtls_connected";
    pub const DATA_CHANNEL: &str = "data_channel_open";
    pub const STREAM: &str = "stream";
    pub const WHIP_POST: &str = "whip_post";
    pub const WHIP_DELETE: &str = "whip_delete";
}
