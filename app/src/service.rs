//! The service boundary the server functions call (server side only). The `server` crate
//! implements it over the store and provides it through Leptos context; the REST API calls
//! the same implementation, so the UI and the API cannot disagree.

use std::sync::Arc;

use crate::auth::{Admin, Owner};
use crate::error::AppError;
use crate::model::{MyAddresses, StoreCheck, SystemStatus};

/// Every method takes the caller's proof of role (`crate::auth`), so none can be reached
/// without the check.
#[async_trait::async_trait]
pub trait Service: Send + Sync + 'static {
    async fn status(&self, admin: &Admin) -> Result<SystemStatus, AppError>;
    async fn check_store(&self, admin: &Admin) -> Result<StoreCheck, AppError>;
    /// Only the mappings whose owner is the caller's own (verified) address.
    async fn my_addresses(&self, owner: &Owner) -> Result<MyAddresses, AppError>;
}

/// How the service travels in Leptos context.
pub type SharedService = Arc<dyn Service>;

/// The service of the current request, or `Internal` if the server forgot to provide it.
pub fn use_service() -> Result<SharedService, AppError> {
    leptos::prelude::use_context::<SharedService>().ok_or(AppError::Internal)
}
