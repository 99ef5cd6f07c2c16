//! The HTTP surface: pages and server functions (Leptos), operational endpoints, and the
//! layers every response passes through (security headers, metrics, tracing, body limit).

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use app::service::SharedService;
use app::{shell, App};
use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::metrics::{HttpLabels, Metrics};
use crate::service::dashboard::Dashboard;
use crate::state::AppState;

pub mod api;
pub mod export;
pub mod lanes;
pub mod ops;
pub mod serve;
pub mod sns;

/// Where SNS posts inbound mail, and the probes; `lanes` keeps these at the mail's priority.
pub const SNS_PATH: &str = "/sns";
pub const HEALTH_PATH: &str = "/healthz";
pub const METRICS_PATH: &str = "/metrics";

/// Largest request body accepted anywhere. SNS messages are at most 256 KB; nothing the
/// dashboard or the API takes comes close to this.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Server-side sessions in the configured store: cookie `mailvend_session` (`__Host-` prefixed
/// behind https), HttpOnly, SameSite=Lax, Secure behind https, ending after 12 hours without
/// use (and at `MAILVEND_SESSION_LIFETIME` after sign-in: `auth::grant`).
fn session_layer(
    state: &AppState,
) -> tower_sessions::SessionManagerLayer<crate::auth::sessions::StoredSessions> {
    tower_sessions::SessionManagerLayer::new(crate::auth::sessions::StoredSessions(
        state.auth.sessions.clone(),
    ))
    .with_name(state.auth.cookie_name("mailvend_session"))
    .with_http_only(true)
    .with_same_site(tower_sessions::cookie::SameSite::Lax)
    .with_secure(state.auth.secure_cookies)
    .with_path("/")
    .with_expiry(tower_sessions::Expiry::OnInactivity(
        tower_sessions::cookie::time::Duration::hours(12),
    ))
}

/// The app's routes, generated once per process. While Leptos generates a route list it stops
/// every resource in the process from loading, and a resource first polled in that window
/// waits forever (leptos-rs/leptos#4773): a page rendering beside a second router being built
/// (the tests build one per server, many per process) never answered.
pub fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));
    ROUTES.clone()
}

pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let service: SharedService = Arc::new(Dashboard(state.core.service.clone()));
    let sso = app::auth::SsoEnabled(matches!(state.auth.mode, crate::auth::Mode::Sso { .. }));
    let context = move || {
        provide_context(service.clone());
        provide_context(sso);
        // The nonce `page_csp` put in the header, for the hydration script (replacing the
        // one leptos_axum made, which no header would carry).
        if let Some(nonce) = leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<PageNonce>().cloned())
        {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    };
    let options = state.leptos_options.clone();

    let mut router = Router::new().route(HEALTH_PATH, get(ops::healthz));
    // With a metrics listener of its own, the public one has no /metrics at all.
    if state.core.config.metrics_addr.is_none() {
        router = router.route(METRICS_PATH, get(ops::metrics));
    }
    let router = router
        .route(SNS_PATH, axum::routing::post(sns::receive))
        .route("/auth/login", get(crate::auth::routes::login))
        .route("/auth/callback", get(crate::auth::routes::callback))
        .route(
            "/auth/logout",
            axum::routing::post(crate::auth::routes::logout),
        )
        .route("/auth/local", get(crate::auth::routes::local))
        .route("/export/addresses.csv", get(export::addresses))
        .route("/export/messages.csv", get(export::messages))
        .nest("/api/v1", api::routes())
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::guard::check_origin,
        ))
        .layer(middleware::from_fn(crate::auth::guard::guard_pages))
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            crate::auth::guard::resolve_viewer,
        ))
        .layer(session_layer(&state))
        .layer(middleware::from_fn_with_state(
            state.limiter.clone(),
            crate::auth::limits::rate_limit,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track_metrics))
        .layer(middleware::from_fn(page_csp));
    with_security_headers(router, &state.core.config)
        .layer(middleware::from_fn(no_store))
        .layer(TraceLayer::new_for_http())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Outermost, so all of an interactive request's work runs on its runtime.
        .layer(middleware::from_fn_with_state(
            lanes::Interactive::get(state.core.config.interactive_nice),
            lanes::route,
        ))
        .with_state(state)
}

/// Pages, redirects and API answers are per person and per moment: no cache (or back button
/// after signing out) may keep them. The built assets under `/pkg` may be kept but are checked
/// again on every use (`no-cache`, answered by a 304 while unchanged): their names carry no
/// hash, and the split wasm's chunks (`chunk_11.wasm`) are renumbered by each build, so a
/// chunk kept from the last release would not fit this release's main module.
async fn no_store(req: Request<Body>, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/pkg/") || req.uri().path() == "/favicon.svg";
    let mut res = next.run(req).await;
    if !res.headers().contains_key(header::CACHE_CONTROL) {
        let policy = if asset { "no-cache" } else { "no-store" };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    res
}

/// Headers every response carries unless its handler chose its own. HTML pages set a CSP
/// with the hydration script's nonce (see `app::shell`); everything else gets the strictest
/// policy, since JSON and files never need to run anything.
fn with_security_headers(router: Router<AppState>, config: &Config) -> Router<AppState> {
    let mut headers = vec![
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // `same-origin` keeps the Referer that no-JavaScript form posts need to be sent back
        // to their page, and sends nothing to other sites.
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    ];
    if config.public_url.scheme() == "https" {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ));
    }
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// This request's CSP nonce, made before the page renders.
#[derive(Clone)]
struct PageNonce(String);

/// Pages get a policy whose one allowed inline script is Leptos's hydration bootstrap, which
/// carries this response's nonce; WebAssembly needs `wasm-unsafe-eval`; styles come only
/// from our stylesheet, so no `unsafe-inline` anywhere.
fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Makes the nonce before the page renders (the render takes it from the request, see
/// `router`'s context) and sets the page policy on every HTML answer that has no policy of
/// its own (the sign-in pages set a stricter one). Set here, around the render, it cannot be
/// lost: set from inside the render through Leptos's response options it sometimes was, and
/// the page went out under the no-script fallback policy, unstyled and dead (issue 15).
async fn page_csp(mut req: Request<Body>, next: Next) -> Response {
    let nonce = crate::tokens::random_text(16);
    req.extensions_mut().insert(PageNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !res.headers().contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
            res.headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    res
}

/// The metrics listener's router (`MAILVEND_METRICS_ADDR`): `/metrics` and nothing else.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .with_state(state)
}

async fn track_metrics(
    State(metrics): State<Arc<Metrics>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = crate::metrics::method_label(req.method().as_str()).to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(static or not found)".to_string());
    let response = next.run(req).await;
    let labels = HttpLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    metrics.http_requests.get_or_create(&labels).inc();
    metrics
        .http_duration
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    response
}
