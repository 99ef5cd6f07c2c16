//! A local AWS Account Management API for the primary-email operations moto lacks, speaking
//! the same REST-JSON protocol (docs/design/organizations-research.md §1), so the real SDK
//! client runs against it: a pending code per account, only the code it sent accepted, an
//! address in use refused with ConflictException, codes that expire, throttling on demand.
//! The codes it "mails" are kept for the test to deliver (as AWS's mail would arrive).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Default)]
struct Books {
    /// Account id → root email.
    accounts: HashMap<String, String>,
    /// Account id → (new email, code) waiting for Accept.
    pending: HashMap<String, (String, String)>,
    /// New email → the last code sent to it.
    mailed: HashMap<String, String>,
    throttle: u32,
    throttled: u32,
}

#[derive(Clone)]
pub struct FakeAccountApi {
    books: Arc<Mutex<Books>>,
    url: String,
}

fn error(status: StatusCode, kind: &'static str, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("x-amzn-ErrorType", HeaderValue::from_static(kind));
    (status, headers, Json(json!({ "message": message }))).into_response()
}

fn field(body: &Value, name: &str) -> String {
    body[name].as_str().unwrap_or_default().to_string()
}

impl FakeAccountApi {
    /// Serves on a port of its own until the test's runtime ends; `accounts` are
    /// (id, root email).
    pub async fn start(accounts: &[(&str, &str)]) -> FakeAccountApi {
        let books = Arc::new(Mutex::new(Books {
            accounts: accounts
                .iter()
                .map(|(id, email)| (id.to_string(), email.to_string()))
                .collect(),
            ..Books::default()
        }));
        let router = Router::new()
            .route("/startPrimaryEmailUpdate", post(start))
            .route("/acceptPrimaryEmailUpdate", post(accept))
            .route("/getPrimaryEmail", post(get))
            .with_state(books.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        FakeAccountApi { books, url }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The last code mailed to `email`.
    pub fn code_sent_to(&self, email: &str) -> Option<String> {
        self.books.lock().unwrap().mailed.get(email).cloned()
    }

    /// Every pending code stops being valid, as after AWS's 24 hours.
    pub fn expire_codes(&self) {
        self.books.lock().unwrap().pending.clear();
    }

    /// The next `n` calls answer 429 TooManyRequestsException.
    pub fn throttle_next(&self, n: u32) {
        self.books.lock().unwrap().throttle = n;
    }

    pub fn throttled(&self) -> u32 {
        self.books.lock().unwrap().throttled
    }
}

type Shared = State<Arc<Mutex<Books>>>;

/// Throttles the call when asked to.
fn throttled(b: &mut Books) -> Option<Response> {
    (b.throttle > 0).then(|| {
        b.throttle -= 1;
        b.throttled += 1;
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate exceeded",
        )
    })
}

async fn start(State(books): Shared, Json(body): Json<Value>) -> Response {
    let mut b = books.lock().unwrap();
    if let Some(r) = throttled(&mut b) {
        return r;
    }
    let (id, email) = (field(&body, "AccountId"), field(&body, "PrimaryEmail"));
    if !b.accounts.contains_key(&id) {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            "account not found",
        );
    }
    if b.accounts.values().any(|e| e.eq_ignore_ascii_case(&email)) {
        return error(
            StatusCode::CONFLICT,
            "ConflictException",
            "the email address is already in use",
        );
    }
    let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
    b.pending.insert(id, (email.clone(), code.clone()));
    b.mailed.insert(email, code);
    Json(json!({ "Status": "PENDING" })).into_response()
}

async fn accept(State(books): Shared, Json(body): Json<Value>) -> Response {
    let mut b = books.lock().unwrap();
    if let Some(r) = throttled(&mut b) {
        return r;
    }
    let (id, email, otp) = (
        field(&body, "AccountId"),
        field(&body, "PrimaryEmail"),
        field(&body, "Otp"),
    );
    match b.pending.get(&id) {
        Some((pending, code)) if *pending == email && *code == otp => {
            b.pending.remove(&id);
            b.accounts.insert(id, email);
            Json(json!({ "Status": "ACCEPTED" })).into_response()
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "the one-time password is not valid",
        ),
    }
}

async fn get(State(books): Shared, Json(body): Json<Value>) -> Response {
    let b = books.lock().unwrap();
    match b.accounts.get(&field(&body, "AccountId")) {
        Some(email) => Json(json!({ "PrimaryEmail": email })).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            "account not found",
        ),
    }
}
