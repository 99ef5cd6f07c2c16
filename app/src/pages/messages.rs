use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_params_map;

use crate::components::loaded::Loaded;
use crate::components::message_table::MessageTable;
use crate::components::query::{param, ExportLink, Pager};
use crate::components::ui::{
    class, class_badge, delivery_badge, form_error, outcome_badge, toast_on_success, when, Card,
    ErrorNotice, PageHeader,
};
use crate::model::{DeliveryState, MailClass, MessageDetail, MessageQuery, Outcome};
use crate::notices;
use crate::pages::held::ReleaseButtons;
use crate::routes::{MESSAGE, MESSAGES};
use crate::server_fns::{get_message, list_messages, ReleaseMessage, ReplayMessage};

#[component]
pub fn Messages() -> impl IntoView {
    let (outcome, address, from, to, delivery, kind, cursor) = (
        param("outcome"),
        param("address"),
        param("from"),
        param("to"),
        param("delivery"),
        param("class"),
        param("cursor"),
    );
    let query = move || MessageQuery {
        outcome: outcome(),
        address: address(),
        from: from(),
        to: to(),
        delivery: delivery(),
        class: kind(),
        cursor: cursor(),
    };
    let page = Resource::new(query, list_messages);
    let filtered = move || {
        !(outcome().is_empty()
            && address().is_empty()
            && from().is_empty()
            && to().is_empty()
            && delivery().is_empty()
            && kind().is_empty())
    };
    let outcomes = [
        Outcome::Forwarded,
        Outcome::Undeliverable,
        Outcome::DeadLetter,
        Outcome::Held,
        Outcome::Rejected,
        Outcome::Processing,
    ];
    view! {
        <Title text=MESSAGES.title />
        <PageHeader title=MESSAGES.title subtitle="Every recipient of every received message, and where it ended up." />
        <Form method="get" action="/messages" attr:role="search" attr:aria-label="Filter messages" attr:class="grid grid-cols-1 items-end gap-3 sm:grid-cols-2 lg:grid-cols-[1fr_1fr_1fr_2fr_1fr_1fr_auto]">
            <div>
                <label for="filter-outcome" class=class::LABEL>"Outcome"</label>
                <select id="filter-outcome" name="outcome" class=format!("mt-1 {}", class::INPUT)>
                    <option value="" selected=move || outcome().is_empty()>"Any"</option>
                    {outcomes.into_iter().map(|o| view! {
                        <option value=o.as_str() selected=move || outcome() == o.as_str()>{o.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="filter-delivery" class=class::LABEL>"Delivery"</label>
                <select id="filter-delivery" name="delivery" class=format!("mt-1 {}", class::INPUT)>
                    <option value="" selected=move || delivery().is_empty()>"Any"</option>
                    {DeliveryState::ALL.into_iter().map(|d| view! {
                        <option value=d.as_str() selected=move || delivery() == d.as_str()>{d.as_str()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="filter-class" class=class::LABEL>"Kind"</label>
                <select id="filter-class" name="class" class=format!("mt-1 {}", class::INPUT)>
                    <option value="" selected=move || kind().is_empty()>"Any"</option>
                    {MailClass::ALL.into_iter().map(|c| view! {
                        <option value=c.as_str() selected=move || kind() == c.as_str()>{c.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="filter-address" class=class::LABEL>"Address"</label>
                <input id="filter-address" name="address" type="email" value=address prop:value=address placeholder="a vended address" class=format!("mt-1 {}", class::INPUT) />
            </div>
            <div>
                <label for="filter-from" class=class::LABEL>"From (UTC)"</label>
                <input id="filter-from" name="from" type="date" value=from prop:value=from class=format!("mt-1 {}", class::INPUT) />
            </div>
            <div>
                <label for="filter-to" class=class::LABEL>"To (UTC)"</label>
                <input id="filter-to" name="to" type="date" value=to prop:value=to class=format!("mt-1 {}", class::INPUT) />
            </div>
            <div class="flex gap-2">
                <button type="submit" class=class::SECONDARY>"Filter"</button>
                {move || filtered().then(|| view! { <A href="/messages" attr:class=class::SECONDARY>"Clear"</A> })}
                <ExportLink export="/export/messages.csv" />
            </div>
        </Form>
        <div class="mt-6">
            <Loaded data=page let:page>
                <MessageTable records=page.items empty="No messages match. Mail appears here as SES delivers it." />
                <Pager next=page.next_cursor has_cursor=!cursor().is_empty() />
            </Loaded>
        </div>
    }
}

#[component]
pub fn MessagePage() -> impl IntoView {
    let params = use_params_map();
    // As on the address page: the params may be gone when the title is read.
    let id = move || {
        params
            .try_with(|p| p.get("id"))
            .flatten()
            .unwrap_or_default()
    };
    let replay = ServerAction::<ReplayMessage>::new();
    toast_on_success(replay, notices::replayed);
    let release = ServerAction::<ReleaseMessage>::new();
    toast_on_success(release, notices::released);
    let detail = Resource::new(
        move || (id(), replay.version().get(), release.version().get()),
        |(id, ..)| get_message(id),
    );
    view! {
        <Title text=MESSAGE.title />
        <nav aria-label="Breadcrumb" class="mb-4 text-sm">
            <A href=MESSAGES.path attr:class=class::LINK>"← Messages"</A>
        </nav>
        <Loaded data=detail error_heading=MESSAGE.title let:detail>
            <Detail detail replay release />
        </Loaded>
    }
}

#[component]
fn Detail(
    detail: MessageDetail,
    replay: ServerAction<ReplayMessage>,
    release: ServerAction<ReleaseMessage>,
) -> impl IntoView {
    let MessageDetail { record: r, headers } = detail;
    let dd = "mt-1 text-sm break-words text-slate-900 dark:text-slate-100";
    let dt = "text-xs font-medium uppercase tracking-wider text-slate-500";
    let replay_value = replay.value();
    let dead = r.outcome == Outcome::DeadLetter;
    let held = r.outcome == Outcome::Held;
    let held_id = r.id.clone();
    let release_value = release.value();
    let mapping_href = format!("/addresses/{}", r.recipient);
    view! {
        <header class="mb-8 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold tracking-tight break-all">{r.subject.clone().unwrap_or_else(|| "(no subject)".into())}</h1>
            {class_badge(r.class)}
            {outcome_badge(r.outcome)}
        </header>
        {dead.then(|| view! {
            <Card class="mb-6 border-red-200 dark:border-red-900">
                <div class="flex flex-wrap items-center justify-between gap-4">
                    <div>
                        <h2 class="text-base font-semibold">"Sending failed"</h2>
                        <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                            "The raw message is kept. Replaying decides again with today's mapping and settings, then sends."
                        </p>
                    </div>
                    <ActionForm action=replay attr:aria-label="Replay">
                        <input type="hidden" name="id" value=r.id.clone() />
                        <button type="submit" class=class::PRIMARY disabled=move || replay.pending().get()>
                            {move || if replay.pending().get() { "Replaying…" } else { "Replay" }}
                        </button>
                    </ActionForm>
                </div>
                {move || form_error(&replay_value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            </Card>
        })}
        {held.then(|| view! {
            <Card class="mb-6 border-amber-200 dark:border-amber-900">
                <div class="flex flex-wrap items-center justify-between gap-4">
                    <div>
                        <h2 class="text-base font-semibold">"Held by its class's policy"</h2>
                        <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                            "Nobody has received it. Releasing decides again with today's mapping and settings, without the policy, then sends; the release is audited."
                        </p>
                    </div>
                    <ReleaseButtons id=held_id release />
                </div>
                {move || form_error(&release_value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            </Card>
        })}
        <Card>
            <dl class="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
                <div><dt class=dt>"Received"</dt><dd class=dd>{when(&r.received_at)}</dd></div>
                <div><dt class=dt>"To"</dt><dd class=dd><A href=mapping_href attr:class=format!("font-mono {}", class::LINK)>{r.recipient.clone()}</A></dd></div>
                <div><dt class=dt>"From"</dt><dd class=dd>{r.sender.clone()}</dd></div>
                <div><dt class=dt>"Delivered to"</dt><dd class=dd>{r.delivered_to.clone().unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt class=dt>"Delivery"</dt><dd class=dd>{match r.delivery.clone() {
                    Some(d) => view! { {delivery_badge(d.state)}" "<span class="text-slate-600 dark:text-slate-400">{when(&d.at)}</span> }.into_any(),
                    None => view! { "—" }.into_any(),
                }}</dd></div>
                {r.delivery.clone().map(|d| view! {
                    <div class="sm:col-span-2 lg:col-span-3"><dt class=dt>"What the mailer reported"</dt><dd class=dd>{d.detail}</dd></div>
                })}
                <div><dt class=dt>"Kind"</dt><dd class=dd>{r.class.map_or("—", |c| c.label())}</dd></div>
                <div><dt class=dt>"Class policy"</dt><dd class=dd>{r.policy.map_or("—", |p| p.label())}</dd></div>
                <div><dt class=dt>"Size"</dt><dd class=dd>{format!("{} bytes", r.size)}</dd></div>
                <div><dt class=dt>"Attempts"</dt><dd class=dd>{r.attempts}</dd></div>
                <div class="sm:col-span-2 lg:col-span-3"><dt class=dt>"Decision"</dt><dd class=dd>{r.detail.clone()}</dd></div>
                <div class="sm:col-span-2 lg:col-span-3"><dt class=dt>"Verdicts"</dt><dd class=format!("{dd} font-mono text-xs")>{r.verdicts.clone()}</dd></div>
                {r.error.clone().map(|e| view! {
                    <div class="sm:col-span-2 lg:col-span-3"><dt class=dt>"Last error"</dt><dd class=format!("{dd} text-red-700 dark:text-red-400")>{e}</dd></div>
                })}
                <div class="sm:col-span-2 lg:col-span-3"><dt class=dt>"SES message id"</dt><dd class=format!("{dd} font-mono text-xs")>{r.ses_message_id.clone()}</dd></div>
                {r.mailer_message_id.clone().map(|m| view! {
                    <div class="sm:col-span-2 lg:col-span-3"><dt class=dt>"Mailer message id"</dt><dd class=format!("{dd} font-mono text-xs")>{m}</dd></div>
                })}
            </dl>
        </Card>
        <h2 class="mt-10 mb-3 text-base font-semibold">"Headers"</h2>
        {match headers {
            Some(h) => view! {
                <pre aria-label="Headers" class="max-h-[32rem] overflow-auto rounded-xl border border-slate-200 bg-white p-4 font-mono text-xs whitespace-pre-wrap break-all dark:border-slate-800 dark:bg-slate-900">{h}</pre>
            }.into_any(),
            None => view! {
                <p class="text-sm text-slate-600 dark:text-slate-400">"Only the mail nobody received (undeliverable, dead letters, held mail) is kept; this message was not."</p>
            }.into_any(),
        }}
    }
}
