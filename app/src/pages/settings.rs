use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, PageHeader};

#[component]
pub fn Settings() -> impl IntoView {
    view! {
        <Title text="Settings" />
        <PageHeader title="Settings" subtitle="Catch-all, the admin address, spam policy and the SNS endpoint." />
        <EmptyState title="Nothing to configure yet" body="Settings that change how mail is routed will appear here." />
    }
}
