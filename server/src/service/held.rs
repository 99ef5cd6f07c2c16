//! Mail held by its class's policy (`Outcome::Held`, #18). An admin releases it to its owner
//! or to themselves; every view of a held message and every release is audited on its
//! address; what nobody releases expires after `MAILVEND_HOLD_FOR_DAYS`.

use std::time::{Duration, SystemTime};

use app::model::{AuditEntry, HeldMail, HeldMessage, MessageRecord, Outcome, ReleaseTarget};

use crate::clock::{before, now_rfc3339, rfc3339};
use crate::inbound::pipeline::{ReleaseTo, ReplayError};
use crate::inbound::Report;
use crate::store::{MessageFilter, StoreError};

use super::caller::AdminCaller;
use super::{AppService, ServiceError};

/// How many held records one expiry pass reads at a time.
const EXPIRE_PAGE: u32 = 100;

/// Held mail listed a page at a time.
const HELD_PAGE: u32 = 50;

impl AppService {
    /// Held mail, newest first, each with when it expires.
    pub async fn held(
        &self,
        _caller: &AdminCaller,
        cursor: &str,
    ) -> Result<HeldMail, ServiceError> {
        let filter = MessageFilter {
            outcome: Some(Outcome::Held),
            ..MessageFilter::default()
        };
        let cursor = (!cursor.is_empty()).then_some(cursor);
        let page = self
            .stores
            .messages
            .messages(&filter, HELD_PAGE, cursor)
            .await?;
        let days = self.config.hold_for_days;
        let items = page
            .items
            .into_iter()
            .map(|record| HeldMessage {
                expires_at: expires_at(&record.received_at, days),
                record,
            })
            .collect();
        Ok(HeldMail {
            items,
            next_cursor: page.next_cursor,
            hold_days: days,
        })
    }

