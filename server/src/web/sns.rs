//! `POST /sns`: the body goes to the inbound side (`inbound::sns::endpoint`), whose answer is
//! sent back and counted.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::inbound::sns::endpoint::AnswerBody;
use crate::state::AppState;
use crate::web::api::error::ErrorResponse;

pub async fn receive(State(state): State<AppState>, body: Bytes) -> Response {
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
