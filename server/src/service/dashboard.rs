//! The dashboard's face of the service: `app::service::Service`, which the server functions
//! call with the proofs `require_admin`/`require_owner` made. Each method turns the proof into
//! a caller, the page's form or query into the service's request, calls the one service
//! method for it, and maps the error; nothing here decides anything.

use std::sync::Arc;

use app::auth::{Admin, Owner};
use app::error::AppError;
use app::model::{
    AddressDetail, AddressQuery, AuditEntry, BulkChange, EditForm, Mapping, MessageDetail,
    MessageQuery, MessageRecord, MyAddresses, OverviewStats, Page, SettingsView, StoreCheck,
    SystemStatus, TokenView, Unreachable, VendForm, VendOptions,
};
use async_trait::async_trait;

use super::caller::{AdminCaller, OwnerCaller};
use super::mapping_patch::MappingPatch;
use super::vending::VendRequest;
use super::{check_range, given, invalid, message_filter, AppService, ServiceError};
use crate::settings::SettingsPatch;
use crate::tokens::{ApiToken, Scope};

/// The service as the dashboard's server functions reach it (through Leptos context).
pub struct Dashboard(pub Arc<AppService>);

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { field, message } => AppError::Invalid { field, message },
            ServiceError::NotFound(what) => AppError::NotFound(what),
            ServiceError::Conflict(m) => AppError::Conflict(m),
            // Only `vend`-scope tokens meet this; say why all the same.
            ServiceError::Forbidden { field, message } => AppError::Invalid { field, message },
            ServiceError::Unavailable => AppError::Unavailable,
            ServiceError::Upstream(m) => AppError::Upstream(m),
        }
    }
}

fn token_view(t: ApiToken) -> TokenView {
    let expired = t.revoked_at.is_none() && !t.usable(&crate::clock::now_rfc3339());
    TokenView {
        expired,
        id: t.id,
        name: t.name,
        scope: t.scope.as_str().to_string(),
        created_at: t.created_at,
        created_by: t.created_by,
        revoked_at: t.revoked_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
    }
}

#[async_trait]
impl app::service::Service for Dashboard {
    async fn status(&self, admin: &Admin) -> Result<SystemStatus, AppError> {
        Ok(self.0.status(&AdminCaller::signed_in(admin)).await?)
    }

    async fn check_store(&self, admin: &Admin) -> Result<StoreCheck, AppError> {
        Ok(self.0.check_store(&AdminCaller::signed_in(admin)).await)
    }

    async fn overview(&self, admin: &Admin) -> Result<OverviewStats, AppError> {
        Ok(self.0.overview(&AdminCaller::signed_in(admin)).await?)
    }

    async fn my_addresses(&self, owner: &Owner) -> Result<MyAddresses, AppError> {
        Ok(self.0.my_addresses(&OwnerCaller::signed_in(owner)).await?)
    }

    async fn vend_options(&self, admin: &Admin) -> Result<VendOptions, AppError> {
        Ok(self.0.vend_options(&AdminCaller::signed_in(admin)))
    }

    async fn addresses(&self, admin: &Admin, q: &AddressQuery) -> Result<Page<Mapping>, AppError> {
        let caller = AdminCaller::signed_in(admin);
        let filter = self.0.mapping_filter(q).await?;
        let cursor = given(&q.cursor);
        Ok(self
            .0
            .mappings(caller.as_vend(), filter, None, cursor.as_deref())
            .await?)
    }

    async fn address(&self, admin: &Admin, address: &str) -> Result<AddressDetail, AppError> {
        Ok(self
            .0
            .address_detail(&AdminCaller::signed_in(admin), address)
            .await?)
    }

    async fn vend(&self, admin: &Admin, form: &VendForm) -> Result<Mapping, AppError> {
        let caller = AdminCaller::signed_in(admin);
        let tags = app::model::parse_tags(&form.tags).map_err(|m| invalid("tags", m))?;
        let req = VendRequest {
            owner: form.owner.clone(),
            recipients: app::model::parse_recipients(&form.recipients),
            account_type: form.account_type.clone(),
            business_unit: given(&form.business_unit),
            application: given(&form.application),
            environment: given(&form.environment),
            tags,
            account_name: given(&form.account_name),
            address: given(&form.address),
            idempotency_key: None,
        };
        Ok(self.0.vend(caller.as_vend(), &req).await?.mapping)
    }

