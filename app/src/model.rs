//! Types shared by the pages, the server functions and the REST API.

use serde::{Deserialize, Serialize};

/// What the overview shows about the running instance. Nothing secret goes in here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub version: String,
    pub domain: String,
    /// "SQLite" or "DynamoDB", never the connection string.
    pub store: String,
    /// "outbox", "SES v2" or "SMTP relay".
    pub mailer: String,
    pub catch_all: bool,
    pub uptime_secs: u64,
    pub store_check: StoreCheck,
}

/// One round trip to the store, as measured by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreCheck {
    pub ok: bool,
    pub latency_micros: u64,
    /// Seconds since the Unix epoch, UTC.
    pub checked_at: i64,
}

impl StoreCheck {
    /// `HH:MM:SS UTC` of the check, without pulling a date library into the wasm bundle.
    pub fn checked_at_utc(&self) -> String {
        let secs_of_day = self.checked_at.rem_euclid(86_400);
        format!(
            "{:02}:{:02}:{:02} UTC",
            secs_of_day / 3600,
            secs_of_day % 3600 / 60,
            secs_of_day % 60
        )
    }

    pub fn latency_label(&self) -> String {
        if self.latency_micros < 1_000 {
            format!("{} µs", self.latency_micros)
        } else {
            format!("{:.1} ms", self.latency_micros as f64 / 1_000.0)
        }
    }
}

/// `3d 4h`, `5h 12m`, `42s`: short enough for a stat card.
pub fn uptime_label(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m {}s", secs % 60),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_labels() {
        for (secs, want) in [
            (0, "0s"),
            (59, "59s"),
            (61, "1m 1s"),
            (3_600, "1h 0m"),
            (3_660 + 86_400 * 2, "2d 1h"),
        ] {
            assert_eq!(uptime_label(secs), want, "{secs}");
        }
    }

    #[test]
    fn store_check_labels() {
        let c = StoreCheck {
            ok: true,
            latency_micros: 999,
            checked_at: 1_764_050_000 + 3_661,
        };
        assert_eq!(c.latency_label(), "999 µs");
        let c = StoreCheck {
            latency_micros: 12_345,
            checked_at: -1,
            ..c
        };
        assert_eq!(c.latency_label(), "12.3 ms");
        assert_eq!(c.checked_at_utc(), "23:59:59 UTC");
    }
}

/// Whether mail for a mapping is forwarded. `Deleted` mappings keep their address reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MappingStatus {
    Active,
    Suspended,
    Deleted,
}

impl MappingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MappingStatus::Active => "active",
            MappingStatus::Suspended => "suspended",
            MappingStatus::Deleted => "deleted",
        }
    }

    pub fn parse(v: &str) -> Option<MappingStatus> {
        [
            MappingStatus::Active,
            MappingStatus::Suspended,
            MappingStatus::Deleted,
        ]
        .into_iter()
        .find(|s| s.as_str() == v)
    }
}

/// One vended address and where its mail goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Mapping {
    pub address: String,
    pub account_name: String,
    /// `slug(bu)-slug(app)-env`; absent when the name was given as an override.
    pub base: Option<String>,
    pub counter: Option<u64>,
    pub account_type: String,
    pub owner: String,
    /// Up to `MAX_RECIPIENTS` more mailboxes (lower-cased) that get every message too, each
    /// its own copy and record, so one bad mailbox neither fails nor hides the others.
    #[serde(default)]
    pub recipients: Vec<String>,
    pub tags: std::collections::BTreeMap<String, String>,
    pub status: MappingStatus,
    pub aws_account_id: Option<String>,
    /// The account of the organization whose root email this address is, as the last sync
    /// found it (AWS Organizations); its id is then `aws_account_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<crate::org::LinkedAccount>,
    pub notes: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    /// The recipients of this address whose mailbox bounced permanently or complained, as
    /// the service reads them for a view (never stored with the mapping).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<Unreachable>,
}

/// How many recipients a mapping may have besides its owner.
pub const MAX_RECIPIENTS: usize = 4;

