//! The built-in TURN server: listeners and relay sockets around the sans-IO
//! relay of `tern-turn` ([`io`]), its configuration ([`config`]), and the
//! servers handed to clients ([`TurnService::ice`]).

mod config;
mod io;

pub use config::{TurnConfig, TurnFile};
pub use io::{start, Adopted, MediaWorkers, Stream};

use tern_signal::{IceServer, IceServers};
use tern_turn::credentials::Secret;

/// What clients are told about the TURN server.
#[derive(Debug)]
pub struct TurnService {
    secret: Secret,
    ttl_secs: u64,
    udp: Option<u16>,
    tcp: Option<u16>,
    tls: Option<u16>,
    /// The HTTPS port, which also takes TURN over TLS.
    shared: Option<u16>,
    host: Option<String>,
}

/// The id in the usernames Tern mints (REST API `{expiry}:{id}`).
const MINTED_ID: &str = "tern";

impl TurnService {
    /// The ICE servers for a client that reached Tern at `request_host` (a
    /// Host header: `name`, `name:port`, `[v6]:port`): `app`'s own, with
    /// Tern's TURN and fresh credentials. The official SDK's one URI is
    /// Tern's TURN over UDP unless the app names its own TURN server.
    pub fn ice(&self, app: &IceServers, request_host: Option<&str>, now_unix: u64) -> IceServers {
        let Some(host) = self.host.as_deref().or(request_host.map(strip_port)) else {
            return app.clone();
        };
        let minted = self.secret.mint(MINTED_ID, now_unix, self.ttl_secs);
        let ours = |scheme: &str, port: u16, transport: &str| IceServer {
            urls: format!("{scheme}:{host}:{port}?transport={transport}"),
            username: minted.username.clone(),
            credential: minted.password.clone(),
        };
        let app_uri = app.stun_server_uri.trim();
        let app_turn = app_uri.starts_with("turn");
        let mut servers = Vec::new();
        if app_uri.starts_with("stun:") {
            servers.push(IceServer {
                urls: app_uri.to_owned(),
                ..IceServer::default()
            });
        }
        servers.extend(self.udp.map(|p| ours("turn", p, "udp")));
        servers.extend(self.tcp.map(|p| ours("turn", p, "tcp")));
        servers.extend(self.tls.map(|p| ours("turns", p, "tcp")));
        servers.extend(self.shared.map(|p| ours("turns", p, "tcp")));
        if app_turn {
            servers.push(IceServer {
                urls: app_uri.to_owned(),
                username: app.turn_server_username.clone(),
                credential: app.turn_server_credential.clone(),
            });
        }
        let (uri, user, cred) = match (app_turn, self.udp.or(self.tcp)) {
            (false, Some(port)) => {
                let transport = if self.udp.is_some() {
                    ""
                } else {
                    "?transport=tcp"
                };
                (
                    format!("turn:{host}:{port}{transport}"),
                    minted.username.clone(),
                    minted.password.clone(),
                )
            }
            _ => (
                app.stun_server_uri.clone(),
                app.turn_server_username.clone(),
                app.turn_server_credential.clone(),
            ),
        };
        IceServers {
            stun_server_uri: uri,
            turn_server_username: user,
            turn_server_credential: cred,
            servers,
        }
    }
}

/// `name` of `name:port`, `[v6]` of `[v6]:port`; a bare IPv6 address stays whole.
fn strip_port(host: &str) -> &str {
    if let Some(end) = host.find(']') {
        return &host[..=end];
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(tls: Option<u16>) -> TurnService {
        TurnService {
            secret: Secret::new(b"k"),
            ttl_secs: 3600,
            udp: Some(3478),
            tcp: Some(3478),
            tls,
            shared: None,
            host: None,
        }
    }

    fn app(uri: &str) -> IceServers {
        IceServers {
            stun_server_uri: uri.into(),
            ..IceServers::default()
        }
    }

    #[test]
    fn the_official_sdk_gets_our_turn_and_ours_gets_every_server() {
        let ice = service(Some(5349)).ice(
            &app("stun:stun1.l.google.com:19302"),
            Some("media.example.com:5443"),
            1_000,
        );
        assert_eq!(ice.stun_server_uri, "turn:media.example.com:3478");
        assert!(ice.turn_server_username.ends_with(":tern"));
        assert!(!ice.turn_server_credential.is_empty());
        let urls: Vec<&str> = ice.servers.iter().map(|s| s.urls.as_str()).collect();
        assert_eq!(
            urls,
            [
                "stun:stun1.l.google.com:19302",
                "turn:media.example.com:3478?transport=udp",
                "turn:media.example.com:3478?transport=tcp",
                "turns:media.example.com:5349?transport=tcp",
            ]
        );
        assert_eq!(ice.servers[3].username, ice.turn_server_username);
    }

    #[test]
    fn an_apps_own_turn_server_stays_the_official_sdks_one() {
        let mut a = app("turn:turn.example.net:3478");
        a.turn_server_username = "u".into();
        a.turn_server_credential = "p".into();
        let ice = service(None).ice(&a, Some("[::1]:5080"), 1_000);
        assert_eq!(ice.stun_server_uri, "turn:turn.example.net:3478");
        assert_eq!(ice.turn_server_username, "u");
        assert_eq!(ice.servers[0].urls, "turn:[::1]:3478?transport=udp");
        assert_eq!(ice.servers.last().unwrap().credential, "p");
    }

    #[test]
    fn without_a_host_nothing_is_added() {
        let a = app("stun:s:1");
        assert_eq!(service(None).ice(&a, None, 1), a);
        assert_eq!(strip_port("10.0.0.1:80"), "10.0.0.1");
        assert_eq!(strip_port("name"), "name");
        assert_eq!(strip_port("::1"), "::1");
    }
}
