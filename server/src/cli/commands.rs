//! What each subcommand does. Commands that act on data go through the service as the
//! console (`AdminCaller::console`), so the audit log names them `cli`, as it always has.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use super::{Cli, Command, OwnerCommand, TokenCommand};
use crate::config::Config;
use crate::service::caller::AdminCaller;
use crate::service::{AppService, ServiceError};
use crate::state::{AppState, Core, ServeError};

/// Runs what the command line asks for; the exit code says how it went.
pub async fn run(cli: Cli, started: Instant) -> ExitCode {
    if let Some(Command::Healthcheck) = cli.command {
        // Before the configuration: a probe must stay cheap and must not log.
        return healthcheck().await;
    }
    let config = match Config::from_process() {
        Ok(c) => c,
        Err(errors) => {
            eprint!("{errors}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(config.log_format);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config, started).await,
        Command::Migrate => crate::store::open(&config.store)
            .await
            .map(|_| {
                println!("store schema is up to date ({})", config.store.kind());
            })
            .map_err(ServeError::from),
        Command::Token(cmd) => token(config, cmd).await,
        Command::Owner(cmd) => owner(config, cmd).await,
        Command::Org(cmd) => org(config, cmd).await,
        Command::Deliver {
            recipients,
            sender,
            file,
        } => deliver(config, recipients, sender, file).await,
        Command::DeliveryEvent { file } => delivery_event(config, file).await,
        Command::Replay { id, dead_letters } => replay(config, id, dead_letters).await,
        Command::Import { table, dry_run } => import(config, table, dry_run).await,
        Command::Backup { file } => backup(config, file).await,
        Command::Healthcheck => unreachable!("handled before the configuration is read"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "mailvend stopped");
            eprintln!("mailvend: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, started: Instant) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(config.site_addr)
        .await
        .map_err(|e| {
            ServeError::Listen(format!(
                "cannot listen on {} (LEPTOS_SITE_ADDR): {e}",
                config.site_addr
            ))
        })?;
    let addr = listener.local_addr()?;
    let state = AppState::new(
        Core::open(config).await?,
        crate::web::serve::leptos_options(addr),
    );
    state
        .core
        .service
        .check_admin_address()
        .await
        .map_err(ServeError::Command)?;
    tracing::info!(
        %addr,
        store = state.core.config.store.kind(),
        mailer = state.core.config.mailer.kind(),
        startup_ms = started.elapsed().as_millis() as u64,
        "mailvend is ready"
    );
    println!("mailvend is serving http://{addr}");
    if let Some(link) = state.auth.local_login_link() {
        // The console is where local mode hands out its sign-in; it never goes to the log.
        println!("sign in as admin (local mode): {link}");
    }
    crate::web::serve::run(state, listener, crate::web::serve::shutdown_signal()).await
}

/// The service, for the operator at the console.
async fn console(config: Config) -> Result<(Arc<AppService>, AdminCaller), ServeError> {
    Ok((Core::open(config).await?.service, AdminCaller::console()))
}

/// A service refusal, as the command reports it.
fn command_error(e: ServiceError) -> ServeError {
    ServeError::Command(e.to_string())
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string(value).expect("reports serialize")
    );
}

/// The bytes of `file`, or of standard input for `-`.
fn read_input(file: &std::path::Path) -> Result<Vec<u8>, ServeError> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file)
            .map_err(|e| ServeError::Command(format!("cannot read {}: {e}", file.display())))
    }
}

async fn delivery_event(config: Config, file: std::path::PathBuf) -> Result<(), ServeError> {
    let text = String::from_utf8(read_input(&file)?)
        .map_err(|_| ServeError::Command(format!("{} is not UTF-8 text", file.display())))?;
    if !crate::inbound::feedback::is_feedback(&text) {
        return Err(ServeError::Command(format!(
            "{} is not SES delivery feedback (an object with eventType, or notificationType Bounce, Complaint or Delivery)",
            file.display()
        )));
    }
    let event =
        crate::inbound::feedback::parse(&text).map_err(|e| ServeError::Command(e.to_string()))?;
    let (service, caller) = console(config).await?;
    let status = service
        .delivery_event(&caller, &event)
        .await
        .map_err(command_error)?;
    print_json(&serde_json::json!({
        "status": status,
        "event": event.event,
        "mailer_message_id": event.mailer_message_id,
    }));
    Ok(())
}

