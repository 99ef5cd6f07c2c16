//! Notification channels and the delivery queue: channels audited and capped, deliveries
//! claimed once while leased, attempts recorded, the log newest first, settled rows purged.

use std::sync::Arc;

use app::model::AuditEntry;
use app::notify::{ChannelKind, NoticeState, NotificationDelivery, NotifyEvent};

use super::unique;
use crate::secret::Secret;
use crate::store::{
    delivery_id_prefix, MappingStore, NoticeAttempt, NotificationStore, QueuedNotice, StoreError,
    StoredChannel, MAX_CHANNELS,
};

fn channel(id: &str, kind: ChannelKind) -> StoredChannel {
    StoredChannel {
        id: id.to_string(),
        kind,
        target: "https://hooks.example.org/in/T000/B000/secretpart".into(),
        secret: (kind == ChannelKind::Webhook).then(|| Secret::new("whsec_0123")),
        events: vec![NotifyEvent::DeadLetter, NotifyEvent::HeldWaiting],
        created_at: "2026-12-05T10:00:00.000Z".into(),
        created_by: "admin@corp.example".into(),
    }
}

/// Removals a minute after additions, so the trail's order is the order of the changes.
fn entry(action: &str, id: &str) -> AuditEntry {
    let at = match action {
        "remove_channel" => "2026-12-05T10:01:00.000Z",
        _ => "2026-12-05T10:00:00.000Z",
    };
    AuditEntry {
        at: at.into(),
        actor: "admin@corp.example".into(),
        action: action.into(),
        subject: format!("channel:{id}"),
        before: None,
        after: Some(format!("{{\"id\":\"{id}\"}}")),
    }
}

/// A delivery queued at `next_at`, its id time-ordered as the queue makes them
/// (`delivery_id_prefix`) and ending in `tag`.
pub fn notice(tag: &str, channel_id: &str, next_at: &str) -> QueuedNotice {
    let id = format!("{}_{tag}", delivery_id_prefix(next_at));
    QueuedNotice {
        body: format!("{{\"id\":\"{id}\"}}"),
        delivery: NotificationDelivery {
            id,
            channel_id: channel_id.to_string(),
            channel_kind: ChannelKind::Webhook,
            event: NotifyEvent::DeadLetter,
            summary: "Dead letter for a@mail.example.com: sending failed".into(),
            state: NoticeState::Pending,
            attempts: 0,
            next_at: Some(next_at.to_string()),
            last_status: None,
            last_error: None,
            created_at: next_at.to_string(),
            delivered_at: None,
        },
    }
}

pub async fn channels_are_kept_capped_and_audited<S: NotificationStore + MappingStore>(store: &S) {
    let hook = unique("ch");
    let stored = channel(&hook, ChannelKind::Webhook);
    store
        .add_channel(&stored, &entry("add_channel", &hook))
        .await
        .unwrap();
    let again = store
        .add_channel(&stored, &entry("add_channel", &hook))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let listed = store.channels().await.unwrap();
    assert_eq!(
        listed,
        vec![stored.clone()],
        "the secret and whole target come back"
    );
    // Filled up to the cap; the next is refused and nothing is written.
    for i in 1..MAX_CHANNELS {
        let id = format!("{hook}-{i:02}");
        store
            .add_channel(
                &channel(&id, ChannelKind::Digest),
                &entry("add_channel", &id),
            )
            .await
            .unwrap();
    }
    let extra = format!("{hook}-extra");
    let over = store
        .add_channel(
            &channel(&extra, ChannelKind::Slack),
            &entry("add_channel", &extra),
        )
        .await;
    assert!(matches!(over, Err(StoreError::Conflict(_))), "{over:?}");
    assert_eq!(store.channels().await.unwrap().len(), MAX_CHANNELS);
    store
        .remove_channel(&hook, &entry("remove_channel", &hook))
        .await
        .unwrap();
    let gone = store
        .remove_channel(&hook, &entry("remove_channel", &hook))
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");
    assert!(store.channels().await.unwrap().iter().all(|c| c.id != hook));
    let trail = store.audit_trail(&format!("channel:{hook}")).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["add_channel", "remove_channel"]);
    assert!(trail.iter().all(|e| !format!("{e:?}").contains("whsec_")));
}

