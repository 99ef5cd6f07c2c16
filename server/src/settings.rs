//! Run-time settings: what the store holds, over the configuration's initial values.

pub use app::model::SettingsPatch;
use app::model::{DmarcPolicy, Settings, SpamPolicy};

use crate::config::Config;
use crate::store::{SettingsStore, StoreError};

const CATCH_ALL: &str = "catch_all";
const SPAM_POLICY: &str = "spam_policy";
const DMARC_POLICY: &str = "dmarc_policy";

/// The settings in force: stored values, else the configuration's.
pub async fn current(store: &dyn SettingsStore, config: &Config) -> Result<Settings, StoreError> {
    let catch_all = match store.setting(CATCH_ALL).await?.as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => config.catch_all,
    };
    let spam_policy = store
        .setting(SPAM_POLICY)
        .await?
        .and_then(|v| SpamPolicy::parse(&v))
        .unwrap_or_default();
    let dmarc_policy = store
        .setting(DMARC_POLICY)
        .await?
        .and_then(|v| DmarcPolicy::parse(&v))
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
