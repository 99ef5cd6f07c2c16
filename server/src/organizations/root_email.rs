//! Changing a member account's root email through the Account Management API
//! (`StartPrimaryEmailUpdate`, then `AcceptPrimaryEmailUpdate` with the code AWS mails to the
//! new address), through the AWS SDK. The root email change jobs (#17,
//! docs/design/root-email-jobs.md) drive it; each failure says which of the job's reasons it is.

use async_trait::async_trait;
use aws_sdk_account::error::ProvideErrorMetadata;
use aws_sdk_account::types::PrimaryEmailUpdateStatus;

use crate::secret::Secret;

/// Where a change stands after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStatus {
    /// The code was sent to the new address; waiting for it.
    Pending,
    Accepted,
}

/// Why a call failed, in the job's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// ConflictException: the new address is another account's root email already.
    #[error("the address is in use by another account ({0})")]
    Conflict(String),
    /// Accept refused the code (wrong, or expired: AWS keeps one 24 hours).
    #[error("AWS refused the code ({0})")]
    RejectedCode(String),
    #[error("AWS Account Management kept throttling after retries ({0})")]
    Throttled(String),
    #[error("AWS denied access ({0}); mailvend needs account:StartPrimaryEmailUpdate and account:AcceptPrimaryEmailUpdate (docs/deployment.md)")]
    AccessDenied(String),
    #[error("no such account in the organization ({0})")]
    NotFound(String),
    #[error("AWS Account Management failed: {0}")]
    Failed(String),
}

impl ChangeError {
    /// The reason a failed job records.
    pub fn reason(&self) -> &'static str {
        match self {
            ChangeError::Conflict(_) => "conflict",
            ChangeError::RejectedCode(_) => "rejected_code",
            ChangeError::Throttled(_) => "throttled",
            ChangeError::AccessDenied(_) => "access_denied",
            ChangeError::NotFound(_) => "not_found",
            ChangeError::Failed(_) => "failed",
        }
    }
}

#[async_trait]
pub trait RootEmailApi: Send + Sync + 'static {
    async fn start(&self, account_id: &str, new_email: &str) -> Result<UpdateStatus, ChangeError>;
    /// `code` is a credential: it is sent, never logged.
    async fn accept(
        &self,
        account_id: &str,
        new_email: &str,
        code: &Secret,
    ) -> Result<UpdateStatus, ChangeError>;
    async fn primary_email(&self, account_id: &str) -> Result<String, ChangeError>;
}

/// Attempts per call: throttled calls are retried with the SDK's backoff.
const ATTEMPTS: u32 = 6;

/// The most one call may take, its retries included.
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

pub struct AwsAccountApi {
    client: aws_sdk_account::Client,
}

impl AwsAccountApi {
    pub fn with_config(config: &aws_config::SdkConfig) -> AwsAccountApi {
        Self::with_retry(
            config,
            aws_config::retry::RetryConfig::standard().with_max_attempts(ATTEMPTS),
        )
    }

    /// With another retry policy (tests shorten the backoff).
    pub fn with_retry(
        config: &aws_config::SdkConfig,
        retry: aws_config::retry::RetryConfig,
    ) -> AwsAccountApi {
        // A whole call, retries included, ends well within the minutes after which a job
        // stuck in `code_received` is looked at again (inbound::root_email::ACCEPT_WAIT).
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let conf = aws_sdk_account::config::Builder::from(config)
            .retry_config(retry)
            .timeout_config(timeouts)
            .build();
        AwsAccountApi {
            client: aws_sdk_account::Client::from_conf(conf),
        }
    }
}

/// `accepting`: a ValidationException on Accept is about the code.
fn change_error<E, R>(e: aws_sdk_account::error::SdkError<E, R>, accepting: bool) -> ChangeError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let (code, text) = super::code_and_text(e);
    match code.as_str() {
        "ConflictException" => ChangeError::Conflict(text),
        "ValidationException" if accepting => ChangeError::RejectedCode(text),
        "TooManyRequestsException" => ChangeError::Throttled(text),
        "AccessDeniedException" => ChangeError::AccessDenied(text),
        "ResourceNotFoundException" => ChangeError::NotFound(text),
        _ => ChangeError::Failed(text),
    }
}

fn status(s: Option<&PrimaryEmailUpdateStatus>) -> Result<UpdateStatus, ChangeError> {
    match s {
        Some(PrimaryEmailUpdateStatus::Pending) => Ok(UpdateStatus::Pending),
        Some(PrimaryEmailUpdateStatus::Accepted) => Ok(UpdateStatus::Accepted),
        other => Err(ChangeError::Failed(format!(
            "an update status this version does not know: {other:?}"
        ))),
    }
}

