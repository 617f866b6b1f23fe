//! `GET /{App}/streams/{file}`: an app's live HLS from memory (`{id}.m3u8`,
//! `{id}_init.mp4`, `{id}_{n}.m4s`) and its recordings from disk, with range
//! requests (players seek with them; a range past the end gets 416), as Ant
//! Media serves them: public, and readable from any origin (web players on
//! other sites). REST (`vods`) is what is guarded. Low-latency HLS parts
//! (`{id}_{n}.{part}.m4s`) and blocking playlist reloads wait in memory for
//! what they ask.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use std::sync::Mutex;
use std::time::Duration;

use tern_record::hls_names::{blocking_reload, HlsFile};

use super::files::{is_safe_name, streams_dir};
use super::playlist::Playlist;
use super::Recordings;

pub fn router(recordings: Recordings) -> Router {
    Router::new()
        .route("/{app}/streams/{file}", get(file))
        .with_state(recordings)
}

async fn file(
    State(rec): State<Recordings>,
    Path((app, name)): Path<(String, String)>,
    req: Request,
) -> Response {
    let mut res = if !rec.apps.contains_key(&app) {
        (StatusCode::NOT_FOUND, "no such application").into_response()
    } else if !is_safe_name(&name) {
        (StatusCode::NOT_FOUND, "no such file").into_response()
    } else if let Some(r) = live_hls(&rec, &app, &name, req.uri().query(), viewer(&req)).await {
        r
    } else {
        let path = streams_dir(rec.data_dir(), &app).join(&name);
        match ServeFile::new(path).oneshot(req).await {
            Ok(r) => r.into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    };
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// Who asks, for the HLS viewer count: a hash of the client's address and
/// user agent (players behind one address count apart when their browsers
/// differ).
fn viewer(req: &Request) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .hash(&mut h);
    req.headers()
        .get(header::USER_AGENT)
        .map(|v| v.as_bytes())
        .hash(&mut h);
    h.finish()
}

/// Waits (at most `within`) until `ready` holds for the playlist.
async fn wait_for(
    playlist: &Mutex<Playlist>,
    within: Duration,
    ready: impl Fn(&Playlist) -> bool,
) -> bool {
    let lock = || playlist.lock().unwrap_or_else(|e| e.into_inner());
    let deadline = tokio::time::Instant::now() + within;
    let changed = lock().changed.clone();
    loop {
        let notified = changed.notified();
        tokio::pin!(notified);
        // Registered before the check, so a change in between is not lost.
        notified.as_mut().enable();
        if ready(&lock()) {
            return true;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return false;
        }
    }
}

fn media(bytes: &[u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "video/mp4"),
            (header::CACHE_CONTROL, "max-age=60"),
        ],
        bytes.to_vec(),
    )
        .into_response()
}

/// A file of a live HLS stream, if `name` is one. A blocking playlist
/// reload, and a part that is about to come (a preload hint), wait for it
/// up to three target durations, as low-latency HLS has it.
async fn live_hls(
    rec: &Recordings,
    app: &str,
    name: &str,
    query: Option<&str>,
    who: u64,
) -> Option<Response> {
    let (id, file) = HlsFile::parse(name)?;
    let playlist = rec
        .hls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(app.to_owned(), id.to_owned()))?
        .clone();
    let lock = || playlist.lock().unwrap_or_else(|e| e.into_inner());
    let (low_latency, patience) = {
        let p = lock();
        (p.is_low_latency(), p.patience())
    };
    let not_found = || (StatusCode::NOT_FOUND, "not in the live playlist").into_response();
    let res = match file {
        HlsFile::Playlist => {
            let asked = match blocking_reload(query) {
                Ok(a) => a.filter(|_| low_latency),
                Err(e) => return Some((StatusCode::BAD_REQUEST, e.to_string()).into_response()),
            };
            if let Some((msn, part)) = asked {
                if msn > lock().max_msn() {
                    return Some(
                        (StatusCode::BAD_REQUEST, "_HLS_msn too far ahead").into_response(),
                    );
                }
                if !wait_for(&playlist, patience, |p| p.has(msn, part)).await {
                    return Some(
                        (StatusCode::SERVICE_UNAVAILABLE, "not there in time").into_response(),
                    );
                }
            }
            // A playlist changes with every part: never cached.
            lock().text(id).map_or_else(not_found, |t| {
                (
                    [
                        (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    t,
                )
                    .into_response()
            })
        }
        HlsFile::Init => lock().init.clone().map_or_else(not_found, |b| media(&b)),
        HlsFile::Segment(n) => {
            lock().seen(who, std::time::Instant::now());
            // Out of memory: an EVENT playlist's older segments are on disk.
            let bytes = lock().segment(n)?;
            media(&bytes)
        }
        HlsFile::Part(n, part) => {
            lock().seen(who, std::time::Instant::now());
            if n <= lock().max_msn() {
                wait_for(&playlist, patience, |p| p.has(n, Some(part))).await;
            }
            lock().part(n, part).map_or_else(not_found, |b| media(&b))
        }
    };
    Some(res)
}
