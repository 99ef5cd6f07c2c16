//! `ReachabilityStore` on SQLite: the `unreachable_recipients` table, audited in the same
//! transaction as each change.

use app::model::{DeliveryState, Unreachable};
use async_trait::async_trait;

use super::{unavailable, writer::Writing, SqliteStore};
use crate::store::{
    lifted_by, mark_record, supersedes, too_many_marks, ReachabilityStore, StoreError,
    MAX_UNREACHABLE,
};

type Row = (String, String, String, String, String);

const COLUMNS: &str = "recipient, reason, detail, since, mailer_message_id";

fn mark_of(
    (recipient, reason, detail, since, mailer_message_id): Row,
) -> Result<Unreachable, StoreError> {
    let reason = DeliveryState::parse(&reason)
        .ok_or_else(|| unavailable(format!("corrupt unreachable reason {reason:?}")))?;
    Ok(Unreachable {
        recipient,
        reason,
        detail,
        since,
        mailer_message_id,
    })
}

/// The mark on `recipient`, read inside the change's transaction.
async fn standing(
    tx: &mut sqlx::SqliteConnection,
    recipient: &str,
) -> Result<Option<Unreachable>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM unreachable_recipients WHERE recipient = ?"
    ))
    .bind(recipient)
    .fetch_optional(tx)
    .await
    .map_err(unavailable)?;
    row.map(mark_of).transpose()
}

/// The writes themselves, run at the mail's priority by the trait's methods (`SqliteStore::write`).
impl SqliteStore {
    async fn mark_unreachable_now(
        &self,
        w: &Writing,
        mark: &Unreachable,
        actor: &str,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = w.begin().await?;
        if let Some(before) = standing(&mut tx, &mark.recipient).await? {
            if supersedes(mark, &before) {
                sqlx::query(
                    "UPDATE unreachable_recipients SET reason = ?, detail = ?, since = ?, \
                     mailer_message_id = ? WHERE recipient = ?",
                )
                .bind(mark.reason.as_str())
                .bind(&mark.detail)
                .bind(&mark.since)
                .bind(&mark.mailer_message_id)
                .bind(&mark.recipient)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
                let (subject, after) = (&mark.recipient, Some(mark));
                audit(
                    &mut tx,
                    actor,
                    "unreachable",
                    subject,
                    now,
                    Some(&before),
                    after,
                )
                .await?;
                tx.commit().await.map_err(unavailable)?;
            }
            return Ok(false);
        }
        let marked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unreachable_recipients")
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        if marked as usize >= MAX_UNREACHABLE {
            return Err(too_many_marks());
        }
        sqlx::query(&format!(
            "INSERT INTO unreachable_recipients ({COLUMNS}) VALUES (?, ?, ?, ?, ?)"
        ))
        .bind(&mark.recipient)
        .bind(mark.reason.as_str())
        .bind(&mark.detail)
        .bind(&mark.since)
        .bind(&mark.mailer_message_id)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        audit(
            &mut tx,
            actor,
            "unreachable",
            &mark.recipient,
            now,
            None,
            Some(mark),
        )
        .await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(true)
    }

    async fn clear_unreachable_now(
        &self,
        w: &Writing,
        recipient: &str,
        before: Option<&str>,
        actor: &str,
        now: &str,
    ) -> Result<Option<Unreachable>, StoreError> {
        let mut tx = w.begin().await?;
        let Some(mark) = standing(&mut tx, recipient).await? else {
            return Ok(None);
        };
        if !lifted_by(&mark, before) {
            return Ok(None);
        }
        sqlx::query("DELETE FROM unreachable_recipients WHERE recipient = ?")
            .bind(recipient)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        audit(
            &mut tx,
            actor,
            "reachable",
            recipient,
            now,
            Some(&mark),
            None,
        )
        .await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(Some(mark))
    }
}

#[async_trait]
impl ReachabilityStore for SqliteStore {
    async fn mark_unreachable(
        &self,
        mark: &Unreachable,
        actor: &str,
        now: &str,
    ) -> Result<bool, StoreError> {
        let (mark, actor, now) = (mark.clone(), actor.to_owned(), now.to_owned());
        self.write(move |s, w| async move { s.mark_unreachable_now(&w, &mark, &actor, &now).await })
            .await
    }

    async fn clear_unreachable(
        &self,
        recipient: &str,
        before: Option<&str>,
        actor: &str,
        now: &str,
    ) -> Result<Option<Unreachable>, StoreError> {
        let (recipient, before, actor, now) = (
            recipient.to_owned(),
            before.map(str::to_owned),
            actor.to_owned(),
            now.to_owned(),
        );
        self.write(move |s, w| async move {
            s.clear_unreachable_now(&w, &recipient, before.as_deref(), &actor, &now)
                .await
        })
        .await
    }

    async fn unreachable(&self) -> Result<Vec<Unreachable>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM unreachable_recipients ORDER BY recipient"
        ))
        .fetch_all(self.reader())
        .await
        .map_err(unavailable)?;
        rows.into_iter().map(mark_of).collect()
    }
}

async fn audit(
    tx: &mut sqlx::SqliteConnection,
    actor: &str,
    action: &str,
    recipient: &str,
    at: &str,
    before: Option<&Unreachable>,
    after: Option<&Unreachable>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(format!("recipient:{recipient}"))
    .bind(before.map(mark_record))
    .bind(after.map(mark_record))
    .execute(tx)
    .await
    .map_err(unavailable)?;
    Ok(())
}
