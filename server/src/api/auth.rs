//! Who is calling the REST API. Authorization is a type: a handler that takes `AdminCaller`
//! cannot run for a `vend`-scoped token, and no handler runs without one of these.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::http::AppState;
use crate::tokens::{self, ApiToken, Scope};

/// Any valid, unrevoked token: scope `vend` or `admin`.
pub struct VendCaller {
    pub actor: String,
}

/// A token with scope `admin`.
pub struct AdminCaller {
    pub actor: String,
}

fn actor(token: &ApiToken) -> String {
    format!("token:{}:{}", token.id, token.name)
}

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
    let invalid = || ApiError::unauthorized("the API token is invalid or revoked");
    if !tokens::well_formed(token) {
        return Err(invalid());
    }
    let found = state
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
    match found {
        Some(t) if t.revoked_at.is_none() => Ok(t),
        _ => Err(invalid()),
    }
}

impl FromRequestParts<AppState> for VendCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authenticate(parts, state).await?;
        Ok(VendCaller {
            actor: actor(&token),
        })
    }
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authenticate(parts, state).await?;
        if token.scope != Scope::Admin {
            return Err(ApiError::forbidden(
                "this needs a token with scope admin; this token has scope vend",
            ));
        }
        Ok(AdminCaller {
            actor: actor(&token),
        })
    }
}
