use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::get_my_addresses;
use crate::components::ui::{Card, EmptyState, ErrorNotice, PageHeader};
use crate::model::MyAddresses;

#[component]
pub fn MyAddresses() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_my_addresses());
    view! {
        <Title text="My addresses" />
        <PageHeader title="My addresses" subtitle="The addresses whose mail is forwarded to you." />
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(mine) => view! { <Mine mine /> }.into_any(),
                    Err(e) => view! { <ErrorNotice message=e.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Mine(mine: MyAddresses) -> impl IntoView {
    if mine.mappings.is_empty() {
        return view! {
            <EmptyState title="No addresses are mapped to you" body="When an admin vends an address with you as its owner, it appears here with its recent mail." />
        }
        .into_any();
    }
    let th = "px-4 py-2 text-left text-xs font-semibold uppercase tracking-wider text-slate-500";
    let td = "px-4 py-2 text-sm";
    view! {
        <Card>
            <table class="w-full">
                <caption class="sr-only">"Your addresses"</caption>
                <thead><tr>
                    <th scope="col" class=th>"Address"</th>
                    <th scope="col" class=th>"Account"</th>
                    <th scope="col" class=th>"Status"</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                    {mine.mappings.into_iter().map(|m| view! {
                        <tr>
                            <td class=td><code>{m.address}</code></td>
                            <td class=td>{m.account_name}</td>
                            <td class=td>{m.status.as_str()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </Card>
        <h2 class="mt-8 text-base font-semibold">"Recent mail"</h2>
        {if mine.messages.is_empty() {
            view! { <p class="mt-2 text-sm text-slate-500">"No mail has arrived for these addresses yet."</p> }.into_any()
        } else {
            view! {
                <Card class="mt-2">
                    <table class="w-full">
                        <caption class="sr-only">"Recent mail to your addresses"</caption>
                        <thead><tr>
                            <th scope="col" class=th>"Received"</th>
                            <th scope="col" class=th>"To"</th>
                            <th scope="col" class=th>"From"</th>
                            <th scope="col" class=th>"Subject"</th>
                            <th scope="col" class=th>"Outcome"</th>
                        </tr></thead>
                        <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                            {mine.messages.into_iter().map(|r| view! {
                                <tr>
                                    <td class=td>{r.received_at}</td>
                                    <td class=td>{r.recipient}</td>
                                    // Untrusted text, rendered as text.
                                    <td class=td>{r.sender}</td>
                                    <td class=td>{r.subject.unwrap_or_default()}</td>
                                    <td class=td>{r.outcome.as_str()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </Card>
            }.into_any()
        }}
    }
    .into_any()
}
