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

/// Several settings read together: those set, with their latest values; unset ones absent;
/// no keys, nothing.
pub async fn settings_are_read_together<S>(store: &S)
where
    S: SettingsStore,
{
    let (a, b, unset) = (unique("a"), unique("b"), unique("unset"));
    store
        .put_setting(&a, "1", "admin:a", "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    store
        .put_setting(&b, "2", "admin:a", "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    store
        .put_setting(&b, "3", "admin:a", "2026-11-25T00:00:01.000Z")
        .await
        .unwrap();
    let read = store.settings(&[&a, &b, &unset, &a]).await.unwrap();
    assert_eq!(
        read,
        std::collections::BTreeMap::from([(a.clone(), "1".to_string()), (b, "3".to_string())])
    );
    assert!(store.settings(&[]).await.unwrap().is_empty());
    assert!(store.settings(&[&unset]).await.unwrap().is_empty());
}
