//! The REST API v2 over real HTTP: every endpoint, its 4xx answers, the IP and
//! JWT filters, settings and persistence across restarts.

mod common;

use common::{http, start, start_in, start_with, temp_dir, Client};
use serde_json::{json, Value};

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A 4xx whose `Result` body says what is wrong.
fn assert_refused(r: &common::Reply, status: u16, needle: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.body["success"], false, "{r:?}");
    let msg = r.body["message"].as_str().unwrap_or("");
    assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
}

#[tokio::test]
async fn broadcasts_create_get_list_update_delete_count() {
    let server = start().await;
    let create = |body: &'static str| {
        let s = &server;
        async move {
            s.rest("POST", "LiveApp", "/broadcasts/create", Some(body))
                .await
        }
    };

    let r =
        create(r#"{"streamId":"s1","name":"First","metaData":"m","status":"broadcasting"}"#).await;
    assert_eq!(r.status, 200, "{r:?}");
    let b = &r.body;
    assert_eq!(
        (b["streamId"].as_str(), b["status"].as_str()),
        (Some("s1"), Some("created"))
    );
    assert_eq!(b["name"], "First");
    assert_eq!(b["type"], "liveStream");
    assert_eq!(b["rtmpURL"], "rtmp://127.0.0.1/LiveApp/s1");
    assert_eq!(b["webRTCViewerLimit"], -1);
    assert!(b["date"].as_i64().unwrap() > 0);

    assert_refused(
        &create(r#"{"streamId":"s1"}"#).await,
        400,
        "already being used",
    );
    assert_refused(
        &create(r#"{"streamId":"no spaces"}"#).await,
        400,
        "not valid",
    );
    assert_refused(&create(r#"{"streamId":"#).await, 400, "invalid JSON");
    assert_refused(&create(r#"{"name":5}"#).await, 400, "invalid JSON");
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(3 << 20));
    let r = server
        .rest("POST", "LiveApp", "/broadcasts/create", Some(&huge))
        .await;
    assert_refused(&r, 413, "too large");
    let generated = create("").await;
    assert_eq!(generated.status, 200);
    let gen_id = generated.body["streamId"].as_str().unwrap().to_owned();
    assert!(
        gen_id.len() >= 16 && tern_signal::stream_id::is_valid(&gen_id),
        "{gen_id}"
    );
    assert_eq!(create(r#"{"name":"Zed"}"#).await.status, 200);

    let r = server.rest("GET", "LiveApp", "/broadcasts/s1", None).await;
    assert_eq!((r.status, r.body["metaData"].as_str()), (200, Some("m")));
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/nope", None)
            .await,
        404,
        "does not exist",
    );
    assert_refused(
        &server
            .rest("GET", "WebRTCAppEE", "/broadcasts/s1", None)
            .await,
        404,
        "does not exist",
    );

    let ids = |r: &common::Reply| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["streamId"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = server
        .rest("GET", "LiveApp", "/broadcasts/list/0/50", None)
        .await;
    assert_eq!(ids(&r).len(), 3);
    assert_eq!(ids(&r)[0], "s1", "by date");
    // By name, a broadcast without one by its id: the generated one's random
    // id may sort anywhere, so the order is checked against the sort keys.
    let r = server
        .rest(
            "GET",
            "LiveApp",
            "/broadcasts/list/0/50?sort_by=name&order_by=desc",
            None,
        )
        .await;
    let keys: Vec<String> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b["name"]
                .as_str()
                .or(b["streamId"].as_str())
                .unwrap()
                .to_lowercase()
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "descending by name");
    assert!(keys.contains(&"zed".to_owned()) && keys.contains(&"first".to_owned()));
    let r = server
        .rest(
            "GET",
            "LiveApp",
            "/broadcasts/list/0/1?sort_by=name&order_by=desc",
            None,
        )
        .await;
    assert_eq!(ids(&r).len(), 1, "the page size holds");
    let r = server
        .rest("GET", "LiveApp", "/broadcasts/list/0/50?search=FIR", None)
        .await;
    assert_eq!(ids(&r), ["s1"]);
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/list/0/50?sort_by=size", None)
            .await,
        400,
        "sort_by",
    );
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/list/0/50?order_by=up", None)
            .await,
        400,
        "order_by",
    );
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/list/x/50", None)
            .await,
        400,
        "invalid path",
    );
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/list/0/-1", None)
            .await,
        400,
        "invalid path",
    );

    let count = |path: &'static str| {
        let s = &server;
        async move { s.rest("GET", "LiveApp", path, None).await.body["number"].as_u64() }
    };
    assert_eq!(count("/broadcasts/count").await, Some(3));
    assert_eq!(count("/broadcasts/count/fir").await, Some(1));
    assert_eq!(count("/broadcasts/active-live-stream-count").await, Some(0));

    let r = server
        .rest("PUT", "LiveApp", "/broadcasts/s1", Some(r#"{"name":"Renamed","description":null,"status":"broadcasting","webRTCViewerLimit":4}"#))
        .await;
    assert_eq!((r.status, &r.body["success"]), (200, &json!(true)), "{r:?}");
    let b = server
        .rest("GET", "LiveApp", "/broadcasts/s1", None)
        .await
        .body;
    assert_eq!(
        (b["name"].as_str(), b["status"].as_str()),
        (Some("Renamed"), Some("created"))
    );
    assert_eq!(
        (b["webRTCViewerLimit"].as_i64(), b["metaData"].as_str()),
        (Some(4), Some("m"))
    );
    assert_refused(
        &server
            .rest("PUT", "LiveApp", "/broadcasts/nope", Some("{}"))
            .await,
        404,
        "does not exist",
    );
    assert_refused(
        &server
            .rest("PUT", "LiveApp", "/broadcasts/s1", Some("[1]"))
            .await,
        400,
        "JSON object",
    );
    assert_refused(
        &server
            .rest("PUT", "LiveApp", "/broadcasts/s1", Some(""))
            .await,
        400,
        "JSON body",
    );
    assert_refused(
        &server
            .rest(
                "PUT",
                "LiveApp",
                "/broadcasts/s1",
                Some(r#"{"webRTCViewerLimit":"many"}"#),
            )
            .await,
        400,
        "webRTCViewerLimit",
    );
    let b = server
        .rest("GET", "LiveApp", "/broadcasts/s1", None)
        .await
        .body;
    assert_eq!(
        b["webRTCViewerLimit"], 4,
        "a refused update changes nothing"
    );

    assert_eq!(
        server
            .rest("DELETE", "LiveApp", "/broadcasts/s1", None)
            .await
            .status,
        200
    );
    assert_refused(
        &server
            .rest("DELETE", "LiveApp", "/broadcasts/s1", None)
            .await,
        404,
        "does not exist",
    );
    assert_refused(
        &server
            .rest("DELETE", "LiveApp", "/broadcasts?ids=", None)
            .await,
        400,
        "ids parameter is blank",
    );
    assert_refused(
        &server.rest("DELETE", "LiveApp", "/broadcasts", None).await,
        400,
        "ids parameter is blank",
    );
    let path = format!("/broadcasts?ids={gen_id},nope");
    assert_refused(
        &server.rest("DELETE", "LiveApp", &path, None).await,
        404,
        "nope",
    );
    assert_eq!(
        count("/broadcasts/count").await,
        Some(1),
        "the existing id was deleted"
    );
    server.stop().await;
}

#[tokio::test]
async fn stop_and_delete_reach_live_streams() {
    let server = start().await;
    let mut publisher = server.client().await;
    publisher
        .send(json!({"command":"publish","streamId":"z1","streamName":"Zombi"}))
        .await;
    assert_eq!(publisher.recv().await["command"], "start");
    let b = server
        .rest("GET", "LiveApp", "/broadcasts/z1", None)
        .await
        .body;
    assert_eq!(
        (b["zombi"].as_bool(), b["status"].as_str()),
        (Some(true), Some("preparing"))
    );
    assert_eq!(
        (b["name"].as_str(), b["publishType"].as_str()),
        (Some("Zombi"), Some("WebRTC"))
    );

    let r = server
        .rest("POST", "LiveApp", "/broadcasts/z1/stop", None)
        .await;
    assert_eq!((r.status, &r.body["success"]), (200, &json!(true)));
    assert_eq!(publisher.expect("publish_finished").await["streamId"], "z1");
    assert_eq!(
        server
            .rest("GET", "LiveApp", "/broadcasts/z1", None)
            .await
            .status,
        404,
        "zombis go when they end"
    );
    assert_refused(
        &server
            .rest("POST", "LiveApp", "/broadcasts/z1/stop", None)
            .await,
        404,
        "does not exist",
    );

    server
        .rest(
            "POST",
            "LiveApp",
            "/broadcasts/create",
            Some(r#"{"streamId":"r1"}"#),
        )
        .await;
    assert_refused(
        &server
            .rest("POST", "LiveApp", "/broadcasts/r1/stop", None)
            .await,
        409,
        "not being published",
    );
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/r1/stream-info", None)
            .await,
        404,
        "not live",
    );
    publisher
        .send(json!({"command":"publish","streamId":"r1"}))
        .await;
    assert_eq!(publisher.recv().await["command"], "start");
    assert_eq!(
        server
            .rest("GET", "LiveApp", "/broadcasts/r1", None)
            .await
            .body["status"],
        "preparing"
    );
    // Stopping a registered stream keeps it, finished.
    assert_eq!(
        server
            .rest("POST", "LiveApp", "/broadcasts/r1/stop", None)
            .await
            .status,
        200
    );
    assert_eq!(publisher.expect("publish_finished").await["streamId"], "r1");
    assert_eq!(
        server
            .rest("GET", "LiveApp", "/broadcasts/r1", None)
            .await
            .body["status"],
        "finished"
    );
    // Deleting a live one stops it first.
    publisher
        .send(json!({"command":"publish","streamId":"r1"}))
        .await;
    assert_eq!(publisher.recv().await["command"], "start");
    assert_eq!(
        server
            .rest("DELETE", "LiveApp", "/broadcasts/r1", None)
            .await
            .status,
        200
    );
    assert_eq!(publisher.expect("publish_finished").await["streamId"], "r1");
    assert_eq!(
        server
            .rest("GET", "LiveApp", "/broadcasts/r1", None)
            .await
            .status,
        404
    );
    server.stop().await;
}

#[tokio::test]
async fn one_time_tokens_and_jwt_tokens() {
    let server = start().await;
    let exp = now_s() + 600;
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/s1/token", None)
            .await,
        400,
        "Define Stream ID",
    );
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                &format!("/broadcasts/s1/token?expireDate={exp}"),
                None,
            )
            .await,
        400,
        "Define Stream ID",
    );
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                &format!("/broadcasts/s1/token?expireDate={exp}&type=watch"),
                None,
            )
            .await,
        400,
        "Invalid token type",
    );
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                "/broadcasts/s1/token?expireDate=1000&type=play",
                None,
            )
            .await,
        400,
        "future",
    );
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                "/broadcasts/s1/token?expireDate=soon&type=play",
                None,
            )
            .await,
        400,
        "invalid query",
    );
    let t = server
        .rest(
            "GET",
            "LiveApp",
            &format!("/broadcasts/s1/token?expireDate={exp}&type=publish"),
            None,
        )
        .await;
    assert_eq!(t.status, 200, "{t:?}");
    assert_eq!(
        (t.body["streamId"].as_str(), t.body["type"].as_str()),
        (Some("s1"), Some("publish"))
    );
    assert_eq!(
        (t.body["expireDate"].as_i64(), &t.body["roomId"]),
        (Some(exp), &Value::Null)
    );
    let id = t.body["tokenId"].as_str().unwrap().to_owned();
    assert!(id.len() >= 32);

    let list = server
        .rest("GET", "LiveApp", "/broadcasts/s1/tokens/list/0/10", None)
        .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1));
    let validate = |body: String| {
        let s = &server;
        async move {
            s.rest("POST", "LiveApp", "/broadcasts/validate-token", Some(&body))
                .await
        }
    };
    let body = |stream: &str, kind: &str, room: Option<&str>| {
        json!({"tokenId": id, "streamId": stream, "type": kind, "roomId": room}).to_string()
    };
    let r = validate(body("other", "publish", None)).await;
    assert_eq!((r.status, &r.body["success"]), (200, &json!(false)));
    let r = validate(body("s1", "play", None)).await;
    assert_eq!(r.body["success"], false);
    assert_eq!(
        validate(body("s1", "publish", None)).await.body["success"],
        true
    );
    assert_eq!(
        validate(body("s1", "publish", None)).await.body["success"],
        false,
        "used once"
    );
    assert_refused(
        &validate(json!({"streamId":"s1","type":"play"}).to_string()).await,
        400,
        "tokenId",
    );
    assert_refused(
        &validate(body("s1", "view", None)).await,
        400,
        "Invalid token type",
    );
    assert_refused(&validate("nope".into()).await, 400, "invalid JSON");

    // Room tokens are reusable.
    let t = server
        .rest(
            "GET",
            "LiveApp",
            &format!("/broadcasts/room1/token?expireDate={exp}&type=play&roomId=room1"),
            None,
        )
        .await;
    assert_eq!(t.body["roomId"], "room1");
    let room_body = json!({"tokenId": t.body["tokenId"], "streamId": "alice", "type": "play", "roomId": "room1"}).to_string();
    assert_eq!(validate(room_body.clone()).await.body["success"], true);
    assert_eq!(validate(room_body).await.body["success"], true);

    let r = server
        .rest("DELETE", "LiveApp", "/broadcasts/room1/tokens", None)
        .await;
    assert_eq!((r.status, &r.body["success"]), (200, &json!(true)));
    let list = server
        .rest("GET", "LiveApp", "/broadcasts/room1/tokens/list/0/10", None)
        .await;
    assert_eq!(list.body, json!([]));
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/s1/tokens/list/a/10", None)
            .await,
        400,
        "invalid path",
    );

    // JWTs need a long enough key.
    let jwt_path = format!("/broadcasts/s1/jwt-token?expireDate={exp}&type=play");
    assert_refused(
        &server.rest("GET", "LiveApp", &jwt_path, None).await,
        400,
        "jwtStreamSecretKey",
    );
    let key = "0123456789abcdef0123456789abcdef";
    let r = server
        .rest(
            "PUT",
            "LiveApp",
            "/settings",
            Some(&json!({"jwtStreamSecretKey": key}).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let t = server.rest("GET", "LiveApp", &jwt_path, None).await;
    assert_eq!(t.status, 200, "{t:?}");
    let jwt = t.body["tokenId"].as_str().unwrap();
    let now = now_s() as u64;
    assert_eq!(
        tern_auth::stream_jwt::verify(
            jwt,
            &tern_auth::jwt::JwtKeys::hs256(key.as_bytes()),
            "s1",
            None,
            tern_auth::Action::Play,
            now
        ),
        Ok(())
    );
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                &format!("/broadcasts/s1/jwt-token?expireDate={exp}"),
                None,
            )
            .await,
        400,
        "Define Stream ID",
    );
    server.stop().await;
}

