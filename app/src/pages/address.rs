use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::components::audit_diff::AuditDiff;
use crate::components::loaded::Loaded;
use crate::components::message_table::MessageTable;
use crate::components::ui::{
    class, field_error, form_error, status_badge, toast_on_success, use_toaster, when, Card,
    CopyButton, ErrorNotice, Field,
};
use crate::model::{format_tags, AddressDetail, Mapping, MappingStatus, Unreachable, VendOptions};
use crate::notices;
use crate::routes::ADDRESSES;
use crate::server_fns::{get_address, get_vend_options, DeleteAddress, EditAddress, MarkReachable};

#[component]
pub fn AddressPage() -> impl IntoView {
    let params = use_params_map();
    // `try_with`: the route's params may be gone by the time the page's title or error
    // heading is read at the end of a server render (a panic there dropped the connection).
    let address = move || {
        params
            .try_with(|p| p.get("address"))
            .flatten()
            .unwrap_or_default()
    };
    let edit = ServerAction::<EditAddress>::new();
    let delete = ServerAction::<DeleteAddress>::new();
    let fixed = ServerAction::<MarkReachable>::new();
    toast_on_success(edit, notices::saved);
    toast_on_success(fixed, notices::reachable);
    let toaster = use_toaster();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(m)) = delete.value().get() {
            toaster.push(notices::deleted(&m));
            navigate(ADDRESSES.path, Default::default());
        }
    });
    let detail = Resource::new(
        move || (address(), edit.version().get(), fixed.version().get()),
        |(address, _, _)| get_address(address),
    );
    let options = Resource::new(|| (), |_| get_vend_options());
    view! {
        // The address itself names the tab, not the page's kind.
        <Title text=move || address() />
        <nav aria-label="Breadcrumb" class="mb-4 text-sm">
            <A href=ADDRESSES.path attr:class=class::LINK>"← Addresses"</A>
        </nav>
        <Loaded data=(detail, options) error_heading=Signal::derive(address) let:loaded>
            <Detail detail=loaded.0 options=loaded.1 edit delete fixed />
        </Loaded>
    }
}

