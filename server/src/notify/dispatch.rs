//! Sending what the queue holds. Every few seconds a server claims the deliveries that are due
//! (leased, so another server does not send them too), sends each to its channel and records
//! the attempt: delivered, tried again after `retry_after`, or given up. An attempt is
//! recorded only while its lease holds (`NotificationStore::record_attempt`), and no send
//! starts once a round is past `LAST_START`, so a slow receiver cannot make a lease run out
//! mid-send and another server send the same delivery again. A digest channel's deliveries come
//! due together at the digest hour and go out as one email through the mailer, like forwarded
//! mail.
//!
//! Webhooks are POSTed with a 10-second timeout and no redirects followed (a redirect would
//! carry the signed body somewhere the admin did not choose); only the receiver's status is
//! kept, never its body. Every name is resolved through `GuardedResolver`, which drops
//! link-local, metadata and (unless allowed) loopback addresses, so a DNS name cannot lead
//! where a literal address may not.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use app::notify::{ChannelKind, NoticeState, NotificationDelivery};

use super::channel::{refused_ip, url};
use super::{retry_after, sign, slack_body};
use crate::clock::{rfc3339, unix_now};
use crate::mailer::{Mailer, Outgoing, SendError};
use crate::store::{NoticeAttempt, NotificationStore, QueuedNotice, StoreError, StoredChannel};

/// How long a claimed delivery is this server's before another may take it over.
pub const LEASE: Duration = Duration::from_secs(120);
/// The most deliveries one round claims.
const ROUND: u32 = 10;
/// The longest one send may take (HTTP, SNS or the mailer).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// No send starts later in a round than this, so every send ends inside the lease.
const LAST_START: Duration = Duration::from_secs(90);
/// No claim is made later in a round than this, so what it claims can still be sent.
const LAST_CLAIM: Duration = Duration::from_secs(60);

/// Why an attempt failed, and whether trying again could help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: Option<u16>,
    pub error: String,
    pub permanent: bool,
}

/// A name that resolved only to addresses a notification may not go to.
#[derive(Debug)]
struct RefusedHost;

impl std::fmt::Display for RefusedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host resolves only to refused addresses")
    }
}

impl std::error::Error for RefusedHost {}

