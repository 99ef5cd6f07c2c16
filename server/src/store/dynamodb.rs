//! The production store: DynamoDB through the AWS SDK. Seven tables share a prefix:
//!
//! * `<prefix>-mappings` — one item per address (`address`), with GSIs `by_owner`
//!   (owner, address), `by_state` (state = live|deleted, address) and `by_account_name`;
//! * `<prefix>-keys` — uniqueness and bookkeeping items keyed by `key`: `name#<account name>`,
//!   `idem#<idempotency key>`, `counter#<base>` (an atomic `ADD` counter), `token#<digest>`;
//! * `<prefix>-audit` — (subject, id) — one item per change, with GSI `by_time` (list_pk, id)
//!   for the whole log newest first;
//! * `<prefix>-tokens` — one item per API token (`id`);
//! * `<prefix>-messages` — the message log, one item per recipient (`id`), with GSIs
//!   `by_time`, `by_recipient` and `by_outcome`;
//! * `<prefix>-raw` — kept raw messages in chunks (`id`, `part`), see `raw`;
//! * `<prefix>-sessions` — sign-in sessions (`id`), TTL on `expires_at`.
//!
//! Settings live in the keys table as `setting#<key>`.
//!
//! Uniqueness never relies on check-then-put: each vend is one transaction whose conditions
//! (`attribute_not_exists`) fail if any other writer got there first.

mod raw;
mod sessions;
mod settings;

use std::collections::HashMap;
use std::time::Duration;

use app::model::{
    AuditEntry, DayVolume, Mapping, MappingCounts, MappingStatus, MessageRecord, Outcome, Page,
};
use app::naming;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TableStatus, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;

use super::{
    decode_cursor, edit_action, fold_volume, keyed_page, message_sort_key, not_a_dead_letter,
    page_of, reopened, taken, taken_over, Claim, MappingChange, MappingFilter, MappingStore,
    MessageFilter, MessageStore, NameSpec, Store, StoreError, Taken, TokenStore, VendSpec, Vended,
    MAX_SKIPS,
};
use crate::tokens::{ApiToken, Scope};

type Item = HashMap<String, AttributeValue>;

/// One table `migrate` creates.
struct TableSpec<'a> {
    table: &'a str,
    /// The attributes its keys and indexes use (all strings).
    attributes: Vec<&'a str>,
    key: Vec<KeySchemaElement>,
    indexes: Vec<GlobalSecondaryIndex>,
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    mappings: String,
    keys: String,
    audit: String,
    tokens: String,
    messages: String,
    raw: String,
    sessions: String,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The SDK's error as `Code: message` (service errors) or its context chain, for the log.
fn sdk<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let text = match &e {
        SdkError::ServiceError(se) => format!(
            "DynamoDB {}: {}",
            se.err().code().unwrap_or("error"),
            se.err().message().unwrap_or("no message")
        ),
        _ => format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)),
    };
    StoreError::Unavailable(text)
}

/// Whether a write failed only because its condition did not hold.
fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn get_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn state_of(status: MappingStatus) -> &'static str {
    if status == MappingStatus::Deleted {
        "deleted"
    } else {
        "live"
    }
}

/// The item for a mapping at `version`, which every write increments so that an edit can
/// require the version it read (optimistic concurrency without relying on clocks).
fn mapping_item(m: &Mapping, version: u64) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(m).map_err(unavailable)?;
    item.insert("state".into(), s(state_of(m.status)));
    item.insert("version".into(), AttributeValue::N(version.to_string()));
    Ok(item)
}

fn version_of(item: &Item) -> u64 {
    item.get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn mapping_from(item: Item) -> Result<Mapping, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| unavailable(format!("corrupt mapping item: {e}")))
}

fn put(table: &str, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
    let mut p = Put::builder().table_name(table).set_item(Some(item));
    if let Some(c) = condition {
        p = p.condition_expression(c);
        // `key` (the keys table's key) is a reserved word in DynamoDB expressions.
        if c.contains("#k") {
            p = p.expression_attribute_names("#k", "key");
        }
    }
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(unavailable)?)
        .build())
}

