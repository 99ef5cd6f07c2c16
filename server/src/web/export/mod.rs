//! CSV exports of the address list and the message log, with the list's filters: from the
//! API (`?format=csv` or `Accept: text/csv` on the list routes) and from the pages' "Export
//! CSV" links (`/export/addresses.csv`, `/export/messages.csv`, for a signed-in admin).
//! Streamed a store page at a time, so an export of any size holds one page in memory.

mod cells;
pub mod format;

use std::sync::Arc;

use app::model::{AddressQuery, MessageQuery};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt as _, TryStreamExt as _};
use serde::Deserialize;

use crate::service::caller::AdminCaller;
use crate::service::{AppService, ServiceError};
use cells::Row;

/// The media type of every export; `header=present` (RFC 4180) says the first row names the
/// columns.
pub const CSV: &str = "text/csv; charset=utf-8; header=present";

pub use crate::state::MAX_EXPORTS;

/// The export slots of one server; a running export holds one until its body is dropped.
#[derive(Clone)]
pub struct ExportSlots(Arc<tokio::sync::Semaphore>);

impl Default for ExportSlots {
    fn default() -> Self {
        ExportSlots(Arc::new(tokio::sync::Semaphore::new(MAX_EXPORTS)))
    }
}

impl axum::extract::FromRef<crate::state::AppState> for ExportSlots {
    fn from_ref(state: &crate::state::AppState) -> Self {
        ExportSlots(state.exports.clone())
    }
}

/// A slot taken for one export; giving it back is dropping it.
pub struct Slot {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl ExportSlots {
    /// A free slot, if there is one.
    pub fn take(&self) -> Option<Slot> {
        let taken = self.0.clone().try_acquire_owned().ok()?;
        Some(Slot { _permit: taken })
    }
}

/// The `429` when every slot is taken: JSON for the API, text for the pages' links.
pub fn busy(json: bool) -> Response {
    let message =
        format!("{MAX_EXPORTS} exports are running on this server; try again in a few seconds");
    let mut res = if json {
        super::api::error::ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", message)
            .into_response()
    } else {
        (StatusCode::TOO_MANY_REQUESTS, message).into_response()
    };
    res.headers_mut()
        .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(5));
    res
}

/// A `200` whose body is the header row, then each page's rows as the store yields them.
/// Once the status is sent a store error can only cut the body short: the connection then
/// closes without the chunked body's end, so no client takes a cut export for a whole one.
pub fn csv<T: Row + Send + 'static>(
    name: &str,
    slot: Slot,
    pages: impl Stream<Item = Result<Vec<T>, ServiceError>> + Send + 'static,
) -> Response {
    let header_row = futures_util::stream::iter([Ok(cells::encode::<T>(&[], true))]);
    // The slot goes with the body: freed when the last row is sent or the client leaves.
    let rows = pages.map_ok(move |page| {
        let _held = &slot;
        cells::encode(&page, false)
    });
    let body = header_row
        .chain(rows)
        .map_ok(Bytes::from)
        .map_err(|e: ServiceError| {
            tracing::error!(error = %e, "a CSV export stopped part way: the client gets a cut body");
            std::io::Error::other(e.to_string())
        });
    let day = &crate::clock::now_rfc3339()[..10];
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, CSV.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"mailvend-{name}-{day}.csv\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// A signed-in admin, for the pages' download links (which the session authenticates, not a
/// token). `guard_pages` has already sent everyone else to sign in or refused them; this is
/// the proof the service asks for, made by the same check the server functions use.
pub struct SignedInAdmin(AdminCaller);

impl<S: Send + Sync> FromRequestParts<S> for SignedInAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        app::auth::admin_of(parts)
            .map(|admin| SignedInAdmin(AdminCaller::signed_in(&admin)))
            .map_err(|_| {
                (StatusCode::FORBIDDEN, "exports are for signed-in admins").into_response()
            })
    }
}

/// A download link's refusal: plain text naming what was wrong, since a person reads it.
fn refused(e: ServiceError) -> Response {
    let e = super::api::error::ApiError::from(e);
    let what = e.field.map(|f| format!("{f}: ")).unwrap_or_default();
    (e.status, format!("{what}{}", e.message)).into_response()
}

/// The Addresses page's filters, as its URL carries them (other parameters are ignored: the
/// link is built from the page's own query).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddressFilters {
    q: String,
    owner: String,
    status: String,
    account_type: String,
    unreachable: String,
    account_state: String,
}

/// Another site may navigate an admin's browser to a download link (the session cookie is
/// `SameSite=Lax`) to plant a file it helped fill; only our own pages, or the admin typing
/// the address, may start one. Browsers without `Sec-Fetch-Site` are let through.
fn cross_site(headers: &axum::http::HeaderMap) -> Option<Response> {
    let site = headers
        .get("sec-fetch-site")?
        .to_str()
        .unwrap_or("cross-site");
    (!matches!(site, "same-origin" | "none")).then(|| {
        (
            StatusCode::FORBIDDEN,
            "exports start from mailvend's own pages",
        )
            .into_response()
    })
}

