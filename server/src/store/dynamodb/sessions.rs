//! `SessionStore` on DynamoDB: `<prefix>-sessions` (`id`), with DynamoDB's TTL on
//! `expires_at` deleting expired sessions (reads also ignore them, since TTL runs late).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{get_s, s, Item};
use super::{sdk, DynamoStore};
use crate::store::{SessionStore, StoreError};

fn session_item(id: &str, data: &str, expires_at: i64) -> Item {
    Item::from([
        ("id".to_string(), s(id)),
        ("data".to_string(), s(data)),
        (
            "expires_at".to_string(),
            AttributeValue::N(expires_at.to_string()),
        ),
    ])
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        self.put_if(
            &self.sessions,
            session_item(id, data, expires_at),
            "attribute_not_exists(id)",
            Item::new(),
        )
        .await
    }

    async fn save_session(&self, id: &str, data: &str, expires_at: i64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.sessions)
            .set_item(Some(session_item(id, data, expires_at)))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn session(&self, id: &str, now: i64) -> Result<Option<String>, StoreError> {
        let Some(item) = self.get_item(&self.sessions, "id", id).await? else {
            return Ok(None);
        };
        let expires_at = item
            .get("expires_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0);
        Ok((expires_at > now).then(|| get_s(&item, "data")).flatten())
    }

    async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.sessions)
            .key("id", s(id))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn purge_sessions(&self, _now: i64) -> Result<u64, StoreError> {
        // The table's TTL deletes them; scanning for them would cost more than it saves.
        Ok(0)
    }
}
