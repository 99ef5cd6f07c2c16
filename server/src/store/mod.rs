//! Storage. Each capability gets its own trait (mappings, messages, settings and audit,
//! sessions and tokens) as it is built, with one conformance suite run against every backend.

pub mod cached;
#[cfg(test)]
pub mod conformance;
pub mod dynamodb;
pub(crate) mod paging;
pub mod retention;
pub mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;

use app::model::{
    AuditEntry, DayVolume, DeliveryState, DeliveryStatus, Mapping, MappingCounts, MappingStatus,
    MessageRecord, Outcome, Page, Unreachable,
};
use app::notify::{ChannelKind, NoticeState, NotificationDelivery, NotifyEvent};
use app::org::{Drift, JobState, OrgAccount, RootEmailJob, SyncSummary};
use async_trait::async_trait;

use crate::config::StoreUrl;
use crate::tokens::ApiToken;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The backend could not be reached or failed; the cause is for the log only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store schema migration failed: {0}")]
    Migration(String),
    /// A rule the data broke that only the store can see (a counter that grew the name past
    /// its limit); `field` names the input to blame.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// What every backend offers regardless of capability.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// One cheap round trip, used by `/healthz` and the overview.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// How a vend names its mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameSpec {
    /// `base-NNN` with the next counter for `base`, zero-padded to `width`.
    Generated { base: String, width: u8 },
    /// Exactly this name (an override).
    Explicit { account_name: String },
}

/// Everything a vend writes, already validated by the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendSpec {
    pub name: NameSpec,
    /// An address override, already lower-cased and on the domain; else `name@domain`.
    pub address: Option<String>,
    pub domain: String,
    pub account_type: String,
    pub owner: String,
    /// Validated by the service: lower-cased, distinct, not the owner, at most four.
    pub recipients: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
    pub actor: String,
    pub now: String,
    /// Local parts a generated name must never land on (the reserved ones): skipped like
    /// names already taken.
    pub reserved: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vended {
    pub mapping: Mapping,
    /// False when an idempotency key matched an earlier vend, which is returned instead.
    pub created: bool,
}

/// The fields an edit may change; `None` leaves a field as it is. The address never changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingChange {
    pub owner: Option<String>,
    /// The whole list, replacing the one before.
    pub recipients: Option<Vec<String>>,
    pub status: Option<MappingStatus>,
    pub account_type: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    /// `Some(None)` clears the value. A new id drops the account link (it was about the old
    /// one) unless the change sets the link too.
    pub aws_account_id: Option<Option<String>>,
    /// What the organization sync found (`Some(None)` unlinks).
    pub account: Option<Option<app::org::LinkedAccount>>,
    pub notes: Option<Option<String>>,
}

impl MappingChange {
    /// `before` with this change applied, stamped with who and when.
    pub fn apply(&self, before: &Mapping, actor: &str, now: &str) -> Mapping {
        let mut after = before.clone();
        if let Some(v) = &self.owner {
            after.owner = v.clone();
        }
        if let Some(v) = &self.recipients {
            after.recipients = v.clone();
        }
        if let Some(v) = self.status {
            after.status = v;
        }
        if let Some(v) = &self.account_type {
            after.account_type = v.clone();
        }
        if let Some(v) = &self.tags {
            after.tags = v.clone();
        }
        if let Some(v) = &self.aws_account_id {
            if *v != before.aws_account_id {
                after.account = None;
            }
            after.aws_account_id = v.clone();
        }
        if let Some(v) = &self.account {
            after.account = v.clone();
        }
        if let Some(v) = &self.notes {
            after.notes = v.clone();
        }
        after.updated_at = now.to_string();
        after.updated_by = actor.to_string();
        after
    }
}

/// The audit action an edit records.
fn edit_action(after: &Mapping) -> &'static str {
    if after.status == MappingStatus::Deleted {
        "delete"
    } else {
        "update"
    }
}

