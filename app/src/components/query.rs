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
        let mut pairs: Vec<(String, String)> = query
            .get_untracked()
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
        let path = location.pathname.get_untracked();
        if q.is_empty() {
            path
        } else {
            format!("{path}?{q}")
        }
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
