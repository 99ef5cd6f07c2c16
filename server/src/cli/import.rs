//! `mailvend import --table NAME`: moves the AWS sample's DynamoDB table into mailvend. Its
//! items hold `AccountEmail` (the address), `AccountName` (the name without its counter),
//! `Enum` (the zero-padded counter), `OwnerAddress`, `AccountType` and `Tags`; each becomes a
//! mapping with the same address and number, and every base's counter continues after the
//! highest imported number, so new vends never reuse one.

use std::collections::{BTreeMap, HashMap};

use app::model::{Mapping, MappingStatus};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::store::{MappingStore, StoreError};

type Item = HashMap<String, AttributeValue>;

/// One item's fate, printed as a JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub address: String,
    /// `imported`, `exists` (already here, left alone), `refused` or, with `--dry-run`,
    /// `would_import`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn text(item: &Item, key: &str) -> Option<String> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The mapping an item of the sample's table describes, checked against mailvend's rules.
pub fn mapping_of(item: &Item, domain: &str, table: &str, now: &str) -> Result<Mapping, String> {
    let address = text(item, "AccountEmail")
        .ok_or("no AccountEmail")?
        .to_ascii_lowercase();
    let (local, at) = address
        .rsplit_once('@')
        .ok_or_else(|| format!("AccountEmail {address:?} is not an address"))?;
    if at != domain {
        return Err(format!(
            "AccountEmail {address} is not on {domain} (MAILVEND_DOMAIN); mail for it would never arrive here"
        ));
    }
    let owner = text(item, "OwnerAddress").ok_or("no OwnerAddress")?;
    let owner = app::address::parse_mailbox(&owner).map_err(|e| format!("OwnerAddress: {e}"))?;
    if let Some(m) = crate::service::vending::owner_loops(&owner, domain) {
        return Err(format!("OwnerAddress: {m}"));
    }
    let base = text(item, "AccountName").ok_or("no AccountName")?;
    // The sample names an account `<AccountName>-<Enum>`, which is also the address's local
    // part; an item without `Enum` (an override) is named by its address.
    let (account_name, counter) = match text(item, "Enum") {
        Some(e) => {
            let n = e
                .parse::<u64>()
                .map_err(|_| format!("Enum {e:?} is not a number"))?;
            (format!("{base}-{e}"), Some(n))
        }
        None => (local.to_string(), None),
    };
    let tags: BTreeMap<String, String> = item
        .get("Tags")
        .and_then(|v| v.as_m().ok())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Mapping {
        address,
        account_name,
        base: counter.map(|_| base),
        counter,
        account_type: text(item, "AccountType").ok_or("no AccountType")?,
        owner,
        tags,
        status: MappingStatus::Active,
        aws_account_id: None,
        account: None,
        notes: Some(format!("imported from the DynamoDB table {table}")),
        created_at: now.to_string(),
        created_by: "import".into(),
        updated_at: now.to_string(),
        updated_by: "import".into(),
        recipients: Vec::new(),
        unreachable: Vec::new(),
    })
}

