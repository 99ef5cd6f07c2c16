//! Retention: settled old records and their raw messages go, claims in progress stay.

use super::messages::{message, settled};
use super::unique;
use crate::store::{Kept, MessageStore, RawStore, StoreError};

pub async fn retention_purges_settled_records_and_their_raw<S>(store: &S)
where
    S: MessageStore + RawStore,
{
    use app::model::Outcome;
    let (old, busy, new) = (unique("old"), unique("busy"), unique("new"));
    let long_ago = "2001-01-01T00:00:00.000Z";
    settled(
        store,
        &old,
        "a@mail.example.com",
        long_ago,
        Outcome::DeadLetter,
    )
    .await;
    settled(
        store,
        &old,
        "b@mail.example.com",
        long_ago,
        Outcome::Forwarded,
    )
    .await;
    let stuck = message(&busy, "c@mail.example.com", long_ago);
    store
        .claim(&stuck, "2999-01-01T00:00:00.000Z", long_ago)
        .await
        .unwrap();
    settled(
        store,
        &new,
        "d@mail.example.com",
        "2026-11-25T00:00:00.000Z",
        Outcome::Undeliverable,
    )
    .await;
    for id in [&old, &busy, &new] {
        store
            .put_raw(id, format!("raw of {id}").as_bytes(), long_ago)
            .await
            .unwrap();
    }

    // Other tests' records may be old too, so count only ours.
    let purged = store.purge("2001-06-01T00:00:00.000Z").await.unwrap();
    assert!(purged >= 2, "{purged}");
    for gone in ["a", "b"] {
        let id = app::model::MessageRecord::id_for(&old, &format!("{gone}@mail.example.com"));
        assert!(matches!(
            store.message(&id).await,
            Err(StoreError::NotFound(_))
        ));
    }
    assert_eq!(store.raw(&old).await.unwrap(), None);
    // A claim in progress and newer mail stay, with their raw messages.
    assert_eq!(
        store.message(&stuck.id).await.unwrap().outcome,
        Outcome::Processing
    );
    assert_eq!(
        store.raw(&busy).await.unwrap(),
        Some(Kept::Bytes(format!("raw of {busy}").into_bytes()))
    );
    assert_eq!(
        store.raw(&new).await.unwrap(),
        Some(Kept::Bytes(format!("raw of {new}").into_bytes()))
    );
}

/// Every server runs the retention purge (issue 19): two at once delete each record once
/// between them (their counts add up to the records there were, not more), and every raw
/// message goes although each purge may have deleted only some of its records.
pub async fn purges_on_two_servers_delete_each_record_once<S>(store: std::sync::Arc<S>)
where
    S: MessageStore + RawStore,
{
    use app::model::Outcome;
    let long_ago = "2001-01-01T00:00:00.000Z";
    let messages: Vec<String> = (0..6).map(|_| unique("twice")).collect();
    let mut records = 0u64;
    for ses in &messages {
        for n in 0..4 {
            settled(
                &*store,
                ses,
                &format!("r{n}@mail.example.com"),
                long_ago,
                Outcome::Forwarded,
            )
            .await;
            records += 1;
        }
        store
            .put_raw(ses, format!("raw of {ses}").as_bytes(), long_ago)
            .await
            .unwrap();
    }
    let purge = |store: std::sync::Arc<S>| {
        tokio::spawn(async move { store.purge("2001-06-01T00:00:00.000Z").await.unwrap() })
    };
    let (a, b) = (purge(store.clone()), purge(store.clone()));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a + b, records, "each record counted once: {a} + {b}");
    for ses in &messages {
        for n in 0..4 {
            let id = app::model::MessageRecord::id_for(ses, &format!("r{n}@mail.example.com"));
            assert!(matches!(
                store.message(&id).await,
                Err(StoreError::NotFound(_))
            ));
        }
        assert_eq!(store.raw(ses).await.unwrap(), None, "the raw of {ses}");
    }
}
