//! `GET /{App}/streams/{file}`: an app's recordings, with range requests
//! (players seek with them; a range past the end gets 416), as Ant Media
//! serves them. Public like Ant Media's: the file names are not guessable
//! lists, and REST (`vods`) is what is guarded.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
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
    if !rec.apps.contains_key(&app) {
        return (StatusCode::NOT_FOUND, "no such application").into_response();
    }
    if !is_safe_name(&name) {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    }
    let path = streams_dir(rec.data_dir(), &app).join(&name);
    match ServeFile::new(path).oneshot(req).await {
        Ok(r) => r.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
