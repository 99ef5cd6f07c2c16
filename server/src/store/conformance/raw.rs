//! Raw messages: large, binary, replaced whole.

use super::unique;
use crate::store::RawStore;

pub async fn raw_messages_round_trip(store: &dyn RawStore) {
    let id = unique("raw");
    assert_eq!(store.raw(&id).await.unwrap(), None);
    // Several DynamoDB parts, with every byte value.
    let big: Vec<u8> = (0..1_100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    store
        .put_raw(&id, &big, "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    assert!(
        store.raw(&id).await.unwrap() == Some(big.clone()),
        "1.1 MB round trip"
    );
    // Replaced by a shorter message: nothing of the longer one shows through.
    store
        .put_raw(&id, b"short\r\n\xff", "2026-11-25T00:00:01.000Z")
        .await
        .unwrap();
    assert_eq!(
        store.raw(&id).await.unwrap(),
        Some(b"short\r\n\xff".to_vec())
    );
    let empty = unique("empty");
    store
        .put_raw(&empty, b"", "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(store.raw(&empty).await.unwrap(), Some(Vec::new()));
}
