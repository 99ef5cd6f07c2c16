//! One-time notices across a redirect. Without JavaScript a form posts to a server function,
//! which answers with a redirect back to the page; what the function has to say (a vend's
//! result, a new token's secret) would be lost in between. It is kept in the session instead
//! and shown once by the next page. With JavaScript the function's value reaches the page
//! directly, so nothing is kept.

use std::sync::Arc;

use crate::model::Notice;

/// Where notices wait (the server implements it over the sign-in session).
#[async_trait::async_trait]
pub trait FlashStore: Send + Sync {
    async fn put(&self, notice: Notice);
    async fn take(&self) -> Option<Notice>;
}

/// The request's flash store; the server puts it in the request's extensions.
#[derive(Clone)]
pub struct Flash(pub Arc<dyn FlashStore>);

fn parts() -> Option<http::request::Parts> {
    leptos::prelude::use_context::<http::request::Parts>()
}

/// A plain HTML form post (no JavaScript): the browser asks for HTML, the server-function
/// client asks for something else.
pub fn is_form_post() -> bool {
    parts().is_some_and(|p| {
        p.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// Keeps `notice` for the next page, when the caller will not see the function's value.
pub async fn notify(notice: Notice) {
    if !is_form_post() {
        return;
    }
    if let Some(flash) = parts().and_then(|p| p.extensions.get::<Flash>().cloned()) {
        flash.0.put(notice).await;
    }
}

/// The notice waiting for this page, removed as it is read.
pub async fn take() -> Option<Notice> {
    let flash = parts()?.extensions.get::<Flash>().cloned()?;
    flash.0.take().await
}

/// Sends a plain form post to `path` instead of back to the page it came from (the client
/// router follows the same redirect with JavaScript).
pub fn redirect(path: &str) {
    leptos_axum::redirect(path);
}
