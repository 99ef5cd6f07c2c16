//! The AWS organization's accounts as the last sync read them, each judged against the
//! mappings (its drift), with what to do about it: sync again, adopt an account whose address
//! has no mapping, move accounts' root emails onto the domain (one, or many at once) and
//! follow those jobs, and the vended addresses no account uses.

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
use crate::org::{
    AccountQuery, AccountState, AccountsView, Drift, JobState, OrgAccount, RootEmailJob,
    SyncSummary,
};
use crate::routes::ACCOUNTS;
use crate::server_fns::{get_accounts, AdoptAccount, MoveAccounts, RetryJob, SyncAccounts};

/// The actions of the page, handed down together.
#[derive(Clone, Copy)]
struct Actions {
    sync: ServerAction<SyncAccounts>,
    adopt: ServerAction<AdoptAccount>,
    moves: ServerAction<MoveAccounts>,
    retry: ServerAction<RetryJob>,
}

#[component]
pub fn Accounts() -> impl IntoView {
    let actions = Actions {
        sync: ServerAction::<SyncAccounts>::new(),
        adopt: ServerAction::<AdoptAccount>::new(),
        moves: ServerAction::<MoveAccounts>::new(),
        retry: ServerAction::<RetryJob>::new(),
    };
    toast_on_success(actions.sync, notices::synced);
    toast_on_success(actions.adopt, notices::adopted);
    toast_on_success(actions.moves, |r: &Vec<_>| notices::moved(r));
    toast_on_success(actions.retry, notices::retried);
    let (drift, cursor) = (param("drift"), param("cursor"));
    let view_data = Resource::new(
        move || {
            (
                AccountQuery {
                    drift: drift(),
                    cursor: cursor(),
                },
                actions.sync.version().get(),
                actions.adopt.version().get(),
                actions.moves.version().get(),
                actions.retry.version().get(),
            )
        },
        |(query, ..)| get_accounts(query),
    );
    let Actions {
        sync,
        adopt,
        moves,
        retry,
    } = actions;
    let (sync_value, adopt_value, moves_value, retry_value) =
        (sync.value(), adopt.value(), moves.value(), retry.value());
    view! {
        <Title text=ACCOUNTS.title />
        <PageHeader title=ACCOUNTS.title subtitle="The accounts of your AWS organization, each matched with the address that is its root email: which have none, which use another domain, which are closed." />
        {move || form_error(&sync_value.get(), &[]).map(|m| view! { <div class="mb-4"><ErrorNotice message=m /></div> })}
        {move || form_error(&adopt_value.get(), &["owner", "account_type"]).map(|m| view! { <div class="mb-4"><ErrorNotice message=m /></div> })}
        {move || form_error(&moves_value.get(), &[]).map(|m| view! { <div class="mb-4"><ErrorNotice message=m /></div> })}
        {move || form_error(&retry_value.get(), &[]).map(|m| view! { <div class="mb-4"><ErrorNotice message=m /></div> })}
        <Loaded data=view_data let:v>
            <AccountsBody v actions later_page=!cursor().is_empty() />
        </Loaded>
    }
}

#[component]
fn AccountsBody(v: AccountsView, actions: Actions, later_page: bool) -> impl IntoView {
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
    // Accounts with an open job are being moved already.
    let moving: std::collections::HashSet<String> = v
        .jobs
        .iter()
        .filter(|j| j.state.is_open())
        .map(|j| j.account_id.clone())
        .collect();
    let off_domain: Vec<String> = v
        .page
        .items
        .iter()
        .filter(|a| v.moves_on && a.drift == Some(Drift::OffDomain) && !a.state.is_out_of_use())
        .filter(|a| !moving.contains(&a.account_id))
        .map(|a| a.account_id.clone())
        .collect();
    view! {
        <SyncCard summary=v.last_sync.clone() sync=actions.sync />
        {(!v.jobs.is_empty()).then(|| view! { <Jobs jobs=v.jobs.clone() retry=actions.retry /> })}
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
        <AccountTable rows=v.page.items next=v.page.next_cursor account_types=v.account_types moving moves_on=v.moves_on actions later_page />
        {(!off_domain.is_empty()).then(|| view! { <MoveMany ids=off_domain moves=actions.moves /> })}
        {v.last_sync.filter(|s| s.unused_total > 0).map(|s| view! { <Unused summary=s /> })}
    }
    .into_any()
}

