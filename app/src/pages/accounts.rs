//! The AWS organization's accounts as the last sync read them, each judged against the
//! mappings (its drift), with what to do about it: sync again, adopt an account whose address
//! has no mapping, and the vended addresses no account uses.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::data_table::{Column, DataTable};
use crate::components::loaded::Loaded;
use crate::components::query::{param, Pager};
use crate::components::ui::{
    class, field_error, form_error, toast_on_success, when, Badge, Card, EmptyState, ErrorNotice,
    PageHeader, Stat,
};
use crate::notices;
use crate::org::{AccountQuery, AccountState, AccountsView, Drift, OrgAccount, SyncSummary};
use crate::routes::ACCOUNTS;
use crate::server_fns::{get_accounts, AdoptAccount, SyncAccounts};

#[component]
pub fn Accounts() -> impl IntoView {
    let sync = ServerAction::<SyncAccounts>::new();
    let adopt = ServerAction::<AdoptAccount>::new();
    toast_on_success(sync, notices::synced);
    toast_on_success(adopt, notices::adopted);
    let (drift, cursor) = (param("drift"), param("cursor"));
    let view_data = Resource::new(
        move || {
            (
                AccountQuery {
                    drift: drift(),
                    cursor: cursor(),
                },
                sync.version().get(),
                adopt.version().get(),
            )
        },
        |(query, _, _)| get_accounts(query),
    );
    let sync_value = sync.value();
    let adopt_value = adopt.value();
    view! {
        <Title text=ACCOUNTS.title />
        <PageHeader title=ACCOUNTS.title subtitle="The accounts of your AWS organization, each matched with the address that is its root email: which have none, which use another domain, which are closed." />
        {move || form_error(&sync_value.get(), &[]).map(|m| view! { <div class="mb-4"><ErrorNotice message=m /></div> })}
        {move || form_error(&adopt_value.get(), &["owner", "account_type"]).map(|m| view! { <div class="mb-4"><ErrorNotice message=m /></div> })}
        <Loaded data=view_data let:v>
            <AccountsBody v sync adopt later_page=!cursor().is_empty() />
        </Loaded>
    }
}

#[component]
fn AccountsBody(
    v: AccountsView,
    sync: ServerAction<SyncAccounts>,
    adopt: ServerAction<AdoptAccount>,
    later_page: bool,
) -> impl IntoView {
    if !v.on {
        return view! {
            <Card>
                <h2 class="text-base font-semibold">"The organization is not read"</h2>
                <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                    "Set "<code>"MAILVEND_ORGANIZATIONS=on"</code>" (and give mailvend "<code>"organizations:ListAccounts"</code>
                    " in the management or delegated-admin account) to see which account each address belongs to. The deployment guide says how."
                </p>
            </Card>
        }
        .into_any();
    }
    let drift = param("drift");
    view! {
        <SyncCard summary=v.last_sync.clone() sync />
        <nav aria-label="Filter by drift" class="mt-8 flex flex-wrap gap-2 text-sm">
            {std::iter::once(("", "All accounts"))
                .chain(Drift::ALL.map(|d| (d.as_str(), d.label())))
                .map(|(value, label)| {
                    let href = if value.is_empty() { "/accounts".to_string() } else { format!("/accounts?drift={value}") };
                    let current = drift() == value;
                    view! {
                        <a href=href aria-current=current.then_some("page")
                            class=if current { class::PRIMARY } else { class::SECONDARY }>{label}</a>
                    }
                })
                .collect_view()}
        </nav>
        <AccountTable rows=v.page.items next=v.page.next_cursor account_types=v.account_types adopt later_page />
        {v.last_sync.filter(|s| s.unused_total > 0).map(|s| view! { <Unused summary=s /> })}
    }
    .into_any()
}

#[component]
fn SyncCard(summary: Option<SyncSummary>, sync: ServerAction<SyncAccounts>) -> impl IntoView {
    let when_synced = summary
        .as_ref()
        .map(|s| format!("Last synced {}.", when(&s.synced_at)))
        .unwrap_or_else(|| "Not synced yet.".to_string());
    view! {
        <Card>
            <div class="flex flex-wrap items-center justify-between gap-4">
                <div>
                    <h2 class="text-base font-semibold">"Sync"</h2>
                    <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{when_synced}" Each server also syncs on its own (hourly by default)."</p>
                </div>
                <ActionForm action=sync attr:aria-label="Sync the organization now">
                    <button type="submit" class=class::PRIMARY disabled=move || sync.pending().get()>"Sync now"</button>
                </ActionForm>
            </div>
            {summary.map(|s| view! {
                <dl class="mt-4 grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-6">
                    <Stat label="Accounts" value=s.accounts.to_string() />
                    <Stat label="No mapping" value=s.unmapped.to_string() />
                    <Stat label="Off the domain" value=s.off_domain.to_string() />
                    <Stat label="Closed" value=s.closed.to_string() />
                    <Stat label="Conflicts" value=s.conflict.to_string() />
                    <Stat label="Unused addresses" value=s.unused_total.to_string() hint=format!("older than {} days", s.unused_after_days) />
                </dl>
            })}
        </Card>
    }
}

