//! `AccountStore` on DynamoDB: one item per account in `-accounts`, listed in id order through
//! `by_id` (every item has `list_pk = a`) or `by_drift` (only drifted items have `drift_pk`);
//! the last sync's summary is `org#last_sync` in the keys table.
//!
//! A sync's replacement is batches, not one transaction (a transaction holds 100 items, an
//! organization up to thousands of accounts): a sync cut short leaves some accounts as the
//! previous sync saw them, and the next sync, which rewrites every account, sets them right.

use std::collections::HashSet;

use app::model::Page;
use app::org::{Drift, JobState, OrgAccount, RootEmailJob, SyncSummary};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};

use super::item::{get_s, s, Item};
use super::{collect, sdk, unavailable, DynamoStore};
use crate::store::paging::{decode_cursor, page_of};
use crate::store::{AccountStore, StoreError};

const LAST_SYNC: &str = "org#last_sync";

fn account_item(a: &OrgAccount) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(a).map_err(unavailable)?;
    item.insert("list_pk".into(), s("a"));
    if let Some(d) = a.drift {
        item.insert("drift_pk".into(), s(d.as_str()));
    }
    Ok(item)
}

fn account_from(mut item: Item) -> Result<OrgAccount, StoreError> {
    item.remove("list_pk");
    item.remove("drift_pk");
    serde_dynamo::from_item(item).map_err(|e| unavailable(format!("corrupt account item: {e}")))
}

impl DynamoStore {
    /// Every stored account's id.
    async fn account_ids(&self) -> Result<Vec<String>, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.accounts)
            .index_name("by_id")
            .key_condition_expression("list_pk = :a")
            .expression_attribute_values(":a", s("a"))
            .projection_expression("account_id")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)?;
        Ok(items
            .iter()
            .filter_map(|i| get_s(i, "account_id"))
            .collect())
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn replace_accounts(
        &self,
        accounts: &[OrgAccount],
        summary: &SyncSummary,
    ) -> Result<(), StoreError> {
        let listed: HashSet<&str> = accounts.iter().map(|a| a.account_id.as_str()).collect();
        if listed.len() != accounts.len() {
            return Err(StoreError::Invalid {
                field: "accounts",
                message: "an account is listed twice".into(),
            });
        }
        let mut writes = Vec::with_capacity(accounts.len());
        for a in accounts {
            let put = PutRequest::builder()
                .set_item(Some(account_item(a)?))
                .build()
                .map_err(unavailable)?;
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        for gone in self
            .account_ids()
            .await?
            .into_iter()
            .filter(|id| !listed.contains(id.as_str()))
        {
            let delete = DeleteRequest::builder()
                .key("account_id", s(gone))
                .build()
                .map_err(unavailable)?;
            writes.push(WriteRequest::builder().delete_request(delete).build());
        }
        self.batch_write(&self.accounts, writes).await?;
        self.client
            .put_item()
            .table_name(&self.keys)
            .item("key", s(LAST_SYNC))
            .item(
                "summary",
                s(serde_json::to_string(summary).expect("summaries serialize")),
            )
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn accounts(
        &self,
        drift: Option<Drift>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrgAccount>, StoreError> {
        let after = decode_cursor(cursor)?;
        let (index, pk, value) = match drift {
            Some(d) => ("by_drift", "drift_pk", d.as_str()),
            None => ("by_id", "list_pk", "a"),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.accounts)
            .index_name(index)
            .expression_attribute_values(":p", s(value));
        // An empty string cannot be compared with a key: the first page has no lower bound.
        query = if after.is_empty() {
            query.key_condition_expression(format!("{pk} = :p"))
        } else {
            query
                .key_condition_expression(format!("{pk} = :p AND account_id > :after"))
                .expression_attribute_values(":after", s(after))
        };
        let items = collect(query, limit as usize + 1, account_from).await?;
        Ok(page_of(items, limit, |a| a.account_id.clone()))
    }

    async fn account(&self, id: &str) -> Result<Option<OrgAccount>, StoreError> {
        self.get_item(&self.accounts, "account_id", id)
            .await?
            .map(account_from)
            .transpose()
    }

    async fn put_account(&self, account: &OrgAccount) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.accounts)
            .set_item(Some(account_item(account)?))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn create_job(&self, job: &RootEmailJob) -> Result<(), StoreError> {
        self.create_job_item(job).await
    }

    async fn job(&self, account_id: &str) -> Result<Option<RootEmailJob>, StoreError> {
        self.job_item(account_id).await
    }

    async fn jobs(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<RootEmailJob>, StoreError> {
        self.job_items(limit, cursor).await
    }

    async fn open_job_for(&self, address: &str) -> Result<Option<RootEmailJob>, StoreError> {
        self.open_job_item(address).await
    }

    async fn transition(&self, from: JobState, to: &RootEmailJob) -> Result<bool, StoreError> {
        self.transition_item(from, to).await
    }

    async fn last_sync(&self) -> Result<Option<SyncSummary>, StoreError> {
        let Some(item) = self.get_item(&self.keys, "key", LAST_SYNC).await? else {
            return Ok(None);
        };
        let json =
            get_s(&item, "summary").ok_or_else(|| unavailable("sync summary without summary"))?;
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| unavailable(format!("corrupt sync summary: {e}")))
    }
}
