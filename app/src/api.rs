//! Server functions: each one fetches the service from context, calls one method, and
//! returns its result. No logic lives here.

use leptos::prelude::*;

use crate::auth::SessionInfo;
use crate::error::AppError;
use crate::model::{MyAddresses, StoreCheck, SystemStatus};

#[server(prefix = "/fn", endpoint = "status")]
pub async fn get_status() -> Result<SystemStatus, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::service::use_service()?.status(&admin).await
}

#[server(prefix = "/fn", endpoint = "check_store")]
pub async fn check_store() -> Result<StoreCheck, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::service::use_service()?.check_store(&admin).await
}

/// Who is signed in, if anyone, and how one signs in here (public: the sign-in page needs it).
#[server(prefix = "/fn", endpoint = "session")]
pub async fn get_session_info() -> Result<SessionInfo, AppError> {
    Ok(SessionInfo {
        viewer: crate::auth::viewer(),
        sso: use_context::<crate::auth::SsoEnabled>().is_some_and(|s| s.0),
    })
}

/// The caller's own addresses and their recent mail (any signed-in person).
#[server(prefix = "/fn", endpoint = "my_addresses")]
pub async fn get_my_addresses() -> Result<MyAddresses, AppError> {
    let owner = crate::auth::require_owner()?;
    crate::service::use_service()?.my_addresses(&owner).await
}
