//! Issue 22's attacks on the inbound path, each over the real server with signed SNS: what an
//! outsider who can send mail to the domain tries, and what must come of it.

use super::*;

/// `message` (an SES notification) with `edit` applied to its JSON.
fn edited(message: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(message).unwrap();
    edit(&mut v);
    v.to_string()
}

impl Running {
    /// Posts `raw` as a new SES message `id` to `recipients`: the `/sns` answer's recipients.
    async fn receive(&self, id: &str, recipients: &[&str], raw: Vec<u8>) -> Vec<Value> {
        self.receive_edited(id, recipients, raw, |_| {}).await
    }

    pub(super) async fn receive_edited(
        &self,
        id: &str,
        recipients: &[&str],
        raw: Vec<u8>,
        edit: impl FnOnce(&mut Value),
    ) -> Vec<Value> {
        let message = edited(
            &ses_message(id, recipients, Content::Inline(raw), "PASS"),
            edit,
        );
        let (status, body) = self.post(notification(&message).to_string()).await;
        assert_eq!(status, 200, "{body}");
        body["recipients"].as_array().unwrap().clone()
    }

    /// Vends `name@DOMAIN` for `owner` straight in the store.
    async fn vend_for(&self, name: &str, owner: &str) -> String {
        self.stores
            .mappings
            .vend(&crate::store::VendSpec {
                name: crate::store::NameSpec::Explicit {
                    account_name: name.into(),
                },
                address: None,
                domain: DOMAIN.into(),
                account_type: "IT".into(),
                owner: owner.into(),
                recipients: Vec::new(),
                tags: Default::default(),
                idempotency_key: None,
                actor: "test".into(),
                now: "2026-11-25T00:00:00.000Z".into(),
                reserved: Vec::new(),
            })
            .await
            .unwrap()
            .mapping
            .address
    }

    async fn patch_settings(&self, patch: Value) {
        let r = self
            .http
            .patch(format!("{}/api/v1/settings", self.url))
            .bearer_auth(&self.token)
            .json(&patch)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
}

/// The SDK configuration for moto, an S3 client on it, and a new bucket of its own.
async fn moto_bucket() -> (aws_config::SdkConfig, aws_sdk_s3::Client, String) {
    let (aws, _) = crate::testing::moto::sdk_config().await;
    let s3 = moto_s3(&aws);
    let bucket = format!("inbound-{:x}", rand::random::<u32>());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    (aws, s3, bucket)
}

fn outcome(report: &Value) -> &str {
    report["outcome"].as_str().unwrap()
}

fn detail(report: &Value) -> &str {
    report["detail"].as_str().unwrap_or_default()
}

fn head(eml: &[u8]) -> String {
    String::from_utf8_lossy(crate::inbound::rewrite::header_block(eml)).into_owned()
}

/// Item 1: what the issue saw (a forwarded copy fed back in, forwarded again at every pass)
/// ends at the first pass. Each pass has a new SES id, so only the mark can stop it.
#[tokio::test]
async fn forwarding_loop_a_forward_fed_back_is_rejected_as_a_loop_not_forwarded_again() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let first = s.receive("loop-0", &[&team], raw_mail("loop")).await;
    assert_eq!(outcome(&first[0]), "forwarded");
    for pass in 1..=5 {
        // The owner's mailbox sends the forward straight back (an auto-forward to the vended
        // address, or a misconfigured owner on our own domain).
        let copy = s.sent().last().unwrap().1.clone();
        let again = s.receive(&format!("loop-{pass}"), &[&team], copy).await;
        assert_eq!(outcome(&again[0]), "rejected", "pass {pass}: {again:?}");
        assert!(detail(&again[0]).starts_with("loop:"), "{again:?}");
    }
    assert_eq!(s.sent().len(), 1, "forwarded once, never again");

    // The same copy to another owner's address is not a loop: an owner may pass AWS's mail on.
    let other = s.vend_for("other", "someone-else@example.org").await;
    let copy = s.sent()[0].1.clone();
    let passed_on = s.receive("loop-other", &[&other], copy).await;
    assert_eq!(outcome(&passed_on[0]), "forwarded", "{passed_on:?}");

    // A mark copied from someone else's forward, or made up, does not block honest mail.
    let mut forged = format!("X-Mailvend-Loop: {}\r\n", "ab".repeat(16)).into_bytes();
    forged.extend_from_slice(&raw_mail("forged"));
    let honest = s.receive("loop-forged", &[&team], forged).await;
    assert_eq!(outcome(&honest[0]), "forwarded", "{honest:?}");
}

