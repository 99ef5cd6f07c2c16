//! Rewrites one message file over and over for at least `--seconds` (default 2) and prints
//! one JSON line: bytes, iterations, seconds, MB/s. Its peak memory is read by the caller
//! (`scripts/bench/rewrite.py`, which runs the Python baseline the same way).

use std::time::Instant;

use server::rewrite::{rewrite, RewriteConfig};

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
        "{{\"bytes\": {}, \"out_bytes\": {out_bytes}, \"iterations\": {iterations}, \"seconds\": {secs:.4}, \"mb_per_s\": {:.2}}}",
        raw.len(),
        raw.len() as f64 * iterations as f64 / secs / 1e6
    );
}
