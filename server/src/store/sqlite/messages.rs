//! `MessageStore` on SQLite: claims and the log in one table, changed under `BEGIN IMMEDIATE`.

use app::model::{
    ClassPolicy, DeliveryState, DeliveryStatus, MailClass, MessageRecord, Outcome, Page,
};
use async_trait::async_trait;

use super::{unavailable, writer::Writing, SqliteStore};
use crate::store::paging::{decode_cursor, page_of};
use crate::store::{
    fold_volume, message_sort_key, not_reopenable, reopened, taken_over, Claim, DeliveryUpdate,
    MessageFilter, MessageStore, StoreError, Volume,
};

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    ses_message_id: String,
    recipient: String,
    sender: String,
    subject: Option<String>,
    size: i64,
    verdicts: String,
    outcome: String,
    delivered_to: Option<String>,
    detail: String,
    mailer_message_id: Option<String>,
    error: Option<String>,
    attempts: i64,
    received_at: String,
    updated_at: String,
    lease_until: Option<String>,
    delivery_state: Option<String>,
    delivery_detail: Option<String>,
    delivery_at: Option<String>,
    mail_class: Option<String>,
    class_policy: Option<String>,
}

impl Row {
    fn into_record(self) -> Result<(MessageRecord, Option<String>), StoreError> {
        let outcome = Outcome::parse(&self.outcome)
            .ok_or_else(|| unavailable(format!("corrupt outcome for {}", self.id)))?;
        let delivery = match self.delivery_state {
            None => None,
            Some(state) => Some(DeliveryStatus {
                state: DeliveryState::parse(&state).ok_or_else(|| {
                    unavailable(format!("corrupt delivery state for {}", self.id))
                })?,
                detail: self.delivery_detail.unwrap_or_default(),
                at: self.delivery_at.unwrap_or_default(),
            }),
        };
        Ok((
            MessageRecord {
                id: self.id,
                ses_message_id: self.ses_message_id,
                recipient: self.recipient,
                sender: self.sender,
                subject: self.subject,
                size: self.size as u64,
                verdicts: self.verdicts,
                outcome,
                delivered_to: self.delivered_to,
                detail: self.detail,
                mailer_message_id: self.mailer_message_id,
                error: self.error,
                attempts: self.attempts as u32,
                received_at: self.received_at,
                updated_at: self.updated_at,
                delivery,
                // A name this version does not know reads as none rather than failing the row.
                class: self.mail_class.as_deref().and_then(MailClass::parse),
                policy: self.class_policy.as_deref().and_then(ClassPolicy::parse),
            },
            self.lease_until,
        ))
    }
}

const COLUMNS: &str = "id, ses_message_id, recipient, sender, subject, size, verdicts, outcome, \
                       delivered_to, detail, mailer_message_id, error, attempts, received_at, \
                       updated_at, lease_until, delivery_state, delivery_detail, delivery_at, \
                       delivery_rank, mail_class, class_policy";

/// Writes `r` over the record with its id (or as a new one). An update, not a replace: the
/// counting triggers (migration 0012) see the outcome it had and the one it gets.
async fn write(
    conn: &mut sqlx::SqliteConnection,
    r: &MessageRecord,
    lease_until: Option<&str>,
) -> Result<(), StoreError> {
    upsert(conn, r, lease_until, "INSERT INTO").await?;
    Ok(())
}

/// Every column but the key, set from the row a write offered (`ON CONFLICT … DO UPDATE`).
const UPDATE_ALL: &str = "ses_message_id = excluded.ses_message_id, \
    recipient = excluded.recipient, sender = excluded.sender, subject = excluded.subject, \
    size = excluded.size, verdicts = excluded.verdicts, outcome = excluded.outcome, \
    delivered_to = excluded.delivered_to, detail = excluded.detail, \
    mailer_message_id = excluded.mailer_message_id, error = excluded.error, \
    attempts = excluded.attempts, received_at = excluded.received_at, \
    updated_at = excluded.updated_at, lease_until = excluded.lease_until, \
    delivery_state = excluded.delivery_state, delivery_detail = excluded.delivery_detail, \
    delivery_at = excluded.delivery_at, delivery_rank = excluded.delivery_rank, \
    mail_class = excluded.mail_class, class_policy = excluded.class_policy, \
    sort_key = excluded.sort_key";

