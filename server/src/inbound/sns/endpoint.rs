//! What `POST /sns` does with a body (docs/product.md §2.1–2.4): the signature is checked before
//! anything in the message is believed, then the topic allow-list, then the message type.
//! Received mail goes to the pipeline; the status code tells SNS whether to deliver again
//! (5xx) or not (2xx, 4xx).

use std::sync::Arc;
use std::time::SystemTime;

use axum::http::StatusCode;
use serde_json::json;

use crate::inbound::budget::Budget;
use crate::inbound::feedback;
use crate::inbound::pipeline::Pipeline;
use crate::inbound::s3::FetchError;
use crate::inbound::ses::{self, Content, SesError};
use crate::inbound::sns::certs::CertStore;
use crate::inbound::sns::https::{Confirmer, SnsHttps};
use crate::inbound::sns::{self, is_sns_url, Envelope, SnsError};
use crate::inbound::{Delivery, Inbound, Report};
use crate::store::S3Object;

pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Everything `/sns` needs besides the pipeline.
pub struct SnsEndpoint {
    pub topics: Vec<String>,
    pub certs: CertStore,
    pub confirmer: Arc<dyn Confirmer>,
    /// Certificates are checked for validity at this time (tests replay old AWS messages).
    pub clock: Clock,
    /// Older signed notifications are replays (`MAILVEND_SNS_MAX_AGE`).
    pub max_age: std::time::Duration,
    /// 2 refuses SignatureVersion 1 (`MAILVEND_SNS_MIN_SIGNATURE_VERSION`).
    pub min_signature_version: u8,
    /// The only bucket and prefix S3-action content is read from; `None` reads any.
    pub s3_scope: Option<crate::config::S3Scope>,
    /// Bytes of mail in memory at once (`MAILVEND_INBOUND_BUDGET_MB`); spent, `/sns` says 503.
    pub budget: Arc<Budget>,
}

impl SnsEndpoint {
    pub fn new(
        topics: Vec<String>,
        certs: CertStore,
        confirmer: Arc<dyn Confirmer>,
        clock: Clock,
    ) -> Self {
        SnsEndpoint {
            topics,
            certs,
            confirmer,
            clock,
            max_age: crate::config::DEFAULT_SNS_MAX_AGE,
            min_signature_version: 1,
            s3_scope: None,
            budget: Budget::new(crate::config::DEFAULT_INBOUND_BUDGET_MB * 1024 * 1024),
        }
    }

    /// The production wiring: pinned certificates first, then HTTPS.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let https = Arc::new(SnsHttps::new());
        SnsEndpoint {
            max_age: config.sns_max_age,
            min_signature_version: config.sns_min_signature_version,
            s3_scope: config.s3_scope.clone(),
            budget: Budget::new(config.inbound_budget_mb * 1024 * 1024),
            ..SnsEndpoint::new(
                config.sns_topic_arns.clone(),
                CertStore::new(config.sns_cert_dir.clone(), Some(https.clone())),
                https,
                Arc::new(SystemTime::now),
            )
        }
    }
}

/// What `/sns` answers, and the metric label for it.
pub struct Answer {
    pub status: StatusCode,
    pub result: &'static str,
    pub body: AnswerBody,
}

pub enum AnswerBody {
    Done(serde_json::Value),
    /// Why the message was refused (or must be sent again): an error code and a message.
    Refused {
        code: &'static str,
        message: String,
    },
}

fn refuse(status: StatusCode, result: &'static str, code: &'static str, message: String) -> Answer {
    tracing::warn!(%status, result, %message, "SNS message refused");
    Answer {
        status,
        result,
        body: AnswerBody::Refused { code, message },
    }
}

fn handled(result: &'static str, body: serde_json::Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        result,
        body: AnswerBody::Done(body),
    }
}

impl SnsEndpoint {
    /// What to answer SNS for `body`, having done what it asks.
    pub async fn answer(&self, pipeline: &Pipeline, body: &[u8]) -> Answer {
        answer(self, pipeline, body).await
    }
}

