//! Each pattern of the description against the validator it describes: the same inputs must
//! get the same answer from both.

use std::collections::BTreeMap;

use super::*;
use crate::service::vending::{check_tags, plan, VendRequest};

fn rules() -> VendRules {
    VendRules {
        domain: "example.com".into(),
        counter_width: 3,
        account_types: vec!["IT".into(), "Sales.EU".into()],
        reserved: vec!["root".into(), "postmaster".into(), "ops+alerts".into()],
    }
}

fn is(pattern: &str, v: &str) -> bool {
    regex::Regex::new(pattern)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
        .is_match(v)
}

fn request(f: impl FnOnce(&mut VendRequest)) -> VendRequest {
    let mut r = VendRequest {
        owner: "jdoe@corp.example".into(),
        account_type: "IT".into(),
        business_unit: Some("Blue".into()),
        application: Some("cube".into()),
        ..Default::default()
    };
    f(&mut r);
    r
}

fn vends(r: &VendRequest) -> bool {
    plan(r, &rules(), "t", "2026-12-04T00:00:00Z").is_ok()
}

#[test]
fn owner_pattern_is_the_owner_rule() {
    let p = Patterns::new(&rules());
    let long_local = format!("{}@corp.example", "a".repeat(65));
    let local_64 = format!("{}@corp.example", "a".repeat(64));
    let long_domain = format!("a@{}.example", vec!["b".repeat(60); 4].join("."));
    let domain_253 = format!("a@{}.{}", vec!["b".repeat(61); 4].join("."), "c");
    for v in [
        "a@b.co",
        "First.Last+tag@Sub.Example.COM",
        "o'neil@example.ie",
        "x!#$%&'*+/=?^_`{|}~-y@corp.example",
        "a@b.co.",
        "a@b.co..",
        "jdoe@example.com",
        "jdoe@EXAMPLE.com.",
        "jdoe@sub.example.com",
        "jdoe@example.community",
        "a..b@corp.example",
        ".a@corp.example",
        "a.@corp.example",
        "a@corp",
        "a@-corp.example",
        "a@corp-.example",
        "a@co_rp.example",
        "a b@corp.example",
        "a@b@corp.example",
        "\"a\"@corp.example",
        "@corp.example",
        "a@",
        "é@corp.example",
        &long_local,
        &local_64,
        &long_domain,
        &domain_253,
    ] {
        let schema = is(&p.mailbox, v)
            && is(LOCAL_AT_MOST_64, v)
            && is(DOMAIN_AT_MOST_253, v)
            && !is(&p.on_domain, v);
        assert_eq!(schema, rules().owner(v).is_ok(), "{v:?}");
    }
}

#[test]
fn address_pattern_is_the_address_rule() {
    let p = Patterns::new(&rules());
    let long = format!("{}@example.com", "a".repeat(53));
    for v in [
        "team-blue@example.com",
        "Team.Blue@Example.COM",
        "team@example.com.",
        "team@sub.example.com",
        "team@example.org",
        "te%am@example.com",
        "te&am@example.com",
        "o'neil@example.com",
        "a|b@example.com",
        "root@example.com",
        "ROOT+x@example.com",
        "rooted@example.com",
        "postmaster+a+b@example.com",
        "ops+alerts@example.com",
        "ops@example.com",
        "ops+other@example.com",
        "a..b@example.com",
        &long,
        &long[1..],
    ] {
        let schema = is(&p.address, v)
            && v.chars().count() >= 6
            && v.chars().count() <= app::naming::MAX_ADDRESS
            && !is(p.reserved_address.as_deref().unwrap(), v);
        let server = vends(&request(|r| r.address = Some(v.into())));
        assert_eq!(schema, server, "{v:?}");
    }
}

