//! The origin–edge relay: a `play` on a node that does not publish the stream
//! pulls it from its origin once per (stream, edge), whatever the number of
//! viewers on the edge.
//!
//! The relay is two signaling sessions joined back to back. Towards the
//! origin it is a WebSocket player (authenticated by the cluster's secret);
//! on the edge it is a headless publisher of the same stream id. The origin's
//! offer goes to the edge's publisher, the answer and the candidates go back,
//! and media then flows between the two nodes' media ports over DTLS-SRTP,
//! whose keys never leave the two peers. Keyframe requests of the edge's
//! players reach the origin as its players' do, and the data channel of the
//! stream (when it has one) crosses the relay as the stream's data does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tern_signal::{ClientMessage, SdpKind, TakeCandidate};
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

use super::{Cluster, NodeInfo};
use crate::headless::Headless;
use crate::hub::Outbound;
use crate::media_worker::{ToSocket, WorkerMsg};

/// Longest a play waits for its relay to be ready.
pub const READY_WITHIN: Duration = Duration::from_secs(5);
/// A relay no viewer (and, for a room's participant, no local participant
/// of the room) has used for this long ends.
const IDLE_FOR: Duration = Duration::from_secs(10);
/// The origin closes sockets that send nothing; the SDK pings this often too.
const PING_EVERY: Duration = Duration::from_secs(3);
/// How often an edge whose origin vanished looks for the stream's new origin.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// How one relay connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The stream ended (or is no longer wanted here): the edge's players
    /// hear `play_finished` now.
    Finished(&'static str),
    /// The origin vanished without ending the stream (killed, cut off): the
    /// edge's stream waits out its restore window for a republish anywhere.
    Lost(&'static str),
}

/// `Some(Ok)` once the edge's publisher of the stream exists, `Some(Err)`
/// when the relay could not be made.
pub type Ready = watch::Receiver<Option<Result<(), String>>>;

/// One running relay, as the edge's registry and plays see it.
pub struct Handle {
    /// The `token` of the relay's own publish: it alone skips the claim.
    pub token: String,
    pub ready: Ready,
    pub viewers: watch::Sender<usize>,
    /// A room's participant: relayed while this node has participants of
    /// the room, whatever its own viewer count.
    pub room: Option<String>,
    pub wanted: Arc<AtomicBool>,
    /// A publisher of the stream came to this node: the relay lets go of the
    /// stream, as a vanished origin's does, for that publisher to restore.
    pub yielded: Arc<Notify>,
}

/// What one relay pulls, from where, and for what.
pub struct Job {
    pub cluster: Cluster,
    pub app: String,
    pub stream: String,
    pub origin: NodeInfo,
    pub token: String,
    /// The room the stream joins on this node (its `mainTrack` there).
    pub room: Option<String>,
    pub wanted: Arc<AtomicBool>,
    pub yielded: Arc<Notify>,
}

/// The origin's WebSocket URL of `app`.
fn websocket_url(http_url: &str, app: &str) -> String {
    let base = http_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{base}/{app}/websocket")
}

pub async fn run(
    mut job: Job,
    ready: watch::Sender<Option<Result<(), String>>>,
    viewers: watch::Receiver<usize>,
) {
    let mut keep_count = false;
    loop {
        let started = Instant::now();
        let (app, stream, origin) = (&job.app, &job.stream, &job.origin.id);
        match relay(&job, &ready, viewers.clone()).await {
            Ok(End::Finished(why)) => {
                tracing::info!(app, stream, origin, "relay ended: {why}");
                break;
            }
            Ok(End::Lost(why)) => {
                tracing::info!(app, stream, origin, "relay lost its origin: {why}");
                match next_origin(&job).await {
                    Next::Elsewhere(o) => {
                        tracing::info!(app, stream, origin = %o.id, "the stream is back on another node; relaying from there");
                        job.origin = o;
                    }
                    Next::Here => {
                        tracing::info!(app, stream, "the stream is now published on this node");
                        keep_count = true;
                        break;
                    }
                    Next::Gone => {
                        tracing::info!(
                            app,
                            stream,
                            "the stream did not come back; its players here are told it ended"
                        );
                        if let Some(a) = job.cluster.inner.attached.get() {
                            let _ = crate::admin::end_orphaned(&a.hub, app, stream).await;
                        }
                        break;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(
                    app,
                    stream,
                    origin,
                    "relay failed after {:?}: {e}",
                    started.elapsed()
                );
                ready.send_replace(Some(Err(e)));
                break;
            }
        }
    }
    let c = job.cluster.clone();
    let (app, stream, token) = (job.app.clone(), job.stream.clone(), job.token.clone());
    let _ = tokio::task::spawn_blocking(move || c.forget_relay(&app, &stream, &token, keep_count))
        .await;
}

/// Where a stream whose origin vanished went.
enum Next {
    Elsewhere(NodeInfo),
    Here,
    Gone,
}

/// Watches the stream's claim for the edge's restore window: a publisher
/// that comes back on another node (this one included) within it keeps the
/// edge's players, as a dropped publisher's return does on one node.
async fn next_origin(job: &Job) -> Next {
    let window = job
        .cluster
        .inner
        .attached
        .get()
        .and_then(|a| a.apps.get(&job.app))
        .map_or(job.cluster.inner.failover, |s| {
            s.client_start_timeout.min(job.cluster.inner.failover)
        });
    let until = Instant::now() + window;
    let dead = (job.origin.id.clone(), job.origin.epoch);
    while Instant::now() < until {
        tokio::time::sleep(LOOK_EVERY).await;
        let (c, a, s) = (job.cluster.clone(), job.app.clone(), job.stream.clone());
        let found = tokio::task::spawn_blocking(move || c.origin_of(&a, &s)).await;
        match found {
            Ok(Ok(Some(o))) if o.id == job.cluster.node_id() => return Next::Here,
            Ok(Ok(Some(o))) if (o.id.as_str(), o.epoch) != (dead.0.as_str(), dead.1) => {
                return Next::Elsewhere(o)
            }
            _ => {}
        }
    }
    Next::Gone
}

async fn relay(
    job: &Job,
    ready: &watch::Sender<Option<Result<(), String>>>,
    mut viewers: watch::Receiver<usize>,
) -> Result<End, String> {
    let (cluster, app, stream, origin, token) = (
        &job.cluster,
        job.app.as_str(),
        job.stream.as_str(),
        &job.origin,
        job.token.as_str(),
    );
    let Some(attached) = cluster.inner.attached.get() else {
        return Err("the node is still starting".into());
    };
    let (hub, apps) = (&attached.hub, &attached.apps);
    let url = websocket_url(&origin.http_url, app);
    let (mut ws, _) = tokio::time::timeout(READY_WITHIN, tokio_tungstenite::connect_async(&url))
        .await
        .map_err(|_| format!("no answer from {url}"))?
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    // This edge's field in the stream's viewer counts exists before its
    // player on the origin does: the origin's count then never counts the
    // relay as a viewer. (A relay moved to a new origin keeps its viewers.)
    let (c, a, s) = (cluster.clone(), app.to_owned(), stream.to_owned());
    let here = *viewers.borrow();
    let _ = tokio::task::spawn_blocking(move || c.count_viewers(&a, &s, here)).await;
    let play =
        json!({"command": "play", "streamId": stream, "token": cluster.play_token(app, stream)});
    send(&mut ws, &play).await?;
    // The origin's offer, and the candidates it may trickle before our answer.
    let mut early = Vec::new();
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    let offer = loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| "the origin sent no offer in time".to_owned())?;
        let Some(Ok(Message::Text(text))) = msg else {
            match msg {
                Some(Ok(_)) => continue,
                _ => return Err("the origin closed the socket".into()),
            }
        };
        let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
        match v["command"].as_str() {
            Some("takeConfiguration") if v["type"] == "offer" => {
                break v["sdp"].as_str().unwrap_or_default().to_owned()
            }
            Some("takeCandidate") => early.push(v),
            // The origin's publisher is not live yet (it is coming back): the
            // origin keeps the play waiting and offers once it is.
            Some("error") if v["definition"] == "no_stream_exist" => {}
            Some("error") => return Err(format!("the origin refused: {}", v["definition"])),
            Some("notification") if v["definition"] == "play_finished" => {
                return Err("the stream ended on the origin".into())
            }
            _ => {}
        }
    };
    let mut settings = apps
        .get(app)
        .ok_or_else(|| format!("no application {app:?} on this node"))?;
    settings.max_peers_per_session = 1;
    settings.full_ice = true;
    settings.relay_whole_gop = origin_gives_frames(cluster, app, stream).await;
    let socket = OwnSocket::open(cluster.media_ip(), &attached.workers)
        .await
        .map_err(|e| format!("cannot open the relay's UDP socket: {e}"))?;
    settings.relay_local = Some(socket.local);
    let mut s = Headless::open(hub, app, settings)
        .await
        .map_err(|e| e.to_string())?;
    let publish = tern_signal::Publish {
        stream_id: stream.to_owned(),
        token: Some(token.to_owned()),
        video: true,
        audio: true,
        publish_type: Some("Relay".into()),
        main_track: job.room.clone(),
        ..tern_signal::Publish::default()
    };
    let negotiated = async {
        s.send(ClientMessage::Publish(publish)).await?;
        s.until(false, |v| v["command"] == "start").await?;
        s.send(ClientMessage::TakeConfiguration {
            stream_id: stream.to_owned(),
            kind: SdpKind::Offer,
            sdp: offer,
        })
        .await?;
        s.until(false, |v| {
            v["command"] == "takeConfiguration" && v["type"] == "answer"
        })
        .await
    }
    .await;
    let answer = match negotiated {
        Ok(a) => a,
        Err(e) => {
            s.close().await;
            return Err(format!("the edge refused the relay's publish: {e}"));
        }
    };
    if let Err(e) = send(&mut ws, &answer).await {
        s.close().await;
        return Err(e);
    }
    for c in early {
        let _ = s.send(candidate(stream, &c)).await;
    }
    ready.send_replace(Some(Ok(())));
    let end = pump(&mut ws, &mut s, stream, &mut viewers, job).await;
    if let End::Finished(_) = end {
        // An explicit stop: the edge's players hear `play_finished` now, not
        // after the restore window a dropped publisher gets.
        let _ = s
            .send(ClientMessage::Stop {
                stream_id: stream.to_owned(),
            })
            .await;
    }
    // Otherwise the session just closes, as a dropped publisher's does: the
    // stream and its players wait for the publisher to come back.
    s.close().await;
    let _ = ws.close(None).await;
    Ok(end)
}

/// Whether the stream's origin publishes it from a source that gives frames
/// (RTMP, SRT), as its record says: such a source cannot make a keyframe on
/// request, so the edge keeps whole groups of pictures for its new players.
async fn origin_gives_frames(cluster: &Cluster, app: &str, stream: &str) -> bool {
    let store = cluster.inner.store.clone();
    let (a, s) = (app.to_owned(), stream.to_owned());
    let kind = tokio::task::spawn_blocking(move || {
        crate::db::lock(&store)
            .broadcast(&a, &s)
            .ok()
            .flatten()
            .and_then(|b| b.publish_type)
    })
    .await
    .ok()
    .flatten();
    matches!(kind.as_deref(), Some("RTMP" | "SRT"))
}

/// Carries candidates both ways until one side ends or no viewer is left.
async fn pump<S>(
    ws: &mut S,
    s: &mut Headless,
    stream: &str,
    viewers: &mut watch::Receiver<usize>,
    job: &Job,
) -> End
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + futures_util::Sink<Message>
        + Unpin,
{
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut idle_since: Option<Instant> = None;
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return End::Lost("the origin closed the socket"),
                    Some(Ok(_)) => continue,
                };
                let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                match v["command"].as_str() {
                    Some("takeCandidate") => {
                        let _ = s.send(candidate(stream, &v)).await;
                    }
                    Some("notification") if v["definition"] == "play_finished" => {
                        return End::Finished("the stream ended on the origin");
                    }
                    Some("error") => return End::Finished("the origin sent an error"),
                    _ => {}
                }
            }
            out = s.recv() => match out {
                Some(Outbound::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    if v["command"] == "takeCandidate" && ws.send(Message::Text(t.into())).await.is_err() {
                        return End::Lost("the origin closed the socket");
                    }
                }
                Some(Outbound::Watch) => {}
                Some(Outbound::Close(_)) | None => return End::Finished("the edge's publisher ended"),
            },
            _ = job.yielded.notified() => return End::Lost("a publisher of the stream came to this node"),
            _ = ping.tick() => {
                let ping = json!({"command": "ping"}).to_string();
                if ws.send(Message::Text(ping.into())).await.is_err() {
                    return End::Lost("the origin closed the socket");
                }
                if *viewers.borrow_and_update() == 0 && !job.wanted.load(Ordering::Relaxed) {
                    if idle_since.get_or_insert_with(Instant::now).elapsed() >= IDLE_FOR {
                        return End::Finished("no viewer left on this node");
                    }
                } else {
                    idle_since = None;
                }
            }
        }
    }
}

