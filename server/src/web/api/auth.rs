//! Who is calling the REST API. Authorization is a type: every handler takes one of the
//! service's caller proofs, made here from a bearer token the store knows, so a handler that
//! takes `AdminCaller` cannot run for a `vend`-scoped token and none runs without a token.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::service::caller::{AdminCaller, VendCaller};
use crate::state::AppState;
use crate::tokens::{self, ApiToken};

async fn authenticate(parts: &Parts, state: &AppState) -> Result<ApiToken, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("send an API token: Authorization: Bearer mvt_…"))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer mvt_…"))?;
    // One message for malformed, unknown and revoked tokens: the answer reveals nothing
    // about which tokens exist.
    if !tokens::well_formed(token) {
        return Err(invalid_token());
    }
    let found = state
        .core
        .stores
        .tokens
        .token_by_digest(&tokens::digest(token))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "token lookup failed");
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is unavailable; try again",
            )
        })?;
    let now = crate::clock::now_rfc3339();
    match found {
        Some(t) if t.usable(&now) => {
            record_use(state, &t, &now).await;
            Ok(t)
        }
        _ => Err(invalid_token()),
    }
}

/// One answer for malformed, unknown, revoked and expired tokens.
fn invalid_token() -> ApiError {
    ApiError::unauthorized("the API token is invalid, revoked or expired")
}

/// Writes the token's last use, at most once a minute (so a busy pipeline costs one write a
/// minute, not one per request). A failure is logged: it never refuses the request.
async fn record_use(state: &AppState, token: &ApiToken, now: &str) {
    let minute_ago = crate::clock::ago(std::time::Duration::from_secs(60));
    if token
        .last_used_at
        .as_deref()
        .is_some_and(|last| last > minute_ago.as_str())
    {
        return;
    }
    if let Err(e) = state.core.stores.tokens.token_used(&token.id, now).await {
        tracing::warn!(error = %e, token = %token.id, "could not record the token's use");
    }
}

impl FromRequestParts<AppState> for VendCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authenticate(parts, state).await?;
        VendCaller::token(&token, &crate::clock::now_rfc3339()).ok_or_else(invalid_token)
    }
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authenticate(parts, state).await?;
        AdminCaller::token(&token, &crate::clock::now_rfc3339()).ok_or_else(|| {
            ApiError::forbidden("this needs a token with scope admin; this token has scope vend")
        })
    }
}
