use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// The one error type the UI sees. Its messages are stable and safe to show: causes
/// (SQL text, SDK errors) are logged on the server and never cross this boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("please sign in")]
    Unauthorized,
    #[error("you do not have access to this")]
    Forbidden,
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("the service is temporarily unavailable; try again")]
    Unavailable,
    /// An AWS service the server called for this failed; the message says which and why.
    #[error("{0}")]
    Upstream(String),
    #[error("something went wrong on the server; the details are in its log")]
    Internal,
    /// Transport-level failures (network down, bad encoding) reported by the server-fn layer.
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

impl AppError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream(_) => StatusCode::BAD_GATEWAY,
            AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Sets the current response's status to `e`'s.
#[cfg(feature = "ssr")]
pub fn set_status(e: &AppError) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(e.status());
    }
}

/// The error, with the response status set to match when the caller is the server-function
/// client (a plain form post must keep its redirect back to the page, which carries the
/// error in its query instead).
#[cfg(feature = "ssr")]
pub fn respond(e: AppError) -> AppError {
    if !crate::flash::is_form_post() {
        set_status(&e);
    }
    e
}
