//! The REST API under `/api/v1`, for vending pipelines and scripts. Every route takes a
//! caller extractor, so none runs unauthenticated.

mod accounts;
mod addresses;
pub mod auth;
pub mod contract;
pub mod error;
pub mod json;
mod messages;
mod notifications;
pub mod openapi;
mod owners;
mod rules;
mod sample;
mod settings;
mod unreachable;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/addresses", post(addresses::vend).get(addresses::list))
        .route(
            "/addresses/{address}",
            get(addresses::get)
                .patch(addresses::patch)
                .delete(addresses::delete),
        )
        .route("/vend", post(sample::vend))
        .route("/messages", get(messages::list))
        .route("/messages/{id}", get(messages::get))
        .route("/messages/{id}/replay", post(messages::replay))
        .route("/messages/{id}/release", post(messages::release))
        .route("/settings", get(settings::get).patch(settings::patch))
        .route("/rules", get(rules::get).put(rules::put))
        .route("/rules/dry-run", post(rules::dry_run))
        .route(
            "/notifications/channels",
            get(notifications::list).post(notifications::add),
        )
        .route(
            "/notifications/channels/{id}",
            axum::routing::delete(notifications::remove),
        )
        .route(
            "/notifications/channels/{id}/test",
            post(notifications::test),
        )
        .route("/notifications/deliveries", get(notifications::deliveries))
        .route("/owners/{owner}/reassign", post(owners::reassign))
        .route("/owners/{owner}/suspend", post(owners::suspend))
        .route("/unreachable", get(unreachable::list))
        .route(
            "/unreachable/{recipient}",
            axum::routing::delete(unreachable::clear),
        )
        .route("/accounts", get(accounts::list))
        .route(
            "/accounts/sync",
            post(accounts::sync).get(accounts::last_sync),
        )
        .route("/accounts/{account_id}/adopt", post(accounts::adopt))
        .route("/accounts/move", post(accounts::move_many))
        .route("/accounts/jobs", get(accounts::jobs))
        .route("/accounts/{account_id}/move", post(accounts::move_one))
        .route("/accounts/{account_id}/job", get(accounts::job))
        .route("/accounts/{account_id}/job/retry", post(accounts::retry))
        .route("/openapi.json", get(openapi::serve))
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such API route; see /api/v1/openapi.json",
            )
        })
}
