//! What an admin may make a channel of: the checks on a new channel's kind, target and
//! events, and how a stored target is shown. Pure, table-tested.
//!
//! A webhook or Slack URL is where mailvend will POST from inside the network, so a careless
//! (or hijacked) admin session must not aim it at the instance metadata service: link-local
//! hosts are refused whatever the scheme, and plain http only when the operator allows it
//! (`MAILVEND_NOTIFY_ALLOW_HTTP`, for local receivers in tests).

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
    let kind = ChannelKind::parse(input.kind.trim())
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

fn url(target: &str, allow_http: bool) -> Result<String, Refusal> {
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
        return Err(bad("a URL with a user name or password is refused; put credentials in the path or use the signing secret"));
    }
    if url.fragment().is_some() {
        return Err(bad("a URL with a #fragment is refused"));
    }
    let link_local = match url.host() {
        None => return Err(bad("the URL has no host")),
        Some(url::Host::Ipv4(ip)) => is_link_local(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_link_local(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "metadata.google.internal" || d == "instance-data" || d.ends_with(".internal.")
        }
    };
    if link_local {
        return Err(bad(
            "link-local and instance-metadata hosts are refused (they would expose the server's own credentials)",
        ));
    }
    Ok(url.to_string())
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_unspecified() || v4.octets()[0] == 0,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (s[0] & 0xffc0) == 0xfe80
                || v6.is_unspecified()
                // EC2's IPv6 metadata endpoint, fd00:ec2::254.
                || (s[0] == 0xfd00 && s[1] == 0x0ec2)
                || v6.to_ipv4_mapped().is_some_and(|v4| is_link_local(IpAddr::V4(v4)))
        }
    }
}

fn topic_arn(target: &str) -> Result<String, Refusal> {
    let parts: Vec<&str> = target.split(':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
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

/// A stored target as listed: a Slack URL is its own credential, so only its origin; a
/// webhook's query may carry a token, so not its query.
pub fn shown(kind: ChannelKind, target: &str) -> String {
    match kind {
        ChannelKind::Sns | ChannelKind::Digest => target.to_string(),
        ChannelKind::Slack | ChannelKind::Webhook => {
            let Ok(url) = Url::parse(target) else {
                return "(unreadable URL)".to_string();
            };
            let origin = url.origin().ascii_serialization();
            match kind {
                ChannelKind::Slack => format!("{origin}/…"),
                _ => {
                    let query = if url.query().is_some() { "?…" } else { "" };
                    format!("{origin}{}{query}", url.path())
                }
            }
        }
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
        for (input, allow_http, field, words) in refused {
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
                "https://hooks.example.org/in?…",
            ),
            (
                ChannelKind::Webhook,
                "https://hooks.example.org:8443/in",
                "https://hooks.example.org:8443/in",
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
}
