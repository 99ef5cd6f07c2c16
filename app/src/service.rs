//! The service boundary the server functions call (server side only). The `server` crate
//! implements it over the store and provides it through Leptos context; the REST API calls
//! the same implementation, so the UI and the API cannot disagree.

use std::sync::Arc;

use crate::auth::{Admin, Owner};
use crate::error::AppError;
use crate::model::{
    AddressDetail, AddressQuery, AuditEntry, BulkChange, EditForm, Mapping, MessageDetail,
    MessageQuery, MessageRecord, MyAddresses, OverviewStats, Page, SettingsPatch, SettingsView,
    StoreCheck, SystemStatus, TokenView, Unreachable, VendForm, VendOptions,
};

/// Every method takes the caller's proof of role (`crate::auth`), so none can be reached
/// without the check.
#[async_trait::async_trait]
pub trait Service: Send + Sync + 'static {
    async fn status(&self, admin: &Admin) -> Result<SystemStatus, AppError>;
    async fn check_store(&self, admin: &Admin) -> Result<StoreCheck, AppError>;
    async fn overview(&self, admin: &Admin) -> Result<OverviewStats, AppError>;
    /// Only the mappings whose owner is the caller's own (verified) address.
    async fn my_addresses(&self, owner: &Owner) -> Result<MyAddresses, AppError>;

    async fn vend_options(&self, admin: &Admin) -> Result<VendOptions, AppError>;
    async fn addresses(&self, admin: &Admin, q: &AddressQuery) -> Result<Page<Mapping>, AppError>;
    async fn address(&self, admin: &Admin, address: &str) -> Result<AddressDetail, AppError>;
    async fn vend(&self, admin: &Admin, form: &VendForm) -> Result<Mapping, AppError>;
    async fn edit(
        &self,
        admin: &Admin,
        address: &str,
        form: &EditForm,
    ) -> Result<Mapping, AppError>;
    async fn delete(&self, admin: &Admin, address: &str) -> Result<Mapping, AppError>;
    async fn mark_reachable(&self, admin: &Admin, recipient: &str)
        -> Result<Unreachable, AppError>;
    /// A bulk action on every mapping of `owner`: `action` is `reassign` (to `to`) or
    /// `suspend`; a dry run is its preview.
    async fn bulk_owner(
        &self,
        admin: &Admin,
        owner: &str,
        action: &str,
        to: &str,
        dry_run: bool,
    ) -> Result<BulkChange, AppError>;

    async fn messages(
        &self,
        admin: &Admin,
        q: &MessageQuery,
    ) -> Result<Page<MessageRecord>, AppError>;
    async fn message(&self, admin: &Admin, id: &str) -> Result<MessageDetail, AppError>;
    /// Sends a dead letter again; the record as it ended up.
    async fn replay(&self, admin: &Admin, id: &str) -> Result<MessageRecord, AppError>;
    /// The routing rules, in order.
    async fn rules(&self, admin: &Admin) -> Result<crate::model::RulesView, AppError>;
    /// Adds the rule a form describes at the end of the list.
    async fn add_rule(
        &self,
        admin: &Admin,
        draft: &crate::model::RuleDraft,
    ) -> Result<crate::model::RoutingRules, AppError>;
    /// Moves or deletes rule `number`, which must still be called `name`.
    async fn change_rule(
        &self,
        admin: &Admin,
        number: usize,
        name: &str,
        change: crate::model::RuleChange,
    ) -> Result<crate::model::RoutingRules, AppError>;
    /// Which of the latest messages the rule a form describes would have matched.
    async fn preview_rule(
        &self,
        admin: &Admin,
        draft: &crate::model::RuleDraft,
    ) -> Result<crate::model::RuleDryRun, AppError>;
    /// Held mail, newest first, 50 a page.
    async fn held(&self, admin: &Admin, cursor: &str) -> Result<crate::model::HeldMail, AppError>;
    /// Sends held mail on to `to`, audited; the record as it ended up.
    async fn release(
        &self,
        admin: &Admin,
        id: &str,
        to: crate::model::ReleaseTarget,
    ) -> Result<MessageRecord, AppError>;

    async fn settings(&self, admin: &Admin) -> Result<SettingsView, AppError>;
    async fn update_settings(
        &self,
        admin: &Admin,
        patch: SettingsPatch,
    ) -> Result<SettingsView, AppError>;

    async fn tokens(&self, admin: &Admin) -> Result<Vec<TokenView>, AppError>;
    /// The new token and its secret, which is shown this once and kept nowhere.
    async fn create_token(
        &self,
        admin: &Admin,
        name: &str,
        scope: &str,
        expires_days: &str,
    ) -> Result<(TokenView, String), AppError>;
    async fn revoke_token(&self, admin: &Admin, id: &str) -> Result<TokenView, AppError>;

    async fn audit(&self, admin: &Admin, cursor: &str) -> Result<Page<AuditEntry>, AppError>;

    /// The notification channels, the latest deliveries and where digests go.
    async fn notifications(
        &self,
        admin: &Admin,
    ) -> Result<crate::notify::NotificationsView, AppError>;
    /// Adds a channel; a webhook's secret is in the answer, this once.
    async fn add_channel(
        &self,
        admin: &Admin,
        input: &crate::notify::NewChannel,
    ) -> Result<crate::notify::ChannelCreated, AppError>;
    async fn remove_channel(
        &self,
        admin: &Admin,
        id: &str,
    ) -> Result<crate::notify::Channel, AppError>;
    /// Sends a test now; its delivery as logged.
    async fn test_channel(
        &self,
        admin: &Admin,
        id: &str,
    ) -> Result<crate::notify::NotificationDelivery, AppError>;

    async fn accounts(
        &self,
        admin: &Admin,
        q: &crate::org::AccountQuery,
    ) -> Result<crate::org::AccountsView, AppError>;
    async fn sync_accounts(&self, admin: &Admin) -> Result<crate::org::SyncSummary, AppError>;
    async fn adopt_account(
        &self,
        admin: &Admin,
        account_id: &str,
        owner: &str,
        account_type: &str,
    ) -> Result<Mapping, AppError>;
    /// Queues root email change jobs for the accounts in `account_ids` (separated by spaces,
    /// commas or lines); one result each.
    async fn move_accounts(
        &self,
        admin: &Admin,
        account_ids: &str,
        owner: &str,
    ) -> Result<Vec<crate::org::MoveResult>, AppError>;
    async fn retry_job(
        &self,
        admin: &Admin,
        account_id: &str,
    ) -> Result<crate::org::RootEmailJob, AppError>;

    /// Ends every session begun before now, the caller's own included.
    async fn sign_everyone_out(&self, admin: &Admin) -> Result<(), AppError>;
}

/// How the service travels in Leptos context.
pub type SharedService = Arc<dyn Service>;

/// The service of the current request, or `Internal` if the server forgot to provide it.
pub fn use_service() -> Result<SharedService, AppError> {
    leptos::prelude::use_context::<SharedService>().ok_or(AppError::Internal)
}
