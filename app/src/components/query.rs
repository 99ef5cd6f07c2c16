//! The page's URL query: reading its parameters (the filters and cursors live there, so a
//! list page works without JavaScript and can be linked to) and writing links back to it.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::ui::class;

/// The query parameter `key` of the current URL, or "".
pub fn param(key: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    // `try_with`: read at the end of a server render, the query may already be gone.
    move || query.try_with(|q| q.get(key)).flatten().unwrap_or_default()
}

/// "Next page" and "First page" links that keep the page's other query parameters.
#[component]
pub fn Pager(next: Option<String>, has_cursor: bool) -> impl IntoView {
    let query = use_query_map();
    let location = leptos_router::hooks::use_location();
    let href = move |cursor: Option<&str>| {
        with_filters(
            &location.pathname.get_untracked(),
            query.get_untracked(),
            cursor,
        )
    };
    let first = has_cursor.then(|| href(None));
    let next = next.map(|c| href(Some(&c)));
    (first.is_some() || next.is_some()).then(|| view! {
        <nav aria-label="Pages" class="mt-4 flex items-center justify-between text-sm">
            <div>{first.map(|h| view! { <a href=h class=class::SECONDARY>"← First page"</a> })}</div>
            <div>{next.map(|h| view! { <a href=h class=class::SECONDARY>"Next page →"</a> })}</div>
        </nav>
    })
}

/// `path` with the page's filters from `query` (not its cursor, nor the router's own `__`
/// parameters), and `cursor` when given.
fn with_filters(
    path: &str,
    query: leptos_router::params::ParamsMap,
    cursor: Option<&str>,
) -> String {
    let mut pairs: Vec<(String, String)> = query
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .filter(|(k, v)| k != "cursor" && !k.starts_with("__") && !v.is_empty())
        .collect();
    if let Some(c) = cursor {
        pairs.push(("cursor".into(), c.to_string()));
    }
    let q = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

/// "Export CSV": a download of the list at `export` with the page's current filters, every
/// page of it (the server streams it; `download` keeps the router from treating it as a page).
#[component]
pub fn ExportLink(export: &'static str) -> impl IntoView {
    let query = use_query_map();
    let href = move || with_filters(export, query.get(), None);
    view! {
        <a href=href download="" rel="external" class=class::SECONDARY>"Export CSV"</a>
    }
}

/// Percent-encodes every byte of `v` that `keep` does not allow as it is.
pub fn percent_encode(v: &str, keep: impl Fn(u8) -> bool) -> String {
    v.bytes()
        .map(|b| {
            if keep(b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// RFC 3986's unreserved characters, which no URL part needs escaped.
pub fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes a query value.
pub fn urlencode(v: &str) -> String {
    percent_encode(v, unreserved)
}
