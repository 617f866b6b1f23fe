//! Conference rooms: membership, renegotiation triggers, visibility, errors.

use super::World;
use crate::*;

/// Publishes `id` into `room` and brings it live; returns the publisher peer.
fn participant(w: &mut World, s: SessionId, id: &str, room: &str, role: &str) -> PeerId {
    w.frame(
        s,
        &format!(r#"{{"command":"publish","streamId":"{id}","mainTrack":"{room}","role":"{role}","streamName":"N{id}","metaData":"m{id}"}}"#),
    );
    w.frame(
        s,
        &format!(
            r#"{{"command":"takeConfiguration","streamId":"{id}","type":"offer","sdp":"v=0"}}"#
        ),
    );
    let peer = match w.take_media().pop() {
        Some(MediaCommand::OpenPublisher { peer, .. }) => peer,
        other => panic!("{other:?}"),
    };
    w.event(MediaEvent::Answer {
        peer,
        sdp: "v=0".into(),
        candidates: LocalCandidates::default(),
    });
    w.event(MediaEvent::Connected { peer });
    peer
}

fn source_ids(cmds: &[MediaCommand]) -> Vec<Vec<String>> {
    cmds.iter()
        .filter_map(|c| match c {
            MediaCommand::OpenPlayer { sources, .. }
            | MediaCommand::UpdateSources { sources, .. } => {
                Some(sources.iter().map(|s| s.stream_id.clone()).collect())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn room_play_gets_every_other_participant_and_follows_changes() {
    let mut w = World::new();
    let [a, b, c] = [w.open(), w.open(), w.open()];
    participant(&mut w, a, "pa", "room", "");
    participant(&mut w, b, "pb", "room", "");
    w.heard(a);
    w.heard(b);
    w.take_media();
    w.frame(
        a,
        r#"{"command":"play","streamId":"room","userPublishId":"pa"}"#,
    );
    assert_eq!(source_ids(&w.take_media()), vec![vec!["pb".to_string()]]);

    // c joins: a's room player is renegotiated and told.
    participant(&mut w, c, "pc", "room", "");
    let media = w.take_media();
    assert_eq!(
        source_ids(&media),
        vec![vec!["pb".to_string(), "pc".to_string()]]
    );
    assert!(media
        .iter()
        .any(|m| matches!(m, MediaCommand::ChannelSend { data, .. }
        if String::from_utf8_lossy(data).contains("TRACK_LIST_UPDATED"))));
    let got = w.take_sent(a);
    let added = got
        .iter()
        .find(|v| v["definition"] == "subtrackAdded")
        .expect("subtrackAdded");
    assert_eq!(added["streamId"], "room");
    assert_eq!(added["trackId"], "pc");

    // b leaves.
    w.frame(b, r#"{"command":"stop","streamId":"pb"}"#);
    assert_eq!(source_ids(&w.take_media()), vec![vec!["pc".to_string()]]);
    assert!(w.heard(a).contains(&"subtrackRemoved".to_string()));
}

#[test]
fn the_last_participant_leaving_ends_the_room() {
    let mut w = World::new();
    let [a, viewer] = [w.open(), w.open()];
    participant(&mut w, a, "pa", "room", "");
    w.frame(viewer, r#"{"command":"play","streamId":"room"}"#);
    w.heard(viewer);
    w.frame(a, r#"{"command":"stop","streamId":"pa"}"#);
    assert_eq!(w.heard(viewer), ["play_finished"]);
    w.frame(viewer, r#"{"command":"play","streamId":"room"}"#);
    assert_eq!(w.heard(viewer), ["no_stream_exist"], "the room is gone");
    assert_eq!(w.core.counts().1, 0, "no peers left");
}

#[test]
fn a_waiting_room_player_starts_with_the_first_participant() {
    let mut w = World::new();
    let [a, viewer] = [w.open(), w.open()];
    w.frame(
        viewer,
        r#"{"command":"play","streamId":"room","userPublishId":"me"}"#,
    );
    assert_eq!(w.heard(viewer), ["no_stream_exist"]);
    participant(&mut w, a, "pa", "room", "");
    assert_eq!(source_ids(&w.take_media()), vec![vec!["pa".to_string()]]);
}

#[test]
fn track_list_and_roles_filter_sources() {
    let mut w = World::new();
    let [a, b, c, v] = [w.open(), w.open(), w.open(), w.open()];
    participant(&mut w, a, "pa", "room", "");
    participant(&mut w, b, "pb", "room", "speaker");
    participant(&mut w, c, "pc", "room", "");
    w.take_media();
    w.frame(
        v,
        r#"{"command":"play","streamId":"room","trackList":["!pc"]}"#,
    );
    // default viewers see default participants only, and pc is excluded.
    assert_eq!(source_ids(&w.take_media()), vec![vec!["pa".to_string()]]);
    w.frame(v, r#"{"command":"stop","streamId":"room"}"#);
    w.take_media();
    w.frame(
        v,
        r#"{"command":"play","streamId":"room","role":"attendee"}"#,
    );
    assert_eq!(source_ids(&w.take_media()), vec![vec!["pb".to_string()]]);
}

#[test]
fn disabled_by_default_and_enable_track() {
    let mut w = World::new();
    let [a, v] = [w.open(), w.open()];
    let pa = participant(&mut w, a, "pa", "room", "");
    w.take_media();
    w.frame(
        v,
        r#"{"command":"play","streamId":"room","disableTracksByDefault":true}"#,
    );
    let media = w.take_media();
    let player = match &media[0] {
        MediaCommand::OpenPlayer { peer, .. } => *peer,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        media[1],
        MediaCommand::SetForwarding {
            peer: player,
            source: pa,
            audio: Some(false),
            video: Some(false)
        }
    );
    w.frame(
        v,
        r#"{"command":"enableTrack","streamId":"room","trackId":"pa","enabled":true}"#,
    );
    assert_eq!(
        w.take_media(),
        vec![MediaCommand::SetForwarding {
            peer: player,
            source: pa,
            audio: Some(true),
            video: Some(true)
        }]
    );
    w.frame(
        v,
        r#"{"command":"toggleVideo","streamId":"room","trackId":"pa","enabled":false}"#,
    );
    assert_eq!(
        w.take_media(),
        vec![MediaCommand::SetForwarding {
            peer: player,
            source: pa,
            audio: None,
            video: Some(false)
        }]
    );
}

#[test]
fn join_room_info_and_leave() {
    let mut w = World::new();
    w.core.seed(42);
    let [a, b] = [w.open(), w.open()];
    w.frame(a, r#"{"command":"joinRoom"}"#);
    assert_eq!(w.heard(a), ["no_room_specified"]);
    w.frame(
        a,
        r#"{"command":"getRoomInfo","room":"room","streamId":"x"}"#,
    );
    let got = w.take_sent(a);
    assert_eq!(got[0]["definition"], "no_active_streams_in_room");
    assert_eq!(got[0]["room"], "room");

    w.frame(a, r#"{"command":"joinRoom","room":"room"}"#);
    let got = w.take_sent(a);
    assert_eq!(got[0]["definition"], "joinedTheRoom");
    let assigned = got[0]["streamId"].as_str().unwrap().to_owned();
    assert!(assigned.starts_with("room_"), "{assigned}");
    assert_eq!(got[0]["ATTR_ROOM_NAME"], "room");
    assert_eq!(got[0]["streams"], serde_json::json!([]));

    // Legacy: a publish without mainTrack after joinRoom joins the room.
    w.frame(
        a,
        &format!(r#"{{"command":"publish","streamId":"{assigned}"}}"#),
    );
    w.frame(
        a,
        &format!(r#"{{"command":"takeConfiguration","streamId":"{assigned}","type":"offer","sdp":"v=0"}}"#),
    );
    let Some(MediaCommand::OpenPublisher { peer, .. }) = w.take_media().pop() else {
        panic!()
    };
    w.event(MediaEvent::Connected { peer });
    w.frame(
        b,
        r#"{"command":"joinRoom","room":"room","streamId":"bee"}"#,
    );
    let got = w.take_sent(b);
    assert_eq!(got[0]["streams"], serde_json::json!([assigned]));
    w.frame(
        b,
        r#"{"command":"getRoomInfo","room":"room","streamId":"bee"}"#,
    );
    let got = w.take_sent(b);
    assert_eq!(got[0]["command"], "roomInformation");
    assert_eq!(got[0]["streams"], serde_json::json!([assigned]));

    w.heard(a);
    w.frame(a, r#"{"command":"leaveFromRoom","room":"room"}"#);
    assert_eq!(w.heard(a), ["publish_finished", "leavedFromRoom"]);
    w.frame(
        b,
        r#"{"command":"getRoomInfo","room":"room","streamId":"bee"}"#,
    );
    assert_eq!(w.heard(b), ["no_active_streams_in_room"]);
}

#[test]
fn track_list_broadcast_object_and_counts() {
    let mut w = World::new();
    let [a, b, q] = [w.open(), w.open(), w.open()];
    participant(&mut w, a, "pa", "room", "");
    participant(&mut w, b, "pb", "room", "speaker");
    w.frame(q, r#"{"command":"getTrackList","streamId":"room"}"#);
    let got = w.take_sent(q);
    assert_eq!(got[0]["command"], "trackList");
    assert_eq!(got[0]["trackList"], serde_json::json!(["pa", "pb"]));

    w.frame(q, r#"{"command":"getBroadcastObject","streamId":"room"}"#);
    let got = w.take_sent(q);
    let b: serde_json::Value = serde_json::from_str(got[0]["broadcast"].as_str().unwrap()).unwrap();
    assert_eq!(b["subTrackStreamIds"], serde_json::json!(["pa", "pb"]));
    w.frame(q, r#"{"command":"getBroadcastObject","streamId":"pb"}"#);
    let got = w.take_sent(q);
    let b: serde_json::Value = serde_json::from_str(got[0]["broadcast"].as_str().unwrap()).unwrap();
    assert_eq!(b["mainTrackStreamId"], "room");
    assert_eq!(b["role"], "speaker");
    assert_eq!(b["metaData"], "mpb");
    assert_eq!(b["status"], "broadcasting");

    w.frame(
        q,
        r#"{"command":"getSubtracks","streamId":"room","role":"speaker","offset":0,"size":10}"#,
    );
    let got = w.take_sent(q);
    let list = got[0]["subtrackList"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].as_str().unwrap().contains("\"pb\""));
    w.frame(q, r#"{"command":"getSubtracksCount","streamId":"room"}"#);
    assert_eq!(w.take_sent(q)[0]["count"], 2);
    w.frame(q, r#"{"command":"getBroadcastObject","streamId":"nope"}"#);
    assert_eq!(w.heard(q), ["no_stream_exist"]);
}
