//! The pipeline on a real SQLite store and the real outbox mailer. The only stand-in is
//! `testing::Faulty`, which wraps the outbox to fail sends the way a throttled SES would.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use rand::SeedableRng;

use super::*;
use crate::inbound::Verdict;
use crate::mailer::outbox::Outbox;
use crate::store::sqlite::SqliteStore;
use crate::store::{
    MappingStore, MessageFilter, MessageStore, NameSpec, RawStore, SettingsStore, VendSpec,
};
use crate::testing::{Fault, Faulty};

const DOMAIN: &str = "mail.example.com";
const OWNER: &str = "owner@example.org";

struct Fixture {
    pipeline: Pipeline,
    store: Arc<SqliteStore>,
    outbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

const FAST: Retry = Retry {
    attempts: 3,
    first_delay: Duration::from_millis(1),
    max_delay: Duration::from_millis(4),
};

async fn fixture(mode: Option<Fault>, retry: Retry) -> (Fixture, Option<Arc<Faulty>>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("p.db")).await.unwrap());
    let config = Config::load(vec![("MAILVEND_DOMAIN".into(), DOMAIN.into())], None).unwrap();
    let outbox = dir.path().join("outbox");
    let (mailer, faulty): (Arc<dyn Mailer>, _) = match mode {
        Some(m) => {
            let f = Faulty::new(&outbox, m);
            (f.clone(), Some(f))
        }
        None => (Arc::new(Outbox::new(&outbox)), None),
    };
    let pipeline = Pipeline::new(
        Arc::new(config),
        Stores::from_backend(store.clone()),
        mailer,
        Arc::new(Metrics::new()),
        retry,
    );
    (
        Fixture {
            pipeline,
            store,
            outbox,
            _dir: dir,
        },
        faulty,
    )
}

impl Fixture {
    /// Vends `name@DOMAIN` for OWNER.
    async fn mapping(&self, name: &str) -> String {
        self.mapping_for(name, OWNER).await
    }

    /// Vends `name@DOMAIN` for `owner`.
    async fn mapping_for(&self, name: &str, owner: &str) -> String {
        let spec = VendSpec {
            name: NameSpec::Explicit {
                account_name: name.into(),
            },
            address: None,
            domain: DOMAIN.into(),
            account_type: "IT".into(),
            owner: owner.into(),
            recipients: Vec::new(),
            tags: BTreeMap::new(),
            idempotency_key: None,
            actor: "test".into(),
            now: "2026-11-25T00:00:00.000Z".into(),
            reserved: Vec::new(),
        };
        self.store.vend(&spec).await.unwrap().mapping.address
    }

    /// Gives `address` the other `recipients` (the whole list), as an admin's edit at `now`.
    async fn set_recipients(&self, address: &str, recipients: &[&str], now: &str) {
        let change = crate::store::MappingChange {
            recipients: Some(recipients.iter().map(|r| r.to_string()).collect()),
            ..Default::default()
        };
        self.store
            .update(address, &change, "test", now)
            .await
            .unwrap();
    }

    /// Every (source message, vended address) the outbox's messages were sent for.
    fn sent_recipients(&self) -> Vec<(String, String)> {
        f_sent_recipients(&self.outbox)
    }

    /// The outbox's messages: (metadata, bytes), oldest first.
    fn sent(&self) -> Vec<(serde_json::Value, Vec<u8>)> {
        crate::testing::outbox(&self.outbox)
    }
}

