//! Production sending: SES v2 `SendEmail` with raw content, exactly the rewritten bytes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::{Blob, DateTimeFormat};
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use aws_sdk_sesv2::Client;

use super::{Mailer, Outgoing, SendError};

pub struct SesMailer {
    client: Client,
    /// Names the configuration set whose event destination reports each send's delivery.
    configuration_set: Option<String>,
    /// Recent answers of the suppression list, so that a busy mailbox costs one lookup every
    /// `SUPPRESSION_TTL` rather than one per message (the API's rate is a few per second).
    suppression: Mutex<HashMap<String, (Instant, Option<String>)>>,
}

/// How long an answer of the suppression list is trusted.
const SUPPRESSION_TTL: Duration = Duration::from_secs(300);

/// The most answers kept; past it the cache starts again (it is only a saving).
const SUPPRESSION_CACHE: usize = 10_000;

impl SesMailer {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SesMailer {
            client: Client::new(config),
            configuration_set: None,
            suppression: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_configuration_set(self, name: Option<&str>) -> Self {
        SesMailer {
            configuration_set: name.map(str::to_string),
            ..self
        }
    }
}

/// Codes SES answers for a message that will never be accepted as it is.
const PERMANENT: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
    "NotFoundException",
];

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, msg: &Outgoing) -> Result<String, SendError> {
        let raw = RawMessage::builder()
            .data(Blob::new(msg.raw.clone()))
            .build()
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let result = self
            .client
            .send_email()
            .from_email_address(&msg.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(msg.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.message_id().unwrap_or_default().to_string()),
            Err(SdkError::ServiceError(se)) => {
                let code = se.err().code().unwrap_or("Unknown").to_string();
                let text = format!("SES {code}: {}", se.err().message().unwrap_or("no message"));
                if PERMANENT.contains(&code.as_str()) {
                    Err(SendError::Permanent(text))
                } else {
                    Err(SendError::Transient(text))
                }
            }
            // Timeouts, connection failures, 5xx without a service error body.
            Err(other) => Err(SendError::Transient(format!(
                "{}",
                aws_sdk_sesv2::error::DisplayErrorContext(other)
            ))),
        }
    }

    /// SES v2 `GetSuppressedDestination`: found means SES drops mail to `to` unsent.
    async fn suppressed(&self, to: &str) -> Result<Option<String>, SendError> {
        let key = to.to_ascii_lowercase();
        if let Some((at, answer)) = self.suppression.lock().expect("not poisoned").get(&key) {
            if at.elapsed() < SUPPRESSION_TTL {
                return Ok(answer.clone());
            }
        }
        let answer = match self
            .client
            .get_suppressed_destination()
            .email_address(to)
            .send()
            .await
        {
            Ok(out) => out.suppressed_destination().map(|d| {
                let since = d
                    .last_update_time()
                    .fmt(DateTimeFormat::DateTime)
                    .unwrap_or_default();
                format!(
                    "on the SES account's suppression list ({}) since {since}",
                    d.reason().as_str()
                )
            }),
            Err(SdkError::ServiceError(se)) if se.err().is_not_found_exception() => None,
            Err(e) => {
                return Err(SendError::Transient(format!(
                    "{}",
                    aws_sdk_sesv2::error::DisplayErrorContext(e)
                )))
            }
        };
        let mut cache = self.suppression.lock().expect("not poisoned");
        if cache.len() >= SUPPRESSION_CACHE {
            cache.clear();
        }
        cache.insert(key, (Instant::now(), answer.clone()));
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::moto;

    /// moto has no suppression list, so this is a small server speaking SES v2's REST protocol
    /// for `GetSuppressedDestination`, behind the SDK's endpoint setting: the real client code
    /// runs. `gone@` is suppressed, `flaky@` fails, anyone else is not on the list.
    async fn suppression_list() -> (
        aws_config::SdkConfig,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        use axum::extract::Path;
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = asked.clone();
        let app = axum::Router::new().route(
            "/v2/email/suppression/addresses/{email}",
            axum::routing::get(move |Path(email): Path<String>| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    match email.as_str() {
                        "gone@example.org" => axum::Json(serde_json::json!({
                            "SuppressedDestination": {
                                "EmailAddress": email,
                                "Reason": "BOUNCE",
                                "LastUpdateTime": 1_764_583_200,
                            }
                        }))
                        .into_response(),
                        "flaky@example.org" => (
                            StatusCode::TOO_MANY_REQUESTS,
                            [("x-amzn-ErrorType", "TooManyRequestsException")],
                            r#"{"message":"Rate exceeded"}"#,
                        )
                            .into_response(),
                        _ => (
                            StatusCode::NOT_FOUND,
                            [("x-amzn-ErrorType", "NotFoundException")],
                            r#"{"message":"Email address is not on the suppression list"}"#,
                        )
                            .into_response(),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(format!("http://{addr}"))
            .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
                "testing", "testing", None, None, "stand-in",
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        (config, asked)
    }

    #[tokio::test]
    async fn the_suppression_list_is_asked_once_per_mailbox_and_its_answer_read() {
        let (config, asked) = suppression_list().await;
        let mailer = SesMailer::new(&config);
        let gone = mailer
            .suppressed("gone@example.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            gone,
            "on the SES account's suppression list (BOUNCE) since 2025-12-01T10:00:00Z"
        );
        assert_eq!(mailer.suppressed("fine@example.org").await.unwrap(), None);
        // Answers are kept a while: a busy mailbox is not looked up per message.
        assert!(mailer
            .suppressed("GONE@example.org")
            .await
            .unwrap()
            .is_some());
        assert_eq!(mailer.suppressed("fine@example.org").await.unwrap(), None);
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A failure to ask is an error (the pipeline sends anyway), and is not kept.
        assert!(matches!(
            mailer.suppressed("flaky@example.org").await,
            Err(SendError::Transient(_))
        ));
        assert!(mailer.suppressed("flaky@example.org").await.is_err());
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn sends_raw_bytes_through_ses_and_rejects_unverified_senders() {
        let (config, endpoint) = moto::sdk_config().await;
        let client = Client::new(&config);
        let from = format!("forwarder-{:x}@mail.example.com", rand::random::<u32>());
        client
            .create_email_identity()
            .email_identity(&from)
            .send()
            .await
            .unwrap();
        let mailer = SesMailer::new(&config);
        let raw = format!("From: \"S via mailvend\" <{from}>\r\nTo: owner@example.org\r\nSubject: t\r\n\r\nhello {from}\r\n");
        let msg = Outgoing {
            from: from.clone(),
            to: vec!["owner@example.org".into()],
            raw: raw.clone().into_bytes(),
            source_message_id: "m1".into(),
            recipient: "team@mail.example.com".into(),
        };
        let id = mailer.send(&msg).await.unwrap();
        assert!(!id.is_empty());

        // What moto "sent".
        let sent = moto::sent_raw(&endpoint).await;
        let ours = sent
            .iter()
            .find(|m| m["raw_data"].as_str().is_some_and(|r| r.contains(&from)))
            .unwrap_or_else(|| panic!("message not found in moto: {sent:?}"));
        assert_eq!(ours["raw_data"].as_str().unwrap(), raw);
        // moto lists the envelope recipients together with the raw To header's, so compare
        // the set of addresses.
        let mut destinations: Vec<&str> = ours["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d.as_str())
            .collect();
        destinations.dedup();
        assert_eq!(destinations, vec!["owner@example.org"]);

        let unverified = Outgoing {
            from: "nobody-verified-this@elsewhere.example".into(),
            ..msg
        };
        match mailer.send(&unverified).await {
            Err(SendError::Permanent(m)) => assert!(m.contains("MessageRejected"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
