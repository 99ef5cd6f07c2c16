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
        assert_eq!(AccountState::parse("closed"), AccountState::Closed);
        assert_eq!(AccountState::parse("ARCHIVED"), AccountState::Unknown);
        assert_eq!(Drift::parse("Closed"), None);
    }
}
