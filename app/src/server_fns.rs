//! Server functions: each one gets the caller's proof of role, calls one service method, and
//! returns its result. Those that change something also leave a notice for the next page when
//! the form was posted without JavaScript (`crate::flash`), worded in `crate::notices`. No
//! other logic lives here.

// Form-backed functions take one argument per form field (what a plain HTML form posts),
// and the `server` macro does not carry an item-level `allow` to the code it generates.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::auth::SessionInfo;
use crate::error::AppError;
use crate::model::{
    AddressDetail, AddressQuery, AuditEntry, BulkChange, Mapping, MessageDetail, MessageQuery,
    MessageRecord, MyAddresses, OverviewStats, Page, SettingsView, StoreCheck, SystemStatus,
    TokenView, Unreachable, VendOptions,
};

#[cfg(feature = "ssr")]
use crate::{
    auth::require_admin,
    error::respond,
    flash,
    model::{EditForm, VendForm},
    notices,
    service::use_service,
};

#[server(prefix = "/fn", endpoint = "status")]
pub async fn get_status() -> Result<SystemStatus, AppError> {
    let admin = require_admin()?;
    use_service()?.status(&admin).await.map_err(respond)
}

#[server(prefix = "/fn", endpoint = "check_store")]
pub async fn check_store() -> Result<StoreCheck, AppError> {
    let admin = require_admin()?;
    use_service()?.check_store(&admin).await.map_err(respond)
}

#[server(prefix = "/fn", endpoint = "overview")]
pub async fn get_overview() -> Result<OverviewStats, AppError> {
    let admin = require_admin()?;
    use_service()?.overview(&admin).await.map_err(respond)
}

/// Who is signed in, if anyone, how one signs in here, and the notice left by the last form
/// post (public: the sign-in page needs it).
#[server(prefix = "/fn", endpoint = "session")]
pub async fn get_session_info() -> Result<SessionInfo, AppError> {
    Ok(SessionInfo {
        viewer: crate::auth::viewer(),
        sso: use_context::<crate::auth::SsoEnabled>().is_some_and(|s| s.0),
        notice: flash::take().await,
    })
}

/// The caller's own addresses and their recent mail (any signed-in person).
#[server(prefix = "/fn", endpoint = "my_addresses")]
pub async fn get_my_addresses() -> Result<MyAddresses, AppError> {
    let owner = crate::auth::require_owner()?;
    use_service()?.my_addresses(&owner).await.map_err(respond)
}

#[server(prefix = "/fn", endpoint = "vend_options")]
pub async fn get_vend_options() -> Result<VendOptions, AppError> {
    let admin = require_admin()?;
    use_service()?.vend_options(&admin).await.map_err(respond)
}

#[server(prefix = "/fn", endpoint = "addresses")]
pub async fn list_addresses(query: AddressQuery) -> Result<Page<Mapping>, AppError> {
    let admin = require_admin()?;
    use_service()?
        .addresses(&admin, &query)
        .await
        .map_err(respond)
}

#[server(prefix = "/fn", endpoint = "address")]
pub async fn get_address(address: String) -> Result<AddressDetail, AppError> {
    let admin = require_admin()?;
    use_service()?
        .address(&admin, &address)
        .await
        .map_err(respond)
}

#[server(prefix = "/fn", endpoint = "vend")]
pub async fn vend_address(
    owner: String,
    account_type: String,
    business_unit: String,
    application: String,
    environment: String,
    tags: String,
    account_name: String,
    address: String,
    #[server(default)] recipients: String,
) -> Result<Mapping, AppError> {
    let admin = require_admin()?;
    let form = VendForm {
        owner,
        recipients,
        account_type,
        business_unit,
        application,
        environment,
        tags,
        account_name,
        address,
    };
    let mapping = use_service()?.vend(&admin, &form).await.map_err(respond)?;
    flash::notify(notices::vended(&mapping)).await;
    Ok(mapping)
}

