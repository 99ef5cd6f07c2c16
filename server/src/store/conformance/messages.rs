//! The message log: exactly-once claims, leases, releases, dead-letter reopens, listing with
//! filters and the per-day volume.

use std::sync::Arc;

use super::unique;
use crate::store::{Claim, MessageFilter, MessageStore, StoreError};

pub(super) fn message(
    ses_id: &str,
    recipient: &str,
    received_at: &str,
) -> app::model::MessageRecord {
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
        delivery: None,
        class: None,
        policy: None,
    }
}

pub async fn claims_are_exactly_once(store: &dyn MessageStore) {
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
        // Its class is kept with it (#18).
        class: Some(app::model::MailClass::Security),
        // And the class policy applied to it.
        policy: Some(app::model::ClassPolicy::Restricted),
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

/// A worker still sending renews its lease: a delivery after the first lease would have run
/// out finds it busy, and one after the renewed lease takes over. Only the holder renews: a
/// worker whose claim was taken over (or settled) is told so and extends nothing.
pub async fn renewed_leases_hold_off_takeovers(store: &dyn MessageStore) {
    let ses = unique("ses");
    let m = message(&ses, "slow@mail.example.com", "2026-11-25T10:00:00.000Z");
    assert!(matches!(
        store
            .claim(&m, "2026-11-25T10:01:00.000Z", "2026-11-25T10:00:00.000Z")
            .await
            .unwrap(),
        Claim::Mine(_)
    ));
    assert!(store
        .renew(&m.id, 1, "2026-11-25T10:03:00.000Z")
        .await
        .unwrap());
    assert_eq!(
        store
            .claim(&m, "2026-11-25T10:04:00.000Z", "2026-11-25T10:02:00.000Z")
            .await
            .unwrap(),
        Claim::Busy,
        "the first lease ran out at 10:01, the renewed one holds until 10:03"
    );
    match store
        .claim(&m, "2026-11-25T10:05:00.000Z", "2026-11-25T10:03:30.000Z")
        .await
        .unwrap()
    {
        Claim::Mine(r) => assert_eq!(r.attempts, 2),
        other => panic!("expected a takeover, got {other:?}"),
    }
    // The first worker, late, cannot extend the new holder's claim.
    assert!(!store
        .renew(&m.id, 1, "2026-11-25T11:00:00.000Z")
        .await
        .unwrap());
    assert!(
        matches!(
            store
                .claim(&m, "2026-11-25T10:10:00.000Z", "2026-11-25T10:05:30.000Z")
                .await
                .unwrap(),
            Claim::Mine(_)
        ),
        "the lease stayed at 10:05"
    );
    // A settled record stays settled.
    let settled = app::model::MessageRecord {
        outcome: app::model::Outcome::Forwarded,
        attempts: 3,
        ..m.clone()
    };
    store.settle(&settled).await.unwrap();
    assert!(!store
        .renew(&m.id, 3, "2026-11-25T11:00:00.000Z")
        .await
        .unwrap());
    assert_eq!(store.message(&m.id).await.unwrap(), settled);
}

pub async fn concurrent_claims_have_one_winner(store: Arc<dyn MessageStore>) {
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

pub async fn the_log_lists_newest_first_with_filters(store: &dyn MessageStore) {
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
        // One credential mail among them; the others unjudged (kept before classes) or other.
        m.class = match i {
            2 => Some(app::model::MailClass::Credential),
            4 => Some(app::model::MailClass::Other),
            _ => None,
        };
        store.settle(&m).await.unwrap();
        ids.push(m.id);
    }
    let filter = MessageFilter {
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
            &MessageFilter {
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
    // By class, alone and with the recipient.
    for filter in [
        MessageFilter {
            recipient: Some(recipient.clone()),
            class: Some(app::model::MailClass::Credential),
            ..Default::default()
        },
        MessageFilter {
            class: Some(app::model::MailClass::Credential),
            ..Default::default()
        },
    ] {
        let page = store.messages(&filter, 500, None).await.unwrap();
        assert!(page.items.iter().any(|m| m.id == ids[2]), "{filter:?}");
        assert!(
            page.items
                .iter()
                .all(|m| m.class == Some(app::model::MailClass::Credential)),
            "{filter:?}"
        );
    }
    let by_outcome = store
        .messages(
            &MessageFilter {
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
        .messages(&MessageFilter::default(), 500, None)
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

pub async fn the_log_filters_by_time_and_counts_per_day(store: &dyn MessageStore) {
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
    let day = MessageFilter {
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
    // A cursor is any position (the API takes any base64url string): one before the range's
    // start, or a range that ends before it begins, holds nothing, and is no error (DynamoDB
    // refuses a BETWEEN whose bounds are inverted).
    use base64::Engine as _;
    let early = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("2031-03-01T00");
    let page = store.messages(&day, 5, Some(&early)).await.unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_none());
    let inverted = MessageFilter {
        since: Some("2031-03-03".into()),
        until: Some("2031-03-02~".into()),
        ..day.clone()
    };
    let page = store.messages(&inverted, 5, None).await.unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_none());
    // Open-ended on either side, across every recipient.
    let since = store
        .messages(
            &MessageFilter {
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
            &MessageFilter {
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
        held: 0,
    };
    let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let volume = store
        .volume(
            &list(&["2031-03-02", "2031-03-03", "2031-03-04"]),
            &list(&["2031-03-01T10", "2031-03-02T09", "2031-03-02T10"]),
        )
        .await
        .unwrap();
    assert_eq!(
        volume.days,
        vec![
            DayVolume {
                day: "2031-03-02".into(),
                counts: counts(1, 1, 0, 1)
            },
            DayVolume {
                day: "2031-03-03".into(),
                counts: counts(0, 0, 1, 0)
            },
        ],
        "the days asked for that had mail, oldest first"
    );
    assert_eq!(
        volume.hours,
        counts(1, 0, 0, 1),
        "the hours asked for, summed"
    );
    let none = store
        .volume(&list(&["2031-03-05"]), &list(&["2031-03-05T00"]))
        .await
        .unwrap();
    assert_eq!(none, crate::store::Volume::default());
}

pub async fn counts_move_once_with_each_write(store: &dyn MessageStore) {
    use app::model::{DayVolume, Outcome, OutcomeCounts};
    // May 2032 belongs to this test alone.
    let days = ["2032-05-01".to_string(), "2032-05-02".to_string()];
    let hours = ["2032-05-02T09".to_string(), "2032-05-02T10".to_string()];
    let check = |want_days: Vec<(&'static str, OutcomeCounts)>, want_hours: OutcomeCounts| {
        let (days, hours) = (days.clone(), hours.clone());
        async move {
            let v = store.volume(&days, &hours).await.unwrap();
            let want: Vec<DayVolume> = want_days
                .into_iter()
                .map(|(day, counts)| DayVolume {
                    day: day.into(),
                    counts,
                })
                .collect();
            (v.days == want && v.hours == want_hours)
                .then_some(())
                .ok_or(format!(
                    "days {:?}\n  wanted {want:?}\nhours {:?}\n  wanted {want_hours:?}",
                    v.days, v.hours
                ))
        }
    };
    let c = |forwarded, rejected, dead_letter, processing| OutcomeCounts {
        forwarded,
        undeliverable: 0,
        rejected,
        dead_letter,
        processing,
        held: 0,
    };
    let lease = "2999-01-01T00:00:00.000Z";
    // A claim in progress counts as processing.
    let at = "2032-05-02T09:15:00.000Z";
    let m = message(&unique("count"), "c@mail.example.com", at);
    assert!(matches!(
        store.claim(&m, lease, at).await,
        Ok(Claim::Mine(_))
    ));
    check(vec![("2032-05-02", c(0, 0, 0, 1))], c(0, 0, 0, 1))
        .await
        .unwrap();
    // A duplicate delivery's claim counts nothing more.
    assert!(matches!(store.claim(&m, lease, at).await, Ok(Claim::Busy)));
    let forwarded = app::model::MessageRecord {
        outcome: Outcome::Forwarded,
        ..m.clone()
    };
    store.settle(&forwarded).await.unwrap();
    check(vec![("2032-05-02", c(1, 0, 0, 0))], c(1, 0, 0, 0))
        .await
        .unwrap();
    // A settle tried again (its first answer was lost), even with another outcome, moves
    // nothing and does not change the record.
    store.settle(&forwarded).await.unwrap();
    let again = app::model::MessageRecord {
        outcome: Outcome::DeadLetter,
        ..m.clone()
    };
    store.settle(&again).await.unwrap();
    check(vec![("2032-05-02", c(1, 0, 0, 0))], c(1, 0, 0, 0))
        .await
        .unwrap();
    assert_eq!(
        store.message(&m.id).await.unwrap().outcome,
        Outcome::Forwarded,
        "the first settle stands"
    );
    // A worker whose lease ran out and whose claim was taken over: its settle, however late
    // (before or after its successor's), leaves the record and the counts to the successor.
    let at = "2032-05-02T09:30:00.000Z";
    let t = message(&unique("count"), "t@mail.example.com", at);
    assert!(matches!(
        store.claim(&t, "2032-05-02T09:31:00.000Z", at).await,
        Ok(Claim::Mine(_))
    ));
    let taken = match store.claim(&t, lease, "2032-05-02T09:45:00.000Z").await {
        Ok(Claim::Mine(taken)) => taken,
        other => panic!("a takeover after the lease: {other:?}"),
    };
    assert_eq!(taken.attempts, t.attempts + 1);
    let late = app::model::MessageRecord {
        outcome: Outcome::DeadLetter,
        ..t.clone()
    };
    store.settle(&late).await.unwrap();
    check(vec![("2032-05-02", c(1, 0, 0, 1))], c(1, 0, 0, 1))
        .await
        .unwrap();
    store
        .settle(&app::model::MessageRecord {
            outcome: Outcome::Forwarded,
            ..taken
        })
        .await
        .unwrap();
    store.settle(&late).await.unwrap();
    assert_eq!(
        store.message(&t.id).await.unwrap().outcome,
        Outcome::Forwarded,
        "the successor's settle stands"
    );
    check(vec![("2032-05-02", c(2, 0, 0, 0))], c(2, 0, 0, 0))
        .await
        .unwrap();
    // A dead letter replayed: out of dead_letter while it is reopened, then forwarded.
    let dead = settled(
        store,
        &unique("count"),
        "d@mail.example.com",
        "2032-05-02T10:59:59.999Z",
        Outcome::DeadLetter,
    )
    .await;
    check(vec![("2032-05-02", c(2, 0, 1, 0))], c(2, 0, 1, 0))
        .await
        .unwrap();
    let open = store
        .reopen(
            &dead.id,
            Outcome::DeadLetter,
            lease,
            "2032-05-03T00:00:00.000Z",
        )
        .await
        .unwrap();
    check(vec![("2032-05-02", c(2, 0, 0, 1))], c(2, 0, 0, 1))
        .await
        .unwrap();
    store
        .settle(&app::model::MessageRecord {
            outcome: Outcome::Forwarded,
            ..open
        })
        .await
        .unwrap();
    check(vec![("2032-05-02", c(3, 0, 0, 0))], c(3, 0, 0, 0))
        .await
        .unwrap();
    // Another day, outside the hours asked for.
    settled(
        store,
        &unique("count"),
        "e@mail.example.com",
        "2032-05-01T23:00:00.000Z",
        Outcome::Rejected,
    )
    .await;
    check(
        vec![("2032-05-01", c(0, 1, 0, 0)), ("2032-05-02", c(3, 0, 0, 0))],
        c(3, 0, 0, 0),
    )
    .await
    .unwrap();
    // Retention takes what it deletes out of the counts, day by day.
    store.purge("2032-05-02T00:00:00.000Z").await.unwrap();
    check(vec![("2032-05-02", c(3, 0, 0, 0))], c(3, 0, 0, 0))
        .await
        .unwrap();
    store.purge("2032-05-03T00:00:00.000Z").await.unwrap();
    check(vec![], c(0, 0, 0, 0)).await.unwrap();
}

/// A settled record in `outcome`, claimed and settled through the store.
pub(super) async fn settled(
    store: &dyn MessageStore,
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
        Ok(Claim::Mine(_))
    ));
    let done = app::model::MessageRecord { outcome, ..m };
    store.settle(&done).await.unwrap();
    done
}

pub async fn dead_letters_reopen_once(store: Arc<dyn MessageStore>) {
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
                    .reopen(
                        &id,
                        Outcome::DeadLetter,
                        "2026-11-25T13:05:00.000Z",
                        "2026-11-25T13:01:00.000Z",
                    )
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
        Claim::Busy
    );
    assert!(matches!(
        store.reopen(&fine.id, Outcome::DeadLetter, "2026-11-25T13:05:00.000Z", now).await,
        Err(StoreError::Conflict(m)) if m.contains("forwarded")
    ));
    assert!(matches!(
        store
            .reopen(
                "nope/x@y",
                Outcome::DeadLetter,
                "2026-11-25T13:05:00.000Z",
                now
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    // Held mail reopens only as held (a release), never as a dead letter (a replay, which
    // would apply its class's policy again), and a dead letter never as held mail.
    let held = settled(&*store, &ses, "h@mail.example.com", now, Outcome::Held).await;
    assert!(matches!(
        store.reopen(&held.id, Outcome::DeadLetter, "2026-11-25T13:05:00.000Z", now).await,
        Err(StoreError::Conflict(m)) if m.contains("held") && m.contains("not a dead letter")
    ));
    let again = settled(
        &*store,
        &unique("dl"),
        "d@mail.example.com",
        now,
        Outcome::DeadLetter,
    )
    .await;
    assert!(matches!(
        store.reopen(&again.id, Outcome::Held, "2026-11-25T13:05:00.000Z", now).await,
        Err(StoreError::Conflict(m)) if m.contains("only held mail is released")
    ));
    let open = store
        .reopen(&held.id, Outcome::Held, "2026-11-25T13:05:00.000Z", now)
        .await
        .unwrap();
    assert_eq!(open.outcome, Outcome::Processing);
    assert_eq!(
        store.message(&held.id).await.unwrap().outcome,
        Outcome::Processing
    );
}

pub async fn delivery_events_move_records_forward_only(store: &dyn MessageStore) {
    use crate::store::DeliveryUpdate;
    use app::model::{DeliveryState, DeliveryStatus, Outcome};
    let status = |state, detail: &str| DeliveryStatus {
        state,
        detail: detail.into(),
        at: "2031-05-01T10:00:05.000Z".into(),
    };
    // One send carried two vended recipients' records (they share the owner); another send
    // carried a third. Both start `sent`, as the pipeline settles them.
    let (ses, shared, other) = (unique("dv"), unique("mx"), unique("mx"));
    let mut ids = Vec::new();
    for (i, mailer) in [&shared, &shared, &other].into_iter().enumerate() {
        let m = settled(
            store,
            &ses,
            &format!("r{i}@mail.test"),
            "2031-05-01T10:00:00.000Z",
            Outcome::Processing,
        )
        .await;
        let forwarded = app::model::MessageRecord {
            outcome: Outcome::Forwarded,
            mailer_message_id: Some(mailer.clone()),
            delivery: Some(status(DeliveryState::Sent, "accepted by the mailer")),
            ..m
        };
        store.settle(&forwarded).await.unwrap();
        assert_eq!(
            store.message(&forwarded.id).await.unwrap(),
            forwarded,
            "the delivery round-trips"
        );
        ids.push(forwarded.id);
    }
    let state = |id: String| async move { store.message(&id).await.unwrap().delivery.unwrap() };
    let apply = |s: DeliveryStatus| {
        let shared = shared.clone();
        async move { store.record_delivery(&shared, &s).await.unwrap() }
    };
    let both = |updated, unchanged| DeliveryUpdate { updated, unchanged };

    assert_eq!(
        apply(status(DeliveryState::Delayed, "delayed")).await,
        both(2, 0)
    );
    assert_eq!(
        apply(status(DeliveryState::Delayed, "delayed again")).await,
        both(0, 2),
        "a duplicate changes nothing"
    );
    assert_eq!(state(ids[0].clone()).await.detail, "delayed");
    assert_eq!(
        apply(status(DeliveryState::Bounced, "permanent bounce")).await,
        both(2, 0)
    );
    assert_eq!(
        apply(status(DeliveryState::Delivered, "delivered late")).await,
        both(0, 2),
        "an earlier state arriving late does not move the record back"
    );
    assert_eq!(
        apply(status(DeliveryState::Sent, "send event")).await,
        both(0, 2)
    );
    for id in &ids[..2] {
        let d = state(id.clone()).await;
        assert_eq!(
            (d.state, d.detail.as_str()),
            (DeliveryState::Bounced, "permanent bounce")
        );
        assert_eq!(d.at, "2031-05-01T10:00:05.000Z");
    }
    assert_eq!(
        apply(status(DeliveryState::Complained, "spam")).await,
        both(2, 0)
    );
    assert_eq!(
        state(ids[2].clone()).await.state,
        DeliveryState::Sent,
        "the other send's record is untouched"
    );
    assert_eq!(
        store
            .record_delivery(
                &unique("no-such-send"),
                &status(DeliveryState::Delivered, "x")
            )
            .await
            .unwrap(),
        both(0, 0),
        "an unknown id changes nothing and says so"
    );
    // A record forwarded before delivery events were kept takes its first event.
    let plain = settled(
        store,
        &unique("dv"),
        "old@mail.test",
        "2031-05-01T09:00:00.000Z",
        Outcome::Processing,
    )
    .await;
    let old_mailer = unique("mx");
    store
        .settle(&app::model::MessageRecord {
            outcome: Outcome::Forwarded,
            mailer_message_id: Some(old_mailer.clone()),
            ..plain.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .record_delivery(&old_mailer, &status(DeliveryState::Delivered, "ok"))
            .await
            .unwrap(),
        both(1, 0)
    );
    assert_eq!(state(plain.id).await.state, DeliveryState::Delivered);

    // The log filters on the delivery state, alone or with the other filters.
    let window = |delivery, recipient: Option<&str>| crate::store::MessageFilter {
        delivery: Some(delivery),
        recipient: recipient.map(str::to_string),
        since: Some("2031-05-01T10:00:00".into()),
        until: Some("2031-05-01T10:00:01".into()),
        ..Default::default()
    };
    let prefix = format!("{ses}/");
    let prefix = &prefix;
    let ids_of = |f: crate::store::MessageFilter| async move {
        let page = store.messages(&f, 500, None).await.unwrap();
        page.items
            .into_iter()
            .map(|r| r.id)
            .filter(|id| id.starts_with(prefix.as_str()))
            .collect::<Vec<_>>()
    };
    let mut complained = ids_of(window(DeliveryState::Complained, None)).await;
    complained.sort();
    assert_eq!(complained, ids[..2].to_vec());
    assert_eq!(
        ids_of(window(DeliveryState::Sent, None)).await,
        vec![ids[2].clone()]
    );
    assert_eq!(
        ids_of(window(DeliveryState::Complained, Some("r1@mail.test"))).await,
        vec![ids[1].clone()]
    );
    assert!(ids_of(window(DeliveryState::Delivered, None))
        .await
        .is_empty());
}
