//! One behaviour suite for every backend. Each backend's test module calls these functions
//! with a fresh store; the data each test writes is unique, so they can share one.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use app::model::MappingStatus;

use super::{MappingChange, MappingFilter, MappingStore, NameSpec, StoreError, VendSpec};

/// A unique prefix per test, so tests can share a store.
fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{tag}{}x{}",
        std::process::id() % 10_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn spec(base: &str) -> VendSpec {
    VendSpec {
        name: NameSpec::Generated {
            base: base.to_string(),
            width: 3,
        },
        address: None,
        domain: "example.com".into(),
        account_type: "IT".into(),
        owner: "owner@example.org".into(),
        tags: BTreeMap::from([("BusinessUnit".to_string(), "Blue-Origin".to_string())]),
        idempotency_key: None,
        actor: "admin:conformance".into(),
        now: "2026-11-25T00:00:00.000Z".into(),
    }
}

pub async fn vend_numbers_names_in_order(store: &dyn MappingStore) {
    let base = unique("seq");
    let first = store.vend(&spec(&base)).await.unwrap();
    assert!(first.created);
    assert_eq!(first.mapping.account_name, format!("{base}-001"));
    assert_eq!(first.mapping.address, format!("{base}-001@example.com"));
    assert_eq!(first.mapping.counter, Some(1));
    assert_eq!(first.mapping.base.as_deref(), Some(base.as_str()));
    assert_eq!(first.mapping.status, MappingStatus::Active);
    assert_eq!(first.mapping.tags["BusinessUnit"], "Blue-Origin");
    let second = store.vend(&spec(&base)).await.unwrap();
    assert_eq!(second.mapping.account_name, format!("{base}-002"));
    assert_eq!(
        store.get(&first.mapping.address).await.unwrap(),
        first.mapping
    );
}

pub async fn counters_grow_past_their_width(store: &dyn MappingStore) {
    let base = unique("wide");
    let mut s = spec(&base);
    s.name = NameSpec::Generated {
        base: base.clone(),
        width: 1,
    };
    let mut names = Vec::new();
    for _ in 0..11 {
        names.push(store.vend(&s).await.unwrap().mapping.account_name);
    }
    assert_eq!(names[0], format!("{base}-1"));
    assert_eq!(names[8], format!("{base}-9"));
    assert_eq!(names[9], format!("{base}-10"));
    assert_eq!(names[10], format!("{base}-11"));
}

