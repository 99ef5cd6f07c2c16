use super::*;

const CFG: RewriteConfig = RewriteConfig {
    from_address: "forwarder@mail.example.com",
    processed_by: "mailvend",
    loop_mark: "00112233445566778899aabbccddeeff",
    authserv_id: "mail.example.com",
    authentication: None,
};

fn run(raw: &[u8]) -> Vec<u8> {
    rewrite(
        raw,
        "team-app-prod-001@mail.example.com",
        "bounce@sender.example",
        None,
        &CFG,
    )
}

fn run_tagged(raw: &[u8]) -> Vec<u8> {
    rewrite(
        raw,
        "team-app-prod-001@mail.example.com",
        "bounce@sender.example",
        Some("[SPAM]"),
        &CFG,
    )
}

/// The header lines of a rewritten message, unfolded, as text (tests use ASCII headers).
fn headers(out: &[u8]) -> Vec<String> {
    let (fields, _) = split(out);
    fields
        .iter()
        .map(|f| {
            String::from_utf8_lossy(trim_line_end(f.raw))
                .replace("\r\n", "")
                .replace('\n', "")
        })
        .collect()
}

fn header<'a>(hs: &'a [String], name: &str) -> Vec<&'a str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    hs.iter()
        .filter(|h| h.to_ascii_lowercase().starts_with(&prefix))
        .map(|h| h[prefix.len()..].trim())
        .collect()
}

#[test]
fn from_becomes_the_forwarder_with_the_senders_name() {
    for (from, want) in [
        (
            "\"Jane Doe\" <jane@example.org>",
            "\"Jane Doe via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "Jane Doe <jane@example.org>",
            "Jane Doe via mailvend <forwarder@mail.example.com>",
        ),
        (
            "jane@example.org",
            "\"jane@example.org via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "<jane@example.org>",
            "\"jane@example.org via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "jane@example.org (Jane Doe)",
            "Jane Doe via mailvend <forwarder@mail.example.com>",
        ),
        (
            "\"Doe, Jane\" <jane@example.org>",
            "\"Doe, Jane via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "Doe, Jane <jane@example.org>",
            "\"Doe, Jane via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "\"Say \\\"hi\\\"\" <a@example.org>",
            "\"Say \\\"hi\\\" via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@example.de>",
            "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= via mailvend <forwarder@mail.example.com>",
        ),
        (
            "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>",
            "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= via mailvend <forwarder@mail.example.com>",
        ),
    ] {
        let raw = format!("From: {from}\r\nTo: x@mail.example.com\r\nSubject: s\r\n\r\nbody\r\n");
        let out = run(raw.as_bytes());
        let hs = headers(&out);
        assert_eq!(header(&hs, "From"), vec![want], "{from}");
        assert_eq!(header(&hs, "X-Original-From"), vec![from], "{from}");
        assert_eq!(
            header(&hs, "Reply-To"),
            vec![from],
            "Reply-To is set to the original From"
        );
    }
}

#[test]
fn reply_to_is_kept_when_present() {
    let raw = b"From: a@example.org\r\nReply-To: list@example.org\r\n\r\nb";
    let hs = headers(&run(raw));
    assert_eq!(header(&hs, "Reply-To"), vec!["list@example.org"]);
}

#[test]
fn removed_and_added_headers() {
    let raw = b"Return-Path: <bounce@x.org>\r\nDKIM-Signature: v=1; a=rsa-sha256;\r\n b=abc\r\nFrom: a@example.org\r\n\
Sender: s@x.org\r\nMessage-ID: <1@x.org>\r\nDKIM-Signature: v=1; second\r\nX-Processed-By: forged\r\n\
X-Original-To: forged@x.org\r\nSubject: hi\r\n\r\nbody";
    let hs = headers(&run(raw));
    for gone in ["Return-Path", "Sender", "Message-ID", "DKIM-Signature"] {
        assert!(
            header(&hs, gone).is_empty(),
            "{gone} should be removed: {hs:?}"
        );
    }
    assert_eq!(header(&hs, "X-Processed-By"), vec!["mailvend"]);
    assert_eq!(
        header(&hs, "X-Original-To"),
        vec!["team-app-prod-001@mail.example.com"]
    );
    assert_eq!(header(&hs, "Subject"), vec!["hi"]);
}

