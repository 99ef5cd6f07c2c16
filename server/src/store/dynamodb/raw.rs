//! `RawStore` on DynamoDB. An item holds at most 400 KB, and kept messages reach 40 MB, so a
//! message is split into parts of `PART_BYTES` in the `-raw` table (`id`, `part` = 00000…).
//! Part 0 also records how many parts the message has, so a shorter message stored over a
//! longer one never picks up the longer one's stale tail. A message kept as a reference to
//! its S3 object is one part 0 with an `s3` attribute and no data.

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};

use super::item::{s, Item};
use super::{sdk, unavailable, DynamoStore};
use crate::store::{Kept, RawStore, S3Object, StoreError};

/// Leaves room under the 400 KB item limit for the keys and attribute names.
const PART_BYTES: usize = 350 * 1024;

fn part_key(n: usize) -> String {
    format!("{n:05}")
}

impl DynamoStore {
    async fn raw_items(&self, id: &str) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.raw)
            .key_condition_expression("id = :id")
            .expression_attribute_values(":id", s(id))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)
    }

    pub(super) async fn delete_raw(&self, id: &str) -> Result<(), StoreError> {
        let deletes = self
            .raw_items(id)
            .await?
            .into_iter()
            .filter_map(|item| {
                let part = item.get("part")?.clone();
                let req = DeleteRequest::builder()
                    .key("id", s(id))
                    .key("part", part)
                    .build()
                    .ok()?;
                Some(WriteRequest::builder().delete_request(req).build())
            })
            .collect();
        self.batch_write(&self.raw, deletes).await
    }
}

#[async_trait]
impl RawStore for DynamoStore {
    async fn put_raw(&self, id: &str, raw: &[u8], now: &str) -> Result<(), StoreError> {
        let parts: Vec<&[u8]> = if raw.is_empty() {
            vec![raw]
        } else {
            raw.chunks(PART_BYTES).collect()
        };
        let count = parts.len();
        let mut puts = Vec::with_capacity(count);
        // Part 0 goes last: until it is written with the new count, readers see the old
        // message (or none), never a mix.
        for (n, bytes) in parts.into_iter().enumerate().rev() {
            let mut item = Item::new();
            item.insert("id".into(), s(id));
            item.insert("part".into(), s(part_key(n)));
            item.insert("data".into(), AttributeValue::B(Blob::new(bytes)));
            if n == 0 {
                item.insert("parts".into(), AttributeValue::N(count.to_string()));
                item.insert("size".into(), AttributeValue::N(raw.len().to_string()));
                item.insert("created_at".into(), s(now));
            }
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(unavailable)?;
            puts.push(WriteRequest::builder().put_request(put).build());
        }
        let head = puts.pop().expect("at least one part");
        self.batch_write(&self.raw, puts).await?;
        self.batch_write(&self.raw, vec![head]).await
    }

    async fn put_raw_location(
        &self,
        id: &str,
        object: &S3Object,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("id".into(), s(id));
        item.insert("part".into(), s(part_key(0)));
        item.insert("s3".into(), s(object.url()));
        item.insert("parts".into(), AttributeValue::N("0".into()));
        item.insert("size".into(), AttributeValue::N("0".into()));
        item.insert("created_at".into(), s(now));
        // One put replaces part 0 whole; older parts past it are never read (`parts` is 0).
        self.client
            .put_item()
            .table_name(&self.raw)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn raw(&self, id: &str) -> Result<Option<Kept>, StoreError> {
        let items = self.raw_items(id).await?;
        let Some(head) = items.first() else {
            return Ok(None);
        };
        if let Some(url) = head.get("s3").and_then(|v| v.as_s().ok()) {
            return S3Object::parse(url)
                .map(|o| Some(Kept::S3(o)))
                .ok_or_else(|| {
                    unavailable(format!("raw message {id} has a bad location {url:?}"))
                });
        }
        let number = |k: &str| {
            head.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| unavailable(format!("raw message {id} has no {k}")))
        };
        let (count, size) = (number("parts")?, number("size")?);
        let mut out = Vec::with_capacity(size);
        for (n, item) in items.iter().take(count).enumerate() {
            let part = item.get("part").and_then(|v| v.as_s().ok());
            let data = item.get("data").and_then(|v| v.as_b().ok());
            match (part, data) {
                (Some(p), Some(d)) if *p == part_key(n) => out.extend_from_slice(d.as_ref()),
                _ => return Err(unavailable(format!("raw message {id} is missing part {n}"))),
            }
        }
        if out.len() != size {
            return Err(unavailable(format!(
                "raw message {id} has {} of {size} bytes",
                out.len()
            )));
        }
        Ok(Some(Kept::Bytes(out)))
    }
}
