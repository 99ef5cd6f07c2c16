//! `AccountStore` on SQLite: `org_accounts`, replaced whole by each sync in one transaction,
//! and the last summary in `org_sync`.

use app::model::Page;
use app::org::{AccountState, Drift, OrgAccount, SyncSummary};
use async_trait::async_trait;

use super::{unavailable, writer::Writing, SqliteStore};
use crate::store::paging::{decode_cursor, page_of};
use crate::store::{AccountStore, StoreError};

#[derive(sqlx::FromRow)]
struct Row {
    account_id: String,
    name: String,
    email: String,
    state: String,
    joined_at: Option<String>,
    address: Option<String>,
    drift: Option<String>,
    drift_detail: Option<String>,
    synced_at: String,
}

impl Row {
    fn into_account(self) -> Result<OrgAccount, StoreError> {
        let drift = match self.drift.as_deref() {
            None => None,
            Some(d) => Some(Drift::parse(d).ok_or_else(|| {
                unavailable(format!("corrupt drift on account {}", self.account_id))
            })?),
        };
        Ok(OrgAccount {
            state: AccountState::parse(&self.state),
            account_id: self.account_id,
            name: self.name,
            email: self.email,
            joined_at: self.joined_at,
            address: self.address,
            drift,
            drift_detail: self.drift_detail,
            synced_at: self.synced_at,
        })
    }
}

const COLUMNS: &str =
    "account_id, name, email, state, joined_at, address, drift, drift_detail, synced_at";

impl SqliteStore {
    async fn replace_accounts_now(
        &self,
        w: &Writing,
        accounts: &[OrgAccount],
        summary: &SyncSummary,
    ) -> Result<(), StoreError> {
        let mut tx = w.begin().await?;
        sqlx::query("DELETE FROM org_accounts")
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        for a in accounts {
            write_account(&mut tx, "INSERT", a)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Invalid {
                        field: "accounts",
                        message: format!("the account {} is listed twice", a.account_id),
                    },
                    e => unavailable(e),
                })?;
        }
        sqlx::query(
            "INSERT INTO org_sync (id, summary) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET summary = excluded.summary",
        )
        .bind(serde_json::to_string(summary).expect("summaries serialize"))
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn put_account_now(&self, w: &Writing, a: &OrgAccount) -> Result<(), StoreError> {
        let mut conn = w.pool().acquire().await.map_err(unavailable)?;
        write_account(&mut conn, "INSERT OR REPLACE", a)
            .await
            .map_err(unavailable)
    }
}

/// One account's row, with `verb` (`INSERT`, or `INSERT OR REPLACE` for a single update).
async fn write_account(
    conn: &mut sqlx::SqliteConnection,
    verb: &str,
    a: &OrgAccount,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "{verb} INTO org_accounts ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&a.account_id)
    .bind(&a.name)
    .bind(&a.email)
    .bind(a.state.as_str())
    .bind(&a.joined_at)
    .bind(&a.address)
    .bind(a.drift.map(Drift::as_str))
    .bind(&a.drift_detail)
    .bind(&a.synced_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn put_account(&self, account: &OrgAccount) -> Result<(), StoreError> {
        let account = account.clone();
        self.write(move |s, w| async move { s.put_account_now(&w, &account).await })
            .await
    }

    async fn replace_accounts(
        &self,
        accounts: &[OrgAccount],
        summary: &SyncSummary,
    ) -> Result<(), StoreError> {
        let (accounts, summary) = (accounts.to_vec(), summary.clone());
        self.write(move |s, w| async move { s.replace_accounts_now(&w, &accounts, &summary).await })
            .await
    }

    async fn accounts(
        &self,
        drift: Option<Drift>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrgAccount>, StoreError> {
        let after = decode_cursor(cursor)?;
        let filter = if drift.is_some() { "drift = ? AND" } else { "" };
        let sql = format!(
            "SELECT {COLUMNS} FROM org_accounts WHERE {filter} account_id > ? \
             ORDER BY account_id LIMIT ?"
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        if let Some(d) = drift {
            q = q.bind(d.as_str());
        }
        let rows = q
            .bind(after)
            .bind(i64::from(limit) + 1)
            .fetch_all(self.reader())
            .await
            .map_err(unavailable)?;
        let items = rows
            .into_iter()
            .map(Row::into_account)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(items, limit, |a| a.account_id.clone()))
    }

    async fn account(&self, id: &str) -> Result<Option<OrgAccount>, StoreError> {
        sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM org_accounts WHERE account_id = ?"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await
        .map_err(unavailable)?
        .map(Row::into_account)
        .transpose()
    }

    async fn last_sync(&self) -> Result<Option<SyncSummary>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT summary FROM org_sync WHERE id = 1")
            .fetch_optional(self.reader())
            .await
            .map_err(unavailable)?;
        row.map(|(json,)| {
            serde_json::from_str(&json)
                .map_err(|e| unavailable(format!("corrupt sync summary: {e}")))
        })
        .transpose()
    }
}
