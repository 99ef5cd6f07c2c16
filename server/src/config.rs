//! Typed, validated configuration. Values come from `MAILVEND_*` environment variables,
//! over an optional `mailvend.toml` holding the same keys in lower case without the prefix.
//! Every problem is reported with the variable's name and what was expected, and the
//! server refuses to start until it is fixed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

use app::address::{parse_domain, parse_mailbox};

use crate::secret::Secret;

/// How many addresses the restricted group may have (one send carries them all).
const MAX_RESTRICTED: usize = 20;

/// Every key the file may hold; the environment names are these upper-cased with `MAILVEND_`.
const KEYS: &[&str] = &[
    "domain",
    "from_address",
    "admin_address",
    "fallback_address",
    "catch_all",
    "header_value",
    "counter_width",
    "store",
    "mailer",
    "ses_configuration_set",
    "sns_topic_arns",
    "sns_cert_dir",
    "public_url",
    "oidc_issuer",
    "oidc_client_id",
    "oidc_client_secret",
    "admin_groups",
    "admin_emails",
    "local_login_token",
    "retention_days",
    "log_format",
    "account_types",
    "max_received",
    "loop_key",
    "unscanned_mail",
    "sns_max_age",
    "sns_min_signature_version",
    "s3_bucket",
    "s3_prefix",
    "inbound_budget_mb",
    "reserved_addresses",
    "vend_token_address_override",
    "session_lifetime",
    "metrics_addr",
    "metrics_token",
    "trusted_proxies",
    "rate_limit",
    "claim_lease",
    "drain",
    "shutdown_grace",
    "interactive_nice",
    "mail_class_rules",
    "restricted_to",
    "hold_for_days",
    "notify_allow_http",
    "notify_poll",
    "organizations",
    "organizations_role_arn",
    "organizations_sync_every",
    "organizations_unused_days",
    "organizations_root_emails",
    "organizations_code_wait",
    "organizations_move_pace",
    "organizations_verify_subject",
    "organizations_verify_senders",
];

/// Where the server listens unless told otherwise (Leptos's convention).
const DEFAULT_SITE_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 3000);

/// `MAILVEND_SNS_MAX_AGE`'s default: a day, above SNS's retry window for HTTP endpoints.
pub const DEFAULT_SNS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// `MAILVEND_INBOUND_BUDGET_MB`'s default: suits a 1 GiB task. A message is in memory about
/// twice while it is rewritten (content, rewritten copy) and SES's mailer adds about 2.4 times
/// more while it sends (its request copy, base64): 128 MiB of content is about 560 MiB at worst
/// (docs/benchmarks.md).
pub const DEFAULT_INBOUND_BUDGET_MB: u64 = 128;

/// `MAILVEND_CLAIM_LEASE`'s default: longer than the slowest send with its retries, short
/// enough that SNS's retries find the claim free after a crash.
pub const DEFAULT_CLAIM_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// `MAILVEND_` variables that are not configuration keys but are still ours.
const ENV_ONLY: &[&str] = &["MAILVEND_CONFIG"];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub domain: String,
    pub from_address: String,
    pub admin_address: String,
    /// Where mail for an address whose recipient is marked unreachable also goes
    /// (`MAILVEND_FALLBACK_ADDRESS`, the admin address unless set; `none` turns it off).
    pub fallback_address: Option<String>,
    pub catch_all: bool,
    pub header_value: String,
    pub counter_width: u8,
    /// The account types a vend may name; matched in any case, stored as spelled here.
    pub account_types: Vec<String>,
    pub store: StoreUrl,
    pub mailer: MailerUrl,
    /// The SES configuration set sends carry (`MAILVEND_SES_CONFIGURATION_SET`), whose event
    /// destination posts delivery events to `/sns`.
    pub ses_configuration_set: Option<String>,
    pub sns_topic_arns: Vec<String>,
    pub sns_cert_dir: Option<PathBuf>,
    pub public_url: Url,
    pub oidc: Option<OidcConfig>,
    pub admin_groups: Vec<String>,
    pub admin_emails: Vec<String>,
    pub local_login_token: Option<Secret>,
    pub retention_days: u32,
    pub site_addr: SocketAddr,
    pub log_format: LogFormat,
    /// More `Received` headers than this and inbound mail is taken for a loop.
    pub max_received: usize,
    /// The key of the loop mark (`X-Mailvend-Loop`).
    pub loop_key: Secret,
    /// Hold mail without a virus PASS as a dead letter (`MAILVEND_UNSCANNED_MAIL=hold`).
    pub hold_unscanned: bool,
    /// Signed SNS notifications older than this are refused as replays.
    pub sns_max_age: std::time::Duration,
    /// 2 refuses SignatureVersion 1 (SHA1withRSA) notifications.
    pub sns_min_signature_version: u8,
    /// The only bucket (and key prefix) S3-action content may be read from.
    pub s3_scope: Option<S3Scope>,
    /// MiB of inbound mail content in memory at once before `/sns` answers 503.
    pub inbound_budget_mb: u64,
    /// Local parts nobody may vend besides the built-in role names (`MAILVEND_RESERVED_ADDRESSES`).
    pub reserved_addresses: Vec<String>,
    /// Whether a `vend`-scope token may choose the address (`MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE`).
    pub vend_token_address_override: bool,
    /// A session ends this long after sign-in, however active (`MAILVEND_SESSION_LIFETIME`).
    pub session_lifetime: std::time::Duration,
    /// `/metrics` on this listener only, instead of the main one (`MAILVEND_METRICS_ADDR`).
    pub metrics_addr: Option<SocketAddr>,
    /// `/metrics` on the main listener needs `Authorization: Bearer <this>` (`MAILVEND_METRICS_TOKEN`).
    pub metrics_token: Option<Secret>,
    /// Proxies whose `X-Forwarded-For` is believed (`MAILVEND_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests a minute one client may make to sign-in and the API (`MAILVEND_RATE_LIMIT`).
    pub rate_limit: u32,
    /// How long a delivery's claim on a record holds before another server may take it over
    /// (`MAILVEND_CLAIM_LEASE`): after a crash, the mail it held waits this long.
    pub claim_lease: std::time::Duration,
    /// After SIGTERM, how long `/healthz` fails and `/sns` answers 503 before the listener
    /// closes, so the load balancer stops sending first (`MAILVEND_DRAIN`).
    pub drain: std::time::Duration,
    /// After the listener closes, how long requests in flight may take to finish before the
    /// process exits anyway (`MAILVEND_SHUTDOWN_GRACE`).
    pub shutdown_grace: std::time::Duration,
    /// How much lower than the mail's the CPU priority of pages, the API and exports is
    /// (`MAILVEND_INTERACTIVE_NICE`, a nice value from 0 to 19; `crate::web::lanes`).
    pub interactive_nice: u8,
    /// More rows for the mail-class table (`MAILVEND_MAIL_CLASS_RULES`), tried before the
    /// built-in ones.
    pub mail_class_rules: Vec<MailClassRule>,
    /// The restricted group (`MAILVEND_RESTRICTED_TO`): the only recipients of a class whose
    /// policy is `restricted`. Empty: no class can be restricted.
    pub restricted_to: Vec<String>,
    /// How many days held mail waits for an admin before it expires (`MAILVEND_HOLD_FOR_DAYS`).
    pub hold_for_days: u32,
    /// Whether notification channels may post to plain-http URLs
    /// (`MAILVEND_NOTIFY_ALLOW_HTTP`, off: for receivers on the local machine in tests).
    pub notify_allow_http: bool,
    /// How often a server looks for notifications other processes queued and retries that
    /// came due (`MAILVEND_NOTIFY_POLL`); what it queues itself it sends at once.
    pub notify_poll: std::time::Duration,
    /// Reading the AWS organization's accounts (`MAILVEND_ORGANIZATIONS=on`), else `None`.
    pub organizations: Option<OrganizationsConfig>,
    /// Things worth telling the operator that do not stop the start (unknown variables).
    pub warnings: Vec<String>,
}

