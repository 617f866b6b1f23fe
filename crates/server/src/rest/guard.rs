//! REST protection (PROTOCOL.md §8): the application must exist, the caller's
//! address must be in `remoteAllowedCIDR` when `ipFilterEnabled`, and when
//! `jwtControlEnabled` the `Authorization` header must carry a JWT (with or
//! without `Bearer `): HS256 signed with `jwtSecretKey`, or RS256/ES256 signed
//! by the key of `jwtPublicKey` or of the `jwksURL` set.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::extract::ApiPath;
use super::params::AppPath;
use super::reply::RestError;
use super::RestState;

pub async fn guard(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    req: Request,
    next: Next,
) -> Response {
    match admit(&st, &app, &req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn admit(st: &RestState, app: &str, req: &Request) -> Result<(), RestError> {
    let Some(settings) = st.apps.settings(app) else {
        return Err(RestError::not_found(format!(
            "no application named {app:?} on this server"
        )));
    };
    // Forwarded by the console, which admitted the caller itself.
    if req
        .extensions()
        .get::<crate::console::ConsoleCaller>()
        .is_some()
    {
        return Ok(());
    }
    if settings.ip_filter_enabled {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        // Validated when saved, so the list parses; an unparsable one allows nobody.
        let allowed = settings.allowed_cidrs().unwrap_or_default();
        match peer {
            Some(ip) if allowed.contains(ip) => {}
            Some(ip) => {
                tracing::info!(app, %ip, "REST call refused by the IP filter");
                return Err(RestError::Forbidden(format!(
                    "{ip} is not in remoteAllowedCIDR"
                )));
            }
            None => {
                return Err(RestError::Forbidden(
                    "the caller's address is unknown".into(),
                ))
            }
        }
    }
    if settings.jwt_control_enabled {
        let header = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = header.strip_prefix("Bearer ").unwrap_or(header).trim();
        let now_s = (crate::db::now_ms() / 1000).max(0) as u64;
        let keys = settings.rest_jwt_keys(st.apps.jwks(app));
        match tern_auth::jwt::verify(token, &keys, now_s) {
            // The public keys (jwtPublicKey, jwksURL) also sign viewers' stream
            // tokens: one of those must never open REST.
            Ok(claims) if claims.contains_key("streamId") && claims.contains_key("type") => {
                tracing::info!(app, "REST call refused: a stream token is not a REST token");
                return Err(RestError::Forbidden("Invalid App JWT Token".into()));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::info!(app, reason = %e, "REST call refused by the JWT filter");
                return Err(RestError::Forbidden("Invalid App JWT Token".into()));
            }
        }
    }
    Ok(())
}