/// How many taken names a generated vend skips before giving up. Names are only taken out
/// of turn by overrides, so this is never reached in practice.
const MAX_SKIPS: usize = 1000;

/// Whether `local` (a local part) is one of `reserved`, in any case; a `+label` is ignored,
/// since mail to `postmaster+x@` may reach `postmaster@`'s reader.
pub fn is_reserved(reserved: &[String], local: &str) -> bool {
    let base = local.split_once('+').map_or(local, |(b, _)| b);
    reserved
        .iter()
        .any(|r| r.eq_ignore_ascii_case(local) || r.eq_ignore_ascii_case(base))
}

impl VendSpec {
    /// The address the caller chose, if they chose one: the override, or an explicit name on
    /// the domain. `None` for a generated name, whose address the store picks.
    pub fn chosen_address(&self) -> Option<String> {
        match (&self.address, &self.name) {
            (Some(a), _) => Some(a.clone()),
            (None, NameSpec::Explicit { account_name }) => {
                Some(format!("{account_name}@{}", self.domain))
            }
            (None, NameSpec::Generated { .. }) => None,
        }
    }

    /// The new mapping this vend writes under `account_name` and `address`.
    fn mapping(&self, account_name: String, address: String, counter: Option<u64>) -> Mapping {
        let base = match (&self.name, counter) {
            (NameSpec::Generated { base, .. }, Some(_)) => Some(base.clone()),
            _ => None,
        };
        Mapping {
            address,
            account_name,
            base,
            counter,
            account_type: self.account_type.clone(),
            owner: self.owner.clone(),
            recipients: self.recipients.clone(),
            tags: self.tags.clone(),
            status: MappingStatus::Active,
            aws_account_id: None,
            account: None,
            notes: None,
            created_at: self.now.clone(),
            created_by: self.actor.clone(),
            updated_at: self.now.clone(),
            updated_by: self.actor.clone(),
            unreachable: Vec::new(),
        }
    }

    /// The address for `name`: the override, or `name@domain`.
    fn address_for(&self, name: &str) -> String {
        self.address
            .clone()
            .unwrap_or_else(|| format!("{name}@{}", self.domain))
    }

    /// Only a counter grown past its width can break a limit the service already checked.
    /// Whether a generated `name` would make a reserved address, so the counter moves on.
    fn skips(&self, name: &str) -> bool {
        self.address.is_none() && is_reserved(&self.reserved, name)
    }

    fn check_generated(&self, name: &str) -> Result<(), StoreError> {
        let domain = if self.address.is_some() {
            ""
        } else {
            self.domain.as_str()
        };
        app::naming::check_limits(name, domain, "business_unit").map_err(|e| StoreError::Invalid {
            field: e.field,
            message: e.message,
        })
    }
}

/// The conflict for a taken `address` or account name.
fn taken(field: Taken, value: &str) -> StoreError {
    match field {
        Taken::Address => StoreError::Conflict(format!(
            "the address {value} is already taken (addresses are never reused)"
        )),
        Taken::Name => StoreError::Conflict(format!("the account name {value} is already taken")),
    }
}

/// Which unique value a write found taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taken {
    Address,
    Name,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingFilter {
    pub owner: Option<String>,
    /// Substring of the address, account name or owner.
    pub query: Option<String>,
    /// `None` lists active and suspended mappings; deleted ones only when asked for.
    pub status: Option<MappingStatus>,
    /// Exactly this account type (as configured).
    pub account_type: Option<String>,
    /// Only mappings vended by this actor (the audit log's name of the caller).
    pub vended_by: Option<String>,
    /// Only mappings whose owner or one of whose recipients is one of these (lower-cased
    /// mailboxes); an empty list matches nothing. At most `MAX_OWNERS_FILTER`.
    pub owners: Option<Vec<String>>,
    /// Only mappings this mailbox gets mail for: as their owner or as one of their
    /// recipients (lower-cased).
    pub member: Option<String>,
    /// Only mappings linked to an account in this state (the organization sync's link).
    pub account_state: Option<app::org::AccountState>,
}

