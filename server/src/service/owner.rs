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

/// When `owner` last became the owner of the address whose audit trail is `trail`: the
/// latest change that made them owner (or the vend), else `created_at`. Mail from before is
/// someone else's.
pub fn owner_since(trail: &[AuditEntry], owner: &str, created_at: &str) -> String {
    let owner_in = |json: &Option<String>| -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(json.as_deref()?).ok()?;
        v.get("owner")?.as_str().map(str::to_ascii_lowercase)
    };
    let owner = owner.to_ascii_lowercase();
    trail
        .iter()
        .filter(|e| {
            owner_in(&e.after).as_deref() == Some(owner.as_str())
                && owner_in(&e.before).as_deref() != Some(owner.as_str())
        })
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
            assert_eq!(owner_since(&trail, owner, created), want, "{why}");
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
}
