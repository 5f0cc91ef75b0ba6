//! TURN credentials of a module: the long-term password, or REST credentials derived from a
//! shared secret (username `EXPIRY:USER`, password base64(HMAC-SHA1(secret, username))).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;

use crate::client::{message, Credentials};
use crate::config::TurnConfig;
use crate::names::stage;
use crate::probe::Failure;

/// The credentials to use now; secrets in files are read at every probe, so a rotated secret
/// needs no reload.
pub fn for_probe(turn: &TurnConfig, now: SystemTime) -> Result<Credentials, Failure> {
    if let Some(password) = &turn.password {
        return Ok(long_term(turn, password.expose().to_string()));
    }
    if let Some(path) = &turn.password_file {
        return Ok(long_term(turn, read_secret(path)?));
    }
    let secret = match (&turn.shared_secret, &turn.shared_secret_file) {
        (Some(secret), _) => secret.expose().to_string(),
        (None, Some(path)) => read_secret(path)?,
        (None, None) => {
            return Err(Failure::new(
                stage::CREDENTIALS,
                "no TURN secret configured",
            ));
        }
    };
    let expiry = now
        .checked_add(turn.credential_lifetime)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(rest(&secret, &format!("{expiry}:{}", turn.username)))
}

/// REST credentials for `username` under the shared `secret`.
pub fn rest(secret: &str, username: &str) -> Credentials {
    let mac = message::hmac_sha1(secret.as_bytes(), username.as_bytes());
    Credentials {
        username: username.to_string(),
        password: base64::engine::general_purpose::STANDARD.encode(mac),
    }
}

fn long_term(turn: &TurnConfig, password: String) -> Credentials {
    Credentials {
        username: turn.username.clone(),
        password,
    }
}

/// Reads a secret file; the error names the file, never its content.
pub fn read_secret(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            stage::CREDENTIALS,
            format!("could not read {}: {e}", path.display()),
        )
    })?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_passwords_are_the_base64_hmac_sha1_of_the_username() {
        // Same as: printf '%s' 1700000000:probe | openssl dgst -binary -sha1 -hmac s3cret | base64
        let got = rest("s3cret", "1700000000:probe");
        assert_eq!(got.username, "1700000000:probe");
        assert_eq!(got.password, EXPECTED_REST_PASSWORD);
    }

    #[test]
    fn rest_usernames_carry_the_expiry_then_the_user() {
        let turn = TurnConfig {
            username: "probe".into(),
            shared_secret: Some(exporter_kit::Secret::new("s3cret")),
            credential_lifetime: std::time::Duration::from_secs(60),
            ..TurnConfig::default()
        };
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        assert_eq!(for_probe(&turn, now).unwrap().username, "1060:probe");
    }

    const EXPECTED_REST_PASSWORD: &str = "78RmFAnb6WbvR6VDso3uGX55Yk4=";
}
