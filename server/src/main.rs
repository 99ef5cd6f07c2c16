use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use server::cli::{Cli, Command, TokenCommand};
use server::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
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
    server::run(state, listener, server::shutdown_signal()).await
}

/// Token commands act as the operator at the console.
async fn token(config: Config, cmd: TokenCommand) -> Result<(), server::ServeError> {
    const ACTOR: &str = "cli";
    let stores = server::store::open(&config.store).await?;
    let service = server::service::AppService::new(std::sync::Arc::new(config), stores);
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
