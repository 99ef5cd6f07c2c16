//! Moving accounts' root emails onto the domain (#17): an admin asks for one account or many;
//! each gets an address (vended for it, or its earlier one) and a queued job; the worker
//! starts queued jobs one at a time, paced, and fails those that waited too long. The rest
//! of a job happens when AWS's mail arrives (`inbound::root_email`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use app::address::parse_mailbox;
use app::model::{MappingStatus, Page};
use app::org::{Drift, JobState, MoveResult, OrgAccount, RootEmailJob, MAX_MOVE};

use super::caller::AdminCaller;
use super::vending::{owner_loops, VendRequest};
use super::{invalid, page_limit, AppService, ServiceError};
use crate::clock::now_rfc3339;
use crate::inbound::root_email::RootEmails;
use crate::store::StoreError;

fn not_configured() -> ServiceError {
    ServiceError::Conflict(
        "root email changes are off: they need MAILVEND_ORGANIZATIONS=on and \
         MAILVEND_ORGANIZATIONS_ROOT_EMAILS=on, and the account: permissions (docs/deployment.md)"
            .into(),
    )
}

/// The account name mailvend vends for a moved account: its name as letters, digits and
/// dashes (at most 30), then its id, so that it is unique and the same on a second try.
pub fn moved_name(account: &OrgAccount) -> String {
    let mut slug = app::naming::slug(&account.name);
    // ASCII only, so cutting at a byte is cutting at a character.
    slug.truncate(30);
    let slug = slug.trim_end_matches('-');
    match slug.is_empty() {
        true => format!("aws-{}", account.account_id),
        false => format!("{slug}-{}", account.account_id),
    }
}

impl AppService {
    fn root_emails(&self) -> Result<&Arc<RootEmails>, ServiceError> {
        self.root_emails.get().ok_or_else(not_configured)
    }

    /// Whether root email changes are available (the organization is read).
    pub fn root_emails_on(&self) -> bool {
        self.root_emails.get().is_some()
    }

    /// Queues a job for each account in `account_ids` (at most `MAX_MOVE`), one result each:
    /// a refused account (unknown, closed, already on the domain, a job open) does not stop
    /// the others. `owner` gets the moved accounts' mail; by default each account's current
    /// root email.
    pub async fn move_accounts(
        &self,
        caller: &AdminCaller,
        account_ids: &[String],
        owner: Option<&str>,
    ) -> Result<Vec<MoveResult>, ServiceError> {
        self.root_emails()?;
        if account_ids.is_empty() || account_ids.len() > MAX_MOVE {
            return Err(invalid(
                "account_ids",
                format!("expected 1 to {MAX_MOVE} account ids"),
            ));
        }
        let owner = self.move_owner(owner)?;
        let mut seen = std::collections::HashSet::new();
        let mut results = Vec::with_capacity(account_ids.len());
        for id in account_ids {
            let id = id.trim().to_string();
            if !seen.insert(id.clone()) {
                continue;
            }
            let (job, error) = match self.queue_move(caller, &id, owner.as_deref()).await {
                Ok(job) => (Some(job), None),
                Err(
                    e @ (ServiceError::Invalid { .. }
                    | ServiceError::Conflict(_)
                    | ServiceError::NotFound(_)
                    | ServiceError::Forbidden { .. }),
                ) => (None, Some(e.to_string())),
                Err(e) => return Err(e),
            };
            results.push(MoveResult {
                account_id: id,
                job,
                error,
            });
        }
        self.jobs_wake.notify_one();
        Ok(results)
    }

    /// Queues a job for one account: `move_accounts` for one, its refusal an error.
    pub async fn move_account(
        &self,
        caller: &AdminCaller,
        account_id: &str,
        owner: Option<&str>,
    ) -> Result<RootEmailJob, ServiceError> {
        self.root_emails()?;
        let owner = self.move_owner(owner)?;
        let job = self
            .queue_move(caller, account_id.trim(), owner.as_deref())
            .await?;
        self.jobs_wake.notify_one();
        Ok(job)
    }

    /// The owner given for moved accounts, checked as a mapping's owner.
    fn move_owner(&self, owner: Option<&str>) -> Result<Option<String>, ServiceError> {
        let Some(o) = owner.map(str::trim).filter(|o| !o.is_empty()) else {
            return Ok(None);
        };
        let o = parse_mailbox(o).map_err(|m| invalid("owner", m))?;
        if let Some(m) = owner_loops(&o, &self.config.domain) {
            return Err(invalid("owner", m));
        }
        Ok(Some(o))
    }

