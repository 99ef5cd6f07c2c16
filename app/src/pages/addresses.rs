use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};

use crate::components::data_table::{Column, DataTable};
use crate::components::loaded::Loaded;
use crate::components::query::{param, ExportLink, Pager};
use crate::components::ui::{
    class, field_error, form_error, status_badge, toast_on_success, use_toaster, when, Badge, Card,
    CopyButton, EmptyState, ErrorNotice, Field, PageHeader,
};
use crate::model::{AddressQuery, BulkChange, Mapping, VendOptions};
use crate::naming::Environment;
use crate::notices;
use crate::org::AccountState;
use crate::routes::ADDRESSES;
use crate::server_fns::{
    bulk_landing, get_vend_options, list_addresses, preview_bulk, BulkOwner, VendAddress,
};

#[component]
pub fn Addresses() -> impl IntoView {
    let vend = ServerAction::<VendAddress>::new();
    toast_on_success(vend, notices::vended);
    let (q, owner, status, account_type, unreachable, account_state, cursor) = (
        param("q"),
        param("owner"),
        param("status"),
        param("account_type"),
        param("unreachable"),
        param("account_state"),
        param("cursor"),
    );
    let query = move || AddressQuery {
        q: q(),
        owner: owner(),
        status: status(),
        account_type: account_type(),
        unreachable: unreachable(),
        account_state: account_state(),
        cursor: cursor(),
    };
    // A bulk change may leave the page on the same query: its runs refresh the list too.
    // Its result is handled here, once: the panel is made afresh on every navigation, and
    // would see the last result again each time.
    let bulk = ServerAction::<BulkOwner>::new();
    let toaster = use_toaster();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(done)) = bulk.value().get() {
            toaster.push(notices::bulk(&done));
            navigate(&bulk_landing(&done), Default::default());
        }
    });
    let page = Resource::new(
        move || (query(), vend.version().get(), bulk.version().get()),
        |(query, _, _)| list_addresses(query),
    );
    let options = Resource::new(|| (), |_| get_vend_options());

    view! {
        <Title text=ADDRESSES.title />
        <PageHeader title=ADDRESSES.title subtitle="Every address vended on your domain, who owns it, and where its mail goes." />
        <Loaded data=options let:options>
            <VendPanel vend options=options.clone() />
            <Filters options />
        </Loaded>
        {move || (!owner().is_empty()).then(|| view! { <OwnerBulk owner=owner() run=bulk /> })}
        <Loaded data=page let:page>
            <AddressTable rows=page.items next=page.next_cursor later_page=!cursor().is_empty() />
        </Loaded>
    }
}

