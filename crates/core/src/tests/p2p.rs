//! Peer-to-peer pairing and relay.

use super::World;

#[test]
fn two_peers_pair_and_the_first_both_peer_offers() {
    let mut w = World::new();
    let a = w.open();
    let b = w.open();
    w.frame(a, r#"{"command":"join","streamId":"call","mode":"both"}"#);
    assert_eq!(w.heard(a), ["joined"]);
    w.frame(b, r#"{"command":"join","streamId":"call","mode":"both"}"#);
    assert_eq!(w.heard(b), ["joined"]);
    assert_eq!(w.heard(a), ["start"]);
    // Only their sockets show the peers are there: both are pinged.
    assert_eq!(w.watched, [a, b]);
}

#[test]
fn a_play_only_first_peer_makes_the_second_offer() {
    let mut w = World::new();
    let a = w.open();
    let b = w.open();
    w.frame(a, r#"{"command":"join","streamId":"call","mode":"play"}"#);
    w.frame(b, r#"{"command":"join","streamId":"call","mode":"both"}"#);
    assert_eq!(w.heard(a), ["joined"]);
    assert_eq!(w.heard(b), ["joined", "start"]);
}

#[test]
fn relay_is_verbatim_with_an_empty_id_mapping() {
    let mut w = World::new();
    let a = w.open();
    let b = w.open();
    w.frame(a, r#"{"command":"join","streamId":"call"}"#);
    w.frame(b, r#"{"command":"join","streamId":"call"}"#);
    w.heard(a);
    w.heard(b);
    w.frame(
        a,
        r#"{"command":"takeConfiguration","streamId":"call","type":"offer","sdp":"v=0 a"}"#,
    );
    let got = w.take_sent(b);
    assert_eq!(got[0]["type"], "offer");
    assert_eq!(got[0]["sdp"], "v=0 a");
    assert_eq!(got[0]["idMapping"], serde_json::json!({}));
    w.frame(b, r#"{"command":"takeCandidate","streamId":"call","label":0,"id":"0","candidate":"candidate:1 1 udp 9 10.0.0.1 5 typ host"}"#);
    let got = w.take_sent(a);
    assert_eq!(got[0]["label"], 0);
    assert_eq!(
        got[0]["candidate"],
        "candidate:1 1 udp 9 10.0.0.1 5 typ host"
    );
    w.frame(b, r#"{"command":"peerMessageCommand","streamId":"call","definition":"chat","data":{"text":"hi"}}"#);
    let got = w.take_sent(a);
    assert_eq!(got[0]["command"], "peerMessageCommand");
    assert_eq!(got[0]["data"]["text"], "hi");
    assert!(w.take_media().is_empty(), "the SFU is not involved");
}

#[test]
fn alone_or_unjoined_relays_get_no_peer_associated_before() {
    let mut w = World::new();
    let a = w.open();
    w.frame(a, r#"{"command":"join","streamId":"call"}"#);
    w.heard(a);
    w.frame(
        a,
        r#"{"command":"takeConfiguration","streamId":"call","type":"offer","sdp":"v=0"}"#,
    );
    w.frame(
        a,
        r#"{"command":"takeCandidate","streamId":"call","label":0,"candidate":"candidate:x"}"#,
    );
    w.frame(
        a,
        r#"{"command":"peerMessageCommand","streamId":"other","definition":"x"}"#,
    );
    assert_eq!(w.heard(a), ["no_peer_associated_before"; 3]);
}

#[test]
fn no_error_when_a_partner_exists() {
    let mut w = World::new();
    let a = w.open();
    let b = w.open();
    w.frame(a, r#"{"command":"join","streamId":"call"}"#);
    w.frame(b, r#"{"command":"join","streamId":"call"}"#);
    w.heard(a);
    w.frame(
        a,
        r#"{"command":"peerMessageCommand","streamId":"call","definition":"x"}"#,
    );
    assert!(w.heard(a).is_empty());
    assert_eq!(w.heard(b), ["joined", "peerMessageCommand"]);
}

#[test]
fn a_third_peer_is_refused() {
    let mut w = World::new();
    let [a, b, c] = [w.open(), w.open(), w.open()];
    w.frame(a, r#"{"command":"join","streamId":"call"}"#);
    w.frame(b, r#"{"command":"join","streamId":"call"}"#);
    w.frame(c, r#"{"command":"join","streamId":"call"}"#);
    let got = w.take_sent(c);
    assert_eq!(got[0]["definition"], "streamIdInUse");
    assert!(got[0]["information"]
        .as_str()
        .unwrap()
        .contains("two peers"));
}

#[test]
fn leave_and_socket_close_stop_the_other_peer() {
    let mut w = World::new();
    let [a, b, c] = [w.open(), w.open(), w.open()];
    w.frame(a, r#"{"command":"join","streamId":"call"}"#);
    w.frame(b, r#"{"command":"join","streamId":"call"}"#);
    w.heard(a);
    w.heard(b);
    w.frame(b, r#"{"command":"leave","streamId":"call"}"#);
    assert_eq!(w.heard(b), ["leaved"]);
    let got = w.take_sent(a);
    assert_eq!(
        got[0],
        serde_json::json!({"command":"stop","streamId":"call"})
    );
    // c can take b's place; then c's socket closes.
    w.frame(c, r#"{"command":"join","streamId":"call"}"#);
    assert_eq!(w.heard(a), ["start"]);
    w.core.close_session(w.now, c);
    w.drain();
    assert_eq!(w.heard(a), ["stop"]);
    // Alone again: relays are errors.
    w.frame(a, r#"{"command":"peerMessageCommand","streamId":"call"}"#);
    assert_eq!(w.heard(a), ["no_peer_associated_before"]);
}