#[test]
fn once_only_headers_appear_once() {
    let raw =
        b"From: a@example.org\r\nFrom: b@example.org\r\nSubject: first\r\nsubject: second\r\n\
To: t@x.org\r\nTo: u@x.org\r\nReceived: one\r\nReceived: two\r\n\r\nbody";
    let hs = headers(&run(raw));
    assert_eq!(header(&hs, "From").len(), 1);
    assert_eq!(header(&hs, "Subject"), vec!["first"]);
    assert_eq!(
        header(&hs, "To"),
        vec!["t@x.org, u@x.org"],
        "an address list is merged, not dropped"
    );
    assert_eq!(
        header(&hs, "Received"),
        vec!["one", "two"],
        "repeatable headers stay"
    );
    assert_eq!(header(&hs, "X-Original-From"), vec!["a@example.org"]);
}

#[test]
fn folded_and_encoded_headers_survive_byte_for_byte() {
    let subject: &[u8] =
        b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?=\r\n =?UTF-8?Q?_M=C3=BCnchen?=\r\n";
    let received: &[u8] = b"Received: from mx.example.org\r\n\tby inbound-smtp.amazonaws.com;\r\n\tTue, 1 Dec 2026 10:00:00 +0000\r\n";
    let mut raw = Vec::new();
    raw.extend_from_slice(received);
    raw.extend_from_slice(b"From: a@example.org\r\n");
    raw.extend_from_slice(subject);
    raw.extend_from_slice(b"\r\nbody");
    let out = run(&raw);
    assert!(out.windows(subject.len()).any(|w| w == subject));
    assert!(out.windows(received.len()).any(|w| w == received));
}

#[test]
fn a_folded_from_is_unfolded_for_the_name_and_kept_for_reply_to() {
    let raw = b"From: \"A very long display\r\n name\" <a@example.org>\r\n\r\nb";
    let out = run(raw);
    let hs = headers(&out);
    assert_eq!(
        header(&hs, "From"),
        vec!["\"A very long display name via mailvend\" <forwarder@mail.example.com>"]
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("Reply-To: \"A very long display\r\n name\" <a@example.org>\r\n"),
        "{text}"
    );
}

#[test]
fn bodies_are_untouched_in_any_encoding() {
    let bodies: Vec<Vec<u8>> = vec![
        b"plain text\r\n".to_vec(),
        // windows-1252 and raw 8-bit bytes that are not UTF-8.
        vec![0x93, b'q', b'u', b'o', b't', b'e', 0x94, b'\r', b'\n', 0xe9, 0xff, 0x00, b'\r', b'\n'],
        // ISO-2022-JP escape sequences.
        b"\x1b$B$3$s$K$A$O\x1b(B\r\n".to_vec(),
        // A MIME body whose parts have their own headers (which must not be touched).
        b"--b\r\nContent-Type: text/plain\r\nFrom: not-a-header-of-the-message\r\n\r\nhi\r\n--b--\r\n".to_vec(),
        // Bare LF line endings and a line of 2,000 characters.
        [b"a\nb\n".to_vec(), vec![b'x'; 2000], b"\n".to_vec()].concat(),
        Vec::new(),
    ];
    for eol in [&b"\r\n"[..], &b"\n"[..]] {
        for body in &bodies {
            let mut raw = Vec::new();
            for h in [
                &b"From: \"S\" <s@example.org>"[..],
                b"Subject: test",
                b"Content-Type: text/plain; charset=windows-1252",
            ] {
                raw.extend_from_slice(h);
                raw.extend_from_slice(eol);
            }
            raw.extend_from_slice(eol);
            raw.extend_from_slice(body);
            let out = run(&raw);
            assert_eq!(body_of(&out), &body[..], "body changed (eol {eol:?})");
            assert_eq!(body_of(&raw), &body[..]);
            // New headers use the message's own line ending.
            let head = &out[..out.len() - body.len()];
            if eol == b"\n" {
                assert!(
                    !head.windows(2).any(|w| w == b"\r\n"),
                    "{}",
                    String::from_utf8_lossy(head)
                );
            }
        }
    }
}