/// `GET /export/addresses.csv`: the Addresses page's list, every page of it.
pub async fn addresses(
    State(service): State<Arc<AppService>>,
    State(slots): State<ExportSlots>,
    SignedInAdmin(admin): SignedInAdmin,
    headers: axum::http::HeaderMap,
    Query(f): Query<AddressFilters>,
) -> Response {
    if let Some(refused) = cross_site(&headers) {
        return refused;
    }
    let query = AddressQuery {
        q: f.q,
        owner: f.owner,
        status: f.status,
        account_type: f.account_type,
        unreachable: f.unreachable,
        account_state: f.account_state,
        cursor: String::new(),
    };
    let filter = match service.mapping_filter(&query).await {
        Ok(filter) => filter,
        Err(e) => return refused(e),
    };
    let Some(slot) = slots.take() else {
        return busy(false);
    };
    tracing::info!(actor = admin.actor(), ?filter, "addresses exported");
    match service.all_mappings(admin.as_vend(), filter, None).await {
        Ok(pages) => csv("addresses", slot, pages),
        Err(e) => refused(e),
    }
}

/// The Messages page's filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MessageFilters {
    outcome: String,
    address: String,
    from: String,
    to: String,
    delivery: String,
    class: String,
}

/// `GET /export/messages.csv`: the Messages page's log, every page of it.
pub async fn messages(
    State(service): State<Arc<AppService>>,
    State(slots): State<ExportSlots>,
    SignedInAdmin(admin): SignedInAdmin,
    headers: axum::http::HeaderMap,
    Query(f): Query<MessageFilters>,
) -> Response {
    if let Some(refused) = cross_site(&headers) {
        return refused;
    }
    let query = MessageQuery {
        outcome: f.outcome,
        address: f.address,
        from: f.from,
        to: f.to,
        delivery: f.delivery,
        class: f.class,
        cursor: String::new(),
    };
    let filter = match crate::service::message_filter(&query) {
        Ok(filter) => filter,
        Err(e) => return refused(e),
    };
    let Some(slot) = slots.take() else {
        return busy(false);
    };
    tracing::info!(actor = admin.actor(), ?filter, "message log exported");
    match service.all_messages(&admin, filter, None).await {
        Ok(pages) => csv("messages", slot, pages),
        Err(e) => refused(e),
    }
}

#[cfg(test)]
mod tests {
    use app::model::MessageRecord;

    use super::*;

    fn records(n: usize) -> Vec<MessageRecord> {
        (0..n)
            .map(|i| MessageRecord {
                id: format!("m-{i}/a@example.com"),
                ses_message_id: format!("m-{i}"),
                recipient: "a@example.com".into(),
                sender: "b@example.org".into(),
                subject: Some(format!("subject {i}")),
                size: 1,
                verdicts: String::new(),
                outcome: app::model::Outcome::Forwarded,
                delivered_to: None,
                detail: String::new(),
                mailer_message_id: None,
                error: None,
                attempts: 1,
                received_at: "2026-12-04T10:00:00Z".into(),
                updated_at: "2026-12-04T10:00:00Z".into(),
                delivery: None,
                class: None,
                policy: None,
            })
            .collect()
    }

    #[tokio::test]
    async fn the_body_is_the_header_then_every_page_in_order() {
        let pages = futures_util::stream::iter([Ok(records(2)), Ok(Vec::new()), Ok(records(1))]);
        let response = csv("messages", ExportSlots::default().take().unwrap(), pages);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CSV);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("received_at,"));
        assert!(lines[1].contains("subject 0") && lines[2].contains("subject 1"));
    }

    #[tokio::test]
    async fn a_slot_is_held_until_the_body_is_dropped() {
        let slots = ExportSlots::default();
        let bodies: Vec<Response> = (0..MAX_EXPORTS)
            .map(|_| {
                let pages = futures_util::stream::iter([Ok(records(1))]);
                csv("messages", slots.take().unwrap(), pages)
            })
            .collect();
        assert!(slots.take().is_none(), "every slot is taken");
        let answer = busy(true);
        assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers()[header::RETRY_AFTER], "5");
        drop(bodies);
        assert!(slots.take().is_some(), "dropped bodies free their slots");
    }

    #[tokio::test]
    async fn a_store_failure_after_the_first_rows_fails_the_body_instead_of_ending_it() {
        let pages = futures_util::stream::iter([Ok(records(3)), Err(ServiceError::Unavailable)]);
        let body = csv("messages", ExportSlots::default().take().unwrap(), pages).into_body();
        let read = axum::body::to_bytes(body, usize::MAX).await;
        assert!(
            read.is_err(),
            "a cut export must not read as a complete one"
        );
    }
}
