//! `POST /sns`: the body goes to the inbound side (`inbound::sns::endpoint`), whose answer is
//! sent back and counted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::inbound::sns::endpoint::AnswerBody;
use crate::state::AppState;
use crate::web::api::error::ErrorResponse;

pub async fn receive(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(_delivering) = state.drain.enter() else {
        // SNS retries a 5xx, and the load balancer sends the retry to a server that stays.
        state.core.metrics.sns("draining");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            Json(ErrorResponse::new(
                "draining",
                "this server is shutting down; deliver the notification again",
                None,
            )),
        )
            .into_response();
    };
    let answer = state.sns.answer(&state.core.pipeline, &body).await;
    state.core.metrics.sns(answer.result);
    match answer.body {
        AnswerBody::Done(body) => (answer.status, Json(body)).into_response(),
        AnswerBody::Refused { code, message } => {
            (answer.status, Json(ErrorResponse::new(code, message, None))).into_response()
        }
    }
}

#[cfg(test)]
mod tests;
