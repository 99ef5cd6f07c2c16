use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::audit_diff::AuditDiff;
use crate::components::data_table::{Column, DataTable};
use crate::components::loaded::Loaded;
use crate::components::query::{param, Pager};
use crate::components::ui::{class, when, EmptyState, PageHeader};
use crate::model::AuditEntry;
use crate::routes::AUDIT;
use crate::server_fns::get_audit;

#[component]
pub fn Audit() -> impl IntoView {
    let cursor = param("cursor");
    let page = Resource::new(cursor, get_audit);
    view! {
        <Title text=AUDIT.title />
        <PageHeader title=AUDIT.title subtitle="Every change to addresses, tokens and settings: who, when, before and after." />
        <Loaded data=page let:page>
            <AuditTable rows=page.items next=page.next_cursor later_page=!cursor().is_empty() />
        </Loaded>
    }
}

#[component]
fn AuditTable(rows: Vec<AuditEntry>, next: Option<String>, later_page: bool) -> impl IntoView {
    let columns = vec![
        Column::new("When", |e: &AuditEntry| when(&e.at)).class("whitespace-nowrap text-slate-500"),
        Column::new("Who", |e: &AuditEntry| e.actor.clone()),
        Column::new("What", |e: &AuditEntry| e.action.clone()).class("font-medium"),
        Column::new("Subject", |e: &AuditEntry| subject(&e.subject)).class("font-mono text-xs"),
        Column::new("Change", |e: &AuditEntry| {
            view! { <AuditDiff before=e.before.clone() after=e.after.clone() /> }
        }),
    ];
    view! {
        <DataTable
            caption="Audit log"
            columns
            rows
            empty=|| view! {
                <EmptyState title="Nothing has changed yet" body="Vends, edits, deletions, token changes and settings changes are recorded here." />
            }
            later_page
        />
        <Pager next has_cursor=later_page />
    }
}

/// Addresses link to their page; tokens and settings are plain text.
fn subject(s: &str) -> AnyView {
    let s = s.to_string();
    if s.contains('@') && !s.contains(':') {
        let href = format!("/addresses/{s}");
        view! { <A href=href attr:class=class::LINK>{s}</A> }.into_any()
    } else {
        s.into_any()
    }
}
