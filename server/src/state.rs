//! The running parts, wired once. `Core` is what every edge needs (the HTTP server, the CLI,
//! the tests): configuration, stores, metrics, the forwarding pipeline and the service over
//! them. `AppState` adds what only the HTTP server needs and hands each handler its part
//! through `FromRef`, so a handler names the piece it uses rather than the whole.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::auth::Auth;
use crate::config::Config;
use crate::inbound::pipeline::{Pipeline, Retry};
use crate::inbound::sns::endpoint::SnsEndpoint;
use crate::mailer::Mailer;
use crate::metrics::Metrics;
use crate::service::AppService;
use crate::store::{StoreError, Stores};

/// Why the server or a command could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Listen(String),
    /// A command-line subcommand failed; the message says why.
    #[error("{0}")]
    Command(String),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone)]
pub struct Core {
    pub config: Arc<Config>,
    pub stores: Stores,
    pub metrics: Arc<Metrics>,
    pub pipeline: Arc<Pipeline>,
    pub service: Arc<AppService>,
}

impl Core {
    /// Opens the configured store and mailer (and AWS Organizations when it is on) and wires
    /// the rest.
    pub async fn open(config: Config) -> Result<Core, ServeError> {
        let stores = crate::store::open(&config.store).await?;
        let mailer = crate::mailer::open(&config.mailer, config.ses_configuration_set.as_deref())
            .await
            .map_err(ServeError::Command)?;
        let org = match &config.organizations {
            Some(o) => Some(crate::organizations::source::sdk_config(o.role_arn.as_deref()).await),
            None => None,
        };
        let core = Core::new(Arc::new(config), stores, mailer, Retry::default());
        Ok(match org {
            Some(sdk) => {
                let core = core.with_organizations(Arc::new(
                    crate::organizations::AwsOrganizations::with_config(&sdk),
                ));
                match core
                    .config
                    .organizations
                    .as_ref()
                    .is_some_and(|o| o.root_emails)
                {
                    true => core.with_root_emails(Arc::new(
                        crate::organizations::root_email::AwsAccountApi::with_config(&sdk),
                    )),
                    false => core,
                }
            }
            None => core,
        })
    }

    /// This core finishing root email changes through `api` (tests point the AWS client at
    /// a local stand-in): the service queues and starts jobs, the pipeline takes AWS's
    /// verification mail. Call after `with_organizations`, and only with the organization on.
    pub fn with_root_emails(
        self,
        api: Arc<dyn crate::organizations::root_email::RootEmailApi>,
    ) -> Core {
        self.wire_root_emails(api);
        self
    }

    /// As `with_root_emails`, on a core already shared (a test server's).
    pub fn wire_root_emails(&self, api: Arc<dyn crate::organizations::root_email::RootEmailApi>) {
        let o = self
            .config
            .organizations
            .as_ref()
            .expect("root email changes need MAILVEND_ORGANIZATIONS=on");
        let recogniser = crate::organizations::verification::Recogniser {
            subject: o.verify_subject.clone(),
            sender_domains: o.verify_senders.clone(),
        };
        let jobs = Arc::new(crate::inbound::root_email::RootEmails::new(
            &self.stores,
            api,
            recogniser,
            o.code_wait,
        ));
        self.pipeline.set_root_emails(jobs.clone());
        self.service.set_root_emails(jobs);
    }

    /// This core with the organization read from `source` (tests point the AWS client at
    /// moto). Call before anything holds the service.
    pub fn with_organizations(
        mut self,
        source: Arc<dyn crate::organizations::AccountSource>,
    ) -> Core {
        self.service = Arc::new(
            AppService::new(
                self.config.clone(),
                self.stores.clone(),
                self.pipeline.clone(),
            )
            .with_organizations(source),
        );
        self
    }

    /// Wires given parts; the pipeline retries sends as `retry` says (tests make failures
    /// quick).
    pub fn new(config: Arc<Config>, stores: Stores, mailer: Arc<dyn Mailer>, retry: Retry) -> Core {
        let metrics = Arc::new(Metrics::new());
        let pipeline = Arc::new(Pipeline::new(
            config.clone(),
            stores.clone(),
            mailer,
            metrics.clone(),
            retry,
        ));
        let service = Arc::new(AppService::new(
            config.clone(),
            stores.clone(),
            pipeline.clone(),
        ));
        Core {
            config,
            stores,
            metrics,
            pipeline,
            service,
        }
    }
}

/// What the HTTP server routes with.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub leptos_options: LeptosOptions,
    pub sns: Arc<SnsEndpoint>,
    pub auth: Arc<Auth>,
    pub limiter: Arc<crate::auth::limits::Limiter>,
    /// The slots of the CSV exports running at once (`web::export::ExportSlots`).
    pub exports: Arc<tokio::sync::Semaphore>,
    /// Set on SIGTERM: the health check fails and `/sns` turns notifications away.
    pub drain: crate::drain::Drain,
}

/// How many exports one server streams at once: each holds a store reader for as long as its
/// client takes to read, so a few slow or hostile downloads must not take every reader.
pub const MAX_EXPORTS: usize = 4;

impl AppState {
    pub fn new(core: Core, leptos_options: LeptosOptions) -> AppState {
        AppState {
            sns: Arc::new(SnsEndpoint::from_config(&core.config)),
            auth: Arc::new(Auth::new(
                &core.config,
                core.stores.sessions.clone(),
                core.service.session_epoch(),
            )),
            limiter: Arc::new(crate::auth::limits::Limiter::new(&core.config)),
            exports: Arc::new(tokio::sync::Semaphore::new(MAX_EXPORTS)),
            drain: Default::default(),
            core,
            leptos_options,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for crate::drain::Drain {
    fn from_ref(state: &AppState) -> Self {
        state.drain.clone()
    }
}

impl FromRef<AppState> for Arc<Auth> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl FromRef<AppState> for Arc<AppService> {
    fn from_ref(state: &AppState) -> Self {
        state.core.service.clone()
    }
}

impl FromRef<AppState> for Stores {
    fn from_ref(state: &AppState) -> Self {
        state.core.stores.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.core.metrics.clone()
    }
}

impl FromRef<AppState> for Arc<crate::config::Config> {
    fn from_ref(state: &AppState) -> Self {
        state.core.config.clone()
    }
}
