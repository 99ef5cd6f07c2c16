use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, PageHeader};

#[component]
pub fn Audit() -> impl IntoView {
    view! {
        <Title text="Audit log" />
        <PageHeader title="Audit log" subtitle="Who changed what, and when." />
        <EmptyState title="No changes recorded" body="Every vend, edit, delete and setting change is recorded here." />
    }
}
