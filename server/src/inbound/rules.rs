//! Routing rules (#18): ordered rules on the sender, the subject and the vended address, tried
//! after the class policy on mail it lets through (`forward`). The first rule whose every
//! condition matches acts: add a recipient, redirect, drop, or tag the subject. Pure, so every
//! rule has a table test; the pipeline applies the result and the service keeps the list.
//!
//! What a rule may hold is bounded, because an admin's typo or a leaked admin token must not
//! be able to stall the pipeline or turn it against the domain: at most `MAX_RULES` rules,
//! patterns of at most `MAX_PATTERN` characters, regular expressions from the `regex` crate
//! (linear time, no backtracking) under a compiled-size limit, addresses off the served domain
//! (mail sent back to it would come in again: a loop, or another mapping's owner), and tags of
//! plain printable ASCII (they go into a header).

use app::model::{MailClass, MatchKind, RoutingRule, RuleAction, RuleMatch};

use crate::inbound::decide::{Decision, Policy, Reason};
use crate::inbound::trail::Trail;

pub const MAX_RULES: usize = 50;
pub const MAX_PATTERN: usize = 200;
pub const MAX_NAME: usize = 80;
pub const MAX_TAG: usize = 40;
/// The largest compiled program a rule's regular expression may become (the crate's default
/// is 10 MB; a rule needs far less, and fifty of them are compiled for every settings change).
const REGEX_SIZE: usize = 256 * 1024;

/// Why a rule cannot be kept: its number (from 1) and field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {number}, {field}: {message}")]
pub struct RuleError {
    pub number: usize,
    pub field: &'static str,
    pub message: String,
}

enum Matcher {
    /// Lower-cased: matching ignores case.
    Contains(String),
    Regex(regex::Regex),
}

impl Matcher {
    fn compile(m: &RuleMatch) -> Result<Matcher, String> {
        let n = m.value.chars().count();
        if n == 0 || n > MAX_PATTERN {
            return Err(format!("1 to {MAX_PATTERN} characters, got {n}"));
        }
        match m.kind {
            MatchKind::Contains => Ok(Matcher::Contains(m.value.to_lowercase())),
            MatchKind::Regex => regex::RegexBuilder::new(&m.value)
                .case_insensitive(true)
                .size_limit(REGEX_SIZE)
                .dfa_size_limit(REGEX_SIZE)
                .build()
                .map(Matcher::Regex)
                .map_err(|e| format!("not a regular expression this server takes: {e}")),
        }
    }

    fn is_match(&self, field: &str) -> bool {
        match self {
            Matcher::Contains(v) => field.to_lowercase().contains(v.as_str()),
            Matcher::Regex(r) => r.is_match(field),
        }
    }
}

/// One rule, checked and compiled.
pub struct Rule {
    /// Its place in the list, from 1.
    pub number: usize,
    pub name: String,
    sender: Option<Matcher>,
    subject: Option<Matcher>,
    recipient: Option<Matcher>,
    pub action: RuleAction,
}

