//! A small STUN/TURN client of the project's own: binding, allocation with long-term
//! credentials, permissions, Send/Data indications and deallocation, over UDP, TCP and TLS.
//! The `webrtc` crate's ICE agent speaks TURN over UDP only and hides its timings; a probe
//! needs every transport and every step timed.

pub mod message;
pub mod transport;

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use message::{Class, Message};
use tokio::task::JoinHandle;
pub use transport::{ConnectError, TlsSetup, Transport};

/// The first retransmission timeout over UDP (RFC 8489 §6.2.1); it doubles on each resend.
const INITIAL_RTO: Duration = Duration::from_millis(500);
/// Sends of one request over UDP before giving up (RFC 8489's Rc).
const MAX_SENDS: u32 = 7;
/// Answers set aside while waiting for another; past this, the oldest is dropped.
const MAX_PENDING: usize = 256;
/// REQUESTED-TRANSPORT: UDP, the only relay transport TURN defines for allocations here.
const UDP_PROTOCOL: [u8; 4] = [17, 0, 0, 0];

/// Aborts a spawned task when dropped, so a probe cut short leaves no task behind.
pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What went wrong in an exchange with the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("no answer after {0} attempts")]
    NoAnswer(u32),
    #[error("error {code} ({reason})")]
    Rejected { code: u16, reason: String },
    #[error("malformed answer: {0}")]
    Malformed(String),
}