async fn backup(config: Config, file: std::path::PathBuf) -> Result<(), ServeError> {
    let crate::config::StoreUrl::Sqlite(path) = &config.store else {
        return Err(ServeError::Command(format!(
            "backup copies the SQLite store; this one is {}: use DynamoDB's point-in-time \
             recovery (docs/deployment.md)",
            config.store.kind()
        )));
    };
    let summary = crate::store::sqlite::backup(path, &file).await?;
    print_json(&serde_json::json!({
        "file": file.display().to_string(),
        "source": path.display().to_string(),
        "bytes": summary.bytes,
        "mappings": summary.mappings,
        "message_records": summary.message_records,
        "audit_entries": summary.audit_entries,
        "integrity": "ok",
    }));
    Ok(())
}

async fn deliver(
    config: Config,
    recipients: Vec<String>,
    sender: Option<String>,
    file: std::path::PathBuf,
) -> Result<(), ServeError> {
    let raw = read_input(&file)?;
    let inbound = crate::inbound::local::inbound(&raw, recipients, sender);
    let (service, caller) = console(config).await?;
    let mut unfinished = false;
    for report in service.deliver(&caller, &inbound).await {
        unfinished |= report.outcome == crate::inbound::Delivery::Retry;
        print_json(&report);
    }
    if unfinished {
        return Err(ServeError::Command(
            "some recipients could not be processed (see the log); run the command again".into(),
        ));
    }
    Ok(())
}

async fn owner(config: Config, cmd: OwnerCommand) -> Result<(), ServeError> {
    use crate::service::BulkAction;
    let (owner, action, dry_run) = match cmd {
        OwnerCommand::Reassign { owner, to, dry_run } => {
            (owner, BulkAction::Reassign { to }, dry_run)
        }
        OwnerCommand::Suspend { owner, dry_run } => (owner, BulkAction::Suspend, dry_run),
    };
    let (service, caller) = console(config).await?;
    let done = service
        .bulk_owner(&caller, &owner, &action, dry_run)
        .await
        .map_err(command_error)?;
    print_json(&done);
    Ok(())
}