#[test]
fn a_message_without_from_uses_the_envelope_sender() {
    let hs = headers(&run(b"Subject: no from\r\n\r\nbody"));
    assert_eq!(
        header(&hs, "From"),
        vec!["\"bounce@sender.example via mailvend\" <forwarder@mail.example.com>"]
    );
    assert_eq!(header(&hs, "Reply-To"), vec!["bounce@sender.example"]);
    assert!(header(&hs, "X-Original-From").is_empty());
}

#[test]
fn headers_only_messages_and_junk_lines() {
    let out = run(b"From: a@example.org\r\nthis line has no colon\r\nSubject: s\r\n");
    let hs = headers(&out);
    assert!(!hs.iter().any(|h| h.contains("no colon")), "{hs:?}");
    assert_eq!(header(&hs, "Subject"), vec!["s"]);
    assert!(
        out.ends_with(b"\r\n\r\n"),
        "a header-only message still ends its header block"
    );
}

#[test]
fn the_spam_tag_goes_in_front_of_the_subject_once() {
    let hs = headers(&run_tagged(
        b"From: a@example.org\r\nSubject:  Cheap watches\r\n\r\nbody",
    ));
    assert_eq!(header(&hs, "Subject"), vec!["[SPAM] Cheap watches"]);
    // Encoded words and folding are kept behind the tag.
    let raw = b"From: a@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n =?UTF-8?Q?_aus_Wien?=\r\n\r\nb";
    let out = run_tagged(raw);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("Subject: [SPAM] =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n =?UTF-8?Q?_aus_Wien?=\r\n"),
        "{text}"
    );
    // Already tagged (a re-forward): not tagged twice.
    let hs = headers(&run_tagged(
        b"From: a@example.org\r\nSubject: [SPAM] again\r\n\r\nb",
    ));
    assert_eq!(header(&hs, "Subject"), vec!["[SPAM] again"]);
    // No subject at all: the tag becomes the subject.
    let hs = headers(&run_tagged(b"From: a@example.org\r\n\r\nb"));
    assert_eq!(header(&hs, "Subject"), vec!["[SPAM]"]);
    // Without a tag the subject is untouched.
    let hs = headers(&run(
        b"From: a@example.org\r\nSubject: Cheap watches\r\n\r\nb",
    ));
    assert_eq!(header(&hs, "Subject"), vec!["Cheap watches"]);
}

