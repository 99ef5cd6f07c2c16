//! The service layer: the one implementation behind the dashboard's server functions and
//! the REST API, so the two cannot disagree.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use app::error::AppError;
use app::model::{Mapping, MessageRecord, MyAddresses, Page, Settings, StoreCheck, SystemStatus};
use async_trait::async_trait;

use crate::config::Config;
use crate::mapping_patch::MappingPatch;
use crate::pipeline::{Pipeline, ReplayError, Report};
use crate::settings::SettingsPatch;
use crate::store::{MappingFilter, MessageFilter, StoreError, Stores, Vended};
use crate::tokens::{self, ApiToken, Scope, TokenSecret};
use crate::vending::{self, FieldError, VendRequest, VendRules};

/// What went wrong, in terms a caller can act on. Causes of `Unavailable` are logged where
/// they happen and never returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the store is unavailable; try again")]
    Unavailable,
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        ServiceError::Invalid {
            field: e.field.to_string(),
            message: e.message,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            StoreError::Invalid { field, message } => ServiceError::Invalid {
                field: field.to_string(),
                message,
            },
            other => {
                tracing::error!(error = %other, "store failure");
                ServiceError::Unavailable
            }
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { field, message } => AppError::Invalid { field, message },
            ServiceError::NotFound(what) => AppError::NotFound(what),
            ServiceError::Conflict(m) => AppError::Conflict(m),
            ServiceError::Unavailable => AppError::Unavailable,
        }
    }
}

/// The largest page a listing returns.
pub const MAX_PAGE: u32 = 500;

pub struct AppService {
    config: Arc<Config>,
    stores: Stores,
    pipeline: Arc<Pipeline>,
    rules: VendRules,
    started: Instant,
}

/// Now, as RFC 3339 UTC with milliseconds: sortable as text.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A listing's page size: 50 by default, at most `MAX_PAGE`.
fn page_limit(limit: Option<u32>) -> Result<u32, ServiceError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=MAX_PAGE) => Ok(n),
        Some(_) => Err(ServiceError::Invalid {
            field: "limit".into(),
            message: format!("expected 1 to {MAX_PAGE}"),
        }),
    }
}

/// Addresses arrive in URLs and forms in any case; they are stored lower-cased.
fn normalize_address(address: &str) -> String {
    address.trim().to_ascii_lowercase()
}

impl AppService {
    pub fn new(config: Arc<Config>, stores: Stores, pipeline: Arc<Pipeline>) -> Self {
        let rules = VendRules {
            domain: config.domain.clone(),
            counter_width: config.counter_width,
            account_types: config.account_types.clone(),
        };
        AppService {
            config,
            stores,
            pipeline,
            rules,
            started: Instant::now(),
        }
    }

    pub fn rules(&self) -> &VendRules {
        &self.rules
    }

    pub async fn vend(&self, actor: &str, req: &VendRequest) -> Result<Vended, ServiceError> {
        let spec = vending::plan(req, &self.rules, actor, &now_rfc3339())?;
        let vended = self.stores.mappings.vend(&spec).await?;
        if vended.created {
            tracing::info!(address = %vended.mapping.address, %actor, "vended");
        }
        Ok(vended)
    }

    pub async fn mapping(&self, address: &str) -> Result<Mapping, ServiceError> {
        Ok(self
            .stores
            .mappings
            .get(&normalize_address(address))
            .await?)
    }

