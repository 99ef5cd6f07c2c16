use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::load(env(pairs), None)
}

/// The first error's source name and message, for a configuration that must fail.
fn first_error(pairs: &[(&str, &str)]) -> (String, String) {
    let errs = load(pairs).expect_err("configuration should be rejected");
    let e = errs.0.into_iter().next().expect("at least one error");
    (e.source_name, e.message)
}

#[test]
fn defaults_match_the_interface_contract() {
    let c = load(&[("HOME", "/root"), ("PATH", "/bin")]).unwrap();
    assert_eq!(c.domain, "example.com");
    assert_eq!(c.from_address, "forwarder@example.com");
    assert_eq!(c.admin_address, "admin@example.com");
    assert!(!c.catch_all);
    assert_eq!(c.header_value, "mailvend");
    assert_eq!(c.counter_width, 3);
    assert_eq!(c.store, StoreUrl::Sqlite("data/mailvend.db".into()));
    assert_eq!(c.mailer, MailerUrl::Outbox("data/outbox".into()));
    assert!(c.sns_topic_arns.is_empty());
    assert_eq!(c.sns_cert_dir, None);
    assert_eq!(c.public_url.as_str(), "http://127.0.0.1:3000/");
    assert_eq!(c.oidc, None);
    assert_eq!(c.retention_days, 30);
    assert_eq!(c.site_addr, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.max_received, 30);
    assert_eq!(c.sns_max_age, std::time::Duration::from_secs(86_400));
    assert_eq!(c.sns_min_signature_version, 1);
    assert_eq!(c.s3_scope, None);
    assert_eq!(c.inbound_budget_mb, 128);
    assert_eq!(c.claim_lease, std::time::Duration::from_secs(60));
    assert_eq!(c.drain, std::time::Duration::from_secs(5));
    assert_eq!(c.interactive_nice, 10);
    assert_eq!(c.shutdown_grace, std::time::Duration::from_secs(20));
    assert!(
        c.hold_unscanned,
        "mail without a virus verdict is held by default"
    );
    assert!(
        c.warnings.iter().any(|w| w.contains("MAILVEND_LOOP_KEY")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn derived_addresses_follow_the_domain() {
    let c = load(&[("MAILVEND_DOMAIN", "Mail.Corp.Example.")]).unwrap();
    assert_eq!(c.domain, "mail.corp.example");
    assert_eq!(c.from_address, "forwarder@mail.corp.example");
    assert_eq!(c.admin_address, "admin@mail.corp.example");
}

#[test]
fn every_key_is_read_from_the_environment() {
    let c = load(&[
        ("MAILVEND_DOMAIN", "aws.example.org"),
        ("MAILVEND_FROM_ADDRESS", "Relay@aws.example.org"),
        ("MAILVEND_ADMIN_ADDRESS", "cloud-team@example.org"),
        ("MAILVEND_CATCH_ALL", "on"),
        ("MAILVEND_HEADER_VALUE", "mailvend prod"),
        ("MAILVEND_COUNTER_WIDTH", "4"),
        ("MAILVEND_STORE", "dynamodb://mailvend-prod"),
        ("MAILVEND_MAILER", "smtp://relay.internal:2525"),
        (
            "MAILVEND_SNS_TOPIC_ARNS",
            "arn:aws:sns:eu-west-1:123456789012:inbound, arn:aws-cn:sns:cn-north-1:210987654321:mail.in",
        ),
        ("MAILVEND_SNS_CERT_DIR", "/etc/mailvend/sns-certs"),
        ("MAILVEND_PUBLIC_URL", "https://mailvend.example.org"),
        ("MAILVEND_ADMIN_GROUPS", "cloud-admins,platform"),
        ("MAILVEND_ADMIN_EMAILS", "Alice@Example.org"),
        ("MAILVEND_LOCAL_LOGIN_TOKEN", "0123456789abcdef0123456789abcdef"),
        ("MAILVEND_RETENTION_DAYS", "90"),
        ("MAILVEND_LOG_FORMAT", "json"),
        ("MAILVEND_MAX_RECEIVED", "12"),
        ("MAILVEND_LOOP_KEY", "a-loop-key-of-thirty-two-chars-or-more"),
        ("MAILVEND_UNSCANNED_MAIL", "forward"),
        ("MAILVEND_SNS_MIN_SIGNATURE_VERSION", "2"),
        ("MAILVEND_S3_BUCKET", "mailvend-inbound-123"),
        ("MAILVEND_S3_PREFIX", "inbound/"),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:8080"),
    ])
    .unwrap();
    assert_eq!(c.max_received, 12);
    assert_eq!(
        c.loop_key.expose(),
        "a-loop-key-of-thirty-two-chars-or-more"
    );
    assert!(!c.hold_unscanned);
    assert_eq!(c.sns_min_signature_version, 2);
    let scope = c.s3_scope.clone().unwrap();
    assert!(scope.allows("mailvend-inbound-123", "inbound/abc"));
    assert!(!scope.allows("mailvend-inbound-123", "other/abc"));
    assert!(!scope.allows("other-bucket", "inbound/abc"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.from_address, "relay@aws.example.org");
    assert_eq!(c.admin_address, "cloud-team@example.org");
    assert!(c.catch_all);
    assert_eq!(c.header_value, "mailvend prod");
    assert_eq!(c.counter_width, 4);
    assert_eq!(
        c.store,
        StoreUrl::DynamoDb {
            table_prefix: "mailvend-prod".into()
        }
    );
    assert_eq!(
        c.mailer,
        MailerUrl::Smtp {
            host: "relay.internal".into(),
            port: 2525
        }
    );
    assert_eq!(c.sns_topic_arns.len(), 2);
    assert_eq!(c.sns_cert_dir, Some("/etc/mailvend/sns-certs".into()));
    assert_eq!(c.public_url.as_str(), "https://mailvend.example.org/");
    assert_eq!(c.admin_groups, vec!["cloud-admins", "platform"]);
    assert_eq!(c.admin_emails, vec!["alice@example.org"]);
    assert_eq!(
        c.local_login_token.as_ref().map(Secret::expose),
        Some("0123456789abcdef0123456789abcdef")
    );
    assert_eq!(c.retention_days, 90);
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.site_addr.port(), 8080);
}

#[test]
fn each_bad_value_is_named_with_what_is_expected() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "MAILVEND_DOMAIN",
            "localhost",
            "MAILVEND_DOMAIN",
            "DNS domain",
        ),
        (
            "MAILVEND_DOMAIN",
            "bad_domain.com",
            "MAILVEND_DOMAIN",
            "DNS domain",
        ),
        (
            "MAILVEND_FROM_ADDRESS",
            "Forwarder <f@example.com>",
            "MAILVEND_FROM_ADDRESS",
            "one email address",
        ),
        (
            "MAILVEND_ADMIN_ADDRESS",
            "a@example.com,b@example.com",
            "MAILVEND_ADMIN_ADDRESS",
            "one email address",
        ),
        (
            "MAILVEND_ADMIN_ADDRESS",
            "a@example.com\r\nBcc: x@evil.test",
            "MAILVEND_ADMIN_ADDRESS",
            "one email address",
        ),
        (
            "MAILVEND_ADMIN_ADDRESS",
            "a..b@example.com",
            "MAILVEND_ADMIN_ADDRESS",
            "one email address",
        ),
        (
            "MAILVEND_CATCH_ALL",
            "maybe",
            "MAILVEND_CATCH_ALL",
            "true or false",
        ),
        (
            "MAILVEND_HEADER_VALUE",
            "x\r\nBcc: y",
            "MAILVEND_HEADER_VALUE",
            "printable ASCII",
        ),
        (
            "MAILVEND_COUNTER_WIDTH",
            "0",
            "MAILVEND_COUNTER_WIDTH",
            "1 to 10",
        ),
        (
            "MAILVEND_COUNTER_WIDTH",
            "three",
            "MAILVEND_COUNTER_WIDTH",
            "1 to 10",
        ),
        (
            "MAILVEND_STORE",
            "postgres://db",
            "MAILVEND_STORE",
            "sqlite://PATH or dynamodb://",
        ),
        (
            "MAILVEND_STORE",
            "dynamodb://",
            "MAILVEND_STORE",
            "dynamodb://PREFIX",
        ),
        (
            "MAILVEND_MAILER",
            "smtp://relay",
            "MAILVEND_MAILER",
            "smtp://HOST:PORT",
        ),
        (
            "MAILVEND_MAILER",
            "sendmail",
            "MAILVEND_MAILER",
            "outbox://DIR, ses",
        ),
        (
            "MAILVEND_SNS_TOPIC_ARNS",
            "arn:aws:sqs:us-east-1:123456789012:q",
            "MAILVEND_SNS_TOPIC_ARNS",
            "SNS topic ARNs",
        ),
        (
            "MAILVEND_SNS_TOPIC_ARNS",
            "arn:aws:sns:us-east-1:1234:t",
            "MAILVEND_SNS_TOPIC_ARNS",
            "SNS topic ARNs",
        ),
        (
            "MAILVEND_PUBLIC_URL",
            "mailvend.example.com",
            "MAILVEND_PUBLIC_URL",
            "external base URL",
        ),
        (
            "MAILVEND_PUBLIC_URL",
            "ftp://mailvend.example.com",
            "MAILVEND_PUBLIC_URL",
            "external base URL",
        ),
        (
            "MAILVEND_ADMIN_EMAILS",
            "ok@example.com, not-an-address",
            "MAILVEND_ADMIN_EMAILS",
            "one email address",
        ),
        (
            "MAILVEND_LOCAL_LOGIN_TOKEN",
            "short",
            "MAILVEND_LOCAL_LOGIN_TOKEN",
            "at least 32 random",
        ),
        (
            "MAILVEND_RETENTION_DAYS",
            "0",
            "MAILVEND_RETENTION_DAYS",
            "1 to 3650",
        ),
        (
            "MAILVEND_MAX_RECEIVED",
            "2",
            "MAILVEND_MAX_RECEIVED",
            "5 to 500",
        ),
        (
            "MAILVEND_LOOP_KEY",
            "short",
            "MAILVEND_LOOP_KEY",
            "at least 32",
        ),
        (
            "MAILVEND_UNSCANNED_MAIL",
            "pass",
            "MAILVEND_UNSCANNED_MAIL",
            "\"hold\" or \"forward\"",
        ),
        (
            "MAILVEND_SNS_MAX_AGE",
            "10m",
            "MAILVEND_SNS_MAX_AGE",
            "1h to 30days",
        ),
        (
            "MAILVEND_SNS_MIN_SIGNATURE_VERSION",
            "3",
            "MAILVEND_SNS_MIN_SIGNATURE_VERSION",
            "1 or 2",
        ),
        (
            "MAILVEND_S3_BUCKET",
            "My_Bucket",
            "MAILVEND_S3_BUCKET",
            "S3 bucket name",
        ),
        (
            "MAILVEND_S3_PREFIX",
            "inbound/",
            "MAILVEND_S3_PREFIX",
            "needs MAILVEND_S3_BUCKET",
        ),
        (
            "MAILVEND_INBOUND_BUDGET_MB",
            "16",
            "MAILVEND_INBOUND_BUDGET_MB",
            "from 41",
        ),
        (
            "MAILVEND_LOG_FORMAT",
            "xml",
            "MAILVEND_LOG_FORMAT",
            "\"text\" or \"json\"",
        ),
        (
            "LEPTOS_SITE_ADDR",
            "localhost",
            "LEPTOS_SITE_ADDR",
            "IP:PORT",
        ),
        (
            "LEPTOS_SITE_ADDR",
            "0.0.0.0:3000",
            "LEPTOS_SITE_ADDR",
            "loopback",
        ),
        (
            "MAILVEND_OIDC_ISSUER",
            "https://idp.example.com",
            "MAILVEND_OIDC_CLIENT_ID",
            "go together",
        ),
    ];
    for (var, value, want_name, want_text) in cases {
        let (name, message) = first_error(&[(var, value)]);
        assert_eq!(&name, want_name, "{var}={value:?}: {message}");
        assert!(
            message.contains(want_text),
            "{var}={value:?}: message {message:?} should mention {want_text:?}"
        );
    }
}

