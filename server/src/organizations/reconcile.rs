//! The sync's judgement, with no I/O: the organization's accounts against the mappings, fed
//! one mapping at a time (there may be 100,000), giving each mapping's link to write and each
//! account's drift.
//!
//! Rules (docs/organizations.md):
//! - An account matches the mapping whose address is its email (compared in lower case).
//!   Deleted mappings match nothing: their mail is not forwarded.
//! - A matched mapping records the account (id, name, state, joined) unless it already
//!   records *another* account id (an admin's entry): then both are flagged as a conflict and
//!   nothing is overwritten.
//! - A mapping recording an account id the organization lists under another email is a
//!   conflict too, and so is a suspended mapping of a live account (its mail reaches nobody).
//! - A mapping whose link names an account that no longer matches loses the link (the id an
//!   admin entered stays).
//! - An unmatched account is `unmapped` when its email is on the domain, else `off_domain`;
//!   `closed` wins over `off_domain` (a closed account's email cannot be moved) and flags a
//!   matched account that is out of use (its mail keeps flowing).
//! - A live mapping vended before the cut-off that records no account and matches none is
//!   unused.

use std::collections::HashMap;

use app::model::{Mapping, MappingStatus};
use app::org::{AccountState, Drift, LinkedAccount, OrgAccount, SyncSummary, MAX_UNUSED_LISTED};

/// One account as Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAccount {
    pub id: String,
    pub name: String,
    /// As listed; compared in lower case.
    pub email: String,
    pub state: AccountState,
    pub joined_at: Option<String>,
}

/// What the sync writes to one mapping: its account link (`None` removes it), and the account
/// id with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkChange {
    pub address: String,
    pub account: Option<LinkedAccount>,
}

pub struct Reconciler {
    accounts: Vec<ListedAccount>,
    by_email: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    domain: String,
    unused_before: String,
    matched: Vec<Option<String>>,
    conflicts: Vec<Option<String>>,
    unused: Vec<String>,
    unused_total: u32,
}