fn state_badge(state: AccountState) -> impl IntoView {
    let tone = match state {
        AccountState::Active => "green",
        AccountState::PendingActivation => "blue",
        AccountState::Unknown => "slate",
        _ => "amber",
    };
    view! { <Badge text=state.label() tone /> }
}

fn drift_badge(drift: Option<Drift>) -> impl IntoView {
    match drift {
        None => view! { <Badge text="In order" tone="green" /> }.into_any(),
        Some(d) => {
            let tone = match d {
                Drift::Conflict | Drift::Unmapped => "red",
                Drift::Closed => "amber",
                Drift::OffDomain => "blue",
            };
            view! { <Badge text=d.label() tone /> }.into_any()
        }
    }
}

#[component]
fn AccountTable(
    rows: Vec<OrgAccount>,
    next: Option<String>,
    account_types: Vec<String>,
    adopt: ServerAction<AdoptAccount>,
    later_page: bool,
) -> impl IntoView {
    let value = adopt.value();
    let columns = vec![
        Column::new("Account", |a: &OrgAccount| {
            view! {
                <p class="font-medium">{a.name.clone()}</p>
                <p class="font-mono text-xs text-slate-500">{a.account_id.clone()}</p>
            }
        }),
        Column::new("Root email", |a: &OrgAccount| {
            match &a.address {
                Some(address) => view! {
                    <a href=format!("/addresses/{address}") class=class::LINK>{a.email.clone()}</a>
                }
                .into_any(),
                None => view! { <span>{a.email.clone()}</span> }.into_any(),
            }
        }),
        Column::new("State", |a: &OrgAccount| state_badge(a.state)).class("whitespace-nowrap"),
        Column::new("Drift", |a: &OrgAccount| {
            let detail = a
                .drift_detail
                .clone()
                .map(|d| view! { <p class="mt-1 max-w-xs text-xs text-slate-500">{d}</p> });
            view! { <span class="whitespace-nowrap">{drift_badge(a.drift)}</span> {detail} }
        }),
        Column::new("Actions", move |a: &OrgAccount| {
            (a.drift == Some(Drift::Unmapped)).then(|| {
                let id = a.account_id.clone();
                let (owner_id, type_id) = (format!("adopt-owner-{id}"), format!("adopt-type-{id}"));
                let (form_label, label) = (format!("Adopt {}", a.email), format!("Adopt {}", a.email));
                let types = account_types.clone();
                let err = move || field_error(&value.get(), "owner");
                view! {
                    <details class="inline-block text-left">
                        <summary class="cursor-pointer text-sm font-medium text-indigo-700 dark:text-indigo-400">"Adopt…"</summary>
                        <ActionForm action=adopt attr:class="mt-2 grid gap-2" attr:aria-label=form_label>
                            <input type="hidden" name="account_id" value=id />
                            <label for=owner_id.clone() class=class::LABEL>"Owner (gets its mail)"</label>
                            <input id=owner_id name="owner" type="email" required autocomplete="off" class=class::INPUT />
                            <label for=type_id.clone() class=class::LABEL>"Account type"</label>
                            <select id=type_id name="account_type" class=class::INPUT>
                                {types.into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                            </select>
                            {move || err().map(|m| view! { <p class="text-xs text-red-700 dark:text-red-400">{m}</p> })}
                            <button type="submit" class=class::PRIMARY>{label}</button>
                        </ActionForm>
                    </details>
                }
            })
        })
        .header_hidden()
        .class("text-right"),
    ];
    view! {
        <DataTable
            caption="AWS accounts"
            columns
            rows
            empty=|| view! {
                <EmptyState title="No accounts here" body="Sync to read the organization, or choose another filter." />
            }
            later_page
            class="mt-4"
        />
        <Pager next has_cursor=later_page />
    }
}

/// Addresses vended long ago that no account uses: candidates to delete.
#[component]
fn Unused(summary: SyncSummary) -> impl IntoView {
    let more = summary.unused_total as usize - summary.unused.len();
    view! {
        <section aria-labelledby="unused-heading" class="mt-8">
            <Card>
                <h2 id="unused-heading" class="text-base font-semibold">"Addresses no account uses"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                    {format!("Vended more than {} days ago, and no account of the organization has them as its root email or is recorded on them. Delete the ones nobody needs (their address stays reserved).", summary.unused_after_days)}
                </p>
                <ul class="mt-3 grid gap-1 text-sm sm:grid-cols-2">
                    {summary.unused.into_iter().map(|a| view! {
                        <li><a href=format!("/addresses/{a}") class=class::LINK>{a.clone()}</a></li>
                    }).collect_view()}
                </ul>
                {(more > 0).then(|| view! { <p class="mt-2 text-sm text-slate-500">{format!("and {more} more")}</p> })}
            </Card>
        </section>
    }
}
