//! Scenarios of the session logic, with time as an input and the media layer
//! played by the test.

use std::time::{Duration, Instant};

use tern_signal::{parse, ClientMessage};

use crate::*;

struct World {
    core: Core,
    now: Instant,
    /// Frames sent, as (session, json).
    sent: Vec<(SessionId, serde_json::Value)>,
    media: Vec<MediaCommand>,
    closed: Vec<SessionId>,
    /// Sessions the driver was asked to ping.
    watched: Vec<SessionId>,
}

impl World {
    fn new() -> Self {
        World {
            core: Core::new(),
            now: Instant::now(),
            sent: Vec::new(),
            media: Vec::new(),
            closed: Vec::new(),
            watched: Vec::new(),
        }
    }

    fn open(&mut self) -> SessionId {
        self.core
            .open_session(self.now, "LiveApp", AppSettings::default())
    }

    fn tick(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
    }

    fn drain(&mut self) {
        while let Some(o) = self.core.poll_output() {
            match o {
                Output::Send { to, msg } => self.sent.push((to, msg.to_json())),
                Output::Media(cmd) => self.media.push(cmd),
                Output::CloseSession { session, .. } => self.closed.push(session),
                Output::WatchSocket { session } => self.watched.push(session),
            }
        }
    }

    /// Sends one raw frame, as the server's WebSocket task would.
    fn frame(&mut self, s: SessionId, text: &str) {
        match parse(text) {
            Ok(m) => self.core.handle_message(self.now, s, m),
            Err(e) => self.core.handle_parse_error(self.now, s, e),
        }
        self.drain();
    }

    fn event(&mut self, e: MediaEvent) {
        self.core.handle_media_event(self.now, e);
        self.drain();
    }

    fn take_sent(&mut self, s: SessionId) -> Vec<serde_json::Value> {
        let (mine, rest) = std::mem::take(&mut self.sent)
            .into_iter()
            .partition(|(to, _)| *to == s);
        self.sent = rest;
        mine.into_iter().map(|(_, v)| v).collect()
    }

    fn take_media(&mut self) -> Vec<MediaCommand> {
        std::mem::take(&mut self.media)
    }

    /// Definitions (or commands) of what `s` got, in order.
    fn heard(&mut self, s: SessionId) -> Vec<String> {
        self.take_sent(s)
            .iter()
            .map(|v| match v["command"].as_str().unwrap_or("") {
                "notification" | "error" => v["definition"].as_str().unwrap_or("").to_owned(),
                c => c.to_owned(),
            })
            .collect()
    }

