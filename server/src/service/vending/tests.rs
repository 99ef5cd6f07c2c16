use super::*;

fn rules() -> VendRules {
    VendRules {
        domain: "example.com".into(),
        reserved: reserved_local_parts(
            "example.com",
            &["forwarder@example.com", "ops@elsewhere.org"],
            &["billing".into()],
        ),
        counter_width: 3,
        account_types: vec![
            "Sales".into(),
            "Research".into(),
            "IT".into(),
            "DataEngineering".into(),
        ],
    }
}

fn base_request() -> VendRequest {
    VendRequest {
        owner: "JDoe@Corp.Example".into(),
        account_type: "it".into(),
        business_unit: Some("Blue-Origin".into()),
        application: Some("space-cube-z".into()),
        environment: Some("PRODUCTION".into()),
        ..VendRequest::default()
    }
}

fn plan_ok(req: &VendRequest) -> VendSpec {
    plan(req, &rules(), "admin:test", "2026-11-25T00:00:00Z").expect("valid request")
}

fn plan_err(req: &VendRequest) -> FieldError {
    plan(req, &rules(), "admin:test", "2026-11-25T00:00:00Z").expect_err("invalid request")
}

#[test]
fn the_sample_request_plans_the_sample_name() {
    let spec = plan_ok(&base_request());
    assert_eq!(
        spec.name,
        NameSpec::Generated {
            base: "blue-origin-space-cube-z-prod".into(),
            width: 3
        }
    );
    assert_eq!(
        spec.owner, "jdoe@corp.example",
        "owners are stored lower-cased"
    );
    assert_eq!(
        spec.account_type, "IT",
        "account types take their configured spelling"
    );
    assert_eq!(spec.address, None);
    assert_eq!(spec.actor, "admin:test");
}

#[test]
fn environment_defaults_to_eval_and_accepts_short_forms() {
    let mut req = base_request();
    req.environment = None;
    assert!(
        matches!(plan_ok(&req).name, NameSpec::Generated { base, .. } if base.ends_with("-eval"))
    );
    req.environment = Some("qa".into());
    assert!(
        matches!(plan_ok(&req).name, NameSpec::Generated { base, .. } if base.ends_with("-qa"))
    );
}

#[test]
fn overrides_are_kept_and_checked() {
    let mut req = base_request();
    req.account_name = Some("Custom-Account-Name".into());
    req.address = Some("Custom.Box@EXAMPLE.com".into());
    let spec = plan_ok(&req);
    assert_eq!(
        spec.name,
        NameSpec::Explicit {
            account_name: "custom-account-name".into()
        }
    );
    assert_eq!(spec.address.as_deref(), Some("custom.box@example.com"));

    // A name override alone makes the address from the name; the bu/app are not needed.
    let req = VendRequest {
        owner: "a@b.co".into(),
        account_type: "Sales".into(),
        account_name: Some("solo".into()),
        ..VendRequest::default()
    };
    assert_eq!(
        plan_ok(&req).name,
        NameSpec::Explicit {
            account_name: "solo".into()
        }
    );
}

#[test]
fn each_bad_input_names_its_field() {
    type Mutation = Box<dyn Fn(&mut VendRequest)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "owner",
            Box::new(|r| r.owner = "Jane <jane@example.com>".into()),
            "one email address",
        ),
        (
            "owner",
            Box::new(|r| r.owner = "a@example.com, b@example.com".into()),
            "one email address",
        ),
        (
            "owner",
            Box::new(|r| r.owner = "a@example.com\r\nBcc: evil@x.test".into()),
            "one email address",
        ),
        (
            "owner",
            Box::new(|r| r.owner = "".into()),
            "one email address",
        ),
        // Issue 22 item 1: an owner on the served domain is a forwarding loop.
        (
            "owner",
            Box::new(|r| r.owner = "admin@EXAMPLE.com".into()),
            "forwarding loop",
        ),
        (
            "account_type",
            Box::new(|r| r.account_type = "Marketing".into()),
            "Sales, Research, IT, DataEngineering",
        ),
        (
            "business_unit",
            Box::new(|r| r.business_unit = None),
            "required",
        ),
        (
            "business_unit",
            Box::new(|r| r.business_unit = Some("   ".into())),
            "required",
        ),
        (
            "business_unit",
            Box::new(|r| r.business_unit = Some("!!!".into())),
            "letter or digit",
        ),
        (
            "application",
            Box::new(|r| r.application = None),
            "required",
        ),
        (
            "environment",
            Box::new(|r| r.environment = Some("staging".into())),
            "PRODUCTION",
        ),
        // The AWS sample's override example puts the address on another domain.
        (
            "address",
            Box::new(|r| r.address = Some("custom-account-name@mydomain.com".into())),
            "configured domain example.com",
        ),
        (
            "address",
            Box::new(|r| r.address = Some("not an address".into())),
            "one email address",
        ),
        (
            "account_name",
            Box::new(|r| r.account_name = Some("has space".into())),
            "letters, digits",
        ),
        (
            "account_name",
            Box::new(|r| r.account_name = Some("a".repeat(51))),
            "AWS allows 50",
        ),
        (
            "business_unit",
            Box::new(|r| r.business_unit = Some("b".repeat(40))),
            "shorten the business unit",
        ),
        (
            "tags",
            Box::new(|r| {
                r.tags.insert("".into(), "v".into());
            }),
            "tag keys",
        ),
        (
            "tags",
            Box::new(|r| {
                r.tags.insert("k".into(), "v\n".into());
            }),
            "printable",
        ),
        (
            "tags",
            Box::new(|r| {
                for i in 0..51 {
                    r.tags.insert(format!("k{i}"), "v".into());
                }
            }),
            "at most 50",
        ),
        (
            "idempotency_key",
            Box::new(|r| r.idempotency_key = Some("has space".into())),
            "printable ASCII",
        ),
    ];
    for (field, mutate, text) in cases {
        let mut req = base_request();
        mutate(&mut req);
        let err = plan_err(&req);
        assert_eq!(err.field, field, "{err}");
        assert!(
            err.message.contains(text),
            "{field}: {:?} should mention {text:?}",
            err.message
        );
    }
}