/// The recipients a form's textarea lists: one address a line (commas and spaces too),
/// blank lines ignored.
pub fn parse_recipients(text: &str) -> Vec<String> {
    text.split(|c: char| c == '\n' || c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A recipient mailbox that stopped taking mail: a permanent bounce or a complaint the mailer
/// reported. While it stands, mail for its addresses also goes to the fallback address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Unreachable {
    /// The mailbox (lower-cased), as the owner or recipient of mappings.
    pub recipient: String,
    /// `bounced` (permanent) or `complained`.
    pub reason: DeliveryState,
    /// What the mailer said (bounce type and diagnostic, complaint type).
    pub detail: String,
    /// When the latest bounce or complaint that marked it happened (RFC 3339, UTC): a later
    /// one moves it on, so only a delivery after the latest clears the mark.
    pub since: String,
    /// The send the event was about (the mailer's message id).
    pub mailer_message_id: String,
}

/// What a bulk action on one owner's mappings did (or, as a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BulkChange {
    /// The owner whose mappings it is about (lower-cased).
    pub owner: String,
    /// `reassign` (to `to`) or `suspend` (every active mapping).
    pub action: String,
    /// The new owner, for a reassign.
    pub to: Option<String>,
    /// The mappings it changed (or would change), by address.
    pub addresses: Vec<String>,
    /// True when nothing was changed: a preview.
    pub dry_run: bool,
}

/// One page of a listing; `next_cursor` is opaque and absent on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// One recorded change: who did what to which subject, and the state before and after
/// (JSON of the record, absent where there is none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    /// `vend`, `update`, `delete`, `revoke_token`, …
    pub action: String,
    /// An address, or `token:<id>`.
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What kind of mail a message is, judged from the sender SES authenticated and the subject
/// (docs/api.md, Mail classes): root mail's keys, AWS's security and account notices, or the
/// rest. Mail whose sender was not authenticated is never judged to be AWS's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MailClass {
    /// Password resets, sign-in and email verification codes, MFA changes.
    Credential,
    /// Abuse reports, exposed keys, security notices.
    Security,
    /// Closure, suspension, reinstatement, email or contact changes.
    Account,
    Billing,
    /// Operational notices and marketing from AWS.
    Notice,
    Other,
}

impl MailClass {
    pub const ALL: [MailClass; 6] = [
        MailClass::Credential,
        MailClass::Security,
        MailClass::Account,
        MailClass::Billing,
        MailClass::Notice,
        MailClass::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailClass::Credential => "credential",
            MailClass::Security => "security",
            MailClass::Account => "account",
            MailClass::Billing => "billing",
            MailClass::Notice => "notice",
            MailClass::Other => "other",
        }
    }

    pub fn parse(v: &str) -> Option<MailClass> {
        MailClass::ALL.into_iter().find(|c| c.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            MailClass::Credential => "Credential",
            MailClass::Security => "Security",
            MailClass::Account => "Account",
            MailClass::Billing => "Billing",
            MailClass::Notice => "Notice",
            MailClass::Other => "Other",
        }
    }
}

/// What is done with a class of mail that would be forwarded (docs/api.md, Class policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClassPolicy {
    /// To the mapping's recipients, as any mail.
    #[default]
    Forward,
    /// Only to the configured restricted group (`MAILVEND_RESTRICTED_TO`), never to the owner.
    Restricted,
    /// Kept in mailvend until an admin releases it or it expires.
    Hold,
    /// Logged, sent nowhere, its raw copy not kept.
    Drop,
}

impl ClassPolicy {
    pub const ALL: [ClassPolicy; 4] = [
        ClassPolicy::Forward,
        ClassPolicy::Restricted,
        ClassPolicy::Hold,
        ClassPolicy::Drop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClassPolicy::Forward => "forward",
            ClassPolicy::Restricted => "restricted",
            ClassPolicy::Hold => "hold",
            ClassPolicy::Drop => "drop",
        }
    }

    pub fn parse(v: &str) -> Option<ClassPolicy> {
        ClassPolicy::ALL.into_iter().find(|p| p.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            ClassPolicy::Forward => "Forward to the owner",
            ClassPolicy::Restricted => "Restricted group only",
            ClassPolicy::Hold => "Hold for an admin",
            ClassPolicy::Drop => "Drop",
        }
    }
}