async fn answer(sns: &SnsEndpoint, pipeline: &Pipeline, body: &[u8]) -> Answer {
    let env = match verified(sns, body).await {
        Ok(env) => env,
        Err(answer) => return answer,
    };
    if !sns.topics.contains(&env.topic_arn) {
        return refuse(
            StatusCode::FORBIDDEN,
            "refused_topic",
            "topic_not_allowed",
            format!("topic {} is not in MAILVEND_SNS_TOPIC_ARNS", env.topic_arn),
        );
    }
    match env.kind.as_str() {
        "SubscriptionConfirmation" => confirm(sns, &env).await,
        "UnsubscribeConfirmation" => {
            // Resubscribing is an operator's decision, not something a message triggers.
            tracing::warn!(topic = %env.topic_arn, "SNS says this endpoint was unsubscribed");
            handled("ignored", json!({"status": "ignored"}))
        }
        _ => notification(sns, pipeline, &env).await,
    }
}

/// The envelope, once its signature checks out.
async fn verified(sns: &SnsEndpoint, body: &[u8]) -> Result<Envelope, Answer> {
    let bad =
        |status, result, e: SnsError| refuse(status, result, "bad_sns_message", e.to_string());
    let env = sns::parse(body).map_err(|e| bad(StatusCode::BAD_REQUEST, "malformed", e))?;
    if env.signature_version == "1" && sns.min_signature_version >= 2 {
        // SHA-1 is refused before any certificate is fetched.
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "refused_signature",
            "bad_sns_message",
            "SignatureVersion 1 (SHA1withRSA) is refused: MAILVEND_SNS_MIN_SIGNATURE_VERSION is 2"
                .into(),
        ));
    }
    // The canonical string names what is missing before any certificate is fetched.
    let canonical =
        sns::canonical_string(&env).map_err(|e| bad(StatusCode::BAD_REQUEST, "malformed", e))?;
    let pem = sns
        .certs
        .get(&env.signing_cert_url)
        .await
        .map_err(|e| match e {
            SnsError::CertFetch(_) => bad(StatusCode::SERVICE_UNAVAILABLE, "retry", e),
            e => bad(StatusCode::FORBIDDEN, "refused_signature", e),
        })?;
    let now = (sns.clock)();
    sns::verify_canonical(&env, &canonical, &pem, now).map_err(|e| match e {
        SnsError::MissingField(..) | SnsError::UnknownType(_) | SnsError::Malformed(_) => {
            bad(StatusCode::BAD_REQUEST, "malformed", e)
        }
        e => bad(StatusCode::FORBIDDEN, "refused_signature", e),
    })?;
    // Only a verified Timestamp is worth reading: it is signed.
    sns::check_age(&env.timestamp, now, sns.max_age).map_err(|e| match e {
        SnsError::Malformed(_) => bad(StatusCode::BAD_REQUEST, "malformed", e),
        e => refuse(
            StatusCode::FORBIDDEN,
            "refused_replay",
            "stale_sns_message",
            e.to_string(),
        ),
    })?;
    Ok(env)
}

async fn confirm(sns: &SnsEndpoint, env: &Envelope) -> Answer {
    let url = env.subscribe_url.as_deref().unwrap_or_default();
    if !is_sns_url(url) {
        return refuse(
            StatusCode::FORBIDDEN,
            "refused_signature",
            "bad_subscribe_url",
            format!("SubscribeURL is not an https:// URL of sns.<region>.amazonaws.com: {url:?}"),
        );
    }
    match sns.confirmer.confirm(url).await {
        Ok(()) => {
            tracing::info!(topic = %env.topic_arn, "SNS subscription confirmed");
            handled("subscription_confirmed", json!({"status": "confirmed"}))
        }
        Err(e) => refuse(
            StatusCode::BAD_GATEWAY,
            "retry",
            "confirmation_failed",
            format!("confirming the subscription failed: {e}"),
        ),
    }
}

