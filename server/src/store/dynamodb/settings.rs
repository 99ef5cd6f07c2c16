//! `SettingsStore` on DynamoDB: `setting#<key>` items in the keys table, written in one
//! transaction with their audit entry.

use async_trait::async_trait;

use super::item::{audit_item, get_s, key_item, put, s};
use super::DynamoStore;
use crate::store::{SettingsStore, StoreError};

fn setting_key(key: &str) -> String {
    format!("setting#{key}")
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_item(&self.keys, "key", &setting_key(key))
            .await?
            .and_then(|item| get_s(&item, "value")))
    }

    async fn settings(
        &self,
        keys: &[&str],
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        if keys.is_empty() {
            return Ok(Default::default());
        }
        // Item key → setting name, each asked for once.
        let wanted: std::collections::BTreeMap<String, &str> =
            keys.iter().map(|k| (setting_key(k), *k)).collect();
        let item_keys: Vec<String> = wanted.keys().cloned().collect();
        let mut found = std::collections::BTreeMap::new();
        for item in self.batch_get(&self.keys, "key", &item_keys).await? {
            let name = get_s(&item, "key").and_then(|k| wanted.get(&k).copied());
            if let (Some(name), Some(value)) = (name, get_s(&item, "value")) {
                found.insert(name.to_string(), value);
            }
        }
        Ok(found)
    }

    async fn put_setting(
        &self,
        key: &str,
        value: &str,
        actor: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let before = self.setting(key).await?;
        let mut audit = audit_item(now, actor, "setting", &format!("setting:{key}"), None, None);
        if let Some(b) = before {
            audit.insert("before".into(), s(b));
        }
        audit.insert("after".into(), s(value));
        let items = vec![
            put(
                &self.keys,
                key_item(
                    setting_key(key),
                    &[("value", value), ("updated_at", now), ("updated_by", actor)],
                ),
                None,
            )?,
            put(&self.audit, audit, None)?,
        ];
        self.transact(items)
            .await?
            .map_err(|_| StoreError::Conflict(format!("the setting {key} changed meanwhile")))
    }
}
