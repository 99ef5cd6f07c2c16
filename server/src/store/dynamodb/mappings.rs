//! `MappingStore` on DynamoDB: the mappings table, with its reservations, counters and audit
//! entries written in one transaction per change.

use std::collections::HashMap;

use app::model::{AuditEntry, Mapping, MappingCounts, MappingStatus, Page};
use app::naming;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};

use super::item::{audit_entry, audit_item, entry_item, get_s, key_item, put, s, Item, AUDIT_LIST};
use super::{collect, condition_failed, sdk, unavailable, DynamoStore};
use crate::store::paging::{decode_cursor, keyed_page, page_of};
use crate::store::{
    edit_action, taken, MappingChange, MappingFilter, MappingStore, NameSpec, StoreError, Taken,
    VendSpec, Vended, MAX_OWNERS_FILTER, MAX_SKIPS,
};

fn state_of(status: MappingStatus) -> &'static str {
    if status == MappingStatus::Deleted {
        "deleted"
    } else {
        "live"
    }
}

/// The item for a mapping at `version`, which every write increments so that an edit can
/// require the version it read (optimistic concurrency without relying on clocks).
fn mapping_item(m: &Mapping, version: u64) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(m).map_err(unavailable)?;
    item.insert("state".into(), s(state_of(m.status)));
    item.insert("version".into(), AttributeValue::N(version.to_string()));
    Ok(item)
}

fn version_of(item: &Item) -> u64 {
    item.get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn mapping_from(item: Item) -> Result<Mapping, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| unavailable(format!("corrupt mapping item: {e}")))
}

