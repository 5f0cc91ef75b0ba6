//! The `--config.file` of webrtc-probe: named probe modules, each a prober kind with its
//! options, in the shape of blackbox_exporter's modules.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use exporter_kit::{ProbeModules, Problems, Secret, Validate};
use serde::{Deserialize, Serialize};

/// The whole config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The probe modules by name; `GET /probe?module=NAME&target=...` runs one.
    #[serde(default)]
    pub modules: BTreeMap<String, Module>,
}

/// One way of probing a target.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// The prober: `stun`, `turn`, `peer` or `whip`.
    pub prober: ProberKind,
    /// The longest a probe may take; a shorter scrape timeout (less `--probe.timeout-offset`)
    /// wins. Default 5s.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How `stun` and `turn` reach the server: `udp` (default), `tcp` or `tls`.
    #[serde(default)]
    pub transport: Transport,
    /// The address family used when the target's name resolves to both: `ip4` (default) or
    /// `ip6`. The other family is used when the preferred one has no address.
    #[serde(default)]
    pub preferred_ip_protocol: IpProtocol,
    /// TLS to the server, for `transport: tls`.
    #[serde(default)]
    pub tls: TlsConfig,
    /// TURN credentials: required by `turn`, and by `peer` to use the target as a relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<TurnConfig>,
    /// The test stream sent by `turn` (through the relay) and `peer` (over a data channel).
    #[serde(default)]
    pub stream: StreamConfig,
    /// Options of the `peer` prober; `ice_transport_policy` also applies to `whip`.
    #[serde(default)]
    pub peer: PeerConfig,
    /// Options of the `whip` prober.
    #[serde(default)]
    pub whip: WhipConfig,
}

/// The prober kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProberKind {
    Stun,
    Turn,
    Peer,
    Whip,
}

/// Transports to a STUN/TURN server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

/// IP families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpProtocol {
    #[default]
    Ip4,
    Ip6,
}

/// TLS client settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The name the server's certificate must carry; default: the target's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// PEM file of the CAs to trust; default: the system's trusted CAs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate. Only for test servers: the probe then proves nothing about TLS.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// TURN credentials: a long-term password, or a REST shared secret from which a time-limited
/// username (`EXPIRY:USERNAME`) and password (base64 of HMAC-SHA1) are derived per probe.
/// Exactly one of `password`, `password_file`, `shared_secret`, `shared_secret_file`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TurnConfig {
    /// The user name (with a shared secret: the user part after `EXPIRY:`).
    pub username: String,
    /// The long-term password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A file holding the long-term password, read at every probe (trailing newline ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// The TURN REST shared secret (coturn's `static-auth-secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_secret: Option<Secret>,
    /// A file holding the shared secret, read at every probe (trailing newline ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_secret_file: Option<PathBuf>,
    /// How long derived REST credentials stay valid. Default 1h.
    #[serde(default = "default_credential_lifetime", with = "humantime_serde")]
    pub credential_lifetime: Duration,
}

/// The stream of small messages that measures round-trip time, jitter and loss.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Messages sent (1 to 10000). Default 10 (`turn`) is enough for a reachability check;
    /// raise it for stable jitter and loss figures.
    #[serde(default = "default_packets")]
    pub packets: u32,
    /// Bytes per message (16 to 1200). Default 100.
    #[serde(default = "default_packet_size")]
    pub size: usize,
    /// Time between two messages (at least 1ms). Default 20ms, a voice frame.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// How long to wait for the last answers after the last message. Default 1s.
    #[serde(default = "default_linger", with = "humantime_serde")]
    pub linger: Duration,
}

impl Default for StreamConfig {
    fn default() -> StreamConfig {
        StreamConfig {
            packets: default_packets(),
            size: default_packet_size(),
            interval: default_interval(),
            linger: default_linger(),
        }
    }
}

