//! `/api/v1/accounts`: the AWS organization's accounts as the last sync read them, each with
//! its drift against the mappings; running a sync; adopting an account; moving accounts'
//! root emails onto the domain and the jobs doing it (admin scope).

use std::sync::Arc;

use app::model::{Mapping, Page};
use app::org::{AccountQuery, MoveRequest, MoveResult, OrgAccount, RootEmailJob, SyncSummary};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveOne {
    /// Who gets the account's mail once moved; default: its current root email.
    #[serde(default)]
    owner: Option<String>,
}

/// One result per account asked for, in order (a repeated id once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MoveResults {
    items: Vec<MoveResult>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    /// Items per page, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Moves accounts' root emails onto the domain (a bulk migration): for each off-domain,
/// live account, an address is vended (named after the account, owned by `owner` or the
/// account's current root email) and a job queued; jobs start one at a time,
/// `MAILVEND_ORGANIZATIONS_MOVE_PACE` apart. A refused account has `error` and no job; the
/// others go on.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/move",
    operation_id = "moveAccounts",
    tag = "accounts",
    request_body = MoveRequest,
    responses(
        (status = 202, description = "One result per account", body = MoveResults),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 409, description = "Root email changes are off (`MAILVEND_ORGANIZATIONS`)", body = ErrorResponse),
        (status = 422, description = "No account ids, more than 100, or an unusable owner (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn move_many(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<MoveRequest>,
) -> Result<(StatusCode, Json<MoveResults>), ApiError> {
    let items = service
        .move_accounts(&caller, &body.account_ids, body.owner.as_deref())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(MoveResults { items })))
}

/// Moves one account's root email onto the domain: as `moveAccounts` for one account,
/// answering its job, or why it was refused.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/move",
    operation_id = "moveAccount",
    tag = "accounts",
    params(("account_id" = String, Path, description = "The 12-digit account id")),
    request_body = MoveOne,
    responses(
        (status = 202, description = "The queued job", body = RootEmailJob),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, description = "The last sync listed no such account", body = ErrorResponse),
        (status = 409, description = "Root email changes are off, the account is closed or on the domain already, or it has an open job", body = ErrorResponse),
        (status = 422, description = "The owner is not usable (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn move_one(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(account_id): Path<String>,
    ApiJson(body): ApiJson<MoveOne>,
) -> Result<(StatusCode, Json<RootEmailJob>), ApiError> {
    let job = service
        .move_account(&caller, &account_id, body.owner.as_deref())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// The root email change jobs, in account id order: each account's latest.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/jobs",
    operation_id = "listRootEmailJobs",
    tag = "accounts",
    params(JobsQuery),
    responses(
        (status = 200, body = Page<RootEmailJob>),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 422, description = "A query parameter is invalid (named in `field`)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn jobs(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    query: Result<Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<RootEmailJob>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    Ok(Json(
        service
            .jobs(
                &caller,
                q.limit,
                q.cursor.as_deref().filter(|c| !c.is_empty()),
            )
            .await?,
    ))
}

/// An account's latest root email change job.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/job",
    operation_id = "getRootEmailJob",
    tag = "accounts",
    params(("account_id" = String, Path, description = "The 12-digit account id")),
    responses(
        (status = 200, body = RootEmailJob),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, description = "The account has no job", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn job(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(account_id): Path<String>,
) -> Result<Json<RootEmailJob>, ApiError> {
    Ok(Json(service.job(&caller, &account_id).await?))
}

/// Queues a failed job again, with the same address: AWS mails a new code.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/job/retry",
    operation_id = "retryRootEmailJob",
    tag = "accounts",
    params(("account_id" = String, Path, description = "The 12-digit account id")),
    responses(
        (status = 202, description = "The queued job", body = RootEmailJob),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, description = "The account has no job", body = ErrorResponse),
        (status = 409, description = "The job has not failed, or root email changes are off", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn retry(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(account_id): Path<String>,
) -> Result<(StatusCode, Json<RootEmailJob>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(service.retry_job(&caller, &account_id).await?),
    ))
}
