//! Server functions: each one fetches the service from context, calls one method, and
//! returns its result. No logic lives here.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{StoreCheck, SystemStatus};

#[server(prefix = "/fn", endpoint = "status")]
pub async fn get_status() -> Result<SystemStatus, AppError> {
    crate::service::use_service()?.status().await
}

#[server(prefix = "/fn", endpoint = "check_store")]
pub async fn check_store() -> Result<StoreCheck, AppError> {
    crate::service::use_service()?.check_store().await
}
