//! `SettingsStore` on DynamoDB: `setting#<key>` items in the keys table, written in one
//! transaction with their audit entry.

use async_trait::async_trait;

use super::item::{audit_item, get_s, key_item, put, s};
use super::{sdk, unavailable, DynamoStore};
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
        let mut request =
            aws_sdk_dynamodb::types::KeysAndAttributes::builder().consistent_read(true);
        for key in wanted.keys() {
            request = request.keys(std::collections::HashMap::from([(
                "key".to_string(),
                s(key.clone()),
            )]));
        }
        let mut pending = std::collections::HashMap::from([(
            self.keys.clone(),
            request.build().map_err(unavailable)?,
        )]);
        let mut found = std::collections::BTreeMap::new();
        // A batch may come back in part (throttling): ask again for what is left, a few times.
        for attempt in 0..5 {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(sdk)?;
            for item in out
                .responses()
                .and_then(|r| r.get(&self.keys))
                .into_iter()
                .flatten()
            {
                let name = get_s(item, "key").and_then(|k| wanted.get(&k).copied());
                if let (Some(name), Some(value)) = (name, get_s(item, "value")) {
                    found.insert(name.to_string(), value);
                }
            }
            pending = out.unprocessed_keys.unwrap_or_default();
            if pending.values().all(|k| k.keys().is_empty()) {
                return Ok(found);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
        Err(StoreError::Unavailable(
            "the settings could not all be read (throttled)".into(),
        ))
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
