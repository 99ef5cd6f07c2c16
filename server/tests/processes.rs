//! The production shape, in real processes: several `mailvend serve` on one DynamoDB (moto)
//! sending through SES (moto), one killed mid-delivery, one stopped with SIGTERM while it
//! forwards through a slow relay, and the embedded SQLite server restarted and backed up under
//! load. Each run prints its tally (one JSON line); `FLEET_MESSAGES` makes the runs longer
//! (docs/deployment.md, "Soak runs").

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::fleet::{self, deliver_all, outcomes, records, vend, Moto, World, ADMIN, DOMAIN};
use serde_json::{json, Value};

/// Messages per run: short in `make test`, longer when asked.
fn messages(default: usize) -> usize {
    std::env::var("FLEET_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run_tag() -> String {
    format!("{:x}", rand::random::<u32>())
}

/// Copies sent per (message, mailbox) for this run's messages, and the duplicates among them.
struct Sends {
    per: BTreeMap<(String, String), usize>,
}

impl Sends {
    async fn of(moto: &Moto, run: &str) -> Sends {
        let per = moto
            .sends()
            .await
            .into_iter()
            .filter(|((tag, _), _)| tag.starts_with(run))
            .collect();
        Sends { per }
    }

    fn total(&self) -> usize {
        self.per.values().sum()
    }

    fn duplicates(&self) -> usize {
        self.per.values().map(|n| n.saturating_sub(1)).sum()
    }

    /// (message, mailbox) pairs that should have had a copy and had none.
    fn missing(&self, run: &str, count: usize, mailboxes: &[&str]) -> Vec<String> {
        let mut missing = Vec::new();
        for n in 0..count {
            for m in mailboxes {
                if !self.per.contains_key(&(format!("{run}-{n}"), m.to_string())) {
                    missing.push(format!("{run}-{n} to {m}"));
                }
            }
        }
        missing
    }
}

fn ours<'a>(records: &'a [Value], run: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| {
            r["ses_message_id"]
                .as_str()
                .is_some_and(|s| s.starts_with(run))
        })
        .collect()
}

