//! Issue 16's delivery events over the real server: mail forwarded through `/sns`, then SES's
//! events for that send (AWS's documented records, `mail.messageId` set to the send's id)
//! signed and posted to the same endpoint, and the record's delivery read back through the
//! API.

use super::*;

/// AWS's example record for `event` (server/tests/fixtures/ses-events), about the send
/// `mailer_id` to `to`.
fn event(name: &str, mailer_id: &str, to: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ses-events")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["mail"]["messageId"] = json!(mailer_id);
    v["mail"]["destination"] = json!([to]);
    // Every recipient list in the record names our owner, as SES's would.
    // (`get_mut`, not indexing: indexing a missing key would add it as null.)
    for (object, list) in [
        ("bounce", "bouncedRecipients"),
        ("complaint", "complainedRecipients"),
        ("deliveryDelay", "delayedRecipients"),
    ] {
        if let Some(rs) = v
            .get_mut(object)
            .and_then(|o| o.get_mut(list))
            .and_then(Value::as_array_mut)
        {
            for r in rs {
                r["emailAddress"] = json!(to);
            }
        }
    }
    if let Some(rs) = v.get_mut("delivery").and_then(|d| d.get_mut("recipients")) {
        *rs = json!([to]);
    }
    v.to_string()
}

impl Running {
    /// The record of `id` as the API shows it.
    async fn record(&self, id: &str) -> Value {
        let r = self
            .http
            .get(format!(
                "{}/api/v1/messages/{}",
                self.url,
                id.replace('/', "%2F")
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Posts an SES event signed by SNS: (status, answer).
    async fn event(&self, record: &str) -> (u16, Value) {
        self.post(notification(record).to_string()).await
    }
}

#[tokio::test]
async fn delivery_events_move_the_forwarded_record_forward_and_never_back() {
    let s = start(None, None).await;
    let team = format!("team@{DOMAIN}");
    let message = ses_message("ses-dv", &[&team], Content::Inline(raw_mail("dv")), "PASS");
    let (status, body) = s.post(notification(&message).to_string()).await;
    assert_eq!(
        (status, body["recipients"][0]["outcome"].as_str()),
        (200, Some("forwarded"))
    );
    // The outbox says which id it returned; events name that id, as SES's name its own.
    let sent = s.sent();
    let mailer_id = sent[0].0["message_id"].as_str().unwrap().to_string();
    let id = format!("ses-dv/{team}");
    let record = s.record(&id).await;
    assert_eq!(record["mailer_message_id"], mailer_id.as_str());
    assert_eq!(record["delivery"]["state"], "sent");

    let steps = [
        ("event-send", "ignored", "sent"),
        ("event-deliverydelay", "updated", "delayed"),
        ("event-delivery", "updated", "delivered"),
        ("event-delivery", "unchanged", "delivered"),
        ("event-deliverydelay", "unchanged", "delivered"),
        ("event-bounce", "updated", "bounced"),
        ("legacy-delivery", "unchanged", "bounced"),
        ("event-complaint", "updated", "complained"),
        ("legacy-bounce", "unchanged", "complained"),
    ];
    for (name, result, state) in steps {
        let (status, body) = s.event(&event(name, &mailer_id, OWNER)).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["status"], result, "{name}: {body}");
        let record = s.record(&id).await;
        assert_eq!(record["delivery"]["state"], state, "after {name}: {record}");
    }
    let record = s.record(&id).await;
    assert!(
        record["delivery"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("marked as spam"),
        "{record}"
    );
    assert_eq!(
        record["outcome"], "forwarded",
        "delivery never changes the outcome"
    );

    // A send no record carries: acknowledged (SNS must not retry it for ever), counted.
    let (status, body) = s.event(&event("event-bounce", "no-such-send", OWNER)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("unknown")));
    // Feedback that is not well formed is refused by name, so it shows in SNS's failures.
    let broken = json!({"eventType": "Bounce", "mail": {"messageId": mailer_id}}).to_string();
    let (status, body) = s.event(&broken).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bounce"),
        "{body}"
    );

    let metrics = reqwest::get(format!("{}/metrics", s.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"mailvend_delivery_events_total{event="Bounce",result="unknown"} 1"#,
        r#"mailvend_delivery_events_total{event="Delivery",result="updated"} 1"#,
        r#"mailvend_delivery_events_total{event="Delivery",result="unchanged"} 2"#,
        r#"mailvend_delivery_events_total{event="Send",result="ignored"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
}

/// The production wiring on moto: the SES v2 mailer sends with the configuration set, the
/// id SES returned is the one events name, and the DynamoDB store finds the record by it.
#[tokio::test]
async fn a_bounce_for_a_send_through_ses_reaches_its_record_in_dynamodb() {
    let (aws, _moto) = crate::testing::moto::sdk_config().await;
    let ses = aws_sdk_sesv2::Client::new(&aws);
    ses.create_email_identity()
        .email_identity(format!("forwarder@{DOMAIN}"))
        .send()
        .await
        .unwrap();
    let set = format!("mailvend-{:x}", rand::random::<u32>());
    ses.create_configuration_set()
        .configuration_set_name(&set)
        .send()
        .await
        .unwrap();
    let dynamo = Arc::new(crate::store::dynamodb::tests::store().await);
    let mailer = crate::mailer::ses::SesMailer::new(&aws).with_configuration_set(Some(&set));
    let s = start_on(
        Some(Arc::new(mailer)),
        None,
        Some(Stores::from_backend(dynamo)),
    )
    .await;
    let team = format!("team@{DOMAIN}");
    let tag = format!("{:x}", rand::random::<u32>());
    let message = ses_message(
        &format!("ses-{tag}"),
        &[&team],
        // moto keeps raw mail as text: an ASCII body.
        Content::Inline(raw_mail_with(&tag, "us-ascii", b"plain body\r\n")),
        "PASS",
    );
    let (status, body) = s.post(notification(&message).to_string()).await;
    assert_eq!(
        (status, body["recipients"][0]["outcome"].as_str()),
        (200, Some("forwarded")),
        "{body}"
    );
    let id = format!("ses-{tag}/{team}");
    let record = s.record(&id).await;
    let mailer_id = record["mailer_message_id"].as_str().unwrap().to_string();
    assert!(!mailer_id.is_empty());

    let (status, body) = s.event(&event("event-bounce", &mailer_id, OWNER)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("updated")),
        "{body}"
    );
    let record = s.record(&id).await;
    assert_eq!(record["delivery"]["state"], "bounced", "{record}");
    let (_, body) = s.event(&event("event-delivery", &mailer_id, OWNER)).await;
    assert_eq!(
        body["status"], "unchanged",
        "a delivery after the bounce does not undo it"
    );
}

/// `record` with its event's time set to `at` (AWS's examples are from 2016 and 2017).
fn at(record: String, at: &str) -> String {
    let mut v: Value = serde_json::from_str(&record).unwrap();
    for object in ["bounce", "complaint", "delivery", "deliveryDelay"] {
        if let Some(o) = v.get_mut(object) {
            o["timestamp"] = json!(at);
        }
    }
    v.to_string()
}

/// Issue 16's loop end to end: a hard bounce marks the owner unreachable, the next mail for
/// the address reaches the fallback (the admin address) as well, the API shows and lists it,
/// and a delivery to the owner after the bounce clears the mark.
#[tokio::test]
async fn a_hard_bounced_owners_next_mail_also_reaches_the_admin() {
    let s = start(None, None).await;
    let admin = format!("admin@{DOMAIN}");
    let team = format!("team@{DOMAIN}");
    let forward = |id: &str| ses_message(id, &[&team], Content::Inline(raw_mail(id)), "PASS");
    let (status, _) = s.post(notification(&forward("ub-1")).to_string()).await;
    assert_eq!(status, 200);
    let first = s.record(&format!("ub-1/{team}")).await;
    let mailer_id = first["mailer_message_id"].as_str().unwrap().to_string();

    let bounce = at(
        event("event-bounce", &mailer_id, OWNER),
        "2026-12-04T10:00:00.000Z",
    );
    let (status, body) = s.event(&bounce).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("updated")),
        "{body}"
    );