/// Reads every item of `table` (a Scan: the sample's table has no other way to list) and
/// imports it; one line per item.
pub async fn run(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    store: &dyn MappingStore,
    domain: &str,
    dry_run: bool,
    now: &str,
) -> Result<Vec<Line>, StoreError> {
    let items: Vec<Item> = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "reading {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            ))
        })?;
    let mut lines = Vec::with_capacity(items.len());
    for item in &items {
        let fallback = text(item, "AccountEmail").unwrap_or_else(|| "(no AccountEmail)".into());
        let line = match mapping_of(item, domain, table, now) {
            Err(reason) => Line {
                address: fallback,
                outcome: "refused",
                reason: Some(reason),
            },
            Ok(m) if dry_run => Line {
                address: m.address,
                outcome: "would_import",
                reason: None,
            },
            Ok(m) => match store.import(&m, "import", now).await {
                Ok(true) => Line {
                    address: m.address,
                    outcome: "imported",
                    reason: None,
                },
                Ok(false) => Line {
                    address: m.address,
                    outcome: "exists",
                    reason: None,
                },
                Err(StoreError::Conflict(reason)) => Line {
                    address: m.address,
                    outcome: "refused",
                    reason: Some(reason),
                },
                Err(e) => return Err(e),
            },
        };
        lines.push(line);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };

    use super::*;
    use crate::store::conformance::spec;

    const NOW: &str = "2026-11-25T00:00:00.000Z";

    /// The fixture item, as the sample's Lambda wrote it.
    /// The sample's item with its owner moved off the served domain (the sample's own owner,
    /// jdoe@example.com, is on example.com: a forwarding loop mailvend refuses).
    fn sample_item() -> Item {
        with(aws_sample_item(), "OwnerAddress", "jdoe@corp.example")
    }

    fn aws_sample_item() -> Item {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/seed-sample/table-item.json");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        serde_dynamo::to_item(json).unwrap()
    }

    fn with(mut item: Item, key: &str, value: &str) -> Item {
        item.insert(key.into(), AttributeValue::S(value.into()));
        item
    }

    #[test]
    fn the_samples_item_becomes_the_same_mapping() {
        let m = mapping_of(&sample_item(), "example.com", "seed", NOW).unwrap();
        assert_eq!(m.address, "blue-origin-space-cube-z-prod-001@example.com");
        assert_eq!(m.account_name, "blue-origin-space-cube-z-prod-001");
        assert_eq!(m.base.as_deref(), Some("blue-origin-space-cube-z-prod"));
        assert_eq!(m.counter, Some(1));
        assert_eq!(m.owner, "jdoe@corp.example");
        assert_eq!(m.account_type, "IT");
        // The sample's null tags are dropped.
        assert_eq!(
            m.tags,
            BTreeMap::from([
                ("ApplicationName".to_string(), "space-cube-z".to_string()),
                ("BusinessUnit".to_string(), "Blue-Origin".to_string()),
                ("Environment".to_string(), "PRODUCTION".to_string()),
            ])
        );
    }

    #[test]
    fn bad_items_are_refused_naming_the_field() {
        for (item, want) in [
            (sample_item(), "not on mail.example.com"),
            (
                with(sample_item(), "OwnerAddress", "Jane <j@x.example>"),
                "OwnerAddress",
            ),
            (with(sample_item(), "Enum", "one"), "Enum"),
            (aws_sample_item(), "forwarding loop"),
            (
                with(sample_item(), "AccountEmail", "no-at-sign"),
                "not an address",
            ),
        ] {
            let domain = if want.starts_with("not on") {
                "mail.example.com"
            } else {
                "example.com"
            };
            let err = mapping_of(&item, domain, "seed", NOW).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
        let mut no_owner = sample_item();
        no_owner.remove("OwnerAddress");
        assert_eq!(
            mapping_of(&no_owner, "example.com", "seed", NOW).unwrap_err(),
            "no OwnerAddress"
        );
    }

    /// The sample's table in moto, filled with its item shape, imported into mailvend's
    /// DynamoDB tables (also in moto).
    #[tokio::test]
    async fn imports_a_table_of_the_samples_shape_and_vends_after_it() {
        let (config, _) = crate::testing::moto::sdk_config().await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let table = format!("AccountEmailMappings-{:x}", rand::random::<u32>());
        client
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("AccountEmail")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("AccountEmail")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let seventh = with(
            with(
                sample_item(),
                "AccountEmail",
                "blue-origin-space-cube-z-prod-007@example.com",
            ),
            "Enum",
            "007",
        );
        let elsewhere = with(sample_item(), "AccountEmail", "x-001@other.example");
        let looping = with(
            aws_sample_item(),
            "AccountEmail",
            "blue-origin-space-cube-z-prod-009@example.com",
        );
        for item in [sample_item(), seventh, elsewhere, looping] {
            client
                .put_item()
                .table_name(&table)
                .set_item(Some(item))
                .send()
                .await
                .unwrap();
        }

        let store = Arc::new(crate::store::dynamodb::tests::store().await);
        let dry = run(&client, &table, &*store, "example.com", true, NOW)
            .await
            .unwrap();
        assert_eq!(
            dry.iter().filter(|l| l.outcome == "would_import").count(),
            2
        );
        assert!(matches!(
            store
                .get("blue-origin-space-cube-z-prod-001@example.com")
                .await,
            Err(StoreError::NotFound(_))
        ));

        let mut lines = run(&client, &table, &*store, "example.com", false, NOW)
            .await
            .unwrap();
        lines.sort_by(|a, b| a.address.cmp(&b.address));
        let outcomes: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l.address.as_str(), l.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("blue-origin-space-cube-z-prod-001@example.com", "imported"),
                ("blue-origin-space-cube-z-prod-007@example.com", "imported"),
                ("blue-origin-space-cube-z-prod-009@example.com", "refused"),
                ("x-001@other.example", "refused"),
            ]
        );
        // Run again: nothing changes.
        let again = run(&client, &table, &*store, "example.com", false, NOW)
            .await
            .unwrap();
        assert_eq!(again.iter().filter(|l| l.outcome == "exists").count(), 2);

        // The next vend for the same base takes 008, after the highest imported number.
        let mut next = spec("blue-origin-space-cube-z-prod");
        next.domain = "example.com".into();
        let vended = store.vend(&next).await.unwrap().mapping;
        assert_eq!(
            vended.address,
            "blue-origin-space-cube-z-prod-008@example.com"
        );
        eprintln!("{}", serde_json::to_string(&lines).unwrap());
    }
}