#[tokio::test]
async fn subscribers_totp_and_blocking() {
    let server = start().await;
    let add = |body: Value| {
        let s = &server;
        async move {
            s.rest(
                "POST",
                "LiveApp",
                "/broadcasts/s1/subscribers",
                Some(&body.to_string()),
            )
            .await
        }
    };
    assert_refused(
        &add(json!({"subscriberId":"abc"})).await,
        400,
        "longer than 3",
    );
    assert_refused(
        &add(json!({"subscriberId":"alice","b32Secret":"ABC"})).await,
        400,
        "b32Secret",
    );
    assert_refused(
        &add(json!({"subscriberId":"alice","b32Secret":"ABCDEFG1"})).await,
        400,
        "b32Secret",
    );
    assert_refused(
        &add(json!({"subscriberId":"alice","type":"watch"})).await,
        400,
        "type",
    );
    assert_refused(
        &add(json!({"subscriberId":"alice","totpExpiryPeriodSeconds":5})).await,
        400,
        "at least 10",
    );
    assert_refused(&add(json!("alice")).await, 400, "invalid JSON");
    let secret = tern_auth::base32::encode(b"0123456789");
    let r = add(json!({"subscriberId":"alice","b32Secret":secret,"type":"publish_play"})).await;
    assert_eq!((r.status, &r.body["success"]), (200, &json!(true)), "{r:?}");
    assert_eq!(add(json!({"subscriberId":"bobby"})).await.status, 200);

    let list = server
        .rest(
            "GET",
            "LiveApp",
            "/broadcasts/s1/subscribers/list/0/10",
            None,
        )
        .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(2));
    assert_eq!(list.body[0]["streamId"], "s1");
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                "/broadcasts/s1/subscribers/list/0/many",
                None,
            )
            .await,
        400,
        "invalid path",
    );

    let before = tern_auth::totp::code(b"0123456789", 60, now_s() as u64 * 1000);
    let r = server
        .rest(
            "GET",
            "LiveApp",
            "/broadcasts/s1/subscribers/alice/totp?type=play",
            None,
        )
        .await;
    let after = tern_auth::totp::code(b"0123456789", 60, now_s() as u64 * 1000);
    assert_eq!(r.status, 200, "{r:?}");
    let code = r.body["dataId"].as_str().unwrap();
    assert!(code == before || code == after, "{code}");
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                "/broadcasts/s1/subscribers/alice/totp",
                None,
            )
            .await,
        400,
        "type",
    );
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                "/broadcasts/s1/subscribers/bobby/totp?type=publish",
                None,
            )
            .await,
        400,
        "play subscriber",
    );
    assert_refused(
        &server
            .rest(
                "GET",
                "LiveApp",
                "/broadcasts/s1/subscribers/nobody/totp?type=play",
                None,
            )
            .await,
        404,
        "no TOTP secret",
    );

    let block = |path: &'static str| {
        let s = &server;
        async move { s.rest("PUT", "LiveApp", path, None).await }
    };
    assert_refused(
        &block("/broadcasts/s1/subscribers/alice/block/60/watch").await,
        400,
        "type",
    );
    assert_refused(
        &block("/broadcasts/s1/subscribers/alice/block/soon/play").await,
        400,
        "invalid path",
    );
    assert_refused(
        &block("/broadcasts/s1/subscribers/nobody/block/60/play").await,
        404,
        "no subscriber",
    );
    assert_eq!(
        block("/broadcasts/s1/subscribers/alice/block/60/play")
            .await
            .status,
        200
    );
    let list = server
        .rest(
            "GET",
            "LiveApp",
            "/broadcasts/s1/subscribers/list/0/1",
            None,
        )
        .await;
    assert_eq!(list.body[0]["blockedType"], "play");
    assert!(
        list.body[0]["blockedUntilUnitTimeStampMs"]
            .as_i64()
            .unwrap()
            > now_s() * 1000
    );

    assert_eq!(
        server
            .rest(
                "DELETE",
                "LiveApp",
                "/broadcasts/s1/subscribers/alice",
                None
            )
            .await
            .status,
        200
    );
    assert_refused(
        &server
            .rest(
                "DELETE",
                "LiveApp",
                "/broadcasts/s1/subscribers/alice",
                None,
            )
            .await,
        404,
        "no subscriber",
    );
    let r = server
        .rest("DELETE", "LiveApp", "/broadcasts/s1/subscribers", None)
        .await;
    assert_eq!((r.status, &r.body["success"]), (200, &json!(true)));
    let list = server
        .rest(
            "GET",
            "LiveApp",
            "/broadcasts/s1/subscribers/list/0/10",
            None,
        )
        .await;
    assert_eq!(list.body, json!([]));
    server.stop().await;
}

