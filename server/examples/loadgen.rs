//! Load from a second process, for `scripts/bench_load.sh` and `make soak`: SNS notifications
//! signed like Amazon's (a key and certificate made here, pinned in the server's
//! `MAILVEND_SNS_CERT_DIR`), vends through the REST API, and a mixed run that also renders
//! dashboard pages while it samples the server's memory.
//!
//! ```text
//! loadgen cert --dir DIR
//! loadgen sns --url URL --cert-dir DIR --recipient ADDR [--messages N] [--size B] [--concurrency C]
//! loadgen s3 --url URL --cert-dir DIR --recipient ADDR --s3-endpoint URL --bucket B [--prefix P]
//!            [--messages N] [--size B] [--copies K]
//! loadgen vend --url URL --token T [--vends N] [--concurrency C] [--bases K]
//! loadgen mixed --url URL --cert-dir DIR --recipient ADDR --token T --login-token L --pid PID [--seconds S]
//! ```
//! Every run prints one JSON line of results and exits non-zero when a request failed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

// Signed notifications and the certificate they are checked with, shared with the tests.
#[path = "../tests/common/sns.rs"]
mod sns;

use sns::{make_cert, raw_message, ses_notification, Content, Signer};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a signing key and its certificate (named as the server expects) into DIR.
    Cert {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Posts N distinct signed notifications, each carrying a message of SIZE bytes inline.
    Sns {
        #[arg(long)]
        url: String,
        #[arg(long)]
        cert_dir: PathBuf,
        #[arg(long)]
        recipient: String,
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        #[arg(long, default_value_t = 10_240)]
        size: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Stores N messages of SIZE bytes in S3 (as SES's S3 action does), then delivers each
    /// notification K times at once, every delivery retried after a 503 as SNS would, until
    /// each is answered 200: the memory benchmark of issue 22.
    S3 {
        #[arg(long)]
        url: String,
        #[arg(long)]
        cert_dir: PathBuf,
        #[arg(long)]
        recipient: String,
        #[arg(long)]
        s3_endpoint: String,
        #[arg(long)]
        bucket: String,
        #[arg(long, default_value = "inbound/")]
        prefix: String,
        #[arg(long, default_value_t = 8)]
        messages: usize,
        #[arg(long, default_value_t = 40_000_000)]
        size: usize,
        #[arg(long, default_value_t = 2)]
        copies: usize,
    },
    /// N vends through `POST /api/v1/addresses` from C clients over K bases.
    Vend {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 20_000)]
        vends: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 8)]
        bases: usize,
    },
    /// SNS posts, dashboard pages and API calls at once for S seconds; RSS of PID each second.
    Mixed {
        #[arg(long)]
        url: String,
        #[arg(long)]
        cert_dir: PathBuf,
        #[arg(long)]
        recipient: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        login_token: String,
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Distinct notifications to cycle through (default: enough for the run, 300 per
        /// second); a small pool makes most posts duplicates, so the data stops growing.
        #[arg(long)]
        pool: Option<usize>,
        /// API calls only read (no vends), so the data stops growing.
        #[arg(long)]
        read_only: bool,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let ok = match cli.command {
        Command::Cert { dir } => {
            make_cert(&dir);
            true
        }
        Command::Sns {
            url,
            cert_dir,
            recipient,
            messages,
            size,
            concurrency,
        } => sns(&url, &cert_dir, &recipient, messages, size, concurrency).await,
        Command::S3 {
            url,
            cert_dir,
            recipient,
            s3_endpoint,
            bucket,
            prefix,
            messages,
            size,
            copies,
        } => {
            let run = S3Run {
                s3_endpoint,
                bucket,
                prefix,
                messages,
                size,
                copies,
            };
            s3(&url, &cert_dir, &recipient, run).await
        }
        Command::Vend {
            url,
            token,
            vends,
            concurrency,
            bases,
        } => vend(&url, &token, vends, concurrency, bases).await,
        Command::Mixed {
            url,
            cert_dir,
            recipient,
            token,
            login_token,
            pid,
            seconds,
            pool,
            read_only,
        } => {
            let run = Mixed {
                pid,
                seconds,
                pool: pool.unwrap_or((seconds as usize * 300).max(1_000)),
                read_only,
            };
            mixed(&url, &cert_dir, &recipient, &token, &login_token, run).await
        }
    };
    std::process::exit(if ok { 0 } else { 1 });
}

/// A plain-text message of exactly `size` bytes, as SES would notify it: inline, base64.
fn ses_message(id: &str, recipient: &str, size: usize) -> String {
    let raw = raw_message(id, recipient, size);
    ses_notification(id, &[recipient], Content::Inline(&raw))
}

/// `count` signed notifications, signed on every core (RSA signing is the slow part).
fn notifications(cert_dir: &Path, recipient: &str, count: usize, size: usize) -> Vec<String> {
    let signer = Arc::new(Signer::load(cert_dir));
    let run = format!("{:x}", rand::random::<u32>());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (signer, recipient, run) = (signer.clone(), recipient.to_string(), run.clone());
            std::thread::spawn(move || {
                (t..count)
                    .step_by(threads)
                    .map(|n| {
                        let message = ses_message(&format!("{run}-{n}"), &recipient, size);
                        (n, signer.notification(&message, n))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<(usize, String)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_by_key(|(n, _)| *n);
    all.into_iter().map(|(_, b)| b).collect()
}

/// Latencies and failures of one kind of request.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: BTreeMap<String, usize>,
}

impl Tally {
    fn record(&mut self, took: Duration, error: Option<String>) {
        self.latencies.push(took);
        if let Some(e) = error {
            *self.errors.entry(e).or_default() += 1;
        }
    }

    /// Adds another worker's tally to this one.
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        for (e, n) in other.errors {
            *self.errors.entry(e).or_default() += n;
        }
    }

    fn summary(&mut self, elapsed: Duration) -> Value {
        self.latencies.sort();
        let pct = |p: f64| -> f64 {
            if self.latencies.is_empty() {
                return 0.0;
            }
            let i =
                ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
            ms(self.latencies[i - 1])
        };
        json!({
            "requests": self.latencies.len(),
            "per_second": (self.latencies.len() as f64 / elapsed.as_secs_f64()).round(),
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": self.latencies.last().map_or(0.0, |d| ms(*d)),
            "errors": self.errors,
        })
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Posts one notification; an error names what was wrong with the answer.
async fn post_sns(http: &reqwest::Client, url: &str, body: String) -> Option<String> {
    let r = http
        .post(format!("{url}/sns"))
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(body)
        .send()
        .await;
    match r {
        Err(e) => Some(format!("transport: {e}")),
        Ok(r) if r.status() != 200 => Some(format!("status {}", r.status())),
        Ok(r) => {
            let report: Value = r.json().await.unwrap_or(Value::Null);
            match report["recipients"][0]["outcome"].as_str() {
                Some("forwarded") => None,
                other => Some(format!("outcome {other:?}")),
            }
        }
    }
}

async fn sns(
    url: &str,
    cert_dir: &Path,
    recipient: &str,
    messages: usize,
    size: usize,
    concurrency: usize,
) -> bool {
    let signing = Instant::now();
    let bodies = Arc::new(notifications(cert_dir, recipient, messages, size));
    eprintln!(
        "signed {messages} notifications ({} bytes each) in {:.1} s",
        bodies[0].len(),
        signing.elapsed().as_secs_f64()
    );
    let http = client();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, bodies, next, url) =
                (http.clone(), bodies.clone(), next.clone(), url.to_string());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    let error = post_sns(&http, &url, body.clone()).await;
                    tally.record(t.elapsed(), error);
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for w in workers {
        all.merge(w.await.unwrap());
    }
    let elapsed = start.elapsed();
    let ok = all.errors.is_empty();
    let summary = json!({
        "kind": "sns",
        "message_bytes": size,
        "concurrency": concurrency,
        "seconds": (elapsed.as_secs_f64() * 100.0).round() / 100.0,
        "result": all.summary(elapsed),
    });
    println!("{summary}");
    ok
}

struct S3Run {
    s3_endpoint: String,
    bucket: String,
    prefix: String,
    messages: usize,
    size: usize,
    copies: usize,
}

async fn s3(url: &str, cert_dir: &Path, recipient: &str, run: S3Run) -> bool {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&run.s3_endpoint)
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let _ = s3.create_bucket().bucket(&run.bucket).send().await;
    let signer = Signer::load(cert_dir);
    let tag = format!("{:x}", rand::random::<u32>());
    let mut bodies = Vec::new();
    for n in 0..run.messages {
        let id = format!("s3-{tag}-{n}");
        let key = format!("{}{id}", run.prefix);
        let raw = raw_message(&id, recipient, run.size);
        s3.put_object()
            .bucket(&run.bucket)
            .key(&key)
            .body(raw.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("storing {key}: {e:?}"));
        let content = Content::S3 {
            bucket: &run.bucket,
            key: &key,
        };
        bodies.push(signer.notification(&ses_notification(&id, &[recipient], content), n));
    }
    eprintln!(
        "stored {} messages of {} bytes in s3://{}/{}",
        run.messages, run.size, run.bucket, run.prefix
    );
    let http = client();
    let start = Instant::now();
    let busy = Arc::new(AtomicUsize::new(0));
    let deliveries: Vec<_> = bodies
        .iter()
        .flat_map(|b| std::iter::repeat_n(b.clone(), run.copies))
        .map(|body| {
            let (http, url, busy) = (http.clone(), url.to_string(), busy.clone());
            tokio::spawn(async move {
                // SNS's immediate retries, then a growing delay (its default HTTP policy
                // backs off up to 20 s; shorter here, the shape is the same).
                let mut delay = Duration::from_millis(250);
                for _ in 0..60 {
                    let r = http
                        .post(format!("{url}/sns"))
                        .header("content-type", "text/plain; charset=UTF-8")
                        .body(body.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 200 => {
                            let v: Value = r.json().await.unwrap_or_default();
                            return Ok(v["recipients"][0]["outcome"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string());
                        }
                        Ok(r) if r.status() == 503 => {
                            busy.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => return Err(format!("status {}", r.status())),
                        Err(e) => return Err(e.to_string()),
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(4));
                }
                Err("still 503 after 60 tries".to_string())
            })
        })
        .collect();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for d in deliveries {
        let key = match d.await.unwrap() {
            Ok(outcome) => outcome,
            Err(e) => format!("error: {e}"),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    let ok = outcomes.get("forwarded") == Some(&run.messages)
        && outcomes
            .keys()
            .all(|k| k == "forwarded" || k == "duplicate");
    println!(
        "{}",
        json!({
            "kind": "s3",
            "messages": run.messages,
            "message_bytes": run.size,
            "deliveries_each": run.copies,
            "seconds": (start.elapsed().as_secs_f64() * 100.0).round() / 100.0,
            "answered_503": busy.load(Ordering::Relaxed),
            "outcomes": outcomes,
        })
    );
    ok
}

fn vend_body(n: usize, bases: usize) -> Value {
    json!({
        "owner": format!("owner{}@corp.example", n % 97),
        "account_type": "IT",
        "business_unit": "loadtest",
        "application": format!("app{}", n % bases),
        "environment": "prod",
    })
}

async fn vend(url: &str, token: &str, vends: usize, concurrency: usize, bases: usize) -> bool {
    let http = client();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, next, url, token) = (
                http.clone(),
                next.clone(),
                url.to_string(),
                token.to_string(),
            );
            tokio::spawn(async move {
                let (mut tally, mut addresses) = (Tally::default(), Vec::new());
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= vends {
                        break;
                    }
                    let t = Instant::now();
                    let r = http
                        .post(format!("{url}/api/v1/addresses"))
                        .bearer_auth(&token)
                        .json(&vend_body(n, bases))
                        .send()
                        .await;
                    let error = match r {
                        Err(e) => Some(format!("transport: {e}")),
                        Ok(r) if r.status() != 201 => Some(format!("status {}", r.status())),
                        Ok(r) => {
                            let m: Value = r.json().await.unwrap_or(Value::Null);
                            match m["address"].as_str() {
                                Some(a) => {
                                    addresses.push(a.to_string());
                                    None
                                }
                                None => Some("no address in the answer".into()),
                            }
                        }
                    };
                    tally.record(t.elapsed(), error);
                }
                (tally, addresses)
            })
        })
        .collect();
    let (mut all, mut addresses) = (Tally::default(), Vec::new());
    for w in workers {
        let (t, a) = w.await.unwrap();
        all.merge(t);
        addresses.extend(a);
    }
    let elapsed = start.elapsed();
    let distinct: HashSet<&String> = addresses.iter().collect();
    let duplicates = addresses.len() - distinct.len();
    let summary = json!({
        "kind": "vend",
        "concurrency": concurrency,
        "bases": bases,
        "seconds": (elapsed.as_secs_f64() * 100.0).round() / 100.0,
        "vended": addresses.len(),
        "duplicates": duplicates,
        "result": all.summary(elapsed),
    });
    println!("{summary}");
    all.errors.is_empty() && duplicates == 0 && addresses.len() == vends
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One kind of request in the mixed run, repeated by its own workers until time is up.
async fn repeat<F, Fut>(workers: usize, stop: Arc<AtomicBool>, f: F) -> Tally
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<String>> + Send,
{
    let tally = Arc::new(Mutex::new(Tally::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (f, stop, tally, next) = (f.clone(), stop.clone(), tally.clone(), next.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let error = f(n).await;
                    tally.lock().unwrap().record(t.elapsed(), error);
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    Arc::try_unwrap(tally)
        .ok()
        .expect("workers done")
        .into_inner()
        .unwrap()
}

async fn get_ok(req: reqwest::RequestBuilder, want: &str) -> Option<String> {
    match req.send().await {
        Err(e) => Some(format!("transport: {e}")),
        Ok(r) if r.status() != 200 => Some(format!("status {}", r.status())),
        Ok(r) => match r.text().await {
            Ok(t) if t.contains(want) => None,
            Ok(_) => Some(format!("answer without {want:?}")),
            Err(e) => Some(format!("body: {e}")),
        },
    }
}

/// The mixed run's knobs.
struct Mixed {
    pid: u32,
    seconds: u64,
    pool: usize,
    read_only: bool,
}

async fn mixed(
    url: &str,
    cert_dir: &Path,
    recipient: &str,
    token: &str,
    login_token: &str,
    run: Mixed,
) -> bool {
    let Mixed {
        pid,
        seconds,
        pool,
        read_only,
    } = run;
    // Notifications are reused cyclically past the pool (a reused one is a duplicate).
    let pool = Arc::new(notifications(cert_dir, recipient, pool, 10_240));
    let dashboard = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap();
    let login = dashboard
        .get(format!("{url}/auth/local?token={login_token}"))
        .send()
        .await
        .expect("sign in");
    assert!(login.status().is_success(), "sign-in: {}", login.status());

    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (stop, samples) = (stop.clone(), samples.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    samples.lock().unwrap().push(kib);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let http = client();
    let start = Instant::now();
    let webhook = {
        let (http, url, pool) = (http.clone(), url.to_string(), pool.clone());
        tokio::spawn(repeat(8, stop.clone(), move |n| {
            let (http, url, body) = (http.clone(), url.clone(), pool[n % pool.len()].clone());
            async move {
                match post_sns(&http, &url, body).await {
                    // A notification reused from the pool is a duplicate by design.
                    Some(e) if e == "outcome Some(\"duplicate\")" => None,
                    other => other,
                }
            }
        }))
    };
    let pages = {
        let (dashboard, url) = (dashboard.clone(), url.to_string());
        tokio::spawn(repeat(4, stop.clone(), move |n| {
            let path = [
                "/",
                "/addresses",
                "/messages",
                "/audit",
                "/addresses?q=load",
            ][n % 5];
            get_ok(dashboard.get(format!("{url}{path}")), "</html>")
        }))
    };
    let api = {
        let (http, url, token) = (http.clone(), url.to_string(), token.to_string());
        tokio::spawn(repeat(4, stop.clone(), move |n| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                if n % 4 == 0 && !read_only {
                    let r = http
                        .post(format!("{url}/api/v1/addresses"))
                        .bearer_auth(&token)
                        .json(&vend_body(n, 16))
                        .send()
                        .await;
                    match r {
                        Err(e) => Some(format!("transport: {e}")),
                        Ok(r) if r.status() != 201 => Some(format!("vend status {}", r.status())),
                        Ok(_) => None,
                    }
                } else {
                    let path = ["/api/v1/addresses?limit=50", "/api/v1/messages?limit=50"][n % 2];
                    get_ok(
                        http.get(format!("{url}{path}")).bearer_auth(&token),
                        "items",
                    )
                    .await
                }
            }
        }))
    };
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let (mut w, mut p, mut a) = (
        webhook.await.unwrap(),
        pages.await.unwrap(),
        api.await.unwrap(),
    );
    sampler.await.unwrap();
    let rss = samples.lock().unwrap().clone();
    let errors = w.errors.len() + p.errors.len() + a.errors.len();
    // Memory is "flat" when the last third of the run averages within 10 % of the middle
    // third. The first third is warm-up: SQLite's page caches, the connection pools and the
    // allocator's segments fill once. A leak keeps growing after that; noise does not.
    let third = (rss.len() / 3).max(1);
    let avg = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len().max(1) as f64;
    let (early, late) = (
        avg(&rss[third.min(rss.len())..(2 * third).min(rss.len())]),
        avg(&rss[rss.len() - third..]),
    );
    let growth = if early > 0.0 { late / early - 1.0 } else { 0.0 };
    let summary = json!({
        "kind": "mixed",
        "seconds": (elapsed.as_secs_f64() * 10.0).round() / 10.0,
        "webhook": w.summary(elapsed),
        "dashboard": p.summary(elapsed),
        "api": a.summary(elapsed),
        "rss_kib": {
            "first": rss.first(), "last": rss.last(), "max": rss.iter().max(),
            "middle_third_avg": early.round(), "last_third_avg": late.round(),
            "growth_pct": (growth * 1000.0).round() / 10.0,
            "samples": rss,
        },
    });
    println!("{summary}");
    errors == 0 && growth < 0.10
}
