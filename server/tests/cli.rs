//! The `mailvend` binary as an operator runs it: `deliver` and `replay` against a SQLite
//! store and the outbox in a temporary directory.

use std::process::{Command, Output};

const DOMAIN: &str = "mail.test.example";

fn mailvend(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailvend"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAILVEND_DOMAIN", DOMAIN)
        .env(
            "MAILVEND_STORE",
            format!("sqlite://{}", dir.join("cli.db").display()),
        )
        .env(
            "MAILVEND_MAILER",
            format!("outbox://{}", dir.join("outbox").display()),
        )
        .output()
        .unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn deliver_runs_the_pipeline_once_per_message_and_replay_reports_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("in.eml");
    let body: &[u8] = b"8-bit \xe9\xff body\r\n";
    let mut raw = b"From: Ann <ann@sender.example>\r\nSubject: Hi\r\n\r\n".to_vec();
    raw.extend_from_slice(body);
    std::fs::write(&eml, &raw).unwrap();
    let args = [
        "deliver",
        "--recipient",
        "nobody@mail.test.example",
        "--recipient",
        "forwarder@mail.test.example",
        "--recipient",
        "someone@other.example",
        eml.to_str().unwrap(),
    ];

    let out = mailvend(dir.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let outcomes: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["recipient"].as_str().unwrap(),
                l["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("nobody@mail.test.example", "undeliverable"),
            ("forwarder@mail.test.example", "forwarded"),
            ("someone@other.example", "rejected"),
        ]
    );
    assert!(lines[0]["message_id"]
        .as_str()
        .unwrap()
        .starts_with("local-"));

    // One message in the outbox, to the admin (mail to the forwarder's own address), body intact.
    let outbox = dir.path().join("outbox");
    let metas: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some("json".as_ref()))
        .collect();
    assert_eq!(metas.len(), 1);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&metas[0]).unwrap()).unwrap();
    assert_eq!(meta["to"], serde_json::json!([format!("admin@{DOMAIN}")]));
    let sent = std::fs::read(metas[0].with_extension("eml")).unwrap();
    assert!(sent.ends_with(body));

    // The same file again is the same message: nothing happens twice.
    let again = json_lines(&mailvend(dir.path(), &args));
    assert!(
        again.iter().all(|l| l["outcome"] == "duplicate"),
        "{again:?}"
    );

    let none = mailvend(dir.path(), &["replay", "--dead-letters"]);
    assert!(none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no dead letters"));
    let unknown = mailvend(dir.path(), &["replay", "nope/x@mail.test.example"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("was not found"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let not_dead = mailvend(
        dir.path(),
        &["replay", lines[1]["message_id"].as_str().unwrap()],
    );
    assert!(!not_dead.status.success());
    assert!(String::from_utf8_lossy(&not_dead.stderr).contains("not a dead letter"));

    let missing = mailvend(
        dir.path(),
        &[
            "deliver",
            "--recipient",
            "a@mail.test.example",
            "/nonexistent.eml",
        ],
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent.eml"));
}

/// Issue 22 item 1: with a mailer that really sends, an admin address on the served domain
/// is a forwarding loop (catch-all mail sent there comes back), so the server refuses to
/// start, naming the variable: the default one at configuration, a set one that no mapping
/// sends elsewhere at start.
#[test]
fn serve_refuses_an_admin_address_on_the_served_domain_with_a_sending_mailer() {
    let dir = tempfile::tempdir().unwrap();
    let run = |admin: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailvend"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MAILVEND_DOMAIN", DOMAIN)
            .env(
                "MAILVEND_STORE",
                format!("sqlite://{}", dir.path().join("cli.db").display()),
            )
            .env("MAILVEND_MAILER", "smtp://127.0.0.1:9")
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0");
        if let Some(a) = admin {
            cmd.env("MAILVEND_ADMIN_ADDRESS", a);
        }
        cmd.output().unwrap()
    };
    for admin in [None, Some("admin@mail.test.example")] {
        let out = run(admin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{admin:?} started:\n{stderr}");
        assert!(
            stderr.contains("MAILVEND_ADMIN_ADDRESS") && stderr.contains("forwarding loop"),
            "{admin:?}: {stderr}"
        );
    }
}

#[test]
fn delivery_event_applies_an_ses_event_to_the_send_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("in.eml");
    std::fs::write(
        &eml,
        b"From: Ann <ann@sender.example>\r\nSubject: Hi\r\n\r\nbody\r\n",
    )
    .unwrap();
    let out = mailvend(
        dir.path(),
        &[
            "deliver",
            "--recipient",
            &format!("forwarder@{DOMAIN}"),
            eml.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The outbox's .json names the id it returned: the id SES events would name.
    let meta = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension() == Some("json".as_ref()))
        .unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(meta).unwrap()).unwrap();
    let sent_id = meta["message_id"].as_str().unwrap().to_string();

    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ses-events");
    let event_file = |name: &str, id: &str| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixtures.join(format!("{name}.json"))).unwrap())
                .unwrap();
        v["mail"]["messageId"] = serde_json::json!(id);
        let path = dir.path().join(format!("{name}-{id}.json"));
        std::fs::write(&path, v.to_string()).unwrap();
        path
    };
    let apply = |path: std::path::PathBuf| {
        let out = mailvend(dir.path(), &["delivery-event", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out).remove(0)
    };
    let first = apply(event_file("event-delivery", &sent_id));
    assert_eq!(first["status"], "updated");
    assert_eq!(first["event"], "Delivery");
    assert_eq!(first["mailer_message_id"], sent_id.as_str());
    assert_eq!(
        apply(event_file("event-delivery", &sent_id))["status"],
        "unchanged"
    );
    assert_eq!(
        apply(event_file("event-bounce", &sent_id))["status"],
        "updated"
    );
    assert_eq!(
        apply(event_file("event-delivery", &sent_id))["status"],
        "unchanged",
        "a late delivery does not undo the bounce"
    );
    assert_eq!(
        apply(event_file("event-bounce", "no-such-send"))["status"],
        "unknown"
    );

    // Received mail is not delivery feedback: refused by name, exit status 1.
    let other = dir.path().join("received.json");
    std::fs::write(&other, r#"{"notificationType": "Received"}"#).unwrap();
    let out = mailvend(dir.path(), &["delivery-event", other.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not SES delivery feedback"));
}

#[test]
fn owner_reassign_and_suspend_answer_in_json_and_name_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = mailvend(
        dir.path(),
        &[
            "owner",
            "reassign",
            "Left@Example.org",
            "heir@example.org",
            "--dry-run",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = &json_lines(&out)[0];
    assert_eq!(done["owner"], "left@example.org");
    assert_eq!(done["action"], "reassign");
    assert_eq!(done["to"], "heir@example.org");
    assert_eq!(done["dry_run"], true);
    assert_eq!(done["addresses"], serde_json::json!([]));

    let out = mailvend(dir.path(), &["owner", "suspend", "left@example.org"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out)[0]["action"], "suspend");

    let out = mailvend(
        dir.path(),
        &["owner", "reassign", "left@example.org", "not an address"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("to:"), "{err}");
}
