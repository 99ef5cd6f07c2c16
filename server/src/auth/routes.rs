//! `/auth/login`, `/auth/callback`, `/auth/logout`, `/auth/local`.

use app::auth::{Role, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::oidc::{LoginError, PendingLogin};
use super::{Mode, LOGIN, VIEWER};
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

pub async fn login(
    State(auth): State<Arc<Auth>>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Response {
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
    if let Err(e) = session.insert(LOGIN, pending).await {
        return session_failed(e);
    }
    Redirect::to(url.as_str()).into_response()
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
    Query(q): Query<CallbackQuery>,
) -> Response {
    // One use only: a replayed callback finds nothing pending.
    let pending = match session.remove::<PendingLogin>(LOGIN).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            tracing::warn!("sign-in callback without a sign-in in progress");
            return problem(
                StatusCode::BAD_REQUEST,
                "no sign-in is in progress in this browser (or this response was already used); start again",
            );
        }
        Err(e) => return session_failed(e),
    };
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
    let next = pending.next.clone();
    match oidc.finish(pending, &code, &st).await {
        Ok(viewer) => sign_in(&session, viewer, &next).await,
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
async fn sign_in(session: &Session, viewer: Viewer, next: &str) -> Response {
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
    sign_in(&session, viewer, "/").await
}

pub async fn logout(session: Session) -> Response {
    if let Err(e) = session.flush().await {
        return session_failed(e);
    }
    Redirect::to("/login").into_response()
}
