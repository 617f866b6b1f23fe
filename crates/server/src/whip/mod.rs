//! WHIP ingest (RFC 9725) and WHEP playback on Ant Media's paths:
//! `POST /{App}/whip/{streamId}` and `POST /{App}/whep/{streamId}` take an SDP
//! offer and answer `201 Created` with the SDP answer and a session resource
//! (`/{App}/whip/{streamId}/{resourceId}`) that takes trickle `PATCH` and
//! `DELETE`. Each resource is a headless signaling session (`headless.rs`).

mod resources;
pub mod status;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tern_signal::sdpfrag::parse_sdpfrag;
use tern_signal::{ClientMessage, IceServer, IceServers, Play, SdpKind, TakeCandidate};

use crate::headless::Headless;
use crate::http::AppState;
pub use resources::Resources;
use resources::{Kind, Resource};
use status::Refused;

const SDP: &str = "application/sdp";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";
/// How long a session resource answers after its session ended.
const ENDED_RESOURCE_KEPT: std::time::Duration = std::time::Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/{app}/whip/{stream}",
            post(whip_post).options(preflight).get(not_a_resource),
        )
        .route(
            "/{app}/whep/{stream}",
            post(whep_post).options(preflight).get(not_a_resource),
        )
        .route(
            "/{app}/whip/{stream}/{resource}",
            axum::routing::patch(patch_resource)
                .delete(delete_resource)
                .options(preflight)
                .get(resource_get),
        )
        .route(
            "/{app}/whep/{stream}/{resource}",
            axum::routing::patch(patch_resource)
                .delete(delete_resource)
                .options(preflight)
                .get(resource_get),
        )
        .layer(axum::middleware::from_fn(cors))
        .layer(axum::middleware::from_fn_with_state(
            (state.metrics.clone(), "whip_whep"),
            crate::metrics::count_http,
        ))
        .with_state(state)
}

/// Any origin may publish or play (tokens guard streams, not origins); the
/// headers a client must read are exposed.
async fn cors(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, PATCH, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, If-Match, ETag"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location, ETag, Link, Accept-Post, Accept-Patch"),
    );
    res
}

async fn preflight(method: Method) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    debug_assert_eq!(method, Method::OPTIONS);
    let h = res.headers_mut();
    h.insert("accept-post", HeaderValue::from_static(SDP));
    h.insert("accept-patch", HeaderValue::from_static(SDPFRAG));
    res
}

async fn not_a_resource() -> Response {
    let mut res = Refused::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "POST an SDP offer here",
    )
    .into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    res
}

/// A session resource is not read: it is PATCHed (trickle) and DELETEd.
async fn resource_get() -> Response {
    let mut res = Refused::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "a session resource takes PATCH and DELETE",
    )
    .into_response();
    res.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("PATCH, DELETE, OPTIONS"),
    );
    res
}

