//! Middleware: the viewer from the session into each request, the page guard (signed-out
//! visitors go to `/login`, owners get 403 on admin pages), and the Origin check on every
//! state-changing request that a browser's cookies could carry.

use app::auth::{Role, Viewer};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::grant::{Grant, Verdict};
use super::{GRANT, VIEWER};
use std::sync::Arc;

use super::Auth;

/// Puts the signed-in viewer in the request, with the role the configuration gives them now;
/// ends sessions past their lifetime or signed out; keeps active sessions alive with at
/// most one write a minute.
pub async fn resolve_viewer(
    State(auth): State<Arc<Auth>>,
    session: Session,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    req.extensions_mut()
        .insert(app::flash::Flash(std::sync::Arc::new(SessionFlash(
            session.clone(),
        ))));
    let read = async {
        let viewer = session.get::<Viewer>(VIEWER).await?;
        let grant = session.get::<Grant>(GRANT).await?;
        Ok::<_, tower_sessions::session::Error>((viewer, grant))
    };
    match read.await {
        Ok((Some(viewer), Some(grant))) => match auth.judge(viewer, &grant).await {
            None => tracing::warn!("the session cannot be checked now; treated as signed out"),
            Some(Verdict::Valid { viewer, touch }) => {
                if touch {
                    let touched = Grant {
                        touched: crate::clock::unix_now_ms(),
                        ..grant
                    };
                    if let Err(e) = session.insert(GRANT, touched).await {
                        tracing::warn!(error = %e, "could not keep the session alive");
                    }
                }
                req.extensions_mut().insert(viewer);
            }
            Some(Verdict::Ended(why)) => {
                tracing::info!(why, "session ended");
                if let Err(e) = session.flush().await {
                    tracing::warn!(error = %e, "could not remove an ended session");
                }
            }
        },
        // Signed in before sessions carried a grant: sign in again.
        Ok((Some(_), None)) => {
            if let Err(e) = session.flush().await {
                tracing::warn!(error = %e, "could not remove an old session");
            }
        }
        Ok(_) => {}
        Err(e) => {
            // A broken session store must not lock everyone out of /healthz or /sns.
            tracing::warn!(error = %e, "could not read the session");
        }
    }
    next.run(req).await
}

/// The key under which a notice waits in the session.
const NOTICE: &str = "notice";

/// Notices for the next page (`app::flash`), kept in the sign-in session.
struct SessionFlash(Session);

#[async_trait::async_trait]
impl app::flash::FlashStore for SessionFlash {
    async fn put(&self, notice: app::model::Notice) {
        if let Err(e) = self.0.insert(NOTICE, notice).await {
            tracing::warn!(error = %e, "could not keep a notice in the session");
        }
    }

    async fn take(&self) -> Option<app::model::Notice> {
        // Read first: `remove` marks the session changed even when nothing was there, which
        // would write the session back (or start one for a signed-out visitor) on every page.
        let waiting = self
            .0
            .get::<app::model::Notice>(NOTICE)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not read a notice from the session");
                None
            });
        if waiting.is_some() {
            if let Err(e) = self.0.remove::<app::model::Notice>(NOTICE).await {
                tracing::warn!(error = %e, "could not clear a shown notice");
            }
        }
        waiting
    }
}

/// Who may open a path: the page's own access, from the one table of pages.
pub use app::routes::Access as PageAccess;

/// What the server answers besides pages (assets, the APIs, signing in, SNS, the probes),
/// which check their callers themselves or need no check. An entry ending in `/` stands for
/// everything under it.
const NOT_PAGES: &[&str] = &[
    "/pkg/",
    "/favicon.svg",
    "/api/",
    "/fn/",
    "/auth/",
    "/sns",
    "/healthz",
    "/metrics",
];

pub fn page_access(path: &str) -> PageAccess {
    if let Some(page) = app::routes::page_at(path) {
        return page.access;
    }
    let served = NOT_PAGES.iter().any(|p| {
        if p.ends_with('/') {
            path.starts_with(p)
        } else {
            path == *p
        }
    });
    // Anything else is a page missing from the table, or no page at all: refused unless the
    // caller is an admin (who then sees the 404), so a page added to the router and
    // forgotten in the table is never open to everyone.
    if served {
        PageAccess::Open
    } else {
        PageAccess::Admin
    }
}

pub async fn guard_pages(req: Request<Body>, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let access = page_access(req.uri().path());
    if access == PageAccess::Open {
        return next.run(req).await;
    }
    match req.extensions().get::<Viewer>() {
        None => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let mut login = url::Url::parse("http://x/login").expect("static URL");
            login.query_pairs_mut().append_pair("next", &target);
            let location = format!("/login?{}", login.query().unwrap_or_default());
            Redirect::to(&location).into_response()
        }
        Some(v) if access == PageAccess::Admin && v.role != Role::Admin => forbidden(),
        Some(_) => next.run(req).await,
    }
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_SECURITY_POLICY, super::PLAIN_PAGE_CSP)],
        Html(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Forbidden</title>\
             <link rel=\"stylesheet\" href=\"/pkg/mailvend.css\">\
             <main class=\"mx-auto max-w-md p-8\"><h1 class=\"text-xl font-semibold\">This page is for admins</h1>\
             <p class=\"mt-2\">You are signed in as an address owner. \
             <a class=\"underline\" href=\"/me\">See your addresses</a>.</p></main></html>",
        ),
    )
        .into_response()
}

