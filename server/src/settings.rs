//! Run-time settings: what the store holds, over the configuration's initial values.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use app::model::SettingsPatch;
use app::model::{DmarcPolicy, Settings, SpamPolicy};

use crate::config::Config;
use crate::store::{SettingsStore, StoreError};

const CATCH_ALL: &str = "catch_all";
const SPAM_POLICY: &str = "spam_policy";
const DMARC_POLICY: &str = "dmarc_policy";
const SESSION_EPOCH: &str = "session_epoch";

/// "Sign everyone out" (issue 20 item 3): sessions begun before this time are over. Read on
/// every signed-in request, so it is cached here for `SessionEpoch::CACHE`; the server where
/// an admin signs everyone out knows at once, the others within that time.
pub struct SessionEpoch {
    store: Arc<dyn SettingsStore>,
    cached: Mutex<Option<(Instant, i64)>>,
}

impl SessionEpoch {
    pub const CACHE: Duration = Duration::from_secs(10);

    pub fn new(store: Arc<dyn SettingsStore>) -> SessionEpoch {
        SessionEpoch {
            store,
            cached: Mutex::new(None),
        }
    }

    /// Unix milliseconds before which sessions are void (0: never signed out). A store that does
    /// not answer keeps the last value known; with none known, `None`: the caller must not
    /// take a session for valid (a signed-out session must not come back because the store
    /// blinked after a restart).
    pub async fn current(&self) -> Option<i64> {
        let last = *self.cached.lock().expect("epoch lock");
        if let Some((read, epoch)) = last {
            if read.elapsed() < Self::CACHE {
                return Some(epoch);
            }
        }
        match self.store.setting(SESSION_EPOCH).await {
            Ok(v) => {
                let epoch = v.and_then(|v| v.parse().ok()).unwrap_or(0);
                *self.cached.lock().expect("epoch lock") = Some((Instant::now(), epoch));
                Some(epoch)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the session epoch");
                last.map(|(_, epoch)| epoch)
            }
        }
    }

    /// Ends every session begun before `now_ms` (unix milliseconds; audited like any setting).
    pub async fn sign_everyone_out(
        &self,
        actor: &str,
        now: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.store
            .put_setting(SESSION_EPOCH, &now_ms.to_string(), actor, now)
            .await?;
        *self.cached.lock().expect("epoch lock") = Some((Instant::now(), now_ms));
        Ok(())
    }
}

/// The settings in force: stored values, else the configuration's.
pub async fn current(store: &dyn SettingsStore, config: &Config) -> Result<Settings, StoreError> {
    // One read for all three: the pipeline asks for every message.
    let stored = store
        .settings(&[CATCH_ALL, SPAM_POLICY, DMARC_POLICY])
        .await?;
    let catch_all = match stored.get(CATCH_ALL).map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => config.catch_all,
    };
    let spam_policy = stored
        .get(SPAM_POLICY)
        .and_then(|v| SpamPolicy::parse(v))
        .unwrap_or_default();
    let dmarc_policy = stored
        .get(DMARC_POLICY)
        .and_then(|v| DmarcPolicy::parse(v))
        .unwrap_or_default();
    Ok(Settings {
        catch_all,
        spam_policy,
        dmarc_policy,
    })
}

/// Writes each field the patch names (each audited), returning the settings after.
pub async fn apply(
    store: &dyn SettingsStore,
    config: &Config,
    patch: &SettingsPatch,
    actor: &str,
    now: &str,
) -> Result<Settings, StoreError> {
    if let Some(v) = patch.catch_all {
        store
            .put_setting(CATCH_ALL, if v { "true" } else { "false" }, actor, now)
            .await?;
    }
    if let Some(p) = patch.spam_policy {
        store
            .put_setting(SPAM_POLICY, p.as_str(), actor, now)
            .await?;
    }
    if let Some(p) = patch.dmarc_policy {
        store
            .put_setting(DMARC_POLICY, p.as_str(), actor, now)
            .await?;
    }
    current(store, config).await
}
