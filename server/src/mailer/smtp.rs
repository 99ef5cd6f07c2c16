//! The SMTP relay mailer (`MAILVEND_MAILER=smtp://host:port`): the rewritten bytes go out as
//! they are (`send_raw`), with STARTTLS whenever the relay offers it.

use std::time::Duration;

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Mailer, Outgoing, SendError};

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    pub fn new(host: &str, port: u16) -> Result<Self, String> {
        let tls = TlsParameters::new(host.to_string())
            .map_err(|e| format!("TLS settings for {host}: {e}"))?;
        // "Dangerous" only means no implicit TLS and no pooling policy chosen for us:
        // STARTTLS is still used whenever the relay offers it.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(Tls::Opportunistic(tls))
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(SmtpMailer { transport })
    }
}

/// The DATA to hand to lettre: lines end in CRLF as SMTP requires, and nothing else on the wire
/// looks like a line end. A lone LF or a lone CR becomes CRLF (relays refuse bare line ends
/// since "SMTP smuggling": a `LF . CR LF` a relay reads as end-of-data would let the rest
/// pass as a second message), and NUL is dropped (RFC 5321 §4.5.2 never allows it). One final
/// CRLF is left off because lettre always ends DATA with `CRLF . CRLF`.
fn wire_form(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            0 => {}
            b => out.push(b),
        }
        i += 1;
    }
    if out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
    }
    out
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, msg: &Outgoing) -> Result<String, SendError> {
        let address = |a: &str| {
            a.parse()
                .map_err(|e| SendError::Permanent(format!("address {a:?}: {e}")))
        };
        let to = msg
            .to
            .iter()
            .map(|a| address(a))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(address(&msg.from)?), to)
            .map_err(|e| SendError::Permanent(format!("envelope: {e}")))?;
        match self
            .transport
            .send_raw(&envelope, &wire_form(&msg.raw))
            .await
        {
            Ok(response) => Ok(response.message().collect::<Vec<_>>().join(" ")),
            // 5xx replies: the relay will refuse this message again.
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_has_crlf_lines_and_leaves_the_last_one_to_lettre() {
        for (raw, want) in [
            (&b"a\r\nb\r\n"[..], &b"a\r\nb"[..]),
            (b"a\nb\n", b"a\r\nb"),
            (b"a\r\nb", b"a\r\nb"),
            (b"", b""),
        ] {
            assert_eq!(wire_form(raw), want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    /// Issue 22 item 6: SMTP smuggling needs a line end the relay reads differently from us.
    #[test]
    fn smtp_smuggling_lone_cr_lf_and_nul_never_reach_the_wire() {
        for (raw, want) in [
            (&b"a\rb\r\n\r\n"[..], &b"a\r\nb\r\n"[..]),
            (
                b"body\n.\r\nMAIL FROM:<x@evil.example>\r\n",
                b"body\r\n.\r\nMAIL FROM:<x@evil.example>",
            ),
            (b"body\r\n.\rDATA\r\n", b"body\r\n.\r\nDATA"),
            (b"a\x00b\r\n", b"ab"),
            (b"\r\r\n\n", b"\r\n\r\n"),
        ] {
            let wire = wire_form(raw);
            assert_eq!(wire, want, "{:?}", String::from_utf8_lossy(raw));
            for (i, &b) in wire.iter().enumerate() {
                assert!(b != 0, "NUL on the wire");
                if b == b'\r' {
                    assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i}");
                }
                if b == b'\n' {
                    assert_eq!(wire[i - 1], b'\r', "bare LF at {i}");
                }
            }
        }
    }

    #[tokio::test]
    async fn relays_the_exact_bytes_to_the_envelope_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let port = crate::testing::smtp_sink(dir.path()).await;
        let mailer = SmtpMailer::new("127.0.0.1", port).unwrap();
        // 8-bit body, a line that starts with a dot (SMTP dot-stuffing must be undone).
        let mut raw = b"From: \"J via mailvend\" <forwarder@mail.example.com>\r\nTo: team@mail.example.com\r\nSubject: =?UTF-8?B?w6k=?=\r\n\r\n".to_vec();
        raw.extend_from_slice(b"caf\xc3\xa9 \xe9\r\n.leading dot\r\n..two\r\nend\r\n");
        let msg = Outgoing {
            from: "forwarder@mail.example.com".into(),
            to: vec!["owner@example.org".into()],
            raw: raw.clone(),
            source_message_id: "m1".into(),
            recipient: "team@mail.example.com".into(),
        };
        let id = mailer.send(&msg).await.unwrap();
        assert!(id.contains("queued as sink-1"), "{id}");
        let got = std::fs::read(dir.path().join("000001.eml")).unwrap();
        assert_eq!(got, raw);
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("000001.json")).unwrap())
                .unwrap();
        assert_eq!(
            meta,
            serde_json::json!({"from": "forwarder@mail.example.com", "to": ["owner@example.org"]})
        );

        // Nobody listening: worth retrying, not a permanent failure.
        let closed = SmtpMailer::new("127.0.0.1", crate::testing::free_port()).unwrap();
        assert!(matches!(
            closed.send(&msg).await,
            Err(SendError::Transient(_))
        ));
        // A recipient the relay cannot take is refused for good.
        let bad = Outgoing {
            to: vec!["not an address".into()],
            ..msg
        };
        assert!(matches!(
            mailer.send(&bad).await,
            Err(SendError::Permanent(_))
        ));
    }
}
