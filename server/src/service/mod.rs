//! The service: one method per use case, called alike by the dashboard (through the
//! `dashboard` adapter), the REST API and the CLI, so none of them can disagree. Every
//! method takes a caller proof (`caller`) and answers with one error type.

pub mod caller;
pub mod dashboard;
pub mod held;
pub mod mapping_patch;
pub mod notifications;
pub mod organizations;
pub mod owner;
pub mod root_email;
pub mod rules;
pub mod text;
pub mod unfinished;
pub mod vending;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::address::EmailAddress;
use app::model::{
    AddressDetail, AddressQuery, AuditEntry, BulkChange, DayVolume, DeliveryState, MailClass,
    Mapping, MappingStatus, MessageDetail, MessageQuery, MessageRecord, MyAddresses, Outcome,
    OverviewStats, Page, Settings, SettingsView, StoreCheck, SystemStatus, Unreachable,
    VendOptions,
};
use futures_util::Stream;

use crate::clock::{before, now_rfc3339, unix_now};
use crate::config::Config;
use crate::inbound::pipeline::{Pipeline, ReplayError};
use crate::inbound::{Inbound, Report};
use crate::secret::Secret;
use crate::settings::SettingsPatch;
use crate::store::{Kept, MappingFilter, MessageFilter, StoreError, Stores, Vended};
use crate::tokens::{self, ApiToken, Scope};
use caller::{AdminCaller, OwnerCaller, VendCaller};
use mapping_patch::MappingPatch;
use vending::{FieldError, VendRequest, VendRules};

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
    /// Allowed to some callers, not to this one (a `vend`-scope token choosing an address).
    #[error("{field}: {message}")]
    Forbidden { field: String, message: String },
    #[error("the store is unavailable; try again")]
    Unavailable,
    /// An AWS service mailvend calls on an admin's behalf failed (Organizations); the
    /// message says what and what to do.
    #[error("{0}")]
    Upstream(String),
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

/// A bulk `change` as it applies to `m` for `person`: a reassign moves the owner when they
/// own it, and puts the new person in their place among the other recipients when they are
/// one (once, and never beside themselves as owner).
fn change_for(
    m: &Mapping,
    person: &str,
    change: &crate::store::MappingChange,
) -> crate::store::MappingChange {
    let Some(to) = change.owner.as_deref() else {
        return change.clone();
    };
    let owner = if m.owner == person {
        to
    } else {
        m.owner.as_str()
    };
    let mut recipients: Vec<String> = Vec::with_capacity(m.recipients.len());
    for r in &m.recipients {
        let r = if r == person { to } else { r.as_str() };
        if r != owner && !recipients.iter().any(|x| x == r) {
            recipients.push(r.to_string());
        }
    }
    crate::store::MappingChange {
        owner: (m.owner == person).then(|| to.to_string()),
        recipients: (recipients != m.recipients).then_some(recipients),
        ..Default::default()
    }
}

/// What a bulk action does to an owner's mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    /// Every live mapping moves to this owner.
    Reassign { to: String },
    /// Every active mapping is suspended.
    Suspend,
}

/// The largest page a listing returns.
pub const MAX_PAGE: u32 = 500;

pub struct AppService {
    config: Arc<Config>,
    stores: Stores,
    pipeline: Arc<Pipeline>,
    rules: VendRules,
    started: Instant,
    epoch: Arc<crate::settings::SessionEpoch>,
    /// The organization's accounts, when `MAILVEND_ORGANIZATIONS=on`.
    org: Option<Arc<dyn crate::organizations::AccountSource>>,
    /// Held while this server syncs the organization.
    org_sync: tokio::sync::Mutex<()>,
    /// Whether this server's last sync failed (`sync_failed` is told once per run of failures).
    org_failing: std::sync::atomic::AtomicBool,
    /// Root email change jobs, wired with the organization.
    root_emails: std::sync::OnceLock<Arc<crate::inbound::root_email::RootEmails>>,
    /// Wakes the job worker when jobs are queued.
    jobs_wake: tokio::sync::Notify,
    /// Queues events for notification channels (drift, failed syncs, tests) …
    notifier: crate::notify::queue::Notifier,
    /// … and sends them (`serve` runs its rounds; the test button sends at once).
    dispatcher: Arc<crate::notify::dispatch::Dispatcher>,
}

/// A listing's page size: 50 by default, at most `MAX_PAGE`.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ServiceError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=MAX_PAGE) => Ok(n),
        Some(_) => Err(ServiceError::Invalid {
            field: "limit".into(),
            message: format!("expected 1 to {MAX_PAGE}"),
        }),
    }
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
/// What `day` accepts, for the OpenAPI description (blank means no bound).
pub const DAY_PATTERN: &str = "^(|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))$";

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