/// The corpus in `server/tests/corpus` (made by `scripts/make-mail-corpus.py`): multipart,
/// attachments, inline images, ISO-2022-JP, windows-1252, bare LF, long lines, missing From,
/// several DKIM signatures, existing Reply-To, S/MIME… Every message keeps its body bytes and
/// every header it is not meant to lose, byte for byte.
#[test]
fn the_corpus_keeps_every_body_byte_and_follows_the_header_rules() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some("eml".as_ref()))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "{} messages in the corpus", files.len());
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let raw = std::fs::read(path).unwrap();
        let out = run(&raw);
        assert_eq!(body_of(&out), body_of(&raw), "{name}: body changed");

        let (before, _) = split(&raw);
        let (after, _) = split(&out);
        let count = |name: &str| after.iter().filter(|f| f.is(name)).count();
        assert_eq!(count("from"), 1, "{name}: one From");
        let from = after.iter().find(|f| f.is("from")).unwrap();
        assert!(
            String::from_utf8_lossy(from.value())
                .trim_end()
                .ends_with(" via mailvend\" <forwarder@mail.example.com>")
                || String::from_utf8_lossy(from.value())
                    .trim_end()
                    .ends_with(" via mailvend <forwarder@mail.example.com>"),
            "{name}: From is {:?}",
            String::from_utf8_lossy(from.value())
        );
        for gone in REMOVED.iter().filter(|n| !n.starts_with("x-")) {
            assert_eq!(count(gone), 0, "{name}: {gone} left in");
        }
        for once in ONCE_ONLY {
            assert!(count(once) <= 1, "{name}: {once} twice");
        }
        assert_eq!(count("x-processed-by"), 1, "{name}");
        assert_eq!(count("x-original-to"), 1, "{name}");
        let original_from = before.iter().find(|f| f.is("from"));
        assert_eq!(
            count("x-original-from"),
            usize::from(original_from.is_some()),
            "{name}"
        );
        // Reply-To: the sender's own, else the original From, else the envelope sender.
        let reply_to = after
            .iter()
            .find(|f| f.is("reply-to"))
            .map(|f| f.value().trim_ascii().to_vec());
        let want = before
            .iter()
            .find(|f| f.is("reply-to"))
            .or(original_from)
            .map(|f| {
                f.value()
                    .iter()
                    .copied()
                    .filter(|b| !matches!(b, b'\r' | b'\n'))
                    .collect::<Vec<u8>>()
                    .trim_ascii()
                    .to_vec()
            })
            .or(Some(b"bounce@sender.example".to_vec()));
        let unfold = |v: Option<Vec<u8>>| {
            v.map(|v| {
                v.into_iter()
                    .filter(|b| !matches!(b, b'\r' | b'\n'))
                    .collect::<Vec<u8>>()
            })
        };
        assert_eq!(unfold(reply_to), want, "{name}: Reply-To");

        // Every other field the sender wrote survives as it was: folding, encoded words and
        // 8-bit bytes included (only the first of a once-only field).
        let mut seen: Vec<&[u8]> = Vec::new();
        for f in &before {
            if f.is("from") || f.is("reply-to") || REMOVED.iter().any(|n| f.is(n)) {
                continue;
            }
            if let Some(list) = ADDRESS_LISTS.iter().find(|n| f.is(n)) {
                // Merged into the first: its addresses are all there.
                let merged = super::header(&out, list).unwrap_or_default();
                let value = super::unfold(f.value()).trim_ascii().to_vec();
                assert!(
                    merged.windows(value.len()).any(|w| w == value),
                    "{name}: lost the addresses of {:?}",
                    String::from_utf8_lossy(f.raw)
                );
                continue;
            }
            if ONCE_ONLY.iter().any(|n| f.is(n)) {
                if seen.iter().any(|s| s.eq_ignore_ascii_case(f.name)) {
                    continue;
                }
                seen.push(f.name);
            }
            let kept = trim_line_end(f.raw);
            assert!(
                out.windows(kept.len()).any(|w| w == kept),
                "{name}: lost {:?}",
                String::from_utf8_lossy(kept)
            );
        }
    }
}

/// Issue 22 item 6: a display the rewrite writes unquoted must not be able to carry a second
/// mailbox into the From.
#[test]
fn header_smuggling_an_encoded_display_never_makes_a_second_from_mailbox() {
    for (from, want) in [
        (
            "=?x?= <ceo@corp.example>, M <m@evil.example>",
            "\"=?x?= <ceo@corp.example>, M via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "\"a\" <ceo@corp.example>, \"b\" <m@evil.example>",
            "\"\\\"a\\\" <ceo@corp.example>, \\\"b\\\" via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "=?utf-8?q?x?= ceo@corp.example <m@evil.example>",
            "\"=?utf-8?q?x?= ceo@corp.example via mailvend\" <forwarder@mail.example.com>",
        ),
        (
            "x;y <m@evil.example>",
            "\"x;y via mailvend\" <forwarder@mail.example.com>",
        ),
    ] {
        let raw = format!("From: {from}\r\nSubject: s\r\n\r\nbody\r\n");
        let out = run(raw.as_bytes());
        let hs = headers(&out);
        assert_eq!(header(&hs, "From"), vec![want], "{from}");
        let value = super::header(&out, "from").unwrap();
        assert_eq!(
            crate::testing::oracles::mailbox_count(&value),
            1,
            "{from} -> {}",
            String::from_utf8_lossy(&value)
        );
        crate::testing::oracles::rewrite(raw.as_bytes());
    }
}