#[component]
fn Filters(options: VendOptions) -> impl IntoView {
    let (q, owner, status, account_type, unreachable, account_state) = (
        param("q"),
        param("owner"),
        param("status"),
        param("account_type"),
        param("unreachable"),
        param("account_state"),
    );
    let filtered = move || {
        !(q().is_empty()
            && owner().is_empty()
            && status().is_empty()
            && account_type().is_empty()
            && unreachable().is_empty()
            && account_state().is_empty())
    };
    view! {
        <Form method="get" action="/addresses" attr:role="search" attr:aria-label="Filter addresses" attr:class="mt-8 grid grid-cols-1 items-end gap-3 sm:grid-cols-2 lg:grid-cols-[2fr_2fr_1fr_1fr_1fr_auto]">
            <div>
                <label for="filter-q" class=class::LABEL>"Search"</label>
                <input id="filter-q" name="q" type="search" value=q prop:value=q placeholder="address, account name or owner" class=format!("mt-1 {}", class::INPUT) />
            </div>
            <div>
                <label for="filter-owner" class=class::LABEL>"Owner"</label>
                <input id="filter-owner" name="owner" type="email" value=owner prop:value=owner placeholder="jdoe@example.com" class=format!("mt-1 {}", class::INPUT) />
            </div>
            <div>
                <label for="filter-status" class=class::LABEL>"Status"</label>
                <select id="filter-status" name="status" class=format!("mt-1 {}", class::INPUT)>
                    <option value="" selected=status().is_empty()>"Active and suspended"</option>
                    {["active", "suspended", "deleted"].into_iter().map(|s| view! {
                        <option value=s selected=status() == s>{s}</option>
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="filter-type" class=class::LABEL>"Account type"</label>
                <select id="filter-type" name="account_type" class=format!("mt-1 {}", class::INPUT)>
                    <option value="" selected=account_type().is_empty()>"Any"</option>
                    {options.account_types.into_iter().map(|t| {
                        let selected = account_type() == t;
                        view! { <option value=t.clone() selected=selected>{t.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="filter-account-state" class=class::LABEL>"AWS account"</label>
                <select id="filter-account-state" name="account_state" class=format!("mt-1 {}", class::INPUT)>
                    <option value="" selected=account_state().is_empty()>"Any"</option>
                    {AccountState::ALL.into_iter().filter(|s| *s != AccountState::Unknown).map(|s| {
                        let selected = account_state() == s.as_str();
                        view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="flex flex-wrap items-center gap-2">
                <label class="inline-flex items-center gap-2 text-sm text-slate-700">
                    <input type="checkbox" name="unreachable" value="true" checked=move || unreachable() == "true" prop:checked=move || unreachable() == "true" class="h-4 w-4 rounded border-slate-300" />
                    "Unreachable owners only"
                </label>
                <button type="submit" class=class::SECONDARY>"Filter"</button>
                {move || filtered().then(|| view! { <A href="/addresses" attr:class=class::SECONDARY>"Clear"</A> })}
                <ExportLink export="/export/addresses.csv" />
            </div>
        </Form>
    }
}

/// For when someone leaves: every mapping of the owner the list is filtered on moves to
/// someone else, or is suspended. A plain GET form asks for the preview (so it works without
/// JavaScript), which says exactly what would change; only its confirmation changes anything.
#[component]
fn OwnerBulk(owner: String, run: ServerAction<BulkOwner>) -> impl IntoView {
    let (bulk, to) = (param("bulk"), param("to"));
    let who = owner.clone();
    let preview = Resource::new(
        move || (who.clone(), bulk(), to(), run.version().get()),
        |(owner, bulk, to, _)| async move {
            if bulk.is_empty() {
                Ok(None)
            } else {
                preview_bulk(owner, bulk, to).await.map(Some)
            }
        },
    );
    let chosen = move |a: &str| bulk() == a || (bulk().is_empty() && a == "reassign");
    view! {
        <details class="mt-6 rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900" open=move || !bulk().is_empty()>
            <summary class="cursor-pointer text-sm font-semibold">{format!("Every mapping of {owner}…")}</summary>
            <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                "When someone leaves: move all of their addresses to someone else, or suspend them. You see what would change before anything does; each mapping's history records the change."
            </p>
            <Form method="get" action="/addresses" attr:aria-label="Preview a bulk change" attr:class="mt-3 grid grid-cols-1 items-end gap-3 sm:grid-cols-[1fr_2fr_auto]">
                <input type="hidden" name="owner" value=owner.clone() />
                <div>
                    <label for="bulk-action" class=class::LABEL>"Action"</label>
                    <select id="bulk-action" name="bulk" class=format!("mt-1 {}", class::INPUT)>
                        <option value="reassign" selected=chosen("reassign")>"Reassign to a new owner"</option>
                        <option value="suspend" selected=chosen("suspend")>"Suspend every active one"</option>
                    </select>
                </div>
                <div>
                    <label for="bulk-to" class=class::LABEL>"New owner (to reassign)"</label>
                    <input id="bulk-to" name="to" type="email" value=to() placeholder="someone.else@example.com" class=format!("mt-1 {}", class::INPUT) />
                </div>
                <button type="submit" class=class::SECONDARY>"Preview"</button>
            </Form>
            <Loaded data=preview let:preview>
                {preview.map(|b| view! { <BulkConfirm change=b run /> })}
            </Loaded>
        </details>
    }
}

/// What a bulk action would change, and the button that does it.
#[component]
fn BulkConfirm(change: BulkChange, run: ServerAction<BulkOwner>) -> impl IntoView {
    let n = change.addresses.len();
    let mappings = if n == 1 { "mapping" } else { "mappings" };
    let (summary, label) = match &change.to {
        Some(to) => (
            format!("{n} {mappings} of {} would move to {to}:", change.owner),
            format!("Move {n} {mappings}"),
        ),
        None => (
            format!(
                "{n} active {mappings} of {} would be suspended:",
                change.owner
            ),
            format!("Suspend {n} {mappings}"),
        ),
    };
    let value = run.value();
    const SHOWN: usize = 20;
    let more = n.saturating_sub(SHOWN);
    view! {
        <section aria-label="Bulk change preview" class="mt-4 rounded-md bg-slate-50 p-4 text-sm dark:bg-slate-800">
            <p class="font-medium">{summary}</p>
            <ul class="mt-2 list-inside list-disc font-mono text-xs">
                {change.addresses.iter().take(SHOWN).map(|a| view! { <li>{a.clone()}</li> }).collect_view()}
            </ul>
            {(more > 0).then(|| view! { <p class="mt-1 text-xs text-slate-500">{format!("and {more} more")}</p> })}
            {(n > 0).then(|| view! {
                <ActionForm action=run attr:class="mt-3" attr:aria-label="Confirm the bulk change">
                    <input type="hidden" name="owner" value=change.owner.clone() />
                    <input type="hidden" name="action" value=change.action.clone() />
                    <input type="hidden" name="to" value=change.to.clone().unwrap_or_default() />
                    <button type="submit" class=class::DANGER disabled=move || run.pending().get()>{label.clone()}</button>
                </ActionForm>
            })}
            {move || form_error(&value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
        </section>
    }
}

#[component]
fn AddressTable(rows: Vec<Mapping>, next: Option<String>, later_page: bool) -> impl IntoView {
    let columns = vec![
        Column::new("Address", |m: &Mapping| {
            let href = format!("/addresses/{}", m.address);
            let (address, copy) = (m.address.clone(), m.address.clone());
            view! {
                <div class="flex items-center gap-2">
                    <A href=href attr:class=format!("font-mono {}", class::LINK)>{address}</A>
                    <CopyButton text=copy />
                </div>
                <p class="mt-0.5 text-xs text-slate-500">{m.account_name.clone()}</p>
            }
        }),
        Column::new("Owner", |m: &Mapping| {
            let unreachable = (!m.unreachable.is_empty()).then(|| {
                view! { <span class="ml-2"><Badge text="unreachable" tone="red" /></span> }
            });
            let more = (!m.recipients.is_empty()).then(|| {
                let n = m.recipients.len();
                view! { <span class="ml-1 text-xs text-slate-500" title=m.recipients.join(", ")>{format!("+{n}")}</span> }
            });
            view! { {m.owner.clone()} {more} {unreachable} }
        }),
        Column::new("Type", |m: &Mapping| m.account_type.clone()),
        Column::new("AWS account", |m: &Mapping| {
            match (&m.account, &m.aws_account_id) {
            (Some(a), _) => view! {
                <p class="text-sm">{a.name.clone()}</p>
                <p class="font-mono text-xs text-slate-500">{a.id.clone()}" · "{a.state.label()}</p>
            }
            .into_any(),
            (None, Some(id)) => view! { <p class="font-mono text-xs text-slate-500">{id.clone()}</p> }.into_any(),
            (None, None) => view! { <span class="text-slate-400">"—"</span> }.into_any(),
        }
        }),
        Column::new("Status", |m: &Mapping| status_badge(m.status)),
        Column::new("Created", |m: &Mapping| when(&m.created_at))
            .class("whitespace-nowrap text-slate-500"),
    ];
    view! {
        <DataTable
            caption="Addresses"
            columns
            rows
            empty=|| view! {
                <EmptyState title="No addresses match" body="Vend one with the form above, or change the filters. Vending pipelines can also use the REST API." />
            }
            later_page
            class="mt-6"
            hover=true
        />
        <Pager next has_cursor=later_page />
    }
}

const VEND_FIELDS: &[&str] = &[
    "owner",
    "recipients",
    "account_type",
    "business_unit",
    "application",
    "environment",
    "tags",
    "account_name",
    "address",
    "AccountEmail",
];

/// The vend form. With JavaScript it previews the address as the user types (the same
/// naming rules the server applies) and shows errors beside their fields in place.
#[component]
fn VendPanel(vend: ServerAction<VendAddress>, options: VendOptions) -> impl IntoView {
    let bu = RwSignal::new(String::new());
    let app = RwSignal::new(String::new());
    let env = RwSignal::new("EVALUATION".to_string());
    let name_override = RwSignal::new(String::new());
    let address_override = RwSignal::new(String::new());
    let domain = options.domain.clone();
    let width = options.counter_width;
    let preview = move || {
        if !address_override.get().trim().is_empty() {
            return Ok(address_override.get().trim().to_ascii_lowercase());
        }
        if !name_override.get().trim().is_empty() {
            return Ok(format!("{}@{domain}", name_override.get().trim()));
        }
        crate::naming::preview(&bu.get(), &app.get(), &env.get(), width, &domain)
            .map_err(|e| e.message)
    };
    let value = vend.value();
    let err = move |f: &'static str| Signal::derive(move || field_error(&value.get(), f));
    let invalid = move |f: &'static str| move || field_error(&value.get(), f).is_some().to_string();
    let input = |id: &str| format!("mt-0 {} {id}", class::INPUT);
    view! {
        <Card>
            <h2 class="text-base font-semibold">"Vend an address"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                "Names follow "<code class="font-mono text-xs">"business-unit-application-env-NNN"</code>
                "; the number is the next free one and is never reused."
            </p>
            <ActionForm action=vend attr:class="mt-6 grid grid-cols-1 gap-4 md:grid-cols-2" attr:aria-label="Vend an address">
                <Field id="vend-owner" label="Owner's email" hint="Mail to the new address is forwarded here." error=err("owner")>
                    <input id="vend-owner" name="owner" type="email" required autocomplete="off"
                        aria-describedby="vend-owner-hint vend-owner-error" aria-invalid=invalid("owner") class=input("") />
                </Field>
                <Field id="vend-type" label="Account type" error=err("account_type")>
                    <select id="vend-type" name="account_type" aria-describedby="vend-type-error" aria-invalid=invalid("account_type") class=input("")>
                        {options.account_types.iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                    </select>
                </Field>
                <Field id="vend-bu" label="Business unit" error=err("business_unit")>
                    <input id="vend-bu" name="business_unit" type="text" autocomplete="off"
                        on:input=move |ev| bu.set(event_target_value(&ev))
                        aria-describedby="vend-bu-error" aria-invalid=invalid("business_unit") class=input("") />
                </Field>
                <Field id="vend-app" label="Application" error=err("application")>
                    <input id="vend-app" name="application" type="text" autocomplete="off"
                        on:input=move |ev| app.set(event_target_value(&ev))
                        aria-describedby="vend-app-error" aria-invalid=invalid("application") class=input("") />
                </Field>
                <Field id="vend-env" label="Environment" error=err("environment")>
                    <select id="vend-env" name="environment" on:change=move |ev| env.set(event_target_value(&ev))
                        aria-describedby="vend-env-error" aria-invalid=invalid("environment") class=input("")>
                        {Environment::ALL.into_iter().map(|e| view! {
                            <option value=e.long() selected=e == Environment::Evaluation>{format!("{} ({})", e.long(), e.short())}</option>
                        }).collect_view()}
                    </select>
                </Field>
                <Field id="vend-tags" label="Tags" hint="One key=value a line (optional)." error=err("tags")>
                    <textarea id="vend-tags" name="tags" rows="2" aria-describedby="vend-tags-hint vend-tags-error" aria-invalid=invalid("tags") class=input("font-mono")></textarea>
                </Field>
                <Field id="vend-recipients" label="Also send to" hint="Up to 4 more mailboxes, one a line (a team list, a backup); optional." error=err("recipients")>
                    <textarea id="vend-recipients" name="recipients" rows="2" aria-describedby="vend-recipients-hint vend-recipients-error" aria-invalid=invalid("recipients") class=input("font-mono")></textarea>
                </Field>
                // Open when an override was refused, so its error is in view.
                <details class="md:col-span-2" open=move || field_error(&value.get(), "address").is_some() || field_error(&value.get(), "account_name").is_some()>
                    <summary class="cursor-pointer text-sm font-medium text-slate-700 dark:text-slate-300">"Overrides (optional)"</summary>
                    <div class="mt-4 grid grid-cols-1 gap-4 md:grid-cols-2">
                        <Field id="vend-name" label="Account name" hint="Use this exact name instead of a generated one." error=err("account_name")>
                            <input id="vend-name" name="account_name" type="text" autocomplete="off"
                                on:input=move |ev| name_override.set(event_target_value(&ev))
                                aria-describedby="vend-name-hint vend-name-error" aria-invalid=invalid("account_name") class=input("") />
                        </Field>
                        <Field id="vend-address" label="Address" hint="Must be on your mail domain." error=err("address")>
                            <input id="vend-address" name="address" type="email" autocomplete="off"
                                on:input=move |ev| address_override.set(event_target_value(&ev))
                                aria-describedby="vend-address-hint vend-address-error" aria-invalid=invalid("address") class=input("") />
                        </Field>
                    </div>
                </details>
                <div class="flex flex-wrap items-center gap-4 md:col-span-2">
                    <button type="submit" class=class::PRIMARY disabled=move || vend.pending().get()>
                        {move || if vend.pending().get() { "Vending…" } else { "Vend address" }}
                    </button>
                    // Filled in by the browser as the user types; the server's answer is what counts.
                    <p class="min-h-5 text-sm text-slate-600 dark:text-slate-400" aria-live="polite">
                        {move || match preview() {
                            Ok(p) if !bu.get().is_empty() || !app.get().is_empty() || !name_override.get().is_empty() || !address_override.get().is_empty() => view! {
                                "Will be "<code data-testid="vend-preview" class="font-mono text-slate-900 dark:text-slate-100">{p}</code>
                            }.into_any(),
                            Err(m) if !bu.get().is_empty() && !app.get().is_empty() => view! { <span class="text-amber-700 dark:text-amber-400">{m}</span> }.into_any(),
                            _ => ().into_any(),
                        }}
                    </p>
                </div>
                {move || form_error(&value.get(), VEND_FIELDS).map(|m| view! { <div class="md:col-span-2"><ErrorNotice message=m /></div> })}
                {move || match value.get() {
                    Some(Ok(m)) => Some({
                        let href = format!("/addresses/{}", m.address);
                        let copy = m.address.clone();
                        view! {
                        <div class="md:col-span-2 flex items-center gap-2 text-sm text-emerald-700 dark:text-emerald-400" role="status">
                            "Vended "<A href=href attr:class=format!("font-mono {}", class::LINK)>{m.address}</A>
                            <CopyButton text=copy />
                        </div>
                    }}),
                    _ => None,
                }}
            </ActionForm>
        </Card>
    }
}