#[tokio::test]
async fn settings_are_validated_saved_and_reach_new_sessions() {
    let dir = temp_dir("settings");
    let config = "[apps.LiveApp]\nstunServerURI = \"stun:10.0.0.1:3478\"\n";
    let running = start_in(&dir.0, config).await;
    let get = http(
        running.http_addr,
        "GET",
        "/LiveApp/rest/v2/settings",
        &[],
        None,
    )
    .await;
    assert_eq!(get.status, 200);
    assert_eq!(get.body["stunServerURI"], "stun:10.0.0.1:3478");
    assert_eq!(get.body["remoteAllowedCIDR"], "127.0.0.1");
    assert_eq!(get.body["playTokenControlEnabled"], false);

    let put = |body: &'static str| {
        let addr = running.http_addr;
        async move { http(addr, "PUT", "/LiveApp/rest/v2/settings", &[], Some(body)).await }
    };
    assert_refused(
        &put(r#"{"stunServerUri":"stun:x"}"#).await,
        400,
        "unknown field `stunServerUri`",
    );
    assert_refused(
        &put(r#"{"timeTokenPeriod":"long"}"#).await,
        400,
        "invalid JSON",
    );
    assert_refused(
        &put(r#"{"stunServerURI":"http://x"}"#).await,
        400,
        "stunServerURI",
    );
    assert_refused(
        &put(r#"{"remoteAllowedCIDR":"everyone"}"#).await,
        400,
        "remoteAllowedCIDR",
    );
    assert_refused(
        &put(r#"{"hashControlPlayEnabled":true}"#).await,
        400,
        "tokenHashSecret",
    );
    assert_refused(&put("").await, 400, "JSON body");
    let r = put(r#"{"stunServerURI":"turn:10.0.0.2:3478","turnServerUsername":"u","turnServerCredential":"c"}"#).await;
    assert_eq!((r.status, &r.body["success"]), (200, &json!(true)), "{r:?}");

    let ws = format!("ws://{}/LiveApp/websocket", running.http_addr);
    let mut c = Client::connect(&ws).await;
    c.send(json!({"command":"getIceServerConfig"})).await;
    let v = c.recv().await;
    assert_eq!(v["stunServerUri"], "turn:10.0.0.2:3478");
    assert_eq!(
        (
            v["turnServerUsername"].as_str(),
            v["turnServerCredential"].as_str()
        ),
        (Some("u"), Some("c"))
    );
    drop(c);
    running.stop().await;

    // After a restart the saved settings win over the file.
    let running = start_in(&dir.0, config).await;
    let get = http(
        running.http_addr,
        "GET",
        "/LiveApp/rest/v2/settings",
        &[],
        None,
    )
    .await;
    assert_eq!(get.body["stunServerURI"], "turn:10.0.0.2:3478");
    running.stop().await;
}

#[tokio::test]
async fn everything_survives_a_restart_and_live_streams_end() {
    // A data directory left by a crash: a stream still marked live.
    let dir = temp_dir("restart");
    {
        use tern_store::Store;
        let mut store = tern_store::SqliteStore::open(&dir.0).unwrap();
        let crashed = tern_store::Broadcast {
            stream_id: "crashed".into(),
            status: "broadcasting".into(),
            webrtc_viewer_count: 5,
            ..Default::default()
        };
        store.insert_broadcast("LiveApp", &crashed).unwrap();
    }
    let running = start_in(&dir.0, "").await;
    let b = http(
        running.http_addr,
        "GET",
        "/LiveApp/rest/v2/broadcasts/crashed",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (
            b.body["status"].as_str(),
            b.body["webRTCViewerCount"].as_i64()
        ),
        (Some("finished"), Some(0))
    );
    running.stop().await;

    let running = start_in(&dir.0, "").await;
    let addr = running.http_addr;
    http(
        addr,
        "POST",
        "/LiveApp/rest/v2/broadcasts/create",
        &[],
        Some(r#"{"streamId":"r1","name":"Kept"}"#),
    )
    .await;
    let exp = now_s() + 600;
    let t = http(
        addr,
        "GET",
        &format!("/LiveApp/rest/v2/broadcasts/r1/token?expireDate={exp}&type=play"),
        &[],
        None,
    )
    .await;
    http(
        addr,
        "POST",
        "/LiveApp/rest/v2/broadcasts/r1/subscribers",
        &[],
        Some(r#"{"subscriberId":"alice"}"#),
    )
    .await;
    http(
        addr,
        "PUT",
        "/LiveApp/rest/v2/settings",
        &[],
        Some(r#"{"webRTCViewerLimit":7}"#),
    )
    .await;
    let mut c = Client::connect(&format!("ws://{addr}/LiveApp/websocket")).await;
    for id in ["r1", "z1"] {
        c.send(json!({"command":"publish","streamId":id})).await;
        assert_eq!(c.recv().await["command"], "start");
    }
    assert_eq!(
        http(addr, "GET", "/LiveApp/rest/v2/broadcasts/r1", &[], None)
            .await
            .body["status"],
        "preparing"
    );
    running.stop().await;
    drop(c);

    let running = start_in(&dir.0, "").await;
    let addr = running.http_addr;
    let b = http(addr, "GET", "/LiveApp/rest/v2/broadcasts/r1", &[], None)
        .await
        .body;
    assert_eq!(
        (b["name"].as_str(), b["status"].as_str()),
        (Some("Kept"), Some("finished"))
    );
    assert_eq!(
        http(addr, "GET", "/LiveApp/rest/v2/broadcasts/z1", &[], None)
            .await
            .status,
        404
    );
    let tokens = http(
        addr,
        "GET",
        "/LiveApp/rest/v2/broadcasts/r1/tokens/list/0/10",
        &[],
        None,
    )
    .await;
    assert_eq!(tokens.body[0]["tokenId"], t.body["tokenId"]);
    let subs = http(
        addr,
        "GET",
        "/LiveApp/rest/v2/broadcasts/r1/subscribers/list/0/10",
        &[],
        None,
    )
    .await;
    assert_eq!(subs.body[0]["subscriberId"], "alice");
    let settings = http(addr, "GET", "/LiveApp/rest/v2/settings", &[], None).await;
    assert_eq!(settings.body["webRTCViewerLimit"], 7);
    running.stop().await;
}

#[tokio::test]
async fn the_ip_filter_allows_only_remote_allowed_cidr() {
    let server = start_with(
        "[apps.Far]\nremoteAllowedCIDR = \"10.0.0.0/8, 192.168.0.0/16\"\n\
         [apps.Open]\nremoteAllowedCIDR = \"10.0.0.0/8\"\nipFilterEnabled = false\n\
         [apps.Near]\nremoteAllowedCIDR = \"10.0.0.0/8,127.0.0.0/8\"\n",
    )
    .await;
    assert_refused(
        &server.rest("GET", "Far", "/version", None).await,
        403,
        "127.0.0.1 is not in remoteAllowedCIDR",
    );
    assert_refused(
        &server
            .rest("POST", "Far", "/broadcasts/create", Some("{}"))
            .await,
        403,
        "remoteAllowedCIDR",
    );
    assert_refused(
        &server.rest("GET", "Far", "/openapi.json", None).await,
        403,
        "remoteAllowedCIDR",
    );
    assert_eq!(
        server.rest("GET", "Open", "/version", None).await.status,
        200
    );
    assert_eq!(
        server.rest("GET", "Near", "/version", None).await.status,
        200
    );
    // The default allows 127.0.0.1 only.
    let v = server.rest("GET", "LiveApp", "/version", None).await;
    assert_eq!(v.status, 200);
    assert_eq!(v.body["versionType"], "Tern");
    assert!(v.body["versionName"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn the_jwt_filter_wants_an_hs256_token_signed_with_jwt_secret_key() {
    let key = "rest-secret-rest-secret-rest-secret";
    let server = start_with(&format!(
        "[apps.LiveApp]\njwtControlEnabled = true\njwtSecretKey = \"{key}\"\n"
    ))
    .await;
    let claims = |exp: i64| {
        json!({"sub": "ops", "exp": exp})
            .as_object()
            .unwrap()
            .clone()
    };
    let good = tern_auth::jwt::sign(&claims(now_s() + 60), key.as_bytes()).unwrap();
    let expired = tern_auth::jwt::sign(&claims(now_s() - 1), key.as_bytes()).unwrap();
    let forged = tern_auth::jwt::sign(&claims(now_s() + 60), b"another key").unwrap();
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(json!({"alg":"none"})),
        b64(json!({"exp": now_s() + 60}))
    );
    let call = |auth: Option<String>| {
        let addr = server.http;
        async move {
            let headers: Vec<(&str, &str)> = match &auth {
                Some(a) => vec![("Authorization", a.as_str())],
                None => vec![],
            };
            http(
                addr,
                "GET",
                "/LiveApp/rest/v2/broadcasts/count",
                &headers,
                None,
            )
            .await
        }
    };
    assert_refused(&call(None).await, 403, "Invalid App JWT Token");
    for bad in [&expired, &forged, &none, &"garbage".to_owned()] {
        assert_refused(
            &call(Some(format!("Bearer {bad}"))).await,
            403,
            "Invalid App JWT Token",
        );
    }
    assert_eq!(call(Some(format!("Bearer {good}"))).await.status, 200);
    assert_eq!(
        call(Some(good.clone())).await.status,
        200,
        "Ant Media also takes the bare token"
    );
    // Apps without the setting stay open (to 127.0.0.1).
    assert_eq!(
        server
            .rest("GET", "WebRTCAppEE", "/broadcasts/count", None)
            .await
            .status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn cors_is_open_and_preflights_skip_the_filters() {
    let key = "rest-secret-rest-secret-rest-secret";
    let server = start_with(&format!(
        "[apps.LiveApp]\njwtControlEnabled = true\njwtSecretKey = \"{key}\"\n"
    ))
    .await;
    let pre = http(
        server.http,
        "OPTIONS",
        "/LiveApp/rest/v2/broadcasts/create",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    )
    .await;
    // Any 2xx passes a preflight; tower-http's CorsLayer answers 200, as
    // Ant Media's servlet filter does.
    assert_eq!(pre.status, 200, "{pre:?}");
    let head = pre.headers.to_ascii_lowercase();
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
    let list = |name: &str| -> Vec<String> {
        let line = head
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {head}"));
        line.split(',').map(|m| m.trim().to_owned()).collect()
    };
    assert_eq!(
        list("access-control-allow-methods"),
        ["get", "post", "head", "options", "put", "delete"]
    );
    assert_eq!(
        list("access-control-allow-headers"),
        ["authorization", "content-type"]
    );
    let refused = server.rest("GET", "LiveApp", "/version", None).await;
    assert_eq!(refused.status, 403);
    assert!(refused
        .headers
        .to_ascii_lowercase()
        .contains("access-control-allow-origin: *"));
    server.stop().await;
}

#[tokio::test]
async fn unknown_apps_and_endpoints_are_404_results() {
    let server = start().await;
    assert_refused(
        &server.rest("GET", "NoSuchApp", "/version", None).await,
        404,
        "NoSuchApp",
    );
    assert_refused(
        &server.rest("GET", "LiveApp", "/no/such/thing", None).await,
        404,
        "no such REST endpoint",
    );
    assert_refused(
        &server
            .rest("GET", "LiveApp", "/broadcasts/s1/subscribers/alice", None)
            .await,
        405,
        "method",
    );
    server.stop().await;
}

/// Sample values for the path parameters in the OpenAPI document.
fn fill(path: &str) -> String {
    path.replace("{app}", "LiveApp")
        .replace("{id}", "s1")
        .replace("{offset}", "0")
        .replace("{size}", "10")
        .replace("{search}", "s")
        .replace("{sid}", "alice")
        .replace("{seconds}", "10")
        .replace("{block_type}", "play")
}

#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let server = start().await;
    let doc = server.rest("GET", "LiveApp", "/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let paths = doc.body["paths"].as_object().expect("paths");
    for expected in [
        "/{app}/rest/v2/broadcasts/create",
        "/{app}/rest/v2/broadcasts/{id}",
        "/{app}/rest/v2/broadcasts/list/{offset}/{size}",
        "/{app}/rest/v2/broadcasts",
        "/{app}/rest/v2/broadcasts/count",
        "/{app}/rest/v2/broadcasts/count/{search}",
        "/{app}/rest/v2/broadcasts/active-live-stream-count",
        "/{app}/rest/v2/broadcasts/{id}/stop",
        "/{app}/rest/v2/broadcasts/{id}/token",
        "/{app}/rest/v2/broadcasts/{id}/jwt-token",
        "/{app}/rest/v2/broadcasts/validate-token",
        "/{app}/rest/v2/broadcasts/{id}/tokens",
        "/{app}/rest/v2/broadcasts/{id}/tokens/list/{offset}/{size}",
        "/{app}/rest/v2/broadcasts/{id}/subscribers",
        "/{app}/rest/v2/broadcasts/{id}/subscribers/list/{offset}/{size}",
        "/{app}/rest/v2/broadcasts/{id}/subscribers/{sid}/totp",
        "/{app}/rest/v2/broadcasts/{id}/subscribers/{sid}",
        "/{app}/rest/v2/broadcasts/{id}/subscribers/{sid}/block/{seconds}/{block_type}",
        "/{app}/rest/v2/broadcasts/{id}/stream-info",
        "/{app}/rest/v2/version",
        "/{app}/rest/v2/settings",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    // Every documented operation is routed: it answers with something other
    // than the "no such endpoint" fallback or axum's 405.
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let body = matches!(method, "post" | "put").then_some("{}");
            let r = server
                .rest(
                    &method.to_uppercase(),
                    "LiveApp",
                    &fill(path)["/LiveApp/rest/v2".len()..],
                    body,
                )
                .await;
            assert_ne!(r.status, 405, "{method} {path}");
            let msg = r.body["message"].as_str().unwrap_or("");
            assert!(
                !msg.contains("no such REST endpoint"),
                "{method} {path} is not routed"
            );
            let documented: Vec<String> = item[method]["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            assert!(
                documented.contains(&r.status.to_string()),
                "{method} {path} answered {} (documented {documented:?})",
                r.status
            );
        }
    }
    assert!(operations >= 25, "{operations}");
    server.stop().await;
}