/// SES delivery feedback (an event of the configuration set's SNS destination, or an older
/// bounce/complaint/delivery notification): applied to the records its send carried. SNS is
/// asked for it again only when the store could not be reached.
async fn feedback(pipeline: &Pipeline, message: &str) -> Answer {
    let event = match feedback::parse(message) {
        Ok(f) => f,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "malformed",
                "bad_ses_event",
                e.to_string(),
            )
        }
    };
    match pipeline.feedback(&event).await {
        Ok(result) => handled(
            "delivery_event",
            json!({"status": result, "event": event.event, "mailer_message_id": event.mailer_message_id}),
        ),
        Err(e) => {
            // The store's own words go to the log, not into a response.
            tracing::error!(error = %e, mailer_id = %event.mailer_message_id, "a delivery event could not be recorded");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "retry",
                "unavailable",
                "the delivery event could not be recorded; SNS will deliver it again".into(),
            )
        }
    }
}

async fn notification(sns: &SnsEndpoint, pipeline: &Pipeline, env: &Envelope) -> Answer {
    if feedback::is_feedback(&env.message) {
        return feedback(pipeline, &env.message).await;
    }
    let received = match ses::parse(&env.message) {
        Ok(r) => r,
        Err(SesError::NotReceived(kind)) => {
            tracing::info!(%kind, "SES notification that is not received mail; ignored");
            return handled("ignored", json!({"status": "ignored", "type": kind}));
        }
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "malformed",
                "bad_ses_notification",
                e.to_string(),
            )
        }
    };
    let busy = |message: String| {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "retry",
            "busy",
            format!("{message}; SNS will deliver it again"),
        )
    };
    // The content is filled in once it is in hand (S3: by the pipeline, after the claims).
    let mut msg = Inbound {
        ses_message_id: received.message_id,
        sender: received.source,
        recipients: received.recipients,
        verdicts: received.verdicts,
        subject: received.subject,
        received_at: received.timestamp,
        raw: Vec::new(),
    };
    let reports = match received.content {
        Content::Inline(bytes) => {
            // The reservation is held until every recipient is settled.
            let Some(_held) = sns.budget.try_reserve(bytes.len() as u64) else {
                return busy(format!(
                    "{} bytes wait: MAILVEND_INBOUND_BUDGET_MB is spent by mail in flight",
                    bytes.len()
                ));
            };
            msg.raw = bytes;
            pipeline.process(&msg).await
        }
        Content::S3 { bucket, key }
            if sns
                .s3_scope
                .as_ref()
                .is_some_and(|s| !s.allows(&bucket, &key)) =>
        {
            // A signed notification naming another bucket would make us read (and forward)
            // whatever our credentials reach there: a confused deputy. Logged, never read.
            let scope = sns.s3_scope.as_ref().expect("checked above");
            let reason = format!(
                "the content s3://{bucket}/{key} is outside MAILVEND_S3_BUCKET and MAILVEND_S3_PREFIX (s3://{}/{}); not read",
                scope.bucket, scope.prefix
            );
            pipeline.refuse(&msg, &reason).await
        }
        Content::S3 { bucket, key } => {
            let object = S3Object { bucket, key };
            match pipeline.process_stored(&msg, &object, &sns.budget).await {
                Ok(reports) => reports,
                Err(e @ FetchError::Busy { .. }) => return busy(e.to_string()),
                Err(e) => {
                    return refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "retry",
                        "content_unavailable",
                        e.to_string(),
                    )
                }
            }
        }
    };
    reported(reports)
}

fn reported(reports: Vec<Report>) -> Answer {
    let retry = reports.iter().any(|r| r.outcome == Delivery::Retry);
    let body = json!({ "recipients": reports });
    if retry {
        tracing::warn!("some recipients are not finished; asking SNS to deliver again");
        Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            result: "retry",
            body: AnswerBody::Done(body),
        }
    } else {
        handled("notification", body)
    }
}
