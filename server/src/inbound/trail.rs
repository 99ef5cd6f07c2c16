//! What a received message says about its own path, for loop protection (docs/product.md
//! §2.6, issue 22 item 1): our processing mark, how many `Received` hops it has made, and
//! whether a robot sent it. Pure over bytes.
//!
//! The mark is an HMAC of the destination we forward to, under a server key: a forward that
//! comes back to be sent to the same destination again carries exactly the mark we would
//! write, and nobody without the key can make one for a destination they never received
//! mail for. It is per destination, not per message, so a forward that an owner sends on to
//! another owner's vended address is not mistaken for a loop.

use aws_lc_rs::hmac;

use crate::inbound::rewrite::{header, headers, LOOP_HEADER};

/// The server key for processing marks.
#[derive(Clone)]
pub struct LoopKey(hmac::Key);

impl std::fmt::Debug for LoopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoopKey(…)")
    }
}

impl LoopKey {
    pub fn new(secret: &[u8]) -> Self {
        LoopKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// Our mark for mail forwarded to `destination`: 32 hex digits (128 bits of the HMAC).
    pub fn mark(&self, destination: &str) -> String {
        let tag = hmac::sign(&self.0, destination.trim().to_ascii_lowercase().as_bytes());
        tag.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// What the message's header says about its path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trail {
    /// Every `X-Mailvend-Loop` value it carries (ours or forged; `carries_mark` tells).
    marks: Vec<String>,
    /// How many `Received` headers.
    pub received: usize,
    /// Sent by a robot: a null envelope sender (a bounce) or `Auto-Submitted` other than `no`.
    pub automatic: bool,
}

impl Trail {
    pub fn read(raw: &[u8], envelope_sender: &str) -> Trail {
        let marks = headers(raw, LOOP_HEADER)
            .into_iter()
            .map(|v| String::from_utf8_lossy(&v).trim().to_ascii_lowercase())
            .collect();
        let auto_submitted = header(raw, "auto-submitted").is_some_and(|v| {
            let v = String::from_utf8_lossy(&v).to_ascii_lowercase();
            let keyword = v.split([';', '(']).next().unwrap_or_default().trim();
            !keyword.is_empty() && keyword != "no"
        });
        let null_sender = matches!(envelope_sender.trim(), "" | "<>" | "MAILER-DAEMON");
        Trail {
            marks,
            received: headers(raw, "received").len(),
            automatic: null_sender || auto_submitted,
        }
    }

    /// Whether we already forwarded this message to `destination` (it carries our mark for it).
    pub fn carries_mark(&self, key: &LoopKey, destination: &str) -> bool {
        let ours = key.mark(destination);
        self.marks.iter().any(|m| constant_time_eq(m, &ours))
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a test key of at least thirty-two bytes";

    #[test]
    fn marks_are_per_destination_case_blind_and_need_the_key() {
        let key = LoopKey::new(KEY);
        let other = LoopKey::new(b"another key, also thirty-two bytes long");
        let m = key.mark("Owner@Example.org");
        assert_eq!(m.len(), 32);
        assert!(m.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(m, key.mark("owner@example.org"));
        assert_ne!(m, key.mark("other@example.org"));
        assert_ne!(m, other.mark("owner@example.org"));
    }

    #[test]
    fn the_trail_of_a_message_reads_marks_hops_and_robots() {
        let key = LoopKey::new(KEY);
        let mark = key.mark("owner@example.org");
        let forged = LoopKey::new(b"a forger's own key, thirty-two long").mark("owner@example.org");
        // (header block, envelope sender, carries the mark for owner@, hops, automatic)
        let table: Vec<(String, &str, bool, usize, bool)> = vec![
            ("Subject: plain\r\n".into(), "a@b.example", false, 0, false),
            (
                format!("X-Mailvend-Loop: {mark}\r\n"),
                "a@b.example",
                true,
                0,
                false,
            ),
            (
                format!("x-mailvend-loop:  {}\r\n", mark.to_uppercase()),
                "a@b.example",
                true,
                0,
                false,
            ),
            (
                format!("X-Mailvend-Loop: {forged}\r\n"),
                "a@b.example",
                false,
                0,
                false,
            ),
            (
                "X-Mailvend-Loop: \r\n".into(),
                "a@b.example",
                false,
                0,
                false,
            ),
            (
                "Received: a\r\nReceived: b\r\n (folded)\r\nReceived: c\r\n".into(),
                "a@b.example",
                false,
                3,
                false,
            ),
            ("Subject: bounce\r\n".into(), "", false, 0, true),
            ("Subject: bounce\r\n".into(), "<>", false, 0, true),
            (
                "Auto-Submitted: auto-replied\r\n".into(),
                "a@b.example",
                false,
                0,
                true,
            ),
            (
                "Auto-Submitted: auto-generated; owner-email=x\r\n".into(),
                "a@b.example",
                false,
                0,
                true,
            ),
            (
                "Auto-Submitted: no\r\n".into(),
                "a@b.example",
                false,
                0,
                false,
            ),
            (
                "Auto-Submitted: No (a person)\r\n".into(),
                "a@b.example",
                false,
                0,
                false,
            ),
        ];
        for (block, sender, marked, hops, automatic) in table {
            let raw = format!("From: a@b.example\r\n{block}\r\nbody\r\n");
            let trail = Trail::read(raw.as_bytes(), sender);
            assert_eq!(
                trail.carries_mark(&key, "owner@example.org"),
                marked,
                "{block}"
            );
            assert!(!trail.carries_mark(&key, "someone@else.example"), "{block}");
            assert_eq!(trail.received, hops, "{block}");
            assert_eq!(trail.automatic, automatic, "{block} from {sender:?}");
        }
    }
}
