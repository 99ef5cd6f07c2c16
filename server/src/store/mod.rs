//! Storage. Each capability gets its own trait (mappings, messages, settings and audit,
//! sessions and tokens) as it is built, with one conformance suite run against every backend.

pub mod sqlite;

use async_trait::async_trait;

use crate::config::StoreUrl;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The backend could not be reached or failed; the cause is for the log only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store schema migration failed: {0}")]
    Migration(String),
    #[error("{0}")]
    Unsupported(String),
}

/// What every backend offers regardless of capability.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// One cheap round trip, used by `/healthz` and the overview.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Opens the configured store and brings its schema up to date.
pub async fn open(url: &StoreUrl) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match url {
        StoreUrl::Sqlite(path) => Ok(std::sync::Arc::new(sqlite::SqliteStore::open(path).await?)),
        StoreUrl::DynamoDb { .. } => Err(StoreError::Unsupported(
            "MAILVEND_STORE=dynamodb:// is not available in this version yet; use sqlite://PATH"
                .into(),
        )),
    }
}
