//! What happens to one envelope recipient of a received message (docs/product.md §2.6). Pure: the
//! pipeline looks the mapping up and reads the message's trail, so every rule has a table test.

use app::model::{ClassPolicies, ClassPolicy, MailClass, Mapping, MappingStatus};
pub use app::model::{DmarcPolicy, SpamPolicy};

use crate::inbound::trail::{LoopKey, Trail};
use crate::inbound::{Verdict, Verdicts};

/// The settings a decision depends on.
#[derive(Debug, Clone)]
pub struct Policy {
    pub domain: String,
    pub from_address: String,
    pub admin_address: String,
    pub catch_all: bool,
    pub spam: SpamPolicy,
    pub dmarc: DmarcPolicy,
    /// More `Received` headers than this and the message is taken for a loop.
    pub max_received: usize,
    /// Hold mail SES did not scan for viruses (missing or failed verdict) for an admin.
    pub hold_unscanned: bool,
    pub loop_key: LoopKey,
    /// What is done with each class of mail that would be forwarded.
    pub classes: ClassPolicies,
    /// Who gets mail of a `restricted` class (empty: nobody is configured).
    pub restricted_to: Vec<String>,
    /// The routing rules, tried after the class policy on what it forwards.
    pub rules: std::sync::Arc<crate::inbound::rules::Rules>,
}

/// Why a message goes where it goes, in words for the message log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// An active mapping: the owner gets it.
    Owner,
    /// An active mapping: one of its other recipients gets it (its own record).
    Recipient,
    /// The record of one of the mapping's other recipients, which the mapping no longer lists
    /// or no longer forwards to (the address's own record says where the mail went).
    NotARecipient,
    /// No active mapping, catch-all on: the admin gets it.
    CatchAll,
    /// Mail to the forwarder's own address (bounces, replies to it): the admin gets it.
    ToForwarder,
    UnknownAddress,
    Suspended,
    Deleted,
    Virus,
    Spam,
    /// Failed DMARC under an enforced policy, and the DMARC policy rejects such mail.
    DmarcFail,
    OtherDomain,
    /// It carries our own mark for the destination: we forwarded it there already.
    Loop,
    /// More `Received` hops than `MAILVEND_MAX_RECEIVED`.
    TooManyHops,
    /// A bounce or auto-reply to the forwarder's address: passing it on could start a loop
    /// between two robots.
    AutomaticToForwarder,
    /// SES did not say the message is free of viruses.
    Unscanned,
    /// Its class is restricted: the restricted group gets it instead of the owner.
    Restricted,
    /// Its class is restricted: the record of one of the mapping's other recipients, who
    /// gets nothing (the address's own record went to the group).
    RestrictedCopy,
    /// Its class is restricted but no restricted group is configured: held instead.
    RestrictedNoGroup,
    /// Its class's policy holds it for an admin.
    HeldByPolicy,
    /// Its class's policy drops it.
    Dropped,
    /// An admin released held mail to themselves.
    ReleasedToAdmin,
    /// A routing rule sent it elsewhere.
    Redirected,
    /// A routing rule redirected the message: the record of one of the mapping's other
    /// recipients, who gets nothing.
    RedirectedCopy,
    /// A routing rule drops it.
    DroppedByRule,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Owner => "forwarded to the mapping's owner",
            Reason::Recipient => "forwarded to one of the mapping's recipients",
            Reason::NotARecipient => {
                "not one of the mapping's recipients now; the address's own record says where it went"
            }
            Reason::CatchAll => "no active mapping; catch-all sent it to the admin address",
            Reason::ToForwarder => {
                "sent to the forwarder's own address; passed to the admin address"
            }
            Reason::UnknownAddress => "no mapping for this address and catch-all is off",
            Reason::Suspended => "the mapping is suspended and catch-all is off",
            Reason::Deleted => "the mapping was deleted and catch-all is off",
            Reason::Virus => "SES found a virus; never forwarded",
            Reason::Spam => "SES marked it as spam and the spam policy rejects spam",
            Reason::DmarcFail => {
                "it failed DMARC, the sender's domain asks for enforcement, and the DMARC policy rejects it"
            }
            Reason::OtherDomain => "the recipient is not on the configured domain",
            Reason::Loop => "loop: it carries our own mark for this destination; never forwarded again",
            Reason::TooManyHops => {
                "loop: more Received headers than MAILVEND_MAX_RECEIVED allows; never forwarded"
            }
            Reason::AutomaticToForwarder => {
                "a bounce or automatic reply to the forwarder's address; kept, not sent on"
            }
            Reason::Unscanned => {
                "held: SES gave no virus verdict (missing or failed scan); an admin can release it by replaying"
            }
            Reason::Restricted => "its class is restricted: sent to the restricted group only",
            Reason::RestrictedCopy => {
                "its class is restricted: not sent to this recipient (the restricted group got it)"
            }
            Reason::RestrictedNoGroup => {
                "held: its class is restricted but no restricted group is configured"
            }
            Reason::HeldByPolicy => "held by its class's policy until an admin releases it",
            Reason::Dropped => "dropped by its class's policy: sent nowhere, not kept",
            Reason::ReleasedToAdmin => "held mail released by an admin to themselves",
            Reason::Redirected => "redirected by a routing rule",
            Reason::RedirectedCopy => {
                "a routing rule redirected the message: not sent to this recipient"
            }
            Reason::DroppedByRule => "dropped by a routing rule: sent nowhere, not kept",
        }
    }
}