#[server(prefix = "/fn", endpoint = "edit")]
pub async fn edit_address(
    address: String,
    owner: String,
    status: String,
    account_type: String,
    tags: String,
    aws_account_id: String,
    notes: String,
    #[server(default)] recipients: String,
) -> Result<Mapping, AppError> {
    let admin = require_admin()?;
    let form = EditForm {
        owner,
        recipients,
        status,
        account_type,
        tags,
        aws_account_id,
        notes,
    };
    let mapping = use_service()?
        .edit(&admin, &address, &form)
        .await
        .map_err(respond)?;
    flash::notify(notices::saved(&mapping)).await;
    Ok(mapping)
}

#[server(prefix = "/fn", endpoint = "delete")]
pub async fn delete_address(address: String) -> Result<Mapping, AppError> {
    let admin = require_admin()?;
    let mapping = use_service()?
        .delete(&admin, &address)
        .await
        .map_err(respond)?;
    flash::notify(notices::deleted(&mapping)).await;
    // Its page is gone; with JavaScript the page itself moves on after its toast.
    if flash::is_form_post() {
        flash::redirect("/addresses");
    }
    Ok(mapping)
}

/// What a bulk action on `owner`'s mappings would do: the preview before confirming.
#[server(prefix = "/fn", endpoint = "preview_bulk")]
pub async fn preview_bulk(
    owner: String,
    action: String,
    to: String,
) -> Result<BulkChange, AppError> {
    let admin = require_admin()?;
    use_service()?
        .bulk_owner(&admin, &owner, &action, &to, true)
        .await
        .map_err(respond)
}

#[server(prefix = "/fn", endpoint = "bulk_owner")]
pub async fn bulk_owner(owner: String, action: String, to: String) -> Result<BulkChange, AppError> {
    let admin = require_admin()?;
    let done = use_service()?
        .bulk_owner(&admin, &owner, &action, &to, false)
        .await
        .map_err(respond)?;
    flash::notify(notices::bulk(&done)).await;
    if flash::is_form_post() {
        flash::redirect(&bulk_landing(&done));
    }
    Ok(done)
}

/// Where a bulk action leaves the admin: the list of the mappings' owner now.
pub fn bulk_landing(done: &BulkChange) -> String {
    let owner = done.to.as_deref().unwrap_or(&done.owner);
    format!(
        "/addresses?owner={}",
        crate::components::query::urlencode(owner)
    )
}

#[server(prefix = "/fn", endpoint = "mark_reachable")]
pub async fn mark_reachable(recipient: String) -> Result<Unreachable, AppError> {
    let admin = require_admin()?;
    let mark = use_service()?
        .mark_reachable(&admin, &recipient)
        .await
        .map_err(respond)?;
    flash::notify(notices::reachable(&mark)).await;
    Ok(mark)
}

#[server(prefix = "/fn", endpoint = "messages")]
pub async fn list_messages(query: MessageQuery) -> Result<Page<MessageRecord>, AppError> {
    let admin = require_admin()?;
    use_service()?
        .messages(&admin, &query)
        .await
        .map_err(respond)
}

#[server(prefix = "/fn", endpoint = "message")]
pub async fn get_message(id: String) -> Result<MessageDetail, AppError> {
    let admin = require_admin()?;
    use_service()?.message(&admin, &id).await.map_err(respond)
}

#[server(prefix = "/fn", endpoint = "replay")]
pub async fn replay_message(id: String) -> Result<MessageRecord, AppError> {
    let admin = require_admin()?;
    let record = use_service()?.replay(&admin, &id).await.map_err(respond)?;
    flash::notify(notices::replayed(&record)).await;
    Ok(record)
}

#[server(prefix = "/fn", endpoint = "rules")]
pub async fn get_rules() -> Result<crate::model::RulesView, AppError> {
    let admin = require_admin()?;
    use_service()?.rules(&admin).await.map_err(respond)
}