impl Reconciler {
    /// `domain` is mailvend's, in lower case; mappings created before `unused_before`
    /// (RFC 3339) may be unused. An id listed twice (a page boundary read twice) counts once.
    pub fn new(listed: Vec<ListedAccount>, domain: &str, unused_before: &str) -> Reconciler {
        let mut accounts: Vec<ListedAccount> = Vec::with_capacity(listed.len());
        let mut by_id = HashMap::new();
        for a in listed {
            if by_id.contains_key(&a.id) {
                continue;
            }
            by_id.insert(a.id.clone(), accounts.len());
            accounts.push(a);
        }
        let by_email = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.email.to_ascii_lowercase(), i))
            .collect();
        let n = accounts.len();
        Reconciler {
            accounts,
            by_email,
            by_id,
            domain: domain.to_ascii_lowercase(),
            unused_before: unused_before.to_string(),
            matched: vec![None; n],
            conflicts: vec![None; n],
            unused: Vec::new(),
            unused_total: 0,
        }
    }

    /// Judges one mapping; answers the link to write when it differs from what the mapping has.
    pub fn see(&mut self, m: &Mapping) -> Option<LinkChange> {
        if m.status == MappingStatus::Deleted {
            return None;
        }
        let recorded = m.aws_account_id.as_deref();
        if let Some(&i) = self.by_email.get(&m.address.to_ascii_lowercase()) {
            let a = &self.accounts[i];
            self.matched[i] = Some(m.address.clone());
            if let Some(other) = recorded.filter(|r| *r != a.id) {
                self.conflicts[i] = Some(format!(
                    "{} records account {other}, but the organization lists this address for {}",
                    m.address, a.id
                ));
                if let Some(&j) = self.by_id.get(other) {
                    self.conflicts[j].get_or_insert_with(|| {
                        format!(
                            "{} records this account, whose root email is {}",
                            m.address, self.accounts[j].email
                        )
                    });
                }
                return unlink_if_linked(m);
            }
            // A live account whose mapping is suspended: its root mail reaches nobody.
            if m.status == MappingStatus::Suspended && !a.state.is_out_of_use() {
                self.conflicts[i].get_or_insert_with(|| {
                    format!(
                        "{} is suspended: this live account's root mail is not forwarded",
                        m.address
                    )
                });
            }
            let link = LinkedAccount {
                id: a.id.clone(),
                name: a.name.clone(),
                state: a.state,
                joined_at: a.joined_at.clone(),
            };
            return (m.account.as_ref() != Some(&link) || recorded != Some(a.id.as_str())).then(
                || LinkChange {
                    address: m.address.clone(),
                    account: Some(link),
                },
            );
        }
        if let Some(r) = recorded {
            if let Some(&j) = self.by_id.get(r) {
                self.conflicts[j].get_or_insert_with(|| {
                    format!(
                        "{} records this account, whose root email is {}",
                        m.address, self.accounts[j].email
                    )
                });
            }
            return unlink_if_linked(m);
        }
        if m.created_at.as_str() < self.unused_before.as_str() {
            self.unused_total += 1;
            if self.unused.len() < MAX_UNUSED_LISTED {
                self.unused.push(m.address.clone());
            }
        }
        unlink_if_linked(m)
    }

    /// Each account with its drift, by id, and the summary of the whole (`linked` is the
    /// caller's count of link writes that landed).
    pub fn finish(
        self,
        synced_at: &str,
        linked: u32,
        unused_after_days: u32,
    ) -> (Vec<OrgAccount>, SyncSummary) {
        let mut summary = SyncSummary {
            synced_at: synced_at.to_string(),
            accounts: self.accounts.len() as u32,
            linked,
            unused_total: self.unused_total,
            unused: self.unused,
            unused_after_days,
            ..SyncSummary::default()
        };
        summary.unused.sort();
        let suffix = format!("@{}", self.domain);
        let mut rows: Vec<OrgAccount> = self
            .accounts
            .into_iter()
            .zip(self.matched)
            .zip(self.conflicts)
            .map(|((a, matched), conflict)| {
                let email = a.email.to_ascii_lowercase();
                let drift = match (&conflict, &matched) {
                    (Some(_), _) => Some(Drift::Conflict),
                    (None, Some(_)) => a.state.is_out_of_use().then_some(Drift::Closed),
                    (None, None) if email.ends_with(&suffix) => Some(Drift::Unmapped),
                    (None, None) if a.state.is_out_of_use() => Some(Drift::Closed),
                    (None, None) => Some(Drift::OffDomain),
                };
                match drift {
                    Some(Drift::Unmapped) => summary.unmapped += 1,
                    Some(Drift::OffDomain) => summary.off_domain += 1,
                    Some(Drift::Closed) => summary.closed += 1,
                    Some(Drift::Conflict) => summary.conflict += 1,
                    None => {}
                }
                OrgAccount {
                    account_id: a.id,
                    name: a.name,
                    email,
                    state: a.state,
                    joined_at: a.joined_at,
                    address: matched,
                    drift,
                    drift_detail: conflict,
                    synced_at: synced_at.to_string(),
                }
            })
            .collect();
        rows.sort_by(|x, y| x.account_id.cmp(&y.account_id));
        (rows, summary)
    }
}