#[test]
fn names_at_the_limit_pass_and_one_past_fails() {
    // Business unit and application share what a 50-character name leaves after `-`,
    // `-eval-` and the 3-digit counter: 50 - 10 = 40, so any split of 40 still makes a valid
    // name, and 41 is refused whatever the split.
    let rules = VendRules {
        domain: "x.io".into(),
        ..rules()
    };
    assert_eq!(rules.parts_limit(), 40);
    for split in [1, 20, 39] {
        let mut req = base_request();
        req.business_unit = Some("b".repeat(split));
        req.application = Some("a".repeat(40 - split));
        req.environment = Some("EVALUATION".into());
        let spec = plan(&req, &rules, "t", "n").unwrap();
        let NameSpec::Generated { base, width } = spec.name else {
            panic!("generated")
        };
        assert_eq!(naming::account_name(&base, 999, width).len(), 50);
        req.application = Some("a".repeat(41 - split));
        let err = plan(&req, &rules, "t", "n").unwrap_err();
        assert_eq!(err.field, "business_unit");
        assert!(err.message.contains("41 characters together"), "{err}");
    }
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let err = serde_json::from_str::<VendRequest>(
        r#"{"owner":"a@b.co","account_type":"IT","colour":"blue"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");
}

fn with_address(address: &str) -> VendRequest {
    VendRequest {
        address: Some(address.into()),
        account_name: Some("named".into()),
        ..base_request()
    }
}

#[test]
fn reserved_addresses_cannot_be_vended_by_anyone() {
    // Role mailboxes (RFC 2142), validation mailboxes, the from address, configured extras,
    // in any case and with a +label; the admin address elsewhere reserves nothing here.
    for (address, field) in [
        ("postmaster@example.com", "address"),
        ("Abuse@Example.com", "address"),
        ("hostmaster+acm@example.com", "address"),
        ("admin@example.com", "address"),
        ("administrator@example.com", "address"),
        ("webmaster@example.com", "address"),
        ("ssl-admin@example.com", "address"),
        ("root@example.com", "address"),
        ("noreply@example.com", "address"),
        ("forwarder@example.com", "address"),
        ("billing@example.com", "address"),
    ] {
        let err = plan_err(&with_address(address));
        assert_eq!(err.field, field, "{address}");
        assert!(err.message.contains("is reserved"), "{address}: {err}");
    }
    // An explicit name becomes name@domain: the same rule.
    let err = plan_err(&VendRequest {
        account_name: Some("Hostmaster".into()),
        ..base_request()
    });
    assert_eq!(err.field, "account_name");
    assert!(err.message.contains("is reserved"), "{err}");
    // Near misses are ordinary addresses.
    for ok in [
        "ops@example.com",
        "postmasters@example.com",
        "admin-team@example.com",
    ] {
        assert!(plan(&with_address(ok), &rules(), "t", "n").is_ok(), "{ok}");
    }
}

#[test]
fn overrides_follow_aws_rules_for_account_emails() {
    for bad in [
        "a%b@example.com",
        "a&b@example.com",
        "o'neil@example.com",
        "a|b@example.com",
    ] {
        let err = plan_err(&with_address(bad));
        assert_eq!(err.field, "address", "{bad}");
        assert!(err.message.contains("AWS refuses"), "{bad}: {err}");
    }
    let short = VendRules {
        domain: "x.y".into(),
        ..rules()
    };
    let err = plan(&with_address("a@x.y"), &short, "t", "n").unwrap_err();
    assert!(err.message.contains("at least 6"), "{err}");
}

#[test]
fn other_recipients_follow_the_owners_rules_and_are_at_most_four() {
    let with = |list: &[&str]| VendRequest {
        recipients: list.iter().map(|s| s.to_string()).collect(),
        ..base_request()
    };
    assert_eq!(
        plan_ok(&with(&["Team@Corp.Example", "backup@elsewhere.example"])).recipients,
        vec!["team@corp.example", "backup@elsewhere.example"]
    );
    assert!(plan_ok(&with(&[])).recipients.is_empty());
    // A repeat, or the owner, is dropped: they get the mail already.
    assert_eq!(
        plan_ok(&with(&["a@x.org", "A@X.org", "JDoe@corp.example"])).recipients,
        vec!["a@x.org"]
    );
    let five = ["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"];
    for (list, why) in [
        (&five[..], "at most 4"),
        (&["team@example.com"][..], "forwarding loop"),
        (&["Jane <j@x.org>"][..], ""),
        (&["not an address"][..], ""),
    ] {
        let e = plan_err(&with(list));
        assert_eq!(e.field, "recipients", "{list:?}");
        assert!(e.message.contains(why), "{list:?}: {}", e.message);
    }
}
