use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// mimalloc reuses a freed large buffer for the next one, where glibc maps every buffer over
/// 32 MB afresh and pays ~10,000 page faults for each 40 MB message: the 40 MB rewrite went
/// from 2.0 to 13 GB/s (docs/benchmarks.md, "The rewrite").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    server::cli::commands::run(server::cli::Cli::parse(), started).await
}
