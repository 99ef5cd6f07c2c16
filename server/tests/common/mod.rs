//! A real server on port 0 with its own SQLite file, shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use server::config::{Config, StoreUrl};
use server::http::AppState;
use server::store::sqlite::SqliteStore;
use server::store::Stores;
use server::tokens::Scope;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const DOMAIN: &str = "mail.test.example";

pub struct TestServer {
    pub state: AppState,
    pub url: String,
    pub store: Arc<SqliteStore>,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<Result<(), server::ServeError>>,
    _dir: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mailvend.db");
    let mut config = Config::load(
        vec![("MAILVEND_DOMAIN".to_string(), DOMAIN.to_string())],
        None,
    )
    .unwrap();
    config.store = StoreUrl::Sqlite(db.clone());
    let config = Arc::new(config);
    let store = Arc::new(SqliteStore::open(&db).await.unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stores = Stores::from_backend(store.clone());
    let mailer = Arc::new(server::mailer::outbox::Outbox::new(
        dir.path().join("outbox"),
    ));
    let state = AppState::new(server::leptos_options(addr), config, stores, mailer);
    let app_state = state.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(server::run(state, listener, async {
        let _ = rx.await;
    }));
    TestServer {
        state: app_state,
        url: format!("http://{addr}"),
        store,
        stop: Some(tx),
        done,
        _dir: dir,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestServer {
    /// A new API token's text.
    pub async fn token(&self, scope: Scope) -> String {
        let (_, secret) = self
            .state
            .service
            .create_token("test", "integration", scope)
            .await
            .unwrap();
        secret.expose().to_string()
    }
}
