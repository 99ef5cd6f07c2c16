//! Counts kept as records and mappings are written, so the overview reads a few items of the
//! keys table however long the log is: mail per UTC day and hour by outcome, mappings by
//! status. Each count moves in the transaction of the write it counts, which is conditional
//! on the record's state before (`processing` for a settle, `dead_letter` for a reopen, the
//! outcome read for a purge): a write tried again after a lost answer fails its condition and
//! moves nothing twice.
//!
//! Mail is counted in `volume#<day>#<shard>` items, one attribute per outcome for the day and
//! one per hour and outcome (`h07_forwarded`), the shard picked by the record's id so that
//! concurrent settles rarely contend for one item (a transaction that loses such a race is
//! tried again, see `transact`). Claims in progress are not counted: the few records still
//! `processing` are read from the `by_outcome` index instead, so a claim stays one write.

use std::collections::{BTreeSet, HashMap};

use app::model::{MappingCounts, MappingStatus, Outcome};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem, Update};

use super::item::{get_s, s, Item};
use super::{sdk, unavailable, DynamoStore};
use crate::store::{fold_volume, StoreError, Volume};

/// How many items each day's mail is counted over.
const SHARDS: u32 = 4;

/// The keys-table item that counts mappings by status.
const MAPPING_COUNTS: &str = "counts#mappings";

fn volume_key(day: &str, shard: u32) -> String {
    format!("volume#{day}#{shard}")
}

/// The shard a record is counted in: the same for every write of that record.
fn shard_of(id: &str) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % SHARDS
}

/// The day (`YYYY-MM-DD`) and hour (`HH`) of an RFC 3339 time.
fn day_and_hour(at: &str) -> Result<(&str, &str), StoreError> {
    match (at.get(..10), at.get(11..13)) {
        (Some(day), Some(hour)) => Ok((day, hour)),
        _ => Err(unavailable(format!("a record received at {at:?}"))),
    }
}

/// An update that adds `by` to each named number attribute of the keys-table item `key`.
fn add_to(
    table: &str,
    key: String,
    adds: &[(String, i64)],
) -> Result<TransactWriteItem, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .key("key", s(key))
        .update_expression(format!(
            "ADD {}",
            (0..adds.len())
                .map(|i| format!("#a{i} :a{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    for (i, (name, by)) in adds.iter().enumerate() {
        update = update
            .expression_attribute_names(format!("#a{i}"), name)
            .expression_attribute_values(format!(":a{i}"), AttributeValue::N(by.to_string()));
    }
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(unavailable)?)
        .build())
}

