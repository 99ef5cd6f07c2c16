//! mailvend's face and contract: the types the browser and the server share, the pages,
//! the `#[server]` functions, and (with `ssr`) the service trait those functions call.
//! No storage or AWS code lives here, so the wasm bundle stays small.

pub mod address;
pub mod auth;
pub mod components;
pub mod error;
#[cfg(feature = "ssr")]
pub mod flash;
pub mod model;
pub mod naming;
pub mod next;
pub mod notices;
pub mod notify;
pub mod org;
pub mod pages;
pub mod routes;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
pub mod shell;

pub use shell::{shell, App};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy: the page's own wasm chunk (pages::split) is fetched before it hydrates.
    leptos::mount::hydrate_lazy(App);
}
