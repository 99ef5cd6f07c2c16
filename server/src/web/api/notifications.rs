//! `/api/v1/notifications`: channels and their delivery log (admin scope; docs/api.md,
//! Notifications).

use std::sync::Arc;

use app::notify::{Channel, ChannelCreated, NewChannel, NotificationDelivery};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::service::caller::AdminCaller;
use crate::service::AppService;

#[utoipa::path(
    get,
    path = "/api/v1/notifications/channels",
    operation_id = "listChannels",
    tag = "notifications",
    responses(
        (status = 200, body = Vec<Channel>, description = "every channel, oldest first; targets shown without their credentials"),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
) -> Result<Json<Vec<Channel>>, ApiError> {
    Ok(Json(service.channels(&caller).await?))
}

/// Adds a channel. A webhook's signing secret is in this answer and never again. Audited as
/// `add_channel` on `channel:<id>`.
#[utoipa::path(
    post,
    path = "/api/v1/notifications/channels",
    operation_id = "addChannel",
    tag = "notifications",
    request_body = app::notify::NewChannelBody,
    responses(
        (status = 201, body = ChannelCreated),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 409, description = "There are 20 channels already", body = ErrorResponse),
        (status = 422, description = "A kind, target or event this server refuses; the message names the field", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn add(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    ApiJson(input): ApiJson<NewChannel>,
) -> Result<(StatusCode, Json<ChannelCreated>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(service.add_channel(&caller, &input).await?),
    ))
}

/// Removes a channel; its pending deliveries fail. Audited as `remove_channel`.
#[utoipa::path(
    delete,
    path = "/api/v1/notifications/channels/{id}",
    operation_id = "removeChannel",
    tag = "notifications",
    params(("id" = String, Path, description = "The channel's id (`ch_…`)")),
    responses(
        (status = 200, body = Channel, description = "the channel removed"),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn remove(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(service.remove_channel(&caller, &id).await?))
}

/// Sends a `test` notification to the channel now; the answer is its delivery as logged
/// (`delivered`, or `pending` with the receiver's status or error, to be tried again).
#[utoipa::path(
    post,
    path = "/api/v1/notifications/channels/{id}/test",
    operation_id = "testChannel",
    tag = "notifications",
    params(("id" = String, Path, description = "The channel's id (`ch_…`)")),
    responses(
        (status = 200, body = NotificationDelivery),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 409, description = "The channel has 1000 notifications waiting", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn test(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<NotificationDelivery>, ApiError> {
    Ok(Json(service.test_channel(&caller, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// How many of the latest deliveries (default 200).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// The delivery log, newest first: every event queued for a channel and how its attempts went.
#[utoipa::path(
    get,
    path = "/api/v1/notifications/deliveries",
    operation_id = "listDeliveries",
    tag = "notifications",
    params(LogQuery),
    responses(
        (status = 200, body = Vec<NotificationDelivery>),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 422, description = "A query parameter is invalid (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn deliveries(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<NotificationDelivery>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    Ok(Json(service.deliveries(&caller, q.limit).await?))
}
