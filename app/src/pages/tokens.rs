use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, PageHeader};

#[component]
pub fn Tokens() -> impl IntoView {
    view! {
        <Title text="API tokens" />
        <PageHeader title="API tokens" subtitle="Bearer tokens for account-vending pipelines." />
        <EmptyState title="No API tokens" body="Tokens you create are shown once and can be revoked at any time." />
    }
}
