//! `MessageStore` on DynamoDB: the `-messages` table, one item per recipient, claimed with
//! conditional puts and listed through its `by_time`, `by_recipient` and `by_outcome` indexes.

use std::collections::HashMap;

use app::model::{DeliveryState, DeliveryStatus, MessageRecord, Outcome, Page};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{get_s, put_where, s, Item};
use super::{collect, condition_failed, sdk, unavailable, DynamoStore};
use crate::store::paging::{decode_cursor, page_of};
use crate::store::{
    message_sort_key, not_reopenable, reopened, taken_over, Claim, DeliveryUpdate, MessageFilter,
    MessageStore, StoreError, Volume,
};

fn message_item(r: &MessageRecord, lease_until: Option<&str>) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(r).map_err(unavailable)?;
    // The key of the `by_mailer_id` index must be a string or absent, never null.
    if r.mailer_message_id.is_none() {
        item.remove("mailer_message_id");
    }
    if let Some(d) = &r.delivery {
        item.insert("delivery_rank".into(), rank(d.state));
    }
    item.insert("sort_key".into(), s(message_sort_key(r)));
    item.insert("list_pk".into(), s("m"));
    if let Some(l) = lease_until {
        item.insert("lease_until".into(), s(l));
    }
    Ok(item)
}

fn message_from(item: Item) -> Result<(MessageRecord, Option<String>), StoreError> {
    let lease = get_s(&item, "lease_until");
    let record = serde_dynamo::from_item(item)
        .map_err(|e| unavailable(format!("corrupt message item: {e}")))?;
    Ok((record, lease))
}

fn rank(state: DeliveryState) -> AttributeValue {
    AttributeValue::N(state.rank().to_string())
}

/// A record as retention lists it.
struct Listed {
    id: String,
    outcome: Outcome,
    received_at: String,
}

