//! Replays the committed fuzz corpus (fuzz/corpus, grown by `make fuzz`) through the same
//! checks the fuzz targets make, so every input that ever found new behaviour stays a test.

use std::path::{Path, PathBuf};

use server::testing::oracles;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = root().join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: corpus too small", dir.display());
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Runs `check` on every input, naming the input that fails.
fn replay(target: &str, check: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    for (name, data) in inputs(target) {
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("fuzz corpus input {name} fails the {target} checks");
        }
    }
}

#[test]
fn rewrite_corpus() {
    replay("rewrite", oracles::rewrite);
}

#[test]
fn ses_notification_corpus() {
    // libFuzzer hands the target only inputs that are UTF-8; the same here.
    replay("ses_notification", |data| {
        if let Ok(text) = std::str::from_utf8(data) {
            oracles::ses_notification(text);
        }
    });
}

#[test]
fn sns_envelope_corpus() {
    let fixtures = root().join("server/tests/fixtures/sns-aws-signed");
    let cert = std::fs::read(
        fixtures.join("SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"),
    )
    .unwrap();
    let signed: Vec<Vec<u8>> = [
        "notification-no-subject-v1.json",
        "notification-v2.json",
        "notification-with-subject-v1.json",
        "subscription-confirmation-v1.json",
        "unsubscribe-confirmation-v2.json",
    ]
    .iter()
    .map(|f| std::fs::read(fixtures.join(f)).unwrap())
    .collect();
    let refs: Vec<&[u8]> = signed.iter().map(Vec::as_slice).collect();
    let strings = oracles::canonical_strings(&refs);
    // The seeds themselves verify, so the check's "verified" branch is exercised too.
    for seed in &refs {
        let env = server::inbound::sns::parse(seed).unwrap();
        assert!(server::inbound::sns::verify(&env, &cert, oracles::signing_time()).is_ok());
        oracles::sns_envelope(seed, &cert, &strings);
    }
    replay("sns_envelope", |data| {
        oracles::sns_envelope(data, &cert, &strings)
    });
}