/// A dry run of the rule the Settings form describes (read only: nothing changes).
#[server(prefix = "/fn", endpoint = "preview_rule")]
pub async fn preview_rule(
    draft: crate::model::RuleDraft,
) -> Result<crate::model::RuleDryRun, AppError> {
    let admin = require_admin()?;
    use_service()?
        .preview_rule(&admin, &draft)
        .await
        .map_err(respond)
}

/// Adds the rule the Settings form describes (one argument per field: a plain form posts them).
#[server(prefix = "/fn", endpoint = "add_rule")]
pub async fn add_rule(
    name: String,
    sender_kind: String,
    sender: String,
    subject_kind: String,
    subject: String,
    recipient_kind: String,
    recipient: String,
    action: String,
    target: String,
) -> Result<crate::model::RoutingRules, AppError> {
    let admin = require_admin()?;
    let draft = crate::model::RuleDraft {
        name,
        sender_kind,
        sender,
        subject_kind,
        subject,
        recipient_kind,
        recipient,
        action,
        target,
    };
    let rules = use_service()?
        .add_rule(&admin, &draft)
        .await
        .map_err(respond)?;
    flash::notify(notices::rule_added(&rules)).await;
    Ok(rules)
}

/// Moves a rule up or down, or deletes it (`change`: up, down, delete).
#[server(prefix = "/fn", endpoint = "change_rule")]
pub async fn change_rule(
    number: usize,
    name: String,
    change: String,
) -> Result<crate::model::RoutingRules, AppError> {
    let admin = require_admin()?;
    let change = crate::model::RuleChange::parse(&change)
        .ok_or_else(|| AppError::Invalid {
            field: "change".into(),
            message: "expected up, down or delete".into(),
        })
        .map_err(respond)?;
    let rules = use_service()?
        .change_rule(&admin, number, &name, change)
        .await
        .map_err(respond)?;
    flash::notify(notices::rules_changed(&rules)).await;
    Ok(rules)
}

#[server(prefix = "/fn", endpoint = "held")]
pub async fn list_held(cursor: String) -> Result<crate::model::HeldMail, AppError> {
    let admin = require_admin()?;
    use_service()?.held(&admin, &cursor).await.map_err(respond)
}

/// Releases held mail `id` to `to` (`owner` or `me`).
#[server(prefix = "/fn", endpoint = "release")]
pub async fn release_message(id: String, to: String) -> Result<MessageRecord, AppError> {
    let admin = require_admin()?;
    let to = crate::model::ReleaseTarget::parse(&to)
        .ok_or_else(|| AppError::Invalid {
            field: "to".into(),
            message: "expected owner or me".into(),
        })
        .map_err(respond)?;
    let record = use_service()?
        .release(&admin, &id, to)
        .await
        .map_err(respond)?;
    flash::notify(notices::released(&record)).await;
    Ok(record)
}

/// Sets every class's policy at once (the Settings form posts all six).
#[server(prefix = "/fn", endpoint = "class_policies")]
pub async fn set_class_policies(
    credential: String,
    security: String,
    account: String,
    billing: String,
    notice: String,
    other: String,
) -> Result<SettingsView, AppError> {
    use crate::model::{ClassPoliciesPatch, ClassPolicy};
    let admin = require_admin()?;
    let parse = |field: &str, v: &str| {
        ClassPolicy::parse(v).ok_or_else(|| AppError::Invalid {
            field: field.into(),
            message: "expected forward, restricted, hold or drop".into(),
        })
    };
    let patch = (|| {
        Ok::<_, AppError>(ClassPoliciesPatch {
            credential: Some(parse("credential", &credential)?),
            security: Some(parse("security", &security)?),
            account: Some(parse("account", &account)?),
            billing: Some(parse("billing", &billing)?),
            notice: Some(parse("notice", &notice)?),
            other: Some(parse("other", &other)?),
        })
    })()
    .map_err(respond)?;
    let view = use_service()?
        .update_settings(
            &admin,
            crate::model::SettingsPatch {
                class_policies: Some(patch),
                ..Default::default()
            },
        )
        .await
        .map_err(respond)?;
    flash::notify(notices::class_policies_saved(&view)).await;
    Ok(view)
}

