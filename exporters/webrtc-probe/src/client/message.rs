//! STUN messages (RFC 8489) with the TURN attributes (RFC 8656) a probe needs: encoding,
//! decoding, MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT (CRC-32).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The magic cookie every RFC 5389+ message carries.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 20;

pub const BINDING: u16 = 0x001;
pub const ALLOCATE: u16 = 0x003;
pub const REFRESH: u16 = 0x004;
pub const SEND: u16 = 0x006;
pub const DATA: u16 = 0x007;
pub const CREATE_PERMISSION: u16 = 0x008;

pub const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
pub const ATTR_USERNAME: u16 = 0x0006;
pub const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
pub const ATTR_ERROR_CODE: u16 = 0x0009;
pub const ATTR_LIFETIME: u16 = 0x000D;
pub const ATTR_XOR_PEER_ADDRESS: u16 = 0x0012;
pub const ATTR_DATA: u16 = 0x0013;
pub const ATTR_REALM: u16 = 0x0014;
pub const ATTR_NONCE: u16 = 0x0015;
pub const ATTR_XOR_RELAYED_ADDRESS: u16 = 0x0016;
pub const ATTR_REQUESTED_TRANSPORT: u16 = 0x0019;
pub const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
pub const ATTR_SOFTWARE: u16 = 0x8022;
pub const ATTR_FINGERPRINT: u16 = 0x8028;

const FINGERPRINT_XOR: u32 = 0x5354_554E;

/// The class of a message: the two class bits of the type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Request,
    Indication,
    Success,
    Error,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0x000,
            Class::Indication => 0x010,
            Class::Success => 0x100,
            Class::Error => 0x110,
        }
    }

    fn from_type(message_type: u16) -> Class {
        match message_type & 0x110 {
            0x000 => Class::Request,
            0x010 => Class::Indication,
            0x100 => Class::Success,
            _ => Class::Error,
        }
    }
}

/// Why bytes are not a STUN message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message shorter than its header ({0} bytes)")]
    Short(usize),
    #[error("not a STUN message (no magic cookie)")]
    NoCookie,
    #[error("attribute overruns the message")]
    Overrun,
}

/// One STUN message: method, class, transaction id and attributes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub method: u16,
    pub class: Class,
    pub transaction: [u8; 12],
    pub attributes: Vec<(u16, Vec<u8>)>,
}

impl Message {
    /// A new message with a random transaction id.
    pub fn new(method: u16, class: Class) -> Message {
        Message {
            method,
            class,
            transaction: rand::random(),
            attributes: Vec::new(),
        }
    }

    pub fn add(&mut self, kind: u16, value: impl Into<Vec<u8>>) -> &mut Message {
        self.attributes.push((kind, value.into()));
        self
    }

    /// The value of the first attribute of `kind`.
    pub fn get(&self, kind: u16) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_slice())
    }

    pub fn get_str(&self, kind: u16) -> Option<String> {
        self.get(kind)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The ERROR-CODE: number and reason phrase.
    pub fn error_code(&self) -> Option<(u16, String)> {
        let value = self.get(ATTR_ERROR_CODE)?;
        if value.len() < 4 {
            return None;
        }
        let code = u16::from(value[2] & 0x7) * 100 + u16::from(value[3]);
        Some((code, String::from_utf8_lossy(&value[4..]).into_owned()))
    }

    /// An XOR-encoded address attribute of `kind`, decoded.
    pub fn xor_address(&self, kind: u16) -> Option<SocketAddr> {
        decode_xor_address(self.get(kind)?, &self.transaction)
    }

    /// The reflexive address: XOR-MAPPED-ADDRESS, or the old MAPPED-ADDRESS.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        self.xor_address(ATTR_XOR_MAPPED_ADDRESS)
            .or_else(|| decode_address(self.get(ATTR_MAPPED_ADDRESS)?))
    }

    /// The wire form, with MESSAGE-INTEGRITY under `key` when given, then FINGERPRINT.
    pub fn encode(&self, key: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        let message_type = encode_type(self.method, self.class);
        out.extend_from_slice(&message_type.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&self.transaction);
        for (kind, value) in &self.attributes {
            push_attribute(&mut out, *kind, value);
        }
        if let Some(key) = key {
            // The length covers the integrity attribute itself, not what follows it.
            set_length(&mut out, 24);
            let mac = hmac_sha1(key, &out);
            push_attribute(&mut out, ATTR_MESSAGE_INTEGRITY, &mac);
        }
        set_length(&mut out, 8);
        let crc = crc32fast::hash(&out) ^ FINGERPRINT_XOR;
        push_attribute(&mut out, ATTR_FINGERPRINT, &crc.to_be_bytes());
        out
    }

    /// Parses one message that fills `bytes` exactly (padding included).
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::Short(bytes.len()));
        }
        if u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) != MAGIC_COOKIE {
            return Err(DecodeError::NoCookie);
        }
        let message_type = u16::from_be_bytes([bytes[0], bytes[1]]);
        let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let body = bytes
            .get(HEADER_LEN..HEADER_LEN + length)
            .ok_or(DecodeError::Overrun)?;
        let mut transaction = [0u8; 12];
        transaction.copy_from_slice(&bytes[8..20]);
        Ok(Message {
            method: decode_method(message_type),
            class: Class::from_type(message_type),
            transaction,
            attributes: decode_attributes(body)?,
        })
    }
}

/// Whether `bytes` start like a STUN message rather than TURN ChannelData.
pub fn looks_like_stun(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN
        && bytes[0] & 0xC0 == 0
        && u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) == MAGIC_COOKIE
}

/// The long-term credential key: MD5(username ":" realm ":" password).
pub fn long_term_key(username: &str, realm: &str, password: &str) -> Vec<u8> {
    use md5::{Digest, Md5};
    Md5::digest(format!("{username}:{realm}:{password}")).to_vec()
}

