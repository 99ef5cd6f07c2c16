//! The production store: DynamoDB through the AWS SDK. Nine tables share a prefix:
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
//! * `<prefix>-sessions` — sign-in sessions (`id`), TTL on `expires_at`;
//! * `<prefix>-accounts` — the organization's accounts as the last sync read them
//!   (`account_id`), with GSIs `by_id` (list_pk, account_id) and `by_drift` (drift_pk,
//!   account_id), sparse.
//!
//! * `<prefix>-notify` — notification channels and deliveries (`pk`, `sk`), with the sparse
//!   GSI `by_due` (due, next_at) over pending deliveries, see `notifications`.
//!
//! Settings live in the keys table as `setting#<key>`.
//!
//! Uniqueness never relies on check-then-put: each vend is one transaction whose conditions
//! (`attribute_not_exists`) fail if any other writer got there first.
//!
//! Here: the client, error mapping and the calls every capability makes; `schema` creates the
//! tables, `item` builds items, and each trait has its own file.

mod accounts;
mod counts;
mod item;
mod jobs;
mod mappings;
mod messages;
mod notifications;
mod raw;
mod reachability;
mod schema;
mod sessions;
mod settings;
mod tokens;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem, WriteRequest};
use aws_sdk_dynamodb::Client;

use super::{Store, StoreError};
use item::{s, Item};

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
    accounts: String,
    notify: String,
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

/// Why each item of a cancelled transaction was cancelled, by position (`ConditionalCheckFailed`,
/// `TransactionConflict`, `None`…).
fn cancelled(
    e: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
) -> Option<Vec<Option<String>>> {
    match e {
        SdkError::ServiceError(se) => match se.err() {
            TransactWriteItemsError::TransactionCanceledException(tc) => Some(
                tc.cancellation_reasons()
                    .iter()
                    .map(|r: &CancellationReason| r.code().map(String::from))
                    .collect(),
            ),
            _ => None,
        },
        _ => None,
    }
}

/// How often a transaction that lost a race for an item (another transaction was writing it:
/// the shared count items) or was throttled is tried again.
const CONFLICT_TRIES: u32 = 5;

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
            accounts: format!("{prefix}-accounts"),
            notify: format!("{prefix}-notify"),
        };
        store.migrate().await?;
        Ok(store)
    }
}

/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;

impl DynamoStore {
    /// Writes `requests` in batches, resubmitting whatever DynamoDB left unprocessed.
    pub(super) async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<(), StoreError> {
        for chunk in requests.chunks(BATCH) {
            let mut pending = chunk.to_vec();
            for attempt in 0.. {
                if pending.is_empty() {
                    break;
                }
                if attempt == 8 {
                    return Err(unavailable(format!(
                        "{}: {} writes still unprocessed after retries",
                        table,
                        pending.len()
                    )));
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await
                    .map_err(sdk)?;
                pending = out
                    .unprocessed_items()
                    .and_then(|m| m.get(table))
                    .cloned()
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        Ok(())
    }

    /// Runs one transaction. `Ok(Err(failed))` says which items' conditions failed, by position.
    /// A transaction cancelled only because another one was writing the same item, or by
    /// throttling, is tried again, a few times, after a short random wait.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Vec<bool>>, StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let e = match sent {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let Some(reasons) = cancelled(&e) else {
                return Err(sdk(e));
            };
            let failed: Vec<bool> = reasons
                .iter()
                .map(|r| r.as_deref() == Some("ConditionalCheckFailed"))
                .collect();
            if failed.contains(&true) {
                return Ok(Err(failed));
            }
            // Lost a race or throttled (the SDK does not retry a cancelled transaction): try
            // again. Anything else is a failure, never taken for a failed condition.
            let transient = reasons.iter().any(|r| {
                matches!(
                    r.as_deref(),
                    Some(
                        "TransactionConflict"
                            | "ThrottlingError"
                            | "ProvisionedThroughputExceeded"
                            | "RequestLimitExceeded"
                    )
                )
            });
            if !transient || tries == CONFLICT_TRIES {
                return Err(sdk(e));
            }
            let wait = rand::random::<u64>() % (20 << tries);
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
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

#[async_trait]
impl Store for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.get_item(&self.keys, "key", "ping").await.map(|_| ())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A store on fresh tables in moto.
    pub(crate) async fn store() -> DynamoStore {
        let (config, _) = crate::testing::moto::sdk_config().await;
        let prefix = format!("t{:x}", rand::random::<u64>());
        DynamoStore::open_with(&config, &prefix)
            .await
            .expect("tables in moto")
    }

    #[tokio::test]
    async fn migrate_is_idempotent_and_ping_answers() {
        let store = store().await;
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
    }
}

#[cfg(test)]
crate::store::conformance::conformance_tests!((
    (),
    std::sync::Arc::new(crate::store::dynamodb::tests::store().await)
));
