//! What happens to a received message (docs/product.md §2.5–2.9): for each envelope recipient,
//! claim it in the message log (exactly once, however often SNS delivers), decide, rewrite,
//! send with retries, and settle it as forwarded, undeliverable, rejected or dead letter.
//! The same path serves `POST /sns`, `mailvend deliver` and replays.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use app::model::{MessageRecord, Outcome};

use crate::clock::rfc3339;
use crate::config::Config;
use crate::inbound::decide::{decide, Decision, Policy, Reason, Tags};
use crate::inbound::rewrite::{rewrite, RewriteConfig};
use crate::inbound::trail::{LoopKey, Trail};
use crate::inbound::{Delivery, Inbound, Report, Verdicts};
use crate::mailer::{Mailer, Outgoing, SendError};
use crate::metrics::Metrics;
use crate::store::{Claim, StoreError, Stores};

/// How many times a settle is tried before the recipient is left to the next delivery.
pub const SETTLE_TRIES: u32 = 3;

/// How transient send failures are retried: `attempts` sends in all, waiting `first_delay`
/// after the first failure and twice as long after each next one, up to `max_delay`, each
/// wait jittered by up to a half so that retries from many messages spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 4,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// How long a claim is held before another delivery may take it over: longer than the
/// slowest send with all its retries (`SEND_TIMEOUT` × attempts plus the waits), short enough
/// for SNS's retries to find it free.
const LEASE: Duration = Duration::from_secs(60);

/// A send that has not answered by then counts as a transient failure.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What happens to every recipient of one message.
enum Plan<'a> {
    Decide(Box<Policy>),
    /// Logged as rejected for this reason, unread (the message is over the size limit).
    Refuse(&'a str),
}

/// The records of one message forwarded to one destination with the same tags: one send.
struct Batch {
    to: String,
    tags: Tags,
    /// (slot in the results, the claimed record, why it goes to `to`).
    records: Vec<(usize, MessageRecord, Reason)>,
}

/// Who asked for a message to be processed: SES through SNS, or an admin (`mailvend deliver`,
/// a replay), whose asking releases mail held for want of a virus verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Received,
    ByHand,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the raw message of {0} is no longer kept (retention?)")]
    RawMissing(String),
}

pub struct Pipeline {
    config: Arc<Config>,
    stores: Stores,
    mailer: Arc<dyn Mailer>,
    metrics: Arc<Metrics>,
    retry: Retry,
    loop_key: LoopKey,
}

impl Pipeline {
    pub fn new(
        config: Arc<Config>,
        stores: Stores,
        mailer: Arc<dyn Mailer>,
        metrics: Arc<Metrics>,
        retry: Retry,
    ) -> Self {
        Pipeline {
            stores,
            mailer,
            metrics,
            retry,
            loop_key: LoopKey::new(config.loop_key.expose().as_bytes()),
            config,
        }
    }

    /// Every recipient of `msg`, one report each, in order.
    pub async fn process(&self, msg: &Inbound) -> Vec<Report> {
        self.each(msg, None, Origin::Received).await
    }

    /// As `process`, for a message an admin hands in (`mailvend deliver`): nothing scanned it,
    /// and the admin's asking is what releases it.
    pub async fn process_by_hand(&self, msg: &Inbound) -> Vec<Report> {
        self.each(msg, None, Origin::ByHand).await
    }

    /// The reports of a redelivery when every recipient of `ses_message_id` is already settled,
    /// read before its content is: SNS redelivering a settled 40 MB S3 message then costs a
    /// few reads, not another fetch (issue 22 item 2). `None` when any recipient still needs
    /// work (or the store cannot say): the caller fetches and processes as usual, where the
    /// claim decides.
    pub async fn settled_already(
        &self,
        ses_message_id: &str,
        recipients: &[String],
    ) -> Option<Vec<Report>> {
        let mut reports = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for r in recipients {
            let recipient = app::address::EmailAddress::key(r);
            if seen.contains(&recipient) {
                continue;
            }
            let id = MessageRecord::id_for(ses_message_id, &recipient);
            let record = self.stores.messages.message(&id).await.ok()?;
            if record.outcome == Outcome::Processing {
                return None;
            }
            reports.push(Report {
                recipient: recipient.clone(),
                outcome: Delivery::Duplicate,
                detail: Some(format!("already {}", record.outcome.as_str())),
                message_id: record.id,
            });
            seen.push(recipient);
        }
        for r in &reports {
            self.metrics.delivery(r.outcome.as_str());
        }
        (!reports.is_empty()).then_some(reports)
    }

    /// Logs every recipient of a message that cannot be processed at all (over the size
    /// limit) as rejected for `reason`, so that it is not silently lost either.
    pub async fn refuse(&self, msg: &Inbound, reason: &str) -> Vec<Report> {
        self.each(msg, Some(reason), Origin::Received).await
    }