/// Item 1: two owners whose mailboxes pass mail to each other's vended address: the copy is
/// forwarded to the second owner (passing AWS mail on is allowed), and stopped when it would
/// reach the first owner again. Before earlier marks were kept, only the Received limit
/// ended this.
#[tokio::test]
async fn forwarding_loop_between_two_owners_stops_when_it_comes_back() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let other = s.vend_for("pingpong", "second-owner@example.org").await;
    let first = s.receive("pp-0", &[&team], raw_mail("pingpong")).await;
    assert_eq!(outcome(&first[0]), "forwarded");
    let to_second = s.receive("pp-1", &[&other], s.sent()[0].1.clone()).await;
    assert_eq!(outcome(&to_second[0]), "forwarded", "{to_second:?}");
    let back = s.receive("pp-2", &[&team], s.sent()[1].1.clone()).await;
    assert_eq!(outcome(&back[0]), "rejected", "{back:?}");
    assert!(detail(&back[0]).starts_with("loop:"), "{back:?}");
    assert_eq!(s.sent().len(), 2);
}

/// Item 1: catch-all to an admin address that loops back, and robots answering robots.
#[tokio::test]
async fn forwarding_loop_a_bounce_to_the_forwarder_address_is_kept_not_sent_on() {
    let s = start(None, None).await;
    let forwarder = format!("forwarder@{DOMAIN}");
    // A bounce (null envelope sender) of one of our forwards comes back to the From address.
    let bounce = s
        .receive_edited("bounce-1", &[&forwarder], raw_mail("bounce"), |v| {
            v["mail"]["source"] = json!("");
        })
        .await;
    assert_eq!(outcome(&bounce[0]), "undeliverable", "{bounce:?}");
    assert!(detail(&bounce[0]).contains("bounce or automatic reply"));
    // An out-of-office answer to it.
    let mut auto = b"Auto-Submitted: auto-replied\r\n".to_vec();
    auto.extend_from_slice(&raw_mail("ooo"));
    let ooo = s.receive("ooo-1", &[&forwarder], auto).await;
    assert_eq!(outcome(&ooo[0]), "undeliverable", "{ooo:?}");
    assert!(s.sent().is_empty(), "nothing sent on: {:?}", s.sent());
    // A person's reply still reaches the admin.
    let reply = s.receive("reply-1", &[&forwarder], raw_mail("reply")).await;
    assert_eq!(outcome(&reply[0]), "forwarded", "{reply:?}");

    // Catch-all sends an unknown address's mail to the admin; the admin's mailbox sends it
    // back to an unknown address: rejected as a loop at the first return.
    s.patch_settings(json!({"catch_all": true})).await;
    let unknown = format!("nobody@{DOMAIN}");
    let to_admin = s.receive("ca-1", &[&unknown], raw_mail("ca")).await;
    assert_eq!(outcome(&to_admin[0]), "forwarded");
    let copy = s.sent().last().unwrap().1.clone();
    let back = s
        .receive("ca-2", &[&format!("nobody2@{DOMAIN}")], copy)
        .await;
    assert_eq!(outcome(&back[0]), "rejected", "{back:?}");
    assert_eq!(s.sent().len(), 2);
}

/// Item 1: a loop through some other forwarder (no mark of ours survives) ends on hop count.
#[tokio::test]
async fn forwarding_loop_too_many_received_hops_are_rejected() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let hops = |n: usize| {
        let mut raw = "Received: from relay.example by mx.example\r\n"
            .repeat(n)
            .into_bytes();
        raw.extend_from_slice(&raw_mail("hops"));
        raw
    };
    let limit = s.config.max_received;
    let ok = s.receive("hops-ok", &[&team], hops(limit)).await;
    assert_eq!(outcome(&ok[0]), "forwarded", "{ok:?}");
    let looped = s.receive("hops-loop", &[&team], hops(limit + 1)).await;
    assert_eq!(outcome(&looped[0]), "rejected", "{looped:?}");
    assert!(detail(&looped[0]).starts_with("loop:"), "{looped:?}");
    assert_eq!(s.sent().len(), 1);
}

/// Item 8: one message to two addresses of one owner is one copy in their mailbox, with both
/// addresses named, and one log record per address.
#[tokio::test]
async fn fan_out_one_message_to_two_addresses_of_one_owner_reaches_the_mailbox_once() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let second = s.vend_for("team-second", OWNER).await;
    let reports = s.receive("fan-1", &[&team, &second], raw_mail("fan")).await;
    assert_eq!(
        reports.iter().map(outcome).collect::<Vec<_>>(),
        ["forwarded", "forwarded"]
    );
    let sent = s.sent();
    assert_eq!(sent.len(), 1, "one copy for one mailbox");
    assert_eq!(sent[0].0["to"], json!([OWNER]));
    assert!(
        head(&sent[0].1).contains(&format!("X-Original-To: {team}, {second}\r\n")),
        "{}",
        head(&sent[0].1)
    );
    assert_eq!(s.log_size().await, 2, "one record per recipient");
    let log = s
        .stores
        .messages
        .messages(&Default::default(), 10, None)
        .await
        .unwrap()
        .items;
    let ids: Vec<_> = log.iter().map(|r| r.mailer_message_id.clone()).collect();
    assert!(ids[0].is_some() && ids[0] == ids[1], "{ids:?}");
}