fn audit_item(
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    before: Option<&Mapping>,
    after: Option<&Mapping>,
) -> Item {
    let mut item = Item::new();
    item.insert("subject".into(), s(subject));
    // One partition for the whole log (`by_time`); audit writes are rare, so it stays cool.
    item.insert("list_pk".into(), s(AUDIT_LIST));
    // Sorts by time within a subject; the random tail keeps ids unique within a millisecond.
    item.insert(
        "id".into(),
        s(format!("{at}#{:016x}", rand::random::<u64>())),
    );
    item.insert("at".into(), s(at));
    item.insert("actor".into(), s(actor));
    item.insert("action".into(), s(action));
    if let Some(b) = before {
        item.insert(
            "before".into(),
            s(serde_json::to_string(b).expect("mappings serialize")),
        );
    }
    if let Some(a) = after {
        item.insert(
            "after".into(),
            s(serde_json::to_string(a).expect("mappings serialize")),
        );
    }
    item
}

/// The `list_pk` of every audit item.
const AUDIT_LIST: &str = "a";

fn key_item(key: String, extra: &[(&str, &str)]) -> Item {
    let mut item = Item::new();
    item.insert("key".into(), s(key));
    for (k, v) in extra {
        item.insert((*k).to_string(), s(*v));
    }
    item
}

/// Which transaction items failed their condition, by position.
fn cancelled(e: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>) -> Option<Vec<bool>> {
    match e {
        SdkError::ServiceError(se) => match se.err() {
            TransactWriteItemsError::TransactionCanceledException(tc) => Some(
                tc.cancellation_reasons()
                    .iter()
                    .map(|r: &CancellationReason| r.code() == Some("ConditionalCheckFailed"))
                    .collect(),
            ),
            _ => None,
        },
        _ => None,
    }
}

