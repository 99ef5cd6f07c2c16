//! What an admin may make a channel of: the checks on a new channel's kind, target and
//! events, and how a stored target is shown. Pure, table-tested.
//!
//! A webhook or Slack URL is where mailvend will POST from inside the network, so a careless
//! (or hijacked) admin session must not aim it at the instance metadata service: link-local
//! and metadata hosts are refused whatever the scheme, and this machine (loopback) and plain
//! http only when the operator allows it (`MAILVEND_NOTIFY_ALLOW_HTTP`, for local receivers in
//! tests). The URL's text is checked here; what its name resolves to is checked again at each
//! connection (`dispatch`'s resolver, with `refused_ip`), so a DNS name cannot lead there
//! either.

use std::net::IpAddr;

use app::notify::{ChannelKind, NewChannel, NotifyEvent};
use url::Url;

/// A channel as checked: ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub kind: ChannelKind,
    pub target: String,
    pub events: Vec<NotifyEvent>,
}

/// Which field was wrong and why.
pub type Refusal = (&'static str, String);

const MAX_URL: usize = 2048;

pub fn check(
    input: &NewChannel,
    allow_http: bool,
    admin_address: &str,
) -> Result<ChannelSpec, Refusal> {
    let kind = ChannelKind::parse(&input.kind)
        .ok_or(("kind", "expected webhook, slack, sns or digest".to_string()))?;
    let events = events(&input.events)?;
    let target = input.target.trim();
    let target = match kind {
        ChannelKind::Webhook | ChannelKind::Slack => url(target, allow_http)?,
        ChannelKind::Sns => topic_arn(target)?,
        ChannelKind::Digest => {
            if !target.is_empty() && !target.eq_ignore_ascii_case(admin_address) {
                return Err((
                    "target",
                    format!("a digest goes to the admin address ({admin_address}); leave it empty"),
                ));
            }
            admin_address.to_string()
        }
    };
    Ok(ChannelSpec {
        kind,
        target,
        events,
    })
}

fn events(names: &[String]) -> Result<Vec<NotifyEvent>, Refusal> {
    let known = || {
        NotifyEvent::SUBSCRIBABLE
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut events = Vec::new();
    for name in names {
        let event = NotifyEvent::parse(name.trim())
            .filter(|e| *e != NotifyEvent::Test)
            .ok_or_else(|| {
                (
                    "events",
                    format!("unknown event {name:?}; expected {}", known()),
                )
            })?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(("events", format!("choose at least one of {}", known())));
    }
    events.sort();
    Ok(events)
}

/// The checks on a webhook or Slack URL, again at each send (a channel made on a server that
/// allowed http is refused by one that does not).
pub fn url(target: &str, allow_http: bool) -> Result<String, Refusal> {
    let bad = |m: &str| ("target", m.to_string());
    if target.len() > MAX_URL {
        return Err(bad("the URL is longer than 2048 characters"));
    }
    let url = Url::parse(target).map_err(|e| ("target", format!("not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(bad(
                "use https: the notification and its signature would cross the network in clear",
            ))
        }
        _ => return Err(bad("expected an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "a URL with a user name or password is refused: a webhook is proven by its signing secret",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad("a URL with a #fragment is refused"));
    }
    let (metadata, local) = match url.host() {
        None => return Err(bad("the URL has no host")),
        Some(url::Host::Ipv4(ip)) => (refused_ip(IpAddr::V4(ip), true), ip.is_loopback()),
        Some(url::Host::Ipv6(ip)) => (
            refused_ip(IpAddr::V6(ip), true),
            refused_ip(IpAddr::V6(ip), false),
        ),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            let metadata = ["metadata", "metadata.google.internal", "instance-data"]
                .contains(&d.as_str())
                || d.ends_with(".internal");
            (metadata, d == "localhost" || d.ends_with(".localhost"))
        }
    };
    if metadata {
        return Err(bad(
            "link-local and instance-metadata hosts are refused (they would expose the server's own credentials)",
        ));
    }
    if local && !allow_http {
        return Err(bad("this machine's own addresses are refused"));
    }
    Ok(url.to_string())
}

/// An address a notification may never be sent to: link-local (the instance metadata
/// service, 169.254.169.254 and fd00:ec2::254), unspecified, `0.0.0.0/8`, and loopback unless
/// `allow_loopback`; IPv4 written inside IPv6 (mapped, compatible, NAT64) is judged as IPv4.
pub fn refused_ip(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_link_local()
                || v4.is_unspecified()
                || v4.octets()[0] == 0
                || (v4.is_loopback() && !allow_loopback)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = v6.to_ipv4_mapped().or_else(|| {
                // ::a.b.c.d (compatible) and 64:ff9b::a.b.c.d (NAT64).
                let compat = s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1);
                let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
                (compat || nat64).then(|| {
                    std::net::Ipv4Addr::new(
                        (s[6] >> 8) as u8,
                        s[6] as u8,
                        (s[7] >> 8) as u8,
                        s[7] as u8,
                    )
                })
            });
            if let Some(v4) = embedded {
                return refused_ip(IpAddr::V4(v4), allow_loopback);
            }
            (s[0] & 0xffc0) == 0xfe80
                || v6.is_unspecified()
                // EC2's IPv6 metadata endpoint, fd00:ec2::254.
                || (s[0] == 0xfd00 && s[1] == 0x0ec2)
                || (v6.is_loopback() && !allow_loopback)
        }
    }
}

