//! Use cases that span several store calls, run on both stores: the service over SQLite in a
//! temporary file and over DynamoDB in moto.

use std::sync::Arc;

use app::model::MappingStatus;

use super::*;
use crate::mailer::outbox::Outbox;
use crate::metrics::Metrics;
use crate::service::vending::VendRequest;

const DOMAIN: &str = "mail.example.com";

fn service_on(stores: Stores, outbox: &std::path::Path) -> AppService {
    let config =
        Arc::new(Config::load(vec![("MAILVEND_DOMAIN".into(), DOMAIN.into())], None).unwrap());
    let pipeline = Arc::new(Pipeline::new(
        config.clone(),
        stores.clone(),
        Arc::new(Outbox::new(outbox)),
        Arc::new(Metrics::new()),
        Default::default(),
    ));
    AppService::new(config, stores, pipeline)
}

async fn vend_for(service: &AppService, owner: &str, app: &str) -> Mapping {
    let req = VendRequest {
        owner: owner.into(),
        recipients: Vec::new(),
        account_type: "IT".into(),
        business_unit: Some("bulk".into()),
        application: Some(app.into()),
        environment: Some("dev".into()),
        tags: Default::default(),
        account_name: None,
        address: None,
        idempotency_key: None,
    };
    service
        .vend(AdminCaller::console().as_vend(), &req)
        .await
        .unwrap()
        .mapping
}