    /// Claims every recipient first, then decides them together, so that one message to
    /// several addresses of one owner is sent to that owner once (issue 22 item 8).
    async fn each(&self, msg: &Inbound, refusal: Option<&str>, origin: Origin) -> Vec<Report> {
        let mut recipients: Vec<String> = Vec::with_capacity(msg.recipients.len());
        for r in &msg.recipients {
            let r = app::address::EmailAddress::key(r);
            if !recipients.contains(&r) {
                recipients.push(r);
            }
        }
        // The settings are read once per message, so all its recipients are decided alike.
        let plan = match refusal {
            Some(reason) => Ok(Plan::Refuse(reason)),
            None => self.policy().await.map(|p| Plan::Decide(Box::new(p))),
        };
        let mut reports: Vec<Option<Report>> = vec![None; recipients.len()];
        let mut mine: Vec<(usize, MessageRecord)> = Vec::new();
        for (i, recipient) in recipients.iter().enumerate() {
            if let Err(e) = &plan {
                reports[i] = Some(store_failed(msg, recipient, e));
                continue;
            }
            match self.claim(msg, recipient).await {
                Ok(Claim::Mine(record)) => mine.push((i, record)),
                Ok(Claim::Done(record)) => {
                    reports[i] = Some(Report {
                        recipient: record.recipient.clone(),
                        outcome: Delivery::Duplicate,
                        detail: Some(format!("already {}", record.outcome.as_str())),
                        message_id: record.id,
                    })
                }
                Ok(Claim::Busy) => {
                    reports[i] = Some(Report {
                        recipient: recipient.clone(),
                        outcome: Delivery::Retry,
                        detail: Some("another delivery of this message is being processed".into()),
                        message_id: MessageRecord::id_for(&msg.ses_message_id, recipient),
                    })
                }
                Err(e) => reports[i] = Some(store_failed(msg, recipient, &e)),
            }
        }
        let (slots, records): (Vec<usize>, Vec<MessageRecord>) = mine.into_iter().unzip();
        let done = match &plan {
            Ok(Plan::Decide(policy)) => {
                self.finish(records.clone(), &msg.raw, &msg.verdicts, policy, origin)
                    .await
            }
            Ok(Plan::Refuse(reason)) => {
                let mut done = Vec::with_capacity(records.len());
                for record in records.iter().cloned() {
                    done.push(self.refused(record, reason).await);
                }
                done
            }
            Err(_) => Vec::new(),
        };
        for ((slot, record), result) in slots.into_iter().zip(&records).zip(done) {
            reports[slot] = Some(match result {
                Ok(report) => report,
                Err(e) => {
                    // Best effort: the store just failed, so this may fail too, and then
                    // the lease runs out instead.
                    let _ = self
                        .stores
                        .messages
                        .release(&record.id, &rfc3339(SystemTime::now()))
                        .await;
                    store_failed(msg, &record.recipient, &e)
                }
            });
        }
        reports
            .into_iter()
            .flatten()
            .inspect(|r| self.metrics.delivery(r.outcome.as_str()))
            .collect()
    }

    /// What decisions depend on: the configuration and the stored settings.
    async fn policy(&self) -> Result<Policy, StoreError> {
        let settings = crate::settings::current(&*self.stores.settings, &self.config).await?;
        Ok(Policy {
            domain: self.config.domain.clone(),
            from_address: self.config.from_address.clone(),
            admin_address: self.config.admin_address.clone(),
            catch_all: settings.catch_all,
            spam: settings.spam_policy,
            dmarc: settings.dmarc_policy,
            max_received: self.config.max_received,
            hold_unscanned: self.config.hold_unscanned,
            loop_key: self.loop_key.clone(),
        })
    }

    /// Takes `recipient` of `msg` for this delivery, exactly once however often SNS delivers.
    async fn claim(&self, msg: &Inbound, recipient: &str) -> Result<Claim, StoreError> {
        let now = SystemTime::now();
        let record = MessageRecord {
            id: MessageRecord::id_for(&msg.ses_message_id, recipient),
            ses_message_id: msg.ses_message_id.clone(),
            recipient: recipient.to_string(),
            sender: msg.sender.clone(),
            subject: msg.subject.clone(),
            size: msg.raw.len() as u64,
            verdicts: msg.verdicts.summary(),
            outcome: Outcome::Processing,
            delivered_to: None,
            detail: "processing".into(),
            mailer_message_id: None,
            error: None,
            attempts: 1,
            received_at: msg.received_at.clone(),
            updated_at: rfc3339(now),
        };
        self.stores
            .messages
            .claim(&record, &rfc3339(now + LEASE), &rfc3339(now))
            .await
    }