fn topic_arn(target: &str) -> Result<String, Refusal> {
    let parts: Vec<&str> = target.split(':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && ["aws", "aws-cn", "aws-us-gov"].contains(&parts[1])
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[3]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && (1..=256).contains(&parts[5].len())
        && parts[5]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !ok {
        return Err((
            "target",
            "expected a topic ARN, arn:aws:sns:<region>:<account id>:<topic name>".to_string(),
        ));
    }
    if parts[5].ends_with(".fifo") {
        return Err((
            "target",
            "FIFO topics are not supported: use a standard topic".to_string(),
        ));
    }
    Ok(target.to_string())
}

/// A stored target as listed, audited and shown: a webhook URL often carries its token in its
/// path or query (a Slack URL is nothing else), so only its origin. Channels are told apart by
/// their ids.
pub fn shown(kind: ChannelKind, target: &str) -> String {
    match kind {
        ChannelKind::Sns | ChannelKind::Digest => target.to_string(),
        ChannelKind::Slack | ChannelKind::Webhook => match Url::parse(target) {
            Ok(url) => format!("{}/…", url.origin().ascii_serialization()),
            Err(_) => "(unreadable URL)".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(kind: &str, target: &str, events: &[&str]) -> NewChannel {
        NewChannel {
            kind: kind.into(),
            target: target.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
        }
    }

    const ADMIN: &str = "admin@corp.example";

    #[test]
    fn channels_are_checked_field_by_field() {
        let refused: &[(NewChannel, bool, &str, &str)] = &[
            (
                new("pager", "https://x.example", &["dead_letter"]),
                false,
                "kind",
                "expected webhook",
            ),
            (
                new("webhook", "https://x.example", &[]),
                false,
                "events",
                "at least one",
            ),
            (
                new("webhook", "https://x.example", &["test"]),
                false,
                "events",
                "unknown event",
            ),
            (
                new("webhook", "https://x.example", &["everything"]),
                false,
                "events",
                "unknown event",
            ),
            (
                new("webhook", "http://x.example/in", &["dead_letter"]),
                false,
                "target",
                "use https",
            ),
            (
                new("webhook", "ftp://x.example/in", &["dead_letter"]),
                false,
                "target",
                "expected an https",
            ),
            (
                new("webhook", "x.example/in", &["dead_letter"]),
                false,
                "target",
                "not a URL",
            ),
            (
                new("webhook", "https://u:p@x.example/", &["dead_letter"]),
                false,
                "target",
                "user name",
            ),
            (
                new(
                    "webhook",
                    "https://169.254.169.254/latest/meta-data/",
                    &["dead_letter"],
                ),
                false,
                "target",
                "link-local",
            ),
            (
                new("webhook", "http://169.254.169.254/", &["dead_letter"]),
                true,
                "target",
                "link-local",
            ),
            (
                new("slack", "https://[fd00:ec2::254]/", &["dead_letter"]),
                false,
                "target",
                "link-local",
            ),
            (
                new(
                    "slack",
                    "https://[::ffff:169.254.169.254]/",
                    &["dead_letter"],
                ),
                false,
                "target",
                "link-local",
            ),
            (
                new("webhook", "https://0.0.0.0/", &["dead_letter"]),
                false,
                "target",
                "link-local",
            ),
            (
                new(
                    "webhook",
                    "https://metadata.google.internal/",
                    &["dead_letter"],
                ),
                false,
                "target",
                "link-local",
            ),
            (
                new(
                    "webhook",
                    &format!("https://x.example/{}", "a".repeat(2100)),
                    &["dead_letter"],
                ),
                false,
                "target",
                "2048",
            ),
            (
                new(
                    "sns",
                    "arn:aws:sns:eu-west-1:123456789012",
                    &["dead_letter"],
                ),
                false,
                "target",
                "topic ARN",
            ),
            (
                new(
                    "sns",
                    "arn:aws:sqs:eu-west-1:123456789012:q",
                    &["dead_letter"],
                ),
                false,
                "target",
                "topic ARN",
            ),
            (
                new("sns", "arn:aws:sns:eu-west-1:1234:q", &["dead_letter"]),
                false,
                "target",
                "topic ARN",
            ),
            (
                new(
                    "sns",
                    "arn:aws:sns:eu-west-1:123456789012:alerts.fifo",
                    &["dead_letter"],
                ),
                false,
                "target",
                "FIFO",
            ),
            (
                new("digest", "someone@else.example", &["dead_letter"]),
                false,
                "target",
                "admin address",
            ),
        ];
        let more: &[(NewChannel, bool, &str, &str)] = &[
            (
                new(
                    "webhook",
                    "https://instance-data.ec2.internal./",
                    &["dead_letter"],
                ),
                false,
                "target",
                "link-local",
            ),
            (
                new("webhook", "https://metadata/", &["dead_letter"]),
                true,
                "target",
                "link-local",
            ),
            (
                new("webhook", "https://2852039166/", &["dead_letter"]),
                false,
                "target",
                "link-local",
            ),
            (
                new("webhook", "https://0xa9.0xfe.0xa9.0xfe/", &["dead_letter"]),
                false,
                "target",
                "link-local",
            ),
            (
                new("webhook", "https://[64:ff9b::a9fe:a9fe]/", &["dead_letter"]),
                false,
                "target",
                "link-local",
            ),
            (
                new("webhook", "https://[::169.254.169.254]/", &["dead_letter"]),
                false,
                "target",
                "link-local",
            ),
            (
                new("webhook", "https://127.0.0.1:8080/", &["dead_letter"]),
                false,
                "target",
                "own addresses",
            ),
            (
                new("webhook", "https://localhost/", &["dead_letter"]),
                false,
                "target",
                "own addresses",
            ),
            (
                new("webhook", "https://[::1]/", &["dead_letter"]),
                false,
                "target",
                "own addresses",
            ),
            (
                new(" webhook", "https://x.example/", &["dead_letter"]),
                false,
                "kind",
                "expected webhook",
            ),
            (
                new(
                    "sns",
                    "arn:awsx:sns:eu-west-1:123456789012:t",
                    &["dead_letter"],
                ),
                false,
                "target",
                "topic ARN",
            ),
        ];
        for (input, allow_http, field, words) in refused.iter().chain(more) {
            let got = check(input, *allow_http, ADMIN);
            match got {
                Err((f, m)) => {
                    assert_eq!(f, *field, "{input:?}: {m}");
                    assert!(m.contains(words), "{input:?}: {m}");
                }
                Ok(spec) => panic!("{input:?} was accepted as {spec:?}"),
            }
        }
    }

    #[test]
    fn good_channels_come_out_normalised() {
        let hook = check(
            &new(
                "webhook",
                " https://Hooks.Example.org/in?token=abc ",
                &["held_waiting", "dead_letter", "dead_letter"],
            ),
            false,
            ADMIN,
        )
        .unwrap();
        assert_eq!(hook.kind, ChannelKind::Webhook);
        assert_eq!(hook.target, "https://hooks.example.org/in?token=abc");
        assert_eq!(
            hook.events,
            [NotifyEvent::DeadLetter, NotifyEvent::HeldWaiting]
        );
        let local = check(
            &new("webhook", "http://127.0.0.1:9000/hook", &["sync_failed"]),
            true,
            ADMIN,
        )
        .unwrap();
        assert_eq!(local.target, "http://127.0.0.1:9000/hook");
        let topic = check(
            &new(
                "sns",
                "arn:aws:sns:eu-west-1:123456789012:root-mail",
                &["drift_found"],
            ),
            false,
            ADMIN,
        )
        .unwrap();
        assert_eq!(topic.target, "arn:aws:sns:eu-west-1:123456789012:root-mail");
        let digest = check(&new("digest", "", &["owner_unreachable"]), false, ADMIN).unwrap();
        assert_eq!(digest.target, ADMIN);
        let gov = check(
            &new(
                "sns",
                "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t",
                &["drift_found"],
            ),
            false,
            ADMIN,
        );
        assert!(gov.is_ok(), "{gov:?}");
    }

    #[test]
    fn targets_are_shown_without_their_credentials() {
        let cases = [
            (
                ChannelKind::Slack,
                "https://hooks.slack.com/services/T0/B0/XXXXsecret",
                "https://hooks.slack.com/…",
            ),
            (
                ChannelKind::Webhook,
                "https://hooks.example.org/in?token=abc",
                "https://hooks.example.org/…",
            ),
            (
                ChannelKind::Webhook,
                "https://hooks.example.org:8443/in/TOKEN",
                "https://hooks.example.org:8443/…",
            ),
            (
                ChannelKind::Sns,
                "arn:aws:sns:eu-west-1:123456789012:t",
                "arn:aws:sns:eu-west-1:123456789012:t",
            ),
            (ChannelKind::Digest, ADMIN, ADMIN),
        ];
        for (kind, target, want) in cases {
            assert_eq!(shown(kind, target), want, "{target}");
        }
    }

    #[test]
    fn resolved_addresses_are_judged_like_literal_ones() {
        let refused = [
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::169.254.169.254",
            "::",
        ];
        let allowed = [
            "10.0.0.1",
            "192.168.1.10",
            "93.184.216.34",
            "2001:db8::1",
            "fd00:1::1",
        ];
        for ip in refused {
            assert!(refused_ip(ip.parse().unwrap(), true), "{ip}");
        }
        for ip in allowed {
            assert!(!refused_ip(ip.parse().unwrap(), false), "{ip}");
        }
        for ip in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(refused_ip(ip.parse().unwrap(), false), "{ip}");
            assert!(!refused_ip(ip.parse().unwrap(), true), "{ip}");
        }
    }
}
