//! `ReachabilityStore` on DynamoDB: every mark in one item of the keys table (`unreachable`,
//! JSON), so that reading them all (each send does) is one consistent read rather than a
//! scan. Marks are few (`MAX_UNREACHABLE`) and change rarely; each change is a versioned
//! write in one transaction with its audit entry, tried again when another won the race.

use app::model::Unreachable;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::item::{audit_item, get_s, put, s, Item};
use super::{unavailable, DynamoStore};
use crate::store::{
    lifted_by, mark_record, supersedes, too_many_marks, ReachabilityStore, StoreError,
    MAX_UNREACHABLE,
};

const KEY: &str = "unreachable";

/// How often a change is tried when other writers keep winning.
const TRIES: u32 = 5;

/// The marks as stored, and the version they were read at (0: never written).
struct Marks {
    marks: Vec<Unreachable>,
    version: u64,
}

impl DynamoStore {
    async fn marks(&self) -> Result<Marks, StoreError> {
        let Some(item) = self.get_item(&self.keys, "key", KEY).await? else {
            return Ok(Marks {
                marks: Vec::new(),
                version: 0,
            });
        };
        let marks = get_s(&item, "value")
            .map(|v| serde_json::from_str(&v))
            .transpose()
            .map_err(|e| unavailable(format!("corrupt unreachable item: {e}")))?
            .unwrap_or_default();
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Ok(Marks { marks, version })
    }

    /// Writes `marks` if nobody changed them since `read`, with `audit` in the same
    /// transaction; `Ok(false)` when somebody did.
    async fn write_marks(
        &self,
        read: u64,
        marks: &[Unreachable],
        audit: Item,
    ) -> Result<bool, StoreError> {
        let mut item = Item::new();
        item.insert("key".into(), s(KEY));
        item.insert(
            "value".into(),
            s(serde_json::to_string(marks).expect("marks serialize")),
        );
        item.insert("version".into(), AttributeValue::N((read + 1).to_string()));
        let guarded = Put::builder()
            .table_name(&self.keys)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k) OR #v = :v")
            .expression_attribute_names("#k", "key")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", AttributeValue::N(read.to_string()))
            .build()
            .map_err(unavailable)?;
        let items = vec![
            TransactWriteItem::builder().put(guarded).build(),
            put(&self.audit, audit, None)?,
        ];
        Ok(self.transact(items).await?.is_ok())
    }
}

fn audited(
    now: &str,
    actor: &str,
    action: &str,
    before: Option<&Unreachable>,
    after: Option<&Unreachable>,
    recipient: &str,
) -> Item {
    let mut audit = audit_item(
        now,
        actor,
        action,
        &format!("recipient:{recipient}"),
        None,
        None,
    );
    if let Some(b) = before {
        audit.insert("before".into(), s(mark_record(b)));
    }
    if let Some(a) = after {
        audit.insert("after".into(), s(mark_record(a)));
    }
    audit
}

fn raced() -> StoreError {
    StoreError::Conflict("the unreachable recipients kept changing meanwhile; try again".into())
}

#[async_trait]
impl ReachabilityStore for DynamoStore {
    async fn mark_unreachable(
        &self,
        mark: &Unreachable,
        actor: &str,
        now: &str,
    ) -> Result<bool, StoreError> {
        for _ in 0..TRIES {
            let Marks { mut marks, version } = self.marks().await?;
            if let Some(at) = marks.iter().position(|m| m.recipient == mark.recipient) {
                if !supersedes(mark, &marks[at]) {
                    return Ok(false);
                }
                let before = std::mem::replace(&mut marks[at], mark.clone());
                let audit = audited(
                    now,
                    actor,
                    "unreachable",
                    Some(&before),
                    Some(mark),
                    &mark.recipient,
                );
                if self.write_marks(version, &marks, audit).await? {
                    return Ok(false);
                }
                continue;
            }
            if marks.len() >= MAX_UNREACHABLE {
                return Err(too_many_marks());
            }
            marks.push(mark.clone());
            marks.sort_by(|a, b| a.recipient.cmp(&b.recipient));
            let audit = audited(now, actor, "unreachable", None, Some(mark), &mark.recipient);
            if self.write_marks(version, &marks, audit).await? {
                return Ok(true);
            }
        }
        Err(raced())
    }

    async fn clear_unreachable(
        &self,
        recipient: &str,
        before: Option<&str>,
        actor: &str,
        now: &str,
    ) -> Result<Option<Unreachable>, StoreError> {
        for _ in 0..TRIES {
            let Marks { mut marks, version } = self.marks().await?;
            let Some(at) = marks.iter().position(|m| m.recipient == recipient) else {
                return Ok(None);
            };
            if !lifted_by(&marks[at], before) {
                return Ok(None);
            }
            let cleared = marks.remove(at);
            let audit = audited(now, actor, "reachable", Some(&cleared), None, recipient);
            if self.write_marks(version, &marks, audit).await? {
                return Ok(Some(cleared));
            }
        }
        Err(raced())
    }

    async fn unreachable(&self) -> Result<Vec<Unreachable>, StoreError> {
        Ok(self.marks().await?.marks)
    }
}
