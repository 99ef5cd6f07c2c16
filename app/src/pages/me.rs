use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, PageHeader};

#[component]
pub fn MyAddresses() -> impl IntoView {
    view! {
        <Title text="My addresses" />
        <PageHeader title="My addresses" subtitle="The addresses whose mail is forwarded to you." />
        <EmptyState title="No addresses are mapped to you" body="When an admin vends an address with you as its owner, it appears here with its recent mail." />
    }
}
