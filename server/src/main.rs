use std::process::ExitCode;
use std::time::Instant;

use std::sync::Arc;

use clap::Parser;
use server::cli::{Cli, Command, TokenCommand};
use server::config::Config;
use server::pipeline::{Pipeline, Retry};
use server::service::AppService;

/// mimalloc reuses a freed large buffer for the next one, where glibc maps every buffer over
/// 32 MB afresh and pays ~10,000 page faults for each 40 MB message: the 40 MB rewrite went
/// from 2.0 to 13 GB/s (docs/benchmarks.md, "The rewrite").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
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
    server::telemetry::init(config.log_format);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config, started).await,
        Command::Migrate => server::store::open(&config.store)
            .await
            .map(|_| {
                println!("store schema is up to date ({})", config.store.kind());
            })
            .map_err(server::ServeError::from),
        Command::Token(cmd) => token(config, cmd).await,
        Command::Deliver {
            recipients,
            sender,
            file,
        } => deliver(config, recipients, sender, file).await,
        Command::Replay { id, dead_letters } => replay(config, id, dead_letters).await,
        Command::Import { table, dry_run } => import(config, table, dry_run).await,
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

async fn serve(config: Config, started: Instant) -> Result<(), server::ServeError> {
    let listener = tokio::net::TcpListener::bind(config.site_addr)
        .await
        .map_err(|e| {
            server::ServeError::Listen(format!(
                "cannot listen on {} (LEPTOS_SITE_ADDR): {e}",
                config.site_addr
            ))
        })?;
    let addr = listener.local_addr()?;
    let state = server::build_state(config, server::leptos_options(addr)).await?;
    tracing::info!(
        %addr,
        store = state.config.store.kind(),
        mailer = state.config.mailer.kind(),
        startup_ms = started.elapsed().as_millis() as u64,
        "mailvend is ready"
    );
    println!("mailvend is serving http://{addr}");
    if let Some(link) = state.auth.local_login_link() {
        // The console is where local mode hands out its sign-in; it never goes to the log.
        println!("sign in as admin (local mode): {link}");
    }
    server::run(state, listener, server::shutdown_signal()).await
}

/// The service as the operator at the console uses it.
async fn console(config: Config) -> Result<AppService, server::ServeError> {
    let config = Arc::new(config);
    let stores = server::store::open(&config.store).await?;
    let mailer = server::mailer::open(&config.mailer)
        .await
        .map_err(server::ServeError::Command)?;
    let pipeline = Arc::new(Pipeline::new(
        config.clone(),
        stores.clone(),
        mailer,
        Arc::new(server::metrics::Metrics::new()),
        Retry::default(),
    ));
    Ok(AppService::new(config, stores, pipeline))
}

const ACTOR: &str = "cli";

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string(value).expect("reports serialize")
    );
}

async fn deliver(
    config: Config,
    recipients: Vec<String>,
    sender: Option<String>,
    file: std::path::PathBuf,
) -> Result<(), server::ServeError> {
    let raw = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(&file).map_err(|e| {
            server::ServeError::Command(format!("cannot read {}: {e}", file.display()))
        })?
    };
    let inbound = server::deliver::inbound(&raw, recipients, sender);
    let service = console(config).await?;
    let mut unfinished = false;
    for report in service.deliver(&inbound).await {
        unfinished |= report.outcome == server::pipeline::Delivery::Retry;
        print_json(&report);
    }
    if unfinished {
        return Err(server::ServeError::Command(
            "some recipients could not be processed (see the log); run the command again".into(),
        ));
    }
    Ok(())
}

async fn replay(config: Config, id: Option<String>, all: bool) -> Result<(), server::ServeError> {
    let service = console(config).await?;
    let fail = |e: server::service::ServiceError| server::ServeError::Command(e.to_string());
    let ids = match id {
        Some(id) if !all => vec![id],
        _ => service.dead_letters().await.map_err(fail)?,
    };
    if ids.is_empty() {
        eprintln!("no dead letters");
    }
    let mut failed = 0;
    for id in ids {
        match service.replay(ACTOR, &id).await {
            Ok(report) => print_json(&report),
            Err(e) => {
                failed += 1;
                eprintln!("{id}: {e}");
            }
        }
    }
    if failed > 0 {
        return Err(server::ServeError::Command(format!(
            "{failed} replays failed"
        )));
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

async fn import(config: Config, table: String, dry_run: bool) -> Result<(), server::ServeError> {
    let stores = server::store::open(&config.store).await?;
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let now = server::service::now_rfc3339();
    let lines = server::import::run(
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
async fn token(config: Config, cmd: TokenCommand) -> Result<(), server::ServeError> {
    let service = console(config).await?;
    let fail = |e: server::service::ServiceError| server::ServeError::Command(e.to_string());
    match cmd {
        TokenCommand::Create { name, scope } => {
            let scope = server::tokens::Scope::parse(&scope).expect("clap checked the scope");
            let (token, secret) = service
                .create_token(ACTOR, &name, scope)
                .await
                .map_err(fail)?;
            eprintln!(
                "created token {} ({}, scope {}); it is shown only this once:",
                token.id,
                token.name,
                token.scope.as_str()
            );
            println!("{}", secret.expose());
        }
        TokenCommand::List => {
            for t in service.tokens().await.map_err(fail)? {
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
            let t = service.revoke_token(ACTOR, &id).await.map_err(fail)?;
            println!("revoked {} ({})", t.id, t.name);
        }
    }
    Ok(())
}