/// Items 6 and 7 end to end: what leaves has one From mailbox, no bare CR or NUL in its
/// header, and every Cc the sender wrote.
#[tokio::test]
async fn header_smuggling_and_repeated_cc_are_defused_end_to_end() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let raw = format!(
        "From: =?x?= <ceo@corp.example>, M <m@evil.example>\r\nTo: team@{DOMAIN}\r\n\
         Subject: hi\rBcc: victim@example.org\r\nCc: a@x.example\r\nCC: b@x.example\r\n\
         X-Nul: a\0b\r\n\r\nbody\r\n"
    )
    .into_bytes();
    let reports = s.receive("smuggle-1", &[&team], raw).await;
    assert_eq!(outcome(&reports[0]), "forwarded", "{reports:?}");
    let eml = &s.sent()[0].1;
    let from = crate::inbound::rewrite::header(eml, "from").unwrap();
    assert_eq!(
        crate::testing::oracles::mailbox_count(&from),
        1,
        "{}",
        String::from_utf8_lossy(&from)
    );
    assert_eq!(crate::inbound::rewrite::headers(eml, "from").len(), 1);
    let block = crate::inbound::rewrite::header_block(eml);
    assert!(!block.contains(&0), "NUL in the header");
    assert!(
        block.windows(2).all(|w| w[0] != b'\r' || w[1] == b'\n'),
        "bare CR in the header"
    );
    assert!(crate::inbound::rewrite::header(eml, "bcc").is_none());
    assert_eq!(
        crate::inbound::rewrite::headers(eml, "cc"),
        vec![b"a@x.example, b@x.example".to_vec()]
    );
}

/// Item 5: a spoofed "AWS Security" mail that failed DMARC under an enforced policy is tagged
/// by default, carries SES's verdicts, and is not forwarded once the policy rejects.
#[tokio::test]
async fn spoofed_mail_failing_dmarc_is_tagged_carries_ses_verdicts_and_can_be_rejected() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let spoof = |tag: &str| {
        format!(
            "From: \"AWS Security\" <security@aws.amazon.com>\r\nAuthentication-Results: {DOMAIN}; dmarc=pass (forged)\r\n\
             To: team@{DOMAIN}\r\nSubject: Action required {tag}\r\n\r\nReset your root password here\r\n"
        )
        .into_bytes()
    };
    let failing = |v: &mut Value| {
        v["receipt"]["dmarcVerdict"]["status"] = json!("FAIL");
        v["receipt"]["spfVerdict"]["status"] = json!("FAIL");
        v["receipt"]["dmarcPolicy"] = json!("reject");
    };
    let tagged = s
        .receive_edited("spoof-1", &[&team], spoof("one"), failing)
        .await;
    assert_eq!(outcome(&tagged[0]), "forwarded", "{tagged:?}");
    let h = head(&s.sent()[0].1);
    assert!(
        h.contains("Subject: [DMARC FAIL] Action required one\r\n"),
        "{h}"
    );
    let ar = format!(
        "Authentication-Results: {DOMAIN}; spf=fail (Amazon SES); dkim=pass (Amazon SES); \
         dmarc=fail policy.published-domain-policy=reject (Amazon SES)"
    );
    assert!(h.starts_with(&ar), "{h}");
    assert!(
        !h.contains("forged"),
        "the sender's claim in our name is gone: {h}"
    );

    // Honest mail carries the verdicts too, and no tag.
    s.receive("honest-1", &[&team], raw_mail("honest")).await;
    let h = head(&s.sent()[1].1);
    assert!(h.contains("dmarc=pass (Amazon SES)"), "{h}");
    assert!(!h.contains("[DMARC FAIL]"), "{h}");

    s.patch_settings(json!({"dmarc_policy": "reject"})).await;
    let rejected = s
        .receive_edited("spoof-2", &[&team], spoof("two"), failing)
        .await;
    assert_eq!(outcome(&rejected[0]), "rejected", "{rejected:?}");
    assert!(detail(&rejected[0]).contains("DMARC"));
    assert_eq!(s.sent().len(), 2, "nothing more sent");
}

