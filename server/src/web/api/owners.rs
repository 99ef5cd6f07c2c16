//! `/api/v1/owners/{owner}/…`: bulk actions for when people leave (admin scope). Each runs
//! over every mapping the owner has; `dry_run` previews it.

use std::sync::Arc;

use app::model::BulkChange;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::service::caller::AdminCaller;
use crate::service::{AppService, BulkAction};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    /// The new owner of every live mapping (the same rules as a mapping's owner).
    to: String,
    /// Only say what would change.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Suspend {
    /// Only say what would change.
    #[serde(default)]
    dry_run: bool,
}

/// Moves every live mapping of `owner` to `to`: each change is audited on its mapping, and
/// the whole once (subject `owner:<owner>`, action `reassign_owner`).
#[utoipa::path(
    post,
    path = "/api/v1/owners/{owner}/reassign",
    operation_id = "reassignOwner",
    tag = "owners",
    params(("owner" = String, Path, description = "The current owner, in any case")),
    request_body = Reassign,
    responses(
        (status = 200, description = "What moved (or, with dry_run, would move)", body = BulkChange),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 422, description = "The owner or `to` is not a usable address (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn reassign(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(owner): Path<String>,
    ApiJson(body): ApiJson<Reassign>,
) -> Result<Json<BulkChange>, ApiError> {
    let action = BulkAction::Reassign { to: body.to };
    Ok(Json(
        service
            .bulk_owner(&caller, &owner, &action, body.dry_run)
            .await?,
    ))
}

/// Suspends every active mapping of `owner`: audited on each mapping, and the whole once
/// (action `suspend_owner`).
#[utoipa::path(
    post,
    path = "/api/v1/owners/{owner}/suspend",
    operation_id = "suspendOwner",
    tag = "owners",
    params(("owner" = String, Path, description = "The owner, in any case")),
    request_body = Suspend,
    responses(
        (status = 200, description = "What was suspended (or, with dry_run, would be)", body = BulkChange),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 422, description = "The owner is not an address", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn suspend(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(owner): Path<String>,
    ApiJson(body): ApiJson<Suspend>,
) -> Result<Json<BulkChange>, ApiError> {
    Ok(Json(
        service
            .bulk_owner(&caller, &owner, &BulkAction::Suspend, body.dry_run)
            .await?,
    ))
}
