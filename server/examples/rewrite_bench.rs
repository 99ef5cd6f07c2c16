//! Rewrites one message file over and over for at least `--seconds` (default 2) and prints
//! one JSON line: bytes, iterations, seconds, MB/s and its peak resident memory
//! (VmHWM, as the Python baseline reports its own; `scripts/bench/rewrite.py` runs both).

use std::time::Instant;

use server::inbound::rewrite::{rewrite, RewriteConfig};

/// The server binary's allocator (src/main.rs), so this measures what the server does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .expect("usage: rewrite_bench FILE [--seconds S]");
    let seconds: f64 = match (args.next().as_deref(), args.next()) {
        (Some("--seconds"), Some(s)) => s.parse().expect("--seconds takes a number"),
        _ => 2.0,
    };
    let raw = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let cfg = RewriteConfig {
        from_address: "forwarder@aws.example.com",
        processed_by: "mailvend",
        loop_mark: "00112233445566778899aabbccddeeff",
        authserv_id: "aws.example.com",
        authentication: Some(
            "spf=pass (Amazon SES); dkim=pass (Amazon SES); dmarc=pass (Amazon SES)",
        ),
    };
    let start = Instant::now();
    let (mut iterations, mut out_bytes) = (0u64, 0usize);
    while iterations == 0 || start.elapsed().as_secs_f64() < seconds {
        let out = rewrite(
            &raw,
            "team-prod-001@aws.example.com",
            "bounce@sender.example",
            None,
            &cfg,
        );
        out_bytes = std::hint::black_box(out).len();
        iterations += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"bytes\": {}, \"out_bytes\": {out_bytes}, \"iterations\": {iterations}, \"seconds\": {secs:.4}, \"mb_per_s\": {:.2}, \"peak_rss\": {}}}",
        raw.len(),
        raw.len() as f64 * iterations as f64 / secs / 1e6,
        peak_rss()
    );
}

/// This process's peak resident memory in bytes (VmHWM), read the same way by the baseline.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}