/// How mailvend reads the AWS organization (`MAILVEND_ORGANIZATIONS_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationsConfig {
    /// A role to assume in the management or delegated-admin account; else the credentials
    /// the SDK finds.
    pub role_arn: Option<String>,
    /// How often the server syncs on its own (`off`: only on demand).
    pub sync_every: Option<std::time::Duration>,
    /// A live mapping older than this that no account uses is listed as unused.
    pub unused_days: u32,
    /// Whether mailvend may change accounts' root emails (`MAILVEND_ORGANIZATIONS_ROOT_EMAILS`,
    /// off by default: reading the organization needs less trust than changing it).
    pub root_emails: bool,
    /// How long a root email change job waits for AWS's verification mail before it fails
    /// as `expired`.
    pub code_wait: std::time::Duration,
    /// The pause between two `StartPrimaryEmailUpdate` calls of queued jobs.
    pub move_pace: std::time::Duration,
    /// AWS's verification mail: its subject, and the domains it may come from (SPF and DKIM
    /// must pass for the envelope sender's domain).
    pub verify_subject: String,
    pub verify_senders: Vec<String>,
}

/// Where S3-action content may come from (`MAILVEND_S3_BUCKET`, `MAILVEND_S3_PREFIX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Scope {
    pub bucket: String,
    pub prefix: String,
}

