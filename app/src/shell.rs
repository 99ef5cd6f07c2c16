use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, Lazy, SsrMode,
};

use crate::components::layout::Layout;
use crate::pages::{self, split};

/// The HTML document. Rendered on the server only; `App` is what hydrates.
/// Its Content-Security-Policy header, with the nonce the hydration script carries, is set
/// by the server around the render (`server::web::page_csp`), not from inside it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" class="h-full">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="h-full bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

/// Sets `<body data-hydrated="true">` once the page's own view has hydrated (effects run only
/// in the browser, after hydration): tests, and anyone debugging, wait for it. Each page calls
/// it (the lazy routes in `pages::split`, and the not-found page), not `App`, which finishes
/// hydrating before a lazy page's chunk has arrived.
pub fn mark_hydrated() {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/mailvend.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "mailvend".to_string() } else { format!("{page} · mailvend") }
        } />
        <Router>
            // Each route pairs a path with its page's view, so they are written out here; the
            // server's guard tests hold them to `crate::routes::PAGES`, path for path.
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view={Lazy::<split::LoginRoute>::new()} ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<split::OverviewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("addresses") view={Lazy::<split::AddressesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("addresses/:address") view={Lazy::<split::AddressRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("accounts") view={Lazy::<split::AccountsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("messages") view={Lazy::<split::MessagesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("messages/*id") view={Lazy::<split::MessageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("held") view={Lazy::<split::HeldRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("settings") view={Lazy::<split::SettingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("notifications") view={Lazy::<split::NotificationsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("tokens") view={Lazy::<split::TokensRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("audit") view={Lazy::<split::AuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("me") view={Lazy::<split::MyAddressesRoute>::new()} ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
