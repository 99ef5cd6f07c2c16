//! What happens to a received message (docs/product.md §2.5–2.9): for each envelope recipient,
//! claim it in the message log (exactly once, however often SNS delivers), decide, rewrite,
//! send with retries, and settle it as forwarded, undeliverable, rejected or dead letter.
//! The same path serves `POST /sns`, `mailvend deliver` and replays.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use app::model::{
    ClassPolicy, DeliveryState, DeliveryStatus, MailClass, MessageRecord, Outcome, Unreachable,
};

use crate::clock::rfc3339;
use crate::config::Config;
use crate::inbound::budget::Budget;
use crate::inbound::classify::{ClassRule, Classifier, Senders};
use crate::inbound::decide::{decide_for, with_class_policy, Decision, Policy, Reason, Tags};
use crate::inbound::feedback::Feedback;
use crate::inbound::rewrite::{rewrite, RewriteConfig};
use crate::inbound::root_email::RootEmails;
use crate::inbound::rules::{with_rule, Rules};
use crate::inbound::s3::{FetchError, S3Mail, MAX_MESSAGE_BYTES};
use crate::inbound::trail::{LoopKey, Trail};
use crate::inbound::{Delivery, Inbound, Report, Verdicts};
use crate::mailer::{Mailer, Outgoing, SendError};
use crate::metrics::Metrics;
use crate::notify::queue::Notifier;
use crate::notify::Event;
use crate::store::{Claim, DeliveryUpdate, Kept, S3Object, StoreError, Stores};

/// `local@domain` for a subaddress `local+label@domain`; `None` for any other address (or
/// one whose local part starts with `+`).
pub fn base_address(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let (base, _) = local.split_once('+')?;
    (!base.is_empty()).then(|| format!("{base}@{domain}"))
}

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

/// After this many deliveries of an S3-action message whose content could not be read, its
/// recipients are kept as dead letters (with the object's location, for a replay) instead of
/// waiting for a next delivery that SNS may never make.
pub const FETCH_ATTEMPTS: u32 = 10;

/// A send that has not answered by then counts as a transient failure (at most: a short
/// claim lease shortens it, `Pipeline::send_timeout`).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What happens to every recipient of one message.
enum Plan {
    Decide(Box<Policy>),
    /// Logged as rejected for this reason, unread (the message is over the size limit, or
    /// stored where it may not be read).
    Refuse(String),
    /// Kept as a dead letter, unread, for this reason: its content could not be read however
    /// often SNS delivered it, and an admin must look (and may replay it).
    Shelve(String),
}

/// The recipients of one message as this delivery claimed them: the reports of those it
/// need not work on, and the records it now holds.
struct Claimed {
    plan: Result<Plan, StoreError>,
    reports: Vec<Option<Report>>,
    mine: Vec<(usize, MessageRecord)>,
    /// The mappings of the message's recipients as read while claiming (`None`: no such
    /// address), so that deciding does not read them again.
    mappings: Mappings,
    /// When the claims were made: their lease runs from then.
    at: std::time::Instant,
}

/// Recipients' mappings already read, by address.
type Mappings = std::collections::HashMap<String, Option<app::model::Mapping>>;

/// A message's content as deciding and sending need it: the bytes, SES's verdicts, where S3
/// holds it (kept as a reference instead of a copy), and the mappings already read.
#[derive(Clone, Copy)]
struct Body<'a> {
    raw: &'a [u8],
    verdicts: &'a Verdicts,
    stored: Option<&'a S3Object>,
    mappings: &'a Mappings,
}

/// The records of one message forwarded to one destination with the same tags: one send.
struct Batch {
    to: String,
    tags: Tags,
    /// A routing rule's subject tag, after `tags`' own.
    tag: Option<String>,
    /// (slot in the results, the claimed record, why it goes to `to`).
    records: Vec<(usize, MessageRecord, Why)>,
}

/// Why a record went where it went, for the message log: the decision's reason, and the
/// routing rule that acted on it, if one did.
#[derive(Debug, Clone)]
struct Why {
    reason: Reason,
    rule: Option<String>,
}

impl Why {
    fn describe(&self) -> String {
        match &self.rule {
            Some(rule) => format!("{}; {rule}", self.reason.describe()),
            None => self.reason.describe().to_string(),
        }
    }
}

/// Where one batch goes once the health of its destination is known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    /// Where the records' copy goes: the decided destination, or the fallback address.
    to: String,
    /// A second, best-effort copy to the decided destination while it is marked unreachable,
    /// so that its next delivery (reported by the mailer) shows the mailbox works again.
    also: Option<String>,
    /// Why the mail did not simply go to the decided destination.
    why: Option<String>,
}

/// Where mail decided for `to` goes, given its mark, what the mailer says of it
/// (`suppressed`), and the fallback address: a mailbox that is known not to take mail has
/// the fallback take it instead, so nothing is handed to a black hole (issue 16).
fn route(
    to: &str,
    mark: Option<&Unreachable>,
    suppressed: Option<&str>,
    fallback: Option<&str>,
) -> Route {
    let plain = Route {
        to: to.to_string(),
        also: None,
        why: None,
    };
    let Some(fallback) = fallback.filter(|f| !f.eq_ignore_ascii_case(to)) else {
        return plain;
    };
    match (suppressed, mark) {
        // The mailer would drop it: nothing is sent there.
        (Some(why), _) => Route {
            to: fallback.to_string(),
            also: None,
            why: Some(format!("{to} is {why}: sent to the fallback {fallback} instead")),
        },
        (None, Some(mark)) => Route {
            to: fallback.to_string(),
            also: Some(to.to_string()),
            why: Some(format!(
                "{to} is unreachable ({} since {}): sent to the fallback {fallback}, and to {to} too",
                mark.reason.as_str(),
                mark.since
            )),
        },
        (None, None) => plain,
    }
}

