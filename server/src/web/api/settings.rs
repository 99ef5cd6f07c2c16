//! `/api/v1/settings`: the run-time settings (admin scope).

use std::sync::Arc;

use app::model::Settings;
use axum::extract::State;
use axum::Json;

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::service::caller::AdminCaller;
use crate::service::AppService;
use crate::settings::SettingsPatch;

#[utoipa::path(
    get,
    path = "/api/v1/settings",
    operation_id = "getSettings",
    tag = "settings",
    responses(
        (status = 200, body = Settings),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(service.settings(&caller).await?))
}

/// Changes the fields given; each change is audited.
#[utoipa::path(
    patch,
    path = "/api/v1/settings",
    operation_id = "patchSettings",
    tag = "settings",
    request_body = SettingsPatch,
    responses(
        (status = 200, body = Settings),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 409, description = "A class policy of `restricted` with no restricted group configured; nothing was changed", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(service.update_settings(&caller, &patch).await?))
}