#[test]
fn unknown_variables_are_warned_about_not_fatal() {
    let c = load(&[
        ("MAILVEND_DOMIAN", "typo.example.com"),
        ("MAILVEND_PORT", "tcp://10.0.0.1:3000"),
        ("MAILVEND_LOOP_KEY", "k".repeat(32).as_str()),
    ])
    .unwrap();
    assert_eq!(c.domain, "example.com");
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.warnings[0].starts_with("MAILVEND_DOMIAN is not a mailvend setting"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let errs = load(&[
        ("MAILVEND_DOMAIN", "nope"),
        ("MAILVEND_COUNTER_WIDTH", "99"),
        ("MAILVEND_MAILER", "carrier-pigeon"),
    ])
    .unwrap_err();
    let names: Vec<_> = errs.0.iter().map(|e| e.source_name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "MAILVEND_DOMAIN",
            "MAILVEND_COUNTER_WIDTH",
            "MAILVEND_MAILER"
        ]
    );
    let text = errs.to_string();
    assert!(text.starts_with("invalid configuration:"), "{text}");
}

#[test]
fn file_values_apply_and_environment_wins() {
    let file = r#"
        domain = "file.example.com"
        catch_all = true
        counter_width = 5
        sns_topic_arns = ["arn:aws:sns:us-east-1:123456789012:a"]
    "#;
    let c = Config::load(
        env(&[("MAILVEND_COUNTER_WIDTH", "2")]),
        Some(("mailvend.toml", file)),
    )
    .unwrap();
    assert_eq!(c.domain, "file.example.com");
    assert!(c.catch_all);
    assert_eq!(c.counter_width, 2, "the environment overrides the file");
    assert_eq!(
        c.sns_topic_arns,
        vec!["arn:aws:sns:us-east-1:123456789012:a"]
    );
}