/// Resolves as the system does, then keeps only the addresses `refused_ip` allows.
struct GuardedResolver {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let kept: Vec<SocketAddr> = found
                .filter(|a| !refused_ip(a.ip(), allow_loopback))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(RefusedHost) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

pub struct Dispatcher {
    store: Arc<dyn NotificationStore>,
    http: reqwest::Client,
    sns: tokio::sync::OnceCell<aws_sdk_sns::Client>,
    mailer: Arc<dyn Mailer>,
    /// The digest's `From` (the forwarder address).
    from: String,
    /// Names this mailvend in Slack text and digest subjects (its domain).
    instance: String,
    /// `MAILVEND_NOTIFY_ALLOW_HTTP`: plain http and this machine's addresses allowed.
    allow_http: bool,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn NotificationStore>,
        mailer: Arc<dyn Mailer>,
        from: &str,
        instance: &str,
        allow_http: bool,
    ) -> Dispatcher {
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                allow_loopback: allow_http,
            }))
            .user_agent(concat!("mailvend/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Dispatcher {
            store,
            http,
            sns: tokio::sync::OnceCell::new(),
            mailer,
            from: from.to_string(),
            instance: instance.to_string(),
            allow_http,
        }
    }

    /// This dispatcher publishing through `client` (tests point it at moto); otherwise the
    /// standard AWS configuration chain is read at the first SNS delivery.
    pub fn with_sns(self, client: aws_sdk_sns::Client) -> Dispatcher {
        let cell = tokio::sync::OnceCell::new();
        let _ = cell.set(client);
        Dispatcher { sns: cell, ..self }
    }

    /// One round: claims what is due at `now` (ten at a time, while the round is young), sends
    /// it, records each attempt. A digest channel's rows are gathered over the whole round and
    /// go out as one mail. How many deliveries it attempted.
    pub async fn run_once(&self, now: SystemTime) -> Result<usize, StoreError> {
        let started = Instant::now();
        let mut channels: Option<BTreeMap<String, StoredChannel>> = None;
        let mut digests: BTreeMap<String, Vec<QueuedNotice>> = BTreeMap::new();
        let mut attempted = 0;
        while started.elapsed() < LAST_CLAIM {
            let claimed = self
                .store
                .claim_due(&rfc3339(now), &rfc3339(now + LEASE), ROUND)
                .await?;
            let full = claimed.len() == ROUND as usize;
            if claimed.is_empty() {
                break;
            }
            if channels.is_none() {
                let all = self.store.channels().await?;
                channels = Some(all.into_iter().map(|c| (c.id.clone(), c)).collect());
            }
            let known = channels.as_ref().expect("read above");
            for notice in claimed {
                let Some(channel) = known.get(&notice.delivery.channel_id) else {
                    let gone = Failure {
                        status: None,
                        error: "the channel was removed".into(),
                        permanent: true,
                    };
                    self.record(&notice, Err(gone), now).await?;
                    continue;
                };
                if channel.kind == ChannelKind::Digest {
                    digests.entry(channel.id.clone()).or_default().push(notice);
                    continue;
                }
                // Past it, the rest waits for its lease to run out and the next claim.
                if started.elapsed() > LAST_START {
                    break;
                }
                let sent = self.send(channel, &notice, now).await;
                self.record(&notice, sent, now).await?;
                attempted += 1;
            }
            if !full {
                break;
            }
        }
        for (id, notices) in digests {
            if started.elapsed() > LAST_START {
                break;
            }
            let channel = &channels.as_ref().expect("digests come from claims")[&id];
            let sent = self.send_digest(channel, &notices, now).await;
            for notice in &notices {
                self.record(notice, sent.clone(), now).await?;
            }
            attempted += notices.len();
        }
        Ok(attempted)
    }

    /// Sends `notice`, queued for `channel` under its lease (`queue(.., at_once)`), now: the
    /// test button. Its row as recorded.
    pub async fn deliver_now(
        &self,
        channel: &StoredChannel,
        notice: &QueuedNotice,
        now: SystemTime,
    ) -> Result<NotificationDelivery, StoreError> {
        let sent = self.send(channel, notice, now).await;
        self.settle(notice, sent, now).await
    }

    /// Runs a round whenever this process queues a notification, and every `poll` (for what
    /// other processes queued, retries and digests that came due), until the process ends; a
    /// failed round is logged. Polling is the dispatcher's fixed cost: one claim (a store
    /// query) per `poll` per server. Once an hour, settled deliveries older than `keep_days`
    /// (the retention) leave the log.
    pub async fn run(self: Arc<Self>, keep_days: u32, poll: Duration) {
        let mut last_purge: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = super::queue::QUEUED.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
            if let Err(e) = self.run_once(SystemTime::now()).await {
                tracing::error!(error = %e, "notification round failed");
            }
            if last_purge.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                last_purge = Some(Instant::now());
                let cutoff = crate::clock::before(
                    SystemTime::now(),
                    Duration::from_secs(u64::from(keep_days) * 86_400),
                );
                match self.store.purge_deliveries(&cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "old notification deliveries purged"),
                    Err(e) => tracing::error!(error = %e, "purging notification deliveries failed"),
                }
            }
        }
    }

    /// `settle`, where a lease lost meanwhile is logged rather than failing the round: the
    /// server that took the row over records what it did.
    async fn record(
        &self,
        notice: &QueuedNotice,
        sent: Result<Option<u16>, Failure>,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        match self.settle(notice, sent, now).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(m)) => {
                tracing::warn!(delivery = %notice.delivery.id, "{m}");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Records what the attempt at `notice` came to, under the lease its claim set; the row
    /// as it now stands.
    async fn settle(
        &self,
        notice: &QueuedNotice,
        sent: Result<Option<u16>, Failure>,
        now: SystemTime,
    ) -> Result<NotificationDelivery, StoreError> {
        let d = &notice.delivery;
        let attempts = d.attempts + 1;
        let attempt = match sent {
            Ok(status) => NoticeAttempt {
                id: d.id.clone(),
                lease: d.next_at.clone().unwrap_or_default(),
                attempts,
                state: NoticeState::Delivered,
                next_at: None,
                status,
                error: None,
                delivered_at: Some(rfc3339(now)),
            },
            Err(f) => {
                let wait = (!f.permanent).then(|| retry_after(attempts)).flatten();
                if wait.is_none() {
                    tracing::warn!(delivery = %d.id, channel = %d.channel_id, error = %f.error, "a notification was given up");
                }
                NoticeAttempt {
                    id: d.id.clone(),
                    lease: d.next_at.clone().unwrap_or_default(),
                    attempts,
                    state: match wait {
                        Some(_) => NoticeState::Pending,
                        None => NoticeState::Failed,
                    },
                    next_at: wait.map(|w| rfc3339(now + w)),
                    status: f.status,
                    error: Some(f.error),
                    delivered_at: None,
                }
            }
        };
        self.store.record_attempt(&attempt).await?;
        Ok(NotificationDelivery {
            attempts,
            state: attempt.state,
            next_at: attempt.next_at,
            last_status: attempt.status,
            last_error: attempt.error,
            delivered_at: attempt.delivered_at,
            ..d.clone()
        })
    }

    async fn send(
        &self,
        channel: &StoredChannel,
        notice: &QueuedNotice,
        now: SystemTime,
    ) -> Result<Option<u16>, Failure> {
        let refused = |m: String| Failure {
            status: None,
            error: m,
            permanent: true,
        };
        match channel.kind {
            ChannelKind::Webhook | ChannelKind::Slack => {
                // Checked again here: a channel made where http was allowed is not used by a
                // server that does not allow it.
                url(&channel.target, self.allow_http)
                    .map_err(|(_, m)| refused(format!("the target is refused here: {m}")))?;
                let body = match channel.kind {
                    ChannelKind::Slack => slack_body(&self.instance, &notice.delivery.summary),
                    _ => notice.body.clone(),
                };
                let mut request = self
                    .http
                    .post(&channel.target)
                    .header("content-type", "application/json");
                if channel.kind == ChannelKind::Webhook {
                    let Some(secret) = &channel.secret else {
                        return Err(refused("the webhook has no signing secret".into()));
                    };
                    let ts = unix_now();
                    request = request
                        .header(sign::TIMESTAMP_HEADER, ts.to_string())
                        .header(
                            sign::SIGNATURE_HEADER,
                            sign::signature(secret.expose().as_bytes(), ts, body.as_bytes()),
                        )
                        .header("X-Mailvend-Event", notice.delivery.event.as_str())
                        .header("X-Mailvend-Delivery", &notice.delivery.id);
                }
                http_result(request.body(body).send().await)
            }
            ChannelKind::Sns => self.publish(&channel.target, notice).await,
            ChannelKind::Digest => {
                self.send_digest(channel, std::slice::from_ref(notice), now)
                    .await
            }
        }
    }

    async fn publish(&self, topic: &str, notice: &QueuedNotice) -> Result<Option<u16>, Failure> {
        use aws_sdk_sns::error::ProvideErrorMetadata;
        let client = self
            .sns
            .get_or_init(|| async {
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .load()
                    .await;
                aws_sdk_sns::Client::new(&config)
            })
            .await;
        let attribute = aws_sdk_sns::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(notice.delivery.event.as_str())
            .build()
            .map_err(|e| Failure {
                status: None,
                error: e.to_string(),
                permanent: true,
            })?;
        // A topic is published to in its own region, whatever the default region is.
        let region = topic.split(':').nth(3).unwrap_or_default().to_string();
        let request = client
            .publish()
            .topic_arn(topic)
            .subject(format!("mailvend: {}", notice.delivery.event.as_str()))
            .message(&notice.body)
            .message_attributes("event", attribute)
            .customize()
            .config_override(
                aws_sdk_sns::config::Builder::default()
                    .region(aws_sdk_sns::config::Region::new(region)),
            )
            .send();
        let sent = match tokio::time::timeout(SEND_TIMEOUT, request).await {
            Ok(sent) => sent,
            Err(_) => {
                return Err(Failure {
                    status: None,
                    error: "SNS did not answer within 10 s".into(),
                    permanent: false,
                })
            }
        };
        match sent {
            Ok(_) => Ok(None),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let code = e.code().unwrap_or("").to_string();
                Err(Failure {
                    status,
                    error: match e.message() {
                        Some(m) => format!("SNS {code}: {m}"),
                        None => format!("SNS: {}", aws_sdk_sns::error::DisplayErrorContext(&e)),
                    },
                    permanent: sns_permanent(&code),
                })
            }
        }
    }

    async fn send_digest(
        &self,
        channel: &StoredChannel,
        notices: &[QueuedNotice],
        now: SystemTime,
    ) -> Result<Option<u16>, Failure> {
        let raw = digest_mail(&self.from, &channel.target, &self.instance, notices, now);
        let msg = Outgoing {
            from: self.from.clone(),
            to: vec![channel.target.clone()],
            raw,
            source_message_id: format!(
                "digest-{}",
                notices
                    .first()
                    .map(|n| n.delivery.id.as_str())
                    .unwrap_or("")
            ),
            recipient: channel.target.clone(),
        };
        match tokio::time::timeout(SEND_TIMEOUT, self.mailer.send(&msg)).await {
            Ok(Ok(_)) => Ok(None),
            Ok(Err(e)) => Err(Failure {
                status: None,
                permanent: matches!(e, SendError::Permanent(_)),
                error: e.to_string(),
            }),
            Err(_) => Err(Failure {
                status: None,
                error: "the mailer did not answer within 10 s".into(),
                permanent: false,
            }),
        }
    }
}

