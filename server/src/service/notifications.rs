//! Notification channels as admins manage them (#18): list, add (a webhook's secret shown
//! once), remove, send a test, read the delivery log. Every change and every test is audited
//! as `channel:<id>`, with the target as listed: never a secret or a Slack URL.

use std::sync::Arc;
use std::time::SystemTime;

use app::model::AuditEntry;
use app::notify::{Channel, ChannelCreated, NewChannel, NotificationDelivery, NotificationsView};

use super::caller::AdminCaller;
use super::{invalid, AppService, ServiceError};
use crate::clock::rfc3339;
use crate::notify::channel::{check, shown};
use crate::notify::dispatch::Dispatcher;
use crate::notify::Event;
use crate::secret::Secret;
use crate::store::StoredChannel;
use crate::tokens::random_hex;

/// The most deliveries the log shows.
pub const LOG_LIMIT: u32 = 200;

fn listed(c: &StoredChannel) -> Channel {
    Channel {
        id: c.id.clone(),
        kind: c.kind,
        target: shown(c.kind, &c.target),
        events: c.events.clone(),
        created_at: c.created_at.clone(),
        created_by: c.created_by.clone(),
    }
}

impl AppService {
    /// Sends queued notifications; `serve` runs its rounds.
    pub fn dispatcher(&self) -> Arc<Dispatcher> {
        self.dispatcher.clone()
    }

    /// Queues `event` for the channels subscribed to it.
    pub(super) async fn raise(&self, event: Event) {
        self.notifier.raise(&event, SystemTime::now()).await;
    }

    pub async fn notifications(
        &self,
        caller: &AdminCaller,
    ) -> Result<NotificationsView, ServiceError> {
        Ok(NotificationsView {
            channels: self.channels(caller).await?,
            deliveries: self.deliveries(caller, None).await?,
            digest_to: self.config.admin_address.clone(),
            allow_http: self.config.notify_allow_http,
        })
    }

    pub async fn channels(&self, _caller: &AdminCaller) -> Result<Vec<Channel>, ServiceError> {
        Ok(self
            .stores
            .notifications
            .channels()
            .await?
            .iter()
            .map(listed)
            .collect())
    }

    /// The latest deliveries, newest first: `limit` (1–200, default 200).
    pub async fn deliveries(
        &self,
        _caller: &AdminCaller,
        limit: Option<u32>,
    ) -> Result<Vec<NotificationDelivery>, ServiceError> {
        let limit = match limit {
            None => LOG_LIMIT,
            Some(n @ 1..=LOG_LIMIT) => n,
            Some(_) => return Err(invalid("limit", format!("expected 1 to {LOG_LIMIT}"))),
        };
        Ok(self.stores.notifications.deliveries(limit).await?)
    }

    /// Adds a channel. A webhook gets a fresh signing secret, returned here and never again.
    pub async fn add_channel(
        &self,
        caller: &AdminCaller,
        input: &NewChannel,
    ) -> Result<ChannelCreated, ServiceError> {
        let spec = check(
            input,
            self.config.notify_allow_http,
            &self.config.admin_address,
        )
        .map_err(|(field, message)| invalid(field, message))?;
        let secret = (spec.kind == app::notify::ChannelKind::Webhook)
            .then(|| Secret::new(format!("whsec_{}", random_hex(32))));
        let now = rfc3339(SystemTime::now());
        let stored = StoredChannel {
            id: format!("ch_{}", random_hex(8)),
            kind: spec.kind,
            target: spec.target,
            secret: secret.clone(),
            events: spec.events,
            created_at: now.clone(),
            created_by: caller.actor().to_string(),
        };
        let channel = listed(&stored);
        let entry = audit(caller, "add_channel", &channel, &now);
        self.stores
            .notifications
            .add_channel(&stored, &entry)
            .await?;
        tracing::info!(channel = %channel.id, kind = channel.kind.as_str(), actor = caller.actor(), "notification channel added");
        Ok(ChannelCreated {
            channel,
            secret: secret.map(|s| s.expose().to_string()),
        })
    }

    pub async fn remove_channel(
        &self,
        caller: &AdminCaller,
        id: &str,
    ) -> Result<Channel, ServiceError> {
        let channel = self.stored_channel(id).await?;
        let shown = listed(&channel);
        let now = rfc3339(SystemTime::now());
        let mut entry = audit(caller, "remove_channel", &shown, &now);
        (entry.before, entry.after) = (entry.after.take(), None);
        self.stores.notifications.remove_channel(id, &entry).await?;
        Ok(shown)
    }

    /// Sends a test notification to channel `id` now and answers with its delivery as the
    /// log records it (delivered, or why not). A failed test is tried again like any other.
    pub async fn test_channel(
        &self,
        caller: &AdminCaller,
        id: &str,
    ) -> Result<NotificationDelivery, ServiceError> {
        let channel = self.stored_channel(id).await?;
        let now = SystemTime::now();
        let Some(notice) = self
            .notifier
            .queue(&channel, &Event::Test, now, true)
            .await?
        else {
            return Err(ServiceError::Conflict(format!(
                "channel {id} has {} notifications waiting; no test is queued until they go",
                crate::notify::queue::MAX_PENDING
            )));
        };
        let entry = audit(caller, "test_channel", &listed(&channel), &rfc3339(now));
        self.stores.mappings.append_audit(&entry).await?;
        Ok(self.dispatcher.deliver_now(&channel, &notice, now).await?)
    }

    async fn stored_channel(&self, id: &str) -> Result<StoredChannel, ServiceError> {
        self.stores
            .notifications
            .channels()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("channel {id}")))
    }
}

fn audit(caller: &AdminCaller, action: &str, channel: &Channel, at: &str) -> AuditEntry {
    AuditEntry {
        at: at.to_string(),
        actor: caller.actor().to_string(),
        action: action.to_string(),
        subject: format!("channel:{}", channel.id),
        before: None,
        after: Some(serde_json::to_string(channel).expect("channels serialize")),
    }
}
