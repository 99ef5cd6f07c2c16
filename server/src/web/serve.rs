//! Running the HTTP server: Leptos's settings, the listen loop with the retention task beside
//! it, and the signals that end it.

use std::future::{Future, IntoFuture};

use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::state::{AppState, Core, ServeError};

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

/// Runs the server on `listener` until `shutdown` resolves, then drains and lets in-flight
/// requests finish (`crate::drain`).
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    let state = AppState::new(Core::open(config).await?, leptos_options(addr));
    run(state, listener, shutdown).await
}

/// Routes `state` on `listener` until `shutdown` resolves, then drains for `MAILVEND_DRAIN`
/// and gives requests in flight `MAILVEND_SHUTDOWN_GRACE`.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let mut beside = vec![
        tokio::spawn(crate::store::retention::run(
            state.core.stores.clone(),
            state.core.config.retention_days,
        )),
        tokio::spawn(crate::auth::limits::forget_idle(state.limiter.clone())),
        tokio::spawn(crate::service::held::run_expiry(state.core.service.clone())),
        tokio::spawn(state.core.service.dispatcher().run(
            state.core.config.retention_days,
            state.core.config.notify_poll,
        )),
    ];
    let every = state
        .core
        .config
        .organizations
        .as_ref()
        .and_then(|o| o.sync_every);
    if let (Some(every), true) = (every, state.core.service.organizations_on()) {
        beside.push(tokio::spawn(crate::service::organizations::run_schedule(
            state.core.service.clone(),
            every,
        )));
    }
    if let (Some(o), true) = (
        state.core.config.organizations.as_ref(),
        state.core.service.root_emails_on(),
    ) {
        beside.push(tokio::spawn(crate::service::root_email::run_jobs(
            state.core.service.clone(),
            o.move_pace,
        )));
    }
    if let Some(addr) = state.core.config.metrics_addr {
        let metrics = TcpListener::bind(addr).await?;
        tracing::info!(addr = %metrics.local_addr()?, "metrics listener");
        let router = super::metrics_router(state.clone());
        beside.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, router.into_make_service()).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        }));
    }
    let drain = state.drain.clone();
    let (drain_for, grace) = (state.core.config.drain, state.core.config.shutdown_grace);
    let (closed, listener_closed) = tokio::sync::oneshot::channel::<()>();
    // Drain first (health fails, `/sns` turns new notifications away), then close the
    // listener; axum then waits for the connections still open.
    let close = {
        let drain = drain.clone();
        async move {
            shutdown.await;
            drain.start();
            tracing::info!(
                drain_ms = drain_for.as_millis() as u64,
                sns_in_flight = drain.in_flight(),
                "draining: the health check fails and new notifications are turned away"
            );
            tokio::time::sleep(drain_for).await;
            tracing::info!(
                grace_ms = grace.as_millis() as u64,
                sns_in_flight = drain.in_flight(),
                "the listener is closed; finishing the requests in flight"
            );
            let _ = closed.send(());
        }
    };
    let served = axum::serve(
        listener,
        super::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(close)
    .into_future();
    let served = tokio::select! {
        served = served => served,
        // A delivery still running past the grace is cut short: its claims stay until their
        // lease runs out, and SNS's next delivery finishes it on another server.
        () = async {
            if listener_closed.await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(
                sns_in_flight = drain.in_flight(),
                "requests still in flight after MAILVEND_SHUTDOWN_GRACE; stopping anyway"
            );
            Ok(())
        }
    };
    for task in beside {
        task.abort();
    }
    served?;
    tracing::info!("stopped");
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
