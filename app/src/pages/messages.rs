use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, PageHeader};

#[component]
pub fn Messages() -> impl IntoView {
    view! {
        <Title text="Messages" />
        <PageHeader title="Messages" subtitle="Mail received for your addresses and what happened to it." />
        <EmptyState title="No messages yet" body="Once SES forwards mail through the SNS endpoint, every recipient's outcome is logged here." />
    }
}
