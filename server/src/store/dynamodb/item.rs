//! Items as the tables hold them: attribute helpers, transaction puts, keys-table and audit
//! items.

use std::collections::HashMap;

use app::model::{AuditEntry, Mapping};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::unavailable;
use crate::store::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn get_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn put(
    table: &str,
    item: Item,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
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

/// `put` with values for its condition's placeholders (`(":p", s("processing"))`).
pub(super) fn put_where(
    table: &str,
    item: Item,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> Result<TransactWriteItem, StoreError> {
    let mut p = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (name, value) in values {
        p = p.expression_attribute_values(*name, value.clone());
    }
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(unavailable)?)
        .build())
}

pub(super) fn audit_item(
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

/// The item of an entry made elsewhere, its before and after already text.
pub(super) fn entry_item(e: &AuditEntry) -> Item {
    let mut item = audit_item(&e.at, &e.actor, &e.action, &e.subject, None, None);
    if let Some(b) = &e.before {
        item.insert("before".into(), s(b.clone()));
    }
    if let Some(a) = &e.after {
        item.insert("after".into(), s(a.clone()));
    }
    item
}

/// The `list_pk` of every audit item.
pub(super) const AUDIT_LIST: &str = "a";

pub(super) fn key_item(key: String, extra: &[(&str, &str)]) -> Item {
    let mut item = Item::new();
    item.insert("key".into(), s(key));
    for (k, v) in extra {
        item.insert((*k).to_string(), s(*v));
    }
    item
}

pub(super) fn audit_entry(item: &Item) -> Result<AuditEntry, StoreError> {
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
