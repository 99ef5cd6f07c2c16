//! Raising an event: one delivery in the store's queue for each channel subscribed to it.
//! Raising never fails its caller (mail goes on when the queue cannot be written), and a
//! channel with `MAX_PENDING` deliveries waiting takes no more: a flood of failures (or of
//! held mail an outsider sends) cannot grow the queue without end, and what was dropped is
//! logged.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::notify::{ChannelKind, NoticeState, NotificationDelivery};

use super::{webhook_body, Event};
use crate::clock::rfc3339;
use crate::store::{NotificationStore, QueuedNotice, StoreError, StoredChannel};

/// The most deliveries one channel may have waiting.
pub const MAX_PENDING: u32 = 1000;

/// The hour (UTC) the daily digest is sent.
pub const DIGEST_HOUR: u64 = 7;

#[derive(Clone)]
pub struct Notifier {
    store: Arc<dyn NotificationStore>,
}

/// A delivery id: sorts by time, unique within a millisecond.
pub fn delivery_id(now: SystemTime) -> String {
    let at: String = rfc3339(now)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("n_{at}_{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
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

    /// Queues `event` for `channel`: due now, or at the next digest for a digest channel
    /// unless `at_once` (a test). `None` when the channel is full.
    pub async fn queue(
        &self,
        channel: &StoredChannel,
        event: &Event,
        now: SystemTime,
        at_once: bool,
    ) -> Result<Option<QueuedNotice>, StoreError> {
        if self.store.pending_count(&channel.id).await? >= MAX_PENDING {
            tracing::warn!(channel = %channel.id, event = event.kind().as_str(), "the channel has {MAX_PENDING} notifications waiting; this one is dropped");
            return Ok(None);
        }
        let id = delivery_id(now);
        let at = rfc3339(now);
        let due = match channel.kind {
            ChannelKind::Digest if !at_once => rfc3339(next_digest(now)),
            _ => at.clone(),
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
    }
}
