//! The service layer: the one implementation of `app::service::Service`, shared by the
//! dashboard's server functions and the REST API.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use app::error::AppError;
use app::model::{StoreCheck, SystemStatus};
use async_trait::async_trait;

use crate::config::Config;
use crate::store::Store;

pub struct AppService {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    started: Instant,
}

impl AppService {
    pub fn new(config: Arc<Config>, store: Arc<dyn Store>) -> Self {
        AppService {
            config,
            store,
            started: Instant::now(),
        }
    }

    async fn measure_store(&self) -> StoreCheck {
        let start = Instant::now();
        let result = self.store.ping().await;
        let latency_micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        if let Err(e) = &result {
            tracing::warn!(error = %e, "store check failed");
        }
        StoreCheck {
            ok: result.is_ok(),
            latency_micros,
            checked_at: unix_now(),
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[async_trait]
impl app::service::Service for AppService {
    async fn status(&self) -> Result<SystemStatus, AppError> {
        Ok(SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            domain: self.config.domain.clone(),
            store: self.config.store.kind().to_string(),
            mailer: self.config.mailer.kind().to_string(),
            catch_all: self.config.catch_all,
            uptime_secs: self.started.elapsed().as_secs(),
            store_check: self.measure_store().await,
        })
    }

    async fn check_store(&self) -> Result<StoreCheck, AppError> {
        Ok(self.measure_store().await)
    }
}
