//! The Redis store against a real `redis-server` (Debian's, started here on a
//! free loopback port per test, without persistence): the same answers as the
//! SQLite store, plus what only a shared store must do — one-time tokens taken
//! once across clients, concurrent changes never lost, a Redis restart costing
//! only the calls made while it was away.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tern_store::{
    status, Broadcast, ListQuery, Order, RedisStore, SortBy, Store, StoreError, Subscriber, Token,
    Vod,
};

/// A redis-server child, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Redis::on(port)
    }

    fn on(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (Debian package redis-server)");
        let r = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn store(&self) -> RedisStore {
        RedisStore::open(&self.url()).expect("opens")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

fn token(id: &str, stream: &str) -> Token {
    Token {
        token_id: id.into(),
        stream_id: stream.into(),
        expire_date: 2_000_000_000,
        kind: "play".into(),
        room_id: None,
    }
}

#[test]
fn an_unreachable_redis_is_a_clear_open_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = match RedisStore::open(&format!("redis://:pw@127.0.0.1:{port}/")) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("nothing listens there"),
    };
    assert!(
        e.starts_with("cannot use Redis at redis://***@127.0.0.1:"),
        "{e}"
    );
    assert!(!e.contains("pw"), "{e}");
}

#[test]
fn lists_sort_search_count_and_delete_as_sqlite_does() {
    let redis = Redis::start();
    let mut store = redis.store();
    for (id, name, date) in [("a1", "Zeta", 3), ("b2", "alpha", 1), ("c3", "Mid_%", 2)] {
        assert!(store
            .insert_broadcast("LiveApp", &broadcast(id, name, date))
            .unwrap());
    }
    assert!(!store
        .insert_broadcast("LiveApp", &broadcast("a1", "again", 9))
        .unwrap());
    let ids = |store: &RedisStore, q: &ListQuery| -> Vec<String> {
        let list = store.list_broadcasts("LiveApp", q).unwrap();
        list.into_iter().map(|b| b.stream_id).collect()
    };
    let all = ListQuery {
        size: 50,
        ..ListQuery::default()
    };
    assert_eq!(ids(&store, &all), ["b2", "c3", "a1"], "by date by default");
    let by_name_desc = ListQuery {
        sort_by: SortBy::Name,
        order: Order::Desc,
        ..all.clone()
    };
    assert_eq!(ids(&store, &by_name_desc), ["a1", "c3", "b2"]);
    let page = ListQuery {
        offset: 1,
        size: 1,
        ..all.clone()
    };
    assert_eq!(ids(&store, &page), ["c3"]);
    let search = ListQuery {
        search: Some("ALP".into()),
        ..all.clone()
    };
    assert_eq!(ids(&store, &search), ["b2"]);
    let literal = ListQuery {
        search: Some("_%".into()),
        ..all.clone()
    };
    assert_eq!(ids(&store, &literal), ["c3"], "% and _ are not wildcards");
    let typed = ListQuery {
        type_by: Some("ipCamera".into()),
        ..all.clone()
    };
    assert!(ids(&store, &typed).is_empty());
    assert_eq!(store.count_broadcasts("LiveApp", None).unwrap(), 3);
    assert_eq!(store.count_broadcasts("LiveApp", Some("A")).unwrap(), 2);
    assert_eq!(store.count_broadcasts("WebRTCAppEE", None).unwrap(), 0);
    assert!(store.delete_broadcast("LiveApp", "a1").unwrap());
    assert!(!store.delete_broadcast("LiveApp", "a1").unwrap());
    assert_eq!(store.count_broadcasts("LiveApp", None).unwrap(), 2);
    assert_eq!(ids(&store, &all), ["b2", "c3"]);
}

#[test]
fn one_time_tokens_are_taken_exactly_once_across_clients() {
    let redis = Redis::start();
    let mut store = redis.store();
    for i in 0..20 {
        assert!(store
            .insert_token("LiveApp", &token(&format!("t{i}"), "s"))
            .unwrap());
    }
    assert!(!store.insert_token("LiveApp", &token("t0", "s")).unwrap());
    // Eight clients, as eight nodes would be, race for every token.
    let url = redis.url();
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut store = RedisStore::open(&url).unwrap();
                (0..20)
                    .filter(|i| {
                        store
                            .take_token("LiveApp", &format!("t{i}"))
                            .unwrap()
                            .is_some()
                    })
                    .count()
            })
        })
        .collect();
    let taken: usize = takers.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(taken, 20, "each token exactly once");
    assert_eq!(store.token("LiveApp", "t3").unwrap(), None);
}