/// The most owners one listing filters on (DynamoDB's filter expressions are at most 4 KB,
/// and each one is tested against the owner and the recipients).
pub const MAX_OWNERS_FILTER: usize = 100;

/// Address mappings, with their audit trail written in the same transaction as each change.
#[async_trait]
pub trait MappingStore: Send + Sync + 'static {
    async fn vend(&self, spec: &VendSpec) -> Result<Vended, StoreError>;
    /// Any mapping, deleted ones included (their status says so).
    async fn get(&self, address: &str) -> Result<Mapping, StoreError>;
    async fn list(
        &self,
        filter: &MappingFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, StoreError>;
    async fn update(
        &self,
        address: &str,
        change: &MappingChange,
        actor: &str,
        now: &str,
    ) -> Result<Mapping, StoreError>;
    /// Marks the mapping deleted; the address stays reserved.
    async fn delete(&self, address: &str, actor: &str, now: &str) -> Result<Mapping, StoreError> {
        let change = MappingChange {
            status: Some(MappingStatus::Deleted),
            ..MappingChange::default()
        };
        self.update(address, &change, actor, now).await
    }
    /// Every recorded change to one subject (an address or `token:<id>`), oldest first.
    async fn audit_trail(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError>;
    /// Every recorded change to anything (mappings, tokens, settings), newest first.
    async fn audit_log(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError>;
    /// How many mappings there are in each status.
    async fn counts(&self) -> Result<MappingCounts, StoreError>;
    /// Records an action that is not one write of its own (a bulk reassign: each mapping's
    /// change is audited with it, and this says what the whole was).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Writes a mapping made elsewhere (`mailvend import`) as it is, audited as `import`, and
    /// makes its base's counter continue after its number. `Ok(false)` when the address is
    /// already here (imports can run again); a name held by another address is a conflict.
    async fn import(&self, mapping: &Mapping, actor: &str, now: &str) -> Result<bool, StoreError>;
}

/// The answer to a claim on one recipient of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller processes it: it was new, or its previous worker's lease ran out.
    Mine(MessageRecord),
    /// Already settled; nothing to do (a duplicate delivery).
    Done(MessageRecord),
    /// Another worker holds a live claim.
    Busy,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub outcome: Option<Outcome>,
    pub recipient: Option<String>,
    /// Only records whose sort key (`received_at#id`) is at least this: a date or time
    /// prefix such as `2026-12-01`.
    pub since: Option<String>,
    /// Only records whose sort key is below this (exclusive).
    pub until: Option<String>,
    /// Only forwarded records whose delivery is in this state.
    pub delivery: Option<DeliveryState>,
    /// Only records of this kind of mail.
    pub class: Option<app::model::MailClass>,
}

/// The message log, which is also what makes forwarding exactly-once per recipient.
#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Claims `record.id` (whose outcome is `Processing`) until `lease_until`. Exactly one of
    /// any number of concurrent claims on a new id gets `Mine`.
    async fn claim(
        &self,
        record: &MessageRecord,
        lease_until: &str,
        now: &str,
    ) -> Result<Claim, StoreError>;
    /// Writes the final state of a claimed record. Only a record still `processing` at the
    /// claim's `attempts` (or gone, purged meanwhile) is written: one settled by an earlier
    /// try of this same settle that landed though its answer was lost, or taken over by
    /// another worker after this one's lease ran out, is left as it is, so the outcome counts
    /// move once per record and a late worker never overwrites its successor's result.
    async fn settle(&self, record: &MessageRecord) -> Result<(), StoreError>;
    /// Gives up a claim that could not be finished, so the next delivery takes it over at
    /// once instead of waiting out the lease. Does nothing to a settled record.
    async fn release(&self, id: &str, now: &str) -> Result<(), StoreError>;
    /// Extends a claim still being worked on to `lease_until` (a fan-out sending to several
    /// destinations one after another), so no other delivery takes it over mid-send. Only
    /// the holder's claim is extended: the record must still be `processing` at `attempts`
    /// (a takeover counts one more). `false` when it is not ours any more (settled, or taken
    /// over after our lease ran out): the caller must leave it to its new holder.
    async fn renew(&self, id: &str, attempts: u32, lease_until: &str) -> Result<bool, StoreError>;
    /// Claims a record whose outcome is `from` again: a dead letter for a replay, held mail
    /// for a release. Exactly one of any number of concurrent reopens wins. `NotFound` for an
    /// unknown id, `Conflict` when its outcome is not `from`.
    async fn reopen(
        &self,
        id: &str,
        from: Outcome,
        lease_until: &str,
        now: &str,
    ) -> Result<MessageRecord, StoreError>;
    async fn message(&self, id: &str) -> Result<MessageRecord, StoreError>;
    /// Newest first.
    async fn messages(
        &self,
        filter: &MessageFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<MessageRecord>, StoreError>;
    /// Gives every record the send `mailer_message_id` carried (one send can carry several
    /// vended recipients' records) the delivery `status`, where it is later in
    /// `DeliveryState`'s order than the record's own (none counts as earliest): a duplicate or
    /// out-of-order event changes nothing. Counts the records it changed and those it left.
    async fn record_delivery(
        &self,
        mailer_message_id: &str,
        status: &DeliveryStatus,
    ) -> Result<DeliveryUpdate, StoreError>;
    /// How many records were received, by outcome, on each UTC day of `days` (`YYYY-MM-DD`)
    /// and in all during the UTC hours `hours` (`YYYY-MM-DDTHH`). Read from counts the store
    /// keeps as it writes records (claims, settles, reopens and purges move them in the same
    /// write), never from the log itself, so it costs the same however long the log is.
    /// Days come back oldest first; days without mail are absent.
    async fn volume(&self, days: &[String], hours: &[String]) -> Result<Volume, StoreError>;
    /// Deletes settled records received before `cutoff` (RFC 3339) and the raw messages kept
    /// for them; returns how many records went. Claims in progress are never purged.
    async fn purge(&self, cutoff: &str) -> Result<u64, StoreError>;
}

/// Mail received per day and over some hours, by outcome (`MessageStore::volume`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Volume {
    pub days: Vec<DayVolume>,
    pub hours: app::model::OutcomeCounts,
}