/// Every (source message, vended address) of the outbox at `dir`: one send can carry several
/// addresses of one owner (`recipient` lists them as `X-Original-To` does).
fn f_sent_recipients(dir: &std::path::Path) -> Vec<(String, String)> {
    crate::testing::outbox(dir)
        .iter()
        .flat_map(|(m, _)| {
            let source = m["source_message_id"].as_str().unwrap().to_string();
            m["recipient"]
                .as_str()
                .unwrap()
                .split(", ")
                .map(move |r| (source.clone(), r.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

const PASS: Verdicts = Verdicts {
    spam: Verdict::Pass,
    virus: Verdict::Pass,
    spf: Verdict::Pass,
    dkim: Verdict::Pass,
    dmarc: Verdict::Pass,
    dmarc_policy: crate::inbound::DmarcRequest::Unknown,
};

const BODY: &[u8] = b"caf\xe9 \xff\x00 binary-ish body\r\n.\r\nline two\r\n";

fn inbound(id: &str, recipients: &[&str]) -> Inbound {
    let mut raw = b"From: \"Jane\" <jane@sender.example>\r\nTo: x@mail.example.com\r\nSubject: Quarterly\r\nMessage-ID: <1@sender.example>\r\n\r\n".to_vec();
    raw.extend_from_slice(BODY);
    Inbound {
        ses_message_id: id.into(),
        sender: "bounce@sender.example".into(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        verdicts: PASS,
        subject: Some("Quarterly".into()),
        received_at: "2026-11-25T09:00:00.000Z".into(),
        raw,
    }
}

/// AWS's password reset (a credential, when its sender is authenticated: PASS verdicts) to
/// `to`, as SES would hand it over.
fn aws_reset(id: &str, to: &str) -> Inbound {
    Inbound {
        ses_message_id: id.into(),
        sender: "no-reply-aws@amazon.com".into(),
        recipients: vec![to.to_string()],
        verdicts: PASS,
        subject: Some("Amazon Web Services Password Assistance".into()),
        received_at: "2026-11-25T09:00:00.000Z".into(),
        raw: b"From: Amazon Web Services <no-reply-aws@amazon.com>\r\nSubject: Amazon Web Services Password Assistance\r\n\r\nhttps://signin.aws.amazon.com/resetpassword?token=secret\r\n".to_vec(),
    }
}

fn outcomes(reports: &[Report]) -> Vec<(&str, Delivery)> {
    reports
        .iter()
        .map(|r| (r.recipient.as_str(), r.outcome))
        .collect()
}

#[tokio::test]
async fn every_recipient_gets_its_own_outcome_and_bodies_pass_untouched() {
    let (f, _) = fixture(None, FAST).await;
    let team = f.mapping("team-a").await;
    let msg = inbound(
        "m1",
        &[
            &team.to_uppercase(),
            "nobody@mail.example.com",
            "x@elsewhere.example",
        ],
    );
    let reports = f.pipeline.process(&msg).await;
    assert_eq!(
        outcomes(&reports),
        vec![
            (team.as_str(), Delivery::Forwarded),
            ("nobody@mail.example.com", Delivery::Undeliverable),
            ("x@elsewhere.example", Delivery::Rejected),
        ]
    );
    let sent = f.sent();
    assert_eq!(sent.len(), 1);
    let (meta, eml) = &sent[0];
    assert_eq!(meta["to"], serde_json::json!([OWNER]));
    assert_eq!(meta["from"], format!("forwarder@{DOMAIN}"));
    assert_eq!(meta["recipient"], team.as_str());
    assert_eq!(meta["source_message_id"], "m1");
    assert_eq!(crate::inbound::rewrite::body_of(eml), BODY);
    let text = String::from_utf8_lossy(eml);
    assert!(
        text.contains("From: \"Jane via mailvend\" <forwarder@mail.example.com>"),
        "{text}"
    );
    assert!(!text.contains("Message-ID"), "{text}");

    // The log says the same, and the undeliverable mail's raw message is kept.
    let forwarded = f.store.message(&reports[0].message_id).await.unwrap();
    assert_eq!(forwarded.delivered_to.as_deref(), Some(OWNER));
    assert!(forwarded.mailer_message_id.is_some());
    assert_eq!(forwarded.verdicts, PASS.summary());
    assert_eq!(forwarded.size, msg.raw.len() as u64);
    assert_eq!(
        f.store.raw("m1").await.unwrap(),
        Some(crate::store::Kept::Bytes(msg.raw.clone()))
    );
}

#[tokio::test]
async fn a_message_delivered_again_is_never_forwarded_twice() {
    let (f, _) = fixture(None, FAST).await;
    let a = f.mapping("dup-a").await;
    let b = f.mapping("dup-b").await;
    let msg = inbound("m-dup", &[&a, &b]);
    let first = f.pipeline.process(&msg).await;
    assert!(first.iter().all(|r| r.outcome == Delivery::Forwarded));
    let again = f.pipeline.process(&msg).await;
    assert!(
        again.iter().all(|r| r.outcome == Delivery::Duplicate),
        "{again:?}"
    );

    // SNS retrying while the first delivery is still at work.
    let msg = inbound("m-race", &[&a, &b]);
    let outbox = f.outbox.clone();
    let pipeline = Arc::new(f.pipeline);
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let (p, m) = (pipeline.clone(), msg.clone());
            tokio::spawn(async move { p.process(&m).await })
        })
        .collect();
    let mut forwarded = 0;
    for r in runs {
        for report in r.await.unwrap() {
            match report.outcome {
                Delivery::Forwarded => forwarded += 1,
                Delivery::Duplicate | Delivery::Retry => {}
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(forwarded, 2, "each recipient forwarded exactly once");
    let f_outbox = outbox;
    let sent = std::fs::read_dir(&f_outbox)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("json".as_ref()))
        .count();
    assert_eq!(
        sent, 2,
        "two messages, each to two addresses of one owner: one copy each"
    );
    assert_eq!(f_sent_recipients(&f_outbox).len(), 4, "every address named");
}

/// A fan-out sends to its destinations one after another. With a slow mailer the claims of
/// the later ones would run out mid-way and a redelivery would take them over and send them
/// again; they are renewed instead. Fails without the renewal: the redelivery sends the
/// second and third copies again.
#[tokio::test]
async fn a_slow_fan_out_keeps_its_claims_so_a_redelivery_sends_nothing_twice() {
    let (f, _) = fixture(Some(Fault::Slow(Duration::from_millis(600))), FAST).await;
    let mut to = Vec::new();
    for (name, owner) in [
        ("slow-a", "a@owners.example"),
        ("slow-b", "b@owners.example"),
        ("slow-c", "c@owners.example"),
    ] {
        to.push(f.mapping_for(name, owner).await);
    }
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let msg = inbound("m-slow", &to);
    let outbox = f.outbox.clone();
    let pipeline = Arc::new(f.pipeline.with_lease(Duration::from_secs(1)));
    let first = tokio::spawn({
        let (p, m) = (pipeline.clone(), msg.clone());
        async move { p.process(&m).await }
    });
    // After the first lease ran out (1 s), while the second copy is being sent (0.6–1.2 s).
    tokio::time::sleep(Duration::from_millis(1250)).await;
    let again = pipeline.process(&msg).await;
    assert!(
        again.iter().all(|r| r.outcome != Delivery::Forwarded),
        "the redelivery took over a claim still being worked on: {again:?}"
    );
    let first = first.await.unwrap();
    assert!(
        first.iter().all(|r| r.outcome == Delivery::Forwarded),
        "{first:?}"
    );
    assert_eq!(
        crate::testing::outbox(&outbox).len(),
        3,
        "one copy per owner"
    );
}

#[tokio::test]
async fn catch_all_and_spam_policy_come_from_the_stored_settings() {
    let (f, _) = fixture(None, FAST).await;
    let team = f.mapping("spammed").await;
    crate::settings::apply(
        &*f.store,
        &f.pipeline.config,
        &crate::settings::SettingsPatch {
            catch_all: Some(true),
            spam_policy: None,
            dmarc_policy: None,
            class_policies: None,
        },
        "admin",
        "2026-11-25T00:00:00.000Z",
    )
    .await
    .unwrap();
    let mut msg = inbound("m-spam", &[&team, "unknown@mail.example.com"]);
    msg.verdicts.spam = Verdict::Fail;
    let reports = f.pipeline.process(&msg).await;
    assert_eq!(
        outcomes(&reports),
        vec![
            (team.as_str(), Delivery::Forwarded),
            ("unknown@mail.example.com", Delivery::Forwarded),
        ]
    );
    let sent = f.sent();
    // Found by what it carries, not by position: two sends in one millisecond may sort
    // either way in the outbox.
    let caught = sent
        .iter()
        .find(|(meta, _)| meta.to_string().contains("unknown@mail.example.com"))
        .expect("the catch-all copy");
    assert_eq!(
        caught.0["to"],
        serde_json::json!([format!("admin@{DOMAIN}")])
    );
    for (_, eml) in &sent {
        assert!(String::from_utf8_lossy(eml).contains("Subject: [SPAM] Quarterly"));
    }

    crate::settings::apply(
        &*f.store,
        &f.pipeline.config,
        &crate::settings::SettingsPatch {
            catch_all: None,
            spam_policy: Some(app::model::SpamPolicy::Reject),
            dmarc_policy: None,
            class_policies: None,
        },
        "admin",
        "2026-11-25T00:00:01.000Z",
    )
    .await
    .unwrap();
    let mut msg = inbound("m-spam-2", &[&team]);
    msg.verdicts.spam = Verdict::Fail;
    assert_eq!(
        f.pipeline.process(&msg).await[0].outcome,
        Delivery::Rejected
    );

    let mut msg = inbound("m-virus", &[&team]);
    msg.verdicts.virus = Verdict::Fail;
    let report = &f.pipeline.process(&msg).await[0];
    assert_eq!(report.outcome, Delivery::Rejected);
    assert!(report.detail.as_deref().unwrap().contains("virus"));
    // A virus is not kept.
    assert_eq!(f.store.raw("m-virus").await.unwrap(), None);
    assert_eq!(f.sent().len(), 2);
}

#[tokio::test]
async fn transient_failures_are_retried_then_dead_lettered_and_replayed() {
    let (f, faulty) = fixture(Some(Fault::FirstTransient(2)), FAST).await;
    let faulty = faulty.unwrap();
    let team = f.mapping("retried").await;
    let report = &f.pipeline.process(&inbound("m-retry", &[&team])).await[0];
    assert_eq!(report.outcome, Delivery::Forwarded);
    assert_eq!(
        faulty.sends.load(Ordering::SeqCst),
        3,
        "two failures, then sent"
    );

    *faulty.mode.lock().unwrap() = Fault::Permanent;
    let msg = inbound("m-dead", &[&team]);
    let report = f.pipeline.process(&msg).await.remove(0);
    assert_eq!(report.outcome, Delivery::DeadLetter);
    assert_eq!(
        faulty.sends.load(Ordering::SeqCst),
        4,
        "permanent failures are not retried"
    );
    let dead = f.store.message(&report.message_id).await.unwrap();
    assert!(
        dead.error.as_deref().unwrap().contains("MessageRejected"),
        "{dead:?}"
    );
    assert_eq!(
        f.store.raw("m-dead").await.unwrap(),
        Some(crate::store::Kept::Bytes(msg.raw.clone()))
    );

    faulty.healthy.store(true, Ordering::SeqCst);
    let replayed = f.pipeline.replay(&report.message_id).await.unwrap();
    assert_eq!(replayed.outcome, Delivery::Forwarded);
    let after = f.store.message(&report.message_id).await.unwrap();
    assert_eq!(after.attempts, 2);
    assert_eq!(after.error, None);
    let sent = f.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(crate::inbound::rewrite::body_of(&sent[1].1), BODY);
    // Only dead letters are replayed.
    assert!(matches!(
        f.pipeline.replay(&report.message_id).await,
        Err(ReplayError::Store(StoreError::Conflict(_)))
    ));
}

/// A third of sends fail at random; afterwards every recipient is forwarded or dead-lettered,
/// and replaying the dead letters forwards the rest, each exactly once.
#[tokio::test]
async fn under_random_send_failures_every_recipient_is_accounted_for() {
    let retry = Retry {
        attempts: 2,
        ..FAST
    };
    let rng = rand::rngs::StdRng::seed_from_u64(0x6d61_696c);
    let (f, faulty) = fixture(Some(Fault::Random(Box::new(rng), 1.0 / 3.0)), retry).await;
    let faulty = faulty.unwrap();
    let mut addresses = Vec::new();
    for i in 0..5 {
        addresses.push(f.mapping(&format!("fault-{i}")).await);
    }
    let mut expected = Vec::new();
    for n in 0..60 {
        let to: Vec<&str> = addresses
            .iter()
            .skip(n % 3)
            .step_by(2)
            .map(String::as_str)
            .collect();
        let msg = inbound(&format!("fi-{n}"), &to);
        for r in f.pipeline.process(&msg).await {
            expected.push(r);
        }
    }
    let count = |d: Delivery| expected.iter().filter(|r| r.outcome == d).count();
    let (forwarded, dead) = (count(Delivery::Forwarded), count(Delivery::DeadLetter));
    assert_eq!(forwarded + dead, expected.len(), "nothing else happened");
    assert!(
        dead > 0 && forwarded > 0,
        "{forwarded} forwarded, {dead} dead"
    );
    assert_eq!(f.sent_recipients().len(), forwarded);
    let log = f
        .store
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
    assert_eq!(log.items.len(), dead);

    faulty.healthy.store(true, Ordering::SeqCst);
    for r in &log.items {
        assert_eq!(
            f.pipeline.replay(&r.id).await.unwrap().outcome,
            Delivery::Forwarded
        );
    }
    let sent = f.sent_recipients();
    assert_eq!(sent.len(), expected.len());
    let mut keys = sent.clone();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), expected.len(), "no recipient forwarded twice");
    eprintln!(
        "fault injection: {} recipients, {forwarded} forwarded first time, {dead} dead-lettered, all {} forwarded after replay",
        expected.len(),
        sent.len()
    );
}

#[test]
fn mail_for_a_mailbox_known_not_to_take_it_goes_to_the_fallback() {
    let mark = Unreachable {
        recipient: "gone@example.org".into(),
        reason: DeliveryState::Bounced,
        detail: "Permanent/General".into(),
        since: "2026-12-01T10:00:00.000Z".into(),
        mailer_message_id: "s1".into(),
    };
    let fb = Some("admin@example.net");
    // (mark, suppressed, fallback) -> (to, also)
    type Case<'a> = (
        Option<&'a Unreachable>,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        // (mark, suppressed, fallback) -> (to, also)
        (None, None, fb, "gone@example.org", None),
        (
            Some(&mark),
            None,
            fb,
            "admin@example.net",
            Some("gone@example.org"),
        ),
        (None, Some("suppressed"), fb, "admin@example.net", None),
        (
            Some(&mark),
            Some("suppressed"),
            fb,
            "admin@example.net",
            None,
        ),
        // No fallback: nowhere else to send.
        (
            Some(&mark),
            Some("suppressed"),
            None,
            "gone@example.org",
            None,
        ),
        // The fallback is the destination itself (catch-all mail to the admin).
        (
            Some(&mark),
            None,
            Some("GONE@example.org"),
            "gone@example.org",
            None,
        ),
    ];
    for (mark, suppressed, fallback, to, also) in cases {
        let r = route("gone@example.org", mark, suppressed, fallback);
        assert_eq!(
            (r.to.as_str(), r.also.as_deref()),
            (to, also),
            "{mark:?} {suppressed:?} {fallback:?}"
        );
        assert_eq!(r.why.is_some(), to != "gone@example.org");
    }
    let why = route("gone@example.org", Some(&mark), None, fb)
        .why
        .unwrap();
    assert!(
        why.contains("unreachable (bounced since 2026-12-01T10:00:00.000Z)"),
        "{why}"
    );
}

/// The outbox, with a suppression list as SES keeps one.
struct Suppressing {
    outbox: Outbox,
    list: Vec<String>,
}

#[async_trait::async_trait]
impl Mailer for Suppressing {
    async fn send(&self, msg: &crate::mailer::Outgoing) -> Result<String, SendError> {
        self.outbox.send(msg).await
    }

    async fn suppressed(&self, to: &str) -> Result<Option<String>, SendError> {
        Ok(self
            .list
            .iter()
            .any(|s| s == to)
            .then(|| "on the test suppression list".to_string()))
    }
}

#[tokio::test]
async fn unreachable_and_suppressed_owners_have_their_mail_sent_to_the_fallback() {
    let (mut f, _) = fixture(None, FAST).await;
    let config = Config::load(vec![("MAILVEND_DOMAIN".into(), DOMAIN.into())], None).unwrap();
    let admin = config.admin_address.clone();
    f.pipeline = Pipeline::new(
        Arc::new(config),
        Stores::from_backend(f.store.clone()),
        Arc::new(Suppressing {
            outbox: Outbox::new(&f.outbox),
            list: vec!["gone@example.org".into()],
        }),
        Arc::new(Metrics::new()),
        FAST,
    );
    let team = f.mapping("health-team").await;
    let left = f.mapping_for("health-left", "left@example.org").await;
    let gone = f.mapping_for("health-gone", "gone@example.org").await;
    let mark = Unreachable {
        recipient: "left@example.org".into(),
        reason: DeliveryState::Bounced,
        detail: "Permanent/General: 550 user unknown".into(),
        since: "2026-12-01T10:00:00.000Z".into(),
        mailer_message_id: "earlier".into(),
    };
    use crate::store::ReachabilityStore as _;
    f.store
        .mark_unreachable(&mark, "mailer", "2026-12-01T10:00:01.000Z")
        .await
        .unwrap();

    let reports = f
        .pipeline
        .process(&inbound("h1", &[&team, &left, &gone]))
        .await;
    assert!(
        reports.iter().all(|r| r.outcome == Delivery::Forwarded),
        "{reports:?}"
    );
    let record = |i: usize| f.store.message(&reports[i].message_id);
    let (team_r, left_r, gone_r) = (
        record(0).await.unwrap(),
        record(1).await.unwrap(),
        record(2).await.unwrap(),
    );
    assert_eq!(team_r.delivered_to.as_deref(), Some(OWNER));
    assert_eq!(left_r.delivered_to.as_deref(), Some(admin.as_str()));
    assert!(
        left_r.detail.contains("left@example.org is unreachable"),
        "{}",
        left_r.detail
    );
    assert_eq!(gone_r.delivered_to.as_deref(), Some(admin.as_str()));
    assert!(
        gone_r.detail.contains("suppression list"),
        "{}",
        gone_r.detail
    );

    // Who got what: nothing was handed to the suppressed mailbox; the unreachable one got a
    // copy, whose delivery would show it works again.
    let sent: Vec<(String, String, String)> = f
        .sent()
        .iter()
        .map(|(m, _)| {
            (
                m["to"][0].as_str().unwrap().to_string(),
                m["recipient"].as_str().unwrap().to_string(),
                m["message_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut to: Vec<(&str, &str)> = sent
        .iter()
        .map(|(t, r, _)| (t.as_str(), r.as_str()))
        .collect();
    to.sort();
    let mut want = vec![
        (OWNER, team.as_str()),
        (admin.as_str(), left.as_str()),
        ("left@example.org", left.as_str()),
        (admin.as_str(), gone.as_str()),
    ];
    want.sort();
    assert_eq!(to, want);
    // The record follows the fallback's send (its delivery events are the ones that count).
    let fallback_send = sent
        .iter()
        .find(|(t, r, _)| *t == admin && *r == left)
        .unwrap();
    assert_eq!(
        left_r.mailer_message_id.as_deref(),
        Some(fallback_send.2.as_str())
    );
}

fn feedback(
    event: &str,
    id: &str,
    to: &str,
    state: DeliveryState,
    at: &str,
    permanent: bool,
) -> Feedback {
    Feedback {
        mailer_message_id: id.into(),
        event: event.into(),
        recipients: vec![to.into()],
        status: Some(DeliveryStatus {
            state,
            detail: format!("{event} for {to}"),
            at: at.into(),
        }),
        permanent,
    }
}

#[tokio::test]
async fn bounces_and_complaints_mark_recipients_and_only_a_later_delivery_clears_them() {
    let (f, _) = fixture(None, FAST).await;
    use crate::store::ReachabilityStore as _;
    let marked = || async {
        f.store
            .unreachable()
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.recipient)
            .collect::<Vec<_>>()
    };
    let p = &f.pipeline;
    p.feedback(&feedback(
        "Bounce",
        "s1",
        "Hard@Example.org",
        DeliveryState::Bounced,
        "2026-12-01T10:00:00.000Z",
        true,
    ))
    .await
    .unwrap();
    p.feedback(&feedback(
        "Bounce",
        "s2",
        "soft@example.org",
        DeliveryState::Bounced,
        "2026-12-01T10:00:00.000Z",
        false,
    ))
    .await
    .unwrap();
    p.feedback(&feedback(
        "Complaint",
        "s3",
        "angry@example.org",
        DeliveryState::Complained,
        "2026-12-01T10:00:00.000Z",
        false,
    ))
    .await
    .unwrap();
    p.feedback(&feedback(
        "DeliveryDelay",
        "s4",
        "slow@example.org",
        DeliveryState::Delayed,
        "2026-12-01T10:00:00.000Z",
        false,
    ))
    .await
    .unwrap();
    assert_eq!(
        marked().await,
        vec!["angry@example.org", "hard@example.org"]
    );

    // A delivery from before the bounce, reported late, does not clear it; a later one does.
    p.feedback(&feedback(
        "Delivery",
        "s0",
        "hard@example.org",
        DeliveryState::Delivered,
        "2026-12-01T09:00:00.000Z",
        false,
    ))
    .await
    .unwrap();
    assert_eq!(
        marked().await,
        vec!["angry@example.org", "hard@example.org"]
    );
    p.feedback(&feedback(
        "Delivery",
        "s5",
        "hard@example.org",
        DeliveryState::Delivered,
        "2026-12-01T11:00:00.000Z",
        false,
    ))
    .await
    .unwrap();
    assert_eq!(marked().await, vec!["angry@example.org"]);

    let trail = f
        .store
        .audit_trail("recipient:hard@example.org")
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![("unreachable", "mailer"), ("reachable", "mailer")]
    );
}

#[test]
fn a_destinations_record_names_it_and_the_addresses_own_does_not() {
    let id = MessageRecord::id_for_destination("ses1", "team@mail.example.com", "b@x.org");
    assert_eq!(id, "ses1/team@mail.example.com/b@x.org");
    assert_eq!(MessageRecord::destination_of(&id), Some("b@x.org"));
    for own in [
        "ses1/team@mail.example.com",
        "ses1/a/b@mail.example.com",
        "ses1/x",
    ] {
        assert_eq!(MessageRecord::destination_of(own), None, "{own}");
    }
    // A `/` in the local part is the address's, not a destination.
    assert_eq!(
        MessageRecord::destination_of("ses1/a/b@mail.example.com/c@x.org"),
        Some("c@x.org")
    );
}

/// The outbox, refusing every send to one mailbox while `broken` is set.
struct OneBadMailbox {
    outbox: Outbox,
    bad: String,
    broken: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Mailer for OneBadMailbox {
    async fn send(&self, msg: &crate::mailer::Outgoing) -> Result<String, SendError> {
        if self.broken.load(Ordering::SeqCst) && msg.to.contains(&self.bad) {
            return Err(SendError::Permanent(format!(
                "550 {} mailbox full",
                self.bad
            )));
        }
        self.outbox.send(msg).await
    }
}

#[tokio::test]
async fn each_recipient_of_an_address_gets_its_own_copy_and_record() {
    let (mut f, _) = fixture(None, FAST).await;
    let mailer = Arc::new(OneBadMailbox {
        outbox: Outbox::new(&f.outbox),
        bad: "backup@example.org".into(),
        broken: std::sync::atomic::AtomicBool::new(true),
    });
    let config = Config::load(vec![("MAILVEND_DOMAIN".into(), DOMAIN.into())], None).unwrap();
    f.pipeline = Pipeline::new(
        Arc::new(config),
        Stores::from_backend(f.store.clone()),
        mailer.clone(),
        Arc::new(Metrics::new()),
        FAST,
    );
    let team = f.mapping("several").await;
    f.set_recipients(
        &team,
        &["team-list@example.org", "backup@example.org"],
        "2026-11-25T00:00:01.000Z",
    )
    .await;

    let reports = f.pipeline.process(&inbound("multi", &[&team])).await;
    let mut got: Vec<(String, Delivery)> = reports
        .iter()
        .map(|r| (r.message_id.clone(), r.outcome))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let own = format!("multi/{team}");
    let list = MessageRecord::id_for_destination("multi", &team, "team-list@example.org");
    let backup = MessageRecord::id_for_destination("multi", &team, "backup@example.org");
    let mut want = vec![
        (own.clone(), Delivery::Forwarded),
        (list.clone(), Delivery::Forwarded),
        (backup.clone(), Delivery::DeadLetter),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want, "one bad mailbox fails only its own copy");
    let record = |id: String| {
        let store = f.store.clone();
        async move { store.message(&id).await.unwrap() }
    };
    assert_eq!(
        record(own.clone()).await.delivered_to.as_deref(),
        Some(OWNER)
    );
    let listed = record(list.clone()).await;
    assert_eq!(
        listed.delivered_to.as_deref(),
        Some("team-list@example.org")
    );
    assert_eq!(
        listed.recipient, team,
        "every copy is logged under the address"
    );
    assert_eq!(
        listed.detail,
        "forwarded to one of the mapping's recipients"
    );
    let dead = record(backup.clone()).await;
    assert!(
        dead.error.as_deref().unwrap().contains("mailbox full"),
        "{dead:?}"
    );
    let mut to: Vec<String> = f
        .sent()
        .iter()
        .map(|(m, _)| m["to"][0].as_str().unwrap().to_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        vec![OWNER.to_string(), "team-list@example.org".to_string()]
    );

    // SNS delivering it again sends nothing twice.
    let again = f.pipeline.process(&inbound("multi", &[&team])).await;
    assert!(
        again.iter().all(|r| r.outcome == Delivery::Duplicate),
        "{again:?}"
    );
    assert_eq!(f.sent().len(), 2);

    // The mailbox is fixed: replaying its record sends to it alone.
    mailer.broken.store(false, Ordering::SeqCst);
    let replayed = f.pipeline.replay(&backup).await.unwrap();
    assert_eq!(replayed.outcome, Delivery::Forwarded);
    let sent = f.sent();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().any(|(m, _)| m["to"][0] == "backup@example.org"));
    assert_eq!(
        record(backup.clone()).await.delivered_to.as_deref(),
        Some("backup@example.org")
    );

    // A recipient taken off the list gets nothing from a later replay of its old record.
    let (_, _) = (own, list);
    f.set_recipients(
        &team,
        &["team-list@example.org"],
        "2026-11-25T00:00:02.000Z",
    )
    .await;
    let reports = f.pipeline.process(&inbound("later", &[&team])).await;
    assert_eq!(
        reports.len(),
        2,
        "the address and its one remaining recipient: {reports:?}"
    );
}

/// A lease short or long, a batch's worst case (the suppression lookup and every attempt timing
/// out, the longest waits between them, a second for the settle) ends within the nine tenths of
/// the lease a batch may start with, so no other server can take the claim over mid-send.
#[test]
fn every_attempt_of_a_send_fits_in_the_claim_lease() {
    let retry = Retry::default();
    for (lease, want) in [
        (15, Duration::from_millis(2_080)),
        (30, Duration::from_millis(4_780)),
        (60, Duration::from_secs(10)),
        (3600, Duration::from_secs(10)),
    ] {
        let lease = Duration::from_secs(lease);
        let timeout = super::send_timeout_within(lease, &retry);
        assert_eq!(timeout, want, "{lease:?}");
        let waits = Duration::from_millis((200 + 400 + 800) * 3 / 2);
        let worst = timeout * (retry.attempts + 1) + waits + Duration::from_secs(1);
        assert!(worst <= lease.mul_f64(0.9), "{lease:?}: {worst:?}");
    }
}

/// #18: each record keeps the message's class, judged from the authenticated sender: AWS's
/// password reset is a credential; the same mail with SPF and DMARC failing stays `other`.
#[tokio::test]
async fn each_record_keeps_its_class_and_a_spoofed_aws_mail_stays_other() {
    let (f, _) = fixture(None, FAST).await;
    let root = f.mapping("root-class").await;
    let reset = |id: &str, verdicts: Verdicts| {
        Inbound {
        ses_message_id: id.into(),
        sender: "no-reply-aws@amazon.com".into(),
        recipients: vec![root.clone()],
        verdicts,
        subject: Some("Amazon Web Services Password Assistance".into()),
        received_at: "2026-11-25T09:00:00.000Z".into(),
        raw: b"From: Amazon Web Services <no-reply-aws@amazon.com>\r\nSubject: Amazon Web Services Password Assistance\r\n\r\nreset link\r\n".to_vec(),
    }
    };
    let real = f.pipeline.process(&reset("aws-1", PASS)).await;
    let spoofed = f
        .pipeline
        .process(&reset(
            "aws-2",
            Verdicts {
                spf: Verdict::Fail,
                dmarc: Verdict::Fail,
                ..PASS
            },
        ))
        .await;
    let plain = f.pipeline.process(&inbound("plain-1", &[&root])).await;
    assert_eq!(
        f_class(&f, &real[0].message_id).await,
        Some(app::model::MailClass::Credential)
    );
    assert_eq!(
        f_class(&f, &spoofed[0].message_id).await,
        Some(app::model::MailClass::Other)
    );
    assert_eq!(
        f_class(&f, &plain[0].message_id).await,
        Some(app::model::MailClass::Other)
    );
}

async fn f_class(f: &Fixture, id: &str) -> Option<app::model::MailClass> {
    f.store.message(id).await.unwrap().class
}

#[test]
fn a_subaddress_has_a_base_address() {
    for (address, base) in [
        (
            "team+alerts@mail.example.com",
            Some("team@mail.example.com"),
        ),
        ("team+a+b@mail.example.com", Some("team@mail.example.com")),
        ("team+@mail.example.com", Some("team@mail.example.com")),
        ("team@mail.example.com", None),
        ("+alerts@mail.example.com", None),
        ("no-at-sign", None),
    ] {
        assert_eq!(base_address(address).as_deref(), base, "{address}");
    }
}

/// #18: mail to `local+label@` with no mapping of its own goes by `local@`'s mapping, and the
/// log keeps the address it was sent to; a subaddress of an address without a mapping stays
/// undeliverable, and an exact mapping wins over its base.
#[tokio::test]
async fn subaddresses_go_by_their_base_address() {
    let (f, _) = fixture(None, FAST).await;
    let team = f.mapping("sub-team").await;
    let own = f
        .mapping_for("sub-team+own", "other.owner@example.org")
        .await;
    let labelled = team.replace('@', "+alerts@");
    let reports = f
        .pipeline
        .process(&inbound(
            "sub-1",
            &[&labelled, "nobody+x@mail.example.com", &own],
        ))
        .await;
    assert_eq!(
        outcomes(&reports),
        vec![
            (labelled.as_str(), Delivery::Forwarded),
            ("nobody+x@mail.example.com", Delivery::Undeliverable),
            (own.as_str(), Delivery::Forwarded),
        ]
    );
    let record = f.store.message(&reports[0].message_id).await.unwrap();
    assert_eq!(
        record.recipient, labelled,
        "logged with the address it was sent to"
    );
    assert_eq!(record.delivered_to.as_deref(), Some(OWNER));
    let exact = f.store.message(&reports[2].message_id).await.unwrap();
    assert_eq!(
        exact.delivered_to.as_deref(),
        Some("other.owner@example.org")
    );
}

/// #18: AWS's password reset to an address with a second recipient, under each policy of the
/// credential class; plain mail to the same address is forwarded all along.
#[tokio::test]
async fn class_policies_restrict_hold_and_drop_credential_mail() {
    let (mut f, _) = fixture(None, FAST).await;
    let config = Arc::new(
        Config::load(
            vec![
                ("MAILVEND_DOMAIN".into(), DOMAIN.into()),
                (
                    "MAILVEND_RESTRICTED_TO".into(),
                    "platform@corp.example, sec@corp.example".into(),
                ),
            ],
            None,
        )
        .unwrap(),
    );
    f.pipeline = Pipeline::new(
        config.clone(),
        Stores::from_backend(f.store.clone()),
        Arc::new(Outbox::new(&f.outbox)),
        Arc::new(Metrics::new()),
        FAST,
    );
    let root = f.mapping("root-policy").await;
    f.set_recipients(
        &root,
        &["team-list@example.org"],
        "2026-11-25T00:00:01.000Z",
    )
    .await;
    let copy_of = |id: &str| MessageRecord::id_for_destination(id, &root, "team-list@example.org");
    let reset = |id: &str| aws_reset(id, &root);
    let record = |id: String| {
        let store = f.store.clone();
        async move { store.message(&id).await.unwrap() }
    };
    let set = |policy: app::model::ClassPolicy| {
        let (store, config) = (f.store.clone(), config.clone());
        async move {
            crate::settings::apply(
                &*store,
                &config,
                &crate::settings::SettingsPatch {
                    class_policies: Some(app::model::ClassPoliciesPatch {
                        credential: Some(policy),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                "test",
                "2026-11-25T00:00:02.000Z",
            )
            .await
            .unwrap();
        }
    };
    use app::model::ClassPolicy::{Drop as DropIt, Forward, Hold, Restricted};

    // With a group configured, credential mail is restricted by default: one send to the
    // whole group, nothing to the owner or the other recipient.
    f.pipeline.process(&reset("r-1")).await;
    let own = record(format!("r-1/{root}")).await;
    assert_eq!(own.outcome, Outcome::Forwarded, "{own:?}");
    assert_eq!(
        own.delivered_to.as_deref(),
        Some("platform@corp.example, sec@corp.example")
    );
    assert_eq!(own.policy, Some(Restricted));
    let copy = record(copy_of("r-1")).await;
    assert_eq!(
        (copy.outcome, copy.policy),
        (Outcome::Rejected, Some(Restricted))
    );
    let sent = f.sent();
    assert_eq!(sent.len(), 1, "one send for the group");
    assert_eq!(
        sent[0].0["to"],
        serde_json::json!(["platform@corp.example", "sec@corp.example"])
    );
    // Plain mail to the same address is not credential mail: forwarded as ever.
    f.pipeline.process(&inbound("plain-p", &[&root])).await;
    let plain = record(format!("plain-p/{root}")).await;
    assert_eq!(plain.delivered_to.as_deref(), Some(OWNER));
    assert_eq!(plain.policy, Some(Forward));

    // Hold: every record held, its raw copy kept, nothing sent.
    set(Hold).await;
    let before = f.sent().len();
    let reports = f.pipeline.process(&reset("h-1")).await;
    assert!(
        reports.iter().all(|r| r.outcome == Delivery::Held),
        "{reports:?}"
    );
    let held = record(format!("h-1/{root}")).await;
    assert_eq!((held.outcome, held.policy), (Outcome::Held, Some(Hold)));
    assert!(f.store.raw("h-1").await.unwrap().is_some());
    assert_eq!(f.sent().len(), before);
    // A replay (for dead letters) does not take held mail past its policy.
    assert!(matches!(
        f.pipeline.replay(&held.id).await,
        Err(ReplayError::Store(StoreError::Conflict(_)))
    ));
    // Released to the owner: sent where it would have gone, the policy kept on the record.
    let out = f
        .pipeline
        .release(&held.id, ReleaseTo::Owner)
        .await
        .unwrap();
    assert_eq!(out.outcome, Delivery::Forwarded);
    let released = record(held.id.clone()).await;
    assert_eq!(released.delivered_to.as_deref(), Some(OWNER));
    assert_eq!(released.policy, Some(Hold));
    // The other recipient's copy, released by an admin to themselves.
    let out = f
        .pipeline
        .release(&copy_of("h-1"), ReleaseTo::Admin("me@corp.example".into()))
        .await
        .unwrap();
    assert_eq!(out.outcome, Delivery::Forwarded);
    assert_eq!(
        record(copy_of("h-1")).await.delivered_to.as_deref(),
        Some("me@corp.example")
    );
    let to: Vec<serde_json::Value> = f.sent()[before..]
        .iter()
        .map(|(m, _)| m["to"].clone())
        .collect();
    assert_eq!(
        to,
        vec![
            serde_json::json!([OWNER]),
            serde_json::json!(["me@corp.example"])
        ]
    );
    // Released once: a second release finds nothing held.
    assert!(matches!(
        f.pipeline.release(&held.id, ReleaseTo::Owner).await,
        Err(ReplayError::Store(StoreError::Conflict(_)))
    ));

    // Drop: rejected, nothing sent, no raw copy kept.
    set(DropIt).await;
    let before = f.sent().len();
    f.pipeline.process(&reset("d-1")).await;
    let dropped = record(format!("d-1/{root}")).await;
    assert_eq!(
        (dropped.outcome, dropped.policy),
        (Outcome::Rejected, Some(DropIt))
    );
    assert!(f.store.raw("d-1").await.unwrap().is_none());
    assert_eq!(f.sent().len(), before);

    // Forward: to the owner and the other recipient, as any mail.
    set(Forward).await;
    f.pipeline.process(&reset("f-1")).await;
    assert_eq!(
        record(format!("f-1/{root}")).await.delivered_to.as_deref(),
        Some(OWNER)
    );
    assert_eq!(
        record(copy_of("f-1")).await.delivered_to.as_deref(),
        Some("team-list@example.org")
    );
}

/// Restricted with no group configured (the group was removed after the policy was set):
/// held, never the owner.
#[tokio::test]
async fn a_restricted_class_without_a_group_is_held() {
    let (f, _) = fixture(None, FAST).await;
    let root = f.mapping("root-nogroup").await;
    // Written straight to the store: the settings refuse `restricted` without a group.
    f.store
        .put_setting(
            "class_policy.credential",
            "restricted",
            "test",
            "2026-11-25T00:00:02.000Z",
        )
        .await
        .unwrap();
    let reset = aws_reset("ng-1", &root);
    f.pipeline.process(&reset).await;
    let r = f.store.message(&format!("ng-1/{root}")).await.unwrap();
    assert_eq!(r.outcome, Outcome::Held);
    assert!(r.detail.contains("no restricted group"), "{}", r.detail);
    assert!(f.sent().is_empty());
}

/// A release whose send fails leaves the mail held (its policy still applies, and it stays on
/// the Held page), not a dead letter a replay would take.
#[tokio::test]
async fn a_release_that_cannot_send_stays_held() {
    let (f, _) = fixture(Some(Fault::Permanent), FAST).await;
    let root = f.mapping("root-fail").await;
    f.store
        .put_setting(
            "class_policy.credential",
            "hold",
            "test",
            "2026-11-25T00:00:02.000Z",
        )
        .await
        .unwrap();
    let reset = aws_reset("rf-1", &root);
    f.pipeline.process(&reset).await;
    let id = format!("rf-1/{root}");
    assert_eq!(f.store.message(&id).await.unwrap().outcome, Outcome::Held);
    let report = f.pipeline.release(&id, ReleaseTo::Owner).await.unwrap();
    assert_eq!(report.outcome, Delivery::Held);
    let r = f.store.message(&id).await.unwrap();
    assert_eq!(r.outcome, Outcome::Held);
    assert!(r.detail.contains("still held"), "{}", r.detail);
    assert_eq!(r.policy, Some(app::model::ClassPolicy::Hold));
    // Still releasable, and still not a replay's.
    assert!(matches!(
        f.pipeline.replay(&id).await,
        Err(ReplayError::Store(StoreError::Conflict(_)))
    ));
}

/// #18: routing rules over the pipeline, after the class policy: a tag, an added recipient
/// (one send to both), a redirect (the other recipients' copies go nowhere), a drop; and no
/// rule touches mail its class's policy holds.
#[tokio::test]
async fn routing_rules_act_on_forwarded_mail_after_the_class_policy() {
    use app::model::{MatchKind, RoutingRule, RoutingRules, RuleAction, RuleMatch};
    let (f, _) = fixture(None, FAST).await;
    let team = f.mapping("rules-team").await;
    f.set_recipients(&team, &["list@example.org"], "2026-11-25T00:00:01.000Z")
        .await;
    let on_subject = |name: &str, word: &str, action: RuleAction| RoutingRule {
        name: name.into(),
        sender: None,
        subject: Some(RuleMatch {
            kind: MatchKind::Regex,
            value: format!(r"\b{word}\b"),
        }),
        recipient: None,
        action,
    };
    let rules = RoutingRules {
        rules: vec![
            on_subject(
                "tag",
                "invoice",
                RuleAction::TagSubject {
                    tag: "[BILL]".into(),
                },
            ),
            on_subject(
                "audit",
                "audit",
                RuleAction::AddRecipient {
                    address: "audit@corp.example".into(),
                },
            ),
            on_subject(
                "ops",
                "outage",
                RuleAction::Redirect {
                    address: "ops@corp.example".into(),
                },
            ),
            on_subject("noise", "newsletter", RuleAction::Drop),
            // Would catch AWS's reset, but a held class is never a rule's.
            on_subject(
                "resets",
                "password",
                RuleAction::Redirect {
                    address: "ops@corp.example".into(),
                },
            ),
        ],
    };
    crate::inbound::rules::Rules::compile(&rules.rules, DOMAIN).unwrap();
    crate::settings::put_routing_rules(&*f.store, &rules, "admin", "2026-11-25T00:00:02.000Z")
        .await
        .unwrap();
    f.store
        .put_setting(
            "class_policy.credential",
            "hold",
            "test",
            "2026-11-25T00:00:02.000Z",
        )
        .await
        .unwrap();
    let mail = |id: &str, subject: &str| {
        let mut m = inbound(id, &[&team]);
        m.subject = Some(subject.into());
        m.raw =
            format!("From: a@sender.example\r\nSubject: {subject}\r\n\r\nbody\r\n").into_bytes();
        m
    };
    let copy = |id: &str| MessageRecord::id_for_destination(id, &team, "list@example.org");
    let record = |id: String| {
        let store = f.store.clone();
        async move { store.message(&id).await.unwrap() }
    };
    let sent_for = |id: &str| -> Vec<(serde_json::Value, String)> {
        f.sent()
            .into_iter()
            .filter(|(m, _)| m["source_message_id"] == id)
            .map(|(m, raw)| {
                let head = String::from_utf8_lossy(&raw)
                    .lines()
                    .find(|l| l.starts_with("Subject:"))
                    .unwrap_or_default()
                    .to_string();
                (m["to"].clone(), head)
            })
            .collect()
    };

    f.pipeline.process(&mail("r-tag", "Your invoice")).await;
    let tagged = sent_for("r-tag");
    assert_eq!(tagged.len(), 2, "owner and list, each tagged: {tagged:?}");
    assert!(
        tagged
            .iter()
            .all(|(_, s)| s == "Subject: [BILL] Your invoice"),
        "{tagged:?}"
    );
    assert!(record(format!("r-tag/{team}"))
        .await
        .detail
        .contains("routing rule 1 (tag)"));

    f.pipeline.process(&mail("r-add", "Quarterly audit")).await;
    let own = record(format!("r-add/{team}")).await;
    assert_eq!(
        own.delivered_to.as_deref(),
        Some("owner@example.org, audit@corp.example")
    );
    let added = sent_for("r-add");
    assert!(
        added.contains(&(
            serde_json::json!(["owner@example.org", "audit@corp.example"]),
            "Subject: Quarterly audit".into()
        )),
        "{added:?}"
    );
    // The list's copy is not sent to the added address a second time.
    assert_eq!(
        record(copy("r-add")).await.delivered_to.as_deref(),
        Some("list@example.org")
    );

    f.pipeline.process(&mail("r-ops", "Outage tonight")).await;
    assert_eq!(
        record(format!("r-ops/{team}"))
            .await
            .delivered_to
            .as_deref(),
        Some("ops@corp.example")
    );
    assert_eq!(record(copy("r-ops")).await.outcome, Outcome::Rejected);
    assert_eq!(sent_for("r-ops").len(), 1);

    f.pipeline
        .process(&mail("r-drop", "Monthly newsletter"))
        .await;
    let dropped = record(format!("r-drop/{team}")).await;
    assert_eq!(dropped.outcome, Outcome::Rejected);
    assert!(
        dropped.detail.contains("routing rule 4 (noise)"),
        "{}",
        dropped.detail
    );
    assert!(sent_for("r-drop").is_empty());
    assert!(f.store.raw("r-drop").await.unwrap().is_none());

    // AWS's password reset: its class's policy holds it, and rule 5 never sees it.
    let reset = aws_reset("r-reset", &team);
    f.pipeline.process(&reset).await;
    assert_eq!(
        record(format!("r-reset/{team}")).await.outcome,
        Outcome::Held
    );
    assert!(sent_for("r-reset").is_empty());
}

/// A replay sends what the admin chose to send: routing rules added since the failure do not
/// act on it (a redirect would have rejected it, and nobody would have got it).
#[tokio::test]
async fn a_replay_is_not_routed_by_rules_added_since() {
    use app::model::{MatchKind, RoutingRule, RoutingRules, RuleAction, RuleMatch};
    let (f, _) = fixture(Some(Fault::FirstTransient(4)), FAST).await;
    let team = f.mapping("replay-rules").await;
    let reports = f.pipeline.process(&inbound("rr-1", &[&team])).await;
    assert_eq!(reports[0].outcome, Delivery::DeadLetter, "{reports:?}");
    let rules = RoutingRules {
        rules: vec![RoutingRule {
            name: "ops".into(),
            sender: None,
            subject: Some(RuleMatch {
                kind: MatchKind::Contains,
                value: "quarterly".into(),
            }),
            recipient: None,
            action: RuleAction::Redirect {
                address: "ops@corp.example".into(),
            },
        }],
    };
    crate::settings::put_routing_rules(&*f.store, &rules, "admin", "2026-11-25T00:00:03.000Z")
        .await
        .unwrap();
    let replayed = f.pipeline.replay(&reports[0].message_id).await.unwrap();
    assert_eq!(replayed.outcome, Delivery::Forwarded);
    let r = f.store.message(&reports[0].message_id).await.unwrap();
    assert_eq!(r.delivered_to.as_deref(), Some(OWNER));
    // New mail is routed by it.
    f.pipeline.process(&inbound("rr-2", &[&team])).await;
    let r = f.store.message(&format!("rr-2/{team}")).await.unwrap();
    assert_eq!(r.delivered_to.as_deref(), Some("ops@corp.example"));
}