/// Options of the `peer` prober.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// `all` (default): host, server-reflexive and relay candidates; `relay`: through the
    /// TURN relay only (for `whip`, a TURN server the endpoint announces).
    #[serde(default)]
    pub ice_transport_policy: IcePolicy,
}

/// ICE transport policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IcePolicy {
    #[default]
    All,
    Relay,
}

/// Options of the `whip` prober.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WhipConfig {
    /// Sent as `Authorization: Bearer TOKEN` on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
    /// A file holding the bearer token, read at every probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<PathBuf>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_credential_lifetime() -> Duration {
    Duration::from_secs(3600)
}

fn default_packets() -> u32 {
    10
}

fn default_packet_size() -> usize {
    100
}

fn default_interval() -> Duration {
    Duration::from_millis(20)
}

fn default_linger() -> Duration {
    Duration::from_secs(1)
}

impl Validate for Config {
    fn validate(&self, problems: &mut Problems) {
        for (name, module) in &self.modules {
            module.validate(&format!("modules.{name}"), problems);
        }
    }
}

impl Module {
    fn validate(&self, key: &str, problems: &mut Problems) {
        if self.timeout.is_zero() {
            problems.add(format!("{key}.timeout"), "must be more than 0s");
        }
        match self.prober {
            ProberKind::Turn if self.turn.is_none() => problems.add(
                format!("{key}.prober"),
                "the turn prober needs `turn` credentials",
            ),
            ProberKind::Peer => self.validate_peer(key, problems),
            ProberKind::Whip if self.transport != Transport::Udp => problems.add(
                format!("{key}.transport"),
                "the whip prober takes its transport from the endpoint URL",
            ),
            _ => {}
        }
        if let Some(turn) = &self.turn {
            turn.validate(&format!("{key}.turn"), problems);
        }
        self.stream.validate(&format!("{key}.stream"), problems);
        let whip = &self.whip;
        if whip.bearer_token.is_some() && whip.bearer_token_file.is_some() {
            problems.add(
                format!("{key}.whip.bearer_token_file"),
                "give bearer_token or bearer_token_file, not both",
            );
        }
    }

    fn validate_peer(&self, key: &str, problems: &mut Problems) {
        if self.transport != Transport::Udp {
            problems.add(
                format!("{key}.transport"),
                "the peer prober reaches STUN and TURN over udp only",
            );
        }
        if self.peer.ice_transport_policy == IcePolicy::Relay && self.turn.is_none() {
            problems.add(
                format!("{key}.peer.ice_transport_policy"),
                "relay needs `turn` credentials",
            );
        }
    }
}

impl TurnConfig {
    fn validate(&self, key: &str, problems: &mut Problems) {
        if self.username.is_empty() {
            problems.add(format!("{key}.username"), "must not be empty");
        }
        let given = [
            self.password.is_some(),
            self.password_file.is_some(),
            self.shared_secret.is_some(),
            self.shared_secret_file.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            problems.add(
                key.to_string(),
                "give exactly one of password, password_file, shared_secret, shared_secret_file",
            );
        }
        if self.credential_lifetime < Duration::from_secs(1) {
            problems.add(format!("{key}.credential_lifetime"), "must be at least 1s");
        }
    }
}

impl StreamConfig {
    fn validate(&self, key: &str, problems: &mut Problems) {
        if !(1..=10_000).contains(&self.packets) {
            problems.add(format!("{key}.packets"), "must be between 1 and 10000");
        }
        if !(16..=1200).contains(&self.size) {
            problems.add(format!("{key}.size"), "must be between 16 and 1200");
        }
        if self.interval < Duration::from_millis(1) {
            problems.add(format!("{key}.interval"), "must be at least 1ms");
        }
    }
}

impl ProbeModules for Config {
    type Module = Module;

    fn module(&self, name: &str) -> Option<&Module> {
        self.modules.get(name)
    }

    fn timeout(module: &Module) -> Duration {
        module.timeout
    }
}
