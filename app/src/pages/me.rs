use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::data_table::{Column, DataTable};
use crate::components::loaded::Loaded;
use crate::components::ui::{EmptyState, PageHeader};
use crate::model::{MyAddresses, OwnedAddress, OwnedMessage};
use crate::routes::ME;
use crate::server_fns::get_my_addresses;

#[component]
pub fn MyAddresses() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_my_addresses());
    view! {
        <Title text=ME.title />
        <PageHeader title=ME.title subtitle="The addresses whose mail is forwarded to you." />
        <Loaded data quiet=true let:mine>
            <Mine mine />
        </Loaded>
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
    let addresses = vec![
        Column::new(
            "Address",
            |m: &OwnedAddress| view! { <code>{m.address.clone()}</code> },
        ),
        Column::new("Account", |m: &OwnedAddress| m.account_name.clone()),
        Column::new("Status", |m: &OwnedAddress| m.status.as_str()),
    ];
    // Senders and subjects are untrusted text, rendered as text.
    let mail = vec![
        Column::new("Received", |r: &OwnedMessage| r.received_at.clone()),
        Column::new("To", |r: &OwnedMessage| r.recipient.clone()),
        Column::new("From", |r: &OwnedMessage| r.sender.clone()),
        Column::new("Subject", |r: &OwnedMessage| {
            r.subject.clone().unwrap_or_default()
        }),
        Column::new("Outcome", |r: &OwnedMessage| r.outcome.as_str()),
    ];
    view! {
        <DataTable caption="Your addresses" columns=addresses rows=mine.mappings compact=true />
        <h2 class="mt-8 text-base font-semibold">"Recent mail"</h2>
        <DataTable
            caption="Recent mail to your addresses"
            columns=mail
            rows=mine.messages
            empty=|| view! { <p class="text-sm text-slate-500">"No mail has arrived for these addresses yet."</p> }
            class="mt-2"
            compact=true
        />
    }
    .into_any()
}
