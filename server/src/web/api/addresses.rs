//! `/api/v1/addresses`: vend, list, read, edit, delete.

use std::sync::Arc;

use app::model::{Mapping, Page};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::service::caller::{AdminCaller, VendCaller};
use crate::service::mapping_patch::MappingPatch;
use crate::service::vending::VendRequest;
use crate::service::AppService;
use crate::web::export::{self, format::Format};

/// 201 with the new mapping; 200 with the first one when an idempotency key replays.
#[utoipa::path(
    post,
    path = "/api/v1/addresses",
    operation_id = "vendAddress",
    tag = "addresses",
    request_body = VendRequest,
    responses(
        (status = 201, description = "Vended", body = Mapping),
        (status = 200, description = "An idempotency key replayed the first result", body = Mapping),
        (status = 403, description = "A vend-scope token chose the address without MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE, or one that has received mail", body = ErrorResponse),
        (status = 409, description = "The chosen address or account name is taken (an idempotency key never conflicts: a repeat returns the first mapping, whatever the rest of the body says)", body = ErrorResponse),
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
    #[param(pattern = "^(|active|suspended|deleted)$")]
    status: Option<String>,
    /// Only this account type.
    account_type: Option<String>,
    /// `true`: only mappings with a recipient marked unreachable (a permanent bounce or a
    /// complaint; see `GET /api/v1/unreachable`).
    unreachable: Option<bool>,
    /// Only mappings linked to an AWS account in this state (the organization sync's link).
    #[param(pattern = "^(|PENDING_ACTIVATION|ACTIVE|SUSPENDED|PENDING_CLOSURE|CLOSED)$")]
    account_state: Option<String>,
    /// Items per page, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page (a CSV export starts there).
    cursor: Option<String>,
    /// `json` (pages) or `csv` (every matching mapping from `cursor` on, streamed; `limit`
    /// is checked but does not apply). Without it, `Accept: text/csv` asks for CSV.
    #[param(pattern = "^(|json|csv)$")]
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/addresses",
    operation_id = "listAddresses",
    tag = "addresses",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of JSON, or as CSV every matching mapping: a header row, then one row per mapping (docs/api.md, Exports)", content(
            (Page<Mapping> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 422, description = "A query parameter is invalid (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(service): State<Arc<AppService>>,
    State(slots): State<export::ExportSlots>,
    caller: VendCaller,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let format = answer_format(query.format.as_deref(), &headers)?;
    let filter = service
        .mapping_filter(&app::model::AddressQuery {
            q: query.q.unwrap_or_default(),
            owner: query.owner.unwrap_or_default(),
            status: query.status.unwrap_or_default(),
            account_type: query.account_type.unwrap_or_default(),
            unreachable: query.unreachable.map(|u| u.to_string()).unwrap_or_default(),
            account_state: query.account_state.unwrap_or_default(),
            cursor: String::new(),
        })
        .await?;
    if format == Format::Csv {
        // A request valid for one format is valid for the other.
        crate::service::page_limit(query.limit)?;
        let Some(slot) = slots.take() else {
            return Ok(export::busy(true));
        };
        tracing::info!(actor = caller.actor(), ?filter, "addresses exported");
        let pages = service.all_mappings(&caller, filter, query.cursor).await?;
        return Ok(export::csv("addresses", slot, pages));
    }
    let page = service
        .mappings(&caller, filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page).into_response())
}

/// The format a list answers in, from its `format` parameter and `Accept` header.
pub(super) fn answer_format(format: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    // Several Accept fields are one list (RFC 9110 §5.3).
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    export::format::choose(format, Some(&accept.join(",")))
        .map_err(|m| ApiError::invalid("format", m))
}

#[utoipa::path(
    get,
    path = "/api/v1/addresses/{address}",
    operation_id = "getAddress",
    tag = "addresses",
    params(("address" = String, Path, description = "The address, in any case")),
    responses(
        (status = 200, body = Mapping),
        (status = 404, description = "No mapping has this address, or it was deleted (its address stays reserved)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(service): State<Arc<AppService>>,
    caller: VendCaller,
    Path(address): Path<String>,
) -> Result<Json<Mapping>, ApiError> {
    let mapping = service.mapping(&caller, &address).await?;
    // After DELETE the resource is gone for a client, as REST clients expect (404, as for
    // any address without a mapping), though the address stays reserved and the record stays
    // listed under `status=deleted`.
    if mapping.status == app::model::MappingStatus::Deleted {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "{} was deleted at {}; its address stays reserved (list it with status=deleted)",
                mapping.address, mapping.updated_at
            ),
        ));
    }
    Ok(Json(mapping))
}

#[utoipa::path(
    patch,
    path = "/api/v1/addresses/{address}",
    operation_id = "patchAddress",
    tag = "addresses",
    params(("address" = String, Path, description = "The address, in any case")),
    request_body = MappingPatch,
    responses(
        (status = 200, body = Mapping), (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, description = "The mapping was deleted", body = ErrorResponse),
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
    operation_id = "deleteAddress",
    tag = "addresses",
    params(("address" = String, Path, description = "The address, in any case")),
    responses(
        (status = 200, body = Mapping), (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
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