/// Tags put in front of the subject of a forward.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tags {
    pub spam: bool,
    pub dmarc: bool,
}

impl Tags {
    /// `[SPAM]`, `[DMARC FAIL]`, both, or nothing.
    pub fn subject_tag(self) -> Option<&'static str> {
        match (self.spam, self.dmarc) {
            (true, true) => Some("[SPAM] [DMARC FAIL]"),
            (true, false) => Some("[SPAM]"),
            (false, true) => Some("[DMARC FAIL]"),
            (false, false) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Forward {
        to: String,
        reason: Reason,
        tags: Tags,
    },
    /// Kept in the log with its raw message; nobody receives it.
    Undeliverable { reason: Reason },
    /// Refused by policy (virus, spam, DMARC, loop, not our domain).
    Rejected { reason: Reason },
    /// Would be forwarded, but is kept as a dead letter for an admin to release.
    Hold { reason: Reason },
    /// Would be forwarded, but its class's policy keeps it (outcome `held`).
    Held { reason: Reason },
}

/// What the policy of the message's `class` makes of `decision`, for the record whose copy
/// goes to `destination` (`None`: the address's own). Only mail that would be forwarded is
/// touched; the policy applied comes back with the result, to be kept on the record.
pub fn with_class_policy(
    decision: Decision,
    class: MailClass,
    destination: Option<&str>,
    trail: &Trail,
    policy: &Policy,
) -> (Decision, Option<ClassPolicy>) {
    let Decision::Forward { tags, .. } = decision else {
        return (decision, None);
    };
    let applied = policy.classes.of(class);
    let decided = match applied {
        ClassPolicy::Forward => decision,
        ClassPolicy::Hold => Decision::Held {
            reason: Reason::HeldByPolicy,
        },
        ClassPolicy::Drop => Decision::Rejected {
            reason: Reason::Dropped,
        },
        ClassPolicy::Restricted if policy.restricted_to.is_empty() => Decision::Held {
            reason: Reason::RestrictedNoGroup,
        },
        ClassPolicy::Restricted if destination.is_some() => Decision::Rejected {
            reason: Reason::RestrictedCopy,
        },
        ClassPolicy::Restricted => {
            let to = restricted_group(&policy.restricted_to);
            if trail.carries_mark(&policy.loop_key, &to) {
                Decision::Rejected {
                    reason: Reason::Loop,
                }
            } else {
                Decision::Forward {
                    to,
                    reason: Reason::Restricted,
                    tags,
                }
            }
        }
    };
    (decided, Some(applied))
}

/// The restricted group as one destination: its addresses, joined. One send carries them
/// all, its loop mark is the group's, and the record says who got it.
pub fn restricted_group(addresses: &[String]) -> String {
    addresses.join(", ")
}

/// `mapping` is the mapping for `recipient`, if any (deleted ones included); `trail` is what
/// the message's header says about its path.
pub fn decide(
    recipient: &str,
    mapping: Option<&Mapping>,
    verdicts: &Verdicts,
    trail: &Trail,
    policy: &Policy,
) -> Decision {
    decide_for(recipient, None, mapping, verdicts, trail, policy)
}

/// `decide` for the copy that goes to `destination`, one of the mapping's other recipients
/// (`None`: the address's own record, which goes to the owner). Every rule applies alike,
/// the loop mark is the destination's own, and a destination the active mapping does not
/// list (any more) gets nothing: catch-all and the forwarder's mail are the address's own
/// record's to send.
pub fn decide_for(
    recipient: &str,
    destination: Option<&str>,
    mapping: Option<&Mapping>,
    verdicts: &Verdicts,
    trail: &Trail,
    policy: &Policy,
) -> Decision {
    let recipient = app::address::EmailAddress::key(recipient);
    let on_domain = recipient
        .rsplit_once('@')
        .is_some_and(|(_, d)| d == policy.domain);
    let reject = |reason| Decision::Rejected { reason };
    if !on_domain {
        return reject(Reason::OtherDomain);
    }
    if verdicts.virus == Verdict::Fail {
        return reject(Reason::Virus);
    }
    if trail.received > policy.max_received {
        return reject(Reason::TooManyHops);
    }
    let spam = verdicts.spam == Verdict::Fail;
    if spam && policy.spam == SpamPolicy::Reject {
        return reject(Reason::Spam);
    }
    let spoofed = verdicts.fails_enforced_dmarc();
    if spoofed && policy.dmarc == DmarcPolicy::Reject {
        return reject(Reason::DmarcFail);
    }
    let (to, reason) = if recipient == policy.from_address {
        if trail.automatic {
            return Decision::Undeliverable {
                reason: Reason::AutomaticToForwarder,
            };
        }
        (policy.admin_address.clone(), Reason::ToForwarder)
    } else {
        match mapping.map(|m| (m.status, m)) {
            Some((MappingStatus::Active, m)) => (m.owner.clone(), Reason::Owner),
            other => {
                let miss = match other {
                    Some((MappingStatus::Suspended, _)) => Reason::Suspended,
                    Some((MappingStatus::Deleted, _)) => Reason::Deleted,
                    _ => Reason::UnknownAddress,
                };
                if !policy.catch_all {
                    return Decision::Undeliverable { reason: miss };
                }
                (policy.admin_address.clone(), Reason::CatchAll)
            }
        }
    };
    let (to, reason) = match (destination, reason, mapping) {
        (None, ..) => (to, reason),
        (Some(d), Reason::Owner, Some(m))
            if m.recipients.iter().any(|r| r.eq_ignore_ascii_case(d)) =>
        {
            (d.to_ascii_lowercase(), Reason::Recipient)
        }
        (Some(_), ..) => {
            return Decision::Undeliverable {
                reason: Reason::NotARecipient,
            }
        }
    };
    if trail.carries_mark(&policy.loop_key, &to) {
        return reject(Reason::Loop);
    }
    if policy.hold_unscanned && verdicts.virus != Verdict::Pass {
        return Decision::Hold {
            reason: Reason::Unscanned,
        };
    }
    Decision::Forward {
        to,
        reason,
        tags: Tags {
            spam: spam && policy.spam == SpamPolicy::Tag,
            dmarc: spoofed && policy.dmarc == DmarcPolicy::Tag,
        },
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
            dmarc: DmarcPolicy::Tag,
            max_received: 30,
            hold_unscanned: false,
            loop_key: LoopKey::new(b"the decide tests' key, thirty-two+"),
            classes: ClassPolicies::default(),
            restricted_to: Vec::new(),
            rules: Default::default(),
        }
    }

