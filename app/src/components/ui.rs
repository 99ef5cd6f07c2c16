//! Small presentational pieces shared by the pages, so spacing and type stay consistent.

use leptos::prelude::*;

#[component]
pub fn PageHeader(title: &'static str, #[prop(optional)] subtitle: &'static str) -> impl IntoView {
    view! {
        <header class="mb-8">
            <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
            {(!subtitle.is_empty())
                .then(|| view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{subtitle}</p> })}
        </header>
    }
}

#[component]
pub fn Card(children: Children, #[prop(optional)] class: &'static str) -> impl IntoView {
    view! {
        <section class=format!(
            "rounded-xl border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900 {class}",
        )>{children()}</section>
    }
}

#[component]
pub fn Stat(label: &'static str, value: String, #[prop(optional)] hint: String) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
            <dt class="text-sm font-medium text-slate-500 dark:text-slate-400">{label}</dt>
            <dd class="mt-2 text-2xl font-semibold tracking-tight">{value}</dd>
            {(!hint.is_empty()).then(|| view! { <p class="mt-1 text-xs text-slate-500">{hint}</p> })}
        </div>
    }
}

/// What a list shows before it has anything in it: say what will appear and why.
#[component]
pub fn EmptyState(title: &'static str, body: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-xl border-2 border-dashed border-slate-300 px-6 py-14 text-center dark:border-slate-700">
            <svg viewBox="0 0 24 24" class="mx-auto size-10 text-slate-400" fill="none" stroke="currentColor" stroke-width="1.5" aria-hidden="true">
                <rect x="3" y="5" width="18" height="14" rx="2" />
                <path d="m3 7 9 6 9-6" stroke-linecap="round" stroke-linejoin="round" />
            </svg>
            <h2 class="mt-3 text-sm font-semibold">{title}</h2>
            <p class="mx-auto mt-1 max-w-md text-sm text-slate-600 dark:text-slate-400">{body}</p>
        </div>
    }
}

/// An error shown where it happened, in words the user can act on.
#[component]
pub fn ErrorNotice(message: String) -> impl IntoView {
    view! {
        <div role="alert" class="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200">
            {message}
        </div>
    }
}