/// What a delivery event did: the records it moved on, and those already at its state or a
/// later one. Both zero: no record carries that send (an unknown id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryUpdate {
    pub updated: u64,
    pub unchanged: u64,
}

/// How many recipients may be marked unreachable at once. Marks are people who left or whose
/// mailbox broke, which an admin clears as they fix them; past this many something else is
/// wrong (the mailer's feedback, a mass bounce) and a mark is refused rather than grown
/// without bound.
pub const MAX_UNREACHABLE: usize = MAX_OWNERS_FILTER;

/// Recipient mailboxes that stopped taking mail (`Unreachable`). Marking and clearing are
/// audited (subject `recipient:<mailbox>`, actions `unreachable` and `reachable`) in the same
/// write as the change.
#[async_trait]
pub trait ReachabilityStore: Send + Sync + 'static {
    /// Marks `mark.recipient` unreachable; `Ok(false)` when it already was. A mark from a
    /// later event replaces the one there (audited too), so that a delivery reported late,
    /// from between the two, does not clear it. `Invalid` past `MAX_UNREACHABLE` marks.
    async fn mark_unreachable(
        &self,
        mark: &Unreachable,
        actor: &str,
        now: &str,
    ) -> Result<bool, StoreError>;
    /// Clears the mark on `recipient`, only if it was made before `before` when that is given
    /// (a delivery reported late must not clear a later bounce). The mark it cleared, if any.
    async fn clear_unreachable(
        &self,
        recipient: &str,
        before: Option<&str>,
        actor: &str,
        now: &str,
    ) -> Result<Option<Unreachable>, StoreError>;
    /// Every mark, by recipient.
    async fn unreachable(&self) -> Result<Vec<Unreachable>, StoreError>;
}