/// Who asked for a message to be processed: SES through SNS, or an admin (`mailvend deliver`,
/// a replay), whose asking releases mail held for want of a virus verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Received,
    ByHand,
    /// An admin replaying a dead letter: as `ByHand`, without routing rules.
    Replay,
    /// An admin releasing held mail (`Outcome::Held`): its class's policy is not applied again.
    Release(ReleaseTo),
}

/// Where an admin sends mail held by its class's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseTo {
    /// Where it would go today without the policy: the mapping's owner (or the recipient
    /// whose copy it is).
    Owner,
    /// The releasing admin's own mailbox.
    Admin(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the raw message of {0} is no longer kept (retention?)")]
    RawMissing(String),
    #[error("the raw message of {id} could not be read from S3: {error}")]
    Fetch { id: String, error: FetchError },
}

pub struct Pipeline {
    config: Arc<Config>,
    stores: Stores,
    mailer: Arc<dyn Mailer>,
    metrics: Arc<Metrics>,
    retry: Retry,
    loop_key: LoopKey,
    s3: S3Mail,
    lease: Duration,
    /// How long one send (or suppression lookup) may take: `send_timeout_within` the lease.
    send_timeout: Duration,
    /// Root email change jobs, when the organization is read: AWS's verification mail for
    /// an open job is used, never forwarded or kept.
    root_emails: std::sync::OnceLock<Arc<RootEmails>>,
    /// What kind of mail each message is (`inbound::classify`).
    classifier: Classifier,
    /// The routing rules last read, and what they compiled to.
    rules: std::sync::Mutex<Option<(app::model::RoutingRules, Arc<Rules>)>>,
    /// Tells subscribed channels of dead letters, held mail and unreachable owners.
    notifier: Notifier,
}

impl Pipeline {
    /// The mailer forwarded mail leaves by; notification digests leave by it too.
    pub fn mailer(&self) -> Arc<dyn Mailer> {
        self.mailer.clone()
    }

    pub fn new(
        config: Arc<Config>,
        stores: Stores,
        mailer: Arc<dyn Mailer>,
        metrics: Arc<Metrics>,
        retry: Retry,
    ) -> Self {
        Pipeline {
            notifier: Notifier::new(stores.notifications.clone()),
            stores,
            mailer,
            metrics,
            retry,
            loop_key: LoopKey::new(config.loop_key.expose().as_bytes()),
            s3: S3Mail::from_environment(),
            // How long a claim holds before another delivery may take it over
            // (`MAILVEND_CLAIM_LEASE`): longer than the slowest send with all its retries
            // (`send_timeout`), short enough for SNS's retries to find it free after a crash.
            // A fan-out to several destinations renews it between batches.
            lease: config.claim_lease,
            send_timeout: send_timeout_within(config.claim_lease, &retry),
            rules: std::sync::Mutex::new(None),
            classifier: Classifier::with_rules(
                config
                    .mail_class_rules
                    .iter()
                    .map(|r| ClassRule {
                        class: r.class,
                        domains: r.domains.clone(),
                        subject: r.subject.clone(),
                    })
                    .collect(),
            ),
            config,
            root_emails: std::sync::OnceLock::new(),
        }
    }

    /// Hands AWS's verification mail to root email change jobs (once, at wiring).
    pub fn set_root_emails(&self, jobs: Arc<RootEmails>) {
        let _ = self.root_emails.set(jobs);
    }

    /// Claims held for `lease` instead of a minute (tests of what happens when one runs out).
    #[cfg(test)]
    pub(crate) fn with_lease(self, lease: Duration) -> Self {
        Pipeline { lease, ..self }
    }

    /// Where mail SES stored in S3 is read from, for `/sns`, replays and the message view.
    pub fn s3(&self) -> &S3Mail {
        &self.s3
    }

    /// Why a kept reference may not be read now: `MAILVEND_S3_BUCKET`/`_PREFIX` (set since it
    /// was kept) exclude it. Checked on every read, not only when mail arrives.
    pub fn out_of_scope(&self, object: &S3Object) -> Option<FetchError> {
        let scope = self.config.s3_scope.as_ref()?;
        (!scope.allows(&object.bucket, &object.key)).then(|| FetchError::Unavailable {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            reason: format!(
                "outside MAILVEND_S3_BUCKET and MAILVEND_S3_PREFIX (s3://{}/{}); not read",
                scope.bucket, scope.prefix
            ),
        })
    }

    /// Every recipient of `msg`, one report each, in order.
    pub async fn process(&self, msg: &Inbound) -> Vec<Report> {
        let claimed = self.claim_all(msg, None).await;
        self.complete(claimed, &msg.raw, &msg.verdicts, None, Origin::Received)
            .await
    }

    /// As `process`, for a message an admin hands in (`mailvend deliver`): nothing scanned it,
    /// and the admin's asking is what releases it.
    pub async fn process_by_hand(&self, msg: &Inbound) -> Vec<Report> {
        let claimed = self.claim_all(msg, None).await;
        self.complete(claimed, &msg.raw, &msg.verdicts, None, Origin::ByHand)
            .await
    }

