//! `/api/v1/addresses`: vend, list, read, edit, delete.

use std::sync::Arc;

use app::model::{Mapping, Page};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::service::caller::{AdminCaller, VendCaller};
use crate::service::mapping_patch::MappingPatch;
use crate::service::vending::VendRequest;
use crate::service::AppService;

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
        (status = 403, description = "A vend-scope token chose the address without MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE, or one that has received mail", body = ErrorResponse),
        (status = 409, body = ErrorResponse), (status = 415, body = ErrorResponse), (status = 422, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn vend(
    State(service): State<Arc<AppService>>,
    caller: VendCaller,
    ApiJson(req): ApiJson<VendRequest>,
) -> Result<Response, ApiError> {
    let vended = service.vend(&caller, &req).await?;
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
    State(service): State<Arc<AppService>>,
    caller: VendCaller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Mapping>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let filter = service.mapping_filter(&app::model::AddressQuery {
        q: query.q.unwrap_or_default(),
        owner: query.owner.unwrap_or_default(),
        status: query.status.unwrap_or_default(),
        account_type: query.account_type.unwrap_or_default(),
        cursor: String::new(),
    })?;
    let page = service
        .mappings(&caller, filter, query.limit, query.cursor.as_deref())
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
    State(service): State<Arc<AppService>>,
    caller: VendCaller,
    Path(address): Path<String>,
) -> Result<Json<Mapping>, ApiError> {
    Ok(Json(service.mapping(&caller, &address).await?))
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
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(address): Path<String>,
    ApiJson(patch): ApiJson<MappingPatch>,
) -> Result<Json<Mapping>, ApiError> {
    Ok(Json(service.edit(&caller, &address, &patch).await?))
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
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(address): Path<String>,
) -> Result<Json<Mapping>, ApiError> {
    Ok(Json(service.delete(&caller, &address).await?))
}
