//! `SettingsStore` on SQLite: the `settings` table, audited in the same transaction.

use async_trait::async_trait;

use super::{unavailable, writer::Writing, SqliteStore};
use crate::store::{SettingsStore, StoreError};

/// The writes themselves, run at the mail's priority by the trait's methods (`SqliteStore::write`).
impl SqliteStore {
    async fn put_setting_now(
        &self,
        w: &Writing,
        key: &str,
        value: &str,
        actor: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut tx = w.begin().await?;
        let before = sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable)?;
        // The table's updated_at predates RFC 3339 strings elsewhere: it keeps unix seconds.
        let unix = humantime::parse_rfc3339_weak(now)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(key)
        .bind(value)
        .bind(unix)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, subject, before, after) \
             VALUES (?, ?, 'setting', ?, ?, ?)",
        )
        .bind(now)
        .bind(actor)
        .bind(format!("setting:{key}"))
        .bind(before)
        .bind(value)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(self.reader())
            .await
            .map_err(unavailable)
    }

    async fn settings(
        &self,
        keys: &[&str],
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let wanted = serde_json::to_string(keys).map_err(unavailable)?;
        sqlx::query_as::<_, (String, String)>(
            "SELECT key, value FROM settings WHERE key IN (SELECT value FROM json_each(?))",
        )
        .bind(wanted)
        .fetch_all(self.reader())
        .await
        .map(|rows| rows.into_iter().collect())
        .map_err(unavailable)
    }

    async fn put_setting(
        &self,
        key: &str,
        value: &str,
        actor: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let (key, value, actor, now) = (
            key.to_owned(),
            value.to_owned(),
            actor.to_owned(),
            now.to_owned(),
        );
        self.write(
            move |s, w| async move { s.put_setting_now(&w, &key, &value, &actor, &now).await },
        )
        .await
    }
}
