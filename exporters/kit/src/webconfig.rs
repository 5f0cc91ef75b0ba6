//! The `--web.config.file` of the Prometheus exporter-toolkit: TLS and basic auth.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;

use crate::config::{self, ConfigErrors, Problems, Source, Validate};

/// Successful logins remembered, so bcrypt (slow on purpose) runs once per credential.
const AUTH_CACHE_CAPACITY: usize = 1024;

/// A bcrypt hash of a password nobody has; checked for unknown users so that the time of a
/// failed login does not reveal whether the user exists.
const DECOY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// The web config file as written by the user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    /// Serve HTTPS with these settings.
    pub tls_server_config: Option<TlsServerConfig>,
    /// Users and their bcrypt password hashes; when set, every endpoint but `/-/healthy`
    /// requires one of them.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

/// TLS settings, named as in the exporter-toolkit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// PEM file with the server certificate chain.
    pub cert_file: Option<PathBuf>,
    /// PEM file with the server private key.
    pub key_file: Option<PathBuf>,
    /// Whether and how client certificates are asked for.
    #[serde(default)]
    pub client_auth_type: ClientAuthType,
    /// PEM file with the CAs that client certificates are verified against.
    pub client_ca_file: Option<PathBuf>,
    /// Oldest TLS version accepted (default TLS12).
    #[serde(default = "default_min_version")]
    pub min_version: TlsVersion,
    /// Newest TLS version accepted (default TLS13).
    #[serde(default = "default_max_version")]
    pub max_version: TlsVersion,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ClientAuthType {
    #[default]
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum TlsVersion {
    TLS10,
    TLS11,
    TLS12,
    TLS13,
}

fn default_min_version() -> TlsVersion {
    TlsVersion::TLS12
}

fn default_max_version() -> TlsVersion {
    TlsVersion::TLS13
}

impl Validate for WebConfigFile {
    fn validate(&self, problems: &mut Problems) {
        for (user, hash) in &self.basic_auth_users {
            if !hash.starts_with("$2") {
                problems.add(
                    format!("basic_auth_users.{user}"),
                    "not a bcrypt hash (it should start with $2)",
                );
            }
        }
        if let Some(tls) = &self.tls_server_config {
            tls.validate(problems);
        }
    }
}

impl Validate for TlsServerConfig {
    fn validate(&self, problems: &mut Problems) {
        let key = "tls_server_config";
        if self.cert_file.is_none() {
            problems.add(
                format!("{key}.cert_file"),
                "required when TLS is configured",
            );
        }
        if self.key_file.is_none() {
            problems.add(format!("{key}.key_file"), "required when TLS is configured");
        }
        let verifies = matches!(
            self.client_auth_type,
            ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert
        );
        if verifies && self.client_ca_file.is_none() {
            problems.add(
                format!("{key}.client_ca_file"),
                "required when client_auth_type verifies client certificates",
            );
        }
        if matches!(
            self.client_auth_type,
            ClientAuthType::RequestClientCert | ClientAuthType::RequireAnyClientCert
        ) {
            problems.add(
                format!("{key}.client_auth_type"),
                "unverified client certificates are not supported; \
                 use VerifyClientCertIfGiven or RequireAndVerifyClientCert",
            );
        }
        for (field, version) in [
            ("min_version", self.min_version),
            ("max_version", self.max_version),
        ] {
            if version < TlsVersion::TLS12 {
                problems.add(
                    format!("{key}.{field}"),
                    "TLS 1.0 and 1.1 are not supported; use TLS12 or TLS13",
                );
            }
        }
        if self.min_version > self.max_version {
            problems.add(format!("{key}.min_version"), "is newer than max_version");
        }
    }
}

/// A web config ready to serve with: TLS built, users loaded.
#[derive(Clone, Default)]
pub struct WebConfig {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub auth: Option<Arc<BasicAuth>>,
}

impl WebConfig {
    /// Reads, validates and builds the web config file; certificates and keys are loaded now,
    /// so a broken file is reported at start or reload, not at the first connection.
    pub fn load(path: &Path) -> Result<WebConfig, ConfigErrors> {
        let file: WebConfigFile = config::load_file(path)?;
        let source = Source::File(path.to_path_buf());
        let mut problems = Problems::default();
        let tls = match &file.tls_server_config {
            Some(tls) => build_tls(tls, path, &mut problems).map(Arc::new),
            None => None,
        };
        if !problems.is_empty() {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            return Err(config::locate_problems(&text, &source, problems));
        }
        let auth = (!file.basic_auth_users.is_empty())
            .then(|| Arc::new(BasicAuth::new(file.basic_auth_users)));
        Ok(WebConfig { tls, auth })
    }
}

/// Paths in the web config are relative to the file itself, as in the exporter-toolkit.
fn resolve(config_path: &Path, file: &Path) -> PathBuf {
    match config_path.parent() {
        Some(dir) if file.is_relative() => dir.join(file),
        _ => file.to_path_buf(),
    }
}

fn build_tls(
    tls: &TlsServerConfig,
    config_path: &Path,
    problems: &mut Problems,
) -> Option<rustls::ServerConfig> {
    let key = "tls_server_config";
    let cert_path = resolve(config_path, tls.cert_file.as_deref()?);
    let key_path = resolve(config_path, tls.key_file.as_deref()?);
    let chain = read_certs(&cert_path)
        .map_err(|e| problems.add(format!("{key}.cert_file"), e))
        .ok();
    let private_key = read_key(&key_path)
        .map_err(|e| problems.add(format!("{key}.key_file"), e))
        .ok();
    let verifier = match &tls.client_ca_file {
        Some(ca) if tls.client_auth_type != ClientAuthType::NoClientCert => {
            let ca_path = resolve(config_path, ca);
            client_verifier(&ca_path, tls.client_auth_type)
                .map_err(|e| problems.add(format!("{key}.client_ca_file"), e))
                .ok()
        }
        _ => Some(WebPkiClientVerifier::no_client_auth()),
    };
    let (chain, private_key, verifier) = (chain?, private_key?, verifier?);

    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::TLS12, &rustls::version::TLS12),
        (TlsVersion::TLS13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= tls.min_version && *v <= tls.max_version)
    .map(|(_, protocol)| protocol)
    .collect();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let built = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| problems.add(format!("{key}.min_version"), e.to_string()))
        .ok()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private_key);
    match built {
        Ok(mut server) => {
            server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(server)
        }
        Err(e) => {
            problems.add(
                format!("{key}.key_file"),
                format!("does not match the certificate: {e}"),
            );
            None
        }
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("could not parse {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {}", path.display()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| format!("could not parse {}: {e}", path.display()))?
        .ok_or_else(|| format!("no private key found in {}", path.display()))
}

