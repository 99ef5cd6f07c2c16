//! Sign-in sessions: expiry, and ids never shared.

use super::unique;
use crate::store::SessionStore;

pub async fn sessions_expire_and_ids_are_never_shared(store: &dyn SessionStore) {
    let id = unique("sess");
    let now = 1_800_000_000;
    assert_eq!(store.session(&id, now).await.unwrap(), None);
    assert!(store
        .create_session(&id, "{\"a\":1}", now + 60)
        .await
        .unwrap());
    // A second session with the same id is refused, and the first is untouched.
    assert!(!store
        .create_session(&id, "{\"b\":2}", now + 60)
        .await
        .unwrap());
    assert_eq!(
        store.session(&id, now).await.unwrap().as_deref(),
        Some("{\"a\":1}")
    );
    store
        .save_session(&id, "{\"a\":2}", now + 120)
        .await
        .unwrap();
    assert_eq!(
        store.session(&id, now + 90).await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );
    // Expired: not returned, whether or not it was purged yet.
    assert_eq!(store.session(&id, now + 120).await.unwrap(), None);
    store.save_session(&id, "{}", now + 10).await.unwrap();
    store.delete_session(&id).await.unwrap();
    assert_eq!(store.session(&id, now).await.unwrap(), None);
    store.delete_session(&id).await.unwrap();
}
