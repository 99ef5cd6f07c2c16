//! The settings and the unreachable marks, which the pipeline reads for every message and an
//! admin or a bounce changes rarely, kept in memory for `FRESH_FOR` for the pipeline's reads:
//! on DynamoDB that takes two of a forward's calls off the common path. A change made through
//! this server is seen at once (a write that changes something empties the cache); one made by
//! another server or by a command is seen within `FRESH_FOR`. Everything else (the pages, the
//! API) reads through the other view of the same cache, which always reads the store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::model::Unreachable;
use async_trait::async_trait;

use super::{ReachabilityStore, SettingsStore, StoreError};

/// How stale a read may be: the longest another server's change takes to apply here.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Kept {
    /// Bumped by every write, so that a read which began before a write does not keep what
    /// it read after it.
    generation: u64,
    settings: BTreeMap<Vec<String>, (Instant, BTreeMap<String, String>)>,
    marks: Option<(Instant, Vec<Unreachable>)>,
}

/// One view of the cache: `serves_kept` answers reads from it (the pipeline's view); the
/// other view reads the store every time. Writes through either empty it.
pub struct Cached {
    settings: Arc<dyn SettingsStore>,
    reachability: Arc<dyn ReachabilityStore>,
    kept: Arc<Mutex<Kept>>,
    serves_kept: bool,
}

impl Cached {
    /// The view that always reads the store, and the one that serves what it kept.
    pub fn views(
        settings: Arc<dyn SettingsStore>,
        reachability: Arc<dyn ReachabilityStore>,
    ) -> (Arc<Self>, Arc<Self>) {
        let kept = Arc::new(Mutex::default());
        let view = |serves_kept| {
            Arc::new(Cached {
                settings: settings.clone(),
                reachability: reachability.clone(),
                kept: Arc::clone(&kept),
                serves_kept,
            })
        };
        (view(false), view(true))
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self) {
        let mut kept = self.kept();
        kept.generation += 1;
        kept.settings.clear();
        kept.marks = None;
    }
}

fn fresh(read_at: &Instant) -> bool {
    read_at.elapsed() < FRESH_FOR
}

#[async_trait]
impl SettingsStore for Cached {
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.settings.setting(key).await
    }

    async fn settings(&self, keys: &[&str]) -> Result<BTreeMap<String, String>, StoreError> {
        if !self.serves_kept {
            return self.settings.settings(keys).await;
        }
        let asked: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let generation = {
            let kept = self.kept();
            if let Some((at, values)) = kept.settings.get(&asked) {
                if fresh(at) {
                    return Ok(values.clone());
                }
            }
            kept.generation
        };
        let values = self.settings.settings(keys).await?;
        let mut kept = self.kept();
        if kept.generation == generation {
            kept.settings
                .insert(asked, (Instant::now(), values.clone()));
        }
        Ok(values)
    }

    async fn put_setting(
        &self,
        key: &str,
        value: &str,
        actor: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let written = self.settings.put_setting(key, value, actor, now).await;
        self.forget();
        written
    }
}

#[async_trait]
impl ReachabilityStore for Cached {
    async fn mark_unreachable(
        &self,
        mark: &Unreachable,
        actor: &str,
        now: &str,
    ) -> Result<bool, StoreError> {
        let written = self.reachability.mark_unreachable(mark, actor, now).await;
        // Only a change empties it: every delivery event asks to clear a mark, nearly always
        // one that is not there.
        if !matches!(written, Ok(false)) {
            self.forget();
        }
        written
    }

    async fn clear_unreachable(
        &self,
        recipient: &str,
        before: Option<&str>,
        actor: &str,
        now: &str,
    ) -> Result<Option<Unreachable>, StoreError> {
        let written = self
            .reachability
            .clear_unreachable(recipient, before, actor, now)
            .await;
        if !matches!(written, Ok(None)) {
            self.forget();
        }
        written
    }

    async fn unreachable(&self) -> Result<Vec<Unreachable>, StoreError> {
        if !self.serves_kept {
            return self.reachability.unreachable().await;
        }
        let generation = {
            let kept = self.kept();
            if let Some((at, marks)) = &kept.marks {
                if fresh(at) {
                    return Ok(marks.clone());
                }
            }
            kept.generation
        };
        let marks = self.reachability.unreachable().await?;
        let mut kept = self.kept();
        if kept.generation == generation {
            kept.marks = Some((Instant::now(), marks.clone()));
        }
        Ok(marks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn the_pipelines_reads_are_kept_and_this_servers_changes_seen_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("c.db")).await.unwrap());
        let (fresh, kept) = Cached::views(store.clone(), store.clone());
        let now = "2026-12-04T00:00:00.000Z";
        assert!(kept.settings(&["catch_all"]).await.unwrap().is_empty());
        // Another server's write (straight to the store): not seen while the read is fresh,
        // except through the view that always reads.
        store
            .put_setting("catch_all", "reject", "other", now)
            .await
            .unwrap();
        assert!(kept.settings(&["catch_all"]).await.unwrap().is_empty());
        assert_eq!(
            fresh.settings(&["catch_all"]).await.unwrap()["catch_all"],
            "reject"
        );
        // This server's write: seen at once.
        fresh
            .put_setting("catch_all", "admin", "me", now)
            .await
            .unwrap();
        assert_eq!(
            kept.settings(&["catch_all"]).await.unwrap()["catch_all"],
            "admin"
        );

        let mark = Unreachable {
            recipient: "gone@corp.example".into(),
            reason: app::model::DeliveryState::Bounced,
            detail: "Permanent".into(),
            since: now.into(),
            mailer_message_id: "m-1".into(),
        };
        assert!(kept.unreachable().await.unwrap().is_empty());
        store.mark_unreachable(&mark, "mailer", now).await.unwrap();
        assert!(kept.unreachable().await.unwrap().is_empty(), "kept");
        assert_eq!(fresh.unreachable().await.unwrap(), vec![mark.clone()]);
        // Clearing a mark that is not there changes nothing, so forgets nothing.
        fresh
            .clear_unreachable("nobody@corp.example", None, "me", now)
            .await
            .unwrap();
        assert!(kept.unreachable().await.unwrap().is_empty());
        let other = Unreachable {
            recipient: "left@corp.example".into(),
            ..mark.clone()
        };
        fresh.mark_unreachable(&other, "mailer", now).await.unwrap();
        assert_eq!(
            kept.unreachable().await.unwrap().len(),
            2,
            "a change here forgets what was kept"
        );
    }
}
