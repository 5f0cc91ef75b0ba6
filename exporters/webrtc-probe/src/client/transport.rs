//! The connection to a STUN/TURN server over UDP, TCP or TLS-over-TCP, carrying whole STUN
//! messages. A reader task frames what arrives, so receiving is cancel-safe.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::AbortOnDrop;
use crate::config::Transport as Kind;

/// Messages queued between the reader task and the prober; more wait in the socket.
const QUEUE: usize = 64;
/// The largest datagram or framed message accepted.
const MAX_MESSAGE: usize = 65_535;

/// Why the transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("could not connect: {0}")]
    Connect(io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
}

/// One open connection to the server.
pub struct Transport {
    writer: Writer,
    incoming: mpsc::Receiver<io::Result<Vec<u8>>>,
    reliable: bool,
    local: SocketAddr,
    _reader: AbortOnDrop,
}

enum Writer {
    Udp(Arc<UdpSocket>),
    Stream(Box<dyn AsyncWrite + Send + Unpin>),
}

/// TLS settings for a `tls` transport.
#[derive(Clone)]
pub struct TlsSetup {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: String,
}

impl Transport {
    /// Connects to `server`; `tls` is required for the TLS transport. The caller bounds the time.
    pub async fn connect(
        kind: Kind,
        server: SocketAddr,
        tls: Option<&TlsSetup>,
    ) -> Result<Transport, ConnectError> {
        match kind {
            Kind::Udp => Self::udp(server).await.map_err(ConnectError::Connect),
            Kind::Tcp => {
                let stream = TcpStream::connect(server)
                    .await
                    .map_err(ConnectError::Connect)?;
                let local = stream.local_addr().map_err(ConnectError::Connect)?;
                let _ = stream.set_nodelay(true);
                Ok(Self::stream(stream, local))
            }
            Kind::Tls => {
                let tls = tls.expect("the TLS transport comes with TLS settings");
                let stream = TcpStream::connect(server)
                    .await
                    .map_err(ConnectError::Connect)?;
                let local = stream.local_addr().map_err(ConnectError::Connect)?;
                let _ = stream.set_nodelay(true);
                let name = ServerName::try_from(tls.server_name.clone())
                    .map_err(|_| ConnectError::ServerName(tls.server_name.clone()))?;
                let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
                let stream = connector
                    .connect(name, stream)
                    .await
                    .map_err(ConnectError::Tls)?;
                Ok(Self::stream(stream, local))
            }
        }
    }

    async fn udp(server: SocketAddr) -> io::Result<Transport> {
        let bind: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse().expect("a literal address")
        } else {
            "[::]:0".parse().expect("a literal address")
        };
        let socket = UdpSocket::bind(bind).await?;
        // Connected, so an ICMP port unreachable ends the probe at once.
        socket.connect(server).await?;
        let local = socket.local_addr()?;
        let socket = Arc::new(socket);
        let (tx, incoming) = mpsc::channel(QUEUE);
        let reader = AbortOnDrop(tokio::spawn(read_datagrams(socket.clone(), tx)));
        Ok(Transport {
            writer: Writer::Udp(socket),
            incoming,
            reliable: false,
            local,
            _reader: reader,
        })
    }

    fn stream<S>(stream: S, local: SocketAddr) -> Transport
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let (tx, incoming) = mpsc::channel(QUEUE);
        let reader = AbortOnDrop(tokio::spawn(read_frames(read, tx)));
        Transport {
            writer: Writer::Stream(Box::new(write)),
            incoming,
            reliable: true,
            local,
            _reader: reader,
        }
    }

    /// Whether the transport delivers by itself (no retransmissions needed).
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.writer {
            Writer::Udp(socket) => socket.send(bytes).await.map(|_| ()),
            Writer::Stream(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
        }
    }

    /// The next message from the server; cancel-safe.
    pub async fn recv(&mut self) -> io::Result<Vec<u8>> {
        match self.incoming.recv().await {
            Some(result) => result,
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )),
        }
    }
}

async fn read_datagrams(socket: Arc<UdpSocket>, tx: mpsc::Sender<io::Result<Vec<u8>>>) {
    let mut buffer = vec![0u8; MAX_MESSAGE];
    loop {
        let result = socket.recv(&mut buffer).await;
        let failed = result.is_err();
        let item = result.map(|n| buffer[..n].to_vec());
        if tx.send(item).await.is_err() || failed {
            return;
        }
    }
}

async fn read_frames<R: AsyncRead + Unpin>(mut read: R, tx: mpsc::Sender<io::Result<Vec<u8>>>) {
    loop {
        let result = read_frame(&mut read).await;
        let failed = result.is_err();
        if tx.send(result).await.is_err() || failed {
            return;
        }
    }
}

/// One STUN message or ChannelData frame from a stream (RFC 8656 §12.5 framing).
async fn read_frame<R: AsyncRead + Unpin>(read: &mut R) -> io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    read.read_exact(&mut head).await?;
    let length = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let rest = if head[0] & 0xC0 == 0 {
        super::message::HEADER_LEN - 4 + length
    } else {
        length + (4 - length % 4) % 4
    };
    let mut frame = Vec::with_capacity(4 + rest);
    frame.extend_from_slice(&head);
    frame.resize(4 + rest, 0);
    read.read_exact(&mut frame[4..]).await?;
    Ok(frame)
}