#[test]
fn name_pattern_is_the_name_rule() {
    let p = Patterns::new(&rules());
    assert_eq!(p.name_limit, 50);
    for v in [
        "team-blue",
        "Team_Blue.x+y",
        ".team",
        "team.",
        "te..am",
        "te am",
        "té",
        "te%am",
        "root",
        "Root+anything",
        "roots",
        "ops+alerts",
        "ops",
        &"a".repeat(50),
        &"a".repeat(51),
    ] {
        let schema = is(&p.name, v)
            && v.chars().count() <= p.name_limit
            && !is(p.reserved_name.as_deref().unwrap(), v);
        for address in [None, Some("chosen@example.com".to_string())] {
            let server = vends(&request(|r| {
                r.account_name = Some(v.into());
                r.address = address.clone();
            }));
            assert_eq!(schema, server, "{v:?} with address {address:?}");
        }
    }
}

#[test]
fn parts_fit_together_exactly_when_a_split_allows_them() {
    let p = Patterns::new(&rules());
    let k = p.parts_limit;
    assert_eq!(k, 40, "50 - len(\"--eval-\") - 3");
    let splits = p.parts_fit("business_unit", "application");
    let schema_fits = |bu: &str, app: &str| {
        splits.as_array().unwrap().iter().any(|s| {
            let max = |f: &str| s["properties"][f]["maxLength"].as_u64().unwrap() as usize;
            bu.chars().count() <= max("business_unit") && app.chars().count() <= max("application")
        })
    };
    for (bu, app) in [
        ("a".repeat(20), "b".repeat(20)),
        ("a".repeat(39), "b".into()),
        ("b".into(), "a".repeat(39)),
        ("a".repeat(21), "b".repeat(20)),
        ("a".repeat(40), "b".into()),
        ("Ünïcödé ünit".into(), "x".into()),
        ("Ünïcödé ünit".repeat(4), "x".into()),
        ("!!!".into(), "x".into()),
    ] {
        let schema = schema_fits(&bu, &app) && is("[A-Za-z0-9]", &bu) && is("[A-Za-z0-9]", &app);
        for env in ["EVALUATION", "prod", "Qa", ""] {
            let server = vends(&request(|r| {
                r.business_unit = Some(bu.clone());
                r.application = Some(app.clone());
                r.environment = Some(env.into());
            }));
            assert_eq!(schema, server, "{bu:?} {app:?} {env:?}");
        }
    }
    // A long domain leaves less room, and the limit follows it.
    let mut long = rules();
    long.domain = "accounts.mail.example-corporation.com".into();
    let k = long.parts_limit();
    let name = format!("{}-{}-eval-999", "a".repeat(k - 1), "b");
    assert!(app::naming::check_limits(&name, &long.domain, "x").is_ok());
    let name = format!("{}-{}-eval-999", "a".repeat(k), "b");
    assert!(app::naming::check_limits(&name, &long.domain, "x").is_err());
}

#[test]
fn environment_and_account_type_patterns_are_their_rules() {
    let p = Patterns::new(&rules());
    for v in [
        "PRODUCTION",
        "prod",
        "Prod",
        "qa",
        "QUALITYASSURANCE",
        "",
        "  ",
        "live",
        "prodx",
    ] {
        assert_eq!(
            is(&p.environment, v),
            app::naming::Environment::parse(v).is_ok(),
            "{v:?}"
        );
    }
    for v in ["IT", "it", "Sales.EU", "sales.eu", "SalesXEU", "Sales", "I"] {
        assert_eq!(
            is(&p.account_type, v),
            rules().account_type(v).is_ok(),
            "{v:?}"
        );
    }
}

#[test]
fn tag_patterns_are_the_tag_rules() {
    let p = Patterns::new(&rules());
    for (k, v) in [
        ("team", "blue"),
        ("cost centre", "été 2026 🎉"),
        ("", "x"),
        (" ", "x"),
        ("\u{3000}", "x"),
        (" a ", ""),
        ("te\u{200D}am", "x"),
        ("team", "ops\u{2066}x"),
        ("team", "line\nbreak"),
        ("tag\u{E0041}", "x"),
        ("x", "\u{FEFF}bom"),
        ("x", "soft\u{AD}hyphen"),
        ("x", "\u{85}"),
    ] {
        let schema = is(&p.tag_key, k) && is(&p.tag_value, v);
        let tags = BTreeMap::from([(k.to_string(), v.to_string())]);
        assert_eq!(schema, check_tags(&tags).is_ok(), "{k:?}: {v:?}");
    }
}

