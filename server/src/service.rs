//! The service layer: the one implementation behind the dashboard's server functions and
//! the REST API, so the two cannot disagree.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use app::auth::Admin;
use app::error::AppError;
use app::model::{
    AddressDetail, AddressQuery, AuditEntry, DayVolume, EditForm, Mapping, MappingStatus,
    MessageDetail, MessageQuery, MessageRecord, MyAddresses, Outcome, OutcomeCounts, OverviewStats,
    Page, Settings, SettingsView, SpamPolicy, StoreCheck, SystemStatus, TokenView, VendForm,
    VendOptions,
};
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

/// `Some(trimmed)` unless the form left it empty.
fn given(v: &str) -> Option<String> {
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A `YYYY-MM-DD` day as a date input sends it; anything else names `field`.
fn day(field: &str, v: &str) -> Result<Option<String>, ServiceError> {
    let Some(v) = given(v) else {
        return Ok(None);
    };
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
        && matches!(v[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(v[8..10].parse::<u8>(), Ok(1..=31));
    if ok {
        Ok(Some(v))
    } else {
        Err(invalid(
            field,
            format!("expected a date as YYYY-MM-DD, got {v:?}"),
        ))
    }
}

/// The filter for a page of the message log, from the page's or the API's query.
pub fn message_filter(q: &MessageQuery) -> Result<MessageFilter, ServiceError> {
    let outcome = match given(&q.outcome) {
        None => None,
        Some(o) => Some(Outcome::parse(&o).ok_or_else(|| {
            invalid(
                "outcome",
                "expected forwarded, undeliverable, rejected, dead_letter or processing",
            )
        })?),
    };
    let since = day("from", &q.from)?;
    let to = day("to", &q.to)?;
    if let (Some(from), Some(to)) = (&since, &to) {
        if to < from {
            return Err(invalid("to", "is before the first day"));
        }
    }
    Ok(MessageFilter {
        outcome,
        recipient: given(&q.address).map(|a| normalize_address(&a)),
        since,
        // Sort keys are `received_at#id`; every time on that day sorts below `day~`.
        until: to.map(|d| format!("{d}~")),
    })
}

/// Now minus `secs`, as RFC 3339 UTC.
fn ago(secs: u64) -> String {
    humantime::format_rfc3339_millis(SystemTime::now() - std::time::Duration::from_secs(secs))
        .to_string()
}

/// The last `n` UTC days, oldest first, each present (zero when no mail came).
fn fill_days(n: u64, volume: Vec<DayVolume>) -> Vec<DayVolume> {
    (0..n)
        .rev()
        .map(|i| {
            let day = ago(i * 86_400)[..10].to_string();
            let counts = volume
                .iter()
                .find(|v| v.day == day)
                .map(|v| v.counts)
                .unwrap_or_default();
            DayVolume { day, counts }
        })
        .collect()
}

/// The header block of a raw message (up to the first empty line), at most 64 KB, for
/// display.
fn header_block(raw: &[u8]) -> String {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end.min(64 * 1024)]).into_owned()
}

fn token_view(t: ApiToken) -> TokenView {
    TokenView {
        id: t.id,
        name: t.name,
        scope: t.scope.as_str().to_string(),
        created_at: t.created_at,
        created_by: t.created_by,
        revoked_at: t.revoked_at,
    }
}

/// Who did it, as the audit log records a signed-in person.
fn actor_of(admin: &Admin) -> String {
    format!("user:{}", admin.viewer().email)
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

    /// The filter for a page of mappings, from the page's or the API's query.
    pub fn mapping_filter(&self, q: &AddressQuery) -> Result<MappingFilter, ServiceError> {
        let status = match given(&q.status) {
            None => None,
            Some(s) => Some(
                MappingStatus::parse(&s)
                    .ok_or_else(|| invalid("status", "expected active, suspended or deleted"))?,
            ),
        };
        let account_type = match given(&q.account_type) {
            None => None,
            Some(t) => Some(self.rules.account_type(&t)?),
        };
        Ok(MappingFilter {
            owner: given(&q.owner),
            query: given(&q.q),
            status,
            account_type,
        })
    }

    fn settings_view(&self, settings: Settings) -> SettingsView {
        let mut endpoint = self.config.public_url.clone();
        endpoint.set_path("/sns");
        SettingsView {
            settings,
            domain: self.config.domain.clone(),
            admin_address: self.config.admin_address.clone(),
            from_address: self.config.from_address.clone(),
            sns_endpoint: endpoint.to_string(),
            sns_topics: self.config.sns_topic_arns.clone(),
            store: self.config.store.kind().to_string(),
            mailer: self.config.mailer.kind().to_string(),
            retention_days: self.config.retention_days,
        }
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
            ..Default::default()
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

    async fn overview(&self, _admin: &Admin) -> Result<OverviewStats, AppError> {
        let mappings = self
            .stores
            .mappings
            .counts()
            .await
            .map_err(ServiceError::from)?;
        let mut last_24h = OutcomeCounts::default();
        for day in self
            .stores
            .messages
            .volume(&ago(86_400))
            .await
            .map_err(ServiceError::from)?
        {
            last_24h.merge(&day.counts);
        }
        let daily = self
            .stores
            .messages
            .volume(&ago(13 * 86_400)[..10])
            .await
            .map_err(ServiceError::from)?;
        Ok(OverviewStats {
            mappings,
            last_24h,
            daily: fill_days(14, daily),
        })
    }

    async fn vend_options(&self, _admin: &Admin) -> Result<VendOptions, AppError> {
        Ok(VendOptions {
            domain: self.rules.domain.clone(),
            counter_width: self.rules.counter_width,
            account_types: self.rules.account_types.clone(),
        })
    }

    async fn addresses(&self, _admin: &Admin, q: &AddressQuery) -> Result<Page<Mapping>, AppError> {
        let filter = self.mapping_filter(q)?;
        Ok(self
            .mappings(filter, None, given(&q.cursor).as_deref())
            .await?)
    }

    async fn address(&self, _admin: &Admin, address: &str) -> Result<AddressDetail, AppError> {
        let mapping = self.mapping(address).await?;
        let filter = MessageFilter {
            recipient: Some(mapping.address.clone()),
            ..Default::default()
        };
        let messages = self.messages(filter, Some(50), None).await?.items;
        let audit = self
            .stores
            .mappings
            .audit_trail(&mapping.address)
            .await
            .map_err(ServiceError::from)?;
        Ok(AddressDetail {
            mapping,
            messages,
            audit,
        })
    }

    async fn vend(&self, admin: &Admin, form: &VendForm) -> Result<Mapping, AppError> {
        let tags = app::model::parse_tags(&form.tags).map_err(|m| invalid("tags", m))?;
        let req = VendRequest {
            owner: form.owner.clone(),
            account_type: form.account_type.clone(),
            business_unit: given(&form.business_unit),
            application: given(&form.application),
            environment: given(&form.environment),
            tags,
            account_name: given(&form.account_name),
            address: given(&form.address),
            idempotency_key: None,
        };
        Ok(AppService::vend(self, &actor_of(admin), &req)
            .await?
            .mapping)
    }

    async fn edit(
        &self,
        admin: &Admin,
        address: &str,
        form: &EditForm,
    ) -> Result<Mapping, AppError> {
        let tags = app::model::parse_tags(&form.tags).map_err(|m| invalid("tags", m))?;
        let patch = MappingPatch {
            owner: Some(form.owner.clone()),
            status: Some(form.status.clone()),
            account_type: Some(form.account_type.clone()),
            tags: Some(tags),
            aws_account_id: Some(given(&form.aws_account_id)),
            notes: Some(given(&form.notes)),
            ..Default::default()
        };
        Ok(AppService::edit(self, &actor_of(admin), address, &patch).await?)
    }

    async fn delete(&self, admin: &Admin, address: &str) -> Result<Mapping, AppError> {
        Ok(AppService::delete(self, &actor_of(admin), address).await?)
    }

    async fn messages(
        &self,
        _admin: &Admin,
        q: &MessageQuery,
    ) -> Result<Page<MessageRecord>, AppError> {
        let filter = message_filter(q)?;
        Ok(AppService::messages(self, filter, None, given(&q.cursor).as_deref()).await?)
    }

    async fn message(&self, _admin: &Admin, id: &str) -> Result<MessageDetail, AppError> {
        let record = AppService::message(self, id).await?;
        let headers = self
            .stores
            .raw
            .raw(&record.ses_message_id)
            .await
            .map_err(ServiceError::from)?
            .map(|raw| header_block(&raw));
        Ok(MessageDetail { record, headers })
    }

    async fn replay(&self, admin: &Admin, id: &str) -> Result<MessageRecord, AppError> {
        let report = AppService::replay(self, &actor_of(admin), id).await?;
        Ok(AppService::message(self, &report.message_id).await?)
    }

    async fn settings(&self, _admin: &Admin) -> Result<SettingsView, AppError> {
        let settings = AppService::settings(self).await?;
        Ok(self.settings_view(settings))
    }

    async fn update_settings(
        &self,
        admin: &Admin,
        catch_all: Option<bool>,
        spam_policy: Option<SpamPolicy>,
    ) -> Result<SettingsView, AppError> {
        let patch = SettingsPatch {
            catch_all,
            spam_policy,
        };
        let settings = AppService::update_settings(self, &actor_of(admin), &patch).await?;
        Ok(self.settings_view(settings))
    }

    async fn tokens(&self, _admin: &Admin) -> Result<Vec<TokenView>, AppError> {
        Ok(AppService::tokens(self)
            .await?
            .into_iter()
            .map(token_view)
            .collect())
    }

    async fn create_token(
        &self,
        admin: &Admin,
        name: &str,
        scope: &str,
    ) -> Result<(TokenView, String), AppError> {
        let scope =
            Scope::parse(scope.trim()).ok_or_else(|| invalid("scope", "expected vend or admin"))?;
        let (token, secret) = AppService::create_token(self, &actor_of(admin), name, scope).await?;
        Ok((token_view(token), secret.expose().to_string()))
    }

    async fn revoke_token(&self, admin: &Admin, id: &str) -> Result<TokenView, AppError> {
        Ok(token_view(
            AppService::revoke_token(self, &actor_of(admin), id).await?,
        ))
    }

    async fn audit(&self, _admin: &Admin, cursor: &str) -> Result<Page<AuditEntry>, AppError> {
        Ok(self
            .stores
            .mappings
            .audit_log(50, given(cursor).as_deref())
            .await
            .map_err(ServiceError::from)?)
    }

    async fn my_addresses(&self, owner: &app::auth::Owner) -> Result<MyAddresses, AppError> {
        let email = owner.viewer().email.clone();
        let filter = MappingFilter {
            owner: Some(email),
            ..Default::default()
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
                recipient: Some(m.address.clone()),
                ..Default::default()
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