/// Item 5: a missing or failed virus scan is not a PASS: held as a dead letter with its raw
/// message until an admin releases it by replaying.
#[tokio::test]
async fn mail_without_a_virus_verdict_is_held_until_an_admin_releases_it() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let held = s
        .receive_edited("unscanned-1", &[&team], raw_mail("unscanned"), |v| {
            v["receipt"]["virusVerdict"]["status"] = json!("PROCESSING_FAILED");
        })
        .await;
    assert_eq!(outcome(&held[0]), "dead_letter", "{held:?}");
    assert!(detail(&held[0]).starts_with("held:"), "{held:?}");
    let missing = s
        .receive_edited("unscanned-2", &[&team], raw_mail("missing"), |v| {
            v["receipt"].as_object_mut().unwrap().remove("virusVerdict");
        })
        .await;
    assert_eq!(outcome(&missing[0]), "dead_letter", "{missing:?}");
    assert!(s.sent().is_empty());

    let (status, report) = s.replay(held[0]["message_id"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(s.sent().len(), 1, "released by the admin");
    check_forwarded(&s.sent()[0].1, "unscanned");
}

/// Item 3: a correctly signed notification captured anywhere (another subscriber, a log) and
/// posted again after its record is gone must not be forwarded again, possibly to a new owner.
#[tokio::test]
async fn replay_a_signed_notification_older_than_the_max_age_is_refused() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let stamped = |id: &str, age_secs: i64| {
        let at = if age_secs >= 0 {
            SystemTime::now() - Duration::from_secs(age_secs as u64)
        } else {
            SystemTime::now() + Duration::from_secs((-age_secs) as u64)
        };
        let message = ses_message(id, &[&team], Content::Inline(raw_mail(id)), "PASS");
        sign(json!({
            "Type": "Notification",
            "MessageId": format!("{:x}", rand::random::<u128>()),
            "Message": message,
            "Timestamp": crate::clock::rfc3339(at),
        }))
        .to_string()
    };
    // 40 days old, as the issue found forwarded; a day and a minute; an hour ahead.
    for (id, age) in [
        ("old-40d", 40 * 86_400),
        ("old-1d", 86_400 + 60),
        ("ahead", -3600),
    ] {
        let (status, body) = s.post(stamped(id, age)).await;
        assert_eq!(status, 403, "{id}: {body}");
        assert_eq!(body["error"]["code"], "stale_sns_message", "{id}: {body}");
    }
    assert!(s.sent().is_empty());
    assert_eq!(s.log_size().await, 0, "nothing logged for a replay");
    // SNS's own retries of the last hours are still taken.
    let (status, body) = s.post(stamped("recent", 23 * 3600)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.sent().len(), 1);
}

/// Item 9: a signed notification naming another bucket (or a key outside the prefix) would
/// make the server read, and forward, whatever its credentials reach there. With
/// `MAILVEND_S3_BUCKET`/`_PREFIX` set, such content is logged as rejected and never read.
#[tokio::test]
async fn confused_deputy_s3_content_outside_the_configured_bucket_and_prefix_is_never_read() {
    let (aws, _moto) = crate::testing::moto::sdk_config().await;
    let s3 = moto_s3(&aws);
    let ours = format!("inbound-{:x}", rand::random::<u32>());
    let secrets = format!("secrets-{:x}", rand::random::<u32>());
    for bucket in [&ours, &secrets] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let put = |bucket: &str, key: &str, tag: &str| {
        let (s3, bucket, key) = (s3.clone(), bucket.to_string(), key.to_string());
        let raw = raw_mail_with(tag, "utf-8", b"plain body\r\n");
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(raw.into())
                .send()
                .await
                .unwrap();
        }
    };
    put(&ours, "mail/ok", "in-scope").await;
    put(&ours, "private/x", "other-prefix").await;
    put(&secrets, "mail/ok", "other-bucket").await;
    let scope = crate::config::S3Scope {
        bucket: ours.clone(),
        prefix: "mail/".into(),
    };
    let s = start_custom(None, Some(S3Mail::new(&aws)), None, |sns| {
        sns.s3_scope = Some(scope)
    })
    .await;
    let team = format!("team@{DOMAIN}");
    let post = |id: &str, bucket: &str, key: &str| {
        let message = ses_message(
            id,
            &[&team],
            Content::S3 {
                bucket: bucket.into(),
                key: key.into(),
            },
            "PASS",
        );
        notification(&message).to_string()
    };
    for (id, bucket, key) in [
        ("s3-other-bucket", secrets.as_str(), "mail/ok"),
        ("s3-other-prefix", ours.as_str(), "private/x"),
        ("s3-prefix-lookalike", ours.as_str(), "mailx/ok"),
    ] {
        let (status, body) = s.post(post(id, bucket, key)).await;
        assert_eq!(status, 200, "{id}: {body}");
        let report = &body["recipients"][0];
        assert_eq!(outcome(report), "rejected", "{id}: {body}");
        assert!(
            detail(report).contains("MAILVEND_S3_BUCKET"),
            "{id}: {body}"
        );
    }
    assert!(s.sent().is_empty(), "nothing out of scope was read or sent");
    let (status, body) = s.post(post("s3-in-scope", &ours, "mail/ok")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&body["recipients"][0]), "forwarded", "{body}");
    assert!(head(&s.sent()[0].1).contains("in-scope"));
}