/// Whether `new` (a bounce or complaint) replaces the standing mark `old`: it happened later.
/// Both stores decide by this.
fn supersedes(new: &Unreachable, old: &Unreachable) -> bool {
    old.since < new.since
}

/// Whether a clearing lifts `mark`: a delivery at `before` only when it happened after the
/// mark's latest event; an admin's (`None`) always.
fn lifted_by(mark: &Unreachable, before: Option<&str>) -> bool {
    before.is_none_or(|b| mark.since.as_str() < b)
}

/// Why one more mark is refused.
fn too_many_marks() -> StoreError {
    StoreError::Invalid {
        field: "recipient",
        message: format!(
            "{MAX_UNREACHABLE} recipients are already marked unreachable; mark some fixed first"
        ),
    }
}

/// What the audit log records of a mark.
fn mark_record(mark: &Unreachable) -> String {
    serde_json::to_string(mark).expect("marks serialize")
}

/// Where SES's S3 action stored a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

impl S3Object {
    /// `s3://bucket/key`, as stored and shown.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The inverse of `url`: bucket names hold no `/`, so the first one ends the bucket.
    pub fn parse(url: &str) -> Option<S3Object> {
        let (bucket, key) = url.strip_prefix("s3://")?.split_once('/')?;
        (!bucket.is_empty() && !key.is_empty()).then(|| S3Object {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

/// A kept message: its bytes (inline content, `mailvend deliver`), or where SES stored it,
/// so that 40 MB of S3 content is not copied into the store a second time (issue 22 item 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    Bytes(Vec<u8>),
    S3(S3Object),
}

/// Raw messages kept for the mail nobody received (dead letters, undeliverable), keyed by the
/// SES message id, so an admin can read and replay them. Up to 40 MB each.
#[async_trait]
pub trait RawStore: Send + Sync + 'static {
    /// Stores `raw` under `id`; storing the same id again replaces whatever was kept.
    async fn put_raw(&self, id: &str, raw: &[u8], now: &str) -> Result<(), StoreError>;
    /// Keeps a reference to the S3 object instead of its bytes; replaces whatever was kept.
    async fn put_raw_location(
        &self,
        id: &str,
        object: &S3Object,
        now: &str,
    ) -> Result<(), StoreError>;
    async fn raw(&self, id: &str) -> Result<Option<Kept>, StoreError>;
}

/// Settings an admin changes at run time. An absent key means "never changed": the
/// configuration's initial value applies.
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// The values of those of `keys` that are set, read together (one request on DynamoDB:
    /// the pipeline reads the settings for every message).
    async fn settings(
        &self,
        keys: &[&str],
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError>;
    /// Writes the value and an audit entry (subject `setting:<key>`) in one transaction.
    async fn put_setting(
        &self,
        key: &str,
        value: &str,
        actor: &str,
        now: &str,
    ) -> Result<(), StoreError>;
}

/// A claim whose worker's lease ran out, as the worker taking it over records it.
fn taken_over(current: MessageRecord, now: &str) -> MessageRecord {
    MessageRecord {
        attempts: current.attempts + 1,
        updated_at: now.to_string(),
        ..current
    }
}

/// A dead letter as a replay reopens it: processing again, one attempt more.
fn reopened(current: MessageRecord, now: &str) -> MessageRecord {
    MessageRecord {
        outcome: Outcome::Processing,
        attempts: current.attempts + 1,
        updated_at: now.to_string(),
        ..current
    }
}

/// Why `r` cannot be reopened from `from`: replays take dead letters, releases held mail.
fn not_reopenable(r: &MessageRecord, from: Outcome) -> StoreError {
    let (what, done) = match from {
        Outcome::Held => ("held", "only held mail is released"),
        _ => ("a dead letter", "only dead letters are replayed"),
    };
    StoreError::Conflict(format!(
        "the message {} is {}, not {what}; {done}",
        r.id,
        r.outcome.as_str()
    ))
}

/// Folds (received_at, outcome) pairs into per-day volumes, oldest day first.
/// The volume from counted rows (`(bucket, outcome, n)`, a bucket being a day or an hour):
/// `days` per day, oldest first, days without mail absent; `hours` summed.
fn fold_volume(
    rows: impl IntoIterator<Item = (String, Outcome, u64)>,
    days: &[String],
    hours: &[String],
) -> Volume {
    let mut per_day: BTreeMap<String, app::model::OutcomeCounts> = BTreeMap::new();
    let mut volume = Volume::default();
    for (bucket, outcome, n) in rows {
        if n == 0 {
            continue;
        }
        if days.contains(&bucket) {
            per_day.entry(bucket).or_default().add(outcome, n);
        } else if hours.contains(&bucket) {
            volume.hours.add(outcome, n);
        }
    }
    volume.days = per_day
        .into_iter()
        .map(|(day, counts)| DayVolume { day, counts })
        .collect();
    volume
}

/// The log's sort key: newest first when read in descending order, unique per record.
fn message_sort_key(r: &MessageRecord) -> String {
    format!("{}#{}", r.received_at, r.id)
}

/// What the audit log records of a new token (never anything of its secret).
fn token_audit_record(t: &ApiToken) -> String {
    serde_json::json!({"id": t.id, "name": t.name, "scope": t.scope.as_str(), "expires_at": t.expires_at}).to_string()
}

/// API tokens. Only digests of secrets are stored; creating and revoking are audited.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    async fn create_token(&self, token: &ApiToken, secret_digest: &str) -> Result<(), StoreError>;
    /// The token whose secret has this digest, revoked or not.
    async fn token_by_digest(&self, secret_digest: &str) -> Result<Option<ApiToken>, StoreError>;
    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    async fn revoke_token(&self, id: &str, actor: &str, now: &str) -> Result<ApiToken, StoreError>;
    /// Records that the token was used at `at` (not audited: it is not a change of rights).
    async fn token_used(&self, id: &str, at: &str) -> Result<(), StoreError>;
}

/// Server-side sign-in sessions. The data is opaque here (the session layer serializes it);
/// expiry is in Unix seconds.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Inserts a new session; `Ok(false)` when the id is taken (the caller picks another).
    async fn create_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError>;
    /// Writes the session, new or not.
    async fn save_session(&self, id: &str, data: &str, expires_at: i64) -> Result<(), StoreError>;
    /// The session's data, unless it is missing or expired at `now`.
    async fn session(&self, id: &str, now: i64) -> Result<Option<String>, StoreError>;
    async fn delete_session(&self, id: &str) -> Result<(), StoreError>;
    /// Deletes sessions expired before `now`; how many went. (DynamoDB's TTL does this on its
    /// own; the call is for stores without one.)
    async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError>;
}

