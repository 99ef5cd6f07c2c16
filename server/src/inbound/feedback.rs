//! SES delivery feedback (the `Message` of an SNS notification from the configuration set's
//! event destination, or from an identity's older bounce/complaint/delivery notifications):
//! parsed into the delivery status it gives the records its send carried.
//!
//! | SES says | state | detail |
//! |---|---|---|
//! | `Send` | sent | nothing new: the record is `sent` from the moment the send returns |
//! | `DeliveryDelay` | delayed | delay type, expiry, each recipient's diagnostic |
//! | `Delivery` | delivered | the receiving server's SMTP answer |
//! | `Bounce` (`Permanent`, `Transient`, `Undetermined`) | bounced | type, subtype, each recipient's status and diagnostic |
//! | `Reject` | bounced | "SES refused to send it" and SES's reason |
//! | `Complaint` | complained | the feedback type, when the recipient's provider gives one |
//! | `Open`, `Click`, `Rendering Failure`, `Subscription`, … | — | ignored |
//!
//! The legacy notifications (`notificationType` `Bounce`, `Complaint`, `Delivery`) carry the
//! same objects and map the same way. The store applies a status only when it is later in
//! `DeliveryState`'s order than the record's, so duplicates and late arrivals change nothing.

use app::model::{DeliveryState, DeliveryStatus};
use serde::Deserialize;