/// Item 9: with `MAILVEND_SNS_MIN_SIGNATURE_VERSION=2`, a SHA-1 signature is refused even
/// when it is valid.
#[tokio::test]
async fn a_sha1_signature_is_refused_when_version_2_is_required() {
    let s = start_custom(None, None, None, |sns| sns.min_signature_version = 2).await;
    let team = format!("team@{DOMAIN}");
    let message = ses_message(
        "v1-refused",
        &[&team],
        Content::Inline(raw_mail("v1")),
        "PASS",
    );
    let mut v1 = notification(&message);
    v1["SignatureVersion"] = json!("1");
    let (status, body) = s.post(sign(v1).to_string()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("SignatureVersion 1"));
    let (status, _) = s.post(notification(&message).to_string()).await;
    assert_eq!(status, 200, "version 2 still taken");
    assert_eq!(s.sent().len(), 1);
}

/// Item 2: many large messages at once must not exhaust memory. While the budget of bytes in
/// flight is spent, `/sns` answers 503 (SNS delivers again later) without reading the
/// content, and nothing is logged; once it is free, the same delivery goes through, once.
#[tokio::test]
async fn memory_exhaustion_mail_over_the_budget_in_flight_waits_with_a_503() {
    let (aws, s3, bucket) = moto_bucket().await;
    let big = raw_mail_with("big", "utf-8", "x".repeat(60 * 1024).as_bytes());
    s3.put_object()
        .bucket(&bucket)
        .key("mail/big")
        .body(big.clone().into())
        .send()
        .await
        .unwrap();
    let budget = crate::inbound::budget::Budget::new(100 * 1024);
    let s = start_custom(None, Some(S3Mail::new(&aws)), None, {
        let budget = budget.clone();
        move |sns| sns.budget = budget
    })
    .await;
    let team = format!("team@{DOMAIN}");
    let inline = notification(&ses_message(
        "budget-inline",
        &[&team],
        Content::Inline(big.clone()),
        "PASS",
    ))
    .to_string();
    let in_s3 = notification(&ses_message(
        "budget-s3",
        &[&team],
        Content::S3 {
            bucket: bucket.clone(),
            key: "mail/big".into(),
        },
        "PASS",
    ))
    .to_string();

    // Other deliveries hold most of the budget.
    let held = budget.try_reserve(80 * 1024).unwrap();
    let mut refused = 0;
    for body in [&inline, &in_s3, &inline] {
        let (status, answer) = s.post(body.clone()).await;
        assert_eq!(status, 503, "{answer}");
        assert_eq!(answer["error"]["code"], "busy", "{answer}");
        refused += 1;
    }
    // Inline content is reserved before anything is logged; S3 content after its recipients
    // are claimed (so that a redelivery never reads it twice), and the claim is given back.
    let log = s
        .stores
        .messages
        .messages(&Default::default(), 10, None)
        .await
        .unwrap()
        .items;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].ses_message_id, "budget-s3");
    assert_eq!(log[0].outcome, app::model::Outcome::Processing);
    assert!(s.sent().is_empty());

    // They finish; SNS's retries now get through, each message forwarded once.
    drop(held);
    for body in [&inline, &in_s3, &inline, &in_s3] {
        let (status, answer) = s.post(body.clone()).await;
        assert_eq!(status, 200, "{answer}");
    }
    assert_eq!(s.sent().len(), 2, "each message forwarded exactly once");
    assert_eq!(
        budget.available(),
        100 * 1024,
        "every reservation given back"
    );
    eprintln!("budget: {refused} deliveries answered 503, then 2 forwarded once each");
}

/// Item 2: SNS redelivering a message already settled must not read its S3 object again
/// (each redelivery of a 40 MB message was another full read). Shown by deleting the object
/// after the first delivery: the redelivery is still answered, from the log.
#[tokio::test]
async fn memory_exhaustion_a_redelivered_s3_message_is_not_fetched_again() {
    let (aws, s3, bucket) = moto_bucket().await;
    s3.put_object()
        .bucket(&bucket)
        .key("mail/once")
        .body(raw_mail_with("once", "utf-8", b"body\r\n").into())
        .send()
        .await
        .unwrap();
    let s = start(None, Some(S3Mail::new(&aws))).await;
    let team = format!("team@{DOMAIN}");
    let message = ses_message(
        "s3-once",
        &[&team],
        Content::S3 {
            bucket: bucket.clone(),
            key: "mail/once".into(),
        },
        "PASS",
    );
    let (status, body) = s.post(notification(&message).to_string()).await;
    assert_eq!(
        (status, outcome(&body["recipients"][0])),
        (200, "forwarded")
    );
    s3.delete_object()
        .bucket(&bucket)
        .key("mail/once")
        .send()
        .await
        .unwrap();
    let (status, body) = s.post(notification(&message).to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&body["recipients"][0]), "duplicate", "{body}");
    assert_eq!(s.sent().len(), 1);
}

