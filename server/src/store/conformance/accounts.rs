//! The organization's accounts: a sync replaces them whole, lists page in id order and filter
//! by drift, and a mapping keeps its account link through edits (dropped when its id changes).

use std::sync::Arc;

use app::org::{
    AccountState, Drift, JobState, LinkedAccount, OrgAccount, RootEmailJob, SyncSummary,
};

use super::{spec, unique};
use crate::store::{AccountStore, MappingChange, MappingFilter, MappingStore, StoreError};

fn account(id: &str, drift: Option<Drift>, at: &str) -> OrgAccount {
    OrgAccount {
        account_id: id.to_string(),
        name: format!("name of {id}"),
        email: format!("root-{id}@example.com"),
        state: if drift == Some(Drift::Closed) {
            AccountState::Closed
        } else {
            AccountState::Active
        },
        joined_at: Some("2026-01-02T03:04:05Z".into()),
        address: (drift.is_none()).then(|| format!("root-{id}@example.com")),
        drift,
        drift_detail: (drift == Some(Drift::Conflict)).then(|| "the mapping says 1".to_string()),
        synced_at: at.to_string(),
    }
}

fn summary(at: &str, accounts: u32) -> SyncSummary {
    SyncSummary {
        synced_at: at.into(),
        accounts,
        unused: vec!["old@example.com".into()],
        unused_total: 1,
        unused_after_days: 30,
        ..SyncSummary::default()
    }
}