impl DynamoStore {
    async fn next_counter(&self, base: &str) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.keys)
            .key("key", s(format!("counter#{base}")))
            .update_expression("ADD next_value :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk)?;
        out.attributes()
            .and_then(|a| a.get("next_value"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| unavailable("counter update returned no value"))
    }

    async fn by_idempotency_key(&self, key: &str) -> Result<Option<Mapping>, StoreError> {
        let Some(item) = self
            .get_item(&self.keys, "key", &format!("idem#{key}"))
            .await?
        else {
            return Ok(None);
        };
        let address = get_s(&item, "address")
            .ok_or_else(|| unavailable("idempotency item without address"))?;
        self.get(&address).await.map(Some)
    }

    /// Writes a new mapping with its reservations in one transaction. `Ok(None)` means a
    /// condition failed on the address or the name (the caller decides what that means);
    /// an idempotency key that another writer took first returns that writer's mapping.
    /// The writes that add a new mapping: the mapping and its name's reservation, each failing
    /// if taken (transaction cancellation reasons 0 and 1).
    fn new_mapping_items(&self, m: &Mapping) -> Result<Vec<TransactWriteItem>, StoreError> {
        Ok(vec![
            put(
                &self.mappings,
                mapping_item(m, 0)?,
                Some("attribute_not_exists(address)"),
            )?,
            put(
                &self.keys,
                key_item(
                    format!("name#{}", m.account_name),
                    &[("address", &m.address)],
                ),
                Some("attribute_not_exists(#k)"),
            )?,
        ])
    }

    async fn try_insert(
        &self,
        spec: &VendSpec,
        m: &Mapping,
    ) -> Result<Result<Vended, Taken>, StoreError> {
        let mut items = self.new_mapping_items(m)?;
        if let Some(k) = &spec.idempotency_key {
            items.push(put(
                &self.keys,
                key_item(format!("idem#{k}"), &[("address", &m.address)]),
                Some("attribute_not_exists(#k)"),
            )?);
        }
        items.push(put(
            &self.audit,
            audit_item(&spec.now, &spec.actor, "vend", &m.address, None, Some(m)),
            None,
        )?);
        items.extend(self.mapping_count_move(None, Some(m.status))?);
        let Err(failed) = self.transact(items).await? else {
            return Ok(Ok(Vended {
                mapping: m.clone(),
                created: true,
            }));
        };
        if spec.idempotency_key.is_some() && failed.get(2).copied().unwrap_or(false) {
            let key = spec.idempotency_key.as_deref().unwrap_or_default();
            if let Some(mapping) = self.by_idempotency_key(key).await? {
                return Ok(Ok(Vended {
                    mapping,
                    created: false,
                }));
            }
        }
        if failed.first().copied().unwrap_or(false) {
            Ok(Err(Taken::Address))
        } else {
            Ok(Err(Taken::Name))
        }
    }

    async fn query_page(
        &self,
        filter: &MappingFilter,
        limit: u32,
        after: &str,
    ) -> Result<Vec<Mapping>, StoreError> {
        let mut names = HashMap::from([("#a".to_string(), "address".to_string())]);
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        // A member is found by owner or recipient, which no index serves: the live partition
        // is read, filtered.
        let (index, mut key_condition) = match &filter.owner {
            Some(owner) if filter.member.is_none() => {
                values.insert(":k".into(), s(owner.clone()));
                ("by_owner", "#o = :k".to_string())
            }
            _ => {
                let state = filter.status.map(state_of).unwrap_or("live");
                values.insert(":k".into(), s(state));
                ("by_state", "#st = :k".to_string())
            }
        };
        names.insert("#o".into(), "owner".into());
        names.insert("#r".into(), "recipients".into());
        names.insert("#st".into(), "state".into());
        if !after.is_empty() {
            key_condition.push_str(" AND #a > :after");
            values.insert(":after".into(), s(after));
        }
        let mut filters = Vec::new();
        match filter.status {
            Some(st) => {
                filters.push("#s = :status".to_string());
                values.insert(":status".into(), s(st.as_str()));
            }
            None => {
                filters.push("#s <> :deleted".to_string());
                values.insert(":deleted".into(), s("deleted"));
            }
        }
        names.insert("#s".into(), "status".into());
        if let Some(t) = &filter.account_type {
            filters.push("#t = :type".to_string());
            names.insert("#t".into(), "account_type".into());
            values.insert(":type".into(), s(t.clone()));
        }
        if let Some(state) = filter.account_state {
            filters.push("#acc.#accs = :accs".to_string());
            names.insert("#acc".into(), "account".into());
            names.insert("#accs".into(), "state".into());
            values.insert(":accs".into(), s(state.as_str()));
        }
        if let Some(actor) = &filter.vended_by {
            // A filter over the partition above: a token's listing reads the live mappings
            // until it fills its page.
            filters.push("#cb = :cb".to_string());
            names.insert("#cb".into(), "created_by".into());
            values.insert(":cb".into(), s(actor.clone()));
        }
        if let Some(owners) = &filter.owners {
            if owners.is_empty() {
                return Ok(Vec::new());
            }
            if owners.len() > MAX_OWNERS_FILTER {
                return Err(StoreError::Invalid {
                    field: "owners",
                    message: format!("at most {MAX_OWNERS_FILTER} owners at once"),
                });
            }
            // IN takes at most 100 operands (`MAX_OWNERS_FILTER`); a list is searched
            // one value at a time.
            let names: Vec<String> = owners
                .iter()
                .enumerate()
                .map(|(i, owner)| {
                    let name = format!(":o{i}");
                    values.insert(name.clone(), s(owner.clone()));
                    name
                })
                .collect();
            let in_list: Vec<String> = names.iter().map(|n| format!("contains(#r, {n})")).collect();
            filters.push(format!(
                "(#o IN ({}) OR {})",
                names.join(", "),
                in_list.join(" OR ")
            ));
        }
        if let Some(member) = &filter.member {
            if let Some(owner) = &filter.owner {
                filters.push("#o = :owner".to_string());
                values.insert(":owner".into(), s(owner.clone()));
            }
            filters.push("(#o = :m OR contains(#r, :m))".to_string());
            values.insert(":m".into(), s(member.clone()));
        }
        if let Some(q) = filter
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        {
            // No index serves a substring: this reads the whole partition of the key above.
            filters.push("(contains(#a, :q) OR contains(#n, :q) OR contains(#o, :q))".to_string());
            names.insert("#n".into(), "account_name".into());
            values.insert(":q".into(), s(q.to_ascii_lowercase()));
        }
        let filter_expression = filters.join(" AND ");
        // DynamoDB refuses names and values that no expression uses.
        let used = |k: &String| {
            key_condition.contains(k.as_str()) || filter_expression.contains(k.as_str())
        };
        names.retain(|k, _| used(k));
        values.retain(|k, _| used(k));

        let query = self
            .client
            .query()
            .table_name(&self.mappings)
            .index_name(index)
            .key_condition_expression(&key_condition)
            .filter_expression(&filter_expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
        collect(query, limit as usize + 1, mapping_from).await
    }

    async fn write_change(
        &self,
        before: &Mapping,
        version: u64,
        after: &Mapping,
        actor: &str,
        now: &str,
        action: &str,
    ) -> Result<bool, StoreError> {
        let p = Put::builder()
            .table_name(&self.mappings)
            .set_item(Some(mapping_item(after, version + 1)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()));
        let mut items = vec![
            TransactWriteItem::builder()
                .put(p.build().map_err(unavailable)?)
                .build(),
            put(
                &self.audit,
                audit_item(
                    now,
                    actor,
                    action,
                    &after.address,
                    Some(before),
                    Some(after),
                ),
                None,
            )?,
        ];
        items.extend(self.mapping_count_move(Some(before.status), Some(after.status))?);
        Ok(self.transact(items).await?.is_ok())
    }
}

#[async_trait]
impl MappingStore for DynamoStore {
    async fn vend(&self, spec: &VendSpec) -> Result<Vended, StoreError> {
        if let Some(key) = &spec.idempotency_key {
            if let Some(mapping) = self.by_idempotency_key(key).await? {
                return Ok(Vended {
                    mapping,
                    created: false,
                });
            }
        }
        match &spec.name {
            NameSpec::Explicit { account_name } => {
                let address = spec.address_for(account_name);
                let m = spec.mapping(account_name.clone(), address.clone(), None);
                match self.try_insert(spec, &m).await? {
                    Ok(v) => Ok(v),
                    Err(Taken::Address) => Err(taken(Taken::Address, &address)),
                    Err(Taken::Name) => Err(taken(Taken::Name, account_name)),
                }
            }
            NameSpec::Generated { base, width } => {
                for _ in 0..MAX_SKIPS {
                    let counter = self.next_counter(base).await?;
                    let name = naming::account_name(base, counter, *width);
                    spec.check_generated(&name)?;
                    if spec.skips(&name) {
                        continue;
                    }
                    let address = spec.address_for(&name);
                    let m = spec.mapping(name, address.clone(), Some(counter));
                    match self.try_insert(spec, &m).await? {
                        Ok(v) => return Ok(v),
                        Err(Taken::Address) if spec.address.is_some() => {
                            return Err(taken(Taken::Address, &address))
                        }
                        Err(_) => continue,
                    }
                }
                Err(StoreError::Conflict(format!(
                    "no free name for {base} after {MAX_SKIPS} tries"
                )))
            }
        }
    }

    async fn import(&self, m: &Mapping, actor: &str, now: &str) -> Result<bool, StoreError> {
        if let (Some(base), Some(counter)) = (&m.base, m.counter) {
            // `next_value` is the last number handed out; raise it to this one, never lower.
            let raised = self
                .client
                .update_item()
                .table_name(&self.keys)
                .key("key", s(format!("counter#{base}")))
                .update_expression("SET next_value = :n")
                .condition_expression("attribute_not_exists(next_value) OR next_value < :n")
                .expression_attribute_values(":n", AttributeValue::N(counter.to_string()))
                .send()
                .await;
            match raised {
                Ok(_) => {}
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(sdk(e)),
            }
        }
        let mut items = self.new_mapping_items(m)?;
        items.push(put(
            &self.audit,
            audit_item(now, actor, "import", &m.address, None, Some(m)),
            None,
        )?);
        items.extend(self.mapping_count_move(None, Some(m.status))?);
        match self.transact(items).await? {
            Ok(()) => Ok(true),
            Err(failed) if failed.first().copied().unwrap_or(false) => Ok(false),
            Err(_) => Err(taken(Taken::Name, &m.account_name)),
        }
    }

    async fn get(&self, address: &str) -> Result<Mapping, StoreError> {
        match self.get_item(&self.mappings, "address", address).await? {
            Some(item) => mapping_from(item),
            None => Err(StoreError::NotFound(format!("the address {address}"))),
        }
    }

    async fn list(
        &self,
        filter: &MappingFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, StoreError> {
        let after = decode_cursor(cursor)?;
        let items = self.query_page(filter, limit, &after).await?;
        Ok(page_of(items, limit, |m| m.address.clone()))
    }

    async fn update(
        &self,
        address: &str,
        change: &MappingChange,
        actor: &str,
        now: &str,
    ) -> Result<Mapping, StoreError> {
        // Optimistic: re-read and retry when another writer changed the item in between.
        for _ in 0..10 {
            let item = self
                .get_item(&self.mappings, "address", address)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("the address {address}")))?;
            let version = version_of(&item);
            let before = mapping_from(item)?;
            if before.status == MappingStatus::Deleted {
                return Err(StoreError::Conflict(format!(
                    "{address} was deleted and cannot be edited"
                )));
            }
            let after = change.apply(&before, actor, now);
            let action = edit_action(&after);
            if self
                .write_change(&before, version, &after, actor, now, action)
                .await?
            {
                return Ok(after);
            }
        }
        Err(StoreError::Unavailable(format!(
            "{address} kept changing; gave up after 10 tries"
        )))
    }

    async fn audit_trail(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.audit)
            .key_condition_expression("#s = :s")
            .expression_attribute_names("#s", "subject")
            .expression_attribute_values(":s", s(subject))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)?;
        items.iter().map(audit_entry).collect()
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.audit)
            .set_item(Some(entry_item(e)))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn audit_log(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let before = decode_cursor(cursor)?;
        let mut query = self
            .client
            .query()
            .table_name(&self.audit)
            .index_name("by_time")
            .expression_attribute_names("#l", "list_pk")
            .expression_attribute_values(":l", s(AUDIT_LIST))
            .scan_index_forward(false);
        query = if before.is_empty() {
            query.key_condition_expression("#l = :l")
        } else {
            query
                .key_condition_expression("#l = :l AND #i < :before")
                .expression_attribute_names("#i", "id")
                .expression_attribute_values(":before", s(before))
        };
        let found = collect(query, limit as usize + 1, |item| {
            let id = get_s(&item, "id").ok_or_else(|| unavailable("audit item without id"))?;
            Ok((id, audit_entry(&item)?))
        })
        .await?;
        Ok(keyed_page(found, limit))
    }

    async fn counts(&self) -> Result<MappingCounts, StoreError> {
        // Kept in one item as mappings are written (`counts`), not counted from the table.
        self.mapping_counts().await
    }
}
