//! What an owner sees of their own addresses and mail (issue 20 item 7): narrow views made
//! from the admin's records, and since when an address has been theirs.

use app::model::{AuditEntry, Mapping, MessageRecord, Outcome, OwnedAddress, OwnedMessage};

pub fn owned_address(m: Mapping) -> OwnedAddress {
    OwnedAddress {
        address: m.address,
        account_name: m.account_name,
        account_type: m.account_type,
        status: m.status,
        aws_account_id: m.aws_account_id,
    }
}

/// A record as the owner may see it. Mail forwarded elsewhere (to the admin address by
/// catch-all while the address was suspended) is not "forwarded" as far as they know.
pub fn owned_message(r: MessageRecord, owner: &str) -> OwnedMessage {
    let outcome = match (r.outcome, r.delivered_to.as_deref()) {
        (Outcome::Forwarded, Some(to)) if !to.eq_ignore_ascii_case(owner) => Outcome::Undeliverable,
        (o, _) => o,
    };
    OwnedMessage {
        received_at: r.received_at,
        recipient: r.recipient,
        sender: r.sender,
        subject: r.subject,
        outcome,
    }
}

/// Whether `r` is the copy `member` would call theirs: the one sent to them as one of the
/// mapping's other recipients, or, for its owner, the address's own record. (Every copy is
/// logged under the address; the others are someone else's.)
pub fn is_their_copy(r: &MessageRecord, member: &str, owner: &str) -> bool {
    match MessageRecord::destination_of(&r.id) {
        Some(d) => d.eq_ignore_ascii_case(member),
        None => owner.eq_ignore_ascii_case(member),
    }
}

/// When `member` last started getting the address's mail, as its owner or as one of its
/// other recipients: the latest change that listed them where the one before did not (or
/// the vend), else `created_at`. Mail from before is someone else's.
pub fn member_since(trail: &[AuditEntry], member: &str, created_at: &str) -> String {
    let member = member.to_ascii_lowercase();
    let listed = |json: &Option<String>| -> bool {
        let Some(v) = json
            .as_deref()
            .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        else {
            return false;
        };
        let is =
            |x: &serde_json::Value| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&member));
        v.get("owner").is_some_and(is)
            || v.get("recipients")
                .and_then(|r| r.as_array())
                .is_some_and(|r| r.iter().any(is))
    };
    trail
        .iter()
        .filter(|e| listed(&e.after) && !listed(&e.before))
        .map(|e| e.at.clone())
        .max()
        .unwrap_or_else(|| created_at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: &str, before: Option<&str>, after: Option<&str>) -> AuditEntry {
        let json = |o: Option<&str>| o.map(|o| format!(r#"{{"owner":"{o}","notes":"x"}}"#));
        AuditEntry {
            at: at.into(),
            actor: "user:admin@corp.example".into(),
            action: "update".into(),
            subject: "a@mail.example".into(),
            before: json(before),
            after: json(after),
        }
    }

    #[test]
    fn mail_from_before_the_address_was_theirs_is_not_theirs() {
        let created = "2026-01-01T00:00:00.000Z";
        for (why, trail, owner, want) in [
            (
                "never changed: since the vend",
                vec![],
                "b@x.example",
                created,
            ),
            (
                "handed over: since the change",
                vec![
                    entry(created, None, Some("a@x.example")),
                    entry(
                        "2026-03-01T00:00:00.000Z",
                        Some("a@x.example"),
                        Some("b@x.example"),
                    ),
                    entry(
                        "2026-04-01T00:00:00.000Z",
                        Some("b@x.example"),
                        Some("b@x.example"),
                    ),
                ],
                "B@x.example",
                "2026-03-01T00:00:00.000Z",
            ),
            (
                "handed away and back: since it came back",
                vec![
                    entry(created, None, Some("b@x.example")),
                    entry(
                        "2026-03-01T00:00:00.000Z",
                        Some("b@x.example"),
                        Some("a@x.example"),
                    ),
                    entry(
                        "2026-05-01T00:00:00.000Z",
                        Some("a@x.example"),
                        Some("b@x.example"),
                    ),
                ],
                "b@x.example",
                "2026-05-01T00:00:00.000Z",
            ),
        ] {
            assert_eq!(member_since(&trail, owner, created), want, "{why}");
        }
    }

    #[test]
    fn owners_never_see_the_admins_side_of_a_record() {
        let record = MessageRecord {
            id: "m/a@mail.example".into(),
            ses_message_id: "m".into(),
            recipient: "a@mail.example".into(),
            sender: "no-reply@aws.example".into(),
            subject: Some("Reset".into()),
            size: 1,
            verdicts: "spam:PASS".into(),
            outcome: Outcome::Forwarded,
            delivered_to: Some("admin@corp.example".into()),
            detail: "catch-all: suspended".into(),
            mailer_message_id: Some("ses-1".into()),
            error: Some("SES said: 554 Message rejected: Email address is not verified".into()),
            attempts: 1,
            received_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            delivery: None,
            class: None,
            policy: None,
        };
        let seen = owned_message(record.clone(), "owner@corp.example");
        assert_eq!(
            seen.outcome,
            Outcome::Undeliverable,
            "forwarded to the admin, not to them"
        );
        let json = serde_json::to_string(&seen).unwrap();
        for secret in ["admin@corp.example", "SES said", "catch-all", "ses-1"] {
            assert!(!json.contains(secret), "{secret} in {json}");
        }
        let to_them = MessageRecord {
            delivered_to: Some("Owner@corp.example".into()),
            ..record
        };
        assert_eq!(
            owned_message(to_them, "owner@corp.example").outcome,
            Outcome::Forwarded
        );
    }

    #[test]
    fn a_recipient_is_a_member_from_when_the_list_named_them() {
        let json = |recipients: &[&str]| {
            Some(serde_json::json!({"owner": "o@x.org", "recipients": recipients}).to_string())
        };
        let entry = |at: &str, before: Option<String>, after: Option<String>| AuditEntry {
            at: at.into(),
            actor: "a".into(),
            action: "update".into(),
            subject: "s".into(),
            before,
            after,
        };
        let trail = vec![
            entry("t1", None, json(&[])),
            entry("t2", json(&[]), json(&["B@x.org"])),
            entry("t3", json(&["b@x.org"]), json(&["b@x.org", "c@x.org"])),
        ];
        assert_eq!(member_since(&trail, "b@x.org", "t0"), "t2");
        assert_eq!(member_since(&trail, "c@x.org", "t0"), "t3");
        assert_eq!(member_since(&trail, "o@x.org", "t0"), "t1");
        let r = |id: &str| MessageRecord {
            id: id.into(),
            ses_message_id: "s".into(),
            recipient: "a@d.x".into(),
            sender: "x@y.z".into(),
            subject: None,
            size: 1,
            verdicts: String::new(),
            outcome: Outcome::Forwarded,
            delivered_to: None,
            detail: String::new(),
            mailer_message_id: None,
            error: None,
            attempts: 1,
            received_at: "t".into(),
            updated_at: "t".into(),
            delivery: None,
            class: None,
            policy: None,
        };
        assert!(is_their_copy(&r("s/a@d.x/b@x.org"), "B@x.org", "o@x.org"));
        assert!(!is_their_copy(&r("s/a@d.x/b@x.org"), "o@x.org", "o@x.org"));
        assert!(is_their_copy(&r("s/a@d.x"), "o@x.org", "o@x.org"));
        assert!(!is_their_copy(&r("s/a@d.x"), "b@x.org", "o@x.org"));
    }
}