    /// Sends held mail `id` on to `to` (see `Pipeline::release`), audited `release_held` on
    /// its address with where it went. Mail that cannot be sent now stays held.
    pub async fn release_held(
        &self,
        caller: &AdminCaller,
        id: &str,
        to: ReleaseTarget,
    ) -> Result<Report, ServiceError> {
        let target = match to {
            ReleaseTarget::Owner => ReleaseTo::Owner,
            ReleaseTarget::Me => match caller.mailbox() {
                // On the served domain it would come back in as ordinary mail to a vended
                // address, and go to that mapping's owner: the hold undone.
                Some(mailbox)
                    if mailbox
                        .rsplit_once('@')
                        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&self.config.domain)) =>
                {
                    return Err(ServiceError::Forbidden {
                        field: "to".into(),
                        message: format!(
                            "your mailbox {mailbox} is on {}, the served domain: mail released \
                             there would come back in; release it to the owner",
                            self.config.domain
                        ),
                    });
                }
                Some(mailbox) => ReleaseTo::Admin(mailbox.to_string()),
                None => {
                    return Err(ServiceError::Forbidden {
                        field: "to".into(),
                        message: "only a signed-in admin has a mailbox to release mail to; \
                                  release it to the owner, or from the dashboard"
                            .into(),
                    })
                }
            },
        };
        let released = self.pipeline.release(id, target).await;
        // Audited whatever came of it: a release that failed is an attempt on a credential
        // too. A record that is not there (an unknown id) has nothing to audit.
        if let Ok(record) = self.stores.messages.message(id).await {
            self.audit_held(caller, &record, "release_held", Some(to.as_str()))
                .await?;
        }
        let report = released.map_err(|e| match e {
            ReplayError::Store(e) => ServiceError::from(e),
            e @ (ReplayError::RawMissing(_) | ReplayError::Fetch { .. }) => {
                ServiceError::Conflict(e.to_string())
            }
        })?;
        tracing::info!(%id, actor = caller.actor(), to = to.as_str(), outcome = ?report.outcome, "held mail released");
        Ok(report)
    }

    /// Records that `caller` looked at held mail (its page shows the header block).
    pub(super) async fn held_viewed(
        &self,
        caller: &AdminCaller,
        record: &MessageRecord,
    ) -> Result<(), ServiceError> {
        if record.outcome == Outcome::Held {
            self.audit_held(caller, record, "view_held", None).await?;
        }
        Ok(())
    }

    async fn audit_held(
        &self,
        caller: &AdminCaller,
        record: &MessageRecord,
        action: &str,
        to: Option<&str>,
    ) -> Result<(), StoreError> {
        let after = serde_json::json!({
            "id": record.id,
            "class": record.class.map(|c| c.as_str()),
            "to": to,
            "outcome": record.outcome.as_str(),
            "delivered_to": record.delivered_to,
        });
        self.stores
            .mappings
            .append_audit(&AuditEntry {
                at: now_rfc3339(),
                actor: caller.actor().to_string(),
                action: action.into(),
                subject: record.recipient.clone(),
                before: None,
                after: Some(after.to_string()),
            })
            .await
    }

    /// Settles every held record received more than `MAILVEND_HOLD_FOR_DAYS` before `now` as
    /// rejected, audited `expire_held` as `caller`; how many expired. One taken by a release
    /// meanwhile is left to it.
    pub async fn expire_held(
        &self,
        caller: &AdminCaller,
        now: SystemTime,
    ) -> Result<u64, ServiceError> {
        let days = self.config.hold_for_days;
        let cutoff = before(now, Duration::from_secs(u64::from(days) * 86_400));
        let filter = MessageFilter {
            outcome: Some(Outcome::Held),
            until: Some(cutoff),
            ..MessageFilter::default()
        };
        let mut expired = 0;
        // Each pass settles what it read, so the next page is read from the start again.
        loop {
            let page = self
                .stores
                .messages
                .messages(&filter, EXPIRE_PAGE, None)
                .await?;
            let mut moved = 0;
            for held in page.items {
                let at = rfc3339(SystemTime::now());
                // A lease like a delivery's, so no other worker takes it over mid-expiry.
                let lease = rfc3339(SystemTime::now() + Duration::from_secs(300));
                let open = match self
                    .stores
                    .messages
                    .reopen(&held.id, Outcome::Held, &lease, &at)
                    .await
                {
                    Ok(open) => open,
                    Err(StoreError::Conflict(_) | StoreError::NotFound(_)) => continue,
                    Err(e) => return Err(e.into()),
                };
                let gone = MessageRecord {
                    outcome: Outcome::Rejected,
                    detail: format!("held {days} days and never released: expired"),
                    updated_at: at,
                    ..open.clone()
                };
                if let Err(e) = self.stores.messages.settle(&gone).await {
                    // Put back as held (best effort), not left in `processing`.
                    let _ = self.stores.messages.settle(&open_as_held(open)).await;
                    return Err(e.into());
                }
                self.audit_held(caller, &gone, "expire_held", None).await?;
                expired += 1;
                moved += 1;
            }
            if page.next_cursor.is_none() || moved == 0 {
                return Ok(expired);
            }
        }
    }
}

/// A reopened held record as it was, to put back.
fn open_as_held(open: MessageRecord) -> MessageRecord {
    MessageRecord {
        outcome: Outcome::Held,
        ..open
    }
}

/// When mail received at `received_at` expires if held `days`: the first expiry pass after
/// this time takes it.
fn expires_at(received_at: &str, days: u32) -> String {
    match humantime::parse_rfc3339_weak(received_at) {
        Ok(t) => rfc3339(t + Duration::from_secs(u64::from(days) * 86_400)),
        Err(_) => String::new(),
    }
}

/// Expires held mail, and settles records left in `processing` (`service::unfinished`), at
/// start and then hourly, for the life of the server.
pub async fn run_expiry(service: std::sync::Arc<AppService>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    let caller = AdminCaller::schedule("hold");
    loop {
        tick.tick().await;
        match service.expire_held(&caller, SystemTime::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "held mail expired"),
            Err(e) => tracing::warn!(error = %e, "expiring held mail failed; will try again"),
        }
        if let Err(e) = service.settle_unfinished(SystemTime::now()).await {
            tracing::warn!(error = %e, "settling unfinished records failed; will try again");
        }
    }
}
