use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

/// 2026-03-06T20:00:00Z: inside the fixture certificate's validity (it expired 2026-10-14).
fn fixture_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_772_827_200)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sns-aws-signed")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn aws_cert() -> Vec<u8> {
    fixture("SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem")
}

const SAMPLES: [&str; 5] = [
    "notification-with-subject-v1.json",
    "notification-no-subject-v1.json",
    "notification-v2.json",
    "subscription-confirmation-v1.json",
    "unsubscribe-confirmation-v2.json",
];

#[test]
fn real_aws_signed_messages_verify() {
    for name in SAMPLES {
        let env = parse(&fixture(name)).unwrap();
        verify(&env, &aws_cert(), fixture_clock()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn canonical_strings_follow_the_documented_order() {
    let env = parse(&fixture("notification-with-subject-v1.json")).unwrap();
    let c = canonical_string(&env).unwrap();
    let keys: Vec<&str> = c.lines().step_by(2).collect();
    assert_eq!(
        keys,
        [
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type"
        ]
    );
    let env = parse(&fixture("notification-no-subject-v1.json")).unwrap();
    let keys: Vec<String> = canonical_string(&env)
        .unwrap()
        .lines()
        .step_by(2)
        .map(String::from)
        .collect();
    assert_eq!(
        keys,
        ["Message", "MessageId", "Timestamp", "TopicArn", "Type"]
    );
    // The confirmation's message has a line break of its own, so compare the whole text.
    let env = parse(&fixture("subscription-confirmation-v1.json")).unwrap();
    let want = format!(
        "Message\n{}\nMessageId\n{}\nSubscribeURL\n{}\nTimestamp\n{}\nToken\n{}\nTopicArn\n{}\nType\nSubscriptionConfirmation\n",
        env.message,
        env.message_id,
        env.subscribe_url.as_deref().unwrap(),
        env.timestamp,
        env.token.as_deref().unwrap(),
        env.topic_arn
    );
    assert!(env.message.contains('\n'));
    assert_eq!(canonical_string(&env).unwrap(), want);
}

#[test]
fn an_expired_certificate_is_refused() {
    let env = parse(&fixture("notification-v2.json")).unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000); // 2027-01-15, after expiry
    match verify(&env, &aws_cert(), now) {
        Err(SnsError::Certificate(m)) => assert!(m.contains("not valid at this time"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// Every tampering is refused, and with the reason that fits it.
#[test]
fn tampering_is_refused() {
    type Edit = fn(&mut serde_json::Value);
    let cases: Vec<(&str, &str, Edit)> = vec![
        ("changed Message", "signature", |v| {
            v["Message"] = "Hello! Tampered.".into()
        }),
        ("changed Subject", "signature", |v| {
            v["Subject"] = "Other subject".into()
        }),
        ("removed Subject", "signature", |v| {
            v.as_object_mut().unwrap().remove("Subject");
        }),
        ("changed TopicArn", "signature", |v| {
            v["TopicArn"] = "arn:aws:sns:us-west-2:131990247566:other-topic".into()
        }),
        ("changed Timestamp", "signature", |v| {
            v["Timestamp"] = "2026-03-06T19:53:22.424Z".into()
        }),
        ("changed MessageId", "signature", |v| {
            v["MessageId"] = "00000000-0000-0000-0000-000000000000".into()
        }),
        ("signature of another message", "signature", |v| {
            v["Signature"] = "Ce2Ax8UbEq0RrVH7gsjP9WZ9bzif7dUkAY4OH99Pv7FSrvs8cK+uiH3a6ig54rXWUnZRUejk8K6KeK5Q80O9iJp8KbPRKdQ0PkJ3YASdabhfK0e7evC05YR2pFoS6nNaqNzT7HrR1d1Z9iLoFxluo2Dzb7kWVB7e9jp/y+ZBXRzRIaZgscM84kahBc6QgXOFJA1/PFA4cB5qaa6tBcUFtTE63o9vJ4wMmKk93W9MoszC+dNJeVFr8VHmt3toR+3JauBCZnGdgXgsDhni4PduSfWJJxEpuOK41iYf1hW+xFNFFsv46siTFiHdHiYDfI7/VlaY4spMgkq3EndRr7rHzQ==".into()
        }),
        ("signature not base64", "signature", |v| {
            v["Signature"] = "!!!".into()
        }),
        (
            "version 2 claimed for a version 1 signature",
            "signature",
            |v| v["SignatureVersion"] = "2".into(),
        ),
        ("unknown version", "version", |v| {
            v["SignatureVersion"] = "3".into()
        }),
        ("http certificate URL", "cert url", |v| {
            v["SigningCertURL"] = "http://sns.us-west-2.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem".into()
        }),
        ("certificate on another host", "cert url", |v| {
            v["SigningCertURL"] = "https://sns.us-west-2.amazonaws.com.evil.example/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem".into()
        }),
        ("certificate on a look-alike host", "cert url", |v| {
            v["SigningCertURL"] = "https://evil-sns.us-west-2.amazonaws.com.example/x.pem".into()
        }),
        ("certificate URL with user info", "cert url", |v| {
            v["SigningCertURL"] = "https://user@sns.us-west-2.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem".into()
        }),
        ("certificate URL with a port", "cert url", |v| {
            v["SigningCertURL"] = "https://sns.us-west-2.amazonaws.com:8443/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem".into()
        }),
        ("certificate URL not a .pem", "cert url", |v| {
            v["SigningCertURL"] = "https://sns.us-west-2.amazonaws.com/cert.txt".into()
        }),
        ("certificate URL with a query", "cert url", |v| {
            v["SigningCertURL"] = "https://sns.us-west-2.amazonaws.com/x.pem?redirect=evil".into()
        }),
        ("unknown Type", "type", |v| v["Type"] = "Gossip".into()),
    ];
    for (what, want, edit) in cases {
        let mut v: serde_json::Value =
            serde_json::from_slice(&fixture("notification-with-subject-v1.json")).unwrap();
        edit(&mut v);
        let env = parse(v.to_string().as_bytes()).unwrap();
        let err = verify(&env, &aws_cert(), fixture_clock()).expect_err(what);
        let ok = match want {
            "signature" => err == SnsError::BadSignature,
            "version" => matches!(err, SnsError::UnknownVersion(_)),
            "cert url" => matches!(err, SnsError::CertUrl(_)),
            "type" => matches!(err, SnsError::UnknownType(_)),
            _ => false,
        };
        assert!(ok, "{what}: got {err:?}");
    }
}

#[test]
fn missing_fields_and_wrong_keys_are_refused() {
    for field in [
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ] {
        let mut v: serde_json::Value =
            serde_json::from_slice(&fixture("notification-v2.json")).unwrap();
        v.as_object_mut().unwrap().remove(field);
        match parse(v.to_string().as_bytes()) {
            Err(SnsError::Malformed(m)) => assert!(m.contains(field), "{field}: {m}"),
            other => panic!("{field}: {other:?}"),
        }
    }
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("subscription-confirmation-v1.json")).unwrap();
    v.as_object_mut().unwrap().remove("Token");
    let env = parse(v.to_string().as_bytes()).unwrap();
    assert_eq!(
        verify(&env, &aws_cert(), fixture_clock()),
        Err(SnsError::MissingField(
            "Token",
            "SubscriptionConfirmation".into()
        ))
    );
    assert!(matches!(parse(b"not json"), Err(SnsError::Malformed(_))));

    // A certificate that is not SNS's is refused before its key is tried.
    let other = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unrelated-cert.pem"),
    )
    .unwrap();
    let env = parse(&fixture("notification-v2.json")).unwrap();
    assert!(matches!(
        verify(&env, &other, SystemTime::now()),
        Err(SnsError::Certificate(m)) if m.contains("not sns.amazonaws.com")
    ));
    assert!(matches!(
        verify(&env, b"garbage", fixture_clock()),
        Err(SnsError::Certificate(_))
    ));
}

#[test]
fn sns_urls() {
    for ok in [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
        "https://sns.us-gov-west-1.amazonaws.com/x.pem",
    ] {
        assert!(cert_file_name(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        cert_file_name("https://sns.us-west-2.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem").unwrap(),
        "SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"
    );
    for bad in [
        "https://sns.amazonaws.com/x.pem",
        "https://s3.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
        "https://sns.US-EAST-1.amazonaws.com/x.pem/../y",
        "ftp://sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com/",
        "not a url",
    ] {
        assert!(cert_file_name(bad).is_err(), "{bad}");
    }
    // Subscription confirmation URLs have a query but the same host rule.
    assert!(is_sns_url(
        "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=x"
    ));
    assert!(!is_sns_url(
        "https://sns.us-west-2.amazonaws.com.evil.example/?Action=ConfirmSubscription"
    ));
}

#[test]
fn check_age_refuses_old_and_future_timestamps() {
    let now = humantime::parse_rfc3339("2026-12-03T12:00:00Z").unwrap();
    let day = Duration::from_secs(86_400);
    for (ts, ok) in [
        ("2026-12-03T12:00:00.000Z", true),
        ("2026-12-02T12:00:01.000Z", true),
        ("2026-12-02T11:59:59.000Z", false),
        ("2026-10-24T12:00:00.000Z", false),
        ("2026-12-03T12:14:00.000Z", true),
        ("2026-12-03T12:16:00.000Z", false),
    ] {
        assert_eq!(super::check_age(ts, now, day).is_ok(), ok, "{ts}");
    }
    assert!(matches!(
        super::check_age("yesterday", now, day),
        Err(SnsError::Malformed(_))
    ));
}

/// Issue 22 item 4: `sns.<anything>.amazonaws.com` is not SNS. `sns.s3.amazonaws.com` is the
/// virtual host of an S3 bucket named `sns`, which anyone can create and fill with a
/// certificate whose key they hold; `s3-accelerate` likewise.
#[test]
fn cert_trust_a_signing_cert_on_an_s3_bucket_named_sns_is_refused() {
    for bad in [
        "https://sns.s3.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.s3-accelerate.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.s3.us-east-1.amazonaws.com/x.pem",
        "https://sns.s3-website-us-east-1.amazonaws.com/x.pem",
        "https://sns.execute-api.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com.cn/x.pem",
        "https://sns.cn-north-1.amazonaws.com/x.pem",
        "https://sns.us-east.amazonaws.com/x.pem",
        "https://sns.us-east-123.amazonaws.com/x.pem",
        "https://sns.usa-east-1.amazonaws.com/x.pem",
        "https://sns.us-up-1.amazonaws.com/x.pem",
    ] {
        assert!(cert_file_name(bad).is_err(), "{bad}");
        assert!(!is_sns_url(bad), "{bad}");
    }
    for region in [
        "us-east-1",
        "eu-central-2",
        "ap-southeast-4",
        "us-gov-west-1",
        "cn-northwest-1",
        "us-isob-east-1",
        "il-central-1",
        "mx-central-1",
    ] {
        assert!(super::is_region(region), "{region}");
    }
}

/// Issue 22 item 4: only a certificate named for SNS and issued by Amazon is believed. Each
/// row is a certificate an attacker could get served from an allowed host, or pin by mistake:
/// the identity check answers before the signature is tried (`BadSignature` means it passed:
/// the key is not the one that signed the fixture).
#[test]
fn cert_trust_only_sns_certificates_issued_by_amazon_are_believed() {
    let env = parse(&fixture("notification-v2.json")).unwrap();
    let host = url::Url::parse(&env.signing_cert_url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = |name: &str, org: &str| crate::testing::sns_cert(&key, name, org).pem().into_bytes();
    let self_signed = rcgen::CertificateParams::new(vec!["sns.amazonaws.com".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem()
        .into_bytes();
    let refused = |pem: &[u8], why: &str| match verify(&env, pem, SystemTime::now()) {
        Err(SnsError::Certificate(m)) => assert!(m.contains(why), "{m}"),
        other => panic!("{why}: {other:?}"),
    };
    let believed = |pem: &[u8]| {
        assert_eq!(
            verify(&env, pem, SystemTime::now()),
            Err(SnsError::BadSignature)
        )
    };
    believed(&pem("sns.amazonaws.com", "Amazon"));
    believed(&pem("SNS.amazonaws.com", "Amazon"));
    believed(&pem(&host, "Amazon"));
    believed(&pem("sns-signing.us-west-2.amazonaws.com", "Amazon"));
    refused(&pem("sqs.amazonaws.com", "Amazon"), "not sns.amazonaws.com");
    refused(
        &pem("sns.amazonaws.com.evil.example", "Amazon"),
        "not sns.amazonaws.com",
    );
    refused(&pem("*.amazonaws.com", "Amazon"), "not sns.amazonaws.com");
    refused(
        &pem("sns.amazonaws.com", "Amazon Evil Inc"),
        "not by Amazon",
    );
    refused(&pem("sns.amazonaws.com", "Let's Encrypt"), "not by Amazon");
    refused(&self_signed, "not by Amazon");
    // The names AWS's SDKs expect in other regions, and only for the region of the URL.
    assert!(signing_names("sns.af-south-1.amazonaws.com")
        .contains(&"sns-signing.af-south-1.amazonaws.com".to_string()));
    assert!(signing_names("sns.us-gov-east-1.amazonaws.com")
        .contains(&"sns-us-gov-west-1.amazonaws.com".to_string()));
    assert!(signing_names("sns.cn-north-1.amazonaws.com.cn")
        .contains(&"sns-cn-north-1.amazonaws.com.cn".to_string()));
    assert!(!signing_names("sns.us-east-1.amazonaws.com")
        .contains(&"sns-signing.af-south-1.amazonaws.com".to_string()));
    assert_eq!(signing_names("sns.s3.amazonaws.com"), ["sns.amazonaws.com"]);
    refused(
        &pem("sns-signing.af-south-1.amazonaws.com", "Amazon"),
        "not sns.amazonaws.com",
    );
    // The real one passes all of it (and its signature verifies).
    verify(&env, &aws_cert(), fixture_clock()).unwrap();
}
