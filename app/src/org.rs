//! The organization as mailvend last read it (AWS Organizations `ListAccounts`): each
//! account, how it stands against the mappings (its drift), and the link a mapping keeps to
//! its account.

use serde::{Deserialize, Serialize};

/// An account's state in Organizations (`State`, not the retired `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountState {
    PendingActivation,
    Active,
    Suspended,
    PendingClosure,
    Closed,
    /// A state newer than this version knows.
    Unknown,
}

impl AccountState {
    pub const ALL: [AccountState; 6] = [
        AccountState::PendingActivation,
        AccountState::Active,
        AccountState::Suspended,
        AccountState::PendingClosure,
        AccountState::Closed,
        AccountState::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::PendingActivation => "PENDING_ACTIVATION",
            AccountState::Active => "ACTIVE",
            AccountState::Suspended => "SUSPENDED",
            AccountState::PendingClosure => "PENDING_CLOSURE",
            AccountState::Closed => "CLOSED",
            AccountState::Unknown => "UNKNOWN",
        }
    }

    /// Any case; an unknown name is `Unknown` (AWS adds states).
    pub fn parse(v: &str) -> AccountState {
        AccountState::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(v))
            .unwrap_or(AccountState::Unknown)
    }

    /// Closing, closed or suspended: the account is out of use, but its mail (closure and
    /// reinstatement notices through the 90 days after closing) must still arrive.
    pub fn is_out_of_use(self) -> bool {
        matches!(
            self,
            AccountState::Suspended | AccountState::PendingClosure | AccountState::Closed
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            AccountState::PendingActivation => "Pending activation",
            AccountState::Active => "Active",
            AccountState::Suspended => "Suspended",
            AccountState::PendingClosure => "Closing",
            AccountState::Closed => "Closed",
            AccountState::Unknown => "Unknown",
        }
    }
}

/// How an account stands against the mappings; `None` when it is as it should be (its
/// email is a mapping's address and the mapping records this account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// Its email is on the domain, but no mapping has that address: mail for it is not
    /// forwarded (adopt it).
    Unmapped,
    /// Its email is not on the domain (a candidate to move onto it).
    OffDomain,
    /// Closing, closed or suspended: its mapping keeps forwarding, flagged, never reusable.
    Closed,
    /// The account and the mappings disagree: the mapping at its email records another
    /// account, or a mapping recording this account has another address.
    Conflict,
}

impl Drift {
    pub const ALL: [Drift; 4] = [
        Drift::Unmapped,
        Drift::OffDomain,
        Drift::Closed,
        Drift::Conflict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Drift::Unmapped => "unmapped",
            Drift::OffDomain => "off_domain",
            Drift::Closed => "closed",
            Drift::Conflict => "conflict",
        }
    }

    pub fn parse(v: &str) -> Option<Drift> {
        Drift::ALL.into_iter().find(|d| d.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            Drift::Unmapped => "No mapping",
            Drift::OffDomain => "Off the domain",
            Drift::Closed => "Closed",
            Drift::Conflict => "Conflict",
        }
    }
}

/// One account of the organization, as the last sync read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrgAccount {
    /// 12 digits.
    pub account_id: String,
    pub name: String,
    /// The root user's email, lower-cased.
    pub email: String,
    pub state: AccountState,
    /// When it joined the organization (RFC 3339, UTC).
    pub joined_at: Option<String>,
    /// The mapping whose address is this account's email, if there is one.
    pub address: Option<String>,
    pub drift: Option<Drift>,
    /// For a conflict, what disagrees.
    pub drift_detail: Option<String>,
    /// The sync that read it (RFC 3339, UTC).
    pub synced_at: String,
}

/// What a mapping records of its account, written by the sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LinkedAccount {
    pub id: String,
    pub name: String,
    pub state: AccountState,
    pub joined_at: Option<String>,
}

/// What one sync found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SyncSummary {
    pub synced_at: String,
    /// Accounts the organization listed.
    pub accounts: u32,
    /// Mappings whose account link the sync wrote or changed (each audited).
    pub linked: u32,
    pub unmapped: u32,
    pub off_domain: u32,
    pub closed: u32,
    pub conflict: u32,
    /// Live mappings vended more than `unused_after_days` ago that no account uses.
    pub unused_total: u32,
    /// The first of them, by address (at most `MAX_UNUSED_LISTED`).
    pub unused: Vec<String>,
    pub unused_after_days: u32,
}

/// How many unused addresses a summary lists by name.
pub const MAX_UNUSED_LISTED: usize = 200;

