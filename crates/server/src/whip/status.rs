//! The HTTP status of each refusal a WHIP/WHEP request can get. The body is
//! the wire string the WebSocket path would send, then the reason.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tern_signal::ErrorDef;

/// Seconds a WHEP player waits before asking again for a stream not live yet.
pub const RETRY_AFTER_SECS: u32 = 2;

/// A refusal: status, wire string (or a short name), and why.
#[derive(Debug)]
pub struct Refused {
    pub status: StatusCode,
    pub wire: String,
    pub why: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.wire, self.why)
    }
}

impl Refused {
    pub fn new(status: StatusCode, wire: &str, why: impl Into<String>) -> Self {
        Refused {
            status,
            wire: wire.to_owned(),
            why: why.into(),
        }
    }

    /// The WebSocket path's error `definition` as an HTTP refusal. `had_token`
    /// tells a missing credential (401) from a refused one (403).
    pub fn from_wire(definition: &str, information: Option<&str>, had_token: bool) -> Self {
        let def = ErrorDef::ALL
            .iter()
            .copied()
            .find(|d| d.as_str() == definition);
        let status = match def {
            Some(
                ErrorDef::NoStreamNameSpecified
                | ErrorDef::InvalidStreamName
                | ErrorDef::MalformedMessage
                | ErrorDef::NotSetRemoteDescription
                | ErrorDef::NoRoomSpecified,
            ) => StatusCode::BAD_REQUEST,
            Some(ErrorDef::NoStreamExist | ErrorDef::NoActiveStreamsInRoom) => {
                StatusCode::NOT_FOUND
            }
            Some(
                ErrorDef::StreamIdInUse | ErrorDef::AlreadyPublishing | ErrorDef::AlreadyPlaying,
            ) => StatusCode::CONFLICT,
            Some(ErrorDef::NotSetLocalDescription) => StatusCode::UNPROCESSABLE_ENTITY,
            Some(
                ErrorDef::UnauthorizedAccess
                | ErrorDef::StreamNotActiveOrExpired
                | ErrorDef::RoomNotActiveOrExpired,
            ) if !had_token => StatusCode::UNAUTHORIZED,
            Some(
                ErrorDef::UnauthorizedAccess
                | ErrorDef::StreamNotActiveOrExpired
                | ErrorDef::RoomNotActiveOrExpired
                | ErrorDef::NotAllowedUnregisteredStreams
                | ErrorDef::UserBlocked,
            ) => StatusCode::FORBIDDEN,
            Some(
                ErrorDef::ViewerLimitReached
                | ErrorDef::LimitReached
                | ErrorDef::HighResourceUsage
                | ErrorDef::DataStoreNotAvailable,
            ) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let why = information.unwrap_or(match status {
            StatusCode::UNAUTHORIZED => "a token is required",
            StatusCode::NOT_FOUND => "the stream is not live",
            _ => "",
        });
        Refused::new(status, definition, why)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = if self.why.is_empty() {
            format!("{}\n", self.wire)
        } else {
            format!("{}: {}\n", self.wire, self.why)
        };
        let mut res = (self.status, body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if matches!(
            self.status,
            StatusCode::NOT_FOUND | StatusCode::SERVICE_UNAVAILABLE
        ) && self.wire != "no_such_resource"
        {
            h.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status() {
        let s = |d: &str, t| Refused::from_wire(d, None, t).status;
        assert_eq!(s("streamIdInUse", false), StatusCode::CONFLICT);
        assert_eq!(s("no_stream_exist", false), StatusCode::NOT_FOUND);
        assert_eq!(s("unauthorized_access", false), StatusCode::UNAUTHORIZED);
        assert_eq!(s("unauthorized_access", true), StatusCode::FORBIDDEN);
        assert_eq!(
            s("notSetLocalDescription", false),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(s("notSetRemoteDescription", false), StatusCode::BAD_REQUEST);
        assert_eq!(
            s("viewerLimitReached", true),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
