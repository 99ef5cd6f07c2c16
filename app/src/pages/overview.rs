use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{get_status, CheckStore};
use crate::components::ui::{Card, ErrorNotice, PageHeader, Stat};
use crate::model::{uptime_label, SystemStatus};

#[component]
pub fn Overview() -> impl IntoView {
    let check = ServerAction::<CheckStore>::new();
    // Re-read the status after every check, so the cards and the check agree.
    let status = Resource::new(move || check.version().get(), |_| get_status());

    view! {
        <Title text="Overview" />
        <PageHeader title="Overview" subtitle="The state of this mailvend instance." />
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(s) => view! { <StatusCards status=s /> }.into_any(),
                    Err(e) => view! { <ErrorNotice message=e.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
        <Card class="mt-8">
            <div class="flex flex-wrap items-center justify-between gap-4">
                <div>
                    <h2 class="text-base font-semibold">"Store health"</h2>
                    <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                        "Runs one round trip to the store and reports how long it took."
                    </p>
                </div>
                <ActionForm action=check>
                    <button
                        type="submit"
                        class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60"
                        disabled=move || check.pending().get()
                    >
                        {move || if check.pending().get() { "Checking…" } else { "Check now" }}
                    </button>
                </ActionForm>
            </div>
            <div role="status" aria-live="polite" class="mt-4 text-sm empty:hidden">
                {move || check.value().get().map(|result| match result {
                    Ok(c) if c.ok => view! {
                        <p class="text-emerald-700 dark:text-emerald-400">
                            {format!("Store answered in {} at {}.", c.latency_label(), c.checked_at_utc())}
                        </p>
                    }.into_any(),
                    Ok(c) => view! {
                        <ErrorNotice message=format!("The store did not answer (checked at {}).", c.checked_at_utc()) />
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice message=e.to_string() /> }.into_any(),
                })}
            </div>
        </Card>
    }
}

#[component]
fn StatusCards(status: SystemStatus) -> impl IntoView {
    let health = if status.store_check.ok {
        format!("answered in {}", status.store_check.latency_label())
    } else {
        "not answering".to_string()
    };
    view! {
        <dl class="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4">
            <Stat label="Mail domain" value=status.domain />
            <Stat label="Store" value=status.store hint=health />
            <Stat label="Mailer" value=status.mailer />
            <Stat
                label="Catch-all"
                value=(if status.catch_all { "On" } else { "Off" }).to_string()
                hint=(if status.catch_all {
                    "unknown recipients go to the admin address"
                } else {
                    "unknown recipients are logged as undeliverable"
                })
                    .to_string()
            />
        </dl>
        <p class="mt-3 text-xs text-slate-500">
            {format!("mailvend {} · up {}", status.version, uptime_label(status.uptime_secs))}
        </p>
    }
}
