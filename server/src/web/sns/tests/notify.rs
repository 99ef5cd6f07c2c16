//! #18 notifications over the real server: channels made through the API, events raised by
//! signed SNS mail, a webhook receiver started here checking each signature, a retry after
//! the receiver's 500, the daily digest through the outbox, the test button, and the audit.

use super::*;
use crate::notify::queue::next_digest;
use crate::notify::sign;
use crate::testing::receiver::Receiver;

fn admin_api(s: &Running, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    s.http
        .request(method, format!("{}/api/v1{path}", s.url))
        .bearer_auth(&s.token)
}

async fn deliveries(s: &Running) -> Vec<Value> {
    let r = admin_api(
        s,
        reqwest::Method::GET,
        "/notifications/deliveries?limit=50",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn verified(secret: &str, got: &crate::testing::receiver::Received) -> Value {
    let now = crate::clock::unix_now();
    sign::verify(
        secret.as_bytes(),
        got.header(sign::TIMESTAMP_HEADER),
        got.header(sign::SIGNATURE_HEADER),
        got.body.as_bytes(),
        now,
    )
    .unwrap_or_else(|e| panic!("the signature does not verify: {e:?} {got:?}"));
    serde_json::from_str(&got.body).unwrap()
}

#[tokio::test]
async fn held_mail_reaches_a_signed_webhook_after_a_500_and_the_daily_digest() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let receiver = Receiver::start(&[500]).await;

    // Bad channels are refused by field, and nothing is kept.
    for (body, field) in [
        (
            json!({"kind": "webhook", "target": "http://169.254.169.254/latest", "events": ["held_waiting"]}),
            "target",
        ),
        (
            json!({"kind": "webhook", "target": receiver.url, "events": []}),
            "events",
        ),
        (
            json!({"kind": "pager", "target": receiver.url, "events": ["held_waiting"]}),
            "kind",
        ),
    ] {
        let r = admin_api(&s, reqwest::Method::POST, "/notifications/channels")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["field"], field, "{e}");
    }

    let r = admin_api(&s, reqwest::Method::POST, "/notifications/channels")
        .json(&json!({"kind": "webhook", "target": receiver.url, "events": ["held_waiting", "dead_letter"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 70,
        "{secret}"
    );
    let hook = created["channel"]["id"].as_str().unwrap().to_string();
    let r = admin_api(&s, reqwest::Method::POST, "/notifications/channels")
        .json(&json!({"kind": "digest", "events": ["held_waiting"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let digest: Value = r.json().await.unwrap();
    assert_eq!(digest["secret"], Value::Null);
    assert_eq!(digest["channel"]["target"], s.config.admin_address.as_str());
    // Listed without the secret, ever.
    let listed = admin_api(&s, reqwest::Method::GET, "/notifications/channels")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !listed.contains(&secret) && listed.contains(&hook),
        "{listed}"
    );

    // AWS's password reset under a hold policy: held, and both channels are told.
    let r = admin_api(&s, reqwest::Method::PATCH, "/settings")
        .json(&json!({"class_policies": {"credential": "hold"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reset = format!(
        "From: Amazon Web Services <no-reply-aws@amazon.com>\r\nTo: {team}\r\nSubject: Amazon Web Services Password Assistance\r\nMessage-ID: <n1@amazon.com>\r\n\r\nhttps://signin.aws.amazon.com/resetpassword?token=secret-n1\r\n"
    );
    let held = s
        .receive_edited("notify-1", &[&team], reset.into_bytes(), |v| {
            v["mail"]["source"] = json!("no-reply-aws@amazon.com");
            v["mail"]["commonHeaders"]["subject"] =
                json!("Amazon Web Services Password Assistance");
        })
        .await;
    assert_eq!(held[0]["outcome"], "held", "{held:?}");
    let message_id = held[0]["message_id"].as_str().unwrap().to_string();

    // First attempt: the receiver answers 500; the delivery waits 30 s for its retry. (The
    // server's own dispatcher may have made it already; the lease keeps it to one.)
    let now = SystemTime::now();
    s.service.dispatcher().run_once(now).await.unwrap();
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].status, 500);
    let body = verified(&secret, &got[0]);
    assert_eq!(body["event"], "held_waiting");
    assert_eq!(body["message_id"], message_id.as_str());
    assert_eq!(body["class"], "credential");
    assert!(
        !got[0].body.contains("secret-n1"),
        "the mail itself is never in a notification"
    );
    assert_eq!(got[0].header("x-mailvend-event"), Some("held_waiting"));
    let log = deliveries(&s).await;
    let first = log
        .iter()
        .find(|d| d["channel_id"] == hook.as_str())
        .unwrap();
    assert_eq!(first["state"], "pending", "{first}");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["last_status"], 500);
    assert_eq!(first["id"], body["id"]);

    // Not before its wait is over; then delivered, the same body and id, signed afresh.
    s.service
        .dispatcher()
        .run_once(now + Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(receiver.received().len(), 1);
    s.service
        .dispatcher()
        .run_once(now + Duration::from_secs(31))
        .await
        .unwrap();
    let got = receiver.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].status, 200);
    assert_eq!(got[1].body, got[0].body, "a retry sends the same body");
    assert_eq!(verified(&secret, &got[1])["id"], body["id"]);
    // A body signed with another key, or tampered, is refused by the receiver's check.
    assert!(sign::verify(
        b"whsec_wrong",
        got[1].header(sign::TIMESTAMP_HEADER),
        got[1].header(sign::SIGNATURE_HEADER),
        got[1].body.as_bytes(),
        crate::clock::unix_now()
    )
    .is_err());
    let log = deliveries(&s).await;
    let done = log
        .iter()
        .find(|d| d["channel_id"] == hook.as_str())
        .unwrap();
    assert_eq!(
        (&done["state"], &done["attempts"], &done["last_status"]),
        (&json!("delivered"), &json!(2), &json!(200))
    );

    // The digest waits for 07:00 UTC, then goes to the admin address through the outbox.
    let pending_digest = log.iter().find(|d| d["channel_kind"] == "digest").unwrap();
    assert_eq!(pending_digest["state"], "pending");
    let before = s.sent().len();
    let at = next_digest(now) + Duration::from_secs(1);
    s.service.dispatcher().run_once(at).await.unwrap();
    let sent = s.sent();
    assert_eq!(sent.len(), before + 1, "one digest");
    let (meta, raw) = &sent[before];
    assert_eq!(meta["to"], json!([s.config.admin_address]));
    let text = String::from_utf8_lossy(raw);
    assert!(text.contains("1 notification(s)"), "{text}");
    assert!(
        text.contains(&format!("[held_waiting] Held mail for {team} (credential)")),
        "{text}"
    );
    assert!(!text.contains("secret-n1"));
    let log = deliveries(&s).await;
    let digest_done = log.iter().find(|d| d["channel_kind"] == "digest").unwrap();
    assert_eq!(digest_done["state"], "delivered", "{digest_done}");

    // The test button: sent at once, answered with its logged delivery.
    let r = admin_api(
        &s,
        reqwest::Method::POST,
        &format!("/notifications/channels/{hook}/test"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let tested: Value = r.json().await.unwrap();
    assert_eq!(
        (&tested["event"], &tested["state"]),
        (&json!("test"), &json!("delivered")),
        "{tested}"
    );
    let got = receiver.received();
    assert_eq!(verified(&secret, got.last().unwrap())["event"], "test");
    let r = admin_api(
        &s,
        reqwest::Method::POST,
        "/notifications/channels/ch_nope/test",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 404);

    // Removed; every change and the test audited, never with the secret.
    let r = admin_api(
        &s,
        reqwest::Method::DELETE,
        &format!("/notifications/channels/{hook}"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let trail = s
        .stores
        .mappings
        .audit_trail(&format!("channel:{hook}"))
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["add_channel", "test_channel", "remove_channel"]);
    assert!(trail.iter().all(|e| e.actor.starts_with("token:")));
    assert!(!format!("{trail:?}").contains(&secret));
}

/// A dead letter (the mailer refuses the send) reaches the webhook as `dead_letter`.
#[tokio::test]
async fn a_dead_letter_is_told_to_its_channel() {
    let dir = tempfile::tempdir().unwrap();
    let failing: Arc<dyn Mailer> =
        crate::testing::Faulty::new(dir.path(), crate::testing::Fault::Permanent);
    let s = start(Some(failing), None).await;
    let receiver = Receiver::start(&[]).await;
    let r = admin_api(&s, reqwest::Method::POST, "/notifications/channels")
        .json(&json!({"kind": "webhook", "target": receiver.url, "events": ["dead_letter"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let secret = r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let team = format!("team@{DOMAIN}");
    let report = s
        .receive_edited("notify-dl", &[&team], raw_mail("notify-dl"), |_| {})
        .await;
    assert_eq!(report[0]["outcome"], "dead_letter", "{report:?}");
    s.service
        .dispatcher()
        .run_once(SystemTime::now())
        .await
        .unwrap();
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let body = verified(&secret, &got[0]);
    assert_eq!(body["event"], "dead_letter");
    assert_eq!(body["recipient"], team.as_str());
}