/// SNS errors that trying again cannot mend: the topic is not there, this server may not
/// publish to it, or the request is malformed. Everything else (throttling, KMS throttling,
/// an expired token from clock skew, 5xx) is tried again.
fn sns_permanent(code: &str) -> bool {
    matches!(
        code,
        "NotFound"
            | "AuthorizationError"
            | "InvalidParameter"
            | "InvalidParameterValue"
            | "KMSDisabled"
            | "KMSNotFound"
            | "KMSInvalidState"
            | "KMSAccessDenied"
            | "InvalidSecurity"
    )
}

/// A receiver's answer: 2xx delivered; a redirect (never followed) and 4xx other than 408 and
/// 429 will not change by trying again; anything else, and no answer, is tried again.
fn http_result(sent: Result<reqwest::Response, reqwest::Error>) -> Result<Option<u16>, Failure> {
    match sent {
        Ok(r) if r.status().is_success() => Ok(Some(r.status().as_u16())),
        Ok(r) => {
            let status = r.status().as_u16();
            Err(Failure {
                status: Some(status),
                error: match status {
                    300..=399 => {
                        format!("the receiver answered {status} (redirects are not followed)")
                    }
                    _ => format!("the receiver answered {status}"),
                },
                permanent: (300..500).contains(&status) && status != 408 && status != 429,
            })
        }
        Err(e) => {
            let refused =
                std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
                    e.source()
                })
                .any(|e| e.is::<RefusedHost>());
            Err(Failure {
                status: None,
                error: if refused {
                    "the host resolves only to refused addresses (link-local, metadata or this machine)"
                        .to_string()
                } else if e.is_timeout() {
                    "no answer within 10 s".to_string()
                } else if e.is_connect() {
                    "could not connect".to_string()
                } else {
                    "the request failed".to_string()
                },
                permanent: refused,
            })
        }
    }
}

