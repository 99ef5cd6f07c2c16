use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::data_table::{Column, DataTable};
use crate::components::loaded::Loaded;
use crate::components::ui::{
    class, field_error, form_error, toast_on_success, when, Badge, Card, EmptyState, ErrorNotice,
    Field, NoticeView, PageHeader,
};
use crate::model::TokenView;
use crate::notices;
use crate::routes::TOKENS;
use crate::server_fns::{list_tokens, CreateToken, RevokeToken};

#[component]
pub fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    toast_on_success(revoke, notices::token_revoked);
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let value = create.value();
    let err = move |f: &'static str| Signal::derive(move || field_error(&value.get(), f));
    let invalid = move |f: &'static str| move || field_error(&value.get(), f).is_some().to_string();
    let revoke_value = revoke.value();
    view! {
        <Title text=TOKENS.title />
        <PageHeader title=TOKENS.title subtitle="Bearer tokens for vending pipelines and scripts. A token's secret is shown once, when it is created." />
        <Card>
            <h2 class="text-base font-semibold">"Create a token"</h2>
            <ActionForm action=create attr:class="mt-4 grid grid-cols-1 items-start gap-4 sm:grid-cols-[2fr_1fr_1fr_auto]" attr:aria-label="Create a token">
                <Field id="token-name" label="Name" hint="Who or what uses it, e.g. the pipeline's name." error=err("name")>
                    <input id="token-name" name="name" type="text" required maxlength="100" autocomplete="off"
                        aria-describedby="token-name-hint token-name-error" aria-invalid=invalid("name") class=class::INPUT />
                </Field>
                <Field id="token-scope" label="Scope" error=err("scope")>
                    <select id="token-scope" name="scope" aria-describedby="token-scope-error" aria-invalid=invalid("scope") class=class::INPUT>
                        <option value="vend">"vend: vend and read addresses"</option>
                        <option value="admin">"admin: everything"</option>
                    </select>
                </Field>
                <Field id="token-expires" label="Expires after (days)" hint="Empty: never." error=err("expires_days")>
                    <input id="token-expires" name="expires_days" type="number" min="1" max="3650" inputmode="numeric"
                        aria-describedby="token-expires-hint token-expires-error" aria-invalid=invalid("expires_days") class=class::INPUT />
                </Field>
                <div class="sm:pt-6">
                    <button type="submit" class=class::PRIMARY disabled=move || create.pending().get()>"Create token"</button>
                </div>
            </ActionForm>
            {move || form_error(&value.get(), &["name", "scope", "expires_days"]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            {move || match value.get() {
                // Shown in place, not as a toast: the secret must stay until it is copied.
                Some(Ok(created)) => Some(view! {
                    <div class="mt-4">
                        <NoticeView notice=notices::token_created(&created) />
                    </div>
                }),
                _ => None,
            }}
        </Card>
        <div class="mt-8">
            {move || form_error(&revoke_value.get(), &[]).map(|m| view! { <div class="mb-3"><ErrorNotice message=m /></div> })}
            <Loaded data=tokens let:list>
                <TokenTable list revoke />
            </Loaded>
        </div>
    }
}

#[component]
fn TokenTable(list: Vec<TokenView>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let columns = vec![
        Column::new("Name", |t: &TokenView| {
            view! {
                <p class="font-medium">{t.name.clone()}</p>
                <p class="font-mono text-xs text-slate-500">{format!("mvt_{}_…", t.id)}</p>
            }
        }),
        Column::new("Scope", |t: &TokenView| t.scope.clone()),
        Column::new("Created", |t: &TokenView| format!("{} by {}", when(&t.created_at), t.created_by))
            .class("text-slate-500"),
        Column::new("Last used", |t: &TokenView| {
            t.last_used_at.as_deref().map(when).unwrap_or_else(|| "never".into())
        })
        .class("text-slate-500"),
        Column::new("State", |t: &TokenView| match (&t.revoked_at, &t.expires_at) {
            (Some(at), _) => view! { <Badge text="revoked" tone="slate" /><p class="mt-1 text-xs text-slate-500">{when(at)}</p> }.into_any(),
            (None, Some(at)) if t.expired => view! { <Badge text="expired" tone="slate" /><p class="mt-1 text-xs text-slate-500">{when(at)}</p> }.into_any(),
            (None, Some(at)) => view! { <Badge text="active" tone="green" /><p class="mt-1 text-xs text-slate-500">{format!("until {}", when(at))}</p> }.into_any(),
            (None, None) => view! { <Badge text="active" tone="green" /> }.into_any(),
        }),
        Column::new("Actions", move |t: &TokenView| {
            let revoke_label = format!("Revoke {}", t.name);
            let (form_label, id) = (revoke_label.clone(), t.id.clone());
            t.revoked_at.is_none().then(|| view! {
                <details class="inline-block text-left">
                    <summary class="cursor-pointer text-sm font-medium text-red-700 dark:text-red-400">"Revoke…"</summary>
                    <ActionForm action=revoke attr:class="mt-2" attr:aria-label=form_label>
                        <input type="hidden" name="id" value=id />
                        <button type="submit" class=class::DANGER>{revoke_label}</button>
                    </ActionForm>
                </details>
            })
        })
        .header_hidden()
        .class("text-right"),
    ];
    view! {
        <DataTable
            caption="API tokens"
            columns
            rows=list
            empty=|| view! {
                <EmptyState title="No API tokens yet" body="Create one above for each pipeline or script that vends addresses, so each can be revoked on its own." />
            }
        />
    }
}
