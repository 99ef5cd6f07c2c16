//! `RawStore` on SQLite: one BLOB per message.

use async_trait::async_trait;

use super::{unavailable, SqliteStore};
use crate::store::{RawStore, StoreError};

#[async_trait]
impl RawStore for SqliteStore {
    async fn put_raw(&self, id: &str, raw: &[u8], now: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT OR REPLACE INTO raw_messages (id, bytes, created_at) VALUES (?, ?, ?)")
            .bind(id)
            .bind(raw)
            .bind(now)
            .execute(self.writer())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn raw(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar::<_, Vec<u8>>("SELECT bytes FROM raw_messages WHERE id = ?")
            .bind(id)
            .fetch_optional(self.reader())
            .await
            .map_err(unavailable)
    }
}
