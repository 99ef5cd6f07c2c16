//! A real server on port 0 with its own SQLite file, shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use server::config::{Config, StoreUrl};
use server::inbound::pipeline::Retry;
use server::service::caller::AdminCaller;
use server::state::{AppState, Core};
use server::store::sqlite::SqliteStore;
use server::store::Stores;
use server::tokens::Scope;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub mod fleet;
pub mod sns;

pub const DOMAIN: &str = "mail.test.example";
/// The local-mode sign-in secret of test servers.
pub const LOGIN_TOKEN: &str = "integration-test-login-token-0123456789";

pub struct TestServer {
    pub state: AppState,
    pub url: String,
    pub store: Arc<SqliteStore>,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<Result<(), server::ServeError>>,
    dir: Arc<tempfile::TempDir>,
}

pub async fn start() -> TestServer {
    start_with(0, Vec::new()).await
}

/// A server on `port` (0: any) with these configuration variables added.
pub async fn start_with(port: u16, extra: Vec<(&str, String)>) -> TestServer {
    start_in(Arc::new(tempfile::tempdir().unwrap()), port, extra).await
}

/// Like `start_with`, on the store (and outbox) in `dir`: a second server beside a first, or
/// the same store restarted with other configuration.
pub async fn start_in(
    dir: Arc<tempfile::TempDir>,
    port: u16,
    extra: Vec<(&str, String)>,
) -> TestServer {
    start_full(dir, port, extra, None).await
}

/// A server with `MAILVEND_ORGANIZATIONS=on` (no schedule) whose AWS Organizations is the
/// moto server at `moto_url` (the real SDK client, pointed there).
pub async fn start_with_organizations(moto_url: &str) -> TestServer {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_url)
        .credentials_provider(aws_sdk_organizations::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let source = Arc::new(server::organizations::AwsOrganizations::with_config(
        &config,
    ));
    start_full(
        Arc::new(tempfile::tempdir().unwrap()),
        0,
        vec![
            ("MAILVEND_ORGANIZATIONS", "on".to_string()),
            ("MAILVEND_ORGANIZATIONS_SYNC_EVERY", "off".to_string()),
        ],
        Some((source, None)),
    )
    .await
}

/// As `start_with_organizations`, changing root emails through the Account API at
/// `account_url` (the real SDK client, pointed there); the job worker runs, unpaced.
pub async fn start_with_root_emails(moto_url: &str, account_url: &str) -> TestServer {
    let client = |url: &str| {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(url)
            .credentials_provider(aws_sdk_organizations::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
    };
    let source = Arc::new(server::organizations::AwsOrganizations::with_config(
        &client(moto_url).await,
    ));
    let api = Arc::new(
        server::organizations::root_email::AwsAccountApi::with_config(&client(account_url).await),
    );
    start_full(
        Arc::new(tempfile::tempdir().unwrap()),
        0,
        vec![
            ("MAILVEND_ORGANIZATIONS", "on".to_string()),
            ("MAILVEND_ORGANIZATIONS_SYNC_EVERY", "off".to_string()),
            ("MAILVEND_ORGANIZATIONS_ROOT_EMAILS", "on".to_string()),
            ("MAILVEND_ORGANIZATIONS_MOVE_PACE", "0s".to_string()),
        ],
        Some((source, Some(api))),
    )
    .await
}

/// Where a test server reads the organization, and changes root emails when given.
type Organization = (
    Arc<dyn server::organizations::AccountSource>,
    Option<Arc<dyn server::organizations::root_email::RootEmailApi>>,
);

async fn start_full(
    dir: Arc<tempfile::TempDir>,
    port: u16,
    extra: Vec<(&str, String)>,
    org: Option<Organization>,
) -> TestServer {
    let db = dir.path().join("mailvend.db");
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut vars: Vec<(String, String)> =
        extra.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    // Stopping a test server closes its listener at once unless a test asks for a drain.
    if !vars.iter().any(|(k, _)| k == "MAILVEND_DRAIN") {
        vars.push(("MAILVEND_DRAIN".to_string(), "0s".to_string()));
    }
    let sso = vars.iter().any(|(k, _)| k == "MAILVEND_OIDC_ISSUER");
    if !sso {
        vars.push((
            "MAILVEND_LOCAL_LOGIN_TOKEN".to_string(),
            LOGIN_TOKEN.to_string(),
        ));
    }
    let config = Config::load(
        vec![
            ("MAILVEND_DOMAIN".to_string(), DOMAIN.to_string()),
            ("LEPTOS_SITE_ADDR".to_string(), addr.to_string()),
            (
                "MAILVEND_STORE".to_string(),
                format!("sqlite://{}", db.display()),
            ),
        ]
        .into_iter()
        .chain(vars),
        None,
    )
    .unwrap();
    assert_eq!(config.store, StoreUrl::Sqlite(db.clone()));
    let config = Arc::new(config);
    let store = Arc::new(SqliteStore::open(&db).await.unwrap());
    let stores = Stores::from_backend(store.clone());
    let mailer = Arc::new(server::mailer::outbox::Outbox::new(
        dir.path().join("outbox"),
    ));
    let mut core = Core::new(config, stores, mailer, Retry::default());
    if let Some((source, api)) = org {
        core = core.with_organizations(source);
        if let Some(api) = api {
            core = core.with_root_emails(api);
        }
    }
    let state = AppState::new(core, server::leptos_options(addr));
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
        dir,
    }
}

/// A port free at the moment of asking (for a second listener or a process started later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A request the server never answers fails the test naming it, instead of hanging the
/// run (pages hung so until the route list was generated once; see docs/architecture.md).
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(ANSWER_WITHIN)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestServer {
    /// The directory of this server's store, for another server on the same data.
    pub fn dir(&self) -> Arc<tempfile::TempDir> {
        self.dir.clone()
    }

    /// A client signed in as the admin through the local-mode link, with a cookie jar.
    pub async fn admin_client(&self) -> reqwest::Client {
        let c = reqwest::Client::builder()
            .timeout(ANSWER_WITHIN)
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap();
        let r = c
            .get(format!("{}/auth/local?token={LOGIN_TOKEN}", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "local sign-in");
        c
    }

    /// Our own origin, as browsers send it on state-changing requests.
    pub fn origin(&self) -> String {
        self.url.clone()
    }

    /// A new API token's text.
    pub async fn token(&self, scope: Scope) -> String {
        let (_, secret) = self
            .state
            .core
            .service
            .create_token(&AdminCaller::console(), "integration", scope, None)
            .await
            .unwrap();
        secret.expose().to_string()
    }
}