/// A page of held mail, for the Held mail page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldMail {
    pub items: Vec<HeldMessage>,
    pub next_cursor: Option<String>,
    /// How long held mail waits (`MAILVEND_HOLD_FOR_DAYS`).
    pub hold_days: u32,
}

/// One held record and when it expires unreleased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldMessage {
    pub record: MessageRecord,
    pub expires_at: String,
}

/// How a routing rule's condition matches its field (case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The field contains the value.
    #[default]
    Contains,
    /// The value is a regular expression (Rust's `regex` syntax: linear time, no
    /// backreferences) found anywhere in the field.
    Regex,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Contains => "contains",
            MatchKind::Regex => "regex",
        }
    }

    pub fn parse(v: &str) -> Option<MatchKind> {
        [MatchKind::Contains, MatchKind::Regex]
            .into_iter()
            .find(|k| k.as_str() == v)
    }
}

/// One condition of a routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    #[serde(default)]
    pub kind: MatchKind,
    pub value: String,
}

/// What a routing rule does to mail it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleAction {
    /// Also send it to `address` (in the same send).
    AddRecipient { address: String },
    /// Send it to `address` instead of the mapping's recipients.
    Redirect { address: String },
    /// Send it nowhere (logged as rejected, its raw copy not kept).
    Drop,
    /// Put `tag` in front of the subject.
    TagSubject { tag: String },
}

impl RuleAction {
    pub fn kind(&self) -> &'static str {
        match self {
            RuleAction::AddRecipient { .. } => "add_recipient",
            RuleAction::Redirect { .. } => "redirect",
            RuleAction::Drop => "drop",
            RuleAction::TagSubject { .. } => "tag_subject",
        }
    }

    /// In words, for people.
    pub fn describe(&self) -> String {
        match self {
            RuleAction::AddRecipient { address } => format!("also send to {address}"),
            RuleAction::Redirect { address } => format!("redirect to {address}"),
            RuleAction::Drop => "drop".to_string(),
            RuleAction::TagSubject { tag } => format!("tag the subject {tag}"),
        }
    }
}

/// A routing rule: mail whose sender, subject and recipient match every condition given
/// (at least one) gets the action. Rules are tried in order; the first that matches acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// A label for people and the message log (1 to 80 characters).
    pub name: String,
    /// The envelope sender.
    #[serde(default)]
    pub sender: Option<RuleMatch>,
    #[serde(default)]
    pub subject: Option<RuleMatch>,
    /// The vended address the mail was sent to.
    #[serde(default)]
    pub recipient: Option<RuleMatch>,
    pub action: RuleAction,
}

impl RoutingRule {
    /// The conditions it has, by field name.
    pub fn conditions(&self) -> Vec<(&'static str, &RuleMatch)> {
        [
            ("sender", &self.sender),
            ("subject", &self.subject),
            ("recipient", &self.recipient),
        ]
        .into_iter()
        .filter_map(|(f, m)| m.as_ref().map(|m| (f, m)))
        .collect()
    }
}

/// The routing rules, in order (`GET`/`PUT /api/v1/rules`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoutingRules {
    pub rules: Vec<RoutingRule>,
}

/// A rule as the Settings form posts it: every field a plain string, so the same form works
/// without JavaScript and a preview can be linked to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDraft {
    pub name: String,
    /// `contains` or `regex`, for each condition.
    pub sender_kind: String,
    pub sender: String,
    pub subject_kind: String,
    pub subject: String,
    pub recipient_kind: String,
    pub recipient: String,
    /// `add_recipient`, `redirect`, `drop` or `tag_subject`.
    pub action: String,
    /// The address (add_recipient, redirect) or the tag (tag_subject).
    pub target: String,
}

impl RuleDraft {
    /// Whether nothing was filled in (the form not used yet).
    pub fn is_empty(&self) -> bool {
        [&self.name, &self.sender, &self.subject, &self.recipient]
            .iter()
            .all(|v| v.trim().is_empty())
    }

