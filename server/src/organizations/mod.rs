//! AWS Organizations: reading the organization's accounts (`source`) and judging them against
//! the mappings (`reconcile`). The service's sync use case (`service::organizations`) joins
//! the two with the stores.

pub mod reconcile;
pub mod root_email;
pub mod source;
pub mod verification;

pub use reconcile::{LinkChange, ListedAccount, Reconciler};
pub use source::{AccountSource, AwsOrganizations, OrgError};

/// An AWS SDK error's code and a message for people (`Code: message`, else the error's context
/// chain), read the same way for Organizations and Account Management.
fn code_and_text<E, R>(
    // The SDK crates share one error type (aws-smithy-runtime-api's).
    e: aws_sdk_organizations::error::SdkError<E, R>,
) -> (String, String)
where
    E: aws_sdk_organizations::error::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_organizations::error::ProvideErrorMetadata as _;
    let code = e.code().unwrap_or_default().to_string();
    let text = match e.message() {
        Some(m) => format!("{code}: {m}"),
        None => aws_sdk_organizations::error::DisplayErrorContext(e).to_string(),
    };
    (code, text)
}
