//! `GET /{App}/streams/{file}`: an app's live HLS from memory (`{id}.m3u8`,
//! `{id}_init.mp4`, `{id}_{n}.m4s`) and its recordings from disk, with range
//! requests (players seek with them; a range past the end gets 416), as Ant
//! Media serves them: public, and readable from any origin (web players on
//! other sites). REST (`vods`) is what is guarded.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::files::{is_safe_name, streams_dir};
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
    } else if let Some(r) = live_hls(&rec, &app, &name, viewer(&req)) {
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

/// A file of a live HLS stream, if `name` is one.
fn live_hls(rec: &Recordings, app: &str, name: &str, who: u64) -> Option<Response> {
    let (id, part) = if let Some(id) = name.strip_suffix(".m3u8") {
        (id, None)
    } else if let Some(id) = name.strip_suffix("_init.mp4") {
        (id, Some(None))
    } else {
        let (id, seq) = name.strip_suffix(".m4s")?.rsplit_once('_')?;
        (id, Some(Some(seq.parse::<u64>().ok()?)))
    };
    let playlist = rec
        .hls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(app.to_owned(), id.to_owned()))?
        .clone();
    let mut p = playlist.lock().unwrap_or_else(|e| e.into_inner());
    if matches!(part, Some(Some(_))) {
        p.seen(who, std::time::Instant::now());
    }
    let found = match part {
        // A playlist changes with every segment: never cached.
        None => p.text(id).map(|t| {
            (
                [
                    (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                t,
            )
                .into_response()
        }),
        Some(seq) => seq.map_or(p.init.clone(), |n| p.segment(n)).map(|bytes| {
            (
                [
                    (header::CONTENT_TYPE, "video/mp4"),
                    (header::CACHE_CONTROL, "max-age=60"),
                ],
                bytes.to_vec(),
            )
                .into_response()
        }),
    };
    Some(
        found
            .unwrap_or_else(|| (StatusCode::NOT_FOUND, "not in the live playlist").into_response()),
    )
}
