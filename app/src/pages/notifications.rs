//! Notification channels (#18): where admins hear of dead letters, held mail, unreachable
//! owners and organization drift without watching the dashboard, and the log of every
//! delivery with its attempts.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::data_table::{Column, DataTable};
use crate::components::loaded::Loaded;
use crate::components::ui::{
    class, field_error, form_error, toast_on_success, when, Badge, Card, EmptyState, ErrorNotice,
    Field, NoticeView, PageHeader,
};
use crate::notices;
use crate::notify::{Channel, ChannelKind, NoticeState, NotificationDelivery, NotifyEvent};
use crate::routes::NOTIFICATIONS;
use crate::server_fns::{get_notifications, AddChannel, RemoveChannel, TestChannel};

#[component]
pub fn Notifications() -> impl IntoView {
    let add = ServerAction::<AddChannel>::new();
    let remove = ServerAction::<RemoveChannel>::new();
    let test = ServerAction::<TestChannel>::new();
    toast_on_success(remove, notices::channel_removed);
    toast_on_success(test, notices::channel_tested);
    let data = Resource::new(
        move || {
            (
                add.version().get(),
                remove.version().get(),
                test.version().get(),
            )
        },
        |_| get_notifications(),
    );
    let value = add.value();
    let err = move |f: &'static str| Signal::derive(move || field_error(&value.get(), f));
    let invalid = move |f: &'static str| move || field_error(&value.get(), f).is_some().to_string();
    let (remove_value, test_value) = (remove.value(), test.value());
    view! {
        <Title text=NOTIFICATIONS.title />
        <PageHeader title=NOTIFICATIONS.title subtitle="Tell a webhook, a Slack channel, an SNS topic or a daily email when mail could not be sent, waits on hold, or an owner's mailbox stops taking it, and when the organization drifts. Failed deliveries are tried again for about a day." />
        <Card>
            <h2 class="text-base font-semibold">"Add a channel"</h2>
            <ActionForm action=add attr:class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-[1fr_2fr]" attr:aria-label="Add a channel">
                <Field id="channel-kind" label="Kind" error=err("kind")>
                    <select id="channel-kind" name="kind" aria-describedby="channel-kind-error" aria-invalid=invalid("kind") class=class::INPUT>
                        {ChannelKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                </Field>
                <Field id="channel-target" label="Target" hint="The https URL (webhook, Slack), or the topic ARN (SNS). Empty for a digest: it goes to the admin address." error=err("target")>
                    <input id="channel-target" name="target" type="text" maxlength="2048" autocomplete="off" spellcheck="false"
                        placeholder="https://hooks.example.com/mailvend"
                        aria-describedby="channel-target-hint channel-target-error" aria-invalid=invalid("target") class=class::INPUT />
                </Field>
                <fieldset class="lg:col-span-2" aria-describedby="channel-events-error">
                    <legend class=class::LABEL>"Events"</legend>
                    <div class="mt-2 grid grid-cols-1 gap-2 sm:grid-cols-2 lg:grid-cols-3">
                        {NotifyEvent::SUBSCRIBABLE.into_iter().map(|e| {
                            let id = format!("event-{}", e.as_str());
                            let label_for = id.clone();
                            view! {
                                <label for=label_for class="flex items-center gap-2 text-sm">
                                    <input id=id type="checkbox" name=e.as_str() value="on" checked=true class="h-4 w-4 rounded border-slate-300 text-indigo-600 focus-visible:outline-2 focus-visible:outline-indigo-600" />
                                    {e.label()}
                                </label>
                            }
                        }).collect_view()}
                    </div>
                    {move || field_error(&value.get(), "events").map(|m| view! { <p id="channel-events-error" class="mt-1 text-sm text-red-700 dark:text-red-400">{m}</p> })}
                </fieldset>
                <div>
                    <button type="submit" class=class::PRIMARY disabled=move || add.pending().get()>"Add channel"</button>
                </div>
            </ActionForm>
            {move || form_error(&value.get(), &["kind", "target", "events"]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
            {move || match value.get() {
                // In place, not as a toast: a webhook's secret must stay until it is copied.
                Some(Ok(created)) => Some(view! {
                    <div class="mt-4"><NoticeView notice=notices::channel_added(&created) /></div>
                }),
                _ => None,
            }}
        </Card>
        <div class="mt-8 space-y-8">
            {move || form_error(&remove_value.get(), &[]).map(|m| view! { <ErrorNotice message=m /> })}
            {move || form_error(&test_value.get(), &[]).map(|m| view! { <ErrorNotice message=m /> })}
            <Loaded data let:view>
                <p class="text-sm text-slate-600 dark:text-slate-400">
                    {format!("A digest goes to {} once a day at 07:00 UTC. Webhooks are signed: X-Mailvend-Signature is v1= and the HMAC-SHA256 of the X-Mailvend-Timestamp, a dot and the body, keyed with the channel's secret.", view.digest_to)}
                    {view.allow_http.then_some(" Plain-http targets are allowed on this server (MAILVEND_NOTIFY_ALLOW_HTTP).")}
                </p>
                <ChannelTable list=view.channels remove test />
                <h2 class="text-base font-semibold">"Delivery log"</h2>
                <DeliveryLog list=view.deliveries />
            </Loaded>
        </div>
    }
}

fn events_text(events: &[NotifyEvent]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
fn ChannelTable(
    list: Vec<Channel>,
    remove: ServerAction<RemoveChannel>,
    test: ServerAction<TestChannel>,
) -> impl IntoView {
    let columns = vec![
        Column::new("Channel", |c: &Channel| {
            view! {
                <p class="font-medium">{c.kind.label()}</p>
                <p class="font-mono text-xs text-slate-500 break-all">{c.target.clone()}</p>
                <p class="font-mono text-xs text-slate-500" data-testid="channel-id">{c.id.clone()}</p>
            }
        }),
        Column::new("Events", |c: &Channel| events_text(&c.events)).class("text-slate-600 dark:text-slate-300"),
        Column::new("Added", |c: &Channel| format!("{} by {}", when(&c.created_at), c.created_by))
            .class("text-slate-500"),
        Column::new("Actions", move |c: &Channel| {
            let (test_label, remove_label) = (
                format!("Send a test to {}", c.target),
                format!("Remove {}", c.target),
            );
            let (id, id2, form_label) = (c.id.clone(), c.id.clone(), remove_label.clone());
            let test_form_label = test_label.clone();
            view! {
                <div class="flex flex-wrap items-start justify-end gap-2">
                    <ActionForm action=test attr:aria-label=test_form_label>
                        <input type="hidden" name="id" value=id />
                        <button type="submit" class=class::SECONDARY aria-label=test_label>"Send a test"</button>
                    </ActionForm>
                    <details class="inline-block text-left">
                        <summary class="cursor-pointer py-2 text-sm font-medium text-red-700 dark:text-red-400">"Remove…"</summary>
                        <ActionForm action=remove attr:class="mt-2" attr:aria-label=form_label>
                            <input type="hidden" name="id" value=id2 />
                            <button type="submit" class=class::DANGER>{remove_label}</button>
                        </ActionForm>
                    </details>
                </div>
            }
        })
        .header_hidden()
        .class("text-right"),
    ];
    view! {
        <DataTable
            caption="Notification channels"
            columns
            rows=list
            empty=|| view! {
                <EmptyState title="No channels yet" body="Add one above, so someone hears of dead letters and held mail without watching this dashboard." />
            }
        />
    }
}

/// Summaries carry addresses and SES's reasons from strangers' mail: rendered as text.
#[component]
fn DeliveryLog(list: Vec<NotificationDelivery>) -> impl IntoView {
    let columns = vec![
        Column::new("Queued", |d: &NotificationDelivery| when(&d.created_at))
            .class("whitespace-nowrap"),
        Column::new("Event", |d: &NotificationDelivery| {
            view! {
                <p class="font-medium">{d.event.as_str()}</p>
                <p class="text-xs text-slate-500 break-words">{d.summary.clone()}</p>
            }
        }),
        Column::new("Channel", |d: &NotificationDelivery| {
            view! {
                <p>{d.channel_kind.label()}</p>
                <p class="font-mono text-xs text-slate-500">{d.channel_id.clone()}</p>
            }
        }),
        Column::new("State", |d: &NotificationDelivery| {
            let badge = match d.state {
                NoticeState::Delivered => view! { <Badge text="delivered" tone="green" /> },
                NoticeState::Pending => view! { <Badge text="pending" tone="amber" /> },
                NoticeState::Failed => view! { <Badge text="failed" tone="red" /> },
            };
            let attempts = match d.attempts {
                0 => "not tried yet".to_string(),
                1 => "1 attempt".to_string(),
                n => format!("{n} attempts"),
            };
            let last = match (d.last_status, &d.last_error) {
                (Some(s), Some(e)) => Some(format!("{e} (HTTP {s})")),
                (None, Some(e)) => Some(e.clone()),
                (Some(s), None) => Some(format!("HTTP {s}")),
                (None, None) => None,
            };
            let next = match (d.state, &d.next_at) {
                (NoticeState::Pending, Some(at)) => Some(format!("next at {}", when(at))),
                _ => None,
            };
            view! {
                {badge}
                <p class="mt-1 text-xs text-slate-500">{attempts}</p>
                {last.map(|l| view! { <p class="text-xs text-slate-500 break-words">{l}</p> })}
                {next.map(|n| view! { <p class="text-xs text-slate-500">{n}</p> })}
            }
        }),
    ];
    view! {
        <DataTable
            caption="Notification deliveries, newest first"
            columns
            rows=list
            empty=|| view! {
                <EmptyState title="Nothing sent yet" body="Each event for each channel is listed here with its attempts." />
            }
        />
    }
}
