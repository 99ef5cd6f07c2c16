//! The properties the fuzz targets (fuzz/) check on each input, kept here so `cargo test`
//! replays the committed fuzz corpus through exactly the same checks (tests/fuzz_corpus.rs).
//! Each panics on a violation, which is what libFuzzer reports as a crash.

use std::time::{Duration, SystemTime};

use crate::inbound::rewrite::{
    body_of, header, header_block, headers, rewrite as rewrite_message, RewriteConfig,
};
use crate::inbound::{ses, sns};

/// The header rewrite on arbitrary bytes: never panics, never touches the body, and always
/// leaves exactly one From field with exactly one mailbox, ours; the original recipient
/// recorded; and no bare CR or NUL in the header block (issue 22 item 6).
pub fn rewrite(raw: &[u8]) {
    let cfg = RewriteConfig {
        from_address: "forwarder@aws.example.com",
        processed_by: "mailvend",
        loop_mark: "0123456789abcdef0123456789abcdef",
        authserv_id: "aws.example.com",
        authentication: Some("spf=pass (Amazon SES)"),
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
    let froms = headers(&out, "from");
    assert_eq!(froms.len(), 1, "not exactly one From field: {froms:?}");
    assert_eq!(
        mailbox_count(&from),
        1,
        "the From holds more than one mailbox: {:?}",
        String::from_utf8_lossy(&from)
    );
    let block = header_block(&out);
    for (i, &b) in block.iter().enumerate() {
        assert!(b != 0, "a NUL survived in the header block at {i}");
        assert!(
            b != b'\r' || block.get(i + 1) == Some(&b'\n'),
            "a bare CR survived in the header block at {i}"
        );
    }
}

/// How many mailboxes an address-list value names (RFC 5322 §3.4): its elements separated
/// by commas outside quoted strings, comments and angle brackets, where an element with
/// more than one angle-addr counts each of them (groups are not valid in a From).
pub fn mailbox_count(value: &[u8]) -> usize {
    let (mut count, mut angles, mut content) = (0, 0, false);
    let (mut quoted, mut escaped, mut comment, mut angle) = (false, false, 0u32, false);
    let mut end_element = |angles: &mut usize, content: &mut bool| {
        if *content {
            count += (*angles).max(1);
        }
        *angles = 0;
        *content = false;
    };
    for &b in value {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted || comment > 0 => escaped = true,
            b'"' if comment == 0 => {
                quoted = !quoted;
                content = true;
            }
            _ if quoted => {}
            b'(' => comment += 1,
            b')' if comment > 0 => comment -= 1,
            _ if comment > 0 => {}
            b'<' if !angle => {
                angle = true;
                angles += 1;
                content = true;
            }
            b'>' if angle => angle = false,
            b',' if !angle => end_element(&mut angles, &mut content),
            b if !b.is_ascii_whitespace() => content = true,
            _ => {}
        }
    }
    end_element(&mut angles, &mut content);
    count
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

#[cfg(test)]
mod tests {
    #[test]
    fn mailbox_count_sees_every_smuggled_mailbox() {
        for (value, want) in [
            ("a@b.example", 1),
            ("\"Doe, Jane\" <jane@b.example>", 1),
            ("\"Say \\\"hi, <x>\\\"\" <a@b.example>", 1),
            ("Jane (Doe, <x>) <jane@b.example>", 1),
            (
                "=?x?= <ceo@corp.example>, M via mailvend <f@aws.example>",
                2,
            ),
            ("a <a@b.example> b <c@d.example>", 2),
            ("a@b.example, c@d.example, e@f.example", 3),
            ("", 0),
        ] {
            assert_eq!(super::mailbox_count(value.as_bytes()), want, "{value}");
        }
    }
}