pub fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// An XOR-PEER-ADDRESS (or any XOR address) value for `address`.
pub fn encode_xor_address(address: SocketAddr, transaction: &[u8; 12]) -> Vec<u8> {
    let port = address.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let mut out = Vec::with_capacity(20);
    match address.ip() {
        IpAddr::V4(ip) => {
            out.extend_from_slice(&[0, 1]);
            out.extend_from_slice(&port.to_be_bytes());
            let bits = u32::from(ip) ^ MAGIC_COOKIE;
            out.extend_from_slice(&bits.to_be_bytes());
        }
        IpAddr::V6(ip) => {
            out.extend_from_slice(&[0, 2]);
            out.extend_from_slice(&port.to_be_bytes());
            let mask = xor_mask(transaction);
            out.extend(ip.octets().iter().zip(mask).map(|(a, b)| a ^ b));
        }
    }
    out
}

fn xor_mask(transaction: &[u8; 12]) -> [u8; 16] {
    let mut mask = [0u8; 16];
    mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    mask[4..].copy_from_slice(transaction);
    mask
}

fn decode_xor_address(value: &[u8], transaction: &[u8; 12]) -> Option<SocketAddr> {
    let plain = decode_address(value)?;
    let port = plain.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let ip = match plain.ip() {
        IpAddr::V4(ip) => IpAddr::V4(Ipv4Addr::from(u32::from(ip) ^ MAGIC_COOKIE)),
        IpAddr::V6(ip) => {
            let mask = xor_mask(transaction);
            let mut octets = ip.octets();
            octets.iter_mut().zip(mask).for_each(|(a, b)| *a ^= b);
            IpAddr::V6(Ipv6Addr::from(octets))
        }
    };
    Some(SocketAddr::new(ip, port))
}

fn decode_address(value: &[u8]) -> Option<SocketAddr> {
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    match value.get(1)? {
        1 => {
            let octets: [u8; 4] = value.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::new(Ipv4Addr::from(octets).into(), port))
        }
        2 => {
            let octets: [u8; 16] = value.get(4..20)?.try_into().ok()?;
            Some(SocketAddr::new(Ipv6Addr::from(octets).into(), port))
        }
        _ => None,
    }
}

fn encode_type(method: u16, class: Class) -> u16 {
    let m = method & 0x0FFF;
    ((m & 0x0F80) << 2) | ((m & 0x0070) << 1) | (m & 0x000F) | class.bits()
}

fn decode_method(message_type: u16) -> u16 {
    ((message_type & 0x3E00) >> 2) | ((message_type & 0x00E0) >> 1) | (message_type & 0x000F)
}

fn push_attribute(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + padding(value.len()), 0);
}

/// Sets the header length to the current body plus `extra` bytes still to come.
fn set_length(out: &mut [u8], extra: usize) {
    let length = (out.len() - HEADER_LEN + extra) as u16;
    out[2..4].copy_from_slice(&length.to_be_bytes());
}

fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

fn decode_attributes(mut body: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, DecodeError> {
    let mut attributes = Vec::new();
    while body.len() >= 4 {
        let kind = u16::from_be_bytes([body[0], body[1]]);
        let len = usize::from(u16::from_be_bytes([body[2], body[3]]));
        let value = body.get(4..4 + len).ok_or(DecodeError::Overrun)?;
        attributes.push((kind, value.to_vec()));
        body = body.get(4 + len + padding(len)..).unwrap_or(&[]);
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_encoding_and_decoding() {
        let mut request = Message::new(ALLOCATE, Class::Request);
        request.add(ATTR_REQUESTED_TRANSPORT, [17, 0, 0, 0]);
        request.add(ATTR_USERNAME, "probe");
        let decoded = Message::decode(&request.encode(Some(b"key"))).unwrap();
        assert_eq!(decoded.method, ALLOCATE);
        assert_eq!(decoded.class, Class::Request);
        assert_eq!(decoded.transaction, request.transaction);
        assert_eq!(decoded.get_str(ATTR_USERNAME).as_deref(), Some("probe"));
        assert!(decoded.get(ATTR_MESSAGE_INTEGRITY).is_some());
        assert!(decoded.get(ATTR_FINGERPRINT).is_some());
    }

    #[test]
    fn types_follow_the_rfc_bit_layout() {
        assert_eq!(encode_type(BINDING, Class::Request), 0x0001);
        assert_eq!(encode_type(BINDING, Class::Success), 0x0101);
        assert_eq!(encode_type(ALLOCATE, Class::Error), 0x0113);
        assert_eq!(encode_type(DATA, Class::Indication), 0x0017);
        assert_eq!(decode_method(0x0113), ALLOCATE);
    }

    #[test]
    fn xor_addresses_round_trip_for_both_families() {
        let transaction = [7u8; 12];
        for address in ["192.0.2.1:3478", "[2001:db8::1]:49152"] {
            let address: SocketAddr = address.parse().unwrap();
            let value = encode_xor_address(address, &transaction);
            assert_eq!(decode_xor_address(&value, &transaction), Some(address));
        }
    }

    #[test]
    fn error_codes_are_read_with_their_reason() {
        let mut answer = Message::new(ALLOCATE, Class::Error);
        answer.add(ATTR_ERROR_CODE, [0, 0, 4, 1, b'U', b'n']);
        assert_eq!(answer.error_code(), Some((401, "Un".to_string())));
    }

    #[test]
    fn the_long_term_key_is_the_md5_of_user_realm_and_password() {
        let key = long_term_key("user", "realm", "pass");
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "8493fbc53ba582fb4c044c456bdc40eb");
    }
}