#[server(prefix = "/fn", endpoint = "settings")]
pub async fn get_settings() -> Result<SettingsView, AppError> {
    let admin = require_admin()?;
    use_service()?.settings(&admin).await.map_err(respond)
}

#[server(prefix = "/fn", endpoint = "catch_all")]
pub async fn set_catch_all(on: bool) -> Result<SettingsView, AppError> {
    let admin = require_admin()?;
    let view = use_service()?
        .update_settings(
            &admin,
            crate::model::SettingsPatch {
                catch_all: Some(on),
                ..Default::default()
            },
        )
        .await
        .map_err(respond)?;
    flash::notify(notices::catch_all(&view)).await;
    Ok(view)
}

#[server(prefix = "/fn", endpoint = "spam_policy")]
pub async fn set_spam_policy(policy: String) -> Result<SettingsView, AppError> {
    let admin = require_admin()?;
    let parsed = crate::model::SpamPolicy::parse(&policy).ok_or_else(|| AppError::Invalid {
        field: "policy".into(),
        message: "expected forward, tag or reject".into(),
    });
    let parsed = parsed.map_err(respond)?;
    let view = use_service()?
        .update_settings(
            &admin,
            crate::model::SettingsPatch {
                spam_policy: Some(parsed),
                ..Default::default()
            },
        )
        .await
        .map_err(respond)?;
    flash::notify(notices::spam_policy_saved(&view)).await;
    Ok(view)
}

#[server(prefix = "/fn", endpoint = "dmarc_policy")]
pub async fn set_dmarc_policy(policy: String) -> Result<SettingsView, AppError> {
    let admin = require_admin()?;
    let parsed = crate::model::DmarcPolicy::parse(&policy).ok_or_else(|| AppError::Invalid {
        field: "policy".into(),
        message: "expected forward, tag or reject".into(),
    });
    let parsed = parsed.map_err(respond)?;
    let view = use_service()?
        .update_settings(
            &admin,
            crate::model::SettingsPatch {
                dmarc_policy: Some(parsed),
                ..Default::default()
            },
        )
        .await
        .map_err(respond)?;
    flash::notify(notices::dmarc_policy_saved(&view)).await;
    Ok(view)
}

/// Ends every session (a departed admin, a leaked cookie); the caller signs in again too.
#[server(prefix = "/fn", endpoint = "sign_everyone_out")]
pub async fn sign_everyone_out() -> Result<(), AppError> {
    let admin = require_admin()?;
    use_service()?
        .sign_everyone_out(&admin)
        .await
        .map_err(respond)?;
    flash::redirect(crate::routes::LOGIN.path);
    Ok(())
}

#[server(prefix = "/fn", endpoint = "tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    let admin = require_admin()?;
    use_service()?.tokens(&admin).await.map_err(respond)
}

#[server(prefix = "/fn", endpoint = "notifications")]
pub async fn get_notifications() -> Result<crate::notify::NotificationsView, AppError> {
    let admin = require_admin()?;
    use_service()?.notifications(&admin).await.map_err(respond)
}

/// A channel from the Notifications form: one checkbox per event (`on` when ticked), so a
/// plain HTML form posts it.
#[server(prefix = "/fn", endpoint = "add_channel")]
pub async fn add_channel(
    kind: String,
    #[server(default)] target: String,
    #[server(default)] dead_letter: String,
    #[server(default)] owner_unreachable: String,
    #[server(default)] held_waiting: String,
    #[server(default)] drift_found: String,
    #[server(default)] sync_failed: String,
) -> Result<crate::notify::ChannelCreated, AppError> {
    let admin = require_admin()?;
    let ticked = [
        ("dead_letter", dead_letter),
        ("owner_unreachable", owner_unreachable),
        ("held_waiting", held_waiting),
        ("drift_found", drift_found),
        ("sync_failed", sync_failed),
    ];
    let input = crate::notify::NewChannel {
        kind,
        target,
        events: ticked
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, _)| name.to_string())
            .collect(),
    };
    let created = use_service()?
        .add_channel(&admin, &input)
        .await
        .map_err(respond)?;
    flash::notify(notices::channel_added(&created)).await;
    Ok(created)
}