async fn whip_post(
    Path((app, stream)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post_offer(Kind::Whip, app, stream, query, state, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn whep_post(
    Path((app, stream)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post_offer(Kind::Whep, app, stream, query, state, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `Authorization: Bearer …` (RFC 9725 §4.7) or Ant Media's `?token=`; an
/// empty, `undefined` or `null` bearer counts as none.
fn token_of(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "undefined" && *t != "null");
    bearer
        .map(str::to_owned)
        .or_else(|| query.get("token").filter(|t| !t.is_empty()).cloned())
}

fn content_type_is(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

fn unknown_app(app: &str) -> Refused {
    Refused::new(
        StatusCode::NOT_FOUND,
        "no_such_application",
        format!("no application named {app:?} on this server"),
    )
}

/// The offer as text, refused early when it cannot be one: not UTF-8, or no
/// audio or video to publish or play.
fn offer_text(body: &Bytes) -> Result<String, Refused> {
    let bad = |why: &str| Refused::new(StatusCode::BAD_REQUEST, "notSetRemoteDescription", why);
    let text = std::str::from_utf8(body).map_err(|_| bad("the offer is not UTF-8 text"))?;
    if !text.trim_start().starts_with("v=0") {
        return Err(bad("the body is not an SDP offer (it must start with v=0)"));
    }
    let media = text
        .lines()
        .any(|l| l.starts_with("m=audio ") || l.starts_with("m=video "));
    if !media {
        return Err(bad("the offer has no audio or video m-line"));
    }
    Ok(text.to_owned())
}

#[allow(clippy::too_many_arguments)]
async fn post_offer(
    kind: Kind,
    app: String,
    stream: String,
    query: HashMap<String, String>,
    state: AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let Some(mut settings) = state.apps.get(&app) else {
        return Err(unknown_app(&app));
    };
    if !content_type_is(&headers, SDP) {
        return Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("the offer must be sent as Content-Type: {SDP}"),
        ));
    }
    for id in std::iter::once(&stream).chain(query.get("mainTrack")) {
        if !tern_signal::stream_id::is_valid(id) {
            return Err(Refused::new(
                StatusCode::BAD_REQUEST,
                tern_signal::ErrorDef::InvalidStreamName.as_str(),
                format!("{id:?}: ids are 1 to 256 of A-Z a-z 0-9 _ . -"),
            ));
        }
    }
    let offer = offer_text(&body)?;
    let token = token_of(&headers, &query);
    let had_token = token.is_some();
    let ice = match &state.turn {
        Some(turn) => turn.ice(
            &settings.ice,
            crate::http::request_host(&headers),
            u64::try_from(crate::db::now_ms() / 1000).unwrap_or(0),
        ),
        None => settings.ice.clone(),
    };
    settings.max_peers_per_session = 1;
    if let (Kind::Whep, Some(c)) = (kind, &state.cluster) {
        c.prepare_play(&app, &stream).await;
    }
    let mut s = Headless::open(&state.hub, &app, settings).await?;
    let resource = Resource::new(kind, &app, &stream, s.session, &offer);
    let answer = match negotiate(&mut s, kind, &stream, token, &query, offer, had_token).await {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(session = %s.session, stream, kind = kind.name(), status = %e.status, wire = e.wire, why = e.why, "refused");
            s.close().await;
            return Err(e);
        }
    };
    let location = resource.location();
    let etag = resource.etag.clone();
    let id = resource.id.clone();
    tracing::info!(session = %s.session, stream, kind = kind.name(), resource = id, "session created");
    state.whip.insert(resource);
    let table = state.whip.clone();
    // Clients close their peer connection before they DELETE (whip-whep
    // does): the resource outlives its session a little, so that DELETE is
    // answered 200 rather than 404.
    s.drain(move || {
        tokio::spawn(async move {
            tokio::time::sleep(ENDED_RESOURCE_KEPT).await;
            table.remove(&id);
        });
    });
    let mut res = (StatusCode::CREATED, answer).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    h.insert(header::ETAG, header_value(&format!("\"{etag}\"")));
    h.insert(header::LOCATION, header_value(&location));
    for link in ice_links(&ice) {
        h.append(header::LINK, header_value(&link));
    }
    Ok(res)
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The publish or play exchange on the headless session; the SDP answer.
async fn negotiate(
    s: &mut Headless,
    kind: Kind,
    stream: &str,
    token: Option<String>,
    query: &HashMap<String, String>,
    offer: String,
    had_token: bool,
) -> Result<String, Refused> {
    let q = |k: &str| query.get(k).filter(|v| !v.is_empty()).cloned();
    let is_answer = |v: &serde_json::Value| {
        v["command"] == "takeConfiguration" && v["type"] == "answer" && v["streamId"] == stream
    };
    match kind {
        Kind::Whip => {
            let publish = crate::headless::publish_from_query(stream, token, query, "WHIP");
            s.send(ClientMessage::Publish(publish)).await?;
            s.until(had_token, |v| v["command"] == "start").await?;
            s.send(ClientMessage::TakeConfiguration {
                stream_id: stream.to_owned(),
                kind: SdpKind::Offer,
                sdp: offer,
            })
            .await?;
        }
        Kind::Whep => {
            s.send(ClientMessage::Play(Play {
                stream_id: stream.to_owned(),
                token,
                subscriber_id: q("subscriberId"),
                subscriber_code: q("subscriberCode"),
                viewer_info: q("viewerInfo"),
                offer: Some(offer),
                ..Play::default()
            }))
            .await?;
        }
    }
    let answer = s.until(had_token, is_answer).await?;
    Ok(answer["sdp"].as_str().unwrap_or_default().to_owned())
}

/// `Link` headers for the ICE servers the app hands out (RFC 9725 §4.6):
/// the whole list when there is one (Tern's TURN), else the app's one URI.
fn ice_links(ice: &IceServers) -> Vec<String> {
    let one = IceServer {
        urls: ice.stun_server_uri.trim().to_owned(),
        username: ice.turn_server_username.clone(),
        credential: ice.turn_server_credential.clone(),
    };
    let list = if ice.servers.is_empty() {
        std::slice::from_ref(&one)
    } else {
        &ice.servers[..]
    };
    list.iter()
        .filter(|s| !s.urls.is_empty())
        .map(|s| {
            let mut link = format!("<{}>; rel=\"ice-server\"", s.urls);
            if s.urls.starts_with("turn") && !s.username.is_empty() {
                link.push_str(&format!(
                    "; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
                    s.username, s.credential
                ));
            }
            link
        })
        .collect()
}

fn resource_of(state: &AppState, app: &str, stream: &str, id: &str) -> Result<Resource, Refused> {
    state
        .whip
        .get(id)
        .filter(|r| r.app == app && r.stream == stream)
        .ok_or_else(|| {
            Refused::new(
                StatusCode::NOT_FOUND,
                "no_such_resource",
                "no such WHIP/WHEP session (it ended, or never was)",
            )
        })
}

async fn delete_resource(
    Path((app, stream, id)): Path<(String, String, String)>,
    State(state): State<AppState>,
) -> Response {
    let r = match resource_of(&state, &app, &stream, &id) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    // As `stop` from the page: players get play_finished, the broadcast ends.
    let stop = ClientMessage::Stop {
        stream_id: stream.clone(),
    };
    let _ = state
        .hub
        .send(crate::hub::HubMsg::Frame {
            session: r.session,
            parsed: Ok(stop),
        })
        .await;
    let _ = state
        .hub
        .send(crate::hub::HubMsg::Closed { session: r.session })
        .await;
    state.whip.remove(&id);
    tracing::info!(session = %r.session, stream, resource = id, "session deleted");
    StatusCode::OK.into_response()
}

async fn patch_resource(
    Path((app, stream, id)): Path<(String, String, String)>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    patch(app, stream, id, state, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn patch(
    app: String,
    stream: String,
    id: String,
    state: AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let r = resource_of(&state, &app, &stream, &id)?;
    if !content_type_is(&headers, SDPFRAG) {
        return Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("trickle ICE is sent as Content-Type: {SDPFRAG}"),
        ));
    }
    // Some clients send the tag as `ETag:` rather than `If-Match:`.
    let tag = headers
        .get(header::IF_MATCH)
        .or_else(|| headers.get(header::ETAG))
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let text = std::str::from_utf8(&body).map_err(|_| {
        Refused::new(
            StatusCode::BAD_REQUEST,
            "bad_fragment",
            "the fragment is not UTF-8 text",
        )
    })?;
    let frag = parse_sdpfrag(text)
        .map_err(|e| Refused::new(StatusCode::BAD_REQUEST, "bad_fragment", e.to_string()))?;
    if tag == Some("*") {
        return Err(Refused::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ice_restart_unsupported",
            "ICE restart is not supported: DELETE this session and POST a new offer",
        ));
    }
    if let Some(t) = tag.filter(|t| t.trim_matches('"') != r.etag) {
        return Err(Refused::new(
            StatusCode::PRECONDITION_FAILED,
            "stale_etag",
            format!("the tag {t} is not this session's"),
        ));
    }
    // Credentials other than the offer's: an ICE restart, which needs the tag.
    let restart = frag.ufrag.is_some() && frag.ufrag != r.ufrag;
    if restart && tag.is_none() {
        return Err(Refused::new(
            StatusCode::PRECONDITION_REQUIRED,
            "etag_required",
            "an ICE restart needs If-Match with the session's tag",
        ));
    }
    if restart {
        return Err(Refused::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ice_restart_unsupported",
            "ICE restart is not supported: DELETE this session and POST a new offer",
        ));
    }
    for c in frag.candidates {
        let msg = ClientMessage::TakeCandidate(TakeCandidate {
            stream_id: stream.clone(),
            label: Some(0),
            mid: c.mid,
            candidate: Some(c.candidate),
        });
        let _ = state
            .hub
            .send(crate::hub::HubMsg::Frame {
                session: r.session,
                parsed: Ok(msg),
            })
            .await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_of_the_list_is_a_link_and_turn_ones_carry_credentials() {
        let turn = |urls: &str| IceServer {
            urls: urls.into(),
            username: "1800:tern".into(),
            credential: "pw".into(),
        };
        let ice = IceServers {
            stun_server_uri: "turn:h:3478".into(),
            servers: vec![
                IceServer {
                    urls: "stun:s:19302".into(),
                    ..IceServer::default()
                },
                turn("turn:h:3478?transport=udp"),
                turn("turns:h:5349?transport=tcp"),
            ],
            ..IceServers::default()
        };
        assert_eq!(
            ice_links(&ice),
            [
                "<stun:s:19302>; rel=\"ice-server\"".to_owned(),
                "<turn:h:3478?transport=udp>; rel=\"ice-server\"; username=\"1800:tern\"; credential=\"pw\"; credential-type=\"password\"".into(),
                "<turns:h:5349?transport=tcp>; rel=\"ice-server\"; username=\"1800:tern\"; credential=\"pw\"; credential-type=\"password\"".into(),
            ]
        );
        // Without a list, the app's one URI.
        let one = IceServers {
            stun_server_uri: "stun:s:1".into(),
            ..IceServers::default()
        };
        assert_eq!(
            ice_links(&one),
            ["<stun:s:1>; rel=\"ice-server\"".to_owned()]
        );
    }
}