impl S3Scope {
    /// Whether `bucket`/`key` is inside the scope (names compared exactly, as S3 does).
    pub fn allows(&self, bucket: &str, key: &str) -> bool {
        bucket == self.bucket && key.starts_with(&self.prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Sqlite(PathBuf),
    DynamoDb { table_prefix: String },
}

impl StoreUrl {
    /// The name shown to admins; never the path or the table names.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreUrl::Sqlite(_) => "SQLite",
            StoreUrl::DynamoDb { .. } => "DynamoDB",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailerUrl {
    Outbox(PathBuf),
    Ses,
    Smtp { host: String, port: u16 },
}

impl MailerUrl {
    pub fn kind(&self) -> &'static str {
        match self {
            MailerUrl::Outbox(_) => "outbox",
            MailerUrl::Ses => "SES v2",
            MailerUrl::Smtp { .. } => "SMTP relay",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OidcConfig {
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// One configuration problem, naming where the value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// `MAILVEND_DOMAIN`, or `domain (in mailvend.toml)`.
    pub source_name: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source_name, self.message)
    }
}

/// All the problems found, so an operator fixes them in one go rather than one per restart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

/// A raw value and where it came from.
struct Raw {
    value: String,
    source_name: String,
}

struct Reader {
    values: BTreeMap<&'static str, Raw>,
    errors: Vec<ConfigError>,
}

impl Reader {
    fn error(&mut self, key: &str, message: impl Into<String>) {
        let source_name = self
            .values
            .get(key)
            .map(|r| r.source_name.clone())
            .unwrap_or_else(|| env_name(key));
        self.errors.push(ConfigError {
            source_name,
            message: message.into(),
        });
    }

    /// The trimmed value, or `None` when unset or empty.
    fn get(&self, key: &str) -> Option<String> {
        self.values
            .get(key)
            .map(|r| r.value.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn parse<T>(
        &mut self,
        key: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        match self.get(key) {
            None => default,
            Some(v) => match parse(&v) {
                Ok(t) => t,
                Err(message) => {
                    self.error(key, message);
                    default
                }
            },
        }
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn env_name(key: &str) -> String {
    format!("MAILVEND_{}", key.to_ascii_uppercase())
}

impl Config {
    /// Reads the process environment and, if present, the file named by `MAILVEND_CONFIG`
    /// (default `mailvend.toml` in the working directory).
    pub fn from_process() -> Result<Config, ConfigErrors> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let explicit = env
            .iter()
            .find(|(k, _)| k == "MAILVEND_CONFIG")
            .map(|(_, v)| PathBuf::from(v));
        let path = explicit
            .clone()
            .unwrap_or_else(|| PathBuf::from("mailvend.toml"));
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => Some((path.display().to_string(), text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => None,
            Err(e) => {
                return Err(ConfigErrors(vec![ConfigError {
                    source_name: "MAILVEND_CONFIG".into(),
                    message: format!("cannot read {}: {e}", path.display()),
                }]))
            }
        };
        Config::load(env, file.as_ref().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// Pure loading: `env` is every environment variable, `file` is `(name, contents)`.
    pub fn load(
        env: impl IntoIterator<Item = (String, String)>,
        file: Option<(&str, &str)>,
    ) -> Result<Config, ConfigErrors> {
        let mut r = Reader {
            values: BTreeMap::new(),
            errors: Vec::new(),
        };
        let mut site_addr_raw = None;
        let mut port_raw: Option<String> = None;
        let mut warnings = Vec::new();

        if let Some((file_name, text)) = file {
            read_file(&mut r, file_name, text);
        }
        for (name, value) in env {
            if name == "LEPTOS_SITE_ADDR" {
                site_addr_raw = Some(value);
                continue;
            }
            // Container platforms say where to listen with PORT.
            if name == "PORT" {
                port_raw = Some(value);
                continue;
            }
            let Some(suffix) = name.strip_prefix("MAILVEND_") else {
                continue;
            };
            if ENV_ONLY.contains(&name.as_str()) {
                continue;
            }
            let lower = suffix.to_ascii_lowercase();
            match KEYS.iter().find(|k| **k == lower) {
                Some(key) => {
                    r.values.insert(
                        key,
                        Raw {
                            value,
                            source_name: name,
                        },
                    );
                }
                // Not an error: orchestrators add their own variables with our prefix
                // (Kubernetes service links make MAILVEND_PORT for a service named mailvend).
                None => warnings.push(format!(
                    "{name} is not a mailvend setting and is ignored; see docs/configuration.md"
                )),
            }
        }

        let domain = r.parse("domain", "example.com".to_string(), parse_domain);
        let from_address = r.parse("from_address", format!("forwarder@{domain}"), parse_mailbox);
        let admin_address = r.parse("admin_address", format!("admin@{domain}"), parse_mailbox);
        let catch_all = r.parse("catch_all", false, parse_bool);
        let header_value = r.parse("header_value", "mailvend".to_string(), |v| {
            if v.bytes().all(|b| (0x21..=0x7e).contains(&b) || b == b' ') && v.len() <= 200 {
                Ok(v.to_string())
            } else {
                Err("expected printable ASCII text of at most 200 characters (it becomes a mail header)".into())
            }
        });
        let counter_width = r.parse("counter_width", 3u8, |v| match v.parse::<u8>() {
            Ok(n) if (1..=10).contains(&n) => Ok(n),
            _ => Err(format!("expected a whole number from 1 to 10, got {v:?}")),
        });
        let mut account_types = r.list("account_types");
        if account_types.is_empty() {
            account_types = ["Sales", "Research", "IT", "DataEngineering"]
                .map(String::from)
                .to_vec();
        }
        if account_types
            .iter()
            .any(|t| t.len() > 64 || t.chars().any(|c| c.is_control()))
        {
            r.error(
                "account_types",
                "expected names of at most 64 printable characters",
            );
        }
        let store = r.parse(
            "store",
            StoreUrl::Sqlite(PathBuf::from("data/mailvend.db")),
            parse_store,
        );
        let mailer = r.parse(
            "mailer",
            MailerUrl::Outbox(PathBuf::from("data/outbox")),
            parse_mailer,
        );
        // SES's rule for configuration set names.
        let ses_configuration_set = r.parse("ses_configuration_set", None, |v| {
            if (1..=64).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                Ok(Some(v.to_string()))
            } else {
                Err(format!(
                    "expected an SES configuration set name (1 to 64 letters, digits, _ and -), got {v:?}"
                ))
            }
        });
        if ses_configuration_set.is_some() && mailer != MailerUrl::Ses {
            warnings.push(
                "MAILVEND_SES_CONFIGURATION_SET is set but the mailer is not SES: sends carry no \
                 configuration set, and no delivery events will come"
                    .to_string(),
            );
        }
        // Catch-all and the forwarder's own mail go to the admin address: on the served domain,
        // a mailer that really sends hands them back to SES, a forwarding loop (issue 22).
        let admin_on_domain = admin_address
            .rsplit_once('@')
            .is_some_and(|(_, d)| d == domain);
        if admin_on_domain && !matches!(mailer, MailerUrl::Outbox(_)) {
            // Set on the domain, it may be a vended address whose owner is elsewhere: the
            // server checks that against the store at start (`AppService::check_admin_address`).
            if r.get("admin_address").is_none() {
                r.error(
                    "admin_address",
                    format!(
                        "must be set when MAILVEND_MAILER sends mail: the default {admin_address} is on \
                         {domain}, the served domain, so catch-all mail sent there would come back \
                         (a forwarding loop); give a mailbox elsewhere"
                    ),
                );
            }
        }
        let fallback_address = r.parse(
            "fallback_address",
            Some(admin_address.clone()),
            |v| match v {
                "none" => Ok(None),
                v => parse_mailbox(v)
                    .map(Some)
                    .map_err(|e| format!("{e} (or none, to send nowhere else)")),
            },
        );
        if let Some(fallback) = &fallback_address {
            let on_domain = fallback.rsplit_once('@').is_some_and(|(_, d)| d == domain);
            if on_domain
                && r.get("fallback_address").is_some()
                && !matches!(mailer, MailerUrl::Outbox(_))
            {
                r.error(
                    "fallback_address",
                    format!(
                        "is on {domain}, the served domain: mail sent there would come back (a \
                         forwarding loop); give a mailbox elsewhere, or none"
                    ),
                );
            }
        }
        let sns_topic_arns = r.list("sns_topic_arns");
        for arn in &sns_topic_arns {
            if let Err(m) = parse_topic_arn(arn) {
                r.error("sns_topic_arns", m);
            }
        }
        let sns_cert_dir = r.get("sns_cert_dir").map(PathBuf::from);
        let public_url = r.parse("public_url", None, |v| parse_public_url(v).map(Some));
        let oidc = read_oidc(&mut r);
        let admin_groups = r.list("admin_groups");
        let admin_emails: Vec<String> = r
            .list("admin_emails")
            .into_iter()
            .map(|e| e.to_ascii_lowercase())
            .collect();
        for e in &admin_emails {
            if let Err(m) = parse_mailbox(e) {
                r.error("admin_emails", m);
            }
        }
        let local_login_token = r.get("local_login_token").map(Secret::new);
        if let Some(t) = &local_login_token {
            if let Err(m) = strong_secret(t.expose()) {
                r.error("local_login_token", m);
            }
        }
        let reserved_addresses = r
            .list("reserved_addresses")
            .into_iter()
            .filter_map(|v| match reserved_local_part(&v, &domain) {
                Ok(l) => Some(l),
                Err(m) => {
                    r.error("reserved_addresses", m);
                    None
                }
            })
            .collect();
        let vend_token_address_override = r.parse("vend_token_address_override", false, parse_bool);
        let session_lifetime = r.parse(
            "session_lifetime",
            std::time::Duration::from_secs(12 * 3600),
            |v| match humantime::parse_duration(v) {
                Ok(d) if (300..=30 * 86_400).contains(&d.as_secs()) => Ok(d),
                _ => Err(format!(
                    "expected a duration from 5m to 30days, such as 12h, got {v:?}"
                )),
            },
        );
        let metrics_addr = r.parse("metrics_addr", None, |v| {
            v.parse::<SocketAddr>()
                .map(Some)
                .map_err(|_| format!("expected IP:PORT such as 127.0.0.1:9100, got {v:?}"))
        });
        let metrics_token = r.get("metrics_token").map(Secret::new);
        if let Some(t) = &metrics_token {
            if let Err(m) = strong_secret(t.expose()) {
                r.error("metrics_token", m);
            }
        }
        let trusted_proxies = r
            .list("trusted_proxies")
            .into_iter()
            .filter_map(|v| match parse_net(&v) {
                Ok(n) => Some(n),
                Err(m) => {
                    r.error("trusted_proxies", m);
                    None
                }
            })
            .collect();
        let rate_limit = r.parse("rate_limit", 120u32, |v| match v.parse::<u32>() {
            Ok(n) if (1..=100_000).contains(&n) => Ok(n),
            _ => Err(format!(
                "expected requests a minute from 1 to 100000, got {v:?}"
            )),
        });
        let claim_lease = r.parse("claim_lease", DEFAULT_CLAIM_LEASE, |v| {
            duration_within(v, 15, 3600, "15s to 1h, such as 60s")
        });
        let drain = r.parse("drain", std::time::Duration::from_secs(5), |v| {
            duration_within(v, 0, 300, "0s to 5m, such as 5s")
        });
        let shutdown_grace = r.parse("shutdown_grace", std::time::Duration::from_secs(20), |v| {
            duration_within(v, 1, 600, "1s to 10m, such as 20s")
        });
        let interactive_nice = r.parse("interactive_nice", 10u8, |v| match v.parse::<u8>() {
            Ok(n) if n <= 19 => Ok(n),
            _ => Err(format!("expected a nice value from 0 to 19, got {v:?}")),
        });
        let mail_class_rules = r.parse("mail_class_rules", Vec::new(), parse_class_rules);
        let restricted_to: Vec<String> = r
            .list("restricted_to")
            .into_iter()
            .map(|e| e.to_ascii_lowercase())
            .collect();
        for e in &restricted_to {
            match parse_mailbox(e) {
                Err(m) => r.error("restricted_to", m),
                // Credential mail sent back to the served domain would come in again as
                // mail to a vended address (a loop, or the owner after all).
                Ok(_) if e.rsplit_once('@').is_some_and(|(_, d)| d == domain) => r.error(
                    "restricted_to",
                    format!("{e} is on {domain}, the served domain; give mailboxes elsewhere"),
                ),
                Ok(_) => {}
            }
        }
        if restricted_to.len() > MAX_RESTRICTED {
            r.error(
                "restricted_to",
                format!(
                    "at most {MAX_RESTRICTED} addresses, got {}",
                    restricted_to.len()
                ),
            );
        }
        let hold_for_days = r.parse("hold_for_days", 14u32, |v| match v.parse::<u32>() {
            Ok(n) if (1..=365).contains(&n) => Ok(n),
            _ => Err(format!(
                "expected a number of days from 1 to 365, got {v:?}"
            )),
        });
        let retention_days = r.parse("retention_days", 30u32, |v| match v.parse::<u32>() {
            Ok(n) if (1..=3650).contains(&n) => Ok(n),
            _ => Err(format!(
                "expected a number of days from 1 to 3650, got {v:?}"
            )),
        });
        // Unset, it is 14 days or the retention, whichever is shorter (a log kept 7 days
        // must not stop the server from starting); set, it must fit in the retention.
        let notify_allow_http = r.parse("notify_allow_http", false, parse_bool);
        let notify_poll = r.parse("notify_poll", std::time::Duration::from_secs(30), |v| {
            duration_within(v, 1, 86_400, "1s to 1day, such as 30s")
        });
        let hold_for_days = if r.get("hold_for_days").is_none() {
            hold_for_days.min(retention_days)
        } else {
            hold_for_days
        };
        if hold_for_days > retention_days {
            r.error(
                "hold_for_days",
                format!(
                    "is longer than MAILVEND_RETENTION_DAYS ({retention_days} days): held mail \
                     would be purged before it expires"
                ),
            );
        }
        let max_received = r.parse("max_received", 30usize, |v| match v.parse::<usize>() {
            Ok(n) if (5..=500).contains(&n) => Ok(n),
            _ => Err(format!("expected a whole number from 5 to 500, got {v:?}")),
        });
        let loop_key = match r.get("loop_key") {
            Some(k) if k.len() >= 32 => Secret::new(k),
            Some(_) => {
                r.error("loop_key", "expected at least 32 characters");
                Secret::new(String::new())
            }
            None => {
                warnings.push(
                    "MAILVEND_LOOP_KEY is not set: the loop mark is keyed by the domain, so anyone \
                     can compute it (which only gets their own mail rejected as a loop); set a \
                     random key of at least 32 characters, the same on every server"
                        .into(),
                );
                Secret::new(format!(
                    "mailvend loop mark for {domain} (no key configured)"
                ))
            }
        };
        let hold_unscanned = r.parse("unscanned_mail", true, |v| match v {
            "hold" => Ok(true),
            "forward" => Ok(false),
            _ => Err(format!("expected \"hold\" or \"forward\", got {v:?}")),
        });
        let sns_max_age =
            r.parse(
                "sns_max_age",
                DEFAULT_SNS_MAX_AGE,
                |v| match humantime::parse_duration(v) {
                    Ok(d) if (3600..=30 * 86_400).contains(&d.as_secs()) => Ok(d),
                    _ => Err(format!(
                        "expected a duration from 1h to 30days, such as 24h, got {v:?}"
                    )),
                },
            );
        // A replay is refused by age, or by the dedupe record; the record must outlive the age.
        if sns_max_age.as_secs() > u64::from(retention_days) * 86_400 {
            r.error(
                "sns_max_age",
                format!(
                    "{} is longer than MAILVEND_RETENTION_DAYS ({retention_days} days): a notification \
                     old enough to have lost its dedupe record would still be accepted",
                    humantime::format_duration(sns_max_age)
                ),
            );
        }
        let sns_min_signature_version = r.parse("sns_min_signature_version", 1u8, |v| match v {
            "1" => Ok(1),
            "2" => Ok(2),
            _ => Err(format!("expected 1 or 2, got {v:?}")),
        });
        let s3_bucket = r.parse("s3_bucket", None, |v| {
            let ok = (3..=63).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
                && !v.starts_with(['.', '-'])
                && !v.ends_with(['.', '-']);
            if ok {
                Ok(Some(v.to_string()))
            } else {
                Err(format!(
                    "expected an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens), got {v:?}"
                ))
            }
        });
        let s3_prefix = r.get("s3_prefix").unwrap_or_default();
        if !s3_prefix.is_empty() && s3_bucket.is_none() {
            r.error(
                "s3_prefix",
                "needs MAILVEND_S3_BUCKET: a prefix alone would allow any bucket",
            );
        }
        let s3_scope = s3_bucket.map(|bucket| S3Scope {
            bucket,
            prefix: s3_prefix,
        });
        // Below 41 MiB a 40 MB message (SES's largest) could never be read: SNS would retry it
        // for ever.
        let inbound_budget_mb =
            r.parse(
                "inbound_budget_mb",
                DEFAULT_INBOUND_BUDGET_MB,
                |v| match v.parse::<u64>() {
                    Ok(n) if (41..=65_536).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "expected a number of MiB from 41 (one 40 MB message) to 65536, got {v:?}"
                    )),
                },
            );
        let organizations = organizations(&mut r);
        let log_format = r.parse("log_format", LogFormat::Text, |v| match v {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("expected \"text\" or \"json\", got {v:?}")),
        });

        let (site_addr, addr_source) = match (
            site_addr_raw
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty()),
            port_raw.as_deref().map(str::trim).filter(|v| !v.is_empty()),
        ) {
            (Some(v), _) => match v.parse::<SocketAddr>() {
                Ok(a) => (a, "LEPTOS_SITE_ADDR"),
                Err(_) => {
                    r.errors.push(ConfigError {
                        source_name: "LEPTOS_SITE_ADDR".into(),
                        message: format!("expected IP:PORT such as 127.0.0.1:3000, got {v:?}"),
                    });
                    (DEFAULT_SITE_ADDR, "LEPTOS_SITE_ADDR")
                }
            },
            // PORT alone means every interface, as platforms that set it expect.
            (None, Some(p)) => match p.parse::<u16>() {
                Ok(port) if port != 0 => (SocketAddr::from(([0, 0, 0, 0], port)), "PORT"),
                _ => {
                    r.errors.push(ConfigError {
                        source_name: "PORT".into(),
                        message: format!("expected a port number from 1 to 65535, got {p:?}"),
                    });
                    (DEFAULT_SITE_ADDR, "PORT")
                }
            },
            (None, None) => (DEFAULT_SITE_ADDR, "LEPTOS_SITE_ADDR"),
        };
        // Without an identity provider the only way in is the printed local login link, so
        // the dashboard must not be reachable from other machines.
        if oidc.is_none() && !site_addr.ip().is_loopback() {
            r.errors.push(ConfigError {
                source_name: addr_source.into(),
                message: format!(
                    "{site_addr} is not a loopback address; without MAILVEND_OIDC_ISSUER (local mode) \
                     mailvend listens on loopback only, e.g. 127.0.0.1:3000"
                ),
            });
        }

        // Unset, the public URL is where we listen (so local links and Origin checks match).
        let public_url = public_url.unwrap_or_else(|| {
            Url::parse(&format!("http://{site_addr}")).expect("an IP:PORT makes a valid URL")
        });

        if !r.errors.is_empty() {
            return Err(ConfigErrors(r.errors));
        }
        Ok(Config {
            domain,
            from_address,
            admin_address,
            fallback_address,
            catch_all,
            header_value,
            counter_width,
            account_types,
            store,
            mailer,
            ses_configuration_set,
            sns_topic_arns,
            sns_cert_dir,
            public_url,
            oidc,
            admin_groups,
            admin_emails,
            local_login_token,
            retention_days,
            site_addr,
            log_format,
            max_received,
            loop_key,
            hold_unscanned,
            sns_max_age,
            sns_min_signature_version,
            s3_scope,
            inbound_budget_mb,
            reserved_addresses,
            vend_token_address_override,
            session_lifetime,
            metrics_addr,
            metrics_token,
            trusted_proxies,
            rate_limit,
            claim_lease,
            drain,
            shutdown_grace,
            interactive_nice,
            mail_class_rules,
            restricted_to,
            hold_for_days,
            notify_allow_http,
            notify_poll,
            organizations,
            warnings,
        })
    }
}

/// A configured row of the mail-class table: mail authenticated for one of `domains` whose
/// subject contains `subject` (any case) is `class`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailClassRule {
    pub class: app::model::MailClass,
    pub domains: Vec<String>,
    pub subject: String,
}

/// `class|domain,domain|subject fragment` rows separated by `;`, e.g.
/// `security|corp.example|security alert; notice|aws.com|newsletter`.
fn parse_class_rules(v: &str) -> Result<Vec<MailClassRule>, String> {
    let mut rules = Vec::new();
    for (n, row) in v.split(';').map(str::trim).enumerate() {
        if row.is_empty() {
            continue;
        }
        let at = |m: String| format!("row {}: {m}", n + 1);
        let [class, domains, subject] = row.splitn(3, '|').collect::<Vec<_>>()[..] else {
            return Err(at(format!(
                "expected class|domains|subject, such as security|corp.example|security alert, got {row:?}"
            )));
        };
        let class = app::model::MailClass::parse(class.trim()).ok_or_else(|| {
            at(format!(
                "expected a class ({}), got {:?}",
                app::model::MailClass::ALL.map(|c| c.as_str()).join(", "),
                class.trim()
            ))
        })?;
        let domains: Vec<String> = domains
            .split(',')
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        if domains.is_empty() || domains.iter().any(|d| !d.contains('.') || d.contains('@')) {
            return Err(at(format!(
                "expected sender domains such as corp.example, got {row:?}"
            )));
        }
        let subject = subject.trim();
        if subject.chars().count() < 3 || subject.len() > 200 {
            return Err(at(format!(
                "expected a subject fragment of 3 to 200 characters, got {subject:?}"
            )));
        }
        rules.push(MailClassRule {
            class,
            domains,
            subject: subject.to_string(),
        });
    }
    Ok(rules)
}

/// `MAILVEND_ORGANIZATIONS` and the keys that only mean something with it on.
fn organizations(r: &mut Reader) -> Option<OrganizationsConfig> {
    let on = r.parse("organizations", false, parse_bool);
    let role_arn = r.parse("organizations_role_arn", None, |v| {
        if is_role_arn(v) {
            Ok(Some(v.to_string()))
        } else {
            Err(format!(
                "expected an IAM role ARN such as arn:aws:iam::123456789012:role/mailvend-org, got {v:?}"
            ))
        }
    });
    let sync_every = r.parse(
        "organizations_sync_every",
        Some(std::time::Duration::from_secs(3600)),
        |v| {
            if v == "off" {
                return Ok(None);
            }
            duration_within(v, 300, 7 * 86_400, "5m to 7days, such as 1h, or off").map(Some)
        },
    );
    let unused_days = r.parse("organizations_unused_days", 30u32, |v| {
        match v.parse::<u32>() {
            Ok(n) if (1..=3650).contains(&n) => Ok(n),
            _ => Err(format!(
                "expected a number of days from 1 to 3650, got {v:?}"
            )),
        }
    });
    let root_emails = r.parse("organizations_root_emails", false, parse_bool);
    let code_wait = r.parse(
        "organizations_code_wait",
        std::time::Duration::from_secs(30 * 60),
        |v| {
            duration_within(
                v,
                60,
                86_400,
                "1m to 24h (AWS keeps a code 24 hours), such as 30m",
            )
        },
    );
    let move_pace = r.parse(
        "organizations_move_pace",
        std::time::Duration::from_secs(5),
        |v| match v {
            "0" | "0s" => Ok(std::time::Duration::ZERO),
            v => duration_within(v, 0, 600, "0s to 10m, such as 5s"),
        },
    );
    let verify_subject = r.parse(
        "organizations_verify_subject",
        DEFAULT_VERIFY_SUBJECT.to_string(),
        |v| {
            let v = v.trim();
            if v.len() < 10 {
                Err(format!(
                    "expected the verification mail's whole subject, got {v:?}"
                ))
            } else {
                Ok(v.to_string())
            }
        },
    );
    let verify_senders = r.parse(
        "organizations_verify_senders",
        DEFAULT_VERIFY_SENDERS
            .iter()
            .map(|d| d.to_string())
            .collect(),
        |v| {
            let domains: Vec<String> = v
                .split(',')
                .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect();
            // Domains anybody can send from (every SES customer's bounces, every EC2 host):
            // mail from them proves nothing about AWS.
            const SHARED: [&str; 3] = ["amazonses.com", "amazonaws.com", "amazon.com"];
            let shared = |d: &str| {
                SHARED
                    .iter()
                    .any(|s| d == *s || d.strip_suffix(s).is_some_and(|p| p.ends_with('.')))
            };
            match domains.iter().find(|d| !d.contains('.') || d.contains('@')) {
                _ if domains.is_empty() => {
                    Err("expected one or more domains, comma-separated".into())
                }
                Some(bad) => Err(format!(
                    "expected domains such as verify.signin.aws, got {bad:?}"
                )),
                None => match domains.iter().find(|d| shared(d)) {
                    Some(bad) => Err(format!(
                        "{bad:?} is shared by every AWS customer's mail, so it proves nothing; use AWS's sign-in domains"
                    )),
                    None => Ok(domains),
                },
            }
        },
    );
    if !on {
        for key in [
            "organizations_role_arn",
            "organizations_sync_every",
            "organizations_unused_days",
            "organizations_root_emails",
            "organizations_code_wait",
            "organizations_move_pace",
            "organizations_verify_subject",
            "organizations_verify_senders",
        ] {
            if r.get(key).is_some() {
                r.error(key, "needs MAILVEND_ORGANIZATIONS=on");
            }
        }
        return None;
    }
    Some(OrganizationsConfig {
        role_arn,
        sync_every,
        unused_days,
        root_emails,
        code_wait,
        move_pace,
        verify_subject,
        verify_senders,
    })
}

/// The subject of AWS's mail to an account's new root email (its documentation and the mail
/// itself, docs/design/organizations-research.md).
pub const DEFAULT_VERIFY_SUBJECT: &str =
    "Verify the new email address for the AWS account root user";

/// The domains that mail comes from. Exact domains, not their parents: anybody can send from
/// some subdomain of amazonaws.com (an EC2 host's name), so only AWS's sign-in domains.
pub const DEFAULT_VERIFY_SENDERS: [&str; 2] = ["signin.aws", "verify.signin.aws"];

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn is_role_arn(v: &str) -> bool {
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|n| {
                    !n.is_empty()
                        && n.len() <= 512
                        && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
                })
    )
}

/// A duration from `min` to `max` seconds, or the error naming the range (`expected`).
fn duration_within(
    v: &str,
    min: u64,
    max: u64,
    expected: &str,
) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(v) {
        Ok(d)
            if d >= std::time::Duration::from_secs(min)
                && d <= std::time::Duration::from_secs(max) =>
        {
            Ok(d)
        }
        _ => Err(format!("expected a duration from {expected}, got {v:?}")),
    }
}

