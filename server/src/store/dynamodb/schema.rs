//! The tables: what `migrate` creates, the indexes and TTL it adds to tables made by older
//! versions, and the wait until they are active.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus,
};

use super::{sdk, unavailable, DynamoStore};
use crate::store::StoreError;

/// One table `migrate` creates.
struct TableSpec<'a> {
    table: &'a str,
    /// The attributes its keys and indexes use (all strings).
    attributes: Vec<&'a str>,
    key: Vec<KeySchemaElement>,
    indexes: Vec<GlobalSecondaryIndex>,
}

impl DynamoStore {
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
        let keys_only = |mut index: GlobalSecondaryIndex| {
            index.projection = Some(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            );
            index
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
                attributes: vec![
                    "id",
                    "list_pk",
                    "sort_key",
                    "recipient",
                    "outcome",
                    "mailer_message_id",
                ],
                key: vec![key("id", KeyType::Hash)?],
                indexes: vec![
                    gsi("by_time", "list_pk", Some("sort_key"))?,
                    gsi("by_recipient", "recipient", Some("sort_key"))?,
                    gsi("by_outcome", "outcome", Some("sort_key"))?,
                    // Sparse: only forwarded records carry a mailer id (delivery events).
                    gsi("by_mailer_id", "mailer_message_id", None)?,
                ],
            },
            TableSpec {
                table: &self.sessions,
                attributes: vec!["id"],
                key: vec![key("id", KeyType::Hash)?],
                indexes: vec![],
            },
            TableSpec {
                table: &self.accounts,
                attributes: vec!["account_id", "list_pk", "drift_pk"],
                key: vec![key("account_id", KeyType::Hash)?],
                indexes: vec![
                    gsi("by_id", "list_pk", Some("account_id"))?,
                    // Sparse: only accounts with drift carry `drift_pk`.
                    gsi("by_drift", "drift_pk", Some("account_id"))?,
                ],
            },
            TableSpec {
                table: &self.notify,
                attributes: vec!["pk", "sk", "due", "next_at", "pending_key"],
                key: vec![key("pk", KeyType::Hash)?, key("sk", KeyType::Range)?],
                // Sparse, keys only: only pending deliveries carry `due` and `pending_key`; a
                // claim reads the item itself, a count needs no attributes.
                indexes: vec![
                    keys_only(gsi("by_due", "due", Some("next_at"))?),
                    keys_only(gsi("by_pending", "pending_key", None)?),
                ],
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
        self.count_existing().await?;
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
}
