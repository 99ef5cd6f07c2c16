use app::model::DeliveryState;
use serde_json::json;

use super::*;

fn mail(id: &str) -> serde_json::Value {
    json!({
        "timestamp": "2026-12-04T10:00:00.000Z",
        "source": "mailvend@mail.example.com",
        "messageId": id,
        "destination": ["owner@corp.example"],
    })
}

#[test]
fn every_event_maps_to_its_state_detail_and_time() {
    let cases = [
        (
            json!({"eventType": "Bounce", "mail": mail("m-1"), "bounce": {
                "bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-12-04T10:00:05.000Z",
                "bouncedRecipients": [{"emailAddress": "owner@corp.example", "action": "failed", "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}}),
            Some(DeliveryState::Bounced),
            "permanent bounce (General): owner@corp.example 5.1.1 smtp; 550 5.1.1 user unknown",
            "2026-12-04T10:00:05.000Z",
            true,
        ),
        (
            json!({"eventType": "Bounce", "mail": mail("m-1"), "bounce": {
                "bounceType": "Transient", "bounceSubType": "MailboxFull",
                "bouncedRecipients": [{"emailAddress": "owner@corp.example"}]}}),
            Some(DeliveryState::Bounced),
            "transient bounce (MailboxFull): owner@corp.example",
            "2026-12-04T10:00:00.000Z",
            false,
        ),
        (
            json!({"eventType": "Complaint", "mail": mail("m-1"), "complaint": {
                "complainedRecipients": [{"emailAddress": "owner@corp.example"}],
                "complaintFeedbackType": "abuse", "timestamp": "2026-12-04T11:00:00.000Z"}}),
            Some(DeliveryState::Complained),
            "marked as spam by the recipient (abuse)",
            "2026-12-04T11:00:00.000Z",
            false,
        ),
        (
            json!({"eventType": "Delivery", "mail": mail("m-1"), "delivery": {
                "timestamp": "2026-12-04T10:00:01.000Z", "recipients": ["owner@corp.example"],
                "smtpResponse": "250 2.6.0 Message received"}}),
            Some(DeliveryState::Delivered),
            "delivered: 250 2.6.0 Message received",
            "2026-12-04T10:00:01.000Z",
            false,
        ),
        (
            json!({"eventType": "DeliveryDelay", "mail": mail("m-1"), "deliveryDelay": {
                "timestamp": "2026-12-04T10:05:00.000Z", "delayType": "TransientCommunicationFailure",
                "expirationTime": "2026-12-05T10:00:00.000Z",
                "delayedRecipients": [{"emailAddress": "owner@corp.example", "status": "4.4.1",
                    "diagnosticCode": "smtp; 421 4.4.1 Unable to connect"}]}}),
            Some(DeliveryState::Delayed),
            "delayed (TransientCommunicationFailure); retried until 2026-12-05T10:00:00.000Z: owner@corp.example 4.4.1 smtp; 421 4.4.1 Unable to connect",
            "2026-12-04T10:05:00.000Z",
            false,
        ),
        (
            json!({"eventType": "Reject", "mail": mail("m-1"), "reject": {"reason": "Bad content"}}),
            Some(DeliveryState::Bounced),
            "SES refused to send it: Bad content",
            "2026-12-04T10:00:00.000Z",
            false,
        ),
        (
            json!({"eventType": "Send", "mail": mail("m-1"), "send": {}}),
            None,
            "",
            "",
            false,
        ),
        (
            json!({"eventType": "Open", "mail": mail("m-1"), "open": {}}),
            None,
            "",
            "",
            false,
        ),
        // The older per-identity notifications.
        (
            json!({"notificationType": "Bounce", "mail": mail("m-1"), "bounce": {
                "bounceType": "Permanent", "bounceSubType": "Suppressed",
                "bouncedRecipients": [{"emailAddress": "owner@corp.example", "status": "5.1.1",
                    "diagnosticCode": "Amazon SES has suppressed sending to this address"}]}}),
            Some(DeliveryState::Bounced),
            "permanent bounce (Suppressed): owner@corp.example 5.1.1 Amazon SES has suppressed sending to this address",
            "2026-12-04T10:00:00.000Z",
            true,
        ),
        (
            json!({"notificationType": "Delivery", "mail": mail("m-1"), "delivery": {
                "recipients": ["owner@corp.example"], "smtpResponse": "250 ok"}}),
            Some(DeliveryState::Delivered),
            "delivered: 250 ok",
            "2026-12-04T10:00:00.000Z",
            false,
        ),
    ];
    for (event, state, detail, at, permanent) in cases {
        let text = event.to_string();
        assert!(is_feedback(&text), "{text}");
        let f = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(f.mailer_message_id, "m-1");
        assert_eq!(f.status.as_ref().map(|s| s.state), state, "{text}");
        if let Some(s) = &f.status {
            assert_eq!(s.detail, detail, "{text}");
            assert_eq!(s.at, at, "{text}");
        }
        assert_eq!(f.permanent, permanent, "{text}");
        assert!(!f.recipients.is_empty(), "{text}");
    }
}

#[test]
fn received_mail_and_other_notifications_are_not_feedback() {
    for text in [
        json!({"notificationType": "Received", "mail": mail("m-1")}).to_string(),
        json!({"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "…"}).to_string(),
        "not json".to_string(),
        "[1, 2]".to_string(),
        json!({"eventType": null}).to_string(),
    ] {
        assert!(!is_feedback(&text), "{text}");
    }
}

#[test]
fn feedback_without_what_it_needs_is_refused_by_name() {
    for (event, missing) in [
        (json!({"eventType": "Bounce", "bounce": {}}), "mail"),
        (
            json!({"eventType": "Bounce", "mail": {"timestamp": "x"}, "bounce": {}}),
            "mail.messageId",
        ),
        (
            json!({"eventType": "Bounce", "mail": mail("  ")}),
            "mail.messageId",
        ),
        (
            json!({"eventType": "Bounce", "mail": mail("m-1")}),
            "bounce",
        ),
        (
            json!({"eventType": "Delivery", "mail": mail("m-1")}),
            "delivery",
        ),
        (
            json!({"eventType": "Complaint", "mail": mail("m-1")}),
            "complaint",
        ),
        (
            json!({"eventType": "DeliveryDelay", "mail": mail("m-1")}),
            "deliveryDelay",
        ),
    ] {
        let err = parse(&event.to_string()).unwrap_err();
        assert_eq!(err, FeedbackError::Missing(missing), "{event}");
    }
    assert!(matches!(
        parse(r#"{"eventType": "Bounce", "mail": 3}"#),
        Err(FeedbackError::Malformed(_))
    ));
}

#[test]
fn a_long_diagnostic_is_cut_to_the_limit() {
    let long = "x".repeat(5 * MAX_DETAIL);
    let event = json!({"eventType": "Bounce", "mail": mail("m-1"), "bounce": {
        "bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "o@corp.example", "diagnosticCode": long}]}});
    let detail = parse(&event.to_string()).unwrap().status.unwrap().detail;
    assert_eq!(
        detail.chars().count(),
        MAX_DETAIL + 1,
        "the limit and an ellipsis"
    );
    assert!(detail.ends_with('…'));
}

#[test]
fn the_states_are_ordered_as_the_table_says() {
    use DeliveryState::*;
    assert!(Sent < Delayed && Delayed < Delivered && Delivered < Bounced && Bounced < Complained);
    for s in DeliveryState::ALL {
        assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
    }
}

#[test]
fn aws_example_records_parse_to_their_states() {
    use DeliveryState::*;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ses-events");
    for (file, state, permanent) in [
        ("event-bounce", Some(Bounced), true),
        ("event-complaint", Some(Complained), false),
        ("event-delivery", Some(Delivered), false),
        ("event-deliverydelay", Some(Delayed), false),
        ("event-reject", Some(Bounced), false),
        ("event-send", None, false),
        ("legacy-bounce", Some(Bounced), true),
        ("legacy-complaint", Some(Complained), false),
        ("legacy-delivery", Some(Delivered), false),
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{file}.json"))).unwrap();
        assert!(is_feedback(&text), "{file}");
        let f = parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!f.mailer_message_id.is_empty(), "{file}");
        assert_eq!(f.status.as_ref().map(|s| s.state), state, "{file}");
        assert_eq!(f.permanent, permanent, "{file}");
        assert!(!f.recipients.is_empty(), "{file}");
        if let Some(s) = f.status {
            assert!(s.at.starts_with("20"), "{file}: the event's time, {}", s.at);
            assert!(!s.detail.is_empty(), "{file}");
        }
    }
}

#[test]
fn only_a_bounce_that_says_the_mailbox_is_gone_marks_it() {
    let bounce = |kind: &str, sub: &str, status: &str, diagnostic: &str| {
        serde_json::json!({
            "eventType": "Bounce",
            "mail": {"messageId": "m1", "timestamp": "2026-12-04T10:00:00.000Z"},
            "bounce": {
                "bounceType": kind, "bounceSubType": sub, "timestamp": "2026-12-04T10:00:01.000Z",
                "bouncedRecipients": [{"emailAddress": "o@x.org", "status": status, "diagnosticCode": diagnostic}],
            },
        })
        .to_string()
    };
    for (kind, sub, status, diagnostic, marks) in [
        (
            "Permanent",
            "General",
            "5.1.1",
            "smtp; 550 5.1.1 user unknown",
            true,
        ),
        ("Permanent", "NoEmail", "5.0.0", "", true),
        ("Permanent", "Suppressed", "5.1.1", "", true),
        ("Permanent", "OnAccountSuppressionList", "", "", true),
        // A refusal of this message's content, which anyone sending to the address can cause.
        (
            "Permanent",
            "General",
            "5.7.1",
            "smtp; 550 5.7.1 message content rejected",
            false,
        ),
        ("Permanent", "General", "", "", false),
        ("Transient", "MailboxFull", "5.1.1", "", false),
        ("Undetermined", "Undetermined", "5.1.1", "", false),
    ] {
        let f = parse(&bounce(kind, sub, status, diagnostic)).unwrap();
        assert_eq!(f.permanent, marks, "{kind}/{sub} {status} {diagnostic}");
    }
}
