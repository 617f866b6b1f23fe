//! The SQLite store on a real file: every test opens a fresh directory, and a
//! "restart" is dropping the store and opening the same directory again.

use std::path::PathBuf;

use tern_store::{
    status, Broadcast, ListQuery, OpenError, Order, SortBy, SqliteStore, Store, Subscriber, Token,
};

/// A directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p =
            std::env::temp_dir().join(format!("tern-store-{name}-{}-{nanos}", std::process::id()));
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn broadcast(id: &str, name: &str, date: i64) -> Broadcast {
    Broadcast {
        stream_id: id.into(),
        name: Some(name.into()),
        date,
        ..Broadcast::default()
    }
}

fn token(id: &str, stream: &str, kind: &str, room: Option<&str>) -> Token {
    Token {
        token_id: id.into(),
        stream_id: stream.into(),
        expire_date: 2_000_000_000,
        kind: kind.into(),
        room_id: room.map(Into::into),
    }
}

#[test]
fn migrates_an_empty_directory_and_reopens() {
    let dir = Dir::new("migrate");
    let nested = dir.0.join("not").join("there");
    let store = SqliteStore::open(&nested).expect("creates the directory and the schema");
    assert!(store.path().exists());
    assert_eq!(store.schema_version(), 2);
    drop(store);
    let store = SqliteStore::open(&nested).expect("reopens");
    assert_eq!(store.schema_version(), 2);
    let mode: String = rusqlite::Connection::open(nested.join("tern.db"))
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = Dir::new("newer");
    drop(SqliteStore::open(&dir.0).unwrap());
    rusqlite::Connection::open(dir.0.join("tern.db"))
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    match SqliteStore::open(&dir.0) {
        Err(OpenError::TooNew {
            found: 99,
            known: 2,
        }) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[test]
fn broadcasts_survive_a_restart() {
    let dir = Dir::new("restart");
    let mut store = SqliteStore::open(&dir.0).unwrap();
    assert!(store
        .insert_broadcast("LiveApp", &broadcast("s1", "One", 1))
        .unwrap());
    assert!(
        !store
            .insert_broadcast("LiveApp", &broadcast("s1", "Dup", 2))
            .unwrap(),
        "ids are unique per app"
    );
    assert!(store
        .insert_broadcast("WebRTCAppEE", &broadcast("s1", "Other app", 3))
        .unwrap());
    drop(store);

    let store = SqliteStore::open(&dir.0).unwrap();
    let b = store
        .broadcast("LiveApp", "s1")
        .unwrap()
        .expect("still there");
    assert_eq!(b.name.as_deref(), Some("One"));
    assert_eq!(b.status, status::CREATED);
    assert_eq!(
        store
            .broadcast("WebRTCAppEE", "s1")
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some("Other app")
    );
    assert!(store.broadcast("LiveApp", "nope").unwrap().is_none());
}

#[test]
fn a_crash_never_leaves_a_stream_broadcasting() {
    let dir = Dir::new("crash");
    let mut store = SqliteStore::open(&dir.0).unwrap();
    for (id, st) in [
        ("live", status::BROADCASTING),
        ("prep", status::PREPARING),
        ("idle", status::CREATED),
    ] {
        store
            .insert_broadcast("LiveApp", &broadcast(id, id, 1))
            .unwrap();
        store
            .modify_broadcast("LiveApp", id, &mut |b| {
                b.status = st.into();
                b.webrtc_viewer_count = 3;
            })
            .unwrap();
    }
    let zombi = Broadcast {
        zombi: true,
        status: status::BROADCASTING.into(),
        ..broadcast("z", "z", 1)
    };
    store.insert_broadcast("LiveApp", &zombi).unwrap();
    // The process dies here: no orderly shutdown.
    drop(store);

    let mut store = SqliteStore::open(&dir.0).unwrap();
    assert_eq!(store.finish_live_broadcasts(42).unwrap(), 3);
    assert_eq!(
        store
            .count_with_status("LiveApp", status::BROADCASTING)
            .unwrap(),
        0
    );
    let live = store.broadcast("LiveApp", "live").unwrap().unwrap();
    assert_eq!(live.status, status::FINISHED);
    assert_eq!(live.webrtc_viewer_count, 0);
    assert_eq!(live.update_time, 42);
    assert_eq!(
        store.broadcast("LiveApp", "idle").unwrap().unwrap().status,
        status::CREATED
    );
    assert_eq!(store.delete_idle_zombis().unwrap(), 1);
    assert!(store.broadcast("LiveApp", "z").unwrap().is_none());
    assert!(
        store.broadcast("LiveApp", "live").unwrap().is_some(),
        "registered streams stay"
    );
}

#[test]
fn list_sort_search_count_and_delete() {
    let dir = Dir::new("list");
    let mut store = SqliteStore::open(&dir.0).unwrap();
    for (id, name, date) in [("a1", "Zeta", 3), ("b2", "alpha", 1), ("c3", "Mid_%", 2)] {
        store
            .insert_broadcast("LiveApp", &broadcast(id, name, date))
            .unwrap();
    }
    let ids = |q: &ListQuery| -> Vec<String> {
        store
            .list_broadcasts("LiveApp", q)
            .unwrap()
            .into_iter()
            .map(|b| b.stream_id)
            .collect()
    };
    let all = ListQuery {
        size: 50,
        ..ListQuery::default()
    };
    assert_eq!(ids(&all), ["b2", "c3", "a1"], "by date by default");
    let by_name_desc = ListQuery {
        sort_by: SortBy::Name,
        order: Order::Desc,
        ..all.clone()
    };
    assert_eq!(ids(&by_name_desc), ["a1", "c3", "b2"]);
    let page = ListQuery {
        offset: 1,
        size: 1,
        ..all.clone()
    };
    assert_eq!(ids(&page), ["c3"]);
    let search = ListQuery {
        search: Some("ALP".into()),
        ..all.clone()
    };
    assert_eq!(ids(&search), ["b2"]);
    let literal = ListQuery {
        search: Some("_%".into()),
        ..all.clone()
    };
    assert_eq!(ids(&literal), ["c3"], "% and _ are not wildcards");
    let typed = ListQuery {
        type_by: Some("ipCamera".into()),
        ..all.clone()
    };
    assert!(ids(&typed).is_empty());
    assert_eq!(store.count_broadcasts("LiveApp", None).unwrap(), 3);
    assert_eq!(store.count_broadcasts("LiveApp", Some("A")).unwrap(), 2);
    assert_eq!(store.count_broadcasts("LiveApp", Some("zet")).unwrap(), 1);
    assert_eq!(store.count_broadcasts("WebRTCAppEE", None).unwrap(), 0);
    assert!(store.delete_broadcast("LiveApp", "a1").unwrap());
    assert!(!store.delete_broadcast("LiveApp", "a1").unwrap());
    assert_eq!(store.count_broadcasts("LiveApp", None).unwrap(), 2);
}

#[test]
fn modify_keeps_the_id_and_reports_missing() {
    let dir = Dir::new("modify");
    let mut store = SqliteStore::open(&dir.0).unwrap();
    store
        .insert_broadcast("LiveApp", &broadcast("s1", "x", 1))
        .unwrap();
    let b = store
        .modify_broadcast("LiveApp", "s1", &mut |b| {
            b.stream_id = "hijack".into();
            b.meta_data = Some("m".into());
        })
        .unwrap()
        .unwrap();
    assert_eq!(b.stream_id, "s1");
    assert!(store.broadcast("LiveApp", "hijack").unwrap().is_none());
    assert_eq!(
        store
            .broadcast("LiveApp", "s1")
            .unwrap()
            .unwrap()
            .meta_data
            .as_deref(),
        Some("m")
    );
    assert!(store
        .modify_broadcast("LiveApp", "none", &mut |_| {})
        .unwrap()
        .is_none());
}

#[test]
fn tokens_are_taken_once_and_survive_a_restart() {
    let dir = Dir::new("tokens");
    let mut store = SqliteStore::open(&dir.0).unwrap();
    assert!(store
        .insert_token("LiveApp", &token("t1", "s1", "publish", None))
        .unwrap());
    assert!(!store
        .insert_token("LiveApp", &token("t1", "s9", "play", None))
        .unwrap());
    store
        .insert_token("LiveApp", &token("t2", "s1", "play", Some("room")))
        .unwrap();
    store
        .insert_token("LiveApp", &token("t3", "s2", "play", None))
        .unwrap();
    drop(store);

    let mut store = SqliteStore::open(&dir.0).unwrap();
    assert_eq!(
        store.token("LiveApp", "t1").unwrap(),
        Some(token("t1", "s1", "publish", None))
    );
    assert!(
        store.token("WebRTCAppEE", "t1").unwrap().is_none(),
        "tokens belong to one app"
    );
    assert_eq!(store.list_tokens("LiveApp", "s1", 0, 10).unwrap().len(), 2);
    assert_eq!(store.list_tokens("LiveApp", "s1", 1, 10).unwrap().len(), 1);
    assert_eq!(
        store
            .take_token("LiveApp", "t1")
            .unwrap()
            .map(|t| t.stream_id),
        Some("s1".into())
    );
    assert_eq!(
        store.take_token("LiveApp", "t1").unwrap(),
        None,
        "a token is taken once"
    );
    assert_eq!(store.delete_tokens("LiveApp", "s1").unwrap(), 1);
    assert_eq!(store.list_tokens("LiveApp", "s2", 0, 10).unwrap().len(), 1);
}

#[test]
fn subscribers_and_settings() {
    let dir = Dir::new("subs");
    let mut store = SqliteStore::open(&dir.0).unwrap();
    let sub = Subscriber {
        subscriber_id: "alice".into(),
        stream_id: "s1".into(),
        b32_secret: Some("MZXW6YTB".into()),
        ..Subscriber::default()
    };
    store.save_subscriber("LiveApp", &sub).unwrap();
    store
        .save_subscriber(
            "LiveApp",
            &Subscriber {
                subscriber_id: "bob".into(),
                ..sub.clone()
            },
        )
        .unwrap();
    let blocked = Subscriber {
        blocked_type: Some("play".into()),
        ..sub.clone()
    };
    store.save_subscriber("LiveApp", &blocked).unwrap();
    store
        .save_app_settings("LiveApp", r#"{"playTokenControlEnabled":true}"#)
        .unwrap();
    drop(store);

    let mut store = SqliteStore::open(&dir.0).unwrap();
    assert_eq!(
        store.subscriber("LiveApp", "s1", "alice").unwrap(),
        Some(blocked)
    );
    assert!(store
        .subscriber("LiveApp", "s2", "alice")
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .list_subscribers("LiveApp", "s1", 0, 10)
            .unwrap()
            .len(),
        2
    );
    assert!(store.delete_subscriber("LiveApp", "s1", "bob").unwrap());
    assert!(!store.delete_subscriber("LiveApp", "s1", "bob").unwrap());
    assert_eq!(store.delete_subscribers("LiveApp", "s1").unwrap(), 1);
    assert_eq!(
        store.app_settings("LiveApp").unwrap().as_deref(),
        Some(r#"{"playTokenControlEnabled":true}"#)
    );
    assert_eq!(store.app_settings("Other").unwrap(), None);
}

#[test]
fn records_use_ant_media_names_and_defaults() {
    let b: Broadcast =
        serde_json::from_str(r#"{"streamId":"s1","webRTCViewerLimit":2,"unknown":1}"#).unwrap();
    assert_eq!(b.webrtc_viewer_limit, 2);
    assert_eq!(b.status, "created");
    assert_eq!(b.kind, "liveStream");
    let v = serde_json::to_value(&b).unwrap();
    for key in [
        "streamId",
        "status",
        "type",
        "name",
        "metaData",
        "role",
        "mainTrackStreamId",
        "subTrackStreamIds",
        "webRTCViewerCount",
        "expireDurationMS",
        "rtmpURL",
        "originAdress",
        "virtual",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let t: Token = serde_json::from_str(r#"{"tokenId":"x","type":"play","expireDate":5}"#).unwrap();
    assert_eq!((t.kind.as_str(), t.expire_date), ("play", 5));
}

#[test]
fn vods_are_listed_newest_first_counted_and_deleted() {
    use tern_store::Vod;
    let dir = Dir::new("vods");
    let mut store = SqliteStore::open(&dir.0).unwrap();
    for (id, date) in [("a", 10), ("b", 30), ("c", 20)] {
        let v = Vod {
            vod_id: id.into(),
            stream_id: format!("s_{id}"),
            vod_name: format!("s_{id}.mp4"),
            file_path: format!("streams/s_{id}.mp4"),
            duration: 1000,
            file_size: 5,
            creation_date: date,
            kind: "streamVod".into(),
            ..Vod::default()
        };
        store.insert_vod("LiveApp", &v).unwrap();
    }
    let ids: Vec<String> = store
        .list_vods("LiveApp", 0, 10)
        .unwrap()
        .into_iter()
        .map(|v| v.vod_id)
        .collect();
    assert_eq!(ids, ["b", "c", "a"]);
    assert_eq!(store.list_vods("LiveApp", 1, 1).unwrap()[0].vod_id, "c");
    assert_eq!(store.count_vods("LiveApp").unwrap(), 3);
    assert_eq!(store.count_vods("Other").unwrap(), 0);
    assert_eq!(store.vod("LiveApp", "c").unwrap().unwrap().stream_id, "s_c");
    assert!(store.delete_vod("LiveApp", "c").unwrap());
    assert!(!store.delete_vod("LiveApp", "c").unwrap());
    drop(store);
    let store = SqliteStore::open(&dir.0).unwrap();
    assert_eq!(
        store.count_vods("LiveApp").unwrap(),
        2,
        "kept across a restart"
    );
}