/// Whether a request may change state: safe methods always; the SNS endpoint and the bearer-
/// token API never use cookies; everything else must come from our own origin.
pub fn origin_allowed(method: &Method, path: &str, origin: Option<&str>, ours: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if path == "/sns" || path.starts_with("/api/") {
        return true;
    }
    origin == Some(ours)
}

pub async fn check_origin(
    State(auth): State<Arc<Auth>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if origin_allowed(req.method(), req.uri().path(), origin, &auth.origin) {
        return next.run(req).await;
    }
    tracing::warn!(
        path = %req.uri().path(),
        origin = origin.unwrap_or("(none)"),
        "refused a state-changing request from another origin"
    );
    (
        StatusCode::FORBIDDEN,
        "this request did not come from mailvend's own pages (Origin check)",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_classified_by_path() {
        for (path, want) in [
            // Listed pages.
            ("/", PageAccess::Admin),
            ("/addresses", PageAccess::Admin),
            ("/messages", PageAccess::Admin),
            ("/settings", PageAccess::Admin),
            ("/tokens", PageAccess::Admin),
            ("/audit", PageAccess::Admin),
            ("/me", PageAccess::SignedIn),
            ("/me/", PageAccess::SignedIn),
            ("/login", PageAccess::Open),
            // Their sub-pages.
            ("/addresses/a@b.example", PageAccess::Admin),
            ("/addresses/x@y", PageAccess::Admin),
            ("/messages/x%2Fy", PageAccess::Admin),
            ("/messages/0100abc/jo@mail.example", PageAccess::Admin),
            // What the server serves besides pages.
            ("/pkg/mailvend.js", PageAccess::Open),
            ("/pkg/mailvend.css", PageAccess::Open),
            ("/favicon.svg", PageAccess::Open),
            ("/api/v1/addresses", PageAccess::Open),
            ("/api/v1/openapi.json", PageAccess::Open),
            ("/fn/status", PageAccess::Open),
            ("/auth/login", PageAccess::Open),
            ("/auth/callback", PageAccess::Open),
            ("/auth/local", PageAccess::Open),
            ("/sns", PageAccess::Open),
            ("/healthz", PageAccess::Open),
            ("/metrics", PageAccess::Open),
            // Unlisted: refused unless an admin asks.
            ("/secret", PageAccess::Admin),
            ("/no/such/page", PageAccess::Admin),
            ("/addressesX", PageAccess::Admin),
            ("/addresses/a@b.example/more", PageAccess::Admin),
            ("/me/secret", PageAccess::Admin),
            ("/login/secret", PageAccess::Admin),
            ("/pkg", PageAccess::Admin),
            ("/api", PageAccess::Admin),
            ("/healthz/secret", PageAccess::Admin),
            ("/favicon.svgX", PageAccess::Admin),
        ] {
            assert_eq!(page_access(path), want, "{path}");
        }
    }

    /// A path for each page of the table, its parameters filled in.
    fn sample(pattern: &str) -> String {
        pattern
            .split('/')
            .map(|s| match s.chars().next() {
                Some(':') => "x@y.example",
                Some('*') => "0100abc/x@y.example",
                _ => s,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn every_page_gets_the_access_the_table_gives_it() {
        for page in app::routes::PAGES {
            let path = sample(page.path);
            assert_eq!(page_access(&path), page.access, "{path}");
        }
    }

    /// The router's pattern in axum's words, as `generate_route_list` writes it.
    fn axum_path(pattern: &str) -> String {
        pattern
            .split('/')
            .map(|s| match s.strip_prefix(':') {
                Some(name) => format!("{{{name}}}"),
                None if s.starts_with('*') => format!("{{{s}}}"),
                None => s.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[tokio::test]
    async fn the_router_serves_exactly_the_pages_of_the_table() {
        let mut routed: Vec<String> = crate::web::route_list()
            .into_iter()
            .map(|r| {
                assert_eq!(
                    *r.mode(),
                    leptos_router::SsrMode::Async,
                    "{}: pages render in full on the server, so they work without JavaScript",
                    r.path()
                );
                r.path().to_string()
            })
            .collect();
        let mut listed: Vec<String> = app::routes::PAGES
            .iter()
            .map(|p| axum_path(p.path))
            .collect();
        routed.sort();
        listed.sort();
        assert_eq!(
            routed, listed,
            "shell.rs's routes and app::routes::PAGES must name the same pages"
        );
    }

    #[test]
    fn state_changes_need_our_origin() {
        let ours = "https://mailvend.example.com";
        for (method, path, origin, want) in [
            (Method::GET, "/", None, true),
            (Method::POST, "/fn/status", Some(ours), true),
            (
                Method::POST,
                "/fn/status",
                Some("https://evil.example"),
                false,
            ),
            (Method::POST, "/fn/status", None, false),
            (Method::POST, "/auth/logout", Some("null"), false),
            (
                Method::POST,
                "/auth/logout",
                Some("https://mailvend.example.com:444"),
                false,
            ),
            (Method::POST, "/sns", None, true),
            (
                Method::PATCH,
                "/api/v1/settings",
                Some("https://evil.example"),
                true,
            ),
            (
                Method::DELETE,
                "/addresses/x",
                Some("http://mailvend.example.com"),
                false,
            ),
        ] {
            assert_eq!(
                origin_allowed(&method, path, origin, ours),
                want,
                "{method} {path} {origin:?}"
            );
        }
    }
}