/// Writes `r` with `verb` (`INSERT INTO`, which updates a record already there, or `INSERT OR
/// IGNORE INTO`, which leaves it); how many rows it wrote.
pub(super) async fn upsert(
    conn: &mut sqlx::SqliteConnection,
    r: &MessageRecord,
    lease_until: Option<&str>,
    verb: &str,
) -> Result<u64, StoreError> {
    upsert_where(conn, r, lease_until, verb, "").await
}

/// `upsert`, with a `WHERE` on the update of a record already there (empty: always).
async fn upsert_where(
    conn: &mut sqlx::SqliteConnection,
    r: &MessageRecord,
    lease_until: Option<&str>,
    verb: &str,
    condition: &str,
) -> Result<u64, StoreError> {
    let on_conflict = if verb == "INSERT INTO" {
        format!(" ON CONFLICT (id) DO UPDATE SET {UPDATE_ALL}{condition}")
    } else {
        String::new()
    };
    let done = sqlx::query(&format!(
        "{verb} messages ({COLUMNS}, sort_key) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?){on_conflict}"
    ))
    .bind(&r.id)
    .bind(&r.ses_message_id)
    .bind(&r.recipient)
    .bind(&r.sender)
    .bind(&r.subject)
    .bind(r.size as i64)
    .bind(&r.verdicts)
    .bind(r.outcome.as_str())
    .bind(&r.delivered_to)
    .bind(&r.detail)
    .bind(&r.mailer_message_id)
    .bind(&r.error)
    .bind(i64::from(r.attempts))
    .bind(&r.received_at)
    .bind(&r.updated_at)
    .bind(lease_until)
    .bind(r.delivery.as_ref().map(|d| d.state.as_str()))
    .bind(r.delivery.as_ref().map(|d| d.detail.as_str()))
    .bind(r.delivery.as_ref().map(|d| d.at.as_str()))
    .bind(r.delivery.as_ref().map(|d| i64::from(d.state.rank())))
    .bind(r.class.map(MailClass::as_str))
    .bind(r.policy.map(ClassPolicy::as_str))
    .bind(message_sort_key(r))
    .execute(conn)
    .await
    .map_err(unavailable)?;
    Ok(done.rows_affected())
}

