//! Real `mailvend` processes for the tests of several servers, crashes and restarts: each
//! server a child process on its own port, the moto server (DynamoDB, SES) a child too, and a
//! sender that posts signed notifications the way SNS does (retrying until a 2xx, each retry
//! through the load balancer, so to any server).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::sns::{self, Content, Signer};

pub const DOMAIN: &str = "mail.test.example";
pub const LOGIN_TOKEN: &str = "fleet-local-login-token-0123456789abcdef";
pub const FROM: &str = "forwarder@mail.test.example";
pub const ADMIN: &str = "ops@admins.example";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A child process that is killed (if still running) when dropped, so no test leaves one.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The SMTP sink (scripts/smtp_sink.py) on a free port, writing into `dir`, answering each
/// message `delay` after its data arrives; its port.
pub async fn smtp_sink(dir: &Path, delay: Duration) -> (Proc, u16) {
    let python = repo().join(".venv-moto/bin/python");
    assert!(
        repo().join(".venv-moto/bin/aiosmtpd").exists(),
        "aiosmtpd is missing: run `scripts/bootstrap.sh test` (make test does)"
    );
    let port = super::free_port();
    let child = Command::new(python)
        .arg(repo().join("scripts/smtp_sink.py"))
        .args(["127.0.0.1", &port.to_string()])
        .arg(dir)
        .arg(delay.as_secs_f64().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    wait_for_port(port, "the SMTP sink").await;
    (proc, port)
}

/// For each message tag (`Load <tag>` subjects), the files in `dir` (an outbox or the SMTP
/// sink's directory) that carry it.
pub fn delivered_files(dir: &Path) -> BTreeMap<String, usize> {
    let mut tags = BTreeMap::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().extension().is_some_and(|x| x == "eml") {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            if let Some(tag) = text.lines().find_map(|l| l.strip_prefix("Subject: Load ")) {
                *tags.entry(tag.trim().to_string()).or_default() += 1;
            }
        }
    }
    tags
}

pub async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not start on port {port}");
}

/// A moto server of this test's own (DynamoDB and SES), and the SDK settings for it.
pub struct Moto {
    _proc: Proc,
    pub url: String,
}