    let api = |path: String| {
        let (http, token) = (s.http.clone(), s.token.clone());
        async move {
            let r = http.get(path).bearer_auth(token).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, marks) = api(format!("{}/api/v1/unreachable", s.url)).await;
    assert_eq!(status, 200);
    assert_eq!(marks[0]["recipient"], OWNER, "{marks}");
    assert_eq!(marks[0]["reason"], "bounced");
    assert_eq!(marks[0]["mailer_message_id"], mailer_id.as_str());
    let (_, mapping) = api(format!("{}/api/v1/addresses/{team}", s.url)).await;
    assert_eq!(mapping["unreachable"][0]["recipient"], OWNER, "{mapping}");
    let (_, listed) = api(format!("{}/api/v1/addresses?unreachable=true", s.url)).await;
    let listed: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["address"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&team.as_str()), "{listed:?}");
    let (status, _) = api(format!("{}/api/v1/addresses?unreachable=maybe", s.url)).await;
    assert_eq!(status, 422);
    // The log filters on the delivery state.
    let (_, bounced) = api(format!("{}/api/v1/messages?delivery=bounced", s.url)).await;
    let ids: Vec<&str> = bounced["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![format!("ub-1/{team}").as_str()]);
    let (status, body) = api(format!("{}/api/v1/messages?delivery=lost", s.url)).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("delivery")),
        "{body}"
    );

    // The next mail: the admin has it (the record says so), and the owner gets a copy.
    let before = s.sent().len();
    let (status, _) = s.post(notification(&forward("ub-2")).to_string()).await;
    assert_eq!(status, 200);
    let second = s.record(&format!("ub-2/{team}")).await;
    assert_eq!(second["outcome"], "forwarded");
    assert_eq!(second["delivered_to"], admin.as_str(), "{second}");
    assert!(
        second["detail"].as_str().unwrap().contains("unreachable"),
        "{second}"
    );
    let sent = s.sent();
    let mut to: Vec<&str> = sent[before..]
        .iter()
        .map(|(m, _)| m["to"][0].as_str().unwrap())
        .collect();
    to.sort();
    assert_eq!(to, vec![admin.as_str(), OWNER]);
    let copy_id = sent[before..]
        .iter()
        .find(|(m, _)| m["to"][0] == OWNER)
        .map(|(m, _)| m["message_id"].as_str().unwrap().to_string())
        .unwrap();

    // The copy is delivered after the bounce: the mailbox works again.
    let delivered = at(
        event("event-delivery", &copy_id, OWNER),
        "2026-12-04T11:00:00.000Z",
    );
    let (status, body) = s.event(&delivered).await;
    // No record carries the copy's send; the mark clears all the same.
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("unknown")),
        "{body}"
    );
    let (_, marks) = api(format!("{}/api/v1/unreachable", s.url)).await;
    assert_eq!(marks, json!([]));

    // An admin marking it fixed: a complaint marks it again, DELETE clears it, once.
    let complaint = at(
        event("event-complaint", &mailer_id, OWNER),
        "2026-12-04T12:00:00.000Z",
    );
    s.event(&complaint).await;
    let clear = |who: String| {
        let (http, token, url) = (s.http.clone(), s.token.clone(), s.url.clone());
        async move {
            let r = http
                .delete(format!("{url}/api/v1/unreachable/{who}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, cleared) = clear(OWNER.to_uppercase()).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["reason"], "complained");
    let (status, again) = clear(OWNER.to_string()).await;
    assert_eq!(status, 404, "{again}");
    let before = s.sent().len();
    s.post(notification(&forward("ub-3")).to_string()).await;
    let third = s.record(&format!("ub-3/{team}")).await;
    assert_eq!(third["delivered_to"], OWNER);
    assert_eq!(s.sent().len(), before + 1, "to the owner alone again");
}
