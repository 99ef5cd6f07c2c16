use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::get_audit;
use crate::components::ui::{class, when, EmptyState, ErrorNotice, Loading, PageHeader, Pager};
use crate::model::AuditEntry;
use crate::pages::addresses::param;

#[component]
pub fn Audit() -> impl IntoView {
    let cursor = param("cursor");
    let page = Resource::new(cursor, get_audit);
    view! {
        <Title text="Audit log" />
        <PageHeader title="Audit log" subtitle="Every change to addresses, tokens and settings: who, when, before and after." />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) if page.items.is_empty() && cursor().is_empty() => view! {
                        <EmptyState title="Nothing has changed yet" body="Vends, edits, deletions, token changes and settings changes are recorded here." />
                    }.into_any(),
                    Ok(page) => view! {
                        <div class=class::TABLE_CARD>
                            <table class="w-full">
                                <caption class="sr-only">"Audit log"</caption>
                                <thead class="border-b border-slate-200 dark:border-slate-800"><tr>
                                    <th scope="col" class=class::TH>"When"</th>
                                    <th scope="col" class=class::TH>"Who"</th>
                                    <th scope="col" class=class::TH>"What"</th>
                                    <th scope="col" class=class::TH>"Subject"</th>
                                    <th scope="col" class=class::TH>"Change"</th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                                    {page.items.into_iter().map(|e| view! {
                                        <tr>
                                            <td class=format!("{} whitespace-nowrap text-slate-500", class::TD)>{when(&e.at)}</td>
                                            <td class=class::TD>{e.actor.clone()}</td>
                                            <td class=format!("{} font-medium", class::TD)>{e.action.clone()}</td>
                                            <td class=format!("{} font-mono text-xs", class::TD)>{subject(&e.subject)}</td>
                                            <td class=class::TD>{changes(&e)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager next=page.next_cursor has_cursor=!cursor().is_empty() />
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice message=e.to_string() /> }.into_any(),
                }
            })}
        </Suspense>
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

/// The fields an entry changed, `field: before → after`, with the full records behind a
/// disclosure.
pub fn changes(e: &AuditEntry) -> AnyView {
    let lines = diff(e.before.as_deref(), e.after.as_deref());
    let full = (e.before.is_some() || e.after.is_some()).then(|| {
        let before = e.before.clone();
        let after = e.after.clone();
        view! {
            <details class="mt-1">
                <summary class="cursor-pointer text-xs text-slate-500">"Full record"</summary>
                {before.map(|b| view! { <p class="mt-1 text-xs text-slate-500">"Before"</p><pre class="overflow-x-auto rounded bg-slate-50 p-2 text-xs whitespace-pre-wrap break-all dark:bg-slate-950">{b}</pre> })}
                {after.map(|a| view! { <p class="mt-1 text-xs text-slate-500">"After"</p><pre class="overflow-x-auto rounded bg-slate-50 p-2 text-xs whitespace-pre-wrap break-all dark:bg-slate-950">{a}</pre> })}
            </details>
        }
    });
    view! {
        <ul class="space-y-0.5 text-xs">
            {lines.into_iter().map(|l| view! { <li class="font-mono break-all">{l}</li> }).collect_view()}
        </ul>
        {full}
    }
    .into_any()
}

/// The top-level fields that differ between two JSON objects (or the plain values of a
/// setting), as `field: before → after`.
pub fn diff(before: Option<&str>, after: Option<&str>) -> Vec<String> {
    use serde_json::Value;
    let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok());
    match (parse(before), parse(after)) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| !matches!(k.as_str(), "updated_at" | "updated_by"))
                .filter(|k| b.get(*k) != a.get(*k))
                .map(|k| format!("{k}: {} → {}", show(b.get(k)), show(a.get(k))))
                .collect()
        }
        (None, Some(Value::Object(_))) => vec!["created".into()],
        _ => match (before, after) {
            (b, Some(a)) if b != Some(a) => vec![format!("{} → {a}", b.unwrap_or("—"))],
            _ => Vec::new(),
        },
    }
}

fn show(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "—".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diffs_name_what_changed() {
        let b = r#"{"owner":"a@x.com","status":"active","notes":null,"updated_at":"1"}"#;
        let a = r#"{"owner":"b@x.com","status":"active","notes":"hi","updated_at":"2"}"#;
        assert_eq!(
            diff(Some(b), Some(a)),
            vec!["notes: — → hi", "owner: a@x.com → b@x.com"]
        );
        assert_eq!(diff(None, Some(a)), vec!["created"]);
        assert_eq!(diff(Some("false"), Some("true")), vec!["false → true"]);
        assert_eq!(diff(None, Some("tag")), vec!["— → tag"]);
        assert!(diff(Some(b), Some(b)).is_empty());
    }
}
