//! Stream security in signaling (PROTOCOL.md §2.3, §2.4, §7), over a real
//! WebSocket with credentials minted through REST: every setting, valid and
//! invalid, for publish and play.

mod common;

use common::{start_with, Client, Server};
use serde_json::{json, Value};
use tern_auth::{stream_jwt, totp, Action};

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sends `command` for `id` with the extra fields and returns the answer's
/// definition (or command: `start`).
async fn ask(c: &mut Client, command: &str, id: &str, extra: Value) -> String {
    let mut msg = json!({"command": command, "streamId": id});
    for (k, v) in extra.as_object().unwrap() {
        msg[k] = v.clone();
    }
    c.send(msg).await;
    let v = c.recv().await;
    if v["command"] == "error" {
        assert_eq!(v["streamId"], id, "errors name the stream: {v}");
    }
    match v["command"].as_str().unwrap() {
        "error" | "notification" => v["definition"].as_str().unwrap().to_owned(),
        other => other.to_owned(),
    }
}

async fn publish(c: &mut Client, id: &str, extra: Value) -> String {
    ask(c, "publish", id, extra).await
}

async fn play(c: &mut Client, id: &str, extra: Value) -> String {
    ask(c, "play", id, extra).await
}

/// Ends an accepted publish so the id can be published again.
async fn unpublish(c: &mut Client, id: &str) {
    c.send(json!({"command":"stop","streamId":id})).await;
    assert_eq!(c.expect("publish_finished").await["streamId"], id);
}

