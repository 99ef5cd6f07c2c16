//! Settings: kept, replaced, audited.

use super::unique;
use crate::store::{MappingStore, SettingsStore};

pub async fn settings_are_kept_and_audited<S>(store: &S)
where
    S: SettingsStore + MappingStore,
{
    let key = unique("catch_all");
    assert_eq!(store.setting(&key).await.unwrap(), None);
    store
        .put_setting(&key, "true", "admin:a", "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(store.setting(&key).await.unwrap().as_deref(), Some("true"));
    store
        .put_setting(&key, "false", "admin:b", "2026-11-25T00:00:01.000Z")
        .await
        .unwrap();
    assert_eq!(store.setting(&key).await.unwrap().as_deref(), Some("false"));
    let trail = store.audit_trail(&format!("setting:{key}")).await.unwrap();
    let seen: Vec<_> = trail
        .iter()
        .map(|e| {
            (
                e.actor.as_str(),
                e.action.as_str(),
                e.before.as_deref(),
                e.after.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("admin:a", "setting", None, Some("true")),
            ("admin:b", "setting", Some("true"), Some("false")),
        ]
    );
}
