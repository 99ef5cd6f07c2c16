//! The settings and the unreachable marks, which the pipeline reads for every message and an
//! admin or a bounce changes rarely, kept in memory for `FRESH_FOR`: on DynamoDB that takes
//! two of a forward's calls off the common path. A change made through this server is seen at
//! once (a write empties the cache); one made by another server is seen within `FRESH_FOR`.

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

pub struct Cached {
    settings: Arc<dyn SettingsStore>,
    reachability: Arc<dyn ReachabilityStore>,
    kept: Mutex<Kept>,
}

impl Cached {
    pub fn new(
        settings: Arc<dyn SettingsStore>,
        reachability: Arc<dyn ReachabilityStore>,
    ) -> Arc<Self> {
        Arc::new(Cached {
            settings,
            reachability,
            kept: Mutex::default(),
        })
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
        self.forget();
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
        self.forget();
        written
    }

    async fn unreachable(&self) -> Result<Vec<Unreachable>, StoreError> {
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
    async fn reads_are_kept_and_this_servers_writes_are_seen_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("c.db")).await.unwrap());
        let cached = Cached::new(store.clone(), store.clone());
        let now = "2026-12-04T00:00:00.000Z";
        assert!(cached.settings(&["catch_all"]).await.unwrap().is_empty());
        // Another server's write (straight to the store): not seen while the read is fresh.
        store
            .put_setting("catch_all", "reject", "other", now)
            .await
            .unwrap();
        assert!(cached.settings(&["catch_all"]).await.unwrap().is_empty());
        // This server's write: seen at once.
        cached
            .put_setting("catch_all", "admin", "me", now)
            .await
            .unwrap();
        assert_eq!(
            cached.settings(&["catch_all"]).await.unwrap()["catch_all"],
            "admin"
        );
        let mark = Unreachable {
            recipient: "gone@corp.example".into(),
            reason: app::model::DeliveryState::Bounced,
            detail: "Permanent".into(),
            since: now.into(),
            mailer_message_id: "m-1".into(),
        };
        assert!(cached.unreachable().await.unwrap().is_empty());
        store.mark_unreachable(&mark, "mailer", now).await.unwrap();
        assert!(
            cached.unreachable().await.unwrap().is_empty(),
            "kept for FRESH_FOR"
        );
        cached
            .clear_unreachable("nobody@corp.example", None, "me", now)
            .await
            .unwrap();
        assert_eq!(
            cached.unreachable().await.unwrap(),
            vec![mark],
            "a write here forgets what was kept"
        );
    }
}