/// People leave: a preview changes nothing; the reassign moves every live mapping of the
/// owner and nobody else's, audited on each mapping and once as a whole; suspending touches
/// only active mappings; bad input names its field.
async fn bulk_owner_changes(stores: Stores) {
    let dir = tempfile::tempdir().unwrap();
    let service = service_on(stores.clone(), dir.path());
    let admin = AdminCaller::console();
    let tag = format!("{:x}", rand::random::<u32>());
    let leaver = format!("leaver-{tag}@example.org");
    let heir = format!("heir-{tag}@example.org");
    let bystander = format!("other-{tag}@example.org");
    let mut theirs = Vec::new();
    for i in 0..3 {
        theirs.push(
            vend_for(&service, &leaver, &format!("a{tag}{i}"))
                .await
                .address,
        );
    }
    let kept = vend_for(&service, &bystander, &format!("b{tag}"))
        .await
        .address;
    // A mapping they get mail for as one of its other recipients.
    let shared = vend_for(&service, &bystander, &format!("s{tag}"))
        .await
        .address;
    service
        .edit(
            &admin,
            &shared,
            &mapping_patch::MappingPatch {
                recipients: Some(vec![leaver.clone(), "team@example.org".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // A deleted mapping is not moved: it forwards nothing, and its history stays as it was.
    let gone = vend_for(&service, &leaver, &format!("d{tag}"))
        .await
        .address;
    service.delete(&admin, &gone).await.unwrap();
    theirs.sort();

    let reassign = BulkAction::Reassign {
        to: heir.to_uppercase(),
    };
    let preview = service
        .bulk_owner(&admin, &leaver.to_uppercase(), &reassign, true)
        .await
        .unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.owner, leaver);
    assert_eq!(preview.to.as_deref(), Some(heir.as_str()));
    let mut previewed = preview.addresses.clone();
    previewed.sort();
    let mut touched = theirs.clone();
    touched.push(shared.clone());
    touched.sort();
    assert_eq!(previewed, touched);
    assert_eq!(
        stores.mappings.get(&theirs[0]).await.unwrap().owner,
        leaver,
        "a preview changes nothing"
    );

    let done = service
        .bulk_owner(&admin, &leaver, &reassign, false)
        .await
        .unwrap();
    let mut moved = done.addresses.clone();
    moved.sort();
    assert_eq!(moved, touched);
    let shared_now = stores.mappings.get(&shared).await.unwrap();
    assert_eq!(shared_now.owner, bystander, "only their place changes");
    assert_eq!(
        shared_now.recipients,
        vec![heir.clone(), "team@example.org".to_string()]
    );
    for a in &theirs {
        let m = stores.mappings.get(a).await.unwrap();
        assert_eq!(
            (m.owner.as_str(), m.updated_by.as_str()),
            (heir.as_str(), admin.actor())
        );
        let trail = stores.mappings.audit_trail(a).await.unwrap();
        assert_eq!(trail.last().unwrap().action, "update");
    }
    assert_eq!(stores.mappings.get(&kept).await.unwrap().owner, bystander);
    assert_eq!(stores.mappings.get(&gone).await.unwrap().owner, leaver);
    let whole = stores
        .mappings
        .audit_trail(&format!("owner:{leaver}"))
        .await
        .unwrap();
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].action, "reassign_owner");
    let listed: serde_json::Value =
        serde_json::from_str(whole[0].after.as_deref().unwrap()).unwrap();
    assert_eq!(listed["to"], heir.as_str());
    assert_eq!(listed["addresses"].as_array().unwrap().len(), 4);
    // Running it again finds nothing left to move.
    let again = service
        .bulk_owner(&admin, &leaver, &reassign, false)
        .await
        .unwrap();
    assert!(again.addresses.is_empty());

    // To themselves: nothing moves, and nothing is written.
    let same = service
        .bulk_owner(
            &admin,
            &heir,
            &BulkAction::Reassign {
                to: heir.to_uppercase(),
            },
            false,
        )
        .await
        .unwrap();
    assert!(same.addresses.is_empty());

    // Suspending: only what is active.
    service
        .edit(
            &admin,
            &theirs[0],
            &mapping_patch::MappingPatch {
                status: Some("suspended".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let suspended = service
        .bulk_owner(&admin, &heir, &BulkAction::Suspend, false)
        .await
        .unwrap();
    let mut got = suspended.addresses.clone();
    got.sort();
    assert_eq!(got, theirs[1..].to_vec());
    for a in &theirs {
        assert_eq!(
            stores.mappings.get(a).await.unwrap().status,
            MappingStatus::Suspended
        );
    }

    for (owner, action, field) in [
        ("not an address", reassign.clone(), "owner"),
        (
            leaver.as_str(),
            BulkAction::Reassign {
                to: "Jane <j@x.org>".into(),
            },
            "to",
        ),
    ] {
        match service.bulk_owner(&admin, owner, &action, false).await {
            Err(ServiceError::Invalid { field: f, .. }) => {
                assert_eq!(f, field, "{owner} {action:?}")
            }
            other => panic!("{owner} {action:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn bulk_owner_changes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("s.db"))
        .await
        .unwrap();
    bulk_owner_changes(Stores::from_backend(Arc::new(store))).await;
}

#[tokio::test]
async fn bulk_owner_changes_on_dynamodb() {
    let store = crate::store::dynamodb::tests::store().await;
    bulk_owner_changes(Stores::from_backend(Arc::new(store))).await;
}

#[test]
fn the_overview_reads_fourteen_days_and_the_hours_of_the_last_day() {
    use std::time::{Duration, UNIX_EPOCH};
    // (now, first day, last day, first hour, last hour)
    let cases = [
        // 2026-12-04T10:30:00Z
        (
            1_796_380_200,
            "2026-11-21",
            "2026-12-04",
            "2026-12-03T10",
            "2026-12-04T10",
        ),
        // Just after midnight: the day before is still in the hours.
        (
            1_796_342_401,
            "2026-11-21",
            "2026-12-04",
            "2026-12-03T00",
            "2026-12-04T00",
        ),
        // Across a month and a year.
        (
            1_798_761_600,
            "2026-12-19",
            "2027-01-01",
            "2026-12-31T00",
            "2027-01-01T00",
        ),
    ];
    for (secs, first_day, last_day, first_hour, last_hour) in cases {
        let now = UNIX_EPOCH + Duration::from_secs(secs);
        let (days, hours) = overview_buckets(now);
        assert_eq!(days.len(), 14, "{secs}");
        assert_eq!(
            (days[0].as_str(), days[13].as_str()),
            (first_day, last_day),
            "{secs}"
        );
        assert_eq!(hours.len(), 25, "{secs}");
        assert_eq!(
            (hours[0].as_str(), hours[24].as_str()),
            (first_hour, last_hour),
            "{secs}"
        );
        assert!(days.windows(2).all(|w| w[0] < w[1]));
        assert!(hours.windows(2).all(|w| w[0] < w[1]));
    }
}

/// Records left in `processing` by a worker that died: an old claim is settled where an admin
/// finds it (held mail back to held, the rest a dead letter); a claim still young, even of old
/// mail (a replay just begun), is left to its worker.
#[tokio::test]
async fn records_left_in_processing_are_settled_once_old() {
    use crate::store::MessageStore;
    use app::model::{ClassPolicy, MessageRecord, Outcome};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        crate::store::sqlite::SqliteStore::open(&dir.path().join("u.db"))
            .await
            .unwrap(),
    );
    let service = service_on(
        Stores::from_backend(store.clone()),
        &dir.path().join("outbox"),
    );
    let claim = |id: &str, policy: Option<ClassPolicy>, claimed_at: &str| MessageRecord {
        id: format!("{id}/a@mail.example.com"),
        ses_message_id: id.into(),
        recipient: "a@mail.example.com".into(),
        sender: "x@y.example".into(),
        subject: None,
        size: 1,
        verdicts: String::new(),
        outcome: Outcome::Processing,
        delivered_to: None,
        detail: if policy.is_some() {
            "held by its class's policy until an admin releases it".into()
        } else {
            "processing".into()
        },
        mailer_message_id: None,
        error: None,
        attempts: 1,
        received_at: "2026-11-20T09:00:00.000Z".into(),
        updated_at: claimed_at.into(),
        delivery: None,
        class: None,
        policy,
    };
    let old = "2026-11-25T08:00:00.000Z";
    let young = "2026-11-25T09:50:00.000Z";
    for r in [
        claim("dead", None, old),
        claim("held", Some(ClassPolicy::Hold), old),
        claim("busy", None, young),
    ] {
        let lease = "2026-11-25T10:05:00.000Z";
        store.claim(&r, lease, &r.updated_at).await.unwrap();
    }
    let now = humantime::parse_rfc3339("2026-11-25T10:00:00Z").unwrap();
    assert_eq!(service.settle_unfinished(now).await.unwrap(), 2);
    let outcome = |id: &str| {
        let store = store.clone();
        let id = format!("{id}/a@mail.example.com");
        async move { store.message(&id).await.unwrap().outcome }
    };
    assert_eq!(outcome("dead").await, Outcome::DeadLetter);
    assert_eq!(outcome("held").await, Outcome::Held);
    assert_eq!(outcome("busy").await, Outcome::Processing);
    // Nothing left to do the second time.
    assert_eq!(service.settle_unfinished(now).await.unwrap(), 0);
}

/// A stored rule that no longer passes (here, a pattern written around the check) is shown as
/// skipped, named by its number, and can still be deleted.
#[tokio::test]
async fn stored_rules_that_no_longer_pass_are_shown_skipped_and_can_be_deleted() {
    use app::model::{MatchKind, RoutingRule, RoutingRules, RuleAction, RuleChange, RuleMatch};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        crate::store::sqlite::SqliteStore::open(&dir.path().join("r.db"))
            .await
            .unwrap(),
    );
    let service = service_on(
        Stores::from_backend(store.clone()),
        &dir.path().join("outbox"),
    );
    let rule = |name: &str, value: &str| RoutingRule {
        name: name.into(),
        sender: None,
        subject: Some(RuleMatch {
            kind: MatchKind::Regex,
            value: value.into(),
        }),
        recipient: None,
        action: RuleAction::Drop,
    };
    crate::settings::put_routing_rules(
        &*store,
        &RoutingRules {
            rules: vec![rule("fine", "^ok$"), rule("broken", "(unclosed")],
        },
        "test",
        "2026-11-25T00:00:00.000Z",
    )
    .await
    .unwrap();
    let admin = AdminCaller::console();
    let view = service.rules_view(&admin).await.unwrap();
    assert_eq!(view.rules.len(), 2);
    assert_eq!(view.skipped.len(), 1, "{:?}", view.skipped);
    assert!(
        view.skipped[0].starts_with("rule 2, subject"),
        "{:?}",
        view.skipped
    );
    // Changing anything else is refused, saying what is wrong with it; deleting it works.
    let refused = service
        .change_rule(&admin, 1, "fine", RuleChange::Down)
        .await;
    assert!(
        matches!(&refused, Err(ServiceError::Invalid { message, .. }) if message.contains("unclosed group")),
        "{refused:?}"
    );
    let after = service
        .change_rule(&admin, 2, "broken", RuleChange::Delete)
        .await
        .unwrap();
    assert_eq!(after.rules.len(), 1);
    assert!(service.rules_view(&admin).await.unwrap().skipped.is_empty());
}

/// An organization whose listing the test scripts: each sync takes the next answer.
struct Scripted(
    std::sync::Mutex<
        Vec<Result<Vec<crate::organizations::ListedAccount>, crate::organizations::OrgError>>,
    >,
);

#[async_trait::async_trait]
impl crate::organizations::AccountSource for Scripted {
    async fn list_accounts(
        &self,
    ) -> Result<Vec<crate::organizations::ListedAccount>, crate::organizations::OrgError> {
        self.0.lock().unwrap().remove(0)
    }
}

/// The organization sync tells subscribed channels when it starts failing, and of accounts
/// newly in drift — not again at every sync while the same failure or drift stands.
#[tokio::test]
async fn a_failed_sync_and_new_drift_are_raised_once() {
    use crate::organizations::{ListedAccount, OrgError};
    use app::notify::{ChannelKind, NotifyEvent};
    use app::org::AccountState;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        crate::store::sqlite::SqliteStore::open(&dir.path().join("o.db"))
            .await
            .unwrap(),
    );
    let unmapped = |n: u32| ListedAccount {
        id: format!("{n:012}"),
        name: format!("unmapped {n}"),
        email: format!("nobody-{n}@{DOMAIN}"),
        state: AccountState::Active,
        joined_at: None,
    };
    let answers = vec![
        Err(OrgError::Throttled("Rate exceeded".into())),
        Err(OrgError::Throttled("Rate exceeded".into())),
        Ok(vec![unmapped(1)]),
        Ok(vec![unmapped(1)]),
        Ok(vec![unmapped(1), unmapped(2)]),
        Ok(vec![unmapped(2)]),
        Err(OrgError::Failed("gone".into())),
    ];
    let service = service_on(
        Stores::from_backend(store.clone()),
        &dir.path().join("outbox"),
    )
    .with_organizations(Arc::new(Scripted(std::sync::Mutex::new(answers))));
    let admin = AdminCaller::console();
    let added = service
        .add_channel(
            &admin,
            &app::notify::NewChannel {
                kind: ChannelKind::Digest.as_str().into(),
                target: String::new(),
                events: vec!["drift_found".into(), "sync_failed".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(added.secret, None);
    let events = || async {
        let mut log = service.deliveries(&admin, None).await.unwrap();
        log.reverse();
        log.into_iter()
            .map(|d| (d.event, d.summary))
            .collect::<Vec<_>>()
    };
    // Two failures in a row are told once; then drift as it appears (the second account
    // only, when it joins the first); nothing while it stands or shrinks; a new failure after
    // a good sync is told again.
    assert!(service.sync_accounts(&admin).await.is_err());
    assert!(service.sync_accounts(&admin).await.is_err());
    for _ in 0..4 {
        service.sync_accounts(&admin).await.unwrap();
    }
    assert!(service.sync_accounts(&admin).await.is_err());
    let got = events().await;
    let newly = "The organization sync found 1 account(s) newly in drift";
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0].0, NotifyEvent::SyncFailed);
    assert!(got[0].1.contains("Rate exceeded"), "{got:?}");
    assert_eq!(got[1], (NotifyEvent::DriftFound, newly.into()));
    assert_eq!(got[2], (NotifyEvent::DriftFound, newly.into()));
    assert_eq!(got[3].0, NotifyEvent::SyncFailed);
    assert!(got[3].1.contains("gone"), "{got:?}");
}
