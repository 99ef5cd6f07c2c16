//! Records left in `processing` (#18 review): a worker that died between a claim and its
//! settle leaves one. Mail from SES is claimed again by SNS's next delivery, but nothing comes
//! back for a replay, a release or an expiry, so such a record would stay out of every list an
//! admin works from, its raw copy kept for ever. Once a claim is far older than any lease, it is
//! settled where an admin finds it: held mail back to `held`, anything else a dead letter.

use std::time::{Duration, SystemTime};

use app::model::{ClassPolicy, MessageRecord, Outcome};

use crate::clock::{before, rfc3339};
use crate::store::{MessageFilter, StoreError};

use super::{AppService, ServiceError};

/// Far longer than any claim's lease (`MAILVEND_CLAIM_LEASE`, at most minutes) and than
/// SNS's retries of one notification.
pub const UNFINISHED_AFTER: Duration = Duration::from_secs(3600);

impl AppService {
    /// Settles every record still `processing` whose last claim is older than
    /// `UNFINISHED_AFTER` at `now`; how many.
    pub async fn settle_unfinished(&self, now: SystemTime) -> Result<u64, ServiceError> {
        let cutoff = before(now, UNFINISHED_AFTER);
        // Received before the cutoff (the log's order); claimed before it too (checked below:
        // a replay of old mail is claimed now).
        let filter = MessageFilter {
            outcome: Some(Outcome::Processing),
            until: Some(cutoff.clone()),
            ..MessageFilter::default()
        };
        let (mut settled, mut cursor) = (0, None);
        loop {
            let page = self
                .stores
                .messages
                .messages(&filter, 100, cursor.as_deref())
                .await?;
            for stale in page.items.into_iter().filter(|r| r.updated_at < cutoff) {
                let put = left_unfinished(stale, &rfc3339(now));
                // Conditional on the claim it read: one taken over meanwhile is left to its
                // new holder.
                match self.stores.messages.settle(&put).await {
                    Ok(()) => {
                        settled += 1;
                        tracing::warn!(id = %put.id, outcome = put.outcome.as_str(), "a record left in processing was settled");
                    }
                    Err(StoreError::Conflict(_) | StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(settled),
            }
        }
    }
}

/// Where a record left in `processing` goes: held mail (its policy held it) back to `held`,
/// anything else a dead letter an admin can replay.
fn left_unfinished(stale: MessageRecord, now: &str) -> MessageRecord {
    // Held by its class's policy (hold, or restricted with no group), or a release that
    // failed and left it held. Mail held for want of a virus verdict is a dead letter anyway.
    let held = matches!(stale.policy, Some(ClassPolicy::Hold))
        || (matches!(stale.policy, Some(ClassPolicy::Restricted))
            && stale.detail.contains("no restricted group"))
        || stale.detail.contains("still held");
    let (outcome, detail) = if held {
        (
            Outcome::Held,
            "left unfinished (a release or expiry stopped); held again",
        )
    } else {
        (
            Outcome::DeadLetter,
            "left unfinished (the server stopped mid-delivery); kept for replay",
        )
    };
    MessageRecord {
        outcome,
        detail: detail.into(),
        updated_at: now.to_string(),
        ..stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stale(policy: Option<ClassPolicy>, detail: &str) -> MessageRecord {
        MessageRecord {
            id: "s/a@mail.example.com".into(),
            ses_message_id: "s".into(),
            recipient: "a@mail.example.com".into(),
            sender: "x@y.example".into(),
            subject: None,
            size: 1,
            verdicts: String::new(),
            outcome: Outcome::Processing,
            delivered_to: None,
            detail: detail.into(),
            mailer_message_id: None,
            error: None,
            attempts: 2,
            received_at: "2026-11-25T09:00:00.000Z".into(),
            updated_at: "2026-11-25T09:00:00.000Z".into(),
            delivery: None,
            class: None,
            policy,
        }
    }

    #[test]
    fn held_mail_goes_back_to_held_and_the_rest_to_the_dead_letters() {
        let now = "2026-11-25T12:00:00.000Z";
        for (policy, detail, want) in [
            (Some(ClassPolicy::Hold), "held by its class's policy until an admin releases it", Outcome::Held),
            (Some(ClassPolicy::Restricted), "held: its class is restricted but no restricted group is configured", Outcome::Held),
            (Some(ClassPolicy::Forward), "releasing to owner@x.example failed; still held", Outcome::Held),
            // Held for want of a virus verdict is a dead letter, replayed by hand.
            (None, "held: SES gave no virus verdict (missing or failed scan); an admin can release it by replaying", Outcome::DeadLetter),
            (Some(ClassPolicy::Forward), "processing", Outcome::DeadLetter),
            (None, "processing", Outcome::DeadLetter),
        ] {
            let put = left_unfinished(stale(policy, detail), now);
            assert_eq!(put.outcome, want, "{policy:?} {detail}");
            assert_eq!(put.attempts, 2, "settled at the claim it read");
            assert_eq!(put.updated_at, now);
        }
    }
}