impl DynamoStore {
    /// Connects with the standard AWS configuration chain (`AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// credentials…) and creates any missing table.
    pub async fn open(prefix: &str) -> Result<Self, StoreError> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Self::open_with(&config, prefix).await
    }

    /// Like `open`, with an SDK configuration built by the caller (tests point it at moto).
    pub async fn open_with(
        config: &aws_config::SdkConfig,
        prefix: &str,
    ) -> Result<Self, StoreError> {
        let store = DynamoStore {
            client: Client::new(config),
            mappings: format!("{prefix}-mappings"),
            keys: format!("{prefix}-keys"),
            audit: format!("{prefix}-audit"),
            tokens: format!("{prefix}-tokens"),
            messages: format!("{prefix}-messages"),
            raw: format!("{prefix}-raw"),
            sessions: format!("{prefix}-sessions"),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Creates the tables that do not exist yet and waits until all are active. Idempotent.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let existing = self.table_names().await?;
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(unavailable)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(unavailable)
        };
        let gsi = |name: &str,
                   hash: &str,
                   range: Option<&str>|
         -> Result<GlobalSecondaryIndex, StoreError> {
            let mut schema = vec![key(hash, KeyType::Hash)?];
            if let Some(r) = range {
                schema.push(key(r, KeyType::Range)?);
            }
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .set_key_schema(Some(schema))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(unavailable)
        };
        let specs = vec![
            TableSpec {
                table: &self.mappings,
                attributes: vec!["address", "owner", "state", "account_name"],
                key: vec![key("address", KeyType::Hash)?],
                indexes: vec![
                    gsi("by_owner", "owner", Some("address"))?,
                    gsi("by_state", "state", Some("address"))?,
                    gsi("by_account_name", "account_name", None)?,
                ],
            },
            TableSpec {
                table: &self.keys,
                attributes: vec!["key"],
                key: vec![key("key", KeyType::Hash)?],
                indexes: vec![],
            },
            TableSpec {
                table: &self.audit,
                attributes: vec!["subject", "id", "list_pk"],
                key: vec![key("subject", KeyType::Hash)?, key("id", KeyType::Range)?],
                indexes: vec![gsi("by_time", "list_pk", Some("id"))?],
            },
            TableSpec {
                table: &self.tokens,
                attributes: vec!["id"],
                key: vec![key("id", KeyType::Hash)?],
                indexes: vec![],
            },
            TableSpec {
                table: &self.messages,
                attributes: vec!["id", "list_pk", "sort_key", "recipient", "outcome"],
                key: vec![key("id", KeyType::Hash)?],
                indexes: vec![
                    gsi("by_time", "list_pk", Some("sort_key"))?,
                    gsi("by_recipient", "recipient", Some("sort_key"))?,
                    gsi("by_outcome", "outcome", Some("sort_key"))?,
                ],
            },
            TableSpec {
                table: &self.sessions,
                attributes: vec!["id"],
                key: vec![key("id", KeyType::Hash)?],
                indexes: vec![],
            },
            TableSpec {
                table: &self.raw,
                attributes: vec!["id", "part"],
                key: vec![key("id", KeyType::Hash)?, key("part", KeyType::Range)?],
                indexes: vec![],
            },
        ];
        let tables: Vec<&str> = specs.iter().map(|spec| spec.table).collect();
        for TableSpec {
            table,
            attributes: attrs,
            key: schema,
            indexes: gsis,
        } in specs
        {
            let defs = attrs.into_iter().map(attr).collect::<Result<Vec<_>, _>>()?;
            if existing.iter().any(|t| t == table) {
                self.add_missing_indexes(table, defs, gsis).await?;
                continue;
            }
            let mut req = self
                .client
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .set_attribute_definitions(Some(defs))
                .set_key_schema(Some(schema));
            if !gsis.is_empty() {
                req = req.set_global_secondary_indexes(Some(gsis));
            }
            match req.send().await {
                Ok(_) => tracing::info!(%table, "created DynamoDB table"),
                // Another copy of the server created it meanwhile.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_resource_in_use_exception()) => {}
                Err(e) => {
                    return Err(StoreError::Migration(format!(
                        "creating {table}: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    )))
                }
            }
        }
        for table in tables {
            self.wait_active(table).await?;
        }
        self.enable_ttl(&self.sessions, "expires_at").await?;
        Ok(())
    }

    /// Creates the indexes a table made by an older version lacks (one per call, as
    /// DynamoDB allows), waiting for each to be usable.
    async fn add_missing_indexes(
        &self,
        table: &str,
        defs: Vec<AttributeDefinition>,
        wanted: Vec<GlobalSecondaryIndex>,
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate,
        };
        let described = self
            .client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(sdk)?;
        let have: Vec<String> = described
            .table()
            .map(|t| {
                t.global_secondary_indexes()
                    .iter()
                    .filter_map(|i| i.index_name().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for index in wanted {
            if have.iter().any(|h| h == index.index_name()) {
                continue;
            }
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(index.index_name())
                .set_key_schema(Some(index.key_schema().to_vec()))
                .set_projection(index.projection().cloned())
                .build()
                .map_err(unavailable)?;
            self.client
                .update_table()
                .table_name(table)
                .set_attribute_definitions(Some(defs.clone()))
                .global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder().create(create).build(),
                )
                .send()
                .await
                .map_err(|e| {
                    StoreError::Migration(format!(
                        "adding index {} to {table}: {}",
                        index.index_name(),
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ))
                })?;
            tracing::info!(%table, index = index.index_name(), "added DynamoDB index");
            self.wait_active(table).await?;
        }
        Ok(())
    }

    /// The `projection` of every message-log record whose sort key is `op` (`<`, `>=`) `bound`,
    /// read from the `by_time` index.
    async fn log_range(
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

    /// Counts what a query matches, page by page, without reading the items.
    async fn count(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = query
                .clone()
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk)?;
            total += u64::try_from(out.count()).unwrap_or_default();
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(total),
            }
        }
    }

    /// Turns on DynamoDB's TTL for `attribute` unless it is on already.
    async fn enable_ttl(&self, table: &str, attribute: &str) -> Result<(), StoreError> {
        let current = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(sdk)?;
        let on = current
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status())
            .is_some_and(|s| {
                matches!(
                    s,
                    aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled
                        | aws_sdk_dynamodb::types::TimeToLiveStatus::Enabling
                )
            });
        if on {
            return Ok(());
        }
        let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(attribute)
            .build()
            .map_err(unavailable)?;
        self.client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(sdk)?;
        tracing::info!(%table, %attribute, "enabled DynamoDB TTL");
        Ok(())
    }

    async fn table_names(&self) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = self
                .client
                .list_tables()
                .set_exclusive_start_table_name(start.clone())
                .send()
                .await
                .map_err(|e| {
                    StoreError::Migration(format!(
                        "listing tables: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ))
                })?;
            names.extend(out.table_names().iter().cloned());
            match out.last_evaluated_table_name() {
                Some(t) => start = Some(t.to_string()),
                None => return Ok(names),
            }
        }
    }

    async fn wait_active(&self, table: &str) -> Result<(), StoreError> {
        for _ in 0..120 {
            let out = self
                .client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(sdk)?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Migration(format!(
            "{table} did not become active within a minute"
        )))
    }

    /// Runs one transaction. `Ok(Err(failed))` says which items' conditions failed, by position.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Vec<bool>>, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(e) => match cancelled(&e) {
                Some(failed) => Ok(Err(failed)),
                None => Err(sdk(e)),
            },
        }
    }

    async fn get_item(
        &self,
        table: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(table)
            .key(key, s(value))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?
            .item)
    }

    async fn next_counter(&self, base: &str) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.keys)
            .key("key", s(format!("counter#{base}")))
            .update_expression("ADD next_value :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk)?;
        out.attributes()
            .and_then(|a| a.get("next_value"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| unavailable("counter update returned no value"))
    }

    async fn by_idempotency_key(&self, key: &str) -> Result<Option<Mapping>, StoreError> {
        let Some(item) = self
            .get_item(&self.keys, "key", &format!("idem#{key}"))
            .await?
        else {
            return Ok(None);
        };
        let address = get_s(&item, "address")
            .ok_or_else(|| unavailable("idempotency item without address"))?;
        self.get(&address).await.map(Some)
    }

    /// Writes a new mapping with its reservations in one transaction. `Ok(None)` means a
    /// condition failed on the address or the name (the caller decides what that means);
    /// an idempotency key that another writer took first returns that writer's mapping.
    /// The writes that add a new mapping: the mapping and its name's reservation, each failing
    /// if taken (transaction cancellation reasons 0 and 1).
    fn new_mapping_items(&self, m: &Mapping) -> Result<Vec<TransactWriteItem>, StoreError> {
        Ok(vec![
            put(
                &self.mappings,
                mapping_item(m, 0)?,
                Some("attribute_not_exists(address)"),
            )?,
            put(
                &self.keys,
                key_item(
                    format!("name#{}", m.account_name),
                    &[("address", &m.address)],
                ),
                Some("attribute_not_exists(#k)"),
            )?,
        ])
    }

    async fn try_insert(
        &self,
        spec: &VendSpec,
        m: &Mapping,
    ) -> Result<Result<Vended, Taken>, StoreError> {
        let mut items = self.new_mapping_items(m)?;
        if let Some(k) = &spec.idempotency_key {
            items.push(put(
                &self.keys,
                key_item(format!("idem#{k}"), &[("address", &m.address)]),
                Some("attribute_not_exists(#k)"),
            )?);
        }
        items.push(put(
            &self.audit,
            audit_item(&spec.now, &spec.actor, "vend", &m.address, None, Some(m)),
            None,
        )?);
        let Err(failed) = self.transact(items).await? else {
            return Ok(Ok(Vended {
                mapping: m.clone(),
                created: true,
            }));
        };
        if spec.idempotency_key.is_some() && failed.get(2).copied().unwrap_or(false) {
            let key = spec.idempotency_key.as_deref().unwrap_or_default();
            if let Some(mapping) = self.by_idempotency_key(key).await? {
                return Ok(Ok(Vended {
                    mapping,
                    created: false,
                }));
            }
        }
        if failed.first().copied().unwrap_or(false) {
            Ok(Err(Taken::Address))
        } else {
            Ok(Err(Taken::Name))
        }
    }

    async fn query_page(
        &self,
        filter: &MappingFilter,
        limit: u32,
        after: &str,
    ) -> Result<Vec<Mapping>, StoreError> {
        let mut names = HashMap::from([("#a".to_string(), "address".to_string())]);
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        let (index, mut key_condition) = match &filter.owner {
            Some(owner) => {
                values.insert(":k".into(), s(owner.clone()));
                ("by_owner", "#o = :k".to_string())
            }
            None => {
                let state = filter.status.map(state_of).unwrap_or("live");
                values.insert(":k".into(), s(state));
                ("by_state", "#st = :k".to_string())
            }
        };
        names.insert("#o".into(), "owner".into());
        names.insert("#st".into(), "state".into());
        if !after.is_empty() {
            key_condition.push_str(" AND #a > :after");
            values.insert(":after".into(), s(after));
        }
        let mut filters = Vec::new();
        match filter.status {
            Some(st) => {
                filters.push("#s = :status".to_string());
                values.insert(":status".into(), s(st.as_str()));
            }
            None => {
                filters.push("#s <> :deleted".to_string());
                values.insert(":deleted".into(), s("deleted"));
            }
        }
        names.insert("#s".into(), "status".into());
        if let Some(t) = &filter.account_type {
            filters.push("#t = :type".to_string());
            names.insert("#t".into(), "account_type".into());
            values.insert(":type".into(), s(t.clone()));
        }
        if let Some(q) = filter
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        {
            // No index serves a substring: this reads the whole partition of the key above.
            filters.push("(contains(#a, :q) OR contains(#n, :q) OR contains(#o, :q))".to_string());
            names.insert("#n".into(), "account_name".into());
            values.insert(":q".into(), s(q.to_ascii_lowercase()));
        }
        let filter_expression = filters.join(" AND ");
        // DynamoDB refuses names and values that no expression uses.
        let used = |k: &String| {
            key_condition.contains(k.as_str()) || filter_expression.contains(k.as_str())
        };
        names.retain(|k, _| used(k));
        values.retain(|k, _| used(k));

        let query = self
            .client
            .query()
            .table_name(&self.mappings)
            .index_name(index)
            .key_condition_expression(&key_condition)
            .filter_expression(&filter_expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
        collect(query, limit as usize + 1, mapping_from).await
    }

    async fn write_change(
        &self,
        before: &Mapping,
        version: u64,
        after: &Mapping,
        actor: &str,
        now: &str,
        action: &str,
    ) -> Result<bool, StoreError> {
        let p = Put::builder()
            .table_name(&self.mappings)
            .set_item(Some(mapping_item(after, version + 1)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()));
        let items = vec![
            TransactWriteItem::builder()
                .put(p.build().map_err(unavailable)?)
                .build(),
            put(
                &self.audit,
                audit_item(
                    now,
                    actor,
                    action,
                    &after.address,
                    Some(before),
                    Some(after),
                ),
                None,
            )?,
        ];
        Ok(self.transact(items).await?.is_ok())
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.get_item(&self.keys, "key", "ping").await.map(|_| ())
    }
}

#[async_trait]
impl MappingStore for DynamoStore {
    async fn vend(&self, spec: &VendSpec) -> Result<Vended, StoreError> {
        if let Some(key) = &spec.idempotency_key {
            if let Some(mapping) = self.by_idempotency_key(key).await? {
                return Ok(Vended {
                    mapping,
                    created: false,
                });
            }
        }
        match &spec.name {
            NameSpec::Explicit { account_name } => {
                let address = spec.address_for(account_name);
                let m = spec.mapping(account_name.clone(), address.clone(), None);
                match self.try_insert(spec, &m).await? {
                    Ok(v) => Ok(v),
                    Err(Taken::Address) => Err(taken(Taken::Address, &address)),
                    Err(Taken::Name) => Err(taken(Taken::Name, account_name)),
                }
            }
            NameSpec::Generated { base, width } => {
                for _ in 0..MAX_SKIPS {
                    let counter = self.next_counter(base).await?;
                    let name = naming::account_name(base, counter, *width);
                    spec.check_generated(&name)?;
                    let address = spec.address_for(&name);
                    let m = spec.mapping(name, address.clone(), Some(counter));
                    match self.try_insert(spec, &m).await? {
                        Ok(v) => return Ok(v),
                        Err(Taken::Address) if spec.address.is_some() => {
                            return Err(taken(Taken::Address, &address))
                        }
                        Err(_) => continue,
                    }
                }
                Err(StoreError::Conflict(format!(
                    "no free name for {base} after {MAX_SKIPS} tries"
                )))
            }
        }
    }

    async fn import(&self, m: &Mapping, actor: &str, now: &str) -> Result<bool, StoreError> {
        if let (Some(base), Some(counter)) = (&m.base, m.counter) {
            // `next_value` is the last number handed out; raise it to this one, never lower.
            let raised = self
                .client
                .update_item()
                .table_name(&self.keys)
                .key("key", s(format!("counter#{base}")))
                .update_expression("SET next_value = :n")
                .condition_expression("attribute_not_exists(next_value) OR next_value < :n")
                .expression_attribute_values(":n", AttributeValue::N(counter.to_string()))
                .send()
                .await;
            match raised {
                Ok(_) => {}
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(sdk(e)),
            }
        }
        let mut items = self.new_mapping_items(m)?;
        items.push(put(
            &self.audit,
            audit_item(now, actor, "import", &m.address, None, Some(m)),
            None,
        )?);
        match self.transact(items).await? {
            Ok(()) => Ok(true),
            Err(failed) if failed.first().copied().unwrap_or(false) => Ok(false),
            Err(_) => Err(taken(Taken::Name, &m.account_name)),
        }
    }

    async fn get(&self, address: &str) -> Result<Mapping, StoreError> {
        match self.get_item(&self.mappings, "address", address).await? {
            Some(item) => mapping_from(item),
            None => Err(StoreError::NotFound(format!("the address {address}"))),
        }
    }

    async fn list(
        &self,
        filter: &MappingFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, StoreError> {
        let after = decode_cursor(cursor)?;
        let items = self.query_page(filter, limit, &after).await?;
        Ok(page_of(items, limit, |m| m.address.clone()))
    }

    async fn update(
        &self,
        address: &str,
        change: &MappingChange,
        actor: &str,
        now: &str,
    ) -> Result<Mapping, StoreError> {
        // Optimistic: re-read and retry when another writer changed the item in between.
        for _ in 0..10 {
            let item = self
                .get_item(&self.mappings, "address", address)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("the address {address}")))?;
            let version = version_of(&item);
            let before = mapping_from(item)?;
            if before.status == MappingStatus::Deleted {
                return Err(StoreError::Conflict(format!(
                    "{address} was deleted and cannot be edited"
                )));
            }
            let after = change.apply(&before, actor, now);
            let action = edit_action(&after);
            if self
                .write_change(&before, version, &after, actor, now, action)
                .await?
            {
                return Ok(after);
            }
        }
        Err(StoreError::Unavailable(format!(
            "{address} kept changing; gave up after 10 tries"
        )))
    }

    async fn audit_trail(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.audit)
            .key_condition_expression("#s = :s")
            .expression_attribute_names("#s", "subject")
            .expression_attribute_values(":s", s(subject))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)?;
        items.iter().map(audit_entry).collect()
    }

    async fn audit_log(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let before = decode_cursor(cursor)?;
        let mut query = self
            .client
            .query()
            .table_name(&self.audit)
            .index_name("by_time")
            .expression_attribute_names("#l", "list_pk")
            .expression_attribute_values(":l", s(AUDIT_LIST))
            .scan_index_forward(false);
        query = if before.is_empty() {
            query.key_condition_expression("#l = :l")
        } else {
            query
                .key_condition_expression("#l = :l AND #i < :before")
                .expression_attribute_names("#i", "id")
                .expression_attribute_values(":before", s(before))
        };
        let found = collect(query, limit as usize + 1, |item| {
            let id = get_s(&item, "id").ok_or_else(|| unavailable("audit item without id"))?;
            Ok((id, audit_entry(&item)?))
        })
        .await?;
        Ok(keyed_page(found, limit))
    }

    async fn counts(&self) -> Result<MappingCounts, StoreError> {
        let by_state = |state: &str| {
            self.client
                .query()
                .table_name(&self.mappings)
                .index_name("by_state")
                .key_condition_expression("#st = :st")
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(":st", s(state))
        };
        let live_with = |status: MappingStatus| {
            by_state(state_of(status))
                .filter_expression("#s = :s")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", s(status.as_str()))
        };
        Ok(MappingCounts {
            active: self.count(live_with(MappingStatus::Active)).await?,
            suspended: self.count(live_with(MappingStatus::Suspended)).await?,
            deleted: self
                .count(by_state(state_of(MappingStatus::Deleted)))
                .await?,
        })
    }
}