    /// The rule it describes; what a form field holds that no rule can (an unknown kind or
    /// action, a missing address) is named by its field. The server checks the rest.
    pub fn to_rule(&self) -> Result<RoutingRule, (&'static str, String)> {
        let condition = |field: &'static str, kind: &str, value: &str| {
            let value = value.trim();
            if value.is_empty() {
                return Ok(None);
            }
            let kind = match kind {
                "" => MatchKind::Contains,
                k => MatchKind::parse(k)
                    .ok_or((field, format!("expected contains or regex, got {k:?}")))?,
            };
            Ok(Some(RuleMatch {
                kind,
                value: value.to_string(),
            }))
        };
        let target = self.target.trim().to_string();
        let needs = |what: &str| ("target", format!("give the {what} for this action"));
        let action = match self.action.as_str() {
            "add_recipient" if !target.is_empty() => RuleAction::AddRecipient { address: target },
            "redirect" if !target.is_empty() => RuleAction::Redirect { address: target },
            "tag_subject" if !target.is_empty() => RuleAction::TagSubject { tag: target },
            "add_recipient" | "redirect" => return Err(needs("address")),
            "tag_subject" => return Err(needs("tag")),
            "drop" => RuleAction::Drop,
            other => {
                return Err((
                    "action",
                    format!("expected add_recipient, redirect, drop or tag_subject, got {other:?}"),
                ))
            }
        };
        Ok(RoutingRule {
            name: self.name.trim().to_string(),
            sender: condition("sender", &self.sender_kind, &self.sender)?,
            subject: condition("subject", &self.subject_kind, &self.subject)?,
            recipient: condition("recipient", &self.recipient_kind, &self.recipient)?,
            action,
        })
    }
}

/// A change to one rule of the list, named by its number and name (so a list changed by
/// someone else meanwhile is not edited at the wrong place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleChange {
    Up,
    Down,
    Delete,
}

impl RuleChange {
    pub fn parse(v: &str) -> Option<RuleChange> {
        match v {
            "up" => Some(RuleChange::Up),
            "down" => Some(RuleChange::Down),
            "delete" => Some(RuleChange::Delete),
            _ => None,
        }
    }
}

/// The routing rules as the Settings page shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesView {
    pub rules: Vec<RoutingRule>,
    /// Why stored rules are skipped (each named by its number): ones that no longer pass the
    /// checks, as after the served domain changed. Mail is not held up for them, but an admin
    /// must see that they do nothing.
    pub skipped: Vec<String>,
}

/// What a rule would have matched among the latest messages (a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RuleDryRun {
    /// How many of the latest records were looked at.
    pub examined: u32,
    /// Those the rule's conditions match, newest first.
    pub matched: Vec<MessageRecord>,
}

/// Where an admin releases held mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReleaseTarget {
    /// Where it would go without its class's policy: the mapping's owner, or the recipient
    /// whose copy it is.
    Owner,
    /// The releasing admin's own mailbox (a signed-in admin only: a token has none).
    Me,
}

impl ReleaseTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseTarget::Owner => "owner",
            ReleaseTarget::Me => "me",
        }
    }

    pub fn parse(v: &str) -> Option<ReleaseTarget> {
        [ReleaseTarget::Owner, ReleaseTarget::Me]
            .into_iter()
            .find(|t| t.as_str() == v)
    }
}

/// The policy of each class of mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClassPolicies {
    pub credential: ClassPolicy,
    pub security: ClassPolicy,
    pub account: ClassPolicy,
    pub billing: ClassPolicy,
    pub notice: ClassPolicy,
    pub other: ClassPolicy,
}

impl ClassPolicies {
    pub fn of(&self, class: MailClass) -> ClassPolicy {
        match class {
            MailClass::Credential => self.credential,
            MailClass::Security => self.security,
            MailClass::Account => self.account,
            MailClass::Billing => self.billing,
            MailClass::Notice => self.notice,
            MailClass::Other => self.other,
        }
    }

