//! The one way to SQLite's writer: `SqliteStore::write`, which runs the write at the mail's
//! priority (`crate::priority`). A page or an API call that writes holds the one writer, and
//! must not wait for a core at its lower priority between the statements of its transaction
//! while the webhook's writes queue behind it. `Writing`, the writer's pool, is made only here,
//! so no write can skip the move.

use std::future::Future;

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::{unavailable, SqliteStore};
use crate::priority::{at_full_priority, Stopped};
use crate::store::StoreError;

/// The writer as the store keeps it: closed with the store, otherwise out of reach.
#[derive(Clone)]
pub(super) struct Writer {
    pool: SqlitePool,
}

impl Writer {
    pub(super) fn new(pool: SqlitePool) -> Self {
        Writer { pool }
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

/// The writer, for the write `SqliteStore::write` runs.
pub(crate) struct Writing {
    pool: SqlitePool,
}

impl Writing {
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A transaction that takes the write lock at once: a deferred one would read first and
    /// then fail to upgrade if another write came between.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable)
    }
}

impl SqliteStore {
    /// Runs `write` at the mail's priority: in place when the caller is at it already (the
    /// webhook), else on the caller's full-priority runtime. Once begun, the write completes
    /// even if the request that asked for it is given up.
    pub(crate) async fn write<T, F, Fut>(&self, write: F) -> Result<T, StoreError>
    where
        F: FnOnce(SqliteStore, Writing) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let writing = Writing {
            pool: self.writer.pool.clone(),
        };
        at_full_priority(write(self.clone(), writing))
            .await
            .unwrap_or_else(|Stopped| Err(unavailable("the server is stopping")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::priority::lowered;
    use crate::store::SettingsStore;

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or("").to_string()
    }

    /// A page's write runs on the runtime its request came from, not on the lowered one that
    /// serves the page; and it still lands.
    #[test]
    fn a_lowered_requests_writes_run_at_full_priority() {
        let runtime = |name: &str| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name(name)
                .enable_all()
                .build()
                .unwrap()
        };
        let (full, low) = (runtime("full"), runtime("lowered"));
        let dir = tempfile::tempdir().unwrap();
        let store = full
            .block_on(SqliteStore::open(&dir.path().join("writer.db")))
            .unwrap();
        let s = store.clone();
        let request = lowered(full.handle().clone(), async move {
            s.put_setting("retention_days", "30", "admin@corp", "2026-12-05T00:00:00Z")
                .await
                .unwrap();
            let write = s
                .write(|_, w| async move {
                    sqlx::query("SELECT 1")
                        .execute(w.pool())
                        .await
                        .map_err(unavailable)?;
                    Ok(thread_name())
                })
                .await
                .unwrap();
            (thread_name(), write)
        });
        let (page, write) = full.block_on(low.spawn(request)).unwrap();
        assert_eq!(page, "lowered");
        assert_eq!(
            write, "full",
            "the write did not run on the request's runtime"
        );
        let kept = full.block_on(store.setting("retention_days")).unwrap();
        assert_eq!(kept.as_deref(), Some("30"));
        low.shutdown_background();
    }
}