/// Issue 22 item 6: a bare CR is a line end to some clients; NUL ends C strings.
#[test]
fn header_smuggling_bare_cr_and_nul_do_not_survive_in_the_header_block() {
    let raw = b"From: a@example.org\r\nSubject: hi\rBcc: victim@example.org\r\nX-Note: a\x00b\r\nX-Lf: one\ntwo: three\r\n\r\nbody\rstays\x00\r\n";
    let out = run(raw);
    let block = header_block(&out);
    for (i, &b) in block.iter().enumerate() {
        assert_ne!(b, 0, "NUL at {i}");
        if b == b'\r' {
            assert_eq!(block.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
        if b == b'\n' {
            assert_eq!(block[i - 1], b'\r', "bare LF at {i}");
        }
    }
    let hs = headers(&out);
    assert_eq!(header(&hs, "Subject"), vec!["hi Bcc: victim@example.org"]);
    assert!(header(&hs, "Bcc").is_empty(), "{hs:?}");
    assert_eq!(header(&hs, "X-Note"), vec!["a b"]);
    assert_eq!(
        body_of(&out),
        b"body\rstays\x00\r\n",
        "the body is not ours to clean"
    );
    crate::testing::oracles::rewrite(raw);
}

/// Issue 22 item 7: every address the sender wrote stays visible.
#[test]
fn nothing_dropped_from_the_header_repeated_address_lists_are_merged() {
    let raw = b"From: a@example.org\r\nTo: one@x.example\r\nCc: two@x.example\r\nTo: three@x.example,\r\n four@x.example\r\nCC: five@x.example\r\ncc: \"Six, S\" <six@x.example>\r\nReply-To: r1@x.example\r\nReply-To: r2@x.example\r\n\r\nbody";
    let hs = headers(&run(raw));
    assert_eq!(
        header(&hs, "To"),
        vec!["one@x.example, three@x.example, four@x.example"]
    );
    assert_eq!(
        header(&hs, "Cc"),
        vec!["two@x.example, five@x.example, \"Six, S\" <six@x.example>"]
    );
    assert!(header(&hs, "CC").len() == 1, "one Cc field: {hs:?}");
    assert_eq!(header(&hs, "Reply-To"), vec!["r1@x.example, r2@x.example"]);
}

/// Only we speak for our domain in `Authentication-Results`; others' results stay.
#[test]
fn a_forged_authentication_result_in_our_name_is_removed_and_ours_leads() {
    let raw = b"Authentication-Results: mail.example.com; dmarc=pass (forged)\r\nAuthentication-Results: MAIL.EXAMPLE.COM 1; spf=pass\r\nAuthentication-Results: (c) mail.example.com; dkim=pass\r\nAuthentication-Results: (a (nested\\)) comment)mail.example.com(x); dkim=pass\r\nAuthentication-Results: \"mail.example.com\"; dmarc=pass\r\nAuthentication-Results: \"mail\\.example.com\"; dmarc=pass\r\nAuthentication-Results: (\\) mail.example.com; dkim=pass\r\nAuthentication-Results: (;) mail.example.com; dkim=pass\r\nAuthentication-Results: mx.sender.example; spf=pass\r\nFrom: a@example.org\r\n\r\nbody";
    let cfg = RewriteConfig {
        authentication: Some("spf=fail (Amazon SES); dmarc=fail (Amazon SES)"),
        ..CFG
    };
    let out = rewrite(raw, "t@mail.example.com", "b@x.example", None, &cfg);
    let hs = headers(&out);
    assert_eq!(
        header(&hs, "Authentication-Results"),
        vec![
            "mail.example.com; spf=fail (Amazon SES); dmarc=fail (Amazon SES)",
            "mx.sender.example; spf=pass"
        ]
    );
    assert!(hs[0].starts_with("Authentication-Results: mail.example.com;"));
    assert_eq!(
        header(&hs, "X-Mailvend-Loop"),
        vec!["00112233445566778899aabbccddeeff"]
    );
}

/// Fan-out names every vended address; 50 long ones must not make a line SMTP refuses.
#[test]
fn a_long_x_original_to_is_folded_under_the_smtp_line_limit() {
    let many: Vec<String> = (0..50)
        .map(|i| format!("blue-origin-space-cube-z-production-{i:03}@mail.example.com"))
        .collect();
    let out = rewrite(
        b"From: a@example.org\r\n\r\nbody",
        &many.join(", "),
        "b@x.example",
        None,
        &CFG,
    );
    let block = header_block(&out);
    for line in block.split(|&b| b == b'\n') {
        assert!(line.len() < 998, "a {}-byte header line", line.len());
    }
    let value = String::from_utf8(super::header(&out, "x-original-to").unwrap()).unwrap();
    let listed: Vec<&str> = value.split(',').map(str::trim).collect();
    assert_eq!(listed, many);
}

/// Found in review: a line starting with NUL or CR is a field of its own to the splitter, and
/// cleaning made it a continuation of the From written before it; a NUL before the colon
/// hid a second From, a forged Authentication-Results and a forged loop mark.
#[test]
fn header_smuggling_lines_starting_with_nul_or_cr_never_join_our_from() {
    for raw in [
        &b"Reply-To: a@x.example\r\nFrom: x@y.example\r\n\0, ceo@corp.example (:)\r\n\r\nbody"[..],
        b"Reply-To: a@x.example\r\nFrom: x@y.example\r\n\r, ceo@corp.example (:)\r\n\r\nbody",
        b"From: x@y.example\r\nFrom\0: ceo@corp.example\r\nAuthentication-Results\0: mail.example.com; dmarc=pass\r\nX-Mailvend-Loop\0: forged\r\n\r\nbody",
    ] {
        crate::testing::oracles::rewrite(raw);
        let out = run(raw);
        let text = String::from_utf8_lossy(header_block(&out)).into_owned();
        assert!(!text.contains("ceo@corp.example"), "{text}");
        assert!(!text.contains("dmarc=pass"), "{text}");
        assert!(!text.contains("forged"), "{text}");
    }
}

/// Earlier passes' loop marks stay (so a message passed between two owners is stopped when it
/// comes back to the first): only mark-shaped values, each once, the last few (ours were
/// added last, so marks a sender put in front cannot push them out), and ours after them.
#[test]
fn earlier_loop_marks_are_kept_when_shaped_like_marks_and_few() {
    let mut raw = Vec::new();
    for i in 0..20 {
        raw.extend_from_slice(format!("X-Mailvend-Loop: {i:032x}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"X-Mailvend-Loop: not a mark at all\r\n");
    raw.extend_from_slice(b"X-Mailvend-Loop: 00112233445566778899aabbccddeeff\r\n");
    raw.extend_from_slice(b"X-Mailvend-Loop: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n");
    raw.extend_from_slice(b"X-Mailvend-Loop: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    raw.extend_from_slice(b"From: a@example.org\r\n\r\nbody");
    let out = rewrite(&raw, "t@mail.example.com", "b@x.example", None, &CFG);
    let hs = headers(&out);
    let marks = header(&hs, "X-Mailvend-Loop");
    let mut want: Vec<String> = (13..20).map(|i| format!("{i:032x}")).collect();
    want.push("a".repeat(32));
    want.push("00112233445566778899aabbccddeeff".into());
    assert_eq!(marks, want);
}

/// Found by the rewrite fuzzer (2026-12-04): in a message whose lines end in LF, a line
/// starting with CR (`\rCc: …`) was read as a `Cc` field; cleaning turned the CR into a space,
/// so it became a continuation of our `From`, a second mailbox in it. Such a line is no field
/// and is dropped.
#[test]
fn a_line_starting_with_cr_never_continues_our_from() {
    let raw = b"From: \"A\" <a@x.example>\n\rCc: b@evil.example\n\rSubject: x\nTo: t@mail.example.com\n\nbody";
    let out = run(raw);
    let hs = headers(&out);
    let from = header(&hs, "From");
    assert_eq!(from.len(), 1, "{hs:?}");
    assert!(!from[0].contains("evil"), "{from:?}");
    assert!(
        !String::from_utf8_lossy(&out).contains("evil"),
        "dropped whole"
    );
    assert_eq!(
        crate::testing::oracles::mailbox_count(from[0].as_bytes()),
        1
    );
}