/// Item 2: the recipients are claimed before S3 content is read, so a redelivery arriving
/// while another delivery works on the message never reads the object (each read of a 40 MB
/// message was another 40 MB in memory). The object does not exist here: reading it would
/// answer `content_unavailable` (NoSuchKey); the claim answers first.
#[tokio::test]
async fn memory_exhaustion_a_redelivery_in_flight_does_not_read_the_s3_object() {
    let (aws, _, bucket) = moto_bucket().await;
    let s = start(None, Some(S3Mail::new(&aws))).await;
    let team = format!("team@{DOMAIN}");
    let message = ses_message(
        "s3-in-flight",
        &[&team],
        Content::S3 {
            bucket: bucket.clone(),
            key: "mail/not-yet".into(),
        },
        "PASS",
    );
    // Another worker holds the claim, as while it sends.
    let now = std::time::SystemTime::now();
    let held = app::model::MessageRecord {
        id: app::model::MessageRecord::id_for("s3-in-flight", &team),
        ses_message_id: "s3-in-flight".into(),
        recipient: team.clone(),
        sender: "jane@sender.example".into(),
        subject: None,
        size: 0,
        verdicts: String::new(),
        outcome: app::model::Outcome::Processing,
        delivered_to: None,
        detail: "processing".into(),
        mailer_message_id: None,
        error: None,
        attempts: 1,
        received_at: crate::clock::rfc3339(now),
        updated_at: crate::clock::rfc3339(now),
        delivery: None,
        class: None,
        policy: None,
    };
    s.stores
        .messages
        .claim(
            &held,
            &crate::clock::rfc3339(now + std::time::Duration::from_secs(60)),
            &crate::clock::rfc3339(now),
        )
        .await
        .unwrap();
    let (status, body) = s.post(notification(&message).to_string()).await;
    assert_eq!(status, 503, "{body}");
    assert_ne!(
        body["error"]["code"], "content_unavailable",
        "the object was read: {body}"
    );
    assert_eq!(outcome(&body["recipients"][0]), "retry", "{body}");
    assert!(s.sent().is_empty());
}

/// Item 2: undeliverable and dead-lettered mail that SES stored in S3 is kept as a reference
/// to its object, not as a second copy of up to 40 MB; the message view reads its header
/// block from S3, and a replay reads the content from there.
#[tokio::test]
async fn memory_exhaustion_kept_s3_mail_is_a_reference_not_a_copy() {
    use std::sync::atomic::Ordering;
    let (aws, s3, bucket) = moto_bucket().await;
    let raw = raw_mail_with("kept-by-reference", "utf-8", b"stored body\r\n");
    for key in ["mail/unknown", "mail/failing"] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(raw.clone().into())
            .send()
            .await
            .unwrap();
    }
    let outbox = tempfile::tempdir().unwrap();
    let mailer = crate::testing::Faulty::new(outbox.path(), crate::testing::Fault::Permanent);
    let mut s = start(Some(mailer.clone()), Some(S3Mail::new(&aws))).await;
    s.outbox = outbox.path().to_path_buf();
    let team = format!("team@{DOMAIN}");
    let unknown = format!("nobody-here@{DOMAIN}");
    let post = |id: &str, to: &str, key: &str| {
        notification(&ses_message(
            id,
            &[to],
            Content::S3 {
                bucket: bucket.clone(),
                key: key.into(),
            },
            "PASS",
        ))
        .to_string()
    };
    let object = |key: &str| crate::store::S3Object {
        bucket: bucket.clone(),
        key: key.into(),
    };

    let (status, body) = s.post(post("s3-unknown", &unknown, "mail/unknown")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&body["recipients"][0]), "undeliverable", "{body}");
    assert_eq!(
        s.stores.raw.raw("s3-unknown").await.unwrap(),
        Some(crate::store::Kept::S3(object("mail/unknown")))
    );
    let id = app::model::MessageRecord::id_for("s3-unknown", &unknown);
    let detail = s
        .service
        .message_detail(&AdminCaller::console(), &id)
        .await
        .unwrap();
    let headers = detail.headers.expect("read from S3");
    assert!(headers.contains("kept-by-reference"), "{headers}");
    assert!(!headers.contains("stored body"), "the header block only");

    let (status, body) = s.post(post("s3-failing", &team, "mail/failing")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&body["recipients"][0]), "dead_letter", "{body}");
    assert_eq!(
        s.stores.raw.raw("s3-failing").await.unwrap(),
        Some(crate::store::Kept::S3(object("mail/failing")))
    );
    mailer.healthy.store(true, Ordering::SeqCst);
    let (status, report) = s
        .replay(&app::model::MessageRecord::id_for("s3-failing", &team))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outcome"], "forwarded", "{report}");
    let sent = s.sent();
    assert_eq!(sent.len(), 1);
    assert!(head(&sent[0].1).contains("kept-by-reference"));
    assert!(sent[0].1.ends_with(b"stored body\r\n"));
}

