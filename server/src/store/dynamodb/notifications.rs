//! `NotificationStore` on DynamoDB: the `<prefix>-notify` table, keyed (`pk`, `sk`).
//! Channels are `pk = channel`, deliveries `pk = delivery` with their time-ordered id as `sk`,
//! so the log is one query newest first. A pending delivery carries `due = due`, which puts it
//! in the sparse `by_due` index (`due`, `next_at`): the queue; and `pending_key =
//! <channel>#<event>`, which puts it in the sparse `by_pending` index that counts a channel's
//! waiting deliveries of one event. Both indexes hold keys only. Claims are conditional updates
//! on the `next_at` that was read, so of two servers only one leases a delivery, and an attempt
//! is recorded only under the lease its claim set.

use app::model::AuditEntry;
use app::notify::{ChannelKind, NoticeState, NotificationDelivery, NotifyEvent};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, Select, TransactWriteItem, WriteRequest,
};

use super::item::{entry_item, get_s, put, s, Item};
use super::{condition_failed, sdk, unavailable, DynamoStore};
use crate::secret::Secret;
use crate::store::{
    delivery_id_prefix, events_of, events_text, lease_lost, NoticeAttempt, NotificationStore,
    QueuedNotice, StoreError, StoredChannel, MAX_CHANNELS,
};

const CHANNEL: &str = "channel";
const DELIVERY: &str = "delivery";
const DUE: &str = "due";

fn pending_key(channel_id: &str, event: NotifyEvent) -> String {
    format!("{channel_id}#{}", event.as_str())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_n(item: &Item, key: &str) -> Option<i64> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn channel_item(c: &StoredChannel) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), s(CHANNEL)),
        ("sk".to_string(), s(&c.id)),
        ("kind".to_string(), s(c.kind.as_str())),
        ("target".to_string(), s(&c.target)),
        ("events".to_string(), s(events_text(&c.events))),
        ("created_at".to_string(), s(&c.created_at)),
        ("created_by".to_string(), s(&c.created_by)),
    ]);
    if let Some(secret) = &c.secret {
        item.insert("secret".into(), s(secret.expose()));
    }
    item
}

fn channel_of(item: &Item) -> Result<StoredChannel, StoreError> {
    let field = |k: &str| get_s(item, k).ok_or_else(|| unavailable(format!("channel lacks {k}")));
    let kind = field("kind")?;
    Ok(StoredChannel {
        id: field("sk")?,
        kind: ChannelKind::parse(&kind)
            .ok_or_else(|| unavailable(format!("corrupt channel kind {kind:?}")))?,
        target: field("target")?,
        secret: get_s(item, "secret").map(Secret::new),
        events: events_of(&field("events")?)?,
        created_at: field("created_at")?,
        created_by: field("created_by")?,
    })
}

fn delivery_item(q: &QueuedNotice) -> Item {
    let d = &q.delivery;
    let mut item = Item::from([
        ("pk".to_string(), s(DELIVERY)),
        ("sk".to_string(), s(&d.id)),
        ("channel_id".to_string(), s(&d.channel_id)),
        ("channel_kind".to_string(), s(d.channel_kind.as_str())),
        ("event".to_string(), s(d.event.as_str())),
        ("summary".to_string(), s(&d.summary)),
        ("body".to_string(), s(&q.body)),
        ("state".to_string(), s(d.state.as_str())),
        ("attempts".to_string(), n(d.attempts)),
        ("created_at".to_string(), s(&d.created_at)),
    ]);
    if d.state == NoticeState::Pending {
        item.insert("due".into(), s(DUE));
        item.insert("pending_key".into(), s(pending_key(&d.channel_id, d.event)));
    }
    let optional = [
        ("next_at", d.next_at.clone()),
        ("last_error", d.last_error.clone()),
        ("delivered_at", d.delivered_at.clone()),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            item.insert(k.into(), s(v));
        }
    }
    if let Some(status) = d.last_status {
        item.insert("last_status".into(), n(status));
    }
    item
}

