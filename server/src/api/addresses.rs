//! `/api/v1/addresses`: vend, list, read, edit, delete.

use app::model::{Mapping, Page};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::{AdminCaller, VendCaller};
use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::http::AppState;
use crate::mapping_patch::MappingPatch;
use crate::vending::VendRequest;

/// 201 with the new mapping; 200 with the first one when an idempotency key replays.
#[utoipa::path(
    post,
    path = "/api/v1/addresses",
    tag = "addresses",
    request_body = VendRequest,
    responses(
        (status = 201, description = "Vended", body = Mapping),
        (status = 200, description = "An idempotency key replayed the first result", body = Mapping),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 409, body = ErrorResponse), (status = 415, body = ErrorResponse), (status = 422, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn vend(
    State(state): State<AppState>,
    caller: VendCaller,
    ApiJson(req): ApiJson<VendRequest>,
) -> Result<Response, ApiError> {
    let vended = state.service.vend(&caller.actor, &req).await?;
    let status = if vended.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(vended.mapping)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this owner's mappings.
    owner: Option<String>,
    /// A substring of the address, account name or owner.
    q: Option<String>,
    /// `active`, `suspended` or `deleted`; by default active and suspended.
    status: Option<String>,
    /// Only this account type.
    account_type: Option<String>,
    /// 1 to 500, default 50.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/addresses",
    tag = "addresses",
    params(ListQuery),
    responses((status = 200, body = Page<Mapping>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _caller: VendCaller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Mapping>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let filter = state.service.mapping_filter(&app::model::AddressQuery {
        q: query.q.unwrap_or_default(),
        owner: query.owner.unwrap_or_default(),
        status: query.status.unwrap_or_default(),
        account_type: query.account_type.unwrap_or_default(),
        cursor: String::new(),
    })?;
    let page = state
        .service
        .mappings(filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}

#[utoipa::path(
    get,
    path = "/api/v1/addresses/{address}",
    tag = "addresses",
    params(("address" = String, Path, description = "The address, in any case")),
    responses((status = 200, body = Mapping), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    _caller: VendCaller,
    Path(address): Path<String>,
) -> Result<Json<Mapping>, ApiError> {
    Ok(Json(state.service.mapping(&address).await?))
}

#[utoipa::path(
    patch,
    path = "/api/v1/addresses/{address}",
    tag = "addresses",
    params(("address" = String, Path)),
    request_body = MappingPatch,
    responses(
        (status = 200, body = Mapping), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(address): Path<String>,
    ApiJson(patch): ApiJson<MappingPatch>,
) -> Result<Json<Mapping>, ApiError> {
    Ok(Json(
        state.service.edit(&caller.actor, &address, &patch).await?,
    ))
}

/// Marks the mapping deleted; its address stays reserved for ever.
#[utoipa::path(
    delete,
    path = "/api/v1/addresses/{address}",
    tag = "addresses",
    params(("address" = String, Path)),
    responses(
        (status = 200, body = Mapping), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(address): Path<String>,
) -> Result<Json<Mapping>, ApiError> {
    Ok(Json(state.service.delete(&caller.actor, &address).await?))
}