    const OWNER: &str = "owner@example.org";
    const ADMIN: &str = "admin@example.org";
    const FORWARDER: &str = "forwarder@mail.example.com";

    fn reject(reason: Reason) -> Decision {
        Decision::Rejected { reason }
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
            account: None,
            notes: None,
            created_at: "t".into(),
            created_by: "a".into(),
            updated_at: "t".into(),
            updated_by: "a".into(),
            recipients: Vec::new(),
            unreachable: Vec::new(),
        }
    }

    fn verdicts(spam: Verdict, virus: Verdict) -> Verdicts {
        Verdicts {
            spam,
            virus,
            spf: Verdict::Pass,
            dkim: Verdict::Pass,
            dmarc: Verdict::Pass,
            dmarc_policy: crate::inbound::DmarcRequest::Unknown,
        }
    }

    fn forward(to: &str, reason: Reason, tag_spam: bool) -> Decision {
        Decision::Forward {
            to: to.into(),
            reason,
            tags: Tags {
                spam: tag_spam,
                dmarc: false,
            },
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
            assert_eq!(
                decide(recipient, m, &v, &Trail::default(), &p),
                want,
                "case {i}: {recipient}"
            );
        }
    }

    /// Issue 16: the copy for one of the mapping's other recipients.
    #[test]
    fn a_recipients_copy_goes_to_it_only_while_the_active_mapping_lists_it() {
        use MappingStatus::*;
        let rcpt = "team-app-prod-001@mail.example.com";
        let listing = |status| Mapping {
            recipients: vec!["list@example.org".into()],
            ..mapping(status)
        };
        let (active, suspended) = (listing(Active), listing(Suspended));
        let pass = verdicts(Verdict::Pass, Verdict::Pass);
        let p = policy(true, SpamPolicy::Tag);
        let marked = Trail::read(
            format!(
                "X-Mailvend-Loop: {}\r\n\r\nbody",
                p.loop_key.mark("list@example.org")
            )
            .as_bytes(),
            "a@b.example",
        );
        let plain = Trail::default();
        let not_listed = Decision::Undeliverable {
            reason: Reason::NotARecipient,
        };
        let cases: Vec<(&str, Option<&Mapping>, &Trail, Decision)> = vec![
            (
                "LIST@example.org",
                Some(&active),
                &plain,
                forward("list@example.org", Reason::Recipient, false),
            ),
            (
                "other@example.org",
                Some(&active),
                &plain,
                not_listed.clone(),
            ),
            // Catch-all's copy is the address's own record's to send, not every recipient's.
            (
                "list@example.org",
                Some(&suspended),
                &plain,
                not_listed.clone(),
            ),
            ("list@example.org", None, &plain, not_listed),
            // The destination's own loop mark, not the owner's.
            (
                "list@example.org",
                Some(&active),
                &marked,
                reject(Reason::Loop),
            ),
        ];
        for (i, (dest, m, trail, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                decide_for(rcpt, Some(dest), m, &pass, trail, &p),
                want,
                "case {i}: {dest}"
            );
        }
        // The owner's copy is not affected by the owner's mark on a recipient's copy.
        assert_eq!(
            decide(rcpt, Some(&active), &pass, &marked, &p),
            forward(OWNER, Reason::Owner, false)
        );
    }

    /// Issue 22 item 1: what a loop looks like to one recipient's decision.
    #[test]
    fn loops_hops_and_robots_are_never_sent_on() {
        let rcpt = "team-app-prod-001@mail.example.com";
        let active = mapping(MappingStatus::Active);
        let pass = verdicts(Verdict::Pass, Verdict::Pass);
        let p = policy(true, SpamPolicy::Tag);
        let trail =
            |block: &str, sender: &str| Trail::read(format!("{block}\r\nbody").as_bytes(), sender);
        let marked = |dest: &str| format!("X-Mailvend-Loop: {}\r\n", p.loop_key.mark(dest));
        let hops = |n: usize| "Received: from x\r\n".repeat(n);
        let cases: Vec<(&str, Option<&Mapping>, Trail, Decision)> = vec![
            // Our mark for the owner: it went there already.
            (
                rcpt,
                Some(&active),
                trail(&marked(OWNER), "a@b.example"),
                reject(Reason::Loop),
            ),
            // Our mark for someone else: an owner sent our forward on to another address.
            (
                rcpt,
                Some(&active),
                trail(&marked("other@example.org"), "a@b.example"),
                forward(OWNER, Reason::Owner, false),
            ),
            // Catch-all to the admin, who is marked: the admin address loops back to us.
            (
                "unknown@mail.example.com",
                None,
                trail(&marked(ADMIN), "a@b.example"),
                reject(Reason::Loop),
            ),
            // A mark forged under another key means nothing.
            (
                rcpt,
                Some(&active),
                trail(
                    &format!(
                        "X-Mailvend-Loop: {}\r\n",
                        LoopKey::new(b"someone else's key, thirty-two long").mark(OWNER)
                    ),
                    "a@b.example",
                ),
                forward(OWNER, Reason::Owner, false),
            ),
            (
                rcpt,
                Some(&active),
                trail(&hops(30), "a@b.example"),
                forward(OWNER, Reason::Owner, false),
            ),
            (
                rcpt,
                Some(&active),
                trail(&hops(31), "a@b.example"),
                reject(Reason::TooManyHops),
            ),
            // Bounces and auto-replies to the forwarder are kept, not passed to the admin.
            (
                FORWARDER,
                None,
                trail("Subject: undeliverable\r\n", ""),
                Decision::Undeliverable {
                    reason: Reason::AutomaticToForwarder,
                },
            ),
            (
                FORWARDER,
                None,
                trail("Auto-Submitted: auto-replied\r\n", "x@y.example"),
                Decision::Undeliverable {
                    reason: Reason::AutomaticToForwarder,
                },
            ),
            (
                FORWARDER,
                None,
                trail("Subject: a person's reply\r\n", "x@y.example"),
                forward(ADMIN, Reason::ToForwarder, false),
            ),
            // A bounce to a vended address goes to its owner (AWS's own notices can be bounces).
            (
                rcpt,
                Some(&active),
                trail("Subject: undeliverable\r\n", ""),
                forward(OWNER, Reason::Owner, false),
            ),
        ];
        for (i, (recipient, m, t, want)) in cases.into_iter().enumerate() {
            assert_eq!(decide(recipient, m, &pass, &t, &p), want, "case {i}");
        }
    }

    /// Issue 22 item 5: spoofed mail and unscanned mail.
    #[test]
    fn spoofed_mail_that_fails_an_enforced_dmarc_policy_is_tagged_or_rejected() {
        use crate::inbound::DmarcRequest;
        let rcpt = "team-app-prod-001@mail.example.com";
        let active = mapping(MappingStatus::Active);
        let failing = |request: DmarcRequest| Verdicts {
            dmarc: Verdict::Fail,
            dmarc_policy: request,
            ..verdicts(Verdict::Pass, Verdict::Pass)
        };
        let with = |dmarc: DmarcPolicy| Policy {
            dmarc,
            ..policy(false, SpamPolicy::Tag)
        };
        let tagged = |spam: bool, dmarc: bool| Decision::Forward {
            to: OWNER.into(),
            reason: Reason::Owner,
            tags: Tags { spam, dmarc },
        };
        let cases: Vec<(Verdicts, Policy, Decision)> = vec![
            (
                failing(DmarcRequest::Reject),
                with(DmarcPolicy::Tag),
                tagged(false, true),
            ),
            (
                failing(DmarcRequest::Quarantine),
                with(DmarcPolicy::Tag),
                tagged(false, true),
            ),
            // p=none asks for nothing: not treated as spoofing.
            (
                failing(DmarcRequest::None),
                with(DmarcPolicy::Tag),
                tagged(false, false),
            ),
            (
                failing(DmarcRequest::Unknown),
                with(DmarcPolicy::Reject),
                tagged(false, false),
            ),
            (
                failing(DmarcRequest::Reject),
                with(DmarcPolicy::Forward),
                tagged(false, false),
            ),
            (
                failing(DmarcRequest::Quarantine),
                with(DmarcPolicy::Reject),
                reject(Reason::DmarcFail),
            ),
            (
                Verdicts {
                    spam: Verdict::Fail,
                    ..failing(DmarcRequest::Reject)
                },
                with(DmarcPolicy::Tag),
                tagged(true, true),
            ),
            // Unscanned mail is held only when the configuration says so.
            (
                verdicts(Verdict::Pass, Verdict::ProcessingFailed),
                Policy {
                    hold_unscanned: true,
                    ..with(DmarcPolicy::Tag)
                },
                Decision::Hold {
                    reason: Reason::Unscanned,
                },
            ),
            (
                verdicts(Verdict::Pass, Verdict::Unknown),
                Policy {
                    hold_unscanned: true,
                    ..with(DmarcPolicy::Tag)
                },
                Decision::Hold {
                    reason: Reason::Unscanned,
                },
            ),
            (
                verdicts(Verdict::Pass, Verdict::Pass),
                Policy {
                    hold_unscanned: true,
                    ..with(DmarcPolicy::Tag)
                },
                tagged(false, false),
            ),
            (
                verdicts(Verdict::Pass, Verdict::Unknown),
                with(DmarcPolicy::Tag),
                tagged(false, false),
            ),
        ];
        for (i, (v, p, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                decide(rcpt, Some(&active), &v, &Trail::default(), &p),
                want,
                "case {i}"
            );
        }
        assert_eq!(
            Tags {
                spam: true,
                dmarc: true
            }
            .subject_tag(),
            Some("[SPAM] [DMARC FAIL]")
        );
        assert_eq!(Tags::default().subject_tag(), None);
    }

    /// Each class policy over a forward, a copy, a refused message, a missing group and a
    /// message that already went to the group once (a loop).
    #[test]
    fn class_policies_change_only_what_would_be_forwarded() {
        use ClassPolicy::*;
        let group = vec![
            "platform@corp.example".to_string(),
            "sec@corp.example".to_string(),
        ];
        let with = |credential: ClassPolicy, group: &[String]| {
            let mut p = policy(false, SpamPolicy::Tag);
            p.classes.set(MailClass::Credential, credential);
            p.restricted_to = group.to_vec();
            p
        };
        let tags = Tags {
            spam: true,
            dmarc: false,
        };
        let forward = Decision::Forward {
            to: OWNER.into(),
            reason: Reason::Owner,
            tags,
        };
        let spam = reject(Reason::Spam);
        let plain = Trail::default();
        let looped = Trail::read(
            format!(
                "X-Mailvend-Loop: {}\r\n\r\nbody",
                with(Restricted, &group)
                    .loop_key
                    .mark("platform@corp.example, sec@corp.example")
            )
            .as_bytes(),
            "a@b.example",
        );
        let held = |reason| Decision::Held { reason };
        // (the credential policy, the group, the class, the copy's destination, the trail,
        // the decision before, what the policy makes of it)
        type Case<'a> = (
            ClassPolicy,
            &'a [String],
            MailClass,
            Option<&'a str>,
            &'a Trail,
            &'a Decision,
            (Decision, Option<ClassPolicy>),
        );
        let cases: Vec<Case> = vec![
            // Forward: as decided, and said so.
            (
                Forward,
                &group,
                MailClass::Credential,
                None,
                &plain,
                &forward,
                (forward.clone(), Some(Forward)),
            ),
            // Another class keeps its own (default) policy.
            (
                Drop,
                &group,
                MailClass::Billing,
                None,
                &plain,
                &forward,
                (forward.clone(), Some(Forward)),
            ),
            // Mail refused before any policy is left alone, whatever the policy.
            (
                Hold,
                &group,
                MailClass::Credential,
                None,
                &plain,
                &spam,
                (spam.clone(), None),
            ),
            (
                Hold,
                &group,
                MailClass::Credential,
                None,
                &plain,
                &forward,
                (held(Reason::HeldByPolicy), Some(Hold)),
            ),
            (
                Hold,
                &group,
                MailClass::Credential,
                Some("x@y.example"),
                &plain,
                &forward,
                (held(Reason::HeldByPolicy), Some(Hold)),
            ),
            (
                Drop,
                &group,
                MailClass::Credential,
                None,
                &plain,
                &forward,
                (reject(Reason::Dropped), Some(Drop)),
            ),
            // Restricted: the group gets the address's own record, with its tags.
            (
                Restricted,
                &group,
                MailClass::Credential,
                None,
                &plain,
                &forward,
                (
                    Decision::Forward {
                        to: "platform@corp.example, sec@corp.example".into(),
                        reason: Reason::Restricted,
                        tags,
                    },
                    Some(Restricted),
                ),
            ),
            // The mapping's other recipients get nothing.
            (
                Restricted,
                &group,
                MailClass::Credential,
                Some("x@y.example"),
                &plain,
                &forward,
                (reject(Reason::RestrictedCopy), Some(Restricted)),
            ),
            // No group: held, never the owner.
            (
                Restricted,
                &[],
                MailClass::Credential,
                None,
                &plain,
                &forward,
                (held(Reason::RestrictedNoGroup), Some(Restricted)),
            ),
            // Our mark for the group on it: it came back; never sent again.
            (
                Restricted,
                &group,
                MailClass::Credential,
                None,
                &looped,
                &forward,
                (reject(Reason::Loop), Some(Restricted)),
            ),
        ];
        for (i, (credential, group, class, destination, trail, decision, want)) in
            cases.into_iter().enumerate()
        {
            let p = with(credential, group);
            assert_eq!(
                with_class_policy(decision.clone(), class, destination, trail, &p),
                want,
                "case {i}"
            );
        }
    }
}
