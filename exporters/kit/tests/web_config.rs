//! Basic auth and TLS from a web config file in the exporter-toolkit format.

mod common;

use common::{client, install_crypto, Harness};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

const CONFIG: &str = "greeting: hi\n";

fn bcrypt(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// Serves with a web config requiring user alice; the file lives as long as the harness.
async fn with_auth() -> (Harness, tempfile::NamedTempFile) {
    let web = tempfile::NamedTempFile::new().unwrap();
    let text = format!("basic_auth_users:\n  alice: '{}'\n", bcrypt("s3cret"));
    std::fs::write(web.path(), text).unwrap();
    let flag = format!("--web.config.file={}", web.path().display());
    (Harness::start(CONFIG, &[&flag]).await, web)
}

#[tokio::test]
async fn without_credentials_every_endpoint_but_healthy_is_401() {
    let (harness, _web) = with_auth().await;
    for path in [
        "/",
        "/metrics",
        "/-/ready",
        "/probe?module=x&target=y",
        "/nope",
    ] {
        let response = client().get(harness.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(response.headers()["www-authenticate"], "Basic", "{path}");
    }
    let reload = client()
        .post(harness.url("/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 401);
    let healthy = client()
        .get(harness.url("/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(healthy.status(), 200);
    harness.stop().await;
}

#[tokio::test]
async fn the_right_password_opens_and_a_wrong_one_does_not() {
    let (harness, _web) = with_auth().await;
    let good = client()
        .get(harness.url("/metrics"))
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    for (user, password) in [("alice", "wrong"), ("bob", "s3cret"), ("alice", "")] {
        let bad = client()
            .get(harness.url("/metrics"))
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401, "{user}:{password}");
    }
    harness.stop().await;
}

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_pem: String,
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, written to files.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let server_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let server = server_params.signed_by(&server_key, &ca).unwrap();
    std::fs::write(dir.path().join("server.crt"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let client_params = CertificateParams::new(vec!["client".to_string()]).unwrap();
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    let client_pem = format!("{}{}", client.pem(), client_key.serialize_pem());

    let ca_pem = ca.pem();
    std::fs::write(dir.path().join("ca.crt"), &ca_pem).unwrap();
    Pki {
        dir,
        ca_pem,
        client_pem,
    }
}

fn tls_client(pki: &Pki, with_identity: bool) -> reqwest::Client {
    install_crypto();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()]);
    if with_identity {
        builder = builder.identity(reqwest::Identity::from_pem(pki.client_pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

async fn start_tls(pki: &Pki, extra: &str) -> Harness {
    let web = pki.dir.path().join("web.yml");
    // Relative paths resolve against the web config's own directory.
    let text =
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}");
    std::fs::write(&web, text).unwrap();
    Harness::start(CONFIG, &[&format!("--web.config.file={}", web.display())]).await
}

#[tokio::test]
async fn tls_serves_https_and_refuses_plain_http() {
    let pki = pki();
    let harness = start_tls(&pki, "").await;
    let https = format!("https://{}/metrics", harness.address);
    let response = tls_client(&pki, false).get(&https).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(client().get(harness.url("/metrics")).send().await.is_err());
    harness.stop().await;
}

#[tokio::test]
async fn required_client_certificates_are_verified() {
    let pki = pki();
    let extra = "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n";
    let harness = start_tls(&pki, extra).await;
    let https = format!("https://{}/metrics", harness.address);
    let with_cert = tls_client(&pki, true).get(&https).send().await.unwrap();
    assert_eq!(with_cert.status(), 200);
    assert!(tls_client(&pki, false).get(&https).send().await.is_err());
    harness.stop().await;
}

#[tokio::test]
async fn tls_12_only_is_honoured() {
    let pki = pki();
    let harness = start_tls(&pki, "  min_version: TLS12\n  max_version: TLS12\n").await;
    let https = format!("https://{}/-/healthy", harness.address);
    let tls13_only = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()])
        .tls_version_min(reqwest::tls::Version::TLS_1_3)
        .build()
        .unwrap();
    assert!(tls13_only.get(&https).send().await.is_err());
    let any = tls_client(&pki, false).get(&https).send().await.unwrap();
    assert_eq!(any.status(), 200);
    harness.stop().await;
}