    /// publish → start → offer → media answer → connected. Returns the peer.
    fn live_publisher(&mut self, s: SessionId, id: &str) -> PeerId {
        self.frame(s, &format!(r#"{{"command":"publish","streamId":"{id}"}}"#));
        self.frame(
            s,
            &format!(r#"{{"command":"takeConfiguration","streamId":"{id}","type":"offer","sdp":"v=0 offer"}}"#),
        );
        let peer = match self.take_media().pop() {
            Some(MediaCommand::OpenPublisher { peer, offer, .. }) => {
                assert_eq!(offer, "v=0 offer");
                peer
            }
            other => panic!("expected OpenPublisher, got {other:?}"),
        };
        self.event(MediaEvent::Answer {
            peer,
            sdp: "v=0 answer".into(),
            candidates: LocalCandidates {
                mid: "0".into(),
                lines: vec!["candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into()],
            },
        });
        self.event(MediaEvent::Connected { peer });
        peer
    }

    /// The media layer's offer for the last OpenPlayer, then the page's answer
    /// and the connection. Returns the player peer.
    fn connect_player(&mut self, s: SessionId, id: &str) -> PeerId {
        let peer = match self.take_media().pop() {
            Some(MediaCommand::OpenPlayer { peer, .. }) => peer,
            other => panic!("expected OpenPlayer, got {other:?}"),
        };
        self.event(MediaEvent::Offer {
            peer,
            sdp: "v=0 player offer".into(),
            id_mapping: vec![
                ("0".into(), format!("ARDAMSa{id}")),
                ("1".into(), format!("ARDAMSv{id}")),
            ],
            candidates: LocalCandidates::default(),
        });
        self.frame(
            s,
            &format!(r#"{{"command":"takeConfiguration","streamId":"{id}","type":"answer","sdp":"v=0 ans"}}"#),
        );
        assert!(matches!(
            self.take_media().as_slice(),
            [MediaCommand::ApplyAnswer { .. }]
        ));
        self.event(MediaEvent::Connected { peer });
        peer
    }
}

#[test]
fn ping_and_ice_config() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, r#"{"command":"ping"}"#);
    w.frame(s, r#"{"command":"getIceServerConfig"}"#);
    let got = w.take_sent(s);
    assert_eq!(got[0], serde_json::json!({"command":"pong"}));
    assert_eq!(got[1]["command"], "iceServerConfig");
    assert!(got[1]["stunServerUri"]
        .as_str()
        .unwrap()
        .starts_with("stun:"));
}

#[test]
fn publish_then_two_players_then_stop() {
    let mut w = World::new();
    let publisher = w.open();
    let p1 = w.open();
    let p2 = w.open();
    w.live_publisher(publisher, "cam");
    assert_eq!(
        w.heard(publisher),
        [
            "start",
            "takeConfiguration",
            "takeCandidate",
            "publish_started"
        ]
    );

    for p in [p1, p2] {
        w.frame(p, r#"{"command":"play","streamId":"cam"}"#);
        w.connect_player(p, "cam");
        let got = w.take_sent(p);
        assert_eq!(got[0]["type"], "offer");
        assert_eq!(got[0]["idMapping"]["1"], "ARDAMSvcam");
        assert_eq!(got.last().unwrap()["definition"], "play_started");
    }

    w.frame(publisher, r#"{"command":"stop","streamId":"cam"}"#);
    assert_eq!(w.heard(publisher), ["publish_finished"]);
    assert_eq!(w.heard(p1), ["play_finished"]);
    assert_eq!(w.heard(p2), ["play_finished"]);
    let closes = w
        .take_media()
        .into_iter()
        .filter(|m| matches!(m, MediaCommand::Close { .. }))
        .count();
    assert_eq!(closes, 3, "publisher and both players freed");
    assert_eq!(w.core.counts(), (3, 0, 0));
}

#[test]
fn stop_frees_state_for_the_sdk_retry() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, r#"{"command":"publish","streamId":"a"}"#);
    w.frame(s, r#"{"command":"publish","streamId":"a"}"#);
    assert_eq!(w.heard(s), ["start", "already_publishing"]);
    // The SDK's watchdog: stop, then publish again 500 ms later, forever.
    for _ in 0..5 {
        w.frame(s, r#"{"command":"stop","streamId":"a"}"#);
        w.tick(500);
        w.frame(s, r#"{"command":"publish","streamId":"a"}"#);
        w.tick(3000);
    }
    assert_eq!(w.heard(s), ["publish_finished", "start"].repeat(5));
    assert_eq!(
        w.core.counts(),
        (1, 1, 1),
        "one peer, one stream: nothing piles up"
    );
}

#[test]
fn stop_of_unknown_id_is_silent() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, r#"{"command":"stop","streamId":"nothing"}"#);
    assert!(w.heard(s).is_empty());
    assert!(w.take_media().is_empty());
}

#[test]
fn stream_id_in_use_by_another_session() {
    let mut w = World::new();
    let a = w.open();
    let b = w.open();
    w.frame(a, r#"{"command":"publish","streamId":"x"}"#);
    w.frame(b, r#"{"command":"publish","streamId":"x"}"#);
    let got = w.take_sent(b);
    assert_eq!(got[0]["definition"], "streamIdInUse");
    assert_eq!(got[0]["streamId"], "x");
    // Once a stops, b may publish.
    w.frame(a, r#"{"command":"stop","streamId":"x"}"#);
    w.frame(b, r#"{"command":"publish","streamId":"x"}"#);
    assert_eq!(w.heard(b), ["start"]);
}

#[test]
fn same_id_in_two_apps_does_not_collide() {
    let mut w = World::new();
    let a = w.open();
    let b = w
        .core
        .open_session(w.now, "WebRTCAppEE", AppSettings::default());
    w.frame(a, r#"{"command":"publish","streamId":"x"}"#);
    w.frame(b, r#"{"command":"publish","streamId":"x"}"#);
    assert_eq!(w.heard(b), ["start"]);
}

#[test]
fn missing_and_invalid_stream_ids() {
    let mut w = World::new();
    let s = w.open();
    for cmd in [
        "publish",
        "play",
        "stop",
        "getStreamInfo",
        "takeConfiguration",
        "takeCandidate",
    ] {
        w.frame(s, &format!(r#"{{"command":"{cmd}","streamId":""}}"#));
        let got = w.take_sent(s);
        assert_eq!(got[0]["definition"], "noStreamNameSpecified", "{cmd}");
        assert!(got[0].get("streamId").is_none());
    }
    w.frame(s, r#"{"command":"publish","streamId":"bad id!"}"#);
    let got = w.take_sent(s);
    assert_eq!(got[0]["definition"], "invalidStreamName");
    assert_eq!(got[0]["streamId"], "bad id!");
}

#[test]
fn malformed_frames_get_a_clear_error_and_the_session_lives_on() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, "{not json");
    w.frame(
        s,
        r#"{"command":"takeConfiguration","streamId":"a","type":"offer"}"#,
    );
    let got = w.take_sent(s);
    assert_eq!(got[0]["definition"], "malformed_message");
    assert!(got[0]["information"].as_str().unwrap().contains("JSON"));
    assert_eq!(got[1]["definition"], "malformed_message");
    assert!(got[1]["information"].as_str().unwrap().contains("sdp"));
    w.frame(s, r#"{"command":"ping"}"#);
    assert_eq!(w.heard(s), ["pong"]);
}

#[test]
fn unknown_commands_are_ignored() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, r#"{"command":"teleport","streamId":"a"}"#);
    assert!(w.heard(s).is_empty());
}

#[test]
fn play_before_publish_waits_and_starts_when_live() {
    let mut w = World::new();
    let player = w.open();
    let publisher = w.open();
    w.frame(player, r#"{"command":"play","streamId":"late"}"#);
    let got = w.take_sent(player);
    assert_eq!(got[0]["definition"], "no_stream_exist");
    assert_eq!(got[0]["error_code"], "404");
    assert!(w.take_media().is_empty());

    w.tick(1200);
    w.live_publisher(publisher, "late");
    // The waiting player is told and gets its offer without asking again.
    assert!(w.heard(player).contains(&"streaming_started".to_string()));
    w.connect_player(player, "late");
    assert_eq!(w.heard(player), ["takeConfiguration", "play_started"]);
}

#[test]
fn waiting_player_that_stops_or_leaves_is_forgotten() {
    let mut w = World::new();
    let a = w.open();
    let b = w.open();
    let publisher = w.open();
    w.frame(a, r#"{"command":"play","streamId":"s"}"#);
    w.frame(b, r#"{"command":"play","streamId":"s"}"#);
    w.frame(a, r#"{"command":"stop","streamId":"s"}"#);
    w.core.close_session(w.now, b);
    w.heard(a);
    w.live_publisher(publisher, "s");
    assert!(w.heard(a).is_empty());
    assert!(w.take_media().is_empty(), "no player opened");
}

#[test]
fn play_twice_is_already_playing() {
    let mut w = World::new();
    let publisher = w.open();
    let p = w.open();
    w.live_publisher(publisher, "s");
    w.frame(p, r#"{"command":"play","streamId":"s"}"#);
    w.frame(p, r#"{"command":"play","streamId":"s"}"#);
    let got = w.take_sent(p);
    assert_eq!(got[0]["definition"], "already_playing");
    // stop + play (the SDK's retry) works.
    w.take_media();
    w.frame(p, r#"{"command":"stop","streamId":"s"}"#);
    w.frame(p, r#"{"command":"play","streamId":"s"}"#);
    assert_eq!(w.heard(p), ["play_finished"]);
    assert!(matches!(
        w.take_media().as_slice(),
        [MediaCommand::Close { .. }, MediaCommand::OpenPlayer { .. }]
    ));
}

#[test]
fn publisher_socket_closing_ends_the_stream_after_the_restore_window() {
    let mut w = World::new();
    let publisher = w.open();
    let p = w.open();
    w.live_publisher(publisher, "s");
    w.frame(p, r#"{"command":"play","streamId":"s"}"#);
    w.connect_player(p, "s");
    w.heard(p);
    w.heard(publisher);
    w.core.close_session(w.now, publisher);
    w.drain();
    assert!(w.heard(p).is_empty(), "players wait for a republish");
    assert!(
        w.take_sent(publisher).is_empty(),
        "nothing is sent to a closed socket"
    );
    assert_eq!(w.core.poll_timeout(), Some(w.now + Duration::from_secs(10)));
    w.tick(9_999);
    w.core.handle_timeout(w.now);
    w.drain();
    assert!(w.heard(p).is_empty());
    w.tick(1);
    w.core.handle_timeout(w.now);
    w.drain();
    assert_eq!(w.heard(p), ["play_finished"]);
    assert_eq!(w.core.counts(), (1, 0, 0));
    assert_eq!(w.core.poll_timeout(), None);
}

#[test]
fn a_republish_within_the_window_restores_the_session() {
    let mut w = World::new();
    let old_socket = w.open();
    let p = w.open();
    let old = w.live_publisher(old_socket, "s");
    w.frame(p, r#"{"command":"play","streamId":"s"}"#);
    let player = w.connect_player(p, "s");
    w.heard(p);
    w.core.close_session(w.now, old_socket);
    w.drain();
    w.take_media();
    w.tick(4_000);
    // The page comes back on a new socket after a network change.
    let new_socket = w.open();
    w.frame(new_socket, r#"{"command":"publish","streamId":"s"}"#);
    w.frame(
        new_socket,
        r#"{"command":"takeConfiguration","streamId":"s","type":"offer","sdp":"v=0"}"#,
    );
    let Some(MediaCommand::OpenPublisher { peer: new, .. }) = w.take_media().pop() else {
        panic!()
    };
    w.event(MediaEvent::Connected { peer: new });
    assert_eq!(w.heard(new_socket), ["start", "session_restored"]);
    assert_eq!(
        w.take_media(),
        vec![MediaCommand::SwitchSource {
            peer: player,
            from: old,
            to: new
        }]
    );
    assert!(w.heard(p).is_empty(), "no play_finished for the player");
    w.tick(60_000);
    w.core.handle_timeout(w.now);
    w.drain();
    assert!(w.heard(p).is_empty(), "the restored stream lives on");
    // Another socket still cannot take the id.
    let other = w.open();
    w.frame(other, r#"{"command":"publish","streamId":"s"}"#);
    assert_eq!(w.heard(other), ["streamIdInUse"]);
}

#[test]
fn publisher_ice_failure_waits_then_ends_the_stream() {
    let mut w = World::new();
    let publisher = w.open();
    let p = w.open();
    let peer = w.live_publisher(publisher, "s");
    w.frame(p, r#"{"command":"play","streamId":"s"}"#);
    w.connect_player(p, "s");
    w.heard(p);
    w.event(MediaEvent::Disconnected {
        peer,
        reason: "ICE disconnected".into(),
    });
    assert!(w.heard(p).is_empty());
    w.tick(10_000);
    w.core.handle_timeout(w.now);
    w.drain();
    assert_eq!(w.heard(p), ["play_finished"]);
    assert_eq!(w.core.counts(), (2, 0, 0));
}

#[test]
fn a_publish_that_never_reaches_media_times_out() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, r#"{"command":"publish","streamId":"slow"}"#);
    w.heard(s);
    w.tick(9_000);
    w.core.handle_timeout(w.now);
    w.drain();
    assert!(w.heard(s).is_empty());
    w.tick(1_000);
    w.core.handle_timeout(w.now);
    w.drain();
    assert_eq!(w.heard(s), ["publishTimeoutError"]);
    assert_eq!(w.core.counts(), (1, 0, 0));
    // The id is free again.
    w.frame(s, r#"{"command":"publish","streamId":"slow"}"#);
    assert_eq!(w.heard(s), ["start"]);
}

#[test]
fn a_publisher_whose_media_stops_is_dropped() {
    let mut w = World::new();
    let s = w.open();
    let peer = w.live_publisher(s, "quiet");
    w.heard(s);
    w.event(MediaEvent::NoMedia { peer });
    assert_eq!(
        w.heard(s),
        ["noPacketReceivedForTimeoutDuration", "publish_finished"]
    );
    assert_eq!(w.core.counts(), (1, 0, 0));
}

#[test]
fn sdp_failures_map_to_their_errors() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, r#"{"command":"publish","streamId":"a"}"#);
    w.frame(
        s,
        r#"{"command":"takeConfiguration","streamId":"a","type":"offer","sdp":"garbage"}"#,
    );
    let Some(MediaCommand::OpenPublisher { peer, .. }) = w.take_media().pop() else {
        panic!()
    };
    w.event(MediaEvent::SdpFailed {
        peer,
        failure: SdpFailure::Remote("the offer does not parse".into()),
    });
    let got = w.take_sent(s);
    let err = got.last().unwrap();
    assert_eq!(err["definition"], "notSetRemoteDescription");
    assert_eq!(err["streamId"], "a");

    // The id is free again: a corrected publish works, and a local failure maps
    // to notSetLocalDescription.
    w.frame(s, r#"{"command":"publish","streamId":"a"}"#);
    w.frame(
        s,
        r#"{"command":"takeConfiguration","streamId":"a","type":"offer","sdp":"v=0 vp9 only"}"#,
    );
    let Some(MediaCommand::OpenPublisher { peer, .. }) = w.take_media().pop() else {
        panic!()
    };
    w.event(MediaEvent::SdpFailed {
        peer,
        failure: SdpFailure::Local("no video codec in common".into()),
    });
    let got = w.take_sent(s);
    assert_eq!(got.last().unwrap()["definition"], "notSetLocalDescription");
    assert_eq!(w.core.counts(), (1, 0, 0));
}

#[test]
fn sdp_out_of_order_is_ignored() {
    let mut w = World::new();
    let s = w.open();
    // An answer for a stream nobody plays, an offer before publish.
    w.frame(
        s,
        r#"{"command":"takeConfiguration","streamId":"a","type":"answer","sdp":"v=0"}"#,
    );
    w.frame(
        s,
        r#"{"command":"takeConfiguration","streamId":"a","type":"offer","sdp":"v=0"}"#,
    );
    w.frame(
        s,
        r#"{"command":"takeCandidate","streamId":"a","label":0,"candidate":"candidate:x"}"#,
    );
    assert!(w.take_media().is_empty());
    assert!(w.heard(s).is_empty());
}

#[test]
fn candidates_reach_the_right_peer_and_empty_ones_are_dropped() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, r#"{"command":"publish","streamId":"a"}"#);
    w.frame(
        s,
        r#"{"command":"takeConfiguration","streamId":"a","type":"offer","sdp":"v=0"}"#,
    );
    let Some(MediaCommand::OpenPublisher { peer, .. }) = w.take_media().pop() else {
        panic!()
    };
    w.frame(s, r#"{"command":"takeCandidate","streamId":"a","label":0,"id":"0","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}"#);
    w.frame(
        s,
        r#"{"command":"takeCandidate","streamId":"a","label":null,"id":null,"candidate":""}"#,
    );
    assert_eq!(
        w.take_media(),
        vec![MediaCommand::AddCandidate {
            peer,
            candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host".into()
        }]
    );
}

#[test]
fn stream_info_live_and_not() {
    let mut w = World::new();
    let s = w.open();
    w.frame(s, r#"{"command":"getStreamInfo","streamId":"s"}"#);
    assert_eq!(w.take_sent(s)[0]["definition"], "no_stream_exist");
    let peer = w.live_publisher(s, "s");
    w.heard(s);
    w.event(MediaEvent::SourceInfo {
        peer,
        info: vec![tern_signal::StreamInfo {
            width: 640,
            height: 480,
            video_bitrate: 900_000,
            audio_bitrate: 40_000,
            video_codec: "VP8".into(),
            fps: 0,
            b_frames: false,
        }],
    });
    w.frame(s, r#"{"command":"getStreamInfo","streamId":"s"}"#);
    let got = w.take_sent(s);
    assert_eq!(got[0]["command"], "streamInformation");
    assert_eq!(got[0]["streamInfo"][0]["streamHeight"], 480);
    assert_eq!(got[0]["streamInfo"][0]["videoCodec"], "VP8");
}

#[test]
fn events_of_ended_peers_are_dropped() {
    let mut w = World::new();
    let s = w.open();
    let peer = w.live_publisher(s, "s");
    w.frame(s, r#"{"command":"stop","streamId":"s"}"#);
    w.heard(s);
    w.event(MediaEvent::Connected { peer });
    w.event(MediaEvent::Disconnected {
        peer,
        reason: "late".into(),
    });
    assert!(w.heard(s).is_empty());
}

#[test]
fn messages_of_unknown_sessions_are_ignored() {
    let mut w = World::new();
    w.core
        .handle_message(w.now, SessionId(999), ClientMessage::Ping);
    w.drain();
    assert!(w.sent.is_empty());
}

/// A registry that refuses ids starting with "locked" and records events.
#[derive(Default)]
struct Recording {
    events: std::sync::Arc<std::sync::Mutex<Vec<(String, StreamEvent)>>>,
}

impl Registry for Recording {
    fn check_publish(&mut self, _app: &str, req: &tern_signal::Publish) -> Result<(), Refusal> {
        if req.stream_id.starts_with("locked") && req.token.as_deref() != Some("good") {
            return Err(Refusal::new(
                tern_signal::ErrorDef::UnauthorizedAccess,
                "no token",
            ));
        }
        Ok(())
    }

    fn check_play(
        &mut self,
        _app: &str,
        _req: &tern_signal::Play,
        viewers: usize,
    ) -> Result<(), Refusal> {
        if viewers >= 1 {
            return Err(Refusal::new(
                tern_signal::ErrorDef::ViewerLimitReached,
                "limit 1",
            ));
        }
        Ok(())
    }

    fn stream_event(&mut self, _app: &str, id: &str, event: StreamEvent) {
        self.events.lock().unwrap().push((id.to_owned(), event));
    }
}

#[test]
fn the_registry_decides_and_hears_the_lifecycle() {
    let rec = Recording::default();
    let events = rec.events.clone();
    let mut w = World::new();
    w.core = Core::with_registry(Box::new(rec));
    let s = w.open();
    let p1 = w.open();
    let p2 = w.open();
    w.frame(s, r#"{"command":"publish","streamId":"locked1"}"#);
    let got = w.take_sent(s);
    assert_eq!(got[0]["definition"], "unauthorized_access");
    assert_eq!(got[0]["streamId"], "locked1");
    assert_eq!(
        w.core.counts(),
        (3, 0, 0),
        "a refused publish leaves nothing behind"
    );

    w.frame(
        s,
        r#"{"command":"publish","streamId":"locked1","token":"good"}"#,
    );
    w.frame(s, r#"{"command":"stop","streamId":"locked1"}"#);
    w.live_publisher(s, "open");
    w.frame(p1, r#"{"command":"play","streamId":"open"}"#);
    w.connect_player(p1, "open");
    w.frame(p2, r#"{"command":"play","streamId":"open"}"#);
    assert_eq!(w.take_sent(p2)[0]["definition"], "viewerLimitReached");
    w.frame(p1, r#"{"command":"stop","streamId":"open"}"#);
    w.frame(s, r#"{"command":"stop","streamId":"open"}"#);
    let got: Vec<_> = events.lock().unwrap().clone();
    use StreamEvent::*;
    let want: Vec<(String, StreamEvent)> = [
        ("locked1", Preparing),
        ("locked1", Finished),
        ("open", Preparing),
        ("open", Broadcasting),
        ("open", Viewers(1)),
        ("open", Viewers(0)),
        ("open", Finished),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b))
    .collect();
    assert_eq!(got, want);
}

mod p2p;
mod rooms;

#[test]
fn stop_after_the_peer_connection_closed_still_ends_the_stream() {
    // The SDK closes its peer connection before sending stop: the media layer
    // reports the publisher gone first.
    let mut w = World::new();
    let publisher = w.open();
    let p = w.open();
    let peer = w.live_publisher(publisher, "s");
    w.frame(p, r#"{"command":"play","streamId":"s"}"#);
    w.connect_player(p, "s");
    w.heard(p);
    w.heard(publisher);
    w.event(MediaEvent::Disconnected {
        peer,
        reason: "connection closed".into(),
    });
    w.frame(publisher, r#"{"command":"stop","streamId":"s"}"#);
    assert_eq!(w.heard(publisher), ["publish_finished"]);
    assert_eq!(w.heard(p), ["play_finished"]);
    assert_eq!(w.core.counts(), (2, 0, 0));
    // Another session's stop of that id does nothing.
    let q = w.open();
    w.frame(q, r#"{"command":"stop","streamId":"s"}"#);
    assert!(w.heard(q).is_empty());
}

#[test]
fn the_operator_stops_a_live_stream() {
    let mut w = World::new();
    let (s, p) = (w.open(), w.open());
    assert!(
        !w.core.stop_stream(w.now, "LiveApp", "s1"),
        "nothing to stop"
    );
    assert_eq!(w.core.live_stream_info("LiveApp", "s1"), None);
    w.live_publisher(s, "s1");
    assert_eq!(w.core.live_stream_info("LiveApp", "s1"), Some(Vec::new()));
    assert_eq!(w.core.live_stream_info("WebRTCAppEE", "s1"), None);
    w.frame(p, r#"{"command":"play","streamId":"s1"}"#);
    w.connect_player(p, "s1");
    w.heard(s);
    w.heard(p);
    assert!(w.core.stop_stream(w.now, "LiveApp", "s1"));
    w.drain();
    assert_eq!(w.heard(s), ["publish_finished"]);
    assert_eq!(w.heard(p), ["play_finished"]);
    assert_eq!(w.core.live_stream_info("LiveApp", "s1"), None);
    // The id is free again at once.
    w.frame(s, r#"{"command":"publish","streamId":"s1"}"#);
    assert_eq!(w.heard(s), ["start"]);
}

#[test]
fn forcing_a_quality_on_a_single_rendition_is_no_encoder_settings() {
    let mut w = World::new();
    let (s, p) = (w.open(), w.open());
    w.frame(
        p,
        r#"{"command":"forceStreamQuality","streamId":"q","streamHeight":240}"#,
    );
    assert_eq!(w.heard(p), ["no_stream_exist"]);
    let peer = w.live_publisher(s, "q");
    w.event(MediaEvent::SourceInfo {
        peer,
        info: vec![tern_signal::StreamInfo {
            width: 640,
            height: 480,
            video_bitrate: 1,
            audio_bitrate: 1,
            video_codec: "VP8".into(),
            fps: 0,
            b_frames: false,
        }],
    });
    w.frame(
        p,
        r#"{"command":"forceStreamQuality","streamId":"q","streamHeight":240}"#,
    );
    let got = w.take_sent(p);
    assert_eq!(got[0]["definition"], "no_encoder_settings");
    assert_eq!(got[0]["streamId"], "q");
    // Automatic (0) is not an error for a player.
    w.frame(p, r#"{"command":"play","streamId":"q"}"#);
    w.connect_player(p, "q");
    w.heard(p);
    w.frame(
        p,
        r#"{"command":"forceStreamQuality","streamId":"q","streamHeight":0}"#,
    );
    assert!(w.heard(p).is_empty());
}

fn layer(height: u32, video_bitrate: u64) -> tern_signal::StreamInfo {
    tern_signal::StreamInfo {
        width: height * 16 / 9,
        height,
        video_bitrate,
        audio_bitrate: 32_000,
        video_codec: "VP8".into(),
        fps: 0,
        b_frames: false,
    }
}

#[test]
fn forcing_a_quality_pins_a_layer_and_layer_changes_reach_the_player() {
    let mut w = World::new();
    let (s, p) = (w.open(), w.open());
    let publisher = w.live_publisher(s, "q");
    w.event(MediaEvent::SourceInfo {
        peer: publisher,
        info: vec![layer(720, 1_500_000), layer(360, 500_000)],
    });
    w.take_sent(s);
    let force =
        |h: u32| format!(r#"{{"command":"forceStreamQuality","streamId":"q","streamHeight":{h}}}"#);
    // A session that does not play the stream has nothing to pin.
    w.frame(p, &force(360));
    let got = w.take_sent(p);
    assert_eq!(got[0]["definition"], "no_stream_exist");
    assert!(w.take_media().is_empty());
    w.frame(p, r#"{"command":"getStreamInfo","streamId":"q"}"#);
    let info = w.take_sent(p);
    assert_eq!(info[0]["streamInfo"][1]["streamHeight"], 360);
    w.frame(p, r#"{"command":"play","streamId":"q"}"#);
    let player = w.connect_player(p, "q");
    w.heard(p);
    w.frame(p, &force(360));
    assert_eq!(
        w.take_media(),
        [MediaCommand::PinLayer {
            peer: player,
            height: Some(360)
        }]
    );
    assert!(w.heard(p).is_empty(), "the answer is the layer change");
    w.frame(p, &force(0));
    assert_eq!(
        w.take_media(),
        [MediaCommand::PinLayer {
            peer: player,
            height: None
        }]
    );
    w.event(MediaEvent::LayerChanged {
        peer: player,
        height: 360,
    });
    let got = w.take_sent(p);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["definition"], "resolutionChangeInfo");
    assert_eq!(
        (&got[0]["streamId"], &got[0]["streamHeight"]),
        (&"q".into(), &360.into())
    );
    w.event(MediaEvent::PlayerBitrates {
        peer: player,
        target: 900_000,
        video: 480_000,
        audio: 31_000,
    });
    let got = w.take_sent(p);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["definition"], "bitrateMeasurement");
    for (key, value) in [
        ("targetBitrate", 900_000),
        ("videoBitrate", 480_000),
        ("audioBitrate", 31_000),
    ] {
        assert_eq!(got[0][key], value, "{key}");
    }
    assert!(w.take_sent(s).is_empty(), "the publisher hears none of it");
}

/// Open, but a play whose token is "relay" is another node's relay.
struct RelayAware;

impl Registry for RelayAware {
    fn check_publish(&mut self, _app: &str, _req: &tern_signal::Publish) -> Result<(), Refusal> {
        Ok(())
    }

    fn check_play(&mut self, _: &str, _: &tern_signal::Play, _: usize) -> Result<(), Refusal> {
        Ok(())
    }

    fn stream_event(&mut self, _app: &str, _id: &str, _event: StreamEvent) {}

    fn is_relay(&mut self, _app: &str, req: &tern_signal::Play) -> bool {
        req.token.as_deref() == Some("relay")
    }

    fn takes_over_relay(&mut self, _app: &str, id: &str) -> bool {
        id.starts_with("moved")
    }
}

#[test]
fn a_local_publish_takes_the_stream_over_from_its_relay() {
    for (id, takes_over) in [("moved", true), ("kept", false)] {
        let mut w = World::new();
        w.core = Core::with_registry(Box::new(RelayAware));
        let (relay, viewer, local) = (w.open(), w.open(), w.open());
        let relayed = w.live_publisher(relay, id);
        w.frame(
            viewer,
            &format!(r#"{{"command":"play","streamId":"{id}"}}"#),
        );
        let player = w.connect_player(viewer, id);
        w.heard(relay);
        w.heard(viewer);
        w.frame(
            local,
            &format!(r#"{{"command":"publish","streamId":"{id}"}}"#),
        );
        if !takes_over {
            assert_eq!(w.heard(local), ["streamIdInUse"]);
            continue;
        }
        w.frame(
            local,
            &format!(
                r#"{{"command":"takeConfiguration","streamId":"{id}","type":"offer","sdp":"v=0"}}"#
            ),
        );
        let media = w.take_media();
        assert!(
            media.contains(&MediaCommand::Close { peer: relayed }),
            "{media:?}"
        );
        let Some(MediaCommand::OpenPublisher { peer: new, .. }) = media.last().cloned() else {
            panic!("{media:?}")
        };
        w.event(MediaEvent::Connected { peer: new });
        assert_eq!(w.heard(local), ["start", "session_restored"]);
        assert_eq!(
            w.take_media(),
            vec![MediaCommand::SwitchSource {
                peer: player,
                from: relayed,
                to: new
            }]
        );
        assert!(
            w.heard(viewer).is_empty(),
            "no play_finished for the player"
        );
        assert!(
            w.heard(relay).is_empty(),
            "the relay is not told: it lets go on its own"
        );
    }
}

#[test]
fn only_a_relay_play_gets_every_layer_also_when_it_waited() {
    let mut w = World::new();
    w.core = Core::with_registry(Box::new(RelayAware));
    let relay = w.open();
    let viewer = w.open();
    let publisher = w.open();
    // The relay asks before the stream is live (its origin is coming back).
    w.frame(
        relay,
        r#"{"command":"play","streamId":"s","token":"relay"}"#,
    );
    w.live_publisher(publisher, "s");
    w.frame(viewer, r#"{"command":"play","streamId":"s","token":"x"}"#);
    let profiles: Vec<bool> = w
        .take_media()
        .into_iter()
        .filter_map(|c| match c {
            MediaCommand::OpenPlayer { profile, .. } => Some(profile.all_layers),
            _ => None,
        })
        .collect();
    assert_eq!(profiles, [true, false]);
}

#[test]
fn only_a_stream_waiting_for_its_publisher_is_ended_as_orphaned() {
    let mut w = World::new();
    let (s, p) = (w.open(), w.open());
    w.live_publisher(s, "s1");
    w.frame(p, r#"{"command":"play","streamId":"s1"}"#);
    w.connect_player(p, "s1");
    w.heard(p);
    assert!(
        !w.core.end_orphaned(w.now, "LiveApp", "s1"),
        "live: left alone"
    );
    assert!(w.heard(p).is_empty());
    w.core.close_session(w.now, s);
    w.drain();
    assert!(w.heard(p).is_empty(), "waiting for a republish");
    assert!(w.core.end_orphaned(w.now, "LiveApp", "s1"));
    w.drain();
    assert_eq!(w.heard(p), ["play_finished"]);
    assert!(!w.core.end_orphaned(w.now, "LiveApp", "s1"), "gone already");
}
