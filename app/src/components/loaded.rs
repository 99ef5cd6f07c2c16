//! Data a page waits for: the loading line while it comes, the page's content once it is
//! here, and the error in words the user can act on if it fails. Every page loads its data
//! through this, so waiting and failing look the same everywhere.

use std::future::{Future, IntoFuture};
use std::sync::Arc;

use leptos::prelude::*;

use crate::components::ui::{ErrorNotice, Loading};
use crate::error::AppError;

/// What `Loaded` can wait for: one server function's resource, or a pair of them.
pub trait Load: Copy + Send + Sync + 'static {
    type Data: Send + 'static;
    fn load(self) -> impl Future<Output = Result<Self::Data, AppError>> + Send;
}

impl<T> Load for Resource<Result<T, AppError>>
where
    T: Clone + Send + Sync + 'static,
{
    type Data = T;

    fn load(self) -> impl Future<Output = Result<T, AppError>> + Send {
        self.into_future()
    }
}

impl<A: Load, B: Load> Load for (A, B) {
    type Data = (A::Data, B::Data);

    // Both are awaited before either error counts, so the first one's error wins, whatever
    // order they finish in.
    async fn load(self) -> Result<Self::Data, AppError> {
        let (a, b) = (self.0.load().await, self.1.load().await);
        Ok((a?, b?))
    }
}

#[component]
pub fn Loaded<L, F, V>(
    data: L,
    children: F,
    /// Shown above the error, in place of the heading the content would have had.
    #[prop(optional, into)]
    error_heading: Option<Signal<String>>,
    /// Classes for a box around the error, where the content brings its own spacing.
    #[prop(optional)]
    error_class: &'static str,
    /// A loading line that is not announced: for a page with its own live region, which a
    /// second one would drown out (and make ambiguous to tests that find it by its role).
    #[prop(optional)]
    quiet: bool,
) -> impl IntoView
where
    L: Load,
    F: Fn(L::Data) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let children = Arc::new(children);
    let fallback = move || {
        if quiet {
            view! { <p class="text-sm text-slate-500">"Loading…"</p> }.into_any()
        } else {
            view! { <Loading /> }.into_any()
        }
    };
    view! {
        <Suspense fallback=fallback>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match data.load().await {
                        Ok(data) => children(data).into_any(),
                        Err(e) => {
                            let heading = error_heading.map(|h| view! {
                                <h1 class="mb-4 text-2xl font-semibold tracking-tight">{h.get()}</h1>
                            });
                            let notice = view! { <ErrorNotice message=e.to_string() /> };
                            if error_class.is_empty() {
                                view! { {heading} {notice} }.into_any()
                            } else {
                                view! { {heading} <div class=error_class>{notice}</div> }.into_any()
                            }
                        }
                    }
                })
            }}
        </Suspense>
    }
}