    pub fn set(&mut self, class: MailClass, policy: ClassPolicy) {
        let slot = match class {
            MailClass::Credential => &mut self.credential,
            MailClass::Security => &mut self.security,
            MailClass::Account => &mut self.account,
            MailClass::Billing => &mut self.billing,
            MailClass::Notice => &mut self.notice,
            MailClass::Other => &mut self.other,
        };
        *slot = policy;
    }
}

/// A change to the class policies; absent classes stay as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClassPoliciesPatch {
    pub credential: Option<ClassPolicy>,
    pub security: Option<ClassPolicy>,
    pub account: Option<ClassPolicy>,
    pub billing: Option<ClassPolicy>,
    pub notice: Option<ClassPolicy>,
    pub other: Option<ClassPolicy>,
}

impl ClassPoliciesPatch {
    /// The classes it changes, with their new policy.
    pub fn changes(&self) -> Vec<(MailClass, ClassPolicy)> {
        [
            (MailClass::Credential, self.credential),
            (MailClass::Security, self.security),
            (MailClass::Account, self.account),
            (MailClass::Billing, self.billing),
            (MailClass::Notice, self.notice),
            (MailClass::Other, self.other),
        ]
        .into_iter()
        .filter_map(|(c, p)| p.map(|p| (c, p)))
        .collect()
    }
}

/// Where one recipient of one received message ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Claimed by a worker that has not finished yet.
    Processing,
    Forwarded,
    Undeliverable,
    Rejected,
    DeadLetter,
    /// Kept in mailvend by its class's policy until an admin releases it or it expires.
    Held,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Processing => "processing",
            Outcome::Forwarded => "forwarded",
            Outcome::Undeliverable => "undeliverable",
            Outcome::Rejected => "rejected",
            Outcome::DeadLetter => "dead_letter",
            Outcome::Held => "held",
        }
    }

    /// In words, for people.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Processing => "processing",
            Outcome::Forwarded => "forwarded",
            Outcome::Undeliverable => "undeliverable",
            Outcome::Rejected => "rejected",
            Outcome::DeadLetter => "dead letter",
            Outcome::Held => "held",
        }
    }

    pub fn parse(v: &str) -> Option<Outcome> {
        [
            Outcome::Processing,
            Outcome::Forwarded,
            Outcome::Undeliverable,
            Outcome::Rejected,
            Outcome::DeadLetter,
            Outcome::Held,
        ]
        .into_iter()
        .find(|o| o.as_str() == v)
    }
}

/// What became of a forwarded message after the mailer took it, from the mailer's delivery
/// events (SES: the configuration set's event destination). Ordered: a record only ever moves
/// to a later state (docs/api.md, Delivery events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// The mailer accepted it; no event yet.
    Sent,
    /// The receiving server has not taken it yet; the mailer keeps trying.
    Delayed,
    /// The receiving server took it.
    Delivered,
    /// It came back (permanent or transient; the detail says which and why), or the mailer
    /// refused it.
    Bounced,
    /// The recipient marked it as spam.
    Complained,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 5] = [
        DeliveryState::Sent,
        DeliveryState::Delayed,
        DeliveryState::Delivered,
        DeliveryState::Bounced,
        DeliveryState::Complained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Sent => "sent",
            DeliveryState::Delayed => "delayed",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Bounced => "bounced",
            DeliveryState::Complained => "complained",
        }
    }

    pub fn parse(v: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == v)
    }

    /// Its place in the order, as the stores keep it for their conditional writes.
    pub fn rank(self) -> u8 {
        self as u8
    }
}

/// A forwarded record's delivery: its state, what the last event said, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryStatus {
    pub state: DeliveryState,
    /// The event in words (bounce type and diagnostic, SMTP response, complaint type…).
    pub detail: String,
    /// When the event happened (RFC 3339, UTC), as the mailer reported it.
    pub at: String,
}

