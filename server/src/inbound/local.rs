//! `mailvend deliver`: a raw message from a file, shaped like one SES received.

use sha2::{Digest, Sha256};

use crate::inbound::rewrite::{address_of, header};
use crate::inbound::Inbound;
use crate::inbound::{DmarcRequest, Verdict, Verdicts};

/// The message as the pipeline takes it. Its id comes from its bytes (`local-<sha256…>`), so
/// delivering the same file again is a duplicate, just as an SNS retry would be. Nothing
/// scanned it, so every verdict is unknown: the admin who delivers it by hand vouches for it
/// (`Pipeline::process_by_hand` releases what an unscanned SES message would be held for).
pub fn inbound(raw: &[u8], recipients: Vec<String>, sender: Option<String>) -> Inbound {
    let digest = Sha256::digest(raw);
    let id: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let text = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();
    let sender = sender
        .or_else(|| {
            ["return-path", "from"].iter().find_map(|name| {
                let a = text(address_of(&header(raw, name)?));
                (!a.is_empty()).then_some(a)
            })
        })
        .unwrap_or_else(|| "unknown".into());
    Inbound {
        ses_message_id: format!("local-{id}"),
        sender,
        recipients,
        verdicts: Verdicts {
            spam: Verdict::Unknown,
            virus: Verdict::Unknown,
            spf: Verdict::Unknown,
            dkim: Verdict::Unknown,
            dmarc: Verdict::Unknown,
            dmarc_policy: DmarcRequest::Unknown,
        },
        subject: header(raw, "subject").map(text),
        received_at: crate::clock::now_rfc3339(),
        raw: raw.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_subject_and_a_stable_id_come_from_the_message() {
        let raw = b"Return-Path: <bounce@lists.example>\r\nFrom: \"A\" <a@example.org>\r\nSubject: Hello\r\n  folded\r\n\r\nbody\r\n";
        let m = inbound(raw, vec!["x@mail.example.com".into()], None);
        assert_eq!(m.sender, "bounce@lists.example");
        assert_eq!(m.subject.as_deref(), Some("Hello  folded"));
        assert!(m.ses_message_id.starts_with("local-") && m.ses_message_id.len() == 38);
        assert_eq!(inbound(raw, vec![], None).ses_message_id, m.ses_message_id);
        assert_ne!(
            inbound(b"other\r\n\r\n", vec![], None).ses_message_id,
            m.ses_message_id
        );

        let from_only = inbound(b"From: b@example.org\r\n\r\nx", vec![], None);
        assert_eq!(from_only.sender, "b@example.org");
        assert_eq!(from_only.subject, None);
        let given = inbound(raw, vec![], Some("env@example.net".into()));
        assert_eq!(given.sender, "env@example.net");
        assert_eq!(inbound(b"\r\nno headers", vec![], None).sender, "unknown");
    }
}
