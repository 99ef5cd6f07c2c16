//! Mail first. Inbound notifications (`/sns`) and the checks a load balancer or scraper makes
//! (`/healthz`, `/metrics`) run on the process's main runtime; everything a person or a
//! pipeline asks for (pages, server functions, the API, exports, sign-in, assets) runs on a
//! second runtime whose threads have a lower CPU priority (niced by `MAILVEND_INTERACTIVE_NICE`,
//! 10 by default). On an idle machine the priority changes nothing; on a busy one a burst of pages
//! or API calls cannot take the cores delivery needs, and the health check keeps answering.
//!
//! A priority rather than a cap on concurrent requests: pages wait mostly on the store (a
//! DynamoDB round trip), so a cap small enough to protect the CPU would queue people behind
//! network latency, while a lower priority only matters when the CPU is actually short.

use std::sync::OnceLock;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::runtime::{Handle, Runtime};
use tokio_util::task::AbortOnDropHandle;

/// The name of the interactive runtime's threads (seen in `top -H`, and by the tests).
pub const THREAD_NAME: &str = "mailvend-interactive";

/// Paths served on the main runtime, at the mail's priority.
pub fn is_mail_lane(path: &str) -> bool {
    [super::SNS_PATH, super::HEALTH_PATH, super::METRICS_PATH].contains(&path)
}

/// A handle on the process's interactive runtime.
#[derive(Clone, Debug)]
pub struct Interactive {
    handle: Handle,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

impl Interactive {
    /// The process's interactive runtime, started by the first call with as many threads as
    /// cores, each niced by `nice` (0: the mail's priority). One per process, never shut
    /// down (a runtime may not be dropped inside another): in-process tests that start several
    /// servers share it, at the first caller's priority.
    pub fn get(nice: u8) -> Self {
        let runtime = RUNTIME.get_or_init(|| {
            let target = interactive_nice(nice);
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(2),
                )
                .thread_name(THREAD_NAME)
                // Every thread of the runtime, its blocking pool too (SQLite's calls).
                .on_thread_start(move || set_nice(target))
                .enable_all()
                .build()
                .expect("the interactive runtime starts")
        });
        Self {
            handle: runtime.handle().clone(),
        }
    }
}

/// The nice value the interactive threads get: `nice` more than the calling thread's (the
/// process's), as `nice(1)` counts, up to 19, the lowest. Worked out once, because a thread
/// starts with its creator's value and the blocking pool's threads are made by niced ones.
fn interactive_nice(nice: u8) -> Option<i32> {
    if nice == 0 {
        return None;
    }
    Some((thread_nice()? + i32::from(nice)).min(19))
}

/// The calling thread's nice value (Linux only: elsewhere the priority is left alone).
fn thread_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    return rustix::process::getpriority_process(Some(rustix::thread::gettid())).ok();
    #[cfg(not(target_os = "linux"))]
    None
}

/// Sets the calling thread's nice value (on Linux each thread has its own).
fn set_nice(target: Option<i32>) {
    let Some(_target) = target else { return };
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), _target) {
        tracing::warn!(error = %e, nice = _target, "could not lower an interactive thread's priority");
    }
}

