//! The AWS Organizations use cases: sync (read the accounts, link the mappings, judge the
//! drift), the accounts report, and adopting an account whose address has no mapping.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use app::address::{parse_mailbox, EmailAddress};
use app::model::{AuditEntry, Mapping, MappingStatus, Page};
use app::org::{AccountQuery, Drift, LinkedAccount, OrgAccount, SyncSummary};
use futures_util::StreamExt;

use super::caller::AdminCaller;
use super::{invalid, page_limit, AppService, ServiceError, MAX_PAGE};
use crate::clock::{before, now_rfc3339};
use crate::notify::Event;
use crate::organizations::{LinkChange, Reconciler};
use crate::store::{is_reserved, MappingChange, MappingFilter, StoreError};

/// Link writes in flight at once during a sync.
const LINK_WRITES: usize = 8;

fn not_configured() -> ServiceError {
    ServiceError::Conflict(
        "the organization sync is off: set MAILVEND_ORGANIZATIONS=on (docs/deployment.md)".into(),
    )
}

impl AppService {
    /// Whether the organization can be read (`MAILVEND_ORGANIZATIONS=on`).
    pub fn organizations_on(&self) -> bool {
        self.org.is_some()
    }

    /// Reads every account of the organization, writes each mapping's account link where it
    /// changed (audited, as `caller`), and replaces the stored accounts with their drift. One
    /// sync at a time on a server; two servers syncing at once write the same result.
    pub async fn sync_accounts(&self, caller: &AdminCaller) -> Result<SyncSummary, ServiceError> {
        let source = self.org.as_ref().ok_or_else(not_configured)?;
        // One at a time: a sync asked for while another runs waits for it, then reads afresh.
        let _one = self.org_sync.lock().await;
        let listed = match source.list_accounts().await {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!(error = %e, "organization sync failed");
                // Told once when syncs start failing on this server, not at every retry.
                if !self.org_failing.swap(true, Ordering::SeqCst) {
                    self.raise(Event::SyncFailed {
                        error: e.to_string(),
                    })
                    .await;
                }
                return Err(ServiceError::Upstream(e.to_string()));
            }
        };
        self.org_failing.store(false, Ordering::SeqCst);
        let unused_days = self
            .config
            .organizations
            .as_ref()
            .map_or(30, |o| o.unused_days);
        let now = now_rfc3339();
        let cutoff = before(
            SystemTime::now(),
            Duration::from_secs(u64::from(unused_days) * 86_400),
        );
        let mut reconciler = Reconciler::new(listed, &self.config.domain, &cutoff);
        let mut linked = 0u32;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .stores
                .mappings
                .list(&MappingFilter::default(), MAX_PAGE, cursor.as_deref())
                .await?;
            let changes: Vec<LinkChange> = page
                .items
                .iter()
                .filter_map(|m| reconciler.see(m))
                .collect();
            let mut writes = futures_util::stream::iter(changes)
                .map(|c| self.write_link(c, caller.as_vend().actor(), &now))
                .buffer_unordered(LINK_WRITES);
            while let Some(written) = writes.next().await {
                linked += u32::from(written?);
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let (accounts, summary) = reconciler.finish(&now, linked, unused_days);
        let before = self.drifted().await?;
        self.stores
            .accounts
            .replace_accounts(&accounts, &summary)
            .await?;
        // Told of accounts newly in drift (or in another drift), not again at every sync
        // while the same drift stands.
        let new: Vec<String> = accounts
            .iter()
            .filter_map(|a| a.drift.map(|d| (a.account_id.clone(), d)))
            .filter(|found| !before.contains(found))
            .map(|(id, _)| id)
            .collect();
        if !new.is_empty() {
            self.raise(Event::DriftFound {
                accounts: new.len() as u32,
                account_ids: new.into_iter().take(DRIFT_IDS_TOLD).collect(),
            })
            .await;
        }
        tracing::info!(
            accounts = summary.accounts,
            linked = summary.linked,
            unmapped = summary.unmapped,
            off_domain = summary.off_domain,
            closed = summary.closed,
            conflict = summary.conflict,
            unused = summary.unused_total,
            "organization synced"
        );
        Ok(summary)
    }