#[async_trait]
impl RootEmailApi for AwsAccountApi {
    async fn start(&self, account_id: &str, new_email: &str) -> Result<UpdateStatus, ChangeError> {
        let out = self
            .client
            .start_primary_email_update()
            .account_id(account_id)
            .primary_email(new_email)
            .send()
            .await
            .map_err(|e| change_error(e, false))?;
        status(out.status())
    }

    async fn accept(
        &self,
        account_id: &str,
        new_email: &str,
        code: &Secret,
    ) -> Result<UpdateStatus, ChangeError> {
        let out = self
            .client
            .accept_primary_email_update()
            .account_id(account_id)
            .primary_email(new_email)
            .otp(code.expose())
            .send()
            .await
            .map_err(|e| change_error(e, true))?;
        status(out.status())
    }

    async fn primary_email(&self, account_id: &str) -> Result<String, ChangeError> {
        let out = self
            .client
            .get_primary_email()
            .account_id(account_id)
            .send()
            .await
            .map_err(|e| change_error(e, false))?;
        out.primary_email()
            .map(str::to_string)
            .ok_or_else(|| ChangeError::Failed("GetPrimaryEmail answered no address".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::account_api::FakeAccountApi;

    async fn api(fake: &FakeAccountApi) -> AwsAccountApi {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(fake.url())
            .credentials_provider(aws_sdk_account::config::Credentials::new(
                "testing", "testing", None, None, "fake",
            ))
            .load()
            .await;
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(std::time::Duration::from_millis(10));
        AwsAccountApi::with_retry(&config, retry)
    }

    #[tokio::test]
    async fn a_change_is_started_then_accepted_with_the_code_aws_mailed() {
        let fake = FakeAccountApi::start(&[("111111111111", "team@corp.example")]).await;
        let api = api(&fake).await;
        let new = "root-111@mail.example.com";
        assert_eq!(
            api.start("111111111111", new).await,
            Ok(UpdateStatus::Pending)
        );
        let code = fake
            .code_sent_to(new)
            .expect("a code was mailed to the new address");
        assert_eq!(
            api.primary_email("111111111111").await.unwrap(),
            "team@corp.example"
        );

        // A wrong code is refused and changes nothing; the right one changes the address.
        let wrong = Secret::new(if code == "000000" { "000001" } else { "000000" });
        let refused = api.accept("111111111111", new, &wrong).await.unwrap_err();
        assert_eq!(refused.reason(), "rejected_code", "{refused}");
        assert_eq!(
            api.accept("111111111111", new, &Secret::new(code)).await,
            Ok(UpdateStatus::Accepted)
        );
        assert_eq!(api.primary_email("111111111111").await.unwrap(), new);
    }

    #[tokio::test]
    async fn each_refusal_is_named_for_the_job() {
        let fake = FakeAccountApi::start(&[
            ("111111111111", "a@corp.example"),
            ("222222222222", "taken@mail.example.com"),
        ])
        .await;
        let api = api(&fake).await;
        // The address is another account's root email.
        let e = api
            .start("111111111111", "taken@mail.example.com")
            .await
            .unwrap_err();
        assert_eq!(e.reason(), "conflict", "{e}");
        // No such account.
        let e = api
            .start("999999999999", "x@mail.example.com")
            .await
            .unwrap_err();
        assert_eq!(e.reason(), "not_found", "{e}");
        // An expired code.
        api.start("111111111111", "new@mail.example.com")
            .await
            .unwrap();
        let code = fake.code_sent_to("new@mail.example.com").unwrap();
        fake.expire_codes();
        let e = api
            .accept("111111111111", "new@mail.example.com", &Secret::new(code))
            .await
            .unwrap_err();
        assert_eq!(e.reason(), "rejected_code", "{e}");
        // Throttling is retried by the SDK: two 429s, then the call goes through.
        fake.throttle_next(2);
        assert_eq!(
            api.start("111111111111", "later@mail.example.com").await,
            Ok(UpdateStatus::Pending)
        );
        assert_eq!(fake.throttled(), 2);
        // Throttled past the retries: named as such.
        fake.throttle_next(100);
        let e = api
            .start("111111111111", "later@mail.example.com")
            .await
            .unwrap_err();
        assert_eq!(e.reason(), "throttled", "{e}");
    }

    #[test]
    fn the_code_never_prints() {
        let code = Secret::new("482913");
        assert!(!format!("{code:?} {code}").contains("482913"));
    }
}
