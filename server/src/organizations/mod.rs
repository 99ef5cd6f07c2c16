//! AWS Organizations: reading the organization's accounts (`source`) and judging them against
//! the mappings (`reconcile`). The service's sync use case (`service::organizations`) joins
//! the two with the stores.

pub mod reconcile;
pub mod root_email;
pub mod source;
pub mod verification;

pub use reconcile::{LinkChange, ListedAccount, Reconciler};
pub use source::{AccountSource, AwsOrganizations, OrgError};