/// Filters of the Accounts page and `GET /api/v1/accounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountQuery {
    /// A `Drift` name, or empty for every account.
    #[serde(default)]
    pub drift: String,
    #[serde(default)]
    pub cursor: String,
}

/// What the AWS accounts page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsView {
    /// Whether the server reads the organization (`MAILVEND_ORGANIZATIONS=on`).
    pub on: bool,
    pub last_sync: Option<SyncSummary>,
    pub page: crate::model::Page<OrgAccount>,
    /// For the adopt form.
    pub account_types: Vec<String>,
    /// Whether root email changes are on (`MAILVEND_ORGANIZATIONS_ROOT_EMAILS`).
    pub moves_on: bool,
    /// The root email change jobs in account id order (at most a page).
    pub jobs: Vec<RootEmailJob>,
}

/// Where a root email change job stands (docs/api.md, Root email changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its turn: starts are paced to respect the API's throttling.
    Queued,
    /// `StartPrimaryEmailUpdate` was called: AWS mails a code to the new address.
    Requested,
    /// The verification mail arrived and its code was read (held in memory only).
    CodeReceived,
    /// `AcceptPrimaryEmailUpdate` took the code: the root email is the new address.
    Accepted,
    /// Stopped; `reason` says why. It can be retried.
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Requested,
        JobState::CodeReceived,
        JobState::Accepted,
        JobState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Requested => "requested",
            JobState::CodeReceived => "code_received",
            JobState::Accepted => "accepted",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(v: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == v)
    }

    /// Not finished: at most one such job per account and per address.
    pub fn is_open(self) -> bool {
        !matches!(self, JobState::Accepted | JobState::Failed)
    }

    pub fn label(self) -> &'static str {
        match self {
            JobState::Queued => "Queued",
            JobState::Requested => "Waiting for AWS's code",
            JobState::CodeReceived => "Code received",
            JobState::Accepted => "Done",
            JobState::Failed => "Failed",
        }
    }
}

/// Why a job failed, as `RootEmailJob::reason` names it.
pub const JOB_REASONS: [&str; 7] = [
    "conflict",
    "expired",
    "rejected_code",
    "throttled",
    "access_denied",
    "not_found",
    "failed",
];

/// One account's root email change onto the domain: the latest job for that account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RootEmailJob {
    pub account_id: String,
    pub account_name: String,
    /// The root email before the change.
    pub previous_email: String,
    /// The new root email: a mapping's address on the domain.
    pub address: String,
    pub state: JobState,
    /// For a failed job: one of `JOB_REASONS`.
    pub reason: Option<String>,
    /// What happened last, in words (never the code).
    pub detail: String,
    /// How many times it was started (a retry adds one).
    pub attempts: u32,
    /// Codes AWS refused during this attempt (codes of other requests to the address may
    /// arrive first); at 3 the job fails `rejected_code`.
    #[serde(default)]
    pub refused_codes: u32,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

/// The body of `POST /api/v1/accounts/move`: the accounts to move onto the domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// At most `MAX_MOVE` account ids.
    pub account_ids: Vec<String>,
    /// Who gets the moved accounts' mail; default: each account's current root email (the
    /// mailbox that gets it today).
    #[serde(default)]
    pub owner: Option<String>,
}

/// How many accounts one move request may name.
pub const MAX_MOVE: usize = 100;

/// What became of one account of a move request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MoveResult {
    pub account_id: String,
    /// The job queued for it, or `null` when it was refused (`error` says why).
    pub job: Option<RootEmailJob>,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_their_serde_names() {
        for s in AccountState::ALL {
            assert_eq!(AccountState::parse(s.as_str()), s);
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
        }
        for d in Drift::ALL {
            assert_eq!(Drift::parse(d.as_str()), Some(d));
            assert_eq!(
                serde_json::to_value(d).unwrap(),
                serde_json::Value::String(d.as_str().into())
            );
        }
        for j in JobState::ALL {
            assert_eq!(JobState::parse(j.as_str()), Some(j));
            assert_eq!(
                serde_json::to_value(j).unwrap(),
                serde_json::Value::String(j.as_str().into())
            );
        }
        assert!(JobState::Requested.is_open() && !JobState::Failed.is_open());
        assert_eq!(AccountState::parse("closed"), AccountState::Closed);
        assert_eq!(AccountState::parse("ARCHIVED"), AccountState::Unknown);
        assert_eq!(Drift::parse("Closed"), None);
    }
}
