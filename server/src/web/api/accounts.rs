//! `/api/v1/accounts`: the AWS organization's accounts as the last sync read them, each with
//! its drift against the mappings; running a sync; adopting an account (admin scope).

use std::sync::Arc;

use app::model::{Mapping, Page};
use app::org::{AccountQuery, OrgAccount, SyncSummary};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::service::caller::AdminCaller;
use crate::service::AppService;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountsQuery {
    /// Only accounts with this drift: `unmapped` (email on the domain, no mapping),
    /// `off_domain`, `closed`, `conflict`.
    #[param(pattern = "^(|unmapped|off_domain|closed|conflict)$")]
    drift: Option<String>,
    /// Items per page, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adopt {
    /// The mailbox that gets the account's mail (the same rules as a mapping's owner).
    owner: String,
    /// One of the configured account types; the first when absent.
    #[serde(default)]
    account_type: Option<String>,
}

/// Reads every account of the organization now: links each mapping whose address is an
/// account's root email (audited), and judges every account's drift. Needs
/// `MAILVEND_ORGANIZATIONS=on`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/sync",
    operation_id = "syncAccounts",
    tag = "accounts",
    responses(
        (status = 200, description = "What the sync found", body = SyncSummary),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 409, description = "The sync is off (`MAILVEND_ORGANIZATIONS`)", body = ErrorResponse),
        (status = 502, description = "AWS Organizations refused or failed; the message says why", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn sync(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
) -> Result<Json<SyncSummary>, ApiError> {
    Ok(Json(service.sync_accounts(&caller).await?))
}

/// The last sync's summary.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/sync",
    operation_id = "lastAccountSync",
    tag = "accounts",
    responses(
        (status = 200, description = "The last sync's summary", body = SyncSummary),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, description = "No sync has run yet", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn last_sync(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
) -> Result<Json<SyncSummary>, ApiError> {
    match service.last_sync(&caller).await? {
        Some(s) => Ok(Json(s)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no organization sync has run yet",
        )),
    }
}

/// The accounts the last sync read, in id order.
#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    operation_id = "listAccounts",
    tag = "accounts",
    params(AccountsQuery),
    responses(
        (status = 200, body = Page<OrgAccount>),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 422, description = "A query parameter is invalid (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    query: Result<Query<AccountsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<OrgAccount>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let query = AccountQuery {
        drift: q.drift.unwrap_or_default(),
        cursor: q.cursor.unwrap_or_default(),
    };
    Ok(Json(service.accounts(&caller, &query, q.limit).await?))
}

/// Makes a mapping for an account whose root email is on the domain but has no mapping,
/// keeping the address and linked to the account (audited `adopt_account`). Role addresses
/// (postmaster@, abuse@, …) are refused.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/adopt",
    operation_id = "adoptAccount",
    tag = "accounts",
    params(("account_id" = String, Path, description = "The 12-digit account id")),
    request_body = Adopt,
    responses(
        (status = 201, description = "The new mapping", body = Mapping),
        (status = 403, description = "Needs an admin-scope token, or the address is a role address", body = ErrorResponse),
        (status = 404, description = "The last sync listed no such account", body = ErrorResponse),
        (status = 409, description = "The account is not unmapped on the domain, or its address is taken", body = ErrorResponse),
        (status = 422, description = "The owner or account type is not usable (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn adopt(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(account_id): Path<String>,
    ApiJson(body): ApiJson<Adopt>,
) -> Result<(StatusCode, Json<Mapping>), ApiError> {
    let mapping = service
        .adopt_account(
            &caller,
            &account_id,
            &body.owner,
            body.account_type.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(mapping)))
}