/// Moving many accounts at once (a domain migration): the off-domain accounts of this page,
/// listed for the admin to trim.
#[component]
fn MoveMany(ids: Vec<String>, moves: ServerAction<MoveAccounts>) -> impl IntoView {
    let count = ids.len();
    view! {
        <section aria-labelledby="move-heading" class="mt-8">
            <Card>
                <h2 id="move-heading" class="text-base font-semibold">"Move root emails onto the domain"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                    {format!("The {count} live account{} of this page whose root email is on another domain. For each, mailvend vends an address named after the account, asks AWS to change the root email, reads the code AWS mails to the new address (never forwarded or kept) and confirms it. Remove any you do not want moved.", if count == 1 { "" } else { "s" })}
                </p>
                <ActionForm action=moves attr:class="mt-4 grid gap-3 sm:max-w-xl" attr:aria-label="Move these accounts onto the domain">
                    <label for="move-ids" class=class::LABEL>"Account ids (one a line)"</label>
                    <textarea id="move-ids" name="account_ids" rows=count.clamp(2, 10) class=class::INPUT required>{ids.join("\n")}</textarea>
                    <label for="move-owner" class=class::LABEL>"Owner of the new addresses (optional)"</label>
                    <input id="move-owner" name="owner" type="email" autocomplete="off" class=class::INPUT aria-describedby="move-owner-hint" />
                    <p id="move-owner-hint" class="text-xs text-slate-500">"Empty: each account's mail keeps going to its current root email."</p>
                    <div><button type="submit" class=class::PRIMARY disabled=move || moves.pending().get()>"Move these accounts"</button></div>
                </ActionForm>
            </Card>
        </section>
    }
}

fn job_badge(job: &RootEmailJob) -> impl IntoView {
    let tone = match job.state {
        JobState::Accepted => "green",
        JobState::Failed => "red",
        _ => "blue",
    };
    view! { <Badge text=job.state.label() tone /> }
}

/// The root email change jobs with their progress; a failed one can be retried.
#[component]
fn Jobs(jobs: Vec<RootEmailJob>, retry: ServerAction<RetryJob>) -> impl IntoView {
    let total = jobs.len();
    let done = jobs
        .iter()
        .filter(|j| j.state == JobState::Accepted)
        .count();
    let failed = jobs.iter().filter(|j| j.state == JobState::Failed).count();
    let open = total - done - failed;
    let columns = vec![
        Column::new("Account", |j: &RootEmailJob| {
            view! {
                <p class="font-medium">{j.account_name.clone()}</p>
                <p class="font-mono text-xs text-slate-500">{j.account_id.clone()}</p>
            }
        }),
        Column::new("Root email", |j: &RootEmailJob| {
            view! {
                <p class="text-xs text-slate-500">{format!("was {}", j.previous_email)}</p>
                <a href=format!("/addresses/{}", j.address) class=class::LINK>{j.address.clone()}</a>
            }
        }),
        Column::new("State", |j: &RootEmailJob| {
            view! { <span class="whitespace-nowrap">{job_badge(j)}</span> }
        }),
        Column::new("What happened", |j: &RootEmailJob| {
            let reason = j
                .reason
                .clone()
                .map(|r| view! { <p class="font-mono text-xs">{r}</p> });
            view! {
                {reason}
                <p class="max-w-sm text-xs text-slate-600 dark:text-slate-400">{j.detail.clone()}</p>
                <p class="text-xs text-slate-500">{format!("attempt {}, {}", j.attempts, when(&j.updated_at))}</p>
            }
        }),
        Column::new("Actions", move |j: &RootEmailJob| {
            (j.state == JobState::Failed).then(|| {
                let (label, id) = (
                    format!("Retry moving {}", j.account_id),
                    j.account_id.clone(),
                );
                view! {
                    <ActionForm action=retry attr:aria-label=label>
                        <input type="hidden" name="account_id" value=id />
                        <button type="submit" class=class::SECONDARY>"Retry"</button>
                    </ActionForm>
                }
            })
        })
        .header_hidden()
        .class("text-right"),
    ];
    view! {
        <section aria-labelledby="jobs-heading" class="mt-8">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 id="jobs-heading" class="text-base font-semibold">"Root email changes"</h2>
                <a href="/accounts" class=class::LINK>"Refresh"</a>
            </div>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                {format!("{done} of {total} done, {failed} failed, {open} in progress.")}
            </p>
            <progress class="mt-2 w-full" max=total.to_string() value=(done + failed).to_string() aria-label="Root email changes finished"></progress>
            <DataTable
                caption="Root email change jobs"
                columns
                rows=jobs
                empty=|| view! { <EmptyState title="No jobs" body="Move an account onto the domain to start one." /> }
                later_page=false
                class="mt-4"
            />
        </section>
    }
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
    moving: std::collections::HashSet<String>,
    moves_on: bool,
    actions: Actions,
    later_page: bool,
) -> impl IntoView {
    let (adopt, moves) = (actions.adopt, actions.moves);
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
            if moving.contains(&a.account_id) {
                return Some(view! { <span class="whitespace-nowrap text-sm text-slate-500">"Moving…"</span> }.into_any());
            }
            if moves_on && a.drift == Some(Drift::OffDomain) && !a.state.is_out_of_use() {
                let (label, id) = (format!("Move {} onto the domain", a.name), a.account_id.clone());
                return Some(view! {
                    <ActionForm action=moves attr:aria-label=label>
                        <input type="hidden" name="account_ids" value=id />
                        <button type="submit" class=format!("{} whitespace-nowrap", class::SECONDARY)>"Move onto the domain"</button>
                    </ActionForm>
                }
                .into_any());
            }
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
                .into_any()
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