    /// As `process`, for content SES stored in `object` (`msg.raw` is empty). Every recipient
    /// is claimed before the object is read, and it is read only when some recipient is this
    /// delivery's to work on: SNS redelivering a 40 MB message that is settled, or being
    /// worked on elsewhere, costs a few store reads, not another fetch (issue 22 item 2).
    /// The content is reserved in `budget` before it is read and held until every recipient
    /// is settled. `Err` when it could not be read now (the budget is spent, S3 failed): the
    /// claims are released and SNS should deliver again.
    pub async fn process_stored(
        &self,
        msg: &Inbound,
        object: &S3Object,
        budget: &Budget,
    ) -> Result<Vec<Report>, FetchError> {
        let mut claimed = self.claim_all(msg, None).await;
        if claimed.mine.is_empty() {
            return Ok(self
                .complete(claimed, &[], &msg.verdicts, None, Origin::Received)
                .await);
        }
        // A read that hangs must not outlive the claims it holds.
        let read = tokio::time::timeout(
            self.lease / 2,
            self.s3.fetch(&object.bucket, &object.key, budget),
        )
        .await
        .unwrap_or_else(|_| {
            Err(FetchError::Unavailable {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                reason: format!("no answer within {} s", (self.lease / 2).as_secs()),
            })
        });
        match read {
            Ok((raw, _held)) => {
                for (_, record) in &mut claimed.mine {
                    record.size = raw.len() as u64;
                }
                Ok(self
                    .complete(claimed, &raw, &msg.verdicts, Some(object), Origin::Received)
                    .await)
            }
            Err(e @ FetchError::TooLarge { size, .. }) => {
                for (_, record) in &mut claimed.mine {
                    record.size = size;
                }
                claimed.plan = Ok(Plan::Refuse(e.to_string()));
                Ok(self
                    .complete(claimed, &[], &msg.verdicts, None, Origin::Received)
                    .await)
            }
            Err(e @ FetchError::Unavailable { .. })
                if claimed
                    .mine
                    .iter()
                    .all(|(_, r)| r.attempts >= FETCH_ATTEMPTS) =>
            {
                // Missing, forbidden, or never answering: after this many deliveries it is
                // not going to pass on its own. Left in `processing`, nobody would see it.
                claimed.plan = Ok(Plan::Shelve(format!(
                    "the content could not be read in {FETCH_ATTEMPTS} deliveries ({e}); kept for replay"
                )));
                Ok(self
                    .complete(claimed, &[], &msg.verdicts, Some(object), Origin::Received)
                    .await)
            }
            Err(e) => {
                let now = rfc3339(SystemTime::now());
                for (_, record) in &claimed.mine {
                    // Best effort: otherwise the lease runs out instead.
                    let _ = self.stores.messages.release(&record.id, &now).await;
                }
                Err(e)
            }
        }
    }

    /// Logs every recipient of a message whose content is not read at all (over the size
    /// limit, stored outside the allowed bucket) as rejected for `reason`, so that it is not
    /// silently lost either.
    pub async fn refuse(&self, msg: &Inbound, reason: &str) -> Vec<Report> {
        let claimed = self.claim_all(msg, Some(reason)).await;
        self.complete(claimed, &msg.raw, &msg.verdicts, None, Origin::Received)
            .await
    }

    /// Claims every recipient first, so that they are decided together: one message to
    /// several addresses of one owner is sent to that owner once (issue 22 item 8).
    async fn claim_all(&self, msg: &Inbound, refusal: Option<&str>) -> Claimed {
        let mut recipients: Vec<String> = Vec::with_capacity(msg.recipients.len());
        for r in &msg.recipients {
            let r = app::address::EmailAddress::key(r);
            if !recipients.contains(&r) {
                recipients.push(r);
            }
        }
        // The settings are read once per message, so all its recipients are decided alike.
        let plan = match refusal {
            Some(reason) => Ok(Plan::Refuse(reason.to_string())),
            None => self.policy().await.map(|p| Plan::Decide(Box::new(p))),
        };
        let mut reports: Vec<Option<Report>> = vec![None; recipients.len()];
        let mut mine: Vec<(usize, MessageRecord)> = Vec::new();
        let at = std::time::Instant::now();
        for (i, recipient) in recipients.iter().enumerate() {
            if let Err(e) = &plan {
                reports[i] = Some(store_failed(&msg.ses_message_id, recipient, e));
                continue;
            }
            self.take(msg, recipient, None, i, &mut reports, &mut mine)
                .await;
        }
        // Each of an active mapping's other recipients has a record of its own, claimed
        // whatever became of the address's own (a delivery cut short after settling that one
        // finds its copies still to send).
        let mut mappings = Mappings::new();
        if plan.is_ok() {
            for recipient in &recipients {
                let mapping = match self.mapping_of(recipient).await {
                    Ok(m) => m,
                    Err(e) => {
                        reports.push(Some(store_failed(&msg.ses_message_id, recipient, &e)));
                        continue;
                    }
                };
                let extra = match &mapping {
                    Some(m) if m.status == app::model::MappingStatus::Active => m
                        .recipients
                        .iter()
                        .filter(|d| **d != m.owner)
                        .cloned()
                        .collect::<Vec<_>>(),
                    _ => Vec::new(),
                };
                mappings.insert(recipient.clone(), mapping);
                for d in extra {
                    let slot = reports.len();
                    reports.push(None);
                    self.take(msg, recipient, Some(&d), slot, &mut reports, &mut mine)
                        .await;
                }
            }
        }
        Claimed {
            plan,
            reports,
            mine,
            mappings,
            at,
        }
    }

