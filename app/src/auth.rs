//! Who is looking. The server resolves the signed-in person from their session and puts a
//! `Viewer` in the request; server functions turn it into `Admin` or `Owner` proofs, which the
//! service's methods take, so no data is reached without the check.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Owner,
}

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    /// Verified by the identity provider (or the admin address in local mode), lower-cased.
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
}

/// What the sign-in page and the layout need to know about the current visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub viewer: Option<Viewer>,
    /// Single sign-on is configured (else local mode: the printed link).
    pub sso: bool,
    /// What the last plain form post had to say (see `crate::flash`).
    pub notice: Option<crate::model::Notice>,
}

/// How this server signs people in; the server provides it in context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsoEnabled(pub bool);

/// Proof that the caller is an admin. Only `require_admin` makes one.
#[derive(Debug, Clone)]
pub struct Admin(Viewer);

/// Proof that the caller is signed in (an admin or an owner). Only `require_owner` makes one.
#[derive(Debug, Clone)]
pub struct Owner(Viewer);

impl Admin {
    pub fn viewer(&self) -> &Viewer {
        &self.0
    }
}

impl Owner {
    pub fn viewer(&self) -> &Viewer {
        &self.0
    }
}

/// The viewer of the current request (server side).
#[cfg(feature = "ssr")]
pub fn viewer() -> Option<Viewer> {
    leptos::prelude::use_context::<http::request::Parts>()?
        .extensions
        .get::<Viewer>()
        .cloned()
}

/// The error, with the response status set to match (401/403 rather than a generic 500).
#[cfg(feature = "ssr")]
fn refuse(e: crate::error::AppError) -> crate::error::AppError {
    crate::error::set_status(&e);
    e
}

// The proofs are made here and nowhere else: their fields are private to this module, and
// no other function builds one, so holding an `Admin` means this check passed.
#[cfg(feature = "ssr")]
pub fn require_admin() -> Result<Admin, crate::error::AppError> {
    admin_among(viewer()).map_err(refuse)
}

/// `require_admin` for a plain server route (a download link), from its request's parts.
#[cfg(feature = "ssr")]
pub fn admin_of(parts: &http::request::Parts) -> Result<Admin, crate::error::AppError> {
    admin_among(parts.extensions.get::<Viewer>().cloned())
}

#[cfg(feature = "ssr")]
fn admin_among(viewer: Option<Viewer>) -> Result<Admin, crate::error::AppError> {
    use crate::error::AppError;
    let viewer = viewer.ok_or(AppError::Unauthorized)?;
    if viewer.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    Ok(Admin(viewer))
}

#[cfg(feature = "ssr")]
pub fn require_owner() -> Result<Owner, crate::error::AppError> {
    viewer()
        .map(Owner)
        .ok_or_else(|| refuse(crate::error::AppError::Unauthorized))
}
