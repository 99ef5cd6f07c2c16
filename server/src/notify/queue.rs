//! Raising an event: one delivery in the store's queue for each channel subscribed to it.
//! Raising never fails its caller (mail goes on when the queue cannot be written), and a
//! channel with `MAX_PENDING` deliveries of one event waiting takes no more of that event: a
//! flood (held mail an outsider can cause) cannot grow the queue without end, nor crowd out a
//! channel's other events; what was dropped is logged.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::notify::{ChannelKind, NoticeState, NotificationDelivery};

use super::{webhook_body, Event};
use crate::clock::rfc3339;
use crate::store::{
    delivery_id_prefix, NotificationStore, QueuedNotice, StoreError, StoredChannel,
};

/// The most deliveries of one event one channel may have waiting.
pub const MAX_PENDING: u32 = 200;

/// Wakes this process's dispatcher when this process queues something (`Dispatcher::run`),
/// so what a server raises goes at once; what other processes queue waits for its poll.
pub(super) static QUEUED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The hour (UTC) the daily digest is sent.
pub const DIGEST_HOUR: u64 = 7;

#[derive(Clone)]
pub struct Notifier {
    store: Arc<dyn NotificationStore>,
}

/// A delivery id: sorts by time, unique within a millisecond.
pub fn delivery_id(now: SystemTime) -> String {
    format!(
        "{}_{:012x}",
        delivery_id_prefix(&rfc3339(now)),
        rand::random::<u64>() & 0xffff_ffff_ffff
    )
}

/// When the digest after `now` goes out: the next `DIGEST_HOUR`:00 UTC.
pub fn next_digest(now: SystemTime) -> SystemTime {
    let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let today = secs - secs % 86_400 + DIGEST_HOUR * 3600;
    let at = if today > secs { today } else { today + 86_400 };
    UNIX_EPOCH + Duration::from_secs(at)
}

impl Notifier {
    pub fn new(store: Arc<dyn NotificationStore>) -> Notifier {
        Notifier { store }
    }

    /// Queues `event` for each channel subscribed to it; how many took it.
    pub async fn raise(&self, event: &Event, now: SystemTime) -> usize {
        let channels = match self.store.channels().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, event = event.kind().as_str(), "cannot read notification channels; the event is not sent");
                return 0;
            }
        };
        let mut queued = 0;
        for channel in channels.iter().filter(|c| c.events.contains(&event.kind())) {
            match self.queue(channel, event, now, false).await {
                Ok(Some(_)) => queued += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, channel = %channel.id, event = event.kind().as_str(), "cannot queue a notification")
                }
            }
        }
        queued
    }

    /// Queues `event` for `channel`: due now, or at the next digest for a digest channel.
    /// `at_once` (the test button): queued already leased to the caller, who sends it now
    /// (`Dispatcher::deliver_now`), so no round sends it too. `None` when the channel has
    /// `MAX_PENDING` of this event waiting.
    pub async fn queue(
        &self,
        channel: &StoredChannel,
        event: &Event,
        now: SystemTime,
        at_once: bool,
    ) -> Result<Option<QueuedNotice>, StoreError> {
        if self.store.pending_count(&channel.id, event.kind()).await? >= MAX_PENDING {
            tracing::warn!(channel = %channel.id, event = event.kind().as_str(), "the channel has {MAX_PENDING} notifications waiting; this one is dropped");
            return Ok(None);
        }
        let id = delivery_id(now);
        let at = rfc3339(now);
        let due = match (at_once, channel.kind) {
            (true, _) => rfc3339(now + super::dispatch::LEASE),
            (false, ChannelKind::Digest) => rfc3339(next_digest(now)),
            (false, _) => at.clone(),
        };
        let notice = QueuedNotice {
            body: webhook_body(&id, &at, event),
            delivery: NotificationDelivery {
                id,
                channel_id: channel.id.clone(),
                channel_kind: channel.kind,
                event: event.kind(),
                summary: event.summary(),
                state: NoticeState::Pending,
                attempts: 0,
                next_at: Some(due),
                last_status: None,
                last_error: None,
                created_at: at,
                delivered_at: None,
            },
        };
        self.store.enqueue(&notice).await?;
        if !at_once {
            QUEUED.notify_one();
        }
        Ok(Some(notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        humantime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn the_digest_goes_at_seven_utc_the_same_day_or_the_next() {
        let cases = [
            ("2026-12-05T06:59:59Z", "2026-12-05T07:00:00.000Z"),
            ("2026-12-05T07:00:00Z", "2026-12-06T07:00:00.000Z"),
            ("2026-12-05T22:30:00Z", "2026-12-06T07:00:00.000Z"),
            ("2026-12-31T23:59:59Z", "2027-01-01T07:00:00.000Z"),
        ];
        for (now, want) in cases {
            assert_eq!(rfc3339(next_digest(at(now))), want, "{now}");
        }
    }

    #[test]
    fn delivery_ids_sort_by_time() {
        let a = delivery_id(at("2026-12-05T09:59:59.999Z"));
        let b = delivery_id(at("2026-12-05T10:00:00.000Z"));
        assert!(a < b, "{a} {b}");
        assert!(a.starts_with("n_20261205T095959999Z_"), "{a}");
        // Everything queued before a time sorts below that time's prefix (the purge's cut).
        assert!(a < delivery_id_prefix("2026-12-05T10:00:00.000Z"));
        assert!(b > delivery_id_prefix("2026-12-05T10:00:00.000Z"));
    }

    /// A flood of one event fills only that event's share of a channel: the others still go.
    #[tokio::test]
    async fn a_flood_of_one_event_does_not_crowd_out_the_others() {
        use crate::store::sqlite::SqliteStore;
        use app::notify::NotifyEvent;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("q.db")).await.unwrap());
        let channel = StoredChannel {
            id: "ch_flood".into(),
            kind: ChannelKind::Digest,
            target: "admin@corp.example".into(),
            secret: None,
            events: vec![NotifyEvent::DeadLetter, NotifyEvent::HeldWaiting],
            created_at: "2026-12-05T10:00:00.000Z".into(),
            created_by: "admin@corp.example".into(),
        };
        let entry = app::model::AuditEntry {
            at: channel.created_at.clone(),
            actor: channel.created_by.clone(),
            action: "add_channel".into(),
            subject: "channel:ch_flood".into(),
            before: None,
            after: None,
        };
        store.add_channel(&channel, &entry).await.unwrap();
        let notifier = Notifier::new(store.clone());
        let now = SystemTime::now();
        let held = |n: u32| Event::HeldWaiting {
            message_id: format!("m-{n}/a@mail.example.com"),
            recipient: "a@mail.example.com".into(),
            class: None,
        };
        for n in 0..MAX_PENDING {
            assert_eq!(notifier.raise(&held(n), now).await, 1);
        }
        assert_eq!(notifier.raise(&held(MAX_PENDING), now).await, 0, "full");
        let dead = Event::DeadLetter {
            message_id: "m-x/a@mail.example.com".into(),
            recipient: "a@mail.example.com".into(),
            detail: "sending failed".into(),
        };
        assert_eq!(
            notifier.raise(&dead, now).await,
            1,
            "another event still goes"
        );
        let pending = store
            .pending_count("ch_flood", NotifyEvent::HeldWaiting)
            .await
            .unwrap();
        assert_eq!(pending, MAX_PENDING);
    }
}
