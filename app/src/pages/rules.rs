//! The routing rules on the Settings page: the list in the order rules are tried, with moves
//! and deletes, and a form that previews a new rule against the latest mail (a plain GET, so
//! the preview works without JavaScript and can be linked to) before it is added.

use leptos::prelude::*;
use leptos_router::components::Form;

use crate::components::data_table::{Column, DataTable};
use crate::components::loaded::Loaded;
use crate::components::message_table::MessageTable;
use crate::components::query::param;
use crate::components::ui::{class, form_error, toast_on_success, ErrorNotice};
use crate::model::{RoutingRule, RuleDraft, RuleMatch};
use crate::notices;
use crate::server_fns::{get_rules, preview_rule, AddRule, ChangeRule};

/// The query parameters of the preview, one per draft field.
const FIELDS: [&str; 9] = [
    "rule_name",
    "rule_sender_kind",
    "rule_sender",
    "rule_subject_kind",
    "rule_subject",
    "rule_recipient_kind",
    "rule_recipient",
    "rule_action",
    "rule_target",
];

#[component]
pub fn RulesCard() -> impl IntoView {
    let change = ServerAction::<ChangeRule>::new();
    let add = ServerAction::<AddRule>::new();
    toast_on_success(change, notices::rules_changed);
    toast_on_success(add, notices::rule_added);
    let rules = Resource::new(
        move || (change.version().get(), add.version().get()),
        |_| get_rules(),
    );
    let [name, sender_kind, sender, subject_kind, subject, recipient_kind, recipient, action, target] =
        FIELDS.map(param);
    let draft = move || RuleDraft {
        name: name(),
        sender_kind: sender_kind(),
        sender: sender(),
        subject_kind: subject_kind(),
        subject: subject(),
        recipient_kind: recipient_kind(),
        recipient: recipient(),
        action: action(),
        target: target(),
    };
    let preview = Resource::new(draft, |d| async move {
        if d.is_empty() {
            Ok(None)
        } else {
            preview_rule(d).await.map(Some)
        }
    });
    let change_value = change.value();
    let add_value = add.value();
    view! {
        <div class="mb-6">
            <section aria-labelledby="rules-heading" class="rounded-xl border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
                <h2 id="rules-heading" class="text-base font-semibold">"Routing rules"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                    "Tried in order on new mail its class's policy forwards (never on restricted, held or dropped mail, nor on replays and releases); the first rule whose every condition matches acts. Matching ignores case. The sender is the envelope sender as received, which anyone can forge: to act on AWS's own mail, use the mail classes. Credential mail is never redirected or copied by a rule. Every change is audited."
                </p>
                {move || form_error(&change_value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
                <div class="mt-4">
                    <Loaded data=rules let:list>
                        {(!list.skipped.is_empty()).then(|| view! {
                            <div role="alert" class="mb-4 rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100">
                                <strong>"Skipped: these stored rules no longer pass the checks and do nothing. "</strong>
                                "Delete them (adding or moving rules is refused until then):"
                                <ul class="mt-1 list-disc pl-5">{list.skipped.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ul>
                            </div>
                        })}
                        <RuleList rules=list.rules change />
                    </Loaded>
                </div>
                <h3 id="new-rule-heading" class="mt-8 text-sm font-semibold">"New rule"</h3>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">"Preview it first: it is tried on the latest 200 messages, and nothing is changed or sent."</p>
                <Form method="get" action="/settings" attr:aria-labelledby="new-rule-heading" attr:class="mt-3 space-y-4">
                    <div class="grid grid-cols-1 gap-4 md:grid-cols-2">
                        <div>
                            <label for="rule-name" class=class::LABEL>"Name"</label>
                            <input id="rule-name" name="rule_name" required maxlength="80" value=name prop:value=name class=format!("mt-1 {}", class::INPUT) />
                        </div>
                        <div class="grid grid-cols-[1fr_2fr] gap-2">
                            <div>
                                <label for="rule-action" class=class::LABEL>"Action"</label>
                                <select id="rule-action" name="rule_action" class=format!("mt-1 {}", class::INPUT)>
                                    {[("tag_subject", "Tag the subject"), ("add_recipient", "Also send to"), ("redirect", "Redirect to"), ("drop", "Drop")]
                                        .into_iter()
                                        .map(|(v, label)| view! { <option value=v selected=move || action() == v>{label}</option> })
                                        .collect_view()}
                                </select>
                            </div>
                            <div>
                                <label for="rule-target" class=class::LABEL>"Address or tag"</label>
                                <input id="rule-target" name="rule_target" aria-describedby="rule-target-hint" value=target prop:value=target class=format!("mt-1 {}", class::INPUT) />
                                <p id="rule-target-hint" class="mt-1 text-xs text-slate-500">"An address off this domain, or a tag such as [AWS]; nothing for Drop."</p>
                            </div>
                        </div>
                        <Condition field="sender" label="Sender" kind=sender_kind value=sender />
                        <Condition field="subject" label="Subject" kind=subject_kind value=subject />
                        <Condition field="recipient" label="Vended address" kind=recipient_kind value=recipient />
                    </div>
                    <button type="submit" class=class::SECONDARY>"Preview matches"</button>
                </Form>
                <Loaded data=preview let:found>
                    {found.map(|run| {
                        let d = draft();
                        // Spelled out beside the button: a link can fill this form in (not
                        // submit it), so the admin sees exactly what a click would add.
                        let spelled = d
                            .to_rule()
                            .map(|r| format!("When {}: {}.", conditions(&r), r.action.describe()))
                            .unwrap_or_default();
                        view! {
                            <div class="mt-6" role="region" aria-label="Preview">
                                <p class="text-sm font-medium">
                                    {format!("This rule would have matched {} of the latest {} messages.", run.matched.len(), run.examined)}
                                </p>
                                <div class="mt-3">
                                    <MessageTable records=run.matched empty="None of the latest messages match." />
                                </div>
                                <p class="mt-4 text-sm" data-testid="rule-spelled">
                                    <span class="font-medium">"The rule: "</span>{spelled}
                                </p>
                                <ActionForm action=add attr:class="mt-2" attr:aria-label="Add this rule">
                                    {[("name", d.name), ("sender_kind", d.sender_kind), ("sender", d.sender), ("subject_kind", d.subject_kind), ("subject", d.subject), ("recipient_kind", d.recipient_kind), ("recipient", d.recipient), ("action", d.action), ("target", d.target)]
                                        .into_iter()
                                        .map(|(n, v)| view! { <input type="hidden" name=n value=v /> })
                                        .collect_view()}
                                    <button type="submit" class=class::PRIMARY disabled=move || add.pending().get()>"Add this rule"</button>
                                </ActionForm>
                                {move || form_error(&add_value.get(), &[]).map(|m| view! { <div class="mt-3"><ErrorNotice message=m /></div> })}
                            </div>
                        }
                    })}
                </Loaded>
            </section>
        </div>
    }
}

/// One condition of the new-rule form: how it matches, and what.
#[component]
fn Condition(
    field: &'static str,
    label: &'static str,
    kind: impl Fn() -> String + Copy + Send + Sync + 'static,
    value: impl Fn() -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let kind_id = format!("rule-{field}-kind");
    let value_id = format!("rule-{field}");
    view! {
        <div class="grid grid-cols-[1fr_2fr] gap-2">
            <div>
                <label for=kind_id.clone() class=class::LABEL>{format!("{label} match")}</label>
                <select id=kind_id name=format!("rule_{field}_kind") class=format!("mt-1 {}", class::INPUT)>
                    <option value="contains" selected=move || kind() != "regex">"contains"</option>
                    <option value="regex" selected=move || kind() == "regex">"regex"</option>
                </select>
            </div>
            <div>
                <label for=value_id.clone() class=class::LABEL>{label}</label>
                <input id=value_id name=format!("rule_{field}") maxlength="200" value=value prop:value=value class=format!("mt-1 {}", class::INPUT) />
            </div>
        </div>
    }
}

/// A rule's conditions in words.
fn conditions(r: &RoutingRule) -> String {
    let says = |m: &RuleMatch| match m.kind {
        crate::model::MatchKind::Contains => format!("contains \"{}\"", m.value),
        crate::model::MatchKind::Regex => format!("matches /{}/", m.value),
    };
    r.conditions()
        .into_iter()
        .map(|(field, m)| format!("{field} {}", says(m)))
        .collect::<Vec<_>>()
        .join(" and ")
}

#[component]
fn RuleList(rules: Vec<RoutingRule>, change: ServerAction<ChangeRule>) -> impl IntoView {
    let count = rules.len();
    let rows: Vec<(usize, RoutingRule)> = rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i + 1, r))
        .collect();
    let columns = vec![
        Column::new("#", |(n, _): &(usize, RoutingRule)| n.to_string()),
        Column::new("Name", |(_, r): &(usize, RoutingRule)| r.name.clone()).class("font-medium"),
        Column::new("When", |(_, r): &(usize, RoutingRule)| conditions(r)).class("max-w-96 break-words"),
        Column::new("Then", |(_, r): &(usize, RoutingRule)| r.action.describe()),
        Column::new("Change", move |(n, r): &(usize, RoutingRule)| {
            let (n, name) = (*n, r.name.clone());
            let buttons = [
                ("up", "Move up", n > 1),
                ("down", "Move down", n < count),
                ("delete", "Delete", true),
            ];
            view! {
                <div class="flex flex-wrap gap-2 whitespace-nowrap">
                    {buttons.into_iter().filter(|(_, _, shown)| *shown).map(|(op, label, _)| {
                        let name = name.clone();
                        let style = if op == "delete" { class::DANGER } else { class::SECONDARY };
                        view! {
                            <ActionForm action=change>
                                <input type="hidden" name="number" value=n.to_string() />
                                <input type="hidden" name="name" value=name.clone() />
                                <input type="hidden" name="change" value=op />
                                <button type="submit" class=style aria-label=format!("{label}: rule {n}, {name}") disabled=move || change.pending().get()>{label}</button>
                            </ActionForm>
                        }
                    }).collect_view()}
                </div>
            }
        })
        .header_hidden(),
    ];
    view! {
        <DataTable
            caption="Routing rules"
            columns
            rows
            empty=move || view! { <p class="text-sm text-slate-600 dark:text-slate-400">"No routing rules: mail goes where its mapping and class policy send it."</p> }
        />
    }
}
