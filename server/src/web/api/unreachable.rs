//! `/api/v1/unreachable`: recipient mailboxes marked unreachable by a permanent bounce or a
//! complaint, whose mail also goes to the fallback address (admin scope).

use std::sync::Arc;

use app::model::Unreachable;
use axum::extract::{Path, State};
use axum::Json;

use super::error::{ApiError, ErrorResponse};
use crate::service::caller::AdminCaller;
use crate::service::AppService;

/// Every mark, by recipient.
#[utoipa::path(
    get,
    path = "/api/v1/unreachable",
    operation_id = "listUnreachable",
    tag = "recipients",
    responses(
        (status = 200, body = Vec<Unreachable>),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
) -> Result<Json<Vec<Unreachable>>, ApiError> {
    Ok(Json(service.unreachable(&caller).await?))
}

/// Marks the recipient fixed: its mark goes (audited), and its mail goes to it alone again.
#[utoipa::path(
    delete,
    path = "/api/v1/unreachable/{recipient}",
    operation_id = "markReachable",
    tag = "recipients",
    params(("recipient" = String, Path, description = "The mailbox, in any case")),
    responses(
        (status = 200, description = "The mark that was cleared", body = Unreachable),
        (status = 403, description = "Needs an admin-scope token", body = ErrorResponse),
        (status = 404, description = "The recipient is not marked unreachable", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn clear(
    State(service): State<Arc<AppService>>,
    caller: AdminCaller,
    Path(recipient): Path<String>,
) -> Result<Json<Unreachable>, ApiError> {
    Ok(Json(service.mark_reachable(&caller, &recipient).await?))
}