    /// Decides, acts on and settles the claimed records with the content in hand (`stored`:
    /// where S3 holds it, kept as a reference instead of a copy), and reports every recipient.
    async fn complete(
        &self,
        claimed: Claimed,
        raw: &[u8],
        verdicts: &Verdicts,
        stored: Option<&S3Object>,
        origin: Origin,
    ) -> Vec<Report> {
        let Claimed {
            plan,
            mut reports,
            mine,
            mappings,
            at: claimed_at,
        } = claimed;
        let (slots, records): (Vec<usize>, Vec<MessageRecord>) = mine.into_iter().unzip();
        let done = match &plan {
            Ok(Plan::Decide(policy)) => {
                let body = Body {
                    raw,
                    verdicts,
                    stored,
                    mappings: &mappings,
                };
                self.finish(records.clone(), body, policy, origin, claimed_at)
                    .await
            }
            Ok(Plan::Refuse(reason)) => {
                let mut done = Vec::with_capacity(records.len());
                for record in records.iter().cloned() {
                    done.push(self.refused(record, reason).await);
                }
                done
            }
            Ok(Plan::Shelve(reason)) => {
                let mut done = Vec::with_capacity(records.len());
                for record in records.iter().cloned() {
                    done.push(self.shelved(record, reason, stored).await);
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
                    store_failed(&record.ses_message_id, &record.recipient, &e)
                }
            });
        }
        reports
            .into_iter()
            .flatten()
            .inspect(|r| self.metrics.delivery(r.outcome.as_str()))
            .collect()
    }

    /// The mapping that serves `recipient`: its own, or when it has none and is a subaddress
    /// (`local+label@`, which SES receipt rules match too), the one of `local@` (#18). The
    /// record keeps the address the mail was sent to.
    async fn mapping_of(&self, recipient: &str) -> Result<Option<app::model::Mapping>, StoreError> {
        match self.stores.mappings.get(recipient).await {
            Ok(m) => return Ok(Some(m)),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let Some(base) = base_address(recipient) else {
            return Ok(None);
        };
        match self.stores.mappings.get(&base).await {
            Ok(m) => Ok(Some(m)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What decisions depend on: the configuration and the stored settings.
    async fn policy(&self) -> Result<Policy, StoreError> {
        let (settings, rules) =
            crate::settings::with_rules(&*self.stores.mail_settings, &self.config).await?;
        let rules = self.compiled(rules);
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
            classes: settings.class_policies,
            restricted_to: settings.restricted_to,
            rules,
        })
    }

    /// `rules` compiled, once per change: the last list compiled is kept with its result.
    fn compiled(&self, rules: app::model::RoutingRules) -> Arc<Rules> {
        let mut last = self.rules.lock().expect("rules lock");
        if let Some((seen, compiled)) = last.as_ref() {
            if *seen == rules {
                return compiled.clone();
            }
        }
        let compiled = Arc::new(Rules::compile_stored(&rules.rules, &self.config.domain));
        *last = Some((rules, compiled.clone()));
        compiled
    }

    /// Claims one record of `msg` (the address's own, or its copy for `destination`) for
    /// `slot`: the record this delivery works on, or the report of why it need not.
    async fn take(
        &self,
        msg: &Inbound,
        recipient: &str,
        destination: Option<&str>,
        slot: usize,
        reports: &mut [Option<Report>],
        mine: &mut Vec<(usize, MessageRecord)>,
    ) {
        reports[slot] = match self.claim(msg, recipient, destination).await {
            Ok(Claim::Mine(record)) => {
                mine.push((slot, record));
                return;
            }
            Ok(Claim::Done(record)) => Some(Report {
                recipient: record.recipient.clone(),
                outcome: Delivery::Duplicate,
                detail: Some(format!("already {}", record.outcome.as_str())),
                message_id: record.id,
            }),
            Ok(Claim::Busy) => Some(Report {
                recipient: recipient.to_string(),
                outcome: Delivery::Retry,
                detail: Some("another delivery of this message is being processed".into()),
                message_id: record_id(&msg.ses_message_id, recipient, destination),
            }),
            Err(e) => Some(store_failed(&msg.ses_message_id, recipient, &e)),
        };
    }

    /// Takes `recipient` of `msg` (its copy for `destination`, one of the mapping's other
    /// recipients, when given) for this delivery, exactly once however often SNS delivers.
    async fn claim(
        &self,
        msg: &Inbound,
        recipient: &str,
        destination: Option<&str>,
    ) -> Result<Claim, StoreError> {
        let now = SystemTime::now();
        let record = MessageRecord {
            id: record_id(&msg.ses_message_id, recipient, destination),
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
            delivery: None,
            class: None,
            policy: None,
        };
        self.stores
            .messages
            .claim(&record, &rfc3339(now + self.lease), &rfc3339(now))
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

    async fn shelved(
        &self,
        record: MessageRecord,
        reason: &str,
        stored: Option<&S3Object>,
    ) -> Result<Report, StoreError> {
        self.keep_raw(&record, &[], stored).await?;
        self.settled(MessageRecord {
            outcome: Outcome::DeadLetter,
            detail: reason.to_string(),
            ..record
        })
        .await
    }

    /// Sends a dead letter again, deciding afresh with today's mapping and settings.
    pub async fn replay(&self, id: &str) -> Result<Report, ReplayError> {
        self.reprocess(id, Origin::Replay).await
    }

    /// Sends held mail on to `to`, deciding afresh with today's mapping and settings except
    /// its class's policy. Mail that cannot be sent now goes back to `held`.
    pub async fn release(&self, id: &str, to: ReleaseTo) -> Result<Report, ReplayError> {
        self.reprocess(id, Origin::Release(to)).await
    }

    async fn reprocess(&self, id: &str, origin: Origin) -> Result<Report, ReplayError> {
        let from = match origin {
            Origin::Release(_) => Outcome::Held,
            _ => Outcome::DeadLetter,
        };
        let now = SystemTime::now();
        let claimed_at = std::time::Instant::now();
        let record = self
            .stores
            .messages
            .reopen(id, from, &rfc3339(now + self.lease), &rfc3339(now))
            .await?;
        // No SNS delivery comes back for a replay or a release, so one that cannot finish is
        // put back as it was (a dead letter, or held) rather than left in `processing`, where
        // nothing would take it again.
        let back = MessageRecord {
            outcome: from,
            ..record.clone()
        };
        let kept = match self.stores.raw.raw(&record.ses_message_id).await {
            Ok(kept) => kept,
            Err(e) => {
                // Best effort: the store just failed.
                let _ = self.stores.messages.settle(&back).await;
                return Err(e.into());
            }
        };
        // Kept as a reference: read from S3 again. A replay is an admin's single act, so it
        // reserves its own room rather than competing with `/sns` for the inbound budget.
        let (raw, stored) = match kept {
            Some(Kept::Bytes(raw)) => (Ok(raw), None),
            Some(Kept::S3(object)) => {
                let budget = Budget::new(MAX_MESSAGE_BYTES);
                let read = match self.out_of_scope(&object) {
                    Some(refused) => Err(refused),
                    None => self.s3.fetch(&object.bucket, &object.key, &budget).await,
                };
                (read.map(|(raw, _)| raw), Some(object))
            }
            None => {
                let back = MessageRecord {
                    error: Some("the raw message is no longer kept".into()),
                    ..back
                };
                self.stores.messages.settle(&back).await?;
                return Err(ReplayError::RawMissing(back.id));
            }
        };
        let raw = match raw {
            Ok(raw) => raw,
            Err(error) => {
                let back = MessageRecord {
                    error: Some(format!("reading the raw message failed: {error}")),
                    ..back
                };
                self.stores.messages.settle(&back).await?;
                return Err(ReplayError::Fetch { id: back.id, error });
            }
        };
        let verdicts = Verdicts::from_summary(&record.verdicts);
        let finished = match self.policy().await {
            Ok(policy) => self
                .finish(
                    vec![record],
                    Body {
                        raw: &raw,
                        verdicts: &verdicts,
                        stored: stored.as_ref(),
                        mappings: &Mappings::new(),
                    },
                    &policy,
                    origin,
                    claimed_at,
                )
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
        body: Body<'_>,
        policy: &Policy,
        origin: Origin,
        claimed_at: std::time::Instant,
    ) -> Vec<Result<Report, StoreError>> {
        let Body {
            raw,
            verdicts,
            stored,
            mappings,
        } = body;
        let trail = records
            .first()
            .map(|r| Trail::read(raw, &r.sender))
            .unwrap_or_default();
        // What SES authenticated of the sender, read once: the class and the root email
        // jobs judge from it.
        let senders = records
            .first()
            .map(|r| Senders::read(&r.sender, raw, verdicts))
            .unwrap_or_default();
        // One class for the message, kept on each of its records whatever becomes of them.
        let class = records.first().map(|r| {
            self.classifier
                .classify(&senders.domains(), r.subject.as_deref().unwrap_or(""))
        });
        let records: Vec<MessageRecord> = records
            .into_iter()
            .map(|r| MessageRecord { class, ..r })
            .collect();
        let mut results: Vec<Option<Result<Report, StoreError>>> =
            records.iter().map(|_| None).collect();
        let mut sends: Vec<Batch> = Vec::new();
        // Per recipient: whether a root email job used this message (all its copies follow).
        let mut used: std::collections::HashMap<String, Result<Option<String>, String>> =
            std::collections::HashMap::new();
        for (i, record) in records.into_iter().enumerate() {
            let read = match mappings.get(&record.recipient) {
                Some(known) => Ok(known.clone()),
                None => self.mapping_of(&record.recipient).await,
            };
            let mapping = match read {
                Ok(mapping) => mapping,
                Err(e) => {
                    results[i] = Some(Err(e));
                    continue;
                }
            };
            if let Some(jobs) = self.root_emails.get() {
                if !used.contains_key(&record.recipient) {
                    let took = jobs
                        .take(
                            &record.recipient,
                            mapping.as_ref(),
                            &senders,
                            record.subject.as_deref(),
                            verdicts,
                            raw,
                        )
                        .await
                        .map_err(|e| e.to_string());
                    used.insert(record.recipient.clone(), took);
                }
                match &used[&record.recipient] {
                    Err(e) => {
                        results[i] = Some(Err(StoreError::Unavailable(e.clone())));
                        continue;
                    }
                    // A credential: settled without its raw copy, and sent nowhere.
                    Ok(Some(detail)) => {
                        let detail = detail.clone();
                        results[i] = Some(
                            self.settled(MessageRecord {
                                outcome: Outcome::Rejected,
                                detail,
                                ..record
                            })
                            .await,
                        );
                        continue;
                    }
                    Ok(None) => {}
                }
            }
            let destination = MessageRecord::destination_of(&record.id);
            let decision = match decide_for(
                &record.recipient,
                destination,
                mapping.as_ref(),
                verdicts,
                &trail,
                policy,
            ) {
                Decision::Hold { .. } if origin != Origin::Received => {
                    let unheld = Policy {
                        hold_unscanned: false,
                        ..policy.clone()
                    };
                    decide_for(
                        &record.recipient,
                        destination,
                        mapping.as_ref(),
                        verdicts,
                        &trail,
                        &unheld,
                    )
                }
                d => d,
            };
            let (decision, applied) = match &origin {
                Origin::Release(to) => (released(decision, to, &trail, policy), None),
                _ => with_class_policy(
                    decision,
                    class.unwrap_or(MailClass::Other),
                    destination,
                    &trail,
                    policy,
                ),
            };
            // Routing rules come after the class policy, on what it forwards as any mail
            // (never on restricted, held or dropped mail), and on new mail only: a replay or a
            // release sends what an admin chose to send (a redirect added since would reject
            // a replayed copy, and nobody would get it).
            let rule = match (&decision, applied, &origin) {
                (Decision::Forward { .. }, Some(ClassPolicy::Forward), o)
                    if !matches!(o, Origin::Release(_) | Origin::Replay) =>
                {
                    policy.rules.first(
                        &record.sender,
                        record.subject.as_deref().unwrap_or(""),
                        &record.recipient,
                    )
                }
                _ => None,
            };
            let (decision, tag) = match rule {
                Some(rule) => with_rule(
                    decision,
                    rule,
                    class.unwrap_or(MailClass::Other),
                    destination,
                    &trail,
                    policy,
                ),
                None => (decision, None),
            };
            let note = rule.map(|r| r.note());
            // A release keeps the policy that held it; anything else says what applied now.
            let record = MessageRecord {
                policy: match origin {
                    Origin::Release(_) => record.policy,
                    _ => applied,
                },
                ..record
            };
            let (outcome, reason) = match decision {
                Decision::Forward { to, reason, tags } => {
                    let why = Why { reason, rule: note };
                    match sends
                        .iter_mut()
                        .find(|b| b.to == to && b.tags == tags && b.tag == tag)
                    {
                        Some(batch) => batch.records.push((i, record, why)),
                        None => sends.push(Batch {
                            to,
                            tags,
                            tag,
                            records: vec![(i, record, why)],
                        }),
                    }
                    continue;
                }
                Decision::Rejected { reason } => (Outcome::Rejected, reason),
                Decision::Undeliverable { reason } => (Outcome::Undeliverable, reason),
                Decision::Hold { reason } => (Outcome::DeadLetter, reason),
                Decision::Held { reason } => (Outcome::Held, reason),
            };
            // Kept mail keeps its raw message, for replay; rejected mail does not.
            if outcome != Outcome::Rejected {
                if let Err(e) = self.keep_raw(&record, raw, stored).await {
                    results[i] = Some(Err(e));
                    continue;
                }
            }
            let settled = MessageRecord {
                outcome,
                detail: Why { reason, rule: note }.describe(),
                ..record
            };
            results[i] = Some(self.settled(settled).await);
        }
        // Batches are sent one after another, and what came before (an S3 read, the other
        // recipients' settles) or a slow mailer could let the claims of the later ones run
        // out mid-way, so that another delivery takes them over and sends them a second time.
        // A batch starts only with most of a lease ahead of it: past a tenth of a lease since
        // the claims were made or last renewed, every claim still to be sent is renewed, and
        // one that is no longer ours is left to the delivery that took it over.
        let marks = if sends.is_empty() {
            Ok(Vec::new())
        } else {
            self.stores.mail_reachability.unreachable().await
        };
        let marks = match marks {
            Ok(marks) => marks,
            Err(e) => {
                for (i, _, _) in sends.iter().flat_map(|b| &b.records) {
                    results[*i] = Some(Err(StoreError::Unavailable(e.to_string())));
                }
                Vec::new()
            }
        };
        if results.iter().any(|r| matches!(r, Some(Err(_)))) {
            sends.retain(|b| b.records.iter().all(|(i, _, _)| results[*i].is_none()));
        }
        let mut renewed = claimed_at;
        let mut sends = std::collections::VecDeque::from(sends);
        while let Some(Batch {
            to,
            tags,
            tag,
            records: mut group,
        }) = sends.pop_front()
        {
            if renewed.elapsed() >= self.lease / 10 {
                let until = rfc3339(SystemTime::now() + self.lease);
                for batch in
                    std::iter::once(&mut group).chain(sends.iter_mut().map(|b| &mut b.records))
                {
                    let mut kept = Vec::with_capacity(batch.len());
                    for (i, record, reason) in batch.drain(..) {
                        match self
                            .stores
                            .messages
                            .renew(&record.id, record.attempts, &until)
                            .await
                        {
                            Ok(true) => kept.push((i, record, reason)),
                            Ok(false) => results[i] = Some(Ok(taken_over(&record))),
                            Err(e) => results[i] = Some(Err(e)),
                        }
                    }
                    *batch = kept;
                }
                renewed = std::time::Instant::now();
            }
            if group.is_empty() {
                continue;
            }
            let first = &group[0].1;
            let vended: Vec<&str> = group.iter().map(|(_, r, _)| r.recipient.as_str()).collect();
            let vended = vended.join(", ");
            // Several mailboxes at once (the restricted group, a rule's added recipient), the
            // group even of one, and an admin releasing held mail to themselves are choices
            // made for this mail, not one person who may have left: no fallback for them (a
            // credential must not go to the fallback address instead).
            let chosen = matches!(
                group[0].2.reason,
                Reason::Restricted | Reason::ReleasedToAdmin | Reason::Redirected
            );
            let route = if chosen || to.contains(", ") {
                Route {
                    to: to.clone(),
                    also: None,
                    why: None,
                }
            } else {
                self.route(&to, &marks).await
            };
            let subject_tag = match (tags.subject_tag(), &tag) {
                (Some(ours), Some(rule)) => Some(format!("{ours} {rule}")),
                (Some(ours), None) => Some(ours.to_string()),
                (None, rule) => rule.clone(),
            };
            let outgoing = |dest: &str| {
                let mark = self.loop_key.mark(dest);
                let authentication = verdicts.authentication_results();
                Outgoing {
                    from: self.config.from_address.clone(),
                    // One destination may be several mailboxes (a group, an added recipient).
                    to: dest.split(", ").map(str::to_string).collect(),
                    raw: rewrite(
                        raw,
                        &vended,
                        &first.sender,
                        subject_tag.as_deref(),
                        &RewriteConfig {
                            from_address: &self.config.from_address,
                            processed_by: &self.config.header_value,
                            loop_mark: &mark,
                            authserv_id: &self.config.domain,
                            authentication: Some(&authentication),
                        },
                    ),
                    source_message_id: first.ses_message_id.clone(),
                    recipient: vended.clone(),
                }
            };
            let sent = self.send(&outgoing(&route.to)).await;
            // Sent after the records are settled (below), once and without retries: it must
            // not keep the claims past their lease.
            let also = match (&sent, &route.also) {
                (Ok(_), Some(also)) => Some(outgoing(also)),
                _ => None,
            };
            let to = route.to;
            if sent.is_err() {
                if let Err(e) = self.keep_raw(first, raw, stored).await {
                    for (i, _, _) in group {
                        results[i] = Some(Err(StoreError::Unavailable(e.to_string())));
                    }
                    continue;
                }
            }
            for (i, record, why) in group {
                let settled = match &sent {
                    Ok(mailer_id) => MessageRecord {
                        outcome: Outcome::Forwarded,
                        delivered_to: Some(to.clone()),
                        detail: match &route.why {
                            Some(fallback) => format!("{}; {fallback}", why.describe()),
                            None => why.describe(),
                        },
                        mailer_message_id: Some(mailer_id.clone()),
                        error: None,
                        delivery: Some(DeliveryStatus {
                            state: DeliveryState::Sent,
                            detail: "accepted by the mailer".into(),
                            at: rfc3339(SystemTime::now()),
                        }),
                        ..record
                    },
                    // Held mail whose release failed stays held (its policy still applies, and
                    // a replay would apply it again); anything else is a dead letter.
                    Err(e) if matches!(origin, Origin::Release(_)) => MessageRecord {
                        outcome: Outcome::Held,
                        delivered_to: None,
                        detail: format!("releasing to {to} failed; still held"),
                        error: Some(e.to_string()),
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
            if let Some(copy) = also {
                // Best effort: the fallback has the mail; this only shows whether the
                // mailbox works again.
                let sent = tokio::time::timeout(self.send_timeout, self.mailer.send(&copy)).await;
                if !matches!(sent, Ok(Ok(_))) {
                    tracing::warn!(to = ?copy.to, "the copy to an unreachable recipient failed");
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::Unavailable("not decided".into()))))
            .collect()
    }

    /// Where a batch decided for `to` goes: `route` with `to`'s mark and what the mailer
    /// says of it. A mailer that cannot answer now is taken for "not suppressed".
    async fn route(&self, to: &str, marks: &[Unreachable]) -> Route {
        let mark = marks.iter().find(|m| m.recipient.eq_ignore_ascii_case(to));
        let fallback = self.config.fallback_address.as_deref();
        let suppressed = if fallback.is_some() {
            match tokio::time::timeout(self.send_timeout, self.mailer.suppressed(to)).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, %to, "the suppression list could not be read; sending");
                    None
                }
                Err(_) => {
                    tracing::warn!(%to, "the suppression list did not answer; sending");
                    None
                }
            }
        } else {
            None
        };
        route(to, mark, suppressed.as_deref(), fallback)
    }

    /// Marks the recipients of a permanent bounce or a complaint unreachable, and clears the
    /// marks a later delivery disproves. Done for every event, matched to a record or not: a
    /// copy sent to an unreachable recipient has no record, and its delivery is what shows the
    /// mailbox works again.
    async fn health(&self, f: &Feedback, status: &DeliveryStatus) -> Result<(), StoreError> {
        let now = rfc3339(SystemTime::now());
        let reachability = &self.stores.reachability;
        for recipient in &f.recipients {
            let recipient = app::address::EmailAddress::key(recipient);
            match status.state {
                DeliveryState::Bounced if !f.permanent => {}
                DeliveryState::Bounced | DeliveryState::Complained => {
                    let mark = Unreachable {
                        recipient: recipient.clone(),
                        reason: status.state,
                        detail: status.detail.clone(),
                        since: status.at.clone(),
                        mailer_message_id: f.mailer_message_id.clone(),
                    };
                    if reachability.mark_unreachable(&mark, "mailer", &now).await? {
                        self.metrics.reachability("unreachable");
                        let event = Event::OwnerUnreachable {
                            recipient: recipient.clone(),
                            reason: status.state.as_str().to_string(),
                        };
                        self.notifier.raise(&event, SystemTime::now()).await;
                        tracing::warn!(%recipient, state = status.state.as_str(), "recipient marked unreachable");
                    }
                }
                DeliveryState::Delivered => {
                    if reachability
                        .clear_unreachable(&recipient, Some(&status.at), "mailer", &now)
                        .await?
                        .is_some()
                    {
                        self.metrics.reachability("reachable");
                        tracing::info!(%recipient, "recipient reachable again (delivered)");
                    }
                }
                DeliveryState::Sent | DeliveryState::Delayed => {}
            }
        }
        Ok(())
    }

    /// Applies SES delivery feedback to the records its send carried (`record_delivery`),
    /// counted by event and result. A store failure is an error, so `/sns` asks for the
    /// event again; an event no record matches is counted and logged, never an error.
    pub async fn feedback(&self, f: &Feedback) -> Result<&'static str, StoreError> {
        let result = match &f.status {
            None => "ignored",
            Some(status) => {
                let done = self
                    .stores
                    .messages
                    .record_delivery(&f.mailer_message_id, status)
                    .await?;
                self.health(f, status).await?;
                match done {
                    DeliveryUpdate {
                        updated: 0,
                        unchanged: 0,
                    } => "unknown",
                    DeliveryUpdate { updated: 0, .. } => "unchanged",
                    _ => "updated",
                }
            }
        };
        self.metrics.delivery_event(&f.event, result);
        let state = f.status.as_ref().map(|s| s.state.as_str()).unwrap_or("-");
        if result == "unknown" {
            tracing::warn!(event = %f.event, mailer_id = %f.mailer_message_id, "delivery event for a send no record carries");
        } else {
            tracing::info!(event = %f.event, mailer_id = %f.mailer_message_id, state, result, "delivery event");
        }
        Ok(result)
    }

    /// Settles a decided record, logs it, and reports it.
    async fn settled(&self, settled: MessageRecord) -> Result<Report, StoreError> {
        let settled = MessageRecord {
            updated_at: rfc3339(SystemTime::now()),
            ..settled
        };
        self.settle(&settled).await?;
        let event = match settled.outcome {
            Outcome::DeadLetter => Some(Event::DeadLetter {
                message_id: settled.id.clone(),
                recipient: settled.recipient.clone(),
                detail: settled.detail.clone(),
            }),
            Outcome::Held => Some(Event::HeldWaiting {
                message_id: settled.id.clone(),
                recipient: settled.recipient.clone(),
                class: settled.class.map(|c| c.as_str().to_string()),
            }),
            _ => None,
        };
        if let Some(event) = event {
            self.notifier.raise(&event, SystemTime::now()).await;
        }
        tracing::info!(
            id = %settled.id,
            outcome = settled.outcome.as_str(),
            delivered_to = settled.delivered_to.as_deref().unwrap_or(""),
            size = settled.size,
            "message settled"
        );
        Ok(report_of(&settled))
    }

    /// Keeps the message for an admin to read and replay: content SES stored in S3 as a
    /// reference to its object (it stays there), anything else as its bytes.
    async fn keep_raw(
        &self,
        record: &MessageRecord,
        raw: &[u8],
        stored: Option<&S3Object>,
    ) -> Result<(), StoreError> {
        let now = rfc3339(SystemTime::now());
        match stored {
            Some(object) => {
                self.stores
                    .raw
                    .put_raw_location(&record.ses_message_id, object, &now)
                    .await
            }
            None => {
                self.stores
                    .raw
                    .put_raw(&record.ses_message_id, raw, &now)
                    .await
            }
        }
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
            let sent = tokio::time::timeout(self.send_timeout, self.mailer.send(out))
                .await
                .unwrap_or_else(|_| {
                    Err(SendError::Transient(format!(
                        "no answer from the mailer within {} s",
                        self.send_timeout.as_secs()
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

/// How long one mailer call may take so a whole batch ends before its claim could pass to
/// another server: a batch starts with at least nine tenths of the lease left (claims are
/// renewed once a tenth has passed), and spends it on the suppression lookup, every attempt of
/// the send, the waits between attempts (with their jitter) and, kept back, a second for the
/// settle. At most `SEND_TIMEOUT`.
/// What releasing held mail to `to` makes of today's `decision` for it: the owner gets what
/// they would get without the policy; an admin gets it whatever became of the mapping, unless
/// it is refused outright (a virus, a loop, a policy that rejects it now).
fn released(decision: Decision, to: &ReleaseTo, trail: &Trail, policy: &Policy) -> Decision {
    let ReleaseTo::Admin(admin) = to else {
        return decision;
    };
    let tags = match decision {
        Decision::Rejected { .. } => return decision,
        Decision::Forward { tags, .. } => tags,
        _ => Tags::default(),
    };
    if trail.carries_mark(&policy.loop_key, admin) {
        return Decision::Rejected {
            reason: Reason::Loop,
        };
    }
    Decision::Forward {
        to: admin.clone(),
        reason: Reason::ReleasedToAdmin,
        tags,
    }
}

fn send_timeout_within(lease: Duration, retry: &Retry) -> Duration {
    let mut waits = Duration::ZERO;
    let mut delay = retry.first_delay;
    for _ in 1..retry.attempts {
        waits += delay.mul_f64(1.5);
        delay = (delay * 2).min(retry.max_delay);
    }
    let budget = lease
        .mul_f64(0.9)
        .saturating_sub(waits + Duration::from_secs(1));
    SEND_TIMEOUT.min(budget / (retry.attempts + 1))
}

/// The log id of `recipient`'s record of a message: the address's own, or its copy for
/// `destination`.
fn record_id(ses_message_id: &str, recipient: &str, destination: Option<&str>) -> String {
    match destination {
        None => MessageRecord::id_for(ses_message_id, recipient),
        Some(d) => MessageRecord::id_for_destination(ses_message_id, recipient, d),
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

/// The report of a claim another delivery took over after ours ran out: it is theirs to
/// finish, and SNS's next delivery finds it settled.
fn taken_over(record: &MessageRecord) -> Report {
    Report {
        recipient: record.recipient.clone(),
        outcome: Delivery::Retry,
        message_id: record.id.clone(),
        detail: Some("taken over by another delivery of this message".into()),
    }
}

fn store_failed(ses_message_id: &str, recipient: &str, e: &StoreError) -> Report {
    tracing::error!(error = %e, %ses_message_id, %recipient, "store failed; SNS will deliver again");
    Report {
        message_id: MessageRecord::id_for(ses_message_id, recipient),
        recipient: recipient.to_string(),
        outcome: Delivery::Retry,
        detail: Some("the store is unavailable".into()),
    }
}

#[cfg(test)]
mod tests;
