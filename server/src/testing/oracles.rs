//! The properties the fuzz targets (fuzz/) check on each input, kept here so `cargo test`
//! replays the committed fuzz corpus through exactly the same checks (tests/fuzz_corpus.rs).
//! Each panics on a violation, which is what libFuzzer reports as a crash.

use std::time::{Duration, SystemTime};

use crate::inbound::rewrite::{body_of, header, rewrite as rewrite_message, RewriteConfig};
use crate::inbound::{ses, sns};

/// The header rewrite on arbitrary bytes: never panics, never touches the body, and always
/// leaves a From that is ours and the original recipient recorded.
pub fn rewrite(raw: &[u8]) {
    let cfg = RewriteConfig {
        from_address: "forwarder@aws.example.com",
        processed_by: "mailvend",
    };
    let tag = (raw.len() & 1 == 0).then_some("[SPAM]");
    let out = rewrite_message(
        raw,
        "team-prod-001@aws.example.com",
        "bounce@sender.example",
        tag,
        &cfg,
    );
    assert_eq!(body_of(&out), body_of(raw), "body bytes changed");
    let from = header(&out, "from").expect("a From header");
    assert!(
        String::from_utf8_lossy(&from).contains("forwarder@aws.example.com"),
        "From is not ours: {:?}",
        String::from_utf8_lossy(&from)
    );
    assert!(
        header(&out, "x-original-to").is_some(),
        "X-Original-To missing"
    );
}

/// What `POST /sns` does to a body before trusting it: parse the envelope, build the
/// canonical string, check the certificate URL, verify the signature with `cert_pem`.
/// Arbitrary bytes come back as an error, never a panic; a body that verifies must carry
/// exactly what was signed in one of `signed` (unsigned fields and JSON spelling may differ,
/// the signed content may not).
pub fn sns_envelope(body: &[u8], cert_pem: &[u8], signed: &[String]) {
    let Ok(env) = sns::parse(body) else { return };
    let canonical = sns::canonical_string(&env);
    let _ = sns::is_sns_url(&env.signing_cert_url);
    let _ = sns::cert_file_name(&env.signing_cert_url);
    if sns::verify(&env, cert_pem, signing_time()).is_ok() {
        let canonical = canonical.expect("a verified message has a canonical string");
        assert!(
            signed.contains(&canonical),
            "a message that was not signed verified:\n{canonical}"
        );
    }
}

/// 2026-06-01, within the fixtures' certificate validity, so only the signature decides.
pub fn signing_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_272_000)
}

/// The canonical strings of messages known to be signed (the fixtures), for `sns_envelope`.
pub fn canonical_strings(messages: &[&[u8]]) -> Vec<String> {
    messages
        .iter()
        .map(|b| sns::canonical_string(&sns::parse(b).expect("a fixture parses")).unwrap())
        .collect()
}

/// The SES receipt notification parser on arbitrary text: an error, never a panic; what it
/// accepts has the id the pipeline keys on.
pub fn ses_notification(message: &str) {
    if let Ok(received) = ses::parse(message) {
        assert!(
            !received.message_id.is_empty(),
            "accepted an empty message id"
        );
        let _ = received.verdicts.summary();
    }
}