fn read_file(r: &mut Reader, file_name: &str, text: &str) {
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            r.errors.push(ConfigError {
                source_name: file_name.to_string(),
                message: format!("not valid TOML: {}", e.message()),
            });
            return;
        }
    };
    for (k, v) in table {
        let source_name = format!("{k} (in {file_name})");
        let Some(key) = KEYS.iter().find(|key| **key == k) else {
            r.errors.push(ConfigError {
                source_name,
                message: "unknown setting; see docs/configuration.md for the list".into(),
            });
            continue;
        };
        let value = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => {
                let mut parts = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s),
                        _ => {
                            r.errors.push(ConfigError {
                                source_name: source_name.clone(),
                                message: "expected a list of strings".into(),
                            });
                        }
                    }
                }
                parts.join(",")
            }
            _ => {
                r.errors.push(ConfigError {
                    source_name,
                    message: "expected a string, number, boolean or list of strings".into(),
                });
                continue;
            }
        };
        r.values.insert(key, Raw { value, source_name });
    }
}

fn read_oidc(r: &mut Reader) -> Option<OidcConfig> {
    let issuer = r.get("oidc_issuer");
    let client_id = r.get("oidc_client_id");
    let client_secret = r.get("oidc_client_secret");
    match (issuer, client_id, client_secret) {
        (None, None, None) => None,
        (Some(issuer), Some(client_id), Some(client_secret)) => {
            let issuer = match Url::parse(&issuer) {
                Ok(u) if u.scheme() == "https" || is_loopback_http(&u) => u,
                _ => {
                    r.error(
                        "oidc_issuer",
                        "expected the issuer's https:// URL (plain http only on loopback)",
                    );
                    return None;
                }
            };
            Some(OidcConfig {
                issuer,
                client_id,
                client_secret: Secret::new(client_secret),
            })
        }
        (issuer, client_id, client_secret) => {
            for (key, v) in [
                ("oidc_issuer", issuer.is_some()),
                ("oidc_client_id", client_id.is_some()),
                ("oidc_client_secret", client_secret.is_some()),
            ] {
                if !v {
                    r.error(
                        key,
                        "missing; MAILVEND_OIDC_ISSUER, MAILVEND_OIDC_CLIENT_ID and \
                         MAILVEND_OIDC_CLIENT_SECRET go together",
                    );
                }
            }
            None
        }
    }
}

