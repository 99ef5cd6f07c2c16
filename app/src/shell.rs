use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use crate::components::layout::Layout;
use crate::pages;

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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: the marker tells tests (and anyone
    // debugging) that the page is interactive.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/mailvend.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "mailvend".to_string() } else { format!("{page} · mailvend") }
        } />
        <Router>
            // Each route pairs a path with its page's view, so they are written out here; the
            // server's guard tests hold them to `crate::routes::PAGES`, path for path.
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view=pages::login::Login ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::overview::Overview ssr=SsrMode::Async />
                    <Route path=path!("addresses") view=pages::addresses::Addresses ssr=SsrMode::Async />
                    <Route path=path!("addresses/:address") view=pages::address::AddressPage ssr=SsrMode::Async />
                    <Route path=path!("messages") view=pages::messages::Messages ssr=SsrMode::Async />
                    <Route path=path!("messages/*id") view=pages::messages::MessagePage ssr=SsrMode::Async />
                    <Route path=path!("settings") view=pages::settings::Settings ssr=SsrMode::Async />
                    <Route path=path!("tokens") view=pages::tokens::Tokens ssr=SsrMode::Async />
                    <Route path=path!("audit") view=pages::audit::Audit ssr=SsrMode::Async />
                    <Route path=path!("me") view=pages::me::MyAddresses ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
