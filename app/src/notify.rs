//! Notifications (#18) as admins see them: the events they subscribe to, the channels that
//! carry them, and the log of every delivery and its attempts.

use serde::{Deserialize, Serialize};

/// Something an admin may subscribe a channel to. `Test` is what a channel's "Send a test"
/// queues; it cannot be subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    DeadLetter,
    OwnerUnreachable,
    HeldWaiting,
    DriftFound,
    SyncFailed,
    Test,
}

impl NotifyEvent {
    /// The events a channel can subscribe to.
    pub const SUBSCRIBABLE: [NotifyEvent; 5] = [
        NotifyEvent::DeadLetter,
        NotifyEvent::OwnerUnreachable,
        NotifyEvent::HeldWaiting,
        NotifyEvent::DriftFound,
        NotifyEvent::SyncFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::DeadLetter => "dead_letter",
            NotifyEvent::OwnerUnreachable => "owner_unreachable",
            NotifyEvent::HeldWaiting => "held_waiting",
            NotifyEvent::DriftFound => "drift_found",
            NotifyEvent::SyncFailed => "sync_failed",
            NotifyEvent::Test => "test",
        }
    }

    pub fn parse(v: &str) -> Option<NotifyEvent> {
        NotifyEvent::SUBSCRIBABLE
            .into_iter()
            .chain([NotifyEvent::Test])
            .find(|e| e.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            NotifyEvent::DeadLetter => "Dead letter (mail that could not be sent)",
            NotifyEvent::OwnerUnreachable => "Owner unreachable (bounce or complaint)",
            NotifyEvent::HeldWaiting => "Held mail waiting",
            NotifyEvent::DriftFound => "Organization drift found",
            NotifyEvent::SyncFailed => "Organization sync failed",
            NotifyEvent::Test => "Test",
        }
    }
}

/// How a channel is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// An HTTPS endpoint receiving HMAC-signed JSON.
    Webhook,
    /// A Slack-compatible incoming webhook (`{"text": …}`).
    Slack,
    /// An Amazon SNS topic (its ARN).
    Sns,
    /// One email a day to the admin address (`MAILVEND_ADMIN_ADDRESS`).
    Digest,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::Webhook,
        ChannelKind::Slack,
        ChannelKind::Sns,
        ChannelKind::Digest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Sns => "sns",
            ChannelKind::Digest => "digest",
        }
    }

    pub fn parse(v: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "Signed JSON webhook",
            ChannelKind::Slack => "Slack incoming webhook",
            ChannelKind::Sns => "Amazon SNS topic",
            ChannelKind::Digest => "Daily email digest",
        }
    }
}

/// A channel as listed: its target shown so it can be recognised but not used (a Slack
/// webhook's URL is its credential, so only its host is shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Channel {
    pub id: String,
    pub kind: ChannelKind,
    /// The URL, topic ARN or address, as shown (`target_shown`).
    pub target: String,
    pub events: Vec<NotifyEvent>,
    pub created_at: String,
    pub created_by: String,
}

/// A new channel and, for a webhook, its signing secret: shown this once, never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChannelCreated {
    pub channel: Channel,
    /// `whsec_…`: the key of the `X-Mailvend-Signature` HMAC.
    pub secret: Option<String>,
}

/// A new channel as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// `webhook`, `slack`, `sns` or `digest`.
    #[cfg_attr(feature = "ssr", schema(pattern = "^(webhook|slack|sns|digest)$"))]
    pub kind: String,
    /// The https URL (webhook, slack) or the topic ARN (sns); empty for a digest, which goes
    /// to the admin address.
    #[serde(default)]
    pub target: String,
    /// The events it is told of; at least one.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<SubscribableEvent>, min_items = 1))]
    pub events: Vec<String>,
}

/// A new channel as the OpenAPI description tells it, one shape per kind (the server reads it
/// as `NewChannel` and checks the rest: hosts, the admin address, FIFO topics).
#[cfg(feature = "ssr")]
#[derive(utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)]
pub enum NewChannelBody {
    /// Signed JSON to an https URL (plain http only where `MAILVEND_NOTIFY_ALLOW_HTTP=on`).
    Webhook {
        #[schema(pattern = "^https?://", max_length = 2048)]
        target: String,
        #[schema(value_type = Vec<SubscribableEvent>, min_items = 1)]
        events: Vec<String>,
    },
    /// A Slack-compatible incoming webhook URL.
    Slack {
        #[schema(pattern = "^https?://", max_length = 2048)]
        target: String,
        #[schema(value_type = Vec<SubscribableEvent>, min_items = 1)]
        events: Vec<String>,
    },
    /// A standard (not FIFO) SNS topic's ARN.
    Sns {
        #[schema(
            pattern = "^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]{1,256}$"
        )]
        target: String,
        #[schema(value_type = Vec<SubscribableEvent>, min_items = 1)]
        events: Vec<String>,
    },
    /// The daily digest to the admin address: `target` empty, absent or that address.
    Digest {
        #[serde(default)]
        target: String,
        #[schema(value_type = Vec<SubscribableEvent>, min_items = 1)]
        events: Vec<String>,
    },
}

/// The event names a channel may subscribe to, as the OpenAPI description lists them
/// (`NewChannel::events` is read as text, so an unknown name is a 422 naming it).
#[cfg(feature = "ssr")]
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SubscribableEvent {
    DeadLetter,
    OwnerUnreachable,
    HeldWaiting,
    DriftFound,
    SyncFailed,
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Waiting for its (next) attempt, or for the day's digest.
    Pending,
    Delivered,
    /// Every retry failed, or its channel was removed.
    Failed,
}

impl NoticeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Pending => "pending",
            NoticeState::Delivered => "delivered",
            NoticeState::Failed => "failed",
        }
    }

    pub fn parse(v: &str) -> Option<NoticeState> {
        [
            NoticeState::Pending,
            NoticeState::Delivered,
            NoticeState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == v)
    }
}

/// One event for one channel, with how its attempts went: the delivery log's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NotificationDelivery {
    /// Time-ordered; the same on every retry, and in the webhook body's `id`.
    pub id: String,
    pub channel_id: String,
    pub channel_kind: ChannelKind,
    pub event: NotifyEvent,
    /// One line for people.
    pub summary: String,
    pub state: NoticeState,
    pub attempts: u32,
    /// When it is tried next (pending only).
    pub next_at: Option<String>,
    /// The receiver's last HTTP status, when it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// The Notifications page: the channels, the latest deliveries, and where digests go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationsView {
    pub channels: Vec<Channel>,
    pub deliveries: Vec<NotificationDelivery>,
    /// The admin address a digest goes to.
    pub digest_to: String,
    /// Whether plain-http targets are allowed (`MAILVEND_NOTIFY_ALLOW_HTTP`, for local tests).
    pub allow_http: bool,
}