/// The writes themselves, run at the mail's priority by the trait's methods (`SqliteStore::write`).
impl SqliteStore {
    async fn claim_now(
        &self,
        w: &Writing,
        record: &MessageRecord,
        lease_until: &str,
        now: &str,
    ) -> Result<Claim, StoreError> {
        // Nearly every claim is of a new id: one statement, atomic on its own, settles it.
        let mut conn = w.pool().acquire().await.map_err(unavailable)?;
        if upsert(
            &mut conn,
            record,
            Some(lease_until),
            "INSERT OR IGNORE INTO",
        )
        .await?
            == 1
        {
            return Ok(Claim::Mine(record.clone()));
        }
        drop(conn);
        let mut tx = w.begin().await?;
        let existing =
            sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM messages WHERE id = ?"))
                .bind(&record.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(unavailable)?
                .map(Row::into_record)
                .transpose()?;
        let claim = match existing {
            None => {
                write(&mut tx, record, Some(lease_until)).await?;
                Claim::Mine(record.clone())
            }
            Some((current, _)) if current.outcome != Outcome::Processing => Claim::Done(current),
            Some((current, lease)) if lease.as_deref().is_some_and(|l| l < now) => {
                // The previous worker's lease ran out: take over, keeping what it recorded.
                let taken = taken_over(current, now);
                write(&mut tx, &taken, Some(lease_until)).await?;
                Claim::Mine(taken)
            }
            Some(_) => Claim::Busy,
        };
        tx.commit().await.map_err(unavailable)?;
        Ok(claim)
    }

    async fn settle_now(&self, w: &Writing, record: &MessageRecord) -> Result<(), StoreError> {
        let mut conn = w.pool().acquire().await.map_err(unavailable)?;
        upsert_where(
            &mut conn,
            record,
            None,
            "INSERT INTO",
            " WHERE messages.outcome = 'processing' AND messages.attempts = excluded.attempts",
        )
        .await?;
        Ok(())
    }

    async fn release_now(&self, w: &Writing, id: &str, now: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE messages SET lease_until = ? WHERE id = ? AND outcome = 'processing'")
            .bind(now)
            .bind(id)
            .execute(w.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn renew_now(
        &self,
        w: &Writing,
        id: &str,
        attempts: u32,
        lease_until: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE messages SET lease_until = ? WHERE id = ? AND outcome = 'processing' AND attempts = ?",
        )
        .bind(lease_until)
        .bind(id)
        .bind(attempts)
        .execute(w.pool())
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn reopen_now(
        &self,
        w: &Writing,
        id: &str,
        from: Outcome,
        lease_until: &str,
        now: &str,
    ) -> Result<MessageRecord, StoreError> {
        let mut tx = w.begin().await?;
        let (current, _) =
            sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM messages WHERE id = ?"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| StoreError::NotFound(format!("the message {id}")))?
                .into_record()?;
        if current.outcome != from {
            return Err(not_reopenable(&current, from));
        }
        let open = reopened(current, now);
        write(&mut tx, &open, Some(lease_until)).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(open)
    }

    async fn record_delivery_now(
        &self,
        w: &Writing,
        mailer_message_id: &str,
        status: &DeliveryStatus,
    ) -> Result<DeliveryUpdate, StoreError> {
        let mut tx = w.begin().await?;
        let rank = i64::from(status.state.rank());
        let updated = sqlx::query(
            "UPDATE messages SET delivery_state = ?, delivery_detail = ?, delivery_at = ?, \
             delivery_rank = ? WHERE mailer_message_id = ? \
             AND (delivery_rank IS NULL OR delivery_rank < ?)",
        )
        .bind(status.state.as_str())
        .bind(&status.detail)
        .bind(&status.at)
        .bind(rank)
        .bind(mailer_message_id)
        .bind(rank)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?
        .rows_affected();
        let (carried,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM messages WHERE mailer_message_id = ?")
                .bind(mailer_message_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(DeliveryUpdate {
            updated,
            unchanged: carried as u64 - updated,
        })
    }

    async fn purge_now(&self, w: &Writing, cutoff: &str) -> Result<u64, StoreError> {
        let mut tx = w.begin().await?;
        let gone =
            sqlx::query("DELETE FROM messages WHERE received_at < ? AND outcome != 'processing'")
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?
                .rows_affected();
        // A raw message stays while any record of its message does (a claim in progress).
        sqlx::query(
            "DELETE FROM raw_messages WHERE NOT EXISTS \
             (SELECT 1 FROM messages WHERE messages.ses_message_id = raw_messages.id)",
        )
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(gone)
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn claim(
        &self,
        record: &MessageRecord,
        lease_until: &str,
        now: &str,
    ) -> Result<Claim, StoreError> {
        let (record, lease_until, now) = (record.clone(), lease_until.to_owned(), now.to_owned());
        self.write(move |s, w| async move { s.claim_now(&w, &record, &lease_until, &now).await })
            .await
    }

    async fn settle(&self, record: &MessageRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.write(move |s, w| async move { s.settle_now(&w, &record).await })
            .await
    }

    async fn release(&self, id: &str, now: &str) -> Result<(), StoreError> {
        let (id, now) = (id.to_owned(), now.to_owned());
        self.write(move |s, w| async move { s.release_now(&w, &id, &now).await })
            .await
    }

    async fn renew(&self, id: &str, attempts: u32, lease_until: &str) -> Result<bool, StoreError> {
        let (id, lease_until) = (id.to_owned(), lease_until.to_owned());
        self.write(move |s, w| async move { s.renew_now(&w, &id, attempts, &lease_until).await })
            .await
    }

    async fn reopen(
        &self,
        id: &str,
        from: Outcome,
        lease_until: &str,
        now: &str,
    ) -> Result<MessageRecord, StoreError> {
        let (id, lease_until, now) = (id.to_owned(), lease_until.to_owned(), now.to_owned());
        self.write(move |s, w| async move { s.reopen_now(&w, &id, from, &lease_until, &now).await })
            .await
    }

    async fn message(&self, id: &str) -> Result<MessageRecord, StoreError> {
        sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM messages WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.reader())
            .await
            .map_err(unavailable)?
            .map(|r| r.into_record().map(|(m, _)| m))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("the message {id}")))
    }

    async fn messages(
        &self,
        filter: &MessageFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<MessageRecord>, StoreError> {
        let before = decode_cursor(cursor)?;
        let mut sql = format!("SELECT {COLUMNS} FROM messages WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if !before.is_empty() {
            sql.push_str(" AND sort_key < ?");
            binds.push(before);
        }
        if let Some(o) = filter.outcome {
            sql.push_str(" AND outcome = ?");
            binds.push(o.as_str().to_string());
        }
        if let Some(r) = &filter.recipient {
            sql.push_str(" AND recipient = ?");
            binds.push(r.clone());
        }
        if let Some(state) = filter.delivery {
            sql.push_str(" AND delivery_state = ?");
            binds.push(state.as_str().to_string());
        }
        if let Some(class) = filter.class {
            sql.push_str(" AND mail_class = ?");
            binds.push(class.as_str().to_string());
        }
        if let Some(since) = &filter.since {
            sql.push_str(" AND sort_key >= ?");
            binds.push(since.clone());
        }
        if let Some(until) = &filter.until {
            sql.push_str(" AND sort_key < ?");
            binds.push(until.clone());
        }
        sql.push_str(" ORDER BY sort_key DESC LIMIT ?");
        let mut query = sqlx::query_as::<_, Row>(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        let items = query
            .bind(i64::from(limit) + 1)
            .fetch_all(self.reader())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|r| r.into_record().map(|(m, _)| m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(items, limit, message_sort_key))
    }

    async fn record_delivery(
        &self,
        mailer_message_id: &str,
        status: &DeliveryStatus,
    ) -> Result<DeliveryUpdate, StoreError> {
        let (id, status) = (mailer_message_id.to_owned(), status.clone());
        self.write(move |s, w| async move { s.record_delivery_now(&w, &id, &status).await })
            .await
    }

    async fn volume(&self, days: &[String], hours: &[String]) -> Result<Volume, StoreError> {
        // The buckets asked for, as JSON arrays: one statement whatever their number.
        let json = |list: &[String]| serde_json::to_string(list).map_err(unavailable);
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT bucket, outcome, n FROM message_volume \
             WHERE (span = 'day' AND bucket IN (SELECT value FROM json_each(?))) \
             OR (span = 'hour' AND bucket IN (SELECT value FROM json_each(?)))",
        )
        .bind(json(days)?)
        .bind(json(hours)?)
        .fetch_all(self.reader())
        .await
        .map_err(unavailable)?;
        let rows = rows
            .into_iter()
            .map(|(bucket, outcome, n)| {
                let outcome = Outcome::parse(&outcome)
                    .ok_or_else(|| unavailable(format!("unknown outcome {outcome:?}")))?;
                Ok((bucket, outcome, u64::try_from(n).unwrap_or_default()))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(fold_volume(rows, days, hours))
    }

    async fn purge(&self, cutoff: &str) -> Result<u64, StoreError> {
        let cutoff = cutoff.to_owned();
        self.write(move |s, w| async move { s.purge_now(&w, &cutoff).await })
            .await
    }
}