fn is_loopback_http(u: &Url) -> bool {
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    u.scheme() == "http" && loopback
}

/// A secret someone could try to guess over the network: long, and not one repeated
/// character (`aaaa…` passes a length rule).
fn strong_secret(v: &str) -> Result<(), String> {
    let distinct = v.chars().collect::<std::collections::BTreeSet<_>>().len();
    if v.chars().count() < 32 || distinct < 10 {
        return Err(
            "expected at least 32 random characters (e.g. `openssl rand -base64 32`)".into(),
        );
    }
    Ok(())
}

/// A reserved name: a local part, or an address on the served domain.
fn reserved_local_part(v: &str, domain: &str) -> Result<String, String> {
    let address = if v.contains('@') {
        v.to_string()
    } else {
        format!("{v}@{domain}")
    };
    let mailbox = parse_mailbox(&address)?;
    match mailbox.rsplit_once('@') {
        Some((local, d)) if d == domain => Ok(local.to_string()),
        _ => Err(format!(
            "{v} is not on {domain}: list local parts (billing) or addresses on the served domain"
        )),
    }
}

/// A proxy's address or network (`10.0.0.0/16`, `10.0.3.7`).
fn parse_net(v: &str) -> Result<ipnet::IpNet, String> {
    v.parse::<ipnet::IpNet>()
        .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("expected an IP address or network such as 10.0.0.0/16, got {v:?}"))
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("expected true or false, got {v:?}")),
    }
}