    async fn queue_move(
        &self,
        caller: &AdminCaller,
        account_id: &str,
        owner: Option<&str>,
    ) -> Result<RootEmailJob, ServiceError> {
        let account = self
            .stores
            .accounts
            .account(account_id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "the account {account_id} (not in the last sync; sync first)"
                ))
            })?;
        if account.state.is_out_of_use() {
            return Err(ServiceError::Conflict(format!(
                "the account {account_id} is {}: only a live account's root email can change",
                account.state.label().to_lowercase()
            )));
        }
        if account.drift != Some(Drift::OffDomain) {
            return Err(ServiceError::Conflict(format!(
                "the account {account_id}'s root email is on {} already",
                self.config.domain
            )));
        }
        let earlier = self.stores.accounts.job(account_id).await?;
        if let Some(open) = earlier.as_ref().filter(|j| j.state.is_open()) {
            return Err(ServiceError::Conflict(format!(
                "the account {account_id} has a job {} already",
                open.state.as_str()
            )));
        }
        let owner = owner.unwrap_or(&account.email).to_string();
        let address = match earlier {
            // Moved before and failed: the address vended for it then, if it still forwards
            // and records no other account.
            Some(j) => {
                self.reusable(&j.address, account_id).await?;
                j.address
            }
            None => self.address_for(caller, &account, &owner).await?,
        };
        let now = now_rfc3339();
        let job = RootEmailJob {
            account_id: account.account_id.clone(),
            account_name: account.name.clone(),
            previous_email: account.email.clone(),
            address,
            state: JobState::Queued,
            reason: None,
            detail: "queued: starts are paced".into(),
            attempts: 1,
            refused_codes: 0,
            created_at: now.clone(),
            created_by: caller.actor().to_string(),
            updated_at: now,
        };
        self.stores.accounts.create_job(&job).await?;
        self.root_emails()?.audit(&job, caller.actor()).await?;
        Ok(job)
    }

    /// Whether a failed job's address may take its account's root email again: its mapping
    /// active and recording no other account (an admin may have deleted, suspended or
    /// re-linked it since; a root email on an address that forwards nowhere loses the
    /// account's password recovery).
    async fn reusable(&self, address: &str, account_id: &str) -> Result<(), ServiceError> {
        let m = match self.stores.mappings.get(address).await {
            Ok(m) => m,
            Err(StoreError::NotFound(_)) => {
                return Err(ServiceError::Conflict(format!(
                    "{address}, the address of the account {account_id}'s earlier job, has no \
                 mapping"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        let others = m
            .aws_account_id
            .as_deref()
            .is_some_and(|id| id != account_id);
        if m.status != MappingStatus::Active || others {
            return Err(ServiceError::Conflict(format!(
                "{address}, the address of the account {account_id}'s earlier job, is {} now; \
                 it cannot become the root email",
                if others {
                    "another account's"
                } else {
                    m.status.as_str()
                }
            )));
        }
        Ok(())
    }

    /// The address vended for a moved account: `<name>-<id>@`, or when that name or address
    /// is taken (anyone may have vended it, on purpose or not), `aws-<id>-<random>@`. An
    /// existing mapping is never used, unless it already records this account (an admin's
    /// entry): its owner and recipients would get the account's root mail.
    async fn address_for(
        &self,
        caller: &AdminCaller,
        account: &OrgAccount,
        owner: &str,
    ) -> Result<String, ServiceError> {
        let name = moved_name(account);
        let address = format!("{name}@{}", self.config.domain);
        match self.stores.mappings.get(&address).await {
            Ok(m)
                if m.status == MappingStatus::Active
                    && m.aws_account_id.as_deref() == Some(account.account_id.as_str()) =>
            {
                return Ok(address);
            }
            Ok(_) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let mut tries = vec![name];
        tries.extend((0..3).map(|_| {
            format!(
                "aws-{}-{:06x}",
                account.account_id,
                rand::random::<u32>() & 0xff_ffff
            )
        }));
        let mut last = None;
        for name in tries {
            let req = VendRequest {
                owner: owner.to_string(),
                account_type: self
                    .rules
                    .account_types
                    .first()
                    .cloned()
                    .unwrap_or_default(),
                account_name: Some(name),
                tags: [("aws_account_id".to_string(), account.account_id.clone())].into(),
                ..VendRequest::default()
            };
            match self.vend(caller.as_vend(), &req).await {
                Ok(v) => return Ok(v.mapping.address),
                // Taken (an address or a name): the next name.
                Err(e @ ServiceError::Conflict(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one name was tried"))
    }
}

impl AppService {
    /// Queues a failed job again, with its address (a new code is asked for).
    pub async fn retry_job(
        &self,
        caller: &AdminCaller,
        account_id: &str,
    ) -> Result<RootEmailJob, ServiceError> {
        let jobs = self.root_emails()?;
        let job =
            self.stores.accounts.job(account_id).await?.ok_or_else(|| {
                ServiceError::NotFound(format!("a job for the account {account_id}"))
            })?;
        if job.state != JobState::Failed {
            return Err(ServiceError::Conflict(format!(
                "only a failed job can be retried; the account {account_id}'s is {}",
                job.state.as_str()
            )));
        }
        let now = now_rfc3339();
        let retry = RootEmailJob {
            state: JobState::Queued,
            reason: None,
            detail: format!("retried by {}", caller.actor()),
            attempts: job.attempts + 1,
            refused_codes: 0,
            updated_at: now,
            ..job
        };
        self.stores.accounts.create_job(&retry).await?;
        jobs.audit(&retry, caller.actor()).await?;
        self.jobs_wake.notify_one();
        Ok(retry)
    }

    pub async fn jobs(
        &self,
        _caller: &AdminCaller,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<RootEmailJob>, ServiceError> {
        let limit = page_limit(limit)?;
        Ok(self.stores.accounts.jobs(limit, cursor).await?)
    }

    pub async fn job(
        &self,
        _caller: &AdminCaller,
        account_id: &str,
    ) -> Result<RootEmailJob, ServiceError> {
        self.stores
            .accounts
            .job(account_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("a job for the account {account_id}")))
    }

    /// Fails the jobs that waited too long, then starts every queued job, oldest first, `pace`
    /// apart (twice as long after a throttled start). How many it started.
    pub async fn work_jobs(&self, pace: Duration) -> Result<u32, ServiceError> {
        let jobs = self.root_emails()?;
        // Every job, read once a turn: the waiting ones are judged, the queued ones started.
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.stores.accounts.jobs(500, cursor.as_deref()).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        jobs.expire(&all, SystemTime::now()).await?;
        let mut queued: Vec<RootEmailJob> = all
            .into_iter()
            .filter(|j| j.state == JobState::Queued)
            .collect();
        queued.sort_by(|a, b| a.updated_at.cmp(&b.updated_at));
        let mut pace = pace;
        let mut started = 0;
        for (i, job) in queued.iter().enumerate() {
            if i > 0 && !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
            let after = jobs.start(job).await?;
            started += 1;
            if after.reason.as_deref() == Some("throttled") {
                pace = (pace * 2).max(Duration::from_secs(1));
            }
        }
        Ok(started)
    }
}

/// Starts queued jobs when asked (`jobs_wake`) and every half minute, and expires waiting
/// ones, until the server stops. Every server runs it: each start is claimed by
/// compare-and-set, so a job is started once.
pub async fn run_jobs(service: Arc<AppService>, pace: Duration) {
    loop {
        tokio::select! {
            _ = service.jobs_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        if let Err(e) = service.work_jobs(pace).await {
            tracing::warn!(error = %e, "root email jobs: a turn failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_names_are_slugs_with_the_id() {
        let account = |name: &str| OrgAccount {
            account_id: "123456789012".into(),
            name: name.into(),
            email: "a@b.example".into(),
            state: app::org::AccountState::Active,
            joined_at: None,
            address: None,
            drift: Some(Drift::OffDomain),
            drift_detail: None,
            synced_at: String::new(),
        };
        for (name, want) in [
            ("Prod Workloads", "prod-workloads-123456789012"),
            ("  --Ünïcode & co!! ", "n-code-co-123456789012"),
            ("", "aws-123456789012"),
            ("***", "aws-123456789012"),
            (
                "a very long account name that goes on and on",
                "a-very-long-account-name-that-123456789012",
            ),
        ] {
            assert_eq!(moved_name(&account(name)), want, "{name:?}");
        }
    }
}