/// The digest email: one line per notification, oldest first. The lines come from strangers'
/// mail (addresses, SES's reasons): they stay in the body, with control characters removed,
/// and only the count and the instance reach a header.
pub fn digest_mail(
    from: &str,
    to: &str,
    instance: &str,
    notices: &[QueuedNotice],
    now: SystemTime,
) -> Vec<u8> {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let instance: String = clean(instance)
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .collect();
    let date = httpdate_rfc2822(now);
    let mut body = format!(
        "{} notification(s) from mailvend ({instance}) since the last digest:\r\n\r\n",
        notices.len()
    );
    for n in notices {
        body.push_str(&format!(
            "- {} [{}] {}\r\n",
            n.delivery.created_at,
            n.delivery.event.as_str(),
            clean(&n.delivery.summary)
        ));
    }
    body.push_str("\r\nThe delivery log is on the dashboard's Notifications page.\r\n");
    let id = notices
        .first()
        .map(|n| n.delivery.id.clone())
        .unwrap_or_default();
    let domain = from.rsplit('@').next().unwrap_or("localhost");
    format!(
        "From: mailvend <{from}>\r\nTo: {to}\r\nSubject: mailvend ({instance}): {} notification(s)\r\n\
         Date: {date}\r\nMessage-ID: <digest-{id}@{domain}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\
         Auto-Submitted: auto-generated\r\n\r\n{body}",
        notices.len()
    )
    .into_bytes()
}

