//! A local AWS Account Management API for the primary-email operations moto lacks, speaking
//! the same REST-JSON protocol (docs/design/organizations-research.md §1), so the real SDK
//! client runs against it: a pending code per account, only the code it sent accepted, an
//! address in use refused with ConflictException, codes that expire, throttling on demand.
//! The codes it "mails" are kept, and handed to a test's mail hook, which delivers them as
//! AWS's mail would arrive (through `/sns`, signed as SNS signs).

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
    /// Accounts whose next Start mails this many codes of other requests first, and then
    /// its own code or not.
    garbled: HashMap<String, (u32, bool)>,
}

/// Called once per Start with (account id, new email, the codes mailed, in the order they
/// should arrive).
pub type MailHook = Arc<dyn Fn(String, String, Vec<String>) + Send + Sync>;

#[derive(Clone)]
pub struct FakeAccountApi {
    books: Arc<Mutex<Books>>,
    hook: Arc<Mutex<Option<MailHook>>>,
    url: String,
}

type Shared = State<(Arc<Mutex<Books>>, Arc<Mutex<Option<MailHook>>>)>;

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
        let hook: Arc<Mutex<Option<MailHook>>> = Arc::default();
        let router = Router::new()
            .route("/startPrimaryEmailUpdate", post(start))
            .route("/acceptPrimaryEmailUpdate", post(accept))
            .route("/getPrimaryEmail", post(get))
            .with_state((books.clone(), hook.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        FakeAccountApi { books, hook, url }
    }

    /// Each code mailed from now on is handed to `hook` too.
    pub fn mail_with(&self, hook: MailHook) {
        *self.hook.lock().unwrap() = Some(hook);
    }

    /// The next Start of `account_id` mails `others` codes of other requests first (as when
    /// someone else asks AWS to mail the same address), then its own code if `then_own`.
    pub fn garble(&self, account_id: &str, others: u32, then_own: bool) {
        self.books
            .lock()
            .unwrap()
            .garbled
            .insert(account_id.into(), (others, then_own));
    }

    /// An account the organization has besides those given at start (its email then is in
    /// use for every other account).
    pub fn add_account(&self, id: &str, email: &str) {
        self.books
            .lock()
            .unwrap()
            .accounts
            .insert(id.into(), email.into());
    }

    /// An account's root email as the stand-in holds it.
    pub fn email_of(&self, account_id: &str) -> Option<String> {
        self.books.lock().unwrap().accounts.get(account_id).cloned()
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

/// A code of the API's shape, letters and digits in turn (a shape nothing else in a test
/// run has, so that finding it anywhere means it leaked).
fn new_code() -> String {
    const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    (0..6)
        .map(|i| match i % 2 {
            0 => LETTERS[rand::random::<u32>() as usize % LETTERS.len()] as char,
            _ => char::from(b'0' + rand::random::<u8>() % 10),
        })
        .collect()
}

async fn start(State((books, hook)): Shared, Json(body): Json<Value>) -> Response {
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
    let code = new_code();
    let (others, own) = b.garbled.remove(&id).unwrap_or((0, true));
    let mut mailed: Vec<String> = (0..others).map(|_| new_code()).collect();
    if own {
        mailed.push(code.clone());
    }
    b.pending.insert(id.clone(), (email.clone(), code));
    if let Some(last) = mailed.last() {
        b.mailed.insert(email.clone(), last.clone());
    }
    drop(b);
    let hook = hook.lock().unwrap().clone();
    if let Some(hook) = hook {
        hook(id, email, mailed);
    }
    Json(json!({ "Status": "PENDING" })).into_response()
}

async fn accept(State((books, _)): Shared, Json(body): Json<Value>) -> Response {
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

async fn get(State((books, _)): Shared, Json(body): Json<Value>) -> Response {
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