/// One delivery event, about every record the send `mailer_message_id` carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// The id the mailer returned for the send (SES: `mail.messageId`).
    pub mailer_message_id: String,
    /// The event as SES names it (`Bounce`, `Delivery`…), for logs and metrics.
    pub event: String,
    /// The recipients the event is about (for a bounce, those that bounced).
    pub recipients: Vec<String>,
    /// What it makes of the records; `None` for events that say nothing about delivery.
    pub status: Option<DeliveryStatus>,
    /// For a bounce: whether it was permanent (the mailbox will not take mail), which is what
    /// marks an owner unreachable; false for transient, undetermined and rejected sends.
    pub permanent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("SES delivery feedback without {0}")]
    Missing(&'static str),
    #[error("SES delivery feedback is malformed: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    event_type: Option<String>,
    notification_type: Option<String>,
    mail: Option<RawMail>,
    bounce: Option<RawBounce>,
    complaint: Option<RawComplaint>,
    delivery: Option<RawDelivery>,
    delivery_delay: Option<RawDelay>,
    reject: Option<RawReject>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMail {
    message_id: Option<String>,
    timestamp: Option<String>,
    #[serde(default)]
    destination: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecipient {
    email_address: String,
    status: Option<String>,
    diagnostic_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBounce {
    bounce_type: Option<String>,
    bounce_sub_type: Option<String>,
    #[serde(default)]
    bounced_recipients: Vec<RawRecipient>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawComplaint {
    #[serde(default)]
    complained_recipients: Vec<RawRecipient>,
    complaint_feedback_type: Option<String>,
    complaint_sub_type: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDelivery {
    #[serde(default)]
    recipients: Vec<String>,
    smtp_response: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDelay {
    delay_type: Option<String>,
    expiration_time: Option<String>,
    #[serde(default)]
    delayed_recipients: Vec<RawRecipient>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct RawReject {
    reason: Option<String>,
}

/// The notification types of the older per-identity notifications that are feedback.
const LEGACY: &[&str] = &["Bounce", "Complaint", "Delivery"];

/// Whether an SNS `Message` is SES delivery feedback (rather than received mail): a JSON
/// object with an `eventType`, or a `notificationType` of the legacy feedback kinds.
pub fn is_feedback(message: &str) -> bool {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Kind {
        event_type: Option<serde_json::Value>,
        notification_type: Option<String>,
    }
    serde_json::from_str::<Kind>(message).is_ok_and(|k| {
        k.event_type.is_some()
            || k.notification_type
                .is_some_and(|t| LEGACY.contains(&t.as_str()))
    })
}

/// Parses the SNS `Message` text of SES delivery feedback (see `is_feedback`).
pub fn parse(message: &str) -> Result<Feedback, FeedbackError> {
    let raw: Raw =
        serde_json::from_str(message).map_err(|e| FeedbackError::Malformed(e.to_string()))?;
    let event = raw
        .event_type
        .clone()
        .or(raw.notification_type.clone())
        .ok_or(FeedbackError::Missing("eventType or notificationType"))?;
    let mail = raw.mail.as_ref().ok_or(FeedbackError::Missing("mail"))?;
    let mailer_message_id = mail
        .message_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .ok_or(FeedbackError::Missing("mail.messageId"))?;
    // The event's own time, else the send's: SES stamps both.
    let at = |own: &Option<String>| {
        own.clone()
            .or_else(|| mail.timestamp.clone())
            .unwrap_or_default()
    };
    let status = |state, detail: String, at: String| {
        Some(DeliveryStatus {
            state,
            detail: bounded(detail.trim()),
            at,
        })
    };
    let feedback = |recipients: Vec<String>, status: Option<DeliveryStatus>, permanent| Feedback {
        mailer_message_id: mailer_message_id.clone(),
        event: event.clone(),
        recipients,
        status,
        permanent,
    };
    Ok(match event.as_str() {
        "Bounce" => {
            let b = raw
                .bounce
                .as_ref()
                .ok_or(FeedbackError::Missing("bounce"))?;
            let kind = b.bounce_type.as_deref().unwrap_or("Undetermined");
            let sub = b.bounce_sub_type.as_deref().unwrap_or("General");
            let detail = format!(
                "{} bounce ({sub}){}",
                kind.to_lowercase(),
                diagnostics(&b.bounced_recipients)
            );
            feedback(
                emails(&b.bounced_recipients),
                status(DeliveryState::Bounced, detail, at(&b.timestamp)),
                kind == "Permanent" && mailbox_gone(sub, &b.bounced_recipients),
            )
        }
        "Complaint" => {
            let c = raw
                .complaint
                .as_ref()
                .ok_or(FeedbackError::Missing("complaint"))?;
            let kind = c
                .complaint_feedback_type
                .as_deref()
                .or(c.complaint_sub_type.as_deref())
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            feedback(
                emails(&c.complained_recipients),
                status(
                    DeliveryState::Complained,
                    format!("marked as spam by the recipient{kind}"),
                    at(&c.timestamp),
                ),
                false,
            )
        }
        "Delivery" => {
            let d = raw
                .delivery
                .as_ref()
                .ok_or(FeedbackError::Missing("delivery"))?;
            let answer = d.smtp_response.as_deref().unwrap_or("accepted");
            feedback(
                d.recipients.clone(),
                status(
                    DeliveryState::Delivered,
                    format!("delivered: {answer}"),
                    at(&d.timestamp),
                ),
                false,
            )
        }
        "DeliveryDelay" => {
            let d = raw
                .delivery_delay
                .as_ref()
                .ok_or(FeedbackError::Missing("deliveryDelay"))?;
            let until = d
                .expiration_time
                .as_deref()
                .map(|t| format!("; retried until {t}"))
                .unwrap_or_default();
            let detail = format!(
                "delayed ({}){until}{}",
                d.delay_type.as_deref().unwrap_or("Undetermined"),
                diagnostics(&d.delayed_recipients)
            );
            feedback(
                emails(&d.delayed_recipients),
                status(DeliveryState::Delayed, detail, at(&d.timestamp)),
                false,
            )
        }
        "Reject" => {
            let reason = raw
                .reject
                .as_ref()
                .and_then(|r| r.reason.as_deref())
                .unwrap_or("no reason given");
            feedback(
                mail.destination.clone(),
                status(
                    DeliveryState::Bounced,
                    format!("SES refused to send it: {reason}"),
                    at(&None),
                ),
                false,
            )
        }
        // `Send` says what the record already says; the rest (opens, clicks, rendering
        // failures of templates we do not use) say nothing about delivery.
        _ => feedback(mail.destination.clone(), None, false),
    })
}

/// Diagnostics are the receiving servers' words: kept to `MAX_DETAIL` characters.
pub const MAX_DETAIL: usize = 1000;

fn bounded(detail: &str) -> String {
    match detail.char_indices().nth(MAX_DETAIL) {
        Some((cut, _)) => format!("{}…", &detail[..cut]),
        None => detail.to_string(),
    }
}

/// Whether a permanent bounce says the mailbox itself is gone (no such user, suppressed),
/// rather than that this one message was refused: only that marks a recipient unreachable.
/// Anyone can send mail a receiving server refuses for its content, and that must not take
/// an owner off their own mail.
fn mailbox_gone(sub: &str, recipients: &[RawRecipient]) -> bool {
    match sub {
        "NoEmail" | "Suppressed" | "OnAccountSuppressionList" => true,
        // General: only an enhanced status saying the address is bad (RFC 3463 X.1.x).
        _ => recipients.iter().any(|r| {
            r.status.as_deref().is_some_and(|s| s.starts_with("5.1."))
                || r.diagnostic_code
                    .as_deref()
                    .is_some_and(|d| d.contains(" 5.1."))
        }),
    }
}

fn emails(recipients: &[RawRecipient]) -> Vec<String> {
    recipients.iter().map(|r| r.email_address.clone()).collect()
}

/// `: a@x.example 5.1.1 smtp; 550 …; b@…` for the recipients that have a status or diagnostic.
fn diagnostics(recipients: &[RawRecipient]) -> String {
    let parts: Vec<String> = recipients
        .iter()
        .map(|r| {
            let said = [r.status.as_deref(), r.diagnostic_code.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            if said.is_empty() {
                r.email_address.clone()
            } else {
                format!("{} {said}", r.email_address)
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests;