/// At most this many notification channels.
pub const MAX_CHANNELS: usize = 20;

/// A notification channel as stored: its whole target (a Slack URL is its credential) and,
/// for a webhook, the key its bodies are signed with. `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredChannel {
    pub id: String,
    pub kind: ChannelKind,
    pub target: String,
    pub secret: Option<crate::secret::Secret>,
    pub events: Vec<NotifyEvent>,
    pub created_at: String,
    pub created_by: String,
}

impl std::fmt::Debug for StoredChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredChannel")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("target", &"***")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// An attempt recorded under a lease the row no longer holds.
pub(crate) fn lease_lost(id: &str) -> StoreError {
    StoreError::Conflict(format!(
        "delivery {id} is no longer this claim's (its lease ran out, or it is gone)"
    ))
}

/// The id prefix of deliveries queued at `at` (RFC 3339): ids are `n_<compact time>_<random>`,
/// so every delivery queued before `at` sorts below it.
pub fn delivery_id_prefix(at: &str) -> String {
    let compact: String = at.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("n_{compact}")
}

/// One delivery in the queue: its log row and the body every attempt sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedNotice {
    pub delivery: NotificationDelivery,
    pub body: String,
}

/// What one attempt at delivery `id` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeAttempt {
    pub id: String,
    /// The `next_at` the claim set: the attempt is recorded only while the row still holds
    /// it, so a server whose lease ran out cannot overwrite what another server did since.
    pub lease: String,
    pub attempts: u32,
    pub state: NoticeState,
    /// When to try again (pending only).
    pub next_at: Option<String>,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// When it was delivered (delivered only).
    pub delivered_at: Option<String>,
}

