//! Notifications (#18): what admins can hear about without watching the dashboard, and how
//! each kind of channel is told. Here, pure: the events, their JSON and Slack text, when a
//! failed delivery is tried again. `channel` checks what an admin asks for, `queue` puts an
//! event in the store's queue for each channel subscribed to it, and `dispatch` sends.

pub mod channel;
pub mod dispatch;
pub mod queue;
pub mod sign;

use std::time::Duration;

use app::notify::NotifyEvent;
use serde::Serialize;

/// Something an admin may subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A message could not be sent and is kept for replay.
    DeadLetter {
        message_id: String,
        recipient: String,
        detail: String,
    },
    /// A recipient's mailbox bounced or complained: mail to it goes to the fallback.
    OwnerUnreachable { recipient: String, reason: String },
    /// Mail its class's policy holds waits for an admin.
    HeldWaiting {
        message_id: String,
        recipient: String,
        class: Option<String>,
    },
    /// The organization sync found accounts newly in drift (not in it, or not in that drift,
    /// at the sync before): how many, and the first of their ids.
    DriftFound {
        accounts: u32,
        account_ids: Vec<String>,
    },
    /// The organization sync failed.
    SyncFailed { error: String },
    /// An admin's "send a test" on the channel.
    Test,
}

impl Event {
    /// What subscriptions name it by.
    pub fn kind(&self) -> NotifyEvent {
        match self {
            Event::DeadLetter { .. } => NotifyEvent::DeadLetter,
            Event::OwnerUnreachable { .. } => NotifyEvent::OwnerUnreachable,
            Event::HeldWaiting { .. } => NotifyEvent::HeldWaiting,
            Event::DriftFound { .. } => NotifyEvent::DriftFound,
            Event::SyncFailed { .. } => NotifyEvent::SyncFailed,
            Event::Test => NotifyEvent::Test,
        }
    }

    /// One line for people (a Slack message, a digest line). Addresses and subjects come
    /// from strangers' mail: Slack's control characters in them are escaped (`slack_text`).
    pub fn summary(&self) -> String {
        match self {
            Event::DeadLetter {
                recipient, detail, ..
            } => format!("Dead letter for {recipient}: {detail}"),
            Event::OwnerUnreachable { recipient, reason } => {
                format!("{recipient} is unreachable ({reason}); their mail goes to the fallback")
            }
            Event::HeldWaiting {
                recipient, class, ..
            } => format!(
                "Held mail for {recipient} ({}) waits for an admin",
                class.as_deref().unwrap_or("unclassified")
            ),
            Event::DriftFound { accounts, .. } => {
                format!("The organization sync found {accounts} account(s) newly in drift")
            }
            Event::SyncFailed { error } => format!("The organization sync failed: {error}"),
            Event::Test => "A test notification from mailvend".to_string(),
        }
    }
}

/// The JSON a webhook receives: the event's fields with its name, an id that is the same on
/// every retry (so a receiver can drop duplicates) and when it happened.
pub fn webhook_body(id: &str, at: &str, event: &Event) -> String {
    let mut body = serde_json::to_value(event).expect("events serialize");
    body["id"] = serde_json::json!(id);
    body["at"] = serde_json::json!(at);
    body.to_string()
}

/// What a Slack-compatible incoming webhook receives. `<`, `>` and `&` are Slack's markup:
/// escaped, so a stranger's address or subject cannot ping a channel or make a link.
pub fn slack_body(instance: &str, summary: &str) -> String {
    let text = format!("mailvend ({instance}): {summary}")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    serde_json::json!({ "text": text }).to_string()
}

/// When delivery `attempt` (from 1) failed, how long before the next; `None`: give up.
/// About a day of tries in all, so a receiver down for maintenance still hears.
pub fn retry_after(attempt: u32) -> Option<Duration> {
    const WAITS: [u64; 6] = [30, 120, 600, 3600, 4 * 3600, 12 * 3600];
    WAITS
        .get(attempt.checked_sub(1)? as usize)
        .map(|s| Duration::from_secs(*s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_body_carries_the_event_its_id_and_time() {
        let e = Event::DeadLetter {
            message_id: "m-1/a@mail.example.com".into(),
            recipient: "a@mail.example.com".into(),
            detail: "sending failed".into(),
        };
        let body: serde_json::Value =
            serde_json::from_str(&webhook_body("n-1", "2026-12-05T10:00:00.000Z", &e)).unwrap();
        assert_eq!(body["event"], "dead_letter");
        assert_eq!(body["id"], "n-1");
        assert_eq!(body["at"], "2026-12-05T10:00:00.000Z");
        assert_eq!(body["recipient"], "a@mail.example.com");
        assert_eq!(e.kind(), NotifyEvent::DeadLetter);
    }

    /// A stranger's address cannot become Slack markup (a mention, a link).
    #[test]
    fn slack_text_is_escaped() {
        let e = Event::OwnerUnreachable {
            recipient: "<!channel>@evil.example".into(),
            reason: "bounced <https://evil.example|click>".into(),
        };
        let body: serde_json::Value =
            serde_json::from_str(&slack_body("prod", &e.summary())).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt;@evil.example"), "{text}");
        assert!(text.starts_with("mailvend (prod): "), "{text}");
    }

    #[test]
    fn failed_deliveries_are_tried_again_for_about_a_day_then_given_up() {
        let waits: Vec<u64> = (1..=7)
            .map_while(retry_after)
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(waits, [30, 120, 600, 3600, 14_400, 43_200]);
        assert_eq!(retry_after(0), None);
        assert_eq!(retry_after(7), None);
        assert!(waits.iter().sum::<u64>() > 16 * 3600);
    }
}