impl Rule {
    /// Checks `rule`, the `number`th of the list, for a server on `domain`.
    pub fn compile(rule: &RoutingRule, number: usize, domain: &str) -> Result<Rule, RuleError> {
        let err = |field: &'static str, message: String| RuleError {
            number,
            field,
            message,
        };
        let name = rule.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(err(
                "name",
                format!("1 to {MAX_NAME} characters, without line breaks"),
            ));
        }
        if rule.conditions().is_empty() {
            return Err(err(
                "sender",
                "give at least one condition (sender, subject or recipient): a rule for all \
                 mail is a class policy's job"
                    .into(),
            ));
        }
        let compile = |field: &'static str, m: &Option<RuleMatch>| {
            m.as_ref()
                .map(Matcher::compile)
                .transpose()
                .map_err(|e| err(field, e))
        };
        let (sender, subject, recipient) = (
            compile("sender", &rule.sender)?,
            compile("subject", &rule.subject)?,
            compile("recipient", &rule.recipient)?,
        );
        let mut action = rule.action.clone();
        match &mut action {
            RuleAction::AddRecipient { address } | RuleAction::Redirect { address } => {
                let mailbox = app::address::parse_mailbox(address).map_err(|e| err("action", e))?;
                if mailbox
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
                {
                    return Err(err(
                        "action",
                        format!(
                            "{address} is on {domain}, the served domain: mail sent there comes \
                             back in (a loop, or another mapping's owner); give a mailbox elsewhere"
                        ),
                    ));
                }
                // Sent as checked (lower case, no trailing dot), whatever was typed.
                *address = mailbox;
            }
            RuleAction::TagSubject { tag } => {
                let plain = tag.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
                if tag.trim().is_empty() || tag.len() > MAX_TAG || !plain {
                    return Err(err(
                        "action",
                        format!(
                            "a tag is 1 to {MAX_TAG} printable ASCII characters, such as [AWS]"
                        ),
                    ));
                }
            }
            RuleAction::Drop => {}
        }
        Ok(Rule {
            number,
            name: name.to_string(),
            sender,
            subject,
            recipient,
            action,
        })
    }

    /// Whether every condition the rule has matches.
    pub fn matches(&self, sender: &str, subject: &str, recipient: &str) -> bool {
        [
            (&self.sender, sender),
            (&self.subject, subject),
            (&self.recipient, recipient),
        ]
        .into_iter()
        .all(|(m, field)| m.as_ref().is_none_or(|m| m.is_match(field)))
    }

    /// For the message log: which rule did what.
    pub fn note(&self) -> String {
        format!(
            "routing rule {} ({}): {}",
            self.number,
            self.name,
            self.action.describe()
        )
    }
}

/// The rules in force, in order.
#[derive(Default)]
pub struct Rules(Vec<Rule>);

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rules({} rules)", self.0.len())
    }
}

impl Rules {
    /// Every rule of `list`, or the first problem (what an admin's change must pass).
    pub fn compile(list: &[RoutingRule], domain: &str) -> Result<Rules, RuleError> {
        if list.len() > MAX_RULES {
            return Err(RuleError {
                number: list.len(),
                field: "rules",
                message: format!("at most {MAX_RULES} rules"),
            });
        }
        list.iter()
            .enumerate()
            .map(|(i, r)| Rule::compile(r, i + 1, domain))
            .collect::<Result<Vec<_>, _>>()
            .map(Rules)
    }

    /// The rules of a stored list that still pass (each was checked when it was saved; the
    /// domain may have changed since). One that no longer does is left out and logged: the
    /// others keep working, and the mail is not held up.
    pub fn compile_stored(list: &[RoutingRule], domain: &str) -> Rules {
        Rules(
            list.iter()
                .take(MAX_RULES)
                .enumerate()
                .filter_map(|(i, r)| match Rule::compile(r, i + 1, domain) {
                    Ok(rule) => Some(rule),
                    Err(e) => {
                        tracing::error!(error = %e, "a stored routing rule is skipped");
                        None
                    }
                })
                .collect(),
        )
    }

