//! `MappingStore` on SQLite. Every change runs in a `BEGIN IMMEDIATE` transaction, which takes
//! SQLite's single write lock up front: concurrent vends queue instead of racing, and a
//! transaction never fails half-way on a lock upgrade.

use std::collections::BTreeMap;

use app::model::{AuditEntry, Mapping, MappingCounts, MappingStatus, Page};
use app::naming;
use async_trait::async_trait;
use sqlx::SqliteConnection;

use super::{unavailable, writer::Writing, SqliteStore};
use crate::store::paging::{decode_cursor, keyed_page, page_of};
use crate::store::{
    edit_action, taken, MappingChange, MappingFilter, MappingStore, NameSpec, StoreError, Taken,
    VendSpec, Vended, MAX_SKIPS,
};

#[derive(sqlx::FromRow)]
struct Row {
    address: String,
    account_name: String,
    base: Option<String>,
    counter: Option<i64>,
    account_type: String,
    owner: String,
    recipients: String,
    tags: String,
    status: String,
    aws_account_id: Option<String>,
    account: Option<String>,
    notes: Option<String>,
    created_at: String,
    created_by: String,
    updated_at: String,
    updated_by: String,
}

impl Row {
    fn into_mapping(self) -> Result<Mapping, StoreError> {
        let tags: BTreeMap<String, String> = serde_json::from_str(&self.tags)
            .map_err(|e| unavailable(format!("corrupt tags for {}: {e}", self.address)))?;
        let recipients: Vec<String> = serde_json::from_str(&self.recipients)
            .map_err(|e| unavailable(format!("corrupt recipients for {}: {e}", self.address)))?;
        let status = MappingStatus::parse(&self.status)
            .ok_or_else(|| unavailable(format!("corrupt status for {}", self.address)))?;
        let account = self
            .account
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| unavailable(format!("corrupt account for {}: {e}", self.address)))?;
        Ok(Mapping {
            address: self.address,
            account_name: self.account_name,
            base: self.base,
            counter: self.counter.map(|c| c as u64),
            account_type: self.account_type,
            owner: self.owner,
            recipients,
            tags,
            status,
            aws_account_id: self.aws_account_id,
            account,
            notes: self.notes,
            created_at: self.created_at,
            created_by: self.created_by,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
            unreachable: Vec::new(),
        })
    }
}

const COLUMNS: &str = "m.address, m.account_name, m.base, m.counter, m.account_type, m.owner, \
                       m.recipients, m.tags, m.status, m.aws_account_id, m.account, m.notes, m.created_at, \
                       m.created_by, m.updated_at, m.updated_by";

async fn fetch(conn: &mut SqliteConnection, address: &str) -> Result<Option<Mapping>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM mappings m WHERE m.address = ?");
    sqlx::query_as::<_, Row>(&sql)
        .bind(address)
        .fetch_optional(conn)
        .await
        .map_err(unavailable)?
        .map(Row::into_mapping)
        .transpose()
}

async fn find_taken(
    conn: &mut SqliteConnection,
    address: &str,
    name: &str,
) -> Result<Option<Taken>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT address, account_name FROM mappings WHERE address = ? OR account_name = ? LIMIT 1",
    )
    .bind(address)
    .bind(name)
    .fetch_optional(conn)
    .await
    .map_err(unavailable)?;
    Ok(row.map(|(a, _)| {
        if a == address {
            Taken::Address
        } else {
            Taken::Name
        }
    }))
}

