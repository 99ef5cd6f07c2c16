use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    crate::shell::mark_hydrated();
    view! {
        <Title text="Page not found" />
        <main id="main" class="grid min-h-full place-items-center px-6 py-24">
            <div class="text-center">
                <p class="text-base font-semibold text-indigo-600 dark:text-indigo-400">"404"</p>
                <h1 class="mt-4 text-3xl font-semibold tracking-tight sm:text-4xl">"Page not found"</h1>
                <p class="mt-4 text-sm text-slate-600 dark:text-slate-400">
                    "There is nothing at this address. Check the link, or start again from the overview."
                </p>
                <a href="/" class="mt-8 inline-block rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600">
                    "Go to the overview"
                </a>
            </div>
        </main>
    }
}
