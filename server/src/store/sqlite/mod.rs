use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use backup::{backup, BackupSummary};

use super::{Store, StoreError};

mod accounts;
mod backup;
mod bulk;
mod mappings;
mod messages;
mod notifications;
mod raw;
mod reachability;
mod sessions;
mod settings;
mod tokens;
mod writer;

use writer::Writer;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Reading connections (each holds up to 2 MB of page cache).
const READERS: u32 = 8;

/// The embedded default: one SQLite file in WAL mode. Writes go through a single connection
/// and reads through a small pool: SQLite admits one writer at a time, and writers that race
/// for its lock wait in its busy handler's sleeps (up to 100 ms each), which under load turned
/// into stalls of half a second; queued on one connection they wait only for each other
/// (docs/benchmarks.md, "/sns under load"). WAL lets the readers go on meanwhile.
#[derive(Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: Writer,
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let cannot_open = |e: sqlx::Error| {
            StoreError::Unavailable(format!("cannot open {}: {e}", path.display()))
        };
        // The writer first: it creates the file and switches it to WAL before readers open it.
        // A local file does not go stale like a network connection, so the pool's ping before
        // every acquire would only add a round trip to the connection's thread per query.
        //
        // Every connection is opened now, by the task opening the store, and kept for the
        // process's life: sqlx runs each on a thread of its own, and a thread starts with its
        // creator's CPU priority, so one opened later by a page's request would run the mail's
        // queries at the pages' lower priority (`web::lanes`).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(cannot_open)?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .min_connections(READERS)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(cannot_open)?;
        Ok(SqliteStore {
            reader,
            writer: Writer::new(writer),
        })
    }
}

/// A driver error, for the log; callers see only that the store is unavailable.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteStore {
    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Closes every connection; later calls fail as if the database were gone.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A store on a fresh file, and the directory that holds it (for as long as it lives).
    pub(super) async fn fresh() -> (tempfile::TempDir, Arc<SqliteStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("c.db")).await.unwrap());
        (dir, store)
    }

    /// Servers claiming notifications at once each get distinct rows. Run here only: moto does
    /// not isolate concurrent conditional writes (docs/architecture.md, moto's transactions),
    /// so on it two claims of one row can both pass; DynamoDB's conditional update is atomic,
    /// and the DynamoDB claim's lease and condition are covered by the conformance scenario.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_notification_claims_lease_each_delivery_once() {
        let (_dir, store) = fresh().await;
        crate::store::conformance::notifications::concurrent_claims_lease_each_delivery_once(store)
            .await;
    }

    #[tokio::test]
    async fn opens_migrates_and_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/mailvend.db");
        let store = SqliteStore::open(&path).await.unwrap();
        store.ping().await.unwrap();
        let tables: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .fetch_all(&store.reader)
                .await
                .unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
        assert!(names.contains(&"settings"), "{names:?}");
        drop(store);
        // Opening again must not re-run or fail on applied migrations.
        SqliteStore::open(&path)
            .await
            .unwrap()
            .ping()
            .await
            .unwrap();
    }

    /// Migration 0016 rebuilds the message table (for the outcome `held`): every record, its
    /// delivery and class, and the counts come through, and the counting triggers still work.
    #[tokio::test]
    async fn the_held_mail_migration_keeps_every_record_and_its_counts() {
        use crate::store::{Claim, MessageStore};
        use app::model::{ClassPolicy, DeliveryState, MailClass, Outcome};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("before.db");
        {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    SqliteConnectOptions::new()
                        .filename(&path)
                        .create_if_missing(true),
                )
                .await
                .unwrap();
            let before = sqlx::migrate::Migrator {
                migrations: std::borrow::Cow::Owned(
                    MIGRATOR
                        .migrations
                        .iter()
                        .filter(|m| m.version < 16)
                        .cloned()
                        .collect(),
                ),
                ignore_missing: false,
                locking: true,
                no_tx: false,
            };
            before.run(&pool).await.unwrap();
            for (id, outcome, delivery, class) in [
                (
                    "s1/a@mail.example.com",
                    "forwarded",
                    Some("delivered"),
                    Some("credential"),
                ),
                ("s2/a@mail.example.com", "dead_letter", None, None),
            ] {
                sqlx::query(
                    "INSERT INTO messages (id, ses_message_id, recipient, sender, subject, size, \
                     verdicts, outcome, delivered_to, detail, mailer_message_id, error, attempts, \
                     received_at, updated_at, lease_until, sort_key, delivery_state, \
                     delivery_detail, delivery_at, delivery_rank, mail_class) VALUES (?, ?, \
                     'a@mail.example.com', 'x@y.example', 'hello', 10, 'spam:PASS', ?, NULL, \
                     'why', NULL, NULL, 1, '2026-11-20T08:00:00.000Z', \
                     '2026-11-20T08:00:01.000Z', NULL, ?, ?, 'ok', '2026-11-20T08:00:02.000Z', \
                     2, ?)",
                )
                .bind(id)
                .bind(id.split('/').next().unwrap())
                .bind(outcome)
                .bind(format!("2026-11-20T08:00:00.000Z#{id}"))
                .bind(delivery)
                .bind(class)
                .execute(&pool)
                .await
                .unwrap();
            }
            pool.close().await;
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let kept = store.message("s1/a@mail.example.com").await.unwrap();
        assert_eq!(kept.outcome, Outcome::Forwarded);
        assert_eq!(kept.delivery.unwrap().state, DeliveryState::Delivered);
        assert_eq!(kept.class, Some(MailClass::Credential));
        assert_eq!(kept.policy, None);
        let day = || async {
            store
                .volume(&["2026-11-20".to_string()], &[])
                .await
                .unwrap()
                .days[0]
                .counts
        };
        let counts = day().await;
        assert_eq!(
            (counts.forwarded, counts.dead_letter, counts.held),
            (1, 1, 0)
        );
        // Held mail can be written now, with its policy, and is counted.
        let mut m = store.message("s2/a@mail.example.com").await.unwrap();
        m.id = "s3/a@mail.example.com".into();
        m.ses_message_id = "s3".into();
        m.outcome = Outcome::Processing;
        assert!(matches!(
            store
                .claim(&m, "2999-01-01T00:00:00.000Z", "2026-11-20T08:00:00.000Z")
                .await,
            Ok(Claim::Mine(_))
        ));
        m.outcome = Outcome::Held;
        m.policy = Some(ClassPolicy::Hold);
        store.settle(&m).await.unwrap();
        assert_eq!(
            store.message(&m.id).await.unwrap().policy,
            Some(ClassPolicy::Hold)
        );
        let counts = day().await;
        assert_eq!(
            (counts.forwarded, counts.dead_letter, counts.held),
            (1, 1, 1)
        );
        // A policy this version does not know is refused by the table itself.
        let bogus = sqlx::query("UPDATE messages SET class_policy = 'bogus' WHERE id = ?")
            .bind(&m.id)
            .execute(&store.reader)
            .await;
        assert!(
            bogus
                .as_ref()
                .is_err_and(|e| e.to_string().contains("CHECK")),
            "a policy outside the list: {bogus:?}"
        );
    }

    #[tokio::test]
    async fn unreadable_path_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = SqliteStore::open(&file.join("db.sqlite"))
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("cannot create"), "{err}");
    }
}

#[cfg(test)]
crate::store::conformance::conformance_tests!(crate::store::sqlite::tests::fresh().await);