/// Notification channels, and the queue and log of their deliveries: one row per event and
/// channel, which attempts move from `pending` to `delivered` or `failed`. Several servers
/// share the queue: a claim leases a delivery so only one of them sends it at a time.
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Adds `channel`, written with `audit`; a conflict past `MAX_CHANNELS` or on a taken id.
    async fn add_channel(
        &self,
        channel: &StoredChannel,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Removes channel `id`, written with `audit`; not found if it is not there. Its pending
    /// deliveries fail when they come due.
    async fn remove_channel(&self, id: &str, audit: &AuditEntry) -> Result<(), StoreError>;
    /// Every channel, oldest first.
    async fn channels(&self) -> Result<Vec<StoredChannel>, StoreError>;
    async fn enqueue(&self, notice: &QueuedNotice) -> Result<(), StoreError>;
    /// How many of channel `id`'s deliveries of `event` are pending.
    async fn pending_count(&self, channel_id: &str, event: NotifyEvent) -> Result<u32, StoreError>;
    /// Up to `limit` pending deliveries due at `now` (soonest first), each leased: its
    /// `next_at` becomes `lease_until`, so another server's claim skips it until then.
    async fn claim_due(
        &self,
        now: &str,
        lease_until: &str,
        limit: u32,
    ) -> Result<Vec<QueuedNotice>, StoreError>;
    /// Records an attempt made under the claim `attempt.lease`; a conflict when the row no
    /// longer holds that lease (it ran out and another claim took the row, or it is gone).
    async fn record_attempt(&self, attempt: &NoticeAttempt) -> Result<(), StoreError>;
    /// The latest `limit` deliveries, newest first.
    async fn deliveries(&self, limit: u32) -> Result<Vec<NotificationDelivery>, StoreError>;
    /// Deletes delivered and failed deliveries queued before `before`; how many.
    async fn purge_deliveries(&self, before: &str) -> Result<u64, StoreError>;
}