/// Item 2 (review): S3 content that cannot be read (deleted, forbidden) must not leave its
/// recipients in `processing` for ever once SNS stops retrying: after
/// `FETCH_ATTEMPTS` deliveries they are dead letters, kept by reference, and a replay reads
/// the object once it is back.
#[tokio::test]
async fn memory_exhaustion_unreadable_s3_content_becomes_a_dead_letter_not_a_stuck_claim() {
    let (aws, s3, bucket) = moto_bucket().await;
    let s = start(None, Some(S3Mail::new(&aws))).await;
    let team = format!("team@{DOMAIN}");
    let body = notification(&ses_message(
        "s3-missing",
        &[&team],
        Content::S3 {
            bucket: bucket.clone(),
            key: "mail/missing".into(),
        },
        "PASS",
    ))
    .to_string();
    let limit = crate::inbound::pipeline::FETCH_ATTEMPTS;
    for n in 1..limit {
        let (status, answer) = s.post(body.clone()).await;
        assert_eq!(status, 503, "delivery {n}: {answer}");
        assert_eq!(answer["error"]["code"], "content_unavailable", "{answer}");
    }
    let (status, answer) = s.post(body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let report = &answer["recipients"][0];
    assert_eq!(outcome(report), "dead_letter", "{answer}");
    assert!(detail(report).contains("NoSuchKey"), "{answer}");
    assert_eq!(
        s.stores.raw.raw("s3-missing").await.unwrap(),
        Some(crate::store::Kept::S3(crate::store::S3Object {
            bucket: bucket.clone(),
            key: "mail/missing".into()
        }))
    );
    s3.put_object()
        .bucket(&bucket)
        .key("mail/missing")
        .body(raw_mail_with("restored", "utf-8", b"body\r\n").into())
        .send()
        .await
        .unwrap();
    let (status, report) = s
        .replay(&app::model::MessageRecord::id_for("s3-missing", &team))
        .await;
    assert_eq!(
        (status, report["outcome"].as_str()),
        (200, Some("forwarded")),
        "{report}"
    );
    assert_eq!(s.sent().len(), 1);
}

/// #18 over the real router: AWS's password reset, signed by SNS, under a `hold` policy set
/// through the API is held (nothing sent); the API releases it to the owner, once; a token
/// cannot release to "me" (it has no mailbox). The same reset with SPF and DMARC failing is
/// not AWS's (`other`): forwarded as ordinary mail, never held as a credential, and an
/// outsider cannot use a forged "credential" to get mail held or rerouted.
#[tokio::test]
async fn aws_credential_mail_is_held_by_policy_and_released_through_the_api() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let api = |method: reqwest::Method, path: &str| {
        s.http
            .request(method, format!("{}/api/v1{path}", s.url))
            .bearer_auth(&s.token)
    };
    let r = api(reqwest::Method::PATCH, "/settings")
        .json(&json!({"class_policies": {"credential": "hold"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let settings: Value = r.json().await.unwrap();
    assert_eq!(settings["class_policies"]["credential"], "hold");
    assert_eq!(settings["class_policies"]["other"], "forward");
    // No group is configured: restricting is refused, and says why.
    let r = api(reqwest::Method::PATCH, "/settings")
        .json(&json!({"class_policies": {"security": "restricted"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MAILVEND_RESTRICTED_TO"),
        "{body}"
    );

    let reset = |tag: &str| {
        format!(
            "Return-Path: <no-reply-aws@amazon.com>\r\nFrom: Amazon Web Services <no-reply-aws@amazon.com>\r\nTo: {team}\r\nSubject: Amazon Web Services Password Assistance\r\nMessage-ID: <{tag}@amazon.com>\r\n\r\nTo reset your password, follow https://signin.aws.amazon.com/resetpassword?token={tag}\r\n"
        )
        .into_bytes()
    };
    let aws = |v: &mut Value| {
        v["mail"]["source"] = json!("no-reply-aws@amazon.com");
        v["mail"]["commonHeaders"]["subject"] = json!("Amazon Web Services Password Assistance");
    };
    let held = s
        .receive_edited("reset-1", &[&team], reset("secret-1"), aws)
        .await;
    assert_eq!(outcome(&held[0]), "held", "{held:?}");
    assert!(s.sent().is_empty(), "held mail is sent nowhere");
    let id = held[0]["message_id"].as_str().unwrap().replace('/', "%2F");
    let record: Value = api(reqwest::Method::GET, &format!("/messages/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&record["class"], &record["policy"], &record["outcome"]),
        (&json!("credential"), &json!("hold"), &json!("held"))
    );

    let release = |to: &'static str| {
        api(reqwest::Method::POST, &format!("/messages/{id}/release"))
            .json(&json!({ "to": to }))
            .send()
    };
    let r = release("me").await.unwrap();
    assert_eq!(r.status(), 403, "a token has no mailbox to release to");
    assert!(s.sent().is_empty());
    let r = release("owner").await.unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(outcome(&report), "forwarded", "{report}");
    assert_eq!(s.sent().len(), 1);
    assert_eq!(s.sent()[0].0["to"], json!([OWNER]));
    assert!(String::from_utf8_lossy(&s.sent()[0].1).contains("token=secret-1"));
    let r = release("owner").await.unwrap();
    assert_eq!(r.status(), 409, "released once");
    // Both attempts are audited, the second finding the mail already forwarded.
    let trail = s.stores.mappings.audit_trail(&team).await.unwrap();
    let release_entries: Vec<_> = trail
        .iter()
        .filter(|e| e.action == "release_held")
        .collect();
    assert_eq!(release_entries.len(), 2, "{trail:?}");
    assert!(release_entries
        .iter()
        .all(|e| e.actor.starts_with("token:")));
    assert!(release_entries.iter().all(|e| e
        .after
        .as_deref()
        .unwrap_or("")
        .contains("\"outcome\":\"forwarded\"")));

    // Spoofed: the same mail, SPF and DMARC failing. Not a credential: forwarded as `other`.
    let spoofed = s
        .receive_edited("reset-2", &[&team], reset("forged"), |v| {
            aws(v);
            v["receipt"]["spfVerdict"]["status"] = json!("FAIL");
            v["receipt"]["dmarcVerdict"]["status"] = json!("FAIL");
        })
        .await;
    assert_eq!(outcome(&spoofed[0]), "forwarded", "{spoofed:?}");
    let id = spoofed[0]["message_id"]
        .as_str()
        .unwrap()
        .replace('/', "%2F");
    let record: Value = api(reqwest::Method::GET, &format!("/messages/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["class"], "other");
    assert_eq!(record["policy"], "forward");
}

/// #18: "release to me" goes to the signed-in admin's own mailbox, and only there (not to the
/// fallback address), and is refused for a mailbox on the served domain, where the released
/// credential would come back in as ordinary mail to a vended address, undoing the hold.
#[tokio::test]
async fn held_mail_released_to_an_admin_goes_to_their_mailbox_never_back_to_the_domain() {
    use app::model::ReleaseTarget;
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    crate::settings::apply(
        &*s.stores.settings,
        &s.config,
        &crate::settings::SettingsPatch {
            class_policies: Some(app::model::ClassPoliciesPatch {
                credential: Some(app::model::ClassPolicy::Hold),
                ..Default::default()
            }),
            ..Default::default()
        },
        "test",
        "2026-11-25T00:00:00.000Z",
    )
    .await
    .unwrap();
    let raw = format!(
        "From: Amazon Web Services <no-reply-aws@amazon.com>\r\nTo: {team}\r\nSubject: Amazon Web Services Password Assistance\r\n\r\nreset\r\n"
    )
    .into_bytes();
    let held = s
        .receive_edited("reset-me", &[&team], raw, |v| {
            v["mail"]["source"] = json!("no-reply-aws@amazon.com");
            v["mail"]["commonHeaders"]["subject"] =
                json!("Amazon Web Services Password Assistance");
        })
        .await;
    assert_eq!(outcome(&held[0]), "held", "{held:?}");
    let id = held[0]["message_id"].as_str().unwrap();
    let admin = |email: &str| {
        let (mut parts, _) = http::Request::new(()).into_parts();
        parts.extensions.insert(app::auth::Viewer {
            email: email.into(),
            name: None,
            role: app::auth::Role::Admin,
        });
        AdminCaller::signed_in(&app::auth::admin_of(&parts).unwrap())
    };
    let refused = s
        .service
        .release_held(&admin(&format!("root@{DOMAIN}")), id, ReleaseTarget::Me)
        .await;
    assert!(
        matches!(&refused, Err(crate::service::ServiceError::Forbidden { message, .. }) if message.contains("served domain")),
        "{refused:?}"
    );
    assert!(s.sent().is_empty());
    let report = s
        .service
        .release_held(&admin("sec@corp.example"), id, ReleaseTarget::Me)
        .await
        .unwrap();
    assert_eq!(report.outcome.as_str(), "forwarded");
    let sent = s.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0["to"], json!(["sec@corp.example"]));
    let trail = s.stores.mappings.audit_trail(&team).await.unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "release_held" && e.actor == "user:sec@corp.example"));
}
