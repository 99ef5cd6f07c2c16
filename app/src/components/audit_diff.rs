//! What an audit entry changed, shown in the audit log and in an address's history.

use leptos::prelude::*;

/// The fields an entry changed, `field: before → after`, with the full records behind a
/// disclosure.
#[component]
pub fn AuditDiff(before: Option<String>, after: Option<String>) -> impl IntoView {
    let lines = diff(before.as_deref(), after.as_deref());
    let full = (before.is_some() || after.is_some()).then(|| {
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