/// The message log: one record per recipient of every received message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageRecord {
    /// `<SES message id>/<recipient>`: one per recipient, so retries find it.
    pub id: String,
    pub ses_message_id: String,
    pub recipient: String,
    pub sender: String,
    pub subject: Option<String>,
    pub size: u64,
    /// `spam:PASS virus:PASS spf:PASS dkim:PASS dmarc:PASS`
    pub verdicts: String,
    pub outcome: Outcome,
    /// Who received it (the owner or the admin address), when it was forwarded.
    pub delivered_to: Option<String>,
    /// The decision, in words.
    pub detail: String,
    pub mailer_message_id: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    /// RFC 3339, UTC.
    pub received_at: String,
    pub updated_at: String,
    /// For a forwarded record: what became of the send (absent before forwarding, and for
    /// records forwarded before delivery events were kept).
    #[serde(default)]
    pub delivery: Option<DeliveryStatus>,
    /// What kind of mail it is (absent for records kept before classes were judged, and for
    /// mail refused unread).
    #[serde(default)]
    pub class: Option<MailClass>,
    /// The class policy applied to it (absent when none was: mail refused or undeliverable
    /// before a policy came into it, and records kept before policies existed).
    #[serde(default)]
    pub policy: Option<ClassPolicy>,
}

impl MessageRecord {
    pub fn id_for(ses_message_id: &str, recipient: &str) -> String {
        format!("{ses_message_id}/{recipient}")
    }

    /// The record of one of a mapping's other recipients (`destination`) for the mail to
    /// `recipient`: each destination has its own, so it is delivered, dead-lettered and
    /// replayed on its own.
    pub fn id_for_destination(ses_message_id: &str, recipient: &str, destination: &str) -> String {
        format!("{ses_message_id}/{recipient}/{destination}")
    }

    /// The destination an `id_for_destination` id names; `None` for the record of the
    /// address itself. (A local part may hold a `/`, a domain may not: the destination starts
    /// after the first `/` past the recipient's `@`.)
    pub fn destination_of(id: &str) -> Option<&str> {
        let (_, rest) = id.split_once('/')?;
        let at = rest.find('@')?;
        let slash = rest[at..].find('/')? + at;
        Some(&rest[slash + 1..]).filter(|d| !d.is_empty())
    }
}

/// What to do with mail whose spam verdict is FAIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SpamPolicy {
    /// Forward it unchanged.
    Forward,
    /// Forward it with a tag in front of the subject (the default).
    #[default]
    Tag,
    /// Do not forward; log it as rejected.
    Reject,
}

impl SpamPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            SpamPolicy::Forward => "forward",
            SpamPolicy::Tag => "tag",
            SpamPolicy::Reject => "reject",
        }
    }

    pub fn parse(v: &str) -> Option<SpamPolicy> {
        [SpamPolicy::Forward, SpamPolicy::Tag, SpamPolicy::Reject]
            .into_iter()
            .find(|p| p.as_str() == v)
    }
}

/// What to do with mail that fails DMARC while the sender's domain asks receivers to
/// quarantine or reject it: most likely not from whom its From names (issue 22 item 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DmarcPolicy {
    /// Forward it unchanged (the verdict is still in its `Authentication-Results`).
    Forward,
    /// Forward it with `[DMARC FAIL]` in front of the subject (the default).
    #[default]
    Tag,
    /// Do not forward; log it as rejected.
    Reject,
}

impl DmarcPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcPolicy::Forward => "forward",
            DmarcPolicy::Tag => "tag",
            DmarcPolicy::Reject => "reject",
        }
    }

    pub fn parse(v: &str) -> Option<DmarcPolicy> {
        [DmarcPolicy::Forward, DmarcPolicy::Tag, DmarcPolicy::Reject]
            .into_iter()
            .find(|p| p.as_str() == v)
    }
}

/// The settings an admin changes at run time (the rest is configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Settings {
    /// Unknown, suspended and deleted addresses go to the admin address. Anyone who learns
    /// the domain can then make the admin mailbox receive anything.
    pub catch_all: bool,
    pub spam_policy: SpamPolicy,
    pub dmarc_policy: DmarcPolicy,
    /// What is done with each class of mail that would be forwarded.
    pub class_policies: ClassPolicies,
    /// The restricted group (`MAILVEND_RESTRICTED_TO`, configuration): who gets mail of a
    /// `restricted` class. Empty: none is configured, and no class may be restricted.
    pub restricted_to: Vec<String>,
    /// How long held mail waits for an admin before it expires (`MAILVEND_HOLD_FOR`, in
    /// days, configuration).
    pub hold_days: u32,
}