fn number(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl DynamoStore {
    /// The count update for the record `id` received at `received_at` leaving the outcome
    /// `from` and taking `to` (`None`: it is new, or it goes); `None` when no counted outcome
    /// changes.
    pub(super) fn count_move(
        &self,
        id: &str,
        received_at: &str,
        from: Option<Outcome>,
        to: Option<Outcome>,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let counted = |o: Option<Outcome>| o.filter(|o| *o != Outcome::Processing);
        let (from, to) = (counted(from), counted(to));
        if from == to {
            return Ok(None);
        }
        let (day, hour) = day_and_hour(received_at)?;
        let mut adds = Vec::new();
        for (outcome, by) in [(from, -1), (to, 1)] {
            if let Some(o) = outcome {
                adds.push((o.as_str().to_string(), by));
                adds.push((format!("h{hour}_{}", o.as_str()), by));
            }
        }
        add_to(&self.keys, volume_key(day, shard_of(id)), &adds).map(Some)
    }

    /// The count update for a mapping leaving the status `from` and taking `to`.
    pub(super) fn mapping_count_move(
        &self,
        from: Option<MappingStatus>,
        to: Option<MappingStatus>,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        if from == to {
            return Ok(None);
        }
        let adds: Vec<(String, i64)> = [(from, -1), (to, 1)]
            .into_iter()
            .filter_map(|(status, by)| status.map(|st| (st.as_str().to_string(), by)))
            .collect();
        add_to(&self.keys, MAPPING_COUNTS.to_string(), &adds).map(Some)
    }

    pub(super) async fn mapping_counts(&self) -> Result<MappingCounts, StoreError> {
        let item = self
            .get_item(&self.keys, "key", MAPPING_COUNTS)
            .await?
            .unwrap_or_default();
        let count = |st: MappingStatus| u64::try_from(number(&item, st.as_str())).unwrap_or(0);
        Ok(MappingCounts {
            active: count(MappingStatus::Active),
            suspended: count(MappingStatus::Suspended),
            deleted: count(MappingStatus::Deleted),
        })
    }

    pub(super) async fn read_volume(
        &self,
        days: &[String],
        hours: &[String],
    ) -> Result<Volume, StoreError> {
        let mut wanted: BTreeSet<&str> = days.iter().map(String::as_str).collect();
        for h in hours {
            wanted.insert(day_and_hour(h).map(|(d, _)| d).unwrap_or(h.as_str()));
        }
        let keys: Vec<String> = wanted
            .iter()
            .flat_map(|day| (0..SHARDS).map(move |shard| volume_key(day, shard)))
            .collect();
        let mut rows: Vec<(String, Outcome, u64)> = Vec::new();
        for item in self.batch_get(&self.keys, "key", &keys).await? {
            let Some(day) = get_s(&item, "key")
                .and_then(|k| k.strip_prefix("volume#")?.get(..10).map(String::from))
            else {
                continue;
            };
            for (attr, value) in &item {
                let Some(n) = value.as_n().ok().and_then(|n| n.parse::<u64>().ok()) else {
                    continue;
                };
                // `forwarded` counts the day, `h07_forwarded` its hour 07.
                let hourly = attr
                    .strip_prefix('h')
                    .and_then(|rest| rest.split_once('_'))
                    .filter(|(h, _)| h.len() == 2 && h.bytes().all(|b| b.is_ascii_digit()));
                let (bucket, name) = match hourly {
                    Some((hour, name)) => (format!("{day}T{hour}"), name),
                    None => (day.clone(), attr.as_str()),
                };
                if let Some(outcome) = Outcome::parse(name) {
                    rows.push((bucket, outcome, n));
                }
            }
        }
        // Claims in progress: few, and never counted on write.
        let first = days.iter().chain(hours).min().cloned();
        let first = first.unwrap_or_else(|| "0".into());
        let processing: Vec<Item> = self
            .client
            .query()
            .table_name(&self.messages)
            .index_name("by_outcome")
            .key_condition_expression("#o = :p AND sort_key >= :first")
            .expression_attribute_names("#o", "outcome")
            .expression_attribute_values(":p", s(Outcome::Processing.as_str()))
            .expression_attribute_values(":first", s(first))
            .projection_expression("received_at")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)?;
        for item in processing {
            if let Some(at) = get_s(&item, "received_at") {
                let (day, hour) = day_and_hour(&at)?;
                rows.push((day.to_string(), Outcome::Processing, 1));
                rows.push((format!("{day}T{hour}"), Outcome::Processing, 1));
            }
        }
        Ok(fold_volume(rows, days, hours))
    }

    /// Counts what a store written before counts were kept already holds, once: the first
    /// server to start with this version elects itself by creating the `counts#since` marker,
    /// then adds every settled record and every mapping to the counts. Writes made by other
    /// servers of this version in the seconds between the marker and the end of the reading
    /// may be counted twice (docs/architecture.md); a fresh store has nothing to count.
    pub(super) async fn count_existing(&self, now: &str) -> Result<(), StoreError> {
        let elected = self
            .client
            .put_item()
            .table_name(&self.keys)
            .item("key", s("counts#since"))
            .item("at", s(now))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", "key")
            .send()
            .await;
        match elected {
            Ok(_) => {}
            Err(e) if super::condition_failed(&e) => return Ok(()),
            Err(e) => return Err(sdk(e)),
        }
        let mut per_item: std::collections::BTreeMap<String, Vec<(String, i64)>> =
            Default::default();
        // Every sort key starts with a year: "0" comes before them all (an empty bound is
        // not allowed).
        let records = self
            .log_range(">=", "0", "id, received_at, outcome")
            .await?;
        for item in &records {
            let (Some(id), Some(at), Some(outcome)) = (
                get_s(item, "id"),
                get_s(item, "received_at"),
                get_s(item, "outcome").and_then(|o| Outcome::parse(&o)),
            ) else {
                continue;
            };
            if outcome == Outcome::Processing {
                continue;
            }
            let (day, hour) = day_and_hour(&at)?;
            let adds = per_item.entry(volume_key(day, shard_of(&id))).or_default();
            for name in [
                outcome.as_str().to_string(),
                format!("h{hour}_{}", outcome.as_str()),
            ] {
                match adds.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, by)) => *by += 1,
                    None => adds.push((name, 1)),
                }
            }
        }
        let mappings: Vec<Item> = self
            .client
            .scan()
            .table_name(&self.mappings)
            .projection_expression("#s")
            .expression_attribute_names("#s", "status")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)?;
        let statuses = per_item.entry(MAPPING_COUNTS.to_string()).or_default();
        for status in mappings.iter().filter_map(|m| get_s(m, "status")) {
            match statuses.iter_mut().find(|(n, _)| *n == status) {
                Some((_, by)) => *by += 1,
                None => statuses.push((status, 1)),
            }
        }
        for (key, adds) in per_item {
            for chunk in adds.chunks(50).filter(|c| !c.is_empty()) {
                let update = add_to(&self.keys, key.clone(), chunk)?;
                self.transact(vec![update]).await?.map_err(|_| {
                    unavailable(format!("counting what the store holds: {key} was refused"))
                })?;
            }
        }
        tracing::info!(
            records = records.len(),
            mappings = mappings.len(),
            "counted what the store held before counts were kept"
        );
        Ok(())
    }

    /// The items of `table` whose key attribute `key` is one of `values`, in batches of 100
    /// (BatchGetItem's limit), asking again for what a throttled batch left.
    pub(super) async fn batch_get(
        &self,
        table: &str,
        key: &str,
        values: &[String],
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in values.chunks(100) {
            let mut request = KeysAndAttributes::builder().consistent_read(true);
            for v in chunk {
                request = request.keys(HashMap::from([(key.to_string(), s(v.clone()))]));
            }
            let mut pending =
                HashMap::from([(table.to_string(), request.build().map_err(unavailable)?)]);
            let mut attempt = 0;
            loop {
                let out = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(sdk)?;
                if let Some(items) = out.responses().and_then(|r| r.get(table)) {
                    found.extend(items.iter().cloned());
                }
                pending = out.unprocessed_keys.unwrap_or_default();
                if pending.values().all(|k| k.keys().is_empty()) {
                    break;
                }
                attempt += 1;
                if attempt == 5 {
                    return Err(StoreError::Unavailable(format!(
                        "{table}: a batch read stayed throttled"
                    )));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_counted_in_one_shard_every_time() {
        for id in ["", "a", "0f3c9e", "ffffffffffffffffffffffffffffffff"] {
            assert!(shard_of(id) < SHARDS);
            assert_eq!(shard_of(id), shard_of(id));
        }
        let spread: BTreeSet<u32> = (0..64).map(|i| shard_of(&format!("{i:032x}"))).collect();
        assert_eq!(spread.len(), SHARDS as usize, "ids spread over every shard");
    }

    #[test]
    fn days_and_hours_come_from_the_received_time() {
        assert_eq!(
            day_and_hour("2026-12-04T07:59:59.999Z").unwrap(),
            ("2026-12-04", "07")
        );
        assert!(day_and_hour("2026-12-04").is_err());
    }
}