/// The page's own check on `message_filter`'s result: a range that ends before it begins is
/// most likely a slip worth naming. (The API answers it with an empty page, as the stores do
/// any range without mail.)
pub fn check_range(filter: &MessageFilter) -> Result<(), ServiceError> {
    match (&filter.since, &filter.until) {
        (Some(since), Some(until)) if until < since => {
            Err(invalid("to", "is before the first day"))
        }
        _ => Ok(()),
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
    let delivery = match given(&q.delivery) {
        None => None,
        Some(d) => Some(DeliveryState::parse(&d).ok_or_else(|| {
            invalid(
                "delivery",
                "expected sent, delayed, delivered, bounced or complained",
            )
        })?),
    };
    let class = match given(&q.class) {
        None => None,
        Some(c) => Some(MailClass::parse(&c).ok_or_else(|| {
            invalid(
                "class",
                "expected credential, security, account, billing, notice or other",
            )
        })?),
    };
    Ok(MessageFilter {
        outcome,
        delivery,
        class,
        recipient: given(&q.address).map(|a| EmailAddress::key(&a)),
        since,
        // Sort keys are `received_at#id`; every time on that day sorts below `day~`.
        until: to.map(|d| format!("{d}~")),
    })
}

/// The last `n` UTC days, oldest first, each present (zero when no mail came).
/// The buckets the overview reads at `now`: the last 14 UTC days (`YYYY-MM-DD`, oldest
/// first, today last) and, for "the last 24 hours", the UTC hour 24 hours ago through the
/// current one (`YYYY-MM-DDTHH`, 25 of them). Counts are kept per hour, so the window covers
/// between 24 and 25 hours: all of the last 24, never less.
fn overview_buckets(now: std::time::SystemTime) -> (Vec<String>, Vec<String>) {
    let days = (0..14)
        .rev()
        .map(|i| before(now, Duration::from_secs(i * DAY))[..10].to_string())
        .collect();
    let hours = (0..=24)
        .rev()
        .map(|i| before(now, Duration::from_secs(i * 3600))[..13].to_string())
        .collect();
    (days, hours)
}

/// Every day of `days` with its counts, zeros where there was no mail.
fn fill_days(days: &[String], volume: Vec<DayVolume>) -> Vec<DayVolume> {
    days.iter()
        .map(|day| DayVolume {
            day: day.clone(),
            counts: volume
                .iter()
                .find(|v| v.day == *day)
                .map(|v| v.counts)
                .unwrap_or_default(),
        })
        .collect()
}

/// The most of a kept message's header block the message view shows.
const HEADER_VIEW_BYTES: u64 = 64 * 1024;

/// The header block of a raw message (the fields the rewrite sees), at most
/// `HEADER_VIEW_BYTES`, for display.
fn header_block(raw: &[u8]) -> String {
    let block = crate::inbound::rewrite::header_block(raw);
    String::from_utf8_lossy(&block[..block.len().min(HEADER_VIEW_BYTES as usize)])
        .trim_end()
        .to_string()
}

const DAY: u64 = 86_400;

/// The items of every page `fetch` returns, following cursors from `cursor` to the last
/// page. The first page is read here; a later page that fails ends the stream with its error.
async fn every_page<T, F, Fut>(
    cursor: Option<String>,
    mut fetch: F,
) -> Result<impl Stream<Item = Result<Vec<T>, ServiceError>> + Send, ServiceError>
where
    T: Send,
    F: FnMut(Option<String>) -> Fut + Send,
    Fut: std::future::Future<Output = Result<Page<T>, ServiceError>> + Send,
{
    use futures_util::StreamExt as _;
    let first = fetch(cursor).await?;
    // The state's `None` is "done"; `Some(cursor)` is the next page to read.
    let rest = futures_util::stream::try_unfold(
        (fetch, first.next_cursor.map(Some)),
        |(mut fetch, next)| async move {
            let Some(cursor) = next else {
                return Ok(None);
            };
            let page = fetch(cursor.clone()).await?;
            // A store that handed back the cursor it was given would loop for ever.
            if page.next_cursor.is_some() && page.next_cursor == cursor {
                tracing::error!("a store page handed back its own cursor; the listing stops");
                return Err(ServiceError::Unavailable);
            }
            Ok(Some((page.items, (fetch, page.next_cursor.map(Some)))))
        },
    );
    Ok(futures_util::stream::iter([Ok(first.items)]).chain(rest))
}

/// A mapping as `caller` may see it: admins see everything; a `vend`-scope token never sees
/// the admins' notes (issue 20 item 9).
fn narrow(caller: &VendCaller, mut mapping: Mapping) -> Mapping {
    if !caller.is_admin() {
        mapping.notes = None;
    }
    mapping
}

impl AppService {
    pub fn new(config: Arc<Config>, stores: Stores, pipeline: Arc<Pipeline>) -> Self {
        let rules = VendRules {
            domain: config.domain.clone(),
            counter_width: config.counter_width,
            account_types: config.account_types.clone(),
            reserved: vending::reserved_local_parts(
                &config.domain,
                &[&config.from_address, &config.admin_address],
                &config.reserved_addresses,
            ),
        };
        let dispatcher = Arc::new(crate::notify::dispatch::Dispatcher::new(
            stores.notifications.clone(),
            pipeline.mailer(),
            &config.from_address,
            &config.domain,
            config.notify_allow_http,
        ));
        AppService {
            notifier: crate::notify::queue::Notifier::new(stores.notifications.clone()),
            dispatcher,
            epoch: Arc::new(crate::settings::SessionEpoch::new(stores.settings.clone())),
            config,
            stores,
            pipeline,
            rules,
            started: Instant::now(),
            org: None,
            org_sync: tokio::sync::Mutex::new(()),
            org_failing: std::sync::atomic::AtomicBool::new(false),
            root_emails: std::sync::OnceLock::new(),
            jobs_wake: tokio::sync::Notify::new(),
        }
    }

    /// Reads the organization from `source` (`MAILVEND_ORGANIZATIONS=on`).
    pub fn with_organizations(
        mut self,
        source: Arc<dyn crate::organizations::AccountSource>,
    ) -> Self {
        self.org = Some(source);
        self
    }

    /// Runs root email change jobs with `jobs` (once, at wiring).
    pub fn set_root_emails(&self, jobs: Arc<crate::inbound::root_email::RootEmails>) {
        let _ = self.root_emails.set(jobs);
    }

    /// The filter for a page of mappings, from the page's or the API's query. `unreachable`
    /// reads the marks, so that the stores filter on their owners.
    pub async fn mapping_filter(&self, q: &AddressQuery) -> Result<MappingFilter, ServiceError> {
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
        let owners = match given(&q.unreachable).as_deref() {
            None | Some("false") => None,
            Some("true") => Some(
                self.stores
                    .reachability
                    .unreachable()
                    .await?
                    .into_iter()
                    .map(|m| m.recipient)
                    .collect(),
            ),
            Some(_) => return Err(invalid("unreachable", "expected true or false")),
        };
        let account_state =
            match given(&q.account_state) {
                None => None,
                Some(s) => match app::org::AccountState::parse(&s) {
                    app::org::AccountState::Unknown => return Err(invalid(
                        "account_state",
                        "expected PENDING_ACTIVATION, ACTIVE, SUSPENDED, PENDING_CLOSURE or CLOSED",
                    )),
                    state => Some(state),
                },
            };
        Ok(MappingFilter {
            owner: given(&q.owner),
            query: given(&q.q),
            status,
            account_type,
            vended_by: None,
            owners,
            member: None,
            account_state,
        })
    }

    /// `mappings` with the marks of their unreachable recipients, read once for all of them.
    async fn with_reachability(
        &self,
        mut mappings: Vec<Mapping>,
    ) -> Result<Vec<Mapping>, ServiceError> {
        let marks = self.stores.reachability.unreachable().await?;
        if marks.is_empty() {
            return Ok(mappings);
        }
        for m in &mut mappings {
            m.unreachable = marks
                .iter()
                .filter(|u| u.recipient == m.owner || m.recipients.contains(&u.recipient))
                .cloned()
                .collect();
        }
        Ok(mappings)
    }

    /// Every recipient mailbox marked unreachable, by mailbox.
    pub async fn unreachable(
        &self,
        _caller: &AdminCaller,
    ) -> Result<Vec<Unreachable>, ServiceError> {
        Ok(self.stores.reachability.unreachable().await?)
    }

    /// An admin says `recipient`'s mailbox is fixed: its mark goes (audited), and its mail
    /// goes to it alone again.
    pub async fn mark_reachable(
        &self,
        caller: &AdminCaller,
        recipient: &str,
    ) -> Result<Unreachable, ServiceError> {
        let recipient = EmailAddress::key(recipient);
        let actor = caller.actor();
        let cleared = self
            .stores
            .reachability
            .clear_unreachable(&recipient, None, actor, &now_rfc3339())
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("an unreachable mark on {recipient}")))?;
        tracing::info!(%recipient, %actor, "recipient marked reachable");
        Ok(cleared)
    }

    // --- the system --------------------------------------------------------------------

    pub async fn status(&self, _caller: &AdminCaller) -> Result<SystemStatus, ServiceError> {
        Ok(SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            domain: self.config.domain.clone(),
            store: self.config.store.kind().to_string(),
            mailer: self.config.mailer.kind().to_string(),
            catch_all: crate::settings::current(&*self.stores.settings, &self.config)
                .await
                .map(|s| s.catch_all)
                .unwrap_or(self.config.catch_all),
            uptime_secs: self.started.elapsed().as_secs(),
            store_check: self.measure_store().await,
        })
    }

    pub async fn check_store(&self, _caller: &AdminCaller) -> StoreCheck {
        self.measure_store().await
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

    pub async fn overview(&self, _caller: &AdminCaller) -> Result<OverviewStats, ServiceError> {
        let mappings = self.stores.mappings.counts().await?;
        let (days, hours) = overview_buckets(std::time::SystemTime::now());
        let volume = self.stores.messages.volume(&days, &hours).await?;
        Ok(OverviewStats {
            mappings,
            last_24h: volume.hours,
            daily: fill_days(&days, volume.days),
            unreachable: self.stores.reachability.unreachable().await?,
        })
    }

    // --- mappings ----------------------------------------------------------------------

    pub fn vend_options(&self, _caller: &AdminCaller) -> VendOptions {
        VendOptions {
            domain: self.rules.domain.clone(),
            counter_width: self.rules.counter_width,
            account_types: self.rules.account_types.clone(),
        }
    }

    pub async fn vend(
        &self,
        caller: &VendCaller,
        req: &VendRequest,
    ) -> Result<Vended, ServiceError> {
        let actor = caller.actor();
        let mut spec = vending::plan(req, &self.rules, actor, &now_rfc3339())?;
        // Each caller's keys are its own: another token's key (guessed, or the same
        // `run-42` in two pipelines) must not replay that token's mapping to this one.
        spec.idempotency_key = spec.idempotency_key.map(|k| format!("{actor}#{k}"));
        if let Some(address) = spec.chosen_address() {
            self.may_claim(caller, &spec, &address).await?;
        }
        let vended = self.stores.mappings.vend(&spec).await?;
        if vended.created {
            tracing::info!(address = %vended.mapping.address, %actor, "vended");
        }
        Ok(Vended {
            mapping: narrow(caller, vended.mapping),
            created: vended.created,
        })
    }

    /// Whether `caller` may take `address`, which the request chose (issue 20 item 1): a
    /// `vend`-scope token chooses an address only where `MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE`
    /// allows it, and never one that has received mail (an AWS account's root address that
    /// reaches the admin through catch-all would be handed to whoever asks, with its next
    /// password reset).
    async fn may_claim(
        &self,
        caller: &VendCaller,
        spec: &crate::store::VendSpec,
        address: &str,
    ) -> Result<(), ServiceError> {
        if caller.is_admin() {
            return Ok(());
        }
        // An explicit account name chooses the address as surely as an address does.
        let field = if spec.address.is_some() {
            "address"
        } else {
            "account_name"
        };
        if !self.config.vend_token_address_override {
            return Err(ServiceError::Forbidden {
                field: field.into(),
                message: format!(
                    "a vend-scope token may not choose the address or account name \
                     (MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE is off); leave {field} out, or ask an admin"
                ),
            });
        }
        // Taken already: the store answers (a conflict, or the idempotent replay).
        if self.stores.mappings.get(address).await.is_ok() {
            return Ok(());
        }
        let received = MessageFilter {
            recipient: Some(address.to_string()),
            ..Default::default()
        };
        if !self
            .stores
            .messages
            .messages(&received, 1, None)
            .await?
            .items
            .is_empty()
        {
            return Err(ServiceError::Forbidden {
                field: field.into(),
                message: format!(
                    "{address} has received mail already (it is in the message log): only an admin may vend it"
                ),
            });
        }
        Ok(())
    }

    pub async fn mapping(
        &self,
        caller: &VendCaller,
        address: &str,
    ) -> Result<Mapping, ServiceError> {
        let mapping = self
            .stores
            .mappings
            .get(&EmailAddress::key(address))
            .await?;
        // Another token's mapping does not exist as far as this one knows.
        if !caller.is_admin() && mapping.created_by != caller.actor() {
            return Err(ServiceError::NotFound(format!(
                "the address {}",
                EmailAddress::key(address)
            )));
        }
        let mapping = self.with_reachability(vec![mapping]).await?.remove(0);
        Ok(narrow(caller, mapping))
    }

    /// What vending checks, for the OpenAPI description to state.
    pub fn vend_rules(&self) -> &VendRules {
        &self.rules
    }

    pub async fn mappings(
        &self,
        caller: &VendCaller,
        mut filter: MappingFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, ServiceError> {
        let limit = page_limit(limit)?;
        filter.owner = filter.owner.map(|o| EmailAddress::key(&o));
        if !caller.is_admin() {
            filter.vended_by = Some(caller.actor().to_string());
        }
        let page = self.stores.mappings.list(&filter, limit, cursor).await?;
        let items = self.with_reachability(page.items).await?;
        Ok(Page {
            items: items.into_iter().map(|m| narrow(caller, m)).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Every mapping the filter matches from `cursor` on (from the first when `None`), with
    /// the checks and narrowing of `mappings`, one store page at a time: what an export
    /// streams, so its memory is one page whatever the count. The first page is read before
    /// this returns, so a bad cursor or an unavailable store is an error, not a cut stream.
    pub async fn all_mappings(
        self: &Arc<Self>,
        caller: &VendCaller,
        filter: MappingFilter,
        cursor: Option<String>,
    ) -> Result<impl Stream<Item = Result<Vec<Mapping>, ServiceError>> + Send + 'static, ServiceError>
    {
        let (service, caller) = (self.clone(), caller.clone());
        every_page(cursor, move |cursor| {
            let (service, caller, filter) = (service.clone(), caller.clone(), filter.clone());
            async move {
                service
                    .mappings(&caller, filter, Some(MAX_PAGE), cursor.as_deref())
                    .await
            }
        })
        .await
    }

    /// A mapping with its recent mail and its history.
    pub async fn address_detail(
        &self,
        caller: &AdminCaller,
        address: &str,
    ) -> Result<AddressDetail, ServiceError> {
        let mapping = self.mapping(caller.as_vend(), address).await?;
        let filter = MessageFilter {
            recipient: Some(mapping.address.clone()),
            ..Default::default()
        };
        let messages = self.messages(caller, filter, Some(50), None).await?.items;
        let audit = self.stores.mappings.audit_trail(&mapping.address).await?;
        Ok(AddressDetail {
            mapping,
            messages,
            audit,
        })
    }

    pub async fn edit(
        &self,
        caller: &AdminCaller,
        address: &str,
        patch: &MappingPatch,
    ) -> Result<Mapping, ServiceError> {
        let actor = caller.actor();
        let change = patch.validate(&self.rules)?;
        let address = EmailAddress::key(address);
        let mut change = change;
        if let (Some(list), None) = (&mut change.recipients, &change.owner) {
            // The owner this change keeps gets the mail already: not listed again.
            let owner = self.stores.mappings.get(&address).await?.owner;
            list.retain(|r| *r != owner);
        }
        let after = self
            .stores
            .mappings
            .update(&address, &change, actor, &now_rfc3339())
            .await?;
        tracing::info!(address = %after.address, %actor, "mapping edited");
        Ok(after)
    }

    /// People leave: every live mapping of `owner` moves to a new owner, or every active one
    /// is suspended (issue 16). Each mapping's change is audited as an edit, and the whole as
    /// one entry (subject `owner:<owner>`, action `reassign_owner` or `suspend_owner`) listing
    /// them. A dry run changes nothing and says what would change (the preview). Not one
    /// transaction (an owner may have thousands): a run cut short has moved some, and running
    /// it again moves the rest.
    pub async fn bulk_owner(
        &self,
        caller: &AdminCaller,
        owner: &str,
        action: &BulkAction,
        dry_run: bool,
    ) -> Result<BulkChange, ServiceError> {
        use futures_util::TryStreamExt as _;
        let owner = app::address::parse_mailbox(owner.trim())
            .map(|o| EmailAddress::key(&o))
            .map_err(|m| invalid("owner", m))?;
        let (change, name, to) = match action {
            BulkAction::Reassign { to } => {
                let patch = MappingPatch {
                    owner: Some(to.clone()),
                    ..MappingPatch::default()
                };
                let change = patch
                    .validate(&self.rules)
                    .map_err(|e| invalid("to", e.message))?;
                let to = change.owner.clone().unwrap_or_default();
                // To themselves: nothing moves (answered so below, not refused).
                (change, "reassign", Some(to))
            }
            BulkAction::Suspend => (
                crate::store::MappingChange {
                    status: Some(MappingStatus::Suspended),
                    ..Default::default()
                },
                "suspend",
                None,
            ),
        };
        if to.as_deref() == Some(owner.as_str()) {
            return Ok(BulkChange {
                owner,
                action: name.to_string(),
                to,
                addresses: Vec::new(),
                dry_run,
            });
        }
        // A reassign takes the person off every mapping they get mail for (as owner or as
        // one of the other recipients); a suspension only the mappings they own.
        let reassigning = matches!(action, BulkAction::Reassign { .. });
        let filter = MappingFilter {
            owner: (!reassigning).then(|| owner.clone()),
            member: reassigning.then(|| owner.clone()),
            ..Default::default()
        };
        let (stores, filter) = (&self.stores, &filter);
        let pages = every_page(None, |cursor| async move {
            Ok(stores
                .mappings
                .list(filter, MAX_PAGE, cursor.as_deref())
                .await?)
        })
        .await?;
        let pages: Vec<Vec<Mapping>> = pages.try_collect().await?;
        let matching: Vec<Mapping> = pages
            .into_iter()
            .flatten()
            .filter(|m| {
                if reassigning {
                    m.owner == owner || m.recipients.contains(&owner)
                } else {
                    m.owner == owner && m.status == MappingStatus::Active
                }
            })
            .collect();
        let mut done = BulkChange {
            owner: owner.clone(),
            action: name.to_string(),
            to,
            addresses: matching.iter().map(|m| m.address.clone()).collect(),
            dry_run,
        };
        if dry_run {
            return Ok(done);
        }
        let actor = caller.actor();
        let now = now_rfc3339();
        done.addresses.clear();
        for m in matching {
            // Worked out from the mapping as it is now, not as the listing saw it: an edit made
            // meanwhile is kept, and one that took the person off it leaves it alone.
            let m = match self.stores.mappings.get(&m.address).await {
                Ok(fresh) if fresh.owner == owner || fresh.recipients.contains(&owner) => fresh,
                Ok(_) | Err(StoreError::NotFound(_)) => continue,
                Err(e) => {
                    self.audit_bulk(actor, &now, &done).await?;
                    return Err(e.into());
                }
            };
            match self
                .stores
                .mappings
                .update(&m.address, &change_for(&m, &owner, &change), actor, &now)
                .await
            {
                Ok(after) => done.addresses.push(after.address),
                // Deleted or changed meanwhile: left as the other change made it.
                Err(StoreError::NotFound(_) | StoreError::Conflict(_)) => {}
                Err(e) => {
                    // What moved so far stays moved, and says so.
                    self.audit_bulk(actor, &now, &done).await?;
                    return Err(e.into());
                }
            }
        }
        self.audit_bulk(actor, &now, &done).await?;
        tracing::info!(%owner, action = name, count = done.addresses.len(), %actor, "bulk owner change");
        Ok(done)
    }

    async fn audit_bulk(
        &self,
        actor: &str,
        now: &str,
        done: &BulkChange,
    ) -> Result<(), ServiceError> {
        let entry = AuditEntry {
            at: now.to_string(),
            actor: actor.to_string(),
            action: format!("{}_owner", done.action),
            subject: format!("owner:{}", done.owner),
            before: None,
            after: Some(
                serde_json::json!({"to": done.to, "addresses": done.addresses}).to_string(),
            ),
        };
        Ok(self.stores.mappings.append_audit(&entry).await?)
    }

    pub async fn delete(
        &self,
        caller: &AdminCaller,
        address: &str,
    ) -> Result<Mapping, ServiceError> {
        let actor = caller.actor();
        let deleted = self
            .stores
            .mappings
            .delete(&EmailAddress::key(address), actor, &now_rfc3339())
            .await?;
        tracing::info!(address = %deleted.address, %actor, "mapping deleted");
        Ok(deleted)
    }

    /// What a signed-in owner may see (issue 20 item 7): the mappings owned by their verified
    /// address, and the latest mail to them since each became theirs, in the owner's own
    /// narrow types.
    pub async fn my_addresses(&self, caller: &OwnerCaller) -> Result<MyAddresses, ServiceError> {
        let filter = MappingFilter {
            member: Some(caller.email().to_string()),
            ..Default::default()
        };
        let mappings = self
            .stores
            .mappings
            .list(&filter, MAX_PAGE, None)
            .await?
            .items;
        let mut messages = Vec::new();
        for m in &mappings {
            let trail = self.stores.mappings.audit_trail(&m.address).await?;
            let since = owner::member_since(&trail, caller.email(), &m.created_at);
            let filter = MessageFilter {
                recipient: Some(m.address.clone()),
                since: Some(since.clone()),
                ..Default::default()
            };
            let page = self.stores.messages.messages(&filter, 50, None).await?;
            messages.extend(
                page.items
                    .into_iter()
                    .filter(|r| {
                        r.received_at >= since && owner::is_their_copy(r, caller.email(), &m.owner)
                    })
                    .map(|r| owner::owned_message(r, caller.email())),
            );
        }
        messages.sort_by(|a, b| b.received_at.cmp(&a.received_at));
        messages.truncate(50);
        Ok(MyAddresses {
            mappings: mappings.into_iter().map(owner::owned_address).collect(),
            messages,
        })
    }

    // --- the message log ---------------------------------------------------------------

    pub async fn messages(
        &self,
        _caller: &AdminCaller,
        mut filter: MessageFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<MessageRecord>, ServiceError> {
        let limit = page_limit(limit)?;
        filter.recipient = filter.recipient.map(|r| EmailAddress::key(&r));
        Ok(self
            .stores
            .messages
            .messages(&filter, limit, cursor)
            .await?)
    }

    /// Every record the filter matches from `cursor` on, as `all_mappings` streams mappings.
    pub async fn all_messages(
        self: &Arc<Self>,
        caller: &AdminCaller,
        filter: MessageFilter,
        cursor: Option<String>,
    ) -> Result<
        impl Stream<Item = Result<Vec<MessageRecord>, ServiceError>> + Send + 'static,
        ServiceError,
    > {
        let (service, caller) = (self.clone(), caller.clone());
        every_page(cursor, move |cursor| {
            let (service, caller, filter) = (service.clone(), caller.clone(), filter.clone());
            async move {
                service
                    .messages(&caller, filter, Some(MAX_PAGE), cursor.as_deref())
                    .await
            }
        })
        .await
    }

    pub async fn message(
        &self,
        _caller: &AdminCaller,
        id: &str,
    ) -> Result<MessageRecord, ServiceError> {
        Ok(self.stores.messages.message(id).await?)
    }

    /// A record with the header block of the raw message, while it is kept.
    pub async fn message_detail(
        &self,
        caller: &AdminCaller,
        id: &str,
    ) -> Result<MessageDetail, ServiceError> {
        let record = self.message(caller, id).await?;
        self.held_viewed(caller, &record).await?;
        let headers = match self.stores.raw.raw(&record.ses_message_id).await? {
            Some(Kept::Bytes(raw)) => Some(header_block(&raw)),
            // Only the head of the object is read: the view shows the header block.
            Some(Kept::S3(object)) => {
                let read = match self.pipeline.out_of_scope(&object) {
                    Some(refused) => Err(refused),
                    None => {
                        self.pipeline
                            .s3()
                            .fetch_head(&object, HEADER_VIEW_BYTES)
                            .await
                    }
                };
                match read {
                    Ok(head) => Some(header_block(&head)),
                    Err(e) => {
                        tracing::warn!(error = %e, %id, "the kept message could not be read from S3");
                        None
                    }
                }
            }
            None => None,
        };
        Ok(MessageDetail { record, headers })
    }

    /// Runs a message the operator hands in through the pipeline (`mailvend deliver`).
    pub async fn deliver(&self, caller: &AdminCaller, inbound: &Inbound) -> Vec<Report> {
        tracing::info!(id = %inbound.ses_message_id, actor = caller.actor(), "delivering by hand");
        self.pipeline.process_by_hand(inbound).await
    }

    /// Applies an SES delivery event the operator hands in (`mailvend delivery-event`), as
    /// `/sns` would: what it did (`updated`, `unchanged`, `unknown`, `ignored`).
    pub async fn delivery_event(
        &self,
        caller: &AdminCaller,
        event: &crate::inbound::feedback::Feedback,
    ) -> Result<&'static str, ServiceError> {
        tracing::info!(mailer_id = %event.mailer_message_id, actor = caller.actor(), "delivery event by hand");
        Ok(self.pipeline.feedback(event).await?)
    }

    /// The ids of every dead letter, newest first.
    pub async fn dead_letters(&self, _caller: &AdminCaller) -> Result<Vec<String>, ServiceError> {
        let filter = MessageFilter {
            outcome: Some(Outcome::DeadLetter),
            ..Default::default()
        };
        use futures_util::TryStreamExt as _;
        let (filter, messages) = (&filter, &self.stores.messages);
        let pages = every_page(None, |cursor| async move {
            Ok(messages
                .messages(filter, MAX_PAGE, cursor.as_deref())
                .await?)
        })
        .await?;
        let pages: Vec<Vec<MessageRecord>> = pages.try_collect().await?;
        Ok(pages.into_iter().flatten().map(|m| m.id).collect())
    }

    /// Sends a dead letter again (see `Pipeline::replay`).
    pub async fn replay(&self, caller: &AdminCaller, id: &str) -> Result<Report, ServiceError> {
        let report = self.pipeline.replay(id).await.map_err(|e| match e {
            ReplayError::Store(e) => ServiceError::from(e),
            e @ (ReplayError::RawMissing(_) | ReplayError::Fetch { .. }) => {
                ServiceError::Conflict(e.to_string())
            }
        })?;
        tracing::info!(%id, actor = caller.actor(), outcome = ?report.outcome, "dead letter replayed");
        Ok(report)
    }

    // --- settings ----------------------------------------------------------------------

    pub async fn settings(&self, _caller: &AdminCaller) -> Result<Settings, ServiceError> {
        Ok(crate::settings::current(&*self.stores.settings, &self.config).await?)
    }

    /// The settings with what configuration fixes, for the Settings page.
    /// Why the configured admin address would loop, if it would: on the served domain with a
    /// mailer that really sends, it must be an active vended address whose owner is elsewhere
    /// (issue 22 item 1). Checked once at start, against the store.
    pub async fn check_admin_address(&self) -> Result<(), String> {
        let admin = &self.config.admin_address;
        let on_domain = admin
            .rsplit_once('@')
            .is_some_and(|(_, d)| d == self.config.domain);
        if !on_domain || matches!(self.config.mailer, crate::config::MailerUrl::Outbox(_)) {
            return Ok(());
        }
        let loops = |why: &str| {
            Err(format!(
                "MAILVEND_ADMIN_ADDRESS {admin} is on {}, the served domain, and {why}: \
                 catch-all mail sent there would come back (a forwarding loop); give a mailbox \
                 elsewhere (the admin address is reserved, so it cannot be vended)",
                self.config.domain
            ))
        };
        match self.stores.mappings.get(admin).await {
            Ok(m) if m.status == MappingStatus::Active => {
                match vending::owner_loops(&m.owner, &self.config.domain) {
                    None => Ok(()),
                    Some(_) => loops("its owner is on the served domain too"),
                }
            }
            Ok(_) => loops("its mapping is not active"),
            Err(StoreError::NotFound(_)) => loops("no mapping sends it elsewhere"),
            Err(e) => Err(format!("checking MAILVEND_ADMIN_ADDRESS: {e}")),
        }
    }

    pub fn settings_view(&self, settings: Settings) -> SettingsView {
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

    pub async fn update_settings(
        &self,
        caller: &AdminCaller,
        patch: &SettingsPatch,
    ) -> Result<Settings, ServiceError> {
        let actor = caller.actor();
        let after = crate::settings::apply(
            &*self.stores.settings,
            &self.config,
            patch,
            actor,
            &now_rfc3339(),
        )
        .await?;
        tracing::info!(
            %actor,
            catch_all = after.catch_all,
            spam_policy = after.spam_policy.as_str(),
            dmarc_policy = after.dmarc_policy.as_str(),
            "settings changed"
        );
        Ok(after)
    }

    /// The sign-out time every signed-in request is checked against.
    pub fn session_epoch(&self) -> Arc<crate::settings::SessionEpoch> {
        self.epoch.clone()
    }

    /// Ends every session begun before now, the caller's own included: for a departed admin
    /// or a leaked cookie.
    pub async fn sign_everyone_out(&self, caller: &AdminCaller) -> Result<(), ServiceError> {
        let actor = caller.actor();
        self.epoch
            .sign_everyone_out(actor, &now_rfc3339(), crate::clock::unix_now_ms())
            .await?;
        tracing::warn!(%actor, "signed everyone out");
        Ok(())
    }

    // --- API tokens and the audit log --------------------------------------------------

    /// Creates a token, good for `expires_days` if given; the secret is in the result and
    /// nowhere else.
    pub async fn create_token(
        &self,
        caller: &AdminCaller,
        name: &str,
        scope: Scope,
        expires_days: Option<u32>,
    ) -> Result<(ApiToken, Secret), ServiceError> {
        let actor = caller.actor();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "1 to 100 printable characters"));
        }
        if let Some(c) = text::hidden_char(name, &[]) {
            return Err(invalid(
                "name",
                format!(
                    "{}: a token name is printable characters",
                    text::describe(c)
                ),
            ));
        }
        let expires_at = match expires_days {
            None => None,
            Some(d @ 1..=3650) => {
                Some(crate::clock::later(Duration::from_secs(u64::from(d) * DAY)))
            }
            Some(_) => return Err(invalid("expires_days", "expected 1 to 3650 days, or none")),
        };
        let (id, secret) = tokens::generate();
        let token = ApiToken {
            expires_at,
            last_used_at: None,
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

    pub async fn tokens(&self, _caller: &AdminCaller) -> Result<Vec<ApiToken>, ServiceError> {
        Ok(self.stores.tokens.list_tokens().await?)
    }

    pub async fn revoke_token(
        &self,
        caller: &AdminCaller,
        id: &str,
    ) -> Result<ApiToken, ServiceError> {
        let actor = caller.actor();
        let token = self
            .stores
            .tokens
            .revoke_token(id, actor, &now_rfc3339())
            .await?;
        tracing::info!(token = %token.id, %actor, "API token revoked");
        Ok(token)
    }

    pub async fn audit_log(
        &self,
        _caller: &AdminCaller,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, ServiceError> {
        Ok(self.stores.mappings.audit_log(50, cursor).await?)
    }
}

#[cfg(test)]
mod tests;
