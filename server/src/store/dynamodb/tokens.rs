//! `TokenStore` on DynamoDB: one item per token in `-tokens`, and `token#<digest>` in the keys
//! table pointing at it.

use async_trait::async_trait;

use super::item::{audit_item, get_s, key_item, put, s, Item};
use super::{sdk, unavailable, DynamoStore};
use crate::store::{StoreError, TokenStore};
use crate::tokens::{ApiToken, Scope};

fn token_item(t: &ApiToken) -> Item {
    let mut item = Item::new();
    item.insert("id".into(), s(t.id.clone()));
    item.insert("name".into(), s(t.name.clone()));
    item.insert("scope".into(), s(t.scope.as_str()));
    item.insert("created_at".into(), s(t.created_at.clone()));
    item.insert("created_by".into(), s(t.created_by.clone()));
    for (k, v) in [
        ("revoked_at", &t.revoked_at),
        ("expires_at", &t.expires_at),
        ("last_used_at", &t.last_used_at),
    ] {
        if let Some(v) = v {
            item.insert(k.into(), s(v.clone()));
        }
    }
    item
}

fn token_from(item: &Item) -> Result<ApiToken, StoreError> {
    let field =
        |k: &str| get_s(item, k).ok_or_else(|| unavailable(format!("token item without {k}")));
    Ok(ApiToken {
        id: field("id")?,
        name: field("name")?,
        scope: Scope::parse(&field("scope")?).ok_or_else(|| unavailable("corrupt token scope"))?,
        created_at: field("created_at")?,
        created_by: field("created_by")?,
        revoked_at: get_s(item, "revoked_at"),
        expires_at: get_s(item, "expires_at"),
        last_used_at: get_s(item, "last_used_at"),
    })
}

#[async_trait]
impl TokenStore for DynamoStore {
    async fn create_token(&self, t: &ApiToken, secret_digest: &str) -> Result<(), StoreError> {
        let items = vec![
            put(
                &self.tokens,
                token_item(t),
                Some("attribute_not_exists(id)"),
            )?,
            put(
                &self.keys,
                key_item(format!("token#{secret_digest}"), &[("token_id", &t.id)]),
                None,
            )?,
            put(
                &self.audit,
                {
                    let mut audit = audit_item(
                        &t.created_at,
                        &t.created_by,
                        "create_token",
                        &format!("token:{}", t.id),
                        None,
                        None,
                    );
                    audit.insert("after".into(), s(crate::store::token_audit_record(t)));
                    audit
                },
                None,
            )?,
        ];
        self.transact(items)
            .await?
            .map_err(|_| StoreError::Conflict(format!("the token id {} is taken", t.id)))
    }

    async fn token_by_digest(&self, secret_digest: &str) -> Result<Option<ApiToken>, StoreError> {
        let Some(key) = self
            .get_item(&self.keys, "key", &format!("token#{secret_digest}"))
            .await?
        else {
            return Ok(None);
        };
        let id = get_s(&key, "token_id").ok_or_else(|| unavailable("token key without id"))?;
        self.get_item(&self.tokens, "id", &id)
            .await?
            .as_ref()
            .map(token_from)
            .transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        // Tokens are few; a scan of their own small table is the honest way to list them.
        let items = self
            .client
            .scan()
            .table_name(&self.tokens)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(sdk)?;
        let mut tokens = items
            .iter()
            .map(token_from)
            .collect::<Result<Vec<_>, _>>()?;
        tokens.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(tokens)
    }

    async fn token_used(&self, id: &str, at: &str) -> Result<(), StoreError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.tokens)
            .key("id", s(id))
            .update_expression("SET #u = :u")
            .condition_expression("attribute_exists(id)")
            .expression_attribute_names("#u", "last_used_at")
            .expression_attribute_values(":u", s(at))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::NotFound(format!("the token {id}")))
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn revoke_token(&self, id: &str, actor: &str, now: &str) -> Result<ApiToken, StoreError> {
        let current = self
            .get_item(&self.tokens, "id", id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("the token {id}")))?;
        let mut token = token_from(&current)?;
        if token.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "the token {id} is already revoked"
            )));
        }
        token.revoked_at = Some(now.to_string());
        let mut audit = audit_item(
            now,
            actor,
            "revoke_token",
            &format!("token:{id}"),
            None,
            None,
        );
        audit.insert("token_id".into(), s(id));
        let items = vec![
            put(
                &self.tokens,
                token_item(&token),
                Some("attribute_not_exists(revoked_at)"),
            )?,
            put(&self.audit, audit, None)?,
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(token),
            Err(_) => Err(StoreError::Conflict(format!(
                "the token {id} is already revoked"
            ))),
        }
    }
}
