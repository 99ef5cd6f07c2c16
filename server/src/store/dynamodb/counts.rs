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

/// How long a count of an older store may go on before another server takes it over.
const STALE_COUNT: std::time::Duration = std::time::Duration::from_secs(600);

/// The keys-table item that counts mappings by status.
const MAPPING_COUNTS: &str = "counts#mappings";

/// The shard that holds what `count_existing` found: written whole (`PutItem`), so counting
/// again replaces it instead of adding to it.
const BASELINE: &str = "b";

fn volume_key(day: &str, shard: impl std::fmt::Display) -> String {
    format!("volume#{day}#{shard}")
}

/// Every item one day's mail is counted over: the live shards and the baseline.
fn day_keys(day: &str) -> impl Iterator<Item = String> + '_ {
    (0..SHARDS)
        .map(|shard| volume_key(day, shard))
        .chain(std::iter::once(volume_key(day, BASELINE)))
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
        let keys = [
            MAPPING_COUNTS.to_string(),
            format!("{MAPPING_COUNTS}#{BASELINE}"),
        ];
        let items = self.batch_get(&self.keys, "key", &keys).await?;
        // Summed signed: a live item may be below zero where it moved a mapping the baseline
        // counted.
        let count = |st: MappingStatus| {
            let n: i64 = items.iter().map(|item| number(item, st.as_str())).sum();
            u64::try_from(n).unwrap_or(0)
        };
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
        let keys: Vec<String> = wanted.iter().flat_map(|day| day_keys(day)).collect();
        // Summed signed per bucket first: a live shard is below zero where it moved a record
        // the baseline counted (a replay of mail from before counts were kept).
        let mut sums: HashMap<(String, Outcome), i64> = HashMap::new();
        for item in self.batch_get(&self.keys, "key", &keys).await? {
            let Some(day) = get_s(&item, "key")
                .and_then(|k| k.strip_prefix("volume#")?.get(..10).map(String::from))
            else {
                continue;
            };
            for (attr, value) in &item {
                let Some(n) = value.as_n().ok().and_then(|n| n.parse::<i64>().ok()) else {
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
                    *sums.entry((bucket, outcome)).or_default() += n;
                }
            }
        }
        let mut rows: Vec<(String, Outcome, u64)> = sums
            .into_iter()
            .map(|((bucket, outcome), n)| (bucket, outcome, u64::try_from(n).unwrap_or(0)))
            .collect();
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
    /// server to start with this version elects itself by creating the `counts#since` marker
    /// (state `counting`), writes what it found as the baseline items (`…#b`, whole, so a
    /// count begun again replaces them), then marks it `done`. A count that has said nothing
    /// for `STALE_COUNT` (its server died part-way) is taken over by the next server to start.
    /// Records and mappings changed by other servers during those seconds may be counted
    /// twice (docs/architecture.md); a fresh store has nothing to count.
    pub(super) async fn count_existing(&self) -> Result<(), StoreError> {
        const MARKER: &str = "counts#since";
        let now = crate::clock::now_rfc3339();
        let marker = self.get_item(&self.keys, "key", MARKER).await?;
        let condition = match &marker {
            None => ("attribute_not_exists(#k)".to_string(), None),
            Some(item) if get_s(item, "state").as_deref() == Some("done") => return Ok(()),
            Some(item) => {
                let at = get_s(item, "at").unwrap_or_default();
                if at > crate::clock::ago(STALE_COUNT) {
                    return Ok(()); // another server is counting
                }
                ("#at = :at".to_string(), Some(at))
            }
        };
        let mut elect = self
            .client
            .put_item()
            .table_name(&self.keys)
            .item("key", s(MARKER))
            .item("at", s(now.clone()))
            .item("state", s("counting"))
            .condition_expression(&condition.0);
        elect = match condition.1 {
            None => elect.expression_attribute_names("#k", "key"),
            Some(at) => elect
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":at", s(at)),
        };
        match elect.send().await {
            Ok(_) => {}
            Err(e) if super::condition_failed(&e) => return Ok(()),
            Err(e) => return Err(sdk(e)),
        }
        let mut per_item: std::collections::BTreeMap<String, Vec<(String, i64)>> =
            Default::default();
        let mut bump = |key: String, name: String| {
            let adds = per_item.entry(key).or_default();
            match adds.iter_mut().find(|(n, _)| *n == name) {
                Some((_, by)) => *by += 1,
                None => adds.push((name, 1)),
            }
        };
        // Every sort key starts with a year: "0" comes before them all (an empty bound is
        // not allowed).
        let records = self
            .log_range(">=", "0", "id, received_at, outcome")
            .await?;
        for item in &records {
            let (Some(at), Some(outcome)) = (
                get_s(item, "received_at"),
                get_s(item, "outcome").and_then(|o| Outcome::parse(&o)),
            ) else {
                continue;
            };
            if outcome == Outcome::Processing {
                continue;
            }
            let (day, hour) = day_and_hour(&at)?;
            let key = volume_key(day, BASELINE);
            bump(key.clone(), outcome.as_str().to_string());
            bump(key, format!("h{hour}_{}", outcome.as_str()));
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
        for status in mappings.iter().filter_map(|m| get_s(m, "status")) {
            bump(format!("{MAPPING_COUNTS}#{BASELINE}"), status);
        }
        for (key, counts) in per_item {
            let mut item = Item::from([("key".to_string(), s(key))]);
            for (name, n) in counts {
                item.insert(name, AttributeValue::N(n.to_string()));
            }
            self.client
                .put_item()
                .table_name(&self.keys)
                .set_item(Some(item))
                .send()
                .await
                .map_err(sdk)?;
        }
        self.client
            .put_item()
            .table_name(&self.keys)
            .item("key", s(MARKER))
            .item("at", s(now))
            .item("state", s("done"))
            .send()
            .await
            .map_err(sdk)?;
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

    /// A store written before counts were kept: what it holds is counted once at start, a
    /// count cut short is taken over, and later moves of counted records add up.
    #[tokio::test]
    async fn an_older_store_is_counted_once_and_moves_add_up() {
        use crate::store::{Claim, MappingStore, MessageStore};
        use app::model::{MessageRecord, OutcomeCounts};
        let store = super::super::tests::store().await;
        let at = "2033-01-02T03:04:05.000Z";
        let lease = "2999-01-01T00:00:00.000Z";
        let mut dead = None;
        for (i, outcome) in [Outcome::Forwarded, Outcome::Forwarded, Outcome::DeadLetter]
            .into_iter()
            .enumerate()
        {
            let r = MessageRecord {
                id: format!("old-{i}/a@mail.example.com"),
                ses_message_id: format!("old-{i}"),
                recipient: "a@mail.example.com".into(),
                sender: "s@example.org".into(),
                subject: None,
                size: 1,
                verdicts: String::new(),
                outcome: Outcome::Processing,
                delivered_to: None,
                detail: String::new(),
                mailer_message_id: None,
                error: None,
                attempts: 1,
                received_at: at.into(),
                updated_at: at.into(),
                delivery: None,
                class: None,
                policy: None,
            };
            assert!(matches!(
                store.claim(&r, lease, at).await,
                Ok(Claim::Mine(_))
            ));
            let done = MessageRecord { outcome, ..r };
            store.settle(&done).await.unwrap();
            dead = Some(done);
        }
        store
            .vend(&crate::store::conformance::spec("old-app"))
            .await
            .unwrap();
        let days = ["2033-01-02".to_string()];
        let hours = ["2033-01-02T03".to_string()];
        let want = OutcomeCounts {
            forwarded: 2,
            dead_letter: 1,
            ..Default::default()
        };
        let volume = store.read_volume(&days, &hours).await.unwrap();
        assert_eq!((volume.days[0].counts, volume.hours), (want, want));
        // Forget the counts, as a store from before them would have none.
        for key in (0..SHARDS)
            .map(|shard| volume_key("2033-01-02", shard))
            .chain([MAPPING_COUNTS.to_string(), "counts#since".to_string()])
        {
            store
                .client
                .delete_item()
                .table_name(&store.keys)
                .key("key", s(key))
                .send()
                .await
                .unwrap();
        }
        assert_eq!(
            store.read_volume(&days, &hours).await.unwrap(),
            Volume::default()
        );
        assert_eq!(store.mapping_counts().await.unwrap().active, 0);
        store.count_existing().await.unwrap();
        let volume = store.read_volume(&days, &hours).await.unwrap();
        assert_eq!((volume.days[0].counts, volume.hours), (want, want));
        assert_eq!(store.mapping_counts().await.unwrap().active, 1);
        // Counted once: starting again changes nothing.
        store.count_existing().await.unwrap();
        assert_eq!(store.mapping_counts().await.unwrap().active, 1);
        // A count cut short (its marker left at `counting` long ago) is done again, whole.
        store
            .client
            .put_item()
            .table_name(&store.keys)
            .item("key", s("counts#since"))
            .item("at", s("2020-01-01T00:00:00.000Z"))
            .item("state", s("counting"))
            .send()
            .await
            .unwrap();
        store.count_existing().await.unwrap();
        assert_eq!(store.mapping_counts().await.unwrap().active, 1);
        // A counted dead letter replayed: the live shard goes below zero, the sum is right.
        let dead = dead.unwrap();
        store
            .reopen(
                &dead.id,
                Outcome::DeadLetter,
                lease,
                "2033-01-03T00:00:00.000Z",
            )
            .await
            .unwrap();
        let volume = store.read_volume(&days, &hours).await.unwrap();
        let reopened = OutcomeCounts {
            forwarded: 2,
            processing: 1,
            ..Default::default()
        };
        assert_eq!(volume.days[0].counts, reopened);
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
