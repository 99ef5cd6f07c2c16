//! `NotificationStore` on SQLite: the `notify_channels` and `notify_deliveries` tables
//! (migration 0017). Channel changes are audited in the same transaction.

use app::model::AuditEntry;
use app::notify::{ChannelKind, NoticeState, NotificationDelivery, NotifyEvent};
use async_trait::async_trait;

use super::mappings::insert_audit;
use super::{unavailable, writer::Writing, SqliteStore};
use crate::secret::Secret;
use crate::store::{
    delivery_id_prefix, events_of, events_text, lease_lost, NoticeAttempt, NotificationStore,
    QueuedNotice, StoreError, StoredChannel, MAX_CHANNELS,
};

type ChannelRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
);

const CHANNEL_COLUMNS: &str = "id, kind, target, secret, events, created_at, created_by";

fn channel_of(
    (id, kind, target, secret, events, created_at, created_by): ChannelRow,
) -> Result<StoredChannel, StoreError> {
    Ok(StoredChannel {
        kind: ChannelKind::parse(&kind)
            .ok_or_else(|| unavailable(format!("corrupt channel kind {kind:?}")))?,
        id,
        target,
        secret: secret.map(Secret::new),
        events: events_of(&events)?,
        created_at,
        created_by,
    })
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    channel_id: String,
    channel_kind: String,
    event: String,
    summary: String,
    body: String,
    state: String,
    attempts: i64,
    next_at: Option<String>,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: String,
    delivered_at: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, channel_id, channel_kind, event, summary, body, state, \
     attempts, next_at, last_status, last_error, created_at, delivered_at";

fn notice_of(r: DeliveryRow) -> Result<QueuedNotice, StoreError> {
    let corrupt = |what: &str, v: &str| unavailable(format!("corrupt delivery {what} {v:?}"));
    Ok(QueuedNotice {
        delivery: NotificationDelivery {
            channel_kind: ChannelKind::parse(&r.channel_kind)
                .ok_or_else(|| corrupt("channel kind", &r.channel_kind))?,
            event: NotifyEvent::parse(&r.event).ok_or_else(|| corrupt("event", &r.event))?,
            state: NoticeState::parse(&r.state).ok_or_else(|| corrupt("state", &r.state))?,
            id: r.id,
            channel_id: r.channel_id,
            summary: r.summary,
            attempts: r.attempts.max(0) as u32,
            next_at: r.next_at,
            last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        },
        body: r.body,
    })
}

/// The writes themselves, run at the mail's priority by the trait's methods.
impl SqliteStore {
    async fn add_channel_now(
        &self,
        w: &Writing,
        c: &StoredChannel,
        entry: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = w.begin().await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notify_channels")
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        if n as usize >= MAX_CHANNELS {
            return Err(StoreError::Conflict(format!(
                "there are {MAX_CHANNELS} channels already, the most there can be; remove one first"
            )));
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO notify_channels ({CHANNEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO NOTHING"
        ))
        .bind(&c.id)
        .bind(c.kind.as_str())
        .bind(&c.target)
        .bind(c.secret.as_ref().map(|s| s.expose().to_string()))
        .bind(events_text(&c.events))
        .bind(&c.created_at)
        .bind(&c.created_by)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("channel {} exists", c.id)));
        }
        insert_audit(&mut tx, entry).await?;
        tx.commit().await.map_err(unavailable)
    }

    async fn remove_channel_now(
        &self,
        w: &Writing,
        id: &str,
        entry: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = w.begin().await?;
        let gone = sqlx::query("DELETE FROM notify_channels WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("channel {id}")));
        }
        insert_audit(&mut tx, entry).await?;
        tx.commit().await.map_err(unavailable)
    }

    async fn claim_due_now(
        &self,
        w: &Writing,
        now: &str,
        lease_until: &str,
        limit: u32,
    ) -> Result<Vec<QueuedNotice>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "UPDATE notify_deliveries SET next_at = ? WHERE id IN ( \
               SELECT id FROM notify_deliveries WHERE state = 'pending' AND next_at <= ? \
               ORDER BY next_at, id LIMIT ?) \
             RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(lease_until)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(w.pool())
        .await
        .map_err(unavailable)?;
        let mut notices = rows
            .into_iter()
            .map(notice_of)
            .collect::<Result<Vec<_>, _>>()?;
        notices.sort_by(|a, b| a.delivery.id.cmp(&b.delivery.id));
        Ok(notices)
    }
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn add_channel(&self, c: &StoredChannel, entry: &AuditEntry) -> Result<(), StoreError> {
        let (c, entry) = (c.clone(), entry.clone());
        self.write(move |s, w| async move { s.add_channel_now(&w, &c, &entry).await })
            .await
    }

    async fn remove_channel(&self, id: &str, entry: &AuditEntry) -> Result<(), StoreError> {
        let (id, entry) = (id.to_string(), entry.clone());
        self.write(move |s, w| async move { s.remove_channel_now(&w, &id, &entry).await })
            .await
    }

    async fn channels(&self) -> Result<Vec<StoredChannel>, StoreError> {
        let rows: Vec<ChannelRow> = sqlx::query_as(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM notify_channels ORDER BY created_at, id"
        ))
        .fetch_all(self.reader())
        .await
        .map_err(unavailable)?;
        rows.into_iter().map(channel_of).collect()
    }

    async fn enqueue(&self, n: &QueuedNotice) -> Result<(), StoreError> {
        let n = n.clone();
        self.write(move |_, w| async move {
            let d = &n.delivery;
            sqlx::query(&format!(
                "INSERT INTO notify_deliveries ({DELIVERY_COLUMNS}) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .bind(&d.id)
            .bind(&d.channel_id)
            .bind(d.channel_kind.as_str())
            .bind(d.event.as_str())
            .bind(&d.summary)
            .bind(&n.body)
            .bind(d.state.as_str())
            .bind(d.attempts as i64)
            .bind(&d.next_at)
            .bind(d.last_status.map(i64::from))
            .bind(&d.last_error)
            .bind(&d.created_at)
            .bind(&d.delivered_at)
            .execute(w.pool())
            .await
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn pending_count(&self, channel_id: &str, event: NotifyEvent) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notify_deliveries \
             WHERE state = 'pending' AND channel_id = ? AND event = ?",
        )
        .bind(channel_id)
        .bind(event.as_str())
        .fetch_one(self.reader())
        .await
        .map_err(unavailable)?;
        Ok(n as u32)
    }

    async fn claim_due(
        &self,
        now: &str,
        lease_until: &str,
        limit: u32,
    ) -> Result<Vec<QueuedNotice>, StoreError> {
        let (now, lease_until) = (now.to_string(), lease_until.to_string());
        self.write(move |s, w| async move { s.claim_due_now(&w, &now, &lease_until, limit).await })
            .await
    }

    async fn record_attempt(&self, a: &NoticeAttempt) -> Result<(), StoreError> {
        let a = a.clone();
        self.write(move |_, w| async move {
            let done = sqlx::query(
                "UPDATE notify_deliveries SET attempts = ?, state = ?, next_at = ?, \
                 last_status = ?, last_error = ?, delivered_at = ? \
                 WHERE id = ? AND state = 'pending' AND next_at = ?",
            )
            .bind(a.attempts as i64)
            .bind(a.state.as_str())
            .bind(&a.next_at)
            .bind(a.status.map(i64::from))
            .bind(&a.error)
            .bind(&a.delivered_at)
            .bind(&a.id)
            .bind(&a.lease)
            .execute(w.pool())
            .await
            .map_err(unavailable)?;
            match done.rows_affected() {
                0 => Err(lease_lost(&a.id)),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn deliveries(&self, limit: u32) -> Result<Vec<NotificationDelivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM notify_deliveries ORDER BY id DESC LIMIT ?"
        ))
        .bind(limit as i64)
        .fetch_all(self.reader())
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|r| notice_of(r).map(|n| n.delivery))
            .collect()
    }

    async fn purge_deliveries(&self, before: &str) -> Result<u64, StoreError> {
        let before = before.to_string();
        self.write(move |_, w| async move {
            // By id (the primary key), which sorts by the time each was queued.
            let done =
                sqlx::query("DELETE FROM notify_deliveries WHERE id < ? AND state != 'pending'")
                    .bind(delivery_id_prefix(&before))
                    .execute(w.pool())
                    .await
                    .map_err(unavailable)?;
            Ok(done.rows_affected())
        })
        .await
    }
}
