//! `/api/v1/settings`: the run-time settings (admin scope).

use app::model::Settings;
use axum::extract::State;
use axum::Json;

use super::auth::AdminCaller;
use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::http::AppState;
use crate::settings::SettingsPatch;

#[utoipa::path(
    get,
    path = "/api/v1/settings",
    tag = "settings",
    responses(
        (status = 200, body = Settings), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    _caller: AdminCaller,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(state.service.settings().await?))
}

/// Changes the fields given; each change is audited.
#[utoipa::path(
    patch,
    path = "/api/v1/settings",
    tag = "settings",
    request_body = SettingsPatch,
    responses(
        (status = 200, body = Settings), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 422, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: AdminCaller,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(
        state.service.update_settings(&caller.actor, &patch).await?,
    ))
}
