//! `/api/v1/addresses`: vend, list, read, edit, delete.

use app::model::{Mapping, MappingStatus, Page};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::{AdminCaller, VendCaller};
use super::error::ApiError;
use super::json::ApiJson;
use crate::http::AppState;
use crate::mapping_patch::MappingPatch;
use crate::store::MappingFilter;
use crate::vending::VendRequest;

/// 201 with the new mapping; 200 with the first one when an idempotency key replays.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    owner: Option<String>,
    q: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    _caller: VendCaller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Mapping>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let status =
        match query.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(MappingStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", "expected active, suspended or deleted")
            })?),
        };
    let filter = MappingFilter {
        owner: query.owner.filter(|o| !o.trim().is_empty()),
        query: query.q,
        status,
    };
    let page = state
        .service
        .mappings(filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page))
}

pub async fn get(
    State(state): State<AppState>,
    _caller: VendCaller,
    Path(address): Path<String>,
) -> Result<Json<Mapping>, ApiError> {
    Ok(Json(state.service.mapping(&address).await?))
}

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

pub async fn delete(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(address): Path<String>,
) -> Result<Json<Mapping>, ApiError> {
    Ok(Json(state.service.delete(&caller.actor, &address).await?))
}
