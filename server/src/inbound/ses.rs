//! SES "Received" notifications (the `Message` of an SNS notification): parsed into what the
//! pipeline needs, with the content decoded to bytes or located in S3.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;

use crate::inbound::{DmarcRequest, Verdict, Verdicts};

/// A receipt verdict as SES wrote it; absent is `Unknown`.
fn verdict(v: Option<&RawVerdict>) -> Verdict {
    Verdict::from_status(v.map(|v| v.status.as_str()).unwrap_or_default())
}

/// Where the raw message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Inline(Vec<u8>),
    S3 { bucket: String, key: String },
}

/// One received message, as the pipeline sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// SES's id for the message: the key for exactly-once forwarding.
    pub message_id: String,
    /// The envelope sender (`MAIL FROM`).
    pub source: String,
    /// Every envelope recipient SES accepted for this receipt rule.
    pub recipients: Vec<String>,
    pub verdicts: Verdicts,
    pub subject: Option<String>,
    pub timestamp: String,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SesError {
    #[error("not an SES notification: {0}")]
    Malformed(String),
    /// A valid notification of another kind (bounce, complaint…): nothing to forward.
    #[error("notification type {0:?} is not a received message")]
    NotReceived(String),
    #[error("the notification has no content and no S3 location (use an SNS action with content, or an S3 action)")]
    NoContent,
    #[error("inline content is not valid base64")]
    BadBase64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNotification {
    notification_type: String,
    receipt: Option<RawReceipt>,
    mail: Option<RawMail>,
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReceipt {
    timestamp: String,
    recipients: Vec<String>,
    spam_verdict: Option<RawVerdict>,
    virus_verdict: Option<RawVerdict>,
    spf_verdict: Option<RawVerdict>,
    dkim_verdict: Option<RawVerdict>,
    dmarc_verdict: Option<RawVerdict>,
    dmarc_policy: Option<String>,
    action: RawAction,
}

#[derive(Deserialize)]
struct RawVerdict {
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAction {
    #[serde(rename = "type")]
    kind: String,
    encoding: Option<String>,
    bucket_name: Option<String>,
    object_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMail {
    message_id: String,
    source: String,
    common_headers: Option<RawCommonHeaders>,
}

#[derive(Deserialize)]
struct RawCommonHeaders {
    subject: Option<String>,
}

/// Parses the SNS `Message` text of an SES receipt notification.
pub fn parse(message: &str) -> Result<Received, SesError> {
    let raw: RawNotification =
        serde_json::from_str(message).map_err(|e| SesError::Malformed(e.to_string()))?;
    if raw.notification_type != "Received" {
        return Err(SesError::NotReceived(raw.notification_type));
    }
    let receipt = raw
        .receipt
        .ok_or_else(|| SesError::Malformed("missing field `receipt`".into()))?;
    let mail = raw
        .mail
        .ok_or_else(|| SesError::Malformed("missing field `mail`".into()))?;
    if mail.message_id.is_empty() {
        return Err(SesError::Malformed("empty `mail.messageId`".into()));
    }
    let content = match (receipt.action.kind.as_str(), raw.content) {
        ("S3", _) => match (receipt.action.bucket_name, receipt.action.object_key) {
            (Some(bucket), Some(key)) if !bucket.is_empty() && !key.is_empty() => {
                Content::S3 { bucket, key }
            }
            _ => {
                return Err(SesError::Malformed(
                    "an S3 action needs `bucketName` and `objectKey`".into(),
                ))
            }
        },
        (_, Some(text)) => match receipt.action.encoding.as_deref() {
            Some("BASE64") => {
                let compact: String = text.split_ascii_whitespace().collect();
                Content::Inline(STANDARD.decode(compact).map_err(|_| SesError::BadBase64)?)
            }
            // UTF8 (the default): SES already turned the message into text.
            _ => Content::Inline(text.into_bytes()),
        },
        (_, None) => return Err(SesError::NoContent),
    };
    Ok(Received {
        message_id: mail.message_id,
        source: mail.source,
        recipients: receipt.recipients,
        verdicts: Verdicts {
            spam: verdict(receipt.spam_verdict.as_ref()),
            virus: verdict(receipt.virus_verdict.as_ref()),
            spf: verdict(receipt.spf_verdict.as_ref()),
            dkim: verdict(receipt.dkim_verdict.as_ref()),
            dmarc: verdict(receipt.dmarc_verdict.as_ref()),
            dmarc_policy: receipt
                .dmarc_policy
                .as_deref()
                .map_or(DmarcRequest::Unknown, DmarcRequest::from_name),
        },
        subject: mail.common_headers.and_then(|h| h.subject),
        timestamp: receipt.timestamp,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ses-receipt")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn verdict_summaries_round_trip() {
        let v = Verdicts {
            spam: Verdict::Fail,
            virus: Verdict::Pass,
            spf: Verdict::Gray,
            dkim: Verdict::ProcessingFailed,
            dmarc: Verdict::Unknown,
            dmarc_policy: DmarcRequest::Unknown,
        };
        let text = v.summary();
        assert_eq!(
            text,
            "spam:FAIL virus:PASS spf:GRAY dkim:PROCESSING_FAILED dmarc:UNKNOWN"
        );
        assert_eq!(Verdicts::from_summary(&text), v);
        let failed = Verdicts {
            dmarc: Verdict::Fail,
            dmarc_policy: DmarcRequest::Reject,
            ..v
        };
        assert_eq!(
            failed.summary(),
            "spam:FAIL virus:PASS spf:GRAY dkim:PROCESSING_FAILED dmarc:FAIL dmarc_policy:reject"
        );
        assert_eq!(Verdicts::from_summary(&failed.summary()), failed);
        assert!(failed.fails_enforced_dmarc());
        assert!(!v.fails_enforced_dmarc());
        let partial = Verdicts::from_summary("virus:FAIL nonsense spam");
        assert_eq!(partial.virus, Verdict::Fail);
        assert_eq!(partial.spam, Verdict::Unknown);
    }

    #[test]
    fn the_aws_docs_sns_action_example() {
        let r = parse(&fixture("sns-action-notification.awsdocs.json")).unwrap();
        assert_eq!(r.message_id, "d6iitobk75ur44p8kdnnp7g2n800");
        assert_eq!(r.source, "61967230-7A45-4A9D-BEC9-87CBCF2211C9@example.com");
        assert_eq!(r.recipients, vec!["recipient@example.com"]);
        assert_eq!(r.subject.as_deref(), Some("Example subject"));
        assert_eq!(r.verdicts.spam, Verdict::Pass);
        assert_eq!(r.verdicts.virus, Verdict::Pass);
        assert_eq!(r.verdicts.dmarc, Verdict::Unknown, "absent in the example");
        match r.content {
            Content::Inline(bytes) => {
                assert!(bytes.starts_with(b"Return-Path: <61967230"));
                assert!(bytes.ends_with(b"\r\n\r\nExample content\r\n"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_aws_docs_s3_example_is_invalid_json_and_refused_cleanly() {
        let err = parse(&fixture("s3-action-alert-notification.awsdocs.json")).unwrap_err();
        assert!(matches!(err, SesError::Malformed(_)), "{err:?}");
        // With its bad escape mended, it is an S3 location.
        let fixed = fixture("s3-action-alert-notification.awsdocs.json")
            .replace("\"\\email\"", "\"email\"");
        let r = parse(&fixed).unwrap();
        assert_eq!(
            r.content,
            Content::S3 {
                bucket: "my-S3-bucket".into(),
                key: "email".into()
            }
        );
    }

    #[test]
    fn base64_content_keeps_every_byte() {
        let raw: &[u8] =
            b"From: a@example.org\r\nSubject: x\r\n\r\n\x93quoted\x94 \xff\x00 end\r\n";
        let mut n: serde_json::Value =
            serde_json::from_str(&fixture("sns-action-notification.awsdocs.json")).unwrap();
        n["receipt"]["action"]["encoding"] = "BASE64".into();
        n["content"] = STANDARD.encode(raw).into();
        let r = parse(&n.to_string()).unwrap();
        assert_eq!(r.content, Content::Inline(raw.to_vec()));
        n["content"] = "not base64!".into();
        assert_eq!(parse(&n.to_string()).unwrap_err(), SesError::BadBase64);
    }

    #[test]
    fn verdicts_recipients_and_other_kinds() {
        let mut n: serde_json::Value =
            serde_json::from_str(&fixture("sns-action-notification.awsdocs.json")).unwrap();
        n["receipt"]["virusVerdict"]["status"] = "FAIL".into();
        n["receipt"]["spamVerdict"]["status"] = "GRAY".into();
        n["receipt"]["recipients"] =
            serde_json::json!(["a@x.example", "b@x.example", "c@y.example"]);
        let r = parse(&n.to_string()).unwrap();
        assert_eq!(r.verdicts.virus, Verdict::Fail);
        assert_eq!(r.verdicts.spam, Verdict::Gray);
        assert_eq!(r.recipients.len(), 3, "every recipient, not only the first");
        assert_eq!(r.verdicts.dmarc_policy, DmarcRequest::Unknown);
        n["receipt"]["dmarcVerdict"]["status"] = "FAIL".into();
        n["receipt"]["dmarcPolicy"] = "quarantine".into();
        let r = parse(&n.to_string()).unwrap();
        assert_eq!(r.verdicts.dmarc, Verdict::Fail);
        assert_eq!(r.verdicts.dmarc_policy, DmarcRequest::Quarantine);

        n["notificationType"] = "Bounce".into();
        assert_eq!(
            parse(&n.to_string()).unwrap_err(),
            SesError::NotReceived("Bounce".into())
        );
        n["notificationType"] = "Received".into();
        n.as_object_mut().unwrap().remove("content");
        assert_eq!(parse(&n.to_string()).unwrap_err(), SesError::NoContent);
        n.as_object_mut().unwrap().remove("mail");
        assert!(matches!(
            parse(&n.to_string()).unwrap_err(),
            SesError::Malformed(_)
        ));
        assert!(matches!(parse("[]").unwrap_err(), SesError::Malformed(_)));
    }
}