fn client_verifier(
    ca_path: &Path,
    auth_type: ClientAuthType,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(ca_path)? {
        roots
            .add(cert)
            .map_err(|e| format!("bad CA certificate in {}: {e}", ca_path.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = match auth_type {
        ClientAuthType::VerifyClientCertIfGiven => builder.allow_unauthenticated(),
        _ => builder,
    };
    builder.build().map_err(|e| e.to_string())
}

/// Basic auth against bcrypt hashes, remembering recent successes.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl BasicAuth {
    pub fn new(users: BTreeMap<String, String>) -> BasicAuth {
        BasicAuth {
            users,
            verified: Mutex::new(HashSet::new()),
        }
    }

    /// Checks a user and password; blocking (bcrypt), so call it off the async runtime.
    pub fn check(&self, user: &str, password: &str) -> bool {
        let hash = self.users.get(user);
        let fingerprint = fingerprint(user, password, hash.map_or("", String::as_str));
        if hash.is_some() && self.lock().contains(&fingerprint) {
            return true;
        }
        let hash_to_check = hash.map_or(DECOY_HASH, String::as_str);
        let valid = bcrypt::verify(password, hash_to_check).unwrap_or(false) && hash.is_some();
        if valid {
            let mut verified = self.lock();
            if verified.len() >= AUTH_CACHE_CAPACITY {
                verified.clear();
            }
            verified.insert(fingerprint);
        }
        valid
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        // A panic while holding the lock cannot leave the set half-written; keep using it.
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn fingerprint(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut digest = Sha256::new();
    for part in [user, password, hash] {
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part.as_bytes());
    }
    digest.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_right_password_passes_and_a_wrong_one_does_not() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::new(BTreeMap::from([("alice".to_string(), hash)]));
        assert!(auth.check("alice", "s3cret"));
        assert!(
            auth.check("alice", "s3cret"),
            "a cached success still passes"
        );
        assert!(!auth.check("alice", "wrong"));
        assert!(!auth.check("bob", "s3cret"));
    }

    #[test]
    fn the_decoy_hash_is_a_valid_bcrypt_hash() {
        assert!(!bcrypt::verify("anything", DECOY_HASH).unwrap());
    }
}
