//! What Tern decides before a client's request reaches the TURN protocol
//! core: it teaches the core each REST username it meets (the core knows only
//! a fixed user list), refuses allocations with expired credentials, over a
//! quota, and permissions or channels toward peers the policy forbids, each
//! with the error RFC 8656 names, signed like the core's own answers.

use std::collections::HashMap;

use turn_server_proto::types::attribute::XorPeerAddress;
use turn_server_proto::types::message::{ALLOCATE, CHANNEL_BIND, CONNECT, CREATE_PERMISSION};
use turn_server_proto::types::stun::attribute::{
    Attribute, AttributeFromRaw, AttributeStaticType, ErrorCode, Realm, Username,
};
use turn_server_proto::types::stun::message::{
    IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageIntegrityCredentials,
    MessageWrite, MessageWriteExt, MessageWriteVec,
};

use crate::credentials::{expiry_of, Secret};
use crate::policy::Policy;

/// What to do with one message from a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the protocol core.
    Pass,
    /// Answer with this error response instead; `peer` is the forbidden
    /// peer of a 403.
    Refuse {
        code: u16,
        response: Vec<u8>,
        peer: Option<std::net::SocketAddr>,
    },
}

/// A user the protocol core must learn before it sees the message.
#[derive(Debug, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub password: String,
}

/// What the gate knows of the rest of the relay for one message.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now_unix: u64,
    pub policy: &'a Policy,
    /// The client (or the relay as a whole) holds all the allocations it may.
    pub quota_full: bool,
}

#[derive(Debug)]
pub struct Gate {
    secret: Secret,
    realm: String,
    /// REST usernames already taught to the core, with their expiry.
    known: HashMap<String, u64>,
}

