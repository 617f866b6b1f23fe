//! `GET`/`PUT /settings`: the application's settings, with Ant Media's names.
//! Changes are validated, saved in the data directory and used from the next
//! request on (new sessions get the new `iceServerConfig`).

use axum::extract::State;
use axum::Json;

use super::extract::{ApiJson, ApiPath};
use super::params::AppPath;
use super::reply::{ApiResult, RestError, RestResult};
use super::RestState;
use crate::app_settings::{Settings, SettingsPatch};
use crate::db;

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/settings",
    tag = "settings",
    params(AppPath),
    responses((status = 200, description = "The application's settings", body = Settings))
)]
pub async fn get_settings(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
) -> RestResult<Json<Settings>> {
    let s = st.apps.settings(&app).ok_or(RestError::Internal)?;
    Ok(Json((*s).clone()))
}

/// Changes the settings the body names (any subset); unknown names are refused.
#[utoipa::path(
    put,
    path = "/{app}/rest/v2/settings",
    tag = "settings",
    params(AppPath),
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "Saved and in force", body = ApiResult),
        (status = 400, description = "Unknown setting, wrong type or invalid value", body = ApiResult),
    )
)]
pub async fn put_settings(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> RestResult<ApiResult> {
    let current = st.apps.settings(&app).ok_or(RestError::Internal)?;
    let mut next = (*current).clone();
    next.apply(patch);
    next.validate().map_err(|e| RestError::bad(e.to_string()))?;
    let changed = next.differences(&current);
    // Serialising a struct of strings, numbers and booleans cannot fail.
    let json = serde_json::to_string(&next).map_err(|_| RestError::Internal)?;
    db::lock(&st.store).save_app_settings(&app, &json)?;
    st.apps.replace(&app, next);
    tracing::info!(
        app,
        changed = changed.join(","),
        "settings changed through REST"
    );
    Ok(ApiResult::ok())
}
