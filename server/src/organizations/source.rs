//! Reading the organization's accounts from AWS Organizations (`ListAccounts`) through the
//! AWS SDK: the standard credential chain, optionally a role assumed in the management or
//! delegated-admin account, 20 accounts a page (the API's most), throttling retried by the
//! SDK's standard retry mode with more attempts than its default.

use async_trait::async_trait;
use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_sdk_organizations::primitives::DateTimeFormat;

use super::reconcile::ListedAccount;
use app::org::AccountState;

/// Why the organization could not be read, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("AWS Organizations denied access ({0}); mailvend needs organizations:ListAccounts in the management or delegated-admin account (docs/deployment.md)")]
    AccessDenied(String),
    #[error("the account mailvend runs as is not in an organization ({0})")]
    NotInOrganization(String),
    #[error("AWS Organizations kept throttling after retries ({0}); the next sync tries again")]
    Throttled(String),
    #[error("AWS Organizations failed: {0}")]
    Failed(String),
}

/// Where the accounts come from: AWS in production, and in tests the same client against moto.
#[async_trait]
pub trait AccountSource: Send + Sync + 'static {
    async fn list_accounts(&self) -> Result<Vec<ListedAccount>, OrgError>;
}

/// The AWS configuration both organization clients use: the standard chain, as `role_arn`
/// when given (a role in the management or delegated-admin account).
pub async fn sdk_config(role_arn: Option<&str>) -> aws_config::SdkConfig {
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    match role_arn {
        Some(role) => {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name("mailvend-organizations")
                .configure(&base)
                .build()
                .await;
            base.into_builder()
                .credentials_provider(
                    aws_sdk_organizations::config::SharedCredentialsProvider::new(provider),
                )
                .build()
        }
        None => base,
    }
}

/// The most accounts `ListAccounts` returns in a page.
const PAGE: i32 = 20;

/// Attempts per call: throttled calls are retried with the SDK's backoff.
const ATTEMPTS: u32 = 8;

pub struct AwsOrganizations {
    client: aws_sdk_organizations::Client,
}

impl AwsOrganizations {
    /// With the standard configuration chain (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials…),
    /// as `role_arn` when given.
    pub async fn open(role_arn: Option<&str>) -> AwsOrganizations {
        AwsOrganizations::with_config(&sdk_config(role_arn).await)
    }

    pub fn with_config(config: &aws_config::SdkConfig) -> AwsOrganizations {
        let conf = aws_sdk_organizations::config::Builder::from(config)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(ATTEMPTS))
            .build();
        AwsOrganizations {
            client: aws_sdk_organizations::Client::from_conf(conf),
        }
    }
}

fn org_error<E, R>(e: aws_sdk_organizations::error::SdkError<E, R>) -> OrgError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let (code, text) = super::code_and_text(e);
    match code.as_str() {
        "AccessDeniedException" => OrgError::AccessDenied(text),
        "AWSOrganizationsNotInUseException" => OrgError::NotInOrganization(text),
        "TooManyRequestsException" | "ThrottlingException" => OrgError::Throttled(text),
        _ => OrgError::Failed(text),
    }
}

/// One listed account, or `None` for an entry without an id or email (never seen; skipped
/// rather than stored half).
fn listed(a: &aws_sdk_organizations::types::Account) -> Option<ListedAccount> {
    let state = match (a.state(), a.status()) {
        (Some(s), _) => AccountState::parse(s.as_str()),
        // Before `State` (added 2025) only `Status` said ACTIVE, SUSPENDED or PENDING_CLOSURE.
        (None, Some(s)) => AccountState::parse(s.as_str()),
        (None, None) => AccountState::Unknown,
    };
    Some(ListedAccount {
        id: a.id()?.to_string(),
        name: a.name().unwrap_or_default().to_string(),
        email: a.email()?.to_string(),
        state,
        joined_at: a
            .joined_timestamp()
            .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
    })
}

#[async_trait]
impl AccountSource for AwsOrganizations {
    async fn list_accounts(&self) -> Result<Vec<ListedAccount>, OrgError> {
        let mut pages = self
            .client
            .list_accounts()
            .into_paginator()
            .page_size(PAGE)
            .send();
        let mut accounts = Vec::new();
        // The paginator stops at the last page (no NextToken), and on a token repeated.
        while let Some(page) = pages.next().await {
            let page = page.map_err(org_error)?;
            accounts.extend(page.accounts().iter().filter_map(listed));
        }
        Ok(accounts)
    }
}
