//! `/api/v1/rules`: the routing rules (admin scope; docs/api.md, Routing rules).

use std::sync::Arc;

use app::model::{RoutingRule, RoutingRules, RuleDryRun};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::service::caller::AdminCaller;
use crate::service::AppService;

#[utoipa::path(
    get,
    path = "/api/v1/rules",
    operation_id = "getRules",
    tag = "settings",
    responses(
        (status = 200, body = RoutingRules, description = "the rules, in the order they are tried"),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
) -> Result<Json<RoutingRules>, ApiError> {
    Ok(Json(service.rules(&caller).await?))
}

/// Replaces the whole list; every rule is checked first, and a refused list changes nothing.
/// Audited as `setting:routing_rules`, with the list before and after.
#[utoipa::path(
    put,
    path = "/api/v1/rules",
    operation_id = "putRules",
    tag = "settings",
    request_body = RoutingRules,
    responses(
        (status = 200, body = RoutingRules),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 422, description = "A rule this server cannot keep; the message names its number and field", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn put(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    ApiJson(rules): ApiJson<RoutingRules>,
) -> Result<Json<RoutingRules>, ApiError> {
    Ok(Json(service.set_rules(&caller, &rules).await?))
}

/// A rule to try on the latest mail.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    pub rule: RoutingRule,
    /// How many of the latest records to look at (default 200).
    #[schema(minimum = 1, maximum = 1000)]
    pub last: Option<u32>,
}

/// Which of the latest records the rule's conditions match; nothing is changed or sent.
#[utoipa::path(
    post,
    path = "/api/v1/rules/dry-run",
    operation_id = "dryRunRule",
    tag = "settings",
    request_body = DryRun,
    responses(
        (status = 200, body = RuleDryRun),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 422, description = "A rule this server cannot keep", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn dry_run(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<DryRun>,
) -> Result<Json<RuleDryRun>, ApiError> {
    Ok(Json(
        service.dry_run_rule(&caller, &body.rule, body.last).await?,
    ))
}
