use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Login() -> impl IntoView {
    view! {
        <Title text="Sign in" />
        <main id="main" class="grid min-h-full place-items-center px-6 py-24">
            <div class="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm dark:border-slate-800 dark:bg-slate-900">
                <h1 class="text-xl font-semibold tracking-tight">"Sign in to mailvend"</h1>
                <p class="mt-2 text-sm text-slate-600 dark:text-slate-400">
                    "In local mode, open the one-time sign-in link the server printed when it started."
                </p>
            </div>
        </main>
    }
}