    pub async fn mappings(
        &self,
        mut filter: MappingFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, ServiceError> {
        let limit = page_limit(limit)?;
        filter.owner = filter.owner.map(|o| normalize_address(&o));
        Ok(self.stores.mappings.list(&filter, limit, cursor).await?)
    }

    pub async fn edit(
        &self,
        actor: &str,
        address: &str,
        patch: &MappingPatch,
    ) -> Result<Mapping, ServiceError> {
        let change = patch.validate(&self.rules)?;
        let after = self
            .stores
            .mappings
            .update(&normalize_address(address), &change, actor, &now_rfc3339())
            .await?;
        tracing::info!(address = %after.address, %actor, "mapping edited");
        Ok(after)
    }

    pub async fn delete(&self, actor: &str, address: &str) -> Result<Mapping, ServiceError> {
        let deleted = self
            .stores
            .mappings
            .delete(&normalize_address(address), actor, &now_rfc3339())
            .await?;
        tracing::info!(address = %deleted.address, %actor, "mapping deleted");
        Ok(deleted)
    }

    pub async fn messages(
        &self,
        mut filter: MessageFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<MessageRecord>, ServiceError> {
        let limit = page_limit(limit)?;
        filter.recipient = filter.recipient.map(|r| normalize_address(&r));
        Ok(self
            .stores
            .messages
            .messages(&filter, limit, cursor)
            .await?)
    }

    pub async fn message(&self, id: &str) -> Result<MessageRecord, ServiceError> {
        Ok(self.stores.messages.message(id).await?)
    }

    /// Runs a message the operator hands in through the pipeline (`mailvend deliver`).
    pub async fn deliver(&self, inbound: &crate::pipeline::Inbound) -> Vec<Report> {
        self.pipeline.process(inbound).await
    }

    /// The ids of every dead letter, newest first.
    pub async fn dead_letters(&self) -> Result<Vec<String>, ServiceError> {
        let filter = MessageFilter {
            outcome: Some(app::model::Outcome::DeadLetter),
            recipient: None,
        };
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .stores
                .messages
                .messages(&filter, MAX_PAGE, cursor.as_deref())
                .await?;
            ids.extend(page.items.into_iter().map(|m| m.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(ids),
            }
        }
    }

    /// Sends a dead letter again (see `Pipeline::replay`).
    pub async fn replay(&self, actor: &str, id: &str) -> Result<Report, ServiceError> {
        let report = self.pipeline.replay(id).await.map_err(|e| match e {
            ReplayError::Store(e) => ServiceError::from(e),
            e @ ReplayError::RawMissing(_) => ServiceError::Conflict(e.to_string()),
        })?;
        tracing::info!(%id, %actor, outcome = ?report.outcome, "dead letter replayed");
        Ok(report)
    }

    pub async fn settings(&self) -> Result<Settings, ServiceError> {
        Ok(crate::settings::current(&*self.stores.settings, &self.config).await?)
    }

    pub async fn update_settings(
        &self,
        actor: &str,
        patch: &SettingsPatch,
    ) -> Result<Settings, ServiceError> {
        let after = crate::settings::apply(
            &*self.stores.settings,
            &self.config,
            patch,
            actor,
            &now_rfc3339(),
        )
        .await?;
        tracing::info!(%actor, catch_all = after.catch_all, spam_policy = after.spam_policy.as_str(), "settings changed");
        Ok(after)
    }

    /// Creates a token; the secret is in the result and nowhere else.
    pub async fn create_token(
        &self,
        actor: &str,
        name: &str,
        scope: Scope,
    ) -> Result<(ApiToken, TokenSecret), ServiceError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(ServiceError::Invalid {
                field: "name".into(),
                message: "1 to 100 printable characters".into(),
            });
        }
        let (id, secret) = tokens::generate();
        let token = ApiToken {
            id,
            name: name.to_string(),
            scope,
            created_at: now_rfc3339(),
            created_by: actor.to_string(),
            revoked_at: None,
        };
        self.stores
            .tokens
            .create_token(&token, &tokens::digest(secret.expose()))
            .await?;
        tracing::info!(token = %token.id, scope = scope.as_str(), %actor, "API token created");
        Ok((token, secret))
    }

    pub async fn tokens(&self) -> Result<Vec<ApiToken>, ServiceError> {
        Ok(self.stores.tokens.list_tokens().await?)
    }

    pub async fn revoke_token(&self, actor: &str, id: &str) -> Result<ApiToken, ServiceError> {
        let token = self
            .stores
            .tokens
            .revoke_token(id, actor, &now_rfc3339())
            .await?;
        tracing::info!(token = %token.id, %actor, "API token revoked");
        Ok(token)
    }

    async fn measure_store(&self) -> StoreCheck {
        let start = Instant::now();
        let result = self.stores.health.ping().await;
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

#[async_trait]
impl app::service::Service for AppService {
    async fn status(&self, _admin: &app::auth::Admin) -> Result<SystemStatus, AppError> {
        Ok(SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            domain: self.config.domain.clone(),
            store: self.config.store.kind().to_string(),
            mailer: self.config.mailer.kind().to_string(),
            catch_all: self
                .settings()
                .await
                .map(|s| s.catch_all)
                .unwrap_or(self.config.catch_all),
            uptime_secs: self.started.elapsed().as_secs(),
            store_check: self.measure_store().await,
        })
    }

    async fn check_store(&self, _admin: &app::auth::Admin) -> Result<StoreCheck, AppError> {
        Ok(self.measure_store().await)
    }

    async fn my_addresses(&self, owner: &app::auth::Owner) -> Result<MyAddresses, AppError> {
        let email = owner.viewer().email.clone();
        let filter = MappingFilter {
            owner: Some(email),
            query: None,
            status: None,
        };
        let mappings = self
            .stores
            .mappings
            .list(&filter, MAX_PAGE, None)
            .await
            .map_err(ServiceError::from)?
            .items;
        let mut messages = Vec::new();
        for m in &mappings {
            let filter = MessageFilter {
                outcome: None,
                recipient: Some(m.address.clone()),
            };
            messages.extend(
                self.stores
                    .messages
                    .messages(&filter, 50, None)
                    .await
                    .map_err(ServiceError::from)?
                    .items,
            );
        }
        messages.sort_by(|a, b| b.received_at.cmp(&a.received_at));
        messages.truncate(50);
        Ok(MyAddresses { mappings, messages })
    }
}