    async fn edit(
        &self,
        admin: &Admin,
        address: &str,
        form: &EditForm,
    ) -> Result<Mapping, AppError> {
        let tags = app::model::parse_tags(&form.tags).map_err(|m| invalid("tags", m))?;
        let patch = MappingPatch {
            owner: Some(form.owner.clone()),
            recipients: Some(app::model::parse_recipients(&form.recipients)),
            status: Some(form.status.clone()),
            account_type: Some(form.account_type.clone()),
            tags: Some(tags),
            aws_account_id: Some(given(&form.aws_account_id)),
            notes: Some(given(&form.notes)),
            ..Default::default()
        };
        Ok(self
            .0
            .edit(&AdminCaller::signed_in(admin), address, &patch)
            .await?)
    }

    async fn delete(&self, admin: &Admin, address: &str) -> Result<Mapping, AppError> {
        Ok(self
            .0
            .delete(&AdminCaller::signed_in(admin), address)
            .await?)
    }

    async fn bulk_owner(
        &self,
        admin: &Admin,
        owner: &str,
        action: &str,
        to: &str,
        dry_run: bool,
    ) -> Result<BulkChange, AppError> {
        let action = match action {
            "reassign" => super::BulkAction::Reassign { to: to.to_string() },
            "suspend" => super::BulkAction::Suspend,
            _ => return Err(invalid("action", "expected reassign or suspend").into()),
        };
        Ok(self
            .0
            .bulk_owner(&AdminCaller::signed_in(admin), owner, &action, dry_run)
            .await?)
    }

    async fn mark_reachable(
        &self,
        admin: &Admin,
        recipient: &str,
    ) -> Result<Unreachable, AppError> {
        Ok(self
            .0
            .mark_reachable(&AdminCaller::signed_in(admin), recipient)
            .await?)
    }

    async fn messages(
        &self,
        admin: &Admin,
        q: &MessageQuery,
    ) -> Result<Page<MessageRecord>, AppError> {
        let filter = message_filter(q)?;
        check_range(&filter)?;
        let cursor = given(&q.cursor);
        Ok(self
            .0
            .messages(
                &AdminCaller::signed_in(admin),
                filter,
                None,
                cursor.as_deref(),
            )
            .await?)
    }

    async fn message(&self, admin: &Admin, id: &str) -> Result<MessageDetail, AppError> {
        Ok(self
            .0
            .message_detail(&AdminCaller::signed_in(admin), id)
            .await?)
    }

    async fn replay(&self, admin: &Admin, id: &str) -> Result<MessageRecord, AppError> {
        let caller = AdminCaller::signed_in(admin);
        let report = self.0.replay(&caller, id).await?;
        Ok(self.0.message(&caller, &report.message_id).await?)
    }

    async fn rules(&self, admin: &Admin) -> Result<app::model::RulesView, AppError> {
        Ok(self.0.rules_view(&AdminCaller::signed_in(admin)).await?)
    }

    async fn add_rule(
        &self,
        admin: &Admin,
        draft: &app::model::RuleDraft,
    ) -> Result<app::model::RoutingRules, AppError> {
        Ok(self
            .0
            .add_rule(&AdminCaller::signed_in(admin), draft)
            .await?)
    }

    async fn change_rule(
        &self,
        admin: &Admin,
        number: usize,
        name: &str,
        change: app::model::RuleChange,
    ) -> Result<app::model::RoutingRules, AppError> {
        Ok(self
            .0
            .change_rule(&AdminCaller::signed_in(admin), number, name, change)
            .await?)
    }

    async fn preview_rule(
        &self,
        admin: &Admin,
        draft: &app::model::RuleDraft,
    ) -> Result<app::model::RuleDryRun, AppError> {
        Ok(self
            .0
            .preview_rule(&AdminCaller::signed_in(admin), draft)
            .await?)
    }

    async fn notifications(
        &self,
        admin: &Admin,
    ) -> Result<app::notify::NotificationsView, AppError> {
        Ok(self.0.notifications(&AdminCaller::signed_in(admin)).await?)
    }

    async fn add_channel(
        &self,
        admin: &Admin,
        input: &app::notify::NewChannel,
    ) -> Result<app::notify::ChannelCreated, AppError> {
        Ok(self
            .0
            .add_channel(&AdminCaller::signed_in(admin), input)
            .await?)
    }

    async fn remove_channel(
        &self,
        admin: &Admin,
        id: &str,
    ) -> Result<app::notify::Channel, AppError> {
        Ok(self
            .0
            .remove_channel(&AdminCaller::signed_in(admin), id)
            .await?)
    }

    async fn test_channel(
        &self,
        admin: &Admin,
        id: &str,
    ) -> Result<app::notify::NotificationDelivery, AppError> {
        Ok(self
            .0
            .test_channel(&AdminCaller::signed_in(admin), id)
            .await?)
    }

    async fn held(&self, admin: &Admin, cursor: &str) -> Result<app::model::HeldMail, AppError> {
        Ok(self.0.held(&AdminCaller::signed_in(admin), cursor).await?)
    }