fn unlink_if_linked(m: &Mapping) -> Option<LinkChange> {
    m.account.is_some().then(|| LinkChange {
        address: m.address.clone(),
        account: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "mail.example.com";
    const CUTOFF: &str = "2026-11-05T00:00:00Z";

    fn acct(id: &str, email: &str, state: AccountState) -> ListedAccount {
        ListedAccount {
            id: id.into(),
            name: format!("acct {id}"),
            email: email.into(),
            state,
            joined_at: Some("2026-01-01T00:00:00Z".into()),
        }
    }

    fn mapping(address: &str, recorded: Option<&str>, created_at: &str) -> Mapping {
        Mapping {
            address: address.into(),
            account_name: address.split('@').next().unwrap().into(),
            base: None,
            counter: None,
            account_type: "IT".into(),
            owner: "owner@corp.example".into(),
            recipients: vec![],
            tags: Default::default(),
            status: MappingStatus::Active,
            aws_account_id: recorded.map(String::from),
            account: None,
            notes: None,
            created_at: created_at.into(),
            created_by: "admin".into(),
            updated_at: created_at.into(),
            updated_by: "admin".into(),
            unreachable: vec![],
        }
    }

    fn link(a: &ListedAccount) -> LinkedAccount {
        LinkedAccount {
            id: a.id.clone(),
            name: a.name.clone(),
            state: a.state,
            joined_at: a.joined_at.clone(),
        }
    }

    /// An account as the tests compare it: (id, drift, matched address).
    type Judged = (String, Option<Drift>, Option<String>);

    /// One table row: (case, account, mappings, drift, matched address).
    type Case = (
        &'static str,
        ListedAccount,
        Vec<Mapping>,
        Option<Drift>,
        Option<&'static str>,
    );

    /// Runs the reconciler over `mappings` and answers each account's (id, drift, address)
    /// and the link writes.
    fn run(
        accounts: Vec<ListedAccount>,
        mappings: &[Mapping],
    ) -> (Vec<Judged>, Vec<LinkChange>, SyncSummary) {
        let mut r = Reconciler::new(accounts, DOMAIN, CUTOFF);
        let links: Vec<LinkChange> = mappings.iter().filter_map(|m| r.see(m)).collect();
        let (rows, summary) = r.finish("2026-12-05T00:00:00Z", links.len() as u32, 30);
        let rows = rows
            .into_iter()
            .map(|a| (a.account_id, a.drift, a.address))
            .collect();
        (rows, links, summary)
    }

    #[test]
    fn each_account_gets_its_drift() {
        use AccountState::*;
        let old = "2026-01-01T00:00:00Z";
        let cases: Vec<Case> = vec![
            (
                "matched, active: no drift",
                acct("111111111111", "a@mail.example.com", Active),
                vec![mapping("a@mail.example.com", None, old)],
                None,
                Some("a@mail.example.com"),
            ),
            (
                "matched in another case",
                acct("111111111111", "A@Mail.Example.com", Active),
                vec![mapping("a@mail.example.com", None, old)],
                None,
                Some("a@mail.example.com"),
            ),
            (
                "matched, recording the same id",
                acct("111111111111", "a@mail.example.com", Active),
                vec![mapping("a@mail.example.com", Some("111111111111"), old)],
                None,
                Some("a@mail.example.com"),
            ),
            (
                "on the domain, no mapping",
                acct("111111111111", "b@mail.example.com", Active),
                vec![mapping("a@mail.example.com", None, old)],
                Some(Drift::Unmapped),
                None,
            ),
            (
                "a live account's mapping is suspended: its mail reaches nobody",
                acct("111111111111", "a@mail.example.com", Active),
                vec![Mapping {
                    status: MappingStatus::Suspended,
                    ..mapping("a@mail.example.com", None, old)
                }],
                Some(Drift::Conflict),
                Some("a@mail.example.com"),
            ),
            (
                "a closed account's mapping may be suspended",
                acct("111111111111", "a@mail.example.com", Closed),
                vec![Mapping {
                    status: MappingStatus::Suspended,
                    ..mapping("a@mail.example.com", None, old)
                }],
                Some(Drift::Closed),
                Some("a@mail.example.com"),
            ),
            (
                "a deleted mapping maps nothing",
                acct("111111111111", "a@mail.example.com", Active),
                vec![Mapping {
                    status: MappingStatus::Deleted,
                    ..mapping("a@mail.example.com", None, old)
                }],
                Some(Drift::Unmapped),
                None,
            ),
            (
                "a subdomain is not the domain",
                acct("111111111111", "a@x.mail.example.com", Active),
                vec![],
                Some(Drift::OffDomain),
                None,
            ),
            (
                "a lookalike domain is not the domain",
                acct("111111111111", "a@evilmail.example.com", Active),
                vec![],
                Some(Drift::OffDomain),
                None,
            ),
            (
                "off the domain",
                acct("111111111111", "team@corp.example", Active),
                vec![],
                Some(Drift::OffDomain),
                None,
            ),
            (
                "off the domain and closed: nothing to move",
                acct("111111111111", "team@corp.example", Closed),
                vec![],
                Some(Drift::Closed),
                None,
            ),
            (
                "closed and unmapped on the domain: adopt it to get its mail",
                acct("111111111111", "b@mail.example.com", PendingClosure),
                vec![],
                Some(Drift::Unmapped),
                None,
            ),
            (
                "matched and suspended",
                acct("111111111111", "a@mail.example.com", Suspended),
                vec![mapping("a@mail.example.com", None, old)],
                Some(Drift::Closed),
                Some("a@mail.example.com"),
            ),
            (
                "matched, pending activation: fine",
                acct("111111111111", "a@mail.example.com", PendingActivation),
                vec![mapping("a@mail.example.com", None, old)],
                None,
                Some("a@mail.example.com"),
            ),
            (
                "the mapping at its email records another account",
                acct("111111111111", "a@mail.example.com", Active),
                vec![mapping("a@mail.example.com", Some("999999999999"), old)],
                Some(Drift::Conflict),
                Some("a@mail.example.com"),
            ),
            (
                "a mapping records this account under another address",
                acct("111111111111", "moved@corp.example", Active),
                vec![mapping("a@mail.example.com", Some("111111111111"), old)],
                Some(Drift::Conflict),
                None,
            ),
        ];
        for (case, account, mappings, drift, address) in cases {
            let id = account.id.clone();
            let (rows, _, _) = run(vec![account], &mappings);
            assert_eq!(
                rows,
                vec![(id, drift, address.map(String::from))],
                "case: {case}"
            );
        }
    }

    #[test]
    fn links_are_written_only_when_they_change() {
        let a = acct("111111111111", "a@mail.example.com", AccountState::Active);
        let m = mapping("a@mail.example.com", None, CUTOFF);
        let (_, links, summary) = run(vec![a.clone()], std::slice::from_ref(&m));
        assert_eq!(
            links,
            vec![LinkChange {
                address: m.address.clone(),
                account: Some(link(&a)),
            }]
        );
        assert_eq!(summary.linked, 1);

        // Already linked as the organization says: nothing to write.
        let linked = Mapping {
            aws_account_id: Some(a.id.clone()),
            account: Some(link(&a)),
            ..m.clone()
        };
        let (_, links, _) = run(vec![a.clone()], std::slice::from_ref(&linked));
        assert!(links.is_empty());

        // The account was renamed and closed: the link follows.
        let renamed = ListedAccount {
            name: "new name".into(),
            state: AccountState::Closed,
            ..a.clone()
        };
        let (_, links, _) = run(vec![renamed.clone()], std::slice::from_ref(&linked));
        assert_eq!(links[0].account, Some(link(&renamed)));

        // The account left the organization: the link goes (the id the mapping holds stays,
        // since the store keeps aws_account_id unless told).
        let (_, links, _) = run(vec![], std::slice::from_ref(&linked));
        assert_eq!(
            links,
            vec![LinkChange {
                address: m.address.clone(),
                account: None,
            }]
        );

        // A conflicting admin entry is never overwritten.
        let theirs = Mapping {
            aws_account_id: Some("999999999999".into()),
            ..m.clone()
        };
        let (_, links, _) = run(vec![a], &[theirs]);
        assert!(links.is_empty());
    }

    #[test]
    fn unused_mappings_are_old_live_and_unmatched() {
        let a = acct(
            "111111111111",
            "used@mail.example.com",
            AccountState::Active,
        );
        let old = "2026-10-01T00:00:00Z";
        let new = "2026-11-30T00:00:00Z";
        let mappings = vec![
            mapping("used@mail.example.com", None, old),
            mapping("old-b@mail.example.com", None, old),
            mapping("old-a@mail.example.com", None, old),
            mapping("new@mail.example.com", None, new),
            mapping("recorded@mail.example.com", Some("222222222222"), old),
            Mapping {
                status: MappingStatus::Deleted,
                ..mapping("gone@mail.example.com", None, old)
            },
            Mapping {
                status: MappingStatus::Suspended,
                ..mapping("paused@mail.example.com", None, old)
            },
        ];
        let (_, _, summary) = run(vec![a], &mappings);
        assert_eq!(
            summary.unused,
            vec![
                "old-a@mail.example.com",
                "old-b@mail.example.com",
                "paused@mail.example.com"
            ]
        );
        assert_eq!(summary.unused_total, 3);
    }

    #[test]
    fn the_summary_counts_each_drift_and_ids_listed_twice_count_once() {
        use AccountState::*;
        let accounts = vec![
            acct("111111111111", "a@mail.example.com", Active),
            acct("111111111111", "a@mail.example.com", Active),
            acct("222222222222", "b@mail.example.com", Active),
            acct("333333333333", "c@corp.example", Active),
            acct("444444444444", "d@corp.example", Closed),
            acct("555555555555", "e@mail.example.com", Closed),
        ];
        let old = "2026-01-01T00:00:00Z";
        let mappings = vec![
            mapping("a@mail.example.com", None, old),
            mapping("e@mail.example.com", None, old),
        ];
        let (rows, _, s) = run(accounts, &mappings);
        assert_eq!(rows.len(), 5);
        assert_eq!(
            (s.accounts, s.unmapped, s.off_domain, s.closed, s.conflict),
            (5, 1, 1, 2, 0)
        );
    }
}