    async fn refused(&self, record: MessageRecord, reason: &str) -> Result<Report, StoreError> {
        let rejected = MessageRecord {
            outcome: Outcome::Rejected,
            detail: reason.to_string(),
            updated_at: rfc3339(SystemTime::now()),
            ..record
        };
        self.settle(&rejected).await?;
        Ok(report_of(&rejected))
    }

    /// Sends a dead letter again, deciding afresh with today's mapping and settings.
    pub async fn replay(&self, id: &str) -> Result<Report, ReplayError> {
        let now = SystemTime::now();
        let record = self
            .stores
            .messages
            .reopen(id, &rfc3339(now + LEASE), &rfc3339(now))
            .await?;
        let Some(raw) = self.stores.raw.raw(&record.ses_message_id).await? else {
            let back = MessageRecord {
                outcome: Outcome::DeadLetter,
                error: Some("the raw message is no longer kept".into()),
                ..record
            };
            self.stores.messages.settle(&back).await?;
            return Err(ReplayError::RawMissing(back.id));
        };
        let verdicts = Verdicts::from_summary(&record.verdicts);
        // No SNS delivery will come back for a replayed message, so one that cannot finish
        // is put back as a dead letter (best effort: the store just failed) rather than left
        // in `processing`.
        let back = MessageRecord {
            outcome: Outcome::DeadLetter,
            ..record.clone()
        };
        let finished = match self.policy().await {
            Ok(policy) => self
                .finish(vec![record], &raw, &verdicts, &policy, Origin::ByHand)
                .await
                .pop()
                .unwrap_or_else(|| Err(StoreError::Unavailable("nothing was settled".into()))),
            Err(e) => Err(e),
        };
        let report = match finished {
            Ok(report) => report,
            Err(e) => {
                let _ = self.stores.messages.settle(&back).await;
                return Err(e.into());
            }
        };
        self.metrics.delivery(report.outcome.as_str());
        tracing::info!(id = %report.message_id, outcome = ?report.outcome, "replayed");
        Ok(report)
    }

