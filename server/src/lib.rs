//! mailvend's engine. `serve` is the whole server; `main` only parses the command line,
//! so tests run the real thing on port 0.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod decide;
pub mod deliver;
pub mod http;
pub mod import;
pub mod mailer;
pub mod mapping_patch;
pub mod metrics;
/// The fuzz targets' checks, shared with the corpus replay test (not an API).
#[doc(hidden)]
pub mod oracles;
pub mod pipeline;
pub mod retention;
pub mod rewrite;
pub mod s3_mail;
pub mod secret;
pub mod service;
pub mod ses;
pub mod settings;
pub mod sns;
pub mod sns_certs;
pub mod sns_endpoint;
pub mod store;
pub mod telemetry;
#[cfg(test)]
pub mod testing;
pub mod tokens;
pub mod vending;

use std::future::Future;
use std::sync::Arc;

use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::AppState;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Listen(String),
    /// A command-line subcommand failed; the message says why.
    #[error("{0}")]
    Command(String),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

/// Leptos's own settings: the site files (`LEPTOS_SITE_ROOT`, default `target/site`,
/// `LEPTOS_SITE_PKG_DIR`, default `pkg`), `LEPTOS_ENV`, and the address we actually listen on.
/// Built here rather than by `get_configuration` so the binary and the tests run without the
/// variables cargo-leptos sets at build time.
pub fn leptos_options(addr: std::net::SocketAddr) -> LeptosOptions {
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let env = match var("LEPTOS_ENV", "DEV").to_ascii_uppercase().as_str() {
        "PROD" | "PRODUCTION" => leptos::config::Env::PROD,
        _ => leptos::config::Env::DEV,
    };
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("mailvend"))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .env(env)
        .site_addr(addr)
        .build()
}

/// Opens the store and wires the service, ready to route.
pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, ServeError> {
    let config = Arc::new(config);
    let stores = store::open(&config.store).await?;
    let mailer = mailer::open(&config.mailer)
        .await
        .map_err(ServeError::Command)?;
    Ok(AppState::new(leptos_options, config, stores, mailer))
}

/// Runs the server on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    let state = build_state(config, leptos_options(addr)).await?;
    run(state, listener, shutdown).await
}

/// Routes `state` on `listener` until `shutdown` resolves.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let retention = tokio::spawn(retention::run(
        state.stores.clone(),
        state.config.retention_days,
    ));
    let served = axum::serve(listener, http::router(state).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await;
    retention.abort();
    served?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM (the latter is what container runtimes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
