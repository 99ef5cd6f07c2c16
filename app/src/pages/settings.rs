use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::loaded::Loaded;
use crate::components::ui::{
    class, form_error, toast_on_success, Card, CopyButton, ErrorNotice, PageHeader,
};
use crate::model::{ClassPolicy, DmarcPolicy, MailClass, SettingsView, SpamPolicy};
use crate::notices;
use crate::pages::rules::RulesCard;
use crate::routes::SETTINGS;
use crate::server_fns::{
    get_settings, SetCatchAll, SetClassPolicies, SetDmarcPolicy, SetSpamPolicy, SignEveryoneOut,
};

#[component]
pub fn Settings() -> impl IntoView {
    let catch_all = ServerAction::<SetCatchAll>::new();
    let spam = ServerAction::<SetSpamPolicy>::new();
    let dmarc = ServerAction::<SetDmarcPolicy>::new();
    let classes = ServerAction::<SetClassPolicies>::new();
    toast_on_success(classes, notices::class_policies_saved);
    toast_on_success(catch_all, notices::catch_all);
    toast_on_success(spam, notices::spam_policy_saved);
    toast_on_success(dmarc, notices::dmarc_policy_saved);
    let view_ = Resource::new(
        move || {
            (
                catch_all.version().get(),
                spam.version().get(),
                dmarc.version().get(),
                classes.version().get(),
            )
        },
        |_| get_settings(),
    );
    view! {
        <Title text=SETTINGS.title />
        <PageHeader title=SETTINGS.title subtitle="How mail that no mapping claims, mail SES marks as spam, and mail that fails DMARC are handled." />
        // One boundary for the settings (a resource read under two of them can leave a
        // server render waiting for ever, leptos-rs/leptos#4851), and the rules beside it, not
        // inside: their resources are made once, not by a boundary's children (#4866).
        <Loaded data=view_ let:v>
            <ClassPoliciesCard v=v.clone() action=classes />
            <SettingsCards v catch_all spam dmarc />
        </Loaded>
        <div class="mt-6">
            <RulesCard />
        </div>
        <SignEveryoneOutCard />
    }
}