/// The middleware: a mail-lane request runs here; any other runs on the interactive runtime,
/// and is cancelled there if the client goes away (the handle aborts the task when dropped).
/// What it holds that the mail needs too (SQLite's writer) it runs back here, at the mail's
/// priority (`priority`).
pub async fn route(State(lane): State<Interactive>, req: Request, next: Next) -> Response {
    if is_mail_lane(req.uri().path()) {
        return next.run(req).await;
    }
    let request = crate::priority::lowered(Handle::current(), next.run(req));
    match AbortOnDropHandle::new(lane.handle.spawn(request)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a request failed on the interactive runtime");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tower::ServiceExt;

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or("").to_string()
    }

    async fn answer() -> String {
        format!("{} {:?}", thread_name(), thread_nice())
    }

    fn app() -> Router {
        Router::new()
            .route("/sns", get(answer))
            .route("/healthz", get(answer))
            .route("/metrics", get(answer))
            .route("/", get(answer))
            .route("/api/v1/addresses", get(answer))
            .route("/pkg/mailvend.wasm", get(answer))
            // A call on the blocking pool, as SQLite's are: the same priority, not lowered twice.
            .route(
                "/blocking",
                get(|| async {
                    tokio::task::spawn_blocking(|| format!("{} {:?}", thread_name(), thread_nice()))
                        .await
                        .unwrap()
                }),
            )
            // What a request holds that the mail needs too (SQLite's writer) runs back at the
            // mail's priority.
            .route(
                "/held",
                get(|| async { crate::priority::at_full_priority(answer()).await.unwrap() }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Interactive::get(10),
                route,
            ))
    }

    /// Which thread served `path`, and at what nice value.
    async fn served_by(path: &str) -> (String, String) {
        let res = app()
            .oneshot(Request::get(path).body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), 1 << 10)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        let (name, nice) = body.rsplit_once(' ').unwrap();
        (name.to_string(), nice.to_string())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mail_checks_and_held_work_stay_on_the_main_runtime_and_the_rest_run_at_lower_priority()
    {
        let main_nice = thread_nice();
        let lowered = format!("{:?}", interactive_nice(10).or(main_nice));
        for path in ["/sns", "/healthz", "/metrics", "/held"] {
            let (name, nice) = served_by(path).await;
            assert_ne!(name, THREAD_NAME, "{path}");
            assert_eq!(nice, format!("{main_nice:?}"), "{path}");
        }
        #[cfg(target_os = "linux")]
        assert_eq!(
            lowered,
            format!("{:?}", main_nice.map(|n| (n + 10).min(19)))
        );
        for path in ["/", "/api/v1/addresses", "/pkg/mailvend.wasm", "/blocking"] {
            let (name, nice) = served_by(path).await;
            assert_eq!(name, THREAD_NAME, "{path}");
            assert_eq!(nice, lowered, "{path}");
        }
    }

    /// Each sqlx connection runs on a thread of its own, which starts at its creator's nice: a
    /// connection first opened by a page's request would run the mail's queries niced too.
    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_stores_connections_keep_the_mails_priority_however_busy_the_pages_make_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("lanes.db"))
            .await
            .unwrap();
        // More slow reads at once than the pool has connections, all from the pages' runtime.
        let lane = Interactive::get(10);
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..24 {
            let store = store.clone();
            reads.spawn_on(
                async move {
                    sqlx::query(
                        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                         WHERE x < 100000) SELECT count(*) FROM c",
                    )
                    .fetch_one(store.reader())
                    .await
                    .unwrap();
                },
                &lane.handle,
            );
        }
        while let Some(read) = reads.join_next().await {
            read.unwrap();
        }
        let base = thread_nice().unwrap();
        let mut workers = 0;
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let task = task.unwrap().path();
            let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
            if !comm.starts_with("sqlx-sqlite") {
                continue;
            }
            // Field 19 of stat is the nice value; the name in field 2 has no spaces here.
            let stat = std::fs::read_to_string(task.join("stat")).unwrap();
            let nice: i32 = stat.split(' ').nth(18).unwrap().parse().unwrap();
            assert_eq!(
                nice,
                base,
                "{} ({}) runs niced",
                comm.trim(),
                task.display()
            );
            workers += 1;
        }
        assert!(workers >= 9, "the writer and 8 readers, found {workers}");
    }

    #[tokio::test]
    async fn a_request_given_up_by_its_client_is_cancelled_on_the_interactive_runtime() {
        let finished = Arc::new(AtomicBool::new(false));
        let started = Arc::new(tokio::sync::Notify::new());
        let (f, s) = (finished.clone(), started.clone());
        let app = Router::new()
            .route(
                "/slow",
                get(move || async move {
                    s.notify_one();
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    f.store(true, Ordering::SeqCst);
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Interactive::get(10),
                route,
            ));
        let request = app.oneshot(
            Request::get("/slow")
                .body(axum::body::Body::empty())
                .unwrap(),
        );
        let request = tokio::spawn(request);
        started.notified().await;
        request.abort();
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert!(
            !finished.load(Ordering::SeqCst),
            "the handler ran on after its client had gone"
        );
    }
}
