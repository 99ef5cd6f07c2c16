//! `/auth/login`, `/auth/callback`, `/auth/logout`, `/auth/local`.

use app::auth::{Role, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::grant::Grant;
use super::oidc::LoginError;
use super::{Mode, GRANT, VIEWER};
use std::sync::Arc;

use super::Auth;

/// A plain page for sign-in failures (they happen before the app can render).
fn problem(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Sign-in failed</title>\
         <link rel=\"stylesheet\" href=\"/pkg/mailvend.css\">\
         <main class=\"mx-auto max-w-md p-8\"><h1 class=\"text-xl font-semibold\">Sign-in failed</h1>\
         <p class=\"mt-2\">{escaped}</p><p class=\"mt-4\"><a class=\"underline\" href=\"/login\">Back to sign-in</a></p></main></html>"
    );
    (
        status,
        [(
            axum::http::header::CONTENT_SECURITY_POLICY,
            super::PLAIN_PAGE_CSP,
        )],
        Html(body),
    )
        .into_response()
}

fn session_failed(e: tower_sessions::session::Error) -> Response {
    tracing::error!(error = %e, "session store failed");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "the session store is unavailable; try again",
    )
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login(State(auth): State<Arc<Auth>>, Query(q): Query<LoginQuery>) -> Response {
    let next = app::next::safe_next(q.next.as_deref());
    if let Mode::Local { .. } = auth.mode {
        return Redirect::to("/login").into_response();
    }
    let oidc = match auth.oidc().await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "OIDC discovery failed");
            return problem(StatusCode::BAD_GATEWAY, &e.to_string());
        }
    };
    let (url, pending) = oidc.start(next);
    let Some(sealed) = auth.seal_pending(&pending) else {
        return problem(StatusCode::NOT_FOUND, "single sign-on is not configured");
    };
    // Nothing is written to the store: the sign-in waits in the browser, signed.
    let cookie = pending_cookie(&auth, sealed, super::pending::MAX_AGE_SECS);
    (
        [(axum::http::header::SET_COOKIE, cookie)],
        Redirect::to(url.as_str()),
    )
        .into_response()
}

/// The name of the cookie holding a sign-in in progress.
const PENDING: &str = "mailvend_login";

/// `Set-Cookie` for the pending sign-in: HttpOnly, Lax (the identity provider's redirect
/// back is a top-level navigation, which Lax lets through), `Path=/` (the `__Host-` prefix
/// requires it), Secure behind https; `max_age` 0 removes it.
fn pending_cookie(auth: &Auth, value: String, max_age: i64) -> String {
    tower_sessions::cookie::Cookie::build((auth.cookie_name(PENDING), value))
        .http_only(true)
        .same_site(tower_sessions::cookie::SameSite::Lax)
        .secure(auth.secure_cookies)
        .path("/")
        .max_age(tower_sessions::cookie::time::Duration::seconds(max_age))
        .build()
        .to_string()
}

/// The pending sign-in cookie the browser sent, if any.
fn pending_value(auth: &Auth, headers: &axum::http::HeaderMap) -> Option<String> {
    let name = auth.cookie_name(PENDING);
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(tower_sessions::cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(auth): State<Arc<Auth>>,
    session: Session,
    headers: axum::http::HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    // Whatever happens, the pending sign-in is spent: the answer removes its cookie.
    let clear = [(
        axum::http::header::SET_COOKIE,
        pending_cookie(&auth, String::new(), 0),
    )];
    let pending = match pending_value(&auth, &headers).map(|v| auth.open_pending(&v)) {
        Some(Ok(p)) => p,
        Some(Err(why)) => {
            tracing::warn!(why, "sign-in callback with a bad pending sign-in");
            return (clear, problem(StatusCode::BAD_REQUEST, why)).into_response();
        }
        None => {
            tracing::warn!("sign-in callback without a sign-in in progress");
            return (
                clear,
                problem(
                    StatusCode::BAD_REQUEST,
                    "no sign-in is in progress in this browser (or this response was already used); start again",
                ),
            )
                .into_response();
        }
    };
    (clear, finish_callback(&auth, &session, q, pending).await).into_response()
}

async fn finish_callback(
    auth: &Auth,
    session: &Session,
    q: CallbackQuery,
    pending: super::oidc::PendingLogin,
) -> Response {
    if let Some(error) = q.error {
        tracing::warn!(%error, "the identity provider refused the sign-in");
        let detail = q.error_description.unwrap_or(error);
        return problem(
            StatusCode::FORBIDDEN,
            &format!("the identity provider refused: {detail}"),
        );
    }
    let (Some(code), Some(st)) = (q.code, q.state) else {
        return problem(StatusCode::BAD_REQUEST, "the response has no code or state");
    };
    let oidc = match auth.oidc().await {
        Ok(o) => o,
        Err(e) => return problem(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    // Checked when the sign-in began; checked again, since the cookie carried it meanwhile.
    let next = app::next::safe_next(Some(&pending.next));
    match oidc.finish(pending, &code, &st).await {
        Ok((viewer, by_group)) => sign_in(session, viewer, by_group, false, &next).await,
        Err(e) => {
            tracing::warn!(error = %e, "sign-in refused");
            let status = match e {
                LoginError::Provider(_) => StatusCode::BAD_GATEWAY,
                LoginError::State => StatusCode::BAD_REQUEST,
                _ => StatusCode::FORBIDDEN,
            };
            problem(status, &e.to_string())
        }
    }
}

/// A fresh session id for the signed-in person (no fixation), then on to `next` — or, for
/// an owner headed to an admin page (the overview, by default), to their own addresses.
async fn sign_in(
    session: &Session,
    viewer: Viewer,
    admin_by_group: bool,
    local: bool,
    next: &str,
) -> Response {
    let next = if viewer.role == Role::Owner
        && super::guard::page_access(next.split('?').next().unwrap_or("/"))
            == super::guard::PageAccess::Admin
    {
        "/me"
    } else {
        next
    };
    if let Err(e) = session.cycle_id().await {
        return session_failed(e);
    }
    tracing::info!(email = %viewer.email, role = ?viewer.role, "signed in");
    if let Err(e) = session.insert(VIEWER, viewer).await {
        return session_failed(e);
    }
    let now = crate::clock::unix_now_ms();
    let grant = Grant {
        at: now,
        touched: now,
        admin_by_group,
        local,
    };
    if let Err(e) = session.insert(GRANT, grant).await {
        return session_failed(e);
    }
    Redirect::to(next).into_response()
}

#[derive(Deserialize)]
pub struct LocalQuery {
    token: Option<String>,
}

pub async fn local(
    State(auth): State<Arc<Auth>>,
    session: Session,
    Query(q): Query<LocalQuery>,
) -> Response {
    if let Err(why) = auth.accept_local(&q.token.unwrap_or_default()) {
        tracing::warn!(why, "local sign-in refused");
        let status = match auth.mode {
            Mode::Sso { .. } => StatusCode::NOT_FOUND,
            Mode::Local { .. } => StatusCode::FORBIDDEN,
        };
        return problem(status, why);
    }
    let viewer = Viewer {
        email: auth.local_admin.clone(),
        name: Some("Local admin".into()),
        role: Role::Admin,
    };
    sign_in(&session, viewer, false, true, "/").await
}

pub async fn logout(session: Session) -> Response {
    if let Err(e) = session.flush().await {
        return session_failed(e);
    }
    Redirect::to("/login").into_response()
}
