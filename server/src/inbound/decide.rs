//! What happens to one envelope recipient of a received message (docs/product.md §2.6). Pure: the
//! pipeline looks the mapping up and passes it in, so every rule has a table test.

pub use app::model::SpamPolicy;
use app::model::{Mapping, MappingStatus};

use crate::inbound::{Verdict, Verdicts};

/// The settings a decision depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub domain: String,
    pub from_address: String,
    pub admin_address: String,
    pub catch_all: bool,
    pub spam: SpamPolicy,
}

/// Why a message goes where it goes, in words for the message log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// An active mapping: the owner gets it.
    Owner,
    /// No active mapping, catch-all on: the admin gets it.
    CatchAll,
    /// Mail to the forwarder's own address (bounces, replies to it): the admin gets it.
    ToForwarder,
    UnknownAddress,
    Suspended,
    Deleted,
    Virus,
    Spam,
    OtherDomain,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Owner => "forwarded to the mapping's owner",
            Reason::CatchAll => "no active mapping; catch-all sent it to the admin address",
            Reason::ToForwarder => {
                "sent to the forwarder's own address; passed to the admin address"
            }
            Reason::UnknownAddress => "no mapping for this address and catch-all is off",
            Reason::Suspended => "the mapping is suspended and catch-all is off",
            Reason::Deleted => "the mapping was deleted and catch-all is off",
            Reason::Virus => "SES found a virus; never forwarded",
            Reason::Spam => "SES marked it as spam and the spam policy rejects spam",
            Reason::OtherDomain => "the recipient is not on the configured domain",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Forward {
        to: String,
        reason: Reason,
        /// Put the spam tag in front of the subject.
        tag_spam: bool,
    },
    /// Kept in the log with its raw message; nobody receives it.
    Undeliverable { reason: Reason },
    /// Refused by policy (virus, spam, not our domain).
    Rejected { reason: Reason },
}

