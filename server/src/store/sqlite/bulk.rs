//! Loading many records at once, for benchmarks and tests that need a large store fast.

use app::model::{Mapping, MessageRecord};

use super::{mappings, messages, SqliteStore};
use crate::store::StoreError;

impl SqliteStore {
    /// Writes `mappings` and settled `records` as they are, in one transaction, through the
    /// statements the store's own writes use, but without what a vend adds (audit entries,
    /// name counters, idempotency keys): a store loaded this way is for reading. Not a way
    /// in for the service.
    pub async fn bulk_load(
        &self,
        mappings: &[Mapping],
        records: &[MessageRecord],
    ) -> Result<(), StoreError> {
        let (mappings, records) = (mappings.to_vec(), records.to_vec());
        self.write(move |_, w| async move {
            let mut tx = w.begin().await?;
            for m in &mappings {
                mappings::insert(&mut tx, m).await?;
            }
            for r in &records {
                messages::upsert(&mut tx, r, None, "INSERT INTO").await?;
            }
            tx.commit().await.map_err(super::unavailable)
        })
        .await
    }
}