/// Servers A and B on one DynamoDB: every notification posted to one of them, a third posted
/// to the other at the same moment too. Every copy is sent exactly once and every record is
/// final; a session, a token and a setting made on A hold on B; and when both purge old
/// records at start, each record is deleted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_dynamodb_send_each_copy_once_and_share_sessions_tokens_and_settings() {
    let moto = Moto::start().await;
    moto.verify_sender().await;
    let store = format!("dynamodb://fleet{}", run_tag());
    let world = World::new(&store, "ses", moto.env());
    world.command(&["migrate"]);
    let console_token = world.token();
    let a = world.serve("a", 0, &[]).await;
    let b = world.serve("b", 0, &[]).await;
    let one = vend(&a.url, &console_token, "fleet-one", "ann@owners.example", &["cat@owners.example"]).await;
    let two = vend(&b.url, &console_token, "fleet-two", "bob@owners.example", &[]).await;

    // A session made by signing in on A works on B (cookies name the host, not the port).
    let signed_in = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let r = signed_in
        .get(format!("{}/auth/local?token={}", a.url, fleet::LOGIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "local sign-in on A");
    let server_fn = |client: &reqwest::Client, url: &str, path: &str, body: &str| {
        client
            .post(format!("{url}{path}"))
            .header("origin", url)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
            .send()
    };
    let on_b = server_fn(&signed_in, &b.url, "/fn/settings", "").await.unwrap();
    assert_eq!(on_b.status(), 200, "A's session on B");
    let stranger = server_fn(&common::client(), &b.url, "/fn/settings", "").await.unwrap();
    assert_eq!(stranger.status(), 401, "B still asks who you are");
    // A token made through A's dashboard works on B's API.
    let made = server_fn(&signed_in, &a.url, "/fn/create_token", "name=fleet-a&scope=admin")
        .await
        .unwrap();
    assert_eq!(made.status(), 200);
    let made: Value = made.json().await.unwrap();
    let token = made[1].as_str().expect("the secret, shown once").to_string();
    let listed = common::client()
        .get(format!("{}/api/v1/addresses/{one}", b.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200, "A's token on B");

    // The load: each message to both addresses, so three mailboxes get a copy.
    let run = run_tag();
    let count = messages(60);
    let bodies: Vec<String> = (0..count)
        .map(|n| world.notification(&format!("{run}-{n}"), &[&one, &two], n))
        .collect();
    let started = Instant::now();
    let posting = deliver_all(
        vec![a.url.clone(), b.url.clone()],
        bodies,
        8,
        Some(3),
        Duration::from_millis(300),
        Instant::now() + Duration::from_secs(300),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(posting.unfinished, 0, "{posting:?}");
    let all = records(&b.url, &token).await;
    let mine = ours(&all, &run);
    let by_outcome = outcomes(&mine.iter().map(|r| (*r).clone()).collect::<Vec<_>>());
    let sends = Sends::of(&moto, &run).await;
    let mailboxes = ["ann@owners.example", "cat@owners.example", "bob@owners.example"];
    println!(
        "{}",
        json!({
            "run": "two servers, one DynamoDB",
            "messages": count,
            "recipients_per_message": 2,
            "copies_per_message": 3,
            "posts": posting.posts,
            "answers": posting.statuses,
            "records": mine.len(),
            "records_by_outcome": by_outcome,
            "sends": sends.total(),
            "duplicates": sends.duplicates(),
            "seconds": took.as_secs_f64(),
        })
    );
    assert_eq!(mine.len(), count * 3, "one record per copy");
    assert_eq!(by_outcome.get("forwarded"), Some(&(count * 3)), "{by_outcome:?}");
    assert_eq!(sends.missing(&run, count, &mailboxes), Vec::<String>::new());
    assert_eq!(sends.duplicates(), 0, "{:?}", sends.per);
    assert!(
        posting.statuses.get(&503).copied().unwrap_or(0) > 0 || count < 30,
        "the redeliveries met claims in progress at least once: {posting:?}"
    );

    // Catch-all switched on through A is honoured by B from its next message: settings are
    // read from the store for each message, not cached.
    let stray = format!("nobody-{run}@{DOMAIN}");
    let post = |url: String, body: String| async move {
        let r = common::client()
            .post(format!("{url}/sns"))
            .header("content-type", "text/plain; charset=UTF-8")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        (status, body["recipients"][0]["outcome"].clone())
    };
    let before = world.notification(&format!("{run}-stray-1"), &[&stray], 0);
    assert_eq!(post(b.url.clone(), before).await, (200, json!("undeliverable")));
    let r = common::client()
        .patch(format!("{}/api/v1/settings", a.url))
        .bearer_auth(&token)
        .json(&json!({"catch_all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let after = world.notification(&format!("{run}-stray-2"), &[&stray], 1);
    assert_eq!(post(b.url.clone(), after).await, (200, json!("forwarded")));
    let sends = Sends::of(&moto, &run).await;
    assert_eq!(
        sends.per.get(&(format!("{run}-stray-2"), ADMIN.to_string())),
        Some(&1),
        "catch-all mail goes to the admin"
    );

    // Retention on both: restarted with a day's retention, both purge at start (the records
    // were received on 2 December 2026), and between them delete each record once.
    let total = records(&b.url, &token).await.len();
    let (mut a, mut b) = (a, b);
    a.terminate();
    b.terminate();
    a.exited(Duration::from_secs(30)).await;
    b.exited(Duration::from_secs(30)).await;
    let short = [("MAILVEND_RETENTION_DAYS", "1"), ("MAILVEND_SNS_MAX_AGE", "1h")];
    let (a, b) = tokio::join!(world.serve("a", a.port, &short), world.serve("b", b.port, &short));
    let purged = |node: &fleet::Node| -> Option<u64> {
        node.logged("retention: purged old message records")
            .first()
            .and_then(|f| f["purged"].as_u64())
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(a.logged("retention: purged old message records").len()
        + a.logged("retention: nothing to purge").len()
        > 0
        && b.logged("retention: purged old message records").len()
            + b.logged("retention: nothing to purge").len()
            > 0)
    {
        assert!(Instant::now() < deadline, "both servers purge at start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (from_a, from_b) = (purged(&a).unwrap_or(0), purged(&b).unwrap_or(0));
    println!(
        "{}",
        json!({"run": "retention on two servers", "records": total, "purged_by_a": from_a, "purged_by_b": from_b})
    );
    assert_eq!(from_a + from_b, total as u64, "each record deleted once");
    assert_eq!(records(&a.url, &token).await.len(), 0);
}
