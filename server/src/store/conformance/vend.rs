//! Vending: names in order, counters past their width, addresses never reused, overrides,
//! idempotency, imports, and concurrent vends.

use std::collections::HashSet;
use std::sync::Arc;

use app::model::MappingStatus;

use super::{spec, unique};
use crate::store::{MappingStore, NameSpec, StoreError};

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
    // A reserved name (MAILVEND_RESERVED_ADDRESSES) is skipped the same way.
    let mut reserved = spec(&base);
    reserved.reserved = vec![format!("{base}-003").to_uppercase()];
    let after = store.vend(&reserved).await.unwrap().mapping;
    assert_eq!(after.account_name, format!("{base}-004"));
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