#[component]
fn Detail(
    detail: AddressDetail,
    options: VendOptions,
    edit: ServerAction<EditAddress>,
    delete: ServerAction<DeleteAddress>,
    fixed: ServerAction<MarkReachable>,
) -> impl IntoView {
    let AddressDetail {
        mapping: m,
        messages,
        audit,
    } = detail;
    let deleted = m.status == MappingStatus::Deleted;
    let dd = "mt-1 text-sm text-slate-900 dark:text-slate-100";
    let dt = "text-xs font-medium uppercase tracking-wider text-slate-500";
    let tags = if m.tags.is_empty() {
        "—".to_string()
    } else {
        m.tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let edit_card = (!deleted).then(|| m.clone());
    let created = format!("{} by {}", when(&m.created_at), m.created_by);
    let changed = format!("{} by {}", when(&m.updated_at), m.updated_by);
    // What the organization sync found, when it linked the account; else the id an admin
    // recorded, if any.
    let account_id = match (&m.account, &m.aws_account_id) {
        (Some(a), _) => format!(
            "{} ({}) · {} in AWS Organizations",
            a.name,
            a.id,
            a.state.label()
        ),
        (None, Some(id)) => id.clone(),
        (None, None) => "—".into(),
    };
    let notes = m.notes.clone().unwrap_or_else(|| "—".into());
    let also = if m.recipients.is_empty() {
        "—".to_string()
    } else {
        m.recipients.join(", ")
    };
    view! {
        <header class="mb-8 flex flex-wrap items-center gap-3">
            <h1 class="font-mono text-2xl font-semibold tracking-tight break-all">{m.address.clone()}</h1>
            <CopyButton text=m.address.clone() />
            {status_badge(m.status)}
        </header>
        {m.unreachable.iter().cloned().map(|u| {
            let owner = u.recipient == m.owner;
            view! { <UnreachableNotice mark=u owner fixed /> }
        }).collect_view()}
        <div class="grid grid-cols-1 gap-6 xl:grid-cols-2">
            <Card>
                <h2 class="text-base font-semibold">"Mapping"</h2>
                <dl class="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-2">
                    <div><dt class=dt>"Account name"</dt><dd class=dd>{m.account_name.clone()}</dd></div>
                    <div><dt class=dt>"Owner"</dt><dd class=format!("{dd} break-all")>{m.owner.clone()}</dd></div>
                    <div class="sm:col-span-2"><dt class=dt>"Also sent to"</dt><dd class=format!("{dd} break-all")>{also}</dd></div>
                    <div><dt class=dt>"Account type"</dt><dd class=dd>{m.account_type.clone()}</dd></div>
                    <div><dt class=dt>"AWS account"</dt><dd class=dd>{account_id}</dd></div>
                    <div class="sm:col-span-2"><dt class=dt>"Tags"</dt><dd class=dd>{tags}</dd></div>
                    <div class="sm:col-span-2"><dt class=dt>"Notes"</dt><dd class=format!("{dd} whitespace-pre-wrap")>{notes}</dd></div>
                    <div><dt class=dt>"Created"</dt><dd class=dd>{created}</dd></div>
                    <div><dt class=dt>"Last changed"</dt><dd class=dd>{changed}</dd></div>
                </dl>
            </Card>
            {match edit_card {
                None => view! {
                    <Card>
                        <h2 class="text-base font-semibold">"Deleted"</h2>
                        <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                            "Mail to this address is no longer forwarded. The address stays reserved: it is never vended again, because an AWS account email can never safely be given to someone else."
                        </p>
                    </Card>
                }.into_any(),
                Some(mapping) => view! { <EditCard mapping options edit delete /> }.into_any(),
            }}
        </div>
        <h2 class="mt-10 mb-3 text-base font-semibold">"Recent mail"</h2>
        <MessageTable records=messages empty="No mail has arrived for this address yet." />
        <h2 class="mt-10 mb-3 text-base font-semibold">"History"</h2>
        <ol class="space-y-3" aria-label="History">
            {audit.into_iter().rev().map(|e| view! {
                <li class="rounded-lg border border-slate-200 bg-white px-4 py-3 text-sm dark:border-slate-800 dark:bg-slate-900">
                    <p><span class="font-medium">{e.action.clone()}</span>" by "{e.actor.clone()}<span class="text-slate-500">{format!(" · {}", when(&e.at))}</span></p>
                    <AuditDiff before=e.before.clone() after=e.after.clone() />
                </li>
            }).collect_view()}
        </ol>
    }
}

/// A recipient of this address whose mailbox stopped taking mail, and the way to say it is
/// fixed (a plain form, so it works without JavaScript).
#[component]
fn UnreachableNotice(
    mark: Unreachable,
    /// Whether the mailbox is the owner's (else one of the other recipients').
    owner: bool,
    fixed: ServerAction<MarkReachable>,
) -> impl IntoView {
    let who = if owner { "Owner" } else { "Recipient" };
    let label = format!("{who} unreachable: {}", mark.recipient);
    let value = fixed.value();
    let reason = match mark.reason {
        crate::model::DeliveryState::Complained => "marked our mail as spam",
        _ => "bounced permanently",
    };
    view! {
        <section aria-label=label class="mb-8 rounded-lg border border-red-200 bg-red-50 p-4 dark:border-red-900 dark:bg-red-950">
            <div class="flex flex-wrap items-start justify-between gap-4">
                <div class="min-w-0">
                    <h2 class="text-sm font-semibold text-red-800 dark:text-red-300">
                        {format!("{who} unreachable: {} {reason}", mark.recipient)}
                    </h2>
                    <p class="mt-1 text-sm text-red-800 dark:text-red-300">
                        {format!("Last reported {}. Its mail from this address also goes to the fallback address until the mailbox is fixed, or a delivery to it succeeds.", when(&mark.since))}
                    </p>
                    <p class="mt-1 break-words font-mono text-xs text-red-700 dark:text-red-400">{mark.detail.clone()}</p>
                </div>
                <ActionForm action=fixed attr:aria-label="Mark the owner's mailbox fixed">
                    <input type="hidden" name="recipient" value=mark.recipient.clone() />
                    <button type="submit" class=class::SECONDARY disabled=move || fixed.pending().get()>"Mark fixed"</button>
                </ActionForm>
            </div>
            {move || form_error(&value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
        </section>
    }
}

const EDIT_FIELDS: &[&str] = &[
    "owner",
    "recipients",
    "status",
    "account_type",
    "tags",
    "aws_account_id",
    "notes",
];

#[component]
fn EditCard(
    mapping: Mapping,
    options: VendOptions,
    edit: ServerAction<EditAddress>,
    delete: ServerAction<DeleteAddress>,
) -> impl IntoView {
    let value = edit.value();
    let err = move |f: &'static str| Signal::derive(move || field_error(&value.get(), f));
    let invalid = move |f: &'static str| move || field_error(&value.get(), f).is_some().to_string();
    let delete_value = delete.value();
    let (address, delete_address) = (mapping.address.clone(), mapping.address.clone());
    let delete_label = format!("Delete {}", mapping.address);
    let account_types = options.account_types.clone();
    let current_type = mapping.account_type.clone();
    let tags = format_tags(&mapping.tags);
    let notes = mapping.notes.clone().unwrap_or_default();
    let account_id = mapping.aws_account_id.clone().unwrap_or_default();
    let status = mapping.status;
    let owner = mapping.owner.clone();
    let recipients = mapping.recipients.join("\n");
    view! {
        <Card>
            <h2 class="text-base font-semibold">"Edit"</h2>
            <ActionForm action=edit attr:class="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-2" attr:aria-label="Edit mapping">
                <input type="hidden" name="address" value=address />
                <Field id="edit-owner" label="Owner's email" error=err("owner")>
                    <input id="edit-owner" name="owner" type="email" required value=owner
                        aria-describedby="edit-owner-error" aria-invalid=invalid("owner") class=class::INPUT />
                </Field>
                <Field id="edit-status" label="Status" hint="Suspended addresses are not forwarded." error=err("status")>
                    <select id="edit-status" name="status" aria-describedby="edit-status-hint edit-status-error" aria-invalid=invalid("status") class=class::INPUT>
                        <option value="active" selected=status == MappingStatus::Active>"active"</option>
                        <option value="suspended" selected=status == MappingStatus::Suspended>"suspended"</option>
                    </select>
                </Field>
                <Field id="edit-type" label="Account type" error=err("account_type")>
                    <select id="edit-type" name="account_type" aria-describedby="edit-type-error" aria-invalid=invalid("account_type") class=class::INPUT>
                        {account_types.iter().map(|t| {
                            let selected = *t == current_type;
                            view! { <option value=t.clone() selected=selected>{t.clone()}</option> }
                        }).collect_view()}
                    </select>
                </Field>
                <Field id="edit-account" label="AWS account id" hint="12 digits, or empty." error=err("aws_account_id")>
                    <input id="edit-account" name="aws_account_id" type="text" inputmode="numeric" value=account_id
                        aria-describedby="edit-account-hint edit-account-error" aria-invalid=invalid("aws_account_id") class=class::INPUT />
                </Field>
                <div class="sm:col-span-2">
                    <Field id="edit-recipients" label="Also send to" hint="Up to 4 more mailboxes, one a line; each gets its own copy. Empty: the owner alone." error=err("recipients")>
                        <textarea id="edit-recipients" name="recipients" rows="2" aria-describedby="edit-recipients-hint edit-recipients-error" aria-invalid=invalid("recipients") class=format!("{} font-mono", class::INPUT)>
                            {recipients}
                        </textarea>
                    </Field>
                </div>
                <div class="sm:col-span-2">
                    <Field id="edit-tags" label="Tags" hint="One key=value a line." error=err("tags")>
                        <textarea id="edit-tags" name="tags" rows="3" aria-describedby="edit-tags-hint edit-tags-error" aria-invalid=invalid("tags") class=format!("{} font-mono", class::INPUT)>
                            {tags}
                        </textarea>
                    </Field>
                </div>
                <div class="sm:col-span-2">
                    <Field id="edit-notes" label="Notes" error=err("notes")>
                        <textarea id="edit-notes" name="notes" rows="2" aria-describedby="edit-notes-error" aria-invalid=invalid("notes") class=class::INPUT>
                            {notes}
                        </textarea>
                    </Field>
                </div>
                {move || form_error(&value.get(), EDIT_FIELDS).map(|m| view! { <div class="sm:col-span-2"><ErrorNotice message=m /></div> })}
                <div class="sm:col-span-2">
                    <button type="submit" class=class::PRIMARY disabled=move || edit.pending().get()>
                        {move || if edit.pending().get() { "Saving…" } else { "Save changes" }}
                    </button>
                </div>
            </ActionForm>
            // A native disclosure, so the confirmation works without JavaScript too.
            <details class="mt-8 rounded-lg border border-red-200 p-4 dark:border-red-900">
                <summary class="cursor-pointer text-sm font-semibold text-red-700 dark:text-red-400">"Delete this address…"</summary>
                <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                    "Mail to it stops being forwarded at once. The address stays reserved for ever and is never vended again."
                </p>
                <ActionForm action=delete attr:class="mt-3" attr:aria-label="Delete mapping">
                    <input type="hidden" name="address" value=delete_address />
                    <button type="submit" class=class::DANGER disabled=move || delete.pending().get()>
                        {delete_label}
                    </button>
                </ActionForm>
                {move || form_error(&delete_value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            </details>
        </Card>
    }
}
