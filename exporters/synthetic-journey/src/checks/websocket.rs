//! WebSocket checks: connect, send messages, wait for a reply containing the expected text.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::http::{error_chain, headers};
use super::Failure;
use crate::config::Check;

/// The most messages read while waiting for the expected one.
pub const MAX_MESSAGES: usize = 1000;

/// Runs one WebSocket check; `Ok` holds the handshake's status code (101).
pub async fn run(check: &Check) -> Result<u16, Failure> {
    let url = check
        .url
        .resolve()
        .map_err(|e| (None, format!("url: {e}")))?;
    let mut request = url
        .into_client_request()
        .map_err(|e| (None, format!("invalid url: {e}")))?;
    request.headers_mut().extend(headers(check)?);
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| {
            (
                handshake_status(&e),
                format!("connect failed: {}", error_chain(&e)),
            )
        })?;
    let code = response.status().as_u16();
    for message in &check.send {
        let text = message
            .resolve()
            .map_err(|e| (Some(code), format!("send: {e}")))?;
        socket
            .send(Message::text(text))
            .await
            .map_err(|e| (Some(code), format!("send failed: {e}")))?;
    }
    if let Some(expected) = &check.expect {
        wait_for(&mut socket, expected)
            .await
            .map_err(|reason| (Some(code), reason))?;
    }
    // A polite close; the check has its answer whatever the server does with it.
    let _ = socket.close(None).await;
    Ok(code)
}

async fn wait_for<S>(socket: &mut S, expected: &str) -> Result<(), String>
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    for _ in 0..MAX_MESSAGES {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.as_str().contains(expected) => return Ok(()),
            Some(Ok(Message::Close(_))) | None => {
                return Err(format!("closed before a message containing {expected:?}"))
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("receive failed: {e}")),
        }
    }
    Err(format!(
        "no message containing {expected:?} among the first {MAX_MESSAGES}"
    ))
}

fn handshake_status(error: &tokio_tungstenite::tungstenite::Error) -> Option<u16> {
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => Some(response.status().as_u16()),
        _ => None,
    }
}
