use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{list_tokens, CreateToken, RevokeToken};
use crate::components::ui::{
    class, field_error, form_error, toast_on_success, when, Badge, Card, EmptyState, ErrorNotice,
    Field, Loading, NoticeView, PageHeader,
};
use crate::model::{Notice, TokenView, Tone};

#[component]
pub fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    toast_on_success(revoke, |t: &TokenView| {
        format!("Revoked the token {}.", t.name)
    });
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let value = create.value();
    let err = move |f: &'static str| Signal::derive(move || field_error(&value.get(), f));
    let invalid = move |f: &'static str| move || field_error(&value.get(), f).is_some().to_string();
    let revoke_value = revoke.value();
    view! {
        <Title text="API tokens" />
        <PageHeader title="API tokens" subtitle="Bearer tokens for vending pipelines and scripts. A token's secret is shown once, when it is created." />
        <Card>
            <h2 class="text-base font-semibold">"Create a token"</h2>
            <ActionForm action=create attr:class="mt-4 grid grid-cols-1 items-start gap-4 sm:grid-cols-[2fr_1fr_auto]" attr:aria-label="Create a token">
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
                <div class="sm:pt-6">
                    <button type="submit" class=class::PRIMARY disabled=move || create.pending().get()>"Create token"</button>
                </div>
            </ActionForm>
            {move || form_error(&value.get(), &["name", "scope"]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            {move || match value.get() {
                Some(Ok((token, secret))) => Some(view! {
                    <div class="mt-4">
                        <NoticeView notice=Notice {
                            tone: Tone::Success,
                            text: format!("Created the token {}. Copy its secret now: it is not shown again.", token.name),
                            secret: Some(secret),
                        } />
                    </div>
                }),
                _ => None,
            }}
        </Card>
        <div class="mt-8">
            {move || form_error(&revoke_value.get(), &[]).map(|m| view! { <div class="mb-3"><ErrorNotice message=m /></div> })}
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! {
                            <EmptyState title="No API tokens yet" body="Create one above for each pipeline or script that vends addresses, so each can be revoked on its own." />
                        }.into_any(),
                        Ok(list) => view! { <TokenTable list revoke /> }.into_any(),
                        Err(e) => view! { <ErrorNotice message=e.to_string() /> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn TokenTable(list: Vec<TokenView>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    view! {
        <div class=class::TABLE_CARD>
            <table class="w-full">
                <caption class="sr-only">"API tokens"</caption>
                <thead class="border-b border-slate-200 dark:border-slate-800"><tr>
                    <th scope="col" class=class::TH>"Name"</th>
                    <th scope="col" class=class::TH>"Scope"</th>
                    <th scope="col" class=class::TH>"Created"</th>
                    <th scope="col" class=class::TH>"State"</th>
                    <th scope="col" class=class::TH><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                    {list.into_iter().map(|t| {
                        let revoked = t.revoked_at.is_some();
                        let revoke_label = format!("Revoke {}", t.name);
                        let (form_label, id) = (revoke_label.clone(), t.id.clone());
                        view! {
                            <tr>
                                <td class=class::TD>
                                    <p class="font-medium">{t.name.clone()}</p>
                                    <p class="font-mono text-xs text-slate-500">{format!("mvt_{}_…", t.id)}</p>
                                </td>
                                <td class=class::TD>{t.scope.clone()}</td>
                                <td class=format!("{} text-slate-500", class::TD)>{format!("{} by {}", when(&t.created_at), t.created_by)}</td>
                                <td class=class::TD>
                                    {match &t.revoked_at {
                                        Some(at) => view! { <Badge text="revoked" tone="slate" /><p class="mt-1 text-xs text-slate-500">{when(at)}</p> }.into_any(),
                                        None => view! { <Badge text="active" tone="green" /> }.into_any(),
                                    }}
                                </td>
                                <td class=format!("{} text-right", class::TD)>
                                    {(!revoked).then(|| view! {
                                        <details class="inline-block text-left">
                                            <summary class="cursor-pointer text-sm font-medium text-red-700 dark:text-red-400">"Revoke…"</summary>
                                            <ActionForm action=revoke attr:class="mt-2" attr:aria-label=form_label>
                                                <input type="hidden" name="id" value=id />
                                                <button type="submit" class=class::DANGER>{revoke_label}</button>
                                            </ActionForm>
                                        </details>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