pub async fn deliveries_queue_lease_and_settle<S: NotificationStore>(store: &S) {
    let ch = unique("ch");
    let p = unique("n");
    let queued = [
        notice(&format!("{p}1"), &ch, "2026-12-05T10:00:00.000Z"),
        notice(&format!("{p}2"), &ch, "2026-12-05T10:00:01.000Z"),
        notice(&format!("{p}3"), &ch, "2026-12-06T07:00:00.000Z"),
    ];
    for q in &queued {
        store.enqueue(q).await.unwrap();
    }
    let [first, second, later] = queued.map(|q| q.delivery.id);
    let count = |event| store.pending_count(&ch, event);
    assert_eq!(count(NotifyEvent::DeadLetter).await.unwrap(), 3);
    assert_eq!(count(NotifyEvent::HeldWaiting).await.unwrap(), 0);
    let other = unique("other");
    let elsewhere = store.pending_count(&other, NotifyEvent::DeadLetter);
    assert_eq!(elsewhere.await.unwrap(), 0);

    // Only what is due is claimed, and then leased: a second claim in the lease gets nothing.
    let now = "2026-12-05T10:00:05.000Z";
    let lease = "2026-12-05T10:01:05.000Z";
    let claimed = store.claim_due(now, lease, 10).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|q| q.delivery.id.as_str()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(claimed[0].body, format!("{{\"id\":\"{first}\"}}"));
    assert_eq!(claimed[0].delivery.next_at.as_deref(), Some(lease));
    assert!(store.claim_due(now, lease, 10).await.unwrap().is_empty());

    let attempt = |id: &str, lease: &str, attempts: u32, state: NoticeState| NoticeAttempt {
        id: id.to_string(),
        lease: lease.to_string(),
        attempts,
        state,
        next_at: None,
        status: None,
        error: None,
        delivered_at: None,
    };
    // An attempt under another lease (one that ran out and was taken over) is refused.
    let stale = store
        .record_attempt(&attempt(
            &first,
            "2026-12-05T09:59:00.000Z",
            1,
            NoticeState::Delivered,
        ))
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    // The first fails and is put off; the second is delivered.
    let retry_at = "2026-12-05T10:00:35.000Z";
    store
        .record_attempt(&NoticeAttempt {
            next_at: Some(retry_at.into()),
            status: Some(500),
            error: Some("the receiver answered 500".into()),
            ..attempt(&first, lease, 1, NoticeState::Pending)
        })
        .await
        .unwrap();
    store
        .record_attempt(&NoticeAttempt {
            status: Some(204),
            delivered_at: Some(now.into()),
            ..attempt(&second, lease, 1, NoticeState::Delivered)
        })
        .await
        .unwrap();
    assert_eq!(count(NotifyEvent::DeadLetter).await.unwrap(), 2);
    // Settled: no later attempt is recorded on it, under any lease; nor on what is not there.
    let again = store
        .record_attempt(&attempt(&second, lease, 2, NoticeState::Failed))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let missing = store
        .record_attempt(&attempt(&unique("nope"), lease, 1, NoticeState::Failed))
        .await;
    assert!(
        matches!(missing, Err(StoreError::Conflict(_))),
        "{missing:?}"
    );

    // Due again after its wait, not before.
    assert!(store
        .claim_due("2026-12-05T10:00:30.000Z", lease, 10)
        .await
        .unwrap()
        .is_empty());
    let lease2 = "2026-12-05T10:01:40.000Z";
    let again = store
        .claim_due("2026-12-05T10:00:40.000Z", lease2, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.attempts, 1);
    assert_eq!(again[0].delivery.last_status, Some(500));
    store
        .record_attempt(&NoticeAttempt {
            error: Some("connection refused".into()),
            ..attempt(&first, lease2, 2, NoticeState::Failed)
        })
        .await
        .unwrap();
    assert_eq!(count(NotifyEvent::DeadLetter).await.unwrap(), 1);

    // The log, newest first, with each attempt's outcome.
    let log = store.deliveries(50).await.unwrap();
    let mine: Vec<&NotificationDelivery> = log.iter().filter(|d| d.channel_id == ch).collect();
    let order: Vec<&str> = mine.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(order, [later.as_str(), second.as_str(), first.as_str()]);
    assert_eq!(mine[1].state, NoticeState::Delivered);
    assert_eq!(mine[1].delivered_at.as_deref(), Some(now));
    assert_eq!(mine[2].state, NoticeState::Failed);
    assert_eq!(mine[2].attempts, 2);
    assert_eq!(mine[2].last_error.as_deref(), Some("connection refused"));
    assert_eq!(
        mine[2].last_status, None,
        "a later attempt's silence replaces the 500"
    );
    assert_eq!(store.deliveries(1).await.unwrap().len(), 1);

    // Purging takes settled rows queued before the cut, and nothing pending.
    let purged = store
        .purge_deliveries("2026-12-06T00:00:00.000Z")
        .await
        .unwrap();
    assert_eq!(purged, 2);
    let left: Vec<String> = store
        .deliveries(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.channel_id == ch)
        .map(|d| d.id)
        .collect();
    assert_eq!(left, [later]);
}

/// Servers claiming at once: each due delivery goes to exactly one of them.
pub async fn concurrent_claims_lease_each_delivery_once(store: Arc<dyn NotificationStore>) {
    let ch = unique("ch");
    let p = unique("n");
    let mut want = Vec::new();
    for i in 0..12 {
        let q = notice(&format!("{p}{i:02}"), &ch, "2026-12-05T10:00:00.000Z");
        store.enqueue(&q).await.unwrap();
        want.push(q.delivery.id);
    }
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_due("2026-12-05T10:00:01.000Z", "2026-12-05T10:01:01.000Z", 50)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut got: Vec<String> = Vec::new();
    for t in tasks {
        got.extend(t.await.unwrap().into_iter().map(|q| q.delivery.id));
    }
    got.sort();
    want.sort();
    assert_eq!(got, want, "every delivery claimed, none twice");
}
