//! The REST API over real HTTP against a real SQLite store: every route, the sample's
//! payloads from `tests/fixtures/seed-sample`, and the error shapes.

mod common;

use common::{client, start, TestServer, DOMAIN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::service::caller::AdminCaller;
use server::tokens::Scope;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed-sample")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

struct Api {
    server: TestServer,
    admin: String,
    vend: String,
}

async fn api() -> Api {
    let server = start().await;
    let admin = server.token(Scope::Admin).await;
    let vend = server.token(Scope::Vend).await;
    Api {
        server,
        admin,
        vend,
    }
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server.url)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = client().request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"));
        (status, value)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, token, None).await
    }
}

impl Api {
    /// An account's job once it is in `state` (the worker runs beside the test).
    async fn job_reaching(&self, account_id: &str, state: &str) -> Value {
        let started = std::time::Instant::now();
        loop {
            let (status, job) = self
                .get(&format!("/accounts/{account_id}/job"), &self.admin)
                .await;
            assert_eq!(status, StatusCode::OK, "{job}");
            if job["state"] == state {
                return job;
            }
            assert!(started.elapsed().as_secs() < 30, "never {state}: {job}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

fn error_field(v: &Value) -> &str {
    v["error"]["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_aws_sample_payload_vends_unchanged() {
    let a = api().await;
    let body: Value = serde_json::from_str(&fixture("vend-request.json")).unwrap();
    let (status, v) = a.post("/vend", &a.vend, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["AccountName"], "blue-origin-space-cube-z-prod-001");
    assert_eq!(
        v["AccountEmail"],
        format!("blue-origin-space-cube-z-prod-001@{DOMAIN}")
    );
    assert_eq!(v["AccountType"], "IT");
    assert_eq!(v["OwnerAddress"], "jdoe@example.com");
    let (_, again) = a.post("/vend", &a.vend, body).await;
    assert_eq!(again["AccountName"], "blue-origin-space-cube-z-prod-002");
    // The mapping kept the sample's tags; the unknown top-level key was ignored.
    let (_, m) = a
        .get(
            &format!("/addresses/blue-origin-space-cube-z-prod-001@{DOMAIN}"),
            &a.vend,
        )
        .await;
    assert_eq!(m["tags"]["BusinessUnit"], "Blue-Origin");
    assert_eq!(m["tags"]["Environment"], "PRODUCTION");
    assert!(m["tags"].get("SomeOtherKey").is_none());
}

#[tokio::test]
async fn the_sample_override_on_another_domain_is_refused_by_name() {
    let a = api().await;
    let body: Value = serde_json::from_str(&fixture("vend-request-overrides.json")).unwrap();
    let (status, v) = a.post("/vend", &a.vend, body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(error_field(&v), "AccountEmail");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(DOMAIN),
        "{v}"
    );
    // On our domain the same overrides are kept, for an admin: a vend-scope token may not
    // choose the address unless MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE says so.
    let mut ours = body;
    ours["AccountEmail"] = json!(format!("custom-account-name@{DOMAIN}"));
    let (status, v) = a.post("/vend", &a.vend, ours.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(error_field(&v), "AccountEmail");
    let (status, v) = a.post("/vend", &a.admin, ours).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["AccountName"], "custom-account-name");
    assert_eq!(v["AccountEmail"], format!("custom-account-name@{DOMAIN}"));
}

#[tokio::test]
async fn vend_read_list_edit_delete() {
    let a = api().await;
    let body = json!({
        "owner": "Owner@Example.org",
        "account_type": "research",
        "business_unit": "Data Platform",
        "application": "Lake House",
        "environment": "dev",
        "tags": {"CostCentre": "42"},
        "idempotency_key": "pipeline-run-7"
    });
    let (status, m) = a.post("/addresses", &a.vend, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let address = format!("data-platform-lake-house-dev-001@{DOMAIN}");
    assert_eq!(m["address"], address);
    assert_eq!(m["owner"], "owner@example.org");
    assert_eq!(m["account_type"], "Research");
    assert_eq!(m["status"], "active");
    assert!(m["created_by"].as_str().unwrap().starts_with("token:"));

    // A retry with the same key returns the first result, not a new number.
    let (status, again) = a.post("/addresses", &a.vend, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, m);

    // Reading is case-insensitive on the address.
    let (status, got) = a
        .get(&format!("/addresses/{}", address.to_uppercase()), &a.vend)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, m);

    let (status, page) = a
        .get("/addresses?owner=OWNER@example.org&limit=10", &a.vend)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], Value::Null);
    let (_, found) = a.get("/addresses?q=lake-house", &a.vend).await;
    assert_eq!(found["items"][0]["address"], address);

    // Editing needs an admin token.
    let patch = json!({"status": "suspended", "aws_account_id": "123456789012", "notes": "pilot"});
    let (status, v) = a
        .send(
            reqwest::Method::PATCH,
            &format!("/addresses/{address}"),
            &a.vend,
            Some(patch.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, edited) = a
        .send(
            reqwest::Method::PATCH,
            &format!("/addresses/{address}"),
            &a.admin,
            Some(patch),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["status"], "suspended");
    assert_eq!(edited["aws_account_id"], "123456789012");
    let (status, v) = a
        .send(
            reqwest::Method::PATCH,
            &format!("/addresses/{address}"),
            &a.admin,
            Some(json!({"address": "x@y.z"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_field(&v), "address");

    let (status, deleted) = a
        .send(
            reqwest::Method::DELETE,
            &format!("/addresses/{address}"),
            &a.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["status"], "deleted");
    let (_, page) = a.get("/addresses?owner=owner@example.org", &a.vend).await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "deleted mappings leave the default list"
    );
    let (_, page) = a
        .get("/addresses?owner=owner@example.org&status=deleted", &a.vend)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    // Gone for a REST client (what a generic client's use-after-free check expects), with the
    // reason in the message.
    let (status, gone) = a.get(&format!("/addresses/{address}"), &a.vend).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    assert!(
        gone["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was deleted"),
        "{gone}"
    );

    // The address stays reserved: the next vend for the same base takes the next number.
    let (status, next) = a
        .post("/addresses", &a.vend, json!({"owner": "o@example.org", "account_type": "IT", "business_unit": "data platform", "application": "lake house", "environment": "DEVELOPMENT"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        next["address"],
        format!("data-platform-lake-house-dev-002@{DOMAIN}")
    );
}

#[tokio::test]
async fn pages_follow_cursors_to_the_end() {
    let a = api().await;
    for _ in 0..5 {
        let (s, v) = a
            .post("/addresses", &a.vend, json!({"owner": "pager@example.org", "account_type": "IT", "business_unit": "bu", "application": "pages"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let path = match &cursor {
            None => "/addresses?owner=pager@example.org&limit=2".to_string(),
            Some(c) => format!("/addresses?owner=pager@example.org&limit=2&cursor={c}"),
        };
        let (status, page) = a.get(&path, &a.vend).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for m in page["items"].as_array().unwrap() {
            seen.push(m["account_name"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (1..=5)
            .map(|n| format!("bu-pages-eval-{n:03}"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn bad_requests_get_the_right_status_and_name_the_field() {
    let a = api().await;
    let ok = json!({"owner": "a@example.org", "account_type": "IT", "business_unit": "b", "application": "c"});

    let r = client()
        .post(a.url("/addresses"))
        .bearer_auth(&a.vend)
        .header("content-type", "application/json")
        .body("{\"owner\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "malformed_json"
    );

    let r = client()
        .post(a.url("/addresses"))
        .bearer_auth(&a.vend)
        .body(ok.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let mut extra = ok.clone();
    extra["colour"] = json!("blue");
    let (status, v) = a.post("/addresses", &a.vend, extra).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("colour"),
        "{v}"
    );

    for (field, value) in [
        ("owner", json!("Jane <jane@example.org>")),
        ("account_type", json!("Marketing")),
        ("environment", json!("staging")),
        ("address", json!("x@elsewhere.example")),
        ("business_unit", json!("b".repeat(60))),
    ] {
        let mut body = ok.clone();
        body[field] = value;
        let (status, v) = a.post("/addresses", &a.vend, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
        assert_eq!(error_field(&v), field, "{v}");
    }

    let (status, v) = a
        .post(
            "/addresses",
            &a.vend,
            json!({"owner": 7, "account_type": "IT"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_field(&v), "owner");

    let (status, v) = a.get(&format!("/addresses/nobody@{DOMAIN}"), &a.vend).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");

    let explicit =
        json!({"owner": "a@example.org", "account_type": "IT", "account_name": "fixed-name"});
    // An explicit name is an admin's choice (a vend token may not choose the address).
    assert_eq!(
        a.post("/addresses", &a.admin, explicit.clone()).await.0,
        StatusCode::CREATED
    );
    let (status, v) = a.post("/addresses", &a.admin, explicit).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");

    let (status, v) = a.get("/addresses?cursor=%25%25", &a.vend).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_field(&v), "cursor");
    let (status, v) = a.get("/addresses?limit=100000", &a.vend).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_field(&v), "limit");
    let (status, _) = a.get("/addresses?status=gone", &a.vend).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, v) = a.get("/nothing-here", &a.vend).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
}

/// Attack: text that reads differently from what it says. A bidi override in a tag, a note or
/// a token name ("Trojan Source") or a zero-width space hiding in one is refused by name.
#[tokio::test]
async fn invisible_characters_are_refused_in_tags_notes_and_token_names() {
    let a = api().await;
    let body = json!({"owner": "a@example.org", "account_type": "IT", "business_unit": "b",
        "application": "c", "tags": {"team": "ops\u{202E}nimda"}});
    let (status, v) = a.post("/addresses", &a.vend, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "tags", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("U+202E"),
        "{v}"
    );

    let body = json!({"owner": "a@example.org", "account_type": "IT", "business_unit": "b",
        "application": "c"});
    let (status, m) = a.post("/addresses", &a.vend, body).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let address = m["address"].as_str().unwrap();
    let (status, v) = a
        .send(
            reqwest::Method::PATCH,
            &format!("/addresses/{address}"),
            &a.admin,
            Some(json!({"notes": "all\u{200B}good"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "notes", "{v}");
    let (status, v) = a
        .send(
            reqwest::Method::PATCH,
            &format!("/addresses/{address}"),
            &a.admin,
            Some(json!({"notes": "two lines\nand a\ttab are fine"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    let refused = a
        .server
        .state
        .core
        .service
        .create_token(
            &AdminCaller::console(),
            "deploy\u{2066}bot",
            Scope::Vend,
            None,
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("U+2066"), "{refused}");
}

#[tokio::test]
async fn tokens_are_required_checked_and_revocable() {
    let a = api().await;
    let r = client().get(a.url("/addresses")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );

    for bad in [
        "nonsense",
        "mvt_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let (status, v) = a.get("/addresses", bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(
            v["error"]["message"],
            "the API token is invalid, revoked or expired"
        );
    }
    let r = client()
        .get(a.url("/addresses"))
        .header("authorization", format!("Basic {}", a.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let (status, _) = a
        .send(
            reqwest::Method::DELETE,
            &format!("/addresses/x@{DOMAIN}"),
            &a.vend,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let tokens = a
        .server
        .state
        .core
        .service
        .tokens(&AdminCaller::console())
        .await
        .unwrap();
    let vend_id = tokens
        .iter()
        .find(|t| t.scope == Scope::Vend)
        .unwrap()
        .id
        .clone();
    a.server
        .state
        .core
        .service
        .revoke_token(&AdminCaller::console(), &vend_id)
        .await
        .unwrap();
    let (status, _) = a.get("/addresses", &a.vend).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked token stops working at once"
    );
    let (status, _) = a.get("/addresses", &a.admin).await;
    assert_eq!(status, StatusCode::OK);
}

/// Writes a settled record to the message log, as the pipeline would have.
async fn log_mail(server: &TestServer, i: usize, recipient: &str, outcome: app::model::Outcome) {
    use app::model::MessageRecord;
    let ses = format!("ses-{i}");
    let record = MessageRecord {
        id: MessageRecord::id_for(&ses, recipient),
        ses_message_id: ses,
        recipient: recipient.to_string(),
        sender: "s@example.org".into(),
        subject: Some(format!("message {i}")),
        size: 100,
        verdicts: "spam:PASS virus:PASS spf:PASS dkim:PASS dmarc:PASS".into(),
        outcome,
        delivered_to: Some("owner@example.org".into()),
        detail: "test".into(),
        mailer_message_id: None,
        error: None,
        attempts: 1,
        received_at: format!("2026-11-25T10:00:0{i}.000Z"),
        updated_at: format!("2026-11-25T10:00:0{i}.000Z"),
        delivery: None,
        class: None,
        policy: None,
    };
    server
        .state
        .core
        .stores
        .messages
        .settle(&record)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_message_log_is_admin_only_and_filtered() {
    use app::model::Outcome;
    let a = api().await;
    let recipient = format!("team-app-prod-001@{DOMAIN}");
    for (i, outcome) in [Outcome::Forwarded, Outcome::DeadLetter, Outcome::Forwarded]
        .into_iter()
        .enumerate()
    {
        log_mail(&a.server, i, &recipient, outcome).await;
    }
    let (status, _) = a.get("/messages", &a.vend).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "senders and subjects are for admins"
    );
    let (status, page) = a
        .get(
            &format!("/messages?address={}", recipient.to_uppercase()),
            &a.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let subjects: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        vec!["message 2", "message 1", "message 0"],
        "newest first"
    );
    let (_, dead) = a.get("/messages?outcome=dead_letter", &a.admin).await;
    assert_eq!(dead["items"].as_array().unwrap().len(), 1);
    assert_eq!(dead["items"][0]["outcome"], "dead_letter");
    let (status, v) = a.get("/messages?outcome=lost", &a.admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_field(&v), "outcome");
    let id = format!("ses-1%2F{recipient}");
    let (status, one) = a.get(&format!("/messages/{id}"), &a.admin).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["subject"], "message 1");
    let (status, _) = a.get("/messages/no-such-id", &a.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn vend_body(extra: Value) -> Value {
    let mut body = json!({
        "owner": "outsider@elsewhere.example",
        "account_type": "IT",
        "business_unit": "attack",
        "application": "claim",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn a_leaked_vend_token_cannot_claim_role_addresses_or_the_from_address() {
    let a = api().await;
    // Reserved for everyone, admins included: these stay with the admin (catch-all).
    for local in [
        "admin",
        "postmaster",
        "abuse",
        "hostmaster",
        "webmaster",
        "forwarder",
    ] {
        for token in [&a.vend, &a.admin] {
            let (status, v) = a
                .post(
                    "/addresses",
                    token,
                    vend_body(json!({"address": format!("{local}@{DOMAIN}")})),
                )
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{local}: {v}");
            assert_eq!(error_field(&v), "address", "{v}");
            assert!(
                v["error"]["message"].as_str().unwrap().contains("reserved"),
                "{v}"
            );
        }
        let (status, v) = a
            .post(
                "/addresses",
                &a.vend,
                vend_body(json!({"account_name": local})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{local}: {v}");
        assert_eq!(error_field(&v), "account_name", "{v}");
    }
    // The sample's route says it in the sample's words.
    let (status, v) = a
        .post(
            "/vend",
            &a.admin,
            json!({"OwnerAddress": "o@elsewhere.example", "AccountType": "IT",
                   "AccountName": "pm", "AccountEmail": format!("postmaster@{DOMAIN}")}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(error_field(&v), "AccountEmail");
}

#[tokio::test]
async fn a_leaked_vend_token_cannot_choose_an_address_unless_the_setting_allows_it() {
    let a = api().await;
    let body = vend_body(json!({"address": format!("chosen@{DOMAIN}"), "account_name": "chosen"}));
    let (status, v) = a.post("/addresses", &a.vend, body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(error_field(&v), "address");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE"),
        "{v}"
    );
    // An account name chooses the address as surely (name@domain).
    let (status, v) = a
        .post(
            "/addresses",
            &a.vend,
            vend_body(json!({"account_name": "chosen-name"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(error_field(&v), "account_name");
    // A generated name is still the vend token's to ask for; an admin may choose.
    let (status, v) = a.post("/addresses", &a.vend, vend_body(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = a.post("/addresses", &a.admin, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");

    // With the setting on, a vend token may choose an address no mail has reached.
    let on = common::start_with(
        0,
        vec![("MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE", "on".into())],
    )
    .await;
    let token = on.token(Scope::Vend).await;
    let r = client()
        .post(format!("{}/api/v1/addresses", on.url))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_leaked_vend_token_cannot_claim_an_address_that_has_received_mail() {
    use app::model::Outcome;
    // Even where vend tokens may choose addresses, not one that mail has reached: an AWS
    // account's root address, never vended, whose mail reaches the admin by catch-all.
    let on = common::start_with(
        0,
        vec![("MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE", "on".into())],
    )
    .await;
    let vend = on.token(Scope::Vend).await;
    let admin = on.token(Scope::Admin).await;
    let root = format!("legacy-root-7@{DOMAIN}");
    log_mail(&on, 1, &root, Outcome::Forwarded).await;
    let post = |token: &str, body: Value| {
        client()
            .post(format!("{}/api/v1/addresses", on.url))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    for body in [
        vend_body(json!({"account_name": "legacy-root-7"})),
        vend_body(json!({"address": root, "account_name": "legacy-root-7"})),
    ] {
        let r = post(&vend, body).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("received mail"),
            "{v}"
        );
    }
    let r = post(
        &admin,
        vend_body(json!({"address": root, "account_name": "legacy-root-7"})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "an admin may adopt it");
}

/// Attack: a leaked vend token replays another pipeline's idempotency key (`run-42`) and
/// is handed that pipeline's mapping. Keys are each caller's own.
#[tokio::test]
async fn a_leaked_vend_token_cannot_replay_another_tokens_idempotency_key() {
    let a = api().await;
    let other = a.server.token(Scope::Vend).await;
    let body = vend_body(json!({"idempotency_key": "run-42"}));
    let (status, first) = a.post("/addresses", &a.vend, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = a.post("/addresses", &a.vend, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "the same token replays its own key");
    assert_eq!(again["address"], first["address"]);
    let (status, theirs) = a.post("/addresses", &other, body).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "another token's key is not this one's: {theirs}"
    );
    assert_ne!(theirs["address"], first["address"]);
}

#[tokio::test]
async fn a_leaked_vend_token_sees_only_what_it_vended_and_never_notes() {
    let a = api().await;
    let other = a.server.token(Scope::Vend).await;
    let (_, mine) = a.post("/addresses", &a.vend, vend_body(json!({}))).await;
    let (_, theirs) = a.post("/addresses", &other, vend_body(json!({}))).await;
    let (_, admins) = a.post("/addresses", &a.admin, vend_body(json!({}))).await;
    let mine = mine["address"].as_str().unwrap().to_string();
    let theirs = theirs["address"].as_str().unwrap().to_string();
    let admins = admins["address"].as_str().unwrap().to_string();
    let (status, v) = a
        .send(
            reqwest::Method::PATCH,
            &format!("/addresses/{mine}"),
            &a.admin,
            Some(json!({"notes": "owner is on leave; call +44 20 7946 0000"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    let (_, page) = a.get("/addresses?limit=500", &a.vend).await;
    let listed: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["address"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![mine.as_str()], "{page}");
    assert!(page["items"][0]["notes"].is_null(), "{page}");
    let (status, one) = a.get(&format!("/addresses/{mine}"), &a.vend).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one["notes"].is_null(), "{one}");
    for hidden in [&theirs, &admins] {
        let (status, _) = a.get(&format!("/addresses/{hidden}"), &a.vend).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{hidden}");
    }
    // The admin sees everything, notes included.
    let (_, all) = a.get("/addresses?limit=500", &a.admin).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let (_, one) = a.get(&format!("/addresses/{mine}"), &a.admin).await;
    assert!(one["notes"].as_str().unwrap().contains("on leave"));
}

/// Attack: a token copied into a CI log years ago still works. Tokens may now expire; the
/// Tokens page shows when each was last used, so a forgotten one stands out.
#[tokio::test]
async fn an_expired_token_proves_nothing_and_each_use_is_recorded() {
    use server::tokens::{self, ApiToken};
    let a = api().await;
    let (id, secret) = tokens::generate();
    let expired = ApiToken {
        id: id.clone(),
        name: "old-ci".into(),
        scope: Scope::Admin,
        created_at: "2024-01-01T00:00:00.000Z".into(),
        created_by: "cli".into(),
        revoked_at: None,
        expires_at: Some("2025-01-01T00:00:00.000Z".into()),
        last_used_at: None,
    };
    let store = &a.server.state.core.stores.tokens;
    store
        .create_token(&expired, &tokens::digest(secret.expose()))
        .await
        .unwrap();
    let (status, v) = a.get("/addresses", secret.expose()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"));

    // A token made to expire in a day works, and its use is recorded once a minute at most.
    let (made, secret) = a
        .server
        .state
        .core
        .service
        .create_token(&AdminCaller::console(), "short", Scope::Vend, Some(1))
        .await
        .unwrap();
    assert!(made.expires_at.as_deref().unwrap() > server::clock::now_rfc3339().as_str());
    assert_eq!(made.last_used_at, None);
    let (status, _) = a.get("/addresses", secret.expose()).await;
    assert_eq!(status, StatusCode::OK);
    let listed = store.list_tokens().await.unwrap();
    let used = listed.iter().find(|t| t.id == made.id).unwrap();
    let first_use = used.last_used_at.clone().expect("the use is recorded");
    let (status, _) = a.get("/addresses", secret.expose()).await;
    assert_eq!(status, StatusCode::OK);
    let listed = store.list_tokens().await.unwrap();
    let again = listed.iter().find(|t| t.id == made.id).unwrap();
    assert_eq!(
        again.last_used_at.as_deref(),
        Some(first_use.as_str()),
        "one write a minute"
    );
    // The expiry is bounded.
    let err = a
        .server
        .state
        .core
        .service
        .create_token(&AdminCaller::console(), "forever-ish", Scope::Vend, Some(0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expires_days"), "{err}");
}

use common::fleet::{create_account, moto_organization};

#[tokio::test]
async fn the_organization_sync_links_mappings_reports_drift_and_adopts() {
    use server::store::MappingStore;
    let moto = common::fleet::Moto::start().await;
    let org = moto_organization(&moto).await;
    let server = common::start_with_organizations(&moto.url).await;
    let a = Api {
        admin: server.token(Scope::Admin).await,
        vend: server.token(Scope::Vend).await,
        server,
    };
    let tag = format!("o{}x{}", std::process::id(), rand::random::<u32>());

    // Two vended mappings become the root emails of two accounts; one of those closes.
    let vend = |app: &str| json!({"owner": "owner@corp.example", "account_type": "IT", "business_unit": tag, "application": app});
    let (status, linked) = a.post("/addresses", &a.vend, vend("linked")).await;
    assert_eq!(status, StatusCode::CREATED, "{linked}");
    let linked = linked["address"].as_str().unwrap().to_string();
    let (_, closing) = a.post("/addresses", &a.vend, vend("closing")).await;
    let closing = closing["address"].as_str().unwrap().to_string();
    // A mapping that records an account id by hand, the wrong one, and one nobody uses.
    let (_, wrong) = a.post("/addresses", &a.vend, vend("wrong")).await;
    let wrong = wrong["address"].as_str().unwrap().to_string();

    // AWS keeps the case the email was given in; mailvend compares in lower case.
    let linked_id = create_account(&org, &format!("{tag} linked"), &linked.to_uppercase()).await;
    let closing_id = create_account(&org, &format!("{tag} closing"), &closing).await;
    org.close_account()
        .account_id(&closing_id)
        .send()
        .await
        .unwrap();
    let unmapped = format!("{tag}-unmapped@{DOMAIN}");
    let unmapped_id = create_account(&org, &format!("{tag} unmapped"), &unmapped).await;
    let off_id = create_account(&org, &format!("{tag} off"), &format!("{tag}@corp.example")).await;
    let role = format!("postmaster+{tag}@{DOMAIN}");
    let role_id = create_account(&org, &format!("{tag} role"), &role).await;
    let (status, _) = a
        .send(
            reqwest::Method::PATCH,
            &format!("/addresses/{wrong}"),
            &a.admin,
            Some(json!({"aws_account_id": off_id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Only admins sync.
    let (status, _) = a.post("/accounts/sync", &a.vend, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = a.get("/accounts/sync", &a.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no sync has run yet");

    let (status, summary) = a.post("/accounts/sync", &a.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert!(summary["accounts"].as_u64().unwrap() >= 6, "{summary}");
    assert!(summary["linked"].as_u64().unwrap() >= 2, "{summary}");
    let (_, last) = a.get("/accounts/sync", &a.admin).await;
    assert_eq!(last, summary);

    // Every account of this test, with its drift.
    let mut ours = std::collections::BTreeMap::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = a
            .get(&format!("/accounts?limit=2&cursor={cursor}"), &a.admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().unwrap() {
            if item["name"].as_str().unwrap().starts_with(&tag) {
                ours.insert(
                    item["account_id"].as_str().unwrap().to_string(),
                    item.clone(),
                );
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let drift = |id: &str| ours[id]["drift"].clone();
    assert_eq!(drift(&linked_id), Value::Null, "{:?}", ours[&linked_id]);
    assert_eq!(ours[&linked_id]["address"], json!(linked));
    assert_eq!(ours[&linked_id]["email"], json!(linked), "lower-cased");
    assert_eq!(ours[&linked_id]["state"], "ACTIVE");
    // moto reports a closed account as SUSPENDED (real AWS: PENDING_CLOSURE, then CLOSED).
    assert_eq!(ours[&closing_id]["state"], "SUSPENDED");
    assert_eq!(drift(&closing_id), "closed");
    assert_eq!(drift(&unmapped_id), "unmapped");
    assert_eq!(drift(&role_id), "unmapped");
    assert_eq!(drift(&off_id), "conflict", "{:?}", ours[&off_id]);
    assert!(ours[&off_id]["drift_detail"]
        .as_str()
        .unwrap()
        .contains(&wrong));

    // The filter serves the same judgement.
    let (_, page) = a.get("/accounts?drift=unmapped&limit=500", &a.admin).await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["account_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&unmapped_id.as_str()) && !ids.contains(&linked_id.as_str()));
    let (status, v) = a.get("/accounts?drift=lost", &a.admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(error_field(&v), "drift");

    // The linked mapping knows its account, and the link is audited under the caller.
    let (_, m) = a.get(&format!("/addresses/{linked}"), &a.admin).await;
    assert_eq!(m["aws_account_id"], json!(linked_id));
    assert_eq!(m["account"]["id"], json!(linked_id));
    assert_eq!(m["account"]["name"], json!(format!("{tag} linked")));
    assert_eq!(m["account"]["state"], "ACTIVE");
    let (_, m) = a.get(&format!("/addresses/{closing}"), &a.admin).await;
    assert_eq!(m["account"]["state"], "SUSPENDED");
    assert_eq!(
        m["status"], "active",
        "a closed account's mail keeps flowing"
    );
    let (_, m) = a.get(&format!("/addresses/{wrong}"), &a.admin).await;
    assert_eq!(
        m["aws_account_id"],
        json!(off_id),
        "an admin's entry is never overwritten"
    );
    assert!(m.get("account").is_none(), "{m}");
    let trail = a.server.store.audit_trail(&linked).await.unwrap();
    assert!(
        trail.iter().any(|e| e.actor.starts_with("token:")
            && e.after.as_deref().unwrap_or("").contains(&linked_id)),
        "{trail:?}"
    );
    // The addresses list filters by the account's state.
    let (_, page) = a
        .get(
            &format!("/addresses?q={tag}&account_state=SUSPENDED"),
            &a.admin,
        )
        .await;
    let addresses: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, [closing.as_str()], "{page}");

    // Adopting: a role address never; an unmapped one once, then it is linked.
    let owner = json!({"owner": "new-owner@corp.example"});
    let (status, v) = a
        .post(
            &format!("/accounts/{role_id}/adopt"),
            &a.admin,
            owner.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, v) = a
        .post(
            &format!("/accounts/{unmapped_id}/adopt"),
            &a.vend,
            owner.clone(),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "vend tokens do not adopt: {v}"
    );
    let (status, v) = a
        .post(
            &format!("/accounts/{unmapped_id}/adopt"),
            &a.admin,
            json!({"owner": format!("x@{DOMAIN}")}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an owner on the domain loops: {v}"
    );
    let (status, adopted) = a
        .post(
            &format!("/accounts/{unmapped_id}/adopt"),
            &a.admin,
            owner.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{adopted}");
    assert_eq!(adopted["address"], json!(unmapped));
    assert_eq!(adopted["owner"], "new-owner@corp.example");
    assert_eq!(adopted["account"]["id"], json!(unmapped_id));
    let (status, _) = a
        .post(
            &format!("/accounts/{unmapped_id}/adopt"),
            &a.admin,
            owner.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "adopted once");
    let (status, _) = a
        .post("/accounts/000000000000/adopt", &a.admin, owner)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let trail = a.server.store.audit_trail(&unmapped).await.unwrap();
    assert!(
        trail.iter().any(|e| e.action == "adopt_account"),
        "{trail:?}"
    );

    // The next sync agrees: the adopted account is mapped, nothing was linked twice.
    let (_, again) = a.post("/accounts/sync", &a.admin, json!({})).await;
    let (_, account) = a.get("/accounts?drift=unmapped&limit=500", &a.admin).await;
    assert!(!account["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["account_id"] == json!(unmapped_id)));
    assert_eq!(
        again["linked"], 0,
        "every link was written already: {again}"
    );
}

#[tokio::test]
async fn the_organization_sync_is_refused_while_it_is_off() {
    let a = api().await;
    let (status, v) = a.post("/accounts/sync", &a.admin, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("MAILVEND_ORGANIZATIONS"));
    let (status, v) = a.get("/accounts", &a.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["items"], json!([]));
}

/// Root email changes through the API, the edges: who may, what is refused and why (each
/// named), a job's address never taken from a mapping that does not record the account, and
/// a job that fails at Start (the address in use) retried.
#[tokio::test]
async fn moving_root_emails_refuses_clearly_and_never_takes_over_a_pre_vended_address() {
    use server::store::MappingStore;
    use server::testing::account_api::FakeAccountApi;
    let moto = common::fleet::Moto::start().await;
    let org = moto_organization(&moto).await;
    let tag = format!("m{}x{}", std::process::id(), rand::random::<u32>());
    let off = create_account(&org, &format!("{tag} off"), &format!("{tag}@corp.example")).await;
    let squatted = create_account(
        &org,
        &format!("{tag} squat"),
        &format!("{tag}-s@corp.example"),
    )
    .await;
    let on_domain = create_account(&org, &format!("{tag} on"), &format!("{tag}-on@{DOMAIN}")).await;
    let fake = FakeAccountApi::start(&[
        (off.as_str(), "x@corp.example"),
        (squatted.as_str(), "y@corp.example"),
    ])
    .await;
    let server = common::start_with_root_emails(&moto.url, fake.url()).await;
    let a = Api {
        admin: server.token(Scope::Admin).await,
        vend: server.token(Scope::Vend).await,
        server,
    };
    let (status, _) = a.post("/accounts/sync", &a.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK);

    // Someone vends the address mailvend would name for an account, owned by another
    // mailbox, hoping to own its root mail once moved (a vend token may choose names when
    // MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE is on; here the mapping is made by the admin
    // token, as a careless admin might). A vend token may not move accounts.
    let squat_name = format!("{tag}-squat-{squatted}");
    let (status, v) = a
        .post(
            "/addresses",
            &a.admin,
            json!({"owner": "attacker@evil.example", "account_type": "IT", "account_name": squat_name}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, _) = a
        .post(
            "/accounts/move",
            &a.vend,
            json!({"account_ids": [squatted]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for (body, field) in [
        (json!({"account_ids": []}), "account_ids"),
        (json!({"account_ids": vec!["1"; 101]}), "account_ids"),
        (
            json!({"account_ids": [off], "owner": format!("x@{DOMAIN}")}),
            "owner",
        ),
        (
            json!({"account_ids": [off], "owner": "not an address"}),
            "owner",
        ),
    ] {
        let (status, v) = a.post("/accounts/move", &a.admin, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(error_field(&v), field, "{v}");
    }
    let (status, _) = a
        .post(
            "/accounts/move",
            &a.admin,
            json!({"account_ids": [off], "extra": 1}),
        )
        .await;
    assert!(
        status.is_client_error(),
        "unknown fields are refused: {status}"
    );

    // One at a time: each refusal with its status and a message naming the account.
    let (status, v) = a
        .post("/accounts/000000000000/move", &a.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, v) = a
        .post(&format!("/accounts/{on_domain}/move"), &a.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("already"),
        "{v}"
    );
    // The pre-made mapping is never used: the account gets an address of its own.
    let (status, job) = a
        .post(&format!("/accounts/{squatted}/move"), &a.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let own = job["address"].as_str().unwrap();
    assert!(
        own.starts_with(&format!("aws-{squatted}-")) && own.ends_with(&format!("@{DOMAIN}")),
        "{job}"
    );
    let (_, m) = a.get(&format!("/addresses/{own}"), &a.admin).await;
    assert_eq!(m["owner"], format!("{tag}-s@corp.example"), "{m}");
    let (_, m) = a
        .get(&format!("/addresses/{squat_name}@{DOMAIN}"), &a.admin)
        .await;
    assert_eq!(m["owner"], "attacker@evil.example");
    assert!(m["aws_account_id"].is_null(), "{m}");

    // Moving one: an address vended for it, owned by its current root email; AWS is asked
    // (the worker runs at once here) and the job waits for the code. One open job an account.
    let (status, job) = a
        .post(&format!("/accounts/{off}/move"), &a.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let address = format!("{tag}-off-{off}@{DOMAIN}");
    assert_eq!(job["address"], address);
    assert_eq!(job["state"], "queued");
    assert_eq!(job["previous_email"], format!("{tag}@corp.example"));
    let (_, m) = a.get(&format!("/addresses/{address}"), &a.admin).await;
    assert_eq!(m["owner"], format!("{tag}@corp.example"));
    let job = a.job_reaching(&off, "requested").await;
    assert!(
        job["detail"].as_str().unwrap().contains("AWS mails a code"),
        "{job}"
    );
    let (status, v) = a
        .post(&format!("/accounts/{off}/move"), &a.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "one open job an account: {v}");
    let (status, _) = a
        .post(&format!("/accounts/{off}/job/retry"), &a.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "only a failed job is retried");

    // Another, whose address turns out to be in use (ConflictException at Start): failed,
    // named; retried (only by an admin) with the same address.
    let taken = create_account(
        &org,
        &format!("{tag} taken"),
        &format!("{tag}-t@corp.example"),
    )
    .await;
    fake.add_account(&taken, &format!("{tag}-t@corp.example"));
    let (status, _) = a.post("/accounts/sync", &a.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let taken_address = format!("{tag}-taken-{taken}@{DOMAIN}");
    fake.add_account("999999999999", &taken_address);
    let (status, _) = a
        .post("/accounts/move", &a.admin, json!({"account_ids": [taken]}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let job = a.job_reaching(&taken, "failed").await;
    assert_eq!(job["reason"], "conflict", "{job}");
    assert!(job["detail"].as_str().unwrap().contains("in use"), "{job}");
    let (status, _) = a
        .post(&format!("/accounts/{taken}/job/retry"), &a.vend, json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, retried) = a
        .post(&format!("/accounts/{taken}/job/retry"), &a.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    assert_eq!(retried["state"], "queued");
    assert_eq!(retried["attempts"], 2);
    assert_eq!(retried["address"], taken_address);
    let job = a.job_reaching(&taken, "failed").await;
    assert_eq!(job["attempts"], 2, "{job}");

    // Every step is audited on the address, never with a code.
    let trail = a.server.store.audit_trail(&taken_address).await.unwrap();
    let steps: Vec<&str> = trail
        .iter()
        .filter(|e| e.action == "root_email_job")
        .map(|e| e.after.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        steps.len(),
        6,
        "queued, requested, failed, twice: {trail:?}"
    );
    assert!(
        steps.iter().any(|s| s.contains("\"conflict\"")),
        "{steps:?}"
    );
    let (_, page) = a.get("/accounts/jobs?limit=500", &a.admin).await;
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["account_id"] == off.as_str()));
}

/// #18: routing rules through the API. A bad list is refused naming the rule and field, and
/// changes nothing; a vend token may not touch them; a saved list reads back and is audited
/// whole; a dry run lists the latest mail the conditions match, changing nothing.
#[tokio::test]
async fn routing_rules_are_checked_saved_audited_and_dry_run() {
    use app::model::Outcome;
    let a = api().await;
    let recipient = format!("team-app-prod-001@{DOMAIN}");
    for i in 0..4 {
        log_mail(&a.server, i, &recipient, Outcome::Forwarded).await;
    }
    let good = json!({"rules": [
        {"name": "billing", "subject": {"kind": "regex", "value": "^message [13]$"},
         "action": {"type": "tag_subject", "tag": "[BILL]"}},
        {"name": "all from s", "sender": {"value": "S@EXAMPLE.ORG"},
         "action": {"type": "redirect", "address": "ops@corp.example"}}
    ]});
    let put = |body: Value, token: &str| {
        let token = token.to_string();
        let a = &a;
        async move {
            a.send(reqwest::Method::PUT, "/rules", &token, Some(body))
                .await
        }
    };
    let (status, _) = put(good.clone(), &a.vend).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (bad, says) in [
        (
            json!({"rules": [good["rules"][0].clone(), {"name": "loop", "sender": {"value": "x"}, "action": {"type": "redirect", "address": format!("root@{DOMAIN}")}}]}),
            "rule 2, action",
        ),
        (
            json!({"rules": [{"name": "r", "subject": {"kind": "regex", "value": "(a"}, "action": {"type": "drop"}}]}),
            "rule 1, subject",
        ),
        (
            json!({"rules": [{"name": "everything", "action": {"type": "drop"}}]}),
            "at least one condition",
        ),
    ] {
        let (status, v) = put(bad, &a.admin).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{v}"
        );
    }
    let (_, now) = a.get("/rules", &a.admin).await;
    assert_eq!(now, json!({"rules": []}), "refused lists change nothing");

    let (status, saved) = put(good.clone(), &a.admin).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, now) = a.get("/rules", &a.admin).await;
    assert_eq!(now["rules"][0]["name"], "billing");
    assert_eq!(now["rules"][1]["sender"]["kind"], "contains");
    let trail = a
        .server
        .state
        .core
        .stores
        .mappings
        .audit_trail("setting:routing_rules")
        .await
        .unwrap();
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert!(trail[0]
        .after
        .as_deref()
        .unwrap()
        .contains("ops@corp.example"));

    let (status, run) = a
        .post(
            "/rules/dry-run",
            &a.admin,
            json!({"rule": good["rules"][0], "last": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["examined"], 3);
    let subjects: Vec<&str> = run["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    // The latest three are messages 3, 2 and 1; the rule takes 3 and 1.
    assert_eq!(subjects, ["message 3", "message 1"]);
    let (status, v) = a
        .post(
            "/rules/dry-run",
            &a.admin,
            json!({"rule": {"name": "x", "subject": {"kind": "regex", "value": "(a"}, "action": {"type": "drop"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}
