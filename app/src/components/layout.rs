use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::auth::Role;
use crate::components::ui::{ErrorNotice, NoticeView, Toaster};
use crate::routes::{self, Nav, Page, Section};
use crate::server_fns::get_session_info;

#[component]
fn NavLink(page: &'static Page, nav: &'static Nav) -> impl IntoView {
    // `A` marks the current page with aria-current="page"; the styles key off that, so the
    // server-rendered page and the hydrated one agree without any client state.
    view! {
        <A
            href=page.path
            // Sub-pages (an address, a message) keep their section marked.
            exact=page.path == "/"
            attr:class="group flex items-center gap-3 rounded-md px-3 py-2 text-sm font-medium text-slate-300 hover:bg-slate-800 hover:text-white focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-400 aria-[current=page]:bg-slate-800 aria-[current=page]:text-white"
        >
            <svg viewBox="0 0 20 20" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" class="size-5 shrink-0 text-slate-400 group-hover:text-white group-aria-[current=page]:text-indigo-300" aria-hidden="true">
                <path d=nav.icon />
            </svg>
            {nav.label}
        </A>
    }
}

#[component]
fn NavSection(section: Section) -> impl IntoView {
    view! {
        <div>
            <p class="px-3 pb-2 text-xs font-semibold uppercase tracking-wider text-slate-400">{section.title()}</p>
            <ul class="space-y-1">
                {routes::nav(section).map(|(page, nav)| view! { <li><NavLink page nav /></li> }).collect_view()}
            </ul>
        </div>
    }
}

/// The frame of every signed-in page: navigation on the side (on top on small screens),
/// the page in the main landmark.
#[component]
pub fn Layout() -> impl IntoView {
    let info = Resource::new(|| (), |_| get_session_info());
    let toaster = Toaster::new();
    provide_context(toaster);
    view! {
        <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded-md focus:bg-white focus:px-4 focus:py-2 focus:text-slate-900 focus:shadow">
            "Skip to content"
        </a>
        <div class="min-h-full lg:flex">
            <aside class="bg-slate-900 lg:fixed lg:inset-y-0 lg:flex lg:w-64 lg:flex-col">
                <div class="flex h-16 items-center gap-2 px-6">
                    <svg viewBox="0 0 24 24" class="size-7 text-indigo-400" fill="none" stroke="currentColor" stroke-width="1.8" aria-hidden="true">
                        <rect x="3" y="5" width="18" height="14" rx="2" />
                        <path d="m3 7 9 6 9-6" stroke-linecap="round" stroke-linejoin="round" />
                    </svg>
                    <span class="text-lg font-semibold tracking-tight text-white">"mailvend"</span>
                </div>
                <nav aria-label="Main" class="flex flex-col gap-6 overflow-x-auto px-3 pb-6 max-lg:flex-row max-lg:pb-3">
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let admin = info
                                .await
                                .ok()
                                .and_then(|i| i.viewer)
                                .is_some_and(|v| v.role == Role::Admin);
                            admin.then(|| view! { <NavSection section=Section::Admin /> })
                        })}
                    </Suspense>
                    <NavSection section=Section::Account />
                </nav>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        info.await.ok().and_then(|i| i.viewer).map(|v| view! {
                            <div class="mt-auto border-t border-slate-800 px-6 py-4 max-lg:hidden">
                                <p class="truncate text-sm font-medium text-white" title=v.email.clone()>
                                    {v.name.clone().unwrap_or_else(|| v.email.clone())}
                                </p>
                                <p class="truncate text-xs text-slate-400">{v.email.clone()}</p>
                                <form method="post" action="/auth/logout" class="mt-3">
                                    <button type="submit" class="rounded-md text-sm text-slate-300 underline-offset-4 hover:text-white hover:underline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-400">
                                        "Sign out"
                                    </button>
                                </form>
                            </div>
                        })
                    })}
                </Suspense>
            </aside>
            <div class="flex-1 lg:pl-64">
                // Notices: the one a plain form post left (rendered by the server), then the
                // toasts pages push after their actions.
                <div aria-live="polite" class="pointer-events-none fixed inset-x-4 top-4 z-40 flex flex-col items-end gap-3 sm:left-auto sm:w-96">
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            info.await.ok().and_then(|i| i.notice).map(|notice| view! {
                                <div class="pointer-events-auto w-full"><NoticeView notice /></div>
                            })
                        })}
                    </Suspense>
                    <For
                        each=move || toaster.list()
                        key=|(id, _)| *id
                        children=move |(id, notice)| view! {
                            <div class="pointer-events-auto relative w-full">
                                <NoticeView notice />
                                <button
                                    type="button"
                                    aria-label="Dismiss"
                                    on:click=move |_| toaster.dismiss(id)
                                    class="absolute right-2 top-2 rounded px-1 text-slate-500 hover:text-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-600"
                                >
                                    "×"
                                </button>
                            </div>
                        }
                    />
                </div>
                <main id="main" class="mx-auto max-w-6xl px-4 py-8 sm:px-6 lg:px-10">
                    <ErrorBoundary fallback=|errors| {
                        let message = move || {
                            errors
                                .get()
                                .into_iter()
                                .map(|(_, e)| e.to_string())
                                .collect::<Vec<_>>()
                                .join("; ")
                        };
                        view! { <ErrorNotice message=message() /> }
                    }>
                        <Outlet />
                    </ErrorBoundary>
                </main>
            </div>
        </div>
    }
}