async fn token(server: &Server, id: &str, kind: &str, room: Option<&str>) -> String {
    let room = room.map(|r| format!("&roomId={r}")).unwrap_or_default();
    let path = format!(
        "/broadcasts/{id}/token?expireDate={}&type={kind}{room}",
        now_s() + 600
    );
    let r = server.rest("GET", "LiveApp", &path, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["tokenId"].as_str().unwrap().to_owned()
}

async fn register(server: &Server, body: Value) {
    let r = server
        .rest(
            "POST",
            "LiveApp",
            "/broadcasts/create",
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

const UNAUTHORIZED: &str = "unauthorized_access";
/// A play that passed every check answers this while nobody publishes.
const PASSED_PLAY: &str = "no_stream_exist";

#[tokio::test]
async fn one_time_tokens_for_publish_are_used_once() {
    let server = start_with("[apps.LiveApp]\npublishTokenControlEnabled = true\n").await;
    let mut c = server.client().await;
    assert_eq!(publish(&mut c, "s1", json!({})).await, UNAUTHORIZED);
    assert_eq!(
        publish(&mut c, "s1", json!({"token": "made-up"})).await,
        UNAUTHORIZED
    );
    let play_token = token(&server, "s1", "play", None).await;
    assert_eq!(
        publish(&mut c, "s1", json!({"token": play_token})).await,
        UNAUTHORIZED
    );
    let other = token(&server, "s2", "publish", None).await;
    assert_eq!(
        publish(&mut c, "s1", json!({"token": other})).await,
        UNAUTHORIZED
    );
    // A refused attempt does not burn the token for its own stream.
    assert_eq!(
        publish(&mut c, "s2", json!({"token": other})).await,
        "start"
    );
    unpublish(&mut c, "s2").await;

    let t = token(&server, "s1", "publish", None).await;
    assert_eq!(publish(&mut c, "s1", json!({"token": t})).await, "start");
    unpublish(&mut c, "s1").await;
    assert_eq!(
        publish(&mut c, "s1", json!({"token": t})).await,
        UNAUTHORIZED
    );
    // Play is not controlled.
    assert_eq!(play(&mut c, "s1", json!({})).await, PASSED_PLAY);
    server.stop().await;
}

#[tokio::test]
async fn one_time_tokens_for_play_and_reusable_room_tokens() {
    let server = start_with("[apps.LiveApp]\nplayTokenControlEnabled = true\n").await;
    let (mut a, mut b) = (server.client().await, server.client().await);
    assert_eq!(play(&mut a, "s1", json!({"token": ""})).await, UNAUTHORIZED);
    let publish_token = token(&server, "s1", "publish", None).await;
    assert_eq!(
        play(&mut a, "s1", json!({"token": publish_token})).await,
        UNAUTHORIZED
    );
    let t = token(&server, "s1", "play", None).await;
    assert_eq!(play(&mut a, "s1", json!({"token": t})).await, PASSED_PLAY);
    assert_eq!(play(&mut b, "s1", json!({"token": t})).await, UNAUTHORIZED);

    let room = token(&server, "room1", "play", Some("room1")).await;
    let mut c = server.client().await;
    for (c, id) in [(&mut a, "alice"), (&mut b, "bob"), (&mut c, "bob")] {
        assert_eq!(
            play(c, id, json!({"token": room, "room": "room1"})).await,
            PASSED_PLAY,
            "room tokens are reusable for the room's streams"
        );
    }
    assert_eq!(
        play(&mut a, "carol", json!({"token": room, "room": "room2"})).await,
        UNAUTHORIZED
    );
    assert_eq!(
        play(&mut a, "carol", json!({"token": room})).await,
        UNAUTHORIZED
    );
    // Publish is not controlled.
    assert_eq!(publish(&mut a, "s9", json!({})).await, "start");
    server.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_plays_with_one_token_let_exactly_one_in() {
    let server = start_with("[apps.LiveApp]\nplayTokenControlEnabled = true\n").await;
    let t = token(&server, "s1", "play", None).await;
    let mut clients = Vec::new();
    for _ in 0..50 {
        clients.push(server.client().await);
    }
    let answers = futures_util::future::join_all(clients.iter_mut().map(|c| {
        let t = t.clone();
        async move { play(c, "s1", json!({"token": t})).await }
    }))
    .await;
    let passed = answers.iter().filter(|a| *a == PASSED_PLAY).count();
    let refused = answers.iter().filter(|a| *a == UNAUTHORIZED).count();
    assert_eq!((passed, refused), (1, 49), "{answers:?}");
    server.stop().await;
}

const STREAM_KEY: &str = "stream-key-stream-key-stream-key-0";

#[tokio::test]
async fn jwt_stream_tokens_for_publish_and_play() {
    let server = start_with(&format!(
        "[apps.LiveApp]\npublishJwtControlEnabled = true\nplayJwtControlEnabled = true\n\
         jwtStreamSecretKey = \"{STREAM_KEY}\"\n"
    ))
    .await;
    let key = STREAM_KEY.as_bytes();
    let exp = (now_s() + 60) as u64;
    let mut c = server.client().await;
    let good = stream_jwt::mint("s1", Action::Publish, exp, key).unwrap();
    let cases = [
        ("no token", String::new()),
        (
            "play token",
            stream_jwt::mint("s1", Action::Play, exp, key).unwrap(),
        ),
        (
            "other stream",
            stream_jwt::mint("s2", Action::Publish, exp, key).unwrap(),
        ),
        (
            "expired",
            stream_jwt::mint("s1", Action::Publish, (now_s() - 1) as u64, key).unwrap(),
        ),
        (
            "other key",
            stream_jwt::mint("s1", Action::Publish, exp, b"not the key").unwrap(),
        ),
        ("alg none", alg_none(&good)),
        ("not a JWT", "abc.def".into()),
    ];
    for (why, t) in &cases {
        assert_eq!(
            publish(&mut c, "s1", json!({"token": t})).await,
            UNAUTHORIZED,
            "{why}"
        );
    }
    // Reusable until it expires.
    for _ in 0..2 {
        assert_eq!(publish(&mut c, "s1", json!({"token": good})).await, "start");
        unpublish(&mut c, "s1").await;
    }
    let play_token = stream_jwt::mint("s1", Action::Play, exp, key).unwrap();
    assert_eq!(
        play(&mut c, "s1", json!({"token": good})).await,
        UNAUTHORIZED
    );
    assert_eq!(
        play(&mut c, "s1", json!({"token": play_token})).await,
        PASSED_PLAY
    );
    let mut other = server.client().await;
    assert_eq!(
        play(&mut other, "s2", json!({"token": play_token})).await,
        UNAUTHORIZED
    );
    server.stop().await;
}

/// The token's claims under an `alg: none` header with no signature.
fn alg_none(token: &str) -> String {
    use base64::Engine;
    let header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = token.split('.').nth(1).unwrap();
    format!("{header}.{payload}.")
}

#[tokio::test]
async fn hash_tokens_for_publish_and_play() {
    let server = start_with(
        "[apps.LiveApp]\nhashControlPublishEnabled = true\nhashControlPlayEnabled = true\n\
         tokenHashSecret = \"hash-secret\"\n",
    )
    .await;
    let hash = |id: &str, a: Action| tern_auth::hash_token::expected(id, a, "hash-secret");
    let mut c = server.client().await;
    assert_eq!(publish(&mut c, "s1", json!({})).await, UNAUTHORIZED);
    assert_eq!(
        publish(&mut c, "s1", json!({"token": hash("s1", Action::Play)})).await,
        UNAUTHORIZED
    );
    assert_eq!(
        publish(&mut c, "s1", json!({"token": hash("s2", Action::Publish)})).await,
        UNAUTHORIZED
    );
    let wrong_secret = tern_auth::hash_token::expected("s1", Action::Publish, "guess");
    assert_eq!(
        publish(&mut c, "s1", json!({"token": wrong_secret})).await,
        UNAUTHORIZED
    );
    assert_eq!(
        publish(&mut c, "s1", json!({"token": hash("s1", Action::Publish)})).await,
        "start"
    );
    assert_eq!(
        play(&mut c, "s1", json!({"token": hash("s1", Action::Publish)})).await,
        UNAUTHORIZED
    );
    assert_eq!(
        play(&mut c, "s1", json!({"token": hash("s1", Action::Play)})).await,
        PASSED_PLAY
    );
    server.stop().await;
}

#[tokio::test]
async fn totp_codes_for_publish_and_play_and_blocked_subscribers() {
    let server = start_with(
        "[apps.LiveApp]\nenableTimeTokenForPublish = true\nenableTimeTokenForPlay = true\n\
         timeTokenSecretForPlay = \"play-secret\"\n",
    )
    .await;
    let secret = tern_auth::base32::encode(b"alice's secret!!");
    let r = server
        .rest(
            "POST",
            "LiveApp",
            "/broadcasts/s1/subscribers",
            Some(&json!({"subscriberId":"alice","type":"publish","b32Secret":secret}).to_string()),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = server
        .rest(
            "POST",
            "LiveApp",
            "/broadcasts/s1/subscribers",
            Some(r#"{"subscriberId":"viewer","type":"play"}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    let now_ms = || (now_s() * 1000) as u64;
    let alice = || totp::code(b"alice's secret!!", 60, now_ms());
    let creds = |sid: &str, code: String| json!({"subscriberId": sid, "subscriberCode": code});

    let mut c = server.client().await;
    assert_eq!(publish(&mut c, "s1", json!({})).await, UNAUTHORIZED);
    assert_eq!(
        publish(&mut c, "s1", json!({"subscriberId":"alice"})).await,
        UNAUTHORIZED
    );
    assert_eq!(
        publish(&mut c, "s1", creds("alice", "000000".into())).await,
        UNAUTHORIZED
    );
    let viewer_key = totp::derived_key("play-secret", "viewer", "s1", "play");
    let viewer = || totp::code(&viewer_key, 60, now_ms());
    assert_eq!(
        publish(&mut c, "s1", creds("viewer", viewer())).await,
        UNAUTHORIZED,
        "a play subscriber"
    );
    assert_eq!(
        publish(&mut c, "s1", creds("mallory", alice())).await,
        UNAUTHORIZED,
        "no publish secret"
    );
    assert_eq!(
        publish(&mut c, "s1", creds("alice", alice())).await,
        "start"
    );

    // Play: a registered play subscriber without a secret of its own uses the
    // app's secret; so does an unregistered one; a publish subscriber may play.
    let mut p = server.client().await;
    assert_eq!(
        play(&mut p, "s1", creds("viewer", "123456".into())).await,
        UNAUTHORIZED
    );
    assert_eq!(
        play(&mut p, "s1", creds("viewer", viewer())).await,
        PASSED_PLAY
    );
    let guest_key = totp::derived_key("play-secret", "guest", "s1", "play");
    let guest = totp::code(&guest_key, 60, now_ms());
    assert_eq!(
        play(&mut p, "s2", creds("guest", guest.clone())).await,
        UNAUTHORIZED,
        "codes are per stream"
    );
    assert_eq!(play(&mut p, "s1", creds("guest", guest)).await, PASSED_PLAY);
    assert_eq!(
        play(&mut p, "s1", creds("alice", alice())).await,
        PASSED_PLAY
    );

    // Blocking.
    let r = server
        .rest(
            "PUT",
            "LiveApp",
            "/broadcasts/s1/subscribers/viewer/block/60/play",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        play(&mut p, "s1", creds("viewer", viewer())).await,
        "user_blocked"
    );
    assert_eq!(
        play(&mut p, "s1", creds("viewer", "000000".into())).await,
        UNAUTHORIZED
    );
    server
        .rest(
            "PUT",
            "LiveApp",
            "/broadcasts/s1/subscribers/alice/block/60/publish_play",
            None,
        )
        .await;
    unpublish(&mut c, "s1").await;
    assert_eq!(
        publish(&mut c, "s1", creds("alice", alice())).await,
        "user_blocked"
    );
    server.stop().await;
}

#[tokio::test]
async fn blocking_applies_without_totp() {
    let server = start_with("").await;
    server
        .rest(
            "POST",
            "LiveApp",
            "/broadcasts/s1/subscribers",
            Some(r#"{"subscriberId":"viewer"}"#),
        )
        .await;
    server
        .rest(
            "PUT",
            "LiveApp",
            "/broadcasts/s1/subscribers/viewer/block/60/play",
            None,
        )
        .await;
    let mut c = server.client().await;
    assert_eq!(
        play(&mut c, "s1", json!({"subscriberId":"viewer"})).await,
        "user_blocked"
    );
    assert_eq!(
        play(&mut c, "s1", json!({"subscriberId":"other"})).await,
        PASSED_PLAY
    );
    assert_eq!(
        publish(&mut c, "s1", json!({"subscriberId":"viewer"})).await,
        "start"
    );
    server.stop().await;
}

#[tokio::test]
async fn only_registered_streams_within_their_window() {
    let server = start_with("[apps.LiveApp]\nacceptOnlyStreamsInDataStore = true\n").await;
    let mut c = server.client().await;
    assert_eq!(
        publish(&mut c, "free", json!({})).await,
        "not_allowed_unregistered_streams"
    );
    register(&server, json!({"streamId":"reg"})).await;
    assert_eq!(publish(&mut c, "reg", json!({})).await, "start");
    unpublish(&mut c, "reg").await;
    register(
        &server,
        json!({"streamId":"later","plannedStartDate": now_s() + 3600}),
    )
    .await;
    register(
        &server,
        json!({"streamId":"over","plannedEndDate": now_s() - 10}),
    )
    .await;
    register(&server, json!({"streamId":"short","expireDurationMS": 1})).await;
    register(
        &server,
        json!({"streamId":"now","plannedStartDate": now_s() - 10,"plannedEndDate": now_s() + 3600}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for id in ["later", "over", "short"] {
        assert_eq!(
            publish(&mut c, id, json!({})).await,
            "stream_not_active_or_expired",
            "{id}"
        );
    }
    assert_eq!(publish(&mut c, "now", json!({})).await, "start");
    // Play is not restricted by registration.
    assert_eq!(play(&mut c, "free", json!({})).await, PASSED_PLAY);
    server.stop().await;
}

#[tokio::test]
async fn viewer_limits_of_the_app_and_of_a_broadcast() {
    let server = start_with("[apps.Tiny]\nwebRTCViewerLimit = 0\n").await;
    let mut tiny = Client::connect(&server.ws_url("Tiny")).await;
    assert_eq!(play(&mut tiny, "s1", json!({})).await, "viewerLimitReached");
    let mut c = server.client().await;
    register(&server, json!({"streamId":"capped","webRTCViewerLimit":0})).await;
    register(&server, json!({"streamId":"open","webRTCViewerLimit":-1})).await;
    assert_eq!(
        play(&mut c, "capped", json!({})).await,
        "viewerLimitReached"
    );
    assert_eq!(play(&mut c, "open", json!({})).await, PASSED_PLAY);
    server.stop().await;
}

#[tokio::test]
async fn several_mechanisms_must_all_pass() {
    let server = start_with(
        "[apps.LiveApp]\nacceptOnlyStreamsInDataStore = true\nhashControlPublishEnabled = true\n\
         tokenHashSecret = \"h\"\nenableTimeTokenForPublish = true\n\
         timeTokenSecretForPublish = \"p\"\n",
    )
    .await;
    register(&server, json!({"streamId":"s1"})).await;
    let hash = |id: &str| tern_auth::hash_token::expected(id, Action::Publish, "h");
    let code = |id: &str| {
        let key = totp::derived_key("p", "cam1", id, "publish");
        totp::code(&key, 60, (now_s() * 1000) as u64)
    };
    let creds = |token: String, code: String| json!({"token": token, "subscriberId": "cam1", "subscriberCode": code});
    let mut c = server.client().await;
    assert_eq!(
        publish(&mut c, "s1", creds(hash("s1"), "000000".into())).await,
        UNAUTHORIZED
    );
    assert_eq!(
        publish(&mut c, "s1", creds("bad".into(), code("s1"))).await,
        UNAUTHORIZED
    );
    assert_eq!(
        publish(&mut c, "s2", creds(hash("s2"), code("s2"))).await,
        "not_allowed_unregistered_streams"
    );
    assert_eq!(
        publish(&mut c, "s1", creds(hash("s1"), code("s1"))).await,
        "start"
    );
    server.stop().await;
}