    /// The first rule that matches.
    pub fn first(&self, sender: &str, subject: &str, recipient: &str) -> Option<&Rule> {
        self.0
            .iter()
            .find(|r| r.matches(sender, subject, recipient))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What `rule` makes of a forward of mail of `class`, decided for the record whose copy goes
/// to `destination` (`None`: the address's own). The subject tag it adds comes back beside
/// the decision. Redirects and added recipients act once per message, on the address's own
/// record: the copies for the mapping's other recipients are not sent again to the rule's
/// address. Credential mail is never redirected or copied by a rule: a rule may narrow who
/// gets the keys to an account (drop) or mark them (tag), never widen it — that is the class
/// policy's to decide, with a warning on the Settings page.
pub fn with_rule(
    decision: Decision,
    rule: &Rule,
    class: MailClass,
    destination: Option<&str>,
    trail: &Trail,
    policy: &Policy,
) -> (Decision, Option<String>) {
    let widens = matches!(
        rule.action,
        RuleAction::AddRecipient { .. } | RuleAction::Redirect { .. }
    );
    if class == MailClass::Credential && widens {
        return (decision, None);
    }
    let Decision::Forward { to, reason, tags } = decision else {
        return (decision, None);
    };
    let mut reason = reason;
    let to = match &rule.action {
        RuleAction::Drop => {
            return (
                Decision::Rejected {
                    reason: Reason::DroppedByRule,
                },
                None,
            )
        }
        RuleAction::TagSubject { tag } => {
            return (Decision::Forward { to, reason, tags }, Some(tag.clone()));
        }
        RuleAction::Redirect { .. } if destination.is_some() => {
            return (
                Decision::Rejected {
                    reason: Reason::RedirectedCopy,
                },
                None,
            )
        }
        RuleAction::Redirect { address } => {
            reason = Reason::Redirected;
            address.to_ascii_lowercase()
        }
        RuleAction::AddRecipient { .. } if destination.is_some() => to,
        RuleAction::AddRecipient { address } => {
            let address = address.to_ascii_lowercase();
            if to.split(", ").any(|t| t == address) {
                to
            } else {
                format!("{to}, {address}")
            }
        }
    };
    if trail.carries_mark(&policy.loop_key, &to) {
        return (
            Decision::Rejected {
                reason: Reason::Loop,
            },
            None,
        );
    }
    (Decision::Forward { to, reason, tags }, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::decide::Tags;
    use crate::inbound::trail::LoopKey;
    use app::model::{ClassPolicies, DmarcPolicy, SpamPolicy};

    const DOMAIN: &str = "mail.example.com";

    fn m(kind: MatchKind, value: &str) -> Option<RuleMatch> {
        Some(RuleMatch {
            kind,
            value: value.into(),
        })
    }

    fn rule(
        sender: Option<RuleMatch>,
        subject: Option<RuleMatch>,
        recipient: Option<RuleMatch>,
        action: RuleAction,
    ) -> RoutingRule {
        RoutingRule {
            name: "a rule".into(),
            sender,
            subject,
            recipient,
            action,
        }
    }

    fn policy() -> Policy {
        Policy {
            domain: DOMAIN.into(),
            from_address: format!("forwarder@{DOMAIN}"),
            admin_address: "admin@example.org".into(),
            catch_all: false,
            spam: SpamPolicy::Tag,
            dmarc: DmarcPolicy::Tag,
            max_received: 30,
            hold_unscanned: false,
            loop_key: LoopKey::new(b"the rules tests' key, thirty-two++"),
            classes: ClassPolicies::default(),
            restricted_to: Vec::new(),
            rules: Default::default(),
        }
    }

    /// Each kind of condition, case-insensitive, alone and together (all must match).
    #[test]
    fn a_rule_matches_when_every_condition_it_has_does() {
        use MatchKind::*;
        let invoice = (
            "billing@vendor.example",
            "Your Invoice for November",
            "team-prod-001@mail.example.com",
        );
        let cases: Vec<(RoutingRule, bool)> = vec![
            (
                rule(m(Contains, "VENDOR.example"), None, None, RuleAction::Drop),
                true,
            ),
            (
                rule(m(Contains, "other.example"), None, None, RuleAction::Drop),
                false,
            ),
            (
                rule(
                    None,
                    m(Regex, r"^your invoice for \w+$"),
                    None,
                    RuleAction::Drop,
                ),
                true,
            ),
            (
                rule(None, m(Regex, r"^invoice"), None, RuleAction::Drop),
                false,
            ),
            (
                rule(None, None, m(Regex, r"-prod-\d+@"), RuleAction::Drop),
                true,
            ),
            // Two conditions: both must hold.
            (
                rule(
                    m(Contains, "vendor"),
                    m(Contains, "invoice"),
                    None,
                    RuleAction::Drop,
                ),
                true,
            ),
            (
                rule(
                    m(Contains, "vendor"),
                    m(Contains, "receipt"),
                    None,
                    RuleAction::Drop,
                ),
                false,
            ),
            // A regex is found anywhere unless anchored; `.` is not a literal dot.
            (
                rule(m(Regex, "vendor.example"), None, None, RuleAction::Drop),
                true,
            ),
            (
                rule(m(Contains, "vendor.example$"), None, None, RuleAction::Drop),
                false,
            ),
        ];
        for (i, (r, want)) in cases.into_iter().enumerate() {
            let rule = Rule::compile(&r, 1, DOMAIN).unwrap();
            assert_eq!(
                rule.matches(invoice.0, invoice.1, invoice.2),
                want,
                "case {i}"
            );
        }
    }

    /// The first rule that matches acts, whatever the later ones say.
    #[test]
    fn the_first_match_wins() {
        let list = vec![
            rule(
                None,
                m(MatchKind::Contains, "receipt"),
                None,
                RuleAction::Drop,
            ),
            rule(
                None,
                m(MatchKind::Contains, "invoice"),
                None,
                RuleAction::TagSubject {
                    tag: "[BILL]".into(),
                },
            ),
            rule(
                m(MatchKind::Contains, "vendor"),
                None,
                None,
                RuleAction::Drop,
            ),
        ];
        let rules = Rules::compile(&list, DOMAIN).unwrap();
        let hit = rules.first("billing@vendor.example", "Invoice", "x@mail.example.com");
        assert_eq!(hit.map(|r| r.number), Some(2));
        assert_eq!(
            hit.unwrap().note(),
            "routing rule 2 (a rule): tag the subject [BILL]"
        );
        assert!(rules
            .first("a@b.example", "hello", "x@mail.example.com")
            .is_none());
    }

    /// What cannot be kept, each named by its rule and field.
    #[test]
    fn bad_rules_are_refused_naming_what_is_wrong() {
        use MatchKind::*;
        let long = "a".repeat(MAX_PATTERN + 1);
        // Compiles to far more than the limit.
        let huge = "(a{1000}){1000}".to_string();
        let cases: Vec<(RoutingRule, &str, &str)> = vec![
            (
                rule(None, None, None, RuleAction::Drop),
                "sender",
                "at least one condition",
            ),
            (
                rule(m(Contains, ""), None, None, RuleAction::Drop),
                "sender",
                "1 to 200",
            ),
            (
                rule(None, m(Contains, &long), None, RuleAction::Drop),
                "subject",
                "1 to 200",
            ),
            (
                rule(None, m(Regex, "(unclosed"), None, RuleAction::Drop),
                "subject",
                "regular expression",
            ),
            (
                rule(None, m(Regex, &huge), None, RuleAction::Drop),
                "subject",
                "regular expression",
            ),
            // Backreferences would need backtracking: the regex crate has none.
            (
                rule(None, m(Regex, r"(a)\1"), None, RuleAction::Drop),
                "subject",
                "regular expression",
            ),
            (
                rule(
                    m(Contains, "x"),
                    None,
                    None,
                    RuleAction::Redirect {
                        address: "not-an-address".into(),
                    },
                ),
                "action",
                "one email address",
            ),
            // Our own domain: a loop, or a takeover of another mapping's mail.
            (
                rule(
                    m(Contains, "x"),
                    None,
                    None,
                    RuleAction::Redirect {
                        address: "root@MAIL.example.com".into(),
                    },
                ),
                "action",
                "served domain",
            ),
            (
                rule(
                    m(Contains, "x"),
                    None,
                    None,
                    RuleAction::AddRecipient {
                        address: "team@mail.example.com".into(),
                    },
                ),
                "action",
                "served domain",
            ),
            // A tag goes into the Subject header: no line breaks, no control characters.
            (
                rule(
                    m(Contains, "x"),
                    None,
                    None,
                    RuleAction::TagSubject {
                        tag: "[X]\r\nBcc: evil@x.example".into(),
                    },
                ),
                "action",
                "printable ASCII",
            ),
            (
                rule(
                    m(Contains, "x"),
                    None,
                    None,
                    RuleAction::TagSubject { tag: "  ".into() },
                ),
                "action",
                "printable ASCII",
            ),
        ];
        for (i, (r, field, says)) in cases.into_iter().enumerate() {
            let e = Rule::compile(&r, 3, DOMAIN)
                .err()
                .unwrap_or_else(|| panic!("case {i} kept"));
            assert_eq!((e.number, e.field), (3, field), "case {i}: {e}");
            assert!(e.message.contains(says), "case {i}: {e}");
        }
        let mut named = rule(m(Contains, "x"), None, None, RuleAction::Drop);
        named.name = "line\nbreak".into();
        assert_eq!(
            Rule::compile(&named, 1, DOMAIN).err().unwrap().field,
            "name"
        );
        let many = vec![rule(m(Contains, "x"), None, None, RuleAction::Drop); MAX_RULES + 1];
        assert_eq!(Rules::compile(&many, DOMAIN).err().unwrap().field, "rules");
        // Stored rules that no longer pass are skipped, the rest kept.
        let stored = vec![
            rule(m(Regex, "(bad"), None, None, RuleAction::Drop),
            rule(m(Contains, "ok"), None, None, RuleAction::Drop),
        ];
        let kept = Rules::compile_stored(&stored, DOMAIN);
        assert_eq!(
            kept.first("ok@x.example", "", "").map(|r| r.number),
            Some(2)
        );
    }

    /// Each action on the address's own record and on a copy for another recipient.
    #[test]
    fn each_action_changes_a_forward_and_nothing_else() {
        let p = policy();
        let tags = Tags {
            spam: false,
            dmarc: true,
        };
        let forward = Decision::Forward {
            to: "owner@example.org".into(),
            reason: Reason::Owner,
            tags,
        };
        let compiled = |action: RuleAction| {
            Rule::compile(
                &rule(m(MatchKind::Contains, "x"), None, None, action),
                1,
                DOMAIN,
            )
            .unwrap()
        };
        let plain = Trail::default();
        let fwd = |to: &str| Decision::Forward {
            to: to.into(),
            reason: Reason::Owner,
            tags,
        };
        let add = compiled(RuleAction::AddRecipient {
            address: "Audit@Corp.example".into(),
        });
        let redirect = compiled(RuleAction::Redirect {
            address: "ops@corp.example".into(),
        });
        let drop = compiled(RuleAction::Drop);
        let tag = compiled(RuleAction::TagSubject {
            tag: "[AWS]".into(),
        });
        let looped = Trail::read(
            format!(
                "X-Mailvend-Loop: {}\r\n\r\nbody",
                p.loop_key.mark("ops@corp.example")
            )
            .as_bytes(),
            "a@b.example",
        );
        // (the rule, the copy's destination, the trail, the decision before, what the rule
        // makes of it and the tag it adds)
        type Case<'a> = (
            &'a Rule,
            Option<&'a str>,
            &'a Trail,
            Decision,
            (Decision, Option<String>),
        );
        let cases: Vec<Case> = vec![
            (
                &add,
                None,
                &plain,
                forward.clone(),
                (fwd("owner@example.org, audit@corp.example"), None),
            ),
            // The copies do not add it again.
            (
                &add,
                Some("list@example.org"),
                &plain,
                forward.clone(),
                (forward.clone(), None),
            ),
            (
                &redirect,
                None,
                &plain,
                forward.clone(),
                (
                    Decision::Forward {
                        to: "ops@corp.example".into(),
                        reason: Reason::Redirected,
                        tags,
                    },
                    None,
                ),
            ),
            (
                &redirect,
                Some("list@example.org"),
                &plain,
                forward.clone(),
                (reject(Reason::RedirectedCopy), None),
            ),
            // It came back from the rule's address once already: never again.
            (
                &redirect,
                None,
                &looped,
                forward.clone(),
                (reject(Reason::Loop), None),
            ),
            (
                &drop,
                None,
                &plain,
                forward.clone(),
                (reject(Reason::DroppedByRule), None),
            ),
            (
                &tag,
                None,
                &plain,
                forward.clone(),
                (forward.clone(), Some("[AWS]".into())),
            ),
            // Not a forward: untouched.
            (
                &redirect,
                None,
                &plain,
                reject(Reason::Spam),
                (reject(Reason::Spam), None),
            ),
        ];
        for (i, (rule, destination, trail, decision, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                with_rule(decision, rule, MailClass::Other, destination, trail, &p),
                want,
                "case {i}"
            );
        }
        // Credential mail: a rule may drop or tag it, never send it anywhere else.
        for widening in [&add, &redirect] {
            assert_eq!(
                with_rule(
                    forward.clone(),
                    widening,
                    MailClass::Credential,
                    None,
                    &plain,
                    &p
                ),
                (forward.clone(), None)
            );
        }
        assert_eq!(
            with_rule(
                forward.clone(),
                &drop,
                MailClass::Credential,
                None,
                &plain,
                &p
            )
            .0,
            reject(Reason::DroppedByRule)
        );
        // The address is sent as checked: lower case, no trailing dot.
        let typed = compiled(RuleAction::Redirect {
            address: "Ops@Corp.Example.".into(),
        });
        assert_eq!(
            with_rule(forward.clone(), &typed, MailClass::Other, None, &plain, &p).0,
            Decision::Forward {
                to: "ops@corp.example".into(),
                reason: Reason::Redirected,
                tags,
            }
        );
    }

    fn reject(reason: Reason) -> Decision {
        Decision::Rejected { reason }
    }
}

/// What 50 rules cost a message: run by hand for docs/benchmarks.md (a debug build gives an
/// upper bound), never timed as a test.
///
///     cargo test -p server --lib rules::cost -- --ignored --nocapture
#[cfg(test)]
mod cost {
    use super::*;

    #[test]
    #[ignore]
    fn fifty_rules_against_ten_thousand_messages() {
        let list: Vec<RoutingRule> = (0..50)
            .map(|i| RoutingRule {
                name: format!("rule {i}"),
                sender: Some(RuleMatch {
                    kind: MatchKind::Regex,
                    value: format!(r"^(billing|invoices?)-{i}@[a-z0-9.-]+\.example$"),
                }),
                subject: Some(RuleMatch {
                    kind: MatchKind::Regex,
                    value: format!(r"\b(invoice|receipt|statement) #?{i}\d{{3}}\b"),
                }),
                recipient: Some(RuleMatch {
                    kind: MatchKind::Contains,
                    value: format!("-prod-{i:03}@"),
                }),
                action: RuleAction::Drop,
            })
            .collect();
        let started = std::time::Instant::now();
        let rules = Rules::compile(&list, "mail.example.com").unwrap();
        let compiled = started.elapsed();
        let messages: Vec<(String, String, String)> = (0..10_000)
            .map(|i| {
                (
                    format!("billing-{}@vendor{}.example", i % 60, i % 7),
                    format!("Your invoice #{}123 for November, {} lines", i % 60, i),
                    format!("team-app-prod-{:03}@mail.example.com", i % 70),
                )
            })
            .collect();
        let started = std::time::Instant::now();
        let matched = messages
            .iter()
            .filter(|(s, subj, r)| rules.first(s, subj, r).is_some())
            .count();
        let each = started.elapsed() / messages.len() as u32;
        // Every condition of rule k holds only when all three numbers agree (k < 50).
        let expected = (0..10_000)
            .filter(|i| i % 60 < 50 && i % 60 == i % 70)
            .count();
        assert_eq!(matched, expected);
        println!(
            "50 rules compiled in {compiled:?}; {} messages, {matched} matched, {each:?} a message",
            messages.len()
        );
    }
}