fn notice_of(item: &Item) -> Result<QueuedNotice, StoreError> {
    let field = |k: &str| get_s(item, k).ok_or_else(|| unavailable(format!("delivery lacks {k}")));
    let corrupt = |what: &str, v: &str| unavailable(format!("corrupt delivery {what} {v:?}"));
    let (kind, event, state) = (field("channel_kind")?, field("event")?, field("state")?);
    Ok(QueuedNotice {
        delivery: NotificationDelivery {
            id: field("sk")?,
            channel_id: field("channel_id")?,
            channel_kind: ChannelKind::parse(&kind)
                .ok_or_else(|| corrupt("channel kind", &kind))?,
            event: NotifyEvent::parse(&event).ok_or_else(|| corrupt("event", &event))?,
            summary: field("summary")?,
            state: NoticeState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
            attempts: get_n(item, "attempts").unwrap_or(0).max(0) as u32,
            next_at: get_s(item, "next_at"),
            last_status: get_n(item, "last_status").and_then(|v| u16::try_from(v).ok()),
            last_error: get_s(item, "last_error"),
            created_at: field("created_at")?,
            delivered_at: get_s(item, "delivered_at"),
        },
        body: field("body")?,
    })
}

impl DynamoStore {
    /// Every item of partition `pk`, in key order (newest last), up to `limit` when given
    /// (then newest first).
    async fn notify_partition(
        &self,
        pk: &str,
        newest_first: Option<u32>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.notify)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if let Some(limit) = newest_first {
                q = q
                    .scan_index_forward(false)
                    .limit((limit as usize - items.len()).max(1) as i32);
            }
            let out = q.send().await.map_err(sdk)?;
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            let full = newest_first.is_some_and(|l| items.len() >= l as usize);
            if start.is_none() || full {
                return Ok(items);
            }
        }
    }
}

#[async_trait]
impl NotificationStore for DynamoStore {
    async fn add_channel(&self, c: &StoredChannel, entry: &AuditEntry) -> Result<(), StoreError> {
        // Counted before the write: two admins adding the twentieth channel at once can make
        // twenty-one, which the next add then refuses.
        if self.notify_partition(CHANNEL, None).await?.len() >= MAX_CHANNELS {
            return Err(StoreError::Conflict(format!(
                "there are {MAX_CHANNELS} channels already, the most there can be; remove one first"
            )));
        }
        let items = vec![
            put(
                &self.notify,
                channel_item(c),
                Some("attribute_not_exists(sk)"),
            )?,
            put(&self.audit, entry_item(entry), None)?,
        ];
        self.transact(items)
            .await?
            .map_err(|_| StoreError::Conflict(format!("channel {} exists", c.id)))
    }