pub async fn deleted_addresses_are_never_vended_again(store: &dyn MappingStore) {
    let base = unique("del");
    let a = store.vend(&spec(&base)).await.unwrap().mapping;
    let deleted = store
        .delete(&a.address, "admin:x", "2026-11-25T01:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(deleted.status, MappingStatus::Deleted);
    assert_eq!(deleted.updated_by, "admin:x");
    // Still readable, still reserved.
    assert_eq!(
        store.get(&a.address).await.unwrap().status,
        MappingStatus::Deleted
    );
    let b = store.vend(&spec(&base)).await.unwrap().mapping;
    assert_eq!(
        b.account_name,
        format!("{base}-002"),
        "a deleted number is not reused"
    );
    // An explicit override of the deleted address is refused too.
    let mut again = spec(&base);
    again.name = NameSpec::Explicit {
        account_name: unique("other"),
    };
    again.address = Some(a.address.clone());
    assert!(matches!(
        store.vend(&again).await,
        Err(StoreError::Conflict(_))
    ));
    // Deleting or editing it again is refused.
    assert!(matches!(
        store.delete(&a.address, "admin:x", "t").await,
        Err(StoreError::Conflict(_))
    ));
}

pub async fn generated_names_skip_names_taken_by_overrides(store: &dyn MappingStore) {
    let base = unique("skip");
    let mut taken = spec(&base);
    taken.name = NameSpec::Explicit {
        account_name: format!("{base}-001"),
    };
    store.vend(&taken).await.unwrap();
    let next = store.vend(&spec(&base)).await.unwrap().mapping;
    assert_eq!(next.account_name, format!("{base}-002"));
}

pub async fn explicit_names_and_addresses_conflict_cleanly(store: &dyn MappingStore) {
    let name = unique("explicit");
    let mut s = spec("unused");
    s.name = NameSpec::Explicit {
        account_name: name.clone(),
    };
    let first = store.vend(&s).await.unwrap().mapping;
    assert_eq!(first.address, format!("{name}@example.com"));
    assert_eq!(first.base, None);
    assert_eq!(first.counter, None);
    match store.vend(&s).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains(&name), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Same name, other address: the name is still taken.
    s.address = Some(format!("{}@example.com", unique("addr")));
    match store.vend(&s).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("account name"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

pub async fn idempotency_keys_return_the_first_result(store: &dyn MappingStore) {
    let base = unique("idem");
    let mut s = spec(&base);
    s.idempotency_key = Some(unique("key"));
    let first = store.vend(&s).await.unwrap();
    let retry = store.vend(&s).await.unwrap();
    assert!(first.created);
    assert!(!retry.created);
    assert_eq!(retry.mapping, first.mapping);
}

pub async fn edits_change_only_what_they_name(store: &dyn MappingStore) {
    let m = store.vend(&spec(&unique("edit"))).await.unwrap().mapping;
    let change = MappingChange {
        owner: Some("new-owner@example.org".into()),
        status: Some(MappingStatus::Suspended),
        aws_account_id: Some(Some("123456789012".into())),
        notes: Some(Some("moved to the platform team".into())),
        ..MappingChange::default()
    };
    let after = store
        .update(
            &m.address,
            &change,
            "admin:editor",
            "2026-11-25T02:00:00.000Z",
        )
        .await
        .unwrap();
    assert_eq!(after.owner, "new-owner@example.org");
    assert_eq!(after.status, MappingStatus::Suspended);
    assert_eq!(after.aws_account_id.as_deref(), Some("123456789012"));
    assert_eq!(after.notes.as_deref(), Some("moved to the platform team"));
    assert_eq!(after.account_type, m.account_type);
    assert_eq!(after.tags, m.tags);
    assert_eq!(after.address, m.address);
    assert_eq!(after.created_at, m.created_at);
    assert_eq!(after.updated_by, "admin:editor");
    assert_eq!(store.get(&m.address).await.unwrap(), after);
    // Clearing an optional field.
    let cleared = store
        .update(
            &m.address,
            &MappingChange {
                notes: Some(None),
                ..MappingChange::default()
            },
            "admin:editor",
            "2026-11-25T03:00:00.000Z",
        )
        .await
        .unwrap();
    assert_eq!(cleared.notes, None);
    assert_eq!(cleared.aws_account_id.as_deref(), Some("123456789012"));
    assert!(matches!(
        store.update("nobody@example.com", &change, "a", "t").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get("nobody@example.com").await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn every_change_is_audited(store: &dyn MappingStore) {
    let m = store.vend(&spec(&unique("audit"))).await.unwrap().mapping;
    let change = MappingChange {
        notes: Some(Some("audited".into())),
        ..MappingChange::default()
    };
    store
        .update(
            &m.address,
            &change,
            "admin:editor",
            "2026-11-25T01:00:00.000Z",
        )
        .await
        .unwrap();
    store
        .delete(&m.address, "admin:remover", "2026-11-25T02:00:00.000Z")
        .await
        .unwrap();
    let trail = store.audit_trail(&m.address).await.unwrap();
    let summary: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str(), e.at.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("vend", "admin:conformance", "2026-11-25T00:00:00.000Z"),
            ("update", "admin:editor", "2026-11-25T01:00:00.000Z"),
            ("delete", "admin:remover", "2026-11-25T02:00:00.000Z"),
        ]
    );
    assert_eq!(trail[0].before, None);
    let after: app::model::Mapping =
        serde_json::from_str(trail[0].after.as_deref().unwrap()).unwrap();
    assert_eq!(after, m);
    let before: app::model::Mapping =
        serde_json::from_str(trail[1].before.as_deref().unwrap()).unwrap();
    let after: app::model::Mapping =
        serde_json::from_str(trail[1].after.as_deref().unwrap()).unwrap();
    assert_eq!(before.notes, None);
    assert_eq!(after.notes.as_deref(), Some("audited"));
    let after: app::model::Mapping =
        serde_json::from_str(trail[2].after.as_deref().unwrap()).unwrap();
    assert_eq!(after.status, MappingStatus::Deleted);
    assert!(store
        .audit_trail("nobody@example.com")
        .await
        .unwrap()
        .is_empty());
}

pub async fn listing_pages_and_filters(store: &dyn MappingStore) {
    let owner = format!("{}@example.org", unique("lister"));
    let base = unique("list");
    let mut s = spec(&base);
    s.owner = owner.clone();
    let mut vended = Vec::new();
    for _ in 0..7 {
        vended.push(store.vend(&s).await.unwrap().mapping.address);
    }
    store
        .update(
            &vended[1],
            &MappingChange {
                status: Some(MappingStatus::Suspended),
                ..Default::default()
            },
            "a",
            "t",
        )
        .await
        .unwrap();
    store.delete(&vended[2], "a", "t").await.unwrap();

    // Page through one owner's mappings, three at a time: deleted ones are left out.
    let filter = MappingFilter {
        owner: Some(owner.clone()),
        ..MappingFilter::default()
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list(&filter, 3, cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|m| m.address));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut want: Vec<String> = vended
        .iter()
        .filter(|a| **a != vended[2])
        .cloned()
        .collect();
    want.sort();
    assert_eq!(seen, want);

    let suspended = store
        .list(
            &MappingFilter {
                owner: Some(owner.clone()),
                status: Some(MappingStatus::Suspended),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        suspended
            .items
            .iter()
            .map(|m| &m.address)
            .collect::<Vec<_>>(),
        vec![&vended[1]]
    );
    let deleted = store
        .list(
            &MappingFilter {
                owner: Some(owner.clone()),
                status: Some(MappingStatus::Deleted),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert_eq!(deleted.items.len(), 1);

    // Substring search over the name, and a short prefix.
    let middle = &base[2..base.len() - 1];
    let found = store
        .list(
            &MappingFilter {
                query: Some(middle.to_uppercase()),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 6, "{middle}");
    let by_owner = store
        .list(
            &MappingFilter {
                query: Some(owner.clone()),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert_eq!(by_owner.items.len(), 6);
    let none = store
        .list(
            &MappingFilter {
                query: Some(unique("zzz-no-such")),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert!(none.items.is_empty());
    assert_eq!(none.next_cursor, None);

    assert!(matches!(
        store.list(&filter, 3, Some("%%%not-a-cursor")).await,
        Err(StoreError::Invalid {
            field: "cursor",
            ..
        })
    ));
}

pub async fn concurrent_vends_get_distinct_names(store: Arc<dyn MappingStore>) {
    let base = unique("race");
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let store = store.clone();
            let s = spec(&base);
            tokio::spawn(async move { store.vend(&s).await })
        })
        .collect();
    let mut names = HashSet::new();
    for t in tasks {
        let vended = t.await.unwrap().expect("every concurrent vend succeeds");
        names.insert(vended.mapping.account_name);
    }
    assert_eq!(names.len(), 64, "64 vends, 64 distinct names");
    let want: HashSet<String> = (1..=64).map(|n| format!("{base}-{n:03}")).collect();
    assert_eq!(names, want, "no number skipped or doubled");
}

pub async fn concurrent_vends_with_one_key_make_one_mapping(store: Arc<dyn MappingStore>) {
    let base = unique("racekey");
    let mut s = spec(&base);
    s.idempotency_key = Some(unique("samekey"));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let s = s.clone();
            tokio::spawn(async move { store.vend(&s).await })
        })
        .collect();
    let mut addresses = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let v = t.await.unwrap().expect("retries succeed");
        created += usize::from(v.created);
        addresses.insert(v.mapping.address);
    }
    assert_eq!(created, 1);
    assert_eq!(addresses.len(), 1);
}

/// Runs the whole suite; each backend calls this once with a fresh store.
pub async fn imports_keep_their_numbers_and_run_again_harmlessly(store: &dyn MappingStore) {
    let base = unique("imp");
    let mut m = store.vend(&spec(&base)).await.unwrap().mapping;
    // A mapping numbered 7 from elsewhere, for the same base.
    let name = format!("{base}-007");
    m.address = format!("{name}@example.com");
    m.account_name = name.clone();
    m.counter = Some(7);
    m.created_by = "import".into();
    assert!(store
        .import(&m, "cli", "2026-11-25T00:00:00.000Z")
        .await
        .unwrap());
    assert_eq!(store.get(&m.address).await.unwrap(), m);
    // Running the import again changes nothing.
    assert!(!store
        .import(&m, "cli", "2026-11-25T00:00:01.000Z")
        .await
        .unwrap());
    // The next vend continues after the imported number, never below it.
    let next = store.vend(&spec(&base)).await.unwrap().mapping;
    assert_eq!(next.account_name, format!("{base}-008"));
    // A lower number does not pull the counter back.
    let mut low = m.clone();
    low.address = format!("{base}-002@example.com");
    low.account_name = format!("{base}-002");
    low.counter = Some(2);
    assert!(store
        .import(&low, "cli", "2026-11-25T00:00:02.000Z")
        .await
        .unwrap());
    assert_eq!(
        store.vend(&spec(&base)).await.unwrap().mapping.account_name,
        format!("{base}-009")
    );
    // The name of another address is a conflict, and nothing is written.
    let mut clash = m.clone();
    clash.address = format!("other-{base}@example.com");
    assert!(matches!(
        store
            .import(&clash, "cli", "2026-11-25T00:00:03.000Z")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.get(&clash.address).await,
        Err(StoreError::NotFound(_))
    ));
    let trail = store.audit_trail(&m.address).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (trail[0].action.as_str(), trail[0].actor.as_str()),
        ("import", "cli")
    );
}

pub async fn run_all(store: Arc<dyn MappingStore>) {
    imports_keep_their_numbers_and_run_again_harmlessly(&*store).await;
    vend_numbers_names_in_order(&*store).await;
    counters_grow_past_their_width(&*store).await;
    deleted_addresses_are_never_vended_again(&*store).await;
    generated_names_skip_names_taken_by_overrides(&*store).await;
    explicit_names_and_addresses_conflict_cleanly(&*store).await;
    idempotency_keys_return_the_first_result(&*store).await;
    edits_change_only_what_they_name(&*store).await;
    every_change_is_audited(&*store).await;
    listing_pages_and_filters(&*store).await;
    counts_types_and_the_whole_audit_log(&*store).await;
    concurrent_vends_get_distinct_names(store.clone()).await;
    concurrent_vends_with_one_key_make_one_mapping(store).await;
}

pub async fn counts_types_and_the_whole_audit_log(store: &dyn MappingStore) {
    let before = store.counts().await.unwrap();
    let owner = format!("{}@example.org", unique("counts"));
    let mut addresses = Vec::new();
    for (i, account_type) in ["IT", "Research", "IT"].into_iter().enumerate() {
        let mut s = spec(&unique("cnt"));
        s.owner = owner.clone();
        s.account_type = account_type.into();
        s.now = format!("2026-11-26T00:00:0{i}.000Z");
        addresses.push(store.vend(&s).await.unwrap().mapping.address);
    }
    let suspend = MappingChange {
        status: Some(MappingStatus::Suspended),
        ..Default::default()
    };
    store
        .update(
            &addresses[1],
            &suspend,
            "admin:c",
            "2026-11-26T00:00:05.000Z",
        )
        .await
        .unwrap();
    store
        .delete(&addresses[2], "admin:c", "2026-11-26T00:00:06.000Z")
        .await
        .unwrap();
    let after = store.counts().await.unwrap();
    assert_eq!(
        (
            after.active - before.active,
            after.suspended - before.suspended,
            after.deleted - before.deleted
        ),
        (1, 1, 1)
    );

    let research = store
        .list(
            &MappingFilter {
                owner: Some(owner.clone()),
                account_type: Some("Research".into()),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        research
            .items
            .iter()
            .map(|m| &m.address)
            .collect::<Vec<_>>(),
        vec![&addresses[1]]
    );

    // The whole log, newest first, two at a time: ours appear in reverse order of writing.
    let mut ours = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.audit_log(2, cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 2);
        ours.extend(
            page.items
                .into_iter()
                .filter(|e| addresses.contains(&e.subject))
                .map(|e| (e.action, e.subject)),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let a = |action: &str, i: usize| (action.to_string(), addresses[i].clone());
    assert_eq!(
        ours,
        vec![
            a("delete", 2),
            a("update", 1),
            a("vend", 2),
            a("vend", 1),
            a("vend", 0)
        ]
    );
    assert!(matches!(
        store.audit_log(2, Some("%%%not-a-cursor")).await,
        Err(StoreError::Invalid {
            field: "cursor",
            ..
        })
    ));
}

pub async fn tokens_are_found_by_digest_and_revoked_once<S>(store: &S)
where
    S: super::TokenStore + MappingStore,
{
    use crate::tokens::{ApiToken, Scope};
    let id = unique("tok");
    let token = ApiToken {
        id: id.clone(),
        name: "pipeline".into(),
        scope: Scope::Vend,
        created_at: "2026-11-25T00:00:00.000Z".into(),
        created_by: "admin:conformance".into(),
        revoked_at: None,
    };
    let digest = format!("digest-{id}");
    store.create_token(&token, &digest).await.unwrap();
    assert_eq!(
        store.token_by_digest(&digest).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(store.token_by_digest("no-such-digest").await.unwrap(), None);
    assert!(store.list_tokens().await.unwrap().contains(&token));
    let revoked = store
        .revoke_token(&id, "admin:x", "2026-11-25T01:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(
        revoked.revoked_at.as_deref(),
        Some("2026-11-25T01:00:00.000Z")
    );
    assert_eq!(
        store
            .token_by_digest(&digest)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        revoked.revoked_at
    );
    let trail = store.audit_trail(&format!("token:{id}")).await.unwrap();
    assert_eq!(
        trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["create_token", "revoke_token"]
    );
    let created = trail[0].after.as_deref().unwrap();
    assert!(
        created.contains(&id) && !created.contains(&digest),
        "{created}"
    );
    assert!(matches!(
        store.revoke_token(&id, "a", "t").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.revoke_token("nope", "a", "t").await,
        Err(StoreError::NotFound(_))
    ));
}

fn message(ses_id: &str, recipient: &str, received_at: &str) -> app::model::MessageRecord {
    app::model::MessageRecord {
        id: app::model::MessageRecord::id_for(ses_id, recipient),
        ses_message_id: ses_id.into(),
        recipient: recipient.into(),
        sender: "sender@example.org".into(),
        subject: Some("Hello".into()),
        size: 1234,
        verdicts: "spam:PASS virus:PASS spf:PASS dkim:PASS dmarc:PASS".into(),
        outcome: app::model::Outcome::Processing,
        delivered_to: None,
        detail: "processing".into(),
        mailer_message_id: None,
        error: None,
        attempts: 1,
        received_at: received_at.into(),
        updated_at: received_at.into(),
    }
}

pub async fn claims_are_exactly_once(store: &dyn super::MessageStore) {
    use super::Claim;
    use app::model::Outcome;
    let ses = unique("ses");
    let m = message(&ses, "a@mail.example.com", "2026-11-25T10:00:00.000Z");
    let lease = "2026-11-25T10:05:00.000Z";
    assert_eq!(
        store
            .claim(&m, lease, "2026-11-25T10:00:00.000Z")
            .await
            .unwrap(),
        Claim::Mine(m.clone())
    );
    // A duplicate delivery while the first worker is still at it.
    assert_eq!(
        store
            .claim(&m, lease, "2026-11-25T10:01:00.000Z")
            .await
            .unwrap(),
        Claim::Busy
    );
    let settled = app::model::MessageRecord {
        outcome: Outcome::Forwarded,
        delivered_to: Some("owner@example.org".into()),
        detail: "forwarded to the mapping's owner".into(),
        mailer_message_id: Some("outbox-1".into()),
        updated_at: "2026-11-25T10:00:01.000Z".into(),
        ..m.clone()
    };
    store.settle(&settled).await.unwrap();
    // After it settled, a duplicate finds it done, even after the lease time.
    assert_eq!(
        store
            .claim(&m, "2026-11-25T11:05:00.000Z", "2026-11-25T11:00:00.000Z")
            .await
            .unwrap(),
        Claim::Done(settled.clone())
    );
    assert_eq!(store.message(&m.id).await.unwrap(), settled);
    assert!(matches!(
        store.message("nope/x@y").await,
        Err(StoreError::NotFound(_))
    ));

    // A worker that died: its lease runs out and the next claim takes over.
    let stuck = message(&ses, "b@mail.example.com", "2026-11-25T10:00:00.000Z");
    assert!(matches!(
        store
            .claim(&stuck, lease, "2026-11-25T10:00:00.000Z")
            .await
            .unwrap(),
        Claim::Mine(_)
    ));
    match store
        .claim(
            &stuck,
            "2026-11-25T10:15:00.000Z",
            "2026-11-25T10:10:00.000Z",
        )
        .await
        .unwrap()
    {
        Claim::Mine(r) => {
            assert_eq!(r.attempts, 2);
            assert_eq!(r.updated_at, "2026-11-25T10:10:00.000Z");
        }
        other => panic!("expected a takeover, got {other:?}"),
    }
    assert_eq!(
        store
            .claim(
                &stuck,
                "2026-11-25T10:20:00.000Z",
                "2026-11-25T10:11:00.000Z"
            )
            .await
            .unwrap(),
        Claim::Busy
    );
    // A worker that gives up releases its claim: the next delivery takes it at once.
    store
        .release(&stuck.id, "2026-11-25T10:11:30.000Z")
        .await
        .unwrap();
    match store
        .claim(
            &stuck,
            "2026-11-25T10:21:00.000Z",
            "2026-11-25T10:12:00.000Z",
        )
        .await
        .unwrap()
    {
        Claim::Mine(r) => assert_eq!(r.attempts, 3),
        other => panic!("expected the released claim, got {other:?}"),
    }
    // Releasing a settled record changes nothing.
    store
        .release(&settled.id, "2026-11-25T12:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(store.message(&settled.id).await.unwrap(), settled);
}

pub async fn concurrent_claims_have_one_winner(store: Arc<dyn super::MessageStore>) {
    use super::Claim;
    let m = message(
        &unique("dup"),
        "c@mail.example.com",
        "2026-11-25T12:00:00.000Z",
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let m = m.clone();
            tokio::spawn(async move {
                store
                    .claim(&m, "2026-11-25T12:05:00.000Z", "2026-11-25T12:00:00.000Z")
                    .await
            })
        })
        .collect();
    let mut mine = 0;
    for t in tasks {
        match t.await.unwrap().expect("claims answer") {
            Claim::Mine(_) => mine += 1,
            Claim::Busy => {}
            Claim::Done(r) => panic!("nothing settled it: {r:?}"),
        }
    }
    assert_eq!(mine, 1, "exactly one worker processes a recipient");
}

pub async fn the_log_lists_newest_first_with_filters(store: &dyn super::MessageStore) {
    use app::model::Outcome;
    let recipient = format!("{}@mail.example.com", unique("log"));
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut m = message(
            &unique("ses"),
            &recipient,
            &format!("2026-11-25T13:00:0{i}.000Z"),
        );
        m.outcome = if i % 2 == 0 {
            Outcome::Forwarded
        } else {
            Outcome::DeadLetter
        };
        store.settle(&m).await.unwrap();
        ids.push(m.id);
    }
    let filter = super::MessageFilter {
        recipient: Some(recipient.clone()),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.messages(&filter, 2, cursor.as_deref()).await.unwrap();
        seen.extend(page.items.into_iter().map(|m| m.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let dead = store
        .messages(
            &super::MessageFilter {
                recipient: Some(recipient.clone()),
                outcome: Some(Outcome::DeadLetter),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        dead.items.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![ids[3].clone(), ids[1].clone()]
    );
    let by_outcome = store
        .messages(
            &super::MessageFilter {
                outcome: Some(Outcome::DeadLetter),
                ..Default::default()
            },
            500,
            None,
        )
        .await
        .unwrap();
    assert!(by_outcome
        .items
        .iter()
        .all(|m| m.outcome == Outcome::DeadLetter));
    assert!(by_outcome.items.iter().any(|m| m.id == ids[1]));
    let all = store
        .messages(&super::MessageFilter::default(), 500, None)
        .await
        .unwrap();
    assert!(all.items.iter().any(|m| m.id == ids[4]));
    assert!(
        all.items
            .windows(2)
            .all(|w| w[0].received_at >= w[1].received_at),
        "newest first"
    );
}

/// The message-log part of the suite.
pub async fn run_messages(store: Arc<dyn super::MessageStore>) {
    claims_are_exactly_once(&*store).await;
    concurrent_claims_have_one_winner(store.clone()).await;
    the_log_lists_newest_first_with_filters(&*store).await;
    the_log_filters_by_time_and_counts_per_day(&*store).await;
    dead_letters_reopen_once(store.clone()).await;
}

pub async fn the_log_filters_by_time_and_counts_per_day(store: &dyn super::MessageStore) {
    use app::model::{DayVolume, Outcome, OutcomeCounts};
    // March 2031 belongs to this test alone, so the per-day counts are exact.
    let recipient = format!("{}@mail.example.com", unique("days"));
    let mut ids = Vec::new();
    for (at, outcome) in [
        ("2031-03-01T10:00:00.000Z", Outcome::Forwarded),
        ("2031-03-02T00:00:00.000Z", Outcome::Forwarded),
        ("2031-03-02T09:00:00.000Z", Outcome::DeadLetter),
        ("2031-03-02T23:59:59.999Z", Outcome::Undeliverable),
        ("2031-03-03T00:00:00.000Z", Outcome::Rejected),
    ] {
        ids.push(
            settled(store, &unique("ses"), &recipient, at, outcome)
                .await
                .id,
        );
    }
    // One day, both ends of it, one record a page (the bounds and the cursor meet).
    let day = super::MessageFilter {
        recipient: Some(recipient.clone()),
        since: Some("2031-03-02".into()),
        until: Some("2031-03-02~".into()),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.messages(&day, 1, cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 1);
        seen.extend(page.items.into_iter().map(|m| m.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, vec![ids[3].clone(), ids[2].clone(), ids[1].clone()]);
    // Open-ended on either side, across every recipient.
    let since = store
        .messages(
            &super::MessageFilter {
                since: Some("2031-03-02T09".into()),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        since.items.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![ids[4].clone(), ids[3].clone(), ids[2].clone()]
    );
    let until = store
        .messages(
            &super::MessageFilter {
                recipient: Some(recipient.clone()),
                until: Some("2031-03-02".into()),
                ..Default::default()
            },
            50,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        until.items.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );

    let counts = |f: u64, u: u64, r: u64, d: u64| OutcomeCounts {
        forwarded: f,
        undeliverable: u,
        rejected: r,
        dead_letter: d,
        processing: 0,
    };
    assert_eq!(
        store.volume("2031-03-01T12:00:00.000Z").await.unwrap(),
        vec![
            DayVolume {
                day: "2031-03-02".into(),
                counts: counts(1, 1, 0, 1)
            },
            DayVolume {
                day: "2031-03-03".into(),
                counts: counts(0, 0, 1, 0)
            },
        ]
    );
    assert_eq!(store.volume("2031-03-04").await.unwrap(), vec![]);
}

/// A settled record in `outcome`, claimed and settled through the store.
async fn settled(
    store: &dyn super::MessageStore,
    ses: &str,
    recipient: &str,
    received_at: &str,
    outcome: app::model::Outcome,
) -> app::model::MessageRecord {
    let m = message(ses, recipient, received_at);
    assert!(matches!(
        store
            .claim(&m, "2999-01-01T00:00:00.000Z", received_at)
            .await,
        Ok(super::Claim::Mine(_))
    ));
    let done = app::model::MessageRecord { outcome, ..m };
    store.settle(&done).await.unwrap();
    done
}

pub async fn dead_letters_reopen_once(store: Arc<dyn super::MessageStore>) {
    use app::model::Outcome;
    let ses = unique("dl");
    let now = "2026-11-25T13:00:00.000Z";
    let dead = settled(
        &*store,
        &ses,
        "d@mail.example.com",
        now,
        Outcome::DeadLetter,
    )
    .await;
    let fine = settled(&*store, &ses, "f@mail.example.com", now, Outcome::Forwarded).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let id = dead.id.clone();
            tokio::spawn(async move {
                store
                    .reopen(&id, "2026-11-25T13:05:00.000Z", "2026-11-25T13:01:00.000Z")
                    .await
            })
        })
        .collect();
    let mut won = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => won.push(r),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one replay reopens a dead letter");
    assert_eq!(won[0].outcome, Outcome::Processing);
    assert_eq!(won[0].attempts, dead.attempts + 1);
    // While reopened, an SNS retry of the same message does not take it.
    assert_eq!(
        store
            .claim(
                &message(&ses, "d@mail.example.com", now),
                "2026-11-25T13:05:00.000Z",
                "2026-11-25T13:02:00.000Z"
            )
            .await
            .unwrap(),
        super::Claim::Busy
    );
    assert!(matches!(
        store.reopen(&fine.id, "2026-11-25T13:05:00.000Z", now).await,
        Err(StoreError::Conflict(m)) if m.contains("forwarded")
    ));
    assert!(matches!(
        store
            .reopen("nope/x@y", "2026-11-25T13:05:00.000Z", now)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn retention_purges_settled_records_and_their_raw<S>(store: &S)
where
    S: super::MessageStore + super::RawStore,
{
    use app::model::Outcome;
    let (old, busy, new) = (unique("old"), unique("busy"), unique("new"));
    let long_ago = "2001-01-01T00:00:00.000Z";
    settled(
        store,
        &old,
        "a@mail.example.com",
        long_ago,
        Outcome::DeadLetter,
    )
    .await;
    settled(
        store,
        &old,
        "b@mail.example.com",
        long_ago,
        Outcome::Forwarded,
    )
    .await;
    let stuck = message(&busy, "c@mail.example.com", long_ago);
    store
        .claim(&stuck, "2999-01-01T00:00:00.000Z", long_ago)
        .await
        .unwrap();
    settled(
        store,
        &new,
        "d@mail.example.com",
        "2026-11-25T00:00:00.000Z",
        Outcome::Undeliverable,
    )
    .await;
    for id in [&old, &busy, &new] {
        store
            .put_raw(id, format!("raw of {id}").as_bytes(), long_ago)
            .await
            .unwrap();
    }

    // Other tests' records may be old too, so count only ours.
    let purged = store.purge("2001-06-01T00:00:00.000Z").await.unwrap();
    assert!(purged >= 2, "{purged}");
    for gone in ["a", "b"] {
        let id = app::model::MessageRecord::id_for(&old, &format!("{gone}@mail.example.com"));
        assert!(matches!(
            store.message(&id).await,
            Err(StoreError::NotFound(_))
        ));
    }
    assert_eq!(store.raw(&old).await.unwrap(), None);
    // A claim in progress and newer mail stay, with their raw messages.
    assert_eq!(
        store.message(&stuck.id).await.unwrap().outcome,
        Outcome::Processing
    );
    assert_eq!(
        store.raw(&busy).await.unwrap(),
        Some(format!("raw of {busy}").into_bytes())
    );
    assert_eq!(
        store.raw(&new).await.unwrap(),
        Some(format!("raw of {new}").into_bytes())
    );
}

pub async fn raw_messages_round_trip(store: &dyn super::RawStore) {
    let id = unique("raw");
    assert_eq!(store.raw(&id).await.unwrap(), None);
    // Several DynamoDB parts, with every byte value.
    let big: Vec<u8> = (0..1_100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    store
        .put_raw(&id, &big, "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    assert!(
        store.raw(&id).await.unwrap() == Some(big.clone()),
        "1.1 MB round trip"
    );
    // Replaced by a shorter message: nothing of the longer one shows through.
    store
        .put_raw(&id, b"short\r\n\xff", "2026-11-25T00:00:01.000Z")
        .await
        .unwrap();
    assert_eq!(
        store.raw(&id).await.unwrap(),
        Some(b"short\r\n\xff".to_vec())
    );
    let empty = unique("empty");
    store
        .put_raw(&empty, b"", "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(store.raw(&empty).await.unwrap(), Some(Vec::new()));
}

pub async fn settings_are_kept_and_audited<S>(store: &S)
where
    S: super::SettingsStore + MappingStore,
{
    let key = unique("catch_all");
    assert_eq!(store.setting(&key).await.unwrap(), None);
    store
        .put_setting(&key, "true", "admin:a", "2026-11-25T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(store.setting(&key).await.unwrap().as_deref(), Some("true"));
    store
        .put_setting(&key, "false", "admin:b", "2026-11-25T00:00:01.000Z")
        .await
        .unwrap();
    assert_eq!(store.setting(&key).await.unwrap().as_deref(), Some("false"));
    let trail = store.audit_trail(&format!("setting:{key}")).await.unwrap();
    let seen: Vec<_> = trail
        .iter()
        .map(|e| {
            (
                e.actor.as_str(),
                e.action.as_str(),
                e.before.as_deref(),
                e.after.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("admin:a", "setting", None, Some("true")),
            ("admin:b", "setting", Some("true"), Some("false")),
        ]
    );
}

pub async fn sessions_expire_and_ids_are_never_shared(store: &dyn super::SessionStore) {
    let id = unique("sess");
    let now = 1_800_000_000;
    assert_eq!(store.session(&id, now).await.unwrap(), None);
    assert!(store
        .create_session(&id, "{\"a\":1}", now + 60)
        .await
        .unwrap());
    // A second session with the same id is refused, and the first is untouched.
    assert!(!store
        .create_session(&id, "{\"b\":2}", now + 60)
        .await
        .unwrap());
    assert_eq!(
        store.session(&id, now).await.unwrap().as_deref(),
        Some("{\"a\":1}")
    );
    store
        .save_session(&id, "{\"a\":2}", now + 120)
        .await
        .unwrap();
    assert_eq!(
        store.session(&id, now + 90).await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );
    // Expired: not returned, whether or not it was purged yet.
    assert_eq!(store.session(&id, now + 120).await.unwrap(), None);
    store.save_session(&id, "{}", now + 10).await.unwrap();
    store.delete_session(&id).await.unwrap();
    assert_eq!(store.session(&id, now).await.unwrap(), None);
    store.delete_session(&id).await.unwrap();
}