    /// Decides and acts on claimed records of one message, then settles each: one result per
    /// record, in order. Forwards to one destination with the same tags are one send, with
    /// every vended address in `X-Original-To`.
    async fn finish(
        &self,
        records: Vec<MessageRecord>,
        raw: &[u8],
        verdicts: &Verdicts,
        policy: &Policy,
        origin: Origin,
    ) -> Vec<Result<Report, StoreError>> {
        let trail = records
            .first()
            .map(|r| Trail::read(raw, &r.sender))
            .unwrap_or_default();
        let mut results: Vec<Option<Result<Report, StoreError>>> =
            records.iter().map(|_| None).collect();
        let mut sends: Vec<Batch> = Vec::new();
        for (i, record) in records.into_iter().enumerate() {
            let mapping = match self.stores.mappings.get(&record.recipient).await {
                Ok(m) => Some(m),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => {
                    results[i] = Some(Err(e));
                    continue;
                }
            };
            let decision = match decide(
                &record.recipient,
                mapping.as_ref(),
                verdicts,
                &trail,
                policy,
            ) {
                Decision::Hold { .. } if origin == Origin::ByHand => {
                    let unheld = Policy {
                        hold_unscanned: false,
                        ..policy.clone()
                    };
                    decide(
                        &record.recipient,
                        mapping.as_ref(),
                        verdicts,
                        &trail,
                        &unheld,
                    )
                }
                d => d,
            };
            let (outcome, reason) = match decision {
                Decision::Forward { to, reason, tags } => {
                    match sends.iter_mut().find(|b| b.to == to && b.tags == tags) {
                        Some(batch) => batch.records.push((i, record, reason)),
                        None => sends.push(Batch {
                            to,
                            tags,
                            records: vec![(i, record, reason)],
                        }),
                    }
                    continue;
                }
                Decision::Rejected { reason } => (Outcome::Rejected, reason),
                Decision::Undeliverable { reason } => (Outcome::Undeliverable, reason),
                Decision::Hold { reason } => (Outcome::DeadLetter, reason),
            };
            // Kept mail keeps its raw message, for replay; rejected mail does not.
            if outcome != Outcome::Rejected {
                if let Err(e) = self.keep_raw(&record, raw).await {
                    results[i] = Some(Err(e));
                    continue;
                }
            }
            let settled = MessageRecord {
                outcome,
                detail: reason.describe().into(),
                ..record
            };
            results[i] = Some(self.settled(settled).await);
        }
        for Batch {
            to,
            tags,
            records: group,
        } in sends
        {
            let first = &group[0].1;
            let vended: Vec<&str> = group.iter().map(|(_, r, _)| r.recipient.as_str()).collect();
            let vended = vended.join(", ");
            let mark = self.loop_key.mark(&to);
            let authentication = verdicts.authentication_results();
            let out = Outgoing {
                from: self.config.from_address.clone(),
                to: vec![to.clone()],
                raw: rewrite(
                    raw,
                    &vended,
                    &first.sender,
                    tags.subject_tag(),
                    &RewriteConfig {
                        from_address: &self.config.from_address,
                        processed_by: &self.config.header_value,
                        loop_mark: &mark,
                        authserv_id: &self.config.domain,
                        authentication: Some(&authentication),
                    },
                ),
                source_message_id: first.ses_message_id.clone(),
                recipient: vended,
            };
            let sent = self.send(&out).await;
            if sent.is_err() {
                if let Err(e) = self.keep_raw(first, raw).await {
                    for (i, _, _) in group {
                        results[i] = Some(Err(StoreError::Unavailable(e.to_string())));
                    }
                    continue;
                }
            }
            for (i, record, reason) in group {
                let settled = match &sent {
                    Ok(mailer_id) => MessageRecord {
                        outcome: Outcome::Forwarded,
                        delivered_to: Some(to.clone()),
                        detail: reason.describe().into(),
                        mailer_message_id: Some(mailer_id.clone()),
                        error: None,
                        ..record
                    },
                    Err(e) => MessageRecord {
                        outcome: Outcome::DeadLetter,
                        delivered_to: None,
                        detail: format!("sending to {to} failed; kept for replay"),
                        error: Some(e.to_string()),
                        ..record
                    },
                };
                results[i] = Some(self.settled(settled).await);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::Unavailable("not decided".into()))))
            .collect()
    }

    /// Settles a decided record, logs it, and reports it.
    async fn settled(&self, settled: MessageRecord) -> Result<Report, StoreError> {
        let settled = MessageRecord {
            updated_at: rfc3339(SystemTime::now()),
            ..settled
        };
        self.settle(&settled).await?;
        tracing::info!(
            id = %settled.id,
            outcome = settled.outcome.as_str(),
            delivered_to = settled.delivered_to.as_deref().unwrap_or(""),
            size = settled.size,
            "message settled"
        );
        Ok(report_of(&settled))
    }

    async fn keep_raw(&self, record: &MessageRecord, raw: &[u8]) -> Result<(), StoreError> {
        self.stores
            .raw
            .put_raw(&record.ses_message_id, raw, &rfc3339(SystemTime::now()))
            .await
    }

    /// A settle that fails after a send would let a later delivery send again, so it gets
    /// `SETTLE_TRIES` tries of its own.
    async fn settle(&self, record: &MessageRecord) -> Result<(), StoreError> {
        let mut delay = Duration::from_millis(100);
        for attempt in 1.. {
            match self.stores.messages.settle(record).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt >= SETTLE_TRIES => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, id = %record.id, "settling failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        unreachable!("the loop returns")
    }

    async fn send(&self, out: &Outgoing) -> Result<String, SendError> {
        let mut delay = self.retry.first_delay;
        let mut attempt = 1;
        loop {
            let sent = tokio::time::timeout(SEND_TIMEOUT, self.mailer.send(out))
                .await
                .unwrap_or_else(|_| {
                    Err(SendError::Transient(format!(
                        "no answer from the mailer within {} s",
                        SEND_TIMEOUT.as_secs()
                    )))
                });
            match sent {
                Ok(id) => return Ok(id),
                Err(SendError::Transient(m)) if attempt < self.retry.attempts => {
                    tracing::warn!(error = %m, attempt, recipient = %out.recipient, "send failed; retrying");
                    self.metrics.send_retries.inc();
                    let jitter = delay.mul_f64(rand::random::<f64>() * 0.5);
                    tokio::time::sleep(delay + jitter).await;
                    delay = (delay * 2).min(self.retry.max_delay);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The report of a settled record: its error if it has one, else its detail.
fn report_of(settled: &MessageRecord) -> Report {
    Report {
        recipient: settled.recipient.clone(),
        outcome: Delivery::of(settled.outcome),
        message_id: settled.id.clone(),
        detail: Some(settled.error.clone().unwrap_or(settled.detail.clone())),
    }
}

fn store_failed(msg: &Inbound, recipient: &str, e: &StoreError) -> Report {
    tracing::error!(error = %e, ses_message_id = %msg.ses_message_id, %recipient, "store failed; SNS will deliver again");
    Report {
        message_id: MessageRecord::id_for(&msg.ses_message_id, recipient),
        recipient: recipient.to_string(),
        outcome: Delivery::Retry,
        detail: Some("the store is unavailable".into()),
    }
}

#[cfg(test)]
mod tests;