/// A channel's events as both backends keep them: names joined by commas.
pub(crate) fn events_text(events: &[NotifyEvent]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `events_text` read back; an unknown name is corruption.
pub(crate) fn events_of(text: &str) -> Result<Vec<NotifyEvent>, StoreError> {
    text.split(',')
        .filter(|n| !n.is_empty())
        .map(|n| {
            NotifyEvent::parse(n)
                .ok_or_else(|| StoreError::Unavailable(format!("corrupt event name {n:?}")))
        })
        .collect()
}

/// The organization's accounts as the last sync read them (AWS Organizations), and what that
/// sync found. The sync computes each account's drift; the store keeps its result whole.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Makes one sync's result the stored view: every account in `accounts` (ids distinct)
    /// written, every stored account it does not list removed (it left the organization),
    /// then `summary` kept as the last sync's.
    async fn replace_accounts(
        &self,
        accounts: &[OrgAccount],
        summary: &SyncSummary,
    ) -> Result<(), StoreError>;
    /// A page of accounts in id order; only those with `drift` when given.
    async fn accounts(
        &self,
        drift: Option<Drift>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<OrgAccount>, StoreError>;
    async fn account(&self, id: &str) -> Result<Option<OrgAccount>, StoreError>;
    /// Writes one account as given (an adoption's result, until the next sync).
    async fn put_account(&self, account: &OrgAccount) -> Result<(), StoreError>;
    /// The last sync's summary; `None` before the first.
    async fn last_sync(&self) -> Result<Option<SyncSummary>, StoreError>;

    /// Stores a new open job, replacing its account's finished one (a retry). `Conflict`
    /// when the account, or the job's address, has an open job already.
    async fn create_job(&self, job: &RootEmailJob) -> Result<(), StoreError>;
    /// The latest job of an account.
    async fn job(&self, account_id: &str) -> Result<Option<RootEmailJob>, StoreError>;
    /// A page of jobs in account id order.
    async fn jobs(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<RootEmailJob>, StoreError>;
    /// The open job whose new root email is `address`: what the inbound path asks of a
    /// recognised verification mail.
    async fn open_job_for(&self, address: &str) -> Result<Option<RootEmailJob>, StoreError>;
    /// Writes `to` over the account's job only if that job is still in `from`: `false` when
    /// another server (or delivery) moved it first, so each step is taken once.
    async fn transition(&self, from: JobState, to: &RootEmailJob) -> Result<bool, StoreError>;
}

/// The configured backend, one handle per capability (all pointing at the same backend).
#[derive(Clone)]
pub struct Stores {
    pub health: Arc<dyn Store>,
    pub mappings: Arc<dyn MappingStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub messages: Arc<dyn MessageStore>,
    pub raw: Arc<dyn RawStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub reachability: Arc<dyn ReachabilityStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub notifications: Arc<dyn NotificationStore>,
    /// The settings and marks as the pipeline reads them for each message: from a cache kept
    /// `cached::FRESH_FOR` where `open` made one, else the store itself.
    pub mail_settings: Arc<dyn SettingsStore>,
    pub mail_reachability: Arc<dyn ReachabilityStore>,
}

impl Stores {
    pub fn from_backend<
        B: Store
            + MappingStore
            + TokenStore
            + MessageStore
            + RawStore
            + SettingsStore
            + SessionStore
            + ReachabilityStore
            + AccountStore
            + NotificationStore,
    >(
        backend: Arc<B>,
    ) -> Stores {
        Stores {
            health: backend.clone(),
            mappings: backend.clone(),
            tokens: backend.clone(),
            messages: backend.clone(),
            raw: backend.clone(),
            settings: backend.clone(),
            sessions: backend.clone(),
            reachability: backend.clone(),
            accounts: backend.clone(),
            notifications: backend.clone(),
            mail_settings: backend.clone(),
            mail_reachability: backend,
        }
    }
}

/// Opens the configured store and brings its schema up to date.
/// The stores the server runs on, with the pipeline's reads of the settings and marks cached
/// (`cached::Cached`).
pub async fn open(url: &StoreUrl) -> Result<Stores, StoreError> {
    let mut stores = match url {
        StoreUrl::Sqlite(path) => {
            Stores::from_backend(Arc::new(sqlite::SqliteStore::open(path).await?))
        }
        StoreUrl::DynamoDb { table_prefix } => {
            Stores::from_backend(Arc::new(dynamodb::DynamoStore::open(table_prefix).await?))
        }
    };
    let (fresh, kept) = cached::Cached::views(stores.settings.clone(), stores.reachability.clone());
    stores.settings = fresh.clone();
    stores.reachability = fresh;
    stores.mail_settings = kept.clone();
    stores.mail_reachability = kept;
    Ok(stores)
}