fn audit_entry(item: &Item) -> Result<AuditEntry, StoreError> {
    let field =
        |k: &str| get_s(item, k).ok_or_else(|| unavailable(format!("audit item without {k}")));
    Ok(AuditEntry {
        at: field("at")?,
        actor: field("actor")?,
        action: field("action")?,
        subject: field("subject")?,
        before: get_s(item, "before"),
        after: get_s(item, "after"),
    })
}

fn token_item(t: &ApiToken) -> Item {
    let mut item = Item::new();
    item.insert("id".into(), s(t.id.clone()));
    item.insert("name".into(), s(t.name.clone()));
    item.insert("scope".into(), s(t.scope.as_str()));
    item.insert("created_at".into(), s(t.created_at.clone()));
    item.insert("created_by".into(), s(t.created_by.clone()));
    if let Some(r) = &t.revoked_at {
        item.insert("revoked_at".into(), s(r.clone()));
    }
    item
}

fn token_from(item: &Item) -> Result<ApiToken, StoreError> {
    let field =
        |k: &str| get_s(item, k).ok_or_else(|| unavailable(format!("token item without {k}")));
    Ok(ApiToken {
        id: field("id")?,
        name: field("name")?,
        scope: Scope::parse(&field("scope")?).ok_or_else(|| unavailable("corrupt token scope"))?,
        created_at: field("created_at")?,
        created_by: field("created_by")?,
        revoked_at: get_s(item, "revoked_at"),
    })
}