impl Gate {
    pub fn new(secret: Secret, realm: String) -> Gate {
        Gate {
            secret,
            realm,
            known: HashMap::new(),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Looks at one message from a client.
    pub fn inspect(&mut self, data: &[u8], cx: Context<'_>) -> (Verdict, Option<NewUser>) {
        let Ok(msg) = Message::from_bytes(data) else {
            // ChannelData, or garbage the core drops.
            return (Verdict::Pass, None);
        };
        if !msg.has_class(MessageClass::Request) {
            return (Verdict::Pass, None);
        }
        let Some(username) = msg
            .attribute::<Username>()
            .ok()
            .map(|u| u.username().to_owned())
        else {
            // The first Allocate carries no credentials: the core asks for them.
            return (Verdict::Pass, None);
        };
        let Some(expires_at) = expiry_of(&username) else {
            return (Verdict::Pass, None);
        };
        let method = msg.method();
        let expired = expires_at < cx.now_unix;
        if expired && method == ALLOCATE {
            // A live allocation may go on with the credentials it was made
            // with; a new one needs fresh ones.
            return (self.refuse(&msg, ErrorCode::UNAUTHORIZED, None), None);
        }
        let password = self.secret.password(&username);
        let new_user = (!expired && !self.known.contains_key(&username)).then(|| {
            self.known.insert(username.clone(), expires_at);
            NewUser {
                username: username.clone(),
                password: password.clone(),
            }
        });
        let key: MessageIntegrityCredentials =
            LongTermKeyCredentials::new(username, password, self.realm.clone()).into();
        // Only an authenticated request is refused here: the core answers
        // the others (401 with a nonce).
        let Ok(algorithm) = msg.validate_integrity(&key) else {
            return (Verdict::Pass, new_user);
        };
        let forbidden = if method == CREATE_PERMISSION {
            peers(&msg).find(|p| !cx.policy.allows_ip(p.ip()))
        } else if method == CHANNEL_BIND || method == CONNECT {
            peers(&msg).find(|p| !cx.policy.allows(*p))
        } else {
            None
        };
        let verdict = if let Some(peer) = forbidden {
            match self.refuse(&msg, ErrorCode::FORBIDDEN, Some((&key, algorithm))) {
                Verdict::Refuse { code, response, .. } => Verdict::Refuse {
                    code,
                    response,
                    peer: Some(peer),
                },
                pass => pass,
            }
        } else if method == ALLOCATE && cx.quota_full {
            self.refuse(
                &msg,
                ErrorCode::ALLOCATION_QUOTA_REACHED,
                Some((&key, algorithm)),
            )
        } else {
            Verdict::Pass
        };
        (verdict, new_user)
    }

    fn refuse(
        &self,
        msg: &Message<'_>,
        code: u16,
        sign: Option<(&MessageIntegrityCredentials, IntegrityAlgorithm)>,
    ) -> Verdict {
        let mut b = Message::builder_error(msg, MessageWriteVec::with_capacity(128));
        let built = (|| {
            let error = ErrorCode::builder(code).build()?;
            b.add_attribute(&error)?;
            match sign {
                Some((key, algorithm)) => b.add_message_integrity(key, algorithm)?,
                None => b.add_attribute(&Realm::new(&self.realm)?)?,
            }
            b.add_fingerprint()
        })();
        match built {
            Ok(()) => Verdict::Refuse {
                code,
                response: b.finish(),
                peer: None,
            },
            // Nothing a client sends makes these fail; let the core answer.
            Err(_) => Verdict::Pass,
        }
    }
}

fn peers<'a>(msg: &'a Message<'a>) -> impl Iterator<Item = std::net::SocketAddr> + 'a {
    let tid = msg.transaction_id();
    msg.iter_attributes()
        .filter(|(_, a)| a.get_type() == XorPeerAddress::TYPE)
        .filter_map(move |(_, a)| XorPeerAddress::from_raw(a).ok().map(|x| x.addr(tid)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use turn_server_proto::types::attribute::RequestedTransport;
    use turn_server_proto::types::stun::attribute::Nonce;

    const REALM: &str = "tern";
    const NOW: u64 = 1_800_000_000;

    fn gate() -> Gate {
        Gate::new(Secret::new(b"s3cret"), REALM.into())
    }

    fn policy() -> Policy {
        Policy::new(["10.0.0.5:50000".parse().unwrap()], vec![])
    }

    /// A signed request as a TURN client sends it after the 401 round trip.
    fn request(
        method: turn_server_proto::types::stun::message::Method,
        username: &str,
        password: &str,
        peer: Option<&str>,
    ) -> Vec<u8> {
        let mut b = Message::builder_request(method, MessageWriteVec::new());
        let tid = b.transaction_id();
        b.add_attribute(&Username::new(username).unwrap()).unwrap();
        b.add_attribute(&Realm::new(REALM).unwrap()).unwrap();
        b.add_attribute(&Nonce::new("n0nce").unwrap()).unwrap();
        if method == ALLOCATE {
            b.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .unwrap();
        }
        if let Some(p) = peer {
            b.add_attribute(&XorPeerAddress::new(p.parse().unwrap(), tid))
                .unwrap();
        }
        let key: MessageIntegrityCredentials =
            LongTermKeyCredentials::new(username.into(), password.into(), REALM.into()).into();
        b.add_message_integrity(&key, IntegrityAlgorithm::Sha1)
            .unwrap();
        b.finish()
    }

    fn cx(p: &Policy, quota_full: bool) -> Context<'_> {
        Context {
            now_unix: NOW,
            policy: p,
            quota_full,
        }
    }

    fn code_of(v: &Verdict) -> u16 {
        match v {
            Verdict::Refuse { code, response, .. } => {
                let msg = Message::from_bytes(response).unwrap();
                assert!(msg.has_class(MessageClass::Error));
                assert_eq!(msg.attribute::<ErrorCode>().unwrap().code(), *code);
                *code
            }
            Verdict::Pass => 0,
        }
    }

    #[test]
    fn a_valid_rest_user_is_taught_to_the_core_once() {
        let (mut g, p) = (gate(), policy());
        let m = g.secret().mint("alice", NOW, 3600);
        let req = request(ALLOCATE, &m.username, &m.password, None);
        let (v, user) = g.inspect(&req, cx(&p, false));
        assert_eq!(v, Verdict::Pass);
        assert_eq!(
            user,
            Some(NewUser {
                username: m.username.clone(),
                password: m.password.clone()
            })
        );
        assert_eq!(g.inspect(&req, cx(&p, false)).1, None);
    }

    #[test]
    fn permissions_toward_other_hosts_get_a_signed_403() {
        let (mut g, p) = (gate(), policy());
        let m = g.secret().mint("alice", NOW, 3600);
        let ok = request(
            CREATE_PERMISSION,
            &m.username,
            &m.password,
            Some("10.0.0.5:9"),
        );
        assert_eq!(g.inspect(&ok, cx(&p, false)).0, Verdict::Pass);
        let bad = request(
            CREATE_PERMISSION,
            &m.username,
            &m.password,
            Some("127.0.0.1:6379"),
        );
        let (v, _) = g.inspect(&bad, cx(&p, false));
        assert_eq!(code_of(&v), 403);
        let Verdict::Refuse { response, .. } = v else {
            unreachable!()
        };
        let key: MessageIntegrityCredentials =
            LongTermKeyCredentials::new(m.username, m.password, REALM.into()).into();
        assert!(Message::from_bytes(&response)
            .unwrap()
            .validate_integrity(&key)
            .is_ok());
        // A channel must name a media socket, port included.
        let m = g.secret().mint("bob", NOW, 3600);
        let bad = request(CHANNEL_BIND, &m.username, &m.password, Some("10.0.0.5:22"));
        assert_eq!(code_of(&g.inspect(&bad, cx(&p, false)).0), 403);
    }

    #[test]
    fn expired_credentials_make_no_new_allocation() {
        let (mut g, p) = (gate(), policy());
        let m = g.secret().mint("alice", NOW - 7200, 60);
        let req = request(ALLOCATE, &m.username, &m.password, None);
        let (v, user) = g.inspect(&req, cx(&p, false));
        assert_eq!(code_of(&v), 401);
        assert_eq!(user, None);
    }

    #[test]
    fn a_full_quota_gets_486_and_bad_integrity_goes_to_the_core() {
        let (mut g, p) = (gate(), policy());
        let m = g.secret().mint("alice", NOW, 3600);
        let req = request(ALLOCATE, &m.username, &m.password, None);
        assert_eq!(code_of(&g.inspect(&req, cx(&p, true)).0), 486);
        // Wrong password: not ours to answer (the core says 401 with a nonce),
        // and no refusal that would tell a prober which peers exist.
        let wrong = request(CREATE_PERMISSION, &m.username, "guess", Some("127.0.0.1:1"));
        assert_eq!(g.inspect(&wrong, cx(&p, false)).0, Verdict::Pass);
    }

    #[test]
    fn garbage_and_channel_data_pass_untouched() {
        let (mut g, p) = (gate(), policy());
        for data in [&[][..], &[0x40, 0, 0, 1, 9][..], &[0xff; 40][..]] {
            assert_eq!(g.inspect(data, cx(&p, false)), (Verdict::Pass, None));
        }
    }
}