#[test]
fn file_errors_name_the_key_and_the_file() {
    let errs = Config::load(
        env(&[]),
        Some((
            "/etc/mailvend.toml",
            "domian = \"x.com\"\ncounter_width = 0\n",
        )),
    )
    .unwrap_err();
    let rendered: Vec<String> = errs.0.iter().map(ToString::to_string).collect();
    assert!(
        rendered
            .iter()
            .any(|e| e.starts_with("domian (in /etc/mailvend.toml): unknown setting")),
        "{rendered:?}"
    );
    assert!(
        rendered.iter().any(
            |e| e.starts_with("counter_width (in /etc/mailvend.toml): expected a whole number")
        ),
        "{rendered:?}"
    );
    let errs = Config::load(env(&[]), Some(("m.toml", "domain = "))).unwrap_err();
    assert!(errs.0[0].message.starts_with("not valid TOML"), "{errs}");
}

#[test]
fn sso_allows_listening_beyond_loopback() {
    let c = load(&[
        ("MAILVEND_OIDC_ISSUER", "https://idp.example.com"),
        ("MAILVEND_OIDC_CLIENT_ID", "mailvend"),
        ("MAILVEND_OIDC_CLIENT_SECRET", "s3cret"),
        ("LEPTOS_SITE_ADDR", "0.0.0.0:3000"),
    ])
    .unwrap();
    let oidc = c.oidc.unwrap();
    assert_eq!(oidc.issuer.as_str(), "https://idp.example.com/");
    assert_eq!(oidc.client_secret.expose(), "s3cret");
    let (name, message) = first_error(&[
        ("MAILVEND_OIDC_ISSUER", "http://idp.example.com"),
        ("MAILVEND_OIDC_CLIENT_ID", "mailvend"),
        ("MAILVEND_OIDC_CLIENT_SECRET", "s3cret"),
    ]);
    assert_eq!(name, "MAILVEND_OIDC_ISSUER");
    assert!(message.contains("https://"), "{message}");
}

