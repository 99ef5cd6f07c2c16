//! Unreachable recipients: marked once, cleared only by what came after, audited both ways.

use app::model::{DeliveryState, Unreachable};

use super::unique;
use crate::store::{MappingStore, ReachabilityStore};

fn mark(recipient: &str, since: &str) -> Unreachable {
    Unreachable {
        recipient: recipient.to_string(),
        reason: DeliveryState::Bounced,
        detail: "Permanent/General: 550 5.1.1 user unknown".into(),
        since: since.to_string(),
        mailer_message_id: format!("{}-id", unique("send")),
    }
}

pub async fn unreachable_marks_are_kept_cleared_in_order_and_audited<
    S: ReachabilityStore + MappingStore,
>(
    store: &S,
) {
    let gone = format!("{}@example.org", unique("gone"));
    let other = format!("{}@example.org", unique("other"));
    let first = mark(&gone, "2026-12-01T10:00:00.000Z");
    let now = "2026-12-01T10:00:01.000Z";
    assert!(store.mark_unreachable(&first, "ses", now).await.unwrap());
    // An older bounce, reported late, changes nothing.
    let older = mark(&gone, "2026-12-01T09:00:00.000Z");
    assert!(!store.mark_unreachable(&older, "ses", now).await.unwrap());
    let marks = store.unreachable().await.unwrap();
    let kept: Vec<&Unreachable> = marks.iter().filter(|m| m.recipient == gone).collect();
    assert_eq!(kept, vec![&first]);
    // A later bounce moves the mark on: a delivery from between the two (reported after the
    // second) must not clear it.
    let later = mark(&gone, "2026-12-01T10:30:00.000Z");
    assert!(!store.mark_unreachable(&later, "ses", now).await.unwrap());
    let cleared = store
        .clear_unreachable(&gone, Some("2026-12-01T10:15:00.000Z"), "ses", now)
        .await
        .unwrap();
    assert_eq!(cleared, None);
    let marks = store.unreachable().await.unwrap();
    let kept: Vec<&Unreachable> = marks.iter().filter(|m| m.recipient == gone).collect();
    assert_eq!(kept, vec![&later]);
    let first = later;

    // A delivery that happened before the bounce (reported late) leaves the mark.
    let cleared = store
        .clear_unreachable(&gone, Some("2026-12-01T09:59:59.000Z"), "ses", now)
        .await
        .unwrap();
    assert_eq!(cleared, None);
    let cleared = store
        .clear_unreachable(&gone, Some(&first.since), "ses", now)
        .await
        .unwrap();
    assert_eq!(
        cleared, None,
        "a delivery at the same instant does not clear it"
    );
    // One after it clears it, once.
    let cleared = store
        .clear_unreachable(&gone, Some("2026-12-01T12:00:00.000Z"), "ses", now)
        .await
        .unwrap();
    assert_eq!(cleared, Some(first.clone()));
    assert!(!store
        .unreachable()
        .await
        .unwrap()
        .iter()
        .any(|m| m.recipient == gone));
    assert_eq!(
        store
            .clear_unreachable(&gone, None, "admin:a", now)
            .await
            .unwrap(),
        None
    );

    // An admin's clearing takes any mark; the others are left alone.
    let broken = mark(&other, "2026-12-02T00:00:00.000Z");
    assert!(store.mark_unreachable(&broken, "ses", now).await.unwrap());
    assert!(store.mark_unreachable(&first, "ses", now).await.unwrap());
    assert_eq!(
        store
            .clear_unreachable(&other, None, "admin:fixer", "2026-12-02T01:00:00.000Z")
            .await
            .unwrap(),
        Some(broken.clone())
    );
    let left: Vec<String> = store
        .unreachable()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.recipient)
        .filter(|r| *r == gone || *r == other)
        .collect();
    assert_eq!(left, vec![gone.clone()]);

    let trail = store
        .audit_trail(&format!("recipient:{other}"))
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![("unreachable", "ses"), ("reachable", "admin:fixer")]
    );
    let made: Unreachable = serde_json::from_str(trail[0].after.as_deref().unwrap()).unwrap();
    assert_eq!(made, broken);
    let undone: Unreachable = serde_json::from_str(trail[1].before.as_deref().unwrap()).unwrap();
    assert_eq!(undone, broken);
    assert_eq!(trail[1].after, None);
}
