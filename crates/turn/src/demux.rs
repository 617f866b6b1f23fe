//! What a connection on a shared port speaks, from its first bytes, and the
//! USERNAME of a STUN check (which names the media worker of an ICE-TCP
//! connection). Used where the HTTPS port also takes TURN and ICE-TCP.

/// The bytes that tell the kinds apart.
pub const HEAD: usize = 10;
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// What a connection speaks, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tls,
    /// A STUN message: TURN over TCP.
    Turn,
    /// An RFC 4571 frame holding a STUN message: ICE-TCP.
    IceTcp,
    /// Nothing Tern speaks on this port (plain HTTP, say).
    Other,
    /// Too few bytes yet.
    NeedMore,
}

pub fn classify(head: &[u8]) -> Kind {
    if head.len() >= 2 && head[0] == 0x16 && head[1] == 0x03 {
        return Kind::Tls;
    }
    if head.len() >= 8 && head[0] >> 6 == 0 && head[4..8] == MAGIC_COOKIE {
        return Kind::Turn;
    }
    if head.len() >= 10 && head[2] >> 6 == 0 && head[6..10] == MAGIC_COOKIE {
        return Kind::IceTcp;
    }
    if head.len() >= HEAD {
        Kind::Other
    } else {
        Kind::NeedMore
    }
}

/// The USERNAME attribute of a STUN message, if it has one.
pub fn stun_username(msg: &[u8]) -> Option<String> {
    const USERNAME: u16 = 0x0006;
    let body_len = usize::from(u16::from_be_bytes([*msg.get(2)?, *msg.get(3)?]));
    let body = msg.get(20..20 + body_len)?;
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let value = body.get(at + 4..at + 4 + len)?;
        if kind == USERNAME {
            return String::from_utf8(value.to_vec()).ok();
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_tls_turn_and_ice_tcp_apart() {
        assert_eq!(classify(&[0x16, 0x03, 0x01]), Kind::Tls);
        let stun = [0x00, 0x03, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2];
        assert_eq!(classify(&stun), Kind::Turn);
        let framed = [0x00, 0x50, 0x00, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42];
        assert_eq!(classify(&framed), Kind::IceTcp);
        assert_eq!(classify(b"GET / HTTP/1.1\r\n"), Kind::Other);
        assert_eq!(classify(&[0x00, 0x01]), Kind::NeedMore);
    }

    #[test]
    fn the_username_of_a_binding_request() {
        let user = b"w1zabc:def";
        let mut attr = vec![0x00, 0x06, 0x00, user.len() as u8];
        attr.extend_from_slice(user);
        attr.resize(attr.len().div_ceil(4) * 4, 0);
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&(attr.len() as u16 + 8).to_be_bytes());
        msg.extend_from_slice(&MAGIC_COOKIE);
        msg.extend_from_slice(&[9; 12]);
        // PRIORITY first, then USERNAME.
        msg.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4]);
        msg.extend_from_slice(&attr);
        assert_eq!(stun_username(&msg).as_deref(), Some("w1zabc:def"));
        assert_eq!(stun_username(&msg[..30]), None);
        assert_eq!(stun_username(&[]), None);
    }
}
