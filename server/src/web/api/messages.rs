//! `/api/v1/messages`: the message log (admin scope: it holds senders and subjects).

use std::sync::Arc;

use app::model::{MessageRecord, Page, ReleaseTarget};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::inbound::Report;
use crate::service::caller::AdminCaller;
use crate::service::AppService;
use crate::web::export::{self, format::Format};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    /// `forwarded`, `undeliverable`, `rejected`, `dead_letter`, `held` or `processing`.
    #[param(pattern = "^(|forwarded|undeliverable|rejected|dead_letter|held|processing)$")]
    outcome: Option<String>,
    /// Only mail to this vended address.
    address: Option<String>,
    /// Only forwarded mail whose delivery is in this state (SES's delivery events).
    #[param(pattern = "^(|sent|delayed|delivered|bounced|complained)$")]
    delivery: Option<String>,
    /// Only this kind of mail (docs/api.md, Mail classes).
    #[param(pattern = "^(|credential|security|account|billing|notice|other)$")]
    class: Option<String>,
    /// Received on or after this UTC day (`YYYY-MM-DD`).
    from: Option<String>,
    /// Received on or before this UTC day (`YYYY-MM-DD`); a range that ends before it begins
    /// holds no mail.
    to: Option<String>,
    /// Items per page, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page (a CSV export starts there).
    cursor: Option<String>,
    /// `json` (pages) or `csv` (every matching record from `cursor` on, streamed; `limit` is
    /// checked but does not apply). Without it, `Accept: text/csv` asks for CSV.
    #[param(pattern = "^(|json|csv)$")]
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/messages",
    operation_id = "listMessages",
    tag = "messages",
    params(MessageQuery),
    responses(
        (status = 200, description = "A page of JSON, or as CSV every matching record: a header row, then one row per record (docs/api.md, Exports)", content(
            (Page<MessageRecord> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 422, description = "A query parameter is invalid (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(service): State<Arc<AppService>>,
    State(slots): State<export::ExportSlots>,
    caller: AdminCaller,
    headers: HeaderMap,
    query: Result<Query<MessageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let format = super::addresses::answer_format(q.format.as_deref(), &headers)?;
    let filter = crate::service::message_filter(&app::model::MessageQuery {
        outcome: q.outcome.unwrap_or_default(),
        address: q.address.unwrap_or_default(),
        from: q.from.unwrap_or_default(),
        to: q.to.unwrap_or_default(),
        delivery: q.delivery.unwrap_or_default(),
        class: q.class.unwrap_or_default(),
        cursor: String::new(),
    })?;
    if format == Format::Csv {
        crate::service::page_limit(q.limit)?;
        let Some(slot) = slots.take() else {
            return Ok(export::busy(true));
        };
        tracing::info!(actor = caller.actor(), ?filter, "message log exported");
        let pages = service.all_messages(&caller, filter, q.cursor).await?;
        return Ok(export::csv("messages", slot, pages));
    }
    let page = service
        .messages(&caller, filter, q.limit, q.cursor.as_deref())
        .await?;
    Ok(Json(page).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}",
    operation_id = "getMessage",
    tag = "messages",
    params(("id" = String, Path, description = "`<SES message id>/<recipient>`, URL-encoded")),
    responses(
        (status = 200, body = MessageRecord),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<MessageRecord>, ApiError> {
    Ok(Json(service.message(&caller, &id).await?))
}

/// Sends a dead letter again, deciding afresh with today's mapping and settings.
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/replay",
    operation_id = "replayMessage",
    tag = "messages",
    params(("id" = String, Path, description = "`<SES message id>/<recipient>`, URL-encoded")),
    responses(
        (status = 200, body = Report, description = "where the message ended up this time"),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 409, body = ErrorResponse, description = "not a dead letter (or being replayed)"),
    ),
    security(("bearer" = []))
)]
pub async fn replay(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(service.replay(&caller, &id).await?))
}

/// Where to release held mail.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// `owner`: where it would go without its class's policy. `me`: the signed-in admin's
    /// mailbox, so not for a token (403).
    pub to: ReleaseTarget,
}

/// Sends mail held by its class's policy on, deciding afresh with today's mapping and
/// settings but not the policy; audited `release_held` on its address.
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/release",
    operation_id = "releaseMessage",
    tag = "messages",
    params(("id" = String, Path, description = "`<SES message id>/<recipient>`, URL-encoded")),
    request_body = Release,
    responses(
        (status = 200, body = Report, description = "where the message ended up"),
        (status = 403, description = "Needs an admin-scope token; `me` is only for a signed-in admin (a token has no mailbox)", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 409, body = ErrorResponse, description = "not held (or being released)"),
    ),
    security(("bearer" = []))
)]
pub async fn release(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Release>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(service.release_held(&caller, &id, body.to).await?))
}
