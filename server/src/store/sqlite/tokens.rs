use async_trait::async_trait;

use super::{unavailable, writer::Writing, SqliteStore};
use crate::store::{StoreError, TokenStore};
use crate::tokens::{ApiToken, Scope};

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    scope: String,
    created_at: String,
    created_by: String,
    revoked_at: Option<String>,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

impl Row {
    fn into_token(self) -> Result<ApiToken, StoreError> {
        Ok(ApiToken {
            scope: Scope::parse(&self.scope)
                .ok_or_else(|| unavailable(format!("corrupt scope on token {}", self.id)))?,
            id: self.id,
            name: self.name,
            created_at: self.created_at,
            created_by: self.created_by,
            revoked_at: self.revoked_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
        })
    }
}

const COLUMNS: &str =
    "id, name, scope, created_at, created_by, revoked_at, expires_at, last_used_at";

/// The writes themselves, run at the mail's priority by the trait's methods (`SqliteStore::write`).
impl SqliteStore {
    async fn create_token_now(
        &self,
        w: &Writing,
        t: &ApiToken,
        secret_digest: &str,
    ) -> Result<(), StoreError> {
        let mut tx = w.begin().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, name, scope, secret_hash, created_at, created_by, revoked_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.scope.as_str())
        .bind(secret_digest)
        .bind(&t.created_at)
        .bind(&t.created_by)
        .bind(&t.revoked_at)
        .bind(&t.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query("INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?, ?, 'create_token', ?, NULL, ?)")
            .bind(&t.created_at)
            .bind(&t.created_by)
            .bind(format!("token:{}", t.id))
            .bind(crate::store::token_audit_record(t))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(())
    }

    async fn token_used_now(&self, w: &Writing, id: &str, at: &str) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(w.pool())
            .await
            .map_err(unavailable)?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound(format!("the token {id}")));
        }
        Ok(())
    }

    async fn revoke_token_now(
        &self,
        w: &Writing,
        id: &str,
        actor: &str,
        now: &str,
    ) -> Result<ApiToken, StoreError> {
        let mut tx = w.begin().await?;
        let updated =
            sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?
                .rows_affected();
        let token =
            sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = ?"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| StoreError::NotFound(format!("the token {id}")))?
                .into_token()?;
        if updated == 0 {
            return Err(StoreError::Conflict(format!(
                "the token {id} is already revoked"
            )));
        }
        sqlx::query("INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?, ?, 'revoke_token', ?, NULL, NULL)")
            .bind(now)
            .bind(actor)
            .bind(format!("token:{id}"))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(token)
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_token(&self, t: &ApiToken, secret_digest: &str) -> Result<(), StoreError> {
        let (t, secret_digest) = (t.clone(), secret_digest.to_owned());
        self.write(move |s, w| async move { s.create_token_now(&w, &t, &secret_digest).await })
            .await
    }

    async fn token_by_digest(&self, secret_digest: &str) -> Result<Option<ApiToken>, StoreError> {
        sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE secret_hash = ?"
        ))
        .bind(secret_digest)
        .fetch_optional(self.reader())
        .await
        .map_err(unavailable)?
        .map(Row::into_token)
        .transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM api_tokens ORDER BY created_at, id"
        ))
        .fetch_all(self.reader())
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(Row::into_token)
        .collect()
    }

    async fn token_used(&self, id: &str, at: &str) -> Result<(), StoreError> {
        let (id, at) = (id.to_owned(), at.to_owned());
        self.write(move |s, w| async move { s.token_used_now(&w, &id, &at).await })
            .await
    }

    async fn revoke_token(&self, id: &str, actor: &str, now: &str) -> Result<ApiToken, StoreError> {
        let (id, actor, now) = (id.to_owned(), actor.to_owned(), now.to_owned());
        self.write(move |s, w| async move { s.revoke_token_now(&w, &id, &actor, &now).await })
            .await
    }
}
