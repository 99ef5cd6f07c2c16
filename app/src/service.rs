//! The service boundary the server functions call (server side only). The `server` crate
//! implements it over the store and provides it through Leptos context; the REST API calls
//! the same implementation, so the UI and the API cannot disagree.

use std::sync::Arc;

use crate::error::AppError;
use crate::model::{StoreCheck, SystemStatus};

#[async_trait::async_trait]
pub trait Service: Send + Sync + 'static {
    async fn status(&self) -> Result<SystemStatus, AppError>;
    async fn check_store(&self) -> Result<StoreCheck, AppError>;
}

/// How the service travels in Leptos context.
pub type SharedService = Arc<dyn Service>;

/// The service of the current request, or `Internal` if the server forgot to provide it.
pub fn use_service() -> Result<SharedService, AppError> {
    leptos::prelude::use_context::<SharedService>().ok_or(AppError::Internal)
}