/// What is done with each class of mail (docs/api.md, Class policies), in one form.
#[component]
fn ClassPoliciesCard(v: SettingsView, action: ServerAction<SetClassPolicies>) -> impl IntoView {
    let value = action.value();
    let s = v.settings;
    let group = s.restricted_to.clone();
    let has_group = !group.is_empty();
    let credential_forwarded = s.class_policies.credential == ClassPolicy::Forward;
    let hint = |c: MailClass| match c {
        MailClass::Credential => {
            "Password resets, sign-in and verification codes, MFA changes: the keys to the account."
        }
        MailClass::Security => "Abuse reports, exposed keys, security notices.",
        MailClass::Account => "Closure, suspension, email or contact changes.",
        MailClass::Billing => "Invoices, payments, Free Tier and budget alerts.",
        MailClass::Notice => "AWS's operational notices and marketing.",
        MailClass::Other => "Everything else, and any mail whose sender SES did not authenticate.",
    };
    view! {
        <div class="mb-6">
            <Card>
                <h2 id="classes-heading" class="text-base font-semibold">"Mail classes"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                    "What happens to each kind of mail that would be forwarded. Held mail waits on the Held mail page and expires after "
                    {format!("{} days", s.hold_days)}". Every change is audited."
                </p>
                {credential_forwarded.then(|| view! {
                    <div role="note" data-testid="credential-warning" class="mt-4 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
                        <strong>"Credential mail goes to account owners. "</strong>
                        {if has_group {
                            "Password resets and sign-in codes for root users are the keys to the accounts: consider sending them to the restricted group only, or holding them."
                        } else {
                            "Password resets and sign-in codes for root users are the keys to the accounts. Configure a restricted group (MAILVEND_RESTRICTED_TO) to send them to your platform team only, or hold them here."
                        }}
                    </div>
                })}
                <p class="mt-4 text-sm">
                    <span class="font-medium">"Restricted group: "</span>
                    {if has_group { group.join(", ") } else { "none configured (MAILVEND_RESTRICTED_TO)".to_string() }}
                </p>
                <ActionForm action=action attr:class="mt-4" attr:aria-labelledby="classes-heading">
                    <div class="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
                        {MailClass::ALL.into_iter().map(|c| {
                            let id = format!("class-{}", c.as_str());
                            let hint_id = format!("{id}-hint");
                            let current = s.class_policies.of(c);
                            view! {
                                <div>
                                    <label for=id.clone() class=class::LABEL>{c.label()}</label>
                                    <select id=id name=c.as_str() aria-describedby=hint_id.clone() class=format!("mt-1 {}", class::INPUT)>
                                        {ClassPolicy::ALL.into_iter().map(|p| {
                                            // Restricted needs a group; a class already restricted keeps its option.
                                            let unavailable = p == ClassPolicy::Restricted && !has_group && current != p;
                                            view! {
                                                <option value=p.as_str() selected=current == p disabled=unavailable>{p.label()}</option>
                                            }
                                        }).collect_view()}
                                    </select>
                                    <p id=hint_id class="mt-1 text-xs text-slate-500">{hint(c)}</p>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                    <button type="submit" class=format!("mt-4 {}", class::PRIMARY) disabled=move || action.pending().get()>"Save class policies"</button>
                </ActionForm>
                {move || form_error(&value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            </Card>
        </div>
    }
}

/// Ends every session at once: for an admin who left, or a cookie that leaked.
#[component]
fn SignEveryoneOutCard() -> impl IntoView {
    let action = ServerAction::<SignEveryoneOut>::new();
    let value = action.value();
    view! {
        <div class="mt-6">
            <Card>
                <h2 id="sessions-heading" class="text-base font-semibold">"Sessions"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                    "Sessions end MAILVEND_SESSION_LIFETIME after sign-in (12 hours unless configured), and an admin listed by email loses admin rights on their next request once removed from MAILVEND_ADMIN_EMAILS. To end every session now, yours included (everyone signs in again; API tokens are not affected):"
                </p>
                <ActionForm action=action attr:class="mt-4" attr:aria-labelledby="sessions-heading">
                    <button type="submit" class=class::DANGER disabled=move || action.pending().get()>"Sign everyone out"</button>
                </ActionForm>
                {move || form_error(&value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            </Card>
        </div>
    }
}

#[component]
fn SettingsCards(
    v: SettingsView,
    catch_all: ServerAction<SetCatchAll>,
    spam: ServerAction<SetSpamPolicy>,
    dmarc: ServerAction<SetDmarcPolicy>,
) -> impl IntoView {
    let on = v.settings.catch_all;
    let catch_value = catch_all.value();
    let spam_value = spam.value();
    let dmarc_value = dmarc.value();
    let dd = "mt-1 text-sm break-all text-slate-900 dark:text-slate-100";
    let catch_all_words = if on {
        format!(
            "On: mail to unknown, suspended or deleted addresses goes to {}.",
            v.admin_address
        )
    } else {
        "Off: mail to unknown, suspended or deleted addresses is logged as undeliverable and kept for replay.".to_string()
    };
    let endpoint = v.sns_endpoint.clone();
    let dt = "text-xs font-medium uppercase tracking-wider text-slate-500";
    let spam_choices = [
        (
            SpamPolicy::Tag.as_str(),
            "Forward with a tag",
            "Forwarded with [SPAM] in front of the subject (the default).",
        ),
        (
            SpamPolicy::Forward.as_str(),
            "Forward unchanged",
            "Forwarded as if it had passed.",
        ),
        (
            SpamPolicy::Reject.as_str(),
            "Do not forward",
            "Logged as rejected; nobody receives it.",
        ),
    ];
    let dmarc_choices = [
        (
            DmarcPolicy::Tag.as_str(),
            "Forward with a tag",
            "Forwarded with [DMARC FAIL] in front of the subject (the default).",
        ),
        (
            DmarcPolicy::Forward.as_str(),
            "Forward unchanged",
            "Forwarded; the verdict is still in its Authentication-Results header.",
        ),
        (
            DmarcPolicy::Reject.as_str(),
            "Do not forward",
            "Logged as rejected; nobody receives it.",
        ),
    ];
    view! {
        <div class="grid grid-cols-1 gap-6 xl:grid-cols-2">
            <Card>
                <div class="flex items-start justify-between gap-4">
                    <div>
                        <h2 id="catch-all-heading" class="text-base font-semibold">"Catch-all"</h2>
                        <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                            {catch_all_words}
                        </p>
                    </div>
                    <span data-testid="catch-all-state" class=if on {
                        "rounded-full bg-emerald-100 px-2.5 py-1 text-xs font-semibold text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200"
                    } else {
                        "rounded-full bg-slate-100 px-2.5 py-1 text-xs font-semibold text-slate-700 dark:bg-slate-800 dark:text-slate-300"
                    }>{if on { "On" } else { "Off" }}</span>
                </div>
                <div role="note" class="mt-4 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
                    <strong>"Think before turning it on. "</strong>
                    "Anyone who learns your domain can then send any amount of mail to made-up addresses, and all of it lands in the admin mailbox (and counts against your SES sending quota)."
                </div>
                <ActionForm action=catch_all attr:class="mt-4" attr:aria-labelledby="catch-all-heading">
                    <input type="hidden" name="on" value=(!on).to_string() />
                    <button type="submit" class=if on { class::SECONDARY } else { class::PRIMARY } disabled=move || catch_all.pending().get()>
                        {if on { "Turn catch-all off" } else { "Turn catch-all on" }}
                    </button>
                </ActionForm>
                {move || form_error(&catch_value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            </Card>
            <Card>
                <h2 id="spam-heading" class="text-base font-semibold">"Spam policy"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"For mail whose SES spam verdict is FAIL. Mail with a virus is never forwarded."</p>
                <ActionForm action=spam attr:class="mt-4 space-y-3" attr:aria-labelledby="spam-heading">
                    <PolicyChoices legend="Spam policy" prefix="spam" choices=spam_choices current=v.settings.spam_policy.as_str() />
                    <button type="submit" class=class::PRIMARY disabled=move || spam.pending().get()>"Save spam policy"</button>
                </ActionForm>
                {move || form_error(&spam_value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            </Card>
            <Card>
                <h2 id="dmarc-heading" class="text-base font-semibold">"DMARC failures"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"For mail that fails DMARC while the sender's domain asks receivers to quarantine or reject it: most likely not sent by whom its From names. Every forward carries SES's verdicts in an Authentication-Results header."</p>
                <ActionForm action=dmarc attr:class="mt-4 space-y-3" attr:aria-labelledby="dmarc-heading">
                    <PolicyChoices legend="DMARC policy" prefix="dmarc" choices=dmarc_choices current=v.settings.dmarc_policy.as_str() />
                    <button type="submit" class=class::PRIMARY disabled=move || dmarc.pending().get()>"Save DMARC policy"</button>
                </ActionForm>
                {move || form_error(&dmarc_value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            </Card>
            <Card class="xl:col-span-2">
                <h2 class="text-base font-semibold">"Receiving and sending"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"Set in the configuration (see docs/configuration.md); shown here so you can check them."</p>
                <dl class="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
                    <div><dt class=dt>"Mail domain"</dt><dd class=dd>{v.domain.clone()}</dd></div>
                    <div><dt class=dt>"Admin address"</dt><dd class=dd>{v.admin_address.clone()}</dd></div>
                    <div><dt class=dt>"Forwarded from"</dt><dd class=dd>{v.from_address.clone()}</dd></div>
                    <div class="sm:col-span-2">
                        <dt class=dt>"SNS endpoint"</dt>
                        <dd class=format!("{dd} flex items-center gap-2")><code class="font-mono text-xs">{v.sns_endpoint.clone()}</code><CopyButton text=endpoint /></dd>
                    </div>
                    <div><dt class=dt>"Message log kept"</dt><dd class=dd>{format!("{} days", v.retention_days)}</dd></div>
                    <div class="sm:col-span-2 lg:col-span-3">
                        <dt class=dt>"Allowed SNS topics"</dt>
                        <dd class=dd>
                            {if v.sns_topics.is_empty() {
                                view! { <p class="text-amber-700 dark:text-amber-400">"None: every SNS message is refused until MAILVEND_SNS_TOPIC_ARNS names your topic."</p> }.into_any()
                            } else {
                                view! { <ul class="space-y-1">{v.sns_topics.iter().map(|t| view! { <li><code class="font-mono text-xs">{t.clone()}</code></li> }).collect_view()}</ul> }.into_any()
                            }}
                        </dd>
                    </div>
                    <div><dt class=dt>"Store"</dt><dd class=dd>{v.store.clone()}</dd></div>
                    <div><dt class=dt>"Mailer"</dt><dd class=dd>{v.mailer.clone()}</dd></div>
                </dl>
            </Card>
        </div>
    }
}

/// The radio choices of a policy form (spam, DMARC): one `policy` field, labelled, with hints.
#[component]
fn PolicyChoices(
    legend: &'static str,
    prefix: &'static str,
    choices: [(&'static str, &'static str, &'static str); 3],
    current: &'static str,
) -> impl IntoView {
    view! {
        <fieldset>
            <legend class="sr-only">{legend}</legend>
            <div class="space-y-3">
                {choices.into_iter().map(|(value, label, hint)| {
                    let id = format!("{prefix}-{value}");
                    view! {
                        <div class="flex items-start gap-3">
                            <input id=id.clone() type="radio" name="policy" value=value checked=current == value
                                class="mt-0.5 size-4 border-slate-300 text-indigo-600 focus:ring-indigo-600" />
                            <label for=id class="text-sm">
                                <span class="font-medium">{label}</span>
                                <span class="block text-slate-500">{hint}</span>
                            </label>
                        </div>
                    }
                }).collect_view()}
            </div>
        </fieldset>
    }
}