#[test]
fn secrets_never_print() {
    let c = load(&[(
        "MAILVEND_LOCAL_LOGIN_TOKEN",
        "super-secret-login-token-of-32-chars",
    )])
    .unwrap();
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("super-secret-login-token-of-32-chars"),
        "{debug}"
    );
    assert!(debug.contains("Secret(***)"));
}

#[test]
fn the_public_url_defaults_to_where_we_listen() {
    let c = load(&[("LEPTOS_SITE_ADDR", "127.0.0.1:4100")]).unwrap();
    assert_eq!(c.public_url.as_str(), "http://127.0.0.1:4100/");
    let c = load(&[
        ("LEPTOS_SITE_ADDR", "127.0.0.1:4100"),
        ("MAILVEND_PUBLIC_URL", "https://mail.example.org"),
    ])
    .unwrap();
    assert_eq!(c.public_url.as_str(), "https://mail.example.org/");
}

#[test]
fn port_alone_listens_everywhere_and_leptos_site_addr_wins() {
    let sso = [
        ("MAILVEND_OIDC_ISSUER", "https://idp.example.com"),
        ("MAILVEND_OIDC_CLIENT_ID", "mailvend"),
        ("MAILVEND_OIDC_CLIENT_SECRET", "s3cret"),
        ("MAILVEND_PUBLIC_URL", "https://mail.example.org"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = sso.to_vec();
        vars.extend_from_slice(extra);
        load(&vars)
    };
    assert_eq!(
        with(&[("PORT", "8080")]).unwrap().site_addr.to_string(),
        "0.0.0.0:8080"
    );
    assert_eq!(
        with(&[("PORT", "8080"), ("LEPTOS_SITE_ADDR", "127.0.0.1:9000")])
            .unwrap()
            .site_addr
            .to_string(),
        "127.0.0.1:9000"
    );
    let (name, message) = first_error(&[("PORT", "http")]);
    assert_eq!(name, "PORT");
    assert!(message.contains("port number"), "{message}");
    // Local mode still listens on loopback only, and says which variable asked otherwise.
    let (name, message) = first_error(&[("PORT", "8080")]);
    assert_eq!(name, "PORT");
    assert!(message.contains("loopback"), "{message}");
}

#[test]
fn the_sns_max_age_never_outlives_the_dedupe_records() {
    let errors = load(&[
        ("MAILVEND_SNS_MAX_AGE", "48h"),
        ("MAILVEND_RETENTION_DAYS", "1"),
    ])
    .unwrap_err();
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert_eq!(errors.0[0].source_name, "MAILVEND_SNS_MAX_AGE");
    assert!(
        errors.0[0].message.contains("MAILVEND_RETENTION_DAYS"),
        "{errors}"
    );
    let c = load(&[
        ("MAILVEND_SNS_MAX_AGE", "48h"),
        ("MAILVEND_RETENTION_DAYS", "2"),
    ])
    .unwrap();
    assert_eq!(c.sns_max_age.as_secs(), 48 * 3600);
}

/// The shutdown and lease timings: within their ranges, or an error naming the variable and
/// the range (a lease shorter than a send would let a second server send the mail again).
#[test]
fn shutdown_and_lease_timings_are_bounded() {
    let c = load(&[
        ("MAILVEND_CLAIM_LEASE", "15s"),
        ("MAILVEND_DRAIN", "0s"),
        ("MAILVEND_SHUTDOWN_GRACE", "10m"),
    ])
    .unwrap();
    assert_eq!(c.claim_lease, std::time::Duration::from_secs(15));
    assert_eq!(c.drain, std::time::Duration::ZERO);
    assert_eq!(c.shutdown_grace, std::time::Duration::from_secs(600));
    for (key, value, expected) in [
        ("MAILVEND_CLAIM_LEASE", "14s", "15s to 1h"),
        ("MAILVEND_CLAIM_LEASE", "61m", "15s to 1h"),
        ("MAILVEND_CLAIM_LEASE", "soon", "15s to 1h"),
        ("MAILVEND_DRAIN", "5m 1s", "0s to 5m"),
        ("MAILVEND_SHUTDOWN_GRACE", "0s", "1s to 10m"),
        ("MAILVEND_SHUTDOWN_GRACE", "600500ms", "1s to 10m"),
    ] {
        let (name, message) = first_error(&[(key, value)]);
        assert_eq!(name, key, "{value}");
        assert!(message.contains(expected), "{key}={value}: {message}");
        assert!(message.contains(value), "{key}={value}: {message}");
    }
}

#[test]
fn the_interactive_priority_is_a_nice_value() {
    assert_eq!(
        load(&[("MAILVEND_INTERACTIVE_NICE", "0")])
            .unwrap()
            .interactive_nice,
        0
    );
    assert_eq!(
        load(&[("MAILVEND_INTERACTIVE_NICE", "19")])
            .unwrap()
            .interactive_nice,
        19
    );
    for value in ["20", "-1", "low"] {
        let (name, message) = first_error(&[("MAILVEND_INTERACTIVE_NICE", value)]);
        assert_eq!(name, "MAILVEND_INTERACTIVE_NICE");
        assert!(
            message.contains("0 to 19") && message.contains(value),
            "{message}"
        );
    }
}

#[test]
fn the_organization_is_read_only_when_asked_and_its_keys_need_it() {
    assert_eq!(load(&[]).unwrap().organizations, None);
    let on = load(&[("MAILVEND_ORGANIZATIONS", "on")]).unwrap();
    assert_eq!(
        on.organizations,
        Some(OrganizationsConfig {
            role_arn: None,
            sync_every: Some(std::time::Duration::from_secs(3600)),
            unused_days: 30,
            root_emails: false,
            code_wait: std::time::Duration::from_secs(1800),
            move_pace: std::time::Duration::from_secs(5),
            verify_subject: "Verify the new email address for the AWS account root user".into(),
            verify_senders: vec!["signin.aws".into(), "verify.signin.aws".into()],
        })
    );
    let set = load(&[
        ("MAILVEND_ORGANIZATIONS", "on"),
        (
            "MAILVEND_ORGANIZATIONS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/org/mailvend-reader",
        ),
        ("MAILVEND_ORGANIZATIONS_SYNC_EVERY", "off"),
        ("MAILVEND_ORGANIZATIONS_UNUSED_DAYS", "90"),
        ("MAILVEND_ORGANIZATIONS_ROOT_EMAILS", "on"),
        ("MAILVEND_ORGANIZATIONS_CODE_WAIT", "2h"),
        ("MAILVEND_ORGANIZATIONS_MOVE_PACE", "0s"),
        (
            "MAILVEND_ORGANIZATIONS_VERIFY_SENDERS",
            " Mail.Example.COM., other.example ",
        ),
        (
            "MAILVEND_ORGANIZATIONS_VERIFY_SUBJECT",
            "  Confirm your new root email  ",
        ),
    ])
    .unwrap()
    .organizations
    .unwrap();
    assert_eq!(
        set.role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/org/mailvend-reader")
    );
    assert_eq!(set.sync_every, None);
    assert_eq!(set.unused_days, 90);
    assert!(set.root_emails);
    assert_eq!(set.code_wait, std::time::Duration::from_secs(7200));
    assert_eq!(set.move_pace, std::time::Duration::ZERO);
    assert_eq!(set.verify_senders, ["mail.example.com", "other.example"]);
    assert_eq!(set.verify_subject, "Confirm your new root email");
    for (key, value, expected) in [
        (
            "MAILVEND_ORGANIZATIONS_ROLE_ARN",
            "arn:aws:iam::12345:role/x",
            "IAM role ARN",
        ),
        (
            "MAILVEND_ORGANIZATIONS_ROLE_ARN",
            "arn:aws:iam::123456789012:user/x",
            "IAM role ARN",
        ),
        (
            "MAILVEND_ORGANIZATIONS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/",
            "IAM role ARN",
        ),
        (
            "MAILVEND_ORGANIZATIONS_ROLE_ARN",
            "arn:aws:sts::123456789012:role/x",
            "IAM role ARN",
        ),
        ("MAILVEND_ORGANIZATIONS_SYNC_EVERY", "1m", "5m to 7days"),
        ("MAILVEND_ORGANIZATIONS_SYNC_EVERY", "8days", "5m to 7days"),
        ("MAILVEND_ORGANIZATIONS_UNUSED_DAYS", "0", "1 to 3650"),
        ("MAILVEND_ORGANIZATIONS_CODE_WAIT", "25h", "1m to 24h"),
        ("MAILVEND_ORGANIZATIONS_CODE_WAIT", "10s", "1m to 24h"),
        ("MAILVEND_ORGANIZATIONS_MOVE_PACE", "11m", "0s to 10m"),
        (
            "MAILVEND_ORGANIZATIONS_VERIFY_SENDERS",
            ",",
            "one or more domains",
        ),
        (
            "MAILVEND_ORGANIZATIONS_VERIFY_SENDERS",
            "a@signin.aws",
            "such as verify.signin.aws",
        ),
        (
            "MAILVEND_ORGANIZATIONS_VERIFY_SENDERS",
            "localhost",
            "such as verify.signin.aws",
        ),
        (
            "MAILVEND_ORGANIZATIONS_VERIFY_SUBJECT",
            "Verify",
            "whole subject",
        ),
    ] {
        let (name, message) = first_error(&[("MAILVEND_ORGANIZATIONS", "on"), (key, value)]);
        assert_eq!(name, key, "{value}");
        assert!(message.contains(expected), "{key}={value}: {message}");
    }
    // Without the switch the other keys would silently do nothing: refused by name.
    let (name, message) = first_error(&[("MAILVEND_ORGANIZATIONS_SYNC_EVERY", "2h")]);
    assert_eq!(name, "MAILVEND_ORGANIZATIONS_SYNC_EVERY");
    assert!(message.contains("MAILVEND_ORGANIZATIONS=on"), "{message}");
    let (name, _) = first_error(&[("MAILVEND_ORGANIZATIONS", "maybe")]);
    assert_eq!(name, "MAILVEND_ORGANIZATIONS");
}

#[test]
fn mail_class_rows_are_read_and_each_bad_row_named() {
    let c = load(&[(
        "MAILVEND_MAIL_CLASS_RULES",
        " security | Corp.Example, ops.corp.example | Security alert ; ; notice|aws.com|newsletter",
    )])
    .unwrap();
    assert_eq!(
        c.mail_class_rules,
        vec![
            MailClassRule {
                class: app::model::MailClass::Security,
                domains: vec!["corp.example".into(), "ops.corp.example".into()],
                subject: "Security alert".into(),
            },
            MailClassRule {
                class: app::model::MailClass::Notice,
                domains: vec!["aws.com".into()],
                subject: "newsletter".into(),
            },
        ]
    );
    assert!(load(&[]).unwrap().mail_class_rules.is_empty());
    for (value, expected) in [
        (
            "security|corp.example",
            "row 1: expected class|domains|subject",
        ),
        ("secret|corp.example|alert", "expected a class (credential"),
        ("security|localhost|alert", "sender domains"),
        ("security|a@corp.example|alert", "sender domains"),
        (
            "notice|aws.com|fine; security|corp.example|x",
            "row 2: expected a subject fragment",
        ),
    ] {
        let (name, message) = first_error(&[("MAILVEND_MAIL_CLASS_RULES", value)]);
        assert_eq!(name, "MAILVEND_MAIL_CLASS_RULES");
        assert!(message.contains(expected), "{value}: {message}");
    }
}

/// #18: the restricted group and how long held mail waits.
#[test]
fn the_restricted_group_and_the_hold_are_checked() {
    let c = load(&[("MAILVEND_DOMAIN", "mail.example.com")]).unwrap();
    assert!(c.restricted_to.is_empty());
    assert_eq!(c.hold_for_days, 14);
    let c = load(&[
        ("MAILVEND_DOMAIN", "mail.example.com"),
        (
            "MAILVEND_RESTRICTED_TO",
            "Platform@Corp.example, sec@corp.example",
        ),
        ("MAILVEND_HOLD_FOR_DAYS", "3"),
    ])
    .unwrap();
    assert_eq!(
        c.restricted_to,
        vec!["platform@corp.example", "sec@corp.example"]
    );
    assert_eq!(c.hold_for_days, 3);
    // Unset, it never outlasts a short retention.
    let c = load(&[
        ("MAILVEND_DOMAIN", "mail.example.com"),
        ("MAILVEND_RETENTION_DAYS", "7"),
    ])
    .unwrap();
    assert_eq!(c.hold_for_days, 7);
    let many = (0..21)
        .map(|i| format!("p{i}@corp.example"))
        .collect::<Vec<_>>()
        .join(",");
    for (key, value, expected) in [
        ("MAILVEND_RESTRICTED_TO", "not-an-address", "not-an-address"),
        // Back to the served domain: it would come in again as mail to a vended address.
        (
            "MAILVEND_RESTRICTED_TO",
            "team@mail.example.com",
            "the served domain",
        ),
        ("MAILVEND_RESTRICTED_TO", many.as_str(), "at most 20"),
        ("MAILVEND_HOLD_FOR_DAYS", "0", "1 to 365"),
        ("MAILVEND_HOLD_FOR_DAYS", "soon", "1 to 365"),
        // Held mail must not be purged before it expires (retention is 30 days by default).
        ("MAILVEND_HOLD_FOR_DAYS", "31", "MAILVEND_RETENTION_DAYS"),
    ] {
        let (name, message) = first_error(&[("MAILVEND_DOMAIN", "mail.example.com"), (key, value)]);
        assert_eq!(name, key, "{value}");
        assert!(message.contains(expected), "{key}={value}: {message}");
    }
}

#[test]
fn notification_settings_are_checked() {
    let c = load(&[]).unwrap();
    assert!(!c.notify_allow_http, "plain http is off unless asked for");
    assert_eq!(c.notify_poll, std::time::Duration::from_secs(30));
    let c = load(&[
        ("MAILVEND_NOTIFY_ALLOW_HTTP", "on"),
        ("MAILVEND_NOTIFY_POLL", "2s"),
    ])
    .unwrap();
    assert!(c.notify_allow_http);
    assert_eq!(c.notify_poll, std::time::Duration::from_secs(2));
    for (key, value, expected) in [
        ("MAILVEND_NOTIFY_POLL", "0s", "1s to 1day"),
        ("MAILVEND_NOTIFY_POLL", "2days", "1s to 1day"),
        ("MAILVEND_NOTIFY_ALLOW_HTTP", "maybe", "maybe"),
    ] {
        let (name, message) = first_error(&[(key, value)]);
        assert_eq!(name, key, "{value}");
        assert!(message.contains(expected), "{key}={value}: {message}");
    }
}
