//! Raw messages: large, binary, replaced whole; or a reference to where S3 holds them.

use super::unique;
use crate::store::{Kept, RawStore, S3Object};

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
        store.raw(&id).await.unwrap() == Some(Kept::Bytes(big.clone())),
        "1.1 MB round trip"
    );
    // Replaced by a shorter message: nothing of the longer one shows through.
    store
        .put_raw(&id, b"short\r\n\xff", "2026-11-25T00:00:01.000Z")
        .await
        .unwrap();
    assert_eq!(
        store.raw(&id).await.unwrap(),
        Some(Kept::Bytes(b"short\r\n\xff".to_vec()))
    );
    let empty = unique("empty");
    store
        .put_raw(&empty, b"", "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(
        store.raw(&empty).await.unwrap(),
        Some(Kept::Bytes(Vec::new()))
    );
}

/// A message SES stored in S3 is kept as its location, and a location and bytes replace each
/// other whole: neither shows through the other.
pub async fn raw_messages_kept_as_s3_locations(store: &dyn RawStore) {
    let id = unique("located");
    let object = S3Object {
        bucket: "inbound-mail".into(),
        key: "mail/a/b c+d".into(),
    };
    let big: Vec<u8> = (0..800_000u32).map(|i| (i % 253) as u8).collect();
    store
        .put_raw(&id, &big, "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    store
        .put_raw_location(&id, &object, "2026-11-25T00:00:01.000Z")
        .await
        .unwrap();
    assert_eq!(
        store.raw(&id).await.unwrap(),
        Some(Kept::S3(object.clone()))
    );
    store
        .put_raw(&id, b"inline\r\n", "2026-11-25T00:00:02.000Z")
        .await
        .unwrap();
    assert_eq!(
        store.raw(&id).await.unwrap(),
        Some(Kept::Bytes(b"inline\r\n".to_vec()))
    );
    let other = unique("located");
    store
        .put_raw_location(&other, &object, "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(store.raw(&other).await.unwrap(), Some(Kept::S3(object)));
}
