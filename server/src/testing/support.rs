//! Helpers for tests that need real services: ports, the moto server, an SMTP sink, and the
//! sink's outbox reader.

use std::path::{Path, PathBuf};

/// The repository root (where `scripts/bootstrap.sh test` puts the test services).
pub(super) fn root() -> PathBuf {
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
pub(super) fn keep_until_exit(command: &[&str]) {
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

/// A certificate for `key` naming `name` (its one subject alternative name and its common
/// name), issued by a throwaway CA whose organization is `issuer_org`: what SNS's look like
/// to the identity check, without Amazon's keys.
pub fn sns_cert(key: &rcgen::KeyPair, name: &str, issuer_org: &str) -> rcgen::Certificate {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(rcgen::DnType::OrganizationName, issuer_org);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "mailvend test CA");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let mut leaf = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, name);
    leaf.signed_by(key, &issuer).unwrap()
}