/// A change to the settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub catch_all: Option<bool>,
    pub spam_policy: Option<SpamPolicy>,
    pub dmarc_policy: Option<DmarcPolicy>,
    pub class_policies: Option<ClassPoliciesPatch>,
}

/// An owner's own view: their addresses and the latest mail to them, in types of its own
/// so that nothing meant for admins (notes, who edited, SES error text, the admin address
/// when catch-all took the mail) can reach an owner by being added to the admin's types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyAddresses {
    pub mappings: Vec<OwnedAddress>,
    /// Newest first, at most 50; only mail from since the address became theirs.
    pub messages: Vec<OwnedMessage>,
}

/// One of an owner's addresses, as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedAddress {
    pub address: String,
    pub account_name: String,
    pub account_type: String,
    pub status: MappingStatus,
    pub aws_account_id: Option<String>,
}

/// Mail to one of an owner's addresses, as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedMessage {
    pub received_at: String,
    pub recipient: String,
    pub sender: String,
    pub subject: Option<String>,
    /// `forwarded` only when it was forwarded to them; otherwise why not, in a word.
    pub outcome: Outcome,
}

/// How many mappings are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingCounts {
    pub active: u64,
    pub suspended: u64,
    pub deleted: u64,
}

/// Message-log records per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub forwarded: u64,
    pub undeliverable: u64,
    pub rejected: u64,
    pub dead_letter: u64,
    pub processing: u64,
    #[serde(default)]
    pub held: u64,
}

impl OutcomeCounts {
    pub fn add(&mut self, outcome: Outcome, n: u64) {
        let slot = match outcome {
            Outcome::Forwarded => &mut self.forwarded,
            Outcome::Undeliverable => &mut self.undeliverable,
            Outcome::Rejected => &mut self.rejected,
            Outcome::DeadLetter => &mut self.dead_letter,
            Outcome::Processing => &mut self.processing,
            Outcome::Held => &mut self.held,
        };
        *slot += n;
    }

    pub fn merge(&mut self, other: &OutcomeCounts) {
        self.forwarded += other.forwarded;
        self.undeliverable += other.undeliverable;
        self.rejected += other.rejected;
        self.dead_letter += other.dead_letter;
        self.processing += other.processing;
        self.held += other.held;
    }

    pub fn total(&self) -> u64 {
        self.forwarded
            + self.undeliverable
            + self.rejected
            + self.dead_letter
            + self.processing
            + self.held
    }
}

/// The mail received on one UTC day (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayVolume {
    pub day: String,
    pub counts: OutcomeCounts,
}

/// What the overview page shows beyond the instance's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewStats {
    pub mappings: MappingCounts,
    /// Records received in the last 24 hours, by outcome.
    pub last_24h: OutcomeCounts,
    /// The last 14 UTC days, oldest first, every day present (zeros included).
    pub daily: Vec<DayVolume>,
    /// Recipient mailboxes marked unreachable, by mailbox.
    #[serde(default)]
    pub unreachable: Vec<Unreachable>,
}

/// What the vend form needs to know to validate and preview as the user types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendOptions {
    pub domain: String,
    pub counter_width: u8,
    pub account_types: Vec<String>,
}

/// A vend as the dashboard's form sends it. Tags are `key=value` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendForm {
    pub owner: String,
    /// Other recipients, one address a line.
    #[serde(default)]
    pub recipients: String,
    pub account_type: String,
    #[serde(default)]
    pub business_unit: String,
    #[serde(default)]
    pub application: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub account_name: String,
    #[serde(default)]
    pub address: String,
}