    /// Writes one link; `false` when the mapping went away meanwhile (deleted by an admin).
    async fn write_link(
        &self,
        c: LinkChange,
        actor: &str,
        now: &str,
    ) -> Result<bool, ServiceError> {
        let change = MappingChange {
            aws_account_id: c.account.as_ref().map(|a| Some(a.id.clone())),
            account: Some(c.account),
            ..MappingChange::default()
        };
        match self
            .stores
            .mappings
            .update(&c.address, &change, actor, now)
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound(_) | StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A page of the accounts the last sync read, optionally only those with one drift.
    pub async fn accounts(
        &self,
        _caller: &AdminCaller,
        q: &AccountQuery,
        limit: Option<u32>,
    ) -> Result<Page<OrgAccount>, ServiceError> {
        let limit = page_limit(limit)?;
        let drift = match q.drift.trim() {
            "" => None,
            d => Some(Drift::parse(d).ok_or_else(|| {
                invalid(
                    "drift",
                    format!(
                        "expected one of {}, got {d:?}",
                        Drift::ALL.map(Drift::as_str).join(", ")
                    ),
                )
            })?),
        };
        let cursor = Some(q.cursor.as_str()).filter(|c| !c.is_empty());
        Ok(self.stores.accounts.accounts(drift, limit, cursor).await?)
    }

    pub async fn last_sync(
        &self,
        _caller: &AdminCaller,
    ) -> Result<Option<SyncSummary>, ServiceError> {
        Ok(self.stores.accounts.last_sync().await?)
    }

    /// Makes a mapping for an account whose root email is on the domain but has none,
    /// keeping that address, linked to the account and audited as `adopt_account`. Role
    /// addresses (postmaster@, abuse@, …) are never adopted: their mail is the domain's.
    pub async fn adopt_account(
        &self,
        caller: &AdminCaller,
        account_id: &str,
        owner: &str,
        account_type: Option<&str>,
    ) -> Result<Mapping, ServiceError> {
        let account = self
            .stores
            .accounts
            .account(account_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("the account {account_id}")))?;
        if account.drift != Some(Drift::Unmapped) {
            return Err(ServiceError::Conflict(format!(
                "only an account whose root email is on {} and has no mapping can be adopted; \
                 {} is {}",
                self.config.domain,
                account.account_id,
                account.drift.map_or("mapped already", Drift::as_str)
            )));
        }
        let address = EmailAddress::key(&account.email);
        let Some((local, domain)) = address.rsplit_once('@') else {
            return Err(invalid("account", "the account's email is not an address"));
        };
        if domain != self.config.domain {
            return Err(ServiceError::Conflict(format!(
                "{address} is not on {}",
                self.config.domain
            )));
        }
        if is_reserved(&self.rules.reserved, local) {
            return Err(ServiceError::Forbidden {
                field: "account".into(),
                message: format!(
                    "{address} is a role address of the domain; its mail stays with the admin"
                ),
            });
        }
        let owner = parse_mailbox(owner.trim()).map_err(|m| invalid("owner", m))?;
        if let Some(m) = super::vending::owner_loops(&owner, &self.config.domain) {
            return Err(invalid("owner", m));
        }
        let account_type = match account_type.map(str::trim) {
            None | Some("") => self
                .rules
                .account_types
                .first()
                .cloned()
                .unwrap_or_default(),
            Some(t) => self
                .rules
                .account_types
                .iter()
                .find(|k| k.eq_ignore_ascii_case(t))
                .cloned()
                .ok_or_else(|| {
                    invalid(
                        "account_type",
                        format!("expected one of {}", self.rules.account_types.join(", ")),
                    )
                })?,
        };
        let now = now_rfc3339();
        let actor = caller.as_vend().actor().to_string();
        let mapping = Mapping {
            address: address.clone(),
            account_name: local.to_string(),
            base: None,
            counter: None,
            account_type,
            owner,
            recipients: Vec::new(),
            tags: Default::default(),
            status: MappingStatus::Active,
            aws_account_id: Some(account.account_id.clone()),
            account: Some(LinkedAccount {
                id: account.account_id.clone(),
                name: account.name.clone(),
                state: account.state,
                joined_at: account.joined_at.clone(),
            }),
            notes: Some(format!(
                "adopted from AWS account {} ({})",
                account.account_id, account.name
            )),
            created_at: now.clone(),
            created_by: actor.clone(),
            updated_at: now.clone(),
            updated_by: actor.clone(),
            unreachable: Vec::new(),
        };
        if !self.stores.mappings.import(&mapping, &actor, &now).await? {
            return Err(ServiceError::Conflict(format!(
                "{address} has a mapping already (deleted ones keep their address)"
            )));
        }
        self.stores
            .mappings
            .append_audit(&AuditEntry {
                at: now.clone(),
                actor: actor.clone(),
                action: "adopt_account".into(),
                subject: address.clone(),
                before: None,
                after: Some(format!(
                    "{{\"account_id\":{},\"name\":{}}}",
                    serde_json::Value::String(account.account_id.clone()),
                    serde_json::Value::String(account.name.clone())
                )),
            })
            .await?;
        let adopted = OrgAccount {
            address: Some(address),
            drift: account.state.is_out_of_use().then_some(Drift::Closed),
            ..account
        };
        self.stores.accounts.put_account(&adopted).await?;
        Ok(mapping)
    }
}

/// Syncs the organization every `every` (the first a minute after start, so a fleet that
/// starts together does not all sync at once more than it must), until the server stops.
/// A failed sync is logged and tried again at the next turn.
pub async fn run_schedule(service: std::sync::Arc<AppService>, every: Duration) {
    let caller = AdminCaller::schedule("org-sync");
    let first = Duration::from_secs(60 + rand::random::<u64>() % 60);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = service.sync_accounts(&caller).await {
            tracing::warn!(error = %e, "scheduled organization sync failed");
        }
    }
}

/// How many of the accounts newly in drift a notification names.
const DRIFT_IDS_TOLD: usize = 20;

impl AppService {
    /// Every stored account in drift, with its drift: what the last sync found.
    async fn drifted(&self) -> Result<std::collections::HashSet<(String, Drift)>, ServiceError> {
        let mut found = std::collections::HashSet::new();
        for drift in Drift::ALL {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .stores
                    .accounts
                    .accounts(Some(drift), MAX_PAGE, cursor.as_deref())
                    .await?;
                found.extend(page.items.into_iter().map(|a| (a.account_id, drift)));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok(found)
    }
}