pub async fn syncs_replace_the_accounts_whole<S: AccountStore>(store: &S) {
    assert_eq!(store.last_sync().await.unwrap(), None);
    assert!(store
        .accounts(None, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());

    let t1 = "2026-12-05T10:00:00Z";
    let first: Vec<OrgAccount> = [
        ("100000000005", None),
        ("100000000001", Some(Drift::Unmapped)),
        ("100000000003", Some(Drift::Closed)),
        ("100000000002", Some(Drift::Unmapped)),
        ("100000000004", Some(Drift::Conflict)),
    ]
    .into_iter()
    .map(|(id, d)| account(id, d, t1))
    .collect();
    store
        .replace_accounts(&first, &summary(t1, 5))
        .await
        .unwrap();

    // Pages of two, in id order, each account as written.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.accounts(None, 2, cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut sorted = first.clone();
    sorted.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    assert_eq!(seen, sorted);

    let unmapped = store
        .accounts(Some(Drift::Unmapped), 10, None)
        .await
        .unwrap();
    let ids: Vec<&str> = unmapped
        .items
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    assert_eq!(ids, ["100000000001", "100000000002"]);
    assert_eq!(unmapped.next_cursor, None);
    let conflict = store
        .accounts(Some(Drift::Conflict), 10, None)
        .await
        .unwrap();
    assert_eq!(
        conflict.items,
        vec![account("100000000004", Some(Drift::Conflict), t1)]
    );
    assert!(store
        .accounts(Some(Drift::OffDomain), 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(
        store.account("100000000003").await.unwrap(),
        Some(account("100000000003", Some(Drift::Closed), t1))
    );
    assert_eq!(store.last_sync().await.unwrap(), Some(summary(t1, 5)));

    // The next sync: one account left, one changed, one joined. Nothing of the first stays.
    let t2 = "2026-12-05T11:00:00Z";
    let second = vec![
        account("100000000001", None, t2),
        account("100000000002", Some(Drift::Unmapped), t2),
        account("100000000003", Some(Drift::Closed), t2),
        account("100000000004", None, t2),
        account("100000000006", Some(Drift::OffDomain), t2),
    ];
    store
        .replace_accounts(&second, &summary(t2, 5))
        .await
        .unwrap();
    let all = store.accounts(None, 50, None).await.unwrap();
    assert_eq!(all.items, second);
    assert_eq!(store.account("100000000005").await.unwrap(), None);
    let unmapped = store
        .accounts(Some(Drift::Unmapped), 10, None)
        .await
        .unwrap();
    let ids: Vec<&str> = unmapped
        .items
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    assert_eq!(ids, ["100000000002"], "drift moves with the account");
    assert!(store
        .accounts(Some(Drift::Conflict), 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(store.last_sync().await.unwrap(), Some(summary(t2, 5)));

    // One account written alone (an adoption) replaces only itself.
    let adopted = OrgAccount {
        address: Some("root-100000000002@example.com".into()),
        drift: None,
        ..account("100000000002", Some(Drift::Unmapped), t2)
    };
    store.put_account(&adopted).await.unwrap();
    assert_eq!(
        store.account("100000000002").await.unwrap(),
        Some(adopted.clone())
    );
    assert!(store
        .accounts(Some(Drift::Unmapped), 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
    let mut second = second;
    second[1] = adopted;

    // A list naming an account twice is refused, and changes nothing.
    let twice = vec![
        account("100000000007", None, t2),
        account("100000000007", None, t2),
    ];
    match store.replace_accounts(&twice, &summary(t2, 2)).await {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "accounts"),
        other => panic!("expected an invalid list, got {other:?}"),
    }
    assert_eq!(store.accounts(None, 50, None).await.unwrap().items, second);

    // An organization that is now empty leaves nothing behind.
    store.replace_accounts(&[], &summary(t2, 0)).await.unwrap();
    assert!(store
        .accounts(None, 50, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

pub async fn mappings_keep_their_account_link<S: AccountStore + MappingStore>(store: &S) {
    let base = unique("acct");
    let vended = store.vend(&spec(&base)).await.unwrap().mapping;
    assert_eq!(vended.account, None);
    let link = LinkedAccount {
        id: "200000000001".into(),
        name: "Payments prod".into(),
        state: AccountState::Active,
        joined_at: Some("2026-01-02T03:04:05Z".into()),
    };
    let now = "2026-12-05T10:00:00.000Z";
    let linked = store
        .update(
            &vended.address,
            &MappingChange {
                aws_account_id: Some(Some(link.id.clone())),
                account: Some(Some(link.clone())),
                ..MappingChange::default()
            },
            "org-sync",
            now,
        )
        .await
        .unwrap();
    assert_eq!(linked.account.as_ref(), Some(&link));
    assert_eq!(linked.aws_account_id.as_deref(), Some("200000000001"));
    assert_eq!(store.get(&vended.address).await.unwrap(), linked);

    // An edit of something else keeps the link; the audit trail records it.
    let noted = store
        .update(
            &vended.address,
            &MappingChange {
                notes: Some(Some("hello".into())),
                ..MappingChange::default()
            },
            "admin:a",
            now,
        )
        .await
        .unwrap();
    assert_eq!(noted.account.as_ref(), Some(&link));
    let trail = store.audit_trail(&vended.address).await.unwrap();
    let after_link = trail
        .iter()
        .find(|e| e.actor == "org-sync")
        .and_then(|e| e.after.clone())
        .expect("the link is audited");
    assert!(after_link.contains("Payments prod"), "{after_link}");

    // Listing by account state finds it, and only while the state matches.
    let by_state = |state| MappingFilter {
        query: Some(base.clone()),
        account_state: Some(state),
        ..MappingFilter::default()
    };
    let active = store
        .list(&by_state(AccountState::Active), 10, None)
        .await
        .unwrap();
    assert_eq!(active.items, vec![noted.clone()]);
    assert!(store
        .list(&by_state(AccountState::Closed), 10, None)
        .await
        .unwrap()
        .items
        .is_empty());

    // A closed account: the state moves, the link stays.
    let closed = LinkedAccount {
        state: AccountState::Closed,
        ..link.clone()
    };
    store
        .update(
            &vended.address,
            &MappingChange {
                account: Some(Some(closed.clone())),
                ..MappingChange::default()
            },
            "org-sync",
            now,
        )
        .await
        .unwrap();
    let listed = store
        .list(&by_state(AccountState::Closed), 10, None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].account.as_ref(), Some(&closed));

    // An admin who records another account id drops the link, which was about the old one.
    let moved = store
        .update(
            &vended.address,
            &MappingChange {
                aws_account_id: Some(Some("200000000009".into())),
                ..MappingChange::default()
            },
            "admin:a",
            now,
        )
        .await
        .unwrap();
    assert_eq!(moved.account, None);
    assert_eq!(store.get(&vended.address).await.unwrap().account, None);
}

fn job(account_id: &str, address: &str, state: JobState) -> RootEmailJob {
    RootEmailJob {
        account_id: account_id.to_string(),
        account_name: format!("name of {account_id}"),
        previous_email: format!("root-{account_id}@elsewhere.example"),
        address: address.to_string(),
        state,
        reason: None,
        detail: "queued".into(),
        attempts: 1,
        refused_codes: 0,
        created_at: "2026-12-05T10:00:00Z".into(),
        created_by: "admin@example.com".into(),
        updated_at: "2026-12-05T10:00:00Z".into(),
    }
}

/// One open job per account and per address; each step taken only from the state it names;
/// a finished job frees its address and can be replaced by a retry.
pub async fn jobs_are_one_open_per_account_and_address<S: AccountStore>(store: &S) {
    let (a, b) = (unique("acct-a"), unique("acct-b"));
    let (x, y) = (
        format!("{}@example.com", unique("x")),
        format!("{}@example.com", unique("y")),
    );
    assert_eq!(store.job(&a).await.unwrap(), None);
    assert_eq!(store.open_job_for(&x).await.unwrap(), None);

    let queued = job(&a, &x, JobState::Queued);
    store.create_job(&queued).await.unwrap();
    assert_eq!(store.job(&a).await.unwrap(), Some(queued.clone()));
    assert_eq!(store.open_job_for(&x).await.unwrap(), Some(queued.clone()));

    // The account has an open job; so has the address.
    let again = store.create_job(&job(&a, &y, JobState::Queued)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let taken = store.create_job(&job(&b, &x, JobState::Queued)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(store.job(&b).await.unwrap(), None);
    assert_eq!(store.open_job_for(&y).await.unwrap(), None);

    // Steps: only from the stored state.
    let requested = RootEmailJob {
        state: JobState::Requested,
        detail: "code sent".into(),
        ..queued.clone()
    };
    assert!(store
        .transition(JobState::Queued, &requested)
        .await
        .unwrap());
    assert!(
        !store
            .transition(JobState::Queued, &requested)
            .await
            .unwrap(),
        "a step already taken is not taken twice"
    );
    let accepted = RootEmailJob {
        state: JobState::Accepted,
        detail: "done".into(),
        ..queued.clone()
    };
    assert!(!store
        .transition(JobState::CodeReceived, &accepted)
        .await
        .unwrap());
    assert_eq!(store.job(&a).await.unwrap(), Some(requested.clone()));
    let failed = RootEmailJob {
        state: JobState::Failed,
        reason: Some("expired".into()),
        ..requested.clone()
    };
    // A step written from an older attempt's copy is not taken.
    let stale = RootEmailJob {
        attempts: 7,
        ..failed.clone()
    };
    assert!(!store.transition(JobState::Requested, &stale).await.unwrap());
    assert!(store
        .transition(JobState::Requested, &failed)
        .await
        .unwrap());
    assert_eq!(
        store.open_job_for(&x).await.unwrap(),
        None,
        "a failed job frees its address"
    );
    assert_eq!(store.job(&a).await.unwrap(), Some(failed));

    // Another account may now take the address; the failed one is retried with another.
    store
        .create_job(&job(&b, &x, JobState::Queued))
        .await
        .unwrap();
    let retry = RootEmailJob {
        attempts: 2,
        ..job(&a, &y, JobState::Queued)
    };
    store.create_job(&retry).await.unwrap();
    assert_eq!(store.job(&a).await.unwrap(), Some(retry.clone()));
    assert_eq!(store.open_job_for(&y).await.unwrap(), Some(retry));
    assert_eq!(store.open_job_for(&x).await.unwrap().unwrap().account_id, b);

    // Listing: both, in account id order, paged.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.jobs(1, cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 1);
        seen.extend(page.items.into_iter().map(|j| j.account_id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mine: Vec<&String> = seen.iter().filter(|id| **id == a || **id == b).collect();
    let mut want = vec![&a, &b];
    want.sort();
    assert_eq!(mine, want);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "jobs list in account id order");
    // Jobs are not accounts.
    let accounts = store.accounts(None, 1000, None).await.unwrap().items;
    assert!(accounts
        .iter()
        .all(|acc| acc.account_id != a && acc.account_id != b));
}

/// Two servers reading the same verification mail: one of them takes the step.
pub async fn concurrent_transitions_have_one_winner(store: Arc<dyn AccountStore>) {
    let a = unique("acct-race");
    let x = format!("{}@example.com", unique("race"));
    let requested = job(&a, &x, JobState::Requested);
    store.create_job(&requested).await.unwrap();
    let received = RootEmailJob {
        state: JobState::CodeReceived,
        ..requested.clone()
    };
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            let received = received.clone();
            tokio::spawn(async move { store.transition(JobState::Requested, &received).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += u32::from(t.await.unwrap().expect("transitions answer"));
    }
    assert_eq!(won, 1, "exactly one server takes the step");
    assert_eq!(store.job(&a).await.unwrap(), Some(received));
}