    async fn remove_channel(&self, id: &str, entry: &AuditEntry) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.notify)
            .key("pk", s(CHANNEL))
            .key("sk", s(id))
            .condition_expression("attribute_exists(sk)")
            .build()
            .map_err(unavailable)?;
        let audit = Put::builder()
            .table_name(&self.audit)
            .set_item(Some(entry_item(entry)))
            .build()
            .map_err(unavailable)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().put(audit).build(),
        ];
        self.transact(items)
            .await?
            .map_err(|_| StoreError::NotFound(format!("channel {id}")))
    }

    async fn channels(&self) -> Result<Vec<StoredChannel>, StoreError> {
        let mut channels = self
            .notify_partition(CHANNEL, None)
            .await?
            .iter()
            .map(channel_of)
            .collect::<Result<Vec<_>, _>>()?;
        channels.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(channels)
    }

    async fn enqueue(&self, q: &QueuedNotice) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.notify)
            .set_item(Some(delivery_item(q)))
            .condition_expression("attribute_not_exists(sk)")
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn pending_count(&self, channel_id: &str, event: NotifyEvent) -> Result<u32, StoreError> {
        let mut count = 0;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.notify)
                .index_name("by_pending")
                .key_condition_expression("pending_key = :k")
                .expression_attribute_values(":k", s(pending_key(channel_id, event)))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            count += out.count().max(0) as u32;
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(count);
            }
        }
    }

    async fn claim_due(
        &self,
        now: &str,
        lease_until: &str,
        limit: u32,
    ) -> Result<Vec<QueuedNotice>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.notify)
            .index_name("by_due")
            .key_condition_expression("due = :due AND next_at <= :now")
            .expression_attribute_values(":due", s(DUE))
            .expression_attribute_values(":now", s(now))
            .limit(limit as i32)
            .send()
            .await
            .map_err(sdk)?;
        let mut claimed = Vec::new();
        for candidate in out.items() {
            let (Some(id), Some(read_at)) = (get_s(candidate, "sk"), get_s(candidate, "next_at"))
            else {
                continue;
            };
            // The index is eventually consistent: the condition on the item itself decides.
            let leased = self
                .client
                .update_item()
                .table_name(&self.notify)
                .key("pk", s(DELIVERY))
                .key("sk", s(&id))
                .update_expression("SET next_at = :lease")
                .condition_expression("#st = :pending AND next_at = :read")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":lease", s(lease_until))
                .expression_attribute_values(":pending", s(NoticeState::Pending.as_str()))
                .expression_attribute_values(":read", s(&read_at))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            match leased {
                Ok(out) => {
                    if let Some(item) = out.attributes() {
                        claimed.push(notice_of(item)?);
                    }
                }
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(sdk(e)),
            }
        }
        claimed.sort_by(|a, b| a.delivery.id.cmp(&b.delivery.id));
        Ok(claimed)
    }

    async fn record_attempt(&self, a: &NoticeAttempt) -> Result<(), StoreError> {
        let set = ["attempts = :n", "#st = :st"];
        let mut remove = Vec::new();
        let mut values = vec![(":n", n(a.attempts)), (":st", s(a.state.as_str()))];
        let optional = [
            ("next_at", ":next", a.next_at.clone().map(s)),
            ("last_status", ":status", a.status.map(n)),
            ("last_error", ":error", a.error.clone().map(s)),
            ("delivered_at", ":delivered", a.delivered_at.clone().map(s)),
        ];
        let mut assignments = Vec::new();
        for (name, placeholder, value) in optional {
            match value {
                Some(v) => {
                    assignments.push(format!("{name} = {placeholder}"));
                    values.push((placeholder, v));
                }
                None => remove.push(name),
            }
        }
        if a.state != NoticeState::Pending {
            remove.push("due");
            remove.push("pending_key");
        }
        let mut expression = format!(
            "SET {}",
            set.iter()
                .map(|x| x.to_string())
                .chain(assignments)
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.notify)
            .key("pk", s(DELIVERY))
            .key("sk", s(&a.id))
            .update_expression(expression)
            .condition_expression("#st = :pending AND next_at = :lease")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":pending", s(NoticeState::Pending.as_str()))
            .expression_attribute_values(":lease", s(&a.lease));
        for (k, v) in values {
            update = update.expression_attribute_values(k, v);
        }
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(lease_lost(&a.id)),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn deliveries(&self, limit: u32) -> Result<Vec<NotificationDelivery>, StoreError> {
        let mut items = self.notify_partition(DELIVERY, Some(limit)).await?;
        items.truncate(limit as usize);
        items
            .iter()
            .map(|i| notice_of(i).map(|q| q.delivery))
            .collect()
    }

    async fn purge_deliveries(&self, before: &str) -> Result<u64, StoreError> {
        let mut purged = 0;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.notify)
                .key_condition_expression("pk = :pk AND sk < :cut")
                .filter_expression("#st <> :pending")
                .projection_expression("sk, #st")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":pk", s(DELIVERY))
                .expression_attribute_values(":cut", s(delivery_id_prefix(before)))
                .expression_attribute_values(":pending", s(NoticeState::Pending.as_str()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            let mut deletes = Vec::new();
            for id in out.items().iter().filter_map(|item| get_s(item, "sk")) {
                let delete = DeleteRequest::builder()
                    .key("pk", s(DELIVERY))
                    .key("sk", s(id))
                    .build()
                    .map_err(unavailable)?;
                deletes.push(WriteRequest::builder().delete_request(delete).build());
            }
            purged += deletes.len() as u64;
            self.batch_write(&self.notify, deletes).await?;
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(purged);
            }
        }
    }
}
