//! Helpers for tests that need real services.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::Rng;

use crate::mailer::{Mailer, Outgoing, SendError};

mod faulty_store;
pub use faulty_store::FaultyStore;

/// The repository root (where `scripts/bootstrap.sh test` puts the test services).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `command` in the background under a small shell that stops it once this test
/// process is gone, so no test run leaves a server behind.
fn keep_until_exit(command: &[&str]) {
    let child = std::process::Command::new("sh")
        .args([
            "-c",
            "\"$@\" >/dev/null 2>&1 & m=$!; \
             while kill -0 \"$PPID\" 2>/dev/null; do sleep 1; done; kill \"$m\"",
            "watchdog",
        ])
        .args(command)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start a test service");
    // Owned for the life of the process; it ends itself when the process does.
    static CHILDREN: std::sync::Mutex<Vec<std::process::Child>> = std::sync::Mutex::new(Vec::new());
    CHILDREN.lock().unwrap().push(child);
}

/// Waits until something listens on `port`.
pub async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} did not start on port {port}");
}

/// An aiosmtpd sink (scripts/smtp_sink.py) writing what it receives into `dir`; its port.
pub async fn smtp_sink(dir: &Path) -> u16 {
    let python = root().join(".venv-moto/bin/python");
    assert!(
        root().join(".venv-moto/bin/aiosmtpd").exists(),
        "aiosmtpd is missing: run `scripts/bootstrap.sh test` (make test does)"
    );
    let port = free_port();
    keep_until_exit(&[
        python.to_str().unwrap(),
        root().join("scripts/smtp_sink.py").to_str().unwrap(),
        "127.0.0.1",
        &port.to_string(),
        dir.to_str().unwrap(),
    ]);
    wait_for_port(port, "the SMTP sink").await;
    port
}

/// The outbox in `dir`: (metadata, message bytes) per message, oldest first.
pub fn outbox(dir: &Path) -> Vec<(serde_json::Value, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| {
            let meta = std::fs::read(dir.join(n)).unwrap();
            let eml = std::fs::read(dir.join(n.replace(".json", ".eml"))).unwrap();
            (serde_json::from_slice(&meta).unwrap(), eml)
        })
        .collect()
}

/// Fails sends the way a throttled or unreachable mailer does, then passes the rest on to
/// the outbox.
pub struct Faulty {
    inner: crate::mailer::outbox::Outbox,
    pub mode: Mutex<Fault>,
    pub sends: AtomicU32,
    /// Once set, every send goes through.
    pub healthy: AtomicBool,
}

pub enum Fault {
    /// The first `n` sends fail transiently.
    FirstTransient(u32),
    Permanent,
    /// Each send fails transiently with this probability (seeded, so a failure replays).
    Random(Box<rand::rngs::StdRng>, f64),
}

impl Faulty {
    pub fn new(dir: &Path, mode: Fault) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner: crate::mailer::outbox::Outbox::new(dir),
            mode: Mutex::new(mode),
            sends: AtomicU32::new(0),
            healthy: AtomicBool::new(false),
        })
    }
}

#[async_trait]
impl Mailer for Faulty {
    async fn send(&self, msg: &Outgoing) -> Result<String, SendError> {
        let n = self.sends.fetch_add(1, Ordering::SeqCst);
        if !self.healthy.load(Ordering::SeqCst) {
            let fail = match &mut *self.mode.lock().unwrap() {
                Fault::FirstTransient(k) => {
                    (n < *k).then(|| SendError::Transient("throttled".into()))
                }
                Fault::Permanent => Some(SendError::Permanent("MessageRejected: no".into())),
                Fault::Random(rng, p) => rng
                    .random_bool(*p)
                    .then(|| SendError::Transient("throttled".into())),
            };
            if let Some(e) = fail {
                return Err(e);
            }
        }
        self.inner.send(msg).await
    }
}

pub mod moto {
    /// A moto server for this test process, started on first use from the venv that
    /// `scripts/bootstrap.sh test` makes (or `MAILVEND_TEST_MOTO_URL`).
    pub async fn endpoint() -> String {
        static ENDPOINT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        ENDPOINT
            .get_or_init(|| async {
                if let Ok(url) = std::env::var("MAILVEND_TEST_MOTO_URL") {
                    return url;
                }
                let bin = super::root().join(".venv-moto/bin/moto_server");
                assert!(
                    bin.exists(),
                    "{} is missing: run `scripts/bootstrap.sh test` (make test does) to install the moto server",
                    bin.display()
                );
                let port = super::free_port();
                super::keep_until_exit(&[
                    bin.to_str().unwrap(),
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ]);
                super::wait_for_port(port, "moto_server").await;
                format!("http://127.0.0.1:{port}")
            })
            .await
            .clone()
    }

    /// The raw messages moto's SES "sent", as moto reports them (`raw_data`, `destinations`).
    pub async fn sent_raw(endpoint: &str) -> Vec<serde_json::Value> {
        let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// SDK configuration pointing at moto, and moto's URL.
    pub async fn sdk_config() -> (aws_config::SdkConfig, String) {
        let endpoint = endpoint().await;
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await;
        (config, endpoint)
    }
}