fn parse_store(v: &str) -> Result<StoreUrl, String> {
    if let Some(path) = v.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err("expected sqlite://PATH, e.g. sqlite://data/mailvend.db".into());
        }
        return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
    }
    if let Some(prefix) = v.strip_prefix("dynamodb://") {
        let ok = !prefix.is_empty()
            && prefix.len() <= 200
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        return if ok {
            Ok(StoreUrl::DynamoDb {
                table_prefix: prefix.to_string(),
            })
        } else {
            Err(
                "expected dynamodb://PREFIX with a table-name prefix of letters, digits, _ - ."
                    .into(),
            )
        };
    }
    Err(format!(
        "expected sqlite://PATH or dynamodb://TABLE_PREFIX, got {v:?}"
    ))
}

fn parse_mailer(v: &str) -> Result<MailerUrl, String> {
    if v == "ses" {
        return Ok(MailerUrl::Ses);
    }
    if let Some(path) = v.strip_prefix("outbox://") {
        if !path.is_empty() {
            return Ok(MailerUrl::Outbox(PathBuf::from(path)));
        }
    }
    if let Some(hp) = v.strip_prefix("smtp://") {
        if let Some((host, port)) = hp.rsplit_once(':') {
            if let Ok(port) = port.parse::<u16>() {
                if !host.is_empty() && port != 0 {
                    return Ok(MailerUrl::Smtp {
                        host: host.to_string(),
                        port,
                    });
                }
            }
        }
    }
    Err(format!(
        "expected outbox://DIR, ses, or smtp://HOST:PORT, got {v:?}"
    ))
}

/// `arn:<partition>:sns:<region>:<12-digit account>:<topic>`.
pub fn parse_topic_arn(v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split(':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[3]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && !parts[5].is_empty()
        && parts[5].len() <= 256
        && parts[5]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected SNS topic ARNs like arn:aws:sns:us-east-1:123456789012:inbound-mail, got {v:?}"
        ))
    }
}

fn parse_public_url(v: &str) -> Result<Url, String> {
    match Url::parse(v) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.query().is_none()
                && u.fragment().is_none() =>
        {
            Ok(u)
        }
        _ => Err(format!(
            "expected the external base URL, such as https://mailvend.example.com, got {v:?}"
        )),
    }
}

#[cfg(test)]
mod tests;
