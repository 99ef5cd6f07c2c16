//! Mappings after the vend: edits, the audit trail, listing and search, counts and the whole
//! audit log.

use app::model::MappingStatus;

use super::{spec, unique};
use crate::store::{MappingChange, MappingFilter, MappingStore, StoreError};

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

/// A `vend`-scope token lists only what it vended (issue 20 item 9): the filter by actor.
pub async fn listing_filters_by_who_vended(store: &dyn MappingStore) {
    let base = unique("byactor");
    let mine = unique("token:mine");
    let theirs = unique("token:theirs");
    for actor in [&mine, &theirs, &mine] {
        let mut s = spec(&base);
        s.actor = actor.clone();
        store.vend(&s).await.unwrap();
    }
    let list = |vended_by: &str| MappingFilter {
        query: Some(base.clone()),
        vended_by: Some(vended_by.to_string()),
        ..Default::default()
    };
    let page = store.list(&list(&mine), 1, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let rest = store
        .list(&list(&mine), 50, page.next_cursor.as_deref())
        .await
        .unwrap();
    let all: Vec<_> = page.items.iter().chain(&rest.items).collect();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().all(|m| m.created_by == mine));
    let theirs_page = store.list(&list(&theirs), 50, None).await.unwrap();
    assert_eq!(theirs_page.items.len(), 1);
    assert_eq!(theirs_page.items[0].created_by, theirs);
    assert!(store
        .list(&list("token:nobody"), 50, None)
        .await
        .unwrap()
        .items
        .is_empty());
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

pub async fn listing_filters_by_a_set_of_owners(store: &dyn MappingStore) {
    let base = unique("owners");
    let owners: Vec<String> = (0..3)
        .map(|i| format!("{}@example.org", unique(&format!("o{i}"))))
        .collect();
    for owner in &owners {
        let mut s = spec(&base);
        s.owner = owner.clone();
        store.vend(&s).await.unwrap();
    }
    let list = |owners: Vec<String>| MappingFilter {
        query: Some(base.clone()),
        owners: Some(owners),
        ..Default::default()
    };
    let picked = vec![
        owners[0].clone(),
        owners[2].clone(),
        "nobody@example.org".into(),
    ];
    let page = store.list(&list(picked), 50, None).await.unwrap();
    let mut got: Vec<&str> = page.items.iter().map(|m| m.owner.as_str()).collect();
    got.sort();
    let mut want = vec![owners[0].as_str(), owners[2].as_str()];
    want.sort();
    assert_eq!(got, want);
    // As many owners as a listing takes (DynamoDB's IN takes at most 100 operands).
    let mut many: Vec<String> = (0..99).map(|i| format!("x{i}@example.org")).collect();
    many.push(owners[1].clone());
    let page = store.list(&list(many), 50, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].owner, owners[1]);
    // An empty set matches nothing (not everything).
    assert!(store
        .list(&list(Vec::new()), 50, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

pub async fn recipients_are_kept_and_found_like_owners(store: &dyn MappingStore) {
    let base = unique("members");
    let member = format!("{}@example.org", unique("member"));
    let mut s = spec(&base);
    s.recipients = vec![member.clone(), "backup@example.org".into()];
    let m = store.vend(&s).await.unwrap().mapping;
    assert_eq!(m.recipients, s.recipients);
    assert_eq!(
        store.get(&m.address).await.unwrap().recipients,
        s.recipients
    );
    let mut plain = spec(&base);
    plain.owner = member.clone();
    let owned = store.vend(&plain).await.unwrap().mapping;
    let _other = store.vend(&spec(&base)).await.unwrap().mapping;

    // A member is found as owner and as recipient; nobody else's mappings come along.
    let by_member = MappingFilter {
        query: Some(base.clone()),
        member: Some(member.clone()),
        ..Default::default()
    };
    let mut found: Vec<String> = store
        .list(&by_member, 50, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.address)
        .collect();
    found.sort();
    let mut want = vec![m.address.clone(), owned.address.clone()];
    want.sort();
    assert_eq!(found, want);
    // So does a set of owners (the unreachable filter).
    let by_set = MappingFilter {
        query: Some(base.clone()),
        owners: Some(vec![member.clone()]),
        ..Default::default()
    };
    let mut found: Vec<String> = store
        .list(&by_set, 50, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.address)
        .collect();
    found.sort();
    assert_eq!(found, want);

    // An edit replaces the list, and is audited with it.
    let change = MappingChange {
        recipients: Some(vec!["backup@example.org".into()]),
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
    assert_eq!(after.recipients, vec!["backup@example.org"]);
    assert_eq!(after.owner, m.owner);
    let trail = store.audit_trail(&m.address).await.unwrap();
    assert!(trail
        .last()
        .unwrap()
        .after
        .as_deref()
        .unwrap()
        .contains(r#""recipients":["backup@example.org"]"#));
    assert!(store
        .list(&by_member, 50, None)
        .await
        .unwrap()
        .items
        .iter()
        .all(|x| x.address != m.address));
}

pub async fn appended_audit_entries_are_listed_with_their_subject(store: &dyn MappingStore) {
    let subject = format!("owner:{}@example.org", unique("leaver"));
    let entry = app::model::AuditEntry {
        at: "2026-12-04T10:00:00.000Z".into(),
        actor: "admin:bulk".into(),
        action: "reassign_owner".into(),
        subject: subject.clone(),
        before: None,
        after: Some(r#"{"to":"heir@example.org","addresses":["a@example.com"]}"#.into()),
    };
    store.append_audit(&entry).await.unwrap();
    assert_eq!(
        store.audit_trail(&subject).await.unwrap(),
        vec![entry.clone()]
    );
    // And in the whole log, newest first, with the others.
    let mut cursor: Option<String> = None;
    let mut found = false;
    for _ in 0..100 {
        let page = store.audit_log(100, cursor.as_deref()).await.unwrap();
        found |= page.items.contains(&entry);
        cursor = page.next_cursor;
        if found || cursor.is_none() {
            break;
        }
    }
    assert!(found, "the appended entry is in the audit log");
}