#[test]
fn notes_pattern_is_the_notes_rule() {
    use crate::service::mapping_patch::MappingPatch;
    let p = Patterns::new(&rules());
    for v in [
        "two\nlines\tand a tab",
        "é 🎉",
        "bell\u{7}",
        "rtl\u{202E}",
        "\r\n",
    ] {
        let patch = MappingPatch {
            notes: Some(Some(v.into())),
            ..Default::default()
        };
        assert_eq!(is(&p.notes, v), patch.validate(&rules()).is_ok(), "{v:?}");
    }
}

#[test]
fn day_pattern_is_the_day_rule() {
    use app::model::MessageQuery;
    for v in [
        "",
        "2026-12-04",
        "0001-01-31",
        "2026-13-01",
        "2026-00-10",
        "2026-1-01",
        "26-12-04",
    ] {
        let q = MessageQuery {
            from: v.into(),
            ..Default::default()
        };
        assert_eq!(
            is(crate::service::DAY_PATTERN, v),
            crate::service::message_filter(&q).is_ok(),
            "{v:?}"
        );
    }
}

#[test]
fn the_served_description_is_complete() {
    let doc = document(&rules());
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["VendRequest"]["anyOf"].as_array().unwrap().len(), 2);
    assert_eq!(schemas["SampleVend"]["anyOf"].as_array().unwrap().len(), 2);
    assert_eq!(schemas["MappingPatch"]["minProperties"], 1);
    let paths = &doc["paths"];
    let vend_links = &paths["/api/v1/addresses"]["post"]["responses"]["201"]["links"];
    for op in ["getAddress", "patchAddress", "deleteAddress"] {
        assert_eq!(vend_links[op]["operationId"], op);
        assert!(
            paths.as_object().unwrap().values().any(|item| item
                .as_object()
                .unwrap()
                .values()
                .any(|o| o["operationId"] == op)),
            "{op} is linked but is no operation"
        );
    }
    let message_links = &paths["/api/v1/messages"]["get"]["responses"]["200"]["links"];
    assert_eq!(
        message_links["replayMessage"]["parameters"]["id"],
        "$response.body#/items/0/id"
    );
    let limit = paths["/api/v1/messages"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&json!(1), &json!(crate::service::MAX_PAGE))
    );
    // Python's `re`, which generic clients use, reads every pattern (checked here with Rust's,
    // which refuses the same look-around and back-references).
    let text = doc.to_string();
    assert!(
        !text.contains("(?="),
        "no look-ahead: generators cannot satisfy it"
    );
}

/// A routing rule's name in the description against the rule check: the same answer.
#[test]
fn rule_name_schema_is_the_rule_check() {
    use app::model::{MatchKind, RoutingRule, RuleAction, RuleMatch};
    let doc = document(&rules());
    let schema = &doc["components"]["schemas"]["RoutingRule"]["properties"]["name"];
    let pattern = schema["pattern"].as_str().unwrap();
    let max = schema["maxLength"].as_u64().unwrap() as usize;
    for v in [
        "billing",
        " padded ",
        "",
        "   ",
        "tab\there",
        "line\nbreak",
        "c1\u{85}control",
        "Rechnungen für Ops",
        &"a".repeat(80),
        &"a".repeat(81),
    ] {
        let by_schema = is(pattern, v) && v.chars().count() <= max;
        let rule = RoutingRule {
            name: v.into(),
            sender: Some(RuleMatch {
                kind: MatchKind::Contains,
                value: "x".into(),
            }),
            subject: None,
            recipient: None,
            action: RuleAction::Drop,
        };
        let by_server = crate::inbound::rules::Rule::compile(&rule, 1, "example.com").is_ok();
        assert_eq!(by_schema, by_server, "{v:?}");
    }
}