async fn org(config: Config, cmd: super::OrgCommand) -> Result<(), ServeError> {
    use super::OrgCommand;
    let (service, caller) = console(config).await?;
    match cmd {
        OrgCommand::Sync => {
            let summary = service
                .sync_accounts(&caller)
                .await
                .map_err(command_error)?;
            print_json(&summary);
        }
        OrgCommand::Accounts { drift } => {
            let mut query = app::org::AccountQuery {
                drift: drift.unwrap_or_default(),
                cursor: String::new(),
            };
            loop {
                let page = service
                    .accounts(&caller, &query, Some(crate::service::MAX_PAGE))
                    .await
                    .map_err(command_error)?;
                for account in &page.items {
                    print_json(account);
                }
                match page.next_cursor {
                    Some(c) => query.cursor = c,
                    None => break,
                }
            }
        }
        OrgCommand::Adopt {
            account_id,
            owner,
            account_type,
        } => {
            let mapping = service
                .adopt_account(&caller, &account_id, &owner, account_type.as_deref())
                .await
                .map_err(command_error)?;
            print_json(&mapping);
        }
        OrgCommand::Move { account_ids, owner } => {
            let results = service
                .move_accounts(&caller, &account_ids, owner.as_deref())
                .await
                .map_err(command_error)?;
            let refused = results.iter().filter(|r| r.job.is_none()).count();
            for r in &results {
                print_json(r);
            }
            if refused > 0 {
                return Err(ServeError::Command(format!(
                    "{refused} of {} accounts were refused (see their error)",
                    results.len()
                )));
            }
        }
        OrgCommand::Jobs => {
            let mut cursor: Option<String> = None;
            loop {
                let page = service
                    .jobs(&caller, Some(crate::service::MAX_PAGE), cursor.as_deref())
                    .await
                    .map_err(command_error)?;
                for job in &page.items {
                    print_json(job);
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        OrgCommand::Retry { account_id } => {
            let job = service
                .retry_job(&caller, &account_id)
                .await
                .map_err(command_error)?;
            print_json(&job);
        }
    }
    Ok(())
}

async fn replay(config: Config, id: Option<String>, all: bool) -> Result<(), ServeError> {
    let (service, caller) = console(config).await?;
    let ids = match id {
        Some(id) if !all => vec![id],
        _ => service.dead_letters(&caller).await.map_err(command_error)?,
    };
    if ids.is_empty() {
        eprintln!("no dead letters");
    }
    let mut failed = 0;
    for id in ids {
        match service.replay(&caller, &id).await {
            Ok(report) => print_json(&report),
            Err(e) => {
                failed += 1;
                eprintln!("{id}: {e}");
            }
        }
    }
    if failed > 0 {
        return Err(ServeError::Command(format!("{failed} replays failed")));
    }
    Ok(())
}

/// GET /healthz on the local port (`LEPTOS_SITE_ADDR`'s, else `PORT`, else 3000).
async fn healthcheck() -> ExitCode {
    let port = std::env::var("LEPTOS_SITE_ADDR")
        .ok()
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        .map(|a| a.port())
        .or_else(|| std::env::var("PORT").ok().and_then(|p| p.parse().ok()))
        .unwrap_or(3000);
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(_) => return ExitCode::FAILURE,
    };
    match client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("unhealthy: /healthz answered {}", r.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn import(config: Config, table: String, dry_run: bool) -> Result<(), ServeError> {
    let stores = crate::store::open(&config.store).await?;
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let now = crate::clock::now_rfc3339();
    let lines = super::import::run(
        &client,
        &table,
        &*stores.mappings,
        &config.domain,
        dry_run,
        &now,
    )
    .await?;
    let count = |o: &str| lines.iter().filter(|l| l.outcome == o).count();
    for line in &lines {
        print_json(line);
    }
    eprintln!(
        "{} items: {} imported, {} already here, {} refused{}",
        lines.len(),
        count("imported"),
        count("exists"),
        count("refused"),
        if dry_run {
            format!(" ({} would be imported; dry run)", count("would_import"))
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Token commands act as the operator at the console.
async fn token(config: Config, cmd: TokenCommand) -> Result<(), ServeError> {
    let (service, caller) = console(config).await?;
    match cmd {
        TokenCommand::Create {
            name,
            scope,
            expires_days,
        } => {
            let scope = crate::tokens::Scope::parse(&scope).expect("clap checked the scope");
            let (token, secret) = service
                .create_token(&caller, &name, scope, expires_days)
                .await
                .map_err(command_error)?;
            eprintln!(
                "created token {} ({}, scope {}); it is shown only this once:",
                token.id,
                token.name,
                token.scope.as_str()
            );
            println!("{}", secret.expose());
        }
        TokenCommand::List => {
            for t in service.tokens(&caller).await.map_err(command_error)? {
                println!(
                    "{}\t{}\t{}\tcreated {} by {}{}",
                    t.id,
                    t.scope.as_str(),
                    t.name,
                    t.created_at,
                    t.created_by,
                    t.revoked_at
                        .map(|r| format!("\trevoked {r}"))
                        .unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let t = service
                .revoke_token(&caller, &id)
                .await
                .map_err(command_error)?;
            println!("revoked {} ({})", t.id, t.name);
        }
    }
    Ok(())
}
