//! SNS notifications signed as Amazon signs them, with a key and certificate made here (pinned
//! in the server's `MAILVEND_SNS_CERT_DIR`), and the SES "Received" messages they carry.
//! Shared by the integration tests and the load generator (`examples/loadgen.rs`).
#![allow(dead_code)]

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:mailvend-load";
pub const CERT_NAME: &str = "SimpleNotificationService-mailvendload.pem";

/// Writes a signing key and its certificate into `dir`, for `MAILVEND_SNS_CERT_DIR`.
pub fn make_cert(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    // The server believes only a certificate named for SNS and issued by "Amazon": a
    // throwaway CA of that name issues this one.
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::OrganizationName, "Amazon");
    let issuer = rcgen::Issuer::new(ca, rcgen::KeyPair::generate().unwrap());
    let cert = rcgen::CertificateParams::new(vec!["sns.amazonaws.com".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(dir.join(CERT_NAME), cert.pem()).unwrap();
    std::fs::write(dir.join("signing-key.der"), key.serialize_der()).unwrap();
}

/// Signs notifications as SNS does (SignatureVersion 2).
pub struct Signer(RsaKeyPair);

impl Signer {
    pub fn load(dir: &Path) -> Signer {
        let der = std::fs::read(dir.join("signing-key.der"))
            .unwrap_or_else(|e| panic!("{}: {e} (make the certificate first)", dir.display()));
        Signer(RsaKeyPair::from_pkcs8(&der).unwrap())
    }

    /// A notification carrying `message`, with a fresh SNS message id.
    pub fn notification(&self, message: &str, n: usize) -> String {
        let mut fields = json!({
            "Type": "Notification",
            "MessageId": format!("load-{n}-{:x}", rand::random::<u64>()),
            "TopicArn": TOPIC,
            "Subject": "Amazon SES Email Receipt Notification",
            "Message": message,
            // Now, as SNS stamps it: the server refuses old notifications as replays.
            "Timestamp": server::clock::now_rfc3339(),
            "SignatureVersion": "2",
            "SigningCertURL": format!("https://sns.us-east-1.amazonaws.com/{CERT_NAME}"),
            "Signature": "placeholder",
        });
        let env = server::inbound::sns::parse(fields.to_string().as_bytes()).unwrap();
        let canonical = server::inbound::sns::canonical_string(&env).unwrap();
        let mut sig = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                canonical.as_bytes(),
                &mut sig,
            )
            .unwrap();
        fields["Signature"] = json!(STANDARD.encode(sig));
        fields.to_string()
    }
}

/// A plain-text message of exactly `size` bytes (given room for its headers).
pub fn raw_message(id: &str, recipient: &str, size: usize) -> Vec<u8> {
    let head = format!(
        "Return-Path: <bounce@sender.example>\r\nDKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=s1;\r\n\th=from:to:subject; b=AbCdEf0123456789\r\nFrom: \"Jane Sender\" <jane@sender.example>\r\nTo: {recipient}\r\nSubject: Load {id}\r\nMessage-ID: <{id}@sender.example>\r\nDate: Wed, 2 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    );
    let line = "Quarterly numbers, a line of an ordinary text message, caf\u{e9} cr\u{e8}me.\r\n";
    let head_len = head.len();
    let mut raw = head.into_bytes();
    while raw.len() < size {
        raw.extend_from_slice(line.as_bytes());
    }
    raw.truncate(size.max(head_len));
    raw
}

/// Where the content is: in the notification, or where the S3 action stored it.
pub enum Content<'a> {
    Inline(&'a [u8]),
    S3 { bucket: &'a str, key: &'a str },
}

/// The SES "Received" notification of message `id` for `recipients`, all verdicts passing.
pub fn ses_notification(id: &str, recipients: &[&str], content: Content) -> String {
    ses_notification_from(
        id,
        "bounce@sender.example",
        &format!("Load {id}"),
        recipients,
        content,
    )
}

/// As `ses_notification`, from envelope sender `source` with `subject`.
pub fn ses_notification_from(
    id: &str,
    source: &str,
    subject: &str,
    recipients: &[&str],
    content: Content,
) -> String {
    let mut message = json!({
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-12-02T09:00:00.000Z",
            "source": source,
            "messageId": id,
            "destination": recipients,
            "commonHeaders": {"subject": subject}
        },
        "receipt": {
            "timestamp": "2026-12-02T09:00:00.000Z",
            "recipients": recipients,
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {"type": "SNS", "topicArn": TOPIC, "encoding": "BASE64"}
        },
    });
    match content {
        Content::Inline(raw) => message["content"] = json!(STANDARD.encode(raw)),
        Content::S3 { bucket, key } => {
            message["receipt"]["action"] = json!({
                "type": "S3", "topicArn": TOPIC, "bucketName": bucket, "objectKey": key
            })
        }
    }
    message.to_string()
}
