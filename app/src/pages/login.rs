use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::SessionInfo;
use crate::components::query::{percent_encode, unreserved};
use crate::routes::LOGIN;
use crate::server_fns::get_session_info;

#[component]
pub fn Login() -> impl IntoView {
    let info = Resource::new(|| (), |_| get_session_info());
    let next = move || crate::next::safe_next(use_query_map().get().get("next").as_deref());
    view! {
        <Title text=LOGIN.title />
        <main id="main" class="grid min-h-full place-items-center px-6 py-24">
            <div class="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm dark:border-slate-800 dark:bg-slate-900">
                <h1 class="text-xl font-semibold tracking-tight">"Sign in to mailvend"</h1>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match info.await {
                            Ok(SessionInfo { viewer: Some(v), .. }) => {
                                view! {
                                    <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                                        "You are signed in as " <strong>{v.email}</strong> "."
                                    </p>
                                    <a href="/" class="mt-6 inline-flex w-full justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600">
                                        "Continue"
                                    </a>
                                }.into_any()
                            }
                            Ok(i) if i.sso => view! {
                                <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                                    "Use your company account."
                                </p>
                                // A server route, not a page: rel="external" keeps the router
                                // from handling the click in the browser.
                                <a
                                    rel="external"
                                    href=move || format!("/auth/login?next={}", urlencode(&next()))
                                    class="mt-6 inline-flex w-full justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
                                >
                                    "Sign in with single sign-on"
                                </a>
                            }.into_any(),
                            _ => view! {
                                <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                                    "This server runs in local mode: open the one-time sign-in link it printed when it started."
                                </p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}

/// Percent-encodes a query value holding a path (its slashes may stay).
fn urlencode(v: &str) -> String {
    percent_encode(v, |b| unreserved(b) || b == b'/')
}