impl ClientError {
    /// The STUN error code, when the server answered with one.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClientError::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A username and password for the long-term credential mechanism.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// What authenticated requests carry once the server has named its realm and nonce.
struct Session {
    username: String,
    realm: String,
    nonce: String,
    key: Vec<u8>,
}

/// An allocation the server granted.
#[derive(Debug, Clone, Copy)]
pub struct Allocation {
    pub relayed: SocketAddr,
    pub mapped: Option<SocketAddr>,
}

/// One client, on one transport, with at most one allocation.
pub struct Client {
    transport: Transport,
    session: Option<Session>,
    pending: VecDeque<Message>,
    stale_nonces: u32,
}

impl Client {
    pub fn new(transport: Transport) -> Client {
        Client {
            transport,
            session: None,
            pending: VecDeque::new(),
            stale_nonces: 0,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.transport.local_addr()
    }

    /// A Binding request; the answer's reflexive address.
    pub async fn binding(&mut self) -> Result<SocketAddr, ClientError> {
        let request = Message::new(message::BINDING, Class::Request);
        let answer = expect_success(self.transact(&request, None).await?)?;
        answer
            .mapped_address()
            .ok_or_else(|| ClientError::Malformed("no mapped address in the answer".into()))
    }

    /// Allocates a UDP relay with `credentials`.
    pub async fn allocate(&mut self, credentials: &Credentials) -> Result<Allocation, ClientError> {
        let build = || {
            let mut request = Message::new(message::ALLOCATE, Class::Request);
            request.add(message::ATTR_REQUESTED_TRANSPORT, UDP_PROTOCOL);
            request
        };
        let answer = self.authenticated(build, Some(credentials)).await?;
        let answer = expect_success(answer)?;
        let relayed = answer
            .xor_address(message::ATTR_XOR_RELAYED_ADDRESS)
            .ok_or_else(|| ClientError::Malformed("no relayed address in the answer".into()))?;
        Ok(Allocation {
            relayed,
            mapped: answer.mapped_address(),
        })
    }

    /// Lets `peer` send to the allocation.
    pub async fn create_permission(&mut self, peer: SocketAddr) -> Result<(), ClientError> {
        let build = || {
            let mut request = Message::new(message::CREATE_PERMISSION, Class::Request);
            let value = message::encode_xor_address(peer, &request.transaction);
            request.add(message::ATTR_XOR_PEER_ADDRESS, value);
            request
        };
        expect_success(self.authenticated(build, None).await?).map(|_| ())
    }

    /// Releases the allocation (a Refresh with lifetime 0).
    pub async fn deallocate(&mut self) -> Result<(), ClientError> {
        let build = || {
            let mut request = Message::new(message::REFRESH, Class::Request);
            request.add(message::ATTR_LIFETIME, 0u32.to_be_bytes());
            request
        };
        expect_success(self.authenticated(build, None).await?).map(|_| ())
    }

    /// Sends `data` to `peer` through the relay in a Send indication.
    pub async fn send_to(&mut self, peer: SocketAddr, data: &[u8]) -> io::Result<()> {
        let mut indication = Message::new(message::SEND, Class::Indication);
        let value = message::encode_xor_address(peer, &indication.transaction);
        indication.add(message::ATTR_XOR_PEER_ADDRESS, value);
        indication.add(message::ATTR_DATA, data);
        self.transport.send(&indication.encode(None)).await
    }

    /// The next Data indication: who sent it through the relay, and what. Cancel-safe.
    pub async fn recv_data(&mut self) -> Result<(SocketAddr, Vec<u8>), ClientError> {
        loop {
            let message = match self.pending.pop_front() {
                Some(message) => message,
                None => self.recv_message().await?,
            };
            if message.method != message::DATA || message.class != Class::Indication {
                continue;
            }
            let peer = message.xor_address(message::ATTR_XOR_PEER_ADDRESS);
            let data = message.get(message::ATTR_DATA).map(<[u8]>::to_vec);
            if let (Some(peer), Some(data)) = (peer, data) {
                return Ok((peer, data));
            }
        }
    }

    /// Sends the request `build` makes, answering the first 401 challenge with the
    /// credentials and one 438 (Stale Nonce) with the new nonce it brings; a second 438 in a
    /// row is the answer, as a server that keeps refusing fresh nonces will not take a third.
    async fn authenticated(
        &mut self,
        build: impl Fn() -> Message,
        credentials: Option<&Credentials>,
    ) -> Result<Message, ClientError> {
        let mut renewed = false;
        loop {
            let mut request = build();
            if let Some(session) = &self.session {
                request.add(message::ATTR_USERNAME, session.username.as_bytes());
                request.add(message::ATTR_REALM, session.realm.as_bytes());
                request.add(message::ATTR_NONCE, session.nonce.as_bytes());
            }
            let key = self.session.as_ref().map(|s| s.key.clone());
            let answer = self.transact(&request, key.as_deref()).await?;
            match answer.error_code().map(|(code, _)| code) {
                Some(401) if self.session.is_none() => {}
                Some(438) if !renewed => {
                    renewed = true;
                    self.stale_nonces += 1;
                }
                _ => return Ok(answer),
            }
            self.take_challenge(&answer, credentials)?;
        }
    }

    /// How many 438 (Stale Nonce) answers were retried with a new nonce so far.
    pub fn stale_nonces(&self) -> u32 {
        self.stale_nonces
    }

    /// Keeps the realm and nonce of a challenge, with the key for `credentials`.
    fn take_challenge(
        &mut self,
        answer: &Message,
        credentials: Option<&Credentials>,
    ) -> Result<(), ClientError> {
        let missing = || ClientError::Malformed("a challenge without realm or nonce".into());
        let realm = answer.get_str(message::ATTR_REALM);
        let nonce = answer.get_str(message::ATTR_NONCE).ok_or_else(missing)?;
        if let Some(session) = &mut self.session {
            session.nonce = nonce;
            if let Some(realm) = realm {
                session.realm = realm;
            }
            return Ok(());
        }
        let realm = realm.ok_or_else(missing)?;
        let credentials = credentials.ok_or_else(|| ClientError::Rejected {
            code: 401,
            reason: "the server wants credentials and none are configured".into(),
        })?;
        let key = message::long_term_key(&credentials.username, &realm, &credentials.password);
        self.session = Some(Session {
            username: credentials.username.clone(),
            realm,
            nonce,
            key,
        });
        Ok(())
    }

    /// Sends `request` and waits for the answer with its transaction id, resending over UDP.
    async fn transact(
        &mut self,
        request: &Message,
        key: Option<&[u8]>,
    ) -> Result<Message, ClientError> {
        let bytes = request.encode(key);
        let sends = if self.transport.is_reliable() {
            1
        } else {
            MAX_SENDS
        };
        let mut wait = INITIAL_RTO;
        for attempt in 1..=sends {
            self.transport.send(&bytes).await?;
            // Over TCP and TLS the single send waits as long as the caller's deadline allows.
            let limit = if attempt == sends && sends > 1 {
                INITIAL_RTO * 16
            } else if sends == 1 {
                Duration::MAX
            } else {
                wait
            };
            let found = tokio::time::timeout(limit, self.answer_to(&request.transaction)).await;
            if let Ok(answer) = found {
                return answer;
            }
            wait *= 2;
        }
        Err(ClientError::NoAnswer(sends))
    }

    /// Reads until the answer to `transaction` arrives, setting the rest aside. Cancel-safe.
    async fn answer_to(&mut self, transaction: &[u8; 12]) -> Result<Message, ClientError> {
        loop {
            let message = self.recv_message().await?;
            let answer = matches!(message.class, Class::Success | Class::Error);
            if answer && &message.transaction == transaction {
                return Ok(message);
            }
            if !answer {
                if self.pending.len() == MAX_PENDING {
                    self.pending.pop_front();
                }
                self.pending.push_back(message);
            }
        }
    }

    async fn recv_message(&mut self) -> Result<Message, ClientError> {
        loop {
            let bytes = self.transport.recv().await?;
            if !message::looks_like_stun(&bytes) {
                continue;
            }
            match Message::decode(&bytes) {
                Ok(message) => return Ok(message),
                Err(error) => tracing::debug!(%error, "ignoring an undecodable message"),
            }
        }
    }
}

fn expect_success(answer: Message) -> Result<Message, ClientError> {
    match answer.class {
        Class::Success => Ok(answer),
        _ => {
            let (code, reason) = answer
                .error_code()
                .unwrap_or((0, "an error answer without ERROR-CODE".into()));
            Err(ClientError::Rejected { code, reason })
        }
    }
}

/// The address family of `ip` as `probe_ip_protocol` writes it: 4 or 6.
pub fn ip_protocol(ip: IpAddr) -> i64 {
    if ip.is_ipv4() {
        4
    } else {
        6
    }
}