impl DynamoStore {
    /// Deletes the settled records of one message (each with the outcome and time the log
    /// listed), then its raw message unless one of them is still being delivered; how many
    /// records this call deleted.
    async fn purge_message(&self, ses_id: &str, records: &[Listed]) -> Result<u64, StoreError> {
        let mut gone = 0;
        let mut busy = false;
        for r in records {
            if r.outcome == Outcome::Processing {
                busy = true;
                continue;
            }
            // Deleted only in the outcome listed; then its count goes down. Two writes, not one
            // transaction: every server purges the same records at once, and a transaction that
            // fails its condition is where moto (the tests' DynamoDB) loses concurrent writes,
            // so the purge keeps the single conditional delete. A server that dies between
            // the two leaves that day counted one too high: a day past retention, which the
            // 14-day overview shows only when retention is shorter than 14 days.
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.messages)
                .key("id", s(r.id.clone()))
                .condition_expression("outcome = :o")
                .expression_attribute_values(":o", s(r.outcome.as_str()))
                .send()
                .await;
            match deleted {
                Ok(_) => {
                    gone += 1;
                    if let Some(down) =
                        self.count_move(&r.id, &r.received_at, Some(r.outcome), None)?
                    {
                        self.transact(vec![down]).await?.map_err(|_| {
                            unavailable("retention: a count item refused its decrement")
                        })?;
                    }
                    continue;
                }
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(sdk(e)),
            }
            // Every server purges: a record another one deleted first is not counted again,
            // and is no reason to keep its raw message; one that changed since it was listed
            // (replayed) waits for the next purge.
            if self.get_item(&self.messages, "id", &r.id).await?.is_some() {
                busy = true;
            }
        }
        if !busy {
            self.delete_raw(ses_id).await?;
        }
        Ok(gone)
    }

    /// The `projection` of every message-log record whose sort key is `op` (`<`, `>=`) `bound`,
    /// read from the `by_time` index.
    pub(super) async fn log_range(
        &self,
        op: &str,
        bound: &str,
        projection: &str,
    ) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.messages)
            .index_name("by_time")
            .key_condition_expression(format!("list_pk = :m AND sort_key {op} :bound"))
            .expression_attribute_values(":m", s("m"))
            .expression_attribute_values(":bound", s(bound))
            .projection_expression(projection)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn claim(
        &self,
        record: &MessageRecord,
        lease_until: &str,
        now: &str,
    ) -> Result<Claim, StoreError> {
        // Most claims are of a message not seen before: create the record first, and read
        // the one already there only when the create fails (the failed condition hands it
        // back where the backend supports that; otherwise it is read). One call on the
        // common path instead of a read and a write.
        let created = self
            .client
            .put_item()
            .table_name(&self.messages)
            .set_item(Some(message_item(record, Some(lease_until))?))
            .condition_expression("attribute_not_exists(id)")
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        let returned = match created {
            Ok(_) => return Ok(Claim::Mine(record.clone())),
            Err(e) if condition_failed(&e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    c.item().filter(|i| !i.is_empty()).cloned()
                }
                _ => None,
            },
            Err(e) => return Err(sdk(e)),
        };
        let existing = match returned {
            Some(item) => Some(item),
            None => self.get_item(&self.messages, "id", &record.id).await?,
        };
        // Gone again meanwhile (purged): SNS's next delivery creates it.
        let Some((current, lease)) = existing.map(message_from).transpose()? else {
            return Ok(Claim::Busy);
        };
        match (current, lease) {
            (current, _) if current.outcome != Outcome::Processing => Ok(Claim::Done(current)),
            (current, Some(lease)) if lease.as_str() < now => {
                let taken = taken_over(current, now);
                let item = message_item(&taken, Some(lease_until))?;
                let values = Item::from([(":old".to_string(), s(lease))]);
                Ok(
                    if self
                        .put_if(&self.messages, item, "lease_until = :old", values)
                        .await?
                    {
                        Claim::Mine(taken)
                    } else {
                        Claim::Busy
                    },
                )
            }
            _ => Ok(Claim::Busy),
        }
    }

    async fn settle(&self, record: &MessageRecord) -> Result<(), StoreError> {
        let mut items = vec![put_where(
            &self.messages,
            message_item(record, None)?,
            "attribute_not_exists(id) OR (outcome = :p AND attempts = :a)",
            &[
                (":p", s(Outcome::Processing.as_str())),
                (":a", AttributeValue::N(record.attempts.to_string())),
            ],
        )?];
        items.extend(self.count_move(
            &record.id,
            &record.received_at,
            Some(Outcome::Processing),
            Some(record.outcome),
        )?);
        // A failed condition on the record: settled already (by this settle's earlier try, or
        // by the worker that took the claim over), so nothing is written or counted again.
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(failed) if failed.first() == Some(&true) => Ok(()),
            Err(_) => Err(unavailable("settling a record: the count item was refused")),
        }
    }

    async fn record_delivery(
        &self,
        mailer_message_id: &str,
        status: &DeliveryStatus,
    ) -> Result<DeliveryUpdate, StoreError> {
        let carried: Vec<Item> = self
            .client
            .query()
            .table_name(&self.messages)
            .index_name("by_mailer_id")
            .key_condition_expression("mailer_message_id = :m")
            .expression_attribute_values(":m", s(mailer_message_id))
            .projection_expression("id")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)?;
        let delivery: AttributeValue =
            serde_dynamo::to_attribute_value(status).map_err(unavailable)?;
        let mut done = DeliveryUpdate::default();
        for id in carried.iter().filter_map(|item| get_s(item, "id")) {
            let updated = self
                .client
                .update_item()
                .table_name(&self.messages)
                .key("id", s(id))
                .update_expression("SET delivery = :d, delivery_rank = :r")
                .condition_expression(
                    "attribute_exists(id) AND (attribute_not_exists(delivery_rank) OR delivery_rank < :r)",
                )
                .expression_attribute_values(":d", delivery.clone())
                .expression_attribute_values(":r", rank(status.state))
                .send()
                .await;
            match updated {
                Ok(_) => done.updated += 1,
                Err(e) if condition_failed(&e) => done.unchanged += 1,
                Err(e) => return Err(sdk(e)),
            }
        }
        Ok(done)
    }

    async fn release(&self, id: &str, now: &str) -> Result<(), StoreError> {
        let released = self
            .client
            .update_item()
            .table_name(&self.messages)
            .key("id", s(id))
            .update_expression("SET lease_until = :now")
            .condition_expression("outcome = :p")
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":p", s(Outcome::Processing.as_str()))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn renew(&self, id: &str, attempts: u32, lease_until: &str) -> Result<bool, StoreError> {
        let renewed = self
            .client
            .update_item()
            .table_name(&self.messages)
            .key("id", s(id))
            .update_expression("SET lease_until = :until")
            .condition_expression("outcome = :p AND attempts = :a")
            .expression_attribute_values(":until", s(lease_until))
            .expression_attribute_values(":p", s(Outcome::Processing.as_str()))
            .expression_attribute_values(
                ":a",
                aws_sdk_dynamodb::types::AttributeValue::N(attempts.to_string()),
            )
            .send()
            .await;
        match renewed {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn reopen(
        &self,
        id: &str,
        from: Outcome,
        lease_until: &str,
        now: &str,
    ) -> Result<MessageRecord, StoreError> {
        let current = self.message(id).await?;
        if current.outcome != from {
            return Err(not_reopenable(&current, from));
        }
        let open = reopened(current.clone(), now);
        // Conditional on what was read, so of two concurrent replays only one reopens it.
        let mut items = vec![put_where(
            &self.messages,
            message_item(&open, Some(lease_until))?,
            "outcome = :dl AND updated_at = :at",
            &[
                (":dl", s(from.as_str())),
                (":at", s(current.updated_at.clone())),
            ],
        )?];
        items.extend(self.count_move(
            &current.id,
            &current.received_at,
            Some(from),
            Some(open.outcome),
        )?);
        if self.transact(items).await?.is_ok() {
            Ok(open)
        } else {
            Err(StoreError::Conflict(format!(
                "the message {id} changed meanwhile (another replay?)"
            )))
        }
    }

    async fn message(&self, id: &str) -> Result<MessageRecord, StoreError> {
        match self.get_item(&self.messages, "id", id).await? {
            Some(item) => message_from(item).map(|(m, _)| m),
            None => Err(StoreError::NotFound(format!("the message {id}"))),
        }
    }

    async fn messages(
        &self,
        filter: &MessageFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<MessageRecord>, StoreError> {
        let before = decode_cursor(cursor)?;
        let mut values = Item::new();
        let mut names = HashMap::from([("#sk".to_string(), "sort_key".to_string())]);
        let (index, mut key_condition) = match (&filter.recipient, filter.outcome) {
            (Some(r), _) => {
                values.insert(":k".into(), s(r.clone()));
                names.insert("#k".into(), "recipient".into());
                ("by_recipient", "#k = :k".to_string())
            }
            (None, Some(o)) => {
                values.insert(":k".into(), s(o.as_str()));
                names.insert("#k".into(), "outcome".into());
                ("by_outcome", "#k = :k".to_string())
            }
            (None, None) => {
                values.insert(":k".into(), s("m"));
                names.insert("#k".into(), "list_pk".into());
                ("by_time", "#k = :k".to_string())
            }
        };
        // The upper bound is exclusive: the page's cursor or the filter's `until`, whichever
        // is lower. A key condition takes one range, so with a lower bound too it becomes an
        // inclusive BETWEEN and the one record equal to the bound is dropped below.
        let upper = [Some(before).filter(|b| !b.is_empty()), filter.until.clone()]
            .into_iter()
            .flatten()
            .min();
        let lower = filter.since.clone();
        match (&lower, &upper) {
            // Nothing lies in a range that ends before it starts (a cursor from before the
            // filter's start, or inverted days), and DynamoDB refuses such a BETWEEN.
            (Some(lo), Some(hi)) if hi < lo => {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                })
            }
            (Some(lo), Some(hi)) => {
                key_condition.push_str(" AND #sk BETWEEN :lo AND :hi");
                values.insert(":lo".into(), s(lo.clone()));
                values.insert(":hi".into(), s(hi.clone()));
            }
            (Some(lo), None) => {
                key_condition.push_str(" AND #sk >= :lo");
                values.insert(":lo".into(), s(lo.clone()));
            }
            (None, Some(hi)) => {
                key_condition.push_str(" AND #sk < :hi");
                values.insert(":hi".into(), s(hi.clone()));
            }
            (None, None) => {
                names.remove("#sk");
            }
        }
        let mut filters = Vec::new();
        if let (Some(_), Some(o)) = (&filter.recipient, filter.outcome) {
            values.insert(":o".into(), s(o.as_str()));
            names.insert("#o".into(), "outcome".into());
            filters.push("#o = :o");
        }
        if let Some(state) = filter.delivery {
            // The rank names the state one to one, and is what the conditional write keeps.
            values.insert(":ds".into(), rank(state));
            names.insert("#dr".into(), "delivery_rank".into());
            filters.push("#dr = :ds");
        }
        if let Some(class) = filter.class {
            values.insert(":mc".into(), s(class.as_str()));
            names.insert("#mc".into(), "class".into());
            filters.push("#mc = :mc");
        }
        let filter_expression = (!filters.is_empty()).then(|| filters.join(" AND "));
        let query = self
            .client
            .query()
            .table_name(&self.messages)
            .index_name(index)
            .key_condition_expression(&key_condition)
            .set_filter_expression(filter_expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(false);
        let mut found = collect(query, limit as usize + 2, |item| {
            message_from(item).map(|(m, _)| m)
        })
        .await?;
        if let Some(hi) = upper {
            found.retain(|m| message_sort_key(m) < hi);
        }
        found.truncate(limit as usize + 1);
        Ok(page_of(found, limit, message_sort_key))
    }

    async fn volume(&self, days: &[String], hours: &[String]) -> Result<Volume, StoreError> {
        self.read_volume(days, hours).await
    }

    async fn purge(&self, cutoff: &str) -> Result<u64, StoreError> {
        let old = self
            .log_range("<", cutoff, "id, ses_message_id, outcome, received_at")
            .await?;
        let mut by_message: std::collections::BTreeMap<String, Vec<Listed>> = Default::default();
        for item in &old {
            let listed = (
                get_s(item, "id"),
                get_s(item, "ses_message_id"),
                get_s(item, "outcome").and_then(|o| Outcome::parse(&o)),
                get_s(item, "received_at"),
            );
            if let (Some(id), Some(ses_id), Some(outcome), Some(received_at)) = listed {
                by_message.entry(ses_id).or_default().push(Listed {
                    id,
                    outcome,
                    received_at,
                });
            }
        }
        // Message by message: each raw message goes right after its own records, and a
        // failure (throttling past the SDK's retries, a shutdown) leaves the messages already
        // done whole rather than their raw messages behind with no record to find them by.
        let mut gone = 0;
        for (ses_id, ids) in by_message {
            match self.purge_message(&ses_id, &ids).await {
                Ok(n) => gone += n,
                Err(e) => {
                    tracing::warn!(purged = gone, error = %e, "retention: stopped part-way; the rest waits for the next purge");
                    return Err(e);
                }
            }
        }
        Ok(gone)
    }
}