/// An edit as the dashboard's form sends it: every field present, empty clears the optional
/// ones. Tags are `key=value` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditForm {
    pub owner: String,
    /// Other recipients, one address a line (empty: the owner alone).
    #[serde(default)]
    pub recipients: String,
    pub status: String,
    pub account_type: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub aws_account_id: String,
    #[serde(default)]
    pub notes: String,
}

/// Filters of the Addresses page (all optional; empty means "any").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub account_type: String,
    /// `true`: only mappings with an unreachable recipient.
    #[serde(default)]
    pub unreachable: String,
    /// Only mappings linked to an account in this state (`AccountState::as_str`).
    #[serde(default)]
    pub account_state: String,
    #[serde(default)]
    pub cursor: String,
}

/// Filters of the Messages page. Dates are `YYYY-MM-DD` (UTC), both inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageQuery {
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// Only forwarded mail whose delivery is in this state (`DeliveryState::as_str`).
    #[serde(default)]
    pub delivery: String,
    /// Only this kind of mail (`MailClass::as_str`).
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub cursor: String,
}

/// One address with its recent mail and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressDetail {
    pub mapping: Mapping,
    /// Newest first, at most 50.
    pub messages: Vec<MessageRecord>,
    /// Oldest first.
    pub audit: Vec<AuditEntry>,
}

/// One record of the message log with what is known of the message itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDetail {
    pub record: MessageRecord,
    /// The header block of the raw message, when it was kept (undeliverable and dead
    /// letters), decoded lossily as UTF-8 for display.
    pub headers: Option<String>,
}

/// An API token as the dashboard lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// `vend` or `admin`.
    pub scope: String,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
    /// Past `expires_at` when the list was made.
    pub expired: bool,
    /// To the minute.
    pub last_used_at: Option<String>,
}

/// The settings page: what an admin may change and the configuration around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub settings: Settings,
    pub domain: String,
    pub admin_address: String,
    pub from_address: String,
    /// `<public URL>/sns`: what the SNS subscription must point at.
    pub sns_endpoint: String,
    pub sns_topics: Vec<String>,
    pub store: String,
    pub mailer: String,
    pub retention_days: u32,
}

/// How a notice looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Success,
    Error,
}

/// A message for the user after an action: a toast with JavaScript, a one-time notice on the
/// next page without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub tone: Tone,
    pub text: String,
    /// A value shown once (a new token's secret), rendered for copying.
    pub secret: Option<String>,
}

impl Notice {
    pub fn success(text: impl Into<String>) -> Notice {
        Notice {
            tone: Tone::Success,
            text: text.into(),
            secret: None,
        }
    }
}

/// `key=value` lines (blank lines ignored) into a map; the error names the line.
pub fn parse_tags(text: &str) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut tags = std::collections::BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected key=value", n + 1))?;
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("line {}: the key is empty", n + 1));
        }
        if tags.insert(k.to_string(), v.trim().to_string()).is_some() {
            return Err(format!("line {}: the key {k:?} appears twice", n + 1));
        }
    }
    Ok(tags)
}

/// The inverse of `parse_tags`, for filling the edit form.
pub fn format_tags(tags: &std::collections::BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    #[test]
    fn tags_parse_and_round_trip() {
        let t = parse_tags("  BusinessUnit = Blue-Origin \n\nCostCentre=1=2\n").unwrap();
        assert_eq!(t["BusinessUnit"], "Blue-Origin");
        assert_eq!(t["CostCentre"], "1=2");
        assert_eq!(parse_tags(&format_tags(&t)).unwrap(), t);
        for (bad, want) in [
            ("a=1\nnope", "line 2: expected key=value"),
            ("=x", "line 1: the key is empty"),
            ("a=1\na=2", "line 2: the key \"a\" appears twice"),
        ] {
            assert_eq!(parse_tags(bad).unwrap_err(), want, "{bad:?}");
        }
    }

    #[test]
    fn outcome_counts_add_up() {
        let mut c = OutcomeCounts::default();
        c.add(Outcome::Forwarded, 3);
        c.add(Outcome::DeadLetter, 1);
        let mut d = c;
        d.merge(&c);
        assert_eq!((c.total(), d.total(), d.forwarded), (4, 8, 6));
    }
}
