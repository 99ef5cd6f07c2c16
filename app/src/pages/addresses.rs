use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, PageHeader};

#[component]
pub fn Addresses() -> impl IntoView {
    view! {
        <Title text="Addresses" />
        <PageHeader title="Addresses" subtitle="Every address vended on your domain, who owns it, and where its mail goes." />
        <EmptyState title="No addresses yet" body="Addresses vended from this dashboard or the API appear here, with their owners and status." />
    }
}