#[test]
fn concurrent_changes_to_one_broadcast_are_never_lost() {
    let redis = Redis::start();
    let mut store = redis.store();
    store
        .insert_broadcast("LiveApp", &broadcast("s", "S", 1))
        .unwrap();
    let url = redis.url();
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut store = RedisStore::open(&url).unwrap();
                for _ in 0..50 {
                    let changed = store
                        .modify_broadcast("LiveApp", "s", &mut |b| b.webrtc_viewer_count += 1)
                        .unwrap();
                    assert!(changed.is_some());
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let b = store.broadcast("LiveApp", "s").unwrap().unwrap();
    assert_eq!(b.webrtc_viewer_count, 200);
    let missing = store
        .modify_broadcast("LiveApp", "nope", &mut |_| {})
        .unwrap();
    assert!(missing.is_none());
    let renamed = store
        .modify_broadcast("LiveApp", "s", &mut |b| b.stream_id = "other".into())
        .unwrap()
        .unwrap();
    assert_eq!(renamed.stream_id, "s", "the id never changes");
}

#[test]
fn tokens_subscribers_settings_and_vods() {
    let redis = Redis::start();
    let mut store = redis.store();
    store.insert_token("LiveApp", &token("x1", "s1")).unwrap();
    store.insert_token("LiveApp", &token("y1", "s2")).unwrap();
    store.insert_token("LiveApp", &token("x2", "s1")).unwrap();
    let listed: Vec<_> = store
        .list_tokens("LiveApp", "s1", 0, 10)
        .unwrap()
        .into_iter()
        .map(|t| t.token_id)
        .collect();
    assert_eq!(listed, ["x1", "x2"]);
    assert_eq!(store.delete_tokens("LiveApp", "s1").unwrap(), 2);
    assert!(store.token("LiveApp", "y1").unwrap().is_some());

    let sub = |id: &str, stream: &str| Subscriber {
        subscriber_id: id.into(),
        stream_id: stream.into(),
        ..Subscriber::default()
    };
    store.save_subscriber("LiveApp", &sub("u1", "s1")).unwrap();
    store.save_subscriber("LiveApp", &sub("u2", "s1")).unwrap();
    store.save_subscriber("LiveApp", &sub("u1", "s2")).unwrap();
    let mut u1 = sub("u1", "s1");
    u1.connected = true;
    store.save_subscriber("LiveApp", &u1).unwrap();
    let listed = store.list_subscribers("LiveApp", "s1", 0, 10).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[0].subscriber_id, "u1",
        "a replaced subscriber keeps its place"
    );
    assert!(listed[0].connected);
    assert!(store.delete_subscriber("LiveApp", "s1", "u2").unwrap());
    assert_eq!(store.delete_subscribers("LiveApp", "s1").unwrap(), 1);
    assert!(store.subscriber("LiveApp", "s2", "u1").unwrap().is_some());

    assert_eq!(store.app_settings("LiveApp").unwrap(), None);
    store
        .save_app_settings("LiveApp", r#"{"mp4MuxingEnabled":true}"#)
        .unwrap();
    assert_eq!(
        store.app_settings("LiveApp").unwrap().as_deref(),
        Some(r#"{"mp4MuxingEnabled":true}"#)
    );

    let vod = |id: &str, date: i64| Vod {
        vod_id: id.into(),
        stream_id: "s1".into(),
        creation_date: date,
        ..Vod::default()
    };
    for (id, date) in [("v1", 10), ("v2", 30), ("v3", 20), ("v4", 30)] {
        store.insert_vod("LiveApp", &vod(id, date)).unwrap();
    }
    let ids: Vec<_> = store
        .list_vods("LiveApp", 0, 10)
        .unwrap()
        .into_iter()
        .map(|v| v.vod_id)
        .collect();
    assert_eq!(
        ids,
        ["v4", "v2", "v3", "v1"],
        "newest first, the last added first"
    );
    assert_eq!(store.count_vods("LiveApp").unwrap(), 4);
    assert!(store.delete_vod("LiveApp", "v2").unwrap());
    assert_eq!(store.vod("LiveApp", "v2").unwrap(), None);
}

#[test]
fn crash_recovery_finishes_live_streams_and_drops_idle_zombis() {
    let redis = Redis::start();
    let mut store = redis.store();
    let live = |id: &str, st: &str, zombi: bool| Broadcast {
        status: st.into(),
        zombi,
        webrtc_viewer_count: 3,
        ..broadcast(id, id, 1)
    };
    store
        .insert_broadcast("LiveApp", &live("a", status::BROADCASTING, false))
        .unwrap();
    store
        .insert_broadcast("WebRTCAppEE", &live("b", status::PREPARING, false))
        .unwrap();
    store
        .insert_broadcast("LiveApp", &live("c", status::CREATED, false))
        .unwrap();
    store
        .insert_broadcast("LiveApp", &live("z", status::FINISHED, true))
        .unwrap();
    store
        .insert_broadcast("LiveApp", &live("y", status::BROADCASTING, true))
        .unwrap();
    assert_eq!(store.finish_live_broadcasts(77).unwrap(), 3);
    let a = store.broadcast("LiveApp", "a").unwrap().unwrap();
    assert_eq!(
        (a.status.as_str(), a.webrtc_viewer_count, a.update_time),
        ("finished", 0, 77)
    );
    assert_eq!(
        store.broadcast("WebRTCAppEE", "b").unwrap().unwrap().status,
        "finished"
    );
    assert_eq!(
        store.broadcast("LiveApp", "c").unwrap().unwrap().status,
        "created"
    );
    assert_eq!(
        store.delete_idle_zombis().unwrap(),
        2,
        "z and y, now finished"
    );
    assert_eq!(store.count_broadcasts("LiveApp", None).unwrap(), 2);
}

#[test]
fn a_redis_restart_costs_only_the_calls_made_while_it_is_away() {
    let redis = Redis::start();
    let port = redis.port;
    let mut store = redis.store();
    store
        .insert_broadcast("LiveApp", &broadcast("s", "S", 1))
        .unwrap();
    drop(redis);
    let asked = Instant::now();
    match store.broadcast("LiveApp", "s") {
        Err(StoreError::Redis(_)) => {}
        other => panic!("expected a Redis error, got {other:?}"),
    }
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let _again = Redis::on(port);
    // Nothing persisted (no --save): the store works again, on an empty Redis.
    assert_eq!(store.broadcast("LiveApp", "s").unwrap(), None);
    assert!(store
        .insert_broadcast("LiveApp", &broadcast("s", "S", 1))
        .unwrap());
}

#[test]
fn a_single_nodes_sqlite_records_move_into_redis_once() {
    let dir = std::env::temp_dir().join(format!(
        "tern-migrate-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    let mut sqlite = tern_store::SqliteStore::open(&dir).unwrap();
    sqlite.save_app_settings("LiveApp", r#"{"a":1}"#).unwrap();
    for (id, date) in [("b", 2), ("a", 1)] {
        sqlite
            .insert_broadcast("LiveApp", &broadcast(id, id, date))
            .unwrap();
    }
    sqlite
        .insert_broadcast("Other", &broadcast("x", "x", 5))
        .unwrap();
    sqlite.insert_token("LiveApp", &token("t1", "a")).unwrap();
    sqlite
        .insert_token("Other", &token("t2", "orphan-stream"))
        .unwrap();
    let sub = Subscriber {
        subscriber_id: "u".into(),
        stream_id: "a".into(),
        ..Subscriber::default()
    };
    sqlite.save_subscriber("LiveApp", &sub).unwrap();
    for (id, date) in [("v1", 1), ("v2", 2)] {
        let v = Vod {
            vod_id: id.into(),
            creation_date: date,
            ..Vod::default()
        };
        sqlite.insert_vod("LiveApp", &v).unwrap();
    }
    let redis = Redis::start();
    let mut target = redis.store();
    let first = tern_store::migrate(&sqlite, &mut target).unwrap();
    assert_eq!(
        (
            first.apps,
            first.settings,
            first.broadcasts,
            first.tokens,
            first.subscribers,
            first.vods,
            first.kept
        ),
        (2, 1, 3, 2, 1, 2, 0)
    );
    let all = ListQuery {
        size: 10,
        ..ListQuery::default()
    };
    for app in ["LiveApp", "Other"] {
        assert_eq!(
            sqlite.list_broadcasts(app, &all).unwrap(),
            target.list_broadcasts(app, &all).unwrap()
        );
    }
    assert_eq!(
        target.token("Other", "t2").unwrap().unwrap().stream_id,
        "orphan-stream"
    );
    assert!(target.subscriber("LiveApp", "a", "u").unwrap().is_some());
    assert_eq!(
        sqlite.list_vods("LiveApp", 0, 10).unwrap(),
        target.list_vods("LiveApp", 0, 10).unwrap()
    );
    assert_eq!(
        target.app_settings("LiveApp").unwrap().as_deref(),
        Some(r#"{"a":1}"#)
    );
    // Again: nothing is copied twice, nothing is overwritten.
    target
        .modify_broadcast("LiveApp", "a", &mut |b| {
            b.description = Some("changed in the cluster".into())
        })
        .unwrap();
    let second = tern_store::migrate(&sqlite, &mut target).unwrap();
    assert_eq!((second.broadcasts, second.tokens, second.kept), (0, 0, 9));
    assert_eq!(
        target
            .broadcast("LiveApp", "a")
            .unwrap()
            .unwrap()
            .description
            .as_deref(),
        Some("changed in the cluster")
    );
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&dir);
}
