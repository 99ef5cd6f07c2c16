//! `SessionStore` on SQLite.

use async_trait::async_trait;

use super::{unavailable, SqliteStore};
use crate::store::{SessionStore, StoreError};

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(self.writer())
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn save_session(&self, id: &str, data: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(self.writer())
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn session(&self, id: &str, now: i64) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar::<_, String>("SELECT data FROM sessions WHERE id = ? AND expires_at > ?")
            .bind(id)
            .bind(now)
            .fetch_optional(self.reader())
            .await
            .map_err(unavailable)
    }

    async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(id)
            .execute(self.writer())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(self.writer())
            .await
            .map_err(unavailable)?
            .rows_affected())
    }
}
