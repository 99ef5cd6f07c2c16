//! Operational endpoints: `/healthz` for load balancers and container probes (the store must
//! answer, and the server must not be draining), `/metrics` for Prometheus.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::config::Config;
use crate::drain::Drain;
use crate::metrics::Metrics;
use crate::store::Stores;

pub async fn healthz(State(stores): State<Stores>, State(drain): State<Drain>) -> Response {
    if drain.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "draining"})),
        )
            .into_response();
    }
    match stores.health.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

/// Metrics name routes, outcomes and volumes: for the operator only. On the main listener
/// with `MAILVEND_METRICS_TOKEN` set they need that bearer token; on a listener of their own
/// (`MAILVEND_METRICS_ADDR`) the network is the guard, as Prometheus expects.
pub async fn metrics(
    State(metrics): State<Arc<Metrics>>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
) -> Response {
    if let (Some(token), None) = (&config.metrics_token, config.metrics_addr) {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::auth::oidc::constant_time_eq(given.as_bytes(), token.expose().as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"mailvend metrics\"",
                )],
                "send MAILVEND_METRICS_TOKEN as Authorization: Bearer <token>\n",
            )
                .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}