    async fn release(
        &self,
        admin: &Admin,
        id: &str,
        to: app::model::ReleaseTarget,
    ) -> Result<MessageRecord, AppError> {
        let caller = AdminCaller::signed_in(admin);
        let report = self.0.release_held(&caller, id, to).await?;
        Ok(self.0.message(&caller, &report.message_id).await?)
    }

    async fn settings(&self, admin: &Admin) -> Result<SettingsView, AppError> {
        let settings = self.0.settings(&AdminCaller::signed_in(admin)).await?;
        Ok(self.0.settings_view(settings))
    }

    async fn update_settings(
        &self,
        admin: &Admin,
        patch: SettingsPatch,
    ) -> Result<SettingsView, AppError> {
        let settings = self
            .0
            .update_settings(&AdminCaller::signed_in(admin), &patch)
            .await?;
        Ok(self.0.settings_view(settings))
    }

    async fn tokens(&self, admin: &Admin) -> Result<Vec<TokenView>, AppError> {
        Ok(self
            .0
            .tokens(&AdminCaller::signed_in(admin))
            .await?
            .into_iter()
            .map(token_view)
            .collect())
    }

    async fn create_token(
        &self,
        admin: &Admin,
        name: &str,
        scope: &str,
        expires_days: &str,
    ) -> Result<(TokenView, String), AppError> {
        let scope =
            Scope::parse(scope.trim()).ok_or_else(|| invalid("scope", "expected vend or admin"))?;
        let expires_days = match expires_days.trim() {
            "" => None,
            d => Some(d.parse::<u32>().map_err(|_| {
                invalid(
                    "expires_days",
                    "expected a whole number of days, or nothing",
                )
            })?),
        };
        let (token, secret) = self
            .0
            .create_token(&AdminCaller::signed_in(admin), name, scope, expires_days)
            .await?;
        Ok((token_view(token), secret.expose().to_string()))
    }

    async fn sign_everyone_out(&self, admin: &Admin) -> Result<(), AppError> {
        Ok(self
            .0
            .sign_everyone_out(&AdminCaller::signed_in(admin))
            .await?)
    }

    async fn revoke_token(&self, admin: &Admin, id: &str) -> Result<TokenView, AppError> {
        Ok(token_view(
            self.0
                .revoke_token(&AdminCaller::signed_in(admin), id)
                .await?,
        ))
    }

    async fn accounts(
        &self,
        admin: &Admin,
        q: &app::org::AccountQuery,
    ) -> Result<app::org::AccountsView, AppError> {
        let caller = AdminCaller::signed_in(admin);
        let page = self.0.accounts(&caller, q, None).await?;
        Ok(app::org::AccountsView {
            on: self.0.organizations_on(),
            last_sync: self.0.last_sync(&caller).await?,
            page,
            account_types: self.0.vend_rules().account_types.clone(),
            moves_on: self.0.root_emails_on(),
            jobs: match self.0.root_emails_on() {
                true => self.0.jobs(&caller, Some(100), None).await?.items,
                false => Vec::new(),
            },
        })
    }

    async fn sync_accounts(&self, admin: &Admin) -> Result<app::org::SyncSummary, AppError> {
        Ok(self.0.sync_accounts(&AdminCaller::signed_in(admin)).await?)
    }

    async fn adopt_account(
        &self,
        admin: &Admin,
        account_id: &str,
        owner: &str,
        account_type: &str,
    ) -> Result<Mapping, AppError> {
        let account_type = given(account_type);
        Ok(self
            .0
            .adopt_account(
                &AdminCaller::signed_in(admin),
                account_id,
                owner,
                account_type.as_deref(),
            )
            .await?)
    }

    async fn move_accounts(
        &self,
        admin: &Admin,
        account_ids: &str,
        owner: &str,
    ) -> Result<Vec<app::org::MoveResult>, AppError> {
        let ids: Vec<String> = account_ids
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect();
        let owner = given(owner);
        Ok(self
            .0
            .move_accounts(&AdminCaller::signed_in(admin), &ids, owner.as_deref())
            .await?)
    }

    async fn retry_job(
        &self,
        admin: &Admin,
        account_id: &str,
    ) -> Result<app::org::RootEmailJob, AppError> {
        Ok(self
            .0
            .retry_job(&AdminCaller::signed_in(admin), account_id)
            .await?)
    }

    async fn audit(&self, admin: &Admin, cursor: &str) -> Result<Page<AuditEntry>, AppError> {
        let cursor = given(cursor);
        Ok(self
            .0
            .audit_log(&AdminCaller::signed_in(admin), cursor.as_deref())
            .await?)
    }
}