async fn audit(
    conn: &mut SqliteConnection,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    before: Option<&Mapping>,
    after: Option<&Mapping>,
) -> Result<(), StoreError> {
    let json =
        |m: Option<&Mapping>| m.map(|m| serde_json::to_string(m).expect("mappings serialize"));
    sqlx::query("INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(json(before))
        .bind(json(after))
        .execute(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

fn account_json(m: &Mapping) -> Option<String> {
    m.account
        .as_ref()
        .map(|a| serde_json::to_string(a).expect("accounts serialize"))
}

pub(super) async fn insert(conn: &mut SqliteConnection, m: &Mapping) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mappings (address, account_name, base, counter, account_type, owner, recipients, \
         tags, status, aws_account_id, account, notes, created_at, created_by, updated_at, updated_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&m.address)
    .bind(&m.account_name)
    .bind(&m.base)
    .bind(m.counter.map(|c| c as i64))
    .bind(&m.account_type)
    .bind(&m.owner)
    .bind(serde_json::to_string(&m.recipients).expect("recipients serialize"))
    .bind(serde_json::to_string(&m.tags).expect("tags serialize"))
    .bind(m.status.as_str())
    .bind(&m.aws_account_id)
    .bind(account_json(m))
    .bind(&m.notes)
    .bind(&m.created_at)
    .bind(&m.created_by)
    .bind(&m.updated_at)
    .bind(&m.updated_by)
    .execute(conn)
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// The writes themselves, run at the mail's priority by the trait's methods (`SqliteStore::write`).
impl SqliteStore {
    async fn vend_now(&self, w: &Writing, spec: &VendSpec) -> Result<Vended, StoreError> {
        let mut tx = w.begin().await?;
        if let Some(key) = &spec.idempotency_key {
            let earlier: Option<(String,)> =
                sqlx::query_as("SELECT address FROM idempotency_keys WHERE key = ?")
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(unavailable)?;
            if let Some((address,)) = earlier {
                let mapping = fetch(&mut tx, &address).await?.ok_or_else(|| {
                    unavailable(format!("idempotency key points at missing {address}"))
                })?;
                tx.commit().await.map_err(unavailable)?;
                return Ok(Vended {
                    mapping,
                    created: false,
                });
            }
        }

        let mapping = match &spec.name {
            NameSpec::Explicit { account_name } => {
                let address = spec.address_for(account_name);
                match find_taken(&mut tx, &address, account_name).await? {
                    Some(Taken::Address) => return Err(taken(Taken::Address, &address)),
                    Some(Taken::Name) => return Err(taken(Taken::Name, account_name)),
                    None => spec.mapping(account_name.clone(), address, None),
                }
            }
            NameSpec::Generated { base, width } => {
                let mut found = None;
                for _ in 0..MAX_SKIPS {
                    let (counter,): (i64,) = sqlx::query_as(
                        "INSERT INTO name_counters (base, next) VALUES (?, 2) \
                         ON CONFLICT (base) DO UPDATE SET next = next + 1 RETURNING next - 1",
                    )
                    .bind(base)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                    let counter = counter as u64;
                    let name = naming::account_name(base, counter, *width);
                    // On error the rollback returns the number.
                    spec.check_generated(&name)?;
                    if spec.skips(&name) {
                        continue;
                    }
                    let address = spec.address_for(&name);
                    match find_taken(&mut tx, &address, &name).await? {
                        None => {
                            found = Some(spec.mapping(name, address, Some(counter)));
                            break;
                        }
                        // An override took the address itself: no counter can help.
                        Some(Taken::Address) if spec.address.is_some() => {
                            return Err(taken(Taken::Address, &address))
                        }
                        Some(_) => continue,
                    }
                }
                found.ok_or_else(|| {
                    StoreError::Conflict(format!("no free name for {base} after {MAX_SKIPS} tries"))
                })?
            }
        };

        insert(&mut tx, &mapping).await?;
        if let Some(key) = &spec.idempotency_key {
            sqlx::query("INSERT INTO idempotency_keys (key, address, created_at) VALUES (?, ?, ?)")
                .bind(key)
                .bind(&mapping.address)
                .bind(&spec.now)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        audit(
            &mut tx,
            &spec.now,
            &spec.actor,
            "vend",
            &mapping.address,
            None,
            Some(&mapping),
        )
        .await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(Vended {
            mapping,
            created: true,
        })
    }

    async fn import_now(
        &self,
        w: &Writing,
        m: &Mapping,
        actor: &str,
        now: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = w.begin().await?;
        if let (Some(base), Some(counter)) = (&m.base, m.counter) {
            // `next` is the number the next vend takes.
            sqlx::query(
                "INSERT INTO name_counters (base, next) VALUES (?, ?) \
                 ON CONFLICT (base) DO UPDATE SET next = max(next, excluded.next)",
            )
            .bind(base)
            .bind(counter as i64 + 1)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        match find_taken(&mut tx, &m.address, &m.account_name).await? {
            Some(Taken::Address) => {
                tx.commit().await.map_err(unavailable)?;
                return Ok(false);
            }
            Some(Taken::Name) => return Err(taken(Taken::Name, &m.account_name)),
            None => {}
        }
        insert(&mut tx, m).await?;
        audit(&mut tx, now, actor, "import", &m.address, None, Some(m)).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(true)
    }

    async fn update_now(
        &self,
        w: &Writing,
        address: &str,
        change: &MappingChange,
        actor: &str,
        now: &str,
    ) -> Result<Mapping, StoreError> {
        let mut tx = w.begin().await?;
        let before = fetch(&mut tx, address)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("the address {address}")))?;
        if before.status == MappingStatus::Deleted {
            return Err(StoreError::Conflict(format!(
                "{address} was deleted and cannot be edited"
            )));
        }
        let after = change.apply(&before, actor, now);
        sqlx::query(
            "UPDATE mappings SET owner = ?, recipients = ?, status = ?, account_type = ?, tags = ?, \
             aws_account_id = ?, account = ?, notes = ?, updated_at = ?, updated_by = ? WHERE address = ?",
        )
        .bind(&after.owner)
        .bind(serde_json::to_string(&after.recipients).expect("recipients serialize"))
        .bind(after.status.as_str())
        .bind(&after.account_type)
        .bind(serde_json::to_string(&after.tags).expect("tags serialize"))
        .bind(&after.aws_account_id)
        .bind(account_json(&after))
        .bind(&after.notes)
        .bind(&after.updated_at)
        .bind(&after.updated_by)
        .bind(address)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let action = edit_action(&after);
        audit(
            &mut tx,
            now,
            actor,
            action,
            address,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(after)
    }

    async fn append_audit_now(&self, w: &Writing, e: &AuditEntry) -> Result<(), StoreError> {
        let mut conn = w.pool().acquire().await.map_err(unavailable)?;
        insert_audit(&mut conn, e).await
    }
}

/// Writes `e` as it is (its before and after already text), on `conn` (a transaction, where it
/// goes with a change).
pub(super) async fn insert_audit(
    conn: &mut SqliteConnection,
    e: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&e.at)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.before)
    .bind(&e.after)
    .execute(conn)
    .await
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl MappingStore for SqliteStore {
    async fn vend(&self, spec: &VendSpec) -> Result<Vended, StoreError> {
        let spec = spec.clone();
        self.write(move |s, w| async move { s.vend_now(&w, &spec).await })
            .await
    }

    async fn import(&self, m: &Mapping, actor: &str, now: &str) -> Result<bool, StoreError> {
        let (m, actor, now) = (m.clone(), actor.to_owned(), now.to_owned());
        self.write(move |s, w| async move { s.import_now(&w, &m, &actor, &now).await })
            .await
    }

    async fn get(&self, address: &str) -> Result<Mapping, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(unavailable)?;
        fetch(&mut conn, address)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("the address {address}")))
    }

    async fn list(
        &self,
        filter: &MappingFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, StoreError> {
        let after = decode_cursor(cursor)?;
        let mut sql = format!("SELECT {COLUMNS} FROM mappings m WHERE m.address > ?");
        let mut binds: Vec<String> = vec![after];
        match filter.status {
            Some(status) => {
                sql.push_str(" AND m.status = ?");
                binds.push(status.as_str().to_string());
            }
            None => sql.push_str(" AND m.status <> 'deleted'"),
        }
        if let Some(owner) = &filter.owner {
            sql.push_str(" AND m.owner = ?");
            binds.push(owner.clone());
        }
        if let Some(t) = &filter.account_type {
            sql.push_str(" AND m.account_type = ?");
            binds.push(t.clone());
        }
        if let Some(actor) = &filter.vended_by {
            sql.push_str(" AND m.created_by = ?");
            binds.push(actor.clone());
        }
        if let Some(state) = filter.account_state {
            sql.push_str(" AND json_extract(m.account, '$.state') = ?");
            binds.push(state.as_str().to_string());
        }
        if let Some(owners) = &filter.owners {
            // One bound JSON array, however many owners.
            sql.push_str(
                " AND (m.owner IN (SELECT value FROM json_each(?)) OR EXISTS (SELECT 1 FROM \
                 json_each(m.recipients) r WHERE r.value IN (SELECT value FROM json_each(?))))",
            );
            let owners = serde_json::to_string(owners).expect("strings serialize");
            binds.push(owners.clone());
            binds.push(owners);
        }
        if let Some(member) = &filter.member {
            sql.push_str(
                " AND (m.owner = ? OR EXISTS (SELECT 1 FROM json_each(m.recipients) r WHERE r.value = ?))",
            );
            binds.push(member.clone());
            binds.push(member.clone());
        }
        if let Some(q) = filter
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        {
            let q = q.to_ascii_lowercase();
            if q.chars().count() >= 3 {
                // Trigram index: a phrase query matches the substring anywhere.
                sql.push_str(" AND m.rowid IN (SELECT rowid FROM mappings_search WHERE mappings_search MATCH ?)");
                binds.push(format!("\"{}\"", q.replace('"', "\"\"")));
            } else {
                // Too short for trigrams: a prefix of the address, served by the primary key.
                sql.push_str(" AND m.address >= ? AND m.address < ?");
                binds.push(q.clone());
                binds.push(format!("{q}\u{10FFFF}"));
            }
        }
        sql.push_str(" ORDER BY m.address LIMIT ?");
        let mut query = sqlx::query_as::<_, Row>(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query
            .bind(i64::from(limit) + 1)
            .fetch_all(self.reader())
            .await
            .map_err(unavailable)?;
        let items = rows
            .into_iter()
            .map(Row::into_mapping)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(items, limit, |m| m.address.clone()))
    }

    async fn update(
        &self,
        address: &str,
        change: &MappingChange,
        actor: &str,
        now: &str,
    ) -> Result<Mapping, StoreError> {
        let (address, change, actor, now) = (
            address.to_owned(),
            change.clone(),
            actor.to_owned(),
            now.to_owned(),
        );
        self.write(
            move |s, w| async move { s.update_now(&w, &address, &change, &actor, &now).await },
        )
        .await
    }

    async fn audit_trail(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, action, subject, before, after FROM audit_log WHERE subject = ? ORDER BY id",
        )
        .bind(subject)
        .fetch_all(self.reader())
        .await
        .map_err(unavailable)?;
        Ok(rows.into_iter().map(|r| r.into_entry().1).collect())
    }

    async fn audit_log(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let before = match decode_cursor(cursor)? {
            c if c.is_empty() => i64::MAX,
            c => c.parse().map_err(|_| StoreError::Invalid {
                field: "cursor",
                message: "not a cursor this server handed out".into(),
            })?,
        };
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, action, subject, before, after FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.reader())
        .await
        .map_err(unavailable)?;
        Ok(keyed_page(
            rows.into_iter().map(AuditRow::into_entry).collect(),
            limit,
        ))
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let e = e.clone();
        self.write(move |s, w| async move { s.append_audit_now(&w, &e).await })
            .await
    }

    async fn counts(&self) -> Result<MappingCounts, StoreError> {
        let rows: Vec<(String, i64)> =
            // Kept by triggers as mappings are written (migration 0012): three rows at most.
            sqlx::query_as("SELECT status, n FROM mapping_counts")
                .fetch_all(self.reader())
                .await
                .map_err(unavailable)?;
        let mut counts = MappingCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or_default();
            match MappingStatus::parse(&status) {
                Some(MappingStatus::Active) => counts.active = n,
                Some(MappingStatus::Suspended) => counts.suspended = n,
                Some(MappingStatus::Deleted) => counts.deleted = n,
                None => return Err(unavailable(format!("unknown mapping status {status:?}"))),
            }
        }
        Ok(counts)
    }
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    before: Option<String>,
    after: Option<String>,
}

impl AuditRow {
    /// The entry with its sort key (the row id) for paging.
    fn into_entry(self) -> (String, AuditEntry) {
        (
            self.id.to_string(),
            AuditEntry {
                at: self.at,
                actor: self.actor,
                action: self.action,
                subject: self.subject,
                before: self.before,
                after: self.after,
            },
        )
    }
}