async fn send<S>(ws: &mut S, v: &Value) -> Result<(), String>
where
    S: futures_util::Sink<Message> + Unpin,
{
    ws.send(Message::Text(v.to_string().into()))
        .await
        .map_err(|_| "the origin closed the socket".to_owned())
}

/// The origin's `takeCandidate`, as the edge's publisher takes it.
fn candidate(stream: &str, v: &Value) -> ClientMessage {
    ClientMessage::TakeCandidate(TakeCandidate {
        stream_id: stream.to_owned(),
        label: v["label"].as_u64().and_then(|l| u32::try_from(l).ok()),
        mid: v["id"].as_str().map(str::to_owned),
        candidate: v["candidate"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    })
}

/// The relay's own UDP socket: each relay has its own 5-tuple with its
/// origin, so several relays between two nodes (both ways) never mix.
struct OwnSocket {
    local: std::net::SocketAddr,
    workers: Vec<tokio::sync::mpsc::UnboundedSender<WorkerMsg>>,
    task: tokio::task::JoinHandle<()>,
}

impl OwnSocket {
    async fn open(
        ip: std::net::IpAddr,
        workers: &[tokio::sync::mpsc::UnboundedSender<WorkerMsg>],
    ) -> std::io::Result<OwnSocket> {
        let socket = tokio::net::UdpSocket::bind((ip, 0)).await?;
        let local = socket.local_addr()?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ToSocket>(1024);
        for w in workers {
            let _ = w.send(WorkerMsg::OwnSocket {
                local,
                link: Some(tx.clone()),
            });
        }
        let inboxes = workers.to_vec();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            // The worker holding the relay's peer, known from what it sends
            // (the relay runs full ICE: it speaks first).
            let mut owner: Option<usize> = None;
            loop {
                tokio::select! {
                    got = socket.recv_from(&mut buf) => {
                        let Ok((n, from)) = got else { continue };
                        let msg = |data: Vec<u8>| WorkerMsg::TurnIn { from, to: local, data };
                        match owner.and_then(|i| inboxes.get(i)) {
                            Some(w) => {
                                let _ = w.send(msg(buf[..n].to_vec()));
                            }
                            // Not known yet: every worker gets it, and the
                            // others drop it at once.
                            None => {
                                for w in &inboxes {
                                    let _ = w.send(msg(buf[..n].to_vec()));
                                }
                            }
                        }
                    }
                    out = rx.recv() => match out {
                        Some(d) => {
                            owner = Some(d.worker);
                            let _ = socket.send_to(&d.data, d.to).await;
                        }
                        None => break,
                    },
                }
            }
        });
        Ok(OwnSocket {
            local,
            workers: workers.to_vec(),
            task,
        })
    }
}

impl Drop for OwnSocket {
    fn drop(&mut self) {
        for w in &self.workers {
            let _ = w.send(WorkerMsg::OwnSocket {
                local: self.local,
                link: None,
            });
        }
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_follow_the_scheme() {
        assert_eq!(
            websocket_url("http://10.0.0.2:5080", "LiveApp"),
            "ws://10.0.0.2:5080/LiveApp/websocket"
        );
        assert_eq!(
            websocket_url("https://a.example/", "x"),
            "wss://a.example/x/websocket"
        );
    }

    #[test]
    fn candidates_keep_their_fields_and_the_end_marker() {
        let v = json!({"command":"takeCandidate","streamId":"s","label":0,"id":"0","candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host"});
        let ClientMessage::TakeCandidate(c) = candidate("s", &v) else {
            panic!()
        };
        assert_eq!((c.label, c.mid.as_deref()), (Some(0), Some("0")));
        assert!(c.candidate.unwrap().starts_with("candidate:1"));
        let end =
            json!({"command":"takeCandidate","streamId":"s","label":0,"id":"0","candidate":""});
        let ClientMessage::TakeCandidate(c) = candidate("s", &end) else {
            panic!()
        };
        assert!(c.candidate.is_none());
    }
}
