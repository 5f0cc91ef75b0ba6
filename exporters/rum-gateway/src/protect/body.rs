//! Reading a request body within limits: a byte cap while streaming, a time cap, and a
//! second cap on what gzip decompression produces.

use std::io::Read;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use exporter_kit::axum::body::Body;
use http_body_util::BodyExt;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("body exceeds {0} bytes once decompressed")]
    InflatedTooLarge(usize),
    #[error("body not received within {0:?}")]
    Timeout(Duration),
    #[error("body is not valid gzip")]
    BadGzip,
    #[error("content encoding {0:?} is not supported (use gzip or none)")]
    UnsupportedEncoding(String),
    #[error("body could not be read")]
    Interrupted,
}

impl BodyError {
    pub fn reason(&self) -> &'static str {
        match self {
            BodyError::TooLarge(_) => "body_too_large",
            BodyError::InflatedTooLarge(_) => "decompressed_body_too_large",
            BodyError::Timeout(_) => "body_read_timeout",
            BodyError::BadGzip => "invalid_gzip",
            BodyError::UnsupportedEncoding(_) => "unsupported_encoding",
            BodyError::Interrupted => "body_interrupted",
        }
    }
}

/// Reads `body`, stopping as soon as it passes `max` bytes.
pub async fn read(body: Body, max: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    let collect = async {
        let mut body = body;
        // Most beacons arrive in one frame, kept as it came; only a second frame costs a copy.
        let mut first: Option<Bytes> = None;
        let mut joined: Option<BytesMut> = None;
        let mut len = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| too_large_or_interrupted(&e, max))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            len += data.len();
            if len > max {
                drain(&mut body).await;
                return Err(BodyError::TooLarge(max));
            }
            match (&first, &mut joined) {
                (None, _) => first = Some(data),
                (Some(head), None) => {
                    let mut buf = BytesMut::with_capacity(len);
                    buf.extend_from_slice(head);
                    buf.extend_from_slice(&data);
                    joined = Some(buf);
                }
                (Some(_), Some(buf)) => buf.extend_from_slice(&data),
            }
        }
        Ok(joined.map_or_else(|| first.unwrap_or_default(), BytesMut::freeze))
    };
    tokio::time::timeout(timeout, collect)
        .await
        .map_err(|_| BodyError::Timeout(timeout))?
}

/// How much of an oversized body is still read, and for how long, so the client is sending no
/// more when the 413 goes out: closing a socket with unread data resets the connection, and the
/// client may then lose the answer, as nginx's lingering close also avoids.
const DRAIN_MAX_BYTES: usize = 256 << 10;
const DRAIN_MAX_TIME: Duration = Duration::from_secs(1);

/// Reads and drops the rest of `body`, within [`DRAIN_MAX_BYTES`] and [`DRAIN_MAX_TIME`].
pub async fn drain(body: &mut Body) {
    let discard = async {
        let mut drained = 0;
        while let Some(Ok(frame)) = body.frame().await {
            drained += frame.data_ref().map_or(0, Bytes::len);
            if drained > DRAIN_MAX_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_MAX_TIME, discard).await;
}

/// The kit's own body limit wraps every body; its error means "too large" as well.
fn too_large_or_interrupted(error: &exporter_kit::axum::Error, max: usize) -> BodyError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return BodyError::TooLarge(max);
        }
        source = e.source();
    }
    BodyError::Interrupted
}

/// Decodes `body` by its `Content-Encoding`, producing at most `max` bytes.
pub fn decode(body: Bytes, encoding: Option<&str>, max: usize) -> Result<Bytes, BodyError> {
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => inflate(&body, max).map(Bytes::from),
        Some(other) => Err(BodyError::UnsupportedEncoding(other.to_string())),
    }
}

fn inflate(body: &[u8], max: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(body).take(max as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|_| BodyError::BadGzip)?;
    if out.len() > max {
        return Err(BodyError::InflatedTooLarge(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_decompressed_cap() {
        let bomb = gzip(&vec![b'a'; 10 << 20]);
        assert!(bomb.len() < 20_000);
        assert_eq!(
            decode(bomb, Some("gzip"), 1 << 20),
            Err(BodyError::InflatedTooLarge(1 << 20))
        );
        assert_eq!(
            decode(gzip(b"{}"), Some("gzip"), 10).unwrap(),
            Bytes::from_static(b"{}")
        );
        assert_eq!(
            decode(Bytes::from_static(b"xx"), Some("gzip"), 10),
            Err(BodyError::BadGzip)
        );
        assert!(matches!(
            decode(Bytes::new(), Some("br"), 10),
            Err(BodyError::UnsupportedEncoding(_))
        ));
    }
}