/// `mapping` is the mapping for `recipient`, if any (deleted ones included).
pub fn decide(
    recipient: &str,
    mapping: Option<&Mapping>,
    verdicts: &Verdicts,
    policy: &Policy,
) -> Decision {
    let recipient = app::address::EmailAddress::key(recipient);
    let on_domain = recipient
        .rsplit_once('@')
        .is_some_and(|(_, d)| d == policy.domain);
    if !on_domain {
        return Decision::Rejected {
            reason: Reason::OtherDomain,
        };
    }
    if verdicts.virus == Verdict::Fail {
        return Decision::Rejected {
            reason: Reason::Virus,
        };
    }
    let spam = verdicts.spam == Verdict::Fail;
    if spam && policy.spam == SpamPolicy::Reject {
        return Decision::Rejected {
            reason: Reason::Spam,
        };
    }
    let tag_spam = spam && policy.spam == SpamPolicy::Tag;
    if recipient == policy.from_address {
        return Decision::Forward {
            to: policy.admin_address.clone(),
            reason: Reason::ToForwarder,
            tag_spam,
        };
    }
    let miss = match mapping.map(|m| (m.status, m)) {
        Some((MappingStatus::Active, m)) => {
            return Decision::Forward {
                to: m.owner.clone(),
                reason: Reason::Owner,
                tag_spam,
            }
        }
        Some((MappingStatus::Suspended, _)) => Reason::Suspended,
        Some((MappingStatus::Deleted, _)) => Reason::Deleted,
        None => Reason::UnknownAddress,
    };
    if policy.catch_all {
        Decision::Forward {
            to: policy.admin_address.clone(),
            reason: Reason::CatchAll,
            tag_spam,
        }
    } else {
        Decision::Undeliverable { reason: miss }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(catch_all: bool, spam: SpamPolicy) -> Policy {
        Policy {
            domain: "mail.example.com".into(),
            from_address: "forwarder@mail.example.com".into(),
            admin_address: "admin@example.org".into(),
            catch_all,
            spam,
        }
    }

    fn mapping(status: MappingStatus) -> Mapping {
        Mapping {
            address: "team-app-prod-001@mail.example.com".into(),
            account_name: "team-app-prod-001".into(),
            base: Some("team-app-prod".into()),
            counter: Some(1),
            account_type: "IT".into(),
            owner: "owner@example.org".into(),
            tags: Default::default(),
            status,
            aws_account_id: None,
            notes: None,
            created_at: "t".into(),
            created_by: "a".into(),
            updated_at: "t".into(),
            updated_by: "a".into(),
        }
    }

    fn verdicts(spam: Verdict, virus: Verdict) -> Verdicts {
        Verdicts {
            spam,
            virus,
            spf: Verdict::Pass,
            dkim: Verdict::Pass,
            dmarc: Verdict::Pass,
        }
    }

    fn forward(to: &str, reason: Reason, tag_spam: bool) -> Decision {
        Decision::Forward {
            to: to.into(),
            reason,
            tag_spam,
        }
    }

    #[test]
    fn the_rules_of_product_2_6() {
        use MappingStatus::*;
        use Verdict::*;
        let rcpt = "team-app-prod-001@mail.example.com";
        let active = mapping(Active);
        let suspended = mapping(Suspended);
        let deleted = mapping(Deleted);
        let cases: Vec<(&str, Option<&Mapping>, Verdicts, Policy, Decision)> = vec![
            (
                rcpt,
                Some(&active),
                verdicts(Pass, Pass),
                policy(false, SpamPolicy::Tag),
                forward("owner@example.org", Reason::Owner, false),
            ),
            (
                "Team-App-Prod-001@MAIL.example.com",
                Some(&active),
                verdicts(Pass, Pass),
                policy(false, SpamPolicy::Tag),
                forward("owner@example.org", Reason::Owner, false),
            ),
            (
                rcpt,
                None,
                verdicts(Pass, Pass),
                policy(false, SpamPolicy::Tag),
                Decision::Undeliverable {
                    reason: Reason::UnknownAddress,
                },
            ),
            (
                rcpt,
                Some(&suspended),
                verdicts(Pass, Pass),
                policy(false, SpamPolicy::Tag),
                Decision::Undeliverable {
                    reason: Reason::Suspended,
                },
            ),
            (
                rcpt,
                Some(&deleted),
                verdicts(Pass, Pass),
                policy(false, SpamPolicy::Tag),
                Decision::Undeliverable {
                    reason: Reason::Deleted,
                },
            ),
            (
                rcpt,
                None,
                verdicts(Pass, Pass),
                policy(true, SpamPolicy::Tag),
                forward("admin@example.org", Reason::CatchAll, false),
            ),
            (
                rcpt,
                Some(&suspended),
                verdicts(Pass, Pass),
                policy(true, SpamPolicy::Tag),
                forward("admin@example.org", Reason::CatchAll, false),
            ),
            (
                rcpt,
                Some(&deleted),
                verdicts(Pass, Pass),
                policy(true, SpamPolicy::Tag),
                forward("admin@example.org", Reason::CatchAll, false),
            ),
            // Virus FAIL is never forwarded, whatever else holds.
            (
                rcpt,
                Some(&active),
                verdicts(Pass, Fail),
                policy(true, SpamPolicy::Forward),
                Decision::Rejected {
                    reason: Reason::Virus,
                },
            ),
            // Spam FAIL follows the policy.
            (
                rcpt,
                Some(&active),
                verdicts(Fail, Pass),
                policy(false, SpamPolicy::Tag),
                forward("owner@example.org", Reason::Owner, true),
            ),
            (
                rcpt,
                Some(&active),
                verdicts(Fail, Pass),
                policy(false, SpamPolicy::Forward),
                forward("owner@example.org", Reason::Owner, false),
            ),
            (
                rcpt,
                Some(&active),
                verdicts(Fail, Pass),
                policy(false, SpamPolicy::Reject),
                Decision::Rejected {
                    reason: Reason::Spam,
                },
            ),
            // GRAY or failed scans are not FAIL.
            (
                rcpt,
                Some(&active),
                verdicts(Gray, ProcessingFailed),
                policy(false, SpamPolicy::Reject),
                forward("owner@example.org", Reason::Owner, false),
            ),
            // Bounces to the forwarder go to the admin, catch-all or not.
            (
                "forwarder@mail.example.com",
                None,
                verdicts(Pass, Pass),
                policy(false, SpamPolicy::Tag),
                forward("admin@example.org", Reason::ToForwarder, false),
            ),
            // Not our domain.
            (
                "someone@other.example",
                Some(&active),
                verdicts(Pass, Pass),
                policy(true, SpamPolicy::Tag),
                Decision::Rejected {
                    reason: Reason::OtherDomain,
                },
            ),
            (
                "not-an-address",
                None,
                verdicts(Pass, Pass),
                policy(true, SpamPolicy::Tag),
                Decision::Rejected {
                    reason: Reason::OtherDomain,
                },
            ),
        ];
        for (i, (recipient, m, v, p, want)) in cases.into_iter().enumerate() {
            assert_eq!(decide(recipient, m, &v, &p), want, "case {i}: {recipient}");
        }
    }
}
