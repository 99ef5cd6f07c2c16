//! mailvend's engine. `serve` is the whole server; `main` only parses the command line,
//! so tests run the real thing on port 0.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod drain;
pub mod inbound;
pub mod mailer;
pub mod metrics;
pub mod notify;
pub mod organizations;
pub mod priority;
pub mod secret;
pub mod service;
pub mod settings;
pub mod state;
pub mod store;
pub mod telemetry;
#[doc(hidden)]
pub mod testing;
pub mod tokens;
pub mod web;

pub use crate::state::{AppState, Core, ServeError};
pub use crate::web::serve::{leptos_options, run, serve, shutdown_signal};