#[server(prefix = "/fn", endpoint = "remove_channel")]
pub async fn remove_channel(id: String) -> Result<crate::notify::Channel, AppError> {
    let admin = require_admin()?;
    let channel = use_service()?
        .remove_channel(&admin, &id)
        .await
        .map_err(respond)?;
    flash::notify(notices::channel_removed(&channel)).await;
    Ok(channel)
}

#[server(prefix = "/fn", endpoint = "test_channel")]
pub async fn test_channel(id: String) -> Result<crate::notify::NotificationDelivery, AppError> {
    let admin = require_admin()?;
    let delivery = use_service()?
        .test_channel(&admin, &id)
        .await
        .map_err(respond)?;
    flash::notify(notices::channel_tested(&delivery)).await;
    Ok(delivery)
}

/// The new token and its secret (shown once).
#[server(prefix = "/fn", endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scope: String,
    #[server(default)] expires_days: String,
) -> Result<(TokenView, String), AppError> {
    let admin = require_admin()?;
    let created = use_service()?
        .create_token(&admin, &name, &scope, &expires_days)
        .await
        .map_err(respond)?;
    flash::notify(notices::token_created(&created)).await;
    Ok(created)
}

#[server(prefix = "/fn", endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<TokenView, AppError> {
    let admin = require_admin()?;
    let token = use_service()?
        .revoke_token(&admin, &id)
        .await
        .map_err(respond)?;
    flash::notify(notices::token_revoked(&token)).await;
    Ok(token)
}

#[server(prefix = "/fn", endpoint = "accounts")]
pub async fn get_accounts(
    query: crate::org::AccountQuery,
) -> Result<crate::org::AccountsView, AppError> {
    let admin = require_admin()?;
    use_service()?
        .accounts(&admin, &query)
        .await
        .map_err(respond)
}

#[server(prefix = "/fn", endpoint = "sync_accounts")]
pub async fn sync_accounts() -> Result<crate::org::SyncSummary, AppError> {
    let admin = require_admin()?;
    let summary = use_service()?
        .sync_accounts(&admin)
        .await
        .map_err(respond)?;
    flash::notify(notices::synced(&summary)).await;
    Ok(summary)
}

#[server(prefix = "/fn", endpoint = "adopt_account")]
pub async fn adopt_account(
    account_id: String,
    owner: String,
    #[server(default)] account_type: String,
) -> Result<Mapping, AppError> {
    let admin = require_admin()?;
    let mapping = use_service()?
        .adopt_account(&admin, &account_id, &owner, &account_type)
        .await
        .map_err(respond)?;
    flash::notify(notices::adopted(&mapping)).await;
    Ok(mapping)
}

#[server(prefix = "/fn", endpoint = "move_accounts")]
pub async fn move_accounts(
    account_ids: String,
    #[server(default)] owner: String,
) -> Result<Vec<crate::org::MoveResult>, AppError> {
    let admin = require_admin()?;
    let results = use_service()?
        .move_accounts(&admin, &account_ids, &owner)
        .await
        .map_err(respond)?;
    flash::notify(notices::moved(&results)).await;
    Ok(results)
}

#[server(prefix = "/fn", endpoint = "retry_job")]
pub async fn retry_job(account_id: String) -> Result<crate::org::RootEmailJob, AppError> {
    let admin = require_admin()?;
    let job = use_service()?
        .retry_job(&admin, &account_id)
        .await
        .map_err(respond)?;
    flash::notify(notices::retried(&job)).await;
    Ok(job)
}

#[server(prefix = "/fn", endpoint = "audit")]
pub async fn get_audit(cursor: String) -> Result<Page<AuditEntry>, AppError> {
    let admin = require_admin()?;
    use_service()?.audit(&admin, &cursor).await.map_err(respond)
}
