//! API tokens: found by digest, revoked once, audited.

use super::unique;
use crate::store::{MappingStore, StoreError, TokenStore};

pub async fn tokens_are_found_by_digest_and_revoked_once<S>(store: &S)
where
    S: TokenStore + MappingStore,
{
    use crate::tokens::{ApiToken, Scope};
    let id = unique("tok");
    let token = ApiToken {
        id: id.clone(),
        name: "pipeline".into(),
        scope: Scope::Vend,
        created_at: "2026-11-25T00:00:00.000Z".into(),
        created_by: "admin:conformance".into(),
        revoked_at: None,
        expires_at: Some("2027-01-01T00:00:00.000Z".into()),
        last_used_at: None,
    };
    let digest = format!("digest-{id}");
    store.create_token(&token, &digest).await.unwrap();
    assert_eq!(
        store.token_by_digest(&digest).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(store.token_by_digest("no-such-digest").await.unwrap(), None);
    assert!(store.list_tokens().await.unwrap().contains(&token));
    // Use is recorded without touching anything else.
    store
        .token_used(&id, "2026-11-25T00:30:00.000Z")
        .await
        .unwrap();
    let used = store.token_by_digest(&digest).await.unwrap().unwrap();
    assert_eq!(
        used.last_used_at.as_deref(),
        Some("2026-11-25T00:30:00.000Z")
    );
    assert_eq!(used.expires_at, token.expires_at);
    assert!(matches!(
        store.token_used("no-such-token", "t").await,
        Err(StoreError::NotFound(_))
    ));
    let revoked = store
        .revoke_token(&id, "admin:x", "2026-11-25T01:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(
        revoked.revoked_at.as_deref(),
        Some("2026-11-25T01:00:00.000Z")
    );
    assert_eq!(
        store
            .token_by_digest(&digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        revoked.revoked_at
    );
    let trail = store.audit_trail(&format!("token:{id}")).await.unwrap();
    assert_eq!(
        trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["create_token", "revoke_token"]
    );
    let created = trail[0].after.as_deref().unwrap();
    assert!(
        created.contains(&id) && !created.contains(&digest),
        "{created}"
    );
    assert!(matches!(
        store.revoke_token(&id, "a", "t").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.revoke_token("nope", "a", "t").await,
        Err(StoreError::NotFound(_))
    ));
}
