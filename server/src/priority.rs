//! Work at the mail's priority on behalf of a lowered request.
//!
//! `web::lanes` runs pages and the API on threads with a lower CPU priority. That is right for
//! their own work, but wrong for anything they hold that the mail also needs: SQLite admits one
//! writer, and a transaction is a conversation (BEGIN, statements, COMMIT) in which the holder's
//! task must run between each step. On a busy machine a lowered task waits many milliseconds for
//! a core at every step, and the webhook's writes queue behind it: the priority turns into the
//! mail's delay (a priority inversion). So such work runs at full priority: `at_full_priority`
//! moves it onto the runtime the request came from, and awaits it there.
//!
//! The runtime to move to travels with the request as a task-local (set by `web::lanes` when it
//! hands the request over), not as a process-wide handle: tests start many servers, each on its
//! own runtime, all sharing the one lowered runtime.

use std::future::Future;

use tokio::runtime::Handle;

tokio::task_local! {
    /// The full-priority runtime of the request the current task serves at a lowered priority.
    static FULL: Handle;
}

/// Runs `request` (a lowered request's work) with `full` as the runtime that
/// `at_full_priority` moves work to.
pub async fn lowered<F: Future>(full: Handle, request: F) -> F::Output {
    FULL.scope(full, request).await
}

/// Whether the current task is a lowered request's (so `at_full_priority` moves work).
pub fn is_lowered() -> bool {
    FULL.try_with(|_| ()).is_ok()
}

/// The full-priority runtime stopped (the server is shutting down) before the work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// Runs `work` at full priority: here if the current task is not a lowered request's, else
/// as a task of the request's full-priority runtime, awaited here. Work moved there runs to its
/// end even if the caller stops waiting, so a write once begun is not cut between statements
/// by a client going away; a panic in it is resumed here.
pub async fn at_full_priority<F>(work: F) -> Result<F::Output, Stopped>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Ok(full) = FULL.try_with(Handle::clone) else {
        return Ok(work.await);
    };
    match full.spawn(work).await {
        Ok(output) => Ok(output),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Stopped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or("").to_string()
    }

    fn runtime(name: &str) -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .build()
            .unwrap()
    }

    #[test]
    fn work_of_a_lowered_request_runs_on_the_runtime_it_came_from() {
        let (full, low) = (runtime("full"), runtime("lowered"));
        let request = lowered(full.handle().clone(), async {
            let moved = at_full_priority(async { thread_name() }).await.unwrap();
            (thread_name(), moved, is_lowered())
        });
        let (inside, moved, was_lowered) = full.block_on(low.spawn(request)).unwrap();
        assert_eq!(inside, "lowered");
        assert!(was_lowered);
        assert_eq!(
            moved, "full",
            "the work did not run on the request's runtime"
        );
        low.shutdown_background();
    }

    #[tokio::test]
    async fn work_outside_a_lowered_request_runs_in_place() {
        assert!(!is_lowered());
        let here = std::thread::current().id();
        let ran = at_full_priority(async { std::thread::current().id() })
            .await
            .unwrap();
        assert_eq!(ran, here);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn moved_work_finishes_when_the_caller_stops_waiting() {
        let lowered_rt = runtime("lowered");
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let caller = lowered_rt.spawn(lowered(Handle::current(), async move {
            at_full_priority(async move {
                started_tx.send(()).unwrap();
                go_rx.await.unwrap();
                done_tx.send("finished").unwrap();
            })
            .await
        }));
        started_rx.await.unwrap();
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        go_tx.send(()).unwrap();
        assert_eq!(done_rx.await.unwrap(), "finished");
        lowered_rt.shutdown_background();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    #[should_panic(expected = "inside the moved work")]
    async fn a_panic_in_moved_work_reaches_the_caller() {
        let _ = lowered(Handle::current(), async {
            at_full_priority(async { panic!("inside the moved work") }).await
        })
        .await;
    }
}