#[async_trait]
impl TokenStore for DynamoStore {
    async fn create_token(&self, t: &ApiToken, secret_digest: &str) -> Result<(), StoreError> {
        let items = vec![
            put(
                &self.tokens,
                token_item(t),
                Some("attribute_not_exists(id)"),
            )?,
            put(
                &self.keys,
                key_item(format!("token#{secret_digest}"), &[("token_id", &t.id)]),
                None,
            )?,
            put(
                &self.audit,
                {
                    let mut audit = audit_item(
                        &t.created_at,
                        &t.created_by,
                        "create_token",
                        &format!("token:{}", t.id),
                        None,
                        None,
                    );
                    audit.insert("after".into(), s(super::token_audit_record(t)));
                    audit
                },
                None,
            )?,
        ];
        self.transact(items)
            .await?
            .map_err(|_| StoreError::Conflict(format!("the token id {} is taken", t.id)))
    }

    async fn token_by_digest(&self, secret_digest: &str) -> Result<Option<ApiToken>, StoreError> {
        let Some(key) = self
            .get_item(&self.keys, "key", &format!("token#{secret_digest}"))
            .await?
        else {
            return Ok(None);
        };
        let id = get_s(&key, "token_id").ok_or_else(|| unavailable("token key without id"))?;
        self.get_item(&self.tokens, "id", &id)
            .await?
            .as_ref()
            .map(token_from)
            .transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        // Tokens are few; a scan of their own small table is the honest way to list them.
        let items = self
            .client
            .scan()
            .table_name(&self.tokens)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)?;
        let mut tokens = items
            .iter()
            .map(token_from)
            .collect::<Result<Vec<_>, _>>()?;
        tokens.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(tokens)
    }

    async fn revoke_token(&self, id: &str, actor: &str, now: &str) -> Result<ApiToken, StoreError> {
        let current = self
            .get_item(&self.tokens, "id", id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("the token {id}")))?;
        let mut token = token_from(&current)?;
        if token.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "the token {id} is already revoked"
            )));
        }
        token.revoked_at = Some(now.to_string());
        let mut audit = audit_item(
            now,
            actor,
            "revoke_token",
            &format!("token:{id}"),
            None,
            None,
        );
        audit.insert("token_id".into(), s(id));
        let items = vec![
            put(
                &self.tokens,
                token_item(&token),
                Some("attribute_not_exists(revoked_at)"),
            )?,
            put(&self.audit, audit, None)?,
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(token),
            Err(_) => Err(StoreError::Conflict(format!(
                "the token {id} is already revoked"
            ))),
        }
    }
}

