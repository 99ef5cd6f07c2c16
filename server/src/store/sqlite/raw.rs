//! `RawStore` on SQLite: one BLOB per message, or the `s3://` location of its object.

use async_trait::async_trait;

use super::{unavailable, writer::Writing, SqliteStore};
use crate::store::{Kept, RawStore, S3Object, StoreError};

impl SqliteStore {
    async fn keep(
        &self,
        id: &str,
        bytes: &[u8],
        location: Option<String>,
        now: &str,
    ) -> Result<(), StoreError> {
        let (id, bytes, now) = (id.to_owned(), bytes.to_vec(), now.to_owned());
        self.write(move |s, w| async move { s.keep_now(&w, &id, &bytes, location, &now).await })
            .await
    }

    async fn keep_now(
        &self,
        w: &Writing,
        id: &str,
        bytes: &[u8],
        location: Option<String>,
        now: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR REPLACE INTO raw_messages (id, bytes, s3_location, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(bytes)
        .bind(location)
        .bind(now)
        .execute(w.pool())
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl RawStore for SqliteStore {
    async fn put_raw(&self, id: &str, raw: &[u8], now: &str) -> Result<(), StoreError> {
        self.keep(id, raw, None, now).await
    }

    async fn put_raw_location(
        &self,
        id: &str,
        object: &S3Object,
        now: &str,
    ) -> Result<(), StoreError> {
        self.keep(id, b"", Some(object.url()), now).await
    }

    async fn raw(&self, id: &str) -> Result<Option<Kept>, StoreError> {
        let row = sqlx::query_as::<_, (Vec<u8>, Option<String>)>(
            "SELECT bytes, s3_location FROM raw_messages WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.reader())
        .await
        .map_err(unavailable)?;
        Ok(match row {
            None => None,
            Some((bytes, None)) => Some(Kept::Bytes(bytes)),
            Some((_, Some(url))) => Some(Kept::S3(S3Object::parse(&url).ok_or_else(|| {
                unavailable(format!("raw message {id} has a bad location {url:?}"))
            })?)),
        })
    }
}