impl Moto {
    pub async fn start() -> Moto {
        let bin = repo().join(".venv-moto/bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: run `scripts/bootstrap.sh test` (make test does)",
            bin.display()
        );
        let port = super::free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let proc = Proc(child);
        wait_for_port(port, "moto_server").await;
        Moto {
            _proc: proc,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The variables that point the AWS SDK of a `mailvend` process here.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    }

    /// Makes `FROM` a verified SES identity, as sending needs (in AWS as on moto).
    pub async fn verify_sender(&self) {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await;
        aws_sdk_sesv2::Client::new(&config)
            .create_email_identity()
            .email_identity(FROM)
            .send()
            .await
            .unwrap();
    }

    /// What moto's SES sent: for each message tag (`Load <tag>` subjects), how many copies
    /// went to each mailbox off the served domain.
    pub async fn sends(&self) -> BTreeMap<(String, String), usize> {
        // moto builds this dump from live state and now and then fails (a 500) when it is
        // asked while sends are being recorded: ask again.
        let mut data = Value::Null;
        for _ in 0..20 {
            let answer = reqwest::get(format!("{}/moto-api/data.json", self.url)).await;
            if let Ok(Ok(v)) = answer.map(|r| r.error_for_status()) {
                if let Ok(v) = v.json::<Value>().await {
                    data = v;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!data.is_null(), "moto's data.json never answered");
        let mut sends = BTreeMap::new();
        for m in data["ses"]["RawMessage"].as_array().into_iter().flatten() {
            let raw = m["raw_data"].as_str().unwrap_or_default();
            let Some(tag) = raw
                .lines()
                .find_map(|l| l.strip_prefix("Subject: Load "))
                .map(|t| t.trim().to_string())
            else {
                continue;
            };
            // moto lists the To header's addresses (ours, on the domain) with the envelope's.
            let mut to: Vec<&str> = m["destinations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|d| !d.ends_with(&format!("@{DOMAIN}")))
                .collect();
            to.sort();
            to.dedup();
            for d in to {
                *sends.entry((tag.clone(), d.to_string())).or_default() += 1;
            }
        }
        sends
    }
}

/// An organization of its own in a moto server of its own (moto keeps one per account).
pub async fn moto_organization(moto: &Moto) -> aws_sdk_organizations::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&moto.url)
        .credentials_provider(aws_sdk_organizations::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let client = aws_sdk_organizations::Client::new(&config);
    client
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    client
}

/// Creates an account in moto's organization (synchronous there) and answers its id.
pub async fn create_account(
    org: &aws_sdk_organizations::Client,
    name: &str,
    email: &str,
) -> String {
    let out = org
        .create_account()
        .account_name(name)
        .email(email)
        .send()
        .await
        .unwrap();
    out.create_account_status()
        .and_then(|s| s.account_id())
        .expect("moto creates accounts at once")
        .to_string()
}

/// The files and settings every server of one test shares.
pub struct World {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
    pub signer: Arc<Signer>,
}

impl World {
    /// Servers on `store` sending with `mailer`, trusting a certificate made here; `extra`
    /// adds or overrides variables. `{dir}` in `store` and `mailer` is the world's directory.
    pub fn new(store: &str, mailer: &str, extra: Vec<(String, String)>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().display().to_string();
        let (store, mailer) = (
            store.replace("{dir}", &here),
            mailer.replace("{dir}", &here),
        );
        let certs = dir.path().join("certs");
        sns::make_cert(&certs);
        let mut env: BTreeMap<String, String> = [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("MAILVEND_DOMAIN", DOMAIN.into()),
            ("MAILVEND_STORE", store),
            ("MAILVEND_MAILER", mailer),
            ("MAILVEND_ADMIN_ADDRESS", ADMIN.into()),
            ("MAILVEND_SNS_TOPIC_ARNS", sns::TOPIC.into()),
            ("MAILVEND_SNS_CERT_DIR", certs.display().to_string()),
            ("MAILVEND_LOCAL_LOGIN_TOKEN", LOGIN_TOKEN.into()),
            // The same key on every server, as docs/deployment.md asks.
            (
                "MAILVEND_LOOP_KEY",
                "fleet-loop-key-0123456789abcdefghijkl".into(),
            ),
            ("MAILVEND_RATE_LIMIT", "100000".into()),
            ("MAILVEND_LOG_FORMAT", "json".into()),
            // The retention task says at debug level that it found nothing to purge.
            ("RUST_LOG", "info,server::store::retention=debug".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.extend(extra);
        World {
            signer: Arc::new(Signer::load(&certs)),
            dir,
            env: env.into_iter().collect(),
        }
    }

    /// Runs a `mailvend` command to its end.
    pub fn command(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new(env!("CARGO_BIN_EXE_mailvend"))
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mailvend {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A new admin token, made at the console.
    pub fn token(&self) -> String {
        let out = self.command(&["token", "create", "--name", "fleet", "--scope", "admin"]);
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// `mailvend serve` on `port` (0: any free one), with `extra` variables; its log is
    /// `<name>.log` in the world's directory (appended to across restarts).
    pub async fn serve(&self, name: &str, port: u16, extra: &[(&str, &str)]) -> Node {
        let port = if port == 0 { super::free_port() } else { port };
        let log_path = self.dir.path().join(format!("{name}.log"));
        let since = std::fs::metadata(&log_path).map_or(0, |m| m.len() as usize);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mailvend"))
            .arg("serve")
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().copied())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let node = Node {
            proc: Some(Proc(child)),
            url: format!("http://127.0.0.1:{port}"),
            port,
            log: log_path,
            since,
            name: name.to_string(),
        };
        let http = super::client();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", node.url)).send().await {
                if r.status() == 200 {
                    return node;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{name} did not become healthy: {}",
                node.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A signed notification of message `tag` for `recipients`, with a plain-text body.
    pub fn notification(&self, tag: &str, recipients: &[&str], n: usize) -> String {
        let raw = sns::raw_message(tag, recipients[0], 2_000);
        self.signer.notification(
            &sns::ses_notification(tag, recipients, Content::Inline(&raw)),
            n,
        )
    }
}

/// One running `mailvend serve`.
pub struct Node {
    proc: Option<Proc>,
    pub url: String,
    pub port: u16,
    pub log: PathBuf,
    /// Where this run's lines begin in the log (a restart appends).
    since: usize,
    pub name: String,
}

impl Node {
    pub fn pid(&self) -> u32 {
        self.proc.as_ref().expect("running").0.id()
    }

    /// `kill -9`: no drain, no cleanup, as an out-of-memory kill.
    pub fn kill9(&mut self) {
        let mut proc = self.proc.take().expect("running");
        proc.0.kill().unwrap();
        proc.0.wait().unwrap();
    }

    /// SIGTERM, as a container runtime stops a task.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `within` for the process to end; its exit status and how long it took.
    pub async fn exited(&mut self, within: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let mut proc = self.proc.take().expect("running");
        loop {
            if let Some(status) = proc.0.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < within,
                "{} still running after {within:?}: {}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What this run of the server logged.
    pub fn log_text(&self) -> String {
        let all = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(all.get(self.since..).unwrap_or_default()).into_owned()
    }

    /// The JSON log lines whose message is `message` (their fields are beside it).
    pub fn logged(&self, message: &str) -> Vec<Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["message"] == message)
            .collect()
    }
}

/// What the SNS-like sender saw.
#[derive(Debug, Default, Clone)]
pub struct Posting {
    /// Posts made, first ones and retries.
    pub posts: usize,
    /// Answers by status (0: no answer, the connection failed).
    pub statuses: BTreeMap<u16, usize>,
    /// Notifications that never got a 2xx before the deadline.
    pub unfinished: usize,
}

impl Posting {
    fn merge(&mut self, other: Posting) {
        self.posts += other.posts;
        self.unfinished += other.unfinished;
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
    }
}

/// A client signed in as the admin on the server at `url` (the local-mode link), whose
/// cookie jar then serves any server on this host.
pub async fn signed_in(url: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let r = client
        .get(format!("{url}/auth/local?token={LOGIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "local sign-in on {url}");
    client
}

/// `body` posted to the `/sns` of the server at `url`, as SNS posts a notification.
pub fn sns_post(
    http: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    http.post(format!("{url}/sns"))
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(body)
}

/// Posts one notification once: the answer's status and its first recipient's outcome.
pub async fn post_once(url: String, body: String) -> (u16, Value) {
    let r = sns_post(&super::client(), &url, body).send().await.unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap();
    (status, answer["recipients"][0]["outcome"].clone())
}

/// Posts `body` as SNS does until a 2xx: first to `urls[first]`, each retry (after `pause`)
/// to the next server, as the load balancer spreads them; gives up at `deadline`.
pub async fn deliver(
    http: &reqwest::Client,
    urls: &[String],
    first: usize,
    body: &str,
    pause: Duration,
    deadline: Instant,
) -> Posting {
    let mut posting = Posting::default();
    let mut i = first;
    loop {
        posting.posts += 1;
        let status = sns_post(http, &urls[i % urls.len()], body.to_string())
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        *posting.statuses.entry(status).or_default() += 1;
        if (200..300).contains(&status) {
            return posting;
        }
        if Instant::now() + pause > deadline {
            posting.unfinished += 1;
            return posting;
        }
        tokio::time::sleep(pause).await;
        i += 1;
    }
}

/// Delivers every body with `concurrency` at once, spread over `urls`; every `redeliver`-th
/// is also delivered at the same moment to the next server (SNS delivers at least once).
pub async fn deliver_all(
    urls: Vec<String>,
    bodies: Vec<String>,
    concurrency: usize,
    redeliver: Option<usize>,
    pause: Duration,
    deadline: Instant,
) -> Posting {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let urls = Arc::new(urls);
    let mut tasks = tokio::task::JoinSet::new();
    for (n, body) in bodies.into_iter().enumerate() {
        let copies = if redeliver.is_some_and(|k| n % k == 0) {
            2
        } else {
            1
        };
        for copy in 0..copies {
            let permit = slots.clone().acquire_owned().await.unwrap();
            let (http, urls, body) = (http.clone(), urls.clone(), body.clone());
            tasks.spawn(async move {
                let posting = deliver(&http, &urls, n + copy, &body, pause, deadline).await;
                drop(permit);
                posting
            });
        }
    }
    let mut all = Posting::default();
    while let Some(p) = tasks.join_next().await {
        all.merge(p.unwrap());
    }
    all
}

/// Every message record, read through the API of the server at `url`.
pub async fn records(url: &str, token: &str) -> Vec<Value> {
    let http = super::client();
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = http
            .get(format!("{url}/api/v1/messages"))
            .bearer_auth(token)
            .query(&[("limit", "500")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let page: Value = req.send().await.unwrap().json().await.unwrap();
        all.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
}

/// Records by outcome.
pub fn outcomes(records: &[Value]) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for r in records {
        *by.entry(r["outcome"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    by
}

/// Vends a mapping named `name` for `owner` (and `recipients`) through `url`'s API.
pub async fn vend(url: &str, token: &str, name: &str, owner: &str, recipients: &[&str]) -> String {
    let r = super::client()
        .post(format!("{url}/api/v1/addresses"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "address": format!("{name}@{DOMAIN}"),
            "account_name": name,
            "owner": owner,
            "recipients": recipients,
            "account_type": "IT",
        }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "vend {name}: {body}");
    body["address"].as_str().unwrap().to_string()
}

/// A pass-through proxy in front of moto that counts the AWS calls made through it, by
/// service and operation (`dynamodb Query`, `ses POST /v2/email/outbound-emails`): what a
/// request costs, measured on the real client code. It can also hold each SES send's answer
/// back after moto took the send, widening the window in which a server has sent a copy and
/// not yet recorded it.
pub struct CallCounter {
    pub url: String,
    counts: Arc<std::sync::Mutex<BTreeMap<String, usize>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl CallCounter {
    pub async fn start(upstream: &str) -> CallCounter {
        Self::start_with(upstream, Duration::ZERO).await
    }

    /// Like `start`, answering each SES send `hold` after moto took it.
    pub async fn start_with(upstream: &str, hold: Duration) -> CallCounter {
        use axum::body::{to_bytes, Body};
        use axum::extract::{Request, State};
        use axum::response::Response;

        type Shared = (
            String,
            reqwest::Client,
            Arc<std::sync::Mutex<BTreeMap<String, usize>>>,
            Duration,
        );
        async fn pass(
            State((upstream, http, counts, hold)): State<Shared>,
            req: Request,
        ) -> Response {
            let (parts, body) = req.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap();
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            // The service is in the signature's credential scope: <key>/<date>/<region>/<service>/.
            let auth = header("authorization");
            let service = auth.split('/').nth(3).unwrap_or("?").to_string();
            let op = match header("x-amz-target").rsplit_once('.') {
                Some((_, op)) => op.to_string(),
                None => {
                    let path: Vec<&str> = parts.uri.path().split('/').take(4).collect();
                    format!("{} {}", parts.method, path.join("/"))
                }
            };
            *counts
                .lock()
                .unwrap()
                .entry(format!("{service} {op}"))
                .or_default() += 1;
            let mut out = http.request(
                parts.method.clone(),
                format!("{upstream}{}", parts.uri.path_and_query().unwrap()),
            );
            for (k, v) in &parts.headers {
                if k != "host" {
                    out = out.header(k, v);
                }
            }
            let answer = out.body(body).send().await.unwrap();
            if op.ends_with("/outbound-emails") {
                tokio::time::sleep(hold).await;
            }
            let mut response = Response::builder().status(answer.status());
            for (k, v) in answer.headers() {
                if k != "transfer-encoding" && k != "content-length" {
                    response = response.header(k, v);
                }
            }
            response
                .body(Body::from(answer.bytes().await.unwrap()))
                .unwrap()
        }

        let counts = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let app = axum::Router::new().fallback(pass).with_state((
            upstream.to_string(),
            reqwest::Client::new(),
            counts.clone(),
            hold,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        CallCounter {
            url,
            counts,
            _task: task,
        }
    }

    /// The calls counted since the last `take`, and a fresh count.
    pub fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.counts.lock().unwrap())
    }
}
