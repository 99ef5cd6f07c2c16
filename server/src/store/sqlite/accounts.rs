//! `AccountStore` on SQLite: `org_accounts`, replaced whole by each sync in one transaction,
//! and the last summary in `org_sync`.

use app::model::Page;
use app::org::{AccountState, Drift, JobState, OrgAccount, RootEmailJob, SyncSummary};
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

    async fn create_job_now(&self, w: &Writing, job: &RootEmailJob) -> Result<(), StoreError> {
        // A finished job of the account is replaced (a retry); an open one is not.
        let done = sqlx::query(
            "INSERT INTO root_email_jobs (account_id, address, state, body) VALUES (?, ?, ?, ?) \
             ON CONFLICT (account_id) DO UPDATE SET address = excluded.address, \
             state = excluded.state, body = excluded.body \
             WHERE root_email_jobs.state IN ('accepted', 'failed')",
        )
        .bind(&job.account_id)
        .bind(&job.address)
        .bind(job.state.as_str())
        .bind(job_json(job))
        .execute(w.pool())
        .await
        .map_err(|e| job_write_error(e, &job.address))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "the account {} has an open job already",
                job.account_id
            )));
        }
        Ok(())
    }

    async fn transition_now(
        &self,
        w: &Writing,
        from: JobState,
        to: &RootEmailJob,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE root_email_jobs SET address = ?, state = ?, body = ? \
             WHERE account_id = ? AND state = ? AND json_extract(body, '$.attempts') = ?",
        )
        .bind(&to.address)
        .bind(to.state.as_str())
        .bind(job_json(to))
        .bind(&to.account_id)
        .bind(from.as_str())
        .bind(i64::from(to.attempts))
        .execute(w.pool())
        .await
        .map_err(|e| job_write_error(e, &to.address))?;
        Ok(done.rows_affected() == 1)
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

/// A job write's failure: the open-address index refusing it is a conflict.
fn job_write_error(e: sqlx::Error, address: &str) -> StoreError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(format!(
            "{address} is the new root email of another open job"
        )),
        e => unavailable(e),
    }
}

fn job_json(job: &RootEmailJob) -> String {
    serde_json::to_string(job).expect("jobs serialize")
}

fn job_from(json: &str) -> Result<RootEmailJob, StoreError> {
    serde_json::from_str(json).map_err(|e| unavailable(format!("corrupt root email job: {e}")))
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_job(&self, job: &RootEmailJob) -> Result<(), StoreError> {
        let job = job.clone();
        self.write(move |s, w| async move { s.create_job_now(&w, &job).await })
            .await
    }

    async fn job(&self, account_id: &str) -> Result<Option<RootEmailJob>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT body FROM root_email_jobs WHERE account_id = ?")
                .bind(account_id)
                .fetch_optional(self.reader())
                .await
                .map_err(unavailable)?;
        row.map(|(json,)| job_from(&json)).transpose()
    }

    async fn jobs(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<RootEmailJob>, StoreError> {
        let after = decode_cursor(cursor)?;
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT body FROM root_email_jobs WHERE account_id > ? ORDER BY account_id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.reader())
        .await
        .map_err(unavailable)?;
        let items = rows
            .iter()
            .map(|(json,)| job_from(json))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(items, limit, |j| j.account_id.clone()))
    }

    async fn open_job_for(&self, address: &str) -> Result<Option<RootEmailJob>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT body FROM root_email_jobs WHERE address = ? \
             AND state IN ('queued', 'requested', 'code_received')",
        )
        .bind(address)
        .fetch_optional(self.reader())
        .await
        .map_err(unavailable)?;
        row.map(|(json,)| job_from(&json)).transpose()
    }

    async fn transition(&self, from: JobState, to: &RootEmailJob) -> Result<bool, StoreError> {
        let to = to.clone();
        self.write(move |s, w| async move { s.transition_now(&w, from, &to).await })
            .await
    }

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