/// Runs `query` page by page until `want` items passed its filter or the index ran out.
/// (A filter applies after `Limit`, so one page may hold fewer than asked for.)
async fn collect<T>(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    want: usize,
    convert: impl Fn(Item) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut found = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let out = query
            .clone()
            .set_exclusive_start_key(start.take())
            .limit(want.max(100) as i32)
            .send()
            .await
            .map_err(sdk)?;
        for item in out.items().iter().cloned() {
            found.push(convert(item)?);
            if found.len() == want {
                return Ok(found);
            }
        }
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(found),
        }
    }
}

fn message_item(r: &MessageRecord, lease_until: Option<&str>) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(r).map_err(unavailable)?;
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

impl DynamoStore {
    /// Puts `item` if `condition` holds; `Ok(false)` when it does not.
    async fn put_if(
        &self,
        table: &str,
        item: Item,
        condition: &str,
        values: Item,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(condition);
        if !values.is_empty() {
            req = req.set_expression_attribute_values(Some(values));
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk(e)),
        }
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
        // Two rounds at most: a claim that loses the race to create re-reads the winner.
        for _ in 0..2 {
            let existing = self
                .get_item(&self.messages, "id", &record.id)
                .await?
                .map(message_from)
                .transpose()?;
            match existing {
                None => {
                    let item = message_item(record, Some(lease_until))?;
                    if self
                        .put_if(
                            &self.messages,
                            item,
                            "attribute_not_exists(id)",
                            Item::new(),
                        )
                        .await?
                    {
                        return Ok(Claim::Mine(record.clone()));
                    }
                }
                Some((current, _)) if current.outcome != Outcome::Processing => {
                    return Ok(Claim::Done(current))
                }
                Some((current, Some(lease))) if lease.as_str() < now => {
                    let taken = taken_over(current, now);
                    let item = message_item(&taken, Some(lease_until))?;
                    let values = Item::from([(":old".to_string(), s(lease))]);
                    return Ok(
                        if self
                            .put_if(&self.messages, item, "lease_until = :old", values)
                            .await?
                        {
                            Claim::Mine(taken)
                        } else {
                            Claim::Busy
                        },
                    );
                }
                Some(_) => return Ok(Claim::Busy),
            }
        }
        Ok(Claim::Busy)
    }

    async fn settle(&self, record: &MessageRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.messages)
            .set_item(Some(message_item(record, None)?))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
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

    async fn reopen(
        &self,
        id: &str,
        lease_until: &str,
        now: &str,
    ) -> Result<MessageRecord, StoreError> {
        let current = self.message(id).await?;
        if current.outcome != Outcome::DeadLetter {
            return Err(not_a_dead_letter(&current));
        }
        let open = reopened(current.clone(), now);
        // Conditional on what was read, so of two concurrent replays only one reopens it.
        let values = Item::from([
            (":dl".to_string(), s(Outcome::DeadLetter.as_str())),
            (":at".to_string(), s(current.updated_at.clone())),
        ]);
        if self
            .put_if(
                &self.messages,
                message_item(&open, Some(lease_until))?,
                "outcome = :dl AND updated_at = :at",
                values,
            )
            .await?
        {
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
        let filter_expression = match (&filter.recipient, filter.outcome) {
            (Some(_), Some(o)) => {
                values.insert(":o".into(), s(o.as_str()));
                names.insert("#o".into(), "outcome".into());
                Some("#o = :o".to_string())
            }
            _ => None,
        };
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

    async fn volume(&self, since: &str) -> Result<Vec<DayVolume>, StoreError> {
        let items = self.log_range(">=", since, "received_at, outcome").await?;
        let rows = items
            .iter()
            .map(|item| {
                let at = get_s(item, "received_at")
                    .ok_or_else(|| unavailable("message item without received_at"))?;
                let outcome = get_s(item, "outcome")
                    .and_then(|o| Outcome::parse(&o))
                    .ok_or_else(|| unavailable("message item without a known outcome"))?;
                Ok((at, outcome, 1))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(fold_volume(rows))
    }

    async fn purge(&self, cutoff: &str) -> Result<u64, StoreError> {
        let old = self
            .log_range("<", cutoff, "id, ses_message_id, outcome")
            .await?;
        let mut gone = 0;
        // SES ids with a claim still in progress keep their raw message.
        let mut busy = std::collections::HashSet::new();
        let mut ses_ids = std::collections::BTreeSet::new();
        for item in &old {
            let (Some(id), Some(ses_id)) = (get_s(item, "id"), get_s(item, "ses_message_id"))
            else {
                continue;
            };
            ses_ids.insert(ses_id.clone());
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.messages)
                .key("id", s(id))
                .condition_expression("outcome <> :p")
                .expression_attribute_values(":p", s(Outcome::Processing.as_str()))
                .send()
                .await;
            match deleted {
                Ok(_) => gone += 1,
                Err(e) if condition_failed(&e) => {
                    busy.insert(ses_id);
                }
                Err(e) => return Err(sdk(e)),
            }
        }
        for ses_id in ses_ids.difference(&busy.into_iter().collect()) {
            self.delete_raw(ses_id).await?;
        }
        Ok(gone)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;

    /// A store on fresh tables in moto.
    pub(crate) async fn store() -> DynamoStore {
        let (config, _) = crate::testing::moto::sdk_config().await;
        let prefix = format!("t{:x}", rand::random::<u64>());
        DynamoStore::open_with(&config, &prefix)
            .await
            .expect("tables in moto")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        let store = Arc::new(store().await);
        crate::store::conformance::tokens_are_found_by_digest_and_revoked_once(&*store).await;
        crate::store::conformance::run_messages(store.clone()).await;
        crate::store::conformance::raw_messages_round_trip(&*store).await;
        crate::store::conformance::settings_are_kept_and_audited(&*store).await;
        crate::store::conformance::sessions_expire_and_ids_are_never_shared(&*store).await;
        crate::store::conformance::retention_purges_settled_records_and_their_raw(&*store).await;
        crate::store::conformance::run_all(store).await;
    }

    #[tokio::test]
    async fn migrate_is_idempotent_and_ping_answers() {
        let store = store().await;
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
    }
}
