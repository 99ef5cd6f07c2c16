//! Mail its class's policy holds (`hold`, or `restricted` with no group configured): an admin
//! releases each to its owner or to themselves, or lets it expire.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::data_table::{Column, DataTable};
use crate::components::loaded::Loaded;
use crate::components::message_table::message_href;
use crate::components::query::{param, Pager};
use crate::components::ui::{
    class, class_badge, form_error, toast_on_success, when, EmptyState, ErrorNotice, PageHeader,
};
use crate::model::{HeldMessage, ReleaseTarget};
use crate::notices;
use crate::routes::HELD;
use crate::server_fns::{list_held, ReleaseMessage};

#[component]
pub fn Held() -> impl IntoView {
    let cursor = param("cursor");
    let release = ServerAction::<ReleaseMessage>::new();
    toast_on_success(release, notices::released);
    let page = Resource::new(
        move || (cursor(), release.version().get()),
        |(cursor, _)| list_held(cursor),
    );
    let value = release.value();
    view! {
        <Title text=HELD.title />
        <PageHeader title=HELD.title subtitle="Mail its class's policy keeps here instead of sending it. Release each to its owner or to yourself; what nobody releases expires. Every release, and every opening of a held message's page, is in the audit log." />
        {move || form_error(&value.get(), &[]).map(|m| view! { <div class="mb-4"><ErrorNotice message=m /></div> })}
        <Loaded data=page let:page>
            <p class="mb-4 text-sm text-slate-600 dark:text-slate-400">
                {format!("Held mail expires {} days after it arrived. Set a class's policy on the Settings page.", page.hold_days)}
            </p>
            <HeldTable items=page.items release later_page=!cursor().is_empty() />
            <Pager next=page.next_cursor has_cursor=!cursor().is_empty() />
        </Loaded>
    }
}

/// Senders and subjects come from strangers: rendered as text, never as markup.
#[component]
fn HeldTable(
    items: Vec<HeldMessage>,
    release: ServerAction<ReleaseMessage>,
    later_page: bool,
) -> impl IntoView {
    let columns = vec![
        Column::new("Received", |h: &HeldMessage| {
            let (href, received) = (message_href(&h.record.id), when(&h.record.received_at));
            view! { <A href=href attr:class=class::LINK>{received}</A> }
        })
        .class("whitespace-nowrap"),
        // Subject, sender and address in one cell, so the release buttons fit beside them.
        Column::new("Message", |h: &HeldMessage| {
            let r = &h.record;
            let subject = r.subject.clone().unwrap_or_else(|| "(no subject)".into());
            let title = subject.clone();
            view! {
                <span class="block max-w-96 truncate font-medium" title=title>{subject}</span>
                <span class="block max-w-96 truncate text-xs text-slate-500" title=r.sender.clone()>"from "{r.sender.clone()}</span>
                <span class="block font-mono text-xs text-slate-500 break-all">"to "{r.recipient.clone()}</span>
                // A copy for one of the mapping's other recipients: "to owner" sends it there.
                {crate::model::MessageRecord::destination_of(&r.id).map(|d| view! {
                    <span class="block text-xs text-slate-500 break-all">"copy for "{d.to_string()}</span>
                })}
            }
        }),
        Column::new("Kind", |h: &HeldMessage| class_badge(h.record.class)),
        Column::new("Expires", |h: &HeldMessage| when(&h.expires_at)).class("whitespace-nowrap"),
        Column::new("Release", move |h: &HeldMessage| {
            view! { <ReleaseButtons id=h.record.id.clone() release /> }
        })
        .header_hidden(),
    ];
    view! {
        <DataTable
            caption="Held mail"
            columns
            rows=items
            later_page
            empty=move || view! { <EmptyState title="No held mail" body="Mail of a class whose policy is hold waits here for an admin." /> }
        />
    }
}

/// The two ways out of hold, as plain forms (they work without JavaScript).
#[component]
pub fn ReleaseButtons(id: String, release: ServerAction<ReleaseMessage>) -> impl IntoView {
    let forms = [
        (ReleaseTarget::Owner, "Release to owner", class::PRIMARY),
        (ReleaseTarget::Me, "Release to me", class::SECONDARY),
    ];
    view! {
        <div class="flex flex-wrap gap-2 whitespace-nowrap">
            // No names on the forms: one landmark per row would repeat the same name.
            {forms.into_iter().map(|(to, label, style)| {
                let id = id.clone();
                view! {
                    <ActionForm action=release>
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="to" value=to.as_str() />
                        <button type="submit" class=style disabled=move || release.pending().get()>{label}</button>
                    </ActionForm>
                }
            }).collect_view()}
        </div>
    }
}