/// `Date:` as RFC 5322 wants it, in UTC.
fn httpdate_rfc2822(t: SystemTime) -> String {
    // An HTTP date ("Sat, 05 Dec 2026 22:00:00 GMT") is a valid RFC 5322 date.
    httpdate::fmt_http_date(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NotificationStore;
    use app::notify::{NotificationDelivery, NotifyEvent};

    fn notice(summary: &str) -> QueuedNotice {
        QueuedNotice {
            delivery: NotificationDelivery {
                id: "n_20261205T100000000Z_000000000001".into(),
                channel_id: "ch_1".into(),
                channel_kind: ChannelKind::Digest,
                event: NotifyEvent::DeadLetter,
                summary: summary.into(),
                state: NoticeState::Pending,
                attempts: 0,
                next_at: None,
                last_status: None,
                last_error: None,
                created_at: "2026-12-05T10:00:00.000Z".into(),
                delivered_at: None,
            },
            body: "{}".into(),
        }
    }

    use crate::notify::queue::Notifier;
    use crate::notify::Event;
    use crate::secret::Secret;
    use crate::store::sqlite::SqliteStore;
    use crate::testing::receiver::Receiver;
    use app::model::AuditEntry;

    async fn add(
        store: &SqliteStore,
        id: &str,
        kind: ChannelKind,
        target: &str,
        events: &[NotifyEvent],
    ) {
        let channel = StoredChannel {
            id: id.into(),
            kind,
            target: target.into(),
            secret: (kind == ChannelKind::Webhook).then(|| Secret::new("whsec_x")),
            events: events.to_vec(),
            created_at: "2026-12-05T10:00:00.000Z".into(),
            created_by: "admin@corp.example".into(),
        };
        let entry = AuditEntry {
            at: channel.created_at.clone(),
            actor: channel.created_by.clone(),
            action: "add_channel".into(),
            subject: format!("channel:{id}"),
            before: None,
            after: None,
        };
        store.add_channel(&channel, &entry).await.unwrap();
    }

    /// The SNS channel through the real SDK against moto: the topic's HTTP subscriber (the
    /// receiver) gets the event's JSON as the SNS message; a topic that is not there fails
    /// at once, not for a day of retries. And Slack's text reaches its webhook escaped.
    #[tokio::test]
    async fn sns_topics_and_slack_hooks_are_told() {
        let (config, _) = crate::testing::moto::sdk_config().await;
        let sns = aws_sdk_sns::Client::new(&config);
        let name = format!("mailvend-{:x}", rand::random::<u32>());
        let topic = sns
            .create_topic()
            .name(&name)
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let receiver = Receiver::start(&[]).await;
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("http")
            .endpoint(&receiver.url)
            .send()
            .await
            .unwrap();
        let slack = Receiver::start(&[]).await;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("n.db")).await.unwrap());
        add(
            &store,
            "ch_topic",
            ChannelKind::Sns,
            &topic,
            &[NotifyEvent::DriftFound],
        )
        .await;
        let missing = topic.replace(&name, "no-such-topic");
        add(
            &store,
            "ch_gone",
            ChannelKind::Sns,
            &missing,
            &[NotifyEvent::DriftFound],
        )
        .await;
        add(
            &store,
            "ch_slack",
            ChannelKind::Slack,
            &slack.url,
            &[NotifyEvent::OwnerUnreachable],
        )
        .await;

        let now = SystemTime::now();
        let notifier = Notifier::new(store.clone());
        assert_eq!(
            notifier
                .raise(
                    &Event::DriftFound {
                        accounts: 3,
                        account_ids: vec!["111111111111".into()],
                    },
                    now,
                )
                .await,
            2
        );
        let unreachable = Event::OwnerUnreachable {
            recipient: "<!channel>@evil.example".into(),
            reason: "bounced".into(),
        };
        assert_eq!(notifier.raise(&unreachable, now).await, 1);
        let outbox = crate::mailer::outbox::Outbox::new(dir.path().join("outbox"));
        let dispatcher = Dispatcher::new(
            store.clone(),
            Arc::new(outbox),
            "forwarder@mail.example.com",
            "mail.example.com",
            true,
        )
        .with_sns(sns);
        assert_eq!(dispatcher.run_once(now).await.unwrap(), 3);

        let got = receiver.wait_for(1).await;
        assert_eq!(got.len(), 1, "{got:?}");
        let note: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(note["Type"], "Notification");
        assert_eq!(note["TopicArn"], topic.as_str());
        assert_eq!(note["Subject"], "mailvend: drift_found");
        let event: serde_json::Value =
            serde_json::from_str(note["Message"].as_str().unwrap()).unwrap();
        assert_eq!(event["account_ids"], serde_json::json!(["111111111111"]));
        assert_eq!(
            (&event["event"], &event["accounts"]),
            (&serde_json::json!("drift_found"), &serde_json::json!(3))
        );

        let text: serde_json::Value =
            serde_json::from_str(&slack.wait_for(1).await[0].body).unwrap();
        assert_eq!(
            text["text"],
            "mailvend (mail.example.com): &lt;!channel&gt;@evil.example is unreachable (bounced); their mail goes to the fallback"
        );

        let log = store.deliveries(10).await.unwrap();
        let state = |id: &str| {
            log.iter()
                .find(|d| d.channel_id == id)
                .map(|d| (d.state, d.attempts, d.last_error.clone()))
        };
        assert_eq!(state("ch_topic"), Some((NoticeState::Delivered, 1, None)));
        assert_eq!(state("ch_slack").map(|s| s.0), Some(NoticeState::Delivered));
        let (gone, attempts, error) = state("ch_gone").unwrap();
        assert_eq!((gone, attempts), (NoticeState::Failed, 1), "{error:?}");
        assert!(error.unwrap().contains("NotFound"));
    }

    /// A day's digest goes as one mail however many rounds of claims it takes, to the
    /// channel's own address.
    #[tokio::test]
    async fn a_digest_of_many_events_is_one_mail() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("d.db")).await.unwrap());
        add(
            &store,
            "ch_digest",
            ChannelKind::Digest,
            "ops@corp.example",
            &[NotifyEvent::DeadLetter],
        )
        .await;
        let now = SystemTime::now();
        let notifier = Notifier::new(store.clone());
        for n in 0..25 {
            let dead = Event::DeadLetter {
                message_id: format!("m-{n}/a@mail.example.com"),
                recipient: "a@mail.example.com".into(),
                detail: format!("failure {n}"),
            };
            assert_eq!(notifier.raise(&dead, now).await, 1);
        }
        let outbox_dir = dir.path().join("outbox");
        let dispatcher = Dispatcher::new(
            store.clone(),
            Arc::new(crate::mailer::outbox::Outbox::new(outbox_dir.clone())),
            "forwarder@mail.example.com",
            "mail.example.com",
            false,
        );
        assert_eq!(
            dispatcher.run_once(now).await.unwrap(),
            0,
            "not before 07:00"
        );
        let at = crate::notify::queue::next_digest(now) + Duration::from_secs(5);
        assert_eq!(dispatcher.run_once(at).await.unwrap(), 25);
        let sent = crate::testing::outbox(&outbox_dir);
        assert_eq!(sent.len(), 1, "one mail");
        assert_eq!(sent[0].0["to"], serde_json::json!(["ops@corp.example"]));
        let text = String::from_utf8_lossy(&sent[0].1);
        assert!(text.contains("25 notification(s)"), "{text}");
        assert!(
            text.contains("failure 0") && text.contains("failure 24"),
            "{text}"
        );
        let log = store.deliveries(50).await.unwrap();
        assert!(
            log.iter().all(|d| d.state == NoticeState::Delivered),
            "{log:?}"
        );
    }

    /// Names are resolved, then judged like literal addresses: `localhost` is this machine.
    #[tokio::test]
    async fn names_that_resolve_to_refused_addresses_are_not_connected_to() {
        use reqwest::dns::Resolve;
        let name = |n: &str| n.parse::<reqwest::dns::Name>().unwrap();
        let strict = GuardedResolver {
            allow_loopback: false,
        };
        let refused = strict.resolve(name("localhost")).await;
        assert!(refused.is_err_and(|e| e.is::<RefusedHost>()));
        let local = GuardedResolver {
            allow_loopback: true,
        };
        let addrs: Vec<SocketAddr> = local.resolve(name("localhost")).await.unwrap().collect();
        assert!(addrs.iter().any(|a| a.ip().is_loopback()), "{addrs:?}");
        // And through the client: the error says why, and the channel is not tried again.
        let dir = tempfile::tempdir().unwrap();
        let dispatcher = Dispatcher::new(
            Arc::new(SqliteStore::open(&dir.path().join("r.db")).await.unwrap()),
            Arc::new(crate::mailer::outbox::Outbox::new(
                dir.path().join("outbox"),
            )),
            "forwarder@mail.example.com",
            "mail.example.com",
            false,
        );
        let sent = http_result(
            dispatcher
                .http
                .post("https://localhost:9/hook")
                .send()
                .await,
        );
        let failure = sent.unwrap_err();
        assert!(failure.permanent, "{failure:?}");
        assert!(failure.error.contains("refused addresses"), "{failure:?}");
    }

    #[test]
    fn redirects_and_client_errors_are_final_the_rest_is_retried() {
        for (code, permanent) in [
            ("NotFound", true),
            ("AuthorizationError", true),
            ("Throttling", false),
            ("KMSThrottling", false),
            ("ExpiredToken", false),
            ("InternalError", false),
        ] {
            assert_eq!(sns_permanent(code), permanent, "{code}");
        }
    }

    /// A stranger's text cannot add a header to the digest.
    #[test]
    fn the_digest_keeps_strangers_text_in_its_body() {
        let raw = digest_mail(
            "forwarder@mail.example.com",
            "admin@corp.example",
            "mail.example.com",
            &[notice(
                "Dead letter for x@y: bad\r\nBcc: victim@evil.example",
            )],
            humantime::parse_rfc3339("2026-12-06T07:00:00Z").unwrap(),
        );
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(!head.to_ascii_lowercase().contains("bcc"), "{head}");
        assert!(head.contains("Subject: mailvend (mail.example.com): 1 notification(s)"));
        assert!(
            head.contains("Date: Sun, 06 Dec 2026 07:00:00 GMT"),
            "{head}"
        );
        assert!(body.contains("bad  Bcc: victim@evil.example"), "{body}");
        let parsed = mail_parser::MessageParser::default()
            .parse(text.as_bytes())
            .unwrap();
        assert_eq!(
            parsed.to().unwrap().first().unwrap().address(),
            Some("admin@corp.example")
        );
        assert!(parsed.bcc().is_none());
    }
}
