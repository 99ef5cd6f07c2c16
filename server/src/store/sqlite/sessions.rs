//! `SessionStore` on SQLite.

use async_trait::async_trait;

use super::{unavailable, writer::Writing, SqliteStore};
use crate::store::{SessionStore, StoreError};

/// The writes themselves, run at the mail's priority by the trait's methods (`SqliteStore::write`).
impl SqliteStore {
    async fn create_session_now(
        &self,
        w: &Writing,
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
        .execute(w.pool())
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn save_session_now(
        &self,
        w: &Writing,
        id: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(w.pool())
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn delete_session_now(&self, w: &Writing, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(id)
            .execute(w.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn purge_sessions_now(&self, w: &Writing, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(w.pool())
            .await
            .map_err(unavailable)?
            .rows_affected())
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let (id, data) = (id.to_owned(), data.to_owned());
        self.write(
            move |s, w| async move { s.create_session_now(&w, &id, &data, expires_at).await },
        )
        .await
    }

    async fn save_session(&self, id: &str, data: &str, expires_at: i64) -> Result<(), StoreError> {
        let (id, data) = (id.to_owned(), data.to_owned());
        self.write(move |s, w| async move { s.save_session_now(&w, &id, &data, expires_at).await })
            .await
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
        let id = id.to_owned();
        self.write(move |s, w| async move { s.delete_session_now(&w, &id).await })
            .await
    }

    async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError> {
        self.write(move |s, w| async move { s.purge_sessions_now(&w, now).await })
            .await
    }
}
