//! Path parameters of the REST routes. Every route starts with `/{app}/rest/v2`.

use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AppPath {
    /// Application name, e.g. `LiveApp`.
    pub app: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StreamPath {
    /// Application name.
    pub app: String,
    /// Stream id.
    pub id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PagePath {
    /// Application name.
    pub app: String,
    /// Items to skip.
    pub offset: u32,
    /// Items to return (at most 50).
    pub size: u32,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StreamPagePath {
    /// Application name.
    pub app: String,
    /// Stream id.
    pub id: String,
    /// Items to skip.
    pub offset: u32,
    /// Items to return (at most 50).
    pub size: u32,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SearchPath {
    /// Application name.
    pub app: String,
    /// Case-insensitive part of a stream id or name.
    pub search: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SubscriberPath {
    /// Application name.
    pub app: String,
    /// Stream id.
    pub id: String,
    /// Subscriber id.
    pub sid: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BlockPath {
    /// Application name.
    pub app: String,
    /// Stream id.
    pub id: String,
    /// Subscriber id.
    pub sid: String,
    /// How long the block lasts.
    pub seconds: u32,
    /// `publish`, `play` or `publish_play`.
    pub block_type: String,
}

/// Largest page the list endpoints return.
pub const MAX_PAGE: u32 = 50;
